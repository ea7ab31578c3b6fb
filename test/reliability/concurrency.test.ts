// Concurrency, end to end through Probot against the fake GitHub:
// (a) a scheduled tick, a webhook and a manual request for one repository at the same moment
//     have one run's effects (the scheduler serialises and coalesces them);
// (b) two replicas without a Lease race on one PR branch, interleaved at the ref update: the
//     compare-and-swap lets one win, the other re-plans, no update is lost, and what GitHub holds
//     afterwards is what a serial history leaves.

import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import nock from 'nock';
import { decodeState, isDismissal, OBSOLETE_MARKER } from '../../src/app/state/pull-request-state.ts';
import { leaseRunLock, type RunLock } from '../../src/cluster/run-lock.ts';
import { branchName } from '../../src/plan/lifecycle/unit-key.ts';
import { AppHarness, HOUR, type Replica } from '../app/support/app-harness.ts';
import { KubeApiServer } from '../support/kube-api-server.ts';
import { useNock } from '../support/nock-scope.ts';
import { duplicates, snapshot } from './scenario.ts';
import { report, sized } from './size.ts';

useNock();

const SHOP = branchName('prod', 'shop');
const POLICY = 'clusters/prod/namespace-isolation/shop.yaml';
const db = { namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432 } as const;
const web = { namespace: 'web', direction: 'ingress', peer: 'pub', port: 443 } as const;
const cache = { namespace: 'shop', direction: 'egress', peer: 'ns:cache', port: 6379 } as const;
const queue = { namespace: 'shop', direction: 'egress', peer: 'ns:queue', port: 5672 } as const;

let open: AppHarness[] = [];
afterEach(async () => {
  for (const h of open) {
    expect(h.github.unexpected()).toEqual([]);
    await h.stop();
  }
  open = [];
});

/** A repository with open PRs for shop and web, then an hour of new traffic for shop. */
async function started(): Promise<AppHarness> {
  const h = await AppHarness.start();
  open.push(h);
  await h.see(db, web);
  await h.run('first');
  h.now += HOUR;
  await h.see(cache);
  return h;
}

const stats = { scenarios: 0, converged: 0, duplicates: 0, lost: 0, failures: 0 };

describe('a tick, a webhook and a manual request at the same moment', () => {
  test('have one run’s effects: one more run serves the requests that arrived during it, and it writes nothing (nothing new)', async () => {
    const reference = await started();
    reference.repo.comment(reference.repo.issues()[0]!.number, '/policy-recommender run');
    reference.github.resetRequests();
    await reference.run('manual');
    const once = reference.writes();
    await reference.run('again');
    const expected = snapshot(reference);
    await reference.stop();
    open = [];

    const h = await started();
    h.github.takeEvents();
    h.repo.comment(h.repo.issues()[0]!.number, '/policy-recommender run');
    h.github.resetRequests();
    const ticked = h.scheduler.tick(h.repo.key());
    await Promise.all([ticked, h.deliver(), h.run('manual')]);
    expect(await ticked).toBe('ran');
    const writes = h.writes();
    // The tick's run, then one run for both requests (nothing new: not even the dashboard).
    expect(writes).toEqual(once);
    expect(h.repo.pullRequests({ state: 'open' })).toHaveLength(2);
    expect(h.repo.comments(h.repo.pullRequestFor(SHOP)!.number)).toEqual([]);
    expect(duplicates(h)).toEqual([]);
    expect(snapshot(h)).toEqual(expected);
    expect(h.errors).toEqual([]);
    stats.scenarios++;
    stats.converged++;
  });

  test('a tick while a run is in progress is skipped, not queued', async () => {
    const h = await started();
    h.github.resetRequests();
    const hold = h.github.hold({ method: 'GET', pathRegex: /\/branches\/main$/ });
    const running = h.run('manual');
    await hold.reached;
    expect(await h.scheduler.tick(h.repo.key())).toBe('skipped');
    hold.release();
    await running;
    expect(h.github.requests().filter((r) => r.path.endsWith('/branches/main'))).toHaveLength(1);
  });
});

interface Race {
  readonly name: string;
  /** What only replica B's flow source has (A and B then propose different files). */
  readonly onlyB: boolean;
  /** Whose PR body is written last: the winner's (B) or the loser's (A). */
  readonly lastBody: 'winner' | 'loser';
}

/** Runs A (the harness) and B (a replica) at once, B winning the ref update. */
async function race(h: AppHarness, b: Replica, order: Race['lastBody']): Promise<void> {
  if (order === 'winner') {
    // A writes its body, waits at its ref update; B runs through; A's compare-and-swap fails.
    const a = h.github.hold({ graphql: 'updateRefs' });
    const runA = h.run('replica A');
    await a.reached;
    await b.run('replica B');
    a.release();
    await runA;
  } else {
    // B writes its body and waits; A writes its body over B's and waits; B moves the branch; then A tries.
    const holdB = h.github.hold({ graphql: 'updateRefs' });
    const runB = b.run('replica B');
    await holdB.reached;
    const holdA = h.github.hold({ graphql: 'updateRefs' });
    const runA = h.run('replica A');
    await holdA.reached;
    holdB.release();
    await runB;
    holdA.release();
    await runA;
  }
}

