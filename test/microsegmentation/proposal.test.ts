// The pure API the GitHub App builds its pull requests on: what one PR proposes for a namespace's
// isolation policy, one workload's policy, or all of a namespace's workload policies, with the
// open PR's files as memory; and which PRs microsegmentation calls for.

import { beforeAll, describe, expect, test } from '@jest/globals';
import type { RecommendationConfig } from '../../src/config/recommendation-config.ts';
import { FlowAggregator } from '../../src/engine/aggregate.ts';
import { learnContext } from '../../src/flows/read-flows.ts';
import type { FlowRecord } from '../../src/flows/record.ts';
import { planRecommendations } from '../../src/plan/plan.ts';
import { microsegmentationUnits, type ProposalInput, propose, proposeBootstrap } from '../../src/plan/proposal.ts';
import { config, deploymentPods, flow, HOUR, loadTemplate, NOW, pub, statefulSetPods } from '../support/engine.ts';

let template: Map<string, string>;
beforeAll(async () => {
  template = await loadTemplate();
});

const web = deploymentPods('shop', 'web', { app: 'web' });
const db = statefulSetPods('shop', 'db', { app: 'db' });
const records = [
  flow(web, db, { reporter: 'src', port: 5432 }),
  flow(web, db, { reporter: 'dst', port: 5432 }),
  flow(pub, web, { reporter: 'dst', port: 443 }),
];
const segmented = (pullRequests = 'per-namespace') =>
  config({ microsegmentation: { enabled: true, select: { namespaces: ['shop'] }, pullRequests } });

function input(recs: readonly FlowRecord[], cfg: RecommendationConfig, extra: Partial<ProposalInput> = {}): ProposalInput {
  const now = extra.now ?? NOW;
  const aggregator = new FlowAggregator(learnContext(cfg, { from: now - cfg.initialLookback, to: now }));
  aggregator.addAll(recs);
  return { clusterPath: 'clusters/prod', tree: new Map(), template, observations: aggregator.result(), config: cfg, now, ...extra };
}

describe('propose', () => {
  test("a namespace's workloads: every workload policy, never the isolation policy nor the cluster-wide files", () => {
    const proposal = propose(input(records, segmented()), { kind: 'workloads', namespace: 'shop' })!;
    const files = [...proposal.files.keys()];
    // The default layout lists nothing: the PR adds its own files only. The tiers are the bootstrap PR's.
    expect(files).toEqual(['clusters/prod/appsec/shop/deployment-web.yaml', 'clusters/prod/appsec/shop/statefulset-db.yaml']);
    expect(proposeBootstrap(input(records, segmented()))!.files.has('clusters/prod/tiers.yaml')).toBe(true);
    expect(proposal.added).toEqual(new Set(files));
    expect(proposal.workloads.map((w) => w.key)).toEqual(['shop/Deployment/web', 'shop/StatefulSet/db']);
    expect(proposal.namespaces).toEqual([]);
    expect(proposal).toMatchObject({ status: 'Learning', lastUpdated: '2026-11-18T11:06:40Z' });
    expect(proposal.hash).toMatch(/^[0-9a-f]{20}$/);
  });

  test('one workload: its policy alone', () => {
    const proposal = propose(input(records, segmented()), { kind: 'workloads', namespace: 'shop', workload: 'shop/StatefulSet/db' })!;
    expect([...proposal.files.keys()]).toEqual(['clusters/prod/appsec/shop/statefulset-db.yaml']);
    expect(proposal.workloads.map((w) => w.key)).toEqual(['shop/StatefulSet/db']);
  });

  test("the namespace's isolation policy, passing traffic within the namespace", () => {
    const proposal = propose(input(records, segmented()), { kind: 'namespace', namespace: 'shop' })!;
    expect([...proposal.files.keys()].filter((p) => p.includes('shop'))).toEqual(['clusters/prod/namespace-isolation/shop.yaml']);
    expect(proposal.files.get('clusters/prod/namespace-isolation/shop.yaml')).toMatch(/action: Pass/);
    expect(proposal.workloads).toEqual([]);
  });

  test('the open PR is the memory: the same flows give the same files and hash; new flows extend them', () => {
    const first = propose(input(records, segmented()), { kind: 'workloads', namespace: 'shop' })!;
    const memory = new Map(
      [...first.files]
        .filter(([p]) => p.includes('appsec/shop/deployment') || p.includes('appsec/shop/statefulset'))
        .map(([p, t]) => [p.slice('clusters/prod/'.length), t]),
    );
    const again = propose(input(records.slice(0, 1), segmented(), { memory, now: NOW + HOUR }), { kind: 'workloads', namespace: 'shop' })!;
    expect(again.hash).toBe(first.hash);
    expect(again.status).toBe('Stable');
    const more = propose(input([flow(web, db, { reporter: 'src', port: 5433, start: NOW })], segmented(), { memory, now: NOW + HOUR }), {
      kind: 'workloads',
      namespace: 'shop',
    })!;
    expect(more.hash).not.toBe(first.hash);
    expect(more.files.get('clusters/prod/appsec/shop/deployment-web.yaml')).toMatch(/- 5432\n\s+- 5433/);
    // Learning again (web changed) though db is stable: the PR is as ready as its least ready policy.
    expect(more.status).toBe('Learning');
  });

  test('memory outside the unit is not proposed', () => {
    const first = propose(input(records, segmented()), { kind: 'workloads', namespace: 'shop' })!;
    const memory = new Map([...first.files].map(([p, t]) => [p.slice('clusters/prod/'.length), t]));
    const one = propose(input(records, segmented(), { memory }), {
      kind: 'workloads',
      namespace: 'shop',
      workload: 'shop/StatefulSet/db',
    })!;
    expect([...one.files.keys()].some((p) => p.endsWith('deployment-web.yaml'))).toBe(false);
  });

  test('a unit with nothing to propose gives null', () => {
    expect(propose(input(records, segmented()), { kind: 'workloads', namespace: 'elsewhere' })).toBeNull();
  });
});

describe('microsegmentationUnits', () => {
  const plan = (cfg: RecommendationConfig) => {
    const i = input([...records, flow(deploymentPods('pay', 'api', { app: 'api' }), pub, { reporter: 'src', port: 443 })], cfg);
    return planRecommendations({
      tree: i.tree,
      template,
      observations: i.observations.byNamespace,
      endpoints: i.observations.endpoints,
      config: cfg,
      now: NOW,
    });
  };
  const twoNamespaces = (pullRequests: string) =>
    config({ microsegmentation: { enabled: true, select: { namespaces: ['shop', 'pay'] }, pullRequests } });

  test('one pull request per namespace, or one per workload, as configured', () => {
    expect(microsegmentationUnits(plan(twoNamespaces('per-namespace')))).toEqual([
      { kind: 'workloads', namespace: 'pay' },
      { kind: 'workloads', namespace: 'shop' },
    ]);
    expect(microsegmentationUnits(plan(twoNamespaces('per-workload')))).toEqual([
      { kind: 'workloads', namespace: 'pay', workload: 'pay/Deployment/api' },
      { kind: 'workloads', namespace: 'shop', workload: 'shop/Deployment/web' },
      { kind: 'workloads', namespace: 'shop', workload: 'shop/StatefulSet/db' },
    ]);
    expect(microsegmentationUnits(plan(config()))).toEqual([]);
  });
});
