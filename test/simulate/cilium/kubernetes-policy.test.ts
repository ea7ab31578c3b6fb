// Kubernetes NetworkPolicies as Cilium enforces them. Facts from Cilium's own tests,
// pkg/k8s/network_policy_test.go (cilium/cilium 6bafc18), and the conversion it tests,
// pkg/k8s/network_policy.go ParseNetworkPolicy ([1.16] = Cilium v1.16.0 as cilium/cilium-cli
// v0.16.14 vendors it, [MAIN] = main as v0.19.7 vendors it).

import { describe, expect, test } from '@jest/globals';
import { parse } from 'yaml';
import { evaluateCiliumFlow, type Verdict } from '../../../src/simulate/cilium/evaluate.ts';
import type { CiliumFlow, CiliumPeer } from '../../../src/simulate/cilium/flow.ts';
import { kubernetesPolicyAsCilium } from '../../../src/simulate/cilium/kubernetes-policy.ts';
import { ciliumPolicySetFromTree } from '../../../src/simulate/cilium/policy-set.ts';
import { PolicyValidationError } from '../../../src/simulate/policy-terms.ts';
import { entity, pod, policies, world } from './support.ts';

const networkPolicy = (spec: object, namespace = 'default', name = 'np') =>
  kubernetesPolicyAsCilium({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec });

function verdict(
  spec: object,
  source: CiliumPeer,
  destination: CiliumPeer,
  flow: Partial<CiliumFlow> = {},
  namespace = 'default',
): Verdict {
  return evaluateCiliumFlow([networkPolicy(spec, namespace)], {
    protocol: 'TCP',
    destPort: 80,
    destNames: null,
    source,
    destination,
    ...flow,
  }).verdict;
}

const A = pod('default', 'id=a');
const B = pod('default', 'id1=b', 'id2=c');
const C = pod('default', 'id=c');
const selectA = { podSelector: { matchLabels: { id: 'a' } } };
const selectC = { podSelector: { matchLabels: { id: 'c' } } };

