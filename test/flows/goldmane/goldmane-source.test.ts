import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import type { FlowRecord } from '../../../src/flows/record.ts';
import { FlowSourceError, type TimeWindow } from '../../../src/flows/source.ts';
import {
  type GoldmaneFlowSource,
  type GoldmaneSourceOptions,
  openGoldmaneSource,
} from '../../../src/flows/sources/goldmane/goldmane-source.ts';
import {
  ACTION,
  ENDPOINT,
  Encoder,
  encodeFlowResult,
  GoldmaneTestServer,
  goldmaneConfig,
  KIND,
  REPORTER,
  type TestFlow,
  tlsFile,
} from '../../support/goldmane-server.ts';

const run = promisify(execFile);
/** A bucket start (a multiple of 15 s). */
const T0 = 1_795_000_005;
const WINDOW: TimeWindow = { from: T0, to: T0 + 3600 };
/** The test server's "now": it holds [T0, T0 + 3630). */
const NOW = T0 + 3600;
/** Fast retries for tests. */
const FAST: GoldmaneSourceOptions = { retries: 2, backoffMs: 5 };

/** A valid flow from workload `app-<i>-*` in `shop` to `db`, starting at `start` (by default in bucket i). */
function testFlow(i: number, start = T0 + 15 * i + 3): TestFlow {
  return {
    Key: {
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
      policies: {
        enforced_policies: [{ kind: KIND.Profile, name: 'kns.shop', action: ACTION.allow }],
        pending_policies: [{ kind: KIND.Profile, name: 'kns.shop', action: ACTION.allow }],
      },
    },
    start_time: start,
    end_time: start + 15,
    source_labels: ['app=web'],
    dest_labels: ['app=db'],
    num_connections_started: 1,
  };
}

let server: GoldmaneTestServer;
beforeAll(async () => {
  server = await GoldmaneTestServer.start({ now: () => NOW });
});
afterAll(async () => {
  server.forceClose();
});
afterEach(() => {
  server.setFlows([]);
  server.calls.length = 0;
  server.callCount = 0;
  server.delayMs = 0;
  server.failure = null;
  server.onList = null;
  server.totalPagesOverride = null;
  server.omitMeta = false;
  server.rawListReply = null;
});

async function readAll(source: GoldmaneFlowSource, window = WINDOW): Promise<FlowRecord[]> {
  const records: FlowRecord[] = [];
  await source.read(window, (r) => records.push(r));
  return records;
}

async function failure(promise: Promise<unknown>): Promise<FlowSourceError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FlowSourceError);
  return error as FlowSourceError;
}

describe('opening', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'goldmane-tls-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a missing file is named, with the field it was given as', async () => {
    const error = await failure(openGoldmaneSource(goldmaneConfig('127.0.0.1:1', { caFile: join(dir, 'nope.pem') })));
    expect(error.message).toBe(`cannot read goldmane caFile ${join(dir, 'nope.pem')}: no such file`);
  });

  test('a directory, or a file that holds no PEM, is refused', async () => {
    expect((await failure(openGoldmaneSource(goldmaneConfig('127.0.0.1:1', { certFile: dir })))).message).toBe(
      `cannot read goldmane certFile ${dir}: is a directory`,
    );
    const notes = join(dir, 'notes.txt');
    await writeFile(notes, 'secret-looking contents that must not be echoed\n');
    const error = await failure(openGoldmaneSource(goldmaneConfig('127.0.0.1:1', { keyFile: notes })));
    expect(error.message).toBe(`goldmane keyFile ${notes} holds no PEM private key`);
    // A certificate where the key belongs.
    expect((await failure(openGoldmaneSource(goldmaneConfig('127.0.0.1:1', { keyFile: tlsFile('client.pem') })))).message).toContain(
      'holds no PEM private key',
    );
  });

  test('a key that does not belong to the certificate fails at open, without file contents in the message', async () => {
    const error = await failure(openGoldmaneSource(goldmaneConfig('127.0.0.1:1', { keyFile: tlsFile('other-client-key.pem') })));
    expect(error.message).toMatch(/^goldmane TLS files \(caFile, certFile, keyFile\) are not usable together: .*key values mismatch/);
    expect(error.message).not.toContain('BEGIN');
  });

  test('description and retention; no connection is made before read', async () => {
    const source = await openGoldmaneSource(goldmaneConfig(server.address));
    expect(source.description).toBe(`goldmane at ${server.address}`);
    expect(source.description).not.toMatch(/pem|key/i);
    expect(source.retention).toBe(3600);
    // Goldmane is open-source Calico's flow API: no domain rules can be learned or written from it.
    expect(source.calicoEdition).toBe('open-source');
    expect(source.inputsRead).toBe(0);
    expect(server.callCount).toBe(0);
  });

  test('options are checked', async () => {
    await expect(openGoldmaneSource(goldmaneConfig(server.address), { maxFlowsPerCall: 0 })).rejects.toThrow(RangeError);
    await expect(openGoldmaneSource(goldmaneConfig(server.address), { maxReplyBytes: 10 })).rejects.toThrow(RangeError);
    await expect(openGoldmaneSource(goldmaneConfig(server.address), { retries: -1 })).rejects.toThrow(RangeError);
  });
});