/** The state without PR bodies' evidence columns (counts depend on which replica read what). */
function outcome(h: AppHarness): unknown {
  const s = snapshot(h) as { pullRequests: Record<string, { body: string }[]> } & Record<string, unknown>;
  const pullRequests = Object.fromEntries(
    Object.entries(s.pullRequests).map(([branch, prs]) => [branch, prs.map(({ body: _body, ...rest }) => rest)]),
  );
  return { ...s, pullRequests };
}

const RACES: Race[] = [
  { name: 'same files, the winner’s body last', onlyB: false, lastBody: 'winner' },
  { name: 'same files, the loser’s body last', onlyB: false, lastBody: 'loser' },
  { name: 'B saw more traffic, the winner’s body last', onlyB: true, lastBody: 'winner' },
  { name: 'B saw more traffic, the loser’s body last', onlyB: true, lastBody: 'loser' },
];

describe('two replicas without a Lease race on one branch (compare-and-swap ref updates)', () => {
  const repeat = sized(1, 5);

  test.each(RACES)('$name: no update is lost, and the state equals a serial history', async ({ onlyB, lastBody }) => {
    for (let i = 0; i < repeat; i++) {
      // Serial: B, then A, then one more run.
      const serial = await started();
      const serialB = await serial.replica();
      if (onlyB) await serialB.see(queue);
      await serialB.run('replica B');
      await serial.run('replica A');
      await serial.run('after');
      const expected = outcome(serial);
      const serialHead = serial.repo.branchSha(SHOP);
      await serial.stop();
      open = [];

      const h = await started();
      const b = await h.replica();
      if (onlyB) await b.see(queue);
      const before = h.repo.pullRequestFor(SHOP)!.headSha;
      await race(h, b, lastBody);
      // The compare-and-swap refused A's move: B's commit is the branch head, A's is nowhere.
      const afterRace = h.repo.branchSha(SHOP)!;
      expect(afterRace).not.toBe(before);
      expect(h.repo.log(SHOP).map((c) => c.sha)).toEqual([afterRace, ...h.repo.log('main').map((c) => c.sha)]);
      // The PR's record names the branch head, or says the next run must regenerate from it.
      const state = decodeState(h.repo.pullRequestFor(SHOP)!.body)!;
      expect(state.commit).toBe(afterRace);
      await h.run('after');
      const policy = h.repo.file(SHOP, POLICY)!;
      expect(policy).toContain("projectcalico.org/name == 'cache'");
      if (onlyB) expect(policy).toContain("projectcalico.org/name == 'queue'");
      const got = outcome(h);
      const dup = duplicates(h);
      stats.scenarios++;
      stats.duplicates += dup.length;
      if (JSON.stringify(got) === JSON.stringify(expected)) stats.converged++;
      else stats.failures++;
      expect(dup).toEqual([]);
      expect(got).toEqual(expected);
      expect(h.repo.comments(h.repo.pullRequestFor(SHOP)!.number)).toEqual([]);
      expect(h.repo.branchSha(SHOP) === serialHead || h.repo.tree(SHOP).get(POLICY) === policy).toBe(true);
      await h.stop();
      open = [];
    }
  });

  test('a person pushing between the run’s read and its write keeps the commit; the PR says what its branch holds', async () => {
    const h = await started();
    const pr = h.repo.pullRequestFor(SHOP)!;
    let theirs = '';
    h.github.failNext({
      graphql: 'updateRefs',
      kind: 'pass',
      before: () => void (theirs = h.repo.pushToBranch(SHOP, { 'clusters/prod/notes.md': 'mine\n' }, 'a person')),
    });
    await h.run('racing a person');
    expect(h.repo.branchSha(SHOP)).toBe(theirs);
    expect(h.repo.pullRequest(pr.number).body).toBe(pr.body);
    h.now += HOUR;
    await h.run('next');
    expect(h.repo.branchSha(SHOP)).toBe(theirs);
    expect(h.repo.comments(pr.number).map((c) => c.body)).toEqual([expect.stringMatching(/^Someone else changed this branch/)]);
    expect(h.dashboard()).toMatch(/\| `shop` \| Edited \|/);
  });

  test('a PR a person closes while the run is about to close it as obsolete stays their dismissal', async () => {
    // Where the run re-reads the PR before closing it (shop's namespace is gone): the request before its close.
    const reference = await started();
    reference.namespaces = ['web'];
    reference.github.resetRequests();
    await reference.run('namespace deleted');
    const shopNumber = reference.repo.pullRequestFor(SHOP)!.number;
    const close = reference.github
      .requests()
      .findIndex((r) => r.method === 'PATCH' && r.path === `/repos/acme/policies/pulls/${shopNumber}`);
    expect(reference.repo.pullRequestFor(SHOP)!.body).toContain(OBSOLETE_MARKER);
    await reference.stop();
    open = [];

    const h = await started();
    h.namespaces = ['web'];
    const shop = h.repo.pullRequestFor(SHOP)!;
    h.github.resetRequests();
    h.github.failNext({ skip: close - 1, kind: 'pass', before: () => h.repo.closePullRequest(shop.number) });
    await h.run('namespace deleted, PR closed meanwhile');
    expect(h.github.pendingFaults()).toBe(0);
    await h.deliver();
    const closed = h.repo.pullRequest(shop.number);
    expect(closed.state).toBe('closed');
    expect(isDismissal(closed)).toBe(true);
    expect(h.repo.comments(shop.number).map((c) => c.body)).toEqual([expect.stringMatching(/^Dismissed: /)]);
  });

  test('closing a PR as obsolete deletes its branch only where the run saw it', async () => {
    const h = await started();
    h.namespaces = ['web'];
    let theirs = '';
    h.github.failNext({
      graphql: 'updateRefs',
      kind: 'pass',
      before: () => void (theirs = h.repo.pushToBranch(SHOP, { 'clusters/prod/notes.md': 'mine\n' }, 'a person')),
    });
    await h.run('namespace deleted');
    expect(h.repo.pullRequestFor(SHOP)!.state).toBe('closed');
    expect(h.repo.branchSha(SHOP)).toBe(theirs);
  });
});

