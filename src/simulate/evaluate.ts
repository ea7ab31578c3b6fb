// Decides one flow as Calico would: the reporting endpoint's direction (egress for the source's
// report, ingress for the destination's), tiers in order, in each tier the policies that apply
// to the endpoint in order, the first matching rule's action (Allow and Deny end it, Pass goes to
// the next tier, Log goes on), the tier's default action when policies applied but no rule
// matched, and the profile when no tier decided.
//
// Where the record cannot tell whether a policy applies or a rule matches, both ways are followed:
// the verdict is `allowed` or `denied` only when every way ends so, else `indeterminate`, with
// every candidate decision and the reasons. Each tier is walked once per flow, each policy at most
// twice (applied or not before it), so the cost is linear in the policies that may apply.

import { CREATED_BY_LABEL } from '../calico/labels.ts';
import type { Protocol } from '../calico/protocol.ts';
import { matchesPartially, type Truth } from '../calico/selector.ts';
import type { DestinationService } from '../flows/record.ts';
import { appendAll } from '../util/append.ts';
import { type Endpoint, endpointOf, type FlowEnd } from './endpoint.ts';
import { type FlowContext, flowInFamilies, labelsUnknown, namespaceSelectorOn, ruleMatches, selectorOn } from './match-rule.ts';
import type { CompiledPolicy, EvaluationPlan, PlannedTier, PolicySet, PolicyView } from './policy-set.ts';
import type { Direction } from './policy-terms.ts';

/** What the simulator reads of a flow (a FlowRecord has all of it). */
export interface FlowFacts {
  readonly reporter: 'src' | 'dst';
  readonly source: FlowEnd;
  readonly dest: FlowEnd;
  readonly protocol: Protocol;
  readonly destPort: number | null;
  readonly destService: Pick<DestinationService, 'name' | 'namespace'> | null;
  readonly destDomains: readonly string[];
}

export type VerdictKind = 'allowed' | 'denied' | 'indeterminate';

export interface PolicyRef {
  readonly kind: CompiledPolicy['kind'];
  readonly name: string;
  readonly namespace: string | null;
  /** `<tier>.<name>`, as Calico names it; with the namespace, `<ns>/<tier>.<name>` in flow logs. */
  readonly calicoName: string;
  readonly tier: string;
  readonly staged: boolean;
  readonly path: string;
}

export type Decision =
  | {
      readonly by: 'rule';
      readonly action: 'Allow' | 'Deny';
      readonly tier: string;
      readonly policy: PolicyRef;
      readonly direction: Direction;
      readonly rule: number;
    }
  | { readonly by: 'tier-default'; readonly action: 'Deny'; readonly tier: string }
  | { readonly by: 'profile'; readonly action: 'Allow'; readonly profile: string }
  /** A host endpoint without a profile: Calico denies what no policy allows. */
  | { readonly by: 'no-profile'; readonly action: 'Deny' }
  /**
   * Cilium (simulate/cilium/): the policies whose rules decided at the reporting end (none when
   * no policy selects it, or its default deny decided), and why in words.
   */
  | { readonly by: 'cilium'; readonly action: 'Allow' | 'Deny'; readonly policies: readonly string[]; readonly reason: string };

export interface Verdict {
  readonly verdict: VerdictKind;
  readonly direction: Direction;
  /** Every way the evaluation may end, in evaluation order; one when the flow was fully decided. */
  readonly decisions: readonly Decision[];
  /** What the record could not tell on the way (empty when every step was decided). */
  readonly unknowns: readonly string[];
}

const MAX_UNKNOWNS = 8;
const MAX_CACHED = 100_000;

export function policyLabel(policy: PolicyRef): string {
  return policy.namespace === null ? policy.calicoName : `${policy.namespace}/${policy.calicoName}`;
}

/** One reference per policy, shared by every decision it makes (verdicts are kept per distinct flow). */
const refs = new WeakMap<CompiledPolicy, PolicyRef>();

function refOf(policy: CompiledPolicy): PolicyRef {
  let ref = refs.get(policy);
  if (ref === undefined) {
    const { kind, name, namespace, calicoName, tier, staged, path } = policy;
    refs.set(policy, (ref = { kind, name, namespace, calicoName, tier, staged, path }));
  }
  return ref;
}

export function decisionKey(d: Decision): string {
  switch (d.by) {
    case 'rule':
      return `rule ${policyLabel(d.policy)} ${d.direction}[${d.rule}]`;
    case 'tier-default':
      return `tier-default ${d.tier}`;
    case 'profile':
      return `profile ${d.profile}`;
    case 'no-profile':
      return 'no-profile';
    case 'cilium':
      return `cilium ${d.action} ${d.policies.join(',')} ${d.policies.length === 0 ? d.reason : ''}`;
  }
}

function endKey(end: FlowEnd): string {
  return `${end.type}|${end.namespace ?? ''}|${end.name}|${end.ip ?? ''}|${end.ipVersion ?? ''}|${end.seenAt ?? ''}|${end.labels.join(',')}`;
}

