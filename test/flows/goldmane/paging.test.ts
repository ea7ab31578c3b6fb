// Reading a window from List neither loses nor repeats a flow, against a test server that orders
// List as Goldmane does (goldmane/pkg/storage/ring_index.go RingIndex.List, release-v3.30 to
// master: one flow per FlowKey over the window, sorted by start time only, with sort.Slice over a
// list built from a Go map, so flows with equal start times come in a new order on every call;
// the test server shuffles them anew per call, from a seed, so every run is the same).

import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import type { FlowRecord } from '../../../src/flows/record.ts';
import { FlowSourceError } from '../../../src/flows/source.ts';
import { type GoldmaneSourceOptions, openGoldmaneSource } from '../../../src/flows/sources/goldmane/goldmane-source.ts';
import { alignedWindow, cut } from '../../../src/flows/sources/goldmane/list-window.ts';
import { flowsClientConstructor, type ListPage } from '../../../src/flows/sources/goldmane/wire.ts';
import {
  ACTION,
  ENDPOINT,
  GoldmaneTestServer,
  goldmaneConfig,
  REPORTER,
  type TestFlow,
  type TestFlowKey,
  tlsFile,
} from '../../support/goldmane-server.ts';

/** A bucket start; the server holds the hour before NOW. */
const T0 = 1_795_000_005;
const NOW = T0 + 3600;
const WINDOW = { from: T0, to: T0 + 1800 };

const keyOf = (i: number): TestFlowKey => ({
  source_name: `app-${i}-*`,
  source_namespace: 'shop',
  source_type: ENDPOINT.wep,
  dest_name: 'db-*',
  dest_namespace: 'shop',
  dest_type: ENDPOINT.wep,
  dest_port: 5432,
  proto: 'tcp',
  reporter: REPORTER.src,
  action: ACTION.allow,
});

/** Felix's report for key `i` in the bucket starting at `bucket`. */
const report = (key: TestFlowKey, bucket: number, connections: number): TestFlow => ({
  Key: key,
  start_time: bucket + 1,
  end_time: bucket + 16,
  source_labels: ['app=web'],
  num_connections_started: connections,
});

let server: GoldmaneTestServer;
beforeAll(async () => {
  server = await GoldmaneTestServer.start({ now: () => NOW, seed: 11 });
});
afterAll(() => {
  server.forceClose();
});
afterEach(() => {
  server.setFlows([]);
  server.calls.length = 0;
  server.onList = null;
});

async function read(options: GoldmaneSourceOptions, window = WINDOW): Promise<FlowRecord[]> {
  const source = await openGoldmaneSource(goldmaneConfig(server.address), options);
  const records: FlowRecord[] = [];
  await source.read(window, (r) => records.push(r));
  expect(source.skipped.total).toBe(0);
  return records;
}

/** A bare List client, to see what the server answers. */
function lister(): { list(request: object): Promise<ListPage>; close(): void } {
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
  return {
    list: (request) =>
      new Promise((resolve, reject) =>
        (client as unknown as { List(r: object, cb: (e: Error | null, v?: ListPage) => void): void }).List(request, (e, v) =>
          e ? reject(e) : resolve(v!),
        ),
      ),
    close: () => client.close(),
  };
}

/**
 * Every key's connections, summed over the records, against what Felix reported in the window;
 * and every key's records cover disjoint time spans inside the window: nothing lost, nothing twice.
 */
function expectExactlyOnce(records: readonly FlowRecord[], reports: readonly TestFlow[], window = WINDOW): void {
  const { from, to } = alignedWindow(window);
  const expected = new Map<string, number>();
  for (const r of reports) {
    const bucket = Math.floor(r.start_time! / 15) * 15;
    if (bucket >= from && bucket < to)
      expected.set(r.Key!.source_name!, (expected.get(r.Key!.source_name!) ?? 0) + r.num_connections_started!);
  }
  const read = new Map<string, number>();
  const spans = new Map<string, [number, number][]>();
  for (const r of records) {
    read.set(r.source.name, (read.get(r.source.name) ?? 0) + r.numFlows);
    spans.set(r.source.name, [...(spans.get(r.source.name) ?? []), [r.startTime, r.endTime]]);
    expect(r.startTime).toBeGreaterThanOrEqual(from);
    expect(r.endTime).toBeLessThanOrEqual(to);
  }
  expect(new Map([...read].sort())).toEqual(new Map([...expected].sort()));
  for (const list of spans.values()) {
    const sorted = [...list].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]![0]).toBeGreaterThanOrEqual(sorted[i - 1]![1]);
  }
}

