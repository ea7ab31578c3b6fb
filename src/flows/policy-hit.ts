// What policy a policy-trace entry names, whatever form the source wrote it in: the flow-log
// string of every Calico release (`<index>|<tier>|<policy>|<action>|<rule index>`) and Goldmane's
// structured hits both become one PolicyHit, so the engine never parses names again.
//
// The `<policy>` part, by release:
// - up to 3.31 (felix/calc/policy_lookup_cache.go RuleID.setFlowLogPolicyName, release-v3.30 and
//   release-v3.31, identical; names from libcalico-go/lib/names/policy.go DeconstructPolicyName):
//   Felix writes `<tier>.<name>` for everything without a namespace and `<ns>/<tier>.<name>` for
//   Calico policies with one, where `<name>` is the policy's name without its tier and keeps
//   `staged:` (`<tier>.staged:<name>`, `<ns>/<tier>.staged:<name>`); Kubernetes policies are
//   `<ns>/knp.default.<name>` and `<ns>/staged:knp.default.<name>`; profiles `__PROFILE__.<profile>`
//   (tier `__PROFILE__`); AdminNetworkPolicies `adminnetworkpolicy.kanp.adminnetworkpolicy.<name>`
//   and BaselineAdminNetworkPolicies `baselineadminnetworkpolicy.kbanp.baselineadminnetworkpolicy.<name>`
//   (the tier in front of the full name, since they have no namespace). A missing name is
//   `__NO_MATCH__` (the end of a tier, or no profile matched). Calico Enterprise's docs (flow log
//   data types) describe the same forms with `staged:` in front of the whole name
//   (`<ns>/staged:<tier>.<name>`), and Goldmane's own tests (goldmane/proto/methods_test.go,
//   release-v3.31) write ANPs as `kanp.adminnetworkpolicy.<name>`: both are read too.
// - from 3.32 (policy_lookup_cache.go setFlowLogPolicyName, release-v3.32, release-v3.33 and HEAD;
//   short kinds in felix/types/policy_id.go): `<kind>:<ns>/<name>` for namespaced kinds,
//   `<kind>:<name>` for the others, kind one of np, gnp, snp, sgnp, knp, sknp, kcnp, pro; the name
//   is the object's own name (no tier, no `staged:`); the end of a tier is `eot:__NO_MATCH__`.
//   Felix writes a kind it has no short name for in full.

import { isDnsLabel, isDnsSubdomain } from '../calico/names.ts';
import { memoize } from '../util/memo.ts';
import type { PolicyHit, PolicyHitAction, PolicyHitKind } from './record.ts';

export const PROFILE_TIER = '__PROFILE__';

/**
 * The actions a flow-log entry carries: felix RuleID.ActionString (policy_lookup_cache.go,
 * release-v3.30 to HEAD) knows allow, deny and pass, as the docs' flow log data types page says.
 */
const HIT_ACTIONS: ReadonlySet<string> = new Set(['allow', 'deny', 'pass']);
/** Felix's name for "no policy": an end-of-tier entry, or no profile matched (NoMatchNameStr, policy_lookup_cache.go). */
const NO_MATCH = '__NO_MATCH__';

interface ShortKind {
  readonly kind: PolicyHitKind;
  readonly namespaced: boolean;
  /** A name prefix to drop: the tier for Calico policies (names made before 3.32 carry it), a legacy prefix for Kubernetes ones. */
  readonly prefix: (tier: string) => string | null;
}

const TIER_PREFIX = (tier: string) => `${tier}.`;
/** Typha before 3.32 sent `knp.default.<name>` (libcalico-go/lib/backend/model/policy.go parseLegacyPolicyName, HEAD). */
const KNP_PREFIX = () => 'knp.default.';
/** As the Goldmane source reads it (src/flows/sources/goldmane/to-record.ts): `kcnp.<tier>.<name>`, the name felix/calc/policy_lookups_cache_test.go (HEAD) gives one. */
const KCNP_PREFIX = (tier: string) => `kcnp.${tier}.`;

/** felix/types/policy_id.go (release-v3.32 to HEAD): the short kinds of 3.32+ flow logs. */
const SHORT_KINDS: ReadonlyMap<string, ShortKind> = new Map(
  Object.entries({
    np: { kind: 'NetworkPolicy', namespaced: true, prefix: TIER_PREFIX },
    gnp: { kind: 'GlobalNetworkPolicy', namespaced: false, prefix: TIER_PREFIX },
    snp: { kind: 'StagedNetworkPolicy', namespaced: true, prefix: TIER_PREFIX },
    sgnp: { kind: 'StagedGlobalNetworkPolicy', namespaced: false, prefix: TIER_PREFIX },
    knp: { kind: 'KubernetesNetworkPolicy', namespaced: true, prefix: KNP_PREFIX },
    sknp: { kind: 'StagedKubernetesNetworkPolicy', namespaced: true, prefix: KNP_PREFIX },
    kcnp: { kind: 'ClusterNetworkPolicy', namespaced: false, prefix: KCNP_PREFIX },
    pro: { kind: 'Profile', namespaced: false, prefix: () => null },
  } satisfies Record<string, ShortKind>),
);

