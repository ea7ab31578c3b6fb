// Following Goldmane with Flows.Stream: every flow once per bucket, through breaks, reconnections,
// the registration race, and outages longer than Goldmane's history. The test server streams as
// Goldmane does (goldmane/pkg/goldmane/goldmane.go Stream/backfill, pkg/storage/bucket_ring.go
// Backfill/iterBucketsTime/flushToStreams, pkg/stream/*.go; release-v3.30 to master): history
// from start_time_gte to the streaming bucket, then that bucket at every rollover().

import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, test } from '@jest/globals';
import type { FlowRecord } from '../../../src/flows/record.ts';
import { type FollowEvent, openGoldmaneSource } from '../../../src/flows/sources/goldmane/goldmane-source.ts';
import { CLOCK_SKEW_SECONDS, HISTORY_SECONDS, StreamResume } from '../../../src/flows/sources/goldmane/stream-resume.ts';
import { flowsClientConstructor, flowsCodec } from '../../../src/flows/sources/goldmane/wire.ts';
import {
  bucketOf,
  contractOf,
  everyBucket,
  GoldmaneTestServer,
  goldmaneConfig,
  INTERVAL,
  RELEASES,
  type Release,
  type TestFlow,
  tlsFile,
} from '../../support/goldmane-server.ts';

/** A bucket start. */
const T0 = 1_795_000_005;
/** The server's "now" when a test starts: ten minutes of history held. */
const START = T0 + 600;

/** Ten keys, each in every bucket from T0 to `until` (exclusive). */
function reports(until: number, keys = 10): TestFlow[] {
  return Array.from({ length: keys }, (_, k) => everyBucket(T0, until, { source_name: `app-${k}-*`, dest_port: 5432 })).flat();
}

/** (key, bucket) of every flow expected from `from` up to the buckets flushed by now. */
function expected(from: number, through: number, keys = 10): string[] {
  const out: string[] = [];
  for (let b = from; b <= through; b += INTERVAL) for (let k = 0; k < keys; k++) out.push(`app-${k}-* ${b}`);
  return out.sort();
}

const seen = (records: readonly FlowRecord[]): string[] => records.map((r) => `${r.source.name} ${r.startTime}`).sort();

/** Waits (no wall-clock assertion: only until something happens). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Following {
  server: GoldmaneTestServer;
  records: FlowRecord[];
  events: FollowEvent[];
  stop: AbortController;
  done: Promise<void>;
  source: Awaited<ReturnType<typeof openGoldmaneSource>>;
}

const running: Following[] = [];
afterEach(async () => {
  for (const f of running.splice(0)) {
    f.stop.abort();
    await f.done;
    f.server.forceClose();
  }
});

/** A server of `release` holding `flows`, and our source following it from `since`. */
async function follow(
  release: Release,
  flows: TestFlow[],
  since: number,
  prepare: (server: GoldmaneTestServer) => void = () => undefined,
): Promise<Following> {
  const server = await GoldmaneTestServer.start({ release, now: () => START, flows });
  prepare(server);
  const source = await openGoldmaneSource(goldmaneConfig(server.address), { backoffMs: 5, maxBackoffMs: 20 });
  const records: FlowRecord[] = [];
  const events: FollowEvent[] = [];
  const stop = new AbortController();
  const done = source.follow({
    since,
    signal: stop.signal,
    now: () => server.now(),
    onRecord: (r) => records.push(r),
    onEvent: (e) => events.push(e),
  });
  const following = { server, records, events, stop, done, source };
  running.push(following);
  return following;
}

const connections = (events: readonly FollowEvent[]): number[] => events.flatMap((e) => (e.type === 'connected' ? [e.from] : []));

