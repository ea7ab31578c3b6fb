// Does a Calico rule match a flow? Three answers: yes, no, or unknown when the flow record cannot
// tell (aggregated labels and addresses, named ports, service accounts, HTTP, ICMP types), each
// unknown with the reason.

import { SERVICE_ACCOUNT_LABEL } from '../calico/labels.ts';
import { portMatchCovers, portRange } from '../calico/ports.ts';
import type { Protocol } from '../calico/protocol.ts';
import { formatSelector, matchesPartially, type SelectorNode, type Truth } from '../calico/selector.ts';
import type { PortMatch } from '../calico/types.ts';
import { memoize } from '../util/memo.ts';
import { addressIn, type Endpoint, type Family, flowFamilies } from './endpoint.ts';
import type { CompiledEntity, CompiledPolicy, CompiledRule, PolicySet } from './policy-set.ts';

/** What matching reads of the policy set: the labels of namespaces (as far as they are known). */
export type NamespaceLabelSource = Pick<PolicySet, 'namespaceLabels'>;

/** What matching reads of a rule's policy: its namespace (null: global). */
export type RuleOwner = Pick<CompiledPolicy, 'namespace'>;

/** One flow, its ends resolved to what Calico's matching sees. */
export interface FlowContext {
  readonly source: Endpoint;
  readonly dest: Endpoint;
  readonly protocol: Protocol;
  readonly destPort: number | null;
  readonly destService: { readonly name: string; readonly namespace: string | null } | null;
  readonly destDomains: readonly string[];
  /** The IP family the flow is decided in (one of those its addresses, or the cluster, allow). */
  readonly family: Family;
}

/**
 * The flow between two endpoints in each IP family it may have: Felix renders rules per family
 * (felix/rules/policy.go FilterRuleToIPVersion), so a flow whose addresses do not tell its family
 * is decided once for each family of the cluster (flowFamilies).
 */
export function flowInFamilies(
  source: Endpoint,
  dest: Endpoint,
  facts: Pick<FlowContext, 'protocol' | 'destPort' | 'destService' | 'destDomains'>,
  cluster: readonly Family[],
): FlowContext[] {
  const { protocol, destPort, destService, destDomains } = facts;
  return flowFamilies([source.address, dest.address], cluster).map((family) => ({
    source,
    dest,
    protocol,
    destPort,
    destService,
    destDomains,
    family,
  }));
}

export interface Match {
  readonly truth: Truth;
  /** Why the answer is unknown (empty otherwise). */
  readonly reasons: readonly string[];
}

const NO: Match = { truth: false, reasons: [] };
const YES: Match = { truth: true, reasons: [] };

/** Collects the unknown parts of a match; `add` returns false when the criterion certainly fails. */
class Criteria {
  readonly reasons: string[] = [];

  add(truth: Truth, reason: () => string): boolean {
    if (truth === 'unknown') this.reasons.push(reason());
    return truth !== false;
  }

  result(): Match {
    return this.reasons.length === 0 ? YES : { truth: 'unknown', reasons: this.reasons };
  }
}

function not(truth: Truth): Truth {
  return truth === 'unknown' ? truth : !truth;
}

function quoted(node: SelectorNode): string {
  return JSON.stringify(formatSelector(node));
}

/** A label selector on an endpoint's labels (cached on the endpoint). */
export function selectorOn(node: SelectorNode, endpoint: Endpoint): Truth {
  let truth = endpoint.cache.get(node);
  if (truth === undefined) endpoint.cache.set(node, (truth = matchesPartially(node, endpoint.labels)));
  return truth;
}

/**
 * A namespace selector on an endpoint: against its namespace's labels; an endpoint outside any
 * namespace (global network set, host endpoint) is matched by `global()`, and Calico reads
 * `all()` as "every namespace", which leaves those out.
 */
export function namespaceSelectorOn(node: SelectorNode, endpoint: Endpoint, set: NamespaceLabelSource): Truth {
  let truth = endpoint.namespaceCache.get(node);
  if (truth === undefined) {
    if (endpoint.namespace === null)
      truth = node.op === 'all' ? false : matchesPartially(node, { labels: {}, known: () => true }, { global: true });
    else truth = matchesPartially(node, set.namespaceLabels(endpoint.namespace));
    endpoint.namespaceCache.set(node, truth);
  }
  return truth;
}

export function labelsUnknown(node: SelectorNode, endpoint: Endpoint): string {
  return `the flow log's labels of ${describeEndpoint(endpoint)} (common labels of aggregated pods) cannot decide selector ${quoted(node)}`;
}

function describeEndpoint(endpoint: Endpoint): string {
  return endpoint.namespace === null ? `${endpoint.type} ${endpoint.name}` : `${endpoint.type} ${endpoint.namespace}/${endpoint.name}`;
}

