// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics, so that when
// several replicas serve webhooks only one runs the schedule:
//
// - A candidate reads the Lease every retry period (with jitter). It acquires it when it is
//   absent (create), released (empty holderIdentity), already its own, or expired. "Expired" is
//   judged as client-go judges it: the record has not changed for the record's
//   leaseDurationSeconds *as observed on this replica's clock*. Comparing another replica's
//   renewTime with our clock would let clock skew hand out the lease twice.
// - Every write carries the resourceVersion last read: a 409 Conflict means someone else wrote,
//   so the elector re-reads and decides again; it never assumes it won.
// - The leader renews every retry period. When no renewal has succeeded for the renew deadline
//   (measured from the start of the last successful one), it stops leading at once: the
//   in-flight request is aborted and onStartedLeading's signal fires, well before any other
//   replica may take over (leaseDuration > renewDeadline). A renewal that finds the lease taken
//   stops leading immediately.
// - stop() stops leading, then releases the lease (holderIdentity cleared) so another replica
//   acquires it on its next try instead of waiting for expiry.
//
// The only cluster writes the bot makes are to this Lease.

import { CoordinationV1Api, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { isDnsLabel, isDnsSubdomain } from '../calico/names.ts';
import { accessError, apiStatusOf, ClusterAccessError, type Permission } from './errors.ts';
import { type ClusterConnection, loadKubeConfig, withSignal } from './kube-config.ts';

/** Time and timers, injectable so tests can drive them. A callback may return a promise. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => unknown, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface LeaderCallbacks {
  /** Called when this replica becomes the leader; `signal` aborts when it stops leading. Not awaited. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once when leadership ends (lost, or stop()); stop() awaits it before releasing the lease. */
  onStoppedLeading(): void | Promise<void>;
}

/** What the App needs from an election: one replica leads, the others wait. */
export interface Leadership {
  /** Starts campaigning; resolves after the first attempt (whether or not it won). */
  start(): Promise<void>;
  /** Stops leading (calling onStoppedLeading if leading) and releases the lease. */
  stop(): Promise<void>;
  readonly isLeader: boolean;
}

export interface LeaderElectorOptions {
  readonly cluster: ClusterConnection;
  readonly namespace: string;
  readonly name: string;
  /** Unique per replica, e.g. the pod name. */
  readonly identity: string;
  readonly leaseDurationSeconds?: number;
  readonly renewDeadlineSeconds?: number;
  readonly retryPeriodSeconds?: number;
  readonly callbacks: LeaderCallbacks;
  readonly clock?: Clock;
  /** For the retry jitter (client-go's factor 1.2); [0, 1). */
  readonly random?: () => number;
  /** Failed attempts (API errors, callbacks that threw), reported when the error changes. */
  readonly onError?: (error: Error) => void;
}

const JITTER_FACTOR = 1.2;

/** The Lease fields the election uses, as read. */
interface LeaseRecord {
  readonly holder: string;
  readonly durationSeconds: number | undefined;
  readonly acquireTime: string | undefined;
  readonly renewTime: string | undefined;
  readonly transitions: number;
}

interface Observation {
  readonly lease: V1Lease;
  readonly record: LeaseRecord;
  readonly key: string;
  /** When this replica saw the record change (our clock). */
  readonly observedAt: number;
}

type Attempt = 'acquired' | 'held' | 'failed';
type State = 'idle' | 'candidate' | 'leader' | 'stopped';

export class LeaderElector implements Leadership {
  readonly #api: CoordinationV1Api;
  readonly #namespace: string;
  readonly #name: string;
  readonly #identity: string;
  readonly #leaseDuration: number;
  readonly #renewDeadlineMs: number;
  readonly #retryMs: number;
  readonly #callbacks: LeaderCallbacks;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #onError: (error: Error) => void;

  #state: State = 'idle';
  #observed: Observation | null = null;
  #timer: unknown;
  #deadlineTimer: unknown;
  #inflight: AbortController | undefined;
  #busy: Promise<void> | undefined;
  #leading: AbortController | undefined;
  /** Start of the last successful acquire or renewal. */
  #lastRenew = 0;
  #lastError: string | undefined;

