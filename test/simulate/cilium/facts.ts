// Facts (used by facts.test.ts): Cilium policies and flows with the verdict Cilium gives, each from the upstream file it
// names (section 11.2 of /work/notes/cilium-semantics.md, checked against those files).
// [cli-1.16] = cilium/cilium-cli v0.16.14 (vendors Cilium v1.16.0), connectivity/builder/;
// [examples] = cilium/cilium examples/ at the commit named; [1.16]/[MAIN] = the Go trees vendored
// by cilium-cli v0.16.14 / v0.19.7.

import type { CiliumPolicy } from '../../../src/cilium/types.ts';
import type { Verdict } from '../../../src/simulate/cilium/evaluate.ts';
import type { CiliumFlow, CiliumPeer } from '../../../src/simulate/cilium/flow.ts';
import { entity, pod, policies, world } from './support.ts';

// [cli-1.16] manifests/deny-all-ingress.yaml (builder/all_ingress_deny.go).
const DENY_ALL_INGRESS = `apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "all-ingress-deny"
spec:
  endpointSelector: {}
  ingress:
    - {}
`;
// [cli-1.16] manifests/deny-all-egress.yaml (builder/all_egress_deny.go).
const DENY_ALL_EGRESS = DENY_ALL_INGRESS.replace('all-ingress-deny', 'all-egress-deny').replace('ingress:', 'egress:');
// [examples] examples/policies/l3/simple/l3.yaml @e0cc421a.
const L3 = `apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "l3-rule"
spec:
  endpointSelector:
    matchLabels:
      role: backend
  ingress:
  - fromEndpoints:
    - matchLabels:
        role: frontend
`;
// [examples] examples/policies/l4/l3_l4_combined.yaml (docs layer4.rst; the copy @0b47e871 mis-indents
// `role: frontend` under matchLabels, written here as the docs mean it).
const L3_L4 = `apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "l4-rule"
spec:
  endpointSelector:
    matchLabels:
      role: backend
  ingress:
  - fromEndpoints:
    - matchLabels:
        role: frontend
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
`;
// [examples] examples/policies/l4/l4_port_range.yaml @5954beaa.
const PORT_RANGE = `apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "l4-port-range-rule"
spec:
  endpointSelector:
    matchLabels:
      app: myService
  egress:
    - toPorts:
      - ports:
        - port: "80"
          endPort: 444
          protocol: TCP
`;
// [examples] examples/policies/l3/cidr/cidr.yaml @25972d8e.
const CIDR = `apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "cidr-rule"
spec:
  endpointSelector:
    matchLabels:
      app: myService
  egress:
  - toCIDR:
    - 20.1.1.1/32
  - toCIDRSet:
    - cidr: 10.0.0.0/8
      except:
      - 10.96.0.0/12
`;
// [examples] examples/policies/l4/cidr_l4_combined.yaml @e0cc421a (Documentation/security/policy/layer4.rst
// @2a6c3300: "will not be able to communicate ... on ports other than port 80").
const CIDR_L4 = `apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "cidr-l4-rule"
spec:
  endpointSelector:
    matchLabels:
      role: crawler
  egress:
  - toCIDR:
    - 192.0.2.0/24
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
`;
// [examples] examples/policies/l3/egress-deny/egress-deny.yaml @669f18e3.
const EGRESS_DENY = `apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "deny-egress-example"
spec:
  endpointSelector:
    matchLabels:
      role: frontend
  egress:
  - toEntities:
    - all
  egressDeny:
  - toEndpoints:
    - matchLabels:
        role: backend
`;
// [examples] examples/policies/l3/entities/from_world_deny.yaml @e0cc421a.
const FROM_WORLD_DENY = `apiVersion: "cilium.io/v2"
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: "external-lockdown"
spec:
  endpointSelector: {}
  ingressDeny:
  - fromEntities:
    - "world"
  ingress:
  - fromEntities:
    - "all"
`;
// Documentation/security/policy/deny.rst @669f18e3, its table: allow L3 from client + L4 80, 81 (L7 HTTP
// on 80), with a deny of 80/TCP (column 2), of L3 from client (column 3), both (column 4), or the deny alone (column 5).
const DENY_TABLE_ALLOWS = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: allow-client
spec:
  endpointSelector:
    matchLabels:
      app: server
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: client
  - toPorts:
    - ports:
      - port: "80"
        protocol: TCP
      rules:
        http:
        - method: GET
  - toPorts:
    - ports:
      - port: "81"
        protocol: TCP
