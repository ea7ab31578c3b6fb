// The `cilium` flavour: CiliumNetworkPolicy (cilium.io/v2), one per namespace and (microsegmentation)
// one per workload. Cilium has no staged policies: the policy written is the policy enforced once
// merged, and a policy with a section in a direction puts its pods into default deny in that
// direction (pkg/policy/rule_validation.go of Cilium v1.16.0: `EnableDefaultDeny` defaults to
// "has a section"). Allow rules of every policy selecting a pod are a union (docs
// security/policy/intro.rst "Rule Basics"), so a namespace policy leaves out the pods of
// workloads with their own policies (reselect), or it would undo their narrowing. Rules cannot
// carry annotations: their provenance lives in one policy annotation, as in the Kubernetes flavour.
//
// Internally every rule is the typed PeerRule of src/cilium/types.ts: the interface's `unknown`
// rule goes through `typed` (src/cilium/parse-policy.ts, the boundary) at the top of each method.
// A rule is ours in shape when rendering what it is recognised as gives it back exactly.
//
// Rule shapes and the Cilium file (and release) each relies on (the trees cilium/cilium-cli
// vendors: v0.16.14 = Cilium v1.16.0, v0.19.7 = main of 2026-07-28; notes: /work/notes/cilium-semantics.md):
// - pods of a namespace / of a workload: `fromEndpoints`/`toEndpoints` with
//   `k8s:io.kubernetes.pod.namespace` (pkg/k8s/apis/cilium.io/utils/utils.go getEndpointSelector,
//   v1.16.0 and main: a selector without it means the policy's own namespace) and the workload's
//   stable labels as `k8s:` keys (pkg/labels/labels.go, sources);
// - addresses (Calico's `pub`/`pvt`, Hubble's world addresses, a Calico network set's known nets):
//   `toCIDRSet`/`fromCIDRSet` with `except` (pkg/policy/api/cidr.go CIDRRule, v1.16.0); CIDR rules never select pods or nodes
//   (pkg/policy/types/selector.go, main; docs security/policy/language.rst);
// - domains: `toFQDNs` matchName/matchPattern (pkg/policy/api/fqdn.go, v1.16.0), with the DNS rule
//   that makes them work: egress to kube-dns on 53/UDP and 53/TCP with `rules.dns: [{matchPattern: "*"}]`
//   (examples/kubernetes-dns/dns-matchname.yaml and Documentation/security/dns.rst);
// - services: `toServices` k8sService with `toPorts` (pkg/policy/api/service.go; with toPorts
//   only from 1.17, rule_validation.go l3DependentL4Support of v1.16.0 forbids it);
// - ports: `toPorts` with numeric ports and the record's protocol, at most 40 a port rule
//   (rule_validation.go maxPorts, v1.16.0 and main); port 0 = every port of the protocol (l4.go).

import { ALL_IPV4, ALL_IPV6, cidrContains, PRIVATE_NETS, PRIVATE_NETS_V6, parseCidr } from '../../calico/nets.ts';
import { compareProtocols, type Protocol, protocolHasPorts, protocolName } from '../../calico/protocol.ts';
import { CURRENT_CALICO_RELEASE } from '../../calico/release.ts';
import { fqdnMatches, matchesEveryName } from '../../cilium/fqdn.ts';
import { isIdentityLabelKey } from '../../cilium/identity-labels.ts';
import { POD_NAMESPACE_KEY, SOURCE_K8S } from '../../cilium/labels.ts';
import { parseCiliumPolicy } from '../../cilium/parse-policy.ts';
import type { CiliumPolicy, PeerRule, PortRule } from '../../cilium/types.ts';
import type { IpFamily } from '../../config/recommendation-config.ts';
import type { CiliumOptions, CiliumPeer } from '../../simulate/cilium/flow.ts';
import { type RuleContext as EntryContext, peerKeys, peerRuleKeys, peerRuleMatches } from '../../simulate/cilium/match-rule.ts';
import { deepEqual, isPlainObject, type PlainObject } from '../../util/plain.ts';
import {
  type Category,
  categoryRank,
  compareStrings,
  type Direction,
  type ObservedAtom,
  type Peer,
  type PeerEntity,
  peerKey,
} from '../model.ts';
import { namespacePolicyName, workloadPolicyName } from '../naming.ts';
import { type NetworkSetDirectory, NO_NETWORK_SETS } from '../network-sets.ts';
import type { Workload } from '../workloads.ts';
import { describePeers } from './describe-peer.ts';
import {
  madeRule,
  NEW_FILE_ORIGIN,
  type PolicyFlavor,
  type PolicySubject,
  type RuleContext,
  type RuleIdentity,
  type RuleSummary,
} from './flavor.ts';
import { recordedRuleKeys, ruleKey, withRuleRecord } from './provenance-annotation.ts';
import { readNetsPeer, setAddressTarget } from './set-addresses.ts';

