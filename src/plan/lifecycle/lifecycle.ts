// The accept-to-enforce lifecycle of one cluster, in one call: what each unit should propose now.
// Every namespace's isolation policy is recommended until accepted (merged, staged); once an
// accepted staged policy has denied nothing for `enforceAfter`, its enforcement is proposed; the
// same for workloads' policies (microsegmentation); when every selected namespace is enforced, the
// global default deny; and the cluster-wide files (tiers, the staged default deny) the tree lacks,
// in a bootstrap unit of their own. Pure: the App reads the inputs and carries out the decisions
// (app/run/cluster-units.ts adds what GitHub holds).

import type { RecommendationConfig } from '../../config/recommendation-config.ts';
import { flavorFor } from '../../engine/flavors/index.ts';
import { planRecommendations } from '../plan.ts';
import { describeUnmatched } from '../plan-workloads.ts';
import {
  type BootstrapProposal,
  microsegmentationUnits,
  type Proposal,
  type ProposalInput,
  propose,
  proposeBootstrap,
} from '../proposal.ts';
import { acceptance, acceptanceNote, quietSince, waiting } from './acceptance.ts';
import { ciliumDefaultDenyChange, defaultDenyChange, enforcementChange, workloadsEnforcementChange } from './enforcement-change.ts';
import { bootstrapChange, namespaceChange, withNewRulesOf, workloadsChange } from './recommendation-change.ts';
import { ourNamespacePolicies, stagedDefaultDeny, workloadGroups } from './tree-policies.ts';
import type { AcceptanceRecord, Lifecycle, LifecycleInput, LifecycleUnit, UnitChange } from './unit.ts';
import { namespaceFlows, workloadFlows } from './unit-flows.ts';
import { keyId, type ProposalKey } from './unit-key.ts';

export function planLifecycle(input: LifecycleInput): Lifecycle {
  const run = new LifecycleRun(input);
  // The cluster-wide files the tree lacks, proposed in a unit of their own; every other unit's
  // simulation sees the tree as it will be once they are merged. Cilium needs no tiers, and its
  // template's one file, the clusterwide default deny, is enforced once merged: it is proposed
  // last, when every selected namespace's policy is (ciliumDefaultDenyUnit).
  const cilium = input.config.flavor === 'cilium';
  const template = proposeBootstrap(input);
  const bootstrap = cilium ? null : template;
  const namespaces = namespaceUnits(run, bootstrap);
  if (input.config.microsegmentation.enabled) workloadUnits(run, bootstrap);
  else obsoleteWorkloadUnits(run);
  if (cilium) ciliumDefaultDenyUnit(run, namespaces, template);
  else {
    bootstrapUnit(run, bootstrap);
    defaultDenyUnit(run, namespaces);
  }
  return { units: run.units, accepted: run.accepted, notes: run.notes, warnings: run.warnings };
}

/**
 * Whether accepted policies are ready for their enforcement to be proposed: still wanted, not
 * changing (no update proposed, no PR open for them), and quiet for `enforceAfter`. Otherwise why not.
 */
export function enforcementReadiness(
  gone: string | null,
  changing: string | null,
  record: AcceptanceRecord,
  now: number,
  enforceAfter: number,
  what: string,
): { readonly ready: true } | { readonly ready: false; readonly why: string } {
  if (gone !== null) return { ready: false, why: gone };
  if (changing !== null) return { ready: false, why: changing };
  if (now - quietSince(record) >= enforceAfter) return { ready: true };
  return { ready: false, why: waiting(what, record, enforceAfter) };
}

/** What one run of the lifecycle has decided so far, and what every step needs to know of the input. */
class LifecycleRun {
  readonly units: LifecycleUnit[] = [];
  readonly accepted: Record<string, AcceptanceRecord> = {};
  readonly notes = new Map<string, string>();
  readonly warnings: string[] = [];
  readonly input: LifecycleInput;
  readonly config: RecommendationConfig;

  constructor(input: LifecycleInput) {
    this.input = input;
    this.config = input.config;
  }

  isOpen(key: ProposalKey): boolean {
    return this.input.open.has(keyId(key));
  }

  get openKeys(): ProposalKey[] {
    return [...this.input.open.values()].map((u) => u.key);
  }

  labelsOf(namespace: string): Record<string, string> {
    return this.input.namespaces?.labels(namespace) ?? { 'kubernetes.io/metadata.name': namespace, 'projectcalico.org/name': namespace };
  }

  selected(namespace: string): boolean {
    return this.config.namespaceSpec.recStatus === 'Enabled' && this.config.namespaceSpec.selector.matches(this.labelsOf(namespace));
  }

