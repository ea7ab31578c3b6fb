// Collects each Goldmane cluster's flows continuously, so that no flow depends on how often runs
// happen: Goldmane keeps about an hour (goldmane.go: 242 buckets of 15 s), a run may come every
// two hours or once a day. The replica that holds the Lease (every replica, without one) follows
// Goldmane's Flows.Stream (goldmane-source.ts follow) into a FlowStore, and a run reads its window
// from there through an ordinary FlowSource, with a `coverage` that says from when the collector
// holds every flow, up to when, and what is missing in between and why.
//
// Nothing is persisted: after a restart (or when another replica takes the Lease) collecting
// starts again with the history Goldmane still holds. A run knows up to when its previous run
// read (flowsReadUntil, kept in its dashboard), so that and the coverage say exactly which flows
// nobody read: those that started between the previous read and the oldest flow Goldmane still
// held when collecting started, and those of outages longer than Goldmane keeps.
//
// Hubble Relay (Cilium) is collected the same way (hubble-source.ts follow): it keeps even less (a
// ring buffer of events per node, minutes on a busy one), and says what it lost only in part.

import { type Clock, systemClock } from '../../cluster/leader-election.ts';
import { formatDuration } from '../../config/duration.ts';
import { formatTime } from '../../engine/provenance.ts';
import type { FlowRecord } from '../../flows/record.ts';
import { SkipReport } from '../../flows/skip-report.ts';
import {
  type CalicoEdition,
  type FlowCoverage,
  type FlowSource,
  FlowSourceError,
  type MissingFlows,
  type TimeWindow,
  withChanges,
} from '../../flows/source.ts';
import type { FollowEvent, FollowOptions } from '../../flows/sources/goldmane/goldmane-source.ts';
import { HISTORY_SECONDS } from '../../flows/sources/goldmane/stream-resume.ts';
import type { AppMetrics } from '../ops/metrics.ts';
import { type DropCause, FlowStore } from './flow-store.ts';

/** What a collector follows: Goldmane's source (GoldmaneFlowSource) is one, Hubble Relay's (HubbleFlowSource) another. */
export interface Follower {
  readonly description: string;
  readonly skipped: SkipReport;
  readonly unlearnable: SkipReport;
  readonly inputsRead: number;
  follow(options: FollowOptions): Promise<void>;
}

/** What is followed, and how the collector speaks of it. */
export type CollectedKind = 'goldmane' | 'hubble';
const PEERS: Readonly<Record<CollectedKind, { readonly name: string; readonly keeps: string; readonly history: number }>> = {
  goldmane: { name: 'Goldmane', keeps: 'about an hour', history: HISTORY_SECONDS },
  // Hubble is asked for an hour back and sends what its nodes still hold (hubble-source.ts).
  hubble: { name: 'Hubble Relay', keeps: 'minutes of flows per node', history: 3600 },
};

export interface CollectorLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** The longest window a run reads by default: the App's default initialLookback (repository-config.ts). */
const DEFAULT_HISTORY_SECONDS = 24 * 3600;
/** The estimated memory all collectors together may hold, by default (shared equally). */
const DEFAULT_MAX_BYTES = 128 * 1024 * 1024;
/**
 * A stream that fails and is opened again within this is a reconnection: runs read what is held.
 * Longer, and runs treat the cluster as unreachable (as they treat a source that cannot be read).
 */
const OUTAGE_GRACE_SECONDS = 60;
/**
 * A stream open this long without failing is healthy, even if nothing came (a stream carries
 * nothing while no flow completes; a connection that cannot be made fails within grpc-js's 20 s).
 */
const HEALTHY_AFTER_SECONDS = 30;
const REOPEN_FIRST_MS = 1000;
const REOPEN_MAX_MS = 60_000;

export interface CollectorOptions {
  readonly cluster: string;
  /** Opens what to follow; opened again after a failure. */
  readonly open: () => Promise<Follower>;
  /** The cap on the estimated bytes held (FlowStore). */
  readonly maxBytes: number;
  /** Seconds of history kept at least; reads and keep() make it longer. Default a day. */
  readonly history?: number;
  readonly clock?: Clock;
  readonly metrics?: AppMetrics;
  readonly log?: CollectorLog;
  readonly slotSeconds?: number;
  /** Which Calico the followed source belongs to (Goldmane: open-source), for the runs' checks. */
  readonly calicoEdition?: CalicoEdition;
  /** What is followed; default goldmane. */
  readonly kind?: CollectedKind;
}

