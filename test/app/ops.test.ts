// The metrics a real run through the App records (against the fake GitHub). The endpoints that
// serve them are tested in ops-endpoints.test.ts, through Probot's server.

import { afterEach, describe, expect, test } from '@jest/globals';
import { AppMetrics } from '../../src/app/ops/metrics.ts';
import { FlowSourceError } from '../../src/flows/source.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness } from './support/app-harness.ts';
import { metricSamples } from './support/metric-samples.ts';

useNock();

const samples = async (metrics: AppMetrics, name: string) => metricSamples(await metrics.registry.metrics(), name);

describe('metrics recorded by runs', () => {
  let h: AppHarness;
  afterEach(async () => {
    expect(h.github.unexpected()).toEqual([]);
    await h.stop();
  });

  test('a run counts its outcome, the PRs it opened, the flow lines read and skipped, and every GitHub request', async () => {
    const metrics = new AppMetrics();
    h = await AppHarness.start({ metrics });
    await h.see(
      { namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432 },
      { namespace: 'web', direction: 'ingress', peer: 'pub', port: 443 },
    );
    await h.run();
    expect(h.repo.pullRequests({ state: 'open' })).toHaveLength(2);
    expect(await samples(metrics, 'policy_recommender_runs_total')).toEqual({ '{outcome="done"}': 1 });
    expect(await samples(metrics, 'policy_recommender_run_duration_seconds_count')).toEqual({ '{outcome="done"}': 1 });
    expect(await samples(metrics, 'policy_recommender_pull_requests_total')).toEqual({ '{action="opened"}': 2 });
    expect(await samples(metrics, 'policy_recommender_flow_inputs_read_total')).toEqual({ '{cluster="prod",source="file"}': 2 });
    expect(await samples(metrics, 'policy_recommender_flow_inputs_skipped_total')).toEqual({ '{cluster="prod",source="file"}': 0 });
    const byStatus = new Map<string, number>();
    for (const r of h.github.requests()) byStatus.set(`{status="${r.status}"}`, (byStatus.get(`{status="${r.status}"}`) ?? 0) + 1);
    expect(await samples(metrics, 'policy_recommender_github_requests_total')).toEqual(Object.fromEntries(byStatus));
    expect(await samples(metrics, 'policy_recommender_github_rate_limit_remaining')).toEqual({ '{resource="core"}': 4999 });

    // Nothing new: a second run changes no PR.
    await h.run();
    expect(await samples(metrics, 'policy_recommender_runs_total')).toEqual({ '{outcome="done"}': 2 });
    expect(await samples(metrics, 'policy_recommender_pull_requests_total')).toEqual({ '{action="opened"}': 2 });
  });

  test('a flow source that fails is counted, and the run still completes for the dashboard', async () => {
    const metrics = new AppMetrics();
    h = await AppHarness.start({
      metrics,
      openFlowSource: async () => {
        throw new FlowSourceError('goldmane.calico-system.svc:7443: UNAVAILABLE');
      },
    });
    await h.run();
    expect(await samples(metrics, 'policy_recommender_flow_source_errors_total')).toEqual({ '{cluster="prod",source="file"}': 1 });
    expect(await samples(metrics, 'policy_recommender_runs_total')).toEqual({ '{outcome="done"}': 1 });
    // The dashboard says it failed; why (naming the source's host) is in the App's log.
    expect(h.dashboard()).toContain("**Error:** its flows could not be read\\: the App\\'s log says why");
    expect(h.dashboard()).not.toContain('goldmane.calico-system');
    expect(h.errors).toContainEqual(['warn', 'cluster prod: reading its flows failed: goldmane.calico-system.svc:7443: UNAVAILABLE']);
  });

  test("a flow source's error that names no deployment detail is shown as it is (the cluster is not in the deployment)", async () => {
    h = await AppHarness.start({
      openFlowSource: async (cluster) => {
        const message = `cluster ${cluster} is not in this deployment's configuration: ask the operator to add it`;
        throw new FlowSourceError(message, { shown: message });
      },
    });
    await h.run();
    expect(h.dashboard().replaceAll('\\', '')).toContain(
      "**Error:** cluster prod is not in this deployment's configuration: ask the operator to add it",
    );
  });

  test('an invalid configuration is a run with outcome config-error', async () => {
    const metrics = new AppMetrics();
    h = await AppHarness.start({ metrics, config: 'clusters: []\nschedule: sometimes\n' });
    await h.run();
    expect(await samples(metrics, 'policy_recommender_runs_total')).toEqual({ '{outcome="config-error"}': 1 });
    expect(await samples(metrics, 'policy_recommender_pull_requests_total')).toEqual({});
  });
});