describe('reading', () => {
  test('a window that fits one reply: one call, whole intervals, page 0 of maxFlowsPerCall; flows as Goldmane aggregates them', async () => {
    const flows = Array.from({ length: 25 }, (_, i) => testFlow(i));
    server.setFlows(flows);
    const source = await openGoldmaneSource(goldmaneConfig(server.address), { maxFlowsPerCall: 25 });
    const records = await readAll(source);
    // ring_index.go: newest start first; every flow's times are its bucket's.
    expect(records.map((r) => r.source.name)).toEqual(flows.map((f) => f.Key!.source_name).reverse());
    expect(records.map((r) => [r.startTime, r.endTime])).toEqual(flows.map((_, i) => [T0 + 15 * i, T0 + 15 * i + 15]).reverse());
    expect(server.calls.map((c) => [c.start_time_gte, c.start_time_lt, c.page, c.page_size, c.sort_by, c.filter])).toEqual([
      [T0, T0 + 3600, 0, 25, [], null],
    ]);
    expect(source.inputsRead).toBe(25);
    expect(source.skipped.total).toBe(0);
  });

  test('one FlowKey in many buckets is one flow: counters add up, labels intersect, first to last bucket', async () => {
    const key = testFlow(0).Key!;
    server.setFlows([
      {
        Key: key,
        start_time: T0 + 20,
        end_time: T0 + 35,
        source_labels: ['app=web', 'version=v1'],
        dest_labels: ['app=db'],
        num_connections_started: 2,
      },
      {
        Key: key,
        start_time: T0 + 22,
        end_time: T0 + 37,
        source_labels: ['app=web', 'version=v2'],
        dest_labels: ['app=db'],
        num_connections_started: 3,
      },
      {
        Key: key,
        start_time: T0 + 600,
        end_time: T0 + 615,
        source_labels: ['version=v1', 'app=web'],
        dest_labels: ['app=db'],
        num_connections_started: 4,
      },
    ]);
    const records = await readAll(await openGoldmaneSource(goldmaneConfig(server.address)));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      startTime: T0 + 15,
      endTime: T0 + 615,
      numFlows: 9,
      source: { labels: ['app=web'] },
      dest: { labels: ['app=db'] },
    });
  });

  test('an empty window takes one call', async () => {
    const source = await openGoldmaneSource(goldmaneConfig(server.address));
    expect(await readAll(source)).toEqual([]);
    expect(server.calls).toHaveLength(1);
  });

  test('the window goes to the server widened to whole 15-second intervals, so no interval is cut', async () => {
    // Buckets: T0 - 15 (outside), T0, T0 + 90, T0 + 3585 (the last one inside), T0 + 3600 (outside).
    const starts = [T0 - 1, T0, T0 + 100, WINDOW.to - 1, WINDOW.to];
    server.setFlows(starts.map((s, i) => testFlow(i, s)));
    const source = await openGoldmaneSource(goldmaneConfig(server.address));
    expect((await readAll(source)).map((r) => r.startTime)).toEqual([T0 + 3585, T0 + 90, T0]);
    server.calls.length = 0;
    // [T0 + 7, T0 + 3593) becomes [T0, T0 + 3600).
    expect((await readAll(source, { from: T0 + 7, to: WINDOW.to - 7 })).map((r) => r.startTime)).toEqual([T0 + 3585, T0 + 90, T0]);
    expect(server.calls.map((c) => [c.start_time_gte, c.start_time_lt])).toEqual([[T0, T0 + 3600]]);
  });

  test('every read opens and closes its own connection: a source can be read twice', async () => {
    server.setFlows([testFlow(1)]);
    const source = await openGoldmaneSource(goldmaneConfig(server.address));
    expect(await readAll(source)).toHaveLength(1);
    expect(await readAll(source)).toHaveLength(1);
    expect(source.inputsRead).toBe(2);
  });

  test('serverName overrides the name checked in the server certificate', async () => {
    server.setFlows([testFlow(1)]);
    const ok = await openGoldmaneSource(goldmaneConfig(server.address, { serverName: 'goldmane.test' }));
    expect(await readAll(ok)).toHaveLength(1);
    const wrong = await openGoldmaneSource(goldmaneConfig(server.address, { serverName: 'goldmane.example' }), { retries: 0 });
    const error = await failure(readAll(wrong));
    expect(error.message).toContain('UNAVAILABLE');
    expect(error.message).toContain('the server certificate does not name the server (set serverName to a name it carries)');
  });

  test('totalPages is not trusted; without metadata, a full reply counts as incomplete and the window is cut', async () => {
    server.setFlows(Array.from({ length: 5 }, (_, i) => testFlow(i)));
    server.totalPagesOverride = 1_000_000_000;
    expect(await readAll(await openGoldmaneSource(goldmaneConfig(server.address), { maxFlowsPerCall: 5 }))).toHaveLength(5);
    expect(server.calls).toHaveLength(1);
    server.totalPagesOverride = null;
    server.omitMeta = true;
    server.calls.length = 0;
    const records = await readAll(await openGoldmaneSource(goldmaneConfig(server.address), { maxFlowsPerCall: 2 }));
    expect(records.map((r) => r.source.name).sort()).toEqual(['app-0-*', 'app-1-*', 'app-2-*', 'app-3-*', 'app-4-*']);
    expect(server.calls.length).toBeGreaterThan(1);
    expect(server.calls.every((c) => c.page === 0)).toBe(true);
  });

  test('an exception from the sink propagates as is', async () => {
    server.setFlows(Array.from({ length: 6 }, (_, i) => testFlow(i)));
    const source = await openGoldmaneSource(goldmaneConfig(server.address), { maxFlowsPerCall: 2 });
    const boom = new Error('sink failed');
    await expect(
      source.read(WINDOW, () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });
});

