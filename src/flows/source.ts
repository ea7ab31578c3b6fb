// The one interface every flow source implements (files today; Goldmane and Elasticsearch later).
// Sources validate at their boundary and push normalised records to a sink as they read them:
// no per-record async iteration, and records die young, which keeps garbage collection cheap.

import type { FlowRecord } from './record.ts';
import type { SkipReport } from './skip-report.ts';

export type CalicoEdition = 'open-source' | 'enterprise';

/** Unix seconds, [from, to). A source may read more; the engine filters by the window anyway. */
export interface TimeWindow {
  readonly from: number;
  readonly to: number;
}

export interface FlowSource {
  /** For summaries and logs, e.g. "2 files (flows.log, more.jsonl.gz)". Never contains credentials. */
  readonly description: string;
  /** Malformed inputs skipped so far, with locations. */
  readonly skipped: SkipReport;
  /**
   * Well-formed inputs that carry nothing to learn (a forwarding node's report, protocol 0, ...),
   * with why: counted apart from malformed ones, so neither hides the other.
   */
  readonly unlearnable: SkipReport;
  /** Lines, flows or buckets read so far, valid or not. */
  readonly inputsRead: number;
  /**
   * Seconds of history the source keeps (Goldmane: about an hour); undefined when it keeps
   * everything it was given. Runs spaced further apart than this lose flows: the App warns.
   */
  readonly retention?: number;
  /**
   * Which Calico the flows come from, when the source tells: Goldmane is open-source Calico's
   * (3.30+), the Elasticsearch flow index Calico Enterprise's. Undefined for files (either).
   */
  readonly calicoEdition?: CalicoEdition;
  /** Reads the records (at least those in the window) into `onRecord`; resolves when done. */
  read(window: TimeWindow, onRecord: (record: FlowRecord) => void): Promise<void>;
}

/** Does the record's time span touch the window? (A source may deliver records outside it.) */
export function overlapsWindow(record: Pick<FlowRecord, 'startTime' | 'endTime'>, window: TimeWindow): boolean {
  return record.endTime >= window.from && record.startTime <= window.to;
}

/** The input cannot be read at all (missing path, permission, corrupt compression): a hard error. */
export class FlowSourceError extends Error {
  override readonly name = 'FlowSourceError';
}
