// What a flow record tells about one of its ends, as Calico's selectors and nets see it: the
// labels (the record's, which aggregation may have thinned, plus the ones Calico assigns), and
// what is known of the address (an IP, a range it lies in, or nothing).

import { NAMESPACE_LABEL, ORCHESTRATOR_LABEL, SERVICE_ACCOUNT_LABEL } from '../calico/labels.ts';
import { ALL_IPV4, ALL_IPV6, type Cidr, cidrContains, PRIVATE_NETS, parseCidr } from '../calico/nets.ts';
import type { Labels, PartialLabels, SelectorNode, Truth } from '../calico/selector.ts';
import { ownLabels } from '../engine/network-sets.ts';
import { parseLabels } from '../engine/workloads.ts';
import type { EndpointType, FlowEndpoint } from '../flows/record.ts';
import type { PolicySet } from './policy-set.ts';

/** The fields of a flow end the simulator reads (a FlowRecord's ends have them). */
export type FlowEnd = Pick<FlowEndpoint, 'type' | 'name' | 'namespace' | 'labels' | 'ip' | 'entity'> & {
  /** For a `pvt` or `pub` network without an IP: its family, when known (`pvt` defaults to IPv4, RFC 1918). */
  readonly ipVersion?: 4 | 6;
  /** For a network set without an IP: the class of the addresses it was seen at, when it was one (evidence of the observations). */
  readonly seenAt?: 'pub' | 'pvt';
};

export type Family = 4 | 6;

/** What an endpoint reads of the policy set: the network sets it defines (or the cluster has). */
export type NetworkSetSource = Pick<PolicySet, 'networkSet'>;

export type Address =
  | { readonly kind: 'ip'; readonly ip: Cidr }
  /** Lies in one of these ranges (a private network, a known network set). */
  | { readonly kind: 'within'; readonly ranges: readonly Cidr[]; readonly what: string }
  /**
   * `pub` (felix/collector/types/endpoint/endpoint.go getSubnetType): an IPv4 address outside
   * RFC 1918, or any IPv6 address, that is no endpoint's.
   */
  | { readonly kind: 'public'; readonly family?: Family }
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

/** Labels only Calico assigns (to workload endpoints): a network set never has them unless said so. */
const CALICO_ASSIGNED: ReadonlySet<string> = new Set([NAMESPACE_LABEL, ORCHESTRATOR_LABEL, SERVICE_ACCOUNT_LABEL]);

const PRIVATE_V4 = PRIVATE_NETS.map((n) => parseCidr(n)!);
const ULA = [parseCidr('fc00::/7')!];
const ALL: Readonly<Record<Family, Cidr>> = { 4: parseCidr(ALL_IPV4)!, 6: parseCidr(ALL_IPV6)! };

/**
 * Calico assigns the `projectcalico.org/` labels of a workload itself (namespace, orchestrator),
 * so their absence is certain; the service-account label may simply not be in the flow log.
 */
function workloadKnows(labels: Labels): (key: string) => boolean {
  return (key) => Object.hasOwn(labels, key) || (key.startsWith('projectcalico.org/') && key !== SERVICE_ACCOUNT_LABEL);
}

export function endpointOf(end: FlowEnd, set: NetworkSetSource): Endpoint {
  const recorded = parseLabels(end.labels);
  const address = addressOf(end, set);
  switch (end.type) {
    case 'wep':
      return workloadEndpoint(end.namespace ?? '', end.name, recorded, address);
    case 'hep':
      return {
        ...endpointBase(end.type, end.name, end.namespace, address),
        selectable: true,
        labels: { labels: recorded, known: (key) => Object.hasOwn(recorded, key) || key === NAMESPACE_LABEL || key === ORCHESTRATOR_LABEL },
        labelsComplete: false,
      };
    case 'ns': {
      const defined = set.networkSet(end.namespace, end.name);
      if (defined !== undefined) return networkSetEndpoint(end.name, end.namespace, ownLabels(defined.labels), address);
      // A record that carries a set's labels carries all of them; one without may just not include labels.
      const own = ownLabels(recorded);
      return networkSetEndpoint(end.name, end.namespace, Object.keys(own).length > 0 ? own : null, address);
    }
    case 'net':
      return networkEndpoint(end.name, address);
  }
}

function endpointBase(type: EndpointType, name: string, namespace: string | null, address: Address) {
  return { type, name, namespace, address, cache: new Map(), namespaceCache: new Map() };
}

/**
 * A pod of `namespace` whose labels are `recorded` (what is known of them) plus the ones Calico
 * assigns to every workload endpoint (libcalico-go/lib/backend/k8s/conversion/
 * workload_endpoint_default.go: namespace and orchestrator).
 */
