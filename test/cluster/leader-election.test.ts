import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { ClusterAccessError } from '../../src/cluster/errors.ts';
import { alwaysLeader, LeaderElector, type LeaderElectorOptions } from '../../src/cluster/leader-election.ts';
import { KubeApiServer } from '../support/kube-api-server.ts';
import { FakeClock } from './fake-clock.ts';

const NAMESPACE = 'policy-recommender';
const LEASE = 'policy-recommender-scheduler';
const LEASE_PATH = `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases`;
const SECOND = 1000;

let server: KubeApiServer;
let clock: FakeClock;
let events: { who: string; what: 'started' | 'stopped'; at: number }[];
let errors: { who: string; error: Error }[];
let signals: Map<string, AbortSignal>;
let electors: LeaderElector[];

beforeAll(async () => {
  server = await KubeApiServer.start();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.reset();
  clock = new FakeClock();
  events = [];
  errors = [];
  signals = new Map();
  electors = [];
});
afterEach(async () => {
  for (const elector of electors) await elector.stop();
});

/** A replica: its own identity and bearer token, so the server can fail one replica's requests. */
function replica(identity: string, options: Partial<LeaderElectorOptions> = {}): LeaderElector {
  const elector = new LeaderElector({
    cluster: server.kubeConfig(tokenOf(identity)),
    namespace: NAMESPACE,
    name: LEASE,
    identity,
    clock,
    random: () => 0,
    callbacks: {
      onStartedLeading: (signal) => {
        signals.set(identity, signal);
        events.push({ who: identity, what: 'started', at: clock.now() });
      },
      onStoppedLeading: () => {
        events.push({ who: identity, what: 'stopped', at: clock.now() });
      },
    },
    onError: (error) => errors.push({ who: identity, error }),
    ...options,
  });
  electors.push(elector);
  return elector;
}

const tokenOf = (identity: string) => `token-${identity}`;
const lease = () => server.lease(NAMESPACE, LEASE)!;
const spec = () =>
  lease().spec as {
    holderIdentity: string;
    leaseDurationSeconds: number;
    acquireTime: string;
    renewTime: string;
    leaseTransitions: number;
  };
const requestsBy = (identity: string) => server.requestsTo(LEASE_PATH).filter((r) => r.token === tokenOf(identity));
const calls = (identity: string) => requestsBy(identity).map((r) => `${r.method} ${r.status}`);
const timeOf = (who: string, what: 'started' | 'stopped') => events.find((e) => e.who === who && e.what === what)?.at;

