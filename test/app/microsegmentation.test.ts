// Microsegmentation through the App: per-workload staged policies in the appsec tier, proposed in
// one PR per namespace or one per workload, with the same lifecycle as namespace PRs (drafts,
// updates after a merge, obsolete when turned off), and the namespace policy passing traffic within
// the namespace on to them.

import { afterEach, describe, expect, test } from '@jest/globals';
import { parse } from 'yaml';
import { text } from '../../src/app/render/markdown.ts';
import { RECOMMENDATION_LABEL } from '../../src/app/state/pull-request-state.ts';
import { branchName, branchOf } from '../../src/plan/lifecycle/unit-key.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, CONFIG, HOUR } from './support/app-harness.ts';

useNock();

const config = (pullRequests: 'per-namespace' | 'per-workload', enabled = true) =>
  [CONFIG, 'microsegmentation:', `  enabled: ${enabled}`, '  select:', '    namespaces: [shop]', `  pullRequests: ${pullRequests}`].join(
    '\n',
  );

// Within shop: web -> api on 8080 (reported by both ends); web -> db (another namespace) on 5432.
const web = { workload: 'web-7d9f8c6b5-*', labels: ['app=web', 'pod-template-hash=7d9f8c6b5'] };
const api = { workload: 'api-5c6d7e8f9a-*', labels: ['app=api', 'pod-template-hash=5c6d7e8f9a'] };
const traffic = [
  { namespace: 'shop', direction: 'egress', peer: 'ns:shop', port: 8080, ...web, peerWorkload: api.workload, peerLabels: api.labels },
  { namespace: 'shop', direction: 'ingress', peer: 'ns:shop', port: 8080, ...api, peerWorkload: web.workload, peerLabels: web.labels },
  { namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432, ...web, peerWorkload: 'postgres-0', peerLabels: ['app=postgres'] },
] as const;

const WEB = 'clusters/prod/appsec/shop/deployment-web.yaml';
const API = 'clusters/prod/appsec/shop/deployment-api.yaml';
const SHOP = 'clusters/prod/namespace-isolation/shop.yaml';
const workloadsBranch = branchOf({ kind: 'workloads', cluster: 'prod', namespace: 'shop' });

let h: AppHarness;
afterEach(async () => {
  expect(h.errors).toEqual([]);
  expect(h.github.unexpected()).toEqual([]);
  await h.stop();
});

const prFor = (branch: string) => h.repo.pullRequestFor(branch)!;
const openHeads = () =>
  h.repo
    .pullRequests({ state: 'open' })
    .map((p) => p.head)
    .sort();