/** Does the rule match the flow, in the flow's IP family (FlowContext.family)? */
export function ruleMatches(rule: CompiledRule, policy: RuleOwner, flow: FlowContext, set: NamespaceLabelSource): Match {
  if (rule.protocol !== null && rule.protocol !== flow.protocol) return NO;
  if (rule.notProtocol !== null && rule.notProtocol === flow.protocol) return NO;
  return ruleMatchesIn(rule, policy, flow, set, flow.family);
}

const applicable = new WeakMap<CompiledRule, readonly boolean[]>();

/**
 * Felix renders a rule for an IP family only if its ipVersion allows it and each of its nets and
 * notNets lists that is set has a CIDR of that family (felix/rules/policy.go FilterRuleToIPVersion).
 */
function appliesTo(rule: CompiledRule, family: Family): boolean {
  let known = applicable.get(rule);
  if (known === undefined) {
    const lists = [rule.source.nets, rule.source.notNets, rule.destination.nets, rule.destination.notNets].filter((l) => l !== null);
    const applies = (f: Family) => (rule.ipVersion === null || rule.ipVersion === f) && lists.every((l) => l.some((c) => c.version === f));
    applicable.set(rule, (known = [false, false, false, false, applies(4), false, applies(6)]));
  }
  return known[family]!;
}

function ruleMatchesIn(rule: CompiledRule, policy: RuleOwner, flow: FlowContext, set: NamespaceLabelSource, family: Family): Match {
  if (!appliesTo(rule, family)) return NO;
  const c = new Criteria();
  if (
    rule.destination.ports !== null &&
    !c.add(portsMatch(rule.destination.ports, flow.destPort), () => portReason(rule.destination.ports!, flow.destPort))
  )
    return NO;
  if (
    rule.destination.notPorts !== null &&
    !c.add(not(portsMatch(rule.destination.notPorts, flow.destPort)), () => portReason(rule.destination.notPorts!, flow.destPort))
  ) {
    return NO;
  }
  if (rule.icmp) c.add('unknown', () => 'flow logs do not carry ICMP types and codes (icmp)');
  if (rule.notICMP && (flow.protocol === 'ICMP' || flow.protocol === 'ICMPv6'))
    c.add('unknown', () => 'flow logs do not carry ICMP types and codes (notICMP)');
  if (rule.http) c.add('unknown', () => 'flow logs do not carry HTTP methods and paths (http)');
  if (!entityMatches(rule.source, 'source', flow.source, policy, flow, set, c, family)) return NO;
  if (!entityMatches(rule.destination, 'destination', flow.dest, policy, flow, set, c, family)) return NO;
  return c.result();
}

/** Any port of the list covers the flow's destination port. */
function portsMatch(list: readonly PortMatch[], port: number | null): Truth {
  if (port === null) return 'unknown';
  if (list.some((p) => portMatchCovers(p, port))) return true;
  return list.some((p) => portRange(p) === null) ? 'unknown' : false;
}

function portReason(list: readonly PortMatch[], port: number | null): string {
  if (port === null) return 'the flow record has no destination port';
  const named = list.filter((p) => portRange(p) === null).map((p) => `'${p}'`);
  return `named port ${named.join(', ')} cannot be resolved from a flow (its number is the pod's, not in flow logs)`;
}

function entityMatches(
  entity: CompiledEntity,
  side: 'source' | 'destination',
  endpoint: Endpoint,
  policy: RuleOwner,
  flow: FlowContext,
  set: NamespaceLabelSource,
  c: Criteria,
  family: Family,
): boolean {
  if (side === 'source' && (entity.ports !== null || entity.notPorts !== null)) {
    c.add('unknown', () => 'flow records do not carry the source port');
  }
  // Only the family's CIDRs take part (appliesTo made sure there is one in each list).
  if (entity.nets !== null) {
    const { truth, missing } = addressIn(
      endpoint.address,
      entity.nets.filter((n) => n.version === family),
      family,
    );
    if (!c.add(truth, () => `${side}.nets: ${missing ?? 'the address'} is not known`)) return false;
  }
  if (entity.notNets !== null) {
    const { truth, missing } = addressIn(
      endpoint.address,
      entity.notNets.filter((n) => n.version === family),
      family,
    );
    if (!c.add(not(truth), () => `${side}.notNets: ${missing ?? 'the address'} is not known`)) return false;
  }
  if (!selectorsMatch(entity, side, endpoint, policy, set, c)) return false;
  if (entity.services !== null && !c.add(serviceMatch(entity.services, side, endpoint, flow), () => serviceReason(entity.services!, side)))
    return false;
  if (entity.serviceAccounts !== null && !serviceAccountsMatch(entity.serviceAccounts, side, endpoint, c)) return false;
  if (
    entity.domains !== null &&
    !c.add(
      domainsMatch(entity.domains, endpoint, flow.destDomains),
      () => `the flow record names no domain for its destination (domains ${entity.domains!.join(', ')})`,
    )
  ) {
    return false;
  }
  return true;
}

