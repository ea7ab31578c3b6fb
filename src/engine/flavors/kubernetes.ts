// The `kubernetes` flavour: networking.k8s.io/v1 NetworkPolicy, for clusters without Calico's
// policy API. Kubernetes policy cannot name domains, services or network sets, nor match ICMP;
// those are approximated in the least permissive way that still allows the observed traffic,
// and every approximation is reported. Rules cannot carry annotations, so rule provenance lives
// in one policy annotation.

import { ALL_IPV4, ALL_IPV6, PRIVATE_NETS, PRIVATE_NETS_V6 } from '../../calico/nets.ts';
import { compareProtocols, type Protocol, protocolHasPorts, protocolName } from '../../calico/protocol.ts';
import { CURRENT_CALICO_RELEASE } from '../../calico/release.ts';
import {
  CALICO_API_VERSION,
  KUBERNETES_NETWORKING_API_VERSION,
  type KubernetesRule,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  parseKubernetesRule,
  type StagedKubernetesNetworkPolicy,
} from '../../calico/types.ts';
import type { IpFamily } from '../../config/recommendation-config.ts';
import { compileKubernetesRule } from '../../simulate/policy-set.ts';
import { deepEqual, hasOnlyKeys, isPlainObject } from '../../util/plain.ts';
import { stagedNote } from '../enforce.ts';
import { publicPeers } from '../learn.ts';
import { type Category, categoryRank, compareStrings, type ObservedAtom, type Peer, peerKey } from '../model.ts';
import { namespacePolicyName } from '../naming.ts';
import { type NetworkSetDirectory, NO_NETWORK_SETS } from '../network-sets.ts';
import { describePeers } from './describe-peer.ts';
import { madeRule, NEW_FILE_ORIGIN, type PolicyFlavor, type RuleContext, type RuleIdentity, type RuleSummary } from './flavor.ts';
import { recordedRuleKeys, ruleKey, withRuleRecord } from './provenance-annotation.ts';
import { ruleInterpreter } from './rule-decides.ts';
import { describeAddressPeer, readNetsPeer, setAddressTarget } from './set-addresses.ts';

const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
/** The port entries we write: a protocol always, a number when known (no names, no ranges). */
type PortEntry = Required<Pick<NetworkPolicyPort, 'protocol'>> & { port?: number };

interface KubernetesShape {
  readonly category: Category;
  readonly peers: readonly Peer[];
  /** Null: the rule has no ports (any protocol, any port). */
  readonly ports: readonly PortEntry[] | null;
  /** The form of an earlier release that allows more than its label (public: any address). */
  readonly legacy?: true;
}

export interface KubernetesFlavorOptions {
  /** Where a flow record gives no address, public traffic is public in each of these. */
  readonly ipFamilies?: readonly IpFamily[];
  /** What is known of network sets: a set whose nets are known is allowed exactly at them. */
  readonly networkSets?: NetworkSetDirectory;
}

