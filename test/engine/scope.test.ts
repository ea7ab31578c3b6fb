import { beforeAll, describe, expect, test } from '@jest/globals';
import { FlowAggregator } from '../../src/engine/aggregate.ts';
import { planRecommendations } from '../../src/plan/plan.ts';
import { bare, config, egress, HOUR, ingress, loadTemplate, NOW, policyOf, pub, run, wep } from '../support/engine.ts';

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

beforeAll(async () => {
  await loadTemplate();
});

describe('namespace scope (namespaceSpec)', () => {
  const everywhere = [
    'shop',
    'kube-system',
    'kube-public',
    'calico-system',
    'tigera-operator',
    'openshift-dns',
    'kubernetes-dashboard',
  ].map((ns) => egress(ns, pub, { port: 443 }));

  test("Calico's default selector leaves system namespaces alone", async () => {
    const result = await run(everywhere);
    expect(result.namespaces.map((n) => n.namespace)).toEqual(['kubernetes-dashboard', 'shop']);
    expect(result.notSelected).toEqual(['calico-system', 'kube-public', 'kube-system', 'openshift-dns', 'tigera-operator']);
  });

  test('a custom selector over namespace labels', async () => {
    const result = await run(everywhere, {
      config: config({ namespaceSpec: { selector: "kubernetes.io/metadata.name in {'shop', 'kube-system'}" } }),
    });
    expect(result.namespaces.map((n) => n.namespace)).toEqual(['kube-system', 'shop']);
  });

  test('with cluster context the selector sees real namespace labels', async () => {
    const aggregator = new FlowAggregator({
      window: { from: NOW - 24 * HOUR, to: NOW },
      clusterDomain: 'cluster.local',
      tierName: 'namespace-isolation',
    });
    aggregator.addAll([egress('shop', pub), egress('billing', pub), egress('blog', pub)]);
    const labels: Record<string, Record<string, string>> = {
      shop: { team: 'payments', 'kubernetes.io/metadata.name': 'shop' },
      billing: { team: 'payments', 'kubernetes.io/metadata.name': 'billing' },
      blog: { team: 'marketing', 'kubernetes.io/metadata.name': 'blog' },
    };
    const plan = planRecommendations({
      tree: new Map(),
      template: await loadTemplate(),
      observations: aggregator.result().byNamespace,
      config: config({ namespaceSpec: { selector: "team == 'payments'" } }),
      now: NOW,
      namespaces: { labels: (ns) => labels[ns] },
    });
    expect(plan.namespaces.map((n) => n.namespace)).toEqual(['billing', 'shop']);
    expect(plan.notSelected).toEqual(['blog']);
  });

  test('recStatus Disabled recommends nothing and writes nothing', async () => {
    const result = await run(everywhere, { config: config({ namespaceSpec: { recStatus: 'Disabled' } }) });
    expect(result.changes.size).toBe(0);
  });

  test('an existing recommendation for a namespace no longer selected is left as it is', async () => {
    const first = await run([egress('shop', pub)]);
    const second = await run([egress('shop', pub, { port: 8443 })], {
      tree: first.tree,
      config: config({ namespaceSpec: { selector: "kubernetes.io/metadata.name == 'other'" } }),
    });
    expect(second.changes.size).toBe(0);
    expect(second.namespaces).toMatchObject([{ namespace: 'shop', outcome: 'skipped', status: 'Learning' }]);
  });

  test('only flows inside initialLookback count', async () => {
    const result = await run(
      [egress('shop', pub, { port: 443, start: NOW - 3 * HOUR }), egress('shop', pub, { port: 80, start: NOW - 30 * 60 })],
      {
        config: config({ initialLookback: '1h' }),
      },
    );
    expect(bare(policyOf(result.tree, 'shop').spec.egress)).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { notNets: PRIVATE, ports: [80] } },
    ]);
  });
});