describe('mutual TLS', () => {
  test('a client certificate from another CA is rejected, and the error says so', async () => {
    server.setFlows([testFlow(1)]);
    const source = await openGoldmaneSource(
      goldmaneConfig(server.address, { certFile: tlsFile('other-client.pem'), keyFile: tlsFile('other-client-key.pem') }),
      FAST,
    );
    const error = await failure(readAll(source));
    expect(error.message).toMatch(
      new RegExp(`^goldmane at ${server.address.replaceAll('.', '\\.')}: List failed after 3 attempts: UNAVAILABLE: `),
    );
    expect(error.message).toContain('it does not accept the client certificate (certFile, keyFile)');
    expect(server.calls).toHaveLength(0); // never got past TLS
  });

  test('a server certificate the caFile does not vouch for is refused', async () => {
    const source = await openGoldmaneSource(goldmaneConfig(server.address, { caFile: tlsFile('other-ca.pem') }), { retries: 0 });
    const error = await failure(readAll(source));
    expect(error.message).toContain('UNAVAILABLE');
    expect(error.message).toContain('the server certificate is not signed by the CA in caFile');
    expect(server.calls).toHaveLength(0);
  });

  test('nothing listening', async () => {
    const closed = await GoldmaneTestServer.start();
    const address = closed.address;
    await closed.close();
    const source = await openGoldmaneSource(goldmaneConfig(address), { retries: 0 });
    expect((await failure(readAll(source))).message).toContain('connection refused (is Goldmane running at this address?)');
  });
});

