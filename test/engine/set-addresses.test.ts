// The flavours without network sets (kubernetes, cilium; src/engine/flavors/set-addresses.ts):
// a Calico network set whose nets are known (policies tree, cluster context) is allowed exactly at
// its nets, written as one NetworkPolicy ipBlock or one Cilium CIDR-set entry per net; only a set
// whose nets are unknown falls back to the classes of the addresses it was seen at. Each run over
// the written tree reads the rules back as ours (no change, rules extended in place), and the
// simulators allow the observed traffic and deny an address outside the set. Upstream files:
// - libcalico-go/lib/backend/k8s/conversion/conversion.go k8sRuleToCalico / k8sPeerToCalicoFields
//   (release-v3.30 to main): each ipBlock peer becomes a Calico rule of its own with `nets: [cidr]`,
//   so a rule may hold more ipBlocks than MAX_NETS and both IP families;
// - Cilium pkg/policy/api/cidr.go CIDRRule and egress.go ToCIDRSet (the trees cilium/cilium-cli
//   vendors: v0.16.14 = Cilium v1.16.0, v0.19.7 = main of 2026-07-28): `{cidr}` entries of either
//   family, no MaxItems; CIDR rules match the world outside the cluster (/work/notes/cilium-semantics.md §4).

import { beforeAll, describe, expect, test } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { MAX_NETS } from '../../src/calico/limits.ts';
import type { NetworkSetFacts } from '../../src/engine/network-sets.ts';
import { evaluateCiliumFlow } from '../../src/simulate/cilium/evaluate.ts';
import { Simulator } from '../../src/simulate/evaluate.ts';
import { policySetFromTree } from '../../src/simulate/policy-set.ts';
import {
  ciliumPoliciesOf,
  config,
  egress,
  HOUR,
  ingress,
  loadTemplate,
  NOW,
  net,
  networkSet,
  policyOf,
  run,
  wep,
} from '../support/engine.ts';

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
const PATH = 'namespace-isolation/shop.yaml';

/** A GlobalNetworkSet without labels in the tree: an address and a CIDR with host bits among its nets. */
const TREE_SET = [
  'apiVersion: projectcalico.org/v3',
  'kind: GlobalNetworkSet',
  'metadata:',
  '  name: feeds',
  'spec:',
  '  nets: [203.0.113.0/24, "2001:db8::/32", 198.51.100.7]',
  '',
].join('\n');
const FEEDS_NETS = ['203.0.113.0/24', '2001:db8::/32', '198.51.100.7/32'];

/** A NetworkSet as the cluster context reads it (labels unknown to the records, none here). */
const CLUSTER_SETS: NetworkSetFacts[] = [{ name: 'corp', namespace: 'shop', labels: {}, nets: ['10.20.30.40/16'] }];

const records = [
  egress('shop', networkSet('feeds', null, '203.0.113.9'), { port: 443 }),
  egress('shop', networkSet('corp', 'shop', '10.20.1.1'), { port: 636 }),
  ingress('shop', networkSet('corp', 'shop', '10.20.1.2'), { port: 8080 }),
  egress('shop', networkSet('unseen', null, '52.1.2.3'), { port: 993 }),
];
const tree = new Map([['network-sets.yaml', TREE_SET]]);

beforeAll(async () => {
  await loadTemplate();
});