  constructor(options: LeaderElectorOptions) {
    const leaseDuration = options.leaseDurationSeconds ?? 15;
    const renewDeadline = options.renewDeadlineSeconds ?? 10;
    const retryPeriod = options.retryPeriodSeconds ?? 2;
    for (const [key, value] of Object.entries({ leaseDuration, renewDeadline, retryPeriod })) {
      if (!Number.isInteger(value) || value < 1)
        throw new RangeError(`${key}Seconds must be a positive whole number of seconds, got ${value}`);
    }
    if (leaseDuration <= renewDeadline) throw new RangeError('leaseDurationSeconds must be greater than renewDeadlineSeconds');
    if (renewDeadline <= JITTER_FACTOR * retryPeriod)
      throw new RangeError(`renewDeadlineSeconds must be greater than ${JITTER_FACTOR} x retryPeriodSeconds`);
    if (!isDnsLabel(options.namespace)) throw new RangeError(`invalid lease namespace "${options.namespace}"`);
    if (!isDnsSubdomain(options.name)) throw new RangeError(`invalid lease name "${options.name}"`);
    if (options.identity === '' || options.identity.length > 253) throw new RangeError('identity must be 1 to 253 characters');
    this.#api = loadKubeConfig(options.cluster).makeApiClient(CoordinationV1Api);
    this.#namespace = options.namespace;
    this.#name = options.name;
    this.#identity = options.identity;
    this.#leaseDuration = leaseDuration;
    this.#renewDeadlineMs = renewDeadline * 1000;
    this.#retryMs = retryPeriod * 1000;
    this.#callbacks = options.callbacks;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#onError = options.onError ?? (() => {});
  }

  get isLeader(): boolean {
    return this.#state === 'leader' && this.#clock.now() < this.#lastRenew + this.#renewDeadlineMs;
  }

  /** The holder of the lease as last read or written ('' when released; undefined before the first read). */
  get observedHolder(): string | undefined {
    return this.#observed?.record.holder;
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') return;
    this.#state = 'candidate';
    await this.#run(() => this.#step());
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    const wasLeader = this.#state === 'leader';
    this.#state = 'stopped';
    this.#clock.clearTimeout(this.#timer);
    this.#clock.clearTimeout(this.#deadlineTimer);
    if (wasLeader) await this.#endLeadership(); // leader work stops first, without waiting for the API
    await this.#busy; // an attempt in flight finishes (bounded by its timeout) and sees the stop
    await this.#release();
  }

  /** One attempt at a time: a step queued behind another waits for it. */
  #run(step: () => Promise<void>): Promise<void> {
    const previous = this.#busy;
    const current = (async () => {
      await previous;
      try {
        await step();
      } catch (e) {
        this.#report(e);
      }
    })();
    this.#busy = current;
    void current.finally(() => {
      if (this.#busy === current) this.#busy = undefined;
    });
    return current;
  }