export function kubernetesFlavor({
  ipFamilies = ['IPv4'],
  networkSets = NO_NETWORK_SETS,
}: KubernetesFlavorOptions = {}): PolicyFlavor<KubernetesRule> {
  const peersField = (ctx: { direction: string }) => (ctx.direction === 'egress' ? 'to' : 'from');
  const publicAtoms = (observed: ObservedAtom, domains?: readonly string[]): ObservedAtom[] =>
    publicPeers(ipFamilies).map((peer) => ({ ...observed, atom: { ...observed.atom, peer }, ...(domains ? { domains } : {}) }));

  return {
    name: 'kubernetes',
    // Calico's staged form of a Kubernetes NetworkPolicy: Calico reports what it would deny and
    // denies nothing; the enforce PR turns it into the networking.k8s.io/v1 NetworkPolicy.
    kind: 'StagedKubernetesNetworkPolicy',
    staged: true,
    enforced: { apiVersion: KUBERNETES_NETWORKING_API_VERSION, kind: 'NetworkPolicy' },
    newFileComment: `${NEW_FILE_ORIGIN}\n${stagedNote('StagedKubernetesNetworkPolicy')} Comments and edits survive updates.`,
    typesKey: 'policyTypes',
    // StagedKubernetesNetworkPolicy and NetworkPolicy bound neither direction's rules.
    maxRulesPerDirection: null,

    skeleton({ namespace, workload }, tier, metadata) {
      // Kubernetes policies are a union of allows: a per-workload policy cannot narrow what the
      // namespace's policy allows (there is no Pass), so there is no microsegmentation here; the
      // configuration rejects it (see recommendation-config.ts).
      if (workload !== undefined) throw new Error('the kubernetes flavour writes no per-workload policies');
      const policy: StagedKubernetesNetworkPolicy = {
        apiVersion: CALICO_API_VERSION,
        kind: 'StagedKubernetesNetworkPolicy',
        metadata: { name: namespacePolicyName('kubernetes', tier, namespace, CURRENT_CALICO_RELEASE), namespace, ...metadata },
        // Set: merging the file is accepting the recommendation. policyTypes is always written: a
        // staged Kubernetes policy without it is Ingress only (nothing defaults it, unlike the
        // Kubernetes API server: libcalico-go/lib/clientv3/stagedkubernetesnetworkpolicy.go).
        spec: { stagedAction: 'Set', podSelector: {} },
      };
      return policy;
    },

    /** Rule provenance, keyed by direction and peers: `{"egress namespace:kube-system": {...}}`. */
    finish(policy, previous, now) {
      return withRuleRecord(policy, previous, now, (rule, direction) => {
        const typed = parseKubernetesRule(rule);
        return typed === null ? null : readShape(typed, direction === 'egress' ? 'to' : 'from');
      });
    },

    parse: (raw) => ({ raw, typed: parseKubernetesRule(raw) }),

    adapt(observed) {
      const { atom, evidence } = observed;
      switch (atom.peer.category) {
        case 'Domains':
          return publicAtoms(observed, [atom.peer.domain]);
        case 'Service':
          return publicAtoms(observed);
        case 'NetworkSet':
          // Kubernetes policy cannot select a network set: its nets, else the classes of addresses it was seen at.
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
      const traffic = `${protocolName(atom.protocol)}${atom.port === null ? '' : ` ${atom.port}`}`;
      const notes: string[] = [];
      switch (atom.peer.category) {
        case 'Domains':
          notes.push(
            `egress to ${atom.peer.domain} (${traffic}) is allowed to ${publicPeers(ipFamilies).map(describeAddressPeer).join(' and ')}: Kubernetes policy cannot name domains`,
          );
          break;
        case 'Service':
          notes.push(
            `egress to service ${atom.peer.namespace}/${atom.peer.name} (${traffic}) is allowed to ${publicPeers(ipFamilies).map(describeAddressPeer).join(' and ')}: Kubernetes policy cannot name services`,
          );
          break;
        case 'NetworkSet': {
          const { allows } = setAddressTarget(atom.peer, evidence.remoteIps, networkSets, ipFamilies);
          notes.push(`${peerKey(atom.peer)} (${traffic}) is allowed to ${allows}: Kubernetes policy cannot select a network set`);
          break;
        }
      }
      if (!protocolHasPorts(atom.protocol)) {
        notes.push(
          `${protocolName(atom.protocol)} to ${peerKey(atom.peer)} is allowed as all traffic to that peer: Kubernetes policy matches only TCP, UDP and SCTP`,
        );
      } else if (atom.port === null) {
        notes.push(`${protocolName(atom.protocol)} to ${peerKey(atom.peer)} is allowed on every port: the flow logs did not report one`);
      } else if (atom.port === 0) {
        notes.push(
          `${protocolName(atom.protocol)} to ${peerKey(atom.peer)} on port 0 is allowed on every port: Kubernetes policy cannot name port 0`,
        );
      }
      return notes.length > 0 ? notes.join('; ') : null;
    },

    // Through Calico's conversion of the rule (simulate/kubernetes-policy.ts) and the one interpreter.
    ...ruleInterpreter({ compile: compileKubernetesRule, ipFamilies, networkSets: NO_NETWORK_SETS }),

    identify(rule, ctx): RuleIdentity | null {
      const shape = rule.typed === null ? null : readShape(rule.typed, peersField(ctx));
      if (shape === null) return null;
      const peersKey = shape.peers.map(peerKey).join(', ');
      return {
        category: shape.category,
        peers: shape.peers,
        extendKey: shape.ports === null || shape.peers.length !== 1 ? null : `${peersKey}|ports`,
        contractKey: shape.category === 'Namespace' && shape.ports !== null ? `Namespace|${JSON.stringify(shape.ports)}` : null,
        sortKey: [categoryRank(shape.category), peersKey, JSON.stringify(shape.ports)],
        ours: ctx.ownRuleKeys?.has(ruleKey(ctx.direction, shape.peers)) === true,
      };
    },

    extendKey(observed) {
      const { atom } = observed;
      return `${peerKey(atom.peer)}|${portEntry(atom.protocol, atom.port) === null ? 'all' : 'ports'}`;
    },

    canExtend(rule, observed) {
      return rule.typed?.ports !== undefined && portEntry(observed.atom.protocol, observed.atom.port) !== null;
    },

    extend(rule, observed) {
      // Only our shapes are extended (identify, canExtend): the rule has the type, its ports are PortEntry.
      const copy = structuredClone(rule.typed!);
      copy.ports = sortPorts([...(copy.ports as PortEntry[]), portEntry(observed.atom.protocol, observed.atom.port)!]);
      return madeRule(copy);
    },

    render(atoms, ctx) {
      const peer = atoms[0]!.atom.peer;
      const entries = atoms.map((o) => portEntry(o.atom.protocol, o.atom.port));
      return [madeRule(ruleObject(ctx, renderPeers(peer), entries.includes(null) ? null : sortPorts(entries as PortEntry[])))];
    },

    contract(rules, ctx) {
      const shapes = rules.map((r) => readShape(r.typed!, peersField(ctx))!);
      const names = [...new Set(shapes.flatMap((s) => s.peers.map((p) => (p as { namespace: string }).namespace)))].sort(compareStrings);
      return [
        madeRule(
          ruleObject(
            ctx,
            names.flatMap((namespace) => renderPeers({ category: 'Namespace', namespace })!),
            shapes[0]!.ports,
          ),
        ),
      ];
    },

    // Our public rules of earlier releases allowed any address: one rule per family for what
    // Felix reports as public instead.
    reconcile(rule, ctx) {
      const shape = rule.typed === null ? null : readShape(rule.typed, peersField(ctx));
      if (shape?.legacy !== true) return [rule];
      return publicPeers(ipFamilies).map((peer) => madeRule(ruleObject(ctx, renderPeers(peer), shape.ports)));
    },
    annotate: (rule) => rule,
    // Kubernetes policies only allow.
    allowsOnly: () => true,

    ownRuleKeys: recordedRuleKeys,

    describe(rule, ctx): RuleSummary {
      const shape = rule.typed === null ? null : readShape(rule.typed, peersField(ctx));
      // A rule that is none of our shapes is described as written (it may not have the type).
      const { raw } = rule;
      const ports = shape?.ports ?? (isPlainObject(raw) && Array.isArray(raw['ports']) ? (raw['ports'] as PortEntry[]) : null);
      return {
        action: 'Allow',
        category: shape?.category ?? 'Custom',
        peers: shape ? shape.peers.map(peerKey) : [JSON.stringify(isPlainObject(raw) ? (raw[peersField(ctx)] ?? 'any') : raw)],
        remote:
          shape === null
            ? `a rule of its own: ${JSON.stringify(isPlainObject(raw) ? (raw[peersField(ctx)] ?? 'any peer') : raw)}`
            : shape.legacy
              ? 'any address (a rule of an earlier release)'
              : describePeers(shape.peers),
        protocol: ports === null ? 'any' : [...new Set(ports.map((p) => p.protocol ?? 'TCP'))].join(', '),
        ports: ports === null ? [] : ports.map((p) => `${p.protocol ?? 'TCP'}/${p.port ?? 'any'}`),
        firstAdded: null,
      };
    },
  };
}

/** Kubernetes peers for a peer the flavour can express (after adapt); null = any peer. */
function renderPeers(peer: Peer): NetworkPolicyPeer[] | null {
  switch (peer.category) {
    case 'Namespace':
      return [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: peer.namespace } } }];
    case 'Nets':
      // One peer per net: Calico converts each ipBlock peer to a rule of its own with `nets: [cidr]`
      // (libcalico-go/lib/backend/k8s/conversion/conversion.go k8sRuleToCalico, k8sPeerToCalicoFields,
      // release-v3.30 to main), so neither MAX_NETS nor one IP family per rule constrains the list.
      return peer.nets.map((cidr) => ({ ipBlock: { cidr } }));
    case 'Private':
      return (peer.ipv6 ? PRIVATE_NETS_V6 : PRIVATE_NETS).map((cidr) => ({ ipBlock: { cidr } }));
    case 'Public':
      // What Felix reports as public (felix/collector/types/endpoint/endpoint.go): IPv4 outside
      // RFC 1918, every IPv6 address. Calico converts `except` to notNets (conversion.go).
      return [peer.ipv6 ? { ipBlock: { cidr: ALL_IPV6 } } : { ipBlock: { cidr: ALL_IPV4, except: [...PRIVATE_NETS] } }];
    default:
      return null;
  }
}

