// The collector against the TLS gRPC Goldmane test server (test/support/goldmane-server.ts, which
// streams as goldmane/pkg/goldmane/goldmane.go Stream/backfill and pkg/storage/bucket_ring.go do,
// release-v3.30 to master): runs two hours apart lose nothing although Goldmane keeps an hour; a
// collector started after flows aged out says exactly from when it holds everything; an outage
// longer than Goldmane keeps is a gap with its interval and reason; memory stays within its cap
// under many distinct flows. Time is a fake clock the test moves with the server's rollovers.

import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, test } from '@jest/globals';
import { FlowCollector, FlowCollectors } from '../../../src/app/collect/collector.ts';
import { SLOT_SECONDS } from '../../../src/app/collect/flow-store.ts';
import { AppMetrics } from '../../../src/app/ops/metrics.ts';
import { formatTime } from '../../../src/engine/provenance.ts';
import type { FlowRecord } from '../../../src/flows/record.ts';
import { type FlowSource, FlowSourceError, type TimeWindow } from '../../../src/flows/source.ts';
import { openGoldmaneSource } from '../../../src/flows/sources/goldmane/goldmane-source.ts';
import { CLOCK_SKEW_SECONDS, HISTORY_SECONDS } from '../../../src/flows/sources/goldmane/stream-resume.ts';
import { FakeClock } from '../../cluster/fake-clock.ts';
import {
  bucketOf,
  everyBucket,
  GoldmaneTestServer,
  goldmaneConfig,
  INTERVAL,
  type Release,
  type TestFlow,
} from '../../support/goldmane-server.ts';
import { metricSamples } from '../support/metric-samples.ts';

/** A slot start (and so a bucket start): 2026-11-18T07:10:00Z. */
const START = 1_795_000_200;
const MINUTE = 60;
const HOUR = 3600;

/** `keys` flows (ports 5000 + k) from web to db in shop, in every bucket of [from, to). */
function reports(from: number, to: number, keys = 10): TestFlow[] {
  return Array.from({ length: keys }, (_, k) => everyBucket(from, to, { dest_port: 5000 + k })).flat();
}

/** Waits until something happens (no wall-clock assertion). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 4000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function readAll(source: FlowSource, window: TimeWindow): Promise<FlowRecord[]> {
  const out: FlowRecord[] = [];
  await source.read(window, (r) => out.push(r));
  return out;
}

interface Collecting {
  readonly server: GoldmaneTestServer;
  readonly clock: FakeClock;
  readonly collector: FlowCollector;
  readonly metrics: AppMetrics;
  /** The server's (and the collector's) time. */
  now(): number;
  /** Goldmane's rollovers, `n` buckets, with the clock moving along. */
  rollover(n: number): Promise<void>;
}

const running: Collecting[] = [];
afterEach(async () => {
  for (const c of running.splice(0)) {
    await c.collector.stop();
    c.server.forceClose();
  }
});

async function collecting(
  flows: TestFlow[],
  options: { release?: Release; maxBytes?: number; slotSeconds?: number; backoffMs?: number } = {},
): Promise<Collecting> {
  const server = await GoldmaneTestServer.start({ release: options.release ?? 'main', now: () => START, flows });
  const clock = new FakeClock({ start: START * 1000 });
  const metrics = new AppMetrics();
  const collector = new FlowCollector({
    cluster: 'prod',
    open: () =>
      openGoldmaneSource(goldmaneConfig(server.address), { backoffMs: options.backoffMs ?? 5, maxBackoffMs: 4 * (options.backoffMs ?? 5) }),
    maxBytes: options.maxBytes ?? 64 * 1024 * 1024,
    calicoEdition: 'open-source',
    ...(options.slotSeconds ? { slotSeconds: options.slotSeconds } : {}),
    clock,
    metrics,
  });
  const c: Collecting = {
    server,
    clock,
    collector,
    metrics,
    now: () => server.now(),
    rollover: async (n) => {
      for (let i = 0; i < n; i++) {
        server.rollover();
        await clock.advance(INTERVAL * 1000);
      }
    },
  };
  running.push(c);
  collector.start('the test started it');
  // Connected before time moves on (a stream settles on buckets that complete after it connected: stream-resume.ts).
  await until(() => server.openStreams === 1, 'the first connection');
  return c;
}

