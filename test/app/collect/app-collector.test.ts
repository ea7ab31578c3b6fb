// The App with a collected Goldmane cluster, on the default two-hour schedule: the scheduled runs
// read their windows from the collector, so a port seen only in the hour after one run (which
// Goldmane no longer holds at the next) is learned; after a simulated restart, the dashboard says
// exactly which flows nobody read and why, and what Goldmane still held is learned.
//
// Goldmane is the TLS gRPC test server with our source following it, in a worker thread
// (support/worker-goldmane.ts: nock, which fakes GitHub here, breaks gRPC's TLS in this thread);
// the collector, the App and its runs are the real ones, on the fake GitHub, with a fake clock
// that moves with Goldmane's rollovers.

import { afterEach, expect, test } from '@jest/globals';
import { FlowCollectors } from '../../../src/app/collect/collector.ts';
import { AppMetrics } from '../../../src/app/ops/metrics.ts';
import { formatTime } from '../../../src/engine/provenance.ts';
import { CLOCK_SKEW_SECONDS, HISTORY_SECONDS } from '../../../src/flows/sources/goldmane/stream-resume.ts';
import { FakeClock } from '../../cluster/fake-clock.ts';
import { everyBucket, INTERVAL, type TestFlow } from '../../support/goldmane-server.ts';
import { useNock } from '../../support/nock-scope.ts';
import { AppHarness, HOUR, T0 } from '../support/app-harness.ts';
import { metricSamples } from '../support/metric-samples.ts';
import { WorkerGoldmane } from '../support/worker-goldmane.ts';

useNock();

const MINUTE = 60;
const CONFIG = ['clusters:', '  - name: prod', '    path: clusters/prod', 'pullRequests:', '  hourlyLimit: 0', '  concurrentLimit: 0'].join(
  '\n',
);

/** web -> db in namespace shop on `port`, reported by the source, in every bucket of [from, to). */
const traffic = (port: number, from: number, to: number): TestFlow[] => everyBucket(from, to, { dest_port: port }, 1);

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 4000; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let h: AppHarness | undefined;
let goldmane: WorkerGoldmane | undefined;
let collectors: FlowCollectors | undefined;
afterEach(async () => {
  await collectors?.stop();
  await goldmane?.close();
  await h?.stop();
});

