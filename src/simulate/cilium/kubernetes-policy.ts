// A Kubernetes NetworkPolicy (networking.k8s.io/v1) as Cilium enforces it: Cilium's agent turns
// each one into its own rules (pkg/k8s/network_policy.go ParseNetworkPolicy, read in the Cilium
// trees cilium/cilium-cli vendors: v0.16.14 = Cilium v1.16.0, and main of 2026-07-28), and those
// rules sit beside the CiliumNetworkPolicies: allow rules, a union, default deny for the
// directions the policy has.
//
// What ParseNetworkPolicy does, and we do:
// - the subject is the podSelector with the policy's namespace added (parsePodSelector);
// - a peer with a podSelector only: those pods of the policy's namespace (parsePodSelector again);
//   with a namespaceSelector: its labels as `io.cilium.k8s.namespace.labels.<key>`, an empty one
//   every namespace (`k8s:io.kubernetes.pod.namespace` Exists: processNamespaceSelector);
//   an ipBlock: a CIDR rule with its `except` (ipBlockToCIDRRule), which, as in every Cilium CIDR
//   rule, selects addresses outside the cluster only, never pods;
// - a rule without peers matches every source or destination (WildcardSelectors /
//   WildcardEndpointSelector, the `all` entity's selector: pkg/policy/api/entity.go);
// - ports: TCP unless given, no port = every port ("0"), endPort kept, names kept (parsePorts);
// - default deny: no ingress rules and policyTypes naming Ingress or not naming Egress gives an
//   ingress section that allows nothing; no egress rules and Egress named, an egress one.
//   Egress rules are read whatever policyTypes says, as ParseNetworkPolicy reads them.
// Not modelled: on main, a pod peer is also confined to the local cluster unless it names one
// (isPodSelectorSelectingCluster, with policy-default-local-cluster); we read pods of any cluster
// of a ClusterMesh as matching.
//
// The object is validated first by the same checks as the Calico conversion (a NetworkPolicy the
// API server would refuse is a warning in either simulator), then read as a typed spec.

import { type NetworkPolicyPeer, type NetworkPolicyPort, parseNetworkPolicySpec } from '../../calico/types.ts';
import { NAMESPACE_LABELS_PREFIX, POD_NAMESPACE_KEY, SOURCE_K8S } from '../../cilium/labels.ts';
import type { CiliumPolicy, EndpointSelector, PeerRule, PortRule, Requirement, Rule } from '../../cilium/types.ts';
import { parseObjectHead } from '../../tree/inventory.ts';
import type { PlainObject } from '../../util/plain.ts';
import { kubernetesPolicyAsCalico } from '../kubernetes-policy.ts';
import { PolicyValidationError } from '../policy-terms.ts';

type LabelSelector = NonNullable<NetworkPolicyPeer['podSelector']>;

/** The policy as Cilium's rules; throws PolicyValidationError where the API server would refuse it. */
export function kubernetesPolicyAsCilium(value: PlainObject, defaultNamespace?: string): CiliumPolicy {
  kubernetesPolicyAsCalico(value, false);
  const head = parseObjectHead(value);
  const spec = parseNetworkPolicySpec(value['spec']);
  if (head === null || spec === null) throw new PolicyValidationError('not a NetworkPolicy');
  const namespace = head.metadata.namespace ?? defaultNamespace ?? null;
  if (namespace === null) throw new PolicyValidationError('metadata.namespace is required: a NetworkPolicy is namespaced');
  const policyTypes = spec.policyTypes ?? [];

  const peerRules = (direction: 'ingress' | 'egress'): PeerRule[] =>
    (spec[direction] ?? []).flatMap((rule) => {
      const peers = (direction === 'ingress' ? rule?.from : rule?.to) ?? [];
      const toPorts = rule?.ports !== undefined && rule.ports.length > 0 ? rule.ports.map(portRule) : undefined;
      const l3: PeerRule[] = peers.length === 0 ? [{ entities: ['all'] }] : peers.map((peer) => peerRule(peer, namespace));
      return l3.map((p) => (toPorts === undefined ? p : { ...p, toPorts }));
    });
  let ingress = peerRules('ingress');
  let egress = peerRules('egress');
  // An entry without peers selects nothing: the documented "allow nothing" section.
  if (ingress.length === 0 && (policyTypes.includes('Ingress') || !policyTypes.includes('Egress'))) ingress = [{}];
  if (egress.length === 0 && policyTypes.includes('Egress')) egress = [{}];

  const rule: Rule = {
    endpointSelector: podSelector(spec.podSelector ?? {}, namespace),
    ...(ingress.length > 0 ? { ingress } : {}),
    ...(egress.length > 0 ? { egress } : {}),
    enableDefaultDeny: { ingress: true, egress: true },
  };
  return { kind: 'NetworkPolicy', name: head.metadata.name, namespace, rules: [rule] };
}

const k8sKey = (key: string) => ({ source: SOURCE_K8S, key });

function requirements(selector: LabelSelector, keyPrefix = ''): Requirement[] {
  return [
    ...Object.entries(selector.matchLabels ?? {}).map(
      ([key, value]): Requirement => ({ key: k8sKey(keyPrefix + key), operator: 'In', values: [value], fromMatchLabels: true }),
    ),
    ...(selector.matchExpressions ?? []).map(
      (e): Requirement => ({ key: k8sKey(keyPrefix + e.key), operator: e.operator, values: e.values ?? [], fromMatchLabels: false }),
    ),
  ];
}

/** parsePodSelector: the selector, confined to the policy's namespace. */
function podSelector(selector: LabelSelector, namespace: string): EndpointSelector {
  const own = requirements(selector).filter((r) => !(r.fromMatchLabels && r.key.key === POD_NAMESPACE_KEY));
  return { requirements: [...own, { key: k8sKey(POD_NAMESPACE_KEY), operator: 'In', values: [namespace], fromMatchLabels: true }] };
}

function peerRule(peer: NetworkPolicyPeer, namespace: string): PeerRule {
  if (peer.ipBlock !== undefined) return { cidrSet: [{ cidr: peer.ipBlock.cidr, except: peer.ipBlock.except ?? [] }] };
  const pods = peer.podSelector ?? {};
  if (peer.namespaceSelector === undefined) return { endpoints: [podSelector(pods, namespace)] };
  const namespaces = requirements(peer.namespaceSelector, NAMESPACE_LABELS_PREFIX);
  const anyNamespace: Requirement = { key: k8sKey(POD_NAMESPACE_KEY), operator: 'Exists', values: [], fromMatchLabels: false };
  return { endpoints: [{ requirements: [...(namespaces.length === 0 ? [anyNamespace] : namespaces), ...requirements(pods)] }] };
}

/** parsePorts: one port rule per port, TCP by default, port 0 (every port) when none is given. */
function portRule(port: NetworkPolicyPort): PortRule {
  const given = port.port;
  const number = typeof given === 'string' && /^\d+$/.test(given) ? Number(given) : given;
  const endPort = port.endPort !== undefined && typeof number === 'number' && port.endPort > number ? port.endPort : null;
  return {
    ports: [
      {
        port: number === undefined ? 0 : typeof number === 'string' ? number.toLowerCase() : number,
        endPort,
        protocol: port.protocol ?? 'TCP',
      },
    ],
  };
}
