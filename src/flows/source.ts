// The one interface every flow source implements (files today; Goldmane and Elasticsearch later).
// Sources validate at their boundary and push normalised records to a sink as they read them:
// no per-record async iteration, and records die young, which keeps garbage collection cheap.

import type { FlowAggregator } from '../engine/aggregate.ts';
import type { FlowRecord } from './record.ts';
import type { SkipReport } from './skip-report.ts';

export type CalicoEdition = 'open-source' | 'enterprise';

/** What kind of source, named as the deployment configuration names it (`flows.source`). */
export type FlowSourceKind = 'file' | 'goldmane' | 'elasticsearch' | 'hubble';

/** Unix seconds, [from, to). A source may read more; the engine filters by the window anyway. */
export interface TimeWindow {
  readonly from: number;
  readonly to: number;
}

export interface FlowSource {
  /**
   * What kind of source it is: all that a page people read (the dashboard) says of it, since
   * where it is (paths, hosts) is the deployment's business.
   */
  readonly kind: FlowSourceKind;
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
  /**
   * A source that collects continuously (the App's collector of a Goldmane cluster): what it holds
   * at `now`. A run reads its window up to `to` and reports what is missing since its last read.
   */
  coverage?(now: number): FlowCoverage;
  /** Reads the records (at least those in the window) into `onRecord`; resolves when done. */
  read(window: TimeWindow, onRecord: (record: FlowRecord) => void): Promise<void>;
  /**
   * Reads the records into `into` as `read` would add them one by one, by whatever way is
   * fastest (the file source: plain files split among threads); for readers that need only the
   * observations. Optional: readFlows uses `read` when a source has none.
   */
  aggregate?(window: TimeWindow, into: FlowAggregator): Promise<void>;
}

/** Flows that started in [from, to) (Unix seconds) are not held, and why. */
export interface MissingFlows {
  readonly from: number;
  readonly to: number;
  readonly reason: string;
}

export interface FlowCoverage {
  /** Every flow that started in [from, to) is held, but for `missing`. */
  readonly from: number;
  readonly to: number;
  /** Why flows that started before `from` are not held. */
  readonly before: string;
  /** Intervals inside [from, to) whose flows are missing, oldest first. */
  readonly missing: readonly MissingFlows[];
  /**
   * What this source reads is not all that the cluster's collector holds (a replica without the
   * Lease reads Goldmane directly): a run reads it, but leaves its read point where it was, for
   * the collector's next run to read everything since.
   */
  readonly keepReadPoint?: boolean;
}

/**
 * A source that is `source` with some members changed (a wrapper that counts, or tells more):
 * what is not changed is read from `source` when asked, so counters stay live.
 */
export function withChanges(source: FlowSource, changes: Partial<FlowSource>): FlowSource {
  const retention = 'retention' in changes ? changes.retention : source.retention;
  const calicoEdition = 'calicoEdition' in changes ? changes.calicoEdition : source.calicoEdition;
  const coverage = 'coverage' in changes ? changes.coverage : source.coverage?.bind(source);
  const description = changes.description;
  // A changed `read` is what every record goes through: `aggregate` would go round it.
  const aggregate = 'aggregate' in changes ? changes.aggregate : changes.read === undefined ? source.aggregate?.bind(source) : undefined;
  return {
    kind: changes.kind ?? source.kind,
    get description() {
      return description ?? source.description;
    },
    get skipped() {
      return source.skipped;
    },
    get unlearnable() {
      return source.unlearnable;
    },
    get inputsRead() {
      return source.inputsRead;
    },
    ...(retention !== undefined ? { retention } : {}),
    ...(calicoEdition !== undefined ? { calicoEdition } : {}),
    ...(coverage !== undefined ? { coverage } : {}),
    ...(aggregate !== undefined ? { aggregate } : {}),
    read: changes.read ?? ((window, onRecord) => source.read(window, onRecord)),
  };
}

/** Does the record's time span touch the window? (A source may deliver records outside it.) */
export function overlapsWindow(record: Pick<FlowRecord, 'startTime' | 'endTime'>, window: TimeWindow): boolean {
  return record.endTime >= window.from && record.startTime <= window.to;
}

/** The input cannot be read at all (missing path, permission, corrupt compression): a hard error. */
export class FlowSourceError extends Error {
  override readonly name = 'FlowSourceError';
  /**
   * What may be said where the repository's people read it (the dashboard): the message without
   * the deployment's details (paths, hosts, addresses), when it still tells them something.
   */
  readonly shown: string | undefined;
  constructor(message: string, options: { shown?: string } = {}) {
    super(message);
    this.shown = options.shown;
  }
}
