// What policy a policy-trace entry names, whatever form the source wrote it in: the flow-log
// string of every Calico release (`<index>|<tier>|<policy>|<action>|<rule index>`) and Goldmane's
// structured hits both become one PolicyHit, so the engine never parses names again.
//
// The `<policy>` part, by release:
// - up to 3.31 (felix/calc/policy_lookup_cache.go, RuleID.setFlowLogPolicyName, release-v3.31;
//   names from libcalico-go/lib/names/policy.go DeconstructPolicyName): `<ns>/<tier>.<name>`,
//   `<ns>/<tier>.staged:<name>` (a staged policy keeps `staged:` on its tier-less name),
//   `<tier>.<name>` and `<tier>.staged:<name>` (global), `<ns>/knp.default.<name>`,
//   `<ns>/staged:knp.default.<name>`, `__PROFILE__.<profile>` (tier `__PROFILE__`),
//   `kanp.adminnetworkpolicy.<name>` / `kbanp.baselineadminnetworkpolicy.<name>`. Older Enterprise
//   logs also wrote `<ns>/staged:<tier>.<name>`.
// - from 3.32 (goldmane/proto/methods.go PolicyHit.ToString, HEAD; short kinds in
//   felix/types/policy_id.go): `<kind>:[<ns>/]<name>`, kind one of np, gnp, snp, sgnp, sknp, knp,
//   kcnp, pro; the name is the object's own name, with no tier or kind prefix. Felix writes a kind
//   it has no short name for in full.

import { isDnsLabel, isDnsSubdomain } from '../calico/names.ts';
import { memoize } from '../util/memo.ts';
import type { PolicyHit, PolicyHitAction, PolicyHitKind } from './record.ts';

export const PROFILE_TIER = '__PROFILE__';

const HIT_ACTIONS: ReadonlySet<string> = new Set(['allow', 'deny', 'pass', 'log']);
/** Felix's name for "no policy" in a tier's end-of-tier entries (felix/calc/policy_lookup_cache.go, release-v3.31). */
const NO_MATCH = '__NO_MATCH__';

/** felix/types/policy_id.go (HEAD): the short kinds of 3.32+ flow logs. */
const SHORT_KINDS: Readonly<Record<string, PolicyHitKind>> = {
  np: 'NetworkPolicy',
  gnp: 'GlobalNetworkPolicy',
  snp: 'StagedNetworkPolicy',
  sgnp: 'StagedGlobalNetworkPolicy',
  knp: 'KubernetesNetworkPolicy',
  sknp: 'StagedKubernetesNetworkPolicy',
  kcnp: 'ClusterNetworkPolicy',
  pro: 'Profile',
};

const STAGED = 'staged:';
const KNP = 'knp.default.';

/**
 * One flow-log policy-trace entry, or null when it is malformed. Parsed hits are immutable and
 * shared (traces repeat the same entries millions of times).
 */
export function parsePolicyHit(entry: unknown): PolicyHit | null {
  return typeof entry === 'string' && entry.length <= 1024 ? cachedHit(entry) : null;
}

const cachedHit = memoize((entry): PolicyHit | null => {
  const parts = entry.split('|');
  if (parts.length !== 5) return null;
  const [index, tier, policy, action, ruleIndex] = parts as [string, string, string, string, string];
  if (!/^\d{1,4}$/.test(index) || !/^-?\d{1,6}$/.test(ruleIndex) || !HIT_ACTIONS.has(action)) return null;
  if (!isDnsLabel(tier) && tier !== PROFILE_TIER) return null;
  const named = policyOfTrace(policy, tier);
  if (named === null) return null;
  return Object.freeze({ index: Number(index), tier, ...named, action: action as PolicyHitAction, ruleIndex: Number(ruleIndex) });
});

type Named = Pick<PolicyHit, 'kind' | 'namespace' | 'name'>;

/** The `<policy>` part of a trace entry, in the form of any release; null when malformed. */
export function policyOfTrace(policy: string, tier: string): Named | null {
  const colon = policy.indexOf(':');
  const head = colon === -1 ? '' : policy.slice(0, colon);
  // 3.32+: `<kind>:[<ns>/]<name>`. (`staged:` is the older staged marker, never a kind.)
  if (colon > 0 && head !== 'staged' && /^[A-Za-z]+$/.test(head) && !head.includes('.')) {
    const kind = SHORT_KINDS[head] ?? 'Other';
    const { namespace, rest } = splitNamespace(policy.slice(colon + 1));
    if (namespace === undefined) return null;
    return named(kind, namespace, kind === 'Profile' ? rest : bareName(rest, tier));
  }
  if (tier === PROFILE_TIER) {
    const prefix = `${PROFILE_TIER}.`;
    return policy.startsWith(prefix) ? named('Profile', null, policy.slice(prefix.length)) : null;
  }
  const { namespace, rest } = splitNamespace(policy);
  if (namespace === undefined) return null;
  let name = rest;
  let staged = false;
  if (name.startsWith(STAGED)) {
    staged = true;
    name = name.slice(STAGED.length);
  }
  if (name.startsWith(KNP)) {
    if (namespace === null) return null;
    return named(staged ? 'StagedKubernetesNetworkPolicy' : 'KubernetesNetworkPolicy', namespace, name.slice(KNP.length));
  }
  if (name.startsWith('kanp.') || name.startsWith('kbanp.')) return named('Other', namespace, name);
  if (name.startsWith('kcnp.')) return named('ClusterNetworkPolicy', namespace, bareName(name.slice('kcnp.'.length), tier));
  name = stripTier(name, tier);
  if (name.startsWith(STAGED)) {
    staged = true;
    // Some releases print the tier in front of a name that already carries it.
    name = stripTier(name.slice(STAGED.length), tier);
  }
  const kind: PolicyHitKind =
    namespace === null ? (staged ? 'StagedGlobalNetworkPolicy' : 'GlobalNetworkPolicy') : staged ? 'StagedNetworkPolicy' : 'NetworkPolicy';
  return named(kind, namespace, name);
}

/** The name a policy has in a tier, without the `<tier>.` and `staged:` a trace may add. */
export function bareName(name: string, tier: string): string {
  let out = name.startsWith(STAGED) ? name.slice(STAGED.length) : name;
  out = stripTier(out, tier);
  return out.startsWith(STAGED) ? stripTier(out.slice(STAGED.length), tier) : out;
}

function stripTier(name: string, tier: string): string {
  return name.startsWith(`${tier}.`) && name.length > tier.length + 1 ? name.slice(tier.length + 1) : name;
}

/** `<ns>/<rest>` or `<rest>`; namespace undefined when malformed. */
function splitNamespace(text: string): { namespace: string | null | undefined; rest: string } {
  const slash = text.indexOf('/');
  if (slash === -1) return { namespace: null, rest: text };
  const namespace = text.slice(0, slash);
  return { namespace: isDnsLabel(namespace) ? namespace : undefined, rest: text.slice(slash + 1) };
}

/** Names are object names (goldmane/proto/methods.go HitFromString checks them as DNS subdomains). */
function named(kind: PolicyHitKind, namespace: string | null, name: string): Named | null {
  return isDnsSubdomain(name) || name === NO_MATCH ? { kind, namespace, name } : null;
}
