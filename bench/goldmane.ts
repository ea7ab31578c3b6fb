// Goldmane ingest bench: `node bench/goldmane.ts [records] [--max-flows-per-call N] [--runs N]`
// (default 1,000,000 flows, 3 paired runs).
//
// A test Goldmane (test/support/goldmane-server.ts: gRPC, mutual TLS) runs in one child process and
// holds `records` flows, each a FlowKey of its own in one 15-second bucket of the last hour, so that
// List answers with `records` flows (Goldmane answers with one flow per key): the realistic
// profile's distinct flows (src/generator/generate.ts PROFILES: 200 namespaces, about 20,000 flows
// per reporter, pods with Helm's labels, traces of two hits), each repeated as if its workloads had
// been rolled out again and again (a new pod-template hash per repetition, so a new aggregated name).
// Readers run one at a time, each in a child of its own against that same server, so a reader's
// peak RSS is its own:
// - ours: the Goldmane source into the aggregator (readFlows);
// - baseline: the same Flows.List calls (list-window.ts: the window read in whole slices) over the
//   same TLS, decoding every flow and nothing more (no validation to a FlowRecord, no aggregation).
// Runs are paired and alternate (bench/support.ts: medians and spread); only the read is timed, after the modules are
// loaded. The last stdout line is the result as JSON.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { TimeWindow } from '../src/flows/source.ts';
import type { ListPage, WireFlowListRequest } from '../src/flows/sources/goldmane/wire.ts';
import type { TestFlow, TestFlowKey } from '../test/support/goldmane-server.ts';
import {
  type Comparison,
  compareServedReaders,
  count,
  measureMode,
  parseStandaloneArgs,
  positiveInteger,
  printStandaloneResult,
  rolledOutName,
  runMain,
  serveUntilStdinCloses,
  type Work,
} from './support.ts';

const SELF = fileURLToPath(import.meta.url);
const PROFILE = 'realistic';
export const GOLDMANE_DEFAULT_RECORDS = 1_000_000;
/** The source's default. */
const DEFAULT_MAX_FLOWS_PER_CALL = 10_000;
const DEFAULT_RUNS = 3;
/** Goldmane's horizon: the served flows start within the hour before `now`. */
const SPAN_SECONDS = 3600;
/** Flows decoded between two turns of the event loop, as the source does (see baseline below). */
const YIELD_EVERY = 256;

export interface GoldmaneBenchOptions {
  maxFlowsPerCall?: number;
  runs?: number;
}

export async function benchGoldmane(records: number, options: GoldmaneBenchOptions = {}): Promise<Comparison> {
  if (!Number.isSafeInteger(records) || records < 1) throw new RangeError(`records must be a positive integer, got ${records}`);
  const maxFlowsPerCall = options.maxFlowsPerCall ?? DEFAULT_MAX_FLOWS_PER_CALL;
  const now = Math.floor(Date.now() / 1000);
  // One window for both readers, the one readFlows would take by default. Imported here, not at
  // the top: the readers run this file too, and the baseline's memory must not hold the engine.
  const [{ DEFAULT_CONFIG }, { lookbackWindow }] = await Promise.all([
    import('../src/config/recommendation-config.ts'),
    import('../src/flows/read-flows.ts'),
  ]);
  const window = lookbackWindow(DEFAULT_CONFIG, now);
  return compareServedReaders({
    name: 'goldmane',
    records,
    runs: options.runs ?? DEFAULT_RUNS,
    server: [SELF, '--serve', String(records), String(now)],
    reader: (mode, port) => [
      SELF,
      '--read',
      mode,
      `127.0.0.1:${port}`,
      String(now),
      String(window.from),
      String(window.to),
      String(maxFlowsPerCall),
    ],
    check: (m) => {
      if (m.mode === 'ours' && m.details['skipped'] !== 0)
        throw new Error(`the reader skipped ${String(m.details['skipped'])} of ${records} valid flows`);
    },
  });
}

// ---------------------------------------------------------------- child: the server

