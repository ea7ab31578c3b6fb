// The policies of a Cilium cluster's tree: CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy
// (cilium.io/v2), each validated at the boundary (src/cilium/parse-policy.ts), and Kubernetes
// NetworkPolicies, which Cilium enforces too (kubernetes-policy.ts); what does not validate is a
// warning, as in the Calico policy set.

import { parseCiliumPolicy } from '../../cilium/parse-policy.ts';
import type { CiliumPolicy } from '../../cilium/types.ts';
import type { ConfigIssue } from '../../config/config-error.ts';
import type { TreeFiles } from '../../tree/tree.ts';
import { isPlainObject, type PlainObject } from '../../util/plain.ts';
import { objectsOfTree, type PolicyWarning } from '../policy-set.ts';
import { PolicyValidationError } from '../policy-terms.ts';
import { kubernetesPolicyAsCilium } from './kubernetes-policy.ts';

const CILIUM_KINDS: readonly string[] = ['CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy'];
/** Calico's policy kinds, which a Cilium cluster does not enforce (nor has the CRDs of). */
const CALICO_POLICY_KINDS: readonly string[] = [
  'NetworkPolicy',
  'GlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
];

export interface CiliumPolicySet {
  readonly policies: readonly CiliumPolicy[];
  readonly warnings: readonly PolicyWarning[];
  /** `Kind namespace/name` of Calico policies in the same tree (not evaluated here). */
  readonly otherPolicies: readonly string[];
}

/**
 * The tree's Cilium policies, its Kubernetes NetworkPolicies among them; null when it has no
 * Cilium policy document at all (a tree of Kubernetes policies alone is read as Calico's).
 */
export function ciliumPolicySetFromTree(tree: TreeFiles): CiliumPolicySet | null {
  const { objects, warnings } = objectsOfTree(tree);
  const policies: CiliumPolicy[] = [];
  const otherPolicies: string[] = [];
  const seen = new Map<string, string>();
  let found = false;
  for (const { path, value } of objects) {
    if (!isPlainObject(value) || typeof value['kind'] !== 'string') continue;
    const kind = value['kind'];
    const metadata = isPlainObject(value['metadata']) ? value['metadata'] : {};
    const id = `${kind} ${typeof metadata['namespace'] === 'string' ? `${metadata['namespace']}/` : ''}${String(metadata['name'] ?? '?')}`;
    const apiVersion = String(value['apiVersion'] ?? '');
    const kubernetes = kind === 'NetworkPolicy' && apiVersion === 'networking.k8s.io/v1';
    if (!kubernetes && CALICO_POLICY_KINDS.includes(kind) && /(^|\.)projectcalico\.org\//.test(apiVersion)) {
      otherPolicies.push(id);
      continue;
    }
    if (!kubernetes && (!CILIUM_KINDS.includes(kind) || !apiVersion.startsWith('cilium.io/'))) continue;
    if (!kubernetes) found = true;
    if (!kubernetes && apiVersion !== 'cilium.io/v2') {
      warnings.push({ path, object: id, message: `apiVersion ${JSON.stringify(apiVersion)} is not cilium.io/v2: skipped` });
      continue;
    }
    const policy = kubernetes ? kubernetesPolicy(value, (message) => warnings.push({ path, object: id, message })) : ciliumPolicy(value);
    if (policy === null || !('kind' in policy)) {
      for (const issue of policy?.issues ?? []) warnings.push({ path, object: id, message: `${issue.path}: ${issue.message}` });
      continue;
    }
    // The API server keeps one object per kind, namespace and name: a second definition is a mistake.
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      warnings.push({ path, object: id, message: `defined again (first in ${earlier}): this one is skipped` });
      continue;
    }
    seen.set(id, path);
    policies.push(policy);
  }
  return found ? { policies, warnings, otherPolicies } : null;
}

function ciliumPolicy(value: PlainObject): CiliumPolicy | { readonly issues: readonly ConfigIssue[] } {
  const parsed = parseCiliumPolicy(value);
  return parsed.ok ? parsed.policy : { issues: parsed.issues };
}

function kubernetesPolicy(value: PlainObject, warn: (message: string) => void): CiliumPolicy | null {
  try {
    return kubernetesPolicyAsCilium(value);
  } catch (e) {
    if (!(e instanceof PolicyValidationError)) throw e;
    warn(e.message);
    return null;
  }
}
