// Hubble ingest bench: `node bench/hubble.ts [records] [--runs N] [--only grpc|file]`
// (default 1,000,000 flows, 3 paired runs, both parts).
//
// The realistic profile's distinct flows (src/generator/generate.ts PROFILES: 200 namespaces, about
// 20,000 flows per reporter, pods with Helm's labels) as Hubble sees them (src/generator/hubble.ts:
// GetFlowsResponse events, each flow observed again and again over the last hour):
// - grpc: a Hubble Relay peer in a child process serves `records` events over gRPC with mutual TLS
//   (observer.Observer/GetFlows, since/until, streamed with backpressure). Readers, each in a child
//   of its own: ours, the Hubble source into the aggregator (readFlows); baseline, the same GetFlows
//   call over the same TLS, every message decoded as the source decodes it (wire.ts) and nothing
//   more (no normalisation, no aggregation).
// - file: the same events as a jsonpb file: `recommend --flows <file>` (bench/worker.ts ours: the
//   file source, learning, planning, writing) against reading the file line by line and
//   JSON.parsing every line (bench/worker.ts baseline).
// Runs are paired and alternate (bench/support.ts); only the work is timed. The last stdout line is
// the result as JSON.

import { fileURLToPath } from 'node:url';
import type { TimeWindow } from '../src/flows/source.ts';
import {
  type Comparison,
  compareServedReaders,
  compareWithBaseline,
  count,
  MB,
  measureInChild,
  measureMode,
  parseStandaloneArgs,
  printTable,
  runMain,
  serveUntilStdinCloses,
  summarize,
  type Work,
  withTempDir,
} from './support.ts';

const SELF = fileURLToPath(import.meta.url);
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const PROFILE = 'realistic';
export const HUBBLE_DEFAULT_RECORDS = 1_000_000;
const DEFAULT_RUNS = 3;
/** The served events lie within the hour before `now`. */
const SPAN_SECONDS = 3600;
const PARTS = ['grpc', 'file'] as const;
type Part = (typeof PARTS)[number];

export interface HubbleBenchResult {
  readonly grpc: Comparison | null;
  readonly file: (Comparison & { readonly fileMb: number }) | null;
}

