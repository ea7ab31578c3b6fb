// The engine's vocabulary. An *atom* is the smallest thing a rule can allow: one direction, one
// remote peer, one protocol, one port. Flows are aggregated into atoms with their evidence; rules
// are groups of atoms; policies are ordered rules. Everything here is plain, comparable data.

import { compareProtocols, type Protocol } from '../calico/protocol.ts';
import type { Labels } from '../calico/selector.ts';

export type Direction = 'ingress' | 'egress';
export const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

/** Calico's rule categories, in the order their rules appear in a policy. */
export type Category = 'Domains' | 'Service' | 'Namespace' | 'NetworkSet' | 'Entity' | 'Nets' | 'Private' | 'Public';
export const CATEGORY_ORDER: readonly Category[] = ['Domains', 'Service', 'Namespace', 'NetworkSet', 'Entity', 'Nets', 'Private', 'Public'];

/**
 * In-cluster ends that are no pod, as Cilium names them (its reserved identities,
 * pkg/identity/numericidentity.go): learned as peers only for the cilium flavour
 * (LearnContext.entities); Calico's flow logs call nodes host endpoints, which are not learned.
 */
export type PeerEntity = 'host' | 'remote-node' | 'kube-apiserver' | 'health' | 'ingress' | 'unmanaged';

export type Peer =
  | { readonly category: 'Domains'; readonly domain: string }
  | { readonly category: 'Service'; readonly name: string; readonly namespace: string }
  /**
   * Pods in a namespace: all of them, or (microsegmentation) those of one workload, selected by its
   * stable labels (`pods`).
   */
  | { readonly category: 'Namespace'; readonly namespace: string; readonly pods?: Labels }
  /**
   * namespace null = a GlobalNetworkSet. `labels`: the set's own labels as a flow record carried
   * them, when it did (rules select a set by its labels; see flavors/network-sets.ts).
   */
  | { readonly category: 'NetworkSet'; readonly name: string; readonly namespace: string | null; readonly labels?: Labels }
  /** A node, the API server, or another of Cilium's in-cluster entities (see PeerEntity). */
  | { readonly category: 'Entity'; readonly entity: PeerEntity }
  /**
   * The addresses of these nets (masked CIDRs, IPv4 and IPv6 alike): how the flavours without
   * network sets (kubernetes, cilium) write a set whose nets are known (flavors/set-addresses.ts).
   * Never learned from flows.
   */
  | { readonly category: 'Nets'; readonly nets: readonly string[] }
  /** What Felix reports as `pvt`: RFC 1918 (IPv4 only); with ipv6 the IPv6 unique-local range (an address known to be in it). */
  | { readonly category: 'Private'; readonly ipv6?: true }
  /**
   * What Felix reports as `pub`: an IPv4 address outside RFC 1918, or (ipv6) any IPv6 address
   * (felix/collector/types/endpoint/endpoint.go getSubnetType checks only the IPv4 private ranges).
   */
  | { readonly category: 'Public'; readonly ipv6?: true };

export interface Atom {
  readonly direction: Direction;
  readonly peer: Peer;
  readonly protocol: Protocol;
  /** Null for protocols without ports (ICMP), or when the flow log did not report one. */
  readonly port: number | null;
}

/** Which kinds of remote address were seen (used to approximate network sets in Kubernetes policy). */
export const SAW_PRIVATE_IP = 1;
export const SAW_PUBLIC_IP = 2;
export const SAW_NO_IP = 4;
export const SAW_PRIVATE_IPV6 = 8;
export const SAW_PUBLIC_IPV6 = 16;

export interface Evidence {
  flows: number;
  /** Unix seconds. */
  firstSeen: number;
  lastSeen: number;
  /** Bit set of SAW_* flags. */
  remoteIps: number;
}

export interface ObservedAtom {
  readonly atom: Atom;
  readonly evidence: Evidence;
  /** Domains the traffic was known by, when the flavour cannot write domain rules (open-source Calico). */
  readonly domains?: readonly string[];
}

/** A workload endpoint as a flow record names it: its aggregated pod-name prefix and its labels. */
/** The controllers whose pods are a workload (microsegmentation's unit). */
export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'CronJob' | 'Job';
export const WORKLOAD_KINDS: readonly WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job'];

