// `npm run bench [-- --sizes 1000000,4000000] [--runs 2]`
// Measures the whole ingest-and-recommend path (file -> FileFlowSource -> readFlows ->
// planRecommendations) against a baseline that only reads the same file line by line and
// JSON.parses each line. Every measurement runs in its own child process (bench/worker.ts), so
// peak RSS is per measurement. Per size, runs alternate baseline / ours and the best time of each
// counts, so page-cache effects cancel. The last stdout line is one JSON object with the results.
// Reports only: exits 0 whatever the numbers, non-zero only if something crashed.

import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFlowFile } from '../src/generator/generate.ts';
import type { WorkerMode, WorkerResult } from './worker.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const SCENARIO = 'multi-namespace';
const DEFAULT_SIZES = [1_000_000, 4_000_000];
const DEFAULT_RUNS = 2;
const TARGET_RATIO = 0.7;
/** Peak RSS of the largest size over the smallest above this counts as growing with the record count. */
const MAX_RSS_GROWTH = 1.2;
const MB = 1024 * 1024;

interface SizeResult {
  readonly records: number;
  readonly recordsPerSec: number;
  readonly baselineRecordsPerSec: number;
  readonly throughputRatio: number;
  readonly peakRssMb: number;
  readonly baselinePeakRssMb: number;
  readonly bestMs: number;
  readonly baselineBestMs: number;
  readonly fileMb: number;
  readonly details: Readonly<Record<string, unknown>>;
}

function parseOptions(argv: string[]): { sizes: number[]; runs: number } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: { sizes: { type: 'string' }, runs: { type: 'string' } },
  });
  const sizes =
    values.sizes === undefined
      ? DEFAULT_SIZES
      : values.sizes.split(',').map((text) => {
          const n = Number(text.trim().replaceAll('_', ''));
          if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--sizes must be a comma list of positive integers, got "${values.sizes}"`);
          return n;
        });
  const runs = values.runs === undefined ? DEFAULT_RUNS : Number(values.runs);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got "${values.runs}"`);
  return { sizes, runs };
}

function runWorker(mode: WorkerMode, file: string, now: number): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const args = mode === 'ours' ? [WORKER, mode, file, String(now)] : [WORKER, mode, file];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => (out += text));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`${mode} worker failed (${signal ?? `exit ${code}`})`));
        return;
      }
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as WorkerResult);
      } catch {
        reject(new Error(`${mode} worker printed no result: ${JSON.stringify(out.slice(-500))}`));
      }
    });
  });
}

const peakBytes = (r: WorkerResult): number => Math.max(r.maxRssKb * 1024, r.sampledPeakRssBytes);
const round = (x: number, digits: number): number => Number(x.toFixed(digits));

async function measureSize(dir: string, records: number, runs: number): Promise<SizeResult> {
  const file = join(dir, `flows-${records}.jsonl`);
  // Flush-aligned, so the file is reproducible within 5 minutes; `now` is the newest record's end,
  // so the default 6h span lies wholly inside the 24h lookback.
  const endTime = Math.floor(Date.now() / 1000 / 300) * 300;
  const now = endTime;
  const genStarted = performance.now();
  await writeFlowFile(file, { scenario: SCENARIO, records, endTime });
  const fileMb = (await stat(file)).size / MB;
  console.log(`generated ${records.toLocaleString('en-US')} records (${fileMb.toFixed(0)} MB) in ${((performance.now() - genStarted) / 1000).toFixed(1)} s`);

  const results: Record<WorkerMode, WorkerResult[]> = { baseline: [], ours: [] };
  try {
    for (let i = 0; i < runs; i++) {
      for (const mode of ['baseline', 'ours'] as const) {
        const r = await runWorker(mode, file, now);
        if (r.records !== records) throw new Error(`${mode} run read ${r.records} records, expected ${records}`);
        if (mode === 'ours' && r.details['skipped'] !== 0) throw new Error(`ours skipped ${String(r.details['skipped'])} of ${records} valid records`);
        results[mode].push(r);
        console.log(
          `  run ${i + 1}/${runs} ${mode.padEnd(8)} ${(r.elapsedMs / 1000).toFixed(2).padStart(7)} s  ` +
            `${Math.round(records / (r.elapsedMs / 1000)).toLocaleString('en-US').padStart(11)} rec/s  peak RSS ${(peakBytes(r) / MB).toFixed(0)} MB`,
        );
      }
    }
  } finally {
    // One size's file at a time: the 4M file alone is several GB.
    await rm(file, { force: true });
  }

  const best = (rs: WorkerResult[]): WorkerResult => rs.reduce((a, b) => (b.elapsedMs < a.elapsedMs ? b : a));
  const peakMb = (rs: WorkerResult[]): number => Math.max(...rs.map(peakBytes)) / MB;
  const ours = best(results.ours);
  const base = best(results.baseline);
  const recordsPerSec = records / (ours.elapsedMs / 1000);
  const baselineRecordsPerSec = records / (base.elapsedMs / 1000);
  return {
    records,
    recordsPerSec: Math.round(recordsPerSec),
    baselineRecordsPerSec: Math.round(baselineRecordsPerSec),
    throughputRatio: round(recordsPerSec / baselineRecordsPerSec, 3),
    peakRssMb: round(peakMb(results.ours), 1),
    baselinePeakRssMb: round(peakMb(results.baseline), 1),
    bestMs: round(ours.elapsedMs, 1),
    baselineBestMs: round(base.elapsedMs, 1),
    fileMb: round(fileMb, 1),
    details: ours.details,
  };
}