export async function benchHubble(records: number, options: { runs?: number; parts?: readonly Part[] } = {}): Promise<HubbleBenchResult> {
  if (!Number.isSafeInteger(records) || records < 1) throw new RangeError(`records must be a positive integer, got ${records}`);
  const runs = options.runs ?? DEFAULT_RUNS;
  const parts = options.parts ?? PARTS;
  const now = Math.floor(Date.now() / 1000 / 300) * 300;
  const window: TimeWindow = { from: now - 24 * 3600, to: now };
  let grpc: Comparison | null = null;
  if (parts.includes('grpc')) {
    console.log(`hubble over gRPC: ${count(records)} events of the ${PROFILE} profile, mutual TLS on 127.0.0.1`);
    grpc = await compareServedReaders({
      name: 'hubble',
      records,
      runs,
      server: [SELF, '--serve', String(records), String(now)],
      reader: (mode, port) => [SELF, '--read', mode, `127.0.0.1:${port}`, String(now), String(window.from), String(window.to)],
      check: (m) => {
        if (m.mode === 'ours' && m.details['skipped'] !== 0)
          throw new Error(`the reader skipped ${String(m.details['skipped'])} events as malformed`);
      },
    });
  }
  let file: HubbleBenchResult['file'] = null;
  if (parts.includes('file')) {
    file = await withTempDir(async (dir) => {
      const path = `${dir}/hubble.jsonl`;
      const { writeFlowFile, PROFILES } = await import('../src/generator/generate.ts');
      const { scenario, shape } = PROFILES[PROFILE];
      const started = performance.now();
      await writeFlowFile(path, { scenario, shape, records, endTime: now, spanSeconds: SPAN_SECONDS, format: 'hubble' });
      const { stat } = await import('node:fs/promises');
      const fileMb = (await stat(path)).size / MB;
      console.log(
        `hubble file: ${count(records)} jsonpb lines of the ${PROFILE} profile (${fileMb.toFixed(0)} MB, written in ${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
      const comparison = await compareWithBaseline(records, runs, (mode) =>
        measureInChild(mode === 'ours' ? [WORKER, 'ours', path, String(now)] : [WORKER, 'baseline', path], `hubble file ${mode}`),
      );
      return { ...comparison, fileMb };
    });
  }
  return { grpc, file };
}

// ---------------------------------------------------------------- child: the server

/** Protobuf wire bits for the per-event fields (observer.proto, flow.proto). */
function varint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/**
 * Serves `records` GetFlowsResponse events: the realistic profile's distinct flows, each encoded
 * once without its time and uuid (by proto-loader from the vendored observer.proto), and per event
 * a Flow made of its time (field 1), a uuid (field 34) and those bytes (protobuf allows fields in any
 * order), wrapped in GetFlowsResponse.flow (field 1). Streams honour backpressure.
 */
async function serve(records: number, now: number): Promise<void> {
  const [grpc, { readFileSync }, { observerCodec }, { buildScenario }, { PROFILES }, { compileFlows }, { hubbleRender }, { createRandom }] =
    await Promise.all([
      import('@grpc/grpc-js'),
      import('node:fs'),
      import('../src/flows/sources/hubble/wire.ts'),
      import('../src/generator/scenarios/index.ts'),
      import('../src/generator/generate.ts'),
      import('../src/generator/record.ts'),
      import('../src/generator/hubble.ts'),
      import('../src/generator/random.ts'),
    ]);
  const { scenario: name, shape } = PROFILES[PROFILE];
  const scenario = buildScenario(name);
  const codec = observerCodec();
  const rng = createRandom(1);
  const distinct: Buffer[] = compileFlows(scenario, '3.31', shape).map((f) => {
    const line = JSON.parse(hubbleRender(f.template, f.reporter, scenario.nodes, shape)(rng, now - 60, now)) as {
      flow: Record<string, unknown>;
    };
    const { time: _time, uuid: _uuid, is_reply, ...rest } = line.flow;
    const bytes = codec.encodeResponse({ flow: { ...rest, is_reply: { value: is_reply === true } } });
    // {flow}: tag 0x0a, the length, the Flow's bytes.
    let at = 1;
    while ((bytes[at]! & 0x80) !== 0) at++;
    return bytes.subarray(at + 1);
  });
  const first = now - SPAN_SECONDS;
  const event = (i: number): Buffer => {
    const seconds = first + Math.floor((i * SPAN_SECONDS) / records);
    const time: number[] = [0x08];
    varint(time, seconds);
    time.push(0x10);
    varint(time, (i * 7919) % 1_000_000_000);
    const uuid = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    const head: number[] = [0x0a];
    varint(head, time.length);
    head.push(...time, 0x92, 0x02, uuid.length);
    const flow = Buffer.concat([Buffer.from(head), Buffer.from(uuid, 'latin1'), distinct[i % distinct.length]!]);
    const wrap: number[] = [0x0a];
    varint(wrap, flow.length);
    return Buffer.concat([Buffer.from(wrap), flow]);
  };
  const tls = (f: string) => readFileSync(fileURLToPath(new URL(`../test/fixtures/tls/${f}`, import.meta.url)));
  const server = new grpc.Server();
  const getFlows = codec.service['GetFlows']!;
  server.addService(
    { GetFlows: { ...getFlows, requestDeserialize: codec.decodeRequest, responseSerialize: (b: Buffer) => b } },
    {
      GetFlows: async (call: import('@grpc/grpc-js').ServerWritableStream<Record<string, unknown>, Buffer>) => {
        let cancelled = false;
        call.on('cancelled', () => (cancelled = true));
        for (let i = 0; i < records && !cancelled; i++) {
          if (!call.write(event(i))) await new Promise((resolve) => call.once('drain', resolve));
        }
        call.end();
      },
    },
  );
  const credentials = grpc.ServerCredentials.createSsl(
    tls('ca.pem'),
    [{ cert_chain: tls('server.pem'), private_key: tls('server-key.pem') }],
    true,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  await serveUntilStdinCloses(port, () => server.forceShutdown());
}

// ---------------------------------------------------------------- child: a reader

const tlsFile = (name: string): string => fileURLToPath(new URL(`../test/fixtures/tls/${name}`, import.meta.url));
const SERVER_NAME = 'localhost';
const TIMEOUT_SECONDS = 600;

/** Loads the source and the engine, then returns the timed work: Hubble Relay -> readFlows. */
async function ours(address: string, now: number, window: TimeWindow): Promise<Work> {
  const [{ openHubbleSource }, { readFlows }, { DEFAULT_CONFIG }] = await Promise.all([
    import('../src/flows/sources/hubble/hubble-source.ts'),
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
    const source = await openHubbleSource(config);
    const reading = await readFlows(source, DEFAULT_CONFIG, now, window);
    return {
      records: reading.inputsRead,
      details: {
        skipped: reading.skipped.total,
        unlearnable: reading.unlearnable.total,
        recordsLearned: reading.observations.recordsLearned,
        namespaces: reading.observations.byNamespace.size,
      },
    };
  };
}

interface GetFlowsClient {
  GetFlows(request: object, options: { deadline: number }): AsyncIterable<Buffer> & { on(event: 'error', f: () => void): void };
}

/**
 * The least any Hubble client does: the same GetFlows call over the same TLS, every message decoded
 * as the source decodes it (wire.ts: observer.proto through proto-loader, one message at a time).
 */
async function baseline(address: string, window: TimeWindow): Promise<Work> {
  const [grpc, { readFile }, { observerClientConstructor, observerCodec, toTimestamp }] = await Promise.all([
    import('@grpc/grpc-js'),
    import('node:fs/promises'),
    import('../src/flows/sources/hubble/wire.ts'),
  ]);
  return async () => {
    const [ca, cert, key] = await Promise.all(['ca.pem', 'client.pem', 'client-key.pem'].map((name) => readFile(tlsFile(name))));
    const Client = observerClientConstructor();
    const client = new Client(address, grpc.credentials.createSsl(ca, key, cert), {
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      'grpc.ssl_target_name_override': SERVER_NAME,
      'grpc.default_authority': SERVER_NAME,
    });
    const { decodeResponse } = observerCodec();
    let records = 0;
    let flows = 0;
    try {
      const call = (client as unknown as GetFlowsClient).GetFlows(
        { since: toTimestamp(window.from), until: toTimestamp(window.to) },
        { deadline: Date.now() + TIMEOUT_SECONDS * 1000 },
      );
      call.on('error', () => undefined);
      for await (const bytes of call) {
        records++;
        // Use the result so the decode cannot be treated as dead code.
        if (decodeResponse(bytes)['flow'] !== undefined) flows++;
      }
    } finally {
      client.close();
    }
    return { records, details: { flows } };
  };
}

function read(argv: readonly string[]): Promise<void> {
  const [mode, address = '', now, from, to] = argv;
  const window = { from: Number(from), to: Number(to) };
  return measureMode(
    mode,
    { ours: () => ours(address, Number(now), window), baseline: () => baseline(address, window) },
    'hubble.ts --read baseline|ours <address> <now> <from> <to>',
  );
}

// ---------------------------------------------------------------- command line

/** The rows bench/run.ts prints for this bench. */
export function hubbleRows(result: HubbleBenchResult): { source: string; comparison: Comparison }[] {
  return [
    ...(result.grpc === null ? [] : [{ source: `hubble gRPC ${PROFILE}`, comparison: result.grpc }]),
    ...(result.file === null ? [] : [{ source: `hubble file ${PROFILE}`, comparison: result.file }]),
  ];
}

/** The JSON summary of this bench (bench/run.ts puts it under `hubble`). */
export function hubbleSummary(result: HubbleBenchResult): Record<string, unknown> {
  return {
    profile: PROFILE,
    grpc: result.grpc === null ? null : summarize(result.grpc),
    file: result.file === null ? null : summarize(result.file),
  };
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--serve') return serve(Number(argv[1]), Number(argv[2]));
  if (argv[0] === '--read') return read(argv.slice(1));
  const { records, runs, values } = parseStandaloneArgs(argv, { records: HUBBLE_DEFAULT_RECORDS, runs: DEFAULT_RUNS }, ['only']);
  const only = values['only'];
  if (only !== undefined && !PARTS.some((p) => p === only)) throw new Error(`--only takes ${PARTS.join(' or ')}, got "${only}"`);
  const parts = only === undefined ? PARTS : PARTS.filter((p) => p === only);
  console.log(`hubble bench: ${count(records)} events of the ${PROFILE} profile, ${runs} paired runs, ${parts.join(' and ')}`);
  const result = await benchHubble(records, { runs, parts });
  printTable(hubbleRows(result));
  console.log(JSON.stringify({ bench: 'hubble', node: process.version, runsPerMode: runs, ...hubbleSummary(result) }));
}

if (process.argv[1] === SELF) runMain('hubble bench', () => main(process.argv.slice(2)));
