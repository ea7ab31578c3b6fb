// The Cilium evaluator beyond the facts: agent options, what a flow cannot tell (unknown), and the
// selection rules. [1.16] = Cilium v1.16.0 as cilium/cilium-cli v0.16.14 vendors it, [MAIN] = main
// as v0.19.7 vendors it; files named per case.

import { describe, expect, test } from '@jest/globals';
import { evaluateCiliumFlow, type FlowVerdict, type LegVerdict, type PolicyRef } from '../../../src/simulate/cilium/evaluate.ts';
import type { CiliumFlow, CiliumOptions, CiliumPeer } from '../../../src/simulate/cilium/flow.ts';
import { peerRuleMatches } from '../../../src/simulate/cilium/match-rule.ts';
import { entity, pod, policies, world } from './support.ts';

const DENY_ALL_INGRESS = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: all-ingress-deny}
spec:
  endpointSelector: {}
  ingress: [{}]
`;

function verdict(
  yaml: string,
  source: CiliumPeer,
  destination: CiliumPeer,
  flow: Partial<CiliumFlow> = {},
  options: CiliumOptions = {},
): FlowVerdict {
  return evaluateCiliumFlow(policies(yaml), { protocol: 'TCP', destPort: 80, destNames: null, source, destination, ...flow }, options);
}

const egress = (rule: string, selector = '{}') => `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: egress}
spec:
  endpointSelector: ${selector}
  egress:
  - ${rule}
