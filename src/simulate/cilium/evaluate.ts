// Does a set of CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy objects allow an observed
// flow? Each enforcement point (egress at a source that is a Cilium endpoint, ingress at such a
// destination) answers allowed, denied or unknown with its reasons; the flow is denied if one
// point denies, unknown if one cannot tell. Sources: Cilium v1.16.0 ([1.16], cilium/cilium-cli
// v0.16.14's vendor tree) and main ([MAIN], v0.19.7's): pkg/policy/repository.go (default deny),
// pkg/k8s/apis/cilium.io/utils/utils.go (namespaces), pkg/policy/rule.go (subjects), the docs
// named below; /work/notes/cilium-semantics.md section 11.1 is the procedure.

import type { Truth } from '../../calico/selector.ts';
import { POD_NAMESPACE_KEY, SOURCE_K8S, selectorMatches } from '../../cilium/labels.ts';
import type { CiliumPolicy, EndpointSelector, PeerRule, Rule } from '../../cilium/types.ts';
import type { CiliumFlow, CiliumOptions, CiliumPeer } from './flow.ts';
import { effectivePeerSelector, peerIdentity, peerRuleMatches } from './match-rule.ts';
import { candidateEntries, candidatePolicies, certainNamespace, type Lookups, withRequires } from './policy-index.ts';

export type Verdict = 'allowed' | 'denied' | 'unknown';

export interface PolicyRef {
  readonly kind: CiliumPolicy['kind'];
  readonly name: string;
  readonly namespace: string | null;
}

export interface LegVerdict {
  readonly direction: 'ingress' | 'egress';
  readonly verdict: Verdict;
  readonly reasons: readonly string[];
  /** The policies whose rules decided (matched allow or deny rules). */
  readonly decidedBy: readonly PolicyRef[];
}

export interface FlowVerdict {
  readonly verdict: Verdict;
  readonly legs: readonly LegVerdict[];
}

/** A policy's rule that selects the subject, and whether it certainly does. */
interface Selected {
  readonly policy: CiliumPolicy;
  readonly rule: Rule;
  readonly truth: Truth;
}

/**
 * Endpoints with policy of their own: pods, and Cilium's health, ingress and init endpoints; nodes
 * with host policies. `certain` false: the peer may not be a node at all (kube-apiserver may be
 * outside the cluster).
 */
type Subject = { readonly kind: 'endpoint'; readonly peer: CiliumPeer } | { readonly kind: 'node'; readonly certain: Truth } | null;

function subjectOf(peer: CiliumPeer): Subject {
  if (peer.kind === 'pod') return { kind: 'endpoint', peer };
  if (peer.kind === 'ip') return null;
  switch (peer.entity) {
    case 'health':
    case 'ingress':
    case 'init':
      return { kind: 'endpoint', peer };
    case 'host':
    case 'remote-node':
      return { kind: 'node', certain: true };
    case 'kube-apiserver':
      return { kind: 'node', certain: peerIdentity(peer, {}).node };
    default:
      return null;
  }
}

const ref = (p: CiliumPolicy): PolicyRef => ({ kind: p.kind, name: p.name, namespace: p.namespace });

/**
 * Does the rule select the subject? A CiliumNetworkPolicy only endpoints of its namespace (the
 * namespace label is always added, replacing one written under matchLabels: utils.go
 * ParseToCiliumRule `retRule.EndpointSelector.AddMatch(podPrefixLbl, namespace)`); an
 * endpointSelector never selects a node and a nodeSelector only nodes ([MAIN] pkg/policy/rule.go
 * `if ruleSelectsNode != subjectIsNode { return false }`). Node labels are not in flows: a
 * nodeSelector other than `{}` answers unknown.
 */
function ruleSelects(policy: CiliumPolicy, rule: Rule, subject: NonNullable<Subject>, options: CiliumOptions): Truth {
  if (subject.kind === 'node') {
    if (rule.nodeSelector === undefined || subject.certain === false) return false;
    return rule.nodeSelector.requirements.length === 0 && subject.certain === true ? true : 'unknown';
  }
  if (rule.endpointSelector === undefined) return false;
  const id = peerIdentity(subject.peer, options);
  if (policy.namespace !== null) {
    if (subject.peer.kind !== 'pod') return false;
    if (subject.peer.namespace !== policy.namespace) return false;
    const own: EndpointSelector = {
      requirements: rule.endpointSelector.requirements.filter(
        (r) => !(r.fromMatchLabels && r.key.source === SOURCE_K8S && r.key.key === POD_NAMESPACE_KEY),
      ),
    };
    return selectorMatches(own, id.labels, id.complete);
  }
  return selectorMatches(rule.endpointSelector, id.labels, id.complete);
}

