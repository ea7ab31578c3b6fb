// A cluster or namespace named like a built-in property of JavaScript objects (`constructor` is
// the only one that is also a DNS label) works like any other name: whole App runs against the
// fake GitHub, with the name as a key in the configuration, the deployment configuration, the
// dashboard's memory and the metrics.

import { afterEach, describe, expect, test } from '@jest/globals';
import { AppMetrics } from '../../src/app/ops/metrics.ts';
import { decodeDashboardState } from '../../src/app/render/dashboard.ts';
import { RECOMMENDATION_LABEL } from '../../src/app/state/pull-request-state.ts';
import { clusterConnection, validateDeploymentConfig } from '../../src/config/deployment-config.ts';
import { FlowSourceError } from '../../src/flows/source.ts';
import { openFlowSource } from '../../src/flows/sources/open-flow-source.ts';
import { branchName } from '../../src/plan/lifecycle/unit-key.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, HOUR, stopClean } from './support/app-harness.ts';
import { metricSamples } from './support/metric-samples.ts';

useNock();

let h: AppHarness;
afterEach(() => stopClean(h));

const config = (...clusters: string[]) =>
  [
    'clusters:',
    ...clusters.flatMap((c) => [`  - name: ${c}`, `    path: clusters/${c}`]),
    'schedule: "0 * * * *"',
    'stabilizationPeriod: 3h',
    'pullRequests:',
    '  hourlyLimit: 0',
    '  concurrentLimit: 0',
  ].join('\n');

describe('a cluster and a namespace named constructor', () => {
  test('are proposed, remembered and counted like prod and shop, over several runs', async () => {
    const metrics = new AppMetrics();
    h = await AppHarness.start({ config: config('constructor', 'prod'), metrics });
    h.namespaces = ['constructor', 'shop'];
    await h.see(
      { namespace: 'constructor', direction: 'egress', peer: 'ns:shop', port: 8080 },
      { namespace: 'shop', direction: 'egress', peer: 'ns:constructor', port: 5432 },
    );
    await h.run('first');
    const heads = h.repo
      .pullRequests({ state: 'open' })
      .map((p) => p.head)
      .sort();
    // The harness's flows are every cluster's: both clusters propose both namespaces.
    expect(heads).toEqual(
      [
        branchName('constructor', 'constructor'),
        branchName('constructor', 'shop'),
        branchName('prod', 'constructor'),
        branchName('prod', 'shop'),
      ].sort(),
    );
    let memory = decodeDashboardState(h.dashboard());
    // Where each cluster's flow reading stopped is a number, for `constructor` as for `prod`.
    expect(memory.flowsReadUntil).toEqual({ constructor: h.now, prod: h.now });
    const firstRead = h.now;
    expect(h.dashboard()).toContain('## Cluster `constructor` (`clusters/constructor`)');
    expect(h.dashboard()).not.toContain('**Error:**');

    // Merged: the acceptance record of namespace `constructor` in cluster `constructor` is kept and its clock runs.
    const pr = h.repo.pullRequestFor(branchName('constructor', 'constructor'))!;
    if (pr.draft) h.repo.markReadyForReview(pr.number);
    h.repo.mergePullRequest(pr.number);
    const mergedAt = h.now;
    // The merge's push asks for a run (it touches the cluster's path): it records the acceptance.
    await h.deliver();
    h.now += HOUR;
    await h.run('after merge');
    memory = decodeDashboardState(h.dashboard());
    const since = memory.accepted['constructor']?.['constructor']?.since;
    // Dated at the merge, and the merged PR remembered.
    expect(since).toBe(mergedAt);
    expect(memory.accepted['constructor']?.['constructor']?.pr).toBe(pr.number);
    // No flow past the read points was read since: they stay where they were (a quiet run writes no new one).
    expect(memory.flowsReadUntil).toEqual({ constructor: firstRead, prod: firstRead });
    h.now += HOUR;
    await h.run('later');
    memory = decodeDashboardState(h.dashboard());
    expect(memory.accepted['constructor']?.['constructor']?.since).toBe(since);
    expect(h.dashboard()).toMatch(/\| `constructor` \| Accepted \|/);

    const inputs = metricSamples(await metrics.registry.metrics(), 'policy_recommender_flow_inputs_read_total');
    expect(Object.keys(inputs).sort()).toEqual(['{cluster="constructor",source="file"}', '{cluster="prod",source="file"}']);
    // Five runs: first, the merge's closed event's (the run tidies after the merge: handlers only
    // enqueue), the merge push's, after merge, later.
    expect(await metricSamples(await metrics.registry.metrics(), 'policy_recommender_runs_total')).toEqual({ '{outcome="done"}': 5 });
    expect(h.repo.pullRequests({ state: 'open' }).every((p) => p.labels.includes(RECOMMENDATION_LABEL))).toBe(true);
  });

  test('a cluster named constructor that the dashboard memory has never seen starts from the lookback, not from Object', async () => {
    h = await AppHarness.start({ config: config('prod') });
    await h.see({ namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432 });
    await h.run('first');
    h.repo.commitToDefault({ '.github/policy-recommender.yml': config('prod', 'constructor') }, 'add a cluster');
    await h.deliver();
    expect(h.dashboard()).not.toContain('**Error:**');
    expect(h.repo.pullRequestFor(branchName('constructor', 'shop'))).toMatchObject({ state: 'open' });
    expect(decodeDashboardState(h.dashboard()).flowsReadUntil).toEqual({ constructor: h.now, prod: h.now });
  });
});

describe('the deployment configuration', () => {
  const file = { flows: { source: 'file', file: { paths: ['/flows'] } } } as const;
  test('a cluster it does not name is not found, whatever its name', () => {
    const deployment = validateDeploymentConfig({ clusters: { prod: file } }, 'deployment.yaml');
    expect(clusterConnection(deployment, 'constructor')).toBeUndefined();
    expect(clusterConnection(deployment, '__proto__')).toBeUndefined();
    expect(clusterConnection(deployment, 'prod')?.flows.source).toBe('file');
  });
  test('opening the flows of a cluster named constructor that it does not name says so (not a TypeError)', async () => {
    const deployment = validateDeploymentConfig({ clusters: { prod: file } }, 'deployment.yaml');
    await expect(openFlowSource(deployment, 'constructor')).rejects.toThrow(
      new FlowSourceError("cluster constructor is not in this deployment's configuration: ask the operator to add it"),
    );
  });
  test('a cluster named constructor is one of its clusters', () => {
    const deployment = validateDeploymentConfig({ clusters: { constructor: file } }, 'deployment.yaml');
    expect(clusterConnection(deployment, 'constructor')?.flows.source).toBe('file');
  });
  test('__proto__ is refused as a cluster name, never taken as the prototype', () => {
    const value = JSON.parse('{"clusters": {"__proto__": {"flows": {"source": "file", "file": {"paths": ["/x"]}}}}}') as unknown;
    expect(() => validateDeploymentConfig(value, 'deployment.yaml')).toThrow(/clusters\.__proto__: cluster names are DNS labels/);
  });
});