export function workloadEndpoint(namespace: string, name: string, recorded: Labels, address: Address): Endpoint {
  const labels = { ...recorded, [NAMESPACE_LABEL]: namespace, [ORCHESTRATOR_LABEL]: 'k8s' };
  return {
    ...endpointBase('wep', name, namespace, address),
    selectable: true,
    labels: { labels, known: workloadKnows(labels) },
    labelsComplete: false,
  };
}

/**
 * A network set: its own labels (null: not known), plus the namespace label for a NetworkSet;
 * nothing else (see src/calico/labels.ts; no name or kind label in open-source Calico).
 */
export function networkSetEndpoint(name: string, namespace: string | null, own: Labels | null, address: Address): Endpoint {
  const implicit: Record<string, string> = namespace === null ? {} : { [NAMESPACE_LABEL]: namespace };
  const labels = { ...own, ...implicit };
  return {
    ...endpointBase('ns', name, namespace, address),
    selectable: true,
    labels: { labels, known: own !== null ? () => true : (key) => Object.hasOwn(labels, key) || CALICO_ASSIGNED.has(key) },
    labelsComplete: own !== null,
  };
}

/** An address that is no endpoint's (`pvt`, `pub`): selectors never match it. */
export function networkEndpoint(name: string, address: Address): Endpoint {
  return {
    ...endpointBase('net', name, null, address),
    selectable: false,
    labels: { labels: {}, known: () => true },
    labelsComplete: true,
  };
}

/**
 * Somewhere in one of Felix's address classes (felix/collector/types/endpoint/endpoint.go
 * getSubnetType): `pvt` RFC 1918 (or, known to be IPv6, the unique-local range), `pub` the rest.
 */
function classAddress(name: 'pvt' | 'pub', ipVersion: Family | undefined): Address {
  if (name === 'pub') return ipVersion === undefined ? { kind: 'public' } : { kind: 'public', family: ipVersion };
  return ipVersion === 6
    ? { kind: 'within', ranges: ULA, what: 'a private IPv6 address' }
    : { kind: 'within', ranges: PRIVATE_V4, what: 'a private (RFC 1918) address' };
}

function addressOf(end: FlowEnd, set: NetworkSetSource): Address {
  if (end.ip !== null) {
    const ip = parseCidr(end.ip);
    if (ip !== null) return { kind: 'ip', ip };
  }
  switch (end.type) {
    case 'net':
      if (end.name === 'pvt' || end.name === 'pub') return classAddress(end.name, end.ipVersion);
      return { kind: 'unknown', what: `the address of network ${end.name}` };
    case 'ns': {
      const defined = set.networkSet(end.namespace, end.name);
      if (defined !== undefined && defined.nets.length > 0)
        return { kind: 'within', ranges: defined.nets, what: `an address of network set ${end.name}` };
      if (end.seenAt !== undefined) return addressOf({ ...end, type: 'net', name: end.seenAt }, set);
      return { kind: 'unknown', what: `the address in network set ${end.name} (not defined in the tree)` };
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
 * The IP families a flow between these addresses may have: what a known address or range says,
 * else any of the cluster's (records often carry no address).
 */
export function flowFamilies(addresses: readonly Address[], cluster: readonly Family[]): Family[] {
  let families: Family[] | null = null;
  for (const address of addresses) {
    const known: Family[] | null =
      address.kind === 'ip'
        ? [address.ip.version]
        : address.kind === 'within'
          ? ([4, 6] as const).filter((f) => address.ranges.some((r) => r.version === f))
          : address.kind === 'public' && address.family !== undefined
            ? [address.family]
            : null;
    if (known !== null) families = families === null ? known : families.filter((f) => known.includes(f));
  }
  return families === null || families.length === 0 ? [...cluster] : families;
}

/**
 * Is the endpoint's address, of family `family`, in one of `nets` (already that family's)?
 * Certain when the IP is known, or when every range the address may lie in is inside (or outside)
 * the nets; otherwise unknown, with what is missing.
 */
export function addressIn(address: Address, nets: readonly Cidr[], family: Family): { truth: Truth; missing?: string } {
  const coversEverything = nets.some((n) => cidrContains(n, ALL[family]));
  switch (address.kind) {
    case 'ip':
      return { truth: nets.some((n) => cidrContains(n, address.ip)) };
    case 'within': {
      const ranges = address.ranges.filter((r) => r.version === family);
      if (ranges.every((r) => nets.some((n) => cidrContains(n, r)))) return { truth: true };
      if (ranges.every((r) => !nets.some((n) => overlaps(n, r)))) return { truth: false };
      return { truth: 'unknown', missing: address.what };
    }
    case 'public':
      if (coversEverything) return { truth: true };
      // IPv4: outside RFC 1918, so never in nets inside it; IPv6: any address.
      if (family === 4 && nets.every(isPrivate)) return { truth: false };
      return { truth: 'unknown', missing: 'the public address (not in the flow log)' };
    case 'unknown':
      return coversEverything ? { truth: true } : { truth: 'unknown', missing: address.what };
  }
}