const sectionOf = (rule: Rule, direction: 'ingress' | 'egress') =>
  direction === 'ingress' ? { allow: rule.ingress, deny: rule.ingressDeny } : { allow: rule.egress, deny: rule.egressDeny };

function hasSection(rule: Rule, direction: 'ingress' | 'egress'): boolean {
  const { allow, deny } = sectionOf(rule, direction);
  return (allow?.length ?? 0) > 0 || (deny?.length ?? 0) > 0;
}

/**
 * Default deny ([1.16] pkg/policy/api/rule_validation.go Sanitize: enableDefaultDeny.X defaults to
 * "has an X or XDeny section"; pkg/policy/repository.go: a direction is enforced when a selecting
 * rule has such a section, and default-deny when one of those asks for it; otherwise a wildcard
 * allow is synthesized). `enable-non-default-deny-policies=false` ([MAIN]) forces it on.
 */
function asksDefaultDeny(rule: Rule, direction: 'ingress' | 'egress', options: CiliumOptions): boolean {
  if (options.nonDefaultDenyPolicies === false) return true;
  return rule.enableDefaultDeny[direction] ?? true;
}

function evaluateLeg(
  policies: readonly CiliumPolicy[],
  flow: CiliumFlow,
  direction: 'ingress' | 'egress',
  options: CiliumOptions,
  lookups: Lookups,
): LegVerdict | null {
  const local = direction === 'egress' ? flow.source : flow.destination;
  const subject = subjectOf(local);
  if (subject === null) return null;
  const mode = options.policyEnforcement ?? 'default';
  if (mode === 'never')
    return { direction, verdict: 'allowed', reasons: ['policy enforcement is off (enable-policy=never)'], decidedBy: [] };

  const selected: Selected[] = [];
  for (const policy of lookups === 'indexed' ? candidatePolicies(policies, subject) : policies)
    for (const rule of policy.rules) {
      if (!hasSection(rule, direction)) continue;
      const truth = ruleSelects(policy, rule, subject, options);
      if (truth !== false) selected.push({ policy, rule, truth });
    }
  const reasons: string[] = [];
  const certain = selected.filter((s) => s.truth === true);
  const uncertain = selected.filter((s) => s.truth === 'unknown');
  for (const s of uncertain)
    reasons.push(`${s.policy.name}: whether it selects the ${direction === 'egress' ? 'source' : 'destination'} is not known`);

  // An endpoint still without labels (reserved:init) is always enforced, default deny
  // ([MAIN] pkg/policy/repository.go `if policyMode == option.AlwaysEnforce || lbls.Has(labels.IDNameInit)`).
  const always = mode === 'always' || (local.kind === 'entity' && local.entity === 'init');
  const enforced = always || certain.length > 0;
  const defaultDeny = always || certain.some((s) => asksDefaultDeny(s.rule, direction, options));

  const context = (s: Selected, deny: boolean) => ({ policy: s.policy, subjectSelector: s.rule.endpointSelector, direction, deny });
  // The peer's namespace, when its identity says it for certain: entries that name other namespaces are skipped.
  const peerNamespace = lookups === 'indexed' ? certainNamespace(direction === 'egress' ? flow.destination : flow.source, options) : null;
  const entries = (s: Selected, deny: boolean): readonly PeerRule[] =>
    candidateEntries((deny ? sectionOf(s.rule, direction).deny : sectionOf(s.rule, direction).allow) ?? [], s, peerNamespace);

  // Deny rules take precedence over every allow (Documentation/security/policy/deny.rst).
  let denyUnknown = false;
  for (const s of selected)
    for (const entry of entries(s, true)) {
      const m = peerRuleMatches(entry, context(s, true), flow, options);
      if (m.truth === false) continue;
      if (m.truth === true && s.truth === true)
        return { direction, verdict: 'denied', reasons: [`denied by a deny rule of ${s.policy.name}`], decidedBy: [ref(s.policy)] };
      denyUnknown = true;
      reasons.push(...m.reasons.map((r) => `deny rule of ${s.policy.name}: ${r}`));
      if (s.truth === 'unknown') reasons.push(`deny rule of ${s.policy.name} matches if the policy selects the endpoint`);
    }

  // k8s mode: allow-localhost=always lets the local host reach its endpoints ([MAIN] pkg/policy/repository.go
  // `if option.Config.AlwaysAllowLocalhost() ...`; docs layer3.rst). Whether a deny rule overrides it is not verified.
  // Not for a node's own host policy (`securityIdentity.ID != identity.ReservedIdentityHost`).
  const localHost =
    direction === 'ingress' &&
    subject.kind === 'endpoint' &&
    flow.source.kind === 'entity' &&
    flow.source.entity === 'host' &&
    (options.allowLocalhost ?? 'always') === 'always';

  let allowedBy: CiliumPolicy | null = null;
  let allowUnknown = false;
  if (!enforced && uncertain.length === 0)
    return {
      direction,
      verdict: 'allowed',
      reasons: [`no policy selects the ${direction === 'egress' ? 'source' : 'destination'} for ${direction}`],
      decidedBy: [],
    };
  if (localHost) {
    if (denyUnknown) reasons.push('traffic from the local host is allowed (allow-localhost), but a deny rule may match it');
    return denyUnknown
      ? { direction, verdict: 'unknown', reasons, decidedBy: [] }
      : {
          direction,
          verdict: 'allowed',
          reasons: ['traffic from the local host is always allowed (allow-localhost=always)'],
          decidedBy: [],
        };
  }
  for (const s of selected) {
    for (const entry of entries(s, false)) {
      const m = peerRuleMatches(entry, context(s, false), flow, options);
      if (m.truth === true && s.truth === true) {
        allowedBy = s.policy;
        break;
      }
      if (m.truth !== false) {
        allowUnknown = true;
        reasons.push(...m.reasons.map((r) => `allow rule of ${s.policy.name}: ${r}`));
      }
    }
    if (allowedBy !== null) break;
  }
  const requires = requiresHold(selected, direction, flow, options, reasons, lookups);
  if (allowedBy === null && enforced && !defaultDeny) {
    // Only non-default-deny policies: a wildcard allow is synthesized (repository.go, 1.16+).
    reasons.push('only policies with enableDefaultDeny false select it: everything not denied is allowed');
    return { direction, verdict: denyUnknown || uncertain.length > 0 ? 'unknown' : 'allowed', reasons, decidedBy: [] };
  }
  if (allowedBy !== null) {
    const verdict = denyUnknown || requires !== true ? 'unknown' : 'allowed';
    return { direction, verdict, reasons: verdict === 'allowed' ? [`allowed by ${allowedBy.name}`] : reasons, decidedBy: [ref(allowedBy)] };
  }
  if (allowUnknown || uncertain.length > 0) return { direction, verdict: 'unknown', reasons, decidedBy: [] };
  if (!enforced) return { direction, verdict: 'allowed', reasons: [`no policy selects it for ${direction}`], decidedBy: [] };
  return {
    direction,
    verdict: 'denied',
    reasons: [`no allow rule matches and the ${direction === 'egress' ? 'source' : 'destination'} is in default deny for ${direction}`],
    decidedBy: certain.filter((s) => asksDefaultDeny(s.rule, direction, options)).map((s) => ref(s.policy)),
  };
}

