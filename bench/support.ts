// What every bench shares. A measurement runs in a child process of its own, so its peak RSS is
// that measurement's alone; the child times only the work (modules are loaded first) and prints
// one Measurement as its last stdout line. The parent alternates baseline and ours, and the best
// time of each counts, so warm-up, page-cache and scheduling noise hit both alike.

import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

export const MB = 1024 * 1024;

export type Mode = 'baseline' | 'ours';
const MODES: readonly Mode[] = ['baseline', 'ours'];

export interface Measurement {
  readonly mode: Mode;
  /** Inputs read: lines, flows or buckets. */
  readonly records: number;
  readonly elapsedMs: number;
  /** process.resourceUsage().maxRSS: kilobytes on Linux and macOS. */
  readonly maxRssKb: number;
  /** Highest RSS seen by a 20 ms sampler, in bytes. */
  readonly sampledPeakRssBytes: number;
  /** Mode-specific facts to check the run did the real work. */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface WorkDone {
  readonly records: number;
  readonly details: Readonly<Record<string, unknown>>;
}

/** The timed work of one mode. */
export type Work = () => Promise<WorkDone>;
/** Loads a mode's modules, then hands back its work, so loading is not timed. */
export type Prepare = () => Promise<Work>;

/** One source against its baseline, from the best run of each. */
export interface Comparison {
  readonly records: number;
  readonly recordsPerSec: number;
  readonly baselineRecordsPerSec: number;
  readonly throughputRatio: number;
  readonly peakRssMb: number;
  readonly baselinePeakRssMb: number;
  readonly bestMs: number;
  readonly baselineBestMs: number;
  /** The best `ours` run's details. */
  readonly details: Readonly<Record<string, unknown>>;
}

export const round = (x: number, digits: number): number => Number(x.toFixed(digits));
export const count = (n: number): string => n.toLocaleString('en-US');
const peakBytes = (m: Measurement): number => Math.max(m.maxRssKb * 1024, m.sampledPeakRssBytes);
const parseMode = (text: string | undefined): Mode | undefined => MODES.find((mode) => mode === text);

/** A positive integer from the command line; `_` may group digits. */
export function positiveInteger(text: string, name: string): number {
  const n = Number(text.trim().replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${text}"`);
  return n;
}

// ---------------------------------------------------------------- child side

/** Times `work`, samples RSS while it runs, and prints the Measurement as one JSON line. */
async function reportMeasurement(mode: Mode, work: Work): Promise<void> {
  let sampledPeak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
  }, 20);
  sampler.unref();
  const started = performance.now();
  const done = await work();
  const elapsedMs = performance.now() - started;
  clearInterval(sampler);
  sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
  const measurement: Measurement = {
    mode,
    records: done.records,
    elapsedMs,
    maxRssKb: process.resourceUsage().maxRSS,
    sampledPeakRssBytes: sampledPeak,
    details: done.details,
  };
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
}

/** A reader child's side: prepares the work of the mode named on its command line and measures it. */
export async function measureMode(modeText: string | undefined, prepare: Readonly<Record<Mode, Prepare>>, usage: string): Promise<void> {
  const mode = parseMode(modeText);
  if (mode === undefined) throw new Error(`usage: ${usage}`);
  await reportMeasurement(mode, await prepare[mode]());
}

/** For a child's entry point: a failure goes to stderr and the exit code, which the parent reports. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    process.stderr.write(`${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
}

/** A server child's side: runs until the parent closes its stdin (or goes away), then `stop`. */
export async function serveUntilStdinCloses(port: number, stop: () => void): Promise<void> {
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once('end', resolve).once('close', resolve));
  stop();
}

// ---------------------------------------------------------------- parent side

/**
 * Runs `work` with a fresh temporary directory, removed when it ends, and also when the bench is
 * interrupted (SIGINT, SIGTERM): generated flow files are gigabytes.
 */
