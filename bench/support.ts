// What every bench shares. A measurement runs in a child process of its own, so its peak RSS is
// that measurement's alone; the child times only the work (modules are loaded first), wall and CPU
// (user + system of every thread of the process), and prints one Measurement as its last stdout
// line. The parent runs baseline and ours in pairs, alternating, and reports the median and the
// spread (min-max) of each, and their ratios: the medians' and each pair's (a pair runs back to
// back, so a load change on a shared machine hits both of its runs alike).

import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { RecordShape } from '../src/generator/record.ts';

export const MB = 1024 * 1024;

export type Mode = 'baseline' | 'ours';
const MODES: readonly Mode[] = ['baseline', 'ours'];

export interface Measurement {
  readonly mode: Mode;
  /** Inputs read: lines, flows or buckets. */
  readonly records: number;
  readonly elapsedMs: number;
  /** CPU time (user + system, all threads of the process) spent in the work. */
  readonly cpuMs: number;
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

/** Median and spread of one quantity over a mode's runs (or over the pairs' ratios). */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** One mode's runs. */
export interface ModeFigures {
  readonly runs: number;
  /** Wall time of the work, ms. */
  readonly wallMs: Spread;
  /** CPU time of the work (user + system, every thread), ms. */
  readonly cpuMs: Spread;
  /** Highest peak RSS of its runs. */
  readonly peakRssMb: number;
}

/** One source against its baseline, over paired runs. */
export interface Comparison {
  readonly records: number;
  /** records / ours' median wall time. */
  readonly recordsPerSec: number;
  readonly baselineRecordsPerSec: number;
  /** Baseline's median wall time over ours': above 1, ours is faster. The figure the targets name. */
  readonly throughputRatio: number;
  /** Baseline's median CPU time over ours': above 1, ours spends less CPU per record. */
  readonly cpuRatio: number;
  /** The same ratios pair by pair (baseline run i over ours run i): median and spread. */
  readonly pairedWallRatio: Spread;
  readonly pairedCpuRatio: Spread;
  readonly ours: ModeFigures;
  readonly baseline: ModeFigures;
  readonly peakRssMb: number;
  readonly baselinePeakRssMb: number;
  /** Ours' fastest run (the simulation bench's rates use it). */
  readonly bestMs: number;
  readonly baselineBestMs: number;
  /** The median `ours` run's details. */
  readonly details: Readonly<Record<string, unknown>>;
}

export const round = (x: number, digits: number): number => Number(x.toFixed(digits));
export const count = (n: number): string => n.toLocaleString('en-US');
const peakBytes = (m: Measurement): number => Math.max(m.maxRssKb * 1024, m.sampledPeakRssBytes);
const parseMode = (text: string | undefined): Mode | undefined => MODES.find((mode) => mode === text);

/**
 * An aggregated pod name (`<prefix>-*`) after the `n`th roll-out of its workload: another
 * pod-template hash, so another name; other names stay. How the Goldmane and Elasticsearch benches
 * make more distinct flows than a scenario has.
 */
export function rolledOutName(name: string, n: number): string {
  return n === 0 || !name.endsWith('-*') ? name : `${name.slice(0, -2)}${n.toString(36)}-*`;
}

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
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const done = await work();
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(sampler);
  sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
  const measurement: Measurement = {
    mode,
    records: done.records,
    elapsedMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
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

/** What a generated file holds: a scenario's records in a record shape (src/generator/record.ts). */
export interface FlowSpec {
  readonly scenario: string;
  readonly shape?: RecordShape;
}

/**
 * Writes `records` records of a generated scenario (a name: the compact shape) to `file` (gzip when
 * it ends in `.gz`) and says so. They end at the last 5-minute flush boundary, so the file is
 * reproducible within 5 minutes; the returned `now` is that end, so the default 6h span lies wholly
 * inside the 24h lookback. The generator is loaded here, not at the top: the measuring children
 * import this module too.
 */
export async function generateFlowFile(file: string, spec: string | FlowSpec, records: number): Promise<{ now: number; fileMb: number }> {
  const { writeFlowFile } = await import('../src/generator/generate.ts');
  const { scenario, shape } = typeof spec === 'string' ? { scenario: spec, shape: undefined } : spec;
  const now = Math.floor(Date.now() / 1000 / 300) * 300;
  const started = performance.now();
  await writeFlowFile(file, { scenario, records, endTime: now, ...(shape === undefined ? {} : { shape }) });
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

/** Median (the mean of the middle two for an even count), min and max; rounded to `digits`. */
export function spread(values: readonly number[], digits: number): Spread {
  if (values.length === 0) throw new RangeError('spread of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median: round(median, digits), min: round(sorted[0]!, digits), max: round(sorted.at(-1)!, digits) };
}

const formatSpread = (s: Spread, digits: number): string =>
  `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`;

/**
 * Runs `runs` pairs, baseline then ours in odd pairs and ours then baseline in even ones (so
 * neither always runs first after a change of load or page cache), printing every run; `check`
 * throws when a run did not do the whole work (so a fast but wrong run cannot count).
 */
export async function compareWithBaseline(
  records: number,
  runs: number,
  measure: (mode: Mode) => Promise<Measurement>,
  check: (m: Measurement) => void = () => undefined,
): Promise<Comparison> {
  const results: Record<Mode, Measurement[]> = { baseline: [], ours: [] };
  for (let i = 0; i < runs; i++) {
    for (const mode of i % 2 === 0 ? MODES : [...MODES].reverse()) {
      const m = await measure(mode);
      if (m.records !== records) throw new Error(`${mode} run read ${m.records} records, expected ${records}`);
      check(m);
      results[mode].push(m);
      console.log(
        `  run ${i + 1}/${runs} ${mode.padEnd(8)} ${(m.elapsedMs / 1000).toFixed(2).padStart(7)} s wall ${(m.cpuMs / 1000).toFixed(2).padStart(7)} s CPU  ` +
          `${count(Math.round(records / (m.elapsedMs / 1000))).padStart(11)} rec/s  peak RSS ${(peakBytes(m) / MB).toFixed(0)} MB`,
      );
    }
  }
  const figures = (ms: Measurement[]): ModeFigures => ({
    runs: ms.length,
    wallMs: spread(
      ms.map((m) => m.elapsedMs),
      1,
    ),
    cpuMs: spread(
      ms.map((m) => m.cpuMs),
      1,
    ),
    peakRssMb: round(Math.max(...ms.map(peakBytes)) / MB, 1),
  });
  const ours = figures(results.ours);
  const base = figures(results.baseline);
  const paired = (of: (m: Measurement) => number): Spread =>
    spread(
      results.baseline.map((b, i) => of(b) / of(results.ours[i]!)),
      3,
    );
  // The details of the run whose time is the median (the lower middle one for an even count).
  const byTime = [...results.ours].sort((a, b) => a.elapsedMs - b.elapsedMs);
  const middle = byTime[(byTime.length - 1) >> 1]!;
  return {
    records,
    recordsPerSec: Math.round(records / (ours.wallMs.median / 1000)),
    baselineRecordsPerSec: Math.round(records / (base.wallMs.median / 1000)),
    throughputRatio: round(base.wallMs.median / ours.wallMs.median, 3),
    cpuRatio: round(base.cpuMs.median / ours.cpuMs.median, 3),
    pairedWallRatio: paired((m) => m.elapsedMs),
    pairedCpuRatio: paired((m) => m.cpuMs),
    ours,
    baseline: base,
    peakRssMb: ours.peakRssMb,
    baselinePeakRssMb: base.peakRssMb,
    bestMs: ours.wallMs.min,
    baselineBestMs: base.wallMs.min,
    details: middle.details,
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
    `ours ${count(c.recordsPerSec)} rec/s, baseline ${count(c.baselineRecordsPerSec)} rec/s (medians of ${c.ours.runs}); ` +
      `wall ratio ${c.throughputRatio.toFixed(3)} (pairs ${formatSpread(c.pairedWallRatio, 3)}), CPU ratio ${c.cpuRatio.toFixed(3)} (pairs ${formatSpread(c.pairedCpuRatio, 3)}); ` +
      `peak RSS ours ${c.peakRssMb} MB, baseline ${c.baselinePeakRssMb} MB`,
  );
  console.log(JSON.stringify({ ...facts, node: process.version, ...summarize(c) }));
}

/** A Comparison for the JSON summary: the figures, not the details. */
export function summarize<T extends Comparison>({ details: _details, ...figures }: T): Omit<T, 'details'> {
  return figures;
}

/** One row per measurement: medians and (min-max) of wall and CPU seconds per mode, the ratios, peak RSS. */
export function printTable(rows: readonly { source: string; comparison: Comparison }[]): void {
  const header = [
    'source',
    'records',
    'ours wall s',
    'baseline wall s',
    'wall ratio (pairs)',
    'ours CPU s',
    'baseline CPU s',
    'CPU ratio (pairs)',
    'peak RSS MB ours',
    'baseline',
  ];
  const seconds = (s: Spread): string => formatSpread({ median: s.median / 1000, min: s.min / 1000, max: s.max / 1000 }, 2);
  const cells = rows.map(({ source, comparison: c }) => [
    source,
    count(c.records),
    seconds(c.ours.wallMs),
    seconds(c.baseline.wallMs),
    `${c.throughputRatio.toFixed(3)} (${c.pairedWallRatio.min.toFixed(3)}-${c.pairedWallRatio.max.toFixed(3)})`,
    seconds(c.ours.cpuMs),
    seconds(c.baseline.cpuMs),
    `${c.cpuRatio.toFixed(3)} (${c.pairedCpuRatio.min.toFixed(3)}-${c.pairedCpuRatio.max.toFixed(3)})`,
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