describe.each(RELEASES.filter((r) => r === '3.31' || r === 'main'))('Goldmane %s', (release) => {
  test('history from the start time, then each bucket as it completes, every flow once', async () => {
    const f = await follow(release, reports(START + 10 * INTERVAL), T0);
    // History: T0 up to the streaming bucket (START - 15), excluded.
    await until(() => f.records.length === 390, 'the history');
    for (let i = 0; i < 5; i++) f.server.rollover();
    // The rollovers sent START - 15 ... START + 45.
    await until(() => f.records.length === 440, 'five buckets');
    expect(seen(f.records)).toEqual(expected(T0, START + 45));
    expect(connections(f.events)).toEqual([T0]);
    expect(f.server.streamCalls).toHaveLength(1);
    // Progress: history is certain up to `recent`; from `settle` on every bucket counts.
    const progress = f.events.flatMap((e) => (e.type === 'progress' ? [e.before] : []));
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p, i) => i === 0 || p > progress[i - 1]!)).toBe(true);
  });

  test('a stream that breaks mid-bucket resumes there; what it is sent again is dropped; buckets flushed while away come as history', async () => {
    const f = await follow(release, reports(START + 30 * INTERVAL), T0, (server) => server.breakStreamsAfter.push(137, 55));
    await until(() => f.events.filter((e) => e.type === 'connected').length === 3 && f.records.length >= 390, 'two breaks and the history');
    // Away: two buckets flushed to no one.
    f.server.failure = { code: grpc.status.UNAVAILABLE, details: 'restarting' };
    f.server.endStreams();
    await until(() => f.events.some((e) => e.type === 'disconnected' && e.reason.includes('injected stream end')), 'the end');
    f.server.rollover();
    f.server.rollover();
    f.server.failure = null;
    await until(() => f.server.openStreams === 1 && f.records.length === 410, 'the reconnection');
    // Then live again.
    f.server.rollover();
    await until(() => f.records.length === 420, 'a live bucket');
    expect(seen(f.records)).toEqual(expected(T0, START + 15));
    const froms = connections(f.events);
    // Each reconnection asks from where the last one left off: never later than a flow it may have missed.
    expect(froms[0]).toBe(T0);
    expect(froms.every((from, i) => i === 0 || from >= froms[i - 1]!)).toBe(true);
    expect(f.events.filter((e) => e.type === 'disconnected').map((e) => (e as { reason: string }).reason)).toContain(
      'UNAVAILABLE: injected stream break',
    );
  });

  test('the registration race: the streaming bucket arrives live before the history and again after it, once in the records', async () => {
    const f = await follow(release, reports(START + 10 * INTERVAL), T0, (server) => {
      server.streamRace = true;
    });
    // The race moved time on by one bucket: history to START (excluded), START - 15 twice.
    await until(() => f.records.length === 400, 'the history');
    f.server.rollover();
    await until(() => f.records.length === 410, 'the next bucket');
    expect(seen(f.records)).toEqual(expected(T0, START));
    expect(f.server.streamCalls).toHaveLength(1);
  });

  test('the race and a break during the history after the early bucket: nothing lost, nothing twice', async () => {
    // Up to 3.31 the early bucket is interleaved flow by flow with the history; from 3.32 it comes first, whole.
    const f = await follow(release, reports(START + 10 * INTERVAL), T0, (server) => {
      server.streamRace = true;
      server.breakStreamsAfter.push(contractOf(release) === 'v3.30-v3.31' ? 40 : 25);
    });
    await until(() => f.records.length === 400, 'the history');
    f.server.rollover();
    await until(() => f.records.length === 410, 'the next bucket');
    expect(seen(f.records)).toEqual(expected(T0, START));
    // It resumed where the history was, not at the early bucket.
    expect(connections(f.events)[1]).toBeLessThan(START - INTERVAL);
  });

  test('away for longer than Goldmane keeps: the lost span is reported and the stream resumes within what it holds', async () => {
    const f = await follow(release, reports(START + 300 * INTERVAL), T0);
    await until(() => f.records.length === 390, 'the history');
    f.server.failure = { code: grpc.status.UNAVAILABLE, details: 'down' };
    f.server.endStreams();
    await until(() => f.events.some((e) => e.type === 'disconnected'), 'the end');
    // 70 minutes pass; attempts keep failing (two after the time moved on, so that none made before is in flight).
    for (let i = 0; i < 280; i++) f.server.rollover();
    const failed = f.events.filter((e) => e.type === 'disconnected').length;
    await until(() => f.events.filter((e) => e.type === 'disconnected').length >= failed + 2, 'attempts after the outage');
    f.server.failure = null;
    await until(() => f.server.openStreams === 1, 'the reconnection');
    const lost = f.events.filter((e) => e.type === 'lost');
    expect(lost).toHaveLength(1);
    const now = f.server.now();
    const from = connections(f.events).at(-1)!;
    // Lost from the resume point on: the last bucket of history older than `recent` (the newer
    // ones had arrived, but were not yet certain to be complete), so it says a little too much.
    expect(lost[0]).toEqual({ type: 'lost', from: bucketOf(START - CLOCK_SKEW_SECONDS) - 3 * INTERVAL, to: from });
    // Inside Goldmane's ring (oldest bucket: bucketOf(now) + 30 - 3630), so history does come.
    expect(from).toBeGreaterThanOrEqual(bucketOf(now) + 2 * INTERVAL - 242 * INTERVAL);
    expect(from).toBeLessThanOrEqual(now - HISTORY_SECONDS + CLOCK_SKEW_SECONDS + 2 * INTERVAL);
    await until(() => f.records.some((r) => r.startTime === from), 'history after the outage');
  });

  test('a start time of now: a little history, never one at or past the streaming bucket (which replays the whole ring)', async () => {
    const f = await follow(release, reports(START + 10 * INTERVAL), START);
    await until(() => f.server.streamCalls.length === 1 && f.events.some((e) => e.type === 'connected'), 'the connection');
    const gte = f.server.streamCalls[0]!.start_time_gte;
    expect(gte).toBeLessThan(bucketOf(START) - INTERVAL);
    expect(gte).toBe(bucketOf(START - CLOCK_SKEW_SECONDS) - INTERVAL);
  });

  test('a server that refuses our client certificate: the reason says so, and following goes on trying', async () => {
    const server = await GoldmaneTestServer.start({ release, now: () => START, flows: reports(START) });
    try {
      const source = await openGoldmaneSource(
        goldmaneConfig(server.address, { certFile: tlsFile('other-client.pem'), keyFile: tlsFile('other-client-key.pem') }),
        { backoffMs: 5, maxBackoffMs: 20 },
      );
      const stop = new AbortController();
      const events: FollowEvent[] = [];
      const done = source.follow({
        since: T0,
        signal: stop.signal,
        now: () => START,
        onRecord: () => undefined,
        onEvent: (e) => events.push(e),
      });
      await until(() => events.filter((e) => e.type === 'disconnected').length >= 2, 'two failures');
      stop.abort();
      await done;
      expect((events.find((e) => e.type === 'disconnected') as { reason: string }).reason).toMatch(
        /^UNAVAILABLE: .*it does not accept the client certificate \(certFile, keyFile\)\)$/,
      );
      expect(server.streamCalls).toHaveLength(0);
    } finally {
      server.forceClose();
    }
  });

  test('an error thrown by onRecord ends following with that error, and the stream', async () => {
    const server = await GoldmaneTestServer.start({ release, now: () => START, flows: reports(START) });
    try {
      const source = await openGoldmaneSource(goldmaneConfig(server.address));
      const boom = new Error('sink failed');
      await expect(
        source.follow({
          since: T0,
          signal: new AbortController().signal,
          now: () => START,
          onRecord: () => {
            throw boom;
          },
        }),
      ).rejects.toBe(boom);
      await until(() => server.openStreams === 0, 'the stream to close');
      expect(server.streamCalls).toHaveLength(1);
    } finally {
      server.forceClose();
    }
  });

  test('connection failures are retried; abort ends following and the stream', async () => {
    const f = await follow(release, reports(START), T0, (server) => server.failNext(3));
    await until(() => f.records.length === 390, 'the history');
    expect(f.events.filter((e) => e.type === 'disconnected')).toHaveLength(3);
    // The server is reachable and takes our certificate: the TLS check adds nothing.
    expect(
      f.events.filter((e) => e.type === 'disconnected').every((e) => (e as { reason: string }).reason === 'UNAVAILABLE: injected fault'),
    ).toBe(true);
    f.stop.abort();
    await f.done;
    await until(() => f.server.openStreams === 0, 'the stream to close');
  });
});

