// A worker thread of the file source's `aggregate` (file-source.ts): reads, with its own parser,
// into an aggregator of its own, either one byte range of a plain file (whole lines: the range
// ends at a line end), or the batches of whole lines the main thread cuts a stream it cannot split
// into (gzip: line-reader.ts LineBatcher) and hands it one by one. It hands back the aggregator's
// state, its skip reports and its line count. Locations in a range's reports are line numbers
// within the range (the main thread turns them into the file's); in batches', the file's own.

import { getHeapStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { type AggregatorState, FlowAggregator } from '../../engine/aggregate.ts';
import type { LearnContext } from '../../engine/learn.ts';
import { parseCalicoFlowLog } from '../calico-flow-log.ts';
import { FlowLogParser } from '../flow-log-parser.ts';
import { readFileChunks, readLines } from '../line-reader.ts';
import { SkipReport, type SkipSummary } from '../skip-report.ts';
import { flowLineSink } from './file-source.ts';
import { withHubbleLines } from './hubble/jsonpb-line.ts';

interface ReaderOptions {
  readonly context: LearnContext;
  readonly maxLineBytes: number;
  readonly parser: 'fast' | 'reference';
}

/** What the main thread asks of a worker: a range of a file, or the batches it will send. */
export type ReaderJob =
  | (ReaderOptions & {
      readonly kind: 'range';
      readonly file: string;
      /** Bytes [start, end) of the file. */
      readonly start: number;
      readonly end: number;
    })
  | (ReaderOptions & { readonly kind: 'batches' });

/** What the main thread sends a worker reading batches: one batch of whole lines (its first line's number in the file), then the end. */
export type BatchMessage = { readonly kind: 'batch'; readonly bytes: Uint8Array; readonly firstLine: number } | { readonly kind: 'end' };

/** What a worker tells the main thread: progress as it reads (counts since the last message), then done or failed. */
export type RangeMessage =
  | { readonly kind: 'progress'; readonly bytes: number; readonly inputs: number }
  /** A batch is read (the main thread sends the next one when a worker has few left). */
  | { readonly kind: 'took'; readonly inputs: number }
  | {
      readonly kind: 'done';
      readonly bytes: number;
      readonly inputs: number;
      /** Lines in the range, blank ones included. */
      readonly lines: number;
      readonly state: AggregatorState;
      readonly skipped: SkipSummary;
      readonly unlearnable: SkipSummary;
    }
  | { readonly kind: 'failed'; readonly message: string; readonly code?: string };

/**
 * Heap growth, bytes, after which a reader collects its whole heap (or the heap doubled, when that
 * is more). A reader's live data is small (its aggregator and parser cache, bounded by distinct
 * flows), but what its young generation promotes piles up in the old one until V8's heuristics
 * collect it: on 1,000,000 records of the present profile each reader's heap reached 50 to 55 MB
 * used, 15 to 17 MB when collected. A forced collection is atomic and not cheap: collected every
 * 128 MB read, the realistic profile spent 12% more CPU than without (2026-12-07, 400,000 records,
 * 4 runs each), and collected after each 8 MB of growth its larger live heap made the collections
 * many. So a reader looks at its heap after every chunk read (a few microseconds) and collects
 * once it has grown this much, or doubled, over what the last collection left. Present profile,
 * 4,000,000 records (2026-12-07, one run each): peak RSS 173 MB so, 168 MB at 8 MB of growth
 * alone, 200 MB at 16 MB with a 16 MB young generation.
 */
const COLLECT_ABOVE_LIVE_BYTES = 8 * 1024 * 1024;

/**
 * Growth of the process's resident memory, bytes, after which a reader collects its heap too,
 * however little the heap grew (or growth by its live heap, when that is more: the process's
 * memory is every thread's, and a large live heap is not marked again for each 8 MB another
 * thread grew): what dead objects hold outside the heap is freed only by a full collection (which
 * objects was not pinned down; collecting stopped the growth). With an aggregator that no longer
 * promoted garbage, a reader's heap stayed flat, no collection ran, and peak RSS grew with the
 * record count (present
 * profile: 174 MB at 1,000,000 records, 199 MB at 4,000,000; with this, 185 MB at 4,000,000 and
 * the same CPU; 2026-12-07).
 */
const COLLECT_ABOVE_RESIDENT_BYTES = 8 * 1024 * 1024;

/** Bytes read between two progress messages to the main thread. */
const PROGRESS_BYTES = 8 * 1024 * 1024;

/** Bytes of this thread's heap in use. */
const heapUsed = (): number => getHeapStatistics().used_heap_size;

/**
 * A full collection of this thread's heap, from a context of its own: V8 gives one to contexts
 * made while its --expose-gc flag is set, which the file source sets before it starts readers
 * (file-source.ts #readRanges); null when it is not set (nothing is collected then).
 */
function heapCollector(): (() => void) | null {
  const gc: unknown = runInNewContext('typeof gc === "function" ? gc : null');
  return typeof gc === 'function' ? (gc as () => void) : null;
}

async function read(job: ReaderJob): Promise<RangeMessage> {
  const collect = heapCollector();
  /** The heap size past which this reader collects next, given what a collection left. */
  const nextLimit = (live: number): number => Math.max(live + COLLECT_ABOVE_LIVE_BYTES, 2 * live);
  let collectAbove = nextLimit(heapUsed());
  /** Called between chunks and batches: collects when the heap grew enough since the last collection. */
  /** The process's resident memory past which this reader collects next, given its live heap. */
  const nextResident = (live: number): number => process.memoryUsage.rss() + Math.max(COLLECT_ABOVE_RESIDENT_BYTES, live);
  let residentAbove = nextResident(heapUsed());
  const collectIfGrown = (): void => {
    if (collect !== null && (heapUsed() > collectAbove || process.memoryUsage.rss() > residentAbove)) {
      collect();
      const live = heapUsed();
      collectAbove = nextLimit(live);
      residentAbove = nextResident(live);
    }
  };
  const port = parentPort!;
  const aggregator = new FlowAggregator(job.context);
  const reports = { skipped: new SkipReport(), unlearnable: new SkipReport() };
  const parser = job.parser === 'reference' ? null : new FlowLogParser();
  // The same parsers as a read on one thread (file-source.ts #parser): Hubble lines too.
  const parse = withHubbleLines(parser === null ? parseCalicoFlowLog : (line: string) => parser.parse(line));
  let bytes = 0;
  let inputs = 0;
  /** Added to a line's number in its batch: the file's line before the batch (0 for a range). */
  let lineOffset = 0;
  const sink = flowLineSink(
    parse,
    (record) => aggregator.add(record),
    reports,
    (lineNo) => String(lineNo + lineOffset),
    () => inputs++,
  );
  let lines = 0;
  if (job.kind === 'range') {
    async function* counted(file: string, start: number, end: number): AsyncGenerator<Buffer> {
      for await (const chunk of readFileChunks(file, start, end)) {
        // The chunks before this one are parsed by now: report them, a few MB at a time (a message
        // per 1 MB chunk took 1.4% of a reader's CPU on the realistic profile).
        if (bytes >= PROGRESS_BYTES) {
          port.postMessage({ kind: 'progress', bytes, inputs } satisfies RangeMessage);
          bytes = 0;
          inputs = 0;
        }
        bytes += chunk.length;
        collectIfGrown();
        yield chunk;
      }
    }
    lines = await readLines(counted(job.file, job.start, job.end), sink, job.maxLineBytes);
  } else {
    // Batches come one message at a time; the next is read once this one is.
    const queue: BatchMessage[] = [];
    let wake: (() => void) | null = null;
    const take = (message: BatchMessage): void => {
      queue.push(message);
      wake?.();
    };
    port.on('message', take);
    for (;;) {
      if (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      const message = queue.shift()!;
      if (message.kind === 'end') break;
      lineOffset = message.firstLine - 1;
      const batch = Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength);
      lines = lineOffset + (await readLines([batch], sink, job.maxLineBytes));
      collectIfGrown();
      port.postMessage({ kind: 'took', inputs } satisfies RangeMessage);
      inputs = 0;
    }
    // Listening keeps this thread alive: it ends once its result is posted.
    port.off('message', take);
  }
  return {
    kind: 'done',
    bytes,
    inputs,
    lines,
    state: aggregator.state(),
    skipped: reports.skipped.summary(),
    unlearnable: reports.unlearnable.summary(),
  };
}

read(workerData as ReaderJob).then(
  (message) => parentPort!.postMessage(message),
  (e: unknown) => {
    const error = e as NodeJS.ErrnoException;
    parentPort!.postMessage({
      kind: 'failed',
      message: error instanceof Error ? error.message : String(e),
      ...(typeof error?.code === 'string' ? { code: error.code } : {}),
    } satisfies RangeMessage);
  },
);