describe('retries and deadlines', () => {
  test("the next slice's call fails while a reply is converted: the read fails with it, nothing goes unhandled", async () => {
    // In its own Node process: Jest's sandbox does not see process-level unhandled rejections,
    // and in plain Node one would end the process.
    const support = new URL('../../support/goldmane-server.ts', import.meta.url).href;
    const sourceModule = new URL('../../../src/flows/sources/goldmane/goldmane-source.ts', import.meta.url).href;
    // 1500 flows in 200 buckets; at most 1000 a reply: the whole window (call 1) is cut in two
    // halves, counted (calls 2, 3), of 800 and 700 flows, read whole (calls 4, 5); the second
    // fails while the first is converted.
    const script = `
      import * as grpc from '@grpc/grpc-js';
      import { GoldmaneTestServer, goldmaneConfig } from '${support}';
      import { openGoldmaneSource } from '${sourceModule}';
      const unhandled = [];
      process.on('unhandledRejection', (r) => unhandled.push(String(r)));
      const t0 = 1500;
      const flow = (i) => ({ Key: { source_name: 'a-' + i + '-*', source_namespace: 'shop', source_type: 1, dest_name: 'db-*', dest_namespace: 'shop', dest_type: 1, dest_port: 5, proto: 'tcp', reporter: 1, action: 1 }, start_time: t0 + (i % 200) * 15, end_time: t0 + (i % 200) * 15 + 15 });
      const server = await GoldmaneTestServer.start({ flows: Array.from({ length: 1500 }, (_, i) => flow(i)), now: () => t0 + 3000 });
      server.onList = (_r, call) => (call === 5 ? { fault: { code: grpc.status.PERMISSION_DENIED, details: 'revoked' } } : undefined);
      const source = await openGoldmaneSource(goldmaneConfig(server.address, { serverName: 'localhost' }), { maxFlowsPerCall: 1000 });
      let seen = 0;
      const message = await source.read({ from: t0, to: t0 + 3000 }, () => seen++).then(() => 'no error', (e) => e.name + ': ' + e.message);
      await new Promise((r) => setTimeout(r, 100));
      server.forceClose();
      console.log(JSON.stringify({ message, seen, calls: server.calls.map((c) => [c.start_time_gte, c.start_time_lt, c.page_size]), unhandled }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('../../../', import.meta.url) });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      message: string;
      seen: number;
      calls: number[][];
      unhandled: string[];
    };
    expect(result.message).toMatch(/^FlowSourceError: .*List failed: PERMISSION_DENIED: revoked$/);
    expect(result.calls).toEqual([
      [1500, 4500, 1000],
      [1500, 3000, 1],
      [3000, 4500, 1],
      [1500, 3000, 0],
      [3000, 4500, 0],
    ]);
    expect(result.seen).toBe(800);
    expect(result.unhandled).toEqual([]);
  });

  test('a read that stops early ends the retries of the call in flight', async () => {
    // Two buckets of two flows; one call takes two: the window is cut in two.
    server.setFlows([testFlow(0), testFlow(1, T0 + 3), testFlow(2, T0 + 3000), testFlow(3, T0 + 3003)]);
    // Calls: the window, the two halves counted, the first half read (its first flow stops the
    // read), the second half read: failing, retried until the read stops.
    server.onList = (_request, call) => (call >= 5 ? { fault: { code: grpc.status.UNAVAILABLE, details: 'down' } } : undefined);
    const source = await openGoldmaneSource(goldmaneConfig(server.address), { retries: 5, backoffMs: 100, maxFlowsPerCall: 2 });
    await expect(
      source.read(WINDOW, () => {
        throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(server.calls.length).toBeLessThanOrEqual(6);
  });

  test('UNAVAILABLE is retried, then the read completes', async () => {
    server.setFlows(Array.from({ length: 5 }, (_, i) => testFlow(i)));
    server.failNext(2);
    const source = await openGoldmaneSource(goldmaneConfig(server.address), FAST);
    expect(await readAll(source)).toHaveLength(5);
    expect(server.calls).toHaveLength(3);
  });

  test('a failure in the middle of a cut window retries that call only', async () => {
    server.setFlows([testFlow(0), testFlow(1, T0 + 3), testFlow(2, T0 + 3000), testFlow(3, T0 + 3003)]);
    server.onList = (_request, call) =>
      call === 5 || call === 6 ? { fault: { code: grpc.status.UNAVAILABLE, details: 'restarting' } } : undefined;
    const source = await openGoldmaneSource(goldmaneConfig(server.address), { ...FAST, maxFlowsPerCall: 2 });
    const records = await readAll(source);
    expect(records.map((r) => r.source.name).sort()).toEqual(['app-0-*', 'app-1-*', 'app-2-*', 'app-3-*']);
    expect(server.calls.map((c) => [c.start_time_gte - T0, c.start_time_lt - T0, c.page_size])).toEqual([
      [0, 3600, 2],
      [0, 1800, 1],
      [1800, 3600, 1],
      [0, 1800, 0],
      [1800, 3600, 0],
      [1800, 3600, 0],
      [1800, 3600, 0],
    ]);
  });

  test('retries exhausted: a FlowSourceError with the status name, details and attempts', async () => {
    server.setFlows([testFlow(1)]);
    server.failure = { code: grpc.status.UNAVAILABLE, details: 'goldmane is restarting' };
    const source = await openGoldmaneSource(goldmaneConfig(server.address), FAST);
    const error = await failure(readAll(source));
    expect(error.message).toBe(`goldmane at ${server.address}: List failed after 3 attempts: UNAVAILABLE: goldmane is restarting`);
    expect(server.calls).toHaveLength(3);
  });

  test('backoff grows exponentially (with jitter in its upper half)', async () => {
    server.failure = { code: grpc.status.UNAVAILABLE, details: 'down' };
    const source = await openGoldmaneSource(goldmaneConfig(server.address), { retries: 3, backoffMs: 40 });
    const started = performance.now();
    await failure(readAll(source));
    const elapsed = performance.now() - started;
    // At least half of 40 + 80 + 160 ms; at most all of it plus the calls themselves.
    expect(elapsed).toBeGreaterThanOrEqual(140 - 5);
    expect(elapsed).toBeLessThan(280 + 2000);
  });

  test('other statuses are not retried', async () => {
    server.failure = { code: grpc.status.PERMISSION_DENIED, details: 'not allowed' };
    const source = await openGoldmaneSource(goldmaneConfig(server.address), FAST);
    expect((await failure(readAll(source))).message).toBe(`goldmane at ${server.address}: List failed: PERMISSION_DENIED: not allowed`);
    expect(server.calls).toHaveLength(1);
    server.failure = { code: grpc.status.INVALID_ARGUMENT, details: 'bad page_size' };
    expect((await failure(readAll(source))).message).toContain('INVALID_ARGUMENT: bad page_size');
  });

  test("a server's details are shown on one line and bounded", async () => {
    server.failure = { code: grpc.status.INTERNAL, details: `line one\nline two\r\n\u0007${'x'.repeat(2000)}` };
    const source = await openGoldmaneSource(goldmaneConfig(server.address), FAST);
    const message = (await failure(readAll(source))).message;
    expect(message).not.toMatch(/[\n\r\u0007]/);
    expect(message).toContain('INTERNAL: line one line two ');
    expect(message.length).toBeLessThan(700);
  });

  test('a deadline per call: a slow reply is DEADLINE_EXCEEDED, retried, then reported', async () => {
    server.setFlows([testFlow(1)]);
    server.delayMs = 20_000;
    const source = await openGoldmaneSource(goldmaneConfig(server.address, { timeout: 0.5 }), { retries: 1, backoffMs: 5 });
    const started = performance.now();
    const error = await failure(readAll(source));
    // Two attempts of 0.5 s, not the server's 20 s.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(error.message).toMatch(
      new RegExp(
        `^goldmane at ${server.address.replaceAll('.', '\\.')}: List failed after 2 attempts: DEADLINE_EXCEEDED: .*\\(deadline 0\\.5s per call\\)$`,
      ),
    );
    expect(server.calls).toHaveLength(2);
  });

  test('a deadline exceeded once, then a prompt reply, completes', async () => {
    server.setFlows([testFlow(1), testFlow(2)]);
    server.onList = (_request, call) => (call === 1 ? { delayMs: 20_000 } : undefined);
    const source = await openGoldmaneSource(goldmaneConfig(server.address, { timeout: 1 }), FAST);
    expect(await readAll(source)).toHaveLength(2);
    expect(server.calls).toHaveLength(2);
  });
});

describe('invalid flows are skipped and counted, never thrown', () => {
  test('hostile names, unknown enum values and a missing key, with their locations', async () => {
    const valid = (i: number) => testFlow(i);
    const withKey = (i: number, change: Partial<NonNullable<TestFlow['Key']>>): TestFlow => ({
      ...testFlow(i),
      Key: { ...testFlow(i).Key!, ...change },
    });
    // One bucket each; a reply lists the newest first.
    const flows: TestFlow[] = [
      valid(10),
      withKey(9, {
        policies: {
          enforced_policies: [{ kind: KIND.CalicoNetworkPolicy, namespace: 'shop', tier: 'security', name: 'x|y', action: ACTION.deny }],
        },
      }), // flow 2
      withKey(8, { policies: { enforced_policies: [{ kind: 0, tier: 't', name: 'p', action: ACTION.allow }] } }), // flow 3
      { ...valid(7), source_labels: ['app=web', 'bad label=x'] }, // flow 4
      withKey(6, { dest_name: 'evil"\n- action: Allow' }), // flow 5
      withKey(5, { reporter: 7 }),
      { ...valid(4), Key: undefined },
      withKey(3, { dest_type: 9 }),
      valid(2),
      withKey(1, { source_namespace: '../../etc' }),
      valid(0),
    ];
    server.setFlows(flows);
    const source = await openGoldmaneSource(goldmaneConfig(server.address));
    const records = await readAll(source);
    expect(records.map((r) => r.source.name)).toEqual(['app-10-*', 'app-2-*', 'app-0-*']);
    expect(source.inputsRead).toBe(11);
    const summary = source.skipped.summary();
    expect(summary.total).toBe(8);
    expect(summary.byReason).toEqual({
      'invalid dest_name': 1,
      'invalid dest_type': 1,
      'missing policy hit kind': 1,
      'invalid policy hit name': 1,
      'invalid reporter': 1,
      'invalid source_labels': 1,
      'invalid source_namespace': 1,
      'missing field Key': 1,
    });
    expect(summary.examples).toEqual([
      { location: 'goldmane reply 1 flow 2', reason: 'invalid policy hit name' },
      { location: 'goldmane reply 1 flow 3', reason: 'missing policy hit kind' },
      { location: 'goldmane reply 1 flow 4', reason: 'invalid source_labels' },
      { location: 'goldmane reply 1 flow 5', reason: 'invalid dest_name' },
      { location: 'goldmane reply 1 flow 6', reason: 'invalid reporter' },
    ]);
    expect(JSON.stringify(summary)).not.toMatch(/etc|evil|bad label|x\|y/);
  });

  test('a flow whose bytes are not a FlowResult is skipped; the rest of the page is read', async () => {
    const meta = new Encoder().int(1, 1).int(2, 3).finish();
    server.rawListReply = new Encoder()
      .bytes(1, meta)
      .bytes(2, encodeFlowResult(1, testFlow(1)))
      .bytes(2, Buffer.from([0x12, 0x7f, 0x01])) // a Flow field claiming 127 bytes it does not have
      .bytes(2, encodeFlowResult(3, testFlow(3)))
      .finish();
    const source = await openGoldmaneSource(goldmaneConfig(server.address));
    expect((await readAll(source)).map((r) => r.source.name)).toEqual(['app-1-*', 'app-3-*']);
    expect(source.skipped.summary().examples).toEqual([{ location: 'goldmane reply 1 flow 2', reason: 'not a FlowResult message' }]);
    expect(source.inputsRead).toBe(3);
  });

  test('a reply that is not a FlowListResult fails the read (INTERNAL, not retried)', async () => {
    server.rawListReply = Buffer.from([0x12, 0x50, 0x01]);
    const source = await openGoldmaneSource(goldmaneConfig(server.address), FAST);
    const error = await failure(readAll(source));
    expect(error.message).toMatch(/^goldmane at 127\.0\.0\.1:\d+: List failed: INTERNAL: /);
    expect(server.calls).toHaveLength(1);
  });
});
