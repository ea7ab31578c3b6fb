// Typed shapes of the Calico (projectcalico.org/v3) and Kubernetes objects the engine reads and
// writes: rules (every field of their kind) and new policies (the fields this project writes).
// What people wrote is kept as data (the rule as written, the YAML document layer) and never
// dropped. Rules are matched in their compiled form (src/simulate/policy-set.ts CompiledRule).
// Type aliases, not interfaces: a rendered object is also plain YAML data (PlainObject).

import { z } from 'zod';

/** A port match: a number, a range `"1000:2000"`, or a named port. */
export type PortMatch = number | string;

// The rule types are read from their schemas: a rule found in a policy has them when the schema
// accepts it (parseCalicoRule). The schemas check the types' shape (the fields of Calico's Rule and
// EntityRule, nothing else: api/pkg/apis/projectcalico/v3/policy_common.go, the same on
// release-v3.30 to release-v3.33 and main; `domains` is Calico Enterprise's), not Calico's validation (which
// simulate/policy-set.ts compileRule applies): rules of earlier releases of this project that
// Calico refuses (port 0 in `ports`) must still be read to be migrated.

const portMatch = z.union([z.number(), z.string()]);
/** `TCP`, `UDP`, `ICMP`, `ICMPv6`, `SCTP`, `UDPLite`, or a number 1-255. */
const ruleProtocol = z.union([z.string(), z.number()]);
const icmpFields = z.strictObject({ type: z.number().optional(), code: z.number().optional() });

const entityRule = z.strictObject({
  nets: z.array(z.string()).optional(),
  notNets: z.array(z.string()).optional(),
  selector: z.string().optional(),
  notSelector: z.string().optional(),
  namespaceSelector: z.string().optional(),
  ports: z.array(portMatch).optional(),
  notPorts: z.array(portMatch).optional(),
  services: z.strictObject({ name: z.string(), namespace: z.string().optional() }).optional(),
  serviceAccounts: z.strictObject({ names: z.array(z.string()).optional(), selector: z.string().optional() }).optional(),
  /** Calico Enterprise only. */
  domains: z.array(z.string()).optional(),
});
export type EntityRule = z.infer<typeof entityRule>;

const ruleAction = z.enum(['Allow', 'Deny', 'Log', 'Pass']);
export type RuleAction = z.infer<typeof ruleAction>;
export const RULE_ACTIONS: readonly RuleAction[] = ruleAction.options;

const calicoRule = z.strictObject({
  action: ruleAction,
  protocol: ruleProtocol.optional(),
  notProtocol: ruleProtocol.optional(),
  ipVersion: z.union([z.literal(4), z.literal(6)]).optional(),
  icmp: icmpFields.optional(),
  notICMP: icmpFields.optional(),
  http: z.unknown().optional(),
  source: entityRule.optional(),
  destination: entityRule.optional(),
  metadata: z.strictObject({ annotations: z.record(z.string(), z.string()).optional() }).optional(),
});
export type CalicoRule = z.infer<typeof calicoRule>;

/** The fields of a rule and of its source and destination: Calico refuses any other (simulate/policy-set.ts). */
export const RULE_FIELDS: readonly string[] = Object.keys(calicoRule.shape);
export const ENTITY_FIELDS: readonly string[] = Object.keys(entityRule.shape);

/** A rule as written, when it has the CalicoRule type (the same object); null otherwise. */
export function parseCalicoRule(raw: unknown): CalicoRule | null {
  return calicoRule.safeParse(raw).success ? (raw as CalicoRule) : null;
}

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

const labelSelector = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: z.string(),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});

const networkPolicyPeer = z.strictObject({
  podSelector: labelSelector.optional(),
  namespaceSelector: labelSelector.optional(),
  ipBlock: z.strictObject({ cidr: z.string(), except: z.array(z.string()).optional() }).optional(),
});
export type NetworkPolicyPeer = z.infer<typeof networkPolicyPeer>;

const networkPolicyPort = z.strictObject({
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
  port: z.union([z.number(), z.string()]).optional(),
  endPort: z.number().optional(),
});
export type NetworkPolicyPort = z.infer<typeof networkPolicyPort>;

/** A NetworkPolicyIngressRule (`from`) or NetworkPolicyEgressRule (`to`), k8s.io/api/networking/v1. */
const kubernetesRule = z.strictObject({
  from: z.array(networkPolicyPeer).optional(),
  to: z.array(networkPolicyPeer).optional(),
  ports: z.array(networkPolicyPort).optional(),
});
export type KubernetesRule = z.infer<typeof kubernetesRule>;

/** A rule as written, when it has the KubernetesRule type (the same object); null otherwise. */
export function parseKubernetesRule(raw: unknown): KubernetesRule | null {
  return kubernetesRule.safeParse(raw).success ? (raw as KubernetesRule) : null;
}

const networkPolicySpec = z.object({
  podSelector: labelSelector.nullish(),
  policyTypes: z.array(z.enum(['Ingress', 'Egress'])).nullish(),
  ingress: z.array(kubernetesRule.nullable()).nullish(),
  egress: z.array(kubernetesRule.nullable()).nullish(),
});
export type NetworkPolicySpec = z.infer<typeof networkPolicySpec>;

/** A NetworkPolicy's spec (k8s.io/api/networking/v1 NetworkPolicySpec), null when it is not one. */
export function parseNetworkPolicySpec(raw: unknown): NetworkPolicySpec | null {
  const parsed = networkPolicySpec.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/** The new policies of the kubernetes flavour: Calico's staged form of a Kubernetes NetworkPolicy. */
export type StagedKubernetesNetworkPolicy = {
  apiVersion: 'projectcalico.org/v3';
  kind: 'StagedKubernetesNetworkPolicy';
  metadata: ObjectMeta;
  spec: {
    stagedAction?: StagedAction;
    podSelector: z.infer<typeof labelSelector>;
    policyTypes?: PolicyType[];
    ingress?: KubernetesRule[];
    egress?: KubernetesRule[];
  };
};

export const CALICO_API_VERSION = 'projectcalico.org/v3';
export const KUBERNETES_NETWORKING_API_VERSION = 'networking.k8s.io/v1';