`;
const DENY_PORT_80 = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: deny-80
spec:
  endpointSelector:
    matchLabels:
      app: server
  ingressDeny:
  - toPorts:
    - ports:
      - port: "80"
        protocol: TCP
`;
const DENY_FROM_CLIENT = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: deny-client
spec:
  endpointSelector:
    matchLabels:
      app: server
  ingressDeny:
  - fromEndpoints:
    - matchLabels:
        app: client
`;
// [examples] examples/kubernetes-dns/dns-matchname.yaml @669f18e3 (Documentation/security/dns.rst @895b694d:
// api.github.com "HTTP/2 200", support.github.com "Connection timed out").
const DNS_MATCHNAME = `apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "fqdn"
spec:
  endpointSelector:
    matchLabels:
      org: empire
      class: mediabot
  egress:
  - toFQDNs:
    - matchName: "api.github.com"
  - toEndpoints:
    - matchLabels:
        "k8s:io.kubernetes.pod.namespace": kube-system
        "k8s:k8s-app": kube-dns
    toPorts:
    - ports:
      - port: "53"
        protocol: ANY
      rules:
        dns:
        - matchPattern: "*"
`;
// [examples] examples/kubernetes-dns/dns-pattern.yaml @21d690e1.
const DNS_PATTERN = DNS_MATCHNAME.replace('matchName: "api.github.com"', 'matchPattern: "*.github.com"');
// examples/kubernetes-dns/dns-port.yaml as Documentation/security/dns.rst @895b694d uses it (the
// `*.github.com` rule with 443/TCP: "access to http://support.github.com on port 80 will be denied");
// the stored file @016eba9f is an older `*.twitter.com` variant of the same shape.
const DNS_PORT = DNS_PATTERN.replace(
  '    - matchPattern: "*.github.com"\n',
  '    - matchPattern: "*.github.com"\n    toPorts:\n    - ports:\n      - port: "443"\n        protocol: TCP\n',
);
// [cli-1.16] manifests/client-egress-to-entities-world.yaml (first rule; the DNS rules follow in the file).
const TO_WORLD_80 = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: client-egress-to-entities-world
spec:
  endpointSelector:
    matchLabels:
      kind: client
  egress:
  - toEntities:
    - world
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
  - toEndpoints:
    - matchExpressions:
      - { key: 'k8s-app', operator: In, values: [ "kube-dns", "coredns", "node-local-dns", "nodelocaldns" ] }
      - { key: 'io.kubernetes.pod.namespace', operator: In, values: [ "kube-system" ] }
    toPorts:
    - ports:
      - port: "53"
        protocol: UDP
      - port: "53"
        protocol: TCP
`;
// [cli-1.16] manifests/allow-cluster-entity.yaml (builder/cluster_entity.go).
const CLUSTER_ENTITY = `apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "entity-cluster"
spec:
  endpointSelector:
    matchLabels:
      kind: client
  egress:
    - toEntities:
        - cluster
`;
// [examples] examples/policies/l3/entities/nodes.yaml @e25e6405.
const NODES = `apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: "to-dev-from-nodes-in-cluster"
spec:
  endpointSelector:
    matchLabels:
      env: dev
  ingress:
    - fromEntities:
      - host
      - remote-node
`;
// Namespace injection ([1.16]/[MAIN] pkg/k8s/apis/cilium.io/utils/utils.go getEndpointSelector).
const APP_TO_KUBE_DNS = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: dns, namespace: app}
spec:
  endpointSelector: {}
  egress:
  - toEndpoints: [{matchLabels: {k8s-app: kube-dns}}]
    toPorts: [{ports: [{port: "53", protocol: UDP}]}]