describe('the test server orders List as Goldmane does', () => {
  test('newest start first; equal start times in a new order on every call, the same for the same seed', async () => {
    const key = (i: number): TestFlowKey => keyOf(i);
    // 50 keys starting in the first bucket, 50 in the second: two groups of ties.
    server.setFlows(Array.from({ length: 100 }, (_, i) => report(key(i), T0 + (i < 50 ? 0 : 15), 1)));
    const { list, close } = lister();
    const { decodeFlowResult } = (await import('../../../src/flows/sources/goldmane/wire.ts')).flowsCodec();
    const order = async (): Promise<{ names: string[]; starts: number[] }> => {
      const page = await list({ start_time_gte: T0, start_time_lt: T0 + 30, page: 0, page_size: 0 });
      const flows = page.flows.map((b) => decodeFlowResult(b).flow!);
      return { names: flows.map((f) => f.Key!.source_name), starts: flows.map((f) => Number(f.start_time)) };
    };
    try {
      const first = await order();
      const second = await order();
      expect(first.starts).toEqual([...Array<number>(50).fill(T0 + 15), ...Array<number>(50).fill(T0)]);
      expect(second.starts).toEqual(first.starts);
      expect(first.names).not.toEqual(second.names);
      expect(new Set(first.names)).toEqual(new Set(second.names));
      // Another server with the same seed and flows answers the same orders.
      const twin = await GoldmaneTestServer.start({
        now: () => NOW,
        seed: 11,
        flows: Array.from({ length: 100 }, (_, i) => report(key(i), T0 + (i < 50 ? 0 : 15), 1)),
      });
      try {
        const Client = flowsClientConstructor();
        const client = new Client(
          twin.address,
          grpc.credentials.createSsl(
            readFileSync(tlsFile('ca.pem')),
            readFileSync(tlsFile('client-key.pem')),
            readFileSync(tlsFile('client.pem')),
          ),
          {
            'grpc.ssl_target_name_override': 'localhost',
          },
        );
        const page = await new Promise<ListPage>((resolve, reject) =>
          (client as unknown as { List(r: object, cb: (e: Error | null, v?: ListPage) => void): void }).List(
            { start_time_gte: T0, start_time_lt: T0 + 30, page: 0, page_size: 0 },
            (e, v) => (e ? reject(e) : resolve(v!)),
          ),
        );
        client.close();
        expect(page.flows.map((b) => decodeFlowResult(b).flow!.Key!.source_name)).toEqual(first.names);
      } finally {
        twin.forceClose();
      }
    } finally {
      close();
    }
  });

  test('so walking pages loses flows and repeats others (what a pager would read)', async () => {
    // 200 long-lived keys: each in every bucket of the window, so every one starts with the window.
    const reports = Array.from({ length: 200 }, (_, i) => Array.from({ length: 10 }, (_, b) => report(keyOf(i), T0 + 15 * b, 1))).flat();
    server.setFlows(reports);
    const { list, close } = lister();
    const { decodeFlowResult } = (await import('../../../src/flows/sources/goldmane/wire.ts')).flowsCodec();
    try {
      const seen: string[] = [];
      for (let page = 0; page < 20; page++) {
        const reply = await list({ start_time_gte: T0, start_time_lt: T0 + 150, page, page_size: 10 });
        expect(reply.meta).toEqual({ totalPages: 20, totalResults: 200 });
        seen.push(...reply.flows.map((b) => decodeFlowResult(b).flow!.Key!.source_name));
      }
      expect(seen).toHaveLength(200);
      const distinct = new Set(seen).size;
      expect(distinct).toBeLessThan(200); // lost
      expect(seen.length - distinct).toBeGreaterThan(0); // repeated
    } finally {
      close();
    }
  });
});

