// Decides what a recommendation run changes in a policies tree: for each namespace, update its
// policy (found by kind, namespace and name wherever it lives) or create it; with
// microsegmentation, the same for each selected workload (plan-workloads.ts); then add what the
// template provides and keep everything in the tree's build (kustomize.ts: a directory without a
// list by default, or the root kustomization of the kustomize layout). Pure: a tree of
// text in, changed files and reports out. The CLI writes the changes to disk; the App commits them.

import type { RecommendationConfig } from '../config/recommendation-config.ts';
import type { PolicyFlavor } from '../engine/flavors/flavor.ts';
import { flavorFor } from '../engine/flavors/index.ts';
import type { EndpointObservation, ObservedAtom } from '../engine/model.ts';
import { isNamespacePolicyName, namespacePolicyPath } from '../engine/naming.ts';
import { type NetworkSetFacts, networkSetDirectory } from '../engine/network-sets.ts';
import { formatTime } from '../engine/provenance.ts';
import type { NamespaceReport, Warning, WorkloadReport } from '../engine/report.ts';
import type { Workload } from '../engine/workloads.ts';
import type { CalicoEdition } from '../flows/source.ts';
import { networkSetFacts } from '../simulate/policy-set.ts';
import { buildInventory, type Inventory, type ObjectRef } from '../tree/inventory.ts';
import { ensureAllReachable } from '../tree/kustomize.ts';
import { applyTemplate, type TierRequest } from '../tree/template.ts';
import { type TreeFiles, TreeOverlay } from '../tree/tree.ts';
import { type PlanRun, planPolicy, readObject, readPolicy, skipped } from './plan-policy.ts';
import { Microsegmentation, type MicrosegmentationSummary, type WorkloadScope } from './plan-workloads.ts';

/** What the cluster says about namespaces; without it a namespace's labels are just its name. */
export interface NamespaceContext {
  labels(namespace: string): Record<string, string> | undefined;
}

export interface PlanInput {
  readonly tree: TreeFiles;
  readonly template: TreeFiles;
  readonly observations: ReadonlyMap<string, readonly ObservedAtom[]>;
  readonly config: RecommendationConfig;
  /** Unix seconds. */
  readonly now: number;
  readonly namespaces?: NamespaceContext;
  /** Microsegmentation: the endpoint observations (Observations.endpoints). */
  readonly endpoints?: readonly EndpointObservation[];
  /**
   * Microsegmentation: the cluster's workloads (ClusterContext.workloads()). Without them,
   * workloads are inferred from the endpoints' names and labels.
   */
  readonly workloads?: readonly Workload[];
  /** Network sets as the cluster has them (ClusterContext.networkSets()); the tree's own are read from it. */
  readonly networkSets?: readonly NetworkSetFacts[];
  /** Which Calico the flows came from (FlowSource.calicoEdition), when the source tells. */
  readonly calicoEdition?: CalicoEdition;
  /**
   * The observations are all the flows of the lookback window ending at `now` (the command line,
   * which reads its whole window each run): a policy whose subject has none in them was not
   * watched, and is not Stable on time alone (engine/status.ts). The App reads only what came
   * since its previous run, where a quiet run says nothing of the time before it: it leaves this off.
   */
  readonly observationsCoverLookback?: boolean;
  /** Plan only this namespace's isolation policy (one pull request per namespace), leaving everything else alone. */
  readonly onlyNamespace?: string;
  /** Plan only microsegmentation: one namespace's workload policies, or one workload's. */
  readonly onlyWorkloads?: WorkloadScope;
}

export interface Plan {
  /** New or changed files (path -> content), sorted by path; empty when nothing changes. */
  readonly changes: ReadonlyMap<string, string>;
  /**
   * The cluster-wide files among them (the template's tiers and default deny, added when the tree
   * lacks them): the App proposes them in a bootstrap PR of their own, never in a namespace's.
   */
  readonly clusterWide: readonly string[];
  readonly namespaces: readonly NamespaceReport[];
  /** Namespaces with traffic that the namespace selector excludes. */
  readonly notSelected: readonly string[];
  readonly warnings: readonly Warning[];
  /** Microsegmentation: the selected workloads with traffic or a policy, sorted by namespace, kind and name. */
  readonly workloads: readonly WorkloadReport[];
  /** Microsegmentation's account; null when it is off. */
  readonly microsegmentation: MicrosegmentationSummary | null;
}

