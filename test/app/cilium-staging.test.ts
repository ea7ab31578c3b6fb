// The App with flavor cilium (issue 16, point 3: staged before enforced, honestly). Cilium has no
// staged policies: a merged CiliumNetworkPolicy is enforced at once, so the bot's open PR is the
// staging area. Through the real App, the fake GitHub (nock) and a Hubble Relay on 127.0.0.1
// (test/support/hubble-relay-server.ts, observer.proto GetFlows with follow) followed by the
// collector, as `npm start` follows a Hubble cluster in the Lease holder (src/app/main.ts):
// - the first run opens a draft CiliumNetworkPolicy PR that says merging enforces;
// - a flow the policy as proposed would deny keeps it a draft and is listed in its body;
// - after the stabilization period with nothing denied it is ready for review (Stable);
// - merging it is enforcing it: no enforce PR follows, the namespace is Enforced, and the
//   template's clusterwide default deny is proposed, a draft until it has seen nothing it would
//   deny for the stabilization period.

import { afterEach, expect, test } from '@jest/globals';
import { parse } from 'yaml';
import { FlowCollectors } from '../../src/app/collect/collector.ts';
import { decodeState } from '../../src/app/state/pull-request-state.ts';
import { withChanges } from '../../src/flows/source.ts';
import { branchOf } from '../../src/plan/lifecycle/unit-key.ts';
import { FakeClock } from '../cluster/fake-clock.ts';
import { expectGolden } from '../support/golden.ts';
import { relayFlow } from '../support/hubble-relay-server.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, HOUR, T0 } from './support/app-harness.ts';
import { shownDashboard, shownPullRequest } from './support/github-view.ts';
import { WorkerHubble } from './support/worker-hubble.ts';

useNock();

const CILIUM_CONFIG = [
  'clusters:',
  '  - name: prod',
  '    path: clusters/prod',
  'schedule: "0 * * * *"',
  'stabilizationPeriod: 3h',
  'flavor: cilium',
  'pullRequests:',
  '  hourlyLimit: 0',
  '  concurrentLimit: 0',
].join('\n');

