// Names of the objects the engine writes. Deterministic (no random suffix, unlike Calico
// Enterprise's engine) so that Git history, PR branches and Argo CD / Flux all see one object.
//
// Calico policies are named `<tier>.<namespace>-recommendation`. Calico up to 3.31 requires the
// `<tier>.` prefix for policies outside the default tier; 3.32 and later no longer require it but
// accept it, so this one scheme fits every Calico release with tiers and staged policies
// (open source 3.30+, Enterprise 3.x).

import { createHash } from 'node:crypto';
import type { Flavor } from '../config/recommendation-config.ts';
import type { PolicyHit, PolicyHitKind } from '../flows/record.ts';
import { WORKLOAD_KINDS, type WorkloadId } from './workloads.ts';

const SUFFIX = '-recommendation';
/** Kubernetes object names (DNS subdomains) and, with room for `.yaml`, file names. */
const MAX_OBJECT_NAME = 253;
const MAX_FILE_NAME = 200;

export function namespacePolicyName(flavor: Flavor, tier: string, namespace: string): string {
  return flavor === 'kubernetes' ? `${namespace}${SUFFIX}` : `${tier}.${namespace}${SUFFIX}`;
}

const CALICO_KINDS: ReadonlySet<PolicyHitKind> = new Set(['NetworkPolicy', 'StagedNetworkPolicy']);
const KUBERNETES_KINDS: ReadonlySet<PolicyHitKind> = new Set(['KubernetesNetworkPolicy', 'StagedKubernetesNetworkPolicy']);

/**
 * Is a policy-trace hit our own namespace recommendation for `namespace` (tier `tier`), staged or
 * enforced, whichever name form the trace used? The `kubernetes` flavour's policy is a Kubernetes
 * policy of the same name (Calico puts those in the default tier).
 */
export function isOwnPolicyHit(hit: PolicyHit, tier: string, namespace: string): boolean {
  if (hit.namespace !== namespace || hit.name !== `${namespace}${SUFFIX}`) return false;
  return (CALICO_KINDS.has(hit.kind) && hit.tier === tier) || KUBERNETES_KINDS.has(hit.kind);
}

/**
 * A workload's microsegmentation policy: `<tier>.<kind>-<name>-recommendation`, e.g.
 * `appsec.deployment-customer-recommendation`, in the workload's namespace. The kind keeps a
 * Deployment and a StatefulSet of the same name apart; the tier prefix is the namespace policies'
 * convention (required by Calico up to 3.31, accepted by 3.32+). A name that would exceed 253
 * characters is shortened, with a hash of the workload's identity keeping it unique.
 */
export function workloadPolicyName(tier: string, workload: WorkloadId): string {
  const prefix = `${tier}.${workload.kind.toLowerCase()}-`;
  return `${prefix}${bounded(workload.name, MAX_OBJECT_NAME - prefix.length - SUFFIX.length, workload)}${SUFFIX}`;
}

/** `appsec/<namespace>/<kind>-<name>.yaml` (the kind prefix means it can never be a kustomization). */
export function workloadPolicyPath(workload: WorkloadId): string {
  const kind = `${workload.kind.toLowerCase()}-`;
  return `appsec/${workload.namespace}/${kind}${bounded(workload.name, MAX_FILE_NAME - kind.length, workload)}.yaml`;
}

/** `name`, or its start and a hash of the workload's identity when longer than `max`. */
function bounded(name: string, max: number, workload: WorkloadId): string {
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(`${workload.namespace}/${workload.kind}/${workload.name}`).digest('hex').slice(0, 10);
  return `${name.slice(0, max - hash.length - 1).replace(/[-.]+$/, '')}-${hash}`;
}

const WORKLOAD_POLICY = new RegExp(`^(${WORKLOAD_KINDS.map((k) => k.toLowerCase()).join('|')})-.+${SUFFIX}$`);

/** Is this a name workloadPolicyName gives in `tier`? */
export function isWorkloadPolicyName(name: string, tier: string): boolean {
  return name.startsWith(`${tier}.`) && WORKLOAD_POLICY.test(name.slice(tier.length + 1));
}

/** Is a policy-trace hit one of our microsegmentation policies in `namespace` (tier `tier`)? */
export function isOwnWorkloadPolicyHit(hit: PolicyHit, tier: string, namespace: string): boolean {
  return hit.namespace === namespace && hit.tier === tier && CALICO_KINDS.has(hit.kind) && WORKLOAD_POLICY.test(hit.name);
}

/** The template's staged global default deny (`default-deny`, tier default) in a trace. */
export function isTemplateDefaultDenyHit(hit: PolicyHit): boolean {
  return hit.kind === 'StagedGlobalNetworkPolicy' && hit.tier === 'default' && hit.name === 'default-deny';
}

/**
 * Where a namespace's policy lives in the policies tree: `<namespace>.yaml`, except for a
 * namespace called `kustomization`, whose file would be taken for the directory's kustomization
 * (`_` cannot occur in a namespace name, so the alternative cannot collide).
 */
export function namespacePolicyPath(namespace: string): string {
  return `namespace-isolation/${namespace === 'kustomization' ? 'kustomization_' : namespace}.yaml`;
}