`;
const ingress = (rule: string, selector = '{}') => egress(rule, selector).replace('egress:', 'ingress:');
const client = pod('default', 'app=client');
const server = pod('default', 'app=server');

describe('agent options', () => {
  const toNodes = egress('toCIDR: [192.168.0.0/16]');
  const node = entity('remote-node', '192.168.0.7');
  test('CIDR rules select nodes only with policy-cidr-match-mode=nodes ([MAIN] pkg/policy/types/selector.go CIDRSelector.Matches)', () => {
    expect(verdict(toNodes, client, node).verdict).toBe('denied');
    expect(verdict(toNodes, client, node, {}, { cidrMatchesNodes: true }).verdict).toBe('allowed');
    expect(verdict(toNodes, client, node, {}, { cidrMatchesNodes: null }).verdict).toBe('unknown');
    expect(verdict(toNodes, client, entity('remote-node', '10.9.9.9'), {}, { cidrMatchesNodes: null }).verdict).toBe('denied');
  });

  test('allow-localhost=policy removes the local host exception ([MAIN] pkg/policy/repository.go AlwaysAllowLocalhost)', () => {
    const host = entity('host', '192.168.0.5');
    expect(verdict(DENY_ALL_INGRESS, host, server).verdict).toBe('allowed');
    expect(verdict(DENY_ALL_INGRESS, host, server, {}, { allowLocalhost: 'policy' }).verdict).toBe('denied');
  });

  test('enable-policy=always enforces default deny without any policy; never allows everything', () => {
    expect(verdict('', client, server, {}, { policyEnforcement: 'always' }).verdict).toBe('denied');
    expect(verdict(DENY_ALL_INGRESS, client, server, {}, { policyEnforcement: 'never' }).verdict).toBe('allowed');
    expect(verdict('', client, server).verdict).toBe('allowed');
  });

  test('enable-non-default-deny-policies=false ignores enableDefaultDeny ([MAIN] rule_validation.go)', () => {
    const yaml = ingress('fromEndpoints: [{matchLabels: {app: nobody}}]').replace(
      'spec:\n',
      'spec:\n  enableDefaultDeny: {ingress: false}\n',
    );
    expect(verdict(yaml, client, server).verdict).toBe('allowed');
    expect(verdict(yaml, client, server, {}, { nonDefaultDenyPolicies: false }).verdict).toBe('denied');
  });

  test('the cluster entity selects pods of the configured cluster name ([1.16] entity.go InitEntities)', () => {
    const yaml = egress('toEntities: [cluster]');
    const other = {
      kind: 'pod' as const,
      namespace: 'x',
      labels: [{ source: 'k8s', key: 'io.cilium.k8s.policy.cluster', value: 'east' }],
      ip: null,
    };
    expect(verdict(yaml, client, other).verdict).toBe('denied');
    expect(verdict(yaml, client, other, {}, { clusterName: 'east' }).verdict).toBe('allowed');
  });
});

describe('what a flow cannot tell is unknown', () => {
  test('named ports (resolved from pod specs, pkg/policy/l4.go)', () => {
    const r = verdict(egress('toPorts: [{ports: [{port: http}]}]'), client, server);
    expect(r.verdict).toBe('unknown');
    expect(r.legs[0]!.reasons.join(' ')).toMatch(/named port 'http'/);
  });

  test('HTTP rules decide per request (layer7.rst); an HTTP rule without fields allows every request', () => {
    expect(
      verdict(ingress('toPorts: [{ports: [{port: "80", protocol: TCP}], rules: {http: [{method: GET}]}}]'), client, server).verdict,
    ).toBe('unknown');
    expect(verdict(ingress('toPorts: [{ports: [{port: "80", protocol: TCP}], rules: {http: [{}]}}]'), client, server).verdict).toBe(
      'allowed',
    );
    // An L4 rule beside the L7 one wins (layer7.rst: "the layer 7 portions of the latter rule will have no effect").
    const both = ingress(
      'toPorts: [{ports: [{port: "80", protocol: TCP}], rules: {http: [{method: GET}]}}]\n  - toPorts: [{ports: [{port: "80", protocol: TCP}]}]',
    );
    expect(verdict(both, client, server).verdict).toBe('allowed');
  });

  test('narrow DNS rules: the query decides when the flow names it', () => {
    const yaml = egress('toPorts: [{ports: [{port: "53", protocol: UDP}], rules: {dns: [{matchPattern: "*.svc.cluster.local"}]}}]');
    const dns = pod('kube-system', 'k8s-app=kube-dns');
    expect(verdict(yaml, client, dns, { protocol: 'UDP', destPort: 53 }).verdict).toBe('unknown');
    expect(verdict(yaml, client, dns, { protocol: 'UDP', destPort: 53, dnsQuery: 'db.svc.cluster.local' }).verdict).toBe('allowed');
    expect(verdict(yaml, client, dns, { protocol: 'UDP', destPort: 53, dnsQuery: 'example.com' }).verdict).toBe('denied');
  });

  test('toServices: the backends are not in the flow; a pod of another namespace is not one', () => {
    const yaml = egress('toServices: [{k8sService: {serviceName: db, namespace: data}}]');
    expect(verdict(yaml, client, pod('data', 'app=db')).verdict).toBe('unknown');
    expect(verdict(yaml, client, pod('web', 'app=db')).verdict).toBe('denied');
  });

  test('kube-apiserver may also be remote-node, host or world (identity 7: [MAIN] pkg/identity/numericidentity.go)', () => {
    const api = entity('kube-apiserver', '10.0.0.1');
    expect(verdict(egress('toEntities: [kube-apiserver]'), client, api).verdict).toBe('allowed');
    expect(verdict(egress('toEntities: [remote-node]'), client, api).verdict).toBe('unknown');
    expect(verdict(egress('toEntities: [world]'), client, api).verdict).toBe('unknown');
    expect(verdict(egress('toEntities: [cluster]'), client, api).verdict).toBe('allowed');
  });

  test('labels missing from the record', () => {
    const unlabelled = { kind: 'pod' as const, namespace: 'default', labels: null, ip: null };
    expect(
      verdict(ingress('fromEndpoints: [{matchLabels: {app: client}}]', '{matchLabels: {app: server}}'), unlabelled, server).verdict,
    ).toBe('unknown');
    // Whether the policy selects the destination at all.
    expect(
      verdict(DENY_ALL_INGRESS.replace('endpointSelector: {}', 'endpointSelector: {matchLabels: {app: server}}'), client, unlabelled)
        .verdict,
    ).toBe('unknown');
  });

  test('an empty peer list with ports: nothing on main, every peer on 1.16 ([MAIN] pkg/policy/api/egress.go)', () => {
    expect(verdict(egress('toEndpoints: []\n    toPorts: [{ports: [{port: "80"}]}]'), client, server).verdict).toBe('unknown');
    expect(verdict(egress('toEndpoints: []'), client, server).verdict).toBe('denied');
  });

  test('fromRequires narrows allows it may not meet (layer3.rst)', () => {
    const yaml = ingress(
      'fromEndpoints: [{matchLabels: {app: client}}]\n    fromRequires: [{matchLabels: {env: prod}}]'.replace(
        'fromEndpoints: [{matchLabels: {app: client}}]\n    fromRequires',
        'fromRequires',
      ),
    );
    // fromRequires alone: an ingress section that allows nothing by itself.
    expect(verdict(yaml, client, server).verdict).toBe('denied');
    const both = `${yaml}  - fromEndpoints: [{matchLabels: {app: client}}]\n`;
    expect(verdict(both, client, server).verdict).toBe('unknown');
    expect(verdict(both, pod('default', 'app=client', 'env=prod'), server).verdict).toBe('allowed');
  });

  test('no protocol, no port, no ICMP type', () => {
    const yaml = egress('toPorts: [{ports: [{port: "80", protocol: TCP}]}]');
    expect(verdict(yaml, client, server, { protocol: null }).verdict).toBe('unknown');
    expect(verdict(yaml, client, server, { destPort: null }).verdict).toBe('unknown');
    expect(verdict(egress('icmps: [{fields: [{type: 8}]}]'), client, server, { protocol: 'ICMP', destPort: null }).verdict).toBe('unknown');
  });

  test('mutual authentication decides what it guards', () => {
    expect(verdict(ingress('fromEndpoints: [{}]\n    authentication: {mode: required}'), client, server).verdict).toBe('unknown');
  });
});

describe('selection and matching', () => {
  test('a CNP selects its own namespace only; a namespace under matchLabels is replaced (utils.go ParseToCiliumRule AddMatch)', () => {
    const elsewhere = DENY_ALL_INGRESS.replace(
      'endpointSelector: {}',
      "endpointSelector: {matchLabels: {'k8s:io.kubernetes.pod.namespace': other}}",
    );
    expect(verdict(elsewhere, client, server).verdict).toBe('denied');
    expect(verdict(DENY_ALL_INGRESS, client, pod('other', 'app=server')).verdict).toBe('allowed');
    // Without the k8s: source it stays a requirement of its own: nothing in `default` has namespace `other`.
    const anySource = DENY_ALL_INGRESS.replace(
      'endpointSelector: {}',
      "endpointSelector: {matchLabels: {'io.kubernetes.pod.namespace': other}}",
    );
    expect(verdict(anySource, client, server).verdict).toBe('allowed');
  });

  test('namespace-label selectors reach other namespaces (utils.go getEndpointSelector)', () => {
    const yaml = egress("toEndpoints: [{matchLabels: {'k8s:io.cilium.k8s.namespace.labels.team': db}}]");
    const dbPod = pod('data', 'app=db', 'io.cilium.k8s.namespace.labels.team=db');
    expect(verdict(yaml, client, dbPod).verdict).toBe('allowed');
    expect(verdict(yaml, client, pod('data', 'app=db')).verdict).toBe('denied');
  });

  test('a CCNP with endpointSelector {} selects health endpoints; a CNP never does', () => {
    const ccnp = DENY_ALL_INGRESS.replace('CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy');
    expect(verdict(ccnp, client, entity('health', '10.0.0.9')).verdict).toBe('denied');
    expect(verdict(DENY_ALL_INGRESS, client, entity('health', '10.0.0.9')).verdict).toBe('allowed');
  });

  test('host policies: a nodeSelector selects nodes only; node labels are unknown ([MAIN] pkg/policy/rule.go subjectIsNode)', () => {
    const host = `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: host}
