// The cilium flavour (src/engine/flavors/cilium.ts): each rule shape it writes, checked against the
// Cilium evaluator (src/simulate/cilium/evaluate.ts) and the boundary parser
// (src/cilium/parse-policy.ts); golden files of a namespace policy and a workload policy; updates
// keep people's rules and comments; microsegmentation leaves the workloads' pods out of the
// namespace policy. Cilium files named per test (the trees cilium/cilium-cli vendors: v0.16.14 =
// Cilium v1.16.0, v0.19.7 = main of 2026-07-28).

import { describe, expect, test } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { parseCiliumPolicy } from '../../src/cilium/parse-policy.ts';
import type { CiliumPolicy } from '../../src/cilium/types.ts';
import { exclusionLabel, subjectSelector, typed } from '../../src/engine/flavors/cilium.ts';
import type { FlowEndpoint } from '../../src/flows/record.ts';
import { evaluateCiliumFlow } from '../../src/simulate/cilium/evaluate.ts';
import type { CiliumFlow, CiliumPeer } from '../../src/simulate/cilium/flow.ts';
import { config, deploymentPods, egress, flow, HOUR, ingress, NOW, net, networkSet, pub, pvt, run, wep } from '../support/engine.ts';
import { expectGolden } from '../support/golden.ts';

const cilium = (overrides: Record<string, unknown> = {}) => config({ flavor: 'cilium', ...overrides });

/** Every document of every file written, parsed as Cilium's API server and agent would accept it. */
function ciliumPolicies(tree: ReadonlyMap<string, string>): CiliumPolicy[] {
  const out: CiliumPolicy[] = [];
  for (const [path, text] of tree) {
    for (const doc of parseAllDocuments(text)) {
      const parsed = parseCiliumPolicy(doc.toJS());
      if (!parsed.ok) throw new Error(`${path}: ${JSON.stringify(parsed.issues)}`);
      out.push(parsed.policy);
    }
  }
  return out;
}

const pod = (namespace: string, labels: Record<string, string> = {}): CiliumPeer => ({
  kind: 'pod',
  namespace,
  labels: Object.entries(labels).map(([key, value]) => ({ source: 'k8s', key, value })),
  ip: null,
});
const world = (ip: string): CiliumPeer => ({ kind: 'ip', ip });

function verdict(
  policies: readonly CiliumPolicy[],
  f: Omit<CiliumFlow, 'destNames'> & { destNames?: string[] },
  direction: 'egress' | 'ingress',
) {
  return evaluateCiliumFlow(policies, { destNames: null, ...f, direction }).verdict;
}

