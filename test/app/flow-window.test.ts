// Each run reads only the flows it needs: the first run the whole lookback, later runs from where
// the previous one stopped (kept in the dashboard, so a restart loses nothing) with a 15-minute
// overlap, never further back than the lookback; and runs spaced further apart than the source
// keeps flows (Goldmane: an hour) get a warning on the dashboard.
//
// The window is observed where people see it, on the dashboard. (The Goldmane source itself, and
// the window it sends, are tested against a gRPC server in test/flows/goldmane: nock, which fakes
// GitHub here, intercepts sockets in a way that breaks gRPC's TLS in the same file.)

import { afterEach, describe, expect, test } from '@jest/globals';
import { AppMetrics } from '../../src/app/ops/metrics.ts';
import { FLOW_WINDOW_OVERLAP } from '../../src/app/run/run-repository.ts';
import { formatTime } from '../../src/engine/provenance.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, HOUR, T0 } from './support/app-harness.ts';
import { metricSamples } from './support/metric-samples.ts';

useNock();

const DAY = 24 * HOUR;
let h: AppHarness;
afterEach(async () => {
  expect(h.errors).toEqual([]);
  expect(h.github.unexpected()).toEqual([]);
  await h.stop();
});

const windowOnDashboard = () => /between (\S+) and (\S+Z)/.exec(h.dashboard())?.slice(1);
const db = (port: number) => ({ namespace: 'shop', direction: 'egress', peer: 'ns:db', port }) as const;

describe('the flow window of each run', () => {
  test('first the lookback, then from the previous run minus the overlap, never beyond the lookback', async () => {
    const metrics = new AppMetrics();
    h = await AppHarness.start({ metrics });
    await h.see(db(5432));
    await h.run('first');
    expect(windowOnDashboard()).toEqual([formatTime(T0 - DAY), formatTime(T0)]);

    // An hour later: from where the first run stopped, less the overlap; the first record (seen
    // 10 minutes before the first run) is inside the overlap and is read again, the new one too.
    h.now = T0 + HOUR;
    await h.see(db(5433));
    await h.run('second');
    expect(windowOnDashboard()).toEqual([formatTime(T0 - FLOW_WINDOW_OVERLAP), formatTime(T0 + HOUR)]);
    expect(h.dashboard()).toContain('2 records read, 2 learned from');
    expect(h.repo.file('policy-recommender/prod/shop', 'clusters/prod/namespace-isolation/shop.yaml')).toMatch(/- 5432\n\s+- 5433/);

    // Two days later: the lookback bounds the window, and the old records no longer count.
    h.now = T0 + HOUR + 2 * DAY;
    await h.run('third');
    expect(windowOnDashboard()).toEqual([formatTime(h.now - DAY), formatTime(h.now)]);
    expect(h.dashboard()).toContain('2 records read, 0 learned from');
    // Every line was read by the source each time; only those in the window counted.
    expect(metricSamples(await metrics.registry.metrics(), 'policy_recommender_flow_inputs_read_total')).toEqual({
      '{cluster="prod",source="file"}': 1 + 2 + 2,
    });
  });

  test('runs further apart than the source keeps flows: the dashboard says which flows were lost', async () => {
    h = await AppHarness.start({ flowRetention: HOUR });
    await h.see(db(5432));
    await h.run('first');
    h.now = T0 + 45 * 60;
    await h.run('within the hour');
    expect(h.dashboard()).not.toContain('Warning');
    h.now = T0 + 45 * 60 + 3 * HOUR;
    await h.run('three hours later');
    expect(h.dashboard().replaceAll('\\', '')).toContain(
      `**Warning:** runs are further apart than the flow source keeps flows (60 minutes): flows between ${formatTime(T0 + 45 * 60)} and ${formatTime(T0 + 45 * 60 + 2 * HOUR)} were lost`,
    );
  });
});
