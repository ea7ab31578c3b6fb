// `policy-recommender demo`: the main job on the bundled sample flows, into a fresh directory,
// run twice to show that a run with nothing new writes nothing.

import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG } from '../config/recommendation-config.ts';
import { parseTime } from '../engine/provenance.ts';
import { FileFlowSource } from '../flows/sources/file-source.ts';
import { recommendIntoDirectory } from '../pipeline/run.ts';
import type { Io } from './main.ts';
import { renderSummary } from './summary.ts';

export const SAMPLE_FLOWS = fileURLToPath(new URL('../../samples/flows/', import.meta.url));
/** The bundled samples end at this time (see samples/README.md). */
export const SAMPLE_NOW = '2026-11-22T12:00:00Z';

export async function runDemo(io: Io): Promise<number> {
  const out = await mkdtemp(join(tmpdir(), 'policy-recommender-demo-'));
  const now = parseTime(SAMPLE_NOW)!;
  const run = async () =>
    recommendIntoDirectory({ source: await FileFlowSource.open([SAMPLE_FLOWS]), outDir: out, config: DEFAULT_CONFIG, now, dryRun: false });

  io.stdout(`policy-recommender demo: the bundled sample flows (${SAMPLE_FLOWS}) as of ${SAMPLE_NOW}, into ${out}\n`);
  const first = await run();
  io.stdout(renderSummary(first, out, false));

  const second = await run();
  io.stdout(
    second.plan.changes.size === 0
      ? '\nSecond run on the same flows: no file changed (a run with nothing new writes nothing).'
      : `\nSecond run on the same flows changed ${second.plan.changes.size} files: ${[...second.plan.changes.keys()].join(', ')}`,
  );

  const example = join(out, 'namespace-isolation', 'yaobank.yaml');
  io.stdout(`\nThe yaobank recommendation, ${example}:\n\n${await readFile(example, 'utf8')}`);
  io.stdout(
    `Next: Argo CD (a directory source, recurse) and Flux (which generates its kustomization) apply ${out} as it is; ` +
      '`policy-recommender recommend --flows <your flow logs> --out <policies repo>/<cluster>` runs it on your cluster\'s flows.',
  );
  return 0;
}