/**
 * Everything a verdict depends on, the ends by the ids of their endpoints: a short key, since the
 * cache holds up to MAX_CACHED of them (the ends' own keys, with their labels, are ten times longer).
 */
function flowKey(flow: FlowFacts, source: number, dest: number): string {
  const service = flow.destService === null ? '' : `${flow.destService.namespace ?? ''}/${flow.destService.name}`;
  // join, not a template: it makes one flat string, where a template makes a tree of pieces that
  // a map keeps alive with the key.
  return [flow.reporter, source, dest, flow.protocol, flow.destPort ?? '', service, flow.destDomains.join(',')].join('#');
}

/** Everything a verdict says: equal keys, equal verdicts. */
function verdictKey(v: Verdict): string {
  const decision = (d: Decision): string =>
    d.by === 'rule'
      ? `${d.action} ${d.policy.kind} ${d.policy.staged} ${d.policy.path} ${decisionKey(d)}`
      : `${d.action} ${decisionKey(d)}`;
  return [v.verdict, v.direction, ...v.decisions.map(decision), '', ...v.unknowns].join('\n');
}

/** An endpoint and its id: unique per end key for the Simulator's life, never reused. */
interface KnownEndpoint {
  readonly endpoint: Endpoint;
  readonly id: number;
}

/** Evaluates flows against one view of a policy set, caching endpoints and verdicts. */
export class Simulator {
  readonly #set: PolicySet;
  readonly #plan: EvaluationPlan;
  readonly #endpoints = new Map<string, KnownEndpoint>();
  readonly #verdicts = new Map<string, Verdict>();
  readonly #distinctVerdicts = new Map<string, Verdict>();
  #nextEndpointId = 0;

  constructor(set: PolicySet, view: PolicyView) {
    this.#set = set;
    this.#plan = set.plan(view);
  }

  get plan(): EvaluationPlan {
    return this.#plan;
  }

