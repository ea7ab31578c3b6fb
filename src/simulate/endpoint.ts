// What a flow record tells about one of its ends, as Calico's selectors and nets see it: the
// labels (the record's, which aggregation may have thinned, plus the ones Calico assigns), and
// what is known of the address (an IP, a range it lies in, or nothing).

import { cidrContains, parseCidr, PRIVATE_NETS, type Cidr } from '../calico/nets.ts';
import type { Labels, PartialLabels, SelectorNode, Truth } from '../calico/selector.ts';
import { KIND_LABEL, NAME_LABEL, NETWORK_SET_KIND } from '../engine/flavors/calico-shape.ts';
import { parseLabels } from '../engine/workloads.ts';
import type { EndpointType, FlowEndpoint } from '../flows/record.ts';
import type { PolicySet } from './policy-set.ts';

/** The fields of a flow end the simulator reads (a FlowRecord's ends have them). */
export type FlowEnd = Pick<FlowEndpoint, 'type' | 'name' | 'namespace' | 'labels' | 'ip'> & {
  /** For a `pvt` network without an IP: which family's private range (default: IPv4, RFC 1918). */
  readonly ipVersion?: 4 | 6;
};

export type Address =
  | { readonly kind: 'ip'; readonly ip: Cidr }
  /** Lies in one of these ranges (a private network, a known network set). */
  | { readonly kind: 'within'; readonly ranges: readonly Cidr[]; readonly what: string }
  /** `pub`: not in the private ranges. */
  | { readonly kind: 'public' }
  | { readonly kind: 'unknown'; readonly what: string };

export interface Endpoint {
  readonly type: EndpointType;
  readonly name: string;
  readonly namespace: string | null;
  /** Workloads, host endpoints and network sets: what Calico selectors can match. */
  readonly selectable: boolean;
  readonly labels: PartialLabels;
  /** True when the labels are exactly the endpoint's (a network set defined in the tree). */
  readonly labelsComplete: boolean;
  readonly address: Address;
  /** Results of label selectors on this endpoint, by selector. */
  readonly cache: Map<SelectorNode, Truth>;
  /** Results of namespace selectors on this endpoint's namespace, by selector. */
  readonly namespaceCache: Map<SelectorNode, Truth>;
}

export const NAMESPACE_LABEL = 'projectcalico.org/namespace';
export const ORCHESTRATOR_LABEL = 'projectcalico.org/orchestrator';
export const SERVICE_ACCOUNT_LABEL = 'projectcalico.org/serviceaccount';
/** Automatic host endpoints (calico-kube-controllers) carry this and the default-allow profile. */
export const CREATED_BY_LABEL = 'projectcalico.org/created-by';

const PRIVATE_V4 = PRIVATE_NETS.map((n) => parseCidr(n)!);
const ULA = [parseCidr('fc00::/7')!];
const ALL_V4 = parseCidr('0.0.0.0/0')!;
const ALL_V6 = parseCidr('::/0')!;

/**
 * Calico assigns the `projectcalico.org/` labels of a workload itself (namespace, orchestrator),
 * so their absence is certain; the service-account label may simply not be in the flow log.
 */
function workloadKnows(labels: Labels): (key: string) => boolean {
  return (key) => Object.hasOwn(labels, key) || (key.startsWith('projectcalico.org/') && key !== SERVICE_ACCOUNT_LABEL);
}

