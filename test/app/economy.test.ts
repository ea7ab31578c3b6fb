// GitHub request economy and convergence after interruptions, counted on the fake GitHub.

import { afterEach, describe, expect, test } from '@jest/globals';
import { branchName } from '../../src/plan/lifecycle/unit-key.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, HOUR } from './support/app-harness.ts';

useNock();

let h: AppHarness;
afterEach(async () => {
  expect(h.github.unexpected()).toEqual([]);
  await h.stop();
});

const names = (n: number) => Array.from({ length: n }, (_, i) => `team-${String(i).padStart(3, '0')}`);

describe('request economy', () => {
  test('200 namespaces with 200 open PRs: a run with nothing new makes 7 requests and writes nothing; each changed namespace at most 6 more', async () => {
    h = await AppHarness.start();
    await h.see(...names(200).map((namespace) => ({ namespace, direction: 'egress' as const, peer: 'pub', port: 443 })));
    await h.run('first');
    expect(h.repo.pullRequests({ state: 'open' })).toHaveLength(200);
    expect(h.errors).toEqual([]);

    h.now += HOUR;
    h.github.resetRequests();
    await h.run('nothing new');
    const quiet = h.github.requests().map((r) => `${r.method} ${r.path}${r.graphql ? ` ${r.graphql}` : ''}`);
    // repos.get, config, dashboard lookup, branch head, open PRs (2 pages of 100), tree; no dashboard
    // update: only its run-by-run facts (last run, flow window, read point) would change.
    expect(quiet).toEqual([
      'GET /repos/acme/policies',
      'GET /repos/acme/policies/contents/.github/policy-recommender.yml',
      'GET /repos/acme/policies/issues',
      'GET /repos/acme/policies/branches/main',
      'POST /graphql repository',
      'POST /graphql repository',
      `GET /repos/acme/policies/git/trees/${h.repo.commit(h.repo.branchSha('main')!).tree}`,
    ]);
    expect(h.writes()).toEqual([]);

    // Ten namespaces see new traffic (their PRs are rebuilt), and five new namespaces appear.
    h.now += HOUR;
    await h.see(...names(10).map((namespace) => ({ namespace, direction: 'egress' as const, peer: 'pvt', port: 5432 })));
    await h.see(
      ...['new-a', 'new-b', 'new-c', 'new-d', 'new-e'].map((namespace) => ({
        namespace,
        direction: 'egress' as const,
        peer: 'pub',
        port: 80,
      })),
    );
    h.github.resetRequests();
    await h.run('fifteen changes');
    const busy = h.github.requests().length;
    // The dashboard is re-read (people's ticks kept) and written once: 2 more.
    expect(busy - quiet.length - 2).toBeLessThanOrEqual(6 * 15);
    expect(h.repo.pullRequests({ state: 'open' })).toHaveLength(205);
    expect(h.errors).toEqual([]);
  });
});

