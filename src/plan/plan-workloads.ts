// Microsegmentation's part of a plan: one staged policy per selected workload, in the
// microsegmentation tier (`appsec`), at `appsec/<namespace>/<kind>-<name>.yaml`, updated exactly
// like a namespace's policy (the same memory, merge and provenance; see plan-policy.ts). Also which
// namespaces pass traffic within the namespace on to that tier, and what in them no per-workload
// policy decides. Pure.

import { isDnsSubdomain } from '../calico/names.ts';
import { labelsOfSelector, parseSelector, selectorOfLabels } from '../calico/selector.ts';
import { parsed } from '../engine/flavors/calico-shape.ts';
import { exclusionLabel } from '../engine/flavors/cilium.ts';
import {
  learnWorkloads,
  selectsWorkload,
  type UnattributedEndpoint,
  unmatchedSelections,
  unselectable,
  type WorkloadLearning,
} from '../engine/microsegmentation.ts';
import type { EndpointObservation } from '../engine/model.ts';
import { WORKLOAD_KINDS, type WorkloadKind } from '../engine/model.ts';
import { isWorkloadPolicyName, isWorkloadPolicyNameOf, workloadPolicyPath } from '../engine/naming.ts';
import { type PolicyView, viewPolicy } from '../engine/policy-document.ts';
import { ANNOTATIONS } from '../engine/provenance.ts';
import type { Warning, WorkloadReport } from '../engine/report.ts';
import { compareWorkloads, type Workload, workloadKey } from '../engine/workloads.ts';
import type { Inventory, ObjectRef } from '../tree/inventory.ts';
import type { TreeOverlay } from '../tree/tree.ts';
import { annotation, type PlanRun, planPolicy, readPolicy, skipped } from './plan-policy.ts';

/** Microsegmentation's account of a plan, beside the per-workload reports. */
export interface MicrosegmentationSummary {
  readonly tier: string;
  /** Where the workloads came from: the cluster's API, or inferred from the flow records. */
  readonly source: 'cluster' | 'flows';
  readonly workloadsKnown: number;
  /** Namespaces whose isolation policy passes traffic within the namespace to the tier. */
  readonly namespaces: readonly string[];
  /** Reporting endpoints whose traffic no workload learned (ambiguous or unmatched). */
  readonly unattributed: readonly UnattributedEndpoint[];
  /** Entries of `microsegmentation.select` that select no known workload (see unmatchedSelections). */
  readonly unmatched: readonly string[];
  readonly pullRequests: 'per-workload' | 'per-namespace';
}

/** The summary's unmatched selections as one sentence, for the command's summary and the dashboard; null when none. */
export function describeUnmatched(m: MicrosegmentationSummary): string | null {
  if (m.unmatched.length === 0) return null;
  const from = m.source === 'cluster' ? 'the cluster' : 'the flow records';
  return `microsegmentation.select: no workload known from ${from} matches ${m.unmatched.join(', ')} (a typo, or not deployed yet?)`;
}

/** Plans only part of microsegmentation: one namespace's workloads, or one workload (`<ns>/<Kind>/<name>`). */
export interface WorkloadScope {
  readonly namespace: string;
  readonly workload?: string;
}

const MAX_LISTED = 5;

export class Microsegmentation {
  readonly tier: string;
  readonly learning: WorkloadLearning;
  /** Workload key -> where the tree defines its policy. */
  readonly #refs: WorkloadPolicies;
  readonly #run: PlanRun;
  readonly #namespaces: ReadonlySet<string>;
  /** The workloads known (the cluster's or the flows') and those the tree has policies for. */
  readonly #known: readonly Workload[];

