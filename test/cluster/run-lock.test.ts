// One run of a repository at a time across replicas: each run holds its repository's Lease
// (coordination.k8s.io/v1, the leader election's semantics: leader-election.ts), against a
// Kubernetes API server on 127.0.0.1 that keeps Leases with resourceVersion compare-and-swap.

import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { leaseRunLock, type RunLock, runLeaseName } from '../../src/cluster/run-lock.ts';
import { KubeApiServer } from '../support/kube-api-server.ts';

const NAMESPACE = 'policy-recommender';
const PREFIX = 'policy-recommender';

let server: KubeApiServer;

beforeAll(async () => {
  server = await KubeApiServer.start();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => server.reset());

/** A replica's lock, with the shortest periods the election allows (1 s retry, 2 s deadline, 3 s lease). */
function replica(identity: string): RunLock {
  return leaseRunLock({
    cluster: server.kubeConfig(`token-${identity}`),
    namespace: NAMESPACE,
    prefix: PREFIX,
    identity,
    leaseDurationSeconds: 3,
    renewDeadlineSeconds: 2,
    retryPeriodSeconds: 1,
  });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('a run lock per repository', () => {
  test('two replicas: the second run starts only after the first ended, and then runs', async () => {
    const a = replica('pod-a');
    const b = replica('pod-b');
    const log: string[] = [];
    const aRunning = deferred();
    const aMayEnd = deferred();
    const runA = a.hold('1/acme/policies', new AbortController().signal, async () => {
      log.push('a starts');
      aRunning.resolve();
      await aMayEnd.promise;
      log.push('a ends');
    });
    await aRunning.promise;
    const runB = b.hold('1/acme/policies', new AbortController().signal, async () => {
      log.push('b starts');
      return 'b ran';
    });
    // B has tried and waits: A holds the Lease.
    await new Promise((r) => setTimeout(r, 1500));
    expect(log).toEqual(['a starts']);
    expect(server.lease(NAMESPACE, runLeaseName(PREFIX, '1/acme/policies'))?.spec?.holderIdentity).toBe('pod-a');
    aMayEnd.resolve();
    await runA;
    expect(await runB).toBe('b ran');
    expect(log).toEqual(['a starts', 'a ends', 'b starts']);
    // Released after each run: nobody holds it.
    expect(server.lease(NAMESPACE, runLeaseName(PREFIX, '1/acme/policies'))?.spec?.holderIdentity).toBeFalsy();
  }, 20_000);

  test('different repositories run at the same time', async () => {
    const a = replica('pod-a');
    const b = replica('pod-b');
    const both = deferred();
    let started = 0;
    const run = async () => {
      if (++started === 2) both.resolve();
      await both.promise;
    };
    await Promise.all([
      a.hold('1/acme/policies', new AbortController().signal, run),
      b.hold('1/acme/other', new AbortController().signal, run),
    ]);
    expect(started).toBe(2);
  }, 20_000);

  test('a run waiting for the lock stops when its signal aborts, and takes nothing', async () => {
    const a = replica('pod-a');
    const b = replica('pod-b');
    const aRunning = deferred();
    const aMayEnd = deferred();
    const runA = a.hold('1/acme/policies', new AbortController().signal, async () => {
      aRunning.resolve();
      await aMayEnd.promise;
    });
    await aRunning.promise;
    const stop = new AbortController();
    let ran = false;
    const runB = b.hold('1/acme/policies', stop.signal, async () => void (ran = true));
    stop.abort(new Error('no longer wanted'));
    await expect(runB).rejects.toThrow('no longer wanted');
    aMayEnd.resolve();
    await runA;
    expect(ran).toBe(false);
    expect(server.lease(NAMESPACE, runLeaseName(PREFIX, '1/acme/policies'))?.spec?.holderIdentity).toBeFalsy();
  }, 20_000);

  test('a run whose lock can no longer be renewed is told to stop: its signal aborts', async () => {
    const a = replica('pod-a');
    let aborted: unknown = null;
    await a.hold('1/acme/policies', new AbortController().signal, async (signal) => {
      // The API server stops answering this replica: no renewal succeeds within the deadline.
      server.hold('token-pod-a');
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      aborted = signal.reason;
      server.release('token-pod-a');
    });
    expect(aborted).not.toBeNull();
  }, 20_000);

  test('lease names are DNS subdomains whatever the repository is called', () => {
    const name = runLeaseName(PREFIX, '12/Acme-Corp/Policies.Repo');
    expect(name).toMatch(/^policy-recommender-run-[0-9a-f]{16}$/);
    expect(runLeaseName(PREFIX, '12/acme/a')).not.toBe(runLeaseName(PREFIX, '12/acme/b'));
  });
});