describe('rule shapes', () => {
  test('pods of a namespace: toEndpoints/fromEndpoints with k8s:io.kubernetes.pod.namespace, numeric toPorts with the protocol', async () => {
    const plan = await run([egress('shop', wep('pay'), { port: 8443 }), ingress('shop', wep('web'), { port: 8080, protocol: 'UDP' })], {
      config: cilium(),
    });
    const policy = plan.tree.get('namespace-isolation/shop.yaml')!;
    expect(policy).toContain('kind: CiliumNetworkPolicy');
    const policies = ciliumPolicies(plan.tree);
    // utils.go getEndpointSelector (v1.16.0): the peer's namespace is written, so no injection narrows it.
    expect(verdict(policies, { source: pod('shop'), destination: pod('pay'), protocol: 'TCP', destPort: 8443 }, 'egress')).toBe('allowed');
    expect(verdict(policies, { source: pod('shop'), destination: pod('pay'), protocol: 'TCP', destPort: 8444 }, 'egress')).toBe('denied');
    // ANY would be wrong: the record said UDP (l4.go: ANY = TCP, UDP and SCTP).
    expect(verdict(policies, { source: pod('web'), destination: pod('shop'), protocol: 'UDP', destPort: 8080 }, 'ingress')).toBe('allowed');
    expect(verdict(policies, { source: pod('web'), destination: pod('shop'), protocol: 'TCP', destPort: 8080 }, 'ingress')).toBe('denied');
    expect(verdict(policies, { source: pod('other'), destination: pod('shop'), protocol: 'UDP', destPort: 8080 }, 'ingress')).toBe(
      'denied',
    );
  });

  test("addresses: Felix's pvt and pub as toCIDRSet, public IPv4 = 0.0.0.0/0 except RFC 1918 (getSubnetType, felix/collector/types/endpoint/endpoint.go, release-v3.31)", async () => {
    const plan = await run([egress('shop', pub, { port: 443 }), egress('shop', pvt, { port: 5432 })], { config: cilium() });
    const spec = (parseAllDocuments(plan.tree.get('namespace-isolation/shop.yaml')!)[0]!.toJS() as any).spec;
    expect(spec.egress).toEqual([
      {
        toCIDRSet: [{ cidr: '10.0.0.0/8' }, { cidr: '172.16.0.0/12' }, { cidr: '192.168.0.0/16' }],
        toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }],
      },
      {
        toCIDRSet: [{ cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] }],
        toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }],
      },
    ]);
    const policies = ciliumPolicies(plan.tree);
    expect(verdict(policies, { source: pod('shop'), destination: world('8.8.8.8'), protocol: 'TCP', destPort: 443 }, 'egress')).toBe(
      'allowed',
    );
    // Never wider than the class: a private address is not public.
    expect(verdict(policies, { source: pod('shop'), destination: world('10.1.2.3'), protocol: 'TCP', destPort: 443 }, 'egress')).toBe(
      'denied',
    );
    expect(verdict(policies, { source: pod('shop'), destination: world('10.1.2.3'), protocol: 'TCP', destPort: 5432 }, 'egress')).toBe(
      'allowed',
    );
    // CIDR rules never select pods (pkg/policy/types/selector.go, main), even inside the range.
    expect(verdict(policies, { source: pod('shop'), destination: pod('db'), protocol: 'TCP', destPort: 5432 }, 'egress')).toBe('denied');
  });

  test('domains: toFQDNs matchName, never a world rule, plus the DNS-proxy rule to kube-dns on 53/UDP and 53/TCP (examples/kubernetes-dns/dns-matchname.yaml)', async () => {
    const plan = await run([egress('shop', net('52.1.2.3', 'pub'), { port: 443, domains: ['api.stripe.com'] })], { config: cilium() });
    const spec = (parseAllDocuments(plan.tree.get('namespace-isolation/shop.yaml')!)[0]!.toJS() as any).spec;
    expect(spec.egress).toEqual([
      { toFQDNs: [{ matchName: 'api.stripe.com' }], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] },
      {
        toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' } }],
        toPorts: [
          {
            ports: [
              { port: '53', protocol: 'TCP' },
              { port: '53', protocol: 'UDP' },
            ],
            rules: { dns: [{ matchPattern: '*' }] },
          },
        ],
      },
    ]);
    const policies = ciliumPolicies(plan.tree);
    const to = (names: string[]) => ({
      source: pod('shop'),
      destination: world('52.1.2.3'),
      protocol: 'TCP' as const,
      destPort: 443,
      destNames: names,
    });
    expect(verdict(policies, to(['api.stripe.com']), 'egress')).toBe('allowed');
    expect(verdict(policies, to(['evil.example.com']), 'egress')).toBe('denied');
    const dns = { source: pod('shop'), destination: pod('kube-system', { 'k8s-app': 'kube-dns' }), destPort: 53 };
    expect(verdict(policies, { ...dns, protocol: 'UDP' }, 'egress')).toBe('allowed');
    expect(verdict(policies, { ...dns, protocol: 'TCP' }, 'egress')).toBe('allowed');
  });

  test('egress to port 53 of in-cluster DNS goes through the DNS proxy, so that FQDN rules learn addresses from it (layer7.rst: an L4-only rule would void the L7 one)', async () => {
    const plan = await run([egress('shop', wep('kube-system'), { port: 53, protocol: 'UDP' }), egress('shop', wep('pay'), { port: 80 })], {
      config: cilium(),
    });
    const spec = (parseAllDocuments(plan.tree.get('namespace-isolation/shop.yaml')!)[0]!.toJS() as any).spec;
    expect(spec.egress[0]).toEqual({
      toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system' } }],
      toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }], rules: { dns: [{ matchPattern: '*' }] } }],
    });
    expect(spec.egress[1].toPorts).toEqual([{ ports: [{ port: '80', protocol: 'TCP' }] }]);
  });

  test("Cilium's entities (Hubble's reserved identities): toEntities/fromEntities for nodes and the API server, never a CIDR, which never selects them (pkg/policy/types/selector.go, main)", async () => {
    const remoteNode: FlowEndpoint = {
      type: 'hep',
      name: 'remote-node',
      namespace: null,
      labels: [],
      ip: '10.0.0.5',
      entity: 'remote-node',
    };
    const apiServer: FlowEndpoint = { type: 'net', name: 'pvt', namespace: null, labels: [], ip: '10.96.0.1', entity: 'kube-apiserver' };
    const records = [egress('shop', apiServer, { port: 6443 }), ingress('shop', remoteNode, { port: 10250 })];
    const plan = await run(records, { config: cilium() });
    const spec = (parseAllDocuments(plan.tree.get('namespace-isolation/shop.yaml')!)[0]!.toJS() as any).spec;
    expect(spec.ingress).toEqual([{ fromEntities: ['remote-node'], toPorts: [{ ports: [{ port: '10250', protocol: 'TCP' }] }] }]);
    expect(spec.egress).toEqual([{ toEntities: ['kube-apiserver'], toPorts: [{ ports: [{ port: '6443', protocol: 'TCP' }] }] }]);
    const policies = ciliumPolicies(plan.tree);
    const node: CiliumPeer = { kind: 'entity', entity: 'remote-node', ip: '10.0.0.5' };
    const api: CiliumPeer = { kind: 'entity', entity: 'kube-apiserver', ip: '10.96.0.1' };
    expect(verdict(policies, { source: node, destination: pod('shop'), protocol: 'TCP', destPort: 10250 }, 'ingress')).toBe('allowed');
    expect(verdict(policies, { source: pod('shop'), destination: api, protocol: 'TCP', destPort: 6443 }, 'egress')).toBe('allowed');
    expect(verdict(policies, { source: world('10.0.0.5'), destination: pod('shop'), protocol: 'TCP', destPort: 10250 }, 'ingress')).toBe(
      'denied',
    );
    // The other flavours do not learn entities: a node is a host endpoint, the API server an address.
    const calico = await run(records, { config: config() });
    expect(calico.tree.get('namespace-isolation/shop.yaml')).not.toContain('remote-node');
  });

  test('ICMP and an unreported port: all traffic to the peer, port 0 = every port of the protocol (l4.go), each said', async () => {
    const plan = await run([egress('shop', wep('pay'), { protocol: 'ICMP', port: null }), egress('shop', wep('db'), { port: null })], {
      config: cilium(),
    });
    const spec = (parseAllDocuments(plan.tree.get('namespace-isolation/shop.yaml')!)[0]!.toJS() as any).spec;
    expect(spec.egress).toEqual([
      {
        toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'db' } }],
        toPorts: [{ ports: [{ port: '0', protocol: 'TCP' }] }],
      },
      { toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'pay' } }] },
    ]);
    const notes = plan.namespaces[0]!.warnings.filter((w) => w.code === 'approximation').map((w) => w.message);
    expect(notes.join('\n')).toMatch(/ICMP to namespace:pay is allowed as all traffic/);
    expect(notes.join('\n')).toMatch(/TCP to namespace:db is allowed on every port \(port 0\)/);
  });

  test('network sets (Calico only) become the address classes they were seen at; services toServices with their namespace', async () => {
    const plan = await run(
      [
        egress('shop', networkSet('feeds', null, '203.0.113.7'), { port: 443 }),
        egress(
          'shop',
          { type: 'wep', name: '-', namespace: 'pay', labels: [], ip: null },
          { port: 80, service: { name: 'api', namespace: 'pay' } },
        ),
      ],
      { config: cilium() },
    );
    const spec = (parseAllDocuments(plan.tree.get('namespace-isolation/shop.yaml')!)[0]!.toJS() as any).spec;
    expect(spec.egress).toContainEqual({
      toServices: [{ k8sService: { serviceName: 'api', namespace: 'pay' } }],
      toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }],
    });
    expect(spec.egress).toContainEqual({
      toCIDRSet: [{ cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] }],
      toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }],
    });
  });

  test("a person's entry without peers (`egress: [{}]`, which allows nothing) does not stand in for a service's rule", async () => {
    const pay = { type: 'wep', name: '-', namespace: 'pay', labels: [], ip: null } as const;
    const first = await run([egress('shop', wep('db'), { port: 5432 })], { config: cilium() });
    const path = 'namespace-isolation/shop.yaml';
    const written = first.tree.get(path)!.replace(/^ {2}egress:\n/m, '  egress:\n    - {}\n');
    expect(written).toContain('  egress:\n    - {}\n');
    const second = await run([egress('shop', pay, { port: 80, service: { name: 'api', namespace: 'pay' } })], {
      config: cilium(),
      tree: new Map(first.tree).set(path, written),
      now: NOW + HOUR,
    });
    const spec = (parseAllDocuments(second.tree.get(path)!)[0]!.toJS() as any).spec;
    expect(spec.egress[0]).toEqual({});
    expect(spec.egress).toContainEqual({
      toServices: [{ k8sService: { serviceName: 'api', namespace: 'pay' } }],
      toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }],
    });
  });

  test('more than 40 ports: port rules of at most 40 (rule_validation.go maxPorts, v1.16.0 and main)', async () => {
    const records = Array.from({ length: 45 }, (_, i) => egress('shop', wep('pay'), { port: 1000 + i }));
    const plan = await run(records, { config: cilium() });
    const spec = (parseAllDocuments(plan.tree.get('namespace-isolation/shop.yaml')!)[0]!.toJS() as any).spec;
    expect(spec.egress).toHaveLength(1);
    expect(spec.egress[0].toPorts.map((pr: any) => pr.ports.length)).toEqual([40, 5]);
    ciliumPolicies(plan.tree);
  });

  test('typed: a rule Cilium would refuse is no rule of ours and matches nothing', () => {
    expect(typed({ toEndpoints: [{ matchLabels: { 'k8s:app': 'x' } }], toCIDR: ['10.0.0.0/8'] }, 'egress', 'shop')).toBeNull();
    expect(typed({ toEndpoints: [{}] }, 'egress', 'shop')).not.toBeNull();
  });
});