/**
 * Calico's entity selectors: `selector` and `namespaceSelector` select endpoints and network sets
 * (never a plain network); in a namespaced policy, without a namespaceSelector, they stay in the
 * policy's namespace (and so does a lone `notSelector`). `notSelector` excludes what it selects.
 */
function selectorsMatch(
  entity: CompiledEntity,
  side: string,
  endpoint: Endpoint,
  policy: RuleOwner,
  set: NamespaceLabelSource,
  c: Criteria,
): boolean {
  if (entity.selector === null && entity.notSelector === null && entity.namespaceSelector === null) return true;
  const ownNamespace = entity.namespaceSelector === null ? policy.namespace : null;
  if (entity.selector !== null || entity.namespaceSelector !== null || ownNamespace !== null) {
    if (!endpoint.selectable) return false;
    if (ownNamespace !== null && endpoint.namespace !== ownNamespace) return false;
    if (entity.namespaceSelector !== null) {
      const ns = entity.namespaceSelector;
      if (
        !c.add(
          namespaceSelectorOn(ns, endpoint, set),
          () => `${side}.namespaceSelector ${quoted(ns)}: the labels of namespace ${endpoint.namespace} are not known`,
        )
      )
        return false;
    }
    if (entity.selector !== null) {
      const sel = entity.selector;
      if (!c.add(selectorOn(sel, endpoint), () => `${side}.selector: ${labelsUnknown(sel, endpoint)}`)) return false;
    }
  }
  if (entity.notSelector !== null && endpoint.selectable) {
    const sel = entity.notSelector;
    if (!c.add(not(selectorOn(sel, endpoint)), () => `${side}.notSelector: ${labelsUnknown(sel, endpoint)}`)) return false;
  }
  return true;
}

/**
 * A flow addressed to the service certainly matches; a pod of another namespace certainly does
 * not (a Service's endpoints are pods of its namespace); anything else may be one of its endpoints.
 */
function serviceMatch(
  service: { name: string; namespace: string },
  side: 'source' | 'destination',
  endpoint: Endpoint,
  flow: FlowContext,
): Truth {
  if (side === 'destination' && flow.destService?.name === service.name && flow.destService.namespace === service.namespace) return true;
  if (endpoint.type === 'wep' && endpoint.namespace !== service.namespace) return false;
  return 'unknown';
}

function serviceReason(service: { name: string; namespace: string }, side: string): string {
  return side === 'destination'
    ? `the flow was not addressed to service ${service.namespace}/${service.name}, but its destination may be one of the service's endpoints`
    : `flow logs do not say whether the source is an endpoint of service ${service.namespace}/${service.name}`;
}

function serviceAccountsMatch(
  accounts: NonNullable<CompiledEntity['serviceAccounts']>,
  side: string,
  endpoint: Endpoint,
  c: Criteria,
): boolean {
  // Only pods run as service accounts.
  if (endpoint.type !== 'wep') return false;
  if (accounts.names !== null) {
    const account = endpoint.labels.labels[SERVICE_ACCOUNT_LABEL];
    const truth: Truth = account === undefined ? 'unknown' : accounts.names.includes(account);
    if (!c.add(truth, () => `${side}.serviceAccounts: the flow log does not name the pods' service account`)) return false;
  }
  if (accounts.selector !== null && accounts.selector.op !== 'all') {
    c.add('unknown', () => `${side}.serviceAccounts.selector: service account labels are not in flow logs`);
  }
  return true;
}

/** Calico's domain patterns: `*` stands for one or more labels at its position. */
const domainPattern = memoize((pattern) => {
  const body = pattern
    .split('.')
    .map((label) => (label === '*' ? '[^.]+(?:\\.[^.]+)*' : label.replace(/[-]/g, '\\-')))
    .join('\\.');
  return new RegExp(`^${body}$`);
});

function domainMatches(pattern: string, domain: string): boolean {
  return pattern === domain || (pattern.includes('*') && domainPattern(pattern).test(domain));
}

/**
 * The record's domains are every name Calico associates with the destination address, so no
 * match among them is a certain "no". Without domains, only an address outside the cluster could
 * have been learned from DNS (Calico does not apply domain rules to cluster services).
 */
function domainsMatch(patterns: readonly string[], endpoint: Endpoint, domains: readonly string[]): Truth {
  if (domains.length > 0) {
    if (domains.some((d) => patterns.some((p) => domainMatches(p, d)))) return true;
    // A wildcard in the record itself (some exports write one) may stand for a matching name.
    return domains.some((d) => d.includes('*')) ? 'unknown' : false;
  }
  return endpoint.type === 'net' || endpoint.type === 'ns' ? 'unknown' : false;
}