  /** Why a namespace's units no longer get PRs, or null. */
  goneReason(namespace: string): string | null {
    if (this.input.deleted.has(namespace)) return 'the namespace no longer exists in the cluster';
    if (!this.selected(namespace)) return 'the namespace is no longer selected by namespaceSpec';
    return null;
  }

  /** A namespace that exists but namespaceSpec does not select: the dashboard says so, not "No traffic". */
  notSelected(namespace: string): Partial<LifecycleUnit> {
    return !this.input.deleted.has(namespace) && !this.selected(namespace) ? { notSelected: true } : {};
  }

  /**
   * A unit's proposal from its memory: its open PR's policy files, or, while no PR holds it, those it
   * was last proposed with. A held unit's files date its rules, but which rules are new is said
   * against the default branch, as when it was first proposed: its PR opens as it would have.
   */
  proposeUnit(key: ProposalKey, what: Parameters<typeof propose>[1]): Proposal | null {
    const id = keyId(key);
    const open = this.input.open.get(id);
    const held = this.input.held?.[id];
    const memory = open !== undefined ? open.memory : held === undefined ? undefined : new Map(Object.entries(held));
    const proposal = propose(this.proposalInput(memory), what);
    if (proposal === null || open !== undefined || held === undefined) return proposal;
    const fresh = propose(this.proposalInput(undefined), what);
    return fresh === null ? proposal : withNewRulesOf(proposal, fresh);
  }

  private proposalInput(memory: ReadonlyMap<string, string> | undefined): ProposalInput {
    const { input } = this;
    return {
      clusterPath: input.clusterPath,
      tree: input.tree,
      template: input.template,
      observations: input.observations,
      config: this.config,
      now: input.now,
      ...(input.namespaces ? { namespaces: input.namespaces } : {}),
      ...(input.workloads ? { workloads: input.workloads } : {}),
      ...(input.facts.networkSets ? { networkSets: input.facts.networkSets } : {}),
      ...(input.calicoEdition ? { calicoEdition: input.calicoEdition } : {}),
      ...(memory ? { memory } : {}),
    };
  }

  add(unit: Omit<LifecycleUnit, 'gone' | 'accepted'> & Partial<LifecycleUnit>): void {
    this.units.push({ gone: null, accepted: false, ...unit });
  }

  /** Keeps an acceptance record, and the dashboard's note about it. */
  keepAcceptance(recordId: string, key: ProposalKey, record: AcceptanceRecord): void {
    this.accepted[recordId] = record;
    this.notes.set(keyId(key), acceptanceNote(record, quietSince(record), this.input.enforceAfter));
  }
}

/**
 * Namespace isolation, and its enforcement: every namespace with traffic, an open PR or a policy on
 * the default branch. Returns which namespaces are selected and which are enforced.
 */
function namespaceUnits(run: LifecycleRun, bootstrap: BootstrapProposal | null): { selected: string[]; enforced: string[] } {
  const { input } = run;
  const policies = ourNamespacePolicies(input.tree, run.config);
  const names = new Set([...input.observations.byNamespace.keys(), ...policies.keys()]);
  for (const key of run.openKeys) if (key.kind === 'namespace' || key.kind === 'enforce') names.add(key.namespace);
  const out = { selected: [] as string[], enforced: [] as string[] };
  const staged = flavorFor(run.config).staged;
  for (const namespace of [...names].sort()) {
    const key: ProposalKey = { kind: 'namespace', cluster: input.cluster, namespace };
    const policy = policies.get(namespace);
    const gone = run.goneReason(namespace);
    if (gone === null) out.selected.push(namespace);
    const proposal = gone === null && (!policy?.enforced || !staged) ? run.proposeUnit(key, { kind: 'namespace', namespace }) : null;
    const change = proposal === null || proposal.files.size === 0 ? null : namespaceChange(proposal, input, namespace, bootstrap);
    if (policy?.enforced) {
      out.enforced.push(namespace);
      // Enforced: nothing more is learned for it (its traffic is decided by its own policy now).
      // Cilium's, merged and so enforced, is still updated: with traffic seen since (audit mode;
      // what another policy allows), and to leave out the workloads whose own policies were merged
      // since (Cilium's allows add up: plan-workloads.ts exclusions), each update staged as its first PR was.
      run.add({
        key,
        namespace,
        change,
        status: change?.status ?? null,
        accepted: true,
        enforced: true,
        gone,
        ...(staged ? {} : run.notSelected(namespace)),
      });
      continue;
    }
    run.add({
      key,
      namespace,
      change,
      // A Cilium PR's status also waits for its policy to deny nothing observed (recommendation-change.ts ciliumStaging).
      status: change?.status ?? proposal?.status ?? null,
      gone,
      accepted: policy !== undefined,
      ...run.notSelected(namespace),
    });
    if (policy === undefined) continue;

    const record = acceptance(input, namespace, new Map([[policy.path, policy.text]]), namespaceFlows(input, namespace), [
      { namespace, name: policy.ref.name },
    ]);
    run.keepAcceptance(namespace, key, record);
    const enforceKey: ProposalKey = { kind: 'enforce', cluster: input.cluster, namespace };
    const changing = change !== null || run.isOpen(key) ? 'the staged policy is still changing: an update is proposed' : null;
    const readiness = enforcementReadiness(gone, changing, record, input.now, input.enforceAfter, 'the staged policy');
    if (!readiness.ready && !run.isOpen(enforceKey)) continue;
    const enforceChange = readiness.ready ? enforcementChange(input, policy, proposal, quietSince(record)) : null;
    addEnforcement(run, enforceKey, namespace, enforceChange, readiness, waiting('the staged policy', record, input.enforceAfter));
  }
  return out;
}