async function serve(records: number, now: number): Promise<void> {
  const [{ GoldmaneTestServer, scenarioGoldmaneFlows }, { buildScenario }, { PROFILES }] = await Promise.all([
    import('../test/support/goldmane-server.ts'),
    import('../src/generator/scenarios/index.ts'),
    import('../src/generator/generate.ts'),
  ]);
  const { scenario, shape } = PROFILES[PROFILE];
  const distinct = scenarioGoldmaneFlows(buildScenario(scenario), shape).map((f) => f.flow);
  const first = now - SPAN_SECONDS;
  const startTime = (i: number): number => first + Math.floor((i * SPAN_SECONDS) / records);
  // One key object per repetition and template, made when first served (keys are encoded once per object).
  const keys = new Map<number, TestFlowKey>();
  const keyOf = (i: number): TestFlowKey => {
    let key = keys.get(i);
    if (key === undefined) keys.set(i, (key = rolledOut(distinct[i % distinct.length]!.Key!, Math.floor(i / distinct.length))));
    return key;
  };
  const server = await GoldmaneTestServer.start({
    now: () => now,
    flows: {
      count: records,
      startTime,
      at: (i): TestFlow => {
        const start = startTime(i);
        return {
          ...distinct[i % distinct.length]!,
          Key: keyOf(i),
          start_time: start,
          end_time: start + 15,
          num_connections_started: 1 + (i % 7),
        };
      },
    },
  });
  await serveUntilStdinCloses(server.port, () => server.forceClose());
}

/** The key after the `n`th roll-out of its workloads: another pod-template hash in each aggregated pod name. */
function rolledOut(key: TestFlowKey, n: number): TestFlowKey {
  if (n === 0) return key;
  const rename = (name: string | undefined, type: number | undefined): string | undefined =>
    type === 1 && name !== undefined ? rolledOutName(name, n) : name;
  const out: TestFlowKey = { ...key };
  const source = rename(key.source_name, key.source_type);
  const dest = rename(key.dest_name, key.dest_type);
  if (source !== undefined) out.source_name = source;
  if (dest !== undefined) out.dest_name = dest;
  if (source === key.source_name && dest === key.dest_name)
    throw new Error(`a flow with no workload end cannot be rolled out: ${JSON.stringify(key)}`);
  return out;
}

// ---------------------------------------------------------------- child: a reader

// The fixture certificates (test/fixtures/tls); the test support module itself is not loaded by a
// reader, so its memory holds only what a deployment (or a bare client) would load.
const tlsFile = (name: string): string => fileURLToPath(new URL(`../test/fixtures/tls/${name}`, import.meta.url));
const SERVER_NAME = 'localhost';
const TIMEOUT_SECONDS = 60;

/** Loads the source and the engine, then returns the timed work: Goldmane -> readFlows. */
async function ours(address: string, now: number, window: TimeWindow, maxFlowsPerCall: number): Promise<Work> {
  const [{ openGoldmaneSource }, { readFlows }, { DEFAULT_CONFIG }] = await Promise.all([
    import('../src/flows/sources/goldmane/goldmane-source.ts'),
    import('../src/flows/read-flows.ts'),
    import('../src/config/recommendation-config.ts'),
  ]);
  const config = {
    address,
    caFile: tlsFile('ca.pem'),
    certFile: tlsFile('client.pem'),
    keyFile: tlsFile('client-key.pem'),
    serverName: SERVER_NAME,
    timeout: TIMEOUT_SECONDS,
  };
  return async () => {
    const source = await openGoldmaneSource(config, { maxFlowsPerCall });
    const reading = await readFlows(source, DEFAULT_CONFIG, now, window);
    return {
      records: reading.inputsRead,
      details: {
        skipped: reading.skipped.total,
        recordsLearned: reading.observations.recordsLearned,
        namespaces: reading.observations.byNamespace.size,
      },
    };
  };
}

/** The List method grpc-js adds to the generic client from the service definition. */
interface ListClient {
  List(request: object, options: { deadline: number }, callback: (error: Error | null, value?: ListPage) => void): void;
}

