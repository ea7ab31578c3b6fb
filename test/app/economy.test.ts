// GitHub request economy and convergence after interruptions, counted on the fake GitHub.

import { afterEach, describe, expect, test } from '@jest/globals';
import { branchName } from '../../src/plan/lifecycle/unit-key.ts';
import { sized } from '../reliability/size.ts';
import type { RecordedRequest } from '../support/fake-github.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, HOUR } from './support/app-harness.ts';

useNock();

let h: AppHarness;
afterEach(async () => {
  expect(h.github.unexpected()).toEqual([]);
  await h.stop();
});

const names = (n: number) => Array.from({ length: n }, (_, i) => `team-${String(i).padStart(4, '0')}`);
const line = (r: { method: string; path: string; graphql?: string }) => `${r.method} ${r.path}${r.graphql ? ` ${r.graphql}` : ''}`;

const listings = (requests: readonly RecordedRequest[]) =>
  requests.filter((r) => r.graphql === 'repository' && r.variables !== undefined && 'cursor' in r.variables).length;

describe('request economy', () => {
  // Issue 14, point 5: an idle run costs the same however many PRs are open (at most 12
  // requests), each changed namespace at most 6 more. The App remembers the open PRs
  // (src/app/github/pull-request-views.ts) and asks GitHub only for those updated since its last
  // read: GraphQL `pullRequests(orderBy: {field: UPDATED_AT, direction: DESC})`, 100 a page.
  // 2,000 under `npm run reliability` (its first run opens 2,000 PRs: minutes of CPU).
  test.each(sized([200], [200, 2000]))(
    '%i namespaces with as many open PRs: a run with nothing new makes 6 requests and writes nothing; each changed namespace at most 6 more',
    async (n) => {
      h = await AppHarness.start();
      await h.see(...names(n).map((namespace) => ({ namespace, direction: 'egress' as const, peer: 'pub', port: 443 })));
      h.github.resetRequests();
      await h.run('first');
      const opened = h.github.requests().length;
      expect(h.repo.pullRequests({ state: 'open' })).toHaveLength(n);
      expect(h.errors).toEqual([]);

      // Runs 20 minutes apart: within the stabilization period (3 hours), so no PR's status changes.
      const next = async (trigger: string) => {
        h.now += HOUR / 3;
        h.github.resetRequests();
        await h.run(trigger);
        expect(h.writes()).toEqual([]);
        return h.github.requests();
      };
      // repos.get, config, dashboard lookup, branch head, the PRs updated since the last run (one
      // page), tree; no dashboard update: only its run-by-run facts (last run, flow window, read
      // point) would change.
      const idle = [
        'GET /repos/acme/policies',
        'GET /repos/acme/policies/contents/.github/policy-recommender.yml',
        'GET /repos/acme/policies/issues',
        'GET /repos/acme/policies/branches/main',
        'POST /graphql repository',
        `GET /repos/acme/policies/git/trees/${h.repo.commit(h.repo.branchSha('main')!).tree}`,
      ];
      // The run after the first reads what it changed: the n PRs it opened, 100 a page (GitHub
      // stamps times to the second, and they were all opened in the second the first run read
      // them, so none can be taken as read). That is part of the first run's cost per namespace.
      const after = await next('after the first');
      expect(listings(after)).toBe(n / 100);
      expect(after.length - idle.length + 1).toBe(n / 100);
      expect((opened + after.length - idle.length) / n).toBeLessThanOrEqual(6);
      expect((await next('nothing new')).map(line)).toEqual(idle);
      expect((await next('nothing new again')).map(line)).toEqual(idle);

      // Ten namespaces see new traffic (their PRs are rebuilt), and five new namespaces appear.
      h.now += HOUR / 3;
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
      expect(h.repo.pullRequests({ state: 'open' })).toHaveLength(n + 5);
      expect(h.errors).toEqual([]);
      // The next run reads the 15 changed PRs back, in the one page an idle run reads.
      expect((await next('nothing new after changes')).map(line)).toEqual(idle);
      // The dashboard is re-read (people's ticks kept) and written once: 2 more.
      expect(busy - idle.length - 2).toBeLessThanOrEqual(6 * 15);
    },
    // The first run opens a PR per namespace: about 2.5 minutes of CPU at 2,000 (6 minutes of wall
    // time at load 8); a guard against a hang, not a time we assert.
    900_000,
  );
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
