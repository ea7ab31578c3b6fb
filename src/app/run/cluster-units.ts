// The units of one cluster a run decides about, and what each should propose now: every
// namespace's isolation policy, its workloads' policies (microsegmentation), and, once an accepted
// staged policy has denied nothing for `enforceAfter`, its enforcement; when every namespace is
// enforced, the enforcement of the global default deny; and the cluster-wide files (tiers, the
// staged default deny) the tree lacks, in a bootstrap PR of their own. Also keeps, per accepted namespace, what
// its staged policy would have denied since it was merged (the dashboard shows it, enforcement
// waits for it to stay quiet). Pure: run-repository.ts reads the inputs and carries the decisions.

import { parseSelector } from '../../calico/selector.ts';
import { formatDuration } from '../../config/duration.ts';
import type { RecommendationConfig } from '../../config/recommendation-config.ts';
import { enforcePolicyInFile, type StagedKind } from '../../engine/enforce.ts';
import { flavorFor } from '../../engine/flavors/index.ts';
import type { EndpointObservation, EndpointRef, HostEndpointObservation, ObservedAtom } from '../../engine/model.ts';
import { isNamespacePolicyName, workloadPolicyName } from '../../engine/naming.ts';
import { formatTime } from '../../engine/provenance.ts';
import type { NamespaceReport, RuleReport } from '../../engine/report.ts';
import { parseLabels, type Workload, type WorkloadId } from '../../engine/workloads.ts';
import type { CalicoEdition } from '../../flows/source.ts';
import { isEnforcedPolicy, type NamespaceContext, planRecommendations } from '../../plan/plan.ts';
import { describeUnmatched, workloadPoliciesIn } from '../../plan/plan-workloads.ts';
import {
  type BootstrapProposal,
  microsegmentationUnits,
  type Proposal,
  type ProposalInput,
  propose,
  proposeBootstrap,
} from '../../plan/proposal.ts';
import type { PolicySetOptions, StagedRef } from '../../simulate/policy-set.ts';
import { flowsOfEndpoints, flowsOfHostEndpoints, flowsOfObservations, type SimulatedFlow } from '../../simulate/would-deny.ts';
import { buildInventory, type ObjectRef } from '../../tree/inventory.ts';
import { type TreeFiles, TreeOverlay } from '../../tree/tree.ts';
import { contentHash } from '../../util/content-hash.ts';
import { own } from '../../util/plain.ts';
import type { PullRequestInfo } from '../github/repository.ts';
import { keyId, type ProposalKey } from '../state/proposal-key.ts';
import { decodeState, REBASE_LABEL } from '../state/pull-request-state.ts';
import type { UnitChange, UnitFacts } from './decide.ts';
import { type SimulationQuestion, simulate } from './simulation.ts';

/** What the bot remembers about an accepted staged policy (in the dashboard's hidden state). */
export interface AcceptanceRecord {
  /** Hash of the policy file on the default branch: a new merge starts the clock again. */
  readonly hash: string;
  /** When a run first saw it accepted (unix seconds). */
  readonly since: number;
  /** When it last would have denied an observed flow (its last-seen time), if it did since. */
  readonly lastDenied?: number;
  /** Distinct observed flows it would have denied since (each counted in the run that saw it). */
  readonly denied: number;
  /** The pull request whose merge it was, when the run that first saw it found one. */
  readonly pr?: number;
}

/** The merge that brought an accepted unit's files to the default branch: its PR and when (unix seconds). */
export interface AcceptedMerge {
  readonly pr: number;
  readonly mergedAt: number;
}

