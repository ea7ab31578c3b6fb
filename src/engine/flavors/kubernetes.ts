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
  type KubernetesEgressRule,
  type KubernetesIngressRule,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
} from '../../calico/types.ts';
import type { IpFamily } from '../../config/recommendation-config.ts';
import { compileKubernetesRule } from '../../simulate/policy-set.ts';
import { deepEqual, hasOnlyKeys, isPlainObject, type PlainObject } from '../../util/plain.ts';
import { publicPeers } from '../learn.ts';
import {
  type Category,
  categoryRank,
  compareStrings,
  DIRECTIONS,
  type ObservedAtom,
  type Peer,
  peerKey,
  SAW_NO_IP,
  SAW_PRIVATE_IP,
  SAW_PRIVATE_IPV6,
  SAW_PUBLIC_IP,
  SAW_PUBLIC_IPV6,
} from '../model.ts';
import { namespacePolicyName } from '../naming.ts';
import { NO_NETWORK_SETS } from '../network-sets.ts';
import { ANNOTATIONS } from '../provenance.ts';
import { describePeers } from './describe-peer.ts';
import { NEW_FILE_ORIGIN, type PolicyFlavor, type RuleContext, type RuleIdentity, type RuleSummary } from './flavor.ts';
import { ruleInterpreter } from './rule-decides.ts';

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
}

