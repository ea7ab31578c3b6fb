// One measurement of the file source in its own process, so peak memory belongs to that
// measurement alone.
//   node bench/worker.ts baseline <file>
//   node bench/worker.ts ours <file> <now unix seconds>
// Prints one JSON line (a Measurement, bench/support.ts) on stdout. Only the work itself is timed;
// the project's modules are imported before the clock starts, and only in `ours` mode, so the
// baseline's memory is not charged for them.

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { measureMode, runMain, type Work, type WorkDone } from './support.ts';

/** The same read size FileFlowSource uses, so the baseline is not slowed by smaller reads. */
const READ_CHUNK = 1 << 20;

async function baseline(file: string): Promise<WorkDone> {
  const lines = createInterface({ input: createReadStream(file, { highWaterMark: READ_CHUNK }), crlfDelay: Infinity });
  let records = 0;
  let objects = 0;
  for await (const line of lines) {
    records++;
    const value: unknown = JSON.parse(line);
    // Use the result so the parse cannot be treated as dead code.
    if (typeof value === 'object' && value !== null) objects++;
  }
  return { records, details: { objects } };
}

/** Loads the project's modules, then returns the timed work: file -> readFlows -> planRecommendations. */
async function ours(file: string, now: number): Promise<Work> {
  const [{ FileFlowSource }, { readFlows }, { planRecommendations }, { loadTree, TEMPLATE_DIR }, { DEFAULT_CONFIG }] = await Promise.all([
    import('../src/flows/sources/file-source.ts'),
    import('../src/flows/read-flows.ts'),
    import('../src/plan/plan.ts'),
    import('../src/tree/fs-tree.ts'),
    import('../src/config/recommendation-config.ts'),
  ]);
  return async () => {
    const source = await FileFlowSource.open([file]);
    const flows = await readFlows(source, DEFAULT_CONFIG, now);
    const template = await loadTree(TEMPLATE_DIR);
    const plan = planRecommendations({
      tree: new Map(),
      template,
      observations: flows.observations.byNamespace,
      config: DEFAULT_CONFIG,
      now,
    });
    let atoms = 0;
    for (const list of flows.observations.byNamespace.values()) atoms += list.length;
    return {
      records: flows.inputsRead,
      details: {
        skipped: flows.skipped.total,
        recordsLearned: flows.observations.recordsLearned,
        namespaces: flows.observations.byNamespace.size,
        atoms,
        changedFiles: plan.changes.size,
        warnings: plan.warnings.length,
      },
    };
  };
}

const USAGE = 'worker.ts baseline <file> | worker.ts ours <file> <now>';

async function main(argv: readonly string[]): Promise<void> {
  const [mode, file, now] = argv;
  if (file === undefined) throw new Error(`usage: ${USAGE}`);
  await measureMode(mode, { baseline: async () => () => baseline(file), ours: () => ours(file, Number(now)) }, USAGE);
}

runMain('bench worker', () => main(process.argv.slice(2)));