/** What a history leaves behind, without times: the same decisions, no duplicates. */
function outcome(harness: AppHarness) {
  const repo = harness.repo;
  const timeless = (text: string | undefined) => text?.replace(/"\d{4}-\d\d-\d\dT[\d:]+Z"/g, '"<time>"');
  const prs = repo.pullRequests();
  const byBranch = new Map<string, typeof prs>();
  for (const pr of prs) byBranch.set(pr.head, [...(byBranch.get(pr.head) ?? []), pr]);
  return {
    branches: repo.branches(),
    pullRequests: [...byBranch].map(([branch, list]) => ({
      branch,
      count: list.length,
      states: list.map((p) => p.state),
      open: list
        .filter((p) => p.state === 'open')
        .map((p) => ({
          title: p.title,
          draft: p.draft,
          labels: [...p.labels].sort(),
          ours: p.headSha === repo.branchSha(p.head),
          files: Object.fromEntries([...repo.changedFiles(p.number)].map(([path, text]) => [path, timeless(text ?? undefined)])),
          comments: repo.comments(p.number).length,
        })),
    })),
    issues: repo.issues().length,
    dashboard: harness
      .dashboard()
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => l.replace(/\| [\d-]+T[\d:]+Z \|/, '| <time> |').replace(/#\d+/, '#n')),
  };
}

describe('a run interrupted after any write converges on the next run, with no duplicates', () => {
  const SHOP = branchName('prod', 'shop');
  async function history(fault?: { method: string; path: string; graphql?: string; skip: number }): Promise<AppHarness> {
    const harness = await AppHarness.start();
    await harness.see(
      { namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432 },
      { namespace: 'web', direction: 'ingress', peer: 'pub', port: 443 },
    );
    await harness.run('first');
    // A person edits the web PR; new traffic for shop and a new namespace.
    harness.now += HOUR;
    await harness.see(
      { namespace: 'shop', direction: 'egress', peer: 'ns:cache', port: 6379 },
      { namespace: 'api', direction: 'egress', peer: 'pub', port: 443 },
    );
    const web = harness.repo.pullRequestFor(branchName('prod', 'web'))!;
    harness.repo.pushToBranch(web.head, { 'clusters/prod/notes.md': 'mine\n' }, 'a person');
    if (fault) {
      const pathRegex = new RegExp(`^${fault.path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
      harness.github.failNext({
        method: fault.method,
        pathRegex,
        ...(fault.graphql ? { graphql: fault.graphql } : {}),
        skip: fault.skip,
        status: 500,
        afterApply: true,
      });
    }
    await harness.run('second');
    harness.now += HOUR;
    await harness.run('third');
    return harness;
  }

  test('every write step of a run, one at a time', async () => {
    h = await history();
    const reference = outcome(h);
    // The fault-free run's writes, in order.
    const writes: { method: string; path: string; graphql?: string; skip: number }[] = [];
    const seen = new Map<string, number>();
    h.github.resetRequests();
    await h.stop();
    h = await AppHarness.start();
    await h.see(
      { namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432 },
      { namespace: 'web', direction: 'ingress', peer: 'pub', port: 443 },
    );
    await h.run('first');
    h.now += HOUR;
    await h.see(
      { namespace: 'shop', direction: 'egress', peer: 'ns:cache', port: 6379 },
      { namespace: 'api', direction: 'egress', peer: 'pub', port: 443 },
    );
    h.repo.pushToBranch(h.repo.pullRequestFor(branchName('prod', 'web'))!.head, { 'clusters/prod/notes.md': 'mine\n' }, 'a person');
    h.github.resetRequests();
    await h.run('second');
    for (const r of h.github.requests()) {
      const mutation =
        r.path === '/graphql' && /^(updateRefs|markPullRequestReadyForReview|convertPullRequestToDraft)$/.test(r.graphql ?? '');
      if (r.method === 'GET' || (r.path === '/graphql' && !mutation) || r.path.endsWith('/access_tokens')) continue;
      const key = `${r.method} ${r.path} ${r.graphql ?? ''}`;
      writes.push({ method: r.method, path: r.path, ...(mutation ? { graphql: r.graphql! } : {}), skip: seen.get(key) ?? 0 });
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    await h.stop();
    expect(writes.length).toBeGreaterThanOrEqual(8);
    // The branch moves (compare-and-swap, GraphQL) are among the steps interrupted.
    expect(writes.filter((w) => w.graphql === 'updateRefs').length).toBeGreaterThanOrEqual(1);
    expect(reference.pullRequests.find((p) => p.branch === SHOP)!.open[0]!.files).toBeDefined();

    for (const fault of writes) {
      h = await history(fault);
      expect({ fault, outcome: outcome(h) }).toEqual({ fault, outcome: reference });
      expect(h.github.requests().some((r) => r.faulted)).toBe(true);
      await h.stop();
    }
    h = await AppHarness.start(); // for afterEach
  });
});
