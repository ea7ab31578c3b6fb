// `policy-recommender demo`: the main job on the bundled sample flows, into a fresh directory,
// run twice to show that a run with nothing new writes nothing.

import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG } from '../config/recommendation-config.ts';
import { parseTime } from '../engine/provenance.ts';
import type { FlowSource } from '../flows/source.ts';
import type { Io } from './main.ts';
import { recommendIntoDirectory } from './recommend-directory.ts';
import { renderSummary } from './summary.ts';

export const SAMPLE_FLOWS = fileURLToPath(new URL('../../samples/flows/', import.meta.url));
/** The bundled samples end at this time (see samples/README.md). */
export const SAMPLE_NOW = '2026-11-22T12:00:00Z';

/** `openFlows` is the command line's (main.ts): the same checks and progress as `recommend`. */
export async function runDemo(io: Io, openFlows: (paths: readonly string[], io: Io) => Promise<FlowSource>): Promise<number> {
  const now = parseTime(SAMPLE_NOW)!;
  const source = async () => openFlows([SAMPLE_FLOWS], io);
  // Checked before the directory is made: without the samples there is nothing to show.
  const firstSource = await source();
  const out = await mkdtemp(join(tmpdir(), 'policy-recommender-demo-'));
  const run = async (flows?: FlowSource) =>
    recommendIntoDirectory({ source: flows ?? (await source()), outDir: out, config: DEFAULT_CONFIG, now, dryRun: false });

  io.stdout(`policy-recommender demo: the bundled sample flows (${SAMPLE_FLOWS}) as of ${SAMPLE_NOW}, into ${out}\n`);
  const first = await run(firstSource);
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
      "`policy-recommender recommend --flows <your flow logs> --out <policies repo>/<cluster>` runs it on your cluster's flows.",
  );
  return 0;
}
