// The Cilium evaluator finds the policies and entries that can decide a flow by namespace
// (src/simulate/cilium/policy-index.ts) instead of trying each one. The index must change nothing:
// the same verdicts, reasons and deciding policies as trying every policy and entry, on a hub
// scenario's recommended policies and on hand-written policies with the shapes that must not be
// skipped (namespace expressions other than In, `any:` keys, namespace labels of the peer
// namespace, empty peer lists with ports, clusterwide rules, deny and requires sections, a
// Kubernetes NetworkPolicy), for pods whose labels are known, unknown or only in part, entities
// and addresses. A mutation that skips on the wrong namespace, or drops the clusterwide policies,
// fails it.

import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { parseCiliumPolicy } from '../../../src/cilium/parse-policy.ts';
import type { CiliumPolicy } from '../../../src/cilium/types.ts';
import { evaluateCiliumFlow } from '../../../src/simulate/cilium/evaluate.ts';
import type { CiliumFlow, CiliumPeer, ReservedEntity } from '../../../src/simulate/cilium/flow.ts';
import { kubernetesPolicyAsCilium } from '../../../src/simulate/cilium/kubernetes-policy.ts';
import { ciliumPoliciesOf, config, egress, ingress, run, wep } from '../../support/engine.ts';

const NAMESPACES = ['hub', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'];

function policy(doc: unknown): CiliumPolicy {
  const parsed = parseCiliumPolicy(doc);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.policy;
}

const ports = (port: string) => [{ ports: [{ port, protocol: 'TCP' }] }];
const toNs = (ns: string, port = '80') => ({
  toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': ns } }],
  toPorts: ports(port),
});
const fromNs = (ns: string, port = '80') => ({
  fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': ns } }],
  toPorts: ports(port),
});

/** A hub's policy with one entry per peer namespace, and every shape the index must try whole. */
const HAND_WRITTEN: CiliumPolicy[] = [
  policy({
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'hub-peers', namespace: 'hub' },
    spec: {
      endpointSelector: {},
      egress: [
        ...NAMESPACES.slice(1, 9).map((ns) => toNs(ns)),
        // Two namespaces in one expression, a NotIn, an `any:` key, the peer namespace's own labels, no namespace at all.
        {
          toEndpoints: [{ matchExpressions: [{ key: 'k8s:io.kubernetes.pod.namespace', operator: 'In', values: ['i', 'j'] }] }],
          toPorts: ports('81'),
        },
        {
          toEndpoints: [{ matchExpressions: [{ key: 'k8s:io.kubernetes.pod.namespace', operator: 'NotIn', values: ['a'] }] }],
          toPorts: ports('82'),
        },
        { toEndpoints: [{ matchLabels: { 'any:io.kubernetes.pod.namespace': 'k' } }], toPorts: ports('83') },
        { toEndpoints: [{ matchLabels: { 'k8s:io.cilium.k8s.namespace.labels.team': 'x' } }], toPorts: ports('84') },
        { toEndpoints: [{ matchLabels: { app: 'web' } }], toPorts: ports('85') },
        { toEndpoints: [], toPorts: ports('86') },
        { toCIDRSet: [{ cidr: '10.0.0.0/8' }], toPorts: ports('87') },
        { toEntities: ['cluster'], toPorts: ports('88') },
        {
          toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'a' } }, { matchLabels: { app: 'db' } }],
          toPorts: ports('89'),
        },
        { toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'b' } }], toRequires: [{ matchLabels: { env: 'prod' } }] },
      ],
      egressDeny: NAMESPACES.slice(9).map((ns) => ({
        toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': ns } }],
        toPorts: ports('90'),
      })),
      ingress: NAMESPACES.slice(1).map((ns) => fromNs(ns)),
    },
  }),
  policy({
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumClusterwideNetworkPolicy',
    metadata: { name: 'to-hub' },
    spec: {
      endpointSelector: { matchLabels: { app: 'client' } },
      egress: [
        ...NAMESPACES.slice(0, 9).map((ns) => toNs(ns, '443')),
        { toEndpoints: [{ matchLabels: { app: 'dns' } }], toPorts: ports('53') },
      ],
    },
  }),
  policy({
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumClusterwideNetworkPolicy',
    metadata: { name: 'every-endpoint' },
    spec: {
      endpointSelector: {},
      ingress: [{ fromEntities: ['world'], toPorts: ports('443') }],
      egress: [{ toEntities: ['world'], toPorts: ports('443') }],
    },
  }),
  kubernetesPolicyAsCilium({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'np', namespace: 'a' },
    spec: {
      podSelector: {},
      ingress: NAMESPACES.map((ns) => ({
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } }],
        ports: [{ port: 80 }],
      })),
    },
  }),
  ...NAMESPACES.slice(1).map((ns) =>
    policy({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name: `to-hub-${ns}`, namespace: ns },
      spec: { endpointSelector: {}, egress: [toNs('hub'), toNs('hub', '443')], ingress: [fromNs('hub')] },
    }),
  ),
];