describe('Cilium tests, as facts', () => {
  test('TestParseNetworkPolicyIngress: a podSelector peer on port 80', () => {
    const spec = {
      podSelector: { matchLabels: { foo1: 'bar1', foo2: 'bar2' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { foo3: 'bar3', foo4: 'bar4' } } }], ports: [{ port: 80 }] }],
    };
    const to = pod('default', 'foo1=bar1', 'foo2=bar2');
    expect(verdict(spec, pod('default', 'foo3=bar3', 'foo4=bar4'), to, { direction: 'ingress' })).toBe('allowed');
    expect(verdict(spec, pod('default', 'foo3=bar3', 'foo4=bar4'), to, { direction: 'ingress', destPort: 81 })).toBe('denied');
    // The source needs every label of the peer, and the policy's namespace.
    expect(verdict(spec, pod('default', 'foo3=bar3'), to, { direction: 'ingress' })).toBe('denied');
    expect(verdict(spec, pod('other', 'foo3=bar3', 'foo4=bar4'), to, { direction: 'ingress' })).toBe('denied');
    // A pod the podSelector does not pick is not subject to it.
    expect(verdict(spec, pod('default', 'x=y'), pod('default', 'foo2=bar2'), { direction: 'ingress' })).toBe('allowed');
  });

  test('TestParseNetworkPolicyMultipleSelectors: namespace labels and several peers', () => {
    const spec = {
      podSelector: { matchLabels: { role: 'backend' } },
      egress: [
        {
          ports: [{ protocol: 'TCP', port: 5432 }],
          to: [{ podSelector: { matchLabels: { app: 'db1' } } }, { podSelector: { matchLabels: { app: 'db2' } } }],
        },
      ],
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { role: 'frontend' } }, namespaceSelector: { matchLabels: { project: 'myproject' } } },
            { podSelector: { matchLabels: { app: 'inventory' } } },
          ],
        },
      ],
    };
    const backend = pod('default', 'role=backend');
    expect(verdict(spec, pod('elsewhere', 'role=frontend'), backend, { direction: 'ingress' })).toBe('denied');
    expect(
      verdict(spec, pod('elsewhere', 'role=frontend', 'io.cilium.k8s.namespace.labels.project=myproject'), backend, {
        direction: 'ingress',
      }),
    ).toBe('allowed');
    expect(verdict(spec, pod('default', 'app=inventory'), backend, { direction: 'ingress' })).toBe('allowed');
    expect(verdict(spec, backend, pod('default', 'app=db1'), { direction: 'egress', destPort: 5432 })).toBe('allowed');
    expect(verdict(spec, backend, pod('default', 'app=db2'), { direction: 'egress', destPort: 5432 })).toBe('allowed');
    expect(verdict(spec, backend, pod('default', 'app=db2'), { direction: 'egress', destPort: 5433 })).toBe('denied');
  });

  test('TestParseNetworkPolicyNoSelectors: an ipBlock is a CIDR rule with its except, for addresses outside the cluster', () => {
    const spec = {
      podSelector: { matchLabels: { role: 'backend' } },
      ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.96.0.0/12'] } }] }],
    };
    const backend = pod('myns', 'role=backend');
    expect(verdict(spec, world('10.1.2.3'), backend, { direction: 'ingress' }, 'myns')).toBe('allowed');
    expect(verdict(spec, world('10.96.0.1'), backend, { direction: 'ingress' }, 'myns')).toBe('denied');
    expect(verdict(spec, world('192.168.1.1'), backend, { direction: 'ingress' }, 'myns')).toBe('denied');
    // CIDR rules never select pods (a pod at 10.0.1.2 is not "10.0.0.0/8" to Cilium).
    expect(verdict(spec, pod('myns', 'app=x'), backend, { direction: 'ingress' }, 'myns')).toBe('denied');
  });

  test('TestParseNetworkPolicyEgressAllowAll / EgressL4AllowAll / EgressL4PortRangeAllowAll: `to: []`', () => {
    expect(verdict({ ...selectA, egress: [{ to: [] }] }, A, B, { direction: 'egress' })).toBe('allowed');
    expect(verdict({ ...selectA, egress: [{ to: [] }] }, A, world('1.1.1.1'), { direction: 'egress', destPort: 90 })).toBe('allowed');
    const port80 = { ...selectA, egress: [{ ports: [{ port: 80 }], to: [] }] };
    expect(verdict(port80, A, C, { direction: 'egress', destPort: 80 })).toBe('allowed');
    expect(verdict(port80, A, C, { direction: 'egress', destPort: 90 })).toBe('denied');
    const range = { ...selectA, egress: [{ ports: [{ port: 8080, endPort: 8090 }], to: [] }] };
    for (const [port, expected] of [
      [8080, 'allowed'],
      [8085, 'allowed'],
      [8090, 'allowed'],
      [8091, 'denied'],
    ] as const)
      expect(verdict(range, A, C, { direction: 'egress', destPort: port })).toBe(expected);
  });

  test('TestParseNetworkPolicyIngressAllowAll / IngressL4AllowAll: `from: []` allows every source, world included', () => {
    expect(verdict({ ...selectC, ingress: [{ from: [] }] }, A, C, { direction: 'ingress', destPort: 90 })).toBe('allowed');
    expect(verdict({ ...selectC, ingress: [{ from: [] }] }, world('8.8.8.8'), C, { direction: 'ingress' })).toBe('allowed');
    expect(verdict({ ...selectC, ingress: [{ from: [] }] }, A, B, { direction: 'ingress' })).toBe('allowed');
    const port80 = { ...selectC, ingress: [{ ports: [{ port: 80 }], from: [] }] };
    expect(verdict(port80, A, C, { direction: 'ingress', destPort: 80 })).toBe('allowed');
    expect(verdict(port80, A, C, { direction: 'ingress', destPort: 90 })).toBe('denied');
  });

  test('TestParseNetworkPolicyEmptyPort / TestParsePorts: a port entry without a port is every TCP port', () => {
    const spec = { ...selectC, ingress: [{ ports: [{}] }] };
    expect(networkPolicy(spec).rules[0]!.ingress![0]!.toPorts).toEqual([{ ports: [{ port: 0, endPort: null, protocol: 'TCP' }] }]);
    expect(verdict(spec, A, C, { direction: 'ingress', destPort: 12345 })).toBe('allowed');
    expect(verdict(spec, A, C, { direction: 'ingress', protocol: 'UDP', destPort: 53 })).toBe('denied');
  });

  test('TestParseNetworkPolicyUnknownProto: a protocol Kubernetes does not know is refused', () => {
    expect(() => networkPolicy({ ...selectC, ingress: [{ ports: [{ port: 'port-80', protocol: 'unknown' }] }] })).toThrow(
      PolicyValidationError,
    );
  });

  test('TestParseNetworkPolicyDenyAll: no rules, no policyTypes = ingress default deny; egress untouched', () => {
    expect(verdict({ podSelector: {} }, A, C, { direction: 'ingress' })).toBe('denied');
    expect(verdict({ podSelector: {} }, A, C, { direction: 'egress' })).toBe('allowed');
    // policyTypes [Egress] alone: egress default deny, ingress untouched.
    expect(verdict({ podSelector: {}, policyTypes: ['Egress'] }, A, C, { direction: 'egress' })).toBe('denied');
    expect(verdict({ podSelector: {}, policyTypes: ['Egress'] }, A, C, { direction: 'ingress' })).toBe('allowed');
  });

  test('TestParseNetworkPolicyEmptyFrom: a rule with neither from nor ports allows every source', () => {
    expect(
      verdict({ podSelector: { matchLabels: { foo1: 'bar1' } }, ingress: [{}] }, pod('default', 'foo0=bar0'), pod('default', 'foo1=bar1'), {
        direction: 'ingress',
      }),
    ).toBe('allowed');
  });

  test('TestNetworkPolicyExamples 1b and 2b: two rules are a union; namespace labels select pods of any namespace', () => {
    const ex1b = {
      podSelector: { matchLabels: { role: 'backend' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { role: 'frontend' } } }] }, { ports: [{ protocol: 'TCP', port: 6379 }] }],
    };
    const backend = pod('myns', 'role=backend');
    expect(verdict(ex1b, pod('myns', 'role=frontend'), backend, { direction: 'ingress', destPort: 1 }, 'myns')).toBe('allowed');
    expect(verdict(ex1b, pod('default', 'role=other'), backend, { direction: 'ingress', destPort: 6379 }, 'myns')).toBe('allowed');
    expect(verdict(ex1b, pod('default', 'role=frontend'), backend, { direction: 'ingress', destPort: 1 }, 'myns')).toBe('denied');
    const ex2b = {
      podSelector: { matchLabels: { role: 'frontend' } },
      ingress: [{ ports: [{ protocol: 'TCP', port: 443 }], from: [{ namespaceSelector: { matchLabels: { user: 'bob' } } }] }],
    };
    const frontend = pod('default', 'role=frontend');
    const bob = pod('myns', 'io.cilium.k8s.namespace.labels.user=bob');
    expect(verdict(ex2b, bob, frontend, { direction: 'ingress', destPort: 80 })).toBe('denied');
    expect(verdict(ex2b, bob, frontend, { direction: 'ingress', destPort: 443 })).toBe('allowed');
  });
});