describe('files', () => {
  const records = [
    ingress('shop', deploymentPods('shop', 'web', { app: 'web' }), { port: 8080 }),
    flow(deploymentPods('shop', 'web', { app: 'web' }), deploymentPods('shop', 'api', { app: 'api', tier: 'backend' }), {
      port: 9000,
      reporter: 'src',
    }),
    flow(deploymentPods('shop', 'web', { app: 'web' }), deploymentPods('shop', 'api', { app: 'api', tier: 'backend' }), {
      port: 9000,
      reporter: 'dst',
    }),
    flow(deploymentPods('shop', 'api', { app: 'api', tier: 'backend' }), net('52.1.2.3', 'pub'), {
      port: 443,
      domains: ['api.stripe.com'],
      reporter: 'src',
    }),
    flow(deploymentPods('shop', 'api', { app: 'api', tier: 'backend' }), pvt, { port: 5432, reporter: 'src' }),
    flow(deploymentPods('shop', 'api', { app: 'api', tier: 'backend' }), wep('kube-system', 'coredns-*', ['k8s-app=kube-dns']), {
      port: 53,
      protocol: 'UDP',
      reporter: 'src',
    }),
  ];

  test('golden: a namespace CiliumNetworkPolicy', async () => {
    const plan = await run(records, { config: cilium() });
    expectGolden(new URL('./__golden__/cilium-namespace-policy.yaml', import.meta.url), plan.tree.get('namespace-isolation/shop.yaml')!);
  });

  test('golden: a workload CiliumNetworkPolicy, and the namespace policy leaving its pods out', async () => {
    const plan = await run(records, { config: cilium({ microsegmentation: { enabled: true, select: { namespaces: ['shop'] } } }) });
    expectGolden(new URL('./__golden__/cilium-workload-policy.yaml', import.meta.url), plan.tree.get('appsec/shop/deployment-api.yaml')!);
    const ns = parseAllDocuments(plan.tree.get('namespace-isolation/shop.yaml')!)[0]!.toJS() as any;
    expect(ns.spec.endpointSelector).toEqual({ matchExpressions: [{ key: 'k8s:app', operator: 'NotIn', values: ['api', 'web'] }] });
  });

  test('the clusterwide default deny of the Cilium template is written, and parses', async () => {
    const plan = await run(records, { config: cilium() });
    expect([...plan.changes.keys()].sort()).toEqual(['default-deny.yaml', 'namespace-isolation/shop.yaml']);
    const [deny] = ciliumPolicies(new Map([['default-deny.yaml', plan.tree.get('default-deny.yaml')!]]));
    expect(deny!.kind).toBe('CiliumClusterwideNetworkPolicy');
    // Default deny both ways for pods of other namespaces; DNS to kube-dns stays allowed.
    const policies = [deny!];
    expect(verdict(policies, { source: pod('x'), destination: pod('y'), protocol: 'TCP', destPort: 80 }, 'ingress')).toBe('denied');
    expect(verdict(policies, { source: pod('x'), destination: pod('y'), protocol: 'TCP', destPort: 80 }, 'egress')).toBe('denied');
    const dns = { source: pod('x'), destination: pod('kube-system', { 'k8s-app': 'kube-dns' }), destPort: 53 };
    expect(verdict(policies, { ...dns, protocol: 'UDP' }, 'egress')).toBe('allowed');
    expect(verdict(policies, { ...dns, protocol: 'TCP' }, 'egress')).toBe('allowed');
    // kube-system is left alone.
    expect(verdict(policies, { source: pod('x'), destination: pod('kube-system'), protocol: 'TCP', destPort: 80 }, 'ingress')).toBe(
      'allowed',
    );
  });

  test("an update keeps people's rules, comments and the rules' first-added times; a second run with nothing new changes nothing", async () => {
    const first = await run(records, { config: cilium() });
    const path = 'namespace-isolation/shop.yaml';
    const edited = first.tree
      .get(path)!
      .replace('spec:\n', '# our team reviewed this\nspec:\n')
      .replace('  ingress:\n', '  ingress:\n    # the load balancer\n    - fromCIDRSet:\n        - cidr: 198.51.100.0/24\n');
    const second = await run([...records, ingress('shop', wep('mon'), { port: 9090, start: NOW - HOUR / 2 })], {
      config: cilium(),
      tree: new Map([...first.tree, [path, edited]]),
      now: NOW + HOUR,
    });
    const text = second.tree.get(path)!;
    expect(text).toContain('# our team reviewed this');
    expect(text).toContain('# the load balancer');
    expect(text).toContain('cidr: 198.51.100.0/24');
    expect(text).toContain('k8s:io.kubernetes.pod.namespace: mon');
    const third = await run([], { config: cilium(), tree: second.tree, now: NOW + 2 * HOUR });
    expect(third.changes.get(path)).toBeUndefined();
  });
});

