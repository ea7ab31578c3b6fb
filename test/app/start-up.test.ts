// The server's first minutes: at start-up the App lists its installations and schedules every
// configured repository (GET /app/installations, then GET /installation/repositories per
// installation: apps/list-installations and apps/list-repos-accessible-to-installation in
// @octokit/openapi). GitHub failing then delays the schedules, never drops them: the listing is
// retried with backoff, /readyz says why the server is not ready meanwhile, and a metric counts
// the repositories scheduled.

import { afterEach, describe, expect, test } from '@jest/globals';
import nock from 'nock';
import { listingRetryDelay } from '../../src/app/app.ts';
import { AppMetrics } from '../../src/app/ops/metrics.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, stopClean } from './support/app-harness.ts';
import { metricSamples } from './support/metric-samples.ts';

useNock();

let h: AppHarness | undefined;
afterEach(async () => {
  nock.disableNetConnect();
  await stopClean(h);
  h = undefined;
});

const readyz = async (harness: AppHarness) => {
  const res = await fetch(new URL('/readyz', harness.webhookUrl));
  return { status: res.status, text: (await res.text()).trim() };
};

/** Waits (real time, bounded) until `check` holds. */
async function until(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('schedules at start-up', () => {
  test('GitHub failing the listing twice: not ready meanwhile, saying why; then every configured repository is scheduled', async () => {
    const metrics = new AppMetrics();
    nock.enableNetConnect('127.0.0.1');
    h = await AppHarness.start({
      metrics,
      webhookSecret: 'a secret',
      scheduleOnLoad: { retryDelayMs: 200 },
      beforeLoad: (github) => {
        // A repository of the same installation without a configuration: not onboarded, not scheduled.
        github.addRepository({ owner: 'acme', name: 'unrelated', installationId: 7, files: { 'README.md': '# x\n' } });
        github.failNext({ method: 'GET', pathRegex: /^\/app\/installations$/, status: 502, times: 2 });
      },
    });
    const harness = h;
    await until(async () => (await readyz(harness)).text.includes('listing the installations failed'));
    expect(await readyz(harness)).toEqual({
      status: 503,
      text: expect.stringMatching(/^schedules not loaded: listing the installations failed \(.*\); trying again in 0 s$/),
    });
    await until(async () => (await readyz(harness)).status === 200);
    expect(await readyz(harness)).toEqual({ status: 200, text: 'ready' });
    expect(h.github.pendingFaults()).toBe(0);
    expect(metricSamples(await metrics.registry.metrics(), 'policy_recommender_repositories_scheduled')).toEqual({ '': 1 });
    expect(h.errors.filter((e) => (e as unknown[])[0] === 'warn')).toHaveLength(2);
    h.errors.length = 0;
  });

  test('a repository whose configuration cannot be read is scheduled by default (its first run reads it), not dropped', async () => {
    const metrics = new AppMetrics();
    h = await AppHarness.start({
      metrics,
      scheduleOnLoad: { retryDelayMs: 200 },
      beforeLoad: (github) =>
        github.failNext({
          method: 'GET',
          pathRegex: /\/contents\/\.github%2Fpolicy-recommender\.yml$|\/contents\/\.github\/policy-recommender\.yml$/,
          status: 500,
        }),
    });
    const harness = h;
    await until(async () => metricSamples(await metrics.registry.metrics(), 'policy_recommender_repositories_scheduled')[''] === 1);
    expect(harness.github.pendingFaults()).toBe(0);
    expect(h.errors).toEqual([
      ['warn', expect.anything(), 'cannot read the configuration of acme/policies: scheduled by default until a run reads it'],
    ]);
    h.errors.length = 0;
  });

  test('the backoff: 1 s, doubling, at most 5 minutes', () => {
    expect([0, 1, 2, 3, 8, 9, 30].map(listingRetryDelay)).toEqual([1000, 2000, 4000, 8000, 256_000, 300_000, 300_000]);
  });
});