describe('microsegmentation PRs', () => {
  test('one PR for the namespace’s workloads, beside the isolation PR that passes traffic within the namespace to them', async () => {
    h = await AppHarness.start({ config: config('per-namespace') });
    await h.see(...traffic);
    await h.run('first');
    expect(openHeads()).toEqual([branchName('prod', 'shop'), workloadsBranch].sort());

    const pr = prFor(workloadsBranch);
    expect(pr.title).toBe('Workload policies for the workloads of namespace shop (cluster prod)');
    expect(pr.draft).toBe(true);
    expect(pr.labels).toEqual([RECOMMENDATION_LABEL, 'Learning']);
    // Its own files only: the directory layout lists nothing, the tiers were there already.
    expect([...h.repo.changedFiles(pr.number).keys()].sort()).toEqual([API, WEB]);
    const policy = parse(h.repo.file(workloadsBranch, WEB)!) as {
      kind: string;
      metadata: { name: string };
      spec: { tier: string; selector: string; egress: unknown[] };
    };
    expect(policy.kind).toBe('StagedNetworkPolicy');
    expect(policy.metadata.name).toBe('deployment-web-recommendation');
    expect(policy.spec.tier).toBe('appsec');
    expect(policy.spec.selector).toBe("app == 'web'");
    expect(policy.spec.egress).toHaveLength(2);
    expect(pr.body).toContain('### Workload `shop/Deployment/api`');
    expect(pr.body).toContain('### Workload `shop/Deployment/web`');
    expect(pr.body).toContain(`| 2 | Allow egress TCP 8080 | ${text("pods of namespace shop with app == 'api'")} | 1 |`);
    expect(pr.body).toContain('p1("pods of namespace shop with app #61;#61; #39;api#39;")');
    expect(pr.body).toMatch(/distinct flows observed \(\d+ flows in the flow logs\): all allowed\./);

    // The isolation policy passes traffic within the namespace on to the appsec tier.
    const isolation = h.repo.file(branchName('prod', 'shop'), SHOP)!;
    expect(isolation).toMatch(/- action: Pass\n(.*\n)*?.*namespaceSelector: projectcalico.org\/name == 'shop'/);
    expect(h.dashboard()).toMatch(/\| `shop` workloads \| Learning \| #\d+ \|/);
  });

  test('one PR per workload; after a merge, new traffic of a workload updates only its policy', async () => {
    h = await AppHarness.start({ config: config('per-workload') });
    await h.see(...traffic);
    await h.run('first');
    const webBranch = branchOf({ kind: 'workloads', cluster: 'prod', namespace: 'shop', workload: 'shop/Deployment/web' });
    const apiBranch = branchOf({ kind: 'workloads', cluster: 'prod', namespace: 'shop', workload: 'shop/Deployment/api' });
    expect(openHeads()).toEqual([branchName('prod', 'shop'), apiBranch, webBranch].sort());
    expect(prFor(webBranch).title).toBe('Workload policy for workload shop/Deployment/web (cluster prod)');
    expect(
      [...h.repo.changedFiles(prFor(webBranch).number).keys()].filter((p) => p.includes('/appsec/') && !p.endsWith('kustomization.yaml')),
    ).toEqual([WEB]);

    const merged = prFor(webBranch);
    h.repo.markReadyForReview(merged.number);
    h.repo.mergePullRequest(merged.number);
    await h.deliver();
    h.now += HOUR;
    await h.see(...traffic, { namespace: 'shop', direction: 'egress', peer: 'pub', port: 443, ...web });
    await h.run('new traffic');
    const update = prFor(webBranch);
    expect(update.number).not.toBe(merged.number);
    expect(update.title).toBe('Update workload policy for workload shop/Deployment/web (cluster prod)');
    expect(h.repo.file(webBranch, WEB)).toMatch(/ports:\n\s+- 443/);
  });

  test('turned off: its PRs are closed as obsolete', async () => {
    h = await AppHarness.start({ config: config('per-namespace') });
    await h.see(...traffic);
    await h.run('first');
    const pr = prFor(workloadsBranch);
    h.repo.commitToDefault({ '.github/policy-recommender.yml': config('per-namespace', false) }, 'turn it off');
    h.now += HOUR;
    await h.run('config changed');
    expect(h.repo.pullRequest(pr.number).state).toBe('closed');
    expect(h.repo.pullRequest(pr.number).body).toMatch(
      /^> \*\*Closed by policy-recommender:\*\* microsegmentation is turned off in the configuration\./,
    );
  });

  test('no longer selected by microsegmentation.select: its open PRs are closed as obsolete, as for a namespace no longer selected', async () => {
    for (const pullRequests of ['per-namespace', 'per-workload'] as const) {
      h = await AppHarness.start({ config: config(pullRequests) });
      await h.see(...traffic);
      await h.run('first');
      const prs = h.repo.pullRequests({ state: 'open' }).filter((p) => p.head !== branchName('prod', 'shop'));
      expect(prs).toHaveLength(pullRequests === 'per-namespace' ? 1 : 2);
      h.repo.commitToDefault(
        { '.github/policy-recommender.yml': config(pullRequests).replace('namespaces: [shop]', 'namespaces: [other]') },
        'select another namespace',
      );
      h.now += HOUR;
      await h.run('config changed');
      for (const pr of prs) {
        expect(h.repo.pullRequest(pr.number).state).toBe('closed');
        expect(h.repo.pullRequest(pr.number).body).toMatch(
          /^> \*\*Closed by policy-recommender:\*\* (its workloads are|the workload is) no longer selected by microsegmentation\.select\./,
        );
      }
      expect(h.errors).toEqual([]);
      await h.stop();
    }
    h = await AppHarness.start();
  });

  test('a select entry that matches no known workload is a warning on the dashboard, and goes when it matches', async () => {
    const typo = config('per-namespace').replace('namespaces: [shop]', 'namespaces: [shop]\n    workloads: [shop/wbe]');
    h = await AppHarness.start({ config: typo });
    await h.see(...traffic);
    await h.run('first');
    // Markdown-escaped, as every value on the dashboard.
    const unescaped = () => h.dashboard().replace(/\\/g, '');
    expect(unescaped()).toContain(
      '**Warning:** microsegmentation.select: no workload known from the flow records matches workload shop/wbe (a typo, or not deployed yet?)',
    );
    h.repo.commitToDefault({ '.github/policy-recommender.yml': typo.replace('shop/wbe', 'shop/web') }, 'fix the typo');
    h.now += HOUR;
    await h.run('config fixed');
    expect(unescaped()).toContain('(config fixed)');
    expect(unescaped()).not.toContain('microsegmentation.select: no workload');
  });

  test('from nothing to enforced microsegmentation through PRs alone', async () => {
    h = await AppHarness.start({ config: `${config('per-namespace')}\nenforceAfter: 1d` });
    await h.see(...traffic);
    await h.run('first');
    for (const branch of [branchName('prod', 'shop'), workloadsBranch]) {
      const pr = prFor(branch);
      h.repo.markReadyForReview(pr.number);
      h.repo.mergePullRequest(pr.number);
      await h.deliver();
      await h.run(`after merging ${branch}`); // rebases the other PR onto the merge
    }
    expect(h.repo.pullRequests({ state: 'open' })).toEqual([]);
    expect(h.dashboard()).toMatch(/\| `shop` workloads \| Accepted \|/);

    for (let i = 0; i < 5; i++) {
      h.now += 6 * HOUR;
      await h.see(...traffic);
      await h.run(`quiet ${i}`);
    }
    const enforceWorkloads = branchOf({ kind: 'enforce-workloads', cluster: 'prod', namespace: 'shop' });
    const enforceIsolation = branchOf({ kind: 'enforce', cluster: 'prod', namespace: 'shop' });
    expect(openHeads()).toEqual([enforceIsolation, enforceWorkloads].sort());
    const pr = prFor(enforceWorkloads);
    expect(pr.title).toBe('Enforce the workload policies of namespace shop (cluster prod)');
    expect(pr.labels).toEqual([RECOMMENDATION_LABEL, 'Enforce']);
    expect([...h.repo.changedFiles(pr.number).keys()].sort()).toEqual([API, WEB]);
    for (const path of [API, WEB])
      expect(parse(h.repo.file(enforceWorkloads, path)!)).toMatchObject({ kind: 'NetworkPolicy', spec: { tier: 'appsec' } });
    expect(pr.body).toMatch(/distinct flows? observed \(\d+ flows in the flow logs\): all allowed\./);

    for (const branch of [enforceIsolation, enforceWorkloads]) {
      h.repo.mergePullRequest(prFor(branch).number);
      await h.deliver();
    }
    h.now += 6 * HOUR;
    await h.see(...traffic);
    await h.run('enforced');
    expect(h.dashboard()).toMatch(/\| `shop` \| Enforced \|/);
    expect(h.dashboard()).toMatch(/\| `shop` workloads \| Enforced \|/);
    // Only the global default deny is left to propose.
    expect(openHeads()).toEqual([branchOf({ kind: 'enforce-default-deny', cluster: 'prod' })]);
  });

  // Issue 11, point 11: each PR's evidence answers its own question. Enforcing the isolation policy
  // changes nothing else: the workload policies not yet accepted and the template's staged default
  // deny are not applied, so traffic it passes within the namespace is not counted against it.
  // Enforcing the default deny, every other policy as it is: workload policies only staged do not
  // allow what the isolation policy passes to them, so the default deny would deny it.
  test('each PR asks its own question: isolation enforced without its workload policies; the default deny lists what staged workload policies do not protect', async () => {
    h = await AppHarness.start({ config: `${config('per-namespace')}\nenforceAfter: 1d` });
    await h.see(...traffic);
    await h.run('first');
    const isolation = prFor(branchName('prod', 'shop'));
    h.repo.markReadyForReview(isolation.number);
    h.repo.mergePullRequest(isolation.number);
    await h.deliver();
    await h.run('isolation merged');
    for (let i = 0; i < 5; i++) {
      h.now += 6 * HOUR;
      await h.see(...traffic);
      await h.run(`quiet ${i}`);
    }
    const enforceIsolation = branchOf({ kind: 'enforce', cluster: 'prod', namespace: 'shop' });
    // The workload policies are still only proposed: the isolation policy is enforced on its own.
    expect(openHeads()).toEqual([enforceIsolation, workloadsBranch].sort());
    expect(prFor(enforceIsolation).body).toMatch(
      /distinct flows? observed \(\d+ flows in the flow logs\): all allowed\. Its policy is evaluated enforced; every other policy as the cluster has it \(staged policies are not applied\)\./,
    );

    const workloads = prFor(workloadsBranch);
    h.repo.markReadyForReview(workloads.number);
    h.repo.mergePullRequest(workloads.number);
    await h.deliver();
    await h.run('workloads merged (staged)');
    h.repo.mergePullRequest(prFor(enforceIsolation).number);
    await h.deliver();
    h.now += 6 * HOUR;
    await h.see(...traffic);
    await h.run('isolation enforced');
    const deny = prFor(branchOf({ kind: 'enforce-default-deny', cluster: 'prod' }));
    const body = deny.body.replaceAll('\\', '');
    // web -> api within shop, as each end reported it: passed to appsec, where nothing enforced allows it.
    expect(body).toMatch(/Of the 3 distinct flows observed \(\d+ flows in the flow logs\), 2 would be \*\*denied\*\*/);
    expect(body).toContain(
      'The global default deny is evaluated enforced; every other policy as the cluster has it (staged policies are not applied).',
    );
    // Proposed by the run the merge's push asked for, from the flows seen until then (one each).
    expect(body).toContain('| egress | `shop/*` | `shop/*` | `TCP` | `8080` | 1 | tier default default action |');
    expect(body).toContain('| ingress | `shop/*` | `shop/*` | `TCP` | `8080` | 1 | tier default default action |');
  });

  test("per workload: each enforce PR's evidence is its own workload's traffic", async () => {
    h = await AppHarness.start({ config: `${config('per-workload')}\nenforceAfter: 1d` });
    await h.see(...traffic);
    await h.run('first');
    for (const pr of h.repo.pullRequests({ state: 'open' })) {
      h.repo.markReadyForReview(pr.number);
      h.repo.mergePullRequest(pr.number);
      await h.deliver();
      await h.run(`after merging ${pr.head}`);
    }
    for (let i = 0; i < 5; i++) {
      h.now += 6 * HOUR;
      await h.see(...traffic);
      await h.run(`quiet ${i}`);
    }
    const evidence = (workload: string) => {
      const branch = branchOf({ kind: 'enforce-workloads', cluster: 'prod', namespace: 'shop', workload });
      return /(\d+) distinct flows? observed/.exec(prFor(branch).body)?.[1];
    };
    // web reported its egress to api and to db; api its ingress from web.
    expect(evidence('shop/Deployment/web')).toBe('2');
    expect(evidence('shop/Deployment/api')).toBe('1');
  });
});
