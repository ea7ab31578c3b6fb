// Names of the objects the engine writes. Deterministic (no random suffix, unlike Calico
// Enterprise's engine) so that Git history, PR branches and Argo CD / Flux all see one object.
//
// Calico policies are named `<tier>.<namespace>-recommendation`. Calico up to 3.31 requires the
// `<tier>.` prefix for policies outside the default tier; 3.32 and later no longer require it but
// accept it, so this one scheme fits every Calico release with tiers and staged policies
// (open source 3.30+, Enterprise 3.x).

import type { Flavor } from '../config/recommendation-config.ts';

const SUFFIX = '-recommendation';

export function namespacePolicyName(flavor: Flavor, tier: string, namespace: string): string {
  return flavor === 'kubernetes' ? `${namespace}${SUFFIX}` : `${tier}.${namespace}${SUFFIX}`;
}

/**
 * Is a policy as named in a flow log's policy trace (`<ns>/<tier>.staged:<name>`,
 * `<ns>/staged:<tier>.<name>`, `<ns>/<tier>.<name>`, ...) our own recommendation for `namespace`?
 */
export function isOwnPolicyInTrace(tracePolicy: string, tier: string, namespace: string): boolean {
  const slash = tracePolicy.indexOf('/');
  if (slash === -1 || tracePolicy.slice(0, slash) !== namespace) return false;
  let name = tracePolicy.slice(slash + 1).replaceAll('staged:', '');
  // The tier may be printed as a prefix of a name that already carries it.
  while (name.startsWith(`${tier}.`)) name = name.slice(tier.length + 1);
  return name === `${namespace}${SUFFIX}`;
}

/**
 * Where a namespace's policy lives in the policies tree: `<namespace>.yaml`, except for a
 * namespace called `kustomization`, whose file would be taken for the directory's kustomization
 * (`_` cannot occur in a namespace name, so the alternative cannot collide).
 */
export function namespacePolicyPath(namespace: string): string {
  return `namespace-isolation/${namespace === 'kustomization' ? 'kustomization_' : namespace}.yaml`;
}