/** End of tier, from 3.32 (setFlowLogPolicyName, HEAD): never a policy, always `eot:__NO_MATCH__`. */
const END_OF_TIER = 'eot';

const STAGED = 'staged:';
const KNP = 'knp.default.';
/** libcalico-go/lib/names/policy.go (release-v3.31): the name prefix of (Baseline)AdminNetworkPolicies, by their tier. */
const ADMIN_PREFIXES: ReadonlyMap<string, string> = new Map([
  ['adminnetworkpolicy', 'kanp.adminnetworkpolicy.'],
  ['baselineadminnetworkpolicy', 'kbanp.baselineadminnetworkpolicy.'],
]);

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
  // Rule index: -1 is the tier's default action, -2 "not recorded" (flow log data types page).
  if (!/^\d{1,4}$/.test(index) || !/^-?\d{1,6}$/.test(ruleIndex) || !HIT_ACTIONS.has(action)) return null;
  if (!isDnsLabel(tier) && tier !== PROFILE_TIER) return null;
  const named = policyOfTrace(policy, tier);
  if (named === null) return null;
  return Object.freeze({ index: Number(index), tier, ...named, action: action as PolicyHitAction, ruleIndex: Number(ruleIndex) });
});

type Named = Pick<PolicyHit, 'kind' | 'namespace' | 'name'>;

/** The `<policy>` part of a trace entry in tier `tier`, in the form of any release; null when malformed. */
function policyOfTrace(policy: string, tier: string): Named | null {
  const colon = policy.indexOf(':');
  const head = colon === -1 ? '' : policy.slice(0, colon);
  // 3.32+: `<kind>:[<ns>/]<name>`. (`staged:` is the older staged marker, never a kind.)
  if (colon > 0 && head !== 'staged' && /^[A-Za-z]+$/.test(head)) return kindedPolicy(head, policy.slice(colon + 1), tier);
  return tieredPolicy(policy, tier);
}

/** 3.32+: `<kind>:<ns>/<name>` or `<kind>:<name>`. */
function kindedPolicy(head: string, rest: string, tier: string): Named | null {
  const { namespace, rest: name } = splitNamespace(rest);
  if (namespace === undefined) return null;
  if (head === END_OF_TIER)
    return tier !== PROFILE_TIER && namespace === null && name === NO_MATCH ? { kind: 'Other', namespace, name } : null;
  const short = SHORT_KINDS.get(head);
  // A kind Felix has no short name for (written in full): another policy, never ours.
  if (short === undefined) return tier === PROFILE_TIER ? null : named('Other', namespace, name);
  // Profiles and only profiles sit in the `__PROFILE__` tier (RuleID.IsProfile, TierString).
  if ((short.kind === 'Profile') !== (tier === PROFILE_TIER)) return null;
  if (short.namespaced !== (namespace !== null)) return null;
  const prefix = short.prefix(tier);
  return named(short.kind, namespace, prefix === null ? name : withoutPrefix(name, prefix));
}

/** Up to 3.31, and Calico Enterprise: `[<ns>/][staged:]<tier>.[staged:]<name>`, `[<ns>/][staged:]knp.default.<name>` ... */
function tieredPolicy(policy: string, tier: string): Named | null {
  const { namespace, rest } = splitNamespace(policy);
  if (namespace === undefined) return null;
  if (tier === PROFILE_TIER) {
    // Felix puts no namespace on a profile's rules; its own test of the name (felix/calc/
    // policy_lookups_cache_test.go "Profile", release-v3.31) gives one: `<ns>/__PROFILE__.<name>`.
    // Profiles are global in the model either way.
    const prefix = `${PROFILE_TIER}.`;
    return rest.startsWith(prefix) ? named('Profile', null, rest.slice(prefix.length)) : null;
  }
  let name = rest;
  let staged = false;
  if (name.startsWith(STAGED)) {
    staged = true;
    name = name.slice(STAGED.length);
  }
  if (name.startsWith(KNP)) {
    // Kubernetes policies are namespaced and always in the default tier (DeconstructPolicyName).
    if (namespace === null || tier !== 'default') return null;
    return named(staged ? 'StagedKubernetesNetworkPolicy' : 'KubernetesNetworkPolicy', namespace, name.slice(KNP.length));
  }
  // Felix writes `<tier>.<name>` for every policy without a namespace, so an (Baseline)AdminNetworkPolicy
  // comes with its tier in front of its full name; Goldmane's tests write it without.
  const admin = ADMIN_PREFIXES.get(tier);
  if (admin !== undefined && !staged) {
    const full = withoutPrefix(name, `${tier}.`).startsWith(admin) ? withoutPrefix(name, `${tier}.`) : name;
    if (full.startsWith(admin)) return namespace === null && full.length > admin.length ? named('Other', null, full) : null;
  }
  name = withoutPrefix(name, `${tier}.`);
  if (name.startsWith(STAGED)) {
    staged = true;
    // Calico Enterprise's older form prints `staged:` before a name that carries the tier.
    name = withoutPrefix(name.slice(STAGED.length), `${tier}.`);
  }
  if (name === NO_MATCH) return staged || namespace !== null ? null : { kind: 'Other', namespace: null, name };
  const kind: PolicyHitKind =
    namespace === null ? (staged ? 'StagedGlobalNetworkPolicy' : 'GlobalNetworkPolicy') : staged ? 'StagedNetworkPolicy' : 'NetworkPolicy';
  return named(kind, namespace, name);
}

