// A recommendation unit's change, as its PR proposes it: the planned files, the memory the PR keeps,
// and the simulation of the observed flows against the tree as the PR (and the cluster-wide files'
// PR) would leave it.

import { parseSelector } from '../../calico/selector.ts';
import type { RecommendationConfig } from '../../config/recommendation-config.ts';
import type { EndpointRef } from '../../engine/model.ts';
import { workloadPolicyName } from '../../engine/naming.ts';
import type { NamespaceReport, RuleReport } from '../../engine/report.ts';
import { parseLabels, type WorkloadId } from '../../engine/workloads.ts';
import type { StagedRef } from '../../simulate/policy-set.ts';
import { flowsOfEndpoints, flowsOfHostEndpoints, flowsOfObservations, type SimulatedFlow } from '../../simulate/would-deny.ts';
import type { BootstrapProposal, Proposal } from '../proposal.ts';
import { type SimulationQuestion, simulate } from './simulation.ts';
import type { LifecycleInput, UnitChange } from './unit.ts';
import { hostEndpointsOf } from './unit-flows.ts';

/** `proposal` with its rules' `changed` as `fresh` (the same unit proposed without memory) says them. */
export function withNewRulesOf(proposal: Proposal, fresh: Proposal): Proposal {
  const id = (r: RuleReport) => `${r.direction} ${r.action} ${r.category} ${r.protocol} ${r.peers.join(',')} ${r.ports.join(',')}`;
  const changed = new Map(
    [...fresh.namespaces, ...fresh.workloads].flatMap((report) =>
      report.rules.map((r): [string, boolean] => [`${report.path} ${id(r)}`, r.changed]),
    ),
  );
  const marked = <T extends NamespaceReport>(report: T): T => ({
    ...report,
    rules: report.rules.map((r) => ({ ...r, changed: changed.get(`${report.path} ${id(r)}`) ?? r.changed })),
  });
  return { ...proposal, namespaces: proposal.namespaces.map(marked), workloads: proposal.workloads.map(marked) };
}

/** The tree as the PR would leave it (cluster-relative). */
export function treeWith(input: LifecycleInput, files: ReadonlyMap<string, string>): Map<string, string> {
  const prefix = input.clusterPath === '' ? '' : `${input.clusterPath}/`;
  const tree = new Map(input.tree);
  for (const [path, text] of files) if (path.startsWith(prefix)) tree.set(path.slice(prefix.length), text);
  return tree;
}

function baseChange(
  proposal: Proposal,
  memory: Record<string, string>,
  flows: readonly SimulatedFlow[],
  input: LifecycleInput,
  question: SimulationQuestion,
  bootstrap: BootstrapProposal | null,
): UnitChange {
  // The tree as it will be once this PR and the cluster-wide files' PR are merged (they can be merged in any order).
  const after = new Map([...(bootstrap?.files ?? []), ...proposal.files]);
  return {
    files: proposal.files,
    added: proposal.added,
    hash: proposal.hash,
    status: proposal.status,
    lastUpdated: proposal.lastUpdated,
    reports: proposal.workloads.length > 0 ? proposal.workloads : proposal.namespaces,
    warnings: proposal.warnings,
    memory,
    simulation: simulate(treeWith(input, after), flows, input.facts, question).summary,
  };
}

/** The bootstrap PR's change: the cluster-wide files, with nothing learned and nothing to simulate. */
export function bootstrapChange(bootstrap: BootstrapProposal): UnitChange {
  return {
    files: bootstrap.files,
    added: bootstrap.added,
    hash: bootstrap.hash,
    status: 'Stable',
    lastUpdated: null,
    reports: [],
    warnings: bootstrap.warnings,
    memory: {},
  };
}

function proposedMemory(proposal: Proposal, input: LifecycleInput, paths: readonly string[]): Record<string, string> {
  const prefix = input.clusterPath === '' ? '' : `${input.clusterPath}/`;
  const memory: Record<string, string> = {};
  for (const path of paths) {
    const text = proposal.files.get(prefix + path) ?? input.tree.get(path);
    if (text !== undefined) memory[path] = text;
  }
  return memory;
}

/**
 * A recommendation's question: what would its policies deny once enforced, with every other policy
 * as the cluster has it now (other staged policies, the template's default deny among them, are
 * not applied). Our policies may carry either name form (naming.ts): both are named.
 */
export function proposalQuestion(refs: readonly StagedRef[], what: string): SimulationQuestion {
  return {
    view: { staged: refs },
    asked: `${what} as if enforced; every other policy as the cluster has it (other staged policies are not applied).`,
  };
}

const namespacePolicyRefs = (config: RecommendationConfig, namespace: string): StagedRef[] => [
  { namespace, name: `${namespace}-recommendation` },
  { namespace, name: `${config.namespaceSpec.tierName}.${namespace}-recommendation` },
];

const workloadPolicyRefs = (config: RecommendationConfig, workloads: readonly WorkloadId[]): StagedRef[] =>
  workloads.flatMap((w) =>
    (['3.31', '3.32'] as const).map((release) => ({
      namespace: w.namespace,
      name: workloadPolicyName(config.microsegmentation.tierName, w, release),
    })),
  );

export function namespaceChange(
  proposal: Proposal,
  input: LifecycleInput,
  namespace: string,
  bootstrap: BootstrapProposal | null,
): UnitChange {
  const flows = [
    ...flowsOfObservations(new Map([[namespace, input.observations.byNamespace.get(namespace) ?? []]])),
    ...flowsOfHostEndpoints(hostEndpointsOf(input, namespace)),
  ];
  const question = proposalQuestion(namespacePolicyRefs(input.config, namespace), 'Its policy is evaluated');
  return baseChange(
    proposal,
    proposedMemory(
      proposal,
      input,
      proposal.namespaces.map((r) => r.path),
    ),
    flows,
    input,
    question,
    bootstrap,
  );
}

export function workloadsChange(
  proposal: Proposal,
  input: LifecycleInput,
  namespace: string,
  bootstrap: BootstrapProposal | null,
): UnitChange {
  // The flows the unit's workloads reported: those whose endpoint its policies select.
  const selectors = proposal.workloads.flatMap((w) => (w.selector === null ? [] : [parseSelector(w.selector)]));
  const selected = (e: EndpointRef) => {
    if (e.namespace !== namespace) return false;
    const labels = { ...parseLabels(e.labels), 'projectcalico.org/namespace': namespace };
    return selectors.some((s) => s.matches(labels));
  };
  const flows = [
    ...flowsOfEndpoints(input.observations.endpoints.filter((e) => selected(e.local))),
    ...flowsOfHostEndpoints(input.fresh.hostEndpoints.filter((h) => selected(h.local))),
  ];
  const workloads = proposal.workloads.map((w) => ({ namespace, ...w.workload }));
  const question = proposalQuestion(workloadPolicyRefs(input.config, workloads), 'Its policies are evaluated');
  return baseChange(
    proposal,
    proposedMemory(
      proposal,
      input,
      proposal.workloads.map((r) => r.path),
    ),
    flows,
    input,
    question,
    bootstrap,
  );
}