export function planRecommendations(input: PlanInput): Plan {
  const { config, now } = input;
  const tree = new TreeOverlay(input.tree);
  const inventory = buildInventory(tree);
  const flavor = flavorFor(config, {
    networkSets: networkSetDirectory(input.networkSets ?? [], networkSetsOfTree(tree, inventory)),
    ...(input.calicoEdition ? { edition: input.calicoEdition } : {}),
  });
  const tier = config.namespaceSpec.tierName;
  const nowText = formatTime(now);
  const nameLabels = (ns: string) => ({ 'kubernetes.io/metadata.name': ns, 'projectcalico.org/name': ns });
  const labelsOf = (ns: string) => input.namespaces?.labels(ns) ?? nameLabels(ns);

  const written: string[] = [];
  const clusterWide: string[] = [];
  const run: PlanRun = {
    tree,
    inventory,
    flavor,
    config,
    now,
    nowText,
    labelsOf,
    labelsComplete: input.namespaces !== undefined,
    written,
    observationsCoverLookback: input.observationsCoverLookback === true,
  };
  const warnings: Warning[] = [];
  let segments: Microsegmentation | null = null;
  if (config.microsegmentation.enabled) {
    if (flavor.name === 'kubernetes') {
      warnings.push({
        code: 'microsegmentation-unsupported',
        message: 'microsegmentation is on, but the kubernetes flavour has no tiers and no Pass: no per-workload policy was written',
      });
    } else segments = new Microsegmentation(run, input.endpoints ?? [], input.workloads);
  }

  // A union-of-allows flavour (Cilium): the workloads' policies are planned first, so that each
  // namespace policy leaves out the pods of those that have one (reselect).
  const unionOfAllows = flavor.reselect !== undefined;
  const plannedWorkloads =
    segments !== null && unionOfAllows && input.onlyNamespace === undefined ? segments.plan(input.onlyWorkloads) : null;

  const existing = policyRefs(inventory, flavor, tier);
  const namespaces = [...new Set([...input.observations.keys(), ...existing.keys()])]
    .filter((ns) => input.onlyWorkloads === undefined && (input.onlyNamespace === undefined || ns === input.onlyNamespace))
    .sort();

  // By namespace, so that finding each namespace's enforced policy does not scan the whole tree.
  const enforcedPolicies = objectsByNamespace(inventory);
  const reports: NamespaceReport[] = [];
  const notSelected: string[] = [];
  for (const namespace of namespaces) {
    const refs = existing.get(namespace) ?? [];
    const selected = config.namespaceSpec.recStatus === 'Enabled' && config.namespaceSpec.selector.matches(labelsOf(namespace));
    if (!selected) {
      if (refs.length === 0) notSelected.push(namespace);
      else reports.push(skipped(namespace, refs[0]!.path, readPolicy(tree, refs[0]!), config, now, []));
      continue;
    }
    // Enforced (an enforce PR was merged): its traffic is decided by that policy now, nothing more is learned for it.
    const enforced = enforcedPolicies.get(namespace)?.find((o) => isEnforcedPolicy(o, flavor, tier, namespace));
    if (enforced !== undefined) {
      reports.push(
        skipped(namespace, enforced.path, readPolicy(tree, enforced), config, now, [
          {
            code: 'enforced',
            namespace,
            message: `the namespace's policy is enforced (NetworkPolicy in ${enforced.path}): nothing more is recommended for it`,
          },
        ]),
      );
      continue;
    }
    // Microsegmented namespaces pass traffic within the namespace on to the per-workload policies.
    const microsegmented = segments?.microsegments(namespace) === true;
    const exclusions = segments !== null && unionOfAllows ? segments.exclusions(namespace, plannedWorkloads) : null;
    const { report } = planPolicy(
      {
        subject: exclusions === null || exclusions.excluded.length === 0 ? { namespace } : { namespace, excluded: exclusions.excluded },
        about: { namespace },
        what: "this namespace's policy",
        refs,
        defaultPath: namespacePolicyPath(namespace),
        observed: input.observations.get(namespace) ?? [],
        settings: {
          tier,
          layer: 'namespace-isolation',
          maxRules: config.maxRules,
          intraNamespacePass: !unionOfAllows && (config.namespaceSpec.intraNamespacePassThroughTraffic || microsegmented),
        },
      },
      run,
    );
    const gap = exclusions !== null ? exclusions.warning : microsegmented ? segments!.uncovered(namespace) : null;
    reports.push(gap === null ? report : { ...report, warnings: [...report.warnings, gap] });
  }

  const workloads = plannedWorkloads ?? (segments === null || input.onlyNamespace !== undefined ? [] : segments.plan(input.onlyWorkloads));
  const hasPolicies = reports.some((r) => r.outcome !== 'skipped') || existing.size > 0 || workloads.some((r) => r.outcome !== 'skipped');
  if (hasPolicies) {
    const tiers: TierRequest[] = [{ name: tier, model: 'namespace-isolation' }];
    if (segments !== null) tiers.push({ name: segments.tier, model: 'appsec' });
    const template = applyTemplate(tree, input.template, inventory, config.flavor, tiers);
    warnings.push(...template.warnings);
    written.push(...template.written);
    clusterWide.push(...template.written);
  }
  // The directory layout builds every file as it is; the kustomize layout lists each (kustomize.ts).
  ensureAllReachable(tree, written);
  return {
    changes: tree.changes(),
    clusterWide,
    namespaces: reports,
    notSelected,
    warnings,
    workloads,
    microsegmentation: segments?.summary() ?? null,
  };
}