  evaluate(flow: FlowFacts): Verdict {
    const source = this.#endpoint(flow.source);
    const dest = this.#endpoint(flow.dest);
    const key = flowKey(flow, source.id, dest.id);
    let verdict = this.#verdicts.get(key);
    if (verdict === undefined) {
      verdict = this.#shared(this.#decide(flow, source.endpoint, dest.endpoint));
      if (this.#verdicts.size >= MAX_CACHED) this.#verdicts.clear();
      this.#verdicts.set(key, verdict);
    }
    return verdict;
  }

  /** The verdict object of an equal verdict decided before: flows far outnumber distinct verdicts. */
  #shared(verdict: Verdict): Verdict {
    const key = verdictKey(verdict);
    const known = this.#distinctVerdicts.get(key);
    if (known !== undefined) return known;
    if (this.#distinctVerdicts.size >= MAX_CACHED) this.#distinctVerdicts.clear();
    this.#distinctVerdicts.set(key, verdict);
    return verdict;
  }

  #endpoint(end: FlowEnd): KnownEndpoint {
    const key = endKey(end);
    let known = this.#endpoints.get(key);
    if (known === undefined) {
      // A cleared entry's id is not reused: verdicts cached under it stay right, and unreachable.
      if (this.#endpoints.size >= MAX_CACHED) this.#endpoints.clear();
      this.#endpoints.set(key, (known = { endpoint: endpointOf(end, this.#set), id: this.#nextEndpointId++ }));
    }
    return known;
  }

  #decide(flow: FlowFacts, source: Endpoint, dest: Endpoint): Verdict {
    const direction: Direction = flow.reporter === 'src' ? 'egress' : 'ingress';
    const local = direction === 'egress' ? source : dest;
    const unknowns = new Set<string>();
    const note = (reason: string): void => {
      if (unknowns.size < MAX_UNKNOWNS) unknowns.add(reason);
    };
    if (local.type !== 'wep' && local.type !== 'hep') {
      note(
        `the reporting end is a ${local.type === 'ns' ? 'network set' : 'network'}: Calico applies policy only at workload and host endpoints`,
      );
      return { verdict: 'indeterminate', direction, decisions: [], unknowns: [...unknowns] };
    }

    // A flow whose record does not tell its IP family is decided once for each family it may have.
    const decisions: Decision[] = [];
    const verdicts = new Set<VerdictKind>();
    for (const ctx of flowInFamilies(source, dest, flow, this.#set.ipFamilies)) {
      const found: Decision[] = [];
      let reachedEnd = true;
      for (const tier of this.#plan.tiers) {
        const exits = this.#walkTier(tier, local, direction, ctx, note);
        appendAll(found, exits.decisions);
        if (!exits.next) {
          reachedEnd = false;
          break;
        }
      }
      if (reachedEnd) appendAll(found, profileDecisions(local, note));
      verdicts.add(verdictOf(found));
      appendAll(decisions, found);
    }
    if (verdicts.size > 1) note('the flow record does not tell IPv4 from IPv6, and the policies decide the two differently');

    const unique = [...new Map(decisions.map((d) => [decisionKey(d), d])).values()];
    return { verdict: verdictOf(unique), direction, decisions: unique, unknowns: [...unknowns] };
  }

  /**
   * The ways evaluation may leave one tier: decisions, and whether it may go on to the next tier
   * (no policy applied, a Pass rule, or the tier's default action Pass). States are (policy
   * index, whether a policy applied before it): each is explored once.
   */
  #walkTier(
    tier: PlannedTier,
    local: Endpoint,
    direction: Direction,
    ctx: FlowContext,
    note: (reason: string) => void,
  ): { decisions: Decision[]; next: boolean } {
    const policies = tier.policiesFor(local.type === 'wep' ? local.namespace : null, direction);
    const decisions: Decision[] = [];
    let next = false;
    const visited = new Set<number>();
    const pending: [number, boolean][] = [[0, false]];
    while (pending.length > 0) {
      let [p, applied] = pending.pop()!;
      for (;;) {
        const state = p * 2 + (applied ? 1 : 0);
        if (visited.has(state)) break;
        visited.add(state);
        const policy = policies[p];
        if (policy === undefined) {
          if (applied && tier.defaultAction === 'Deny') decisions.push({ by: 'tier-default', action: 'Deny', tier: tier.name });
          else next = true;
          break;
        }
        const applies = this.#applies(policy, local, note);
        if (applies === false) {
          p++;
          continue;
        }
        // Not applying is the other way: followed later.
        if (applies === 'unknown') pending.push([p + 1, applied]);
        let ended = false;
        for (const rule of policy[direction]!) {
          if (rule.action === 'Log') continue;
          const match = ruleMatches(rule, policy, ctx, this.#set);
          if (match.truth === false) continue;
          if (rule.action === 'Pass') next = true;
          else decisions.push({ by: 'rule', action: rule.action, tier: tier.name, policy: refOf(policy), direction, rule: rule.index });
          if (match.truth === true) {
            ended = true;
            break;
          }
          for (const reason of match.reasons) note(`${policyLabel(policy)} ${direction}[${rule.index}]: ${reason}`);
        }
        if (ended) break;
        p++;
        applied = true;
      }
    }
    return { decisions, next };
  }

  /** Does the policy apply to the endpoint? (The tier's index already matched the namespace.) */
  #applies(policy: CompiledPolicy, local: Endpoint, note: (reason: string) => void): Truth {
    if (policy.hostOnly && local.type === 'wep') return false;
    let truth = selectorOn(policy.selector, local);
    if (truth === false) return false;
    if (truth === 'unknown') note(`${policyLabel(policy)} may or may not apply: ${labelsUnknown(policy.selector, local)}`);
    if (policy.namespaceSelector !== null) {
      const ns = namespaceSelectorOn(policy.namespaceSelector, local, this.#set);
      if (ns === false) return false;
      if (ns === 'unknown') {
        note(`${policyLabel(policy)} may or may not apply: the labels of namespace ${local.namespace} are not known`);
        truth = 'unknown';
      }
    }
    const accounts = policy.serviceAccountSelector;
    if (accounts !== null && accounts.op !== 'all') {
      if (local.type !== 'wep') return false;
      // Service-account labels never reach flow logs, unless the selector is decided without them.
      const decided = matchesPartially(accounts, { labels: {}, known: () => false });
      if (decided === false) return false;
      if (decided === 'unknown') {
        note(`${policyLabel(policy)} may or may not apply: service account labels are not in flow logs (serviceAccountSelector)`);
        truth = 'unknown';
      }
    }
    if (policy.hostOnly) {
      note(`${policyLabel(policy)} is a preDNAT or doNotTrack policy: flow logs cannot tell whether it acted`);
      return 'unknown';
    }
    return truth;
  }
}

/** Allowed or denied when every way ends so, else indeterminate. */
function verdictOf(decisions: readonly Decision[]): VerdictKind {
  const actions = new Set(decisions.map((d) => d.action));
  return actions.size !== 1 ? 'indeterminate' : actions.has('Allow') ? 'allowed' : 'denied';
}

/** What decides when no tier did: the namespace's profile allows; host endpoints depend on theirs. */
function profileDecisions(local: Endpoint, note: (reason: string) => void): Decision[] {
  if (local.type === 'wep') return [{ by: 'profile', action: 'Allow', profile: `kns.${local.namespace}` }];
  const allowProfile: Decision = { by: 'profile', action: 'Allow', profile: 'projectcalico-default-allow' };
  if (local.labels.labels[CREATED_BY_LABEL] === 'calico-kube-controllers') return [allowProfile];
  note(
    `host endpoint ${local.name}: automatic host endpoints have the projectcalico-default-allow profile; others deny what no policy allows, and the flow log does not say which this is`,
  );
  return [allowProfile, { by: 'no-profile', action: 'Deny' }];
}
