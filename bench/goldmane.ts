// Goldmane ingest bench: `node bench/goldmane.ts [records] [--page-size N] [--runs N]` (default
// 1,000,000 flows, 2 runs).
//
// A test Goldmane (test/support/goldmane-server.ts: gRPC, mutual TLS) runs in one child process and
// serves `records` flows: the multi-namespace scenario's distinct flows (one per flow and
// reporter), repeated in order with start times spread over the last hour. Readers run one at a
// time, each in a child of its own against that same server, so a reader's peak RSS is its own:
// - ours: the Goldmane source into the aggregator (readFlows);
// - baseline: the same Flows.List paging over the same TLS, decoding every flow and nothing more
//   (no validation to a FlowRecord, no aggregation).
// Runs alternate and the best time of each counts; only the read is timed, after the modules are
// loaded. The last stdout line is the result as JSON.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { TimeWindow } from '../src/flows/source.ts';
import type { ListPage } from '../src/flows/sources/goldmane/wire.ts';
import { compareServedReaders, count, measureMode, parseStandaloneArgs, positiveInteger, printStandaloneResult, runMain, serveUntilStdinCloses, type Comparison, type Work } from './support.ts';

const SELF = fileURLToPath(import.meta.url);
const SCENARIO = 'multi-namespace';
export const GOLDMANE_DEFAULT_RECORDS = 1_000_000;
const DEFAULT_PAGE_SIZE = 1000;
const DEFAULT_RUNS = 2;
/** Goldmane's horizon: the served flows start within the hour before `now`. */
const SPAN_SECONDS = 3600;
/** Flows decoded between two turns of the event loop, as the source does (see baseline below). */
const YIELD_EVERY = 256;

export interface GoldmaneBenchOptions {
  pageSize?: number;
  runs?: number;
}

export async function benchGoldmane(records: number, options: GoldmaneBenchOptions = {}): Promise<Comparison> {
  if (!Number.isSafeInteger(records) || records < 1) throw new RangeError(`records must be a positive integer, got ${records}`);
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const now = Math.floor(Date.now() / 1000);
  // One window for both readers, the one readFlows would take by default. Imported here, not at
  // the top: the readers run this file too, and the baseline's memory must not hold the engine.
  const [{ DEFAULT_CONFIG }, { lookbackWindow }] = await Promise.all([import('../src/config/recommendation-config.ts'), import('../src/pipeline/run.ts')]);
  const window = lookbackWindow(DEFAULT_CONFIG, now);
  return compareServedReaders({
    name: 'goldmane',
    records,
    runs: options.runs ?? DEFAULT_RUNS,
    server: [SELF, '--serve', String(records), String(now)],
    reader: (mode, port) => [SELF, '--read', mode, `127.0.0.1:${port}`, String(now), String(window.from), String(window.to), String(pageSize)],
    check: (m) => {
      if (m.mode === 'ours' && m.details['skipped'] !== 0) throw new Error(`the reader skipped ${String(m.details['skipped'])} of ${records} valid flows`);
    },
  });
}

// ---------------------------------------------------------------- child: the server

async function serve(records: number, now: number): Promise<void> {
  const [{ GoldmaneTestServer, scenarioGoldmaneFlows }, { buildScenario }] = await Promise.all([
    import('../test/support/goldmane-server.ts'),
    import('../src/generator/scenarios/index.ts'),
  ]);
  const distinct = scenarioGoldmaneFlows(buildScenario(SCENARIO)).map((f) => f.flow);
  const first = now - SPAN_SECONDS;
  const startTime = (i: number): number => first + Math.floor((i * SPAN_SECONDS) / records);
  const server = await GoldmaneTestServer.start({
    now: () => now,
    flows: {
      count: records,
      startTime,
      at: (i) => {
        const start = startTime(i);
        return { ...distinct[i % distinct.length]!, start_time: start, end_time: start + 15, num_connections_started: 1 + (i % 7) };
      },
    },
  });
  await serveUntilStdinCloses(server.port, () => server.forceClose());
}

// ---------------------------------------------------------------- child: a reader

// The fixture certificates (test/fixtures/tls); the test support module itself is not loaded by a
// reader, so its memory holds only what a deployment (or a bare client) would load.
const tlsFile = (name: string): string => fileURLToPath(new URL(`../test/fixtures/tls/${name}`, import.meta.url));
const SERVER_NAME = 'localhost';
const TIMEOUT_SECONDS = 60;

