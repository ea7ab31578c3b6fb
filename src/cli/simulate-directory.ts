// `simulate` against a directory: read the flows of the lookback window, load the policies tree,
// and decide every flow with the policy set (staged policies applied unless asked not to).

import { stat } from 'node:fs/promises';
import { calicoReleaseOf, ipFamiliesOf, type RecommendationConfig } from '../config/recommendation-config.ts';
import { type FlowReading, lookbackWindow, readFlows, usableReading } from '../flows/read-flows.ts';
import { type FlowSource, overlapsWindow } from '../flows/source.ts';
import { Simulator } from '../simulate/evaluate.ts';
import { type PolicySetOptions, type PolicyView, type PolicyWarning, policySetFromTree } from '../simulate/policy-set.ts';
import { type FlowRow, SimulationReport, type Totals } from '../simulate/report.ts';
import { loadTree } from '../tree/fs-tree.ts';

export class PoliciesDirectoryError extends Error {
  override readonly name = 'PoliciesDirectoryError';
}

export interface DirectorySimulation {
  readonly flows: FlowReading;
  /** Records in the window that were simulated. */
  readonly simulated: number;
  readonly policies: {
    readonly dir: string;
    readonly view: PolicyView;
    /** Policies in force in the view. */
    readonly count: number;
    readonly warnings: readonly PolicyWarning[];
  };
  readonly rows: readonly FlowRow[];
  readonly totals: Totals;
}

/** What the configuration tells the simulator about the cluster: its release and IP families. */
export function policySetOptionsOf(config: RecommendationConfig): PolicySetOptions {
  return { calicoVersion: calicoReleaseOf(config), ipFamilies: ipFamiliesOf(config) };
}

export async function simulateDirectory(options: {
  source: FlowSource;
  policiesDir: string;
  config: RecommendationConfig;
  now: number;
  view: PolicyView;
}): Promise<DirectorySimulation> {
  const { policiesDir: dir } = options;
  const info = await stat(dir).catch((e: NodeJS.ErrnoException) => {
    throw new PoliciesDirectoryError(`cannot read ${dir}: ${e.code === 'ENOENT' ? 'no such directory' : e.message}`);
  });
  if (!info.isDirectory()) throw new PoliciesDirectoryError(`cannot read ${dir}: not a directory`);
  const tree = await loadTree(dir).catch((e: Error) => {
    throw new PoliciesDirectoryError(`cannot read ${dir}: ${e.message}`);
  });
  const set = policySetFromTree(tree, policySetOptionsOf(options.config));
  const simulator = new Simulator(set, options.view);
  const report = new SimulationReport();
  const window = lookbackWindow(options.config, options.now);
  let simulated = 0;
  const flows = usableReading(
    await readFlows(options.source, options.config, options.now, window, (record) => {
      if (!overlapsWindow(record, window)) return;
      simulated++;
      report.add(record, simulator.evaluate(record));
    }),
  );
  return {
    flows,
    simulated,
    policies: { dir, view: options.view, count: simulator.plan.policyCount, warnings: set.warnings },
    rows: report.rows(),
    totals: report.totals(),
  };
}