describe('two replicas with Leases (POLICY_RECOMMENDER_LEASE)', () => {
  // A run a webhook asks for runs where the webhook arrived; each run holds its repository's Lease
  // (src/cluster/run-lock.ts), here on a Kubernetes API server on 127.0.0.1.
  test('runs of one repository asked of both at the same moment do not overlap, and both happen', async () => {
    const kube = await KubeApiServer.start();
    // The API server is real (on 127.0.0.1); GitHub stays the fake behind nock.
    nock.enableNetConnect('127.0.0.1');
    try {
      const log: string[] = [];
      const lock = (identity: string): RunLock => {
        const held = leaseRunLock({
          cluster: kube.kubeConfig(`token-${identity}`),
          namespace: 'policy-recommender',
          prefix: 'policy-recommender',
          identity,
          leaseDurationSeconds: 3,
          renewDeadlineSeconds: 2,
          retryPeriodSeconds: 1,
        });
        return {
          hold: (repository, signal, run) =>
            held.hold(repository, signal, async (s) => {
              log.push(`${identity} starts`);
              try {
                return await run(s);
              } finally {
                log.push(`${identity} ends`);
              }
            }),
        };
      };
      const h = await AppHarness.start({ runLock: lock('pod-a') });
      open.push(h);
      const b = await h.replica({ runLock: lock('pod-b') });
      await h.see(db, web);
      await Promise.all([h.run('on A'), b.run('on B')]);
      expect(log).toHaveLength(4);
      expect([log[0]!.split(' ')[0], log[2]!.split(' ')[0]].sort()).toEqual(['pod-a', 'pod-b']);
      expect(log[1]).toBe(log[0]!.replace('starts', 'ends'));
      expect(duplicates(h)).toEqual([]);
      expect(b.errors).toEqual([]);
    } finally {
      nock.disableNetConnect();
      await kube.close();
    }
  }, 60_000);
});

describe('one delivery reaching two replicas', () => {
  // GitHub redelivers an event under its delivery id, and a redelivery (or a retry by a proxy) can
  // reach another replica than the first: each replica's memory of delivery ids cannot tell. The
  // effect must be the same once: here both handle the close at the same moment.
  test('a dismissal handled by two replicas at once is commented once; its branch is gone; no error', async () => {
    const h = await started();
    const b = await h.replica();
    // B has run once (and found nothing new): both replicas hold an installation token already.
    await b.run('replica B');
    const web = h.repo.pullRequestFor(branchName('prod', 'web'))!;
    h.github.takeEvents();
    h.repo.closePullRequest(web.number);
    const closed = h.github.takeEvents().filter((e) => e.name === 'pull_request');
    expect(closed).toHaveLength(1);
    await Promise.all([h.receive(closed[0]!), b.receive(closed[0]!)]);
    expect(h.repo.comments(web.number).map((c) => c.body)).toEqual([expect.stringMatching(/^Dismissed: /)]);
    expect(h.repo.branchSha(web.head)).toBeUndefined();
    expect(b.errors).toEqual([]);
    // The comment one replica deleted says nothing more: its webhook asks for nothing.
    await h.deliver();
    expect(h.repo.comments(web.number)).toHaveLength(1);
  });
});

afterAll(() => report({ suite: 'concurrency (coalesced triggers, replica races)', ...stats }));
