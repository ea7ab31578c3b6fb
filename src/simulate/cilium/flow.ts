// What the Cilium evaluator needs to know of one observed flow: its own small description, so an
// adapter from a FlowRecord (or a Hubble flow) can be written apart, and so a renderer can ask the
// same code about an atom of traffic. Every field that a record may lack is nullable: null means
// "not known", never "absent".

import type { Protocol } from '../../calico/protocol.ts';
import type { Label } from '../../cilium/labels.ts';
import type { SelectorKey } from '../../cilium/types.ts';

/** Reserved identities that appear on traffic (pkg/labels: IDNameHost ... IDNameUnmanaged; world-ipv4/6 in dual stack). */
export type ReservedEntity =
  | 'host'
  | 'remote-node'
  | 'kube-apiserver'
  | 'world'
  | 'world-ipv4'
  | 'world-ipv6'
  | 'health'
  | 'ingress'
  | 'init'
  | 'unmanaged';

export type CiliumPeer =
  /** A pod (a Cilium endpoint with Kubernetes labels). */
  | {
      readonly kind: 'pod';
      readonly namespace: string;
      /** Its identity labels with their sources (`k8s:app=web`); null when the record has none. */
      readonly labels: readonly Label[] | null;
      /**
       * For which keys a label missing from `labels` is certainly absent; every key when left out
       * (records strip the labels Cilium adds, so those stay unknown: from-record.ts).
       */
      readonly absenceKnown?: (key: SelectorKey) => boolean;
      readonly ip: string | null;
    }
  /** A reserved identity: the node itself (`host`), other nodes, the API server, health and ingress endpoints, world. */
  | {
      readonly kind: 'entity';
      readonly entity: ReservedEntity;
      /** Its identity labels when the record has them; otherwise those the entity certainly has. */
      readonly labels?: readonly Label[] | null;
      readonly ip: string | null;
    }
  /** An address outside the cluster (a CIDR or FQDN identity: `reserved:world` with `cidr:`/`fqdn:` labels). */
  | { readonly kind: 'ip'; readonly ip: string };

export interface CiliumFlow {
  readonly source: CiliumPeer;
  readonly destination: CiliumPeer;
  /** TCP, UDP, SCTP, ICMP, ICMPv6 or an IP protocol number; null when unknown. */
  readonly protocol: Protocol | null;
  /** The destination port after service translation (what policy sees: Documentation/security/policy/layer4.rst). */
  readonly destPort: number | null;
  /** The ICMP type of an ICMP flow. */
  readonly icmpType?: number | null;
  /**
   * Names the source resolved the destination address from (Hubble's `destination_names`): null
   * or empty when the record does not say (Cilium learns FQDN addresses per node, so an empty list
   * does not show that no name applies).
   */
  readonly destNames: readonly string[] | null;
  /** The name asked for, for a DNS request (Hubble's L7 DNS record); null when not known. */
  readonly dnsQuery?: string | null;
  /**
   * Which enforcement points to evaluate: `both` (default) for a flow between two ends the
   * evaluator should both check; `egress` or `ingress` for one of them only.
   */
  readonly direction?: 'both' | 'egress' | 'ingress';
}

/** Agent settings that change the answer (pass what the cluster runs; the defaults are Cilium's). */
export interface CiliumOptions {
  /** `cluster-name` (default `default`): the `cluster` entity's pods carry `k8s:io.cilium.k8s.policy.cluster=<it>`. */
  readonly clusterName?: string;
  /** `policy-cidr-match-mode=nodes`: CIDR rules also select nodes (default false; null = not known). */
  readonly cidrMatchesNodes?: boolean | null;
  /** `allow-localhost` (default `auto`, which is `always` in Kubernetes mode). */
  readonly allowLocalhost?: 'always' | 'policy';
  /** `enable-policy` (default `default`). */
  readonly policyEnforcement?: 'default' | 'always' | 'never';
  /** `enable-non-default-deny-policies` (1.17+, default true): when false, enableDefaultDeny is ignored. */
  readonly nonDefaultDenyPolicies?: boolean;
}