interface Running {
  readonly abort: AbortController;
  readonly done: Promise<void>;
}

export class FlowCollector {
  readonly cluster: string;
  readonly #open: () => Promise<Follower>;
  readonly #clock: Clock;
  readonly #metrics: AppMetrics | undefined;
  #log: CollectorLog;
  readonly #store: FlowStore;
  readonly #calicoEdition: CalicoEdition | undefined;
  readonly #kind: CollectedKind;
  readonly #peer: (typeof PEERS)[CollectedKind];
  #history: number;
  #running: Running | null = null;
  #follower: Follower | null = null;
  #why = '';
  #startedAt = 0;
  /** Every flow that started from here on is held (but for #missing); null before the first connection. */
  #heldFrom: number | null = null;
  #before = '';
  #missing: MissingFlows[] = [];
  /** Every flow that started before this was delivered (follow's progress). */
  #progress = -Infinity;
  #connectedAt: number | null = null;
  /** Since when no stream has worked; null while one does. */
  #outageSince: number | null = null;
  #lastError: string | null = null;
  /** What was reported to the metrics of the follower's counters. */
  #counted = { read: 0, skipped: 0, unlearnable: 0 };

  constructor(options: CollectorOptions) {
    this.cluster = options.cluster;
    this.#open = options.open;
    this.#clock = options.clock ?? systemClock;
    this.#metrics = options.metrics;
    this.#log = options.log ?? { info: () => undefined, warn: () => undefined, error: () => undefined };
    this.#history = options.history ?? DEFAULT_HISTORY_SECONDS;
    this.#calicoEdition = options.calicoEdition;
    this.#kind = options.kind ?? 'goldmane';
    this.#peer = PEERS[this.#kind];
    this.#store = new FlowStore({
      maxBytes: options.maxBytes,
      ...(options.slotSeconds !== undefined ? { slotSeconds: options.slotSeconds } : {}),
      onDropped: (interval, cause, oldest) => this.#dropped(interval, cause, oldest),
    });
  }

  get collecting(): boolean {
    return this.#running !== null;
  }

  /** Seconds of history kept. */
  get history(): number {
    return this.#history;
  }

  /** What is held: distinct flows, entries (distinct flows per slot), estimated bytes and the cap. */
  get held(): { distinctFlows: number; entries: number; bytes: number; maxBytes: number; slots: number } {
    const s = this.#store;
    return { distinctFlows: s.distinctFlows, entries: s.entries, bytes: s.bytes, maxBytes: s.maxBytes, slots: s.slots };
  }

  set log(log: CollectorLog) {
    this.#log = log;
  }

  /** Keeps at least `seconds` of history (the longest window a run of this cluster reads). */
  keep(seconds: number): void {
    if (Number.isFinite(seconds) && seconds > this.#history) this.#history = Math.ceil(seconds);
  }

  /** Starts collecting, replaying as much history as Goldmane holds; `why` is said when flows before it are missing. */
  start(why: string): void {
    if (this.#running !== null) return;
    this.#reset();
    this.#why = why;
    this.#startedAt = this.#now();
    this.#outageSince = this.#startedAt;
    const abort = new AbortController();
    this.#running = { abort, done: this.#loop(abort.signal) };
    this.#log.info(`collecting the flows of cluster ${this.cluster} (${why})`);
  }

  /** Stops collecting and forgets what was collected (a replica that lost the Lease). */
  async stop(): Promise<void> {
    const running = this.#running;
    if (running === null) return;
    running.abort.abort();
    await running.done;
    this.#count();
    this.#running = null;
    this.#reset();
    this.#report();
    this.#log.info(`stopped collecting the flows of cluster ${this.cluster}`);
  }

  /** What is held at `now` (Unix seconds). */
  coverage(now: number): FlowCoverage {
    this.#store.dropBefore(now - this.#history);
    if (this.#heldFrom === null) {
      const why =
        this.#running === null
          ? 'this replica does not collect'
          : `collecting started at ${formatTime(this.#startedAt)} (${this.#why}) and has not reached ${this.#peer.name} yet`;
      return { from: this.#startedAt, to: this.#startedAt, before: why, missing: [] };
    }
    const from = this.#heldFrom;
    const to = Math.max(from, this.#progress);
    const missing = this.#missing
      .filter((m) => m.to > from && m.from < to)
      .map((m) => ({ ...m, from: Math.max(m.from, from), to: Math.min(m.to, to) }));
    return { from, to, before: this.#before, missing };
  }

  /** A stream is open (follow's `connected`, not yet `disconnected`). */
  get connected(): boolean {
    return this.#connectedAt !== null;
  }

  /** Why runs cannot read now (no stream has worked for longer than the grace), or null. */
  unavailable(now: number): string | null {
    if (this.#running === null) return 'this replica does not collect';
    if (this.#healthy(now) || this.#outageSince === null || now - this.#outageSince <= OUTAGE_GRACE_SECONDS) return null;
    return `${this.#description()}: ${this.#outage(this.#outageSince, this.#lastError)}`;
  }

  /** An outage in words; without the error (which may name hosts and addresses), for the dashboard. */
  #outage(since: number, error: string | null): string {
    return `not reachable since ${formatTime(since)}${error ? ` (${error})` : ''}; this cluster is left as it is until it is, and what ${this.#peer.name} still holds then (${this.#peer.keeps}) is collected`;
  }

  /** The FlowSource a run reads: this collector's flows, from the window's start up to its end. */
  source(): FlowSource {
    let delivered = 0;
    const skipped = this.#follower?.skipped ?? new SkipReport();
    const unlearnable = this.#follower?.unlearnable ?? new SkipReport();
    const calicoEdition = this.#calicoEdition;
    const description = `${this.#description()}, collected since ${formatTime(this.#startedAt)}`;
    return {
      kind: this.#kind,
      description,
      skipped,
      unlearnable,
      ...(calicoEdition !== undefined ? { calicoEdition } : {}),
      get inputsRead() {
        return delivered;
      },
      coverage: (now) => this.coverage(now),
      read: async (window: TimeWindow, onRecord: (record: FlowRecord) => void) => {
        const now = this.#now();
        const unavailable = this.unavailable(now);
        if (unavailable !== null) {
          this.#metrics?.flowSourceErrors.inc({ cluster: this.cluster, source: this.#kind });
          throw new FlowSourceError(
            unavailable,
            this.#outageSince === null ? {} : { shown: `${this.#peer.name} ${this.#outage(this.#outageSince, null)}` },
          );
        }
        // The metrics say what the run's summary will: count what the follower read since its last progress.
        this.#count();
        // A run that reads further back than kept so far: keep that much from now on.
        this.keep(now - window.from);
        delivered += await this.#store.read(window, onRecord);
      },
    };
  }

  #description(): string {
    return this.#follower?.description ?? `the flow source of cluster ${this.cluster}`;
  }

  #now(): number {
    return Math.floor(this.#clock.now() / 1000);
  }

  #reset(): void {
    this.#store.clear();
    this.#heldFrom = null;
    this.#before = '';
    this.#missing = [];
    this.#progress = -Infinity;
    this.#connectedAt = null;
    this.#outageSince = null;
    this.#lastError = null;
  }

  async #loop(signal: AbortSignal): Promise<void> {
    let failures = 0;
    // As far back as Goldmane holds: follow() says where that is (a `lost` before the first connection).
    let since = this.#startedAt - this.#peer.history;
    while (!signal.aborted) {
      let follower: Follower;
      try {
        follower = await this.#open();
      } catch (e) {
        this.#failed(`cannot open the flow source: ${(e as Error).message}`);
        await sleep(this.#clock, backoff(failures++), signal);
        continue;
      }
      this.#follower = follower;
      this.#counted = { read: follower.inputsRead, skipped: follower.skipped.total, unlearnable: follower.unlearnable.total };
      try {
        await follower.follow({ since, signal, now: () => this.#now(), onRecord: (r) => this.#record(r), onEvent: (e) => this.#event(e) });
        return;
      } catch (e) {
        // Only our own sink throws out of follow(): follow again from where every flow was delivered.
        this.#log.error(`collecting the flows of cluster ${this.cluster} failed: ${(e as Error).message}`);
        this.#failed(`collecting failed: ${(e as Error).message}`);
        since = Math.max(since, this.#progress);
        await sleep(this.#clock, backoff(failures++), signal);
      }
    }
  }

  #record(record: FlowRecord): void {
    if (this.#outageSince !== null && this.#lastError !== null) {
      this.#log.info(`cluster ${this.cluster}: collecting flows again`);
      this.#lastError = null;
    }
    this.#outageSince = null;
    this.#store.add(record);
  }

  #event(event: FollowEvent): void {
    const now = this.#now();
    switch (event.type) {
      case 'connected':
        this.#connectedAt = now;
        if (this.#heldFrom === null) {
          this.#heldFrom = event.from;
          this.#before = `collecting started at ${formatTime(this.#startedAt)} (${this.#why}), and ${this.#peer.name} no longer held older flows (it keeps ${this.#peer.keeps})`;
        }
        this.#report();
        break;
      case 'disconnected':
        this.#failed(event.reason);
        break;
      case 'lost': {
        // Before the first connection: history Goldmane no longer held when collecting started.
        if (this.#heldFrom === null) break;
        const since = this.#outageSince === null ? '' : ` from ${formatTime(this.#outageSince)} to ${formatTime(now)}`;
        const reason =
          this.#kind === 'goldmane'
            ? `Goldmane could not be followed${since}${this.#lastError ? ` (${this.#lastError})` : ''}, for longer than it keeps flows (about an hour)`
            : `${this.#peer.name} reported these flows lost (lost_events)`;
        this.#addMissing({ from: event.from, to: event.to, reason }, 'unreachable');
        this.#log.warn(`cluster ${this.cluster}: flows between ${formatTime(event.from)} and ${formatTime(event.to)} are lost: ${reason}`);
        break;
      }
      case 'progress':
        this.#progress = Math.max(this.#progress, event.before);
        this.#store.seal(event.before);
        this.#store.dropBefore(now - this.#history);
        this.#count();
        this.#report();
        break;
    }
  }

  /** The stream open now has been for long enough to count as working, flows or not. */
  #healthy(now: number): boolean {
    return this.#connectedAt !== null && now - this.#connectedAt >= HEALTHY_AFTER_SECONDS;
  }

  #failed(reason: string): void {
    const now = this.#now();
    if (this.#outageSince === null || this.#healthy(now)) {
      this.#outageSince = now;
      this.#log.warn(`cluster ${this.cluster}: collecting flows stopped: ${reason}; retrying`);
    }
    this.#connectedAt = null;
    this.#lastError = reason;
    this.#report();
  }

  #dropped(interval: TimeWindow, cause: DropCause, oldest: boolean): void {
    const reason =
      cause === 'history'
        ? `older than the collector keeps (${formatDuration(this.#history)})`
        : `the collector dropped them to stay within its memory cap (${mebibytes(this.#store.maxBytes)} MiB estimated, ${this.#store.distinctFlows} distinct flows held)`;
    if (this.#heldFrom !== null && (oldest || interval.from <= this.#heldFrom)) {
      const heldFrom = this.#heldFrom;
      if (interval.to <= heldFrom) return;
      this.#heldFrom = interval.to;
      this.#before = reason;
      this.#missing = this.#missing.filter((m) => m.to > interval.to);
      if (cause === 'memory-cap') this.#metrics?.collectorLostSeconds.inc({ cluster: this.cluster, cause }, interval.to - heldFrom);
    } else this.#addMissing({ ...interval, reason }, cause);
    if (cause === 'memory-cap')
      this.#log.warn(
        `cluster ${this.cluster}: flows between ${formatTime(interval.from)} and ${formatTime(interval.to)} dropped: ${reason}`,
      );
    this.#report();
  }

  #addMissing(missing: MissingFlows, cause: 'unreachable' | DropCause): void {
    if (missing.to <= missing.from) return;
    this.#missing.push(missing);
    this.#missing.sort((a, b) => a.from - b.from);
    if (cause !== 'history') this.#metrics?.collectorLostSeconds.inc({ cluster: this.cluster, cause }, missing.to - missing.from);
  }

  /** The follower's reads and skips since last counted, to the metrics. */
  #count(): void {
    const f = this.#follower;
    if (f === null || this.#metrics === undefined) return;
    const labels = { cluster: this.cluster, source: this.#kind };
    this.#metrics.flowInputsRead.inc(labels, f.inputsRead - this.#counted.read);
    this.#metrics.flowInputsSkipped.inc(labels, f.skipped.total - this.#counted.skipped);
    this.#metrics.flowInputsUnlearnable.inc(labels, f.unlearnable.total - this.#counted.unlearnable);
    this.#counted = { read: f.inputsRead, skipped: f.skipped.total, unlearnable: f.unlearnable.total };
  }

  #report(): void {
    const m = this.#metrics;
    if (m === undefined) return;
    const labels = { cluster: this.cluster };
    m.collectorConnected.set(labels, this.#running !== null && this.#connectedAt !== null ? 1 : 0);
    m.collectorFlows.set(labels, this.#store.distinctFlows);
    m.collectorBytes.set(labels, this.#store.bytes);
  }
}

export interface CollectorsOptions extends Omit<CollectorOptions, 'cluster' | 'open' | 'maxBytes'> {
  /**
   * The clusters whose flows are collected (Goldmane's, Hubble's), and how to open each one's
   * follower; with what is followed and its Calico edition when it is not Goldmane (the default).
   */
  readonly clusters: ReadonlyMap<string, (() => Promise<Follower>) | CollectedCluster>;
  /** The estimated bytes all collectors together may hold, shared equally. Default 128 MiB. */
  readonly maxBytes?: number;
}

export interface CollectedCluster {
  readonly open: () => Promise<Follower>;
  readonly kind: CollectedKind;
  /** Undefined: not Calico, or not known (overrides the collectors' calicoEdition for this cluster). */
  readonly calicoEdition?: CalicoEdition;
}

/** The collectors of every collected cluster, started and stopped together (with the Lease). */
export class FlowCollectors {
  readonly #collectors = new Map<string, FlowCollector>();

  constructor(options: CollectorsOptions) {
    const { clusters, maxBytes = DEFAULT_MAX_BYTES, ...each } = options;
    const share = Math.floor(maxBytes / Math.max(1, clusters.size));
    const { calicoEdition: sharedEdition, ...shared } = each;
    for (const [cluster, entry] of clusters) {
      const { open, kind, calicoEdition } =
        typeof entry === 'function' ? { open: entry, kind: undefined, calicoEdition: sharedEdition } : entry;
      this.#collectors.set(
        cluster,
        new FlowCollector({
          ...shared,
          cluster,
          open,
          maxBytes: share,
          ...(kind !== undefined ? { kind } : {}),
          ...(calicoEdition !== undefined ? { calicoEdition } : {}),
        }),
      );
    }
  }

  /** Where the collectors log from now on (the App's logger, once it is loaded). */
  set log(log: CollectorLog) {
    for (const c of this.#collectors.values()) c.log = log;
  }

  get(cluster: string): FlowCollector | undefined {
    return this.#collectors.get(cluster);
  }

  start(why: string): void {
    for (const c of this.#collectors.values()) c.start(why);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#collectors.values()].map((c) => c.stop()));
  }

  /** A repository reads `seconds` back from this cluster (its initialLookback): keep that much. */
  keep(cluster: string, seconds: number): void {
    this.#collectors.get(cluster)?.keep(seconds);
  }

  /**
   * The source a run reads a cluster's flows from: its collector's while this replica collects;
   * otherwise (a collected cluster on a replica without the Lease) the source itself, read
   * directly, leaving the read point to the collector; a cluster nobody collects, directly.
   */
  async openFlowSource(cluster: string, openDirect: () => Promise<FlowSource>): Promise<FlowSource> {
    const collector = this.#collectors.get(cluster);
    if (collector === undefined) return openDirect();
    if (collector.collecting) return collector.source();
    return readDirectly(await openDirect());
  }
}

/** A collected cluster's source read by a replica that does not collect it. */
function readDirectly(source: FlowSource): FlowSource {
  return withChanges(source, {
    description: `${source.description}, read directly: this replica does not hold the Lease; the one that does collects this cluster's flows, and its next run reads them all since its last`,
    coverage: (now) => ({ from: now - (source.retention ?? 0), to: now, before: 'read directly', missing: [], keepReadPoint: true }),
  });
}

function backoff(failures: number): number {
  return Math.min(REOPEN_MAX_MS, REOPEN_FIRST_MS * 2 ** failures);
}

function mebibytes(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0);
}

/** Resolves after `ms` of the clock, or at once when `signal` aborts. */
function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = clock.setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clock.clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