  constructor(run: PlanRun, endpoints: readonly EndpointObservation[], clusterWorkloads: readonly Workload[] | undefined) {
    this.#run = run;
    this.tier = run.config.microsegmentation.tierName;
    this.learning = learnWorkloads(endpoints, clusterWorkloads);
    this.#refs = policyRefs(run, this.tier);
    const namespaces = new Set(run.config.microsegmentation.select.namespaces);
    this.#known = [...this.learning.index.workloads, ...[...this.#refs.values()].map((r) => r.workload)];
    for (const w of this.#known) if (this.selected(w)) namespaces.add(w.namespace);
    this.#namespaces = namespaces;
  }

  selected(workload: Workload): boolean {
    return selectsWorkload(this.#run.config, workload, this.#run.labelsOf);
  }

  /**
   * The namespace has selected workloads, so its isolation policy passes traffic within the
   * namespace to the microsegmentation tier (intraNamespacePassThroughTraffic).
   */
  microsegments(namespace: string): boolean {
    return this.#namespaces.has(namespace);
  }

  /**
   * Traffic within a microsegmented namespace whose endpoint no per-workload policy selects: passed
   * on, it reaches no policy in the tier, and the default tier decides it (the template's staged
   * default deny would deny it). Null when every such endpoint has a policy.
   */
  uncovered(namespace: string): Warning | null {
    const gaps = new Map<string, string>();
    for (const { endpoint, workload } of this.learning.intraNamespace.get(namespace) ?? []) {
      if (workload === null) gaps.set(endpoint.name, `${endpoint.name} (its workload is not known)`);
      else if (!this.selected(workload)) gaps.set(workloadKey(workload), `${workload.kind} ${workload.name} (not selected)`);
      else if (unselectable(workload.labels) !== null && !this.#refs.has(workloadKey(workload))) {
        gaps.set(
          workloadKey(workload),
          `${workload.kind} ${workload.name} (${Object.keys(workload.labels).length === 0 ? 'no stable labels' : 'selector too long'})`,
        );
      }
    }
    if (gaps.size === 0) return null;
    const listed = [...gaps.keys()].sort().map((k) => gaps.get(k)!);
    const more = listed.length > MAX_LISTED ? ` and ${listed.length - MAX_LISTED} more` : '';
    return {
      code: 'not-microsegmented',
      namespace,
      message:
        `traffic within the namespace is passed to tier ${this.tier}, where no policy selects ${listed.slice(0, MAX_LISTED).join(', ')}${more}: ` +
        'the next tiers decide their traffic (the staged global default deny would deny it); select them for microsegmentation too',
    };
  }

  /** Plans the selected workloads' policies (in `scope`, if given), sorted by namespace, kind and name. */
  plan(scope?: WorkloadScope): WorkloadReport[] {
    const run = this.#run;
    const { index, observed, broader } = this.learning;
    const candidates = new Map<string, Workload>();
    for (const key of observed.keys()) {
      const [namespace, kind, name] = key.split('/') as [string, WorkloadKind, string];
      candidates.set(key, index.get({ namespace, kind, name })!);
    }
    for (const [key, { workload }] of this.#refs) if (!candidates.has(key)) candidates.set(key, index.get(workload) ?? workload);

    const reports: WorkloadReport[] = [];
    for (const workload of [...candidates.values()].sort(compareWorkloads)) {
      const key = workloadKey(workload);
      if (scope !== undefined && (workload.namespace !== scope.namespace || (scope.workload !== undefined && scope.workload !== key)))
        continue;
      const refs = this.#refs.get(key)?.refs ?? [];
      const atoms = observed.get(key) ?? [];
      const about = { namespace: workload.namespace, workload: key };
      const labelled = Object.keys(workload.labels).length > 0;
      const unselectableWhy = unselectable(workload.labels);
      const identity = { workload: { kind: workload.kind, name: workload.name }, key };
      if (this.#refs.get(key)?.enforced) {
        // Enforced (an enforce PR was merged): its traffic is decided by that policy now.
        const warning: Warning = {
          code: 'enforced',
          ...about,
          message: `the workload's policy is enforced (NetworkPolicy in ${refs[0]!.path}): nothing more is recommended for it`,
        };
        reports.push({
          ...skipped(workload.namespace, refs[0]!.path, readPolicy(run.tree, refs[0]!), run.config, run.now, [warning]),
          ...identity,
          selector: null,
        });
        continue;
      }
      if (!this.selected(workload) || (unselectableWhy !== null && refs.length === 0)) {
        if (refs.length > 0) {
          reports.push({
            ...skipped(workload.namespace, refs[0]!.path, readPolicy(run.tree, refs[0]!), run.config, run.now, []),
            ...identity,
            selector: null,
          });
        } else if (this.selected(workload)) {
          const warning: Warning = {
            code: 'workload-unselectable',
            ...about,
            message: `${unselectableWhy}, so no policy can select them safely; nothing was written`,
          };
          reports.push({
            ...skipped(workload.namespace, workloadPolicyPath(workload), null, run.config, run.now, [warning]),
            ...identity,
            selector: null,
          });
        }
        continue;
      }
      const { report, policy } = planPolicy(
        {
          subject: { namespace: workload.namespace, workload },
          about,
          what: "this workload's policy",
          refs,
          defaultPath: workloadPolicyPath(workload),
          observed: atoms,
          settings: { tier: this.tier, layer: 'microsegmentation', maxRules: run.config.maxRules, intraNamespacePass: false },
        },
        run,
      );
      const warnings = [...report.warnings];
      const notes = broader.get(key) ?? [];
      if (notes.length > 0) {
        const more = notes.length > MAX_LISTED ? ` and ${notes.length - MAX_LISTED} more` : '';
        warnings.push({
          code: 'broader-peer',
          ...about,
          message: `rules allow the whole namespace of peers whose workload's labels are not known: ${notes.slice(0, MAX_LISTED).join(', ')}${more}`,
        });
      }
      const spec = policy === null ? undefined : viewPolicy(policy)?.spec;
      // A CiliumNetworkPolicy's endpointSelector labels, in Calico's selector syntax for the report and the check below.
      const ciliumLabels = spec?.selector === undefined ? ciliumSelectorLabels(spec?.endpointSelector) : {};
      const selector = spec?.selector ?? (Object.keys(ciliumLabels).length > 0 ? selectorOfLabels(ciliumLabels) : null);
      if (selector !== null && labelled && !selects(selector, workload)) {
        warnings.push({
          code: 'selector-mismatch',
          ...about,
          message: `the policy's selector (${selector}) does not select the workload's pods (their stable labels changed?); it was left as it is`,
        });
      }
      reports.push({ ...report, warnings, ...identity, selector });
    }
    return reports;
  }

  /**
   * A flavour whose policies are a union of allows (Cilium): the labels that leave the workloads
   * with their own policies out of the namespace's policy (exclusionLabel), given the workload
   * reports of this plan (null: the tree's policies, when workloads are not planned in this run),
   * and a warning naming the workloads no label tells apart (the namespace policy still selects
   * their pods, so its rules add to theirs).
   */
  exclusions(
    namespace: string,
    planned: readonly WorkloadReport[] | null,
  ): { excluded: { key: string; value: string }[]; warning: Warning | null } {
    const { index } = this.learning;
    const withPolicy: Workload[] =
      planned !== null
        ? planned
            .filter((r) => r.namespace === namespace && r.outcome !== 'skipped')
            .map((r) => index.get({ namespace, ...r.workload }) ?? this.#refs.get(r.key)!.workload)
        : [...this.#refs.values()]
            .filter((r) => !r.enforced && r.workload.namespace === namespace)
            .map((r) => index.get(r.workload) ?? r.workload);
    const others = this.#known.filter((w) => w.namespace === namespace);
    const excluded: { key: string; value: string }[] = [];
    const apart: string[] = [];
    for (const workload of withPolicy) {
      const label = exclusionLabel(workload, others);
      if (label === null) apart.push(`${workload.kind} ${workload.name}`);
      else excluded.push(label);
    }
    const warning: Warning | null =
      apart.length === 0
        ? null
        : {
            code: 'not-microsegmented',
            namespace,
            message: `no label of ${apart.join(', ')} tells its pods apart from other workloads', so the namespace's policy still selects them and its rules add to their own (Cilium's allows are a union)`,
          };
    return { excluded, warning };
  }

  summary(): MicrosegmentationSummary {
    const { config } = this.#run;
    return {
      tier: this.tier,
      source: this.learning.source,
      workloadsKnown: this.learning.index.workloads.length,
      namespaces: [...this.#namespaces].sort(),
      unattributed: this.learning.unattributed,
      unmatched: unmatchedSelections(config, this.#known, this.#run.labelsOf),
      pullRequests: config.microsegmentation.pullRequests,
    };
  }
}

function selects(selector: string, workload: Workload): boolean {
  try {
    return parseSelector(selector).matches({ ...workload.labels, 'projectcalico.org/namespace': workload.namespace });
  } catch {
    return false;
  }
}

/** Our per-workload policies found in a tree, by workload key. */
export type WorkloadPolicies = Map<string, { workload: Workload; refs: ObjectRef[]; enforced: boolean }>;

function policyRefs(run: PlanRun, tier: string): WorkloadPolicies {
  return workloadPoliciesIn(run.tree, run.inventory, run.flavor.kind, tier);
}

/**
 * Our per-workload policies in the tree, by workload: a policy of the flavour's kind, named as
 * workloadPolicyName names it, whose `policy-recommender.io/workload` annotation says which
 * workload it protects; or the same policy enforced (a Calico NetworkPolicy, see engine/enforce.ts).
 */
export function workloadPoliciesIn(tree: TreeOverlay, inventory: Inventory, policyKind: string, tier: string): WorkloadPolicies {
  const found: WorkloadPolicies = new Map();
  for (const ref of inventory.objects) {
    const enforced = policyKind === 'StagedNetworkPolicy' && ref.kind === 'NetworkPolicy' && ref.apiVersion === 'projectcalico.org/v3';
    if ((ref.kind !== policyKind && !enforced) || ref.namespace === null || !isWorkloadPolicyName(ref.name, tier)) continue;
    const policy = readPolicy(tree, ref);
    const identity = annotation(policy, ANNOTATIONS.workload);
    const slash = identity?.indexOf('/') ?? -1;
    if (identity === null || slash === -1) continue;
    const kind = identity.slice(0, slash) as WorkloadKind;
    const name = identity.slice(slash + 1);
    if (!WORKLOAD_KINDS.includes(kind) || !isDnsSubdomain(name)) continue;
    const id = { kind, name, namespace: ref.namespace };
    if (!isWorkloadPolicyNameOf(ref.name, tier, id)) continue;
    const spec = policy!.spec;
    const ast = parsed(spec?.selector);
    const labels = (ast && labelsOfSelector(ast)) ?? ciliumSelectorLabels(spec?.endpointSelector);
    const key = workloadKey(id);
    const known = found.get(key);
    if (known !== undefined) {
      known.refs.push(ref);
      known.enforced ||= enforced;
    } else found.set(key, { workload: { ...id, labels }, refs: [ref], enforced });
  }
  return found;
}

/** A CiliumNetworkPolicy's endpointSelector as the cilium flavour writes it for a workload: its `k8s:` matchLabels. */
function ciliumSelectorLabels(selector: NonNullable<PolicyView['spec']>['endpointSelector']): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) {
    if (typeof value === 'string') labels[key.startsWith('k8s:') ? key.slice('k8s:'.length) : key] = value;
  }
  return labels;
}
