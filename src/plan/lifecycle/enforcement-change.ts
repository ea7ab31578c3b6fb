// An enforcement unit's change: accepted staged policies rewritten as enforced ones (a namespace's,
// some workloads', the global default deny), checked against this run's flows.

import { enforcePolicyInFile, type StagedKind } from '../../engine/enforce.ts';
import type { Workload } from '../../engine/workloads.ts';
import { flowsOfEndpoints, flowsOfHostEndpoints, flowsOfObservations, type SimulatedFlow } from '../../simulate/would-deny.ts';
import type { ObjectRef } from '../../tree/inventory.ts';
import { contentHash } from '../../util/content-hash.ts';
import type { BootstrapProposal, Proposal } from '../proposal.ts';
import { ciliumStaging, treeWith } from './recommendation-change.ts';
import { type SimulationQuestion, simulate } from './simulation.ts';
import type { OurPolicy } from './tree-policies.ts';
import type { LifecycleInput, OpenUnit, UnitChange } from './unit.ts';
import { type CheckedFlow, namespaceFlows, workloadFlows } from './unit-flows.ts';

/** An enforce PR's question: the tree with the change is what the cluster would enforce; staged policies are not applied. */
function enforcementQuestion(what: string): SimulationQuestion {
  return { view: 'enforced', asked: `${what} enforced; every other policy as the cluster has it (staged policies are not applied).` };
}

/** The enforcement of a namespace's accepted staged policy: the same file, as a NetworkPolicy. */
export function enforcementChange(
  input: LifecycleInput,
  policy: OurPolicy,
  proposal: Proposal | null,
  quietSince: number,
): UnitChange | null {
  const text = enforcePolicyInFile(policy.text, policy.path, {
    kind: policy.ref.kind as StagedKind,
    namespace: policy.ref.namespace,
    name: policy.ref.name,
  });
  if (text === null) return null;
  const prefix = input.clusterPath === '' ? '' : `${input.clusterPath}/`;
  const flows = namespaceFlows(input, policy.ref.namespace!).map((f) => f.flow);
  return enforcement(input, new Map([[prefix + policy.path, text]]), flows, enforcementQuestion('Its policy is evaluated'), {
    reports: proposal?.namespaces ?? [],
    lastUpdated: proposal?.lastUpdated ?? null,
    quietSince,
  });
}

/** An enforcement's change: its files (repository paths), checked against this run's flows. */
function enforcement(
  input: LifecycleInput,
  files: ReadonlyMap<string, string>,
  flows: readonly SimulatedFlow[],
  question: SimulationQuestion,
  about: { readonly reports?: UnitChange['reports']; readonly lastUpdated?: string | null; readonly quietSince?: number } = {},
): UnitChange {
  const summary = simulate(treeWith(input, files), flows, input.facts, question, input.config.flavor).summary;
  return {
    files,
    added: new Set(),
    hash: contentHash(files),
    status: 'Stable',
    lastUpdated: about.lastUpdated ?? null,
    reports: about.reports ?? [],
    warnings: [],
    memory: {},
    simulation: about.quietSince === undefined ? summary : { ...summary, quietSince: about.quietSince },
  };
}

/** The enforcement of accepted workload policies: each file, its StagedNetworkPolicy as a NetworkPolicy. */
export function workloadsEnforcementChange(
  input: LifecycleInput,
  staged: readonly { ref: ObjectRef; workload: Workload }[],
  quietSince: number,
): UnitChange | null {
  const prefix = input.clusterPath === '' ? '' : `${input.clusterPath}/`;
  const files = new Map<string, string>();
  for (const { ref } of staged) {
    const text = enforcePolicyInFile(files.get(prefix + ref.path) ?? input.tree.get(ref.path) ?? '', ref.path, {
      kind: 'StagedNetworkPolicy',
      namespace: ref.namespace,
      name: ref.name,
    });
    if (text === null) return null;
    files.set(prefix + ref.path, text);
  }
  // The evidence is the traffic of the workloads enforced, as their acceptance was checked against.
  const flows = workloadFlows(
    input,
    staged[0]!.ref.namespace!,
    staged.map((e) => e.workload),
  ).map((f) => f.flow);
  return enforcement(input, files, flows, enforcementQuestion('Its policies are evaluated'), { quietSince });
}

/** The enforcement of the global default deny, with the observed flows it would deny. */
export function defaultDenyChange(input: LifecycleInput, policy: { path: string; text: string }): UnitChange | null {
  const text = enforcePolicyInFile(policy.text, policy.path, { kind: 'StagedGlobalNetworkPolicy', namespace: null, name: 'default-deny' });
  if (text === null) return null;
  const prefix = input.clusterPath === '' ? '' : `${input.clusterPath}/`;
  // Every namespace's traffic, those whose isolation policy is only staged included: enforcing the
  // default deny with the staged ones not applied is what would deny their traffic.
  const flows = [...flowsOfObservations(input.fresh.byNamespace), ...flowsOfHostEndpoints(input.fresh.hostEndpoints)];
  return enforcement(input, new Map([[prefix + policy.path, text]]), flows, enforcementQuestion('The global default deny is evaluated'));
}

/**
 * Cilium's clusterwide default deny, added from the template: merging it enforces it. Every
 * namespace's flows of this run, and those with host endpoints, are checked against the tree with
 * it; the PR is ready for review once nothing it would deny was seen for `stabilizationPeriod`.
 */
export function ciliumDefaultDenyChange(input: LifecycleInput, open: OpenUnit | undefined, template: BootstrapProposal): UnitChange {
  const atoms = [...input.fresh.byNamespace].flatMap(([, list]) => list);
  const { endpoints, hostEndpoints: hosts } = input.fresh;
  // flowsOfObservations keeps the namespaces' order and each one's atoms in order: the times line up.
  // The workloads' flows too, with their labels: a namespace's policy leaves out the pods of
  // workloads that have their own (microsegmentation), which the default deny would then decide.
  const flows: CheckedFlow[] = [
    ...flowsOfObservations(input.fresh.byNamespace).map((flow, i) => ({ flow, lastSeen: atoms[i]!.evidence.lastSeen })),
    ...flowsOfEndpoints(endpoints).map((flow, i) => ({ flow, lastSeen: endpoints[i]!.evidence.lastSeen })),
    ...flowsOfHostEndpoints(hosts).map((flow, i) => ({ flow, lastSeen: hosts[i]!.evidence.lastSeen })),
  ];
  const question: SimulationQuestion = {
    view: 'enforced',
    asked:
      "The clusterwide default deny is evaluated with Cilium's semantics, with every Cilium policy of the default branch (Cilium has no staged policies: merging enforces).",
  };
  // A run that read no flows has seen nothing the default deny would deny, and nothing it would allow.
  const staging = ciliumStaging(input, open, flows.length > 0 ? 'Stable' : 'Stabilizing', treeWith(input, template.files), flows, question);
  return {
    files: template.files,
    added: template.added,
    hash: template.hash,
    lastUpdated: null,
    reports: [],
    warnings: template.warnings,
    memory: {},
    ...staging,
  };
}