export interface EndpointRef {
  readonly namespace: string;
  /** `customer-6b687c8dcb-*` (aggregated), a pod name, or `-` when the log does not say. */
  readonly name: string;
  /** `key=value` as in the record, sorted; only the labels common to the aggregated pods. */
  readonly labels: readonly string[];
  /**
   * The controller that owns the pods when the source names it (Hubble's `workloads`): taken over
   * inferring it from names and labels, which Cilium's label filter leaves too few of.
   */
  readonly workload?: { readonly kind: WorkloadKind; readonly name: string };
}

/**
 * An atom as seen by one endpoint (microsegmentation): which endpoint reported it and, when the
 * remote end is a workload, which one. Workloads are attributed at plan time (see ./workloads.ts).
 */
export interface EndpointObservation extends ObservedAtom {
  readonly local: EndpointRef;
  /** The remote workload endpoint; null when the remote end is not a workload. */
  readonly remote: EndpointRef | null;
}

/**
 * Allowed traffic between a namespace's workload and a host endpoint (a node's address: NodePort
 * traffic SNATed to the node, host-networked agents). It is not learned (no stable peer), but a
 * policy would decide it: its PRs show what they would deny of it, and enforcement waits for it.
 */
export interface HostEndpointObservation {
  readonly direction: Direction;
  /** The workload end, as the record named it. */
  readonly local: EndpointRef;
  /** The host endpoint: its name (the node) and labels as the record carried them. */
  readonly host: { readonly name: string; readonly labels: readonly string[] };
  readonly protocol: Protocol;
  readonly port: number | null;
  readonly evidence: Evidence;
}

export function endpointKey(e: EndpointRef): string {
  const key = `${e.namespace}/${e.name}/${e.labels.join(',')}`;
  return e.workload === undefined ? key : `${key}/${e.workload.kind}/${e.workload.name}`;
}

/** A stable, human-readable identity of a peer; also used in annotations. */
export function peerKey(peer: Peer): string {
  switch (peer.category) {
    case 'Domains':
      return `domain:${peer.domain}`;
    case 'Service':
      return `service:${peer.namespace}/${peer.name}`;
    case 'Namespace':
      return peer.pods === undefined ? `namespace:${peer.namespace}` : `pods:${peer.namespace}/${labelsText(peer.pods)}`;
    case 'NetworkSet':
      return peer.namespace === null ? `globalnetworkset:${peer.name}` : `networkset:${peer.namespace}/${peer.name}`;
    case 'Entity':
      return `entity:${peer.entity}`;
    case 'Nets':
      return `nets:${peer.nets.join(',')}`;
    case 'Private':
      return peer.ipv6 ? 'private-ipv6' : 'private';
    case 'Public':
      return peer.ipv6 ? 'public-ipv6' : 'public';
  }
}

/** Labels as `k=v,k=v`, sorted by key (keys and values cannot contain `,` or `=`). */
function labelsText(labels: Labels): string {
  return Object.keys(labels)
    .sort(compareStrings)
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

export function atomKey(atom: Atom): string {
  return `${atom.direction} ${peerKey(atom.peer)} ${atom.protocol} ${atom.port ?? '*'}`;
}

export function categoryRank(category: Category): number {
  return CATEGORY_ORDER.indexOf(category);
}

/** Deterministic order of atoms: direction, category, protocol, port, peer. */
export function compareAtoms(a: Atom, b: Atom): number {
  if (a.direction !== b.direction) return a.direction === 'ingress' ? -1 : 1;
  return (
    categoryRank(a.peer.category) - categoryRank(b.peer.category) ||
    compareProtocols(a.protocol, b.protocol) ||
    (a.port ?? -1) - (b.port ?? -1) ||
    compareStrings(peerKey(a.peer), peerKey(b.peer))
  );
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function mergeEvidence(into: Evidence, from: Evidence): void {
  into.flows += from.flows;
  into.firstSeen = Math.min(into.firstSeen, from.firstSeen);
  into.lastSeen = Math.max(into.lastSeen, from.lastSeen);
  into.remoteIps |= from.remoteIps;
}