describe('leader election', () => {
  test('of two replicas exactly one leads, and renews while the other waits', async () => {
    const a = replica('pod-a');
    const b = replica('pod-b');
    await a.start();
    await b.start();
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    expect(events).toEqual([{ who: 'pod-a', what: 'started', at: clock.now() }]);
    expect(spec()).toMatchObject({ holderIdentity: 'pod-a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(spec().renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/); // a MicroTime
    expect(calls('pod-a')).toEqual(['GET 404', 'POST 201']);

    await clock.advance(60 * SECOND);
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    expect(events).toHaveLength(1);
    expect(Date.parse(spec().renewTime)).toBe(clock.now());
    // The leader renews every retry period with the resourceVersion it last wrote; the other only reads.
    const renewals = requestsBy('pod-a').slice(2);
    expect(renewals).toHaveLength(30);
    expect(renewals.every((r) => r.method === 'PUT' && r.status === 200)).toBe(true);
    expect(renewals.every((r) => typeof (r.body as { metadata: { resourceVersion?: string } }).metadata.resourceVersion === 'string')).toBe(
      true,
    );
    expect(requestsBy('pod-b').every((r) => r.method === 'GET')).toBe(true);
    // Renewals keep the acquire time.
    expect(Date.parse(spec().acquireTime)).toBe(clock.now() - 60 * SECOND);
  });

  test('a leader whose renewals fail stops within the renew deadline; the other takes over only after the lease expires', async () => {
    const a = replica('pod-a');
    const b = replica('pod-b');
    await a.start();
    await b.start();
    await clock.advance(5 * SECOND);
    const lastRenewal = Date.parse(spec().renewTime);
    server.failRequests(tokenOf('pod-a'), 500);

    await clock.advanceUntil(() => b.isLeader, 60 * SECOND);
    expect(events.map((e) => `${e.who} ${e.what}`)).toEqual(['pod-a started', 'pod-a stopped', 'pod-b started']);
    const stopped = timeOf('pod-a', 'stopped')!;
    const started = timeOf('pod-b', 'started')!;
    expect(stopped - lastRenewal).toBeLessThanOrEqual(10 * SECOND); // renew deadline
    expect(started - lastRenewal).toBeGreaterThanOrEqual(15 * SECOND); // lease duration
    expect(signals.get('pod-a')!.aborted).toBe(true);
    expect([a.isLeader, b.isLeader]).toEqual([false, true]);
    expect(spec()).toMatchObject({ holderIdentity: 'pod-b', leaseTransitions: 1 });
    expect(errors.filter((e) => e.who === 'pod-a').map((e) => e.error.message)).toEqual([
      'cannot update leases.coordination.k8s.io (in namespace policy-recommender): HTTP 500 InternalError: injected failure',
      'cannot get leases.coordination.k8s.io (in namespace policy-recommender): HTTP 500 InternalError: injected failure',
    ]);
    expect([stopped - lastRenewal, started - lastRenewal]).toEqual([10 * SECOND, 16 * SECOND]);

    // Back in service, the old leader sees the new one and stays a follower.
    server.clearFailures(tokenOf('pod-a'));
    await clock.advance(60 * SECOND);
    expect([a.isLeader, b.isLeader]).toEqual([false, true]);
    expect(events).toHaveLength(3);
  });

  test('a renewal that hangs is abandoned at the renew deadline: the leader stops leading on time', async () => {
    clock = new FakeClock({ awaitCallbacks: false });
    const a = replica('pod-a');
    await a.start();
    const acquired = clock.now();
    server.hold(tokenOf('pod-a'));
    await clock.advance(2 * SECOND); // the first renewal goes out and never comes back
    const hung = await server.waitFor((r) => r.token === tokenOf('pod-a') && r.method === 'PUT');
    await clock.advance(7 * SECOND);
    expect(a.isLeader).toBe(true);
    await clock.advance(1 * SECOND);
    expect(a.isLeader).toBe(false);
    expect(timeOf('pod-a', 'stopped')).toBe(acquired + 10 * SECOND);
    expect(signals.get('pod-a')!.aborted).toBe(true);
    await server.waitFor(() => hung.aborted); // the request itself was cancelled
    server.release(tokenOf('pod-a'));
  });

  test("a lease left by a vanished replica is taken over after its duration, judged on this replica's clock", async () => {
    const longAgo = '2020-01-01T00:00:00.000000Z';
    server.putLease(NAMESPACE, LEASE, {
      holderIdentity: 'pod-gone',
      leaseDurationSeconds: 15,
      acquireTime: longAgo,
      renewTime: longAgo,
      leaseTransitions: 3,
    });
    const b = replica('pod-b');
    const start = clock.now();
    await b.start();
    expect(b.isLeader).toBe(false);
    await clock.advanceUntil(() => b.isLeader, 60 * SECOND);
    expect(timeOf('pod-b', 'started')! - start).toBeGreaterThanOrEqual(15 * SECOND);
    expect(timeOf('pod-b', 'started')! - start).toBeLessThanOrEqual(17 * SECOND);
    expect(spec()).toMatchObject({ holderIdentity: 'pod-b', leaseTransitions: 4 });
    expect(Date.parse(spec().acquireTime)).toBe(timeOf('pod-b', 'started'));
  });

  test('a 409 Conflict while acquiring is handled by re-reading, never by assuming the win', async () => {
    server.putLease(NAMESPACE, LEASE, { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 2 });
    // Between b's read and b's write, replica c takes the lease.
    server.beforeNextLeaseWrite(() => {
      server.putLease(NAMESPACE, LEASE, {
        holderIdentity: 'pod-c',
        leaseDurationSeconds: 15,
        renewTime: new Date(clock.now()).toISOString(),
        leaseTransitions: 3,
      });
    });
    const b = replica('pod-b');
    await b.start();
    expect(calls('pod-b')).toEqual(['GET 200', 'PUT 409', 'GET 200']);
    expect(b.isLeader).toBe(false);
    expect(b.observedHolder).toBe('pod-c');
    expect(spec().holderIdentity).toBe('pod-c');
    // c's hold is respected for its duration from when b saw it.
    await clock.advance(10 * SECOND);
    expect(b.isLeader).toBe(false);
    expect(
      requestsBy('pod-b')
        .slice(3)
        .every((r) => r.method === 'GET'),
    ).toBe(true);
  });

  test('a 409 AlreadyExists while creating the lease is handled the same way', async () => {
    server.beforeNextLeaseWrite(() => {
      server.putLease(NAMESPACE, LEASE, {
        holderIdentity: 'pod-c',
        leaseDurationSeconds: 15,
        renewTime: new Date(clock.now()).toISOString(),
        leaseTransitions: 0,
      });
    });
    const b = replica('pod-b');
    await b.start();
    expect(calls('pod-b')).toEqual(['GET 404', 'POST 409', 'GET 200']);
    expect(b.isLeader).toBe(false);
    expect(b.observedHolder).toBe('pod-c');
  });

  test('stop() releases the lease, so the other acquires it on its next try', async () => {
    const a = replica('pod-a');
    const b = replica('pod-b');
    await a.start();
    await b.start();
    await clock.advance(7 * SECOND);
    const before = requestsBy('pod-a').length;
    await a.stop();
    expect(timeOf('pod-a', 'stopped')).toBe(clock.now());
    expect(a.isLeader).toBe(false);
    expect(spec().holderIdentity).toBe('');
    const release = requestsBy('pod-a')[before]!;
    expect([release.method, release.status]).toEqual(['PUT', 200]);
    expect((release.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion).toBeDefined();

    const stoppedAt = clock.now();
    await clock.advanceUntil(() => b.isLeader, 60 * SECOND);
    expect(timeOf('pod-b', 'started')! - stoppedAt).toBeLessThanOrEqual(2 * SECOND); // one retry period, no expiry wait
    expect(spec()).toMatchObject({ holderIdentity: 'pod-b', leaseTransitions: 1 });
    await clock.advance(30 * SECOND);
    expect(requestsBy('pod-a')).toHaveLength(before + 1); // nothing after the release
  });

  test('a leader that finds its lease taken stops leading at once, without waiting for the deadline', async () => {
    const a = replica('pod-a');
    await a.start();
    await clock.advance(3 * SECOND);
    server.putLease(NAMESPACE, LEASE, {
      holderIdentity: 'pod-x',
      leaseDurationSeconds: 15,
      renewTime: new Date(clock.now()).toISOString(),
      leaseTransitions: 1,
    });
    const takenAt = clock.now();
    await clock.advanceUntil(() => !a.isLeader, 20 * SECOND);
    expect(timeOf('pod-a', 'stopped')! - takenAt).toBeLessThanOrEqual(2 * SECOND);
    expect(calls('pod-a').slice(-2)).toEqual(['PUT 409', 'GET 200']);
    expect(spec().holderIdentity).toBe('pod-x');
  });

  test('a refused lease names the missing permission, once', async () => {
    server.forbid('get', 'leases');
    const a = replica('pod-a');
    await a.start();
    await clock.advance(20 * SECOND);
    expect(a.isLeader).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.error).toBeInstanceOf(ClusterAccessError);
    expect(errors[0]!.error.message).toMatch(
      /^missing permission: get leases\.coordination\.k8s\.io \(in namespace policy-recommender\) \(HTTP 403 Forbidden: leases\.coordination\.k8s\.io "policy-recommender-scheduler" is forbidden: /,
    );
    expect(requestsBy('pod-a').length).toBeGreaterThan(5); // it keeps trying: RBAC can be fixed
  });

  test('timings are checked like client-go checks them', () => {
    expect(() => replica('x', { leaseDurationSeconds: 10, renewDeadlineSeconds: 10 })).toThrow(
      /leaseDurationSeconds must be greater than renewDeadlineSeconds/,
    );
    expect(() => replica('x', { renewDeadlineSeconds: 2, retryPeriodSeconds: 2 })).toThrow(
      /renewDeadlineSeconds must be greater than 1.2 x retryPeriodSeconds/,
    );
    expect(() => replica('x', { retryPeriodSeconds: 0.5 })).toThrow(/retryPeriodSeconds must be a positive whole number/);
    expect(() => replica('x', { name: '../lease' })).toThrow(/invalid lease name/);
    electors.length = 0;
  });
});

describe('a single replica without cluster access', () => {
  test('always leads', async () => {
    const seen: string[] = [];
    let signal: AbortSignal | undefined;
    const leadership = alwaysLeader({
      onStartedLeading: (s) => {
        signal = s;
        seen.push('started');
      },
      onStoppedLeading: () => {
        seen.push('stopped');
      },
    });
    expect(leadership.isLeader).toBe(false);
    await leadership.start();
    await leadership.start();
    expect(leadership.isLeader).toBe(true);
    await leadership.stop();
    expect(leadership.isLeader).toBe(false);
    expect(signal!.aborted).toBe(true);
    expect(seen).toEqual(['started', 'stopped']);
  });
});