/** Loads the source and the engine, then returns the timed work: Goldmane -> readFlows. */
async function ours(address: string, now: number, window: TimeWindow, pageSize: number): Promise<Work> {
  const [{ openGoldmaneSource }, { readFlows }, { DEFAULT_CONFIG }] = await Promise.all([
    import('../src/flows/sources/goldmane/goldmane-source.ts'),
    import('../src/pipeline/run.ts'),
    import('../src/config/recommendation-config.ts'),
  ]);
  const config = { address, caFile: tlsFile('ca.pem'), certFile: tlsFile('client.pem'), keyFile: tlsFile('client-key.pem'), serverName: SERVER_NAME, timeout: TIMEOUT_SECONDS };
  return async () => {
    const source = await openGoldmaneSource(config, { pageSize });
    const reading = await readFlows(source, DEFAULT_CONFIG, now, window);
    return {
      records: reading.inputsRead,
      details: { skipped: reading.skipped.total, recordsLearned: reading.observations.recordsLearned, namespaces: reading.observations.byNamespace.size },
    };
  };
}

/** The List method grpc-js adds to the generic client from the service definition. */
interface ListClient {
  List(request: object, options: { deadline: number }, callback: (error: Error | null, value?: ListPage) => void): void;
}

/**
 * The least any Goldmane client does: List every page of the window and decode every flow. It
 * decodes as the source does (wire.ts: goldmane.proto through proto-loader, one flow at a time,
 * which is the fastest way known here) and pages as it does (one page requested ahead, the event
 * loop turned every YIELD_EVERY flows so the next reply streams in), so the ratio is the cost of
 * validation and aggregation alone.
 */
async function baseline(address: string, window: TimeWindow, pageSize: number): Promise<Work> {
  const [grpc, { flowsClientConstructor, flowsCodec }] = await Promise.all([import('@grpc/grpc-js'), import('../src/flows/sources/goldmane/wire.ts')]);
  return async () => {
    // Read inside the timed work, as openGoldmaneSource reads them inside ours.
    const [ca, cert, key] = await Promise.all(['ca.pem', 'client.pem', 'client-key.pem'].map((name) => readFile(tlsFile(name))));
    const Client = flowsClientConstructor();
    const client = new Client(address, grpc.credentials.createSsl(ca, key, cert), {
      // The source's limit; grpc-js's default (4 MB) would refuse large pages.
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.ssl_target_name_override': SERVER_NAME,
      'grpc.default_authority': SERVER_NAME,
    });
    const list = (page: number): Promise<ListPage> =>
      new Promise((resolve, reject) => {
        const request = { start_time_gte: window.from, start_time_lt: window.to, page, page_size: pageSize };
        (client as unknown as ListClient).List(request, { deadline: Date.now() + TIMEOUT_SECONDS * 1000 }, (error, value) =>
          error || value === undefined ? reject(error ?? new Error('empty reply')) : resolve(value),
        );
      });
    const { decodeFlowResult } = flowsCodec();
    let records = 0;
    let withFlow = 0;
    try {
      for (let page = 0, next = list(0); ; page++) {
        const { meta, flows } = await next;
        const more = page + 1 < (meta?.totalPages ?? 0) && flows.length > 0;
        if (more) next = list(page + 1);
        for (let i = 0; i < flows.length; i++) {
          if (i > 0 && i % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
          records++;
          // Use the result so the decode cannot be treated as dead code.
          if (decodeFlowResult(flows[i]!).flow !== null) withFlow++;
        }
        if (!more) break;
      }
    } finally {
      client.close();
    }
    return { records, details: { withFlow } };
  };
}

function read(argv: readonly string[]): Promise<void> {
  const [mode, address = '', now, from, to, pageSize] = argv;
  const window = { from: Number(from), to: Number(to) };
  return measureMode(
    mode,
    { ours: () => ours(address, Number(now), window, Number(pageSize)), baseline: () => baseline(address, window, Number(pageSize)) },
    'goldmane.ts --read baseline|ours <address> <now> <from> <to> <page size>',
  );
}

// ---------------------------------------------------------------- command line

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--serve') return serve(Number(argv[1]), Number(argv[2]));
  if (argv[0] === '--read') return read(argv.slice(1));
  const { records, runs, values } = parseStandaloneArgs(argv, { records: GOLDMANE_DEFAULT_RECORDS, runs: DEFAULT_RUNS }, ['page-size']);
  const pageSize = values['page-size'] === undefined ? DEFAULT_PAGE_SIZE : positiveInteger(values['page-size'], '--page-size');
  console.log(`goldmane bench: ${count(records)} flows (${SCENARIO} scenario's distinct flows repeated), page size ${pageSize}, mutual TLS on 127.0.0.1, ${runs} alternating runs per mode`);
  printStandaloneResult({ bench: 'goldmane', scenario: SCENARIO, pageSize, runsPerMode: runs }, await benchGoldmane(records, { pageSize, runs }));
}

if (process.argv[1] === SELF) runMain('goldmane bench', () => main(process.argv.slice(2)));