spec:
  nodeSelector: NODE
  ingress:
  - fromEntities: [cluster]
`;
    expect(verdict(host.replace('NODE', '{}'), world('203.0.113.1'), entity('host', '192.168.0.5')).verdict).toBe('denied');
    expect(verdict(host.replace('NODE', '{}'), client, entity('host', '192.168.0.5')).verdict).toBe('allowed');
    expect(verdict(host.replace('NODE', '{matchLabels: {role: edge}}'), world('203.0.113.1'), entity('host', '192.168.0.5')).verdict).toBe(
      'unknown',
    );
    expect(verdict(host.replace('NODE', '{}'), world('203.0.113.1'), server).verdict).toBe('allowed');
  });

  test('an endpoint still without labels (reserved:init) is always in default deny ([MAIN] pkg/policy/repository.go)', () => {
    expect(verdict('', entity('init', '10.0.0.3'), world('1.1.1.1')).verdict).toBe('denied');
  });

  test('enableDefaultDeny on a rule without that section does nothing ([1.16] pkg/policy/repository.go)', () => {
    const yaml = egress('toEntities: [world]').replace('spec:\n', 'spec:\n  enableDefaultDeny: {ingress: true}\n');
    expect(verdict(yaml, client, server).verdict).toBe('denied'); // egress: default deny, no rule for server
    expect(verdict(yaml, world('1.1.1.1') as CiliumPeer, server).verdict).toBe('allowed'); // ingress untouched
  });

  test('ports: ANY is TCP, UDP and SCTP but not ICMP ([1.16] pkg/policy/rule.go); port 0 is every port; a range', () => {
    const any = egress('toPorts: [{ports: [{port: "0"}]}]');
    expect(verdict(any, client, server, { protocol: 'SCTP', destPort: 9 }).verdict).toBe('allowed');
    expect(verdict(any, client, server, { protocol: 'ICMP', destPort: null, icmpType: 8 }).verdict).toBe('denied');
    const range = egress('toPorts: [{ports: [{port: "8000", endPort: 8080, protocol: TCP}]}]');
    expect(verdict(range, client, server, { destPort: 8080 }).verdict).toBe('allowed');
    expect(verdict(range, client, server, { destPort: 8081 }).verdict).toBe('denied');
  });

  test('a flow protocol given as its number is that protocol (IANA: 6 TCP, 17 UDP, 1 ICMP)', () => {
    expect(verdict(egress('toPorts: [{ports: [{port: "80", protocol: TCP}]}]'), client, server, { protocol: 6 }).verdict).toBe('allowed');
    expect(verdict(egress('toPorts: [{ports: [{port: "80"}]}]'), client, server, { protocol: 17 }).verdict).toBe('allowed');
    expect(verdict(egress('icmps: [{fields: [{type: 8}]}]'), client, server, { protocol: 1, destPort: null, icmpType: 8 }).verdict).toBe(
      'allowed',
    );
  });

  test('host policies and the API server: it may be outside the cluster, where no host policy applies', () => {
    const yaml = `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: host-deny}