/**
 * An enforcement unit: its change when ready, otherwise (its PR is open) why it is no longer
 * proposed. Ready accepted policies that cannot be rewritten as enforced ones (enforce.ts refused
 * the file) are said to be waiting, as before they were ready.
 */
function addEnforcement(
  run: LifecycleRun,
  key: ProposalKey,
  namespace: string,
  change: UnitChange | null,
  readiness: ReturnType<typeof enforcementReadiness>,
  waitingWhy: string,
): void {
  const gone = !readiness.ready ? readiness.why : change === null ? waitingWhy : null;
  run.add({ key, namespace, change: readiness.ready ? change : null, status: 'Stable', gone });
}

/** Microsegmentation: one unit per namespace's workloads, or per workload; then their enforcement. */
function workloadUnits(run: LifecycleRun, bootstrap: BootstrapProposal | null): void {
  const { input, config } = run;
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
  if (unmatched !== null) run.warnings.push(unmatched);
  const keys = new Map<string, ProposalKey & { kind: 'workloads' }>();
  for (const u of microsegmentationUnits(plan)) {
    const key: ProposalKey & { kind: 'workloads' } =
      u.kind === 'workloads' && u.workload !== undefined
        ? { kind: 'workloads', cluster: input.cluster, namespace: u.namespace, workload: u.workload }
        : { kind: 'workloads', cluster: input.cluster, namespace: u.namespace };
    keys.set(keyId(key), key);
  }
  for (const key of run.openKeys) if (key.kind === 'workloads') keys.set(keyId(key), key);
  // By key id: the index of the unit in run.units (its enforcement reads and amends it).
  const indexOf = new Map<string, number>();
  for (const key of [...keys.values()].sort((a, b) => (keyId(a) < keyId(b) ? -1 : 1))) {
    const gone = run.goneReason(key.namespace);
    const proposal =
      gone === null
        ? run.proposeUnit(
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
    indexOf.set(keyId(key), run.units.length);
    const accepted = proposal?.workloads.some((w) => input.tree.has(w.path)) ?? false;
    run.add({
      key,
      namespace: key.namespace,
      change,
      status: change?.status ?? proposal?.status ?? null,
      gone: gone ?? deselected,
      accepted,
      // Cilium has no staged policies: merged workload policies are enforced, with no enforce step.
      ...(accepted && !flavorFor(config).staged ? { enforced: true } : {}),
      ...run.notSelected(key.namespace),
    });
  }
  workloadEnforcementUnits(run, indexOf);
}

/** Accepted workload policies: their would-be denials, and their enforcement, grouped as their PRs are. */
function workloadEnforcementUnits(run: LifecycleRun, indexOf: ReadonlyMap<string, number>): void {
  const { input, config } = run;
  for (const [id, { key, entries }] of [...workloadGroups(input.cluster, input.tree, config)].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const index = indexOf.get(id);
    const current = index === undefined ? undefined : run.units[index]!;
    const staged = entries.filter((e) => !e.enforced);
    if (staged.length === 0) {
      if (current !== undefined) run.units[index!] = { ...current, accepted: true, enforced: true };
      else
        run.add({
          key,
          namespace: key.namespace,
          change: null,
          status: null,
          accepted: true,
          enforced: true,
          gone: run.goneReason(key.namespace),
        });
      continue;
    }
    const files = new Map(staged.map((e) => [e.ref.path, input.tree.get(e.ref.path) ?? '']));
    const recordId = id.slice(input.cluster.length + 1);
    const workloads = staged.map((e) => e.workload);
    const refs = staged.map((e) => ({ namespace: key.namespace, name: e.ref.name }));
    const record = acceptance(input, recordId, files, workloadFlows(input, key.namespace, workloads), refs);
    run.keepAcceptance(recordId, key, record);
    const enforceKey: ProposalKey = {
      kind: 'enforce-workloads',
      cluster: input.cluster,
      namespace: key.namespace,
      ...(key.workload === undefined ? {} : { workload: key.workload }),
    };
    const changing =
      (current?.change ?? null) !== null || run.isOpen(key) ? 'the staged policies are still changing: an update is proposed' : null;
    const readiness = enforcementReadiness(
      run.goneReason(key.namespace),
      changing,
      record,
      input.now,
      input.enforceAfter,
      'the staged policies',
    );
    if (!readiness.ready && !run.isOpen(enforceKey)) continue;
    const enforceChange = readiness.ready ? workloadsEnforcementChange(input, staged, quietSince(record)) : null;
    addEnforcement(run, enforceKey, key.namespace, enforceChange, readiness, waiting('the staged policies', record, input.enforceAfter));
  }
}

/** Microsegmentation turned off: its open units are obsolete. */
function obsoleteWorkloadUnits(run: LifecycleRun): void {
  for (const key of run.openKeys) {
    if (key.kind === 'workloads' || key.kind === 'enforce-workloads')
      run.add({ key, namespace: key.namespace, change: null, status: null, gone: 'microsegmentation is turned off in the configuration' });
  }
}

/** The cluster-wide files, once a policy of the cluster needs them (proposed or accepted). */
function bootstrapUnit(run: LifecycleRun, bootstrap: BootstrapProposal | null): void {
  const key: ProposalKey = { kind: 'bootstrap', cluster: run.input.cluster };
  const policiesNeedIt = run.units.some(
    (u) => (u.key.kind === 'namespace' || u.key.kind === 'workloads') && (u.change !== null || u.accepted),
  );
  if (!run.isOpen(key) && !(bootstrap !== null && policiesNeedIt)) return;
  const change = bootstrap === null ? null : bootstrapChange(bootstrap);
  const gone = policiesNeedIt || change === null ? null : 'no policy of the cluster needs the cluster-wide files any more';
  run.add({ key, namespace: null, change, status: 'Stable', gone });
}

/**
 * Cilium's clusterwide default deny (the template's, which the tree lacks), once every selected
 * namespace's policy is merged (so enforced): merging it enforces it, so its PR, like a
 * recommendation's, is a draft until nothing it would deny has been seen for
 * `stabilizationPeriod` since it was first proposed: every namespace's flows of each run are
 * checked against the tree with it (recommendation-change.ts ciliumStaging).
 */
function ciliumDefaultDenyUnit(
  run: LifecycleRun,
  namespaces: { selected: readonly string[]; enforced: readonly string[] },
  template: BootstrapProposal | null,
): void {
  const { input } = run;
  const key: ProposalKey = { kind: 'enforce-default-deny', cluster: input.cluster };
  const allEnforced = namespaces.selected.length > 0 && namespaces.selected.every((ns) => namespaces.enforced.includes(ns));
  if (!(allEnforced || run.isOpen(key))) return;
  // On the default branch already (template null): nothing left to propose, its open PR is obsolete.
  const change = allEnforced && template !== null ? ciliumDefaultDenyChange(input, run.input.open.get(keyId(key)), template) : null;
  const gone = change !== null || template === null ? null : 'not every selected namespace has an enforced isolation policy any more';
  run.add({ key, namespace: null, change, status: change?.status ?? null, gone });
}

/** The global default deny's enforcement, once every selected namespace is enforced. */
function defaultDenyUnit(run: LifecycleRun, namespaces: { selected: readonly string[]; enforced: readonly string[] }): void {
  const { input } = run;
  const defaultDeny = run.config.flavor === 'kubernetes' ? undefined : stagedDefaultDeny(input.tree);
  const key: ProposalKey = { kind: 'enforce-default-deny', cluster: input.cluster };
  const allEnforced = namespaces.selected.length > 0 && namespaces.selected.every((ns) => namespaces.enforced.includes(ns));
  if (defaultDeny === undefined || !(allEnforced || run.isOpen(key))) return;
  const change = allEnforced ? defaultDenyChange(input, defaultDeny) : null;
  const gone = change !== null ? null : 'not every selected namespace has an enforced isolation policy any more';
  run.add({ key, namespace: null, change, status: 'Stable', gone });
}
