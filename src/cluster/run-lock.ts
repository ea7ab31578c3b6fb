// One run of a repository at a time, across replicas. Each replica's scheduler serialises the runs
// it starts, but a webhook reaches whichever replica its request lands on: without this, a run a
// comment asked for on one replica could overlap the scheduled run of the Lease holder, and their
// dashboard writes overwrite each other's memory (GitHub's issue update takes no precondition).
// So a run holds a coordination.k8s.io/v1 Lease of its repository for as long as it lasts, with
// the leader election's semantics (leader-election.ts, client-go's): taken when absent, released
// or expired, renewed while the run goes on, released when it ends. A run that waits for it is
// still one run to its scheduler, so requests arriving meanwhile are coalesced; a run that can no
// longer renew it is stopped between two steps, before another replica may take it.

import { createHash } from 'node:crypto';
import { LeaderElector, type LeaderElectorOptions } from './leader-election.ts';

export interface RunLock {
  /** Runs `run` while holding `repository`'s lock, waiting for it first; `run`'s signal aborts when it is lost. */
  hold<T>(repository: string, signal: AbortSignal, run: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

export type RunLockOptions = Omit<LeaderElectorOptions, 'name' | 'callbacks'> & {
  /** Each repository's Lease is named `<prefix>-run-<digest of the repository>`. */
  readonly prefix: string;
};

/** The name of a repository's Lease: a DNS subdomain whatever the repository is called. */
export function runLeaseName(prefix: string, repository: string): string {
  return `${prefix}-run-${createHash('sha256').update(repository).digest('hex').slice(0, 16)}`;
}

export function leaseRunLock(options: RunLockOptions): RunLock {
  const { prefix, ...election } = options;
  return {
    async hold(repository, signal, run) {
      signal.throwIfAborted();
      let held!: (signal: AbortSignal) => void;
      const acquired = new Promise<AbortSignal>((resolve) => (held = resolve));
      const elector = new LeaderElector({
        ...election,
        name: runLeaseName(prefix, repository),
        callbacks: { onStartedLeading: (lost) => held(lost), onStoppedLeading: () => undefined },
      });
      try {
        await elector.start();
        const lost = await untilAborted(acquired, signal);
        return await run(AbortSignal.any([signal, lost]));
      } finally {
        await elector.stop();
      }
    },
  };
}

/** `promise`, or a rejection with the signal's reason once it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(e);
      },
    );
  });
}