export function endpointOf(end: FlowEnd, set: PolicySet): Endpoint {
  const recorded = parseLabels(end.labels);
  const address = addressOf(end, set);
  const base = { type: end.type, name: end.name, namespace: end.namespace, address, cache: new Map(), namespaceCache: new Map() };
  switch (end.type) {
    case 'wep': {
      const labels = { ...recorded, [NAMESPACE_LABEL]: end.namespace ?? '', [ORCHESTRATOR_LABEL]: 'k8s' };
      return { ...base, selectable: true, labels: { labels, known: workloadKnows(labels) }, labelsComplete: false };
    }
    case 'hep':
      return {
        ...base,
        selectable: true,
        labels: { labels: recorded, known: (key) => Object.hasOwn(recorded, key) || key === NAMESPACE_LABEL || key === ORCHESTRATOR_LABEL },
        labelsComplete: false,
      };
    case 'ns': {
      const defined = set.networkSet(end.namespace, end.name);
      const implicit: Record<string, string> = { [NAME_LABEL]: end.name, [KIND_LABEL]: NETWORK_SET_KIND };
      if (end.namespace !== null) implicit[NAMESPACE_LABEL] = end.namespace;
      if (defined !== undefined) {
        return { ...base, selectable: true, labels: { labels: { ...defined.labels, ...implicit }, known: () => true }, labelsComplete: true };
      }
      const labels = { ...recorded, ...implicit };
      return {
        ...base,
        selectable: true,
        labels: { labels, known: (key) => Object.hasOwn(labels, key) || key.startsWith('projectcalico.org/') },
        labelsComplete: false,
      };
    }
    case 'net':
      return { ...base, selectable: false, labels: { labels: {}, known: () => true }, labelsComplete: true };
  }
}

function addressOf(end: FlowEnd, set: PolicySet): Address {
  if (end.ip !== null) {
    const ip = parseCidr(end.ip);
    if (ip !== null) return { kind: 'ip', ip };
  }
  switch (end.type) {
    case 'net':
      if (end.name === 'pvt') {
        return end.ipVersion === 6 ? { kind: 'within', ranges: ULA, what: 'a private IPv6 address' } : { kind: 'within', ranges: PRIVATE_V4, what: 'a private (RFC 1918) address' };
      }
      if (end.name === 'pub') return { kind: 'public' };
      return { kind: 'unknown', what: `the address of network ${end.name}` };
    case 'ns': {
      const defined = set.networkSet(end.namespace, end.name);
      return defined !== undefined && defined.nets.length > 0
        ? { kind: 'within', ranges: defined.nets, what: `an address of network set ${end.name}` }
        : { kind: 'unknown', what: `the address in network set ${end.name} (not defined in the tree)` };
    }
    case 'wep':
      return { kind: 'unknown', what: 'the pod IP (aggregated away in the flow log)' };
    case 'hep':
      return { kind: 'unknown', what: 'the host IP (not in the flow log)' };
  }
}

function overlaps(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

function isPrivate(cidr: Cidr): boolean {
  return (cidr.version === 4 ? PRIVATE_V4 : ULA).some((p) => cidrContains(p, cidr));
}

/**
 * Is the endpoint's address in one of `nets`? Certain when the IP is known, or when every range
 * the address may lie in is inside (or outside) the nets; otherwise unknown, with what is missing.
 */
export function addressIn(address: Address, nets: readonly Cidr[]): { truth: Truth; missing?: string } {
  const coversEverything = nets.some((n) => cidrContains(n, ALL_V4)) && nets.some((n) => cidrContains(n, ALL_V6));
  switch (address.kind) {
    case 'ip':
      return { truth: nets.some((n) => cidrContains(n, address.ip)) };
    case 'within':
      if (address.ranges.every((r) => nets.some((n) => cidrContains(n, r)))) return { truth: true };
      if (address.ranges.every((r) => !nets.some((n) => overlaps(n, r)))) return { truth: false };
      return { truth: 'unknown', missing: address.what };
    case 'public':
      if (coversEverything) return { truth: true };
      if (nets.every(isPrivate)) return { truth: false };
      return { truth: 'unknown', missing: 'the public address (not in the flow log)' };
    case 'unknown':
      return coversEverything ? { truth: true } : { truth: 'unknown', missing: address.what };
  }
}

/** The address's IP version, when known. */
export function ipVersionOf(address: Address): 4 | 6 | null {
  if (address.kind === 'ip') return address.ip.version;
  if (address.kind === 'within' && address.ranges.every((r) => r.version === address.ranges[0]!.version)) return address.ranges[0]!.version;
  return null;
}