describe('beside Cilium policies', () => {
  test('allow rules of both kinds are one union; Cilium deny rules still win', () => {
    const denyWorld = policies(`apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: no-world, namespace: default}
spec:
  endpointSelector: {}
  ingressDeny:
  - fromEntities: [world]
`);
    const np = networkPolicy({ ...selectC, ingress: [{ from: [] }] });
    const flow = (source: CiliumPeer): CiliumFlow => ({
      protocol: 'TCP',
      destPort: 80,
      destNames: null,
      source,
      destination: C,
      direction: 'ingress',
    });
    expect(evaluateCiliumFlow([np, ...denyWorld], flow(A)).verdict).toBe('allowed');
    expect(evaluateCiliumFlow([np, ...denyWorld], flow(world('8.8.8.8'))).verdict).toBe('denied');
    expect(evaluateCiliumFlow([np, ...denyWorld], flow(entity('host'))).verdict).toBe('allowed');
  });

  test('a tree with Cilium policies reads its NetworkPolicies too; invalid ones and Calico kinds are named', () => {
    const tree = new Map([
      [
        'ccnp.yaml',
        'apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: dd}\nspec: {endpointSelector: {}, ingress: [{}]}\n',
      ],
      [
        'np.yaml',
        'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec: {podSelector: {}, ingress: [{}]}\n',
      ],
      [
        'bad.yaml',
        'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad, namespace: shop}\nspec: {podSelector: {}, ingress: [{ports: [{port: 0}]}]}\n',
      ],
      ['calico.yaml', 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: gnp}\nspec: {selector: all()}\n'],
    ]);
    const set = ciliumPolicySetFromTree(tree)!;
    expect(set.policies.map((p) => `${p.kind} ${p.namespace ?? ''}/${p.name}`)).toEqual([
      'CiliumClusterwideNetworkPolicy /dd',
      'NetworkPolicy shop/web',
    ]);
    expect(set.warnings.map((w) => `${w.path}: ${w.object}`)).toEqual(['bad.yaml: NetworkPolicy shop/bad']);
    expect(set.otherPolicies).toEqual(['GlobalNetworkPolicy gnp']);
    // A tree of NetworkPolicies alone is not a Cilium tree.
    expect(ciliumPolicySetFromTree(new Map([['np.yaml', tree.get('np.yaml')!]]))).toBeNull();
    expect(parse(tree.get('np.yaml')!).kind).toBe('NetworkPolicy');
  });
});
