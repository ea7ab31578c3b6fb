// A recommendation unit's change, as its PR proposes it: the planned files, the memory the PR keeps,
// and the simulation of the observed flows against the tree as the PR (and the cluster-wide files'
// PR) would leave it.

import { parseSelector } from '../../calico/selector.ts';
import type { RecommendationConfig } from '../../config/recommendation-config.ts';
import type { EndpointRef } from '../../engine/model.ts';
import { workloadPolicyName } from '../../engine/naming.ts';
import type { NamespaceReport, RuleReport } from '../../engine/report.ts';
import type { RecommendationStatus } from '../../engine/status.ts';
import { parseLabels, type WorkloadId } from '../../engine/workloads.ts';
import type { StagedRef } from '../../simulate/policy-set.ts';
import { flowsOfEndpoints, flowsOfHostEndpoints, flowsOfObservations } from '../../simulate/would-deny.ts';
import type { TreeFiles } from '../../tree/tree.ts';
import type { BootstrapProposal, Proposal } from '../proposal.ts';
import { type SimulationQuestion, simulate } from './simulation.ts';
import type { LifecycleInput, OpenUnit, UnitChange } from './unit.ts';
import { type CheckedFlow, hostEndpointsOf } from './unit-flows.ts';
import { keyId, type ProposalKey } from './unit-key.ts';

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
  flows: readonly CheckedFlow[],
  input: LifecycleInput,
  question: SimulationQuestion,
  bootstrap: BootstrapProposal | null,
): UnitChange {
  // The tree as it will be once this PR and the cluster-wide files' PR are merged (they can be merged in any order).
  const after = treeWith(input, new Map([...(bootstrap?.files ?? []), ...proposal.files]));
  const base = {
    files: proposal.files,
    added: proposal.added,
    hash: proposal.hash,
    lastUpdated: proposal.lastUpdated,
    reports: proposal.workloads.length > 0 ? proposal.workloads : proposal.namespaces,
    warnings: proposal.warnings,
    memory,
  };
  if (input.config.flavor !== 'cilium')
    return {
      ...base,
      status: proposal.status,
      simulation: simulate(
        after,
        flows.map((f) => f.flow),
        input.facts,
        question,
        input.config.flavor,
      ).summary,
    };
  // Cilium has no staged policies: merging enforces, so the open PR is where its policy is staged.
  // The flows are checked against the policy as the PR proposed it when they were seen (its
  // state, before this run learns from them, a rebase asked for or not; a new PR: as proposed now).
  const key = proposalKeyOf(input.cluster, proposal.unit);
  const open = input.open.get(keyId(key));
  const proposed = open?.proposed ?? open?.memory;
  const seenAgainst = proposed === undefined ? after : new Map([...after, ...proposed]);
  return { ...base, ...ciliumStaging(input, open, proposal.status, seenAgainst, flows, question) };
}

/** The unit key of a proposal's unit. */
function proposalKeyOf(cluster: string, unit: Proposal['unit']): ProposalKey {
  return unit.kind === 'namespace'
    ? { kind: 'namespace', cluster, namespace: unit.namespace }
    : { kind: 'workloads', cluster, namespace: unit.namespace, ...(unit.workload === undefined ? {} : { workload: unit.workload }) };
}

/**
 * A recommendation's question, as its flavour asks it: Calico's (proposalQuestion), or Cilium's:
 * its policies as the PR proposed them when each flow was seen, with every Cilium policy of the
 * default branch (all enforced: Cilium has no staged policies).
 */
function recommendationQuestion(input: LifecycleInput, refs: readonly StagedRef[], what: string): SimulationQuestion {
  if (input.config.flavor !== 'cilium') return proposalQuestion(refs, what);
  return {
    view: 'enforced',
    asked: `${what} with Cilium's semantics, as this pull request proposed ${what.startsWith('Its policies') ? 'them' : 'it'} when each flow was seen, with every Cilium policy of the default branch (Cilium has no staged policies: merging enforces).`,
  };
}

/**
 * Cilium's staging in the bot (issue 16, point 3): a PR whose policies would deny an observed flow
 * is not ready for review until it has seen nothing they would deny for `stabilizationPeriod`,
 * counted from when it was first proposed; its rules must be stable too (`status`). Each denied
 * flow's last-seen time moves `quietSince` on, and so does the end of a gap in the flows read;
 * the PR's state keeps it between runs.
 */
export function ciliumStaging(
  input: LifecycleInput,
  open: OpenUnit | undefined,
  status: RecommendationStatus,
  tree: TreeFiles,
  flows: readonly CheckedFlow[],
  question: SimulationQuestion,
): Pick<UnitChange, 'status' | 'simulation' | 'quietSince'> {
  const { summary, check } = simulate(
    tree,
    flows.map((f) => f.flow),
    input.facts,
    question,
    'cilium',
  );
  let lastDenied: number | undefined;
  check.verdicts.forEach((verdict, i) => {
    if (verdict === 'denied') lastDenied = Math.max(lastDenied ?? 0, flows[i]!.lastSeen);
  });
  // Time without flows is no time without denials: quiet counts from the end of a gap, too.
  const quietSince = Math.max(open?.quietSince ?? input.now, lastDenied ?? 0, input.flowsMissingUntil ?? 0);
  // Longer than the period, as the rules' status counts it (engine/status.ts).
  const quiet = input.now - quietSince > input.config.stabilizationPeriod;
  return {
    status: status === 'Stable' && !quiet ? 'Stabilizing' : status,
    quietSince,
    simulation: { ...summary, quietSince, ...(lastDenied === undefined ? {} : { lastDenied }) },
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
  const atoms = input.observations.byNamespace.get(namespace) ?? [];
  const hosts = hostEndpointsOf(input, namespace);
  // Cilium: where the namespace's pods are known with their labels (microsegmentation), its flows
  // are checked from them: a namespace policy that leaves out the workloads with their own
  // policies selects a pod by its labels, which a namespace-level flow does not carry.
  const endpoints = input.config.flavor === 'cilium' ? input.observations.endpoints.filter((e) => e.local.namespace === namespace) : [];
  const flows: CheckedFlow[] = [
    ...(endpoints.length > 0
      ? flowsOfEndpoints(endpoints).map((flow, i) => ({ flow, lastSeen: endpoints[i]!.evidence.lastSeen }))
      : flowsOfObservations(new Map([[namespace, atoms]])).map((flow, i) => ({ flow, lastSeen: atoms[i]!.evidence.lastSeen }))),
    ...flowsOfHostEndpoints(hosts).map((flow, i) => ({ flow, lastSeen: hosts[i]!.evidence.lastSeen })),
  ];
  const question = recommendationQuestion(input, namespacePolicyRefs(input.config, namespace), 'Its policy is evaluated');
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
  const endpoints = input.observations.endpoints.filter((e) => selected(e.local));
  const hosts = input.fresh.hostEndpoints.filter((h) => selected(h.local));
  const flows: CheckedFlow[] = [
    ...flowsOfEndpoints(endpoints).map((flow, i) => ({ flow, lastSeen: endpoints[i]!.evidence.lastSeen })),
    ...flowsOfHostEndpoints(hosts).map((flow, i) => ({ flow, lastSeen: hosts[i]!.evidence.lastSeen })),
  ];
  const workloads = proposal.workloads.map((w) => ({ namespace, ...w.workload }));
  const question = recommendationQuestion(input, workloadPolicyRefs(input.config, workloads), 'Its policies are evaluated');
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