describe('kubernetes flavour', () => {
  const kubernetes = config({ flavor: 'kubernetes' });
  const first = () => run(records, { config: kubernetes, tree, networkSets: CLUSTER_SETS });

  test("a set's known nets are its ipBlocks (masked, one peer each); unknown nets: the classes as before", async () => {
    const plan = await first();
    expect(policyOf(plan.tree, 'shop').spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: [{ protocol: 'TCP', port: 636 }] },
      { to: FEEDS_NETS.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port: 443 }] },
      { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: PRIVATE } }], ports: [{ protocol: 'TCP', port: 993 }] },
    ]);
    expect(policyOf(plan.tree, 'shop').spec.ingress).toEqual([
      { from: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: [{ protocol: 'TCP', port: 8080 }] },
    ]);
    const messages = plan.namespaces[0]!.warnings.map((w) => w.message).join('\n');
    expect(messages).toContain(
      'globalnetworkset:feeds (TCP 443) is allowed to the addresses of the set (203.0.113.0/24, 2001:db8::/32, 198.51.100.7/32): Kubernetes policy cannot select a network set',
    );
    expect(messages).toContain(
      'networkset:shop/corp (TCP 636) is allowed to the addresses of the set (10.20.0.0/16): Kubernetes policy cannot select a network set',
    );
    expect(messages).toContain(
      'globalnetworkset:unseen (TCP 993) is allowed to any public IPv4 address (outside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16): Kubernetes policy cannot select a network set',
    );
    const provenance = JSON.parse(policyOf(plan.tree, 'shop').metadata.annotations['policy-recommender.io/rules']);
    expect(provenance[`egress nets:${FEEDS_NETS.join(',')}`]).toMatchObject({ category: 'Nets' });
    expect(provenance['ingress nets:10.20.0.0/16']).toMatchObject({ category: 'Nets' });
  });

  test('the next runs read the rules back as ours: nothing changes, a new port extends the rule', async () => {
    const plan = await first();
    const again = await run(records, { config: kubernetes, tree: plan.tree, networkSets: CLUSTER_SETS, now: NOW + HOUR });
    expect(again.changes.get(PATH)).toBeUndefined();
    const more = await run([...records, egress('shop', networkSet('feeds', null, '203.0.113.10'), { port: 8443, start: NOW })], {
      config: kubernetes,
      tree: plan.tree,
      networkSets: CLUSTER_SETS,
      now: NOW + HOUR,
    });
    expect(policyOf(more.tree, 'shop').spec.egress[1]).toEqual({
      to: FEEDS_NETS.map((cidr) => ({ ipBlock: { cidr } })),
      ports: [
        { protocol: 'TCP', port: 443 },
        { protocol: 'TCP', port: 8443 },
      ],
    });
    // Its first-added time is kept: the same rule, read back as ours.
    const recorded = (p: typeof plan) =>
      JSON.parse(policyOf(p.tree, 'shop').metadata.annotations['policy-recommender.io/rules'])[`egress nets:${FEEDS_NETS.join(',')}`];
    expect(recorded(more)).toEqual(recorded(plan));
  });

  test("Calico's conversion allows the observed traffic and denies an address outside the set", async () => {
    const plan = await first();
    const simulator = new Simulator(policySetFromTree(plan.tree), 'staged');
    const verdict = (dest: Parameters<typeof egress>[1], port: number) =>
      simulator.evaluate({
        reporter: 'src',
        source: wep('shop'),
        dest,
        protocol: 'TCP',
        destPort: port,
        destService: null,
        destDomains: [],
      }).verdict;
    expect(verdict(networkSet('feeds', null, '203.0.113.9'), 443)).toBe('allowed');
    expect(verdict(net('198.51.100.7'), 443)).toBe('allowed');
    expect(verdict(net('2001:db8::5'), 443)).toBe('allowed');
    expect(verdict(networkSet('corp', 'shop', '10.20.1.1'), 636)).toBe('allowed');
    expect(verdict(net('203.0.114.9'), 443)).toBe('denied');
    expect(verdict(net('198.51.100.8'), 443)).toBe('denied');
    expect(verdict(net('10.21.0.1'), 636)).toBe('denied');
  });

  test(`a set of more nets than Calico's MAX_NETS (${MAX_NETS}) is one rule: each ipBlock converts to a rule of its own`, async () => {
    const nets = Array.from({ length: MAX_NETS + 10 }, (_, i) => `198.18.${i >> 4}.${(i & 15) * 16}/28`);
    const plan = await run([egress('shop', networkSet('many', null, '198.18.0.1'), { port: 443 })], {
      config: kubernetes,
      networkSets: [{ name: 'many', namespace: null, labels: null, nets }],
    });
    const rules = policyOf(plan.tree, 'shop').spec.egress;
    expect(rules).toHaveLength(1);
    expect(rules[0].to).toHaveLength(nets.length);
    const simulator = new Simulator(policySetFromTree(plan.tree), 'staged');
    expect(nets.at(-1)).toBe('198.18.16.144/28');
    const facts = { reporter: 'src', source: wep('shop'), protocol: 'TCP', destPort: 443, destService: null, destDomains: [] } as const;
    expect(simulator.evaluate({ ...facts, dest: net('198.18.16.145') }).verdict).toBe('allowed');
    expect(simulator.evaluate({ ...facts, dest: net('198.19.0.1') }).verdict).toBe('denied');
  });
});

