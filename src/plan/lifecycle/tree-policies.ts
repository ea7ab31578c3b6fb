// What the default branch holds of the bot's policies, as the lifecycle reads it: each namespace's
// isolation policy (staged or enforced; Cilium's, merged, is enforced), accepted workload policies
// grouped as their PRs propose them, and the template's staged global default deny.

import type { RecommendationConfig } from '../../config/recommendation-config.ts';
import { flavorFor } from '../../engine/flavors/index.ts';
import { isNamespacePolicyName } from '../../engine/naming.ts';
import type { Workload } from '../../engine/workloads.ts';
import { buildInventory, type ObjectRef } from '../../tree/inventory.ts';
import { type TreeFiles, TreeOverlay } from '../../tree/tree.ts';
import { contentHash } from '../../util/content-hash.ts';
import { isEnforcedPolicy } from '../plan.ts';
import { workloadPoliciesIn } from '../plan-workloads.ts';
import { keyId, type ProposalKey } from './unit-key.ts';

/** Accepted workload policies on the default branch, grouped by the unit (key id) whose PR proposes them. */
export function workloadGroups(cluster: string, tree: TreeFiles, config: RecommendationConfig) {
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
export interface OurPolicy {
  readonly path: string;
  readonly text: string;
  readonly ref: ObjectRef;
  readonly enforced: boolean;
}

export function ourNamespacePolicies(tree: TreeFiles, config: RecommendationConfig): Map<string, OurPolicy> {
  const inventory = buildInventory(new TreeOverlay(tree));
  const tier = config.namespaceSpec.tierName;
  const flavor = flavorFor(config);
  const out = new Map<string, OurPolicy>();
  for (const ref of inventory.objects) {
    if (ref.namespace === null || !isNamespacePolicyName(ref.name, config.flavor, tier, ref.namespace)) continue;
    // Cilium has no staged policies: its policy on the default branch is enforced (merged = enforced).
    const merged = flavor.staged ? false : ref.kind === flavor.kind && ref.apiVersion === 'cilium.io/v2';
    const staged = flavor.staged && ref.kind === flavor.kind && ref.apiVersion === 'projectcalico.org/v3';
    const enforced = merged || isEnforcedPolicy(ref, flavor, tier, ref.namespace);
    if (!staged && !enforced) continue;
    // An enforced policy wins over a staged one of the same name (the staged one is then a leftover).
    if (out.get(ref.namespace)?.enforced) continue;
    out.set(ref.namespace, { path: ref.path, text: tree.get(ref.path) ?? '', ref, enforced });
  }
  return out;
}

/** The template's staged global default deny, if the default branch has it (and it is not enforced yet). */
export function stagedDefaultDeny(tree: TreeFiles): { path: string; text: string } | undefined {
  const inventory = buildInventory(new TreeOverlay(tree));
  const staged = inventory.objects.find((r) => r.kind === 'StagedGlobalNetworkPolicy' && r.name === 'default-deny');
  const enforced = inventory.objects.some((r) => r.kind === 'GlobalNetworkPolicy' && r.name === 'default-deny');
  return staged === undefined || enforced ? undefined : { path: staged.path, text: tree.get(staged.path) ?? '' };
}