async function untilAsync(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 4000; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const until = (condition: () => boolean, what: string) => untilAsync(async () => condition(), what);

let h: AppHarness | undefined;
let relay: WorkerHubble | undefined;
let collectors: FlowCollectors | undefined;
afterEach(async () => {
  await collectors?.stop();
  await relay?.close();
  if (h !== undefined) expect(h.github.unexpected()).toEqual([]);
  await h?.stop();
  h = relay = collectors = undefined;
});

/** What reviewers read (test/support/golden.ts; `UPDATE_GOLDEN=1` rewrites): the PR as GitHub shows it, its hidden state left out. */
const golden = (name: string, pr: Parameters<typeof shownPullRequest>[0]) =>
  expectGolden(new URL(`./__golden__/pr-cilium-${name}.md`, import.meta.url), shownPullRequest(pr));

/** shop/customer -> shop/db on `port`, at `time` (egress, as the source's node reports it). */
const shopFlow = (time: number, port = 5432) =>
  relayFlow(time, { l4: { TCP: { source_port: 41000, destination_port: port } } }, `uuid-${time}-${port}`);

/**
 * The App on a cilium repository, its cluster's flows collected from Hubble Relay (mutual TLS, in
 * a worker thread with our source following it: nock, which fakes GitHub, patches this thread's
 * sockets). `hour(...)`: an hour on, Relay sends that hour's flows, the collector catches up, and
 * the scheduled run runs.
 */
async function ciliumApp(config: string) {
  relay = await WorkerHubble.start();
  const server = relay;
  const clock = new FakeClock({ start: T0 * 1000 });
  collectors = new FlowCollectors({
    clusters: new Map([['prod', { open: async () => server.follower(), kind: 'hubble' as const }]]),
    clock,
  });
  h = await AppHarness.start({ config, clusterTree: 'empty', collectors });
  const harness = h;
  harness.now = clock.now() / 1000;
  const c = collectors;
  c.start('the App started');
  await untilAsync(async () => (await server.openStreams()) === 1, 'the collector to follow Relay');
  const hour = async (ports: readonly number[], ...others: ((now: number) => Record<string, unknown>)[]): Promise<void> => {
    await clock.advance(HOUR * 1000);
    harness.now = clock.now() / 1000;
    const flows = [...ports.map((port) => shopFlow(harness.now - 600, port)), ...others.map((f) => f(harness.now - 300))];
    await server.append(harness.now, ...flows, shopFlow(harness.now - 5));
    await until(() => c.get('prod')!.coverage(harness.now).to >= harness.now - 15, 'the collector to catch up');
    await harness.scheduler.tick(harness.repo.key());
  };
  return { harness, hour };
}

test('a cilium repository: a draft CNP PR staged by the bot, listed denials, ready after the stabilization period, merged = enforced', async () => {
  const { harness, hour: at } = await ciliumApp(CILIUM_CONFIG);
  const hour = (...ports: number[]) => at(ports);
  const shopPr = () => harness.repo.pullRequestFor('policy-recommender/prod/shop')!;
  const policy = () => harness.repo.file('policy-recommender/prod/shop', 'clusters/prod/namespace-isolation/shop.yaml') ?? '';

  await hour(5432);
  expect(harness.errors).toEqual([]);
  let pr = shopPr();
  expect(pr).toMatchObject({ state: 'open', draft: true, title: 'Network policy for namespace shop (cluster prod)' });
  expect(pr.labels).toContain('Learning');
  expect(policy()).toContain('kind: CiliumNetworkPolicy');
  expect(policy()).toContain('"5432"');
  expect(pr.body).toContain('Cilium has no staged policies');
  expect(pr.body).toContain('**Merge** to enforce it at once');
  // No bootstrap PR: Cilium has no tiers, and the template's default deny comes last.
  expect(harness.repo.pullRequests({ state: 'open' })).toHaveLength(1);
  expect(harness.dashboard()).toContain('Flows from Hubble Relay (Cilium)');
  golden('namespace-learning', pr);

  // A new flow (to port 5433) that the policy as proposed would have denied: listed, and the PR stays a draft.
  await hour(5433);
  pr = shopPr();
  expect(pr.draft).toBe(true);
  expect(pr.body).toMatch(/Denied \(merged then, Cilium would have dropped these[^\n]*\n\n\| Direction/);
  expect(pr.body).toMatch(/\| egress +\| `shop\/\*` +\| `shop\/\*` +\| `TCP` +\| `5433` \|/);
  expect(pr.body).toContain('It would have denied observed traffic at');
  const deniedAt = decodeState(pr.body)!.quietSince!;
  expect(deniedAt).toBe(harness.now - 600);
  expect(policy()).toContain('"5433"');
  golden('namespace-denied', pr);

  // Runs with nothing new denied: still a draft until three hours after the last would-be denial.
  await hour(5432, 5433);
  await hour(5432);
  expect(shopPr().draft).toBe(true);
  expect(shopPr().body).not.toContain('Ready for review');
  await hour(5432);
  expect(shopPr().draft).toBe(true);
  expect(shopPr().body).toContain(
    '**Status: Stabilizing.** Its rules last changed at 2026-11-22T14:00:00Z. It becomes ready for review once its rules have not changed, and nothing it would deny has been seen, for 3h. Nothing it would deny has been seen since 2026-11-22T13:50:00Z: ready after 2026-11-22T17:00:00Z at the earliest.',
  );
  expect(shopPr().body).toContain(': all allowed.');
  golden('namespace-stabilizing', shopPr());
  await hour(5432);
  pr = shopPr();
  expect(harness.now - deniedAt).toBeGreaterThan(3 * HOUR);
  expect(pr).toMatchObject({ draft: false });
  expect(pr.labels).toContain('Stable');
  expect(pr.body).toContain('**Status: Ready for review.** Its rules have not changed, and nothing it would deny has been seen, for 3h.');
  golden('namespace-stable', pr);

  // Merged: enforced. No enforce PR; the namespace is Enforced, and the default deny is proposed, a draft.
  harness.repo.mergePullRequest(pr.number);
  await harness.deliver();
  await hour(5432);
  expect(harness.errors).toEqual([]);
  const open = harness.repo.pullRequests({ state: 'open' });
  expect(open.map((p) => p.title)).toEqual(['Enforce the global default deny (cluster prod)']);
  expect(harness.repo.pullRequestFor('policy-recommender/prod/shop.enforce')).toBeUndefined();
  expect(harness.dashboard()).toMatch(/shop[^\n]*Enforced/);
  const deny = open[0]!;
  expect(deny.draft).toBe(true);
  expect([...harness.repo.changedFiles(deny.number).keys()]).toEqual(['clusters/prod/default-deny.yaml']);
  expect(deny.body).toContain('CiliumClusterwideNetworkPolicy');
  expect(deny.body).toContain(': all allowed.');
  golden('default-deny-stabilizing', deny);
  expectGolden(new URL('./__golden__/dashboard-cilium-enforced.md', import.meta.url), shownDashboard(harness.dashboard()));
  for (let i = 0; i < 3; i++) await hour(5432);
  expect(harness.repo.pullRequest(deny.number).draft).toBe(false);
  golden('default-deny-stable', harness.repo.pullRequest(deny.number));
  expect(harness.errors).toEqual([]);
});

test('the default deny stays a draft while it would deny traffic: a namespace namespaceSpec leaves out, listed', async () => {
  const { harness, hour } = await ciliumApp(`${CILIUM_CONFIG}\nnamespaceSpec:\n  selector: "projectcalico.org/name != 'legacy'"`);
  // legacy/app -> the internet on 443 (the world identity): no namespace policy will allow it.
  const legacy = (time: number) =>
    relayFlow(
      time,
      {
        IP: { source: '10.0.3.9', destination: '93.184.216.34', ipVersion: 'IPv4' },
        l4: { TCP: { source_port: 42000, destination_port: 443 } },
        source: {
          identity: 40003,
          namespace: 'legacy',
          labels: ['k8s:app=legacy', 'k8s:io.kubernetes.pod.namespace=legacy'],
          pod_name: 'legacy-0',
        },
        destination: { identity: 2, labels: ['reserved:world'] },
      },
      `uuid-legacy-${time}`,
    );
  await hour([5432], legacy);
  for (let i = 0; i < 4; i++) await hour([5432], legacy);
  const shop = harness.repo.pullRequestFor('policy-recommender/prod/shop')!;
  expect(shop.draft).toBe(false);
  harness.repo.mergePullRequest(shop.number);
  await harness.deliver();
  for (let i = 0; i < 5; i++) await hour([5432], legacy);
  const deny = harness.repo.pullRequestFor(branchOf({ kind: 'enforce-default-deny', cluster: 'prod' }))!;
  expect(deny).toMatchObject({ state: 'open', draft: true, title: 'Enforce the global default deny (cluster prod)' });
  expect(deny.body).toMatch(/1 would be \*\*denied\*\*/);
  expect(deny.body).toMatch(/\| egress +\| `legacy\/\*` +\| `pub` +\| `TCP` +\| `443` \|/);
  expect(deny.body).toContain('**Status: Stabilizing.**');
  expect(harness.errors).toEqual([]);
});

test("microsegmentation: the workloads PR is staged like the namespace's; merged = enforced (no enforce PR), then the namespace's policy leaves the workloads out in a staged update", async () => {
  // Flow-log lines of the harness's file (with workloads and labels), read as a Hubble cluster's.
  const config = `${CILIUM_CONFIG}\nmicrosegmentation:\n  enabled: true\n  select:\n    namespaces: [shop]\n  pullRequests: per-namespace`;
  h = await AppHarness.start({ config, clusterTree: 'empty', wrapFlowSource: (source) => withChanges(source, { kind: 'hubble' }) });
  const harness = h;
  const web = { workload: 'web-7d9f8c6b5-*', labels: ['app=web', 'pod-template-hash=7d9f8c6b5'] };
  const api = { workload: 'api-5c6d7e8f9a-*', labels: ['app=api', 'pod-template-hash=5c6d7e8f9a'] };
  const traffic = [
    { namespace: 'shop', direction: 'egress', peer: 'ns:shop', port: 8080, ...web, peerWorkload: api.workload, peerLabels: api.labels },
    { namespace: 'shop', direction: 'ingress', peer: 'ns:shop', port: 8080, ...api, peerWorkload: web.workload, peerLabels: web.labels },
  ] as const;
  const open = () => harness.repo.pullRequests({ state: 'open' });
  for (let i = 0; i < 5; i++) {
    await harness.see(...traffic);
    await harness.run('hourly');
    harness.now += HOUR;
  }
  expect(harness.errors).toEqual([]);
  expect(open().map((p) => [p.head, p.draft])).toEqual([
    ['policy-recommender/prod/shop', false],
    ['policy-recommender/prod/shop.appsec', false],
  ]);
  const appsec = harness.repo.pullRequestFor('policy-recommender/prod/shop.appsec')!;
  expect(appsec.body).toContain('Cilium has no staged policies');
  expect(appsec.body).toContain('**Merge** to enforce them at once');
  expect(appsec.body).toContain(': all allowed.');
  // Merged: enforced, no enforce PR. The namespace's policy then leaves out the workload whose own
  // policy was merged (Cilium's allows add up: a broad rule beside it would undo the narrowing), in
  // an update staged as the first PR was; and the default deny is proposed.
  const first = harness.repo.file('policy-recommender/prod/shop', 'clusters/prod/namespace-isolation/shop.yaml') ?? '';
  expect(first).not.toContain('NotIn');
  for (const pr of open()) harness.repo.mergePullRequest(pr.number);
  await harness.deliver();
  await harness.see(...traffic);
  await harness.run('after the merges');
  expect(harness.errors).toEqual([]);
  expect(open().map((p) => [p.title, p.draft])).toEqual([
    ['Enforce the global default deny (cluster prod)', true],
    ['Update network policy for namespace shop (cluster prod)', true],
  ]);
  expect(harness.repo.pullRequestFor('policy-recommender/prod/shop.appsec.enforce')).toBeUndefined();
  const update = harness.repo.file('policy-recommender/prod/shop', 'clusters/prod/namespace-isolation/shop.yaml') ?? '';
  expect(update).toMatch(/operator: NotIn/);
  // Its flows are checked from the namespace's pods with their labels, which the NotIn decides
  // (not "whether it selects the source is not known").
  const updateBody = harness.repo.pullRequestFor('policy-recommender/prod/shop')!.body;
  expect(updateBody).not.toContain('cannot be decided');
  expect(updateBody).toContain(': all allowed.');
  expect(harness.dashboard()).toMatch(/\| `shop` \| Learning \|/);
  expect(harness.dashboard()).toMatch(/\| `shop` workloads \| Enforced \|/);
});

test('microsegmentation from Hubble Relay: workloads named by Cilium, their PR staged by the bot, merged = enforced', async () => {
  const { harness, hour } = await ciliumApp(
    `${CILIUM_CONFIG}\nmicrosegmentation:\n  enabled: true\n  select:\n    namespaces: [shop]\n  pullRequests: per-namespace`,
  );
  // flow.proto Endpoint.workloads (Cilium 1.14+): the owner Hubble names, which workload inference takes as it is.
  const end = (app: string, pod: string, identity: number) => ({
    identity,
    namespace: 'shop',
    labels: [`k8s:app=${app}`, 'k8s:io.kubernetes.pod.namespace=shop'],
    pod_name: pod,
    workloads: [{ name: app, kind: 'Deployment' }],
  });
  const web = end('web', 'web-7d9f8c6b5-abcde', 40010);
  const api = end('api', 'api-5c6d7e8f9a-fghij', 40011);
  const call =
    (direction: 'EGRESS' | 'INGRESS') =>
    (time: number): Record<string, unknown> =>
      relayFlow(
        time,
        { source: web, destination: api, l4: { TCP: { source_port: 42000, destination_port: 8080 } }, traffic_direction: direction },
        `uuid-${time}-${direction}`,
      );
  for (let i = 0; i < 5; i++) await hour([], call('EGRESS'), call('INGRESS'));
  expect(harness.errors).toEqual([]);
  const appsec = harness.repo.pullRequestFor('policy-recommender/prod/shop.appsec');
  expect(appsec?.draft).toBe(false);
  expect(appsec!.body).toContain('Cilium has no staged policies');
  // Each workload's own CiliumNetworkPolicy, selecting it by its labels, allowing what it was seen doing.
  const policy = (app: string) =>
    parse(harness.repo.file('policy-recommender/prod/shop.appsec', `clusters/prod/appsec/shop/deployment-${app}.yaml`) ?? '');
  expect(policy('web')).toMatchObject({
    kind: 'CiliumNetworkPolicy',
    spec: {
      endpointSelector: { matchLabels: { 'k8s:app': 'web' } },
      egress: [
        {
          toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'shop', 'k8s:app': 'api' } }],
          toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }],
        },
      ],
    },
  });
  expect(policy('api')).toMatchObject({ kind: 'CiliumNetworkPolicy', spec: { endpointSelector: { matchLabels: { 'k8s:app': 'api' } } } });
  expect(policy('api').spec.ingress).toHaveLength(1);
  harness.repo.mergePullRequest(appsec!.number);
  await harness.deliver();
  await hour([], call('EGRESS'), call('INGRESS'));
  expect(harness.errors).toEqual([]);
  expect(harness.repo.pullRequestFor('policy-recommender/prod/shop.appsec.enforce')).toBeUndefined();
  expect(harness.dashboard()).toMatch(/\| `shop` workloads \| Enforced \|/);
});
