// Typed shapes of the Calico (projectcalico.org/v3) and Kubernetes objects the engine writes (its
// rendered rules and new policies). Only the fields this project writes are named; what people
// wrote is kept as data by the YAML document layer and never dropped. Rules are matched in their
// compiled form (src/simulate/policy-set.ts CompiledRule). Type aliases, not interfaces: a
// rendered object is also plain YAML data (PlainObject).

export type RuleAction = 'Allow' | 'Deny' | 'Log' | 'Pass';
/** A port match: a number, a range `"1000:2000"`, or a named port. */
export type PortMatch = number | string;
/** `TCP`, `UDP`, `ICMP`, `ICMPv6`, `SCTP`, `UDPLite`, or a number 1-255. */
type RuleProtocol = string | number;

type ServiceMatch = {
  name: string;
  namespace?: string;
};

export type EntityRule = {
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
};

export type CalicoRule = {
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
};

type PolicyType = 'Ingress' | 'Egress';
export type StagedAction = 'Set' | 'Delete' | 'Learn' | 'Ignore';

type ObjectMeta = {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};

type CalicoPolicySpec = {
  tier?: string;
  order?: number;
  selector?: string;
  types?: PolicyType[];
  ingress?: CalicoRule[];
  egress?: CalicoRule[];
  stagedAction?: StagedAction;
};

export type StagedNetworkPolicy = {
  apiVersion: 'projectcalico.org/v3';
  kind: 'StagedNetworkPolicy';
  metadata: ObjectMeta;
  spec: CalicoPolicySpec;
};

// Kubernetes networking.k8s.io/v1 NetworkPolicy.

type LabelSelectorRequirement = {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
};

type LabelSelector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
};

export type NetworkPolicyPeer = {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
};

export type NetworkPolicyPort = {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
};

export type KubernetesIngressRule = {
  from?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
};

export type KubernetesEgressRule = {
  to?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
};

export const CALICO_API_VERSION = 'projectcalico.org/v3';
export const KUBERNETES_NETWORKING_API_VERSION = 'networking.k8s.io/v1';