describe('our reader reads every flow exactly once', () => {
  test('many keys sharing start times, more than one call takes: the window is cut, each slice read whole', async () => {
    // 300 long-lived keys (every bucket of the first 10 minutes) and 1200 short ones (one bucket each, spread over 30).
    const reports = [
      ...Array.from({ length: 300 }, (_, i) => Array.from({ length: 40 }, (_, b) => report(keyOf(i), T0 + 15 * b, 1 + (b % 3)))).flat(),
      ...Array.from({ length: 1200 }, (_, i) => report(keyOf(300 + i), T0 + 15 * (i % 120), 2)),
    ];
    server.setFlows(reports);
    const records = await read({ maxFlowsPerCall: 200 });
    expectExactlyOnce(records, reports);
    // Only page 0, of maxFlowsPerCall, of one (a count) or of all (page_size 0).
    expect(server.calls.every((c) => c.page === 0 && [200, 1, 0].includes(c.page_size))).toBe(true);
    expect(server.calls.filter((c) => c.page_size === 0).length).toBeGreaterThan(1);
  });

  test('more flows than one call takes in one bucket: that bucket is read whole', async () => {
    const reports = Array.from({ length: 500 }, (_, i) => report(keyOf(i), T0 + 600, 1));
    server.setFlows(reports);
    const records = await read({ maxFlowsPerCall: 100 });
    expectExactlyOnce(records, reports);
    const whole = server.calls.filter((c) => c.page_size === 0);
    expect(whole.map((c) => [c.start_time_lt - c.start_time_gte])).toEqual([[15]]);
  });

  test('only long-lived flows: cutting would repeat them, so the window is read whole', async () => {
    const reports = Array.from({ length: 300 }, (_, i) => Array.from({ length: 120 }, (_, b) => report(keyOf(i), T0 + 15 * b, 1))).flat();
    server.setFlows(reports);
    const records = await read({ maxFlowsPerCall: 100 });
    expect(records).toHaveLength(300);
    expectExactlyOnce(records, reports);
    expect(server.calls.filter((c) => c.page_size === 0).map((c) => [c.start_time_gte, c.start_time_lt])).toEqual([[T0, T0 + 1800]]);
  });

  test('a reply over maxReplyBytes fails (RESOURCE_EXHAUSTED) and its slice is cut after all; one interval over it fails the read, saying why', async () => {
    const reports = Array.from({ length: 60 }, (_, i) => Array.from({ length: 4 }, (_, b) => report(keyOf(i), T0 + 15 * b, 1))).flat();
    server.setFlows(reports);
    // 60 keys in the window's first 4 buckets, each in all 4: too long-lived to cut, read whole.
    const source = await openGoldmaneSource(goldmaneConfig(server.address), { maxFlowsPerCall: 10, maxReplyBytes: 2048 });
    const error = await source
      .read(WINDOW, () => undefined)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(FlowSourceError);
    expect((error as Error).message).toMatch(
      /List failed: RESOURCE_EXHAUSTED: .*\(one 15-second interval of flows is larger than maxReplyBytes, 2048 bytes\)$/,
    );
    // The window's first sixth (20 intervals, which the counts show holds them all), read whole,
    // is over 2 KiB; so are its halves down to a single interval (60 flows of about 70 bytes).
    expect(server.calls.filter((c) => c.page_size === 0).map((c) => (c.start_time_lt - c.start_time_gte) / 15)).toEqual([
      20, 10, 5, 3, 2, 1,
    ]);
    server.calls.length = 0;
    const records = await read({ maxFlowsPerCall: 10, maxReplyBytes: 8 * 1024 });
    expectExactlyOnce(records, reports);
  });

  test('property: any mix of keys, buckets, seeds and call sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            first: fc.integer({ min: -10, max: 125 }),
            length: fc.integer({ min: 1, max: 130 }),
            connections: fc.integer({ min: 1, max: 5 }),
          }),
          { minLength: 1, maxLength: 120 },
        ),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 14 }),
        async (keys, maxFlowsPerCall, fromOffset, toOffset) => {
          const reports = keys.flatMap((k, i) =>
            Array.from({ length: k.length }, (_, b) => report(keyOf(i), T0 + 15 * (k.first + b), k.connections)),
          );
          server.setFlows(reports);
          server.calls.length = 0;
          const window = { from: T0 + fromOffset, to: T0 + 1800 - toOffset };
          const records = await read({ maxFlowsPerCall }, window);
          expectExactlyOnce(records, reports, window);
        },
      ),
      { numRuns: 25, seed: 2026 },
    );
  });
});

test('windows are widened to whole intervals and cut along them', () => {
  expect(alignedWindow({ from: T0 + 7, to: T0 + 1793 })).toEqual({ from: T0, to: T0 + 1800 });
  expect(alignedWindow({ from: T0, to: T0 })).toEqual({ from: T0, to: T0 + 15 });
  expect(cut({ from: T0, to: T0 + 105 }, 3)).toEqual([
    { from: T0, to: T0 + 30 },
    { from: T0 + 30, to: T0 + 75 },
    { from: T0 + 75, to: T0 + 105 },
  ]);
  expect(cut({ from: T0, to: T0 + 30 }, 5)).toEqual([
    { from: T0, to: T0 + 15 },
    { from: T0 + 15, to: T0 + 30 },
  ]);
});