spec:
  nodeSelector: {}
  ingress: [{}]
`;
    expect(verdict(yaml, client, entity('kube-apiserver', '10.0.0.1')).verdict).toBe('unknown');
    const inCluster: CiliumPeer = {
      kind: 'entity',
      entity: 'kube-apiserver',
      ip: '10.0.0.1',
      labels: [
        { source: 'reserved', key: 'kube-apiserver', value: '' },
        { source: 'reserved', key: 'remote-node', value: '' },
      ],
    };
    expect(verdict(yaml, client, inCluster).verdict).toBe('denied');
    const external: CiliumPeer = { ...inCluster, labels: [inCluster.labels![0]!, { source: 'reserved', key: 'world', value: '' }] };
    expect(verdict(yaml, client, external).verdict).toBe('allowed');
    // The local-host exception is for endpoints, not for the node's own host policy (repository.go).
    expect(verdict(yaml, entity('host', '192.168.0.5'), entity('host', '192.168.0.5')).verdict).toBe('denied');
  });

  test('0.0.0.0/0 does not cover IPv6 ([MAIN] pkg/labels/cidr.go)', () => {
    const yaml = egress('toCIDR: [0.0.0.0/0]');
    expect(verdict(yaml, client, world('2001:db8::1')).verdict).toBe('denied');
    expect(verdict(yaml, client, world('198.51.100.1')).verdict).toBe('allowed');
  });

  test('verdicts name the deciding policies, per leg', () => {
    const r = verdict(DENY_ALL_INGRESS, client, server);
    const leg: LegVerdict = r.legs.find((l) => l.direction === 'ingress')!;
    const decided: readonly PolicyRef[] = leg.decidedBy;
    expect(decided).toEqual([{ kind: 'CiliumNetworkPolicy', name: 'all-ingress-deny', namespace: 'default' }]);
    expect(r.legs.map((l) => l.direction)).toEqual(['egress', 'ingress']);
    expect(
      evaluateCiliumFlow(policies(DENY_ALL_INGRESS), {
        protocol: 'TCP',
        destPort: 80,
        destNames: null,
        source: client,
        destination: server,
        direction: 'egress',
      }).verdict,
    ).toBe('allowed');
  });

  test('one rule entry asked alone (for a renderer: does this rule decide this atom?)', () => {
    const [policy] = policies(
      ingress('fromEndpoints: [{matchLabels: {app: client}}]\n    toPorts: [{ports: [{port: "80", protocol: TCP}]}]'),
    );
    const rule = policy!.rules[0]!;
    const context = { policy: policy!, subjectSelector: rule.endpointSelector, direction: 'ingress' as const, deny: false };
    const flow: CiliumFlow = { protocol: 'TCP', destPort: 80, destNames: null, source: client, destination: server };
    expect(peerRuleMatches(rule.ingress![0]!, context, flow, {}).truth).toBe(true);
    expect(peerRuleMatches(rule.ingress![0]!, context, { ...flow, destPort: 81 }, {}).truth).toBe(false);
    expect(peerRuleMatches(rule.ingress![0]!, context, { ...flow, source: pod('other', 'app=client') }, {}).truth).toBe(false);
  });
});
