// One measurement in its own process, so peak memory belongs to that measurement alone.
//   node bench/worker.ts baseline <file>
//   node bench/worker.ts ours <file> <now unix seconds>
// Prints one JSON line (WorkerResult) on stdout. Only the work itself is timed; the project's
// modules are imported before the clock starts, and only in `ours` mode, so the baseline's
// memory is not charged for them.

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export type WorkerMode = 'baseline' | 'ours';

export interface WorkerResult {
  readonly mode: WorkerMode;
  /** Lines read (baseline) or inputs read by the flow source (ours). */
  readonly records: number;
  readonly elapsedMs: number;
  /** process.resourceUsage().maxRSS: kilobytes on Linux and macOS. */
  readonly maxRssKb: number;
  /** Highest RSS seen by a 20 ms sampler, in bytes. */
  readonly sampledPeakRssBytes: number;
  /** Mode-specific facts to check the run did the real work. */
  readonly details: Readonly<Record<string, unknown>>;
}

/** The same read size FileFlowSource uses, so the baseline is not slowed by smaller reads. */
const READ_CHUNK = 1 << 20;

async function baseline(file: string): Promise<{ records: number; elapsedMs: number; details: Record<string, unknown> }> {
  const started = performance.now();
  const lines = createInterface({ input: createReadStream(file, { highWaterMark: READ_CHUNK }), crlfDelay: Infinity });
  let records = 0;
  let objects = 0;
  for await (const line of lines) {
    records++;
    const value: unknown = JSON.parse(line);
    // Use the result so the parse cannot be treated as dead code.
    if (typeof value === 'object' && value !== null) objects++;
  }
  const elapsedMs = performance.now() - started;
  return { records, elapsedMs, details: { objects } };
}

async function ours(file: string, now: number): Promise<{ records: number; elapsedMs: number; details: Record<string, unknown> }> {
  const [{ FileFlowSource }, { readFlows, TEMPLATE_DIR }, { planRecommendations }, { loadTree }, { DEFAULT_CONFIG }] = await Promise.all([
    import('../src/flows/sources/file-source.ts'),
    import('../src/pipeline/run.ts'),
    import('../src/pipeline/plan.ts'),
    import('../src/repo/fs-tree.ts'),
    import('../src/config/recommendation-config.ts'),
  ]);
  const started = performance.now();
  const source = await FileFlowSource.open([file]);
  const flows = await readFlows(source, DEFAULT_CONFIG, now);
  const template = await loadTree(TEMPLATE_DIR);
  const plan = planRecommendations({ tree: new Map(), template, observations: flows.observations.byNamespace, config: DEFAULT_CONFIG, now });
  const elapsedMs = performance.now() - started;
  let atoms = 0;
  for (const list of flows.observations.byNamespace.values()) atoms += list.length;
  return {
    records: flows.inputsRead,
    elapsedMs,
    details: {
      skipped: flows.skipped.total,
      recordsLearned: flows.observations.recordsLearned,
      namespaces: flows.observations.byNamespace.size,
      atoms,
      changedFiles: plan.changes.size,
      warnings: plan.warnings.length,
    },
  };
}

async function main(argv: readonly string[]): Promise<void> {
  const [mode, file, nowText] = argv;
  if ((mode !== 'baseline' && mode !== 'ours') || file === undefined || (mode === 'ours' && nowText === undefined)) {
    throw new Error('usage: worker.ts baseline <file> | worker.ts ours <file> <now>');
  }
  let sampledPeak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
  }, 20);
  sampler.unref();
  const run = mode === 'baseline' ? await baseline(file) : await ours(file, Number(nowText));
  clearInterval(sampler);
  sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
  const result: WorkerResult = {
    mode,
    records: run.records,
    elapsedMs: run.elapsedMs,
    maxRssKb: process.resourceUsage().maxRSS,
    sampledPeakRssBytes: sampledPeak,
    details: run.details,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`bench worker failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