const CILIUM_API_VERSION = 'cilium.io/v2';
/** `k8s:io.kubernetes.pod.namespace`: the peer's namespace, written out even for the policy's own. */
const NAMESPACE_KEY = `${SOURCE_K8S}:${POD_NAMESPACE_KEY}`;
/** Ports of one port rule (rule_validation.go maxPorts = 40, v1.16.0 and main; CRD MaxItems=40). */
const MAX_PORTS_PER_PORT_RULE = 40;
/** The cluster DNS every FQDN rule needs (examples/kubernetes-dns/dns-matchname.yaml: kube-system, k8s-app=kube-dns). */
const DNS_PEER: Peer = { category: 'Namespace', namespace: 'kube-system', pods: { 'k8s-app': 'kube-dns' } };
const DNS_PORT = 53;
const DNS_NAMESPACE: Peer = { category: 'Namespace', namespace: 'kube-system' };
const isDnsPeer = (peer: Peer) => deepEqual(peer, DNS_PEER);
/** The entities learned as peers (model.ts PeerEntity), all in the CRD's enum (pkg/policy/api/entity.go, v1.16.0). */
const PEER_ENTITIES: readonly PeerEntity[] = ['host', 'remote-node', 'kube-apiserver', 'health', 'ingress', 'unmanaged'];

/** The ports we write: a numbered port of TCP, UDP or SCTP (0 = every port of it). */
interface PortEntry {
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly port: number;
}

interface CiliumShape {
  readonly category: Category;
  readonly peers: readonly Peer[];
  /** Null: no toPorts (every protocol, every port). */
  readonly ports: readonly PortEntry[] | null;
}

export interface CiliumFlavorOptions {
  readonly ipFamilies?: readonly IpFamily[];
  /** What is known of Calico's network sets: a set whose nets are known is allowed exactly at them. */
  readonly networkSets?: NetworkSetDirectory;
}

/** A stand-in policy the typed rules are read in (only its namespace matters to a rule). */
function contextPolicy(namespace: string): CiliumPolicy {
  return { kind: 'CiliumNetworkPolicy', name: 'rule', namespace, rules: [] };
}

const parsedRules = new WeakMap<object, Map<string, PeerRule | null>>();

/**
 * The one conversion of the interface's `unknown` rule into Cilium's typed rule, through the
 * boundary's parser: null when Cilium would not accept it (a person's typo), which we never
 * recognise nor match.
 */
export function typed(rule: unknown, direction: Direction, namespace: string): PeerRule | null {
  if (!isPlainObject(rule)) return null;
  let byContext = parsedRules.get(rule);
  if (byContext === undefined) parsedRules.set(rule, (byContext = new Map()));
  const key = `${direction} ${namespace}`;
  if (byContext.has(key)) return byContext.get(key)!;
  const parsed = parseCiliumPolicy({
    apiVersion: CILIUM_API_VERSION,
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'rule', namespace },
    spec: { endpointSelector: {}, [direction]: [rule] },
  });
  const result = parsed.ok ? (parsed.policy.rules[0]![direction]?.[0] ?? null) : null;
  byContext.set(key, result);
  return result;
}