describe('calico flavour', () => {
  // The same masked form (network-sets.ts knownNets): a rule's nets must be masked CIDRs
  // (libcalico-go/lib/validator/v3/validator.go, the `net` tag), while a set may list an address.
  test('a set approximated by its nets (no labels) writes them masked, one family per rule', async () => {
    const plan = await run([egress('shop', networkSet('feeds', null, '203.0.113.9'), { port: 443 })], { tree });
    expect(policyOf(plan.tree, 'shop').spec.egress.map((r: { destination: unknown }) => r.destination)).toEqual([
      { nets: ['203.0.113.0/24', '198.51.100.7/32'], ports: [443] },
      { nets: ['2001:db8::/32'], ports: [443] },
    ]);
  });
});

describe('cilium flavour', () => {
  const cilium = config({ flavor: 'cilium' });
  const first = () => run(records, { config: cilium, tree, networkSets: CLUSTER_SETS });

  test("a set's known nets are its CIDR-set entries; unknown nets: the classes, and the warning says which", async () => {
    const plan = await first();
    const spec = (parseAllDocuments(plan.tree.get(PATH)!)[0]!.toJS() as any).spec;
    expect(spec.egress).toContainEqual({
      toCIDRSet: FEEDS_NETS.map((cidr) => ({ cidr })),
      toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }],
    });
    expect(spec.egress).toContainEqual({ toCIDRSet: [{ cidr: '10.20.0.0/16' }], toPorts: [{ ports: [{ port: '636', protocol: 'TCP' }] }] });
    expect(spec.ingress).toContainEqual({
      fromCIDRSet: [{ cidr: '10.20.0.0/16' }],
      toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }],
    });
    expect(spec.egress).toContainEqual({
      toCIDRSet: [{ cidr: '0.0.0.0/0', except: PRIVATE }],
      toPorts: [{ ports: [{ port: '993', protocol: 'TCP' }] }],
    });
    const messages = plan.namespaces[0]!.warnings.map((w) => w.message).join('\n');
    expect(messages).toContain(
      'globalnetworkset:feeds (TCP 443) is allowed to the addresses of the set (203.0.113.0/24, 2001:db8::/32, 198.51.100.7/32): Cilium has no network sets',
    );
    expect(messages).toContain(
      'globalnetworkset:unseen (TCP 993) is allowed to any public IPv4 address (outside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16): Cilium has no network sets',
    );
  });

  test('the next run reads the rules back as ours: nothing changes', async () => {
    const plan = await first();
    const again = await run(records, {
      config: cilium,
      tree: plan.tree,
      networkSets: CLUSTER_SETS,
      now: NOW + HOUR,
    });
    expect(again.changes.get(PATH)).toBeUndefined();
  });

  test("Cilium's evaluator allows the observed traffic and denies an address outside the set", async () => {
    const plan = await first();
    const policies = ciliumPoliciesOf(plan.tree);
    const source = { kind: 'pod', namespace: 'shop', labels: [], ip: null } as const;
    const verdict = (ip: string, port: number) =>
      evaluateCiliumFlow(policies, {
        source,
        destination: { kind: 'ip', ip },
        protocol: 'TCP',
        destPort: port,
        destNames: null,
        direction: 'egress',
      }).verdict;
    expect(verdict('203.0.113.9', 443)).toBe('allowed');
    expect(verdict('198.51.100.7', 443)).toBe('allowed');
    expect(verdict('2001:db8::5', 443)).toBe('allowed');
    expect(verdict('10.20.1.1', 636)).toBe('allowed');
    expect(verdict('203.0.114.9', 443)).toBe('denied');
    expect(verdict('198.51.100.8', 443)).toBe('denied');
    expect(verdict('10.21.0.1', 636)).toBe('denied');
  });
});