describe('the test server streams as Goldmane does', () => {
  test.each(RELEASES.filter((r) => r === '3.31' || r === 'main'))(
    '%s: a start time at or past the streaming bucket wraps around the ring',
    async (release) => {
      const server = await GoldmaneTestServer.start({
        release: release as Release,
        now: () => START,
        flows: reports(START + 2 * INTERVAL),
      });
      const Client = flowsClientConstructor();
      const client = new Client(
        server.address,
        grpc.credentials.createSsl(
          readFileSync(tlsFile('ca.pem')),
          readFileSync(tlsFile('client-key.pem')),
          readFileSync(tlsFile('client.pem')),
        ),
        {
          'grpc.ssl_target_name_override': 'localhost',
        },
      );
      try {
        const call = (client as unknown as { Stream(r: object): grpc.ClientReadableStream<Buffer> }).Stream({ start_time_gte: START });
        call.on('error', () => undefined);
        const buckets = new Set<number>();
        call.on('data', (bytes: Buffer) => buckets.add(Number(flowsCodec().decodeFlowResult(bytes).flow!.start_time)));
        await until(() => buckets.size >= 39, 'the history');
        await new Promise((resolve) => setTimeout(resolve, 50));
        call.cancel();
        // The filling bucket (START) and the head (START + 15) are sent only up to 3.31 (3.32 skips buckets not `ready`).
        const unfinished = contractOf(release as Release) === 'v3.30-v3.31' ? [START, START + 15] : [];
        expect([...buckets].sort()).toEqual([...expected(T0, START - 30, 1).map((e) => Number(e.split(' ')[1])), ...unfinished]);
      } finally {
        client.close();
        server.forceClose();
      }
    },
  );
});