`;
// [cli-1.16] manifests/echo-ingress-icmp.yaml (builder/client_ingress_icmp.go).
const ICMP = `apiVersion: "cilium.io/v2"
kind: CiliumNetworkPolicy
metadata:
  name: client-ingress-from-client2-icmp
spec:
  description: "Allow other client to contact another client via ICMP"
  endpointSelector:
    matchLabels:
      kind: client
  ingress:
  - fromEndpoints:
    - matchLabels:
        other: client
    icmps:
    - fields:
      - family: IPv4
        type: 8
      - family: IPv6
        type: 128
`;
// pkg/policy/api/rule.go EnableDefaultDeny doc ([1.16]) and repository.go's synthesized wildcard.
const NON_DEFAULT_DENY = L3.replace('spec:\n', 'spec:\n  enableDefaultDeny:\n    ingress: false\n');
const CCNP_ALL_PODS = `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: pods-only}
spec:
  endpointSelector: {}
  ingress:
  - fromEndpoints: [{}]
`;

export interface Fact {
  readonly id: string;
  readonly why: string;
  readonly policies: string;
  readonly namespace?: string;
  readonly flow: Partial<CiliumFlow> & { source: CiliumPeer; destination: CiliumPeer };
  readonly expect: Verdict;
}

const tcp = (port: number) => ({ protocol: 'TCP' as const, destPort: port });
const udp = (port: number) => ({ protocol: 'UDP' as const, destPort: port });
const echo = { protocol: 'ICMP' as const, destPort: null, icmpType: 8 };
const mediabot = pod('default', 'org=empire', 'class=mediabot');
const names = (...n: string[]) => ({ destNames: n });

export const FACTS: readonly Fact[] = [
  {
    id: '1',
    why: 'deny-all-ingress: default deny, nothing allowed',
    policies: DENY_ALL_INGRESS,
    namespace: 't',
    flow: { source: pod('t', 'kind=client'), destination: pod('t', 'name=echo'), ...tcp(8080) },
    expect: 'denied',
  },
  {
    id: '2',
    why: 'deny-all-ingress has no egress section (all_ingress_deny.go)',
    policies: DENY_ALL_INGRESS,
    namespace: 't',
    flow: { source: pod('t', 'kind=client'), destination: world('1.1.1.1'), ...tcp(443) },
    expect: 'allowed',
  },
  {
    id: '3',
    why: 'deny-all-egress',
    policies: DENY_ALL_EGRESS,
    namespace: 't',
    flow: { source: pod('t', 'kind=client'), destination: pod('t', 'name=echo'), ...tcp(8080) },
    expect: 'denied',
  },
  {
    id: '4',
    why: 'L3-only rule allows every port',
    policies: L3,
    flow: { source: pod('default', 'role=frontend'), destination: pod('default', 'role=backend'), ...tcp(80) },
    expect: 'allowed',
  },
  {
    id: '5',
    why: 'not selected by fromEndpoints',
    policies: L3,
    flow: { source: pod('default', 'role=other'), destination: pod('default', 'role=backend'), ...tcp(80) },
    expect: 'denied',
  },
  {
    id: '6',
    why: 'CNP peer selector confined to the policy namespace',
    policies: L3,
    flow: { source: pod('other', 'role=frontend'), destination: pod('default', 'role=backend'), ...tcp(80) },
    expect: 'denied',
  },
  {
    id: '7',
    why: 'L3-only rule covers ICMP (layer4.rst)',
    policies: L3,
    flow: { source: pod('default', 'role=frontend'), destination: pod('default', 'role=backend'), ...echo },
    expect: 'allowed',
  },
  {
    id: '8',
    why: 'port not allowed',
    policies: L3_L4,
    flow: { source: pod('default', 'role=frontend'), destination: pod('default', 'role=backend'), ...tcp(8080) },
    expect: 'denied',
  },
  {
    id: '9',
    why: 'an L4 rule blocks unrelated ICMP (layer4.rst)',
    policies: L3_L4,
    flow: { source: pod('default', 'role=frontend'), destination: pod('default', 'role=backend'), ...echo },
    expect: 'denied',
  },
  {
    id: '10',
    why: 'toPorts without L3 = any peer',
    policies: PORT_RANGE,
    flow: { source: pod('default', 'app=myService'), destination: world('9.9.9.9'), ...tcp(443) },
    expect: 'allowed',
  },
  {
    id: '11',
    why: 'TCP only',
    policies: PORT_RANGE,
    flow: { source: pod('default', 'app=myService'), destination: world('9.9.9.9'), ...udp(443) },
    expect: 'denied',
  },
  {
    id: '12',
    why: 'in 10/8',
    policies: CIDR,
    flow: { source: pod('default', 'app=myService'), destination: world('10.1.2.3'), ...tcp(5432) },
    expect: 'allowed',
  },
  {
    id: '13',
    why: 'in except 10.96/12',
    policies: CIDR,
    flow: { source: pod('default', 'app=myService'), destination: world('10.100.0.1'), ...tcp(5432) },
    expect: 'denied',
  },
  {
    id: '14',
    why: 'CIDR rules never select pods ([MAIN] pkg/policy/types/selector.go CIDRSelector.Matches)',
    policies: CIDR,
    flow: {
      source: pod('default', 'app=myService'),
      destination: { kind: 'pod', namespace: 'db', labels: [], ip: '10.0.5.7' },
      ...tcp(80),
    },
    expect: 'denied',
  },
  {
    id: '15',
    why: 'only port 80 to the CIDR',
    policies: CIDR_L4,
    flow: { source: pod('default', 'role=crawler'), destination: world('192.0.2.5'), ...tcp(443) },
    expect: 'denied',
  },
  {
    id: '16',
    why: 'deny beats toEntities: all',
    policies: EGRESS_DENY,
    flow: { source: pod('default', 'role=frontend'), destination: pod('default', 'role=backend'), ...tcp(80) },
    expect: 'denied',
  },
  {
    id: '17',
    why: '`all` includes world',
    policies: EGRESS_DENY,
    flow: { source: pod('default', 'role=frontend'), destination: world('1.1.1.1'), ...tcp(443) },
    expect: 'allowed',
  },
  {
    id: '18',
    why: 'deny precedence',
    policies: FROM_WORLD_DENY,
    flow: { source: world('203.0.113.9'), destination: pod('x', 'app=a'), ...tcp(80) },
    expect: 'denied',
  },
  {
    id: '19',
    why: 'remote-node is not world',
    policies: FROM_WORLD_DENY,
    flow: { source: entity('remote-node', '192.168.0.7'), destination: pod('x', 'app=a'), ...tcp(10250) },
    expect: 'allowed',
  },
  {
    id: '20a',
    why: 'deny.rst table col 2: 81 allowed',
    policies: `${DENY_TABLE_ALLOWS}---\n${DENY_PORT_80}`,
    flow: { source: pod('default', 'app=client'), destination: pod('default', 'app=server'), ...tcp(81) },
    expect: 'allowed',
  },
  {
    id: '20b',
    why: 'deny.rst table col 2: 80 denied',
    policies: `${DENY_TABLE_ALLOWS}---\n${DENY_PORT_80}`,
    flow: { source: pod('default', 'app=client'), destination: pod('default', 'app=server'), ...tcp(80) },
    expect: 'denied',
  },
  {
    id: '20c',
    why: 'deny.rst table col 2: ICMP allowed',
    policies: `${DENY_TABLE_ALLOWS}---\n${DENY_PORT_80}`,
    flow: { source: pod('default', 'app=client'), destination: pod('default', 'app=server'), ...echo },
    expect: 'allowed',
  },
  {
    id: '21',
    why: 'deny.rst table col 3: L3 deny covers all ports',
    policies: `${DENY_TABLE_ALLOWS}---\n${DENY_FROM_CLIENT}`,
    flow: { source: pod('default', 'app=client'), destination: pod('default', 'app=server'), ...tcp(81) },
    expect: 'denied',
  },
  {
    id: '20-col1-80',
    why: 'deny.rst table col 1: no deny, the L3 rule allows 80 too',
    policies: DENY_TABLE_ALLOWS,
    flow: { source: pod('default', 'app=client'), destination: pod('default', 'app=server'), ...tcp(80) },
    expect: 'allowed',
  },
  {
    id: '21-col3-80',
    why: 'deny.rst table col 3: 80 denied',
    policies: `${DENY_TABLE_ALLOWS}---\n${DENY_FROM_CLIENT}`,
    flow: { source: pod('default', 'app=client'), destination: pod('default', 'app=server'), ...tcp(80) },
    expect: 'denied',
  },
  {
    id: '21-col3-icmp',
    why: 'deny.rst table col 3: ping denied',
    policies: `${DENY_TABLE_ALLOWS}---\n${DENY_FROM_CLIENT}`,
    flow: { source: pod('default', 'app=client'), destination: pod('default', 'app=server'), ...echo },
    expect: 'denied',
  },
  {
    id: '21-col4-81',
    why: 'deny.rst table col 4',
    policies: `${DENY_TABLE_ALLOWS}---\n${DENY_PORT_80}---\n${DENY_FROM_CLIENT}`,
    flow: { source: pod('default', 'app=client'), destination: pod('default', 'app=server'), ...tcp(81) },
    expect: 'denied',
  },
  {
    id: '21b-80',
    why: 'deny.rst table col 5',
    policies: DENY_PORT_80,
    flow: { source: pod('default', 'app=client'), destination: pod('default', 'app=server'), ...tcp(80) },
    expect: 'denied',
  },
  {
    id: '21b-81',
    why: 'deny.rst table col 5 + repository.go: a deny-only policy switches on default deny',
    policies: DENY_PORT_80,
    flow: { source: pod('default', 'app=client'), destination: pod('default', 'app=server'), ...tcp(81) },
    expect: 'denied',
  },
  {
    id: '21b-icmp',
    why: 'deny.rst table col 5',
    policies: DENY_PORT_80,
    flow: { source: pod('default', 'app=client'), destination: pod('default', 'app=server'), ...echo },
    expect: 'denied',
  },
  {
    id: '22',
    why: 'matchName, any port',
    policies: DNS_MATCHNAME,
    flow: { source: mediabot, destination: world('140.82.112.6'), ...tcp(443), ...names('api.github.com') },
    expect: 'allowed',
  },
  {
    id: '23',
    why: 'dns.rst: support.github.com times out',
    policies: DNS_MATCHNAME,
    flow: { source: mediabot, destination: world('140.82.112.6'), ...tcp(443), ...names('support.github.com') },
    expect: 'denied',
  },
  {
    id: '24',
    why: 'no name in the record (learning is per node)',
    policies: DNS_MATCHNAME,
    flow: { source: mediabot, destination: world('140.82.112.6'), ...tcp(443), ...names() },
    expect: 'unknown',
  },
  {
    id: '25',
    why: 'DNS rule matchPattern "*"',
    policies: DNS_MATCHNAME,
    flow: { source: mediabot, destination: pod('kube-system', 'k8s-app=kube-dns'), ...udp(53) },
    expect: 'allowed',
  },
  {
    id: '26',
    why: 'egress default deny',
    policies: DNS_MATCHNAME,
    flow: { source: mediabot, destination: pod('default', 'app=other'), ...tcp(80) },
    expect: 'denied',
  },
  {
    id: '27a',
    why: '`*.` needs one label (dns.rst)',
    policies: DNS_PATTERN,
    flow: { source: mediabot, destination: world('140.82.112.6'), ...tcp(443), ...names('github.com') },
    expect: 'denied',
  },
  {
    id: '27b',
    why: 'one label',
    policies: DNS_PATTERN,
    flow: { source: mediabot, destination: world('140.82.112.6'), ...tcp(443), ...names('gist.github.com') },
    expect: 'allowed',
  },
  {
    id: '27c',
    why: '`*` never crosses a dot (matchpattern.go)',
    policies: DNS_PATTERN,
    flow: { source: mediabot, destination: world('140.82.112.6'), ...tcp(443), ...names('a.b.github.com') },
    expect: 'denied',
  },
  {
    id: '28',
    why: 'dns.rst: port 80 times out',
    policies: DNS_PORT,
    flow: { source: mediabot, destination: world('140.82.112.6'), ...tcp(80), ...names('support.github.com') },
    expect: 'denied',
  },
  {
    id: '29',
    why: 'to_entities_world.go: "traffic to port 443 will be dropped"',
    policies: TO_WORLD_80,
    flow: { source: pod('default', 'kind=client'), destination: world('1.1.1.1'), ...tcp(443) },
    expect: 'denied',
  },
  {
    id: '30a',
    why: 'cluster_entity.go: client reaches echo',
    policies: CLUSTER_ENTITY,
    flow: { source: pod('default', 'kind=client'), destination: pod('other', 'name=echo'), ...tcp(8080) },
    expect: 'allowed',
  },
  {
    id: '30b',
    why: 'cluster excludes world',
    policies: CLUSTER_ENTITY,
    flow: { source: pod('default', 'kind=client'), destination: world('1.1.1.1'), ...tcp(443) },
    expect: 'denied',
  },
  {
    id: '31a',
    why: 'remote-node entity',
    policies: NODES,
    flow: { source: entity('remote-node', '192.168.0.7'), destination: pod('default', 'env=dev'), ...tcp(8080) },
    expect: 'allowed',
  },
  {
    id: '31b',
    why: 'world is not a node',
    policies: NODES,
    flow: { source: world('203.0.113.9'), destination: pod('default', 'env=dev'), ...tcp(8080) },
    expect: 'denied',
  },
  {
    id: '32',
    why: 'namespace injection: kube-dns *in app*',
    policies: APP_TO_KUBE_DNS,
    flow: { source: pod('app', 'name=web'), destination: pod('kube-system', 'k8s-app=kube-dns'), ...udp(53) },
    expect: 'denied',
  },
  {
    id: '33a',
    why: 'icmps rule',
    policies: ICMP,
    flow: { source: pod('default', 'other=client'), destination: pod('default', 'kind=client'), ...echo },
    expect: 'allowed',
  },
  {
    id: '33b',
    why: 'icmps rule, peer not selected',
    policies: ICMP,
    flow: { source: pod('default', 'kind=client'), destination: pod('default', 'kind=client'), ...echo },
    expect: 'denied',
  },
  {
    id: '34',
    why: 'only non-default-deny policies: wildcard allow synthesized',
    policies: NON_DEFAULT_DENY,
    flow: { source: pod('default', 'role=x'), destination: pod('default', 'role=backend'), ...tcp(80) },
    expect: 'allowed',
  },
  {
    id: '35',
    why: 'k8s mode allows the local host (repository.go AlwaysAllowLocalhost)',
    policies: DENY_ALL_INGRESS,
    flow: { source: entity('host', '192.168.0.5'), destination: pod('default', 'app=a'), ...tcp(8080) },
    expect: 'allowed',
  },
  {
    id: '36',
    why: 'only the local host',
    policies: DENY_ALL_INGRESS,
    flow: { source: entity('remote-node', '192.168.0.7'), destination: pod('default', 'app=a'), ...tcp(8080) },
    expect: 'denied',
  },
  {
    id: '37a',
    why: 'CCNP `{}` peer = pods with a namespace',
    policies: CCNP_ALL_PODS,
    flow: { source: entity('remote-node', '192.168.0.7'), destination: pod('y', 'app=a'), ...tcp(80) },
    expect: 'denied',
  },
  {
    id: '37b',
    why: 'CCNP `{}` peer: any namespace',
    policies: CCNP_ALL_PODS,
    flow: { source: pod('x', 'app=b'), destination: pod('y', 'app=a'), ...tcp(80) },
    expect: 'allowed',
  },
];

export function factFlow(fact: Fact): CiliumFlow {
  return { protocol: null, destPort: null, destNames: null, ...fact.flow };
}

export function factPolicies(fact: Fact): CiliumPolicy[] {
  return policies(fact.policies, fact.namespace ?? 'default');
}