/**
 * The name a policy has in a tier, without the `<tier>.` and `staged:` a trace may add. (Used by
 * the Goldmane source for the names Goldmane reports.)
 */
export function bareName(name: string, tier: string): string {
  let out = name.startsWith(STAGED) ? name.slice(STAGED.length) : name;
  out = withoutPrefix(out, `${tier}.`);
  return out.startsWith(STAGED) ? withoutPrefix(out.slice(STAGED.length), `${tier}.`) : out;
}

function withoutPrefix(name: string, prefix: string): string {
  return name.startsWith(prefix) && name.length > prefix.length ? name.slice(prefix.length) : name;
}

/** `<ns>/<rest>` or `<rest>`; namespace undefined when malformed. */
function splitNamespace(text: string): { namespace: string | null | undefined; rest: string } {
  const slash = text.indexOf('/');
  if (slash === -1) return { namespace: null, rest: text };
  const namespace = text.slice(0, slash);
  return { namespace: isDnsLabel(namespace) ? namespace : undefined, rest: text.slice(slash + 1) };
}

/**
 * Names are object names (goldmane/proto/methods.go HitFromString checks them as DNS subdomains);
 * a profile may be Felix's "no profile matched", `__NO_MATCH__`.
 */
function named(kind: PolicyHitKind, namespace: string | null, name: string): Named | null {
  return isDnsSubdomain(name) || (kind === 'Profile' && name === NO_MATCH) ? { kind, namespace, name } : null;
}

/** The two forms of trace entries Felix has written: up to 3.31 (and Calico Enterprise), and from 3.32. */
export type TraceForm = '3.31' | '3.32';

const SHORT_KIND_OF: ReadonlyMap<PolicyHitKind, string> = new Map([...SHORT_KINDS].map(([short, k]) => [k.kind, short]));

/**
 * The flow-log entry Felix writes for `hit`, in the form of the given release (the inverse of
 * parsePolicyHit, for generated logs and tests). Throws for a hit that form cannot express: a
 * ClusterNetworkPolicy before 3.32, or a kind this project does not know.
 */
export function policyHitEntry(hit: PolicyHit, form: TraceForm): string {
  return `${hit.index}|${hit.tier}|${policyPart(hit, form)}|${hit.action}|${hit.ruleIndex}`;
}

function policyPart(hit: PolicyHit, form: TraceForm): string {
  const ns = hit.namespace === null ? '' : `${hit.namespace}/`;
  if (form === '3.32') {
    const short = SHORT_KIND_OF.get(hit.kind);
    if (short === undefined) throw new RangeError(`a ${hit.kind} hit has no 3.32 flow-log form`);
    return `${short}:${ns}${hit.name}`;
  }
  switch (hit.kind) {
    case 'GlobalNetworkPolicy':
    case 'NetworkPolicy':
      return `${ns}${hit.tier}.${hit.name}`;
    case 'StagedGlobalNetworkPolicy':
    case 'StagedNetworkPolicy':
      return `${ns}${hit.tier}.${STAGED}${hit.name}`;
    case 'KubernetesNetworkPolicy':
      return `${ns}${KNP}${hit.name}`;
    case 'StagedKubernetesNetworkPolicy':
      return `${ns}${STAGED}${KNP}${hit.name}`;
    case 'Profile':
      return `${PROFILE_TIER}.${hit.name}`;
    default:
      throw new RangeError(`a ${hit.kind} hit has no 3.31 flow-log form`);
  }
}