describe('maxRules', () => {
  const peers = ['alpha', 'bravo', 'charlie', 'delta'];
  const records = [
    ...peers.map((ns) => egress('shop', wep(ns), { port: 8080 })),
    egress('shop', wep('echo'), { port: 9090 }),
    egress('shop', pub, { port: 443 }),
  ];

  test('over the cap, peers sharing protocol and ports merge into one rule, losslessly', async () => {
    const result = await run(records, { config: config({ maxRules: 3 }) });
    const egressRules = policyOf(result.tree, 'shop').spec.egress;
    expect(bare(egressRules)).toEqual([
      {
        action: 'Allow',
        protocol: 'TCP',
        destination: { namespaceSelector: "projectcalico.org/name in {'alpha', 'bravo', 'charlie', 'delta'}", ports: [8080] },
      },
      { action: 'Allow', protocol: 'TCP', destination: { namespaceSelector: "projectcalico.org/name == 'echo'", ports: [9090] } },
      { action: 'Allow', protocol: 'TCP', destination: { notNets: PRIVATE, ports: [443] } },
    ]);
    expect(egressRules[0].metadata.annotations['policy-recommender.io/peer']).toBe(
      'namespace:alpha, namespace:bravo, namespace:charlie, namespace:delta',
    );
    expect(result.namespaces[0]!.warnings.map((w) => w.code)).toEqual(['rules-merged']);
    // Every observed flow is still attributed to a rule.
    expect(result.namespaces[0]!.rules.reduce((n, r) => n + r.flows, 0)).toBe(records.length);
  });

  test('still over the cap: every rule is kept and the excess reported, never dropped', async () => {
    const result = await run(records, { config: config({ maxRules: 2 }) });
    expect(policyOf(result.tree, 'shop').spec.egress).toHaveLength(3);
    expect(result.namespaces[0]!.warnings.map((w) => w.code)).toEqual(['rules-merged', 'over-max-rules']);
    expect(result.namespaces[0]!.warnings[1]!.message).toBe('egress: 3 rules, more than maxRules 2; every rule is kept, none dropped');
  });

  test('a merged rule is never widened: a new port for one of its peers gets its own rule', async () => {
    const first = await run(records, { config: config({ maxRules: 3 }) });
    const second = await run([egress('shop', wep('alpha'), { port: 8443 })], {
      tree: first.tree,
      config: config({ maxRules: 3 }),
      now: NOW + HOUR,
    });
    const egressRules = bare(policyOf(second.tree, 'shop').spec.egress);
    expect(egressRules[0].destination.ports).toEqual([8080]);
    expect(egressRules).toContainEqual({
      action: 'Allow',
      protocol: 'TCP',
      destination: { namespaceSelector: "projectcalico.org/name == 'alpha'", ports: [8443] },
    });
  });

  test("a rule holds at most 50 ports (the CRD's limit); more make another rule for the same peer", async () => {
    const many = Array.from({ length: 60 }, (_, i) => egress('shop', wep('db'), { port: 10000 + i }));
    const result = await run(many);
    const rules = policyOf(result.tree, 'shop').spec.egress;
    expect(rules.map((r: any) => r.destination.ports.length)).toEqual([50, 10]);
    // And a later port goes where there is room.
    const second = await run([egress('shop', wep('db'), { port: 20000 })], { tree: result.tree, now: NOW + HOUR });
    expect(policyOf(second.tree, 'shop').spec.egress.map((r: any) => r.destination.ports.length)).toEqual([50, 11]);
  });

  test('merged selectors stay within the 1024-character limit', async () => {
    const namespaces = Array.from({ length: 40 }, (_, i) => `team-with-a-rather-long-namespace-name-${String(i).padStart(2, '0')}`);
    const result = await run(
      namespaces.map((ns) => ingress('shop', wep(ns), { port: 8080 })),
      { config: config({ maxRules: 5 }) },
    );
    const rules = policyOf(result.tree, 'shop').spec.ingress;
    expect(rules.length).toBeGreaterThan(1);
    for (const rule of rules) expect(rule.source.namespaceSelector.length).toBeLessThanOrEqual(1024);
    const merged = rules.flatMap((r: any) => [...r.source.namespaceSelector.matchAll(/'([^']+)'/g)].map((m: RegExpMatchArray) => m[1]));
    expect(merged.sort()).toEqual(namespaces);
  });

  test('kubernetes flavour merges peers with the same ports into one rule', async () => {
    const result = await run(records, { config: config({ maxRules: 3, flavor: 'kubernetes' }) });
    const rules = policyOf(result.tree, 'shop').spec.egress;
    expect(rules[0].to.map((p: any) => p.namespaceSelector.matchLabels['kubernetes.io/metadata.name'])).toEqual(peers);
    expect(rules).toHaveLength(3);
  });
});