export function ciliumFlavor({ ipFamilies = ['IPv4'], networkSets = NO_NETWORK_SETS }: CiliumFlavorOptions = {}): PolicyFlavor {
  const recognise = (rule: unknown, ctx: Pick<RuleContext, 'direction' | 'namespace'>): CiliumShape | null => {
    const entry = typed(rule, ctx.direction, ctx.namespace);
    if (entry === null) return null;
    const shape = shapeOf(entry);
    return shape !== null && deepEqual(renderRule(ctx.direction, shape.peers, shape.ports), rule) ? shape : null;
  };

  // Match keys (PolicyFlavor.matchKeys), once per typed entry and per atom.
  const ruleKeys = new WeakMap<PeerRule, readonly string[] | null>();
  const atomKeys = new WeakMap<ObservedAtom, readonly string[]>();

  return {
    name: 'cilium',
    kind: 'CiliumNetworkPolicy',
    // Cilium has no staged policies (per-endpoint audit mode aside): merging enforces.
    staged: false,
    enforced: null,
    // A Cilium peer rule means what it means in its direction and namespace, so it is typed in
    // context (`typed`, memoised per rule object); here it is carried as written.
    parse: (raw) => ({ raw, typed: raw }),
    newFileComment: `${NEW_FILE_ORIGIN}\n Enforced as soon as it is applied: Cilium has no staged policies. Comments and edits survive updates.`,
    typesKey: null,
    // The CRD bounds no rule list (pkg/policy/api/rule.go: no MaxItems on Ingress/Egress, v1.16.0 and main).
    maxRulesPerDirection: null,

    skeleton(subject, tier, metadata) {
      const { namespace, workload } = subject;
      // No tier in Cilium: names are those of a release without the tier prefix (naming.ts).
      const name =
        workload === undefined
          ? namespacePolicyName('cilium', tier, namespace, CURRENT_CALICO_RELEASE)
          : workloadPolicyName(tier, workload, '3.32');
      return {
        apiVersion: CILIUM_API_VERSION,
        kind: 'CiliumNetworkPolicy',
        metadata: { name, namespace, ...metadata },
        spec: { endpointSelector: subjectSelector(subject) },
      };
    },

    reselect(policy, subject) {
      // A workload's policy keeps the selector it has (a person may have narrowed it).
      if (subject.workload !== undefined) return false;
      const { spec } = policy;
      const wanted = subjectSelector(subject);
      // A selector a person wrote (anything but `{}` or our NotIn list) is theirs: left as it is.
      if (deepEqual(spec.endpointSelector, wanted) || !isOurNamespaceSelector(spec.endpointSelector)) return false;
      spec.endpointSelector = wanted;
      return true;
    },

    /** Rule provenance, keyed by direction and peers (as the Kubernetes flavour keeps it). */
    finish(policy, previous, now) {
      const namespace = policy.metadata.namespace ?? '';
      return withRuleRecord(policy, previous, now, (rule, direction) => recognise(rule, { direction, namespace }));
    },

    adapt(observed) {
      const { atom, evidence } = observed;
      switch (atom.peer.category) {
        case 'Domains':
          // The name, plus the lookups through Cilium's DNS proxy without which no address is
          // learned for it (Documentation/security/dns.rst): one DNS atom per protocol.
          return [
            observed,
            ...(['UDP', 'TCP'] as const).map(
              (protocol): ObservedAtom => ({ atom: { direction: 'egress', peer: DNS_PEER, protocol, port: DNS_PORT }, evidence }),
            ),
          ];
        case 'NetworkSet':
          // Calico's network sets do not exist in Cilium: the set's nets, else the classes of addresses it was seen at.
          return setAddressTarget(atom.peer, evidence.remoteIps, networkSets, ipFamilies).peers.map((peer) => ({
            ...observed,
            atom: { ...atom, peer },
          }));
        default:
          return [observed];
      }
    },

    approximation(observed) {
      const { atom, evidence } = observed;
      const notes: string[] = [];
      if (atom.peer.category === 'NetworkSet') {
        const { allows } = setAddressTarget(atom.peer, evidence.remoteIps, networkSets, ipFamilies);
        const traffic = `${protocolName(atom.protocol)}${atom.port === null ? '' : ` ${atom.port}`}`;
        notes.push(`${peerKey(atom.peer)} (${traffic}) is allowed to ${allows}: Cilium has no network sets`);
      }
      if (atom.peer.category === 'Service') {
        notes.push(
          `egress to service ${atom.peer.namespace}/${atom.peer.name} uses toServices with toPorts, which Cilium accepts from 1.17 on`,
        );
      }
      if (!protocolHasPorts(atom.protocol)) {
        notes.push(
          `${protocolName(atom.protocol)} to ${peerKey(atom.peer)} is allowed as all traffic to that peer: Cilium's toPorts match only TCP, UDP and SCTP, and the flow does not give the ICMP type`,
        );
      } else if (atom.port === null) {
        notes.push(
          `${protocolName(atom.protocol)} to ${peerKey(atom.peer)} is allowed on every port (port 0): the flow did not report one`,
        );
      }
      return notes.length > 0 ? notes.join('; ') : null;
    },

    matches(rule, observed, ctx) {
      const entry = typed(rule.raw, ctx.direction, ctx.namespace);
      return entry !== null && entryCovers(entry, observed.atom.peer, observed.atom.protocol, observed.atom.port, ctx);
    },

    matchKeys: {
      rule: (rule, ctx) => {
        const entry = typed(rule.raw, ctx.direction, ctx.namespace);
        // A rule Cilium would not accept matches nothing. An entry is typed per context (typed).
        if (entry === null) return [];
        let keys = ruleKeys.get(entry);
        if (keys === undefined) ruleKeys.set(entry, (keys = entryKeys(entry, ctx)));
        return keys;
      },
      // The remote end is the atom's peer whatever the context.
      atom: (observed) => {
        let keys = atomKeys.get(observed);
        if (keys === undefined) atomKeys.set(observed, (keys = peerMatchKeys(observed.atom.peer)));
        return keys;
      },
    },

    identify(rule, ctx): RuleIdentity | null {
      const shape = recognise(rule.raw, ctx);
      if (shape === null) return null;
      const peersKey = shape.peers.map(peerKey).join(', ');
      return {
        category: shape.category,
        peers: shape.peers,
        extendKey: shape.ports === null || shape.peers.length !== 1 ? null : `${peersKey}|ports`,
        contractKey:
          shape.category === 'Namespace' &&
          shape.ports !== null &&
          shape.peers.every((p) => p.category === 'Namespace' && p.pods === undefined)
            ? `Namespace|${JSON.stringify(shape.ports)}`
            : null,
        sortKey: [categoryRank(shape.category), peersKey, JSON.stringify(shape.ports)],
        ours: ctx.ownRuleKeys?.has(ruleKey(ctx.direction, shape.peers)) === true,
      };
    },

    extendKey(observed) {
      const { atom } = observed;
      // The DNS atoms of FQDN rules join the rule for the whole of kube-system when there is one (render).
      const peer = isDnsPeer(atom.peer) ? DNS_NAMESPACE : atom.peer;
      return `${peerKey(peer)}|${portEntry(atom.protocol, atom.port) === null ? 'all' : 'ports'}`;
    },

    canExtend(rule, observed, ctx) {
      const shape = recognise(rule.raw, ctx);
      return shape !== null && shape.ports !== null && portEntry(observed.atom.protocol, observed.atom.port) !== null;
    },

    extend(rule, observed, ctx) {
      const shape = recognise(rule.raw, ctx)!;
      return madeRule(
        renderRule(ctx.direction, shape.peers, sortPorts([...shape.ports!, portEntry(observed.atom.protocol, observed.atom.port)!])),
      );
    },

    render(atoms, ctx) {
      // One peer per extend key, except the DNS atoms (extendKey): the whole of kube-system, which
      // holds kube-dns, when traffic to it was seen too.
      const peer = atoms.find((o) => !isDnsPeer(o.atom.peer))?.atom.peer ?? atoms[0]!.atom.peer;
      const entries = atoms.map((o) => portEntry(o.atom.protocol, o.atom.port));
      return [madeRule(renderRule(ctx.direction, [peer], entries.includes(null) ? null : sortPorts(entries as PortEntry[])))];
    },

    contract(rules, ctx) {
      const shapes = rules.map((r) => recognise(r.raw, ctx)!);
      const names = [...new Set(shapes.flatMap((s) => s.peers.map((p) => (p as { namespace: string }).namespace)))].sort(compareStrings);
      return [
        madeRule(
          renderRule(
            ctx.direction,
            names.map((namespace): Peer => ({ category: 'Namespace', namespace })),
            shapes[0]!.ports,
          ),
        ),
      ];
    },

    reconcile: (rule) => [rule],
    annotate: (rule) => rule,
    // We write no deny rules; a person's rules sit in ingress/egress, which only allow (denies live in ingressDeny/egressDeny).
    allowsOnly: () => true,

    ownRuleKeys: recordedRuleKeys,

    describe(rule, ctx): RuleSummary {
      const shape = recognise(rule.raw, ctx);
      if (shape === null) {
        return {
          action: 'Allow',
          category: 'Custom',
          peers: [JSON.stringify(rule.raw)],
          remote: `a rule of its own: ${JSON.stringify(rule.raw)}`,
          protocol: 'any',
          ports: [],
          firstAdded: null,
        };
      }
      return {
        action: 'Allow',
        category: shape.category,
        peers: shape.peers.map(peerKey),
        remote: describePeers(shape.peers),
        protocol: shape.ports === null ? 'any' : [...new Set(shape.ports.map((p) => p.protocol))].join(', '),
        ports: shape.ports === null ? [] : shape.ports.map((p) => `${p.protocol}/${p.port === 0 ? 'any' : p.port}`),
        firstAdded: null,
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Subjects

/**
 * The endpointSelector: `{}` for a namespace (Cilium adds the policy's namespace:
 * pkg/k8s/apis/cilium.io/utils/utils.go `retRule.EndpointSelector.AddMatch(podPrefixLbl, namespace)`),
 * less the pods of workloads with their own policies (NotIn on the label that tells each apart; a
 * pod without the key is selected: pkg/policy/types/requirements.go, NotIn matches an absent key);
 * a workload's stable labels for its policy.
 */
export function subjectSelector(subject: PolicySubject): PlainObject {
  if (subject.workload !== undefined) return { matchLabels: podLabels(subject.workload.labels) };
  const byKey = new Map<string, Set<string>>();
  for (const { key, value } of subject.excluded ?? []) {
    const values = byKey.get(key) ?? new Set<string>();
    byKey.set(key, values.add(value));
  }
  if (byKey.size === 0) return {};
  return {
    matchExpressions: [...byKey.keys()].sort(compareStrings).map((key) => ({
      key: `${SOURCE_K8S}:${key}`,
      operator: 'NotIn',
      values: [...byKey.get(key)!].sort(compareStrings),
    })),
  };
}

/** `{}`, or only `k8s:` NotIn expressions: a namespace policy's selector as subjectSelector writes it. */
function isOurNamespaceSelector(selector: unknown): boolean {
  if (!isPlainObject(selector)) return false;
  const keys = Object.keys(selector);
  if (keys.length === 0) return true;
  const expressions = selector['matchExpressions'];
  return (
    keys.length === 1 &&
    Array.isArray(expressions) &&
    expressions.every(
      (e) =>
        isPlainObject(e) &&
        typeof e['key'] === 'string' &&
        e['key'].startsWith(`${SOURCE_K8S}:`) &&
        e['operator'] === 'NotIn' &&
        Array.isArray(e['values']) &&
        Object.keys(e).length === 3,
    )
  );
}

/** Pod labels as Cilium selector keys (`k8s:app`), only those Cilium keeps in identities, sorted. */
function podLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const keys = Object.keys(labels).sort(compareStrings);
  const selectable = keys.filter(isIdentityLabelKey);
  return Object.fromEntries((selectable.length > 0 ? selectable : keys).map((k) => [`${SOURCE_K8S}:${k}`, labels[k]!]));
}

/**
 * For each workload with its own policy, a label of its stable labels that no other workload of
 * the namespace has with that value (so that leaving it out of the namespace policy leaves out
 * exactly its pods, among the workloads known); null for a workload without one.
 */
export function exclusionLabel(workload: Workload, others: readonly Workload[]): { key: string; value: string } | null {
  for (const key of Object.keys(workload.labels).filter(isIdentityLabelKey).sort(compareStrings)) {
    const value = workload.labels[key]!;
    if (!others.some((o) => o.namespace === workload.namespace && o !== workload && o.labels[key] === value && !sameWorkload(o, workload)))
      return { key, value };
  }
  return null;
}

const sameWorkload = (a: Workload, b: Workload) => a.namespace === b.namespace && a.kind === b.kind && a.name === b.name;

// ---------------------------------------------------------------------------------------------
// Rules

/** What Felix reports as `pvt` / `pub` (felix/collector/types/endpoint/endpoint.go getSubnetType, release-v3.31). */
function cidrSet(peer: Peer): { cidr: string; except?: string[] }[] {
  // A network set's nets: one entry each (pkg/policy/api/cidr.go CIDRRule; IPv4 and IPv6 may
  // share a CIDR set, and no MaxItems bounds it, pkg/policy/api/egress.go, v1.16.0 and main).
  if (peer.category === 'Nets') return peer.nets.map((cidr) => ({ cidr }));
  if (peer.category === 'Private') return (peer.ipv6 ? PRIVATE_NETS_V6 : PRIVATE_NETS).map((cidr) => ({ cidr }));
  if (peer.category !== 'Public') throw new Error(`no CIDR set for ${peerKey(peer)}`);
  // Public: IPv4 outside RFC 1918; every IPv6 address (getSubnetType checks only the IPv4 ranges).
  return [peer.ipv6 ? { cidr: ALL_IPV6 } : { cidr: ALL_IPV4, except: [...PRIVATE_NETS] }];
}

function l3(direction: Direction, peers: readonly Peer[]): PlainObject {
  const to = direction === 'egress';
  const first = peers[0]!;
  switch (first.category) {
    case 'Namespace':
      return {
        [to ? 'toEndpoints' : 'fromEndpoints']: peers.map((p) => {
          const pods = (p as { pods?: Readonly<Record<string, string>> }).pods;
          return { matchLabels: { [NAMESPACE_KEY]: (p as { namespace: string }).namespace, ...(pods ? podLabels(pods) : {}) } };
        }),
      };
    case 'Nets':
    case 'Private':
    case 'Public':
      return { [to ? 'toCIDRSet' : 'fromCIDRSet']: peers.flatMap(cidrSet) };
    case 'Domains':
      return { toFQDNs: peers.map((p) => fqdnSelector((p as { domain: string }).domain)) };
    case 'Service':
      return {
        toServices: peers.map((p) => ({
          k8sService: { serviceName: (p as { name: string }).name, namespace: (p as { namespace: string }).namespace },
        })),
      };
    case 'Entity':
      // pkg/policy/api/entity.go (v1.16.0 and main): host, remote-node, kube-apiserver, health, ingress, unmanaged.
      return { [to ? 'toEntities' : 'fromEntities']: peers.map((p) => (p as { entity: string }).entity) };
    case 'NetworkSet':
      throw new Error('network sets are adapted to addresses before rendering');
  }
}

/** A name, or a `*.` wildcard as Calico's domain lists write them (matchPattern: `*` matches one label, fqdn.go). */
function fqdnSelector(domain: string): { matchName: string } | { matchPattern: string } {
  return domain.includes('*') ? { matchPattern: domain } : { matchName: domain };
}

/**
 * One rule: its peers and its ports. Egress to port 53 (UDP, TCP) of endpoints, addresses or
 * services goes through Cilium's DNS proxy (`rules.dns: [{matchPattern: "*"}]`, every name), so
 * that FQDN rules learn addresses from these lookups too; an L4-only rule on the same port would
 * leave the L7 rule without effect (Documentation/security/policy/layer7.rst). Other ports stay in
 * port rules of their own, at most 40 ports each.
 */
function renderRule(direction: Direction, peers: readonly Peer[], ports: readonly PortEntry[] | null): PlainObject {
  const rule: PlainObject = l3(direction, peers);
  if (ports === null) return rule;
  const dnsProxied = direction === 'egress' && peers[0]!.category !== 'Domains';
  const isDns = (p: PortEntry) => dnsProxied && p.port === DNS_PORT && (p.protocol === 'UDP' || p.protocol === 'TCP');
  const portRules: PlainObject[] = [];
  const dns = ports.filter(isDns);
  const plain = ports.filter((p) => !isDns(p));
  for (let i = 0; i < plain.length; i += MAX_PORTS_PER_PORT_RULE) {
    portRules.push({ ports: plain.slice(i, i + MAX_PORTS_PER_PORT_RULE).map(portObject) });
  }
  if (dns.length > 0) portRules.push({ ports: dns.map(portObject), rules: { dns: [{ matchPattern: '*' }] } });
  rule['toPorts'] = portRules;
  return rule;
}

/** Cilium's port is a string in its API (pkg/policy/api/l4.go PortProtocol.Port). */
function portObject(p: PortEntry): PlainObject {
  return { port: String(p.port), protocol: p.protocol };
}

/** A port entry for the traffic; null when it has no ports (ICMP, other IP protocols): the rule then allows every protocol. */
function portEntry(protocol: Protocol, port: number | null): PortEntry | null {
  if (!protocolHasPorts(protocol)) return null;
  return { protocol: protocol as PortEntry['protocol'], port: port ?? 0 };
}

function sortPorts(entries: readonly PortEntry[]): PortEntry[] {
  const unique = new Map(entries.map((e) => [`${e.protocol}/${e.port}`, e]));
  return [...unique.values()].sort((a, b) => compareProtocols(a.protocol, b.protocol) || a.port - b.port);
}

/** The peers and ports a typed rule would be rendered from, when it has one of our shapes. */
function shapeOf(entry: PeerRule): CiliumShape | null {
  const ports = entry.icmps !== undefined ? undefined : entry.toPorts === undefined ? null : portsOf(entry.toPorts);
  if (ports === undefined) return null;
  const l3Fields = (['endpoints', 'cidr', 'cidrSet', 'entities', 'nodes', 'groups', 'services', 'fqdns', 'requires'] as const).filter(
    (f) => entry[f] !== undefined,
  );
  if (l3Fields.length !== 1) return null;
  const field = l3Fields[0]!;
  let peers: Peer[] | null = null;
  switch (field) {
    case 'endpoints':
      peers = entry.endpoints!.map(endpointPeer).filter((p): p is Peer => p !== null);
      if (peers.length !== entry.endpoints!.length) return null;
      break;
    case 'cidrSet':
      for (const candidate of [
        [{ category: 'Private' }],
        [{ category: 'Private', ipv6: true }],
        [{ category: 'Public' }],
        [{ category: 'Public', ipv6: true }],
      ] as Peer[][]) {
        if (
          deepEqual(
            candidate.flatMap(cidrSet),
            entry.cidrSet!.map((c) => ('cidr' in c ? { cidr: c.cidr, ...(c.except.length > 0 ? { except: [...c.except] } : {}) } : c)),
          )
        )
          peers = candidate;
      }
      if (peers === null) {
        const nets = readNetsPeer(entry.cidrSet!.map((c) => ('cidr' in c && c.except.length === 0 ? c.cidr : null)));
        if (nets !== null) peers = [nets];
      }
      break;
    case 'entities':
      peers = entry.entities!.map((e): Peer | null =>
        (PEER_ENTITIES as readonly string[]).includes(e) ? { category: 'Entity', entity: e as PeerEntity } : null,
      ) as Peer[];
      if (peers.includes(null as unknown as Peer)) return null;
      break;
    case 'fqdns':
      peers = entry.fqdns!.map((f): Peer => ({ category: 'Domains', domain: 'matchName' in f ? f.matchName : f.matchPattern }));
      break;
    case 'services':
      peers = entry.services!.map((s): Peer | null =>
        'k8sService' in s && s.k8sService.namespace !== undefined
          ? { category: 'Service', name: s.k8sService.serviceName, namespace: s.k8sService.namespace }
          : null,
      ) as Peer[];
      if (peers.includes(null as unknown as Peer)) return null;
      break;
    default:
      return null;
  }
  if (peers === null || peers.length === 0) return null;
  return { category: peers[0]!.category, peers, ports };
}

/** `{k8s:io.kubernetes.pod.namespace: ns, k8s:<label>: value ...}` (all In of one value, from matchLabels). */
function endpointPeer(selector: NonNullable<PeerRule['endpoints']>[number]): Peer | null {
  let namespace: string | null = null;
  const pods: Record<string, string> = {};
  for (const r of selector.requirements) {
    if (r.key.source !== SOURCE_K8S || r.operator !== 'In' || r.values.length !== 1 || !r.fromMatchLabels) return null;
    if (r.key.key === POD_NAMESPACE_KEY) namespace = r.values[0]!;
    else pods[r.key.key] = r.values[0]!;
  }
  if (namespace === null) return null;
  return Object.keys(pods).length === 0 ? { category: 'Namespace', namespace } : { category: 'Namespace', namespace, pods };
}

/** The port entries of our port rules; undefined when they are not ours (names, ranges, L7 other than our DNS rule). */
function portsOf(portRules: readonly PortRule[]): PortEntry[] | undefined {
  const out: PortEntry[] = [];
  for (const pr of portRules) {
    for (const p of pr.ports) {
      if (typeof p.port !== 'number' || p.endPort !== null) return undefined;
      if (p.protocol !== 'TCP' && p.protocol !== 'UDP' && p.protocol !== 'SCTP') return undefined;
      out.push({ protocol: p.protocol, port: p.port });
    }
  }
  return sortPorts(out);
}

// ---------------------------------------------------------------------------------------------
// Matching: does a rule allow all the traffic of an atom?

/** One address a peer of this category certainly covers, for the evaluator's port check. */
const REPRESENTATIVE: Readonly<Record<string, string>> = {
  private: '10.0.0.1',
  'private-ipv6': 'fd00::1',
  public: '192.0.2.1',
  'public-ipv6': '2001:db8::1',
};

/** The options the flavour asks the evaluator with: Cilium's defaults. */
const EVALUATOR_OPTIONS: CiliumOptions = {};

/** A rule entry of a policy of the context's namespace, in its direction (an allow). */
function entryContext(ctx: RuleContext): EntryContext {
  return { policy: contextPolicy(ctx.namespace), subjectSelector: undefined, direction: ctx.direction, deny: false };
}

/**
 * The remote end the evaluator is asked about for a peer; null for services and network sets
 * (entryCovers decides them without it).
 */
function remotePeer(peer: Peer): CiliumPeer | null {
  switch (peer.category) {
    case 'Namespace':
      return {
        kind: 'pod',
        namespace: peer.namespace,
        labels: Object.entries(peer.pods ?? {}).map(([key, value]) => ({ source: SOURCE_K8S, key, value })),
        ip: null,
      };
    case 'Private':
    case 'Public':
    case 'Domains':
      return { kind: 'ip', ip: REPRESENTATIVE[peer.category === 'Domains' ? 'public' : peerKey(peer)]! };
    case 'Entity':
      return { kind: 'entity', entity: peer.entity, ip: null };
    case 'Nets':
      // The network address of its first net (entryCovers's L3 check covers every net).
      return { kind: 'ip', ip: peer.nets[0]!.slice(0, peer.nets[0]!.indexOf('/')) };
    default:
      return null;
  }
}

const serviceKey = (namespace: string, name: string): string => `service ${JSON.stringify([namespace, name])}`;

/**
 * MatchKeys of entryCovers: a service is matched only by an entry naming it, and every other peer
 * only where the evaluator's peerRuleMatches is certain (its peerRuleKeys and peerKeys); an entry
 * without a peer field (null) may match any.
 */
function entryKeys(entry: PeerRule, ctx: RuleContext): readonly string[] | null {
  const keys = peerRuleKeys(entry, entryContext(ctx), EVALUATOR_OPTIONS);
  if (keys === null) return null;
  const services = (entry.services ?? []).flatMap((s) =>
    'k8sService' in s && s.k8sService.namespace !== undefined ? [serviceKey(s.k8sService.namespace, s.k8sService.serviceName)] : [],
  );
  return [...keys, ...services];
}

function peerMatchKeys(peer: Peer): readonly string[] {
  if (peer.category === 'Service') return [serviceKey(peer.namespace, peer.name)];
  const remote = remotePeer(peer);
  // A network set: entryCovers refuses it to every entry with a peer field (whose keys are never null).
  return remote === null ? [] : peerKeys(remote, EVALUATOR_OPTIONS);
}

function entryCovers(entry: PeerRule, peer: Peer, protocol: Protocol, port: number | null, ctx: RuleContext): boolean {
  const context = entryContext(ctx);
  const l3Given = (['endpoints', 'cidr', 'cidrSet', 'entities', 'nodes', 'groups', 'services', 'fqdns'] as const).some(
    (f) => entry[f] !== undefined,
  );
  // The remote side: the evaluator for pods; for addresses and names, only rules that cover the whole class.
  if (l3Given) {
    const all = entry.entities?.includes('all') === true;
    switch (peer.category) {
      case 'Nets':
      case 'Private':
      case 'Public':
        if (!all && !(entry.entities?.includes('world') === true) && !cidrSetCovers(entry, peer)) return false;
        break;
      case 'Domains':
        if (!all && !(entry.entities?.includes('world') === true) && !(entry.fqdns ?? []).some((f) => fqdnMatches(f, peer.domain) === true))
          return false;
        break;
      case 'Service':
        if (
          !(entry.services ?? []).some(
            (s) => 'k8sService' in s && s.k8sService.serviceName === peer.name && s.k8sService.namespace === peer.namespace,
          )
        )
          return false;
        break;
      case 'NetworkSet':
        return false;
      case 'Namespace':
      case 'Entity':
        break;
    }
  }
  if (port === null && protocolHasPorts(protocol)) port = 0;
  if (port === 0 && entry.toPorts !== undefined) {
    // Every port: only a port-0 entry of the protocol (or ANY) allows them all.
    const every = entry.toPorts.some(
      (pr) => plainL4(pr) && pr.ports.some((p) => p.port === 0 && (p.protocol === 'ANY' || p.protocol === protocol)),
    );
    if (!every) return false;
  }
  const remote = remotePeer(peer);
  if (remote === null) {
    // Services: the evaluator needs the service's selector; the L3 check above decided, ports here.
    // An entry without peers selects nothing (`egress: [{}]`; with ports, nothing on main either:
    // pkg/policy/api/egress.go), so it covers no service.
    if (!l3Given) return false;
    return entry.toPorts === undefined
      ? entry.icmps === undefined
      : entry.toPorts.some(
          (pr) =>
            plainL4(pr) && pr.ports.some((p) => (p.port === port || p.port === 0) && (p.protocol === 'ANY' || p.protocol === protocol)),
        );
  }
  const local = { kind: 'pod', namespace: ctx.namespace, labels: [], ip: null } as const;
  const flow = {
    source: ctx.direction === 'egress' ? local : remote,
    destination: ctx.direction === 'egress' ? remote : local,
    protocol,
    destPort: port,
    destNames: peer.category === 'Domains' ? [peer.domain.replace(/^\*\./, 'x.')] : null,
  };
  if (peerRuleMatches(entry, context, flow, EVALUATOR_OPTIONS).truth !== true) return false;
  // L7 other than every DNS name would restrict what the port carries.
  return (entry.toPorts ?? []).every((pr) => plainL4(pr) || !pr.ports.some((p) => p.port === port || p.port === 0));
}

/** A port rule without L7 restrictions (or with our every-name DNS rule). */
function plainL4(pr: PortRule): boolean {
  const rules = pr.rules;
  if (rules === undefined) return true;
  const keys = Object.keys(rules).filter((k) => (rules as Record<string, unknown>)[k] !== undefined);
  return keys.length === 1 && keys[0] === 'dns' && (rules.dns ?? []).some(matchesEveryName);
}

/** Does a CIDR entry of the rule hold the whole class, with no `except` cutting into it? */
function cidrSetCovers(entry: PeerRule, peer: Peer): boolean {
  const wanted = cidrSet(peer);
  const entries = [
    ...(entry.cidr ?? []).map((cidr) => ({ cidr, except: [] as readonly string[] })),
    ...(entry.cidrSet ?? []).flatMap((c) => ('cidr' in c ? [c] : [])),
  ];
  return wanted.every((w) => {
    const inner = parseCidr(w.cidr)!;
    const innerExcepts = (w.except ?? []).map((e) => parseCidr(e)!);
    return entries.some((e) => {
      const outer = parseCidr(e.cidr);
      if (outer === null || !cidrContains(outer, inner)) return false;
      // Each of the rule's excepts must lie within an address the class leaves out anyway.
      return e.except.every((x) => {
        const ex = parseCidr(x);
        return ex !== null && (innerExcepts.some((ie) => cidrContains(ie, ex)) || !overlaps(inner, ex));
      });
    });
  });
}

function overlaps(a: NonNullable<ReturnType<typeof parseCidr>>, b: NonNullable<ReturnType<typeof parseCidr>>): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}