  #schedule(ms: number): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      return this.#run(() => this.#step());
    }, ms);
  }

  #jittered(): number {
    return this.#retryMs * (1 + this.#random() * JITTER_FACTOR);
  }

  async #step(): Promise<void> {
    const state = this.#state;
    if (state !== 'candidate' && state !== 'leader') return;
    const startedAt = this.#clock.now();
    const timeout = state === 'leader' ? this.#lastRenew + this.#renewDeadlineMs - startedAt : this.#renewDeadlineMs;
    let outcome: Attempt = 'failed';
    if (timeout > 0) {
      try {
        outcome = await this.#tryAcquireOrRenew(timeout);
        this.#lastError = undefined; // the API answered: report the next failure again
      } catch (e) {
        if (this.#state === state) this.#report(e);
      }
    }
    if (this.#state !== state) return; // stopped, or leadership lost meanwhile
    if (outcome === 'acquired') {
      this.#lastRenew = startedAt;
      this.#armDeadline();
      if (state === 'candidate') this.#becomeLeader();
      this.#schedule(this.#retryMs);
    } else if (state === 'leader' && outcome === 'held') {
      this.#loseLeadership();
    } else {
      // Candidate: try again later. Leader: retry until the deadline timer decides.
      this.#schedule(state === 'leader' ? this.#retryMs : this.#jittered());
    }
  }

  #becomeLeader(): void {
    this.#state = 'leader';
    this.#leading = new AbortController();
    const signal = this.#leading.signal;
    this.#callback(() => this.#callbacks.onStartedLeading(signal));
  }

  #armDeadline(): void {
    this.#clock.clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = this.#clock.setTimeout(
      () => {
        this.#deadlineTimer = undefined;
        if (this.#state === 'leader') this.#loseLeadership();
      },
      this.#lastRenew + this.#renewDeadlineMs - this.#clock.now(),
    );
  }

  /** Leadership lost while running: stop leading now, then campaign again. */
  #loseLeadership(): void {
    this.#state = 'candidate';
    this.#clock.clearTimeout(this.#deadlineTimer);
    this.#inflight?.abort();
    void this.#endLeadership();
    this.#schedule(this.#retryMs);
  }

  async #endLeadership(): Promise<void> {
    this.#leading?.abort();
    this.#leading = undefined;
    await this.#callbackAwaited(() => this.#callbacks.onStoppedLeading());
  }

  async #tryAcquireOrRenew(timeoutMs: number): Promise<Attempt> {
    return this.#withTimeout(timeoutMs, async (signal) => {
      const now = this.#clock.now();
      // Fast path: the leader renews with the resourceVersion it last wrote.
      if (this.#state === 'leader' && this.#observed !== null) {
        const written = await this.#replace(this.#desired(this.#observed, now), signal);
        if (written !== 'conflict') return this.#observe(written, now) && 'acquired';
        // Someone else wrote: read and decide again.
      }
      const current = await this.#get(signal);
      if (current === null) {
        const created = await this.#create(this.#desired(null, now), signal);
        if (created !== 'conflict') return this.#observe(created, now) && 'acquired';
        return this.#reread(signal);
      }
      this.#observe(current, now);
      if (this.#heldByAnother(now)) return 'held';
      const written = await this.#replace(this.#desired(this.#observed!, now), signal);
      if (written === 'conflict') return this.#reread(signal);
      return this.#observe(written, now) && 'acquired';
    });
  }

  /** After a 409: learn who wrote, and report whether they now hold it. Never assumes a win. */
  async #reread(signal: AbortSignal): Promise<Attempt> {
    const now = this.#clock.now();
    const current = await this.#get(signal);
    if (current === null) return 'failed';
    this.#observe(current, now);
    return this.#heldByAnother(now) ? 'held' : 'failed';
  }

  #heldByAnother(now: number): boolean {
    const observed = this.#observed;
    if (observed === null) return false;
    const { holder, durationSeconds } = observed.record;
    if (holder === '' || holder === this.#identity) return false;
    const duration = durationSeconds !== undefined && durationSeconds > 0 ? durationSeconds : this.#leaseDuration;
    return now < observed.observedAt + duration * 1000;
  }

  /** Records what was read or written; the observation time moves only when the record changes. */
  #observe(lease: V1Lease, now: number): true {
    const record = recordOf(lease);
    const key = JSON.stringify(record);
    const observedAt = this.#observed !== null && this.#observed.key === key ? this.#observed.observedAt : now;
    this.#observed = { lease, record, key, observedAt };
    return true;
  }

  /** The lease as this replica holding it at `now`: other fields and metadata are kept. */
  #desired(observed: Observation | null, now: number): V1Lease {
    const previous = observed?.record;
    const ours = previous !== undefined && previous.holder === this.#identity;
    return {
      ...observed?.lease,
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...observed?.lease.metadata, name: this.#name, namespace: this.#namespace },
      spec: {
        ...observed?.lease.spec,
        holderIdentity: this.#identity,
        leaseDurationSeconds: this.#leaseDuration,
        acquireTime: ours && previous.acquireTime !== undefined ? microTime(previous.acquireTime) : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: previous === undefined ? 0 : ours ? previous.transitions : previous.transitions + 1,
      },
    };
  }

  /** Gives the lease up if this replica holds it, so another acquires it without waiting for expiry. */
  async #release(): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const observed = this.#observed;
      if (observed === null || observed.record.holder !== this.#identity) return;
      const now = this.#clock.now();
      const released: V1Lease = {
        ...observed.lease,
        spec: {
          ...observed.lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: observed.record.transitions,
        },
      };
      try {
        const result = await this.#withTimeout(this.#renewDeadlineMs, async (signal) => {
          const written = await this.#replace(released, signal);
          if (written !== 'conflict') return this.#observe(written, now);
          const current = await this.#get(signal);
          if (current !== null) this.#observe(current, now);
          return false;
        });
        if (result) return;
      } catch (e) {
        this.#report(e);
        return;
      }
    }
  }

  async #withTimeout<T>(ms: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    this.#inflight = controller;
    const timer = this.#clock.setTimeout(() => controller.abort(), ms);
    try {
      return await call(controller.signal);
    } finally {
      this.#clock.clearTimeout(timer);
      if (this.#inflight === controller) this.#inflight = undefined;
    }
  }

  #permission(verb: string): Permission {
    return { verb, resource: 'leases', group: 'coordination.k8s.io', namespace: this.#namespace };
  }

  async #get(signal: AbortSignal): Promise<V1Lease | null> {
    try {
      return await this.#api.readNamespacedLease({ name: this.#name, namespace: this.#namespace }, withSignal(signal));
    } catch (e) {
      if (apiStatusOf(e)?.code === 404) return null;
      throw accessError(e, this.#permission('get'));
    }
  }

  async #create(body: V1Lease, signal: AbortSignal): Promise<V1Lease | 'conflict'> {
    const { resourceVersion: _, ...metadata } = body.metadata ?? {};
    try {
      return await this.#api.createNamespacedLease({ namespace: this.#namespace, body: { ...body, metadata } }, withSignal(signal));
    } catch (e) {
      if (apiStatusOf(e)?.code === 409) return 'conflict'; // AlreadyExists: another replica created it first
      throw accessError(e, this.#permission('create'));
    }
  }

  async #replace(body: V1Lease, signal: AbortSignal): Promise<V1Lease | 'conflict'> {
    try {
      return await this.#api.replaceNamespacedLease({ name: this.#name, namespace: this.#namespace, body }, withSignal(signal));
    } catch (e) {
      const code = apiStatusOf(e)?.code;
      // 409: our resourceVersion is stale. 404: deleted since we read it; re-reading creates it.
      if (code === 409 || code === 404) return 'conflict';
      throw accessError(e, this.#permission('update'));
    }
  }

  #callback(call: () => void | Promise<void>): void {
    void this.#callbackAwaited(call);
  }

  async #callbackAwaited(call: () => void | Promise<void>): Promise<void> {
    try {
      await call();
    } catch (e) {
      this.#onError(e instanceof Error ? e : new Error(String(e)));
    }
  }

  #report(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    if (e.message === this.#lastError) return;
    this.#lastError = e.message;
    this.#onError(
      e instanceof ClusterAccessError
        ? e
        : new ClusterAccessError(`leader election on lease ${this.#namespace}/${this.#name}: ${e.message}`, { cause: e }),
    );
  }
}