export function kubernetesFlavor({ ipFamilies = ['IPv4'] }: KubernetesFlavorOptions = {}): PolicyFlavor {
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
    newFileComment: `${NEW_FILE_ORIGIN}\n Staged: Calico reports what it would deny without denying anything. Comments and edits survive updates.`,
    typesKey: 'policyTypes',
    // StagedKubernetesNetworkPolicy and NetworkPolicy bound neither direction's rules.
    maxRulesPerDirection: null,

    skeleton({ namespace, workload }, tier, metadata) {
      // Kubernetes policies are a union of allows: a per-workload policy cannot narrow what the
      // namespace's policy allows (there is no Pass), so there is no microsegmentation here; the
      // configuration rejects it (see recommendation-config.ts).
      if (workload !== undefined) throw new Error('the kubernetes flavour writes no per-workload policies');
      return {
        apiVersion: CALICO_API_VERSION,
        kind: this.kind,
        metadata: { name: namespacePolicyName('kubernetes', tier, namespace, CURRENT_CALICO_RELEASE), namespace, ...metadata },
        // Set: merging the file is accepting the recommendation. policyTypes is always written: a
        // staged Kubernetes policy without it is Ingress only (nothing defaults it, unlike the
        // Kubernetes API server: libcalico-go/lib/clientv3/stagedkubernetesnetworkpolicy.go).
        spec: { stagedAction: 'Set', podSelector: {} },
      };
    },

    /** Rule provenance, keyed by direction and peers: `{"egress namespace:kube-system": {...}}`. */
    finish(policy, previous, now) {
      const metadata = policy['metadata'] as PlainObject;
      const annotations = { ...((metadata['annotations'] as Record<string, string> | undefined) ?? {}) };
      const recorded = parseRecord(annotations[ANNOTATIONS.rules]);
      const entries: Record<string, unknown> = {};
      for (const direction of DIRECTIONS) {
        const rules = (policy['spec'] as PlainObject)[direction];
        const before = previous === null ? [] : ((previous['spec'] as PlainObject | undefined)?.[direction] ?? []);
        if (!Array.isArray(rules)) continue;
        for (const rule of rules) {
          const shape = readShape(rule, direction === 'egress' ? 'to' : 'from');
          if (shape === null) continue;
          const key = ruleKey(direction, shape.peers);
          // Ours if we recorded it before, or if it was not there before this run (we wrote it).
          if (recorded[key] !== undefined) entries[key] = recorded[key];
          else if (!(Array.isArray(before) && before.some((old) => deepEqual(old, rule)))) {
            entries[key] = { category: shape.category, firstAdded: now };
          }
        }
      }
      const sorted = Object.fromEntries(
        Object.keys(entries)
          .sort(compareStrings)
          .map((k) => [k, entries[k]]),
      );
      if (Object.keys(sorted).length === 0) delete annotations[ANNOTATIONS.rules];
      else annotations[ANNOTATIONS.rules] = JSON.stringify(sorted, null, 2);
      return { ...policy, metadata: { ...metadata, annotations } };
    },

    adapt(observed) {
      const { atom, evidence } = observed;
      switch (atom.peer.category) {
        case 'Domains':
          return publicAtoms(observed, [atom.peer.domain]);
        case 'Service':
          return publicAtoms(observed);
        case 'NetworkSet':
          // Kubernetes policy cannot select a network set: the classes of addresses it was seen at.
          return setAddressPeers(evidence.remoteIps, ipFamilies).map((peer) => ({ ...observed, atom: { ...atom, peer } }));
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
          const where = setAddressPeers(evidence.remoteIps, ipFamilies).map(describeAddressPeer).join(' and ');
          notes.push(`${peerKey(atom.peer)} (${traffic}) is allowed to ${where}: Kubernetes policy cannot select a network set`);
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
    matches: ruleInterpreter({ compile: compileKubernetesRule, ipFamilies, networkSets: NO_NETWORK_SETS }),

    identify(rule, ctx): RuleIdentity | null {
      const shape = readShape(rule, peersField(ctx));
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
      return isPlainObject(rule) && Array.isArray(rule['ports']) && portEntry(observed.atom.protocol, observed.atom.port) !== null;
    },

    extend(rule, observed) {
      const copy = structuredClone(rule) as PlainObject;
      copy['ports'] = sortPorts([...(copy['ports'] as PortEntry[]), portEntry(observed.atom.protocol, observed.atom.port)!]);
      return copy;
    },

    render(atoms, ctx) {
      const peer = atoms[0]!.atom.peer;
      const entries = atoms.map((o) => portEntry(o.atom.protocol, o.atom.port));
      return [ruleObject(ctx, renderPeers(peer), entries.includes(null) ? null : sortPorts(entries as PortEntry[]))];
    },

    contract(rules, ctx) {
      const shapes = rules.map((r) => readShape(r, peersField(ctx))!);
      const names = [...new Set(shapes.flatMap((s) => s.peers.map((p) => (p as { namespace: string }).namespace)))].sort(compareStrings);
      return [
        ruleObject(
          ctx,
          names.flatMap((namespace) => renderPeers({ category: 'Namespace', namespace })!),
          shapes[0]!.ports,
        ),
      ];
    },

    // Our public rules of earlier releases allowed any address: one rule per family for what
    // Felix reports as public instead.
    reconcile(rule, ctx) {
      const shape = readShape(rule, peersField(ctx));
      if (shape?.legacy !== true) return [rule];
      return publicPeers(ipFamilies).map((peer) => ruleObject(ctx, renderPeers(peer), shape.ports));
    },
    annotate: (rule) => rule,
    // Kubernetes policies only allow.
    allowsOnly: () => true,

    ownRuleKeys(policy) {
      const metadata = policy['metadata'];
      const annotations = isPlainObject(metadata) && isPlainObject(metadata['annotations']) ? metadata['annotations'] : {};
      const text = annotations[ANNOTATIONS.rules];
      return new Set(Object.keys(parseRecord(typeof text === 'string' ? text : undefined)));
    },

    describe(rule, ctx): RuleSummary {
      const shape = readShape(rule, peersField(ctx));
      const ports = shape?.ports ?? (isPlainObject(rule) && Array.isArray(rule['ports']) ? (rule['ports'] as PortEntry[]) : null);
      return {
        action: 'Allow',
        category: shape?.category ?? 'Custom',
        peers: shape ? shape.peers.map(peerKey) : [JSON.stringify(isPlainObject(rule) ? (rule[peersField(ctx)] ?? 'any') : rule)],
        remote:
          shape === null
            ? `a rule of its own: ${JSON.stringify(isPlainObject(rule) ? (rule[peersField(ctx)] ?? 'any peer') : rule)}`
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

/** How a rule is named in the provenance annotation: direction and peers. */
function ruleKey(direction: string, peers: readonly Peer[]): string {
  return `${direction} ${peers.map(peerKey).join(', ')}`;
}

/** Kubernetes peers for a peer the flavour can express (after adapt); null = any peer. */
function renderPeers(peer: Peer): NetworkPolicyPeer[] | null {
  switch (peer.category) {
    case 'Namespace':
      return [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: peer.namespace } } }];
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

/** The address peers standing for a network set seen at these addresses (SAW_* bits). */
export function setAddressPeers(seen: number, families: readonly IpFamily[]): Peer[] {
  const peers: Peer[] = [];
  const unknown = (seen & SAW_NO_IP) !== 0 || seen === 0;
  if (unknown || seen & SAW_PRIVATE_IP) peers.push({ category: 'Private' });
  if (unknown || seen & SAW_PUBLIC_IP) peers.push({ category: 'Public' });
  if ((unknown && families.includes('IPv6')) || seen & SAW_PUBLIC_IPV6) peers.push({ category: 'Public', ipv6: true });
  else if (seen & SAW_PRIVATE_IPV6) peers.push({ category: 'Private', ipv6: true });
  return peers;
}

function describeAddressPeer(peer: Peer): string {
  if (peer.category === 'Private') return peer.ipv6 ? `${PRIVATE_NETS_V6.join(', ')}` : `the private ranges (${PRIVATE_NETS.join(', ')})`;
  if (peer.category === 'Public') return peer.ipv6 ? 'any IPv6 address' : `any public IPv4 address (outside ${PRIVATE_NETS.join(', ')})`;
  return peerKey(peer);
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

function ruleObject(
  ctx: RuleContext,
  peers: NetworkPolicyPeer[] | null,
  ports: readonly PortEntry[] | null,
): KubernetesIngressRule | KubernetesEgressRule {
  const portList = ports === null ? {} : { ports: ports.map((p) => ({ ...p })) };
  if (peers === null) return portList;
  return ctx.direction === 'egress' ? { to: peers, ...portList } : { from: peers, ...portList };
}

function readShape(rule: unknown, field: 'to' | 'from'): KubernetesShape | null {
  if (!isPlainObject(rule) || !hasOnlyKeys(rule, [field, 'ports'])) return null;
  const ports = rule['ports'] === undefined ? null : readPorts(rule['ports']);
  if (ports === undefined) return null;
  const peers = rule[field];
  // Any address: what earlier releases wrote for public traffic.
  if (peers === undefined || (Array.isArray(peers) && peers.length === 0))
    return { category: 'Public', peers: [{ category: 'Public' }], ports, legacy: true };
  if (!Array.isArray(peers)) return null;
  if (peers.length === 1 && isPlainObject(peers[0]) && hasOnlyKeys(peers[0], ['ipBlock'])) {
    const rendered = (peer: Peer) => deepEqual(renderPeers(peer), peers);
    for (const peer of [{ category: 'Public' }, { category: 'Public', ipv6: true }] as const) {
      if (rendered(peer)) return { category: 'Public', peers: [peer], ports };
    }
  }
  const cidrs = peers.map((p) =>
    isPlainObject(p) && hasOnlyKeys(p, ['ipBlock']) && isPlainObject(p['ipBlock']) && hasOnlyKeys(p['ipBlock'], ['cidr'])
      ? p['ipBlock']['cidr']
      : null,
  );
  for (const [nets, peer] of [
    [PRIVATE_NETS, { category: 'Private' }],
    [PRIVATE_NETS_V6, { category: 'Private', ipv6: true }],
  ] as const) {
    if (cidrs.length === nets.length && nets.every((n) => cidrs.includes(n))) return { category: 'Private', peers: [peer], ports };
  }
  const names = peers.map(namespaceOnlyPeer);
  if (names.every((n): n is string => n !== null)) {
    return { category: 'Namespace', peers: names.map((namespace) => ({ category: 'Namespace', namespace })), ports };
  }
  return null;
}

function namespaceOnlyPeer(peer: unknown): string | null {
  if (!isPlainObject(peer) || !hasOnlyKeys(peer, ['namespaceSelector'])) return null;
  const selector = peer['namespaceSelector'];
  if (!isPlainObject(selector) || !hasOnlyKeys(selector, ['matchLabels']) || !isPlainObject(selector['matchLabels'])) return null;
  const labels = selector['matchLabels'];
  const name = labels[NAMESPACE_NAME_LABEL];
  return Object.keys(labels).length === 1 && typeof name === 'string' ? name : null;
}

/** undefined: not a port list we understand. */
function readPorts(value: unknown): PortEntry[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: PortEntry[] = [];
  for (const p of value) {
    if (!isPlainObject(p) || !hasOnlyKeys(p, ['protocol', 'port'])) return undefined;
    const protocol = p['protocol'] ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') return undefined;
    if (p['port'] !== undefined && typeof p['port'] !== 'number') return undefined;
    out.push(p['port'] === undefined ? { protocol } : { protocol, port: p['port'] as number });
  }
  return out;
}

function parseRecord(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const value: unknown = JSON.parse(text);
    return isPlainObject(value) ? value : {};
  } catch {
    return {};
  }
}