/** Caught up: every flow that started before `before` is held. */
const heldUntil = (c: Collecting, before: number) =>
  until(() => c.collector.coverage(c.now()).to >= before, `the collector to hold everything before ${formatTime(before)}`);

/** Per port: the buckets counted in the records (numFlows), and the span they cover. */
function perPort(records: readonly FlowRecord[]): Map<number, { flows: number; first: number; last: number; records: number }> {
  const out = new Map<number, { flows: number; first: number; last: number; records: number }>();
  for (const r of records) {
    const p = out.get(r.destPort!) ?? { flows: 0, first: Infinity, last: -Infinity, records: 0 };
    out.set(r.destPort!, {
      flows: p.flows + r.numFlows,
      first: Math.min(p.first, r.startTime),
      last: Math.max(p.last, r.endTime),
      records: p.records + 1,
    });
  }
  return out;
}

describe.each(['3.31', 'main'] as const)('collecting from Goldmane %s', (release) => {
  test('runs two hours apart lose nothing, although Goldmane keeps an hour', async () => {
    const c = await collecting(reports(START - 3 * HOUR, START + 3 * HOUR), { release });
    // The first run, ten minutes after collecting started.
    await c.rollover(40);
    const first = c.now();
    await heldUntil(c, first - 2 * INTERVAL);
    const readUntil = c.collector.coverage(first).to;
    // The next run, two hours later: it reads from the first one's end, less the runs' 15-minute overlap.
    await c.rollover(480);
    const second = c.now();
    await heldUntil(c, second - 2 * INTERVAL);
    const coverage = c.collector.coverage(second);
    expect(coverage.missing).toEqual([]);
    const window = { from: readUntil - 15 * MINUTE, to: coverage.to };
    expect(coverage.from).toBeLessThanOrEqual(window.from);
    // Goldmane no longer holds the window's first hour: a List of it would come back without it.
    expect(bucketOf(second) + 2 * INTERVAL - 242 * INTERVAL).toBeGreaterThan(window.from + 50 * MINUTE);

    const records = await readAll(c.collector.source(), window);
    // Every bucket of every port in the window, once: whole slots of 20 buckets, each slot one record per port.
    const firstSlot = Math.floor(window.from / SLOT_SECONDS) * SLOT_SECONDS;
    const slots = Math.ceil((window.to - firstSlot) / SLOT_SECONDS);
    const ports = perPort(records);
    expect([...ports.keys()].sort()).toEqual([5000, 5001, 5002, 5003, 5004, 5005, 5006, 5007, 5008, 5009]);
    for (const p of ports.values()) {
      expect(p.records).toBe(slots);
      expect(p.first).toBe(firstSlot);
      // Buckets from the first slot's start up to those that arrived (to the last held one, at least).
      expect(p.flows).toBe((p.last - firstSlot) / INTERVAL);
      expect(p.last).toBeGreaterThanOrEqual(window.to + INTERVAL);
    }
  });
});

