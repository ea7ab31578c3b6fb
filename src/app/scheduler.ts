// When runs happen: one node-cron task per repository, at its schedule and time zone. Runs of one
// repository never overlap: a scheduled tick that finds a run in progress is skipped (not
// queued); a request from a person (dashboard, comment, label) during a run is remembered and
// served by one more run right after it, so it is never lost and never doubled. A burst (pushes)
// settles first: the first request waits a moment (SETTLE_MS), the others join it, and one run
// serves them all.

import cron, { type ScheduledTask } from 'node-cron';

export interface RepositoryKey {
  readonly installationId: number;
  readonly owner: string;
  readonly repo: string;
}

/** How long a settled request waits for others like it before its run starts. */
const SETTLE_MS = 5_000;

/** Calls `start` when a burst has settled; returns what cancels it. */
export type Settle = (start: () => Promise<void>) => () => void;

const settleAfter =
  (ms: number): Settle =>
  (start) => {
    const timer = setTimeout(() => void start(), ms);
    return () => clearTimeout(timer);
  };

/** A run; `signal` aborts when a scheduled run must stop (this replica lost the leadership). */
export type RunFunction = (key: RepositoryKey, trigger: string, signal: AbortSignal) => Promise<void>;

interface Entry {
  key: RepositoryKey;
  task: ScheduledTask | null;
  pattern: string;
  running: Promise<void> | null;
  /** Aborts the run in progress, if it was started by the schedule. */
  abort: AbortController | null;
  /** A person's request that arrived during a run. */
  pending: string | null;
  /** Cancels the settled request waiting for its burst to end, if one is. */
  settling: (() => void) | null;
}

export class Scheduler {
  readonly #run: RunFunction;
  /** Scheduled ticks only run where this says so (the leader, when several replicas run). */
  readonly #mayRunScheduled: () => boolean;
  readonly #entries = new Map<string, Entry>();
  readonly #onError: (key: RepositoryKey, error: unknown) => void;
  readonly #settle: Settle;

  constructor(options: {
    run: RunFunction;
    mayRunScheduled?: () => boolean;
    onError?: (key: RepositoryKey, error: unknown) => void;
    settle?: Settle;
  }) {
    this.#run = options.run;
    this.#settle = options.settle ?? settleAfter(SETTLE_MS);
    this.#mayRunScheduled = options.mayRunScheduled ?? (() => true);
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Schedules (or reschedules) a repository; an unchanged schedule keeps its task. */
  schedule(key: RepositoryKey, expression: string, timezone: string): void {
    const entry = this.#entry(key);
    const pattern = `${expression} @ ${timezone}`;
    if (entry.task !== null && entry.pattern === pattern) return;
    void entry.task?.destroy();
    entry.pattern = pattern;
    entry.task = cron.schedule(
      expression,
      async () => {
        if (this.#mayRunScheduled()) await this.#start(entry, 'schedule', false);
      },
      { timezone, name: `${key.owner}/${key.repo}` },
    );
  }

  unschedule(key: RepositoryKey): void {
    const entry = this.#entries.get(id(key));
    if (entry === undefined) return;
    void entry.task?.destroy();
    entry.task = null;
    if (entry.running === null) this.#entries.delete(id(key));
  }

  /** A person asked for a run: now, or right after the one in progress. */
  async request(key: RepositoryKey, trigger: string): Promise<void> {
    await this.#start(this.#entry(key), trigger, true);
  }

  /**
   * A request that is one of a burst (pushes): its run starts once the burst has settled, and
   * serves every request of the burst (those made while it waits join it).
   */
  requestSettled(key: RepositoryKey, trigger: string): void {
    const entry = this.#entry(key);
    if (entry.settling !== null) return;
    entry.settling = this.#settle(async () => {
      entry.settling = null;
      await this.request(entry.key, trigger);
    });
  }

  /** A scheduled tick, for tests and for "run at start-up": skipped if a run is in progress. */
  async tick(key: RepositoryKey): Promise<'ran' | 'skipped'> {
    const entry = this.#entry(key);
    if (entry.running !== null) return 'skipped';
    await this.#start(entry, 'schedule', false);
    return 'ran';
  }

  /** Stops scheduled runs in progress (between two of their steps): leadership was lost. */
  abortScheduled(): void {
    for (const entry of this.#entries.values()) entry.abort?.abort(new Error('no longer the leader'));
  }

  isRunning(key: RepositoryKey): boolean {
    return this.#entries.get(id(key))?.running != null;
  }

  scheduled(): RepositoryKey[] {
    return [...this.#entries.values()].filter((e) => e.task !== null).map((e) => e.key);
  }

  async stop(): Promise<void> {
    for (const entry of this.#entries.values()) {
      void entry.task?.destroy();
      entry.settling?.();
    }
    await Promise.all([...this.#entries.values()].map((e) => e.running));
    this.#entries.clear();
  }

  #entry(key: RepositoryKey): Entry {
    let entry = this.#entries.get(id(key));
    if (entry === undefined)
      this.#entries.set(id(key), (entry = { key, task: null, pattern: '', running: null, abort: null, pending: null, settling: null }));
    return entry;
  }

  async #start(entry: Entry, trigger: string, requested: boolean): Promise<void> {
    if (entry.running !== null) {
      if (requested) entry.pending = trigger;
      return entry.running;
    }
    entry.running = (async () => {
      let next: string | null = trigger;
      while (next !== null) {
        entry.pending = null;
        const controller = new AbortController();
        entry.abort = next === 'schedule' ? controller : null;
        try {
          await this.#run(entry.key, next, controller.signal);
        } catch (e) {
          this.#onError(entry.key, e);
        }
        entry.abort = null;
        next = entry.pending;
      }
    })();
    try {
      await entry.running;
    } finally {
      entry.running = null;
    }
  }
}

function id(key: RepositoryKey): string {
  return `${key.installationId}/${key.owner}/${key.repo}`;
}
