// Goldmane ingest bench: `node bench/goldmane.ts [records] [--page-size N]` (default 1,000,000).
//
// A test Goldmane (test/support/goldmane-server.ts: gRPC, mutual TLS) runs in one child process and
// serves `records` flows: the multi-namespace scenario's distinct flows (one per flow and
// reporter), repeated in order with start times spread over the last hour. A second child reads
// them all with the Goldmane source into the aggregator (readFlows), so its peak RSS is the
// reader's alone; only the read is timed, after the modules are loaded. The last stdout line is
// the result as JSON.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SELF = fileURLToPath(import.meta.url);
const SCENARIO = 'multi-namespace';
const DEFAULT_RECORDS = 1_000_000;
const DEFAULT_PAGE_SIZE = 1000;
/** Goldmane's horizon: the served flows start within the hour before `now`. */
const SPAN_SECONDS = 3600;
const MB = 1024 * 1024;

export interface GoldmaneBenchResult {
  readonly records: number;
  readonly recordsPerSec: number;
  readonly peakRssMb: number;
}

interface ReaderResult {
  readonly inputsRead: number;
  readonly skipped: number;
  readonly recordsLearned: number;
  readonly namespaces: number;
  readonly elapsedMs: number;
  readonly maxRssKb: number;
  readonly sampledPeakRssBytes: number;
}

export async function benchGoldmane(records: number, options: { pageSize?: number } = {}): Promise<GoldmaneBenchResult> {
  if (!Number.isSafeInteger(records) || records < 1) throw new RangeError(`records must be a positive integer, got ${records}`);
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const now = Math.floor(Date.now() / 1000);
  const server = spawn(process.execPath, [SELF, '--serve', String(records), String(now)], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const { port } = JSON.parse(await firstLine(server, 'server')) as { port: number };
    const reader = spawn(process.execPath, [SELF, '--read', `127.0.0.1:${port}`, String(now), String(pageSize)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const result = JSON.parse(await lastLine(reader, 'reader')) as ReaderResult;
    if (result.inputsRead !== records) throw new Error(`the reader read ${result.inputsRead} flows, expected ${records}`);
    if (result.skipped !== 0) throw new Error(`the reader skipped ${result.skipped} of ${records} valid flows`);
    return {
      records,
      recordsPerSec: Math.round(records / (result.elapsedMs / 1000)),
      peakRssMb: Number((Math.max(result.maxRssKb * 1024, result.sampledPeakRssBytes) / MB).toFixed(1)),
    };
  } finally {
    // Closing its stdin tells the server to stop; the kill is for a server that hangs.
    server.stdin?.end();
    const timer = setTimeout(() => server.kill('SIGKILL'), 5000);
    await new Promise((resolve) => (server.exitCode !== null || server.signalCode !== null ? resolve(null) : server.once('exit', resolve)));
    clearTimeout(timer);
  }
}

function firstLine(child: ChildProcess, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      lines.close();
      resolve(line);
    });
    child.once('exit', (code, signal) => reject(new Error(`${name} exited (${signal ?? `exit ${code}`}) before it was ready`)));
    child.once('error', reject);
  });
}

function lastLine(child: ChildProcess, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => (out += text));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code !== 0) reject(new Error(`${name} failed (${signal ?? `exit ${code}`})`));
      else resolve(out.trim().split('\n').at(-1) ?? '');
    });
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
  process.stdout.write(`${JSON.stringify({ port: server.port, distinct: distinct.length })}\n`);
  // Runs until the parent closes stdin (or goes away).
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once('end', resolve).once('close', resolve));
  server.forceClose();
}

// ---------------------------------------------------------------- child: the reader

async function read(address: string, now: number, pageSize: number): Promise<void> {
  const [{ openGoldmaneSource }, { readFlows }, { DEFAULT_CONFIG }] = await Promise.all([
    import('../src/flows/sources/goldmane/goldmane-source.ts'),
    import('../src/pipeline/run.ts'),
    import('../src/config/recommendation-config.ts'),
  ]);
  // The fixture certificates (test/fixtures/tls); the test support module itself is not loaded here,
  // so the reader's memory holds only what a deployment would load.
  const tls = (name: string) => fileURLToPath(new URL(`../test/fixtures/tls/${name}`, import.meta.url));
  const config = { address, caFile: tls('ca.pem'), certFile: tls('client.pem'), keyFile: tls('client-key.pem'), serverName: 'localhost', timeout: 60 };
  let sampledPeak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
  }, 20);
  sampler.unref();
  const started = performance.now();
  const source = await openGoldmaneSource(config, { pageSize });
  const reading = await readFlows(source, DEFAULT_CONFIG, now);
  const elapsedMs = performance.now() - started;
  clearInterval(sampler);
  sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
  const result: ReaderResult = {
    inputsRead: reading.inputsRead,
    skipped: reading.skipped.total,
    recordsLearned: reading.observations.recordsLearned,
    namespaces: reading.observations.byNamespace.size,
    elapsedMs,
    maxRssKb: process.resourceUsage().maxRSS,
    sampledPeakRssBytes: sampledPeak,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------- command line

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--serve') return serve(Number(argv[1]), Number(argv[2]));
  if (argv[0] === '--read') return read(argv[1]!, Number(argv[2]), Number(argv[3]));
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { 'page-size': { type: 'string' } } });
  const records = positionals[0] === undefined ? DEFAULT_RECORDS : Number(positionals[0].replaceAll('_', ''));
  const pageSize = values['page-size'] === undefined ? DEFAULT_PAGE_SIZE : Number(values['page-size']);
  console.log(`goldmane bench: ${records.toLocaleString('en-US')} flows (${SCENARIO} scenario's distinct flows repeated), page size ${pageSize}, mutual TLS on 127.0.0.1`);
  const result = await benchGoldmane(records, { pageSize });
  console.log(`${result.recordsPerSec.toLocaleString('en-US')} flows/s, peak RSS of the reader ${result.peakRssMb} MB`);
  console.log(JSON.stringify({ bench: 'goldmane', scenario: SCENARIO, pageSize, node: process.version, ...result }));
}

if (process.argv[1] === SELF) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`goldmane bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
}
