// What reviewers read on each kind of pull request, as golden files (see test/support/golden.ts):
// a real App run against the fake GitHub, at fixed times (the harness's clock), through the
// lifecycle of a cluster from an empty tree to its enforced global default deny: the bootstrap
// PR, a namespace's recommendation while Learning, Stabilizing and Stable, its update after a
// merge, its workloads' microsegmentation PR (one per namespace, and one per workload), the
// enforcement of each, and the global default deny's. Each golden file is one PR as GitHub shows
// it: title, draft or not, labels, body. The hidden state at the end of each body is replaced by a
// placeholder (it holds commit ids and the engine's version; no reviewer reads it).
// `UPDATE_GOLDEN=1 npm test -- test/app/pull-requests.golden` rewrites them.

import { afterEach, expect, test } from '@jest/globals';
import { branchName, branchOf, type ProposalKey } from '../../src/plan/lifecycle/unit-key.ts';
import { expectGolden } from '../support/golden.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, CONFIG, HOUR } from './support/app-harness.ts';
import { shownDashboard, shownPullRequest } from './support/github-view.ts';

useNock();

let h: AppHarness;
afterEach(async () => {
  expect(h.errors).toEqual([]);
  expect(h.github.unexpected()).toEqual([]);
  await h.stop();
});

const config = (pullRequests: 'per-namespace' | 'per-workload') =>
  [
    CONFIG,
    'enforceAfter: 1d',
    'namespaceSpec:',
    '  selector: "projectcalico.org/name != \'legacy\'"',
    'microsegmentation:',
    '  enabled: true',
    '  select:',
    '    namespaces: [shop]',
    `  pullRequests: ${pullRequests}`,
  ].join('\n');

// Within shop: web -> api on 8080 (reported by both ends); web -> db (another namespace) on 5432;
// the public internet -> web on 443. legacy, not selected, talks to the internet: only the global
// default deny decides its traffic.
const web = { workload: 'web-7d9f8c6b5-*', labels: ['app=web', 'pod-template-hash=7d9f8c6b5'] };
const api = { workload: 'api-5c6d7e8f9a-*', labels: ['app=api', 'pod-template-hash=5c6d7e8f9a'] };
const TRAFFIC = [
  { namespace: 'shop', direction: 'egress', peer: 'ns:shop', port: 8080, ...web, peerWorkload: api.workload, peerLabels: api.labels },
  { namespace: 'shop', direction: 'ingress', peer: 'ns:shop', port: 8080, ...api, peerWorkload: web.workload, peerLabels: web.labels },
  { namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432, ...web, peerWorkload: 'postgres-0', peerLabels: ['app=postgres'] },
  { namespace: 'shop', direction: 'ingress', peer: 'pub', port: 443, ...web },
  { namespace: 'legacy', direction: 'egress', peer: 'pub', port: 8080 },
] as const;
/** Seen after shop's policy was merged: its update adds it. */
const CACHE = { namespace: 'shop', direction: 'egress', peer: 'ns:cache', port: 6379, ...web } as const;

const prFor = (key: ProposalKey) => h.repo.pullRequestFor(branchOf(key))!;
const golden = (name: string, key: ProposalKey) =>
  expectGolden(new URL(`./__golden__/pr-${name}.md`, import.meta.url), shownPullRequest(prFor(key)));
const dashboardGolden = (name: string) =>
  expectGolden(new URL(`./__golden__/dashboard-${name}.md`, import.meta.url), shownDashboard(h.dashboard()));

/** Accepts the open PR of a unit as a reviewer would, and lets the App see the merge. */
async function merge(key: ProposalKey): Promise<void> {
  const pr = prFor(key);
  if (pr.draft) h.repo.markReadyForReview(pr.number);
  h.repo.mergePullRequest(pr.number);
  await h.deliver();
}

/** Scheduled runs, hourly, the same traffic each time. */
async function hours(n: number, traffic: readonly (typeof TRAFFIC)[number][] | readonly object[] = TRAFFIC): Promise<void> {
  for (let i = 0; i < n; i++) {
    h.now += HOUR;
    await h.see(...(traffic as typeof TRAFFIC));
    await h.run('schedule');
  }
}

const shop = { kind: 'namespace', cluster: 'prod', namespace: 'shop' } as const;
const shopWorkloads = { kind: 'workloads', cluster: 'prod', namespace: 'shop' } as const;

test('from an empty tree to the enforced global default deny: every PR a reviewer meets', async () => {
  h = await AppHarness.start({ config: config('per-namespace'), clusterTree: 'empty' });
  await h.see(...TRAFFIC);
  await h.run('first');
  expect(prFor(shop).head).toBe(branchName('prod', 'shop'));
  golden('bootstrap', { kind: 'bootstrap', cluster: 'prod' });
  golden('namespace-learning', shop);
  golden('workloads-per-namespace-learning', shopWorkloads);
  dashboardGolden('bootstrap-and-learning');

  // Stabilizing two schedule intervals after its rules last changed (engine/status.ts), Stable after stabilizationPeriod (3h).
  await hours(3);
  golden('namespace-stabilizing', shop);
  dashboardGolden('stabilizing');
  await hours(1);
  golden('namespace-stable', shop);
  golden('workloads-per-namespace-stable', shopWorkloads);

  await merge({ kind: 'bootstrap', cluster: 'prod' });
  await h.run('bootstrap merged');
  await merge(shop);
  await h.run('shop merged');
  await merge(shopWorkloads);
  await h.run('workloads merged');

  await hours(1, [...TRAFFIC, CACHE]);
  golden('namespace-update-learning', shop);
  await merge(shop);
  await h.run('update merged');
  // web's workload policy needs the cache too.
  await merge(shopWorkloads);
  await h.run('workloads update merged');
  dashboardGolden('accepted');

  await hours(25, [...TRAFFIC, CACHE]);
  golden('enforce-namespace', { kind: 'enforce', cluster: 'prod', namespace: 'shop' });
  golden('enforce-workloads-per-namespace', { kind: 'enforce-workloads', cluster: 'prod', namespace: 'shop' });
  await merge({ kind: 'enforce-workloads', cluster: 'prod', namespace: 'shop' });
  await h.run('workload policies enforced');
  await merge({ kind: 'enforce', cluster: 'prod', namespace: 'shop' });
  await hours(1, [...TRAFFIC, CACHE]);
  golden('enforce-default-deny', { kind: 'enforce-default-deny', cluster: 'prod' });
  dashboardGolden('enforced');
});

test('microsegmentation one PR per workload: the recommendation and its enforcement', async () => {
  h = await AppHarness.start({ config: config('per-workload') });
  await h.see(...TRAFFIC);
  await h.run('first');
  const webKey = { kind: 'workloads', cluster: 'prod', namespace: 'shop', workload: 'shop/Deployment/web' } as const;
  golden('workloads-per-workload-learning', webKey);
  await hours(4);
  for (const pr of h.repo.pullRequests({ state: 'open' })) {
    h.repo.markReadyForReview(pr.number);
    h.repo.mergePullRequest(pr.number);
    await h.deliver();
    await h.run(`after merging ${pr.head}`);
  }
  await hours(25);
  golden('enforce-workloads-per-workload', {
    kind: 'enforce-workloads',
    cluster: 'prod',
    namespace: 'shop',
    workload: 'shop/Deployment/web',
  });
});