/**
 * A NetworkPolicyPort for the traffic; one without `port` (every port of the protocol) when the port
 * is not known or is 0, which a NetworkPolicy cannot name (ports are 1-65535, ValidateNetworkPolicyPort
 * in kubernetes pkg/apis/networking/validation/validation.go).
 */
function portEntry(protocol: Protocol, port: number | null): PortEntry | null {
  if (!protocolHasPorts(protocol)) return null;
  const p = protocol as PortEntry['protocol'];
  return port === null || port === 0 ? { protocol: p } : { protocol: p, port };
}

function sortPorts(entries: readonly PortEntry[]): PortEntry[] {
  const unique = new Map(entries.map((e) => [`${e.protocol}/${e.port ?? ''}`, e]));
  return [...unique.values()].sort((a, b) => compareProtocols(a.protocol, b.protocol) || (a.port ?? -1) - (b.port ?? -1));
}

function ruleObject(ctx: RuleContext, peers: NetworkPolicyPeer[] | null, ports: readonly PortEntry[] | null): KubernetesRule {
  const portList = ports === null ? {} : { ports: ports.map((p) => ({ ...p })) };
  if (peers === null) return portList;
  return ctx.direction === 'egress' ? { to: peers, ...portList } : { from: peers, ...portList };
}

function readShape(rule: KubernetesRule, field: 'to' | 'from'): KubernetesShape | null {
  if (rule[field === 'to' ? 'from' : 'to'] !== undefined) return null;
  const ports = rule.ports === undefined ? null : readPorts(rule.ports);
  if (ports === undefined) return null;
  const peers = rule[field];
  // Any address: what earlier releases wrote for public traffic.
  if (peers === undefined || peers.length === 0) return { category: 'Public', peers: [{ category: 'Public' }], ports, legacy: true };
  if (peers.length === 1 && hasOnlyKeys(peers[0]!, ['ipBlock'])) {
    const rendered = (peer: Peer) => deepEqual(renderPeers(peer), peers);
    for (const peer of [{ category: 'Public' }, { category: 'Public', ipv6: true }] as const) {
      if (rendered(peer)) return { category: 'Public', peers: [peer], ports };
    }
  }
  const cidrs = peers.map((p) =>
    hasOnlyKeys(p, ['ipBlock']) && p.ipBlock !== undefined && hasOnlyKeys(p.ipBlock, ['cidr']) ? p.ipBlock.cidr : null,
  );
  for (const [nets, peer] of [
    [PRIVATE_NETS, { category: 'Private' }],
    [PRIVATE_NETS_V6, { category: 'Private', ipv6: true }],
  ] as const) {
    if (cidrs.length === nets.length && nets.every((n) => cidrs.includes(n))) return { category: 'Private', peers: [peer], ports };
  }
  const nets = readNetsPeer(cidrs);
  if (nets !== null) return { category: 'Nets', peers: [nets], ports };
  const names = peers.map(namespaceOnlyPeer);
  if (names.every((n): n is string => n !== null)) {
    return { category: 'Namespace', peers: names.map((namespace) => ({ category: 'Namespace', namespace })), ports };
  }
  return null;
}

function namespaceOnlyPeer(peer: NetworkPolicyPeer): string | null {
  const selector = peer.namespaceSelector;
  if (!hasOnlyKeys(peer, ['namespaceSelector']) || selector === undefined || !hasOnlyKeys(selector, ['matchLabels'])) return null;
  const labels = selector.matchLabels;
  const name = labels?.[NAMESPACE_NAME_LABEL];
  return labels !== undefined && Object.keys(labels).length === 1 && name !== undefined ? name : null;
}

/** undefined: not a port list we render (numbered ports, no ranges). */
function readPorts(value: readonly NetworkPolicyPort[]): PortEntry[] | undefined {
  const out: PortEntry[] = [];
  for (const { protocol = 'TCP', port, endPort } of value) {
    if (endPort !== undefined || (port !== undefined && typeof port !== 'number')) return undefined;
    out.push(port === undefined ? { protocol } : { protocol, port });
  }
  return out;
}
