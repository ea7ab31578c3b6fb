// CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (cilium.io/v2) as our code reads them,
// after parse-policy.ts has validated a YAML object into them. Field names and meanings are
// Cilium's pkg/policy/api (rule.go, ingress.go, egress.go, l4.go, cidr.go, fqdn.go, service.go,
// icmp.go, entity.go), read in the Cilium trees cilium/cilium-cli vendors at v0.16.14 (= Cilium
// v1.16.0) and v0.19.7 (main of 2026-07-28, 1.20-dev). An omitted list is `undefined`; an empty
// list is kept as `[]`, because Cilium tells them apart (pkg/policy/api/egress.go of v0.19.7:
// "an empty non-nil ToEndpoints does not select anything").

/** A label selector's key with its source (`k8s:app` = k8s/app; `app` = any/app; `$host` = reserved/host). */
export interface SelectorKey {
  /** `any` when the key named no source (pkg/labels/labels.go GetExtendedKeyFrom, v1.16.0 and main). */
  readonly source: string;
  readonly key: string;
}

type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface Requirement {
  readonly key: SelectorKey;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
  /** Written under matchLabels (Cilium's AddMatch of the policy namespace replaces such an entry). */
  readonly fromMatchLabels: boolean;
}

/** A Kubernetes LabelSelector over source-prefixed keys (pkg/policy/api/selector.go); no requirement = everything. */
export interface EndpointSelector {
  readonly requirements: readonly Requirement[];
}

/** The CRD's enum (pkg/policy/api/entity.go: v1.16.0 .. 1.19; `cluster-mesh` from main only). */
export const ENTITIES = [
  'all',
  'world',
  'cluster',
  'cluster-mesh',
  'host',
  'init',
  'ingress',
  'unmanaged',
  'remote-node',
  'health',
  'none',
  'kube-apiserver',
] as const;
export type Entity = (typeof ENTITIES)[number];

/** `protocol` of a port (l4.go: TCP, UDP, SCTP, ANY in 1.16-1.18; VRRP, IGMP in 1.19; GRE .. AH on main). */
export const L4_PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'ANY', 'VRRP', 'IGMP', 'GRE', 'IPIP', 'IPV6', 'ESP', 'AH'] as const;
export type L4Protocol = (typeof L4_PROTOCOLS)[number];

export interface PortProtocol {
  /** A number (0 = every port of the protocol) or an IANA service name (a named port, lower-cased). */
  readonly port: number | string;
  /** The range's end; null for a single port (an endPort not above port means a single port: pkg/policy/portrange.go). */
  readonly endPort: number | null;
  /** ANY when omitted. */
  readonly protocol: L4Protocol;
}

interface HttpRule {
  readonly method?: string;
  readonly path?: string;
  readonly host?: string;
  readonly headers?: readonly string[];
  readonly headerMatches?: readonly unknown[];
}

export type FqdnSelector = { readonly matchName: string } | { readonly matchPattern: string };

interface L7Rules {
  readonly http?: readonly HttpRule[];
  readonly kafka?: readonly Readonly<Record<string, unknown>>[];
  readonly dns?: readonly FqdnSelector[];
  readonly l7proto?: string;
  readonly l7?: readonly Readonly<Record<string, string>>[];
}

export interface PortRule {
  readonly ports: readonly PortProtocol[];
  readonly rules?: L7Rules;
  readonly serverNames?: readonly string[];
  /** TLS interception and Envoy listeners: kept only as present (the evaluator does not model them). */
  readonly terminatingTLS?: unknown;
  readonly originatingTLS?: unknown;
  readonly listener?: unknown;
}

export interface IcmpField {
  readonly family: 'IPv4' | 'IPv6';
  /** The ICMP type number (names resolved by pkg/policy/api/icmp.go's tables). */
  readonly type: number;
}

export type CidrRule =
  | { readonly cidr: string; readonly except: readonly string[] }
  | { readonly cidrGroupRef: string }
  | { readonly cidrGroupSelector: EndpointSelector };

export type ServiceRef =
  | { readonly k8sService: { readonly serviceName: string; readonly namespace?: string } }
  | { readonly k8sServiceSelector: { readonly selector: EndpointSelector; readonly namespace?: string } };

interface CommonPeers {
  readonly cidr?: readonly string[];
  readonly cidrSet?: readonly CidrRule[];
  readonly entities?: readonly Entity[];
  readonly endpoints?: readonly EndpointSelector[];
  readonly requires?: readonly EndpointSelector[];
  readonly nodes?: readonly EndpointSelector[];
  /** Cloud provider groups (`toGroups`/`fromGroups`): kept as present. */
  readonly groups?: readonly unknown[];
}

/**
 * One entry of ingress, ingressDeny, egress or egressDeny, its peer fields named without their
 * from/to prefix (`fromEndpoints` and `toEndpoints` are both `endpoints`).
 */
export interface PeerRule extends CommonPeers {
  readonly services?: readonly ServiceRef[];
  readonly fqdns?: readonly FqdnSelector[];
  /** Allow rules have L7; deny rules only `ports` (PortDenyRule). */
  readonly toPorts?: readonly PortRule[];
  readonly icmps?: readonly IcmpField[];
  readonly authentication?: { readonly mode: string };
}

export interface Rule {
  /** Exactly one of endpointSelector and nodeSelector (rule_validation.go). */
  readonly endpointSelector?: EndpointSelector;
  readonly nodeSelector?: EndpointSelector;
  readonly ingress?: readonly PeerRule[];
  readonly ingressDeny?: readonly PeerRule[];
  readonly egress?: readonly PeerRule[];
  readonly egressDeny?: readonly PeerRule[];
  readonly enableDefaultDeny: { readonly ingress?: boolean; readonly egress?: boolean };
  readonly description?: string;
}

/** `NetworkPolicy`: a Kubernetes NetworkPolicy, which Cilium enforces as rules of its own (simulate/cilium/kubernetes-policy.ts). */
type CiliumPolicyKind = 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy' | 'NetworkPolicy';

export interface CiliumPolicy {
  readonly kind: CiliumPolicyKind;
  readonly name: string;
  /** The namespace of a CiliumNetworkPolicy; null for a clusterwide one. */
  readonly namespace: string | null;
  /** `spec` then the entries of `specs`. */
  readonly rules: readonly Rule[];
}