describe('microsegmentation: the namespace policy leaves out exactly the pods of workloads with their own policies', () => {
  test("turning microsegmentation on and off updates the namespace policy's selector; a selector a person wrote stays", async () => {
    const records = [
      flow(deploymentPods('shop', 'web', { app: 'web' }), deploymentPods('shop', 'api', { app: 'api' }), { port: 9000, reporter: 'src' }),
      flow(deploymentPods('shop', 'web', { app: 'web' }), deploymentPods('shop', 'api', { app: 'api' }), { port: 9000, reporter: 'dst' }),
    ];
    const path = 'namespace-isolation/shop.yaml';
    const selectorOf = (tree: ReadonlyMap<string, string>) => (parseAllDocuments(tree.get(path)!)[0]!.toJS() as any).spec.endpointSelector;
    const first = await run(records, { config: cilium() });
    expect(selectorOf(first.tree)).toEqual({});
    const segmented = cilium({ microsegmentation: { enabled: true, select: { workloads: ['shop/api'] } } });
    const second = await run(records, { config: segmented, tree: first.tree, now: NOW + HOUR });
    expect(selectorOf(second.tree)).toEqual({ matchExpressions: [{ key: 'k8s:app', operator: 'NotIn', values: ['api'] }] });
    // The selection changed what the policy decides: its last-updated time moves.
    expect(second.tree.get(path)).toContain(
      `policy-recommender.io/last-updated: "${new Date((NOW + HOUR) * 1000).toISOString().replace('.000Z', 'Z')}"`,
    );
    const third = await run(records, { config: cilium(), tree: second.tree, now: NOW + 2 * HOUR });
    expect(selectorOf(third.tree)).toEqual({});
    const theirs = third.tree.get(path)!.replace('endpointSelector: {}', 'endpointSelector:\n    matchLabels:\n      k8s:team: payments');
    const fourth = await run(records, { config: segmented, tree: new Map([...third.tree, [path, theirs]]), now: NOW + 3 * HOUR });
    expect(selectorOf(fourth.tree)).toEqual({ matchLabels: { 'k8s:team': 'payments' } });
  });

  test('exclusionLabel picks a label no other workload of the namespace has with that value', () => {
    const w = (name: string, labels: Record<string, string>) => ({ namespace: 'shop', kind: 'Deployment' as const, name, labels });
    const api = w('api', { app: 'shop', tier: 'api' });
    const web = w('web', { app: 'shop', tier: 'web' });
    expect(exclusionLabel(api, [api, web])).toEqual({ key: 'tier', value: 'api' });
    // Labels Cilium drops from identities cannot select (pkg/labelsfilter/filter.go, main).
    expect(exclusionLabel(w('x', { 'pod-template-hash': 'abc' }), [])).toBeNull();
    // Nothing tells a workload apart from one with a superset of its labels.
    expect(exclusionLabel(w('a', { app: 'shop' }), [w('a', { app: 'shop' }), w('b', { app: 'shop', tier: 'b' })])).toBeNull();
    expect(
      subjectSelector({
        namespace: 'shop',
        excluded: [
          { key: 'tier', value: 'web' },
          { key: 'tier', value: 'api' },
        ],
      }),
    ).toEqual({
      matchExpressions: [{ key: 'k8s:tier', operator: 'NotIn', values: ['api', 'web'] }],
    });
  });

  test("the evaluator: a workload's pods answer to its policy alone, the namespace's other pods to the namespace policy alone", async () => {
    const api = (r: 'src' | 'dst', other: FlowEndpoint, o: Record<string, unknown> = {}) =>
      r === 'src'
        ? flow(deploymentPods('shop', 'api', { app: 'api' }), other, { reporter: 'src', ...o })
        : flow(other, deploymentPods('shop', 'api', { app: 'api' }), { reporter: 'dst', ...o });
    const records = [
      api('dst', deploymentPods('shop', 'web', { app: 'web' }), { port: 9000 }),
      flow(deploymentPods('shop', 'web', { app: 'web' }), deploymentPods('shop', 'api', { app: 'api' }), { reporter: 'src', port: 9000 }),
      // The namespace learns ingress on 8080 from another namespace (to web only).
      flow(wep('edge'), deploymentPods('shop', 'web', { app: 'web' }), { reporter: 'dst', port: 8080 }),
      flow(deploymentPods('shop', 'batch', { app: 'batch' }), wep('edge'), { reporter: 'src', port: 8080 }),
    ];
    const plan = await run(records, {
      config: cilium({ microsegmentation: { enabled: true, select: { workloads: ['shop/api'] } } }),
    });
    const policies = ciliumPolicies(plan.tree).filter((p) => p.kind === 'CiliumNetworkPolicy');
    expect(policies.map((p) => p.name).sort()).toEqual(['deployment-api-recommendation', 'shop-recommendation']);
    const only = (name: string) => policies.filter((p) => p.name === name);
    const probes: [CiliumPeer, CiliumPeer, number, 'ingress' | 'egress'][] = [
      [pod('edge'), pod('shop', { app: 'api' }), 8080, 'ingress'],
      [pod('shop', { app: 'web' }), pod('shop', { app: 'api' }), 9000, 'ingress'],
      [pod('shop', { app: 'api' }), pod('edge'), 8080, 'egress'],
      [pod('shop', { app: 'web' }), pod('shop', { app: 'batch' }), 9000, 'ingress'],
      [pod('edge'), pod('shop', { app: 'web' }), 8080, 'ingress'],
      [pod('shop', { app: 'batch' }), pod('edge'), 8080, 'egress'],
    ];
    for (const [source, destination, destPort, direction] of probes) {
      const subject = direction === 'ingress' ? destination : source;
      const isApi = subject.kind === 'pod' && subject.labels?.some((l) => l.key === 'app' && l.value === 'api');
      const f = { source, destination, protocol: 'TCP' as const, destPort };
      // The namespace's broad rules do not reach api's pods (their narrowing is not undone), and api's policy no other pod.
      expect(verdict(policies, f, direction)).toBe(
        verdict(only(isApi ? 'deployment-api-recommendation' : 'shop-recommendation'), f, direction),
      );
    }
    // Concretely: 8080 from edge is allowed to web by the namespace policy, and not to api.
    expect(
      verdict(policies, { source: pod('edge'), destination: pod('shop', { app: 'web' }), protocol: 'TCP', destPort: 8080 }, 'ingress'),
    ).toBe('allowed');
    expect(
      verdict(policies, { source: pod('edge'), destination: pod('shop', { app: 'api' }), protocol: 'TCP', destPort: 8080 }, 'ingress'),
    ).toBe('denied');
  });
});