export async function withTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'policy-recommender-bench-'));
  const onSignal = (signal: NodeJS.Signals) => {
    rmSync(dir, { recursive: true, force: true });
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Writes `records` records of a generated scenario to `file` and says so. They end at the last
 * 5-minute flush boundary, so the file is reproducible within 5 minutes; the returned `now` is that
 * end, so the default 6h span lies wholly inside the 24h lookback. The generator is loaded here,
 * not at the top: the measuring children import this module too.
 */
export async function generateFlowFile(file: string, scenario: string, records: number): Promise<{ now: number; fileMb: number }> {
  const { writeFlowFile } = await import('../src/generator/generate.ts');
  const now = Math.floor(Date.now() / 1000 / 300) * 300;
  const started = performance.now();
  await writeFlowFile(file, { scenario, records, endTime: now });
  const fileMb = (await stat(file)).size / MB;
  console.log(`generated ${count(records)} records (${fileMb.toFixed(0)} MB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { now, fileMb };
}

/** Runs `node ...args` and resolves to the Measurement it printed last. */
export function measureInChild(args: readonly string[], name: string): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => (out += text));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`${name} failed (${signal ?? `exit ${code}`})`));
        return;
      }
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as Measurement);
      } catch {
        reject(new Error(`${name} printed no result: ${JSON.stringify(out.slice(-500))}`));
      }
    });
  });
}

interface ServerChild {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Starts a server in a child process (`node ...args`, which calls serveUntilStdinCloses), so its
 * memory and CPU are not charged to the readers, and one server serves every run.
 */
async function startServerChild(args: readonly string[], name: string): Promise<ServerChild> {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const stop = async (): Promise<void> => {
    // Closing its stdin tells the server to stop; the kill is for a server that hangs.
    child.stdin?.end();
    if (child.exitCode !== null || child.signalCode !== null) return;
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await new Promise((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
  };
  try {
    const { port } = JSON.parse(await firstLine(child, name)) as { port: number };
    return { port, stop };
  } catch (e) {
    await stop();
    throw e;
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

export interface ServedBench {
  /** For messages: the source's name. */
  readonly name: string;
  readonly records: number;
  readonly runs: number;
  /** `node` arguments of the server child (which calls serveUntilStdinCloses). */
  readonly server: readonly string[];
  /** `node` arguments of one reader child (which calls measureMode). */
  readonly reader: (mode: Mode, port: number) => readonly string[];
  readonly check?: (m: Measurement) => void;
}

/** One server child for all runs, and a reader child per run (compareWithBaseline). */
export async function compareServedReaders(bench: ServedBench): Promise<Comparison> {
  const server = await startServerChild(bench.server, `${bench.name} server`);
  try {
    return await compareWithBaseline(
      bench.records,
      bench.runs,
      (mode) => measureInChild(bench.reader(mode, server.port), `${bench.name} ${mode} reader`),
      bench.check,
    );
  } finally {
    await server.stop();
  }
}

/**
 * Runs baseline and ours alternately, `runs` times each, printing every run; `check` throws when
 * a run did not do the whole work (so a fast but wrong run cannot count).
 */
export async function compareWithBaseline(
  records: number,
  runs: number,
  measure: (mode: Mode) => Promise<Measurement>,
  check: (m: Measurement) => void = () => undefined,
): Promise<Comparison> {
  const results: Record<Mode, Measurement[]> = { baseline: [], ours: [] };
  for (let i = 0; i < runs; i++) {
    for (const mode of MODES) {
      const m = await measure(mode);
      if (m.records !== records) throw new Error(`${mode} run read ${m.records} records, expected ${records}`);
      check(m);
      results[mode].push(m);
      console.log(
        `  run ${i + 1}/${runs} ${mode.padEnd(8)} ${(m.elapsedMs / 1000).toFixed(2).padStart(7)} s  ` +
          `${count(Math.round(records / (m.elapsedMs / 1000))).padStart(11)} rec/s  peak RSS ${(peakBytes(m) / MB).toFixed(0)} MB`,
      );
    }
  }
  const best = (ms: Measurement[]): Measurement => ms.reduce((a, b) => (b.elapsedMs < a.elapsedMs ? b : a));
  const peakMb = (ms: Measurement[]): number => Math.max(...ms.map(peakBytes)) / MB;
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
    details: ours.details,
  };
}

/** A standalone bench's command line: `[records] [--runs N]`, and the string options named in `extra`. */
export function parseStandaloneArgs(
  argv: string[],
  defaults: { records: number; runs: number },
  extra: readonly string[] = [],
): { records: number; runs: number; values: Readonly<Record<string, string | undefined>> } {
  const options = Object.fromEntries(['runs', ...extra].map((name) => [name, { type: 'string' as const }]));
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options });
  const text = values as Record<string, string | undefined>;
  return {
    records: positionals[0] === undefined ? defaults.records : positiveInteger(positionals[0], 'records'),
    runs: text['runs'] === undefined ? defaults.runs : positiveInteger(text['runs'], '--runs'),
    values: text,
  };
}

/** A standalone bench's verdict and, as its last line, its JSON summary. */
export function printStandaloneResult(facts: Readonly<Record<string, unknown>>, c: Comparison): void {
  console.log(
    `ours ${count(c.recordsPerSec)} rec/s, baseline ${count(c.baselineRecordsPerSec)} rec/s, ratio ${c.throughputRatio.toFixed(3)}; ` +
      `peak RSS ours ${c.peakRssMb} MB, baseline ${c.baselinePeakRssMb} MB`,
  );
  console.log(JSON.stringify({ ...facts, node: process.version, ...summarize(c) }));
}

/** A Comparison for the JSON summary: the figures, not the details. */
export function summarize<T extends Comparison>({ details: _details, ...figures }: T): Omit<T, 'details'> {
  return figures;
}

export function printTable(rows: readonly { source: string; comparison: Comparison }[]): void {
  const header = ['source', 'records', 'ours rec/s', 'baseline rec/s', 'ratio', 'peak RSS MB ours', 'peak RSS MB baseline'];
  const cells = rows.map(({ source, comparison: c }) => [
    source,
    count(c.records),
    count(c.recordsPerSec),
    count(c.baselineRecordsPerSec),
    c.throughputRatio.toFixed(3),
    c.peakRssMb.toFixed(1),
    c.baselinePeakRssMb.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log('');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) console.log(line(row));
  console.log('');
}
