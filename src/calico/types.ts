// Typed shapes of the Calico (projectcalico.org/v3) and Kubernetes objects we read and write.
// Only the fields this project uses or must preserve are named; everything else is kept as data
// by the YAML document layer and never dropped.

export type RuleAction = 'Allow' | 'Deny' | 'Log' | 'Pass';
/** A port match: a number, a range `"1000:2000"`, or a named port. */
export type PortMatch = number | string;
/** `TCP`, `UDP`, `ICMP`, `ICMPv6`, `SCTP`, `UDPLite`, or a number 1-255. */
export type RuleProtocol = string | number;

export interface ServiceMatch {
  name: string;
  namespace?: string;
}

export interface EntityRule {
  nets?: string[];
  notNets?: string[];
  selector?: string;
  notSelector?: string;
  namespaceSelector?: string;
  ports?: PortMatch[];
  notPorts?: PortMatch[];
  services?: ServiceMatch;
  serviceAccounts?: { names?: string[]; selector?: string };
  /** Calico Enterprise only. */
  domains?: string[];
}

export interface CalicoRule {
  action: RuleAction;
  protocol?: RuleProtocol;
  notProtocol?: RuleProtocol;
  ipVersion?: 4 | 6;
  icmp?: { type?: number; code?: number };
  notICMP?: { type?: number; code?: number };
  http?: unknown;
  source?: EntityRule;
  destination?: EntityRule;
  metadata?: { annotations?: Record<string, string> };
}

export type PolicyType = 'Ingress' | 'Egress';
export type StagedAction = 'Set' | 'Delete' | 'Learn' | 'Ignore';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface CalicoPolicySpec {
  tier?: string;
  order?: number;
  selector?: string;
  types?: PolicyType[];
  ingress?: CalicoRule[];
  egress?: CalicoRule[];
  stagedAction?: StagedAction;
}

export interface StagedNetworkPolicy {
  apiVersion: 'projectcalico.org/v3';
  kind: 'StagedNetworkPolicy';
  metadata: ObjectMeta;
  spec: CalicoPolicySpec;
}

export interface Tier {
  apiVersion: 'projectcalico.org/v3';
  kind: 'Tier';
  metadata: ObjectMeta;
  spec: { order?: number; defaultAction?: 'Deny' | 'Pass' };
}

// Kubernetes networking.k8s.io/v1 NetworkPolicy.

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicyPort {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}

export interface KubernetesIngressRule {
  from?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface KubernetesEgressRule {
  to?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface KubernetesNetworkPolicy {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: ObjectMeta;
  spec: {
    podSelector: LabelSelector;
    policyTypes?: PolicyType[];
    ingress?: KubernetesIngressRule[];
    egress?: KubernetesEgressRule[];
  };
}

export const CALICO_API_VERSION = 'projectcalico.org/v3';
export const KUBERNETES_NETWORKING_API_VERSION = 'networking.k8s.io/v1';