export interface ClusterUnitsInput {
  readonly cluster: string;
  /** The cluster's directory in the repository ('' = root). */
  readonly clusterPath: string;
  /** The default branch's files below the cluster path, keyed relative to it. */
  readonly tree: TreeFiles;
  readonly template: TreeFiles;
  readonly config: RecommendationConfig;
  /** This run's observations and those carried over from earlier runs. */
  readonly observations: {
    readonly byNamespace: ReadonlyMap<string, readonly ObservedAtom[]>;
    readonly endpoints: readonly EndpointObservation[];
  };
  /** This run's observations only (what the accepted policies are checked against). */
  readonly fresh: {
    readonly byNamespace: ReadonlyMap<string, readonly ObservedAtom[]>;
    readonly endpoints: readonly EndpointObservation[];
    /** Traffic with host endpoints (not learned, but decided by the policies). */
    readonly hostEndpoints: readonly HostEndpointObservation[];
  };
  readonly now: number;
  readonly namespaces?: NamespaceContext;
  /** What the simulation knows of the cluster: namespace labels, network sets, release, IP families. */
  readonly facts: PolicySetOptions;
  /** Which Calico the flows came from, when the source tells. */
  readonly calicoEdition?: CalicoEdition;
  readonly workloads?: readonly Workload[];
  /** Namespaces the cluster no longer has. */
  readonly deleted: ReadonlySet<string>;
  /** The bot's open PRs of this cluster. */
  readonly openPullRequests: readonly { readonly key: ProposalKey; readonly pr: PullRequestInfo }[];
  /** Units people asked to have proposed again (key ids). */
  readonly recreate: ReadonlySet<string>;
  /** Acceptance records of this cluster, by namespace. */
  readonly accepted: Readonly<Record<string, AcceptanceRecord>>;
  /** Seconds an accepted staged policy must deny nothing before its enforcement is proposed. */
  readonly enforceAfter: number;
  /** By acceptance record id: the merged PR of a unit whose record is new (see acceptedUnits). */
  readonly merges?: ReadonlyMap<string, AcceptedMerge>;
  /** By key id: the policy files a unit no PR holds yet last proposed (the dashboard keeps them). */
  readonly held?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export interface ClusterUnits {
  readonly facts: UnitFacts[];
  /** Acceptance records to keep, by namespace. */
  readonly accepted: Record<string, AcceptanceRecord>;
  /** Per key id: what the dashboard says beside the unit's state. */
  readonly notes: Map<string, string>;
  /** For the cluster's dashboard section. */
  readonly warnings: readonly string[];
}

export function clusterUnits(input: ClusterUnitsInput): ClusterUnits {
  const { cluster, config } = input;
  const prs = new Map(input.openPullRequests.map(({ key, pr }) => [keyId(key), pr]));
  const notes = new Map<string, string>();
  const warnings: string[] = [];
  const accepted: Record<string, AcceptanceRecord> = {};
  const policies = ourNamespacePolicies(input.tree, config);
  const labelsOf = (ns: string) => input.namespaces?.labels(ns) ?? { 'kubernetes.io/metadata.name': ns, 'projectcalico.org/name': ns };
  const selected = (ns: string): boolean =>
    config.namespaceSpec.recStatus === 'Enabled' && config.namespaceSpec.selector.matches(labelsOf(ns));
  const goneReason = (ns: string): string | null =>
    input.deleted.has(ns)
      ? 'the namespace no longer exists in the cluster'
      : !selected(ns)
        ? 'the namespace is no longer selected by namespaceSpec'
        : null;
  /** A namespace that exists but namespaceSpec does not select: the dashboard says so, not "No traffic". */
  const notSelected = (ns: string): Partial<UnitFacts> => (!input.deleted.has(ns) && !selected(ns) ? { notSelected: true } : {});
  // A unit's memory: its open PR's policy files, or, while no PR holds it, those it was last proposed with.
  const memoryFor = (key: ProposalKey): TreeFiles | undefined => {
    const pr = prs.get(keyId(key));
    if (pr !== undefined) return memoryOf(pr);
    const held = input.held?.[keyId(key)];
    return held === undefined ? undefined : new Map(Object.entries(held));
  };
  /**
   * A unit's proposal from its memory. A held unit's files date its rules, but which rules are new
   * is said against the default branch, as when it was first proposed: its PR opens as it would have.
   */
  const proposeUnit = (key: ProposalKey, what: Parameters<typeof propose>[1]): Proposal | null => {
    const proposal = propose(proposalInput(memoryFor(key)), what);
    if (proposal === null || prs.has(keyId(key)) || input.held?.[keyId(key)] === undefined) return proposal;
    const fresh = propose(proposalInput(undefined), what);
    return fresh === null ? proposal : withNewRulesOf(proposal, fresh);
  };
  const proposalInput = (memory: TreeFiles | undefined): ProposalInput => ({
    clusterPath: input.clusterPath,
    tree: input.tree,
    template: input.template,
    observations: input.observations,
    config,
    now: input.now,
    ...(input.namespaces ? { namespaces: input.namespaces } : {}),
    ...(input.workloads ? { workloads: input.workloads } : {}),
    ...(input.facts.networkSets ? { networkSets: input.facts.networkSets } : {}),
    ...(input.calicoEdition ? { calicoEdition: input.calicoEdition } : {}),
    ...(memory ? { memory } : {}),
  });
  const unit = (
    key: ProposalKey,
    namespace: string | null,
    change: UnitChange | null,
    status: UnitFacts['status'],
    extra: Partial<UnitFacts> = {},
  ): UnitFacts => {
    const pr = prs.get(keyId(key)) ?? null;
    return {
      key,
      cluster,
      namespace,
      change,
      status,
      openPullRequest: pr,
      state: pr ? decodeState(pr.body) : null,
      gone: null,
      accepted: false,
      recreate: input.recreate.has(keyId(key)),
      ...extra,
    };
  };

  const facts: UnitFacts[] = [];
  // The cluster-wide files the tree lacks, proposed in a PR of their own; every other PR's
  // simulation sees the tree as it will be once they are merged.
  const bootstrap = proposeBootstrap(input);
  const openKeys = input.openPullRequests.map((p) => p.key);
  const namespaces = [
    ...new Set([
      ...input.observations.byNamespace.keys(),
      ...openKeys.filter((k) => k.kind === 'namespace' || k.kind === 'enforce').map((k) => (k as { namespace: string }).namespace),
      ...policies.keys(),
    ]),
  ].sort();
  const enforcedNamespaces: string[] = [];
  const selectedNamespaces: string[] = [];

  // Namespace isolation, and its enforcement.
  for (const namespace of namespaces) {
    const key: ProposalKey = { kind: 'namespace', cluster, namespace };
    const policy = policies.get(namespace);
    const gone = goneReason(namespace);
    if (gone === null) selectedNamespaces.push(namespace);
    if (policy?.enforced) {
      enforcedNamespaces.push(namespace);
      // Enforced: nothing more is learned for it (its traffic is decided by its own policy now).
      facts.push(unit(key, namespace, null, null, { accepted: true, enforced: true, gone }));
      continue;
    }
    const proposal = gone === null ? proposeUnit(key, { kind: 'namespace', namespace }) : null;
    const change = proposal === null || proposal.files.size === 0 ? null : namespaceChange(proposal, input, namespace, bootstrap);
    facts.push(unit(key, namespace, change, proposal?.status ?? null, { gone, accepted: policy !== undefined, ...notSelected(namespace) }));

    if (policy === undefined) continue;
    const record = acceptance(input, namespace, new Map([[policy.path, policy.text]]), namespaceFlows(input, namespace), [
      { namespace, name: policy.ref.name },
    ]);
    accepted[namespace] = record;
    const quietSince = Math.max(record.since, record.lastDenied ?? 0);
    notes.set(keyId(key), acceptanceNote(record, quietSince, input.enforceAfter));
    const enforceKey: ProposalKey = { kind: 'enforce', cluster, namespace };
    const open = prs.get(keyId(enforceKey));
    const ready = gone === null && change === null && !prs.has(keyId(key)) && input.now - quietSince >= input.enforceAfter;
    if (!ready && open === undefined) continue;
    const notReady =
      gone ??
      (change !== null || prs.has(keyId(key))
        ? 'the staged policy is still changing: an update is proposed'
        : waiting('the staged policy', record, input.enforceAfter));
    const enforceChange = ready ? enforcementChange(input, policy, proposal, quietSince) : null;
    facts.push(unit(enforceKey, namespace, enforceChange, 'Stable', ready && enforceChange !== null ? {} : { gone: notReady }));
  }

  // Microsegmentation: one PR per namespace's workloads, or per workload.
  if (config.microsegmentation.enabled) {
    const plan = planRecommendations({
      tree: input.tree,
      template: input.template,
      observations: input.observations.byNamespace,
      endpoints: input.observations.endpoints,
      config,
      now: input.now,
      ...(input.namespaces ? { namespaces: input.namespaces } : {}),
      ...(input.workloads ? { workloads: input.workloads } : {}),
      ...(input.facts.networkSets ? { networkSets: input.facts.networkSets } : {}),
    });
    const unmatched = plan.microsegmentation === null ? null : describeUnmatched(plan.microsegmentation);
    if (unmatched !== null) warnings.push(unmatched);
    const keys = new Map<string, ProposalKey>();
    for (const u of microsegmentationUnits(plan)) {
      const key: ProposalKey =
        u.kind === 'workloads' && u.workload !== undefined
          ? { kind: 'workloads', cluster, namespace: u.namespace, workload: u.workload }
          : { kind: 'workloads', cluster, namespace: u.namespace };
      keys.set(keyId(key), key);
    }
    for (const key of openKeys) if (key.kind === 'workloads') keys.set(keyId(key), key);
    const workloadFacts = new Map<string, number>();
    for (const key of [...keys.values()].sort((a, b) => (keyId(a) < keyId(b) ? -1 : 1))) {
      if (key.kind !== 'workloads') continue;
      const gone = goneReason(key.namespace);
      const proposal =
        gone === null
          ? proposeUnit(
              key,
              key.workload === undefined
                ? { kind: 'workloads', namespace: key.namespace }
                : { kind: 'workloads', namespace: key.namespace, workload: key.workload },
            )
          : null;
      // Every workload of the unit skipped, though its PR holds their policies: none is selected any more.
      const deselected =
        proposal !== null &&
        proposal.workloads.length > 0 &&
        proposal.workloads.every((w) => w.outcome === 'skipped' && !w.warnings.some((x) => x.code === 'enforced'))
          ? `${key.workload === undefined ? 'its workloads are' : 'the workload is'} no longer selected by microsegmentation.select`
          : null;
      const change = proposal === null || proposal.files.size === 0 ? null : workloadsChange(proposal, input, key.namespace, bootstrap);
      const existing = proposal?.workloads.some((w) => input.tree.has(w.path));
      workloadFacts.set(keyId(key), facts.length);
      facts.push(
        unit(key, key.namespace, change, proposal?.status ?? null, {
          gone: gone ?? deselected,
          accepted: existing,
          ...notSelected(key.namespace),
        }),
      );
    }

    // Accepted workload policies: their would-be denials, and their enforcement, grouped as their PRs are.
    for (const [id, { key, entries }] of [...workloadGroups(cluster, input.tree, config)].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const index = workloadFacts.get(id);
      const current = index === undefined ? undefined : facts[index]!;
      const staged = entries.filter((e) => !e.enforced);
      if (staged.length === 0) {
        const enforced = { accepted: true, enforced: true };
        if (index !== undefined) facts[index] = { ...current!, ...enforced };
        else facts.push(unit(key, key.namespace, null, null, { ...enforced, gone: goneReason(key.namespace) }));
        continue;
      }
      const files = new Map(staged.map((e) => [e.ref.path, input.tree.get(e.ref.path) ?? '']));
      const recordId = id.slice(cluster.length + 1);
      const record = acceptance(
        input,
        recordId,
        files,
        workloadFlows(
          input,
          key.namespace,
          staged.map((e) => e.workload),
        ),
        staged.map((e) => ({ namespace: key.namespace, name: e.ref.name })),
      );
      accepted[recordId] = record;
      const quietSince = Math.max(record.since, record.lastDenied ?? 0);
      notes.set(id, acceptanceNote(record, quietSince, input.enforceAfter));
      const enforceKey: ProposalKey = {
        kind: 'enforce-workloads',
        cluster,
        namespace: key.namespace,
        ...(key.workload === undefined ? {} : { workload: key.workload }),
      };
      const gone = goneReason(key.namespace);
      const changing = (current?.change ?? null) !== null || prs.has(id);
      const ready = gone === null && !changing && input.now - quietSince >= input.enforceAfter;
      if (!ready && !prs.has(keyId(enforceKey))) continue;
      const enforceChange = ready ? workloadsEnforcementChange(input, staged, quietSince) : null;
      const notReady =
        gone ??
        (changing
          ? 'the staged policies are still changing: an update is proposed'
          : waiting('the staged policies', record, input.enforceAfter));
      facts.push(unit(enforceKey, key.namespace, enforceChange, 'Stable', ready && enforceChange !== null ? {} : { gone: notReady }));
    }
  } else {
    // Turned off: its open PRs are obsolete.
    for (const key of openKeys) {
      if (key.kind === 'workloads' || key.kind === 'enforce-workloads')
        facts.push(unit(key, key.namespace, null, null, { gone: 'microsegmentation is turned off in the configuration' }));
    }
  }

  // The cluster-wide files, once a policy of the cluster needs them (proposed or accepted).
  const bootKey: ProposalKey = { kind: 'bootstrap', cluster };
  const policiesNeedIt = facts.some((f) => (f.key.kind === 'namespace' || f.key.kind === 'workloads') && (f.change !== null || f.accepted));
  if (prs.has(keyId(bootKey)) || (bootstrap !== null && policiesNeedIt)) {
    const change = bootstrap === null ? null : bootstrapChange(bootstrap);
    facts.push(
      unit(
        bootKey,
        null,
        change,
        'Stable',
        policiesNeedIt || change === null ? {} : { gone: 'no policy of the cluster needs the cluster-wide files any more' },
      ),
    );
  }

  // The global default deny, once every selected namespace is enforced.
  const defaultDeny = config.flavor === 'kubernetes' ? undefined : stagedDefaultDeny(input.tree);
  const denyKey: ProposalKey = { kind: 'enforce-default-deny', cluster };
  const denyOpen = prs.has(keyId(denyKey));
  const allEnforced = selectedNamespaces.length > 0 && selectedNamespaces.every((ns) => enforcedNamespaces.includes(ns));
  if (defaultDeny !== undefined && (allEnforced || denyOpen)) {
    const change = allEnforced ? defaultDenyChange(input, defaultDeny) : null;
    facts.push(
      unit(
        denyKey,
        null,
        change,
        'Stable',
        change !== null ? {} : { gone: 'not every selected namespace has an enforced isolation policy any more' },
      ),
    );
  }
  return { facts, accepted, notes, warnings };
}

/** `proposal` with its rules' `changed` as `fresh` (the same unit proposed without memory) says them. */
function withNewRulesOf(proposal: Proposal, fresh: Proposal): Proposal {
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

/** Accepted workload policies on the default branch, grouped by the unit (key id) whose PR proposes them. */
function workloadGroups(cluster: string, tree: TreeFiles, config: RecommendationConfig) {
  const overlay = new TreeOverlay(tree);
  const policies = workloadPoliciesIn(overlay, buildInventory(overlay), 'StagedNetworkPolicy', config.microsegmentation.tierName);
  const perWorkload = config.microsegmentation.pullRequests === 'per-workload';
  const groups = new Map<
    string,
    { key: ProposalKey & { kind: 'workloads' }; entries: { workload: Workload; ref: ObjectRef; enforced: boolean }[] }
  >();
  for (const [workloadKey, { workload, refs, enforced }] of policies) {
    const key = { kind: 'workloads' as const, cluster, namespace: workload.namespace, ...(perWorkload ? { workload: workloadKey } : {}) };
    const group = groups.get(keyId(key)) ?? { key, entries: [] };
    group.entries.push({ workload, ref: refs[0]!, enforced });
    groups.set(keyId(key), group);
  }
  return groups;
}

/**
 * The accepted (staged, not enforced) units of a cluster's default branch, by acceptance record id
 * (`shop`, `shop.appsec` ...), with their unit's key and the hash their record is kept under: a
 * run looks up the merge of those whose record is new, to date their acceptance at it.
 */
export function acceptedUnits(
  cluster: string,
  tree: TreeFiles,
  config: RecommendationConfig,
): Map<string, { key: ProposalKey; hash: string }> {
  const out = new Map<string, { key: ProposalKey; hash: string }>();
  for (const [namespace, policy] of ourNamespacePolicies(tree, config)) {
    if (!policy.enforced)
      out.set(namespace, { key: { kind: 'namespace', cluster, namespace }, hash: contentHash(new Map([[policy.path, policy.text]])) });
  }
  if (!config.microsegmentation.enabled) return out;
  for (const [id, { key, entries }] of workloadGroups(cluster, tree, config)) {
    const staged = entries.filter((e) => !e.enforced);
    if (staged.length > 0)
      out.set(id.slice(cluster.length + 1), {
        key,
        hash: contentHash(new Map(staged.map((e) => [e.ref.path, tree.get(e.ref.path) ?? '']))),
      });
  }
  return out;
}

/** Our namespace isolation policies on the default branch: where each is, and whether it is enforced. */
interface OurPolicy {
  readonly path: string;
  readonly text: string;
  readonly ref: ObjectRef;
  readonly enforced: boolean;
}

function ourNamespacePolicies(tree: TreeFiles, config: RecommendationConfig): Map<string, OurPolicy> {
  const inventory = buildInventory(new TreeOverlay(tree));
  const tier = config.namespaceSpec.tierName;
  const flavor = flavorFor(config);
  const out = new Map<string, OurPolicy>();
  for (const ref of inventory.objects) {
    if (ref.namespace === null || !isNamespacePolicyName(ref.name, config.flavor, tier, ref.namespace)) continue;
    const staged = ref.kind === flavor.kind && ref.apiVersion === 'projectcalico.org/v3';
    const enforced = isEnforcedPolicy(ref, flavor, tier, ref.namespace);
    if (!staged && !enforced) continue;
    // An enforced policy wins over a staged one of the same name (the staged one is then a leftover).
    if (out.get(ref.namespace)?.enforced) continue;
    out.set(ref.namespace, { path: ref.path, text: tree.get(ref.path) ?? '', ref, enforced });
  }
  return out;
}

/** The template's staged global default deny, if the default branch has it (and it is not enforced yet). */
function stagedDefaultDeny(tree: TreeFiles): { path: string; text: string } | undefined {
  const inventory = buildInventory(new TreeOverlay(tree));
  const staged = inventory.objects.find((r) => r.kind === 'StagedGlobalNetworkPolicy' && r.name === 'default-deny');
  const enforced = inventory.objects.some((r) => r.kind === 'GlobalNetworkPolicy' && r.name === 'default-deny');
  return staged === undefined || enforced ? undefined : { path: staged.path, text: tree.get(staged.path) ?? '' };
}

/** The open PR's policy files, relative to the cluster path (the engine's memory), unless a rebase was asked for. */
function memoryOf(pr: PullRequestInfo | undefined): TreeFiles | undefined {
  if (pr === undefined || pr.labels.includes(REBASE_LABEL)) return undefined;
  const state = decodeState(pr.body);
  return state === null || Object.keys(state.memory).length === 0 ? undefined : new Map(Object.entries(state.memory));
}

/** The tree as the PR would leave it (cluster-relative). */
function treeWith(input: ClusterUnitsInput, files: ReadonlyMap<string, string>): Map<string, string> {
  const prefix = input.clusterPath === '' ? '' : `${input.clusterPath}/`;
  const tree = new Map(input.tree);
  for (const [path, text] of files) if (path.startsWith(prefix)) tree.set(path.slice(prefix.length), text);
  return tree;
}

function baseChange(
  proposal: Proposal,
  memory: Record<string, string>,
  flows: readonly SimulatedFlow[],
  input: ClusterUnitsInput,
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
function bootstrapChange(bootstrap: BootstrapProposal): UnitChange {
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

function proposedMemory(proposal: Proposal, input: ClusterUnitsInput, paths: readonly string[]): Record<string, string> {
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
function proposalQuestion(refs: readonly StagedRef[], what: string): SimulationQuestion {
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

function namespaceChange(proposal: Proposal, input: ClusterUnitsInput, namespace: string, bootstrap: BootstrapProposal | null): UnitChange {
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

function workloadsChange(proposal: Proposal, input: ClusterUnitsInput, namespace: string, bootstrap: BootstrapProposal | null): UnitChange {
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

/** Observed flows, each with when it was last seen: what accepted policies are checked against. */
interface CheckedFlow {
  readonly flow: SimulatedFlow;
  readonly lastSeen: number;
}

function hostEndpointsOf(input: ClusterUnitsInput, namespace: string): HostEndpointObservation[] {
  return input.fresh.hostEndpoints.filter((h) => h.local.namespace === namespace);
}

/** This run's flows of a namespace: learned ones and those with host endpoints. */
function namespaceFlows(input: ClusterUnitsInput, namespace: string): CheckedFlow[] {
  const atoms = input.fresh.byNamespace.get(namespace) ?? [];
  const hosts = hostEndpointsOf(input, namespace);
  return [
    ...flowsOfObservations(new Map([[namespace, atoms]])).map((flow, i) => ({ flow, lastSeen: atoms[i]!.evidence.lastSeen })),
    ...flowsOfHostEndpoints(hosts).map((flow, i) => ({ flow, lastSeen: hosts[i]!.evidence.lastSeen })),
  ];
}

/** This run's flows of some workloads of a namespace (learned ones and those with host endpoints). */
function workloadFlows(input: ClusterUnitsInput, namespace: string, workloads: readonly Workload[]): CheckedFlow[] {
  const observations = endpointsOf(input.fresh.endpoints, namespace, workloads);
  const hosts = input.fresh.hostEndpoints.filter((h) => workloadsSelect(workloads, namespace, h.local));
  return [
    ...flowsOfEndpoints(observations).map((flow, i) => ({ flow, lastSeen: observations[i]!.evidence.lastSeen })),
    ...flowsOfHostEndpoints(hosts).map((flow, i) => ({ flow, lastSeen: hosts[i]!.evidence.lastSeen })),
  ];
}

/**
 * The acceptance record of accepted policy files after this run: restarted by a new merge (the
 * files changed), with the flows of this run that enforcing them would deny, every other policy
 * as the default branch has it (other staged policies not applied).
 */
function acceptance(
  input: ClusterUnitsInput,
  id: string,
  files: ReadonlyMap<string, string>,
  flows: readonly CheckedFlow[],
  refs: readonly StagedRef[],
): AcceptanceRecord {
  const hash = contentHash(files);
  const previous = own(input.accepted, id);
  // A new record is dated at the merge that brought the files, when that merge is newer than what
  // the last record knew (otherwise the change was someone's commit, seen now).
  const merge = input.merges?.get(id);
  const merged = merge !== undefined && merge.mergedAt <= input.now && merge.mergedAt > (previous?.since ?? -1) ? merge : undefined;
  const record: AcceptanceRecord =
    previous?.hash === hash ? previous : { hash, since: merged?.mergedAt ?? input.now, denied: 0, ...(merged ? { pr: merged.pr } : {}) };
  if (flows.length === 0) return record;
  const { check } = simulate(
    input.tree,
    flows.map((f) => f.flow),
    input.facts,
    proposalQuestion(refs, 'The accepted policies are evaluated'),
  );
  // Only traffic since the merge, and not already counted (runs read a little of the last window again).
  const after = Math.max(record.since, record.lastDenied ?? 0);
  let denied = 0;
  let last = record.lastDenied;
  flows.forEach(({ lastSeen }, i) => {
    if (check.verdicts[i] !== 'denied' || lastSeen <= after) return;
    denied++;
    last = Math.max(last ?? 0, lastSeen);
  });
  return denied === 0 ? record : { ...record, denied: record.denied + denied, lastDenied: last! };
}

function acceptanceNote(record: AcceptanceRecord, quietSince: number, enforceAfter: number): string {
  const denied =
    record.denied === 0
      ? `${record.pr === undefined ? 'accepted' : 'merged'} ${formatTime(record.since)}; would have denied nothing since`
      : `${record.pr === undefined ? 'accepted' : 'merged'} ${formatTime(record.since)}; would have denied ${record.denied} observed ${record.denied === 1 ? 'flow' : 'flows'} since, the last at ${formatTime(record.lastDenied!)}`;
  return `${denied}; enforcement is proposed after ${formatDuration(enforceAfter)} without, at ${formatTime(quietSince + enforceAfter)} at the earliest`;
}

/** Why accepted policies are not ready for enforcement (quiet for less than enforceAfter): a would-be denial, or a change that restarted the clock. */
function waiting(what: string, record: AcceptanceRecord, enforceAfter: number): string {
  return record.lastDenied === undefined
    ? `${what} changed on the default branch at ${formatTime(record.since)}: enforcement is proposed once nothing would have been denied for ${formatDuration(enforceAfter)} since`
    : `${what} would have denied observed traffic at ${formatTime(record.lastDenied)}`;
}

/** An enforce PR's question: the tree with the change is what the cluster would enforce; staged policies are not applied. */
function enforcementQuestion(what: string): SimulationQuestion {
  return { view: 'enforced', asked: `${what} enforced; every other policy as the cluster has it (staged policies are not applied).` };
}

/** The enforcement of a namespace's accepted staged policy: the same file, as a NetworkPolicy. */
function enforcementChange(input: ClusterUnitsInput, policy: OurPolicy, proposal: Proposal | null, quietSince: number): UnitChange | null {
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
  input: ClusterUnitsInput,
  files: ReadonlyMap<string, string>,
  flows: readonly SimulatedFlow[],
  question: SimulationQuestion,
  about: { readonly reports?: UnitChange['reports']; readonly lastUpdated?: string | null; readonly quietSince?: number } = {},
): UnitChange {
  const summary = simulate(treeWith(input, files), flows, input.facts, question).summary;
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

/** The microsegmentation observations of a namespace whose endpoint one of the workloads' policies selects. */
function endpointsOf(
  observations: readonly EndpointObservation[],
  namespace: string,
  workloads: readonly Workload[],
): EndpointObservation[] {
  return observations.filter((e) => workloadsSelect(workloads, namespace, e.local));
}

/** Does one of the workloads' policies (by their stable labels) select this endpoint of `namespace`? */
function workloadsSelect(workloads: readonly Workload[], namespace: string, endpoint: EndpointRef): boolean {
  if (endpoint.namespace !== namespace) return false;
  const labels = parseLabels(endpoint.labels);
  return workloads.some((w) => Object.keys(w.labels).length > 0 && Object.entries(w.labels).every(([k, v]) => labels[k] === v));
}

/** The enforcement of accepted workload policies: each file, its StagedNetworkPolicy as a NetworkPolicy. */
function workloadsEnforcementChange(
  input: ClusterUnitsInput,
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
function defaultDenyChange(input: ClusterUnitsInput, policy: { path: string; text: string }): UnitChange | null {
  const text = enforcePolicyInFile(policy.text, policy.path, { kind: 'StagedGlobalNetworkPolicy', namespace: null, name: 'default-deny' });
  if (text === null) return null;
  const prefix = input.clusterPath === '' ? '' : `${input.clusterPath}/`;
  // Every namespace's traffic, those whose isolation policy is only staged included: enforcing the
  // default deny with the staged ones not applied is what would deny their traffic.
  const flows = [...flowsOfObservations(input.fresh.byNamespace), ...flowsOfHostEndpoints(input.fresh.hostEndpoints)];
  return enforcement(input, new Map([[prefix + policy.path, text]]), flows, enforcementQuestion('The global default deny is evaluated'));
}