/**
 * Our policy, enforced: the flavour's enforced kind of the recommendation's name (see
 * engine/enforce.ts). For the kubernetes flavour that includes the NetworkPolicies earlier releases
 * wrote without a staged phase.
 */
export function isEnforcedPolicy(
  ref: ObjectRef,
  flavor: Pick<PolicyFlavor, 'name' | 'enforced'>,
  tier: string,
  namespace: string,
): boolean {
  // A flavour without an enforce step (Cilium: merging enforces) has no separate enforced form.
  if (flavor.enforced === null) return false;
  return (
    ref.apiVersion === flavor.enforced.apiVersion &&
    ref.kind === flavor.enforced.kind &&
    ref.namespace === namespace &&
    isNamespacePolicyName(ref.name, flavor.name, tier, namespace)
  );
}

/** The tree's namespaced objects by namespace, in the inventory's order. */
function objectsByNamespace(inventory: Inventory): Map<string, ObjectRef[]> {
  const byNamespace = new Map<string, ObjectRef[]>();
  for (const ref of inventory.objects) {
    if (ref.namespace === null) continue;
    const list = byNamespace.get(ref.namespace);
    if (list === undefined) byNamespace.set(ref.namespace, [ref]);
    else list.push(ref);
  }
  return byNamespace;
}

/** The NetworkSets and GlobalNetworkSets the tree defines. */
function networkSetsOfTree(tree: TreeOverlay, inventory: Inventory): NetworkSetFacts[] {
  return inventory.objects
    .filter((ref) => ref.kind === 'NetworkSet' || ref.kind === 'GlobalNetworkSet')
    .flatMap((ref) => networkSetFacts(readObject(tree, ref)) ?? []);
}

/** Namespaces whose policy (of this flavour and tier) the tree holds. */
export function namespacesWithPolicies(tree: TreeFiles, config: RecommendationConfig): string[] {
  const inventory = buildInventory(new TreeOverlay(tree));
  return [...policyRefs(inventory, flavorFor(config), config.namespaceSpec.tierName).keys()].sort();
}

/** Where each namespace's policy is defined (usually once), found by kind, namespace and name. */
function policyRefs(inventory: Inventory, flavor: PolicyFlavor, tier: string): Map<string, ObjectRef[]> {
  const refs = new Map<string, ObjectRef[]>();
  for (const ref of inventory.objects) {
    if (ref.kind === flavor.kind && ref.namespace !== null && isNamespacePolicyName(ref.name, flavor.name, tier, ref.namespace)) {
      const list = refs.get(ref.namespace);
      if (list === undefined) refs.set(ref.namespace, [ref]);
      else list.push(ref);
    }
  }
  return refs;
}
