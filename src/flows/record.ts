// The normalised flow record every flow source yields and the engine consumes. Sources validate
// at their boundary, so every name here is already a valid Kubernetes name and safe to render.

import type { Protocol } from '../calico/protocol.ts';

/** `wep` workload (pod), `hep` host endpoint, `ns` network set, `net` a network (`pub` / `pvt`). */
export type EndpointType = 'wep' | 'hep' | 'ns' | 'net';

export interface FlowEndpoint {
  readonly type: EndpointType;
  /** Aggregated name: a pod-name prefix (`customer-6b687c8dcb-*`), a network set name, or `pub` / `pvt`. */
  readonly name: string;
  /** Null when not namespaced (global network sets, networks, host endpoints). */
  readonly namespace: string | null;
  /** `key=value` strings as the flow log reports them. */
  readonly labels: readonly string[];
  /** Null when the flow log aggregated it away. */
  readonly ip: string | null;
  /**
   * Optional facts only some sources give (Hubble's); Calico's sources leave them out, and nothing
   * above changes meaning when they are present.
   * `entity`: what the endpoint is when it is no workload of the cluster's own, as the source names
   * it (Cilium's reserved identities, pkg/identity/numericidentity.go: world, host, remote-node,
   * kube-apiserver, health, unmanaged, ingress, init).
   */
  readonly entity?: EndpointEntity;
  /** The source's numeric security identity of the endpoint (Cilium's), when it gives one. */
  readonly identity?: number;
  /** The controller that owns the pod, as the source names it (Cilium's `workloads`, recent releases). */
  readonly workload?: { readonly kind: string; readonly name: string };
}

/** Entities an endpoint may be instead of (or beside) a workload; see FlowEndpoint.entity. */
export type EndpointEntity = 'world' | 'host' | 'remote-node' | 'kube-apiserver' | 'health' | 'unmanaged' | 'ingress' | 'init';

export type PolicyHitAction = 'allow' | 'deny' | 'pass' | 'log';

/**
 * The kind of the policy a trace entry names. Flow logs up to Calico 3.31 tell it by the name's
 * form (`staged:`, `knp.default.`, namespace or not); from 3.32 by a short kind (`np:`, `snp:` ...,
 * felix/types/policy_id.go); Goldmane by an enum. `Other` is a kind this project does not know
 * (a newer release's, or AdminNetworkPolicy's): never ours, so it counts as another policy deciding.
 */
export type PolicyHitKind =
  | 'NetworkPolicy'
  | 'GlobalNetworkPolicy'
  | 'StagedNetworkPolicy'
  | 'StagedGlobalNetworkPolicy'
  | 'KubernetesNetworkPolicy'
  | 'StagedKubernetesNetworkPolicy'
  | 'ClusterNetworkPolicy'
  | 'Profile'
  | 'Other';

/** One entry of a policy trace, structured whatever form the source wrote it in. */
export interface PolicyHit {
  /** The tier's position in the trace (entries are evaluated in this order). */
  readonly index: number;
  /** `__PROFILE__` for profiles. */
  readonly tier: string;
  readonly kind: PolicyHitKind;
  /** Null for global policies and profiles. */
  readonly namespace: string | null;
  /**
   * The policy's name, without `staged:` and without the `<tier>.` (or `knp.default.`) prefix that
   * traces up to Calico 3.31 put in front of it: `shop-recommendation` for a policy named
   * `namespace-isolation.shop-recommendation` or `shop-recommendation`. Profiles: `kns.<ns>` ...
   */
  readonly name: string;
  readonly action: PolicyHitAction;
  /** -1 means the tier's default action (no rule matched). */
  readonly ruleIndex: number;
  /**
   * When `kind` is `Other`: the kind as the source named it (Hubble's `egress_allowed_by` entries:
   * `CiliumNetworkPolicy`, `CiliumClusterwideNetworkPolicy` ...), for a flavour that knows it.
   */
  readonly sourceKind?: string;
}

export function isStagedHit(hit: PolicyHit): boolean {
  return hit.kind === 'StagedNetworkPolicy' || hit.kind === 'StagedGlobalNetworkPolicy' || hit.kind === 'StagedKubernetesNetworkPolicy';
}

export interface PolicyTrace {
  readonly all: readonly PolicyHit[] | null;
  readonly pending: readonly PolicyHit[] | null;
  readonly enforced: readonly PolicyHit[] | null;
}

export interface DestinationService {
  readonly name: string;
  readonly namespace: string | null;
  readonly portName: string | null;
  readonly port: number | null;
}

export interface FlowRecord {
  /** Unix seconds. */
  readonly startTime: number;
  readonly endTime: number;
  readonly source: FlowEndpoint;
  readonly dest: FlowEndpoint;
  readonly destPort: number | null;
  readonly destService: DestinationService | null;
  /** Lowercase DNS names, possibly `*.`-wildcards, as observed by DNS policy / DNS logs. */
  readonly destDomains: readonly string[];
  readonly protocol: Protocol;
  readonly action: 'allow' | 'deny';
  readonly reporter: 'src' | 'dst';
  /** Null when the record carries no policy trace at all. */
  readonly policies: PolicyTrace | null;
  readonly numFlows: number;
}
