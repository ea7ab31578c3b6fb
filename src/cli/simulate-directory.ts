// `simulate` against a directory: read the flows of the lookback window, load the policies tree,
// and decide every flow with the policy set (staged policies applied unless asked not to).

import { stat } from 'node:fs/promises';
import { calicoReleaseOf, ipFamiliesOf, type RecommendationConfig } from '../config/recommendation-config.ts';
import { type FlowReading, lookbackWindow, readFlows, usableReading } from '../flows/read-flows.ts';
import type { FlowRecord } from '../flows/record.ts';
import { type FlowSource, overlapsWindow } from '../flows/source.ts';
import { ciliumPolicySetFromTree } from '../simulate/cilium/policy-set.ts';
import { CiliumSimulator } from '../simulate/cilium/simulator.ts';
import { Simulator, type Verdict } from '../simulate/evaluate.ts';
import { type PolicySetOptions, type PolicyView, type PolicyWarning, policySetFromTree } from '../simulate/policy-set.ts';
import { type FlowRow, SimulationReport, type Totals } from '../simulate/report.ts';
import { loadTree } from '../tree/fs-tree.ts';
import type { TreeFiles } from '../tree/tree.ts';

export class PoliciesDirectoryError extends Error {
  override readonly name = 'PoliciesDirectoryError';
}

export interface DirectorySimulation {
  readonly flows: FlowReading;
  /** Records in the window that were simulated. */
  readonly simulated: number;
  readonly policies: {
    readonly dir: string;
    /** Whose policies the directory holds: Calico's (and Kubernetes'), or Cilium's. */
    readonly cni: 'calico' | 'cilium';
    readonly view: PolicyView;
    /** Policies in force in the view. */
    readonly count: number;
    readonly warnings: readonly PolicyWarning[];
  };
  readonly rows: readonly FlowRow[];
  readonly totals: Totals;
}

/** What the configuration tells the simulator about the cluster: its release and IP families. */
function policySetOptionsOf(config: RecommendationConfig): PolicySetOptions {
  return { calicoVersion: calicoReleaseOf(config), ipFamilies: ipFamiliesOf(config) };
}

/**
 * The simulator for what the tree holds: Cilium's policies, and the Kubernetes NetworkPolicies
 * beside them, are decided by the Cilium evaluator (which has no staged policies), everything else
 * by Calico's. A tree is one cluster's: Cilium policies beside Calico ones are refused.
 */
function simulatorFor(
  tree: TreeFiles,
  dir: string,
  options: { config: RecommendationConfig; view: PolicyView },
): { simulator: { evaluate(record: FlowRecord): Verdict }; policies: DirectorySimulation['policies'] } {
  const cilium = ciliumPolicySetFromTree(tree);
  if (cilium !== null) {
    if (cilium.otherPolicies.length > 0)
      throw new PoliciesDirectoryError(
        `${dir} holds Cilium policies and ${cilium.otherPolicies.length} Calico ${cilium.otherPolicies.length === 1 ? 'policy' : 'policies'} (${cilium.otherPolicies.slice(0, 3).join(', ')}): ` +
          'simulate one CNI at a time',
      );
    const simulator = new CiliumSimulator(cilium.policies);
    return {
      simulator,
      policies: { dir, cni: 'cilium', view: 'enforced', count: cilium.policies.length, warnings: cilium.warnings },
    };
  }
  const set = policySetFromTree(tree, policySetOptionsOf(options.config));
  const simulator = new Simulator(set, options.view);
  return { simulator, policies: { dir, cni: 'calico', view: options.view, count: simulator.plan.policyCount, warnings: set.warnings } };
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
  const { simulator, policies } = simulatorFor(tree, dir, options);
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
    policies,
    rows: report.rows(),
    totals: report.totals(),
  };
}