describe('collecting from Goldmane', () => {
  test('started after flows aged out: it holds everything from the first bucket it asked for, and says why nothing before', async () => {
    const c = await collecting(reports(START - 3 * HOUR, START + HOUR));
    await c.rollover(20);
    await heldUntil(c, c.now() - 2 * INTERVAL);
    const coverage = c.collector.coverage(c.now());
    // The first bucket asked for: as far back as Goldmane holds, less the clock skew allowed (stream-resume.ts).
    const asked = c.server.streamCalls[0]!.start_time_gte;
    expect(coverage.from).toBe(asked);
    expect(asked).toBe(Math.ceil((START - HISTORY_SECONDS + CLOCK_SKEW_SECONDS + INTERVAL) / INTERVAL) * INTERVAL);
    expect(coverage.before).toBe(
      `collecting started at ${formatTime(START)} (the test started it), and Goldmane no longer held older flows (it keeps about an hour)`,
    );
    expect(coverage.missing).toEqual([]);
    // Exactly from there: every bucket of every port, nothing older.
    const records = await readAll(c.collector.source(), { from: START - 3 * HOUR, to: coverage.to });
    for (const p of perPort(records).values()) {
      expect(p.first).toBe(asked);
      expect(p.flows).toBe((p.last - asked) / INTERVAL);
    }
    // A run whose previous read was 90 minutes before the start misses [that, coverage.from): its dashboard says so (test/app/collect/app-collector.test.ts).
    expect(coverage.from - (START - 90 * MINUTE)).toBeGreaterThan(30 * MINUTE);
  });

  test('Goldmane unreachable: after the grace runs cannot read (the cluster is left as it is); back after longer than it keeps: the gap, exactly, and why', async () => {
    // Retries half a second apart (real time): time jumps happen between two attempts, never during one.
    const c = await collecting(reports(START - HOUR, START + 3 * HOUR), { backoffMs: 500 });
    /** Moves Goldmane's time and ours on while no attempt is in flight. */
    const jump = async (buckets: number): Promise<void> => {
      await until(() => !c.collector.connected, 'an attempt to have failed');
      for (let i = 0; i < buckets; i++) c.server.rollover();
      await c.clock.advance(buckets * INTERVAL * 1000);
    };
    await c.rollover(20);
    await heldUntil(c, c.now() - 2 * INTERVAL);
    const before = c.collector.coverage(c.now()).to;
    const down = c.now();
    c.server.failure = { code: grpc.status.UNAVAILABLE, details: 'down' };
    c.server.endStreams();
    // Within the grace a run reads what is held.
    await until(() => c.server.streamCalls.length >= 2 && !c.collector.connected, 'an attempt to reconnect to have failed');
    expect(c.collector.unavailable(c.now())).toBeNull();
    // After it, the read fails, and says since when and why (the last attempt's error).
    await jump(5);
    const failed = await readAll(c.collector.source(), { from: START - HOUR, to: c.now() }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(FlowSourceError);
    expect((failed as Error).message).toBe(
      `goldmane at ${c.server.address}: not reachable since ${formatTime(down)} (UNAVAILABLE: down); this cluster is left as it is until it is, and what Goldmane still holds then (about an hour) is collected`,
    );
    // What the dashboard may show: neither the address nor the error (which can name hosts).
    expect((failed as FlowSourceError).shown).toBe(
      `Goldmane not reachable since ${formatTime(down)}; this cluster is left as it is until it is, and what Goldmane still holds then (about an hour) is collected`,
    );
    // 70 minutes down in all; one more attempt fails after that.
    await jump(275);
    const attempts = c.server.streamCalls.length;
    await until(() => c.server.streamCalls.length > attempts && !c.collector.connected, 'an attempt after the outage');
    const back = c.now();
    c.server.failure = null;
    await until(() => c.server.openStreams === 1, 'the reconnection');
    const resumed = c.server.streamCalls.at(-1)!.start_time_gte;
    await c.rollover(20);
    await heldUntil(c, c.now() - 2 * INTERVAL);
    expect(c.collector.unavailable(c.now())).toBeNull();
    const coverage = c.collector.coverage(c.now());
    expect(coverage.missing).toHaveLength(1);
    const gap = coverage.missing[0]!;
    // From where every flow had been delivered before the outage (follow's resume point: it may
    // say up to a couple of minutes too much) to the first bucket the reconnection asked for.
    expect(gap.to).toBe(resumed);
    expect(gap.from).toBeLessThanOrEqual(before);
    expect(before - gap.from).toBeLessThanOrEqual(CLOCK_SKEW_SECONDS + 3 * INTERVAL);
    expect(gap.reason).toBe(
      `Goldmane could not be followed from ${formatTime(down)} to ${formatTime(back)} (UNAVAILABLE: down), for longer than it keeps flows (about an hour)`,
    );
    // Every flow outside the gap is held, none inside it.
    const records = await readAll(c.collector.source(), { from: START - HOUR, to: coverage.to });
    expect(
      records.filter(
        (r) => r.endTime > gap.from && r.startTime < gap.to && r.startTime >= Math.ceil(gap.from / SLOT_SECONDS) * SLOT_SECONDS,
      ),
    ).toEqual([]);
    const after = records.filter((r) => r.startTime >= gap.to);
    for (const p of perPort(after).values()) expect(p.flows).toBe((p.last - gap.to) / INTERVAL);
    expect(metricSamples(await c.metrics.registry.metrics(), 'policy_recommender_collector_lost_seconds_total')).toEqual({
      '{cluster="prod",cause="unreachable"}': gap.to - gap.from,
    });
  });

  test('many distinct flows: memory stays within the cap, the oldest go first, and the coverage says from when and why', async () => {
    // 400 distinct flows in every bucket, in one-minute slots: 20 minutes would be 20 slots.
    const flows = reports(START - 10 * MINUTE, START + HOUR, 400);
    const cap = 320 * 1024;
    const c = await collecting(flows, { maxBytes: cap, slotSeconds: 60 });
    await c.rollover(40);
    await heldUntil(c, c.now() - 2 * INTERVAL);
    const held = c.collector.held;
    expect(held.bytes).toBeLessThanOrEqual(cap);
    expect(held.distinctFlows).toBe(400);
    // 400 entries a slot (the newest may still be filling); far fewer slots than the 20 minutes.
    expect(held.entries).toBeLessThanOrEqual(400 * held.slots);
    expect(held.entries).toBeGreaterThan(400 * (held.slots - 1));
    expect(held.slots).toBeLessThan(15);
    const coverage = c.collector.coverage(c.now());
    expect(coverage.before).toBe('the collector dropped them to stay within its memory cap (0.3 MiB estimated, 400 distinct flows held)');
    expect(coverage.missing).toEqual([]);
    // What is held starts where the coverage says, and holds every bucket from there.
    const records = await readAll(c.collector.source(), { from: START - HOUR, to: coverage.to });
    expect(Math.min(...records.map((r) => r.startTime))).toBe(coverage.from);
    for (const p of perPort(records.filter((r) => r.startTime < coverage.to)).values())
      expect(p.flows).toBe((p.last - coverage.from) / INTERVAL);
    const metrics = await c.metrics.registry.metrics();
    expect(metricSamples(metrics, 'policy_recommender_collector_bytes')['{cluster="prod"}']).toBeLessThanOrEqual(cap);
    expect(metricSamples(metrics, 'policy_recommender_collector_flows')).toEqual({ '{cluster="prod"}': 400 });
    expect(metricSamples(metrics, 'policy_recommender_collector_lost_seconds_total')['{cluster="prod",cause="memory-cap"}']).toBe(
      coverage.from - c.server.streamCalls[0]!.start_time_gte,
    );
  });

  test("the runs' source tells what the follower skipped as nothing to learn, counts it once, and says the flows are open-source Calico's", async () => {
    // Protocol 0 carries nothing to learn (to-record.ts); it is counted apart from malformed input.
    const zero = reports(START - 10 * MINUTE, START + 10 * MINUTE, 1).map((f) => ({ ...f, Key: { ...f.Key, proto: '0', dest_port: 0 } }));
    const c = await collecting([...reports(START - 10 * MINUTE, START + 10 * MINUTE, 1), ...zero]);
    await c.rollover(20);
    await heldUntil(c, c.now() - 2 * INTERVAL);
    const source = c.collector.source();
    expect(source.calicoEdition).toBe('open-source');
    expect(source.unlearnable.total).toBeGreaterThan(0);
    expect(Object.keys(source.unlearnable.summary().byReason)).toEqual([expect.stringMatching(/protocol 0/)]);
    expect(source.skipped.total).toBe(0);
    const records = await readAll(source, { from: START - HOUR, to: c.now() });
    expect(new Set(records.map((r) => r.destPort))).toEqual(new Set([5000]));
    expect(metricSamples(await c.metrics.registry.metrics(), 'policy_recommender_flow_inputs_unlearnable_total')).toEqual({
      '{cluster="prod",source="goldmane"}': source.unlearnable.total,
    });
  });

  test('stopped (the Lease lost): following ends, what was collected is forgotten, and a run on this replica reads the source directly without moving the read point', async () => {
    const c = await collecting(reports(START - HOUR, START + HOUR));
    await c.rollover(20);
    await heldUntil(c, c.now() - 2 * INTERVAL);
    expect(c.collector.held.entries).toBeGreaterThan(0);
    await c.collector.stop();
    await until(() => c.server.openStreams === 0, 'the stream to close');
    expect(c.collector.collecting).toBe(false);
    expect(c.collector.held.entries).toBe(0);

    const collectors = new FlowCollectors({
      clusters: new Map([['prod', () => openGoldmaneSource(goldmaneConfig(c.server.address))]]),
      clock: c.clock,
    });
    const direct = await collectors.openFlowSource('prod', () => openGoldmaneSource(goldmaneConfig(c.server.address)));
    expect(direct.coverage!(c.now()).keepReadPoint).toBe(true);
    expect(direct.description).toMatch(/read directly: this replica does not hold the Lease/);
    // A cluster nobody collects is read as it always was.
    const other = { description: 'files' } as FlowSource;
    expect(await collectors.openFlowSource('lab', async () => other)).toBe(other);
  });
});