describe('where a stream resumes (pure)', () => {
  const NOW = 1_795_003_605;
  const recent = bucketOf(NOW - CLOCK_SKEW_SECONDS) - 2 * INTERVAL;

  test('history older than `recent` moves the resume point bucket by bucket; newer buckets wait for one past `settle`', () => {
    const r = new StreamResume(NOW - 900);
    expect(r.connect(NOW)).toEqual({ startTimeGte: bucketOf(NOW - 900), lost: null });
    expect(r.accept(bucketOf(NOW - 900), 'a')).toBe(true);
    expect(r.accept(bucketOf(NOW - 600), 'a')).toBe(true);
    expect(r.resumeFrom).toBe(bucketOf(NOW - 600));
    // From `recent` on (it may be the race's early bucket): held.
    expect(r.accept(recent, 'a')).toBe(true);
    expect(r.accept(recent + 60, 'a')).toBe(true);
    expect(r.resumeFrom).toBe(bucketOf(NOW - 600));
    // A bucket no history of this connection reaches: settled, in order from here.
    const settle = bucketOf(NOW + CLOCK_SKEW_SECONDS) + INTERVAL;
    expect(r.accept(settle, 'a')).toBe(true);
    expect(r.resumeFrom).toBe(settle);
    expect(r.accept(settle + 15, 'b')).toBe(true);
    expect(r.resumeFrom).toBe(settle + 15);
    expect(r.bucketsRemembered).toBe(1);
  });

  test('a flow seen before is dropped, in the resume bucket and in the held ones', () => {
    const r = new StreamResume(NOW - 900);
    r.connect(NOW);
    r.accept(bucketOf(NOW - 600), 'a');
    r.accept(recent + 15, 'a');
    r.connect(NOW + 5);
    expect(r.accept(bucketOf(NOW - 600), 'a')).toBe(false);
    expect(r.accept(bucketOf(NOW - 600), 'b')).toBe(true);
    expect(r.accept(recent + 15, 'a')).toBe(false);
    expect(r.duplicates).toBe(2);
  });

  test('a start time Goldmane no longer holds is moved into its history, and the span lost is said', () => {
    const r = new StreamResume(NOW - 7200);
    const c = r.connect(NOW);
    const oldest = Math.ceil((NOW - HISTORY_SECONDS + CLOCK_SKEW_SECONDS + INTERVAL) / INTERVAL) * INTERVAL;
    expect(c).toEqual({ startTimeGte: oldest, lost: { from: bucketOf(NOW - 7200), to: oldest } });
    expect(r.resumeFrom).toBe(oldest);
  });

  test('a start time in the last two minutes (or the future) is moved back before the streaming bucket', () => {
    for (const since of [NOW, NOW - 60, NOW + 600]) {
      const r = new StreamResume(since);
      expect(r.connect(NOW).startTimeGte).toBe(bucketOf(NOW - CLOCK_SKEW_SECONDS) - INTERVAL);
    }
    // Not once a flow came from there: a bucket flows came from is before the streaming bucket.
    const r = new StreamResume(NOW - 600);
    r.connect(NOW);
    const settle = bucketOf(NOW + CLOCK_SKEW_SECONDS) + INTERVAL;
    r.accept(settle, 'a');
    expect(r.connect(settle + 20).startTimeGte).toBe(settle);
  });
});