test('scheduled runs two hours apart read from the collector; after a restart the dashboard says which flows are missing, and why', async () => {
  // 5432 all along; 5433 only in the run's first half hour after the first run (Goldmane no longer
  // holds it at the next run); 5434 only while the App is down, over an hour before it is back;
  // 5435 while it is down, within the hour Goldmane keeps.
  const flows = [
    ...traffic(5432, T0 - 2 * HOUR, T0 + 6 * HOUR),
    ...traffic(5433, T0 + 20 * MINUTE, T0 + 50 * MINUTE),
    ...traffic(5434, T0 + 2 * HOUR + 10 * MINUTE, T0 + 2 * HOUR + 30 * MINUTE),
    ...traffic(5435, T0 + 3 * HOUR, T0 + 3 * HOUR + 20 * MINUTE),
  ];
  goldmane = await WorkerGoldmane.start({ now: T0, flows });
  const clock = new FakeClock({ start: T0 * 1000 });
  const metrics = new AppMetrics();
  collectors = new FlowCollectors({ clusters: new Map([['prod', async () => goldmane!.follower()]]), clock, metrics });
  h = await AppHarness.start({ config: CONFIG, collectors, metrics });
  const app = h;
  const g = goldmane;
  const c = collectors;
  /** Goldmane's rollovers, with the App's clock moving along. */
  const advance = async (buckets: number): Promise<void> => {
    await g.rollover(buckets);
    await clock.advance(buckets * INTERVAL * 1000);
    app.now = clock.now() / 1000;
    expect(app.now).toBe(g.now);
  };
  const caughtUp = () => until(() => c.get('prod')!.coverage(app.now).to >= app.now - 2 * INTERVAL, 'the collector to catch up');
  /** A new stream is open (and the previous one closed) before time moves on: streams settle on buckets that complete after they connected (stream-resume.ts). */
  let streamCalls = 0;
  const connected = async (): Promise<void> => {
    await until(async () => {
      const s = await g.streams();
      return s.open === 1 && s.calls.length === streamCalls + 1;
    }, 'a new stream');
    streamCalls++;
  };
  const window = () => /between (\S+) and (\S+Z)/.exec(app.dashboard())?.slice(1);
  const policy = () => app.repo.file('policy-recommender/prod/shop', 'clusters/prod/namespace-isolation/shop.yaml') ?? '';
  const warnings = () =>
    app
      .dashboard()
      .split('\n')
      .filter((l) => l.startsWith('**Warning:**'));

  collectors.start('the App started');
  await connected();
  await advance(20);
  await caughtUp();
  await h.scheduler.tick(h.repo.key());
  const first = window();
  expect(first).toEqual([formatTime(h.now - 24 * HOUR), formatTime(h.now - 2 * INTERVAL)]);
  // The dashboard says what kind of source was read; where it is (its address) is in the App's log only.
  expect(h.dashboard()).toContain(`Flows from Goldmane between ${first![0]} and ${first![1]}: `);
  expect(h.dashboard()).not.toContain(g.address.split(':')[0]!);
  expect(h.infos).toContainEqual(
    expect.stringContaining(`cluster prod: read flows from goldmane at ${g.address}, collected since ${formatTime(T0)} between`),
  );
  expect(warnings()).toEqual([]);
  expect(policy()).toContain('5432');

  // Two hours later, the next scheduled run: from the first one's end, less the 15-minute overlap.
  await advance(480);
  await caughtUp();
  await h.scheduler.tick(h.repo.key());
  const readUntil = T0 + 5 * MINUTE - 2 * INTERVAL;
  expect(window()).toEqual([formatTime(readUntil - 15 * MINUTE), formatTime(h.now - 2 * INTERVAL)]);
  expect(warnings()).toEqual([]);
  // 5433 ended 75 minutes before this run: only the collector still had it.
  expect(policy()).toMatch(/5433/);

  // This replica loses the Lease, and 90 minutes pass before one collects again (a restart, or
  // another replica takes the Lease).
  const stopped = h.now - 2 * INTERVAL;
  await collectors.stop();
  await advance(180);
  // A person's request reaches the replica without the Lease: it reads the source directly (here
  // the harness's empty file) and leaves the read point for the collector's next run.
  await h.run('comment');
  expect(h.infos).toContainEqual(
    expect.stringContaining('read directly: this replica does not hold the Lease; the one that does collects this cluster'),
  );
  expect(window()).toEqual([formatTime(stopped - 15 * MINUTE), formatTime(h.now)]);
  expect(warnings()).toEqual([]);
  await advance(180);
  const restart = h.now;
  collectors.start('the App started');
  await connected();
  await advance(20);
  await caughtUp();
  await h.scheduler.tick(h.repo.key());
  // The first bucket the new collector asked for: as far back as Goldmane held, less the clock skew allowed.
  const heldFrom = (await g.streams()).calls.at(-1)!;
  expect(heldFrom).toBe(Math.ceil((restart - HISTORY_SECONDS + CLOCK_SKEW_SECONDS + INTERVAL) / INTERVAL) * INTERVAL);
  expect(warnings().map((l) => l.replaceAll('\\', ''))).toEqual([
    `**Warning:** flows that started between ${formatTime(stopped)} and ${formatTime(heldFrom)} are missing: collecting started at ${formatTime(restart)} (the App started), and Goldmane no longer held older flows (it keeps about an hour)`,
  ]);
  // What Goldmane still held was read; what it no longer held is the missing interval.
  expect(policy()).toMatch(/5435/);
  expect(policy()).not.toMatch(/5434/);
  expect(metricSamples(await metrics.registry.metrics(), 'policy_recommender_collector_connected')).toEqual({ '{cluster="prod"}': 1 });

  // The next run: nothing missing any more.
  await advance(480);
  await caughtUp();
  await h.scheduler.tick(h.repo.key());
  expect(warnings()).toEqual([]);
  expect(h.errors).toEqual([]);
  expect(h.github.unexpected()).toEqual([]);
});
