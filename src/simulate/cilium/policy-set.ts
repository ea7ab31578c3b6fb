// The Cilium policies of a policies tree (CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy,
// cilium.io/v2), each validated at the boundary (src/cilium/parse-policy.ts); what does not
// validate is a warning, as in the Calico policy set.

import { parseCiliumPolicy } from '../../cilium/parse-policy.ts';
import type { CiliumPolicy } from '../../cilium/types.ts';
import type { TreeFiles } from '../../tree/tree.ts';
import { isPlainObject } from '../../util/plain.ts';
import { objectsOfTree, type PolicyWarning } from '../policy-set.ts';

const CILIUM_KINDS: readonly string[] = ['CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy'];
/** Policy kinds another engine enforces (Calico's and Kubernetes'), which this set does not evaluate. */
const OTHER_POLICY_KINDS: readonly string[] = [
  'NetworkPolicy',
  'GlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
];

export interface CiliumPolicySet {
  readonly policies: readonly CiliumPolicy[];
  readonly warnings: readonly PolicyWarning[];
  /** `Kind namespace/name` of Calico or Kubernetes policies in the same tree (not evaluated here). */
  readonly otherPolicies: readonly string[];
}

/** The tree's Cilium policies; null when it has no Cilium policy document at all. */
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
    if (OTHER_POLICY_KINDS.includes(kind) && /(^|\.)(projectcalico\.org|networking\.k8s\.io)\//.test(apiVersion)) {
      otherPolicies.push(id);
      continue;
    }
    if (!CILIUM_KINDS.includes(kind) || !apiVersion.startsWith('cilium.io/')) continue;
    found = true;
    if (apiVersion !== 'cilium.io/v2') {
      warnings.push({ path, object: id, message: `apiVersion ${JSON.stringify(apiVersion)} is not cilium.io/v2: skipped` });
      continue;
    }
    const parsed = parseCiliumPolicy(value);
    if (!parsed.ok) {
      for (const issue of parsed.issues) warnings.push({ path, object: id, message: `${issue.path}: ${issue.message}` });
      continue;
    }
    // The API server keeps one object per kind, namespace and name: a second definition is a mistake.
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      warnings.push({ path, object: id, message: `defined again (first in ${earlier}): this one is skipped` });
      continue;
    }
    seen.set(id, path);
    policies.push(parsed.policy);
  }
  return found ? { policies, warnings, otherPolicies } : null;
}
