// Does one entry of a Cilium rule (ingress, ingressDeny, egress, egressDeny) decide a flow at one
// enforcement point? Three answers, unknown with its reasons, like ../match-rule.ts for Calico.
// Sources: Cilium v1.16.0 and main ([1.16] = cilium/cilium-cli v0.16.14's vendor tree, [MAIN] =
// v0.19.7's), files named where used; /work/notes/cilium-semantics.md collects them.

import { cidrContains, parseCidr } from '../../calico/nets.ts';
import { type Protocol, protocolNumber } from '../../calico/protocol.ts';
import type { Truth } from '../../calico/selector.ts';
import { fqdnMatches, matchesEveryName } from '../../cilium/fqdn.ts';
import {
  absenceCertain,
  CLUSTER_KEY,
  describeSelector,
  type Label,
  type LabelsComplete,
  NAMESPACE_LABELS_PREFIX,
  POD_NAMESPACE_KEY,
  SOURCE_ANY,
  SOURCE_K8S,
  SOURCE_RESERVED,
  selectorHasKey,
  selectorHasKeyPrefix,
  selectorMatches,
} from '../../cilium/labels.ts';
import type {
  CiliumPolicy,
  EndpointSelector,
  Entity,
  L4Protocol,
  PeerRule,
  PortProtocol,
  PortRule,
  Requirement,
} from '../../cilium/types.ts';
import type { CiliumFlow, CiliumOptions, CiliumPeer } from './flow.ts';

export interface Match {
  readonly truth: Truth;
  readonly reasons: readonly string[];
}

/** A peer's identity labels as selectors see them, and whether they are all of them. */
export interface PeerIdentity {
  readonly labels: readonly Label[] | null;
  readonly complete: LabelsComplete;
  /** Outside the cluster (reserved:world): what CIDR and FQDN rules can select by default. */
  readonly world: Truth;
  /** A node (host, remote-node): CIDR rules select it only with policy-cidr-match-mode=nodes. */
  readonly node: Truth;
  readonly pod: boolean;
}

const reserved = (key: string): Label => ({ source: SOURCE_RESERVED, key, value: '' });

/**
 * The labels a peer carries. A pod always has its namespace label and its cluster's label
 * (pkg/k8s/apis/cilium.io/const.go; `cluster` entity: pkg/policy/api/entity.go InitEntities). An
 * entity without recorded labels has its own reserved label; `kube-apiserver` may also be
 * `remote-node` (identity 7, [MAIN] pkg/identity/numericidentity.go), `host`, or `world` (an
 * external server), so its other labels are not known.
 */