/** A single replica without cluster access: always the leader, no Lease. */
export function alwaysLeader(callbacks: LeaderCallbacks): Leadership {
  let leading: AbortController | undefined;
  return {
    async start() {
      if (leading !== undefined) return;
      leading = new AbortController();
      await callbacks.onStartedLeading(leading.signal);
    },
    async stop() {
      if (leading === undefined) return;
      leading.abort();
      leading = undefined;
      await callbacks.onStoppedLeading();
    },
    get isLeader() {
      return leading !== undefined;
    },
  };
}

function recordOf(lease: V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  const time = (value: unknown) => (value instanceof Date ? value.toISOString() : typeof value === 'string' ? value : undefined);
  const int = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) ? value : undefined);
  return {
    holder: typeof spec.holderIdentity === 'string' ? spec.holderIdentity : '',
    durationSeconds: int(spec.leaseDurationSeconds),
    acquireTime: time(spec.acquireTime),
    renewTime: time(spec.renewTime),
    transitions: int(spec.leaseTransitions) ?? 0,
  };
}

/**
 * A MicroTime for the request body. A number is our clock; a string is a time read back from
 * the server, which the client leaves as a string (V1MicroTime is not in its deserializer's type
 * map) and which we send back unchanged, keeping its microseconds.
 */
function microTime(value: number | string): V1MicroTime {
  return typeof value === 'number' ? new V1MicroTime(value) : (value as unknown as V1MicroTime);
}