/**
 * fromRequires/toRequires (deprecated 1.17, removed 1.19; Documentation layer3.rst: they "apply
 * to all rules that share the same endpoint selector"): where a selecting rule has them and the peer
 * does not certainly meet them, an allow is at most unknown.
 */
function requiresHold(
  selected: readonly Selected[],
  direction: 'ingress' | 'egress',
  flow: CiliumFlow,
  options: CiliumOptions,
  reasons: string[],
  lookups: Lookups,
): Truth {
  const peer = direction === 'ingress' ? flow.source : flow.destination;
  const id = peerIdentity(peer, options);
  let result: Truth = true;
  for (const s of selected)
    for (const entry of lookups === 'indexed'
      ? withRequires(sectionOf(s.rule, direction).allow ?? [])
      : (sectionOf(s.rule, direction).allow ?? []))
      for (const req of entry.requires ?? []) {
        const truth = selectorMatches(effectivePeerSelector(req, s.policy, s.rule.endpointSelector), id.labels, id.complete);
        if (truth !== true) {
          result = 'unknown';
          reasons.push(`${direction === 'ingress' ? 'fromRequires' : 'toRequires'} of ${s.policy.name}: the peer may not meet it`);
        }
      }
  return result;
}

/**
 * The verdict on a flow: denied if a leg denies, unknown if one cannot tell, else allowed.
 * `lookups`: `indexed` (the default) finds the policies and entries that can decide the flow by
 * namespace (policy-index.ts); `every` tries each one, the reference the index must agree with.
 */
export function evaluateCiliumFlow(
  policies: readonly CiliumPolicy[],
  flow: CiliumFlow,
  options: CiliumOptions = {},
  lookups: Lookups = 'indexed',
): FlowVerdict {
  const direction = flow.direction ?? 'both';
  const legs = [
    direction !== 'ingress' ? evaluateLeg(policies, flow, 'egress', options, lookups) : null,
    direction !== 'egress' ? evaluateLeg(policies, flow, 'ingress', options, lookups) : null,
  ].filter((l): l is LegVerdict => l !== null);
  const verdict: Verdict = legs.some((l) => l.verdict === 'denied')
    ? 'denied'
    : legs.some((l) => l.verdict === 'unknown')
      ? 'unknown'
      : 'allowed';
  return { verdict, legs };
}
