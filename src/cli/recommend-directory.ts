// One recommendation run against a directory (the CLI's `recommend` and `demo`): read flows, plan
// the tree's changes, write them (unless dry-run). The App runs the same steps against a Git tree
// (app/run/run-repository.ts).

import type { RecommendationConfig } from '../config/recommendation-config.ts';
import { type FlowReading, readFlows, usableReading } from '../flows/read-flows.ts';
import type { FlowSource } from '../flows/source.ts';
import { type Plan, planRecommendations } from '../plan/plan.ts';
import { CILIUM_TEMPLATE_DIR, loadTree, TEMPLATE_DIR, writeTree } from '../tree/fs-tree.ts';

export interface DirectoryRun {
  readonly flows: FlowReading;
  readonly plan: Plan;
  /** The tree as it was, to render diffs against. */
  readonly before: ReadonlyMap<string, string>;
}

export async function recommendIntoDirectory(options: {
  source: FlowSource;
  outDir: string;
  config: RecommendationConfig;
  now: number;
  dryRun: boolean;
}): Promise<DirectoryRun> {
  const flows = usableReading(await readFlows(options.source, options.config, options.now));
  const [before, template] = await Promise.all([
    loadTree(options.outDir),
    loadTree(options.config.flavor === 'cilium' ? CILIUM_TEMPLATE_DIR : TEMPLATE_DIR),
  ]);
  const plan = planRecommendations({
    tree: before,
    template,
    observations: flows.observations.byNamespace,
    endpoints: flows.observations.endpoints,
    config: options.config,
    now: options.now,
    // The whole lookback window was read: a namespace without flows in it was not watched.
    observationsCoverLookback: true,
  });
  if (!options.dryRun) await writeTree(options.outDir, plan.changes);
  return { flows, plan, before };
}