const label = (key: string, value: string, source = 'k8s') => ({ source, key, value });
const ENTITIES: ReservedEntity[] = ['host', 'remote-node', 'kube-apiserver', 'world', 'health', 'ingress', 'init', 'unmanaged'];

// Most flows leave or reach the hub, at pods: where the index skips most.
const namespace = fc.oneof({ weight: 2, arbitrary: fc.constant('hub') }, { weight: 3, arbitrary: fc.constantFrom(...NAMESPACES) });
const pod: fc.Arbitrary<CiliumPeer> = fc
  .record({
    namespace,
    labels: fc.oneof(
      fc.constant(null),
      fc.subarray([label('app', 'web'), label('app', 'client'), label('env', 'prod'), label('io.cilium.k8s.namespace.labels.team', 'x')]),
      // A namespace label of its own that disagrees with the pod's namespace, or one of another source.
      fc.constantFrom([label('io.kubernetes.pod.namespace', 'b')], [label('io.kubernetes.pod.namespace', 'k', 'unspec')]),
    ),
    partial: fc.boolean(),
  })
  .map(
    ({ namespace, labels, partial }): CiliumPeer => ({
      kind: 'pod',
      namespace,
      labels,
      ...(partial ? { absenceKnown: (key: { key: string }) => key.key === 'app' } : {}),
      ip: '10.1.2.3',
    }),
  );
const peer: fc.Arbitrary<CiliumPeer> = fc.oneof(
  { weight: 6, arbitrary: pod },
  { weight: 1, arbitrary: fc.constantFrom(...ENTITIES).map((entity): CiliumPeer => ({ kind: 'entity', entity, ip: null })) },
  { weight: 1, arbitrary: fc.constantFrom('10.9.9.9', '192.0.2.1').map((ip): CiliumPeer => ({ kind: 'ip', ip })) },
);

const flow: fc.Arbitrary<CiliumFlow> = fc.record({
  source: peer,
  destination: peer,
  protocol: fc.constantFrom('TCP' as const, 'UDP' as const),
  destPort: fc.constantFrom(53, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 443),
  destNames: fc.constant(null),
  direction: fc.constantFrom('both' as const, 'egress' as const, 'ingress' as const),
});

describe('the Cilium evaluator with its policy index', () => {
  test('hand-written policies: the same verdicts, reasons and deciding policies as trying each one', () => {
    fc.assert(
      fc.property(flow, (f) => {
        expect(evaluateCiliumFlow(HAND_WRITTEN, f, {}, 'indexed')).toEqual(evaluateCiliumFlow(HAND_WRITTEN, f, {}, 'every'));
      }),
      { numRuns: 10000, seed: 14 },
    );
  });

  test("a hub's recommended policies (one entry per peer): the same answers, for the hub's flows and others", async () => {
    const peers = NAMESPACES.slice(1);
    const records = peers.flatMap((ns) => [
      egress('hub', wep(ns, 'api-*', ['app=api']), { port: 8080 }),
      ingress('hub', wep(ns, 'client-*', ['app=client']), { port: 80 }),
      egress(ns, wep('hub', 'web-*', ['app=web']), { port: 80 }),
    ]);
    const plan = await run(records, { config: config({ flavor: 'cilium' }) });
    const policies = ciliumPoliciesOf(plan.tree);
    // The hub's own policy has an entry per peer namespace: the index has something to skip.
    const hub = policies.find((p) => p.namespace === 'hub')!;
    expect(hub.rules.flatMap((r) => r.egress ?? []).length).toBeGreaterThanOrEqual(8);
    fc.assert(
      fc.property(flow, (f) => {
        expect(evaluateCiliumFlow(policies, f, {}, 'indexed')).toEqual(evaluateCiliumFlow(policies, f, {}, 'every'));
      }),
      { numRuns: 2000, seed: 15 },
    );
    // And the flows it was built from are allowed, others denied, as before.
    const pod = (namespace: string, app: string): CiliumPeer => ({ kind: 'pod', namespace, labels: [label('app', app)], ip: null });
    const at = (source: CiliumPeer, destination: CiliumPeer, port: number) =>
      evaluateCiliumFlow(policies, { source, destination, protocol: 'TCP', destPort: port, destNames: null, direction: 'egress' }).verdict;
    expect(at(pod('hub', 'web'), pod('e', 'api'), 8080)).toBe('allowed');
    expect(at(pod('hub', 'web'), pod('unknown', 'api'), 8080)).toBe('denied');
  });
});