function printTable(results: readonly SizeResult[]): void {
  const header = ['records', 'ours rec/s', 'baseline rec/s', 'ratio', 'peak RSS MB ours', 'peak RSS MB baseline'];
  const rows = results.map((r) => [
    r.records.toLocaleString('en-US'),
    r.recordsPerSec.toLocaleString('en-US'),
    r.baselineRecordsPerSec.toLocaleString('en-US'),
    r.throughputRatio.toFixed(3),
    r.peakRssMb.toFixed(1),
    r.baselinePeakRssMb.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log('');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  console.log('');
}

async function main(): Promise<void> {
  const { sizes, runs } = parseOptions(process.argv.slice(2));
  const cpuList = cpus();
  console.log(`ingest-and-recommend bench: scenario ${SCENARIO}, sizes ${sizes.join(', ')}, ${runs} alternating runs per mode (best time counts)`);
  console.log(
    `node ${process.version} on ${process.platform}/${process.arch}, ${cpuList.length} CPUs ` +
      `(${cpuList[0]?.model.trim() ?? 'unknown'}; available parallelism ${availableParallelism()}), ${(totalmem() / MB / 1024).toFixed(1)} GB RAM`,
  );

  const dir = await mkdtemp(join(tmpdir(), 'policy-recommender-bench-'));
  const cleanUp = () => rmSync(dir, { recursive: true, force: true });
  const onSignal = (signal: NodeJS.Signals) => {
    cleanUp();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results: SizeResult[] = [];
  try {
    for (const records of sizes) results.push(await measureSize(dir, records, runs));
  } finally {
    await rm(dir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  printTable(results);
  const smallest = results.reduce((a, b) => (b.records < a.records ? b : a));
  const largest = results.reduce((a, b) => (b.records > a.records ? b : a));
  const peakRssGrowth = results.length > 1 && largest !== smallest ? round(largest.peakRssMb / smallest.peakRssMb, 3) : null;
  for (const r of results) {
    if (r.throughputRatio < TARGET_RATIO) {
      console.log(`below target: throughputRatio ${r.throughputRatio} < ${TARGET_RATIO} at ${r.records.toLocaleString('en-US')} records`);
    }
  }
  if (peakRssGrowth !== null) {
    const verdict = peakRssGrowth > MAX_RSS_GROWTH ? `below target: peak RSS grows with the record count (> ${MAX_RSS_GROWTH})` : 'flat';
    console.log(`peak RSS growth ${largest.records.toLocaleString('en-US')} / ${smallest.records.toLocaleString('en-US')} records: ${peakRssGrowth} (${verdict})`);
  }
  const summary = {
    bench: 'ingest-and-recommend',
    scenario: SCENARIO,
    node: process.version,
    cpus: cpuList.length,
    runsPerMode: runs,
    results: results.map(({ details: _details, ...r }) => r),
    peakRssGrowth,
  };
  console.log(JSON.stringify(summary));
}

main().catch((e: unknown) => {
  console.error(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