/**
 * The least any Goldmane client does: the same List calls (list-window.ts decides them, as for
 * the source) and every flow decoded. It decodes as the source does (wire.ts: goldmane.proto
 * through proto-loader, one flow at a time, which is the fastest way known here) and turns the
 * event loop every YIELD_EVERY flows as it does, so the ratio is the cost of validation and
 * aggregation alone.
 */
async function baseline(address: string, window: TimeWindow, maxFlowsPerCall: number): Promise<Work> {
  const [grpc, { flowsClientConstructor, flowsCodec }, { readWindow }] = await Promise.all([
    import('@grpc/grpc-js'),
    import('../src/flows/sources/goldmane/wire.ts'),
    import('../src/flows/sources/goldmane/list-window.ts'),
  ]);
  return async () => {
    // Read inside the timed work, as openGoldmaneSource reads them inside ours.
    const [ca, cert, key] = await Promise.all(['ca.pem', 'client.pem', 'client-key.pem'].map((name) => readFile(tlsFile(name))));
    const Client = flowsClientConstructor();
    const client = new Client(address, grpc.credentials.createSsl(ca, key, cert), {
      // The source's limit; grpc-js's default (4 MB) would refuse large replies.
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.ssl_target_name_override': SERVER_NAME,
      'grpc.default_authority': SERVER_NAME,
    });
    const list = (request: WireFlowListRequest): Promise<ListPage> =>
      new Promise((resolve, reject) => {
        (client as unknown as ListClient).List(request, { deadline: Date.now() + TIMEOUT_SECONDS * 1000 }, (error, value) =>
          error || value === undefined ? reject(error ?? new Error('empty reply')) : resolve(value),
        );
      });
    const { decodeFlowResult } = flowsCodec();
    let records = 0;
    let withFlow = 0;
    try {
      await readWindow(list, window, maxFlowsPerCall, async ({ flows }) => {
        for (let i = 0; i < flows.length; i++) {
          if (i > 0 && i % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
          records++;
          // Use the result so the decode cannot be treated as dead code.
          if (decodeFlowResult(flows[i]!).flow !== null) withFlow++;
        }
      });
    } finally {
      client.close();
    }
    return { records, details: { withFlow } };
  };
}

function read(argv: readonly string[]): Promise<void> {
  const [mode, address = '', now, from, to, maxFlowsPerCall] = argv;
  const window = { from: Number(from), to: Number(to) };
  return measureMode(
    mode,
    {
      ours: () => ours(address, Number(now), window, Number(maxFlowsPerCall)),
      baseline: () => baseline(address, window, Number(maxFlowsPerCall)),
    },
    'goldmane.ts --read baseline|ours <address> <now> <from> <to> <max flows per call>',
  );
}

// ---------------------------------------------------------------- command line

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--serve') return serve(Number(argv[1]), Number(argv[2]));
  if (argv[0] === '--read') return read(argv.slice(1));
  const { records, runs, values } = parseStandaloneArgs(argv, { records: GOLDMANE_DEFAULT_RECORDS, runs: DEFAULT_RUNS }, [
    'max-flows-per-call',
  ]);
  const maxFlowsPerCall =
    values['max-flows-per-call'] === undefined
      ? DEFAULT_MAX_FLOWS_PER_CALL
      : positiveInteger(values['max-flows-per-call'], '--max-flows-per-call');
  console.log(
    `goldmane bench: ${count(records)} flows (the ${PROFILE} profile's distinct flows, rolled out again and again), at most ${count(maxFlowsPerCall)} a reply, mutual TLS on 127.0.0.1, ${runs} paired runs`,
  );
  printStandaloneResult(
    { bench: 'goldmane', profile: PROFILE, maxFlowsPerCall, runsPerMode: runs },
    await benchGoldmane(records, { maxFlowsPerCall, runs }),
  );
}

if (process.argv[1] === SELF) runMain('goldmane bench', () => main(process.argv.slice(2)));
