// Progress of a long read on stderr, drawn with cli-progress only when stderr is a terminal: lines
// read, their rate, the time elapsed, and a bar of the bytes read where the files' size is known
// (stdin's is not). Nothing is drawn for a run that ends within PROGRESS_AFTER_MS, nor anywhere
// output is captured (a pipe, a file, CI logs). The reader is never slowed: a timer samples the
// source's counters a few times a second, no code runs per line.

import cliProgress from 'cli-progress';
import { type FlowSource, withChanges } from '../flows/source.ts';
import type { FileFlowSource } from '../flows/sources/file-source.ts';

export interface ProgressOptions {
  /** Where to draw: the process's stderr. */
  readonly stream: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** A run shorter than this shows no progress at all (the summary follows at once). */
const PROGRESS_AFTER_MS = 1000;
/** Samples of the counters per second. */
const SAMPLES_PER_SECOND = 4;

/**
 * Whether to draw progress: only on a terminal that can redraw a line (not TERM=dumb), and not
 * when NO_COLOR-style opt-outs ask for plain output (POLICY_RECOMMENDER_PROGRESS=0).
 */
export function progressWanted(options: ProgressOptions): boolean {
  return options.stream.isTTY === true && options.env['TERM'] !== 'dumb' && options.env['POLICY_RECOMMENDER_PROGRESS'] !== '0';
}

/** `source`, reading with progress drawn on `options.stream` when progressWanted says so. */
export function withProgress(source: FileFlowSource, options: ProgressOptions): FlowSource {
  if (!progressWanted(options)) return source;
  // Tests draw from the start; a person's short runs never flash a bar.
  const delay = Number(options.env['POLICY_RECOMMENDER_PROGRESS_AFTER_MS'] ?? PROGRESS_AFTER_MS);
  const shown = async (reading: () => Promise<void>): Promise<void> => {
    const display = new ReadProgress(source, options.stream, performance.now());
    const start = setTimeout(() => display.start(), Number.isFinite(delay) && delay >= 0 ? delay : PROGRESS_AFTER_MS);
    try {
      await reading();
    } finally {
      clearTimeout(start);
      display.stop();
    }
  };
  return withChanges(source, {
    read: (window, onRecord) => shown(() => source.read(window, onRecord)),
    // The parallel read too (worker threads report bytes and lines as they go).
    aggregate: (window, into) => shown(() => source.aggregate(window, into)),
  });
}

const number = new Intl.NumberFormat('en-US');

class ReadProgress {
  readonly #source: FileFlowSource;
  readonly #stream: NodeJS.WritableStream;
  #bar: cliProgress.SingleBar | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** When reading began (performance.now()), for the rate. */
  readonly #started: number;

  constructor(source: FileFlowSource, stream: NodeJS.WritableStream, started: number) {
    this.#source = source;
    this.#stream = stream;
    this.#started = started;
  }

  start(): void {
    const total = this.#source.totalBytes;
    const counters = 'read {lines} lines ({rate} lines/s), {duration_formatted}';
    this.#bar = new cliProgress.SingleBar({
      stream: this.#stream,
      format: total !== null && total > 0 ? `Flow logs [{bar}] {percentage}% | ${counters}` : `Flow logs: ${counters}`,
      fps: SAMPLES_PER_SECOND,
      clearOnComplete: true,
      hideCursor: true,
      barsize: 30,
    });
    this.#bar.start(total ?? 0, this.#source.bytesRead, this.#payload());
    this.#timer = setInterval(() => this.#bar?.update(this.#source.bytesRead, this.#payload()), 1000 / SAMPLES_PER_SECOND);
    this.#timer.unref();
  }

  #payload(): { lines: string; rate: string } {
    const lines = this.#source.inputsRead;
    const seconds = (performance.now() - this.#started) / 1000;
    return { lines: number.format(lines), rate: seconds > 0 ? number.format(Math.round(lines / seconds)) : '-' };
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#bar?.stop();
    this.#bar = null;
  }
}
