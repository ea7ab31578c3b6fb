// Names of the objects the engine writes. Deterministic (no random suffix, unlike Calico
// Enterprise's engine) so that Git history, PR branches and Argo CD / Flux all see one object.
//
// Calico policies are named `<namespace>-recommendation` (namespace isolation) and
// `<kind>-<workload>-recommendation` (microsegmentation), with the `<tier>.` prefix where the
// cluster's release requires it: Calico up to 3.31 requires `<tier>.<name>` outside the default
// tier (libcalico-go/lib/names/policy.go ValidateTieredPolicyName, release-v3.31); 3.32 dropped
// the requirement (commit "Remove last vestiges of tier prefixing") and accepts either form, so a
// policy named with the prefix keeps its name after an upgrade: both forms are ours. Every release
// allows at most one dot in a policy name (libcalico-go/lib/validator/v3/validator.go
// networkPolicyNameRegex), so a workload's dots never reach the name.

import { createHash } from 'node:crypto';
import { type CalicoRelease, calicoReleaseAtLeast } from '../calico/release.ts';
import type { Flavor } from '../config/recommendation-config.ts';
import type { PolicyHit, PolicyHitKind } from '../flows/record.ts';
import { WORKLOAD_KINDS } from './model.ts';
import type { WorkloadId } from './workloads.ts';

const SUFFIX = '-recommendation';
/** Kubernetes object names (DNS subdomains) and, with room for `.yaml`, file names. */
const MAX_OBJECT_NAME = 253;
const MAX_FILE_NAME = 200;

/** Does this release require the `<tier>.` prefix on policy names outside the default tier? */
function tierPrefixRequired(release: CalicoRelease): boolean {
  return !calicoReleaseAtLeast(release, '3.32');
}

/** The name a new namespace policy gets (a policy found under the other form keeps its name). */
export function namespacePolicyName(flavor: Flavor, tier: string, namespace: string, release: CalicoRelease): string {
  return flavor === 'kubernetes' || flavor === 'cilium' || !tierPrefixRequired(release)
    ? `${namespace}${SUFFIX}`
    : `${tier}.${namespace}${SUFFIX}`;
}

/** Is `name` our namespace policy's, in the form of any release? */
export function isNamespacePolicyName(name: string, flavor: Flavor, tier: string, namespace: string): boolean {
  const bare = `${namespace}${SUFFIX}`;
  return name === bare || (flavor !== 'kubernetes' && flavor !== 'cilium' && name === `${tier}.${bare}`);
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
 * A workload's microsegmentation policy: `<kind>-<name>-recommendation`, e.g.
 * `deployment-customer-recommendation` (`appsec.deployment-customer-recommendation` where the
 * release requires the tier prefix), in the workload's namespace. The kind keeps a Deployment and
 * a StatefulSet of the same name apart. A workload name with dots (`web.v2`) has them replaced and
 * a hash of the workload's identity added (`web-v2` is another workload); a name that would exceed
 * 253 characters is shortened, with the same hash keeping it unique.
 */
export function workloadPolicyName(tier: string, workload: WorkloadId, release: CalicoRelease): string {
  const prefix = `${tierPrefixRequired(release) ? `${tier}.` : ''}${workload.kind.toLowerCase()}-`;
  return `${prefix}${bounded(dotless(workload), MAX_OBJECT_NAME - prefix.length - SUFFIX.length, workload)}${SUFFIX}`;
}

/** Is `name` the policy of this workload, in the form of any release? */
export function isWorkloadPolicyNameOf(name: string, tier: string, workload: WorkloadId): boolean {
  return name === workloadPolicyName(tier, workload, '3.31') || name === workloadPolicyName(tier, workload, '3.32');
}

/** `appsec/<namespace>/<kind>-<name>.yaml` (the kind prefix means it can never be a kustomization). */
export function workloadPolicyPath(workload: WorkloadId): string {
  const kind = `${workload.kind.toLowerCase()}-`;
  return `appsec/${workload.namespace}/${kind}${bounded(workload.name, MAX_FILE_NAME - kind.length, workload)}.yaml`;
}

/** `name`, or its start and a hash of the workload's identity when longer than `max`. */
function bounded(name: string, max: number, workload: WorkloadId): string {
  if (name.length <= max) return name;
  const hash = identityHash(workload);
  return `${name.slice(0, max - hash.length - 1).replace(/[-.]+$/, '')}-${hash}`;
}

/** The workload's name without dots: `web.v2` -> `web-v2-<hash>` (unique, since `web-v2` may exist too). */
function dotless(workload: WorkloadId): string {
  return workload.name.includes('.') ? `${workload.name.replaceAll('.', '-')}-${identityHash(workload)}` : workload.name;
}

function identityHash(workload: WorkloadId): string {
  return createHash('sha256').update(`${workload.namespace}/${workload.kind}/${workload.name}`).digest('hex').slice(0, 10);
}

const WORKLOAD_POLICY = new RegExp(`^(${WORKLOAD_KINDS.map((k) => k.toLowerCase()).join('|')})-.+${SUFFIX}$`);

/** Is this a name workloadPolicyName gives in `tier`, under any release? */
export function isWorkloadPolicyName(name: string, tier: string): boolean {
  return WORKLOAD_POLICY.test(name.startsWith(`${tier}.`) ? name.slice(tier.length + 1) : name);
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