export function peerIdentity(peer: CiliumPeer, options: CiliumOptions): PeerIdentity {
  switch (peer.kind) {
    case 'pod': {
      if (peer.labels === null) return { labels: null, complete: false, world: false, node: false, pod: true };
      const labels = [...peer.labels];
      const has = (key: string) => labels.some((l) => l.key === key && l.source === SOURCE_K8S);
      if (!has(POD_NAMESPACE_KEY)) labels.push({ source: SOURCE_K8S, key: POD_NAMESPACE_KEY, value: peer.namespace });
      if (!has(CLUSTER_KEY)) labels.push({ source: SOURCE_K8S, key: CLUSTER_KEY, value: options.clusterName ?? 'default' });
      return { labels, complete: peer.absenceKnown ?? true, world: false, node: false, pod: true };
    }
    case 'ip':
      return { labels: [reserved('world')], complete: true, world: true, node: false, pod: false };
    case 'entity': {
      const e = peer.entity;
      const world = e === 'world' || e === 'world-ipv4' || e === 'world-ipv6';
      const node = e === 'host' || e === 'remote-node';
      if (e === 'kube-apiserver') {
        const labels = peer.labels ?? [reserved('kube-apiserver')];
        const has = (k: string) => labels.some((l) => l.source === SOURCE_RESERVED && l.key === k);
        const complete = peer.labels !== undefined && peer.labels !== null;
        const either = (k: string[]): Truth => (k.some(has) ? true : complete ? false : 'unknown');
        return {
          labels,
          complete,
          world: either(['world', 'world-ipv4', 'world-ipv6']),
          node: either(['host', 'remote-node']),
          pod: false,
        };
      }
      // Identities 1-6 and 8-10 carry their one reserved label ([MAIN] pkg/identity/numericidentity.go).
      return { labels: peer.labels === undefined ? [reserved(e)] : peer.labels, complete: peer.labels !== null, world, node, pod: false };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Peer selectors

const podNamespaceRequirement = (operator: 'In' | 'Exists', values: string[]): Requirement => ({
  key: { source: SOURCE_K8S, key: POD_NAMESPACE_KEY },
  operator,
  values,
  fromMatchLabels: false,
});

/**
 * A fromEndpoints/toEndpoints selector as Cilium applies it (getEndpointSelector,
 * pkg/k8s/apis/cilium.io/utils/utils.go, [1.16] and [MAIN]): a selector with a `reserved:` key is
 * used as is; otherwise, without a namespace key, a CiliumNetworkPolicy's selector is confined to
 * the policy's namespace (unless it selects namespace labels) and a clusterwide one to endpoints
 * that have a namespace (unless the subject selector selects `reserved:init`).
 */
export function effectivePeerSelector(
  selector: EndpointSelector,
  policy: CiliumPolicy,
  subjectSelector: EndpointSelector | undefined,
): EndpointSelector {
  if (selector.requirements.some((r) => r.key.source === SOURCE_RESERVED)) return selector;
  if (selectorHasKey(selector, POD_NAMESPACE_KEY)) return selector;
  if (policy.namespace === null) {
    const matchesInit = subjectSelector !== undefined && selectorHasKey(subjectSelector, 'init', [SOURCE_RESERVED]);
    return matchesInit ? selector : { requirements: [...selector.requirements, podNamespaceRequirement('Exists', [])] };
  }
  if (selectorHasKeyPrefix(selector, NAMESPACE_LABELS_PREFIX, [SOURCE_K8S, SOURCE_ANY])) return selector;
  return { requirements: [...selector.requirements, podNamespaceRequirement('In', [policy.namespace])] };
}

const WORLD_KEYS = ['world', 'world-ipv4', 'world-ipv6'];
/** InitEntities (entity.go, [1.16]): the reserved identities of `cluster`, besides the cluster's pods. */
const CLUSTER_RESERVED = ['host', 'remote-node', 'init', 'ingress', 'health', 'unmanaged', 'kube-apiserver'];

function hasReserved(id: PeerIdentity, keys: readonly string[]): Truth {
  if (id.labels === null) return 'unknown';
  if (id.labels.some((l) => l.source === SOURCE_RESERVED && keys.includes(l.key))) return true;
  return keys.every((key) => absenceCertain(id.complete, { source: SOURCE_RESERVED, key })) ? false : 'unknown';
}

/** EntitySelectorMapping (pkg/policy/api/entity.go, [1.16] and [MAIN]). */
function entityMatches(entity: Entity, id: PeerIdentity, options: CiliumOptions): Truth {
  const cluster = () =>
    or(hasReserved(id, CLUSTER_RESERVED), selectorMatches(clusterSelector(options.clusterName ?? 'default'), id.labels, id.complete));
  switch (entity) {
    case 'all':
      return true;
    case 'none':
      return false;
    case 'world':
      return hasReserved(id, WORLD_KEYS);
    case 'cluster':
      return cluster();
    case 'cluster-mesh':
      // [MAIN] only: the cluster, and pods of every cluster of the mesh.
      return or(cluster(), id.pod ? true : 'unknown');
    default:
      return hasReserved(id, [entity]);
  }
}

function clusterSelector(name: string): EndpointSelector {
  return { requirements: [{ key: { source: SOURCE_K8S, key: CLUSTER_KEY }, operator: 'In', values: [name], fromMatchLabels: false }] };
}

function or(a: Truth, b: Truth): Truth {
  if (a === true || b === true) return true;
  return a === 'unknown' || b === 'unknown' ? 'unknown' : false;
}

function and(a: Truth, b: Truth): Truth {
  if (a === false || b === false) return false;
  return a === 'unknown' || b === 'unknown' ? 'unknown' : true;
}

/** Collects why parts of a match are unknown. */
class Criteria {
  readonly reasons: string[] = [];
}

const NO: Match = { truth: false, reasons: [] };

/** The peer of a rule entry, with the context it is read in. */
export interface RuleContext {
  readonly policy: CiliumPolicy;
  /** The rule's endpointSelector (for the `reserved:init` exception). */
  readonly subjectSelector: EndpointSelector | undefined;
  readonly direction: 'ingress' | 'egress';
  readonly deny: boolean;
}

/**
 * Does this entry of a rule match the flow's peer and port at this enforcement point? The peer is
 * the source on ingress, the destination on egress.
 */
export function peerRuleMatches(entry: PeerRule, context: RuleContext, flow: CiliumFlow, options: CiliumOptions): Match {
  const c = new Criteria();
  const peer = context.direction === 'ingress' ? flow.source : flow.destination;
  const id = peerIdentity(peer, options);
  const peerTruth = peerMatches(entry, context, peer, id, flow, options, c);
  if (peerTruth === false) return NO;
  const portTruth = portsMatch(entry, context, flow, c);
  if (portTruth === false) return NO;
  const truth = and(and(peerTruth, portTruth), authentication(entry, c));
  if (truth === true) return { truth, reasons: [] };
  return { truth, reasons: c.reasons.length > 0 ? c.reasons : ['the peer is not known well enough'] };
}

const L3_FIELDS = ['endpoints', 'cidr', 'cidrSet', 'entities', 'nodes', 'groups', 'services', 'fqdns'] as const;

/**
 * The namespaces outside which no pod can match the entry's peer, or null when any may: an entry
 * whose peer field is toEndpoints/fromEndpoints (the field peerMatches reads), each of whose
 * selectors, as it applies (effectivePeerSelector), requires `k8s:io.kubernetes.pod.namespace` In
 * a list. A pod whose identity carries one such label, with a value outside the list, fails every
 * selector (requirementMatches: In, the label found, no value in the list) and so the entry:
 * evaluate.ts skips such entries without changing a verdict or a reason. Not peerRuleKeys below:
 * those are keys of a certain match (for merges), while this bounds every answer but false (an
 * empty list with ports, unknown there, is no key but must be tried).
 */
export function entryNamespaces(
  entry: PeerRule,
  policy: CiliumPolicy,
  subjectSelector: EndpointSelector | undefined,
): ReadonlySet<string> | null {
  if (L3_FIELDS.find((f) => entry[f] !== undefined) !== 'endpoints' || entry.endpoints!.length === 0) return null;
  const namespaces = new Set<string>();
  for (const selector of entry.endpoints!) {
    const eff = effectivePeerSelector(selector, policy, subjectSelector);
    const required = eff.requirements.find((r) => r.key.source === SOURCE_K8S && r.key.key === POD_NAMESPACE_KEY && r.operator === 'In');
    if (required === undefined) return null;
    for (const value of required.values) namespaces.add(value);
  }
  return namespaces;
}

function peerMatches(
  entry: PeerRule,
  context: RuleContext,
  peer: CiliumPeer,
  id: PeerIdentity,
  flow: CiliumFlow,
  options: CiliumOptions,
  c: Criteria,
): Truth {
  const prefix = context.direction === 'ingress' ? 'from' : 'to';
  const field = L3_FIELDS.find((f) => entry[f] !== undefined);
  const hasL4 = entry.toPorts !== undefined || entry.icmps !== undefined;
  if (field === undefined) {
    // No peer field: with ports, every peer ([1.16] pkg/policy/rule.go mergeIngress: "an empty
    // slice of EndpointSelector indicates that the rule allows all at L3"); without, nothing (the
    // L3-only branch needs a selector: `ingress: [{}]` is the documented deny-all).
    return hasL4;
  }
  const list = entry[field] as readonly unknown[];
  if (list.length === 0) {
    if (!hasL4) return false;
    // [MAIN] pkg/policy/api/egress.go: "an empty non-nil ToEndpoints does not select anything";
    // [1.16] reads an empty list as none and so as every peer when ports are given: unknown.
    c.reasons.push(
      `${prefix}${field[0]!.toUpperCase()}${field.slice(1)}: [] with ports selects nothing on Cilium main but every peer on 1.16`,
    );
    return 'unknown';
  }
  switch (field) {
    case 'endpoints':
      return anyOf(entry.endpoints!, (s) => {
        const eff = effectivePeerSelector(s, context.policy, context.subjectSelector);
        const truth = selectorMatches(eff, id.labels, id.complete);
        if (truth === 'unknown') c.reasons.push(`${prefix}Endpoints ${describeSelector(eff)}: the peer's labels are not known`);
        return truth;
      });
    case 'entities':
      return anyOf(entry.entities!, (e) => {
        const truth = entityMatches(e, id, options);
        if (truth === 'unknown') c.reasons.push(`${prefix}Entities ${e}: the peer's identity is not known well enough`);
        return truth;
      });
    case 'cidr':
      return anyOf(entry.cidr!, (cidr) => cidrMatches(cidr, [], peer, id, options, c, prefix));
    case 'cidrSet':
      return anyOf(entry.cidrSet!, (rule) => {
        if ('cidr' in rule) return cidrMatches(rule.cidr, rule.except, peer, id, options, c, prefix);
        const matchable = cidrMatchable(id, options);
        if (matchable === false) return false;
        c.reasons.push(`${prefix}CIDRSet: the CiliumCIDRGroup's addresses are not known`);
        return 'unknown';
      });
    case 'fqdns':
      return fqdnsMatch(entry, id, flow, c);
    case 'services':
      return anyOf(entry.services!, (ref) => {
        const namespace = 'k8sService' in ref ? ref.k8sService.namespace : ref.k8sServiceSelector.namespace;
        // A service's backends are pods of its namespace (pkg/policy/k8s/service.go, 1.17+) or,
        // for a service without selector, addresses outside the cluster ([1.16] and later).
        if (peer.kind === 'pod' && namespace !== undefined && namespace !== peer.namespace) return false;
        if (!id.pod && id.world === false) return false;
        c.reasons.push('toServices: which endpoints back the service is not in the flow');
        return 'unknown';
      });
    case 'nodes':
      // fromNodes/toNodes select nodes by node labels (enable-node-selector-labels), not in flows.
      if (id.pod || id.node === false) return false;
      c.reasons.push(`${prefix}Nodes: node labels are not in the flow`);
      return 'unknown';
    case 'groups':
      if (id.pod || id.world === false) return false;
      c.reasons.push(`${prefix}Groups: the cloud provider group's addresses are not known`);
      return 'unknown';
  }
}

function anyOf<T>(items: readonly T[], test: (item: T) => Truth): Truth {
  let result: Truth = false;
  for (const item of items) {
    const truth = test(item);
    if (truth === true) return true;
    if (truth === 'unknown') result = 'unknown';
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Match keys: a necessary condition of a certain match (for looking rules up by key, as the
// engine's merge does: src/engine/flavors/flavor.ts MatchKeys). Each case below is the case of
// peerMatches above that gives `true`, and names what the peer's identity must then carry.

const WORLD_KEY = 'world';
const NODE_KEY = 'node';
const POD_KEY = 'pod';
const labelKey = (source: string, key: string, value: string): string => `label ${JSON.stringify([source, key, value])}`;
const reservedKey = (key: string): string => `reserved ${key}`;

/**
 * The keys of a peer's identity (peerIdentity): `peerRuleMatches(entry, context, flow, options)`
 * is certain (truth true) only when `peerRuleKeys(entry, context, options)` is null or shares a
 * key with `peerKeys(the flow's peer at that end, options)`.
 */
export function peerKeys(peer: CiliumPeer, options: CiliumOptions): string[] {
  const id = peerIdentity(peer, options);
  const keys: string[] = [];
  if (id.world === true) keys.push(WORLD_KEY);
  if (id.node === true) keys.push(NODE_KEY);
  if (id.pod) keys.push(POD_KEY);
  for (const l of id.labels ?? []) {
    // What an In requirement of its own source, or of source `any` (labelsFor), finds.
    keys.push(labelKey(l.source, l.key, l.value), labelKey(SOURCE_ANY, l.key, l.value));
    // What an entity finds (hasReserved: the key, whatever the value).
    if (l.source === SOURCE_RESERVED) keys.push(reservedKey(l.key));
  }
  return keys;
}

/** Keys of the peers an entry can certainly match (see peerKeys); null when it may match any peer. */
export function peerRuleKeys(entry: PeerRule, context: RuleContext, options: CiliumOptions): readonly string[] | null {
  const field = L3_FIELDS.find((f) => entry[f] !== undefined);
  // No peer field: every peer when ports are given.
  if (field === undefined) return null;
  // An empty list is never certain (false, or unknown with ports).
  if ((entry[field] as readonly unknown[]).length === 0) return [];
  switch (field) {
    case 'endpoints': {
      const keys: string[] = [];
      for (const s of entry.endpoints!) {
        const of = selectorKeys(effectivePeerSelector(s, context.policy, context.subjectSelector));
        if (of === null) return null;
        keys.push(...of);
      }
      return keys;
    }
    case 'entities': {
      const keys: string[] = [];
      for (const e of entry.entities!) {
        const of = entityKeys(e, options);
        if (of === null) return null;
        keys.push(...of);
      }
      return keys;
    }
    case 'cidr':
    case 'cidrSet':
      // cidrMatchable: outside the cluster, or a node where CIDR rules select nodes.
      return options.cidrMatchesNodes === true ? [WORLD_KEY, NODE_KEY] : [WORLD_KEY];
    case 'fqdns':
      return [WORLD_KEY];
    case 'services':
    case 'nodes':
    case 'groups':
      // Never certain: false or unknown.
      return [];
  }
}

/**
 * An In requirement holds only where a label it finds has one of its values; the namespace's
 * first (the most telling where a namespace has many peers). Null when the selector has none.
 */
function selectorKeys(selector: EndpointSelector): readonly string[] | null {
  const ins = selector.requirements.filter((r) => r.operator === 'In');
  const r = ins.find((x) => x.key.key === POD_NAMESPACE_KEY) ?? ins[0];
  return r === undefined ? null : r.values.map((v) => labelKey(r.key.source, r.key.key, v));
}

/** entityMatches's true cases; null for `all`. */
function entityKeys(entity: Entity, options: CiliumOptions): readonly string[] | null {
  const cluster = () => [...CLUSTER_RESERVED.map(reservedKey), ...selectorKeys(clusterSelector(options.clusterName ?? 'default'))!];
  switch (entity) {
    case 'all':
      return null;
    case 'none':
      return [];
    case 'world':
      return WORLD_KEYS.map(reservedKey);
    case 'cluster':
      return cluster();
    case 'cluster-mesh':
      return [...cluster(), POD_KEY];
    default:
      return [reservedKey(entity)];
  }
}

/**
 * Can a CIDR rule select this peer at all? Only outside the cluster, and nodes with
 * policy-cidr-match-mode=nodes: [MAIN] pkg/policy/types/selector.go CIDRSelector.Matches
 * (`allowed := isWorld || (isNode && option.Config.PolicyCIDRMatchesNodes()) || ...`); pods never
 * (their pods mode is main-only, off by default).
 */
function cidrMatchable(id: PeerIdentity, options: CiliumOptions): Truth {
  const nodes = options.cidrMatchesNodes === undefined ? false : options.cidrMatchesNodes === null ? 'unknown' : options.cidrMatchesNodes;
  return or(id.world, and(id.node, nodes));
}

function cidrMatches(
  cidr: string,
  except: readonly string[],
  peer: CiliumPeer,
  id: PeerIdentity,
  options: CiliumOptions,
  c: Criteria,
  prefix: string,
): Truth {
  const matchable = cidrMatchable(id, options);
  if (matchable === false) return false;
  const ip = peer.ip === null ? null : parseCidr(peer.ip);
  if (ip === null) {
    c.reasons.push(`${prefix}CIDR ${cidr}: the peer's address is not known`);
    return 'unknown';
  }
  const outer = parseCidr(cidr);
  const inside = outer !== null && cidrContains(outer, ip) && !except.some((e) => cidrContains(parseCidr(e)!, ip));
  if (!inside) return false;
  if (matchable === 'unknown') c.reasons.push(`${prefix}CIDR ${cidr}: whether CIDR rules select this peer (a node or not) is not known`);
  return matchable;
}

/**
 * toFQDNs select addresses outside the cluster learned from DNS answers (Documentation
 * security/policy/layer7.rst "DNS Proxy": learning is per node, so a record naming no name does
 * not tell). A name the source resolved that matches: yes; names known and none matches: no.
 */
function fqdnsMatch(entry: PeerRule, id: PeerIdentity, flow: CiliumFlow, c: Criteria): Truth {
  if (id.world === false) return false;
  const names = flow.destNames;
  if (names === null || names.length === 0) {
    c.reasons.push('toFQDNs: the flow names no DNS name for its destination (Cilium learns addresses per node)');
    return 'unknown';
  }
  const truth = anyOf(entry.fqdns!, (s) => anyOf(names, (n) => fqdnMatches(s, n)));
  if (truth === 'unknown') c.reasons.push('toFQDNs: a pattern matches on some Cilium releases only');
  if (id.world === 'unknown' && truth !== false) c.reasons.push('toFQDNs: whether the peer is outside the cluster is not known');
  return and(truth, id.world);
}

// ---------------------------------------------------------------------------------------------
// Ports, protocols, ICMP, L7

/** Rule protocols as IANA numbers: TCP, UDP, SCTP, and the extended IP protocols of main (l4.go ProtoVRRP ...). */
const NUMBERS: Readonly<Record<Exclude<L4Protocol, 'ANY'>, number>> = {
  TCP: 6,
  UDP: 17,
  SCTP: 132,
  VRRP: 112,
  IGMP: 2,
  GRE: 47,
  IPIP: 4,
  IPV6: 41,
  ESP: 50,
  AH: 51,
};
const EXTENDED: ReadonlySet<L4Protocol> = new Set(['VRRP', 'IGMP', 'GRE', 'IPIP', 'IPV6', 'ESP', 'AH']);

/** By number, so a flow's protocol may be a name or its number. */
function protocolMatches(rule: L4Protocol, flow: Protocol): boolean {
  const n = protocolNumber(flow);
  // ANY (or omitted) = TCP, UDP and SCTP, not ICMP ([1.16] pkg/policy/rule.go `if p.Protocol.IsAny()`).
  if (rule === 'ANY') return n === 6 || n === 17 || n === 132;
  return NUMBERS[rule] === n;
}

/** ICMP's family by protocol number (1 = ICMP, 58 = ICMPv6). */
function icmpFamily(flow: Protocol): 'IPv4' | 'IPv6' | null {
  const n = protocolNumber(flow);
  return n === 1 ? 'IPv4' : n === 58 ? 'IPv6' : null;
}

function portProtocolMatches(p: PortProtocol, flow: CiliumFlow, c: Criteria): Truth {
  if (flow.protocol === null) {
    c.reasons.push('the flow names no protocol');
    return 'unknown';
  }
  if (!protocolMatches(p.protocol, flow.protocol)) return false;
  if (EXTENDED.has(p.protocol)) return true;
  if (typeof p.port === 'string') {
    // Named ports resolve against pod specs (pkg/policy/l4.go), which flows do not carry.
    c.reasons.push(`named port '${p.port}': its number is not in the flow`);
    return 'unknown';
  }
  // Port 0 = every port ([1.16] pkg/policy/portrange.go PortRangeToMaskedPorts: a wildcard).
  if (p.port === 0 && (p.endPort === null || p.endPort === 65535)) return true;
  if (flow.destPort === null) {
    c.reasons.push('the flow names no destination port');
    return 'unknown';
  }
  return flow.destPort >= p.port && flow.destPort <= (p.endPort ?? p.port);
}

function portsMatch(entry: PeerRule, context: RuleContext, flow: CiliumFlow, c: Criteria): Truth {
  // An L3-only rule allows every protocol, ICMP included (Documentation/security/policy/layer4.rst).
  if (entry.toPorts === undefined && entry.icmps === undefined) return true;
  if (entry.icmps !== undefined) {
    if (flow.protocol === null) {
      c.reasons.push('the flow names no protocol');
      return 'unknown';
    }
    const family = icmpFamily(flow.protocol);
    if (family === null) return false;
    const fields = entry.icmps.filter((f) => f.family === family);
    if (fields.length === 0) return false;
    const type = flow.icmpType ?? null;
    if (type === null) {
      c.reasons.push('the flow names no ICMP type');
      return 'unknown';
    }
    return fields.some((f) => f.type === type);
  }
  // Once ports are used, ICMP needs `icmps` (layer4.rst); toPorts never match ICMP. A port rule
  // without ports allows nothing ([1.16] pkg/policy/rule.go iterates GetPortProtocols()).
  let result: Truth = false;
  const reasons: string[] = [];
  for (const portRule of entry.toPorts!) {
    const sub = new Criteria();
    const truth = anyOf(portRule.ports, (p) => portProtocolMatches(p, flow, sub));
    if (truth === false) continue;
    const both = and(truth, context.deny ? true : l7Matches(portRule, flow, sub));
    if (both === true) return true;
    if (both === 'unknown') {
      result = 'unknown';
      reasons.push(...sub.reasons);
    }
  }
  c.reasons.push(...reasons);
  return result;
}

/** Mutual authentication (authentication.mode: required) may drop what the rule allows. */
function authentication(entry: PeerRule, c: Criteria): Truth {
  if (entry.authentication === undefined || entry.authentication.mode === 'disabled') return true;
  c.reasons.push(`authentication mode ${entry.authentication.mode}: mutual authentication decides`);
  return 'unknown';
}

/**
 * What an L7 rule means for an L3/L4 flow: the connection is allowed and handed to the proxy, which
 * answers each request (HTTP 403, DNS REFUSED: layer7.rst). An HTTP rule without fields, or a DNS
 * rule matching every name, allows every request; otherwise the flow cannot tell.
 */
function l7Matches(portRule: PortRule, flow: CiliumFlow, c: Criteria): Truth {
  if (portRule.serverNames !== undefined && portRule.serverNames.length > 0) {
    c.reasons.push('serverNames: the TLS server name is not in the flow');
    return 'unknown';
  }
  if (portRule.terminatingTLS !== undefined || portRule.originatingTLS !== undefined || portRule.listener !== undefined) {
    c.reasons.push('TLS interception or an Envoy listener decides requests');
    return 'unknown';
  }
  const rules = portRule.rules;
  if (rules === undefined) return true;
  if (rules.http !== undefined && rules.http.length > 0) {
    if (rules.http.some((h) => Object.values(h).every((v) => v === undefined || (Array.isArray(v) && v.length === 0)))) return true;
    c.reasons.push('HTTP rules decide each request, which the flow does not show');
    return 'unknown';
  }
  if (rules.dns !== undefined && rules.dns.length > 0) {
    if (rules.dns.some(matchesEveryName)) return true;
    const query = flow.dnsQuery ?? null;
    if (query !== null) {
      const truth = anyOf(rules.dns, (s) => fqdnMatches(s, query));
      if (truth === 'unknown') c.reasons.push('DNS rules: a pattern matches on some Cilium releases only');
      return truth;
    }
    c.reasons.push('DNS rules decide each query, which the flow does not name');
    return 'unknown';
  }
  if ((rules.kafka?.length ?? 0) > 0 || (rules.l7?.length ?? 0) > 0 || rules.l7proto !== undefined) {
    c.reasons.push('L7 rules (Kafka, generic L7) decide each request, which the flow does not show');
    return 'unknown';
  }
  return true;
}
