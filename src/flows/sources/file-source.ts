// Calico flow-log files: plain files, directories (every *.log, *.json, *.jsonl and their .gz
// forms, recursively, in sorted order), and stdin (`-`). Gzip is recognised by its magic bytes.
//
// `aggregate` (readers that need only the observations: `recommend`) splits a large plain file
// into byte ranges at line ends, one per thread; worker threads (file-range-worker.ts) read one
// each into an aggregator of their own, merged here in file order. The result is the same as
// one thread's: aggregation does not depend on the order of records (FlowAggregator.merge), and
// line numbers, skip counts and their first examples are put back in file order. Gzip cannot be
// split (a deflate stream has no entry point but its start): a large gzip file is inflated here
// (on libuv's thread pool) and cut into batches of whole lines (line-reader.ts LineBatcher) that
// the same worker threads read, each handed to the one with the fewest waiting. Stdin, small
// files, and every file when one thread is asked for, are read on this thread alone.

import { constants, createReadStream } from 'node:fs';
import { access, open, readdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { extname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { createGunzip } from 'node:zlib';
import type { FlowAggregator } from '../../engine/aggregate.ts';
import { appendAll } from '../../util/append.ts';
import { type ParseResult, parseCalicoFlowLog } from '../calico-flow-log.ts';
import { FlowLogParser } from '../flow-log-parser.ts';
import {
  DEFAULT_MAX_LINE_BYTES,
  LineBatcher,
  type LineSink,
  oversizeReason,
  READ_CHUNK,
  readFileChunks,
  readLines,
} from '../line-reader.ts';
import type { FlowRecord } from '../record.ts';
import { inLineOrder, SkipReport } from '../skip-report.ts';
import { type FlowSource, FlowSourceError, type TimeWindow } from '../source.ts';
import type { BatchMessage, RangeMessage, ReaderJob } from './file-range-worker.ts';
import { withHubbleLines } from './hubble/jsonpb-line.ts';

const FLOW_FILE = /\.(log|json|jsonl)(\.gz)?$/;
const STDIN = '-';
/** The environment variable that sets how many worker threads read a large plain file (1: this thread alone). */
export const READ_THREADS_ENV = 'POLICY_RECOMMENDER_READ_THREADS';
/** More threads than this cost more memory (an isolate and a parser cache each) than they save. */
const MAX_READ_THREADS = 4;
/** A plain file is split only into ranges of at least this many bytes: a worker thread loads its modules and takes tens of MB. */
const MIN_RANGE_BYTES = 64 * 1024 * 1024;
/**
 * A gzip file is read by worker threads when it holds at least this fraction of MIN_RANGE_BYTES
 * (of the option that replaces it), compressed: flow logs inflate about 15 times, so a file of
 * 16 MB holds about two ranges' worth of lines.
 */
const GZIP_OF_RANGE = 1 / 4;
/** Bytes of whole lines in a batch handed to a worker thread. */
const BATCH_BYTES = 1 << 20;
/** Batches handed to a worker and not yet read, at most: the inflating waits for the readers beyond it. */
const BATCHES_WAITING = 3;
/**
 * A reader thread's young generation, MB. V8 grows it to tens of MB under a reader's allocation
 * rate (a line's strings and record die young); a smaller one costs more frequent scavenges, and
 * more of a line's garbage is promoted. Measured: present profile, 250,000 records, two workers,
 * peak RSS 307 MB with V8's default, 305 MB at 16, 284 MB at 8, 273 MB at 4; realistic profile,
 * 1,000,000 records (2026-12-07, `--cpu-prof` of each reader), 2.1 us of a reader's CPU a line in
 * the collector at 4 MB, 1.2 us at 16 (present, 1,000,000 records: peak RSS 157 MB at 4, 173 at 16);
 * 8 keeps the present profile's peak below 200 MB at 4,000,000 records (file-range-worker.ts).
 */
const WORKER_YOUNG_GENERATION_MB = 8;
/** The worker's module, beside this one (`.ts` from the sources, `.js` once built). */
const RANGE_WORKER = new URL(`./file-range-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

export interface FileSourceOptions {
  maxLineBytes?: number;
  /** Replaces process.stdin for `-` (tests). */
  stdin?: AsyncIterable<Buffer>;
  /**
   * `reference`: parseCalicoFlowLog on every line, the fast path's oracle (differential tests);
   * default `fast`, FlowLogParser (the same results).
   */
  parser?: 'fast' | 'reference';
  /**
   * Worker threads that read one large plain file in `aggregate`: default the environment's
   * POLICY_RECOMMENDER_READ_THREADS, else the available parallelism, at most MAX_READ_THREADS.
   * 1 reads every file on this thread (the same results).
   */
  threads?: number;
  /** Bytes of a range below which a file is not split further (default MIN_RANGE_BYTES; tests lower it). */
  minRangeBytes?: number;
}

/** Threads to read with: the option, else the environment, else the machine's parallelism (at most MAX_READ_THREADS). */
function readThreads(option: number | undefined): number {
  const env = Number(process.env[READ_THREADS_ENV]);
  const wanted = option ?? (Number.isSafeInteger(env) && env >= 1 ? env : Math.min(availableParallelism(), MAX_READ_THREADS));
  return Math.max(1, Math.floor(wanted));
}

export class FileFlowSource implements FlowSource {
  readonly kind = 'file';
  readonly skipped = new SkipReport();
  readonly unlearnable = new SkipReport();
  #inputsRead = 0;
  #bytesRead = 0;
  #workerRanges = 0;
  #workerBatches = 0;
  readonly #files: readonly string[];
  readonly #totalBytes: number | null;
  readonly #options: FileSourceOptions;

  private constructor(files: readonly string[], totalBytes: number | null, options: FileSourceOptions) {
    this.#files = files;
    this.#totalBytes = totalBytes;
    this.#options = options;
  }

  /** Resolves directories up front so a missing or unreadable path fails before anything is read. */
  static async open(paths: readonly string[], options: FileSourceOptions = {}): Promise<FileFlowSource> {
    if (paths.length === 0) throw new FlowSourceError('no flow log paths given');
    const files: string[] = [];
    for (const path of paths) {
      if (path === STDIN) {
        files.push(STDIN);
        continue;
      }
      const info = await stat(path).catch((e: NodeJS.ErrnoException) => {
        throw new FlowSourceError(`cannot read ${path}: ${describeError(e)}`);
      });
      if (info.isDirectory()) appendAll(files, await listFlowFiles(path));
      else if (info.isFile()) files.push(path);
      else throw new FlowSourceError(`cannot read ${path}: not a file or directory`);
    }
    let totalBytes: number | null = 0;
    for (const file of files) {
      if (file === STDIN) {
        totalBytes = null;
        continue;
      }
      await access(file, constants.R_OK).catch((e: NodeJS.ErrnoException) => {
        throw new FlowSourceError(`cannot read ${file}: ${describeError(e)}`);
      });
      if (totalBytes !== null) totalBytes += (await stat(file).catch(() => ({ size: 0 }))).size;
    }
    return new FileFlowSource(files, totalBytes, options);
  }

  get description(): string {
    const names = this.#files.map((f) => (f === STDIN ? '<stdin>' : f));
    const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? `, and ${names.length - 3} more` : '');
    return `${names.length} ${names.length === 1 ? 'file' : 'files'} (${shown})`;
  }

  get inputsRead(): number {
    return this.#inputsRead;
  }

  get files(): readonly string[] {
    return this.#files;
  }

  /** Bytes read from the files so far, as stored (compressed, for gzip): for progress. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Ranges of files read on worker threads so far (tests and benches: was the parallel path taken?). */
  get workerRanges(): number {
    return this.#workerRanges;
  }

  /** Batches of lines of gzip files read on worker threads so far (tests and benches). */
  get workerBatches(): number {
    return this.#workerBatches;
  }

  /** The files' sizes together, as stored; null when stdin is among them (its size is not known). */
  get totalBytes(): number | null {
    return this.#totalBytes;
  }

  // The window is not needed: files hold what they hold and the engine filters by time.
  async read(_window: TimeWindow, onRecord: (record: FlowRecord) => void): Promise<void> {
    // One parser (and cache) per read: what it learned of the flows dies with the read.
    const parse = this.#parser();
    for (const file of this.#files) await this.#readFile(file, parse, onRecord);
  }

  async aggregate(_window: TimeWindow, into: FlowAggregator): Promise<void> {
    const parse = this.#parser();
    const add = (record: FlowRecord): void => into.add(record);
    for (const file of this.#files) {
      const ranges = await this.#ranges(file);
      if (ranges !== null) await this.#readRanges(file, ranges, into);
      else if (await this.#inBatches(file)) await this.#readBatches(file, into);
      else await this.#readFile(file, parse, add);
    }
  }

  #parser(): (line: string) => ParseResult {
    // Hubble's jsonpb lines are recognised per line (hubble/jsonpb-line.ts); Calico's keep their parser.
    return withHubbleLines(this.#options.parser === 'reference' ? parseCalicoFlowLog : lineParser(new FlowLogParser()));
  }

  #maxLineBytes(): number {
    return this.#options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  async #readFile(file: string, parse: (line: string) => ParseResult, onRecord: (record: FlowRecord) => void): Promise<void> {
    const label = file === STDIN ? '<stdin>' : file;
    const sink = this.#sink(label, parse, onRecord);
    try {
      // A plain file is read into two reused buffers (readFileChunks); gzip, stdin and anything
      // but a regular file through a stream (zlib holds on to the chunks it is given).
      const raw =
        file === STDIN
          ? (this.#options.stdin ?? process.stdin)
          : (await plainFileSize(file)) !== null
            ? readFileChunks(file)
            : createReadStream(file, { highWaterMark: READ_CHUNK });
      await readLines(gunzipIfCompressed(this.#counted(raw)), sink, this.#maxLineBytes());
    } catch (e) {
      throw new FlowSourceError(`cannot read ${label}: ${describeError(e as NodeJS.ErrnoException)}`);
    }
  }

  #sink(label: string, parse: (line: string) => ParseResult, onRecord: (record: FlowRecord) => void): LineSink {
    return flowLineSink(
      parse,
      onRecord,
      this,
      (lineNo) => `${label}:${lineNo}`,
      () => this.#inputsRead++,
    );
  }

  /**
   * The byte ranges to read `file` in, one per thread, each ending at a line end (the last at the
   * end of the file); null when it is read on this thread alone: stdin, one thread, a small file,
   * gzip (seen by its magic bytes, as gunzipIfCompressed sees it), anything but a regular file.
   */
  async #ranges(file: string): Promise<Range[] | null> {
    const threads = readThreads(this.#options.threads);
    const minRange = this.#options.minRangeBytes ?? MIN_RANGE_BYTES;
    if (file === STDIN || threads < 2) return null;
    const size = await plainFileSize(file);
    if (size === null || size < 2 * minRange) return null;
    // Unopenable now: the reading on this thread says why.
    const handle = await open(file, 'r').catch(() => null);
    if (handle === null) return null;
    try {
      const parts = Math.min(threads, Math.floor(size / minRange));
      const ends: number[] = [];
      for (let i = 1; i < parts; i++) {
        const from = Math.max(Math.floor((size * i) / parts), ends.at(-1) ?? 0);
        ends.push(await lineEndAfter(handle, from, size));
      }
      ends.push(size);
      const ranges: Range[] = [];
      let start = 0;
      for (const end of ends) {
        if (end > start) ranges.push({ start, end });
        start = end;
      }
      return ranges.length > 1 ? ranges : null;
    } finally {
      await handle.close();
    }
  }

  /**
   * Reads the ranges of `file` on worker threads, one each, and merges what they read in file
   * order. This thread only waits and merges, so its heap stays small: each worker's young
   * generation (most of a reader's peak memory) is capped by WORKER_YOUNG_GENERATION_MB.
   */
  async #readRanges(file: string, ranges: readonly Range[], into: FlowAggregator): Promise<void> {
    this.#workerRanges += ranges.length;
    exposeCollectionToReaders();
    const workers = ranges.map((range) =>
      startReader(
        {
          kind: 'range',
          file,
          start: range.start,
          end: range.end,
          context: into.context,
          maxLineBytes: this.#maxLineBytes(),
          parser: this.#options.parser ?? 'fast',
        },
        (bytes, inputs) => {
          this.#bytesRead += bytes;
          this.#inputsRead += inputs;
        },
      ),
    );
    const results = await Promise.allSettled(workers.map((w) => w.done));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) {
      for (const w of workers) void w.worker.terminate();
      throw new FlowSourceError(`cannot read ${file}: ${describeError(failed.reason as NodeJS.ErrnoException)}`);
    }
    let lines = 0;
    for (const result of results) {
      const done = (result as PromiseFulfilledResult<RangeDone>).value;
      const offset = lines;
      const relocate = (location: string) => `${file}:${Number(location) + offset}`;
      this.skipped.merge(done.skipped, relocate);
      this.unlearnable.merge(done.unlearnable, relocate);
      into.merge(done.state);
      lines += done.lines;
    }
  }

  /** Whether `file` is gzip large enough to be read by worker threads in batches. */
  async #inBatches(file: string): Promise<boolean> {
    if (file === STDIN || readThreads(this.#options.threads) < 2) return false;
    const regular = await regularFile(file);
    return regular?.gzip === true && regular.size >= (this.#options.minRangeBytes ?? MIN_RANGE_BYTES) * GZIP_OF_RANGE;
  }

  /**
   * Reads a gzip file on worker threads: inflated here, cut into batches of whole lines, each
   * handed to the reader with the fewest batches waiting (at most BATCHES_WAITING each: the
   * inflating waits for them), then merged. Lines too long to read are counted here, where the
   * batches are cut; the skip reports' first examples are put in line order.
   */
  async #readBatches(file: string, into: FlowAggregator): Promise<void> {
    exposeCollectionToReaders();
    const maxLineBytes = this.#maxLineBytes();
    const job: ReaderJob = { kind: 'batches', context: into.context, maxLineBytes, parser: this.#options.parser ?? 'fast' };
    let signal: (() => void) | null = null;
    const readers = Array.from({ length: Math.min(readThreads(this.#options.threads), MAX_READ_THREADS) }, () => {
      const reader = {
        waiting: 0,
        ...startReader(
          job,
          (_bytes, inputs) => {
            this.#inputsRead += inputs;
          },
          () => {
            reader.waiting--;
            signal?.();
          },
        ),
      };
      return reader;
    });
    // A reader that fails (or ends before it is told to) ends the reading.
    const failed = Promise.race(readers.map((r) => r.done)).then(() => {
      throw new Error('a reader thread finished before the file was read');
    });
    failed.catch(() => {});
    const oversize = new SkipReport();
    const hand = async (batch: ReturnType<LineBatcher['push']>[number]): Promise<void> => {
      if (batch.kind === 'oversize') {
        this.#inputsRead++;
        oversize.add(String(batch.lineNo), oversizeReason(maxLineBytes));
        return;
      }
      let reader = readers.reduce((a, b) => (b.waiting < a.waiting ? b : a));
      while (reader.waiting >= BATCHES_WAITING) {
        await Promise.race([new Promise<void>((resolve) => (signal = resolve)), failed]);
        signal = null;
        reader = readers.reduce((a, b) => (b.waiting < a.waiting ? b : a));
      }
      reader.waiting++;
      this.#workerBatches++;
      // Moved, not copied: the batch's memory is its own (LineBatcher).
      const bytes = new Uint8Array(batch.bytes.buffer as ArrayBuffer, batch.bytes.byteOffset, batch.bytes.length);
      reader.worker.postMessage({ kind: 'batch', bytes, firstLine: batch.firstLine } satisfies BatchMessage, [bytes.buffer]);
    };
    let results: RangeDone[];
    const raw = createReadStream(file, { highWaterMark: READ_CHUNK });
    try {
      const batcher = new LineBatcher(BATCH_BYTES, maxLineBytes);
      for await (const chunk of gunzipIfCompressed(this.#counted(raw))) for (const batch of batcher.push(chunk)) await hand(batch);
      for (const batch of batcher.end()) await hand(batch);
      for (const r of readers) r.worker.postMessage({ kind: 'end' } satisfies BatchMessage);
      results = await Promise.all(readers.map((r) => r.done));
    } catch (e) {
      // Stopped early (a reader failed, or the data is corrupt): nothing is left open or running.
      raw.destroy();
      for (const r of readers) void r.worker.terminate();
      throw new FlowSourceError(`cannot read ${file}: ${describeError(e as NodeJS.ErrnoException)}`);
    }
    // Atoms are merged reader by reader, not in file order: an atom whose record carried what its
    // key leaves out (a network set's labels) keeps the first reader's, which need not be the
    // file's first record's (one thread's, or ranges', keep that one).
    for (const done of results) into.merge(done.state);
    const relocate = (location: string) => `${file}:${location}`;
    this.skipped.merge(inLineOrder([...results.map((done) => done.skipped), oversize.summary()]), relocate);
    this.unlearnable.merge(inLineOrder(results.map((done) => done.unlearnable)), relocate);
  }

  /** The chunks of `raw`, counted into bytesRead (one addition a chunk of up to 1 MiB). */
  async *#counted(raw: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of raw) {
      this.#bytesRead += chunk.length;
      yield chunk;
    }
  }
}

function lineParser(parser: FlowLogParser): (line: string) => ParseResult {
  return (line) => parser.parse(line);
}

/**
 * The sink of a file's lines: each parsed, its record handed on, or its skip counted where the
 * reader reports it (`location` of a line number); `counted` on every line read.
 */
export function flowLineSink(
  parse: (line: string) => ParseResult,
  onRecord: (record: FlowRecord) => void,
  reports: { readonly skipped: SkipReport; readonly unlearnable: SkipReport },
  location: (lineNo: number) => string,
  counted: () => void,
): LineSink {
  return {
    line: (text, lineNo) => {
      counted();
      const parsed = parse(text);
      if (parsed.ok) onRecord(parsed.record);
      else (parsed.nothingToLearn ? reports.unlearnable : reports.skipped).add(location(lineNo), parsed.reason);
    },
    bad: (reason, lineNo) => {
      counted();
      reports.skipped.add(location(lineNo), reason);
    },
  };
}

/** Bytes [start, end) of a file. */
interface Range {
  readonly start: number;
  readonly end: number;
}

/**
 * Each reader collects its heap now and then (file-range-worker.ts COLLECT_ABOVE_LIVE_BYTES), which
 * V8 allows only behind --expose-gc. Its flags are the process's: set before any reader starts;
 * contexts made from then on have a `gc` function, and nothing else changes.
 */
function exposeCollectionToReaders(): void {
  setFlagsFromString('--expose-gc');
}

/** What a worker hands back for its range. */
type RangeDone = Extract<RangeMessage, { kind: 'done' }>;

/**
 * The size of `file` when it is a regular file, and whether it is gzip (by its magic bytes, as
 * gunzipIfCompressed tells); null for anything else, and when it cannot be opened (the reading
 * says why).
 */
async function regularFile(file: string): Promise<{ readonly size: number; readonly gzip: boolean } | null> {
  // Only a regular file is opened here (a device or a pipe is read as a stream, once).
  const info = await stat(file).catch(() => null);
  if (info === null || !info.isFile()) return null;
  const handle = await open(file, 'r').catch(() => null);
  if (handle === null) return null;
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return { size: info.size, gzip: bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b };
  } finally {
    await handle.close();
  }
}

/** The size of `file` when it is a regular file that is not gzip; null for anything else. */
async function plainFileSize(file: string): Promise<number | null> {
  const regular = await regularFile(file);
  return regular === null || regular.gzip ? null : regular.size;
}

/** The offset just past the first line end at or after `from` (the file's size when there is none). */
async function lineEndAfter(handle: Awaited<ReturnType<typeof open>>, from: number, size: number): Promise<number> {
  const buffer = Buffer.alloc(64 * 1024);
  for (let at = from; at < size; ) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
    if (bytesRead === 0) break;
    const nl = buffer.subarray(0, bytesRead).indexOf(10);
    if (nl >= 0) return at + nl + 1;
    at += bytesRead;
  }
  return size;
}

/**
 * Starts a reader thread on `job`; `progress` hears of bytes and lines as it reads, `took` of each
 * batch it has read. `done` rejects with the worker's error (its code kept, for describeError).
 */
function startReader(
  job: ReaderJob,
  progress: (bytes: number, inputs: number) => void,
  took: () => void = () => {},
): { worker: Worker; done: Promise<RangeDone> } {
  const worker = new Worker(RANGE_WORKER, { workerData: job, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
  const done = new Promise<RangeDone>((resolve, reject) => {
    let result: RangeDone | null = null;
    worker.on('message', (message: RangeMessage) => {
      if (message.kind === 'progress') progress(message.bytes, message.inputs);
      else if (message.kind === 'took') {
        progress(0, message.inputs);
        took();
      } else if (message.kind === 'done') {
        progress(message.bytes, message.inputs);
        result = message;
      } else reject(Object.assign(new Error(message.message), message.code === undefined ? {} : { code: message.code }));
    });
    worker.on('error', reject);
    worker.on('exit', (code) =>
      result !== null ? resolve(result) : reject(new Error(`reader thread exited (${code}) before it finished`)),
    );
  });
  // Seen by whoever awaits it; a failure while nobody does (the stream is still being cut) is not unhandled.
  done.catch(() => {});
  return { worker, done };
}

async function listFlowFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    throw new FlowSourceError(`cannot read ${e.path ?? dir}: ${describeError(e)}`);
  });
  const files: string[] = [];
  for (const entry of entries) {
    const full = join(entry.parentPath, entry.name);
    if (!FLOW_FILE.test(entry.name)) continue;
    if (entry.isFile() || (entry.isSymbolicLink() && (await stat(full).catch(() => null))?.isFile())) files.push(full);
  }
  // Sorted by path relative to the directory so the reading order (and every "first seen") is stable.
  return files.sort((a, b) => (relative(dir, a) < relative(dir, b) ? -1 : 1));
}

/** Peeks at the first bytes; gzip data (1f 8b) is decompressed, anything else passes through. */
async function* gunzipIfCompressed(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  // A pipe may deliver a single byte first: gather two before deciding.
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 2 && !ended) {
    const next = await iterator.next();
    if (next.done) ended = true;
    else head = Buffer.concat([head, next.value as Buffer]);
  }
  if (head.length === 0) return;
  if (!(head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b)) {
    yield head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value as Buffer;
    return;
  }
  const rest = async function* (): AsyncGenerator<Buffer> {
    yield head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value as Buffer;
  };
  const compressed = Readable.from(rest());
  const gunzip = createGunzip({ chunkSize: READ_CHUNK });
  compressed.on('error', (e) => gunzip.destroy(e));
  compressed.pipe(gunzip);
  for await (const chunk of gunzip) yield chunk as Buffer;
}

function describeError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'Z_BUF_ERROR':
    case 'Z_DATA_ERROR':
      return `corrupt gzip data (${e.message})`;
    default:
      return e.message;
  }
}
