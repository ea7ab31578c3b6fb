import { beforeAll, describe, expect, test } from '@jest/globals';
import { formatTime } from '../../src/engine/provenance.ts';
import { bare, config, egress, ingress, loadTemplate, NOW, net, networkSet, policyOf, pub, pvt, run, wep } from '../support/engine.ts';

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
const nsSelector = (ns: string) => `projectcalico.org/name == '${ns}'`;

beforeAll(async () => {
  await loadTemplate();
});

describe('calico flavour: one staged policy per namespace', () => {
  test('the policy object: stable name, tier, namespace selector, stagedAction Set, provenance', async () => {
    const { tree } = await run([egress('shop', wep('kube-system'), { protocol: 'UDP', port: 53 })]);
    const policy = policyOf(tree, 'shop');
    expect(policy).toMatchObject({
      apiVersion: 'projectcalico.org/v3',
      kind: 'StagedNetworkPolicy',
      metadata: {
        name: 'shop-recommendation',
        namespace: 'shop',
        labels: { 'app.kubernetes.io/managed-by': 'policy-recommender', 'policy-recommender.io/layer': 'namespace-isolation' },
        annotations: { 'policy-recommender.io/last-updated': formatTime(NOW) },
      },
      spec: { stagedAction: 'Set', tier: 'namespace-isolation', selector: "projectcalico.org/namespace == 'shop'", types: ['Egress'] },
    });
    expect(policy.spec.ingress).toBeUndefined();
    expect(policy.spec.egress).toEqual([
      {
        action: 'Allow',
        protocol: 'UDP',
        destination: { namespaceSelector: nsSelector('kube-system'), ports: [53] },
        metadata: {
          annotations: {
            'policy-recommender.io/category': 'Namespace',
            'policy-recommender.io/peer': 'namespace:kube-system',
            'policy-recommender.io/first-added': formatTime(NOW),
          },
        },
      },
    ]);
  });

  // libcalico-go/lib/names/policy.go ValidateTieredPolicyName (release-v3.31): up to 3.31 a policy
  // outside the default tier is named `<tier>.<name>`; 3.32 dropped the rule.
  test('a configured tier names the tier, and the policy where the release requires the tier prefix', async () => {
    const { tree } = await run([egress('shop', pub)], { config: config({ namespaceSpec: { tierName: 'isolation' } }) });
    expect(policyOf(tree, 'shop')).toMatchObject({ metadata: { name: 'shop-recommendation' }, spec: { tier: 'isolation' } });
    for (const calicoVersion of ['3.30', '3.31']) {
      const old = await run([egress('shop', pub)], { config: config({ calicoVersion, namespaceSpec: { tierName: 'isolation' } }) });
      expect(policyOf(old.tree, 'shop')).toMatchObject({
        metadata: { name: 'isolation.shop-recommendation' },
        spec: { tier: 'isolation' },
      });
    }
  });

  test('a policy named in the other form (an upgrade from 3.31) keeps its name: both forms are ours', async () => {
    const old = await run([egress('shop', pub, { port: 443 })], { config: config({ calicoVersion: '3.31' }) });
    expect(policyOf(old.tree, 'shop').metadata.name).toBe('namespace-isolation.shop-recommendation');
    const upgraded = await run([egress('shop', pub, { port: 8443 })], {
      tree: old.tree,
      now: NOW + 3600,
      config: config({ calicoVersion: '3.32' }),
    });
    const policy = policyOf(upgraded.tree, 'shop');
    expect(policy.metadata.name).toBe('namespace-isolation.shop-recommendation');
    expect(policy.spec.egress[0].destination.ports).toEqual([443, 8443]);
    expect(
      [...upgraded.tree.keys()].filter(
        (p) => p.startsWith('namespace-isolation/') && p.endsWith('.yaml') && !p.endsWith('kustomization.yaml'),
      ),
    ).toEqual(['namespace-isolation/shop.yaml']);
  });

  test('Namespace rules: ports merged and sorted per peer and protocol; ingress ports on the destination', async () => {
    const { tree } = await run([
      ingress('db', wep('shop'), { port: 5432 }),
      ingress('db', wep('shop'), { port: 80 }),
      ingress('db', wep('shop'), { port: 5432, flows: 9 }),
      ingress('db', wep('shop'), { protocol: 'UDP', port: 9999 }),
      ingress('db', wep('analytics'), { port: 5432 }),
    ]);
    expect(bare(policyOf(tree, 'db').spec.ingress)).toEqual([
      { action: 'Allow', protocol: 'TCP', source: { namespaceSelector: nsSelector('shop') }, destination: { ports: [80, 5432] } },
      { action: 'Allow', protocol: 'TCP', source: { namespaceSelector: nsSelector('analytics') }, destination: { ports: [5432] } },
      { action: 'Allow', protocol: 'UDP', source: { namespaceSelector: nsSelector('shop') }, destination: { ports: [9999] } },
    ]);
    expect(policyOf(tree, 'db').spec.types).toEqual(['Ingress']);
  });

  // Open-source Calico gives a set only its own labels (plus projectcalico.org/namespace):
  // libcalico-go/lib/backend/syncersv1/updateprocessors/networksetprocessor.go and
  // globalnetworksetprocessor.go. A rule selects it by them, globally or in its namespace.
  test('NetworkSet rules select the set by its own labels, globally or in its namespace', async () => {
    const { tree, namespaces } = await run([
      egress('shop', networkSet('threat-intel', null, null, ['feed=threat-intel', 'owner=secops'])),
      ingress('shop', networkSet('partners', 'partner-ns', null, ['role=partner', 'projectcalico.org/namespace=partner-ns']), {
        port: 8443,
      }),
      egress('shop', networkSet('local', 'shop', null, ['zone=dmz']), { port: 22 }),
    ]);
    const spec = policyOf(tree, 'shop').spec;
    expect(bare(spec.egress)).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { selector: "zone == 'dmz'", ports: [22] } },
      {
        action: 'Allow',
        protocol: 'TCP',
        destination: { selector: "feed == 'threat-intel' && owner == 'secops'", namespaceSelector: 'global()', ports: [443] },
      },
    ]);
    expect(bare(spec.ingress)).toEqual([
      {
        action: 'Allow',
        protocol: 'TCP',
        source: { selector: "role == 'partner'", namespaceSelector: nsSelector('partner-ns') },
        destination: { ports: [8443] },
      },
    ]);
    expect(spec.egress[1].metadata.annotations['policy-recommender.io/peer']).toBe('globalnetworkset:threat-intel');
    expect(namespaces[0]!.warnings).toEqual([]);
  });

  test('a network set whose labels are unknown is approximated by the addresses it was seen at, with a warning', async () => {
    const { tree, namespaces } = await run([
      egress('shop', networkSet('vendors', null, '52.1.2.3'), { port: 993 }),
      egress('shop', networkSet('corp', null, '10.4.0.9'), { port: 636 }),
      egress('shop', networkSet('unseen'), { port: 8443 }),
    ]);
    expect(bare(policyOf(tree, 'shop').spec.egress)).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { nets: PRIVATE, ports: [636] } },
      { action: 'Allow', protocol: 'TCP', destination: { notNets: PRIVATE, ports: [993] } },
      { action: 'Allow', protocol: 'TCP', destination: { ports: [8443] } },
    ]);
    const messages = namespaces[0]!.warnings.map((w) => w.message).join('\n');
    expect(messages).toContain(
      'globalnetworkset:corp (TCP 636) is allowed to any private IPv4 address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)',
    );
    expect(messages).toContain('globalnetworkset:vendors (TCP 993) is allowed to any public IPv4 address');
    expect(messages).toContain('globalnetworkset:unseen (TCP 8443) is allowed to any address (the flow logs did not give one)');
  });

  test("a network set's labels or nets known from the tree (or the cluster) are used even when records carry none", async () => {
    const sets = [
      'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: feeds\n  labels:\n    feed: intel\nspec:\n  nets: [198.51.100.0/24]\n',
      'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: bare\nspec:\n  nets: [203.0.113.0/24, "2001:db8::/32"]\n',
    ].join('---\n');
    const { tree } = await run([egress('shop', networkSet('feeds')), egress('shop', networkSet('bare'), { port: 8443 })], {
      tree: new Map([['network-sets.yaml', sets]]),
    });
    expect(bare(policyOf(tree, 'shop').spec.egress)).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { selector: "feed == 'intel'", namespaceSelector: 'global()', ports: [443] } },
      // No labels to select it by: its nets, one family per rule (Calico's validator refuses mixed nets).
      { action: 'Allow', protocol: 'TCP', destination: { nets: ['203.0.113.0/24'], ports: [8443] } },
      { action: 'Allow', protocol: 'TCP', destination: { nets: ['2001:db8::/32'], ports: [8443] } },
    ]);
  });

  // felix/collector/types/endpoint/endpoint.go getSubnetType: `pvt` is RFC 1918, `pub` any other
  // address (every IPv6 address included); felix/rules/policy.go FilterRuleToIPVersion renders a
  // rule only for the family of its nets, so each family gets its own rule.
  test('Private rules name RFC 1918; Public rules allow exactly the public addresses; ICMP and portless protocols have no ports', async () => {
    const { tree } = await run([
      egress('shop', pvt, { port: 5432 }),
      egress('shop', net('192.168.10.4'), { port: 22 }),
      egress('shop', pub, { port: 443 }),
      egress('shop', pub, { port: 80 }),
      egress('shop', pvt, { protocol: 'ICMP', port: null }),
      egress('shop', pvt, { protocol: 47, port: null }),
      ingress('shop', pub, { port: 8080 }),
      egress('shop', net('2001:db8::5', 'pub'), { port: 443 }),
    ]);
    const spec = policyOf(tree, 'shop').spec;
    expect(bare(spec.egress)).toEqual([
      { action: 'Allow', protocol: 'ICMP', destination: { nets: PRIVATE } },
      { action: 'Allow', protocol: 'TCP', destination: { nets: PRIVATE, ports: [22, 5432] } },
      { action: 'Allow', protocol: 47, destination: { nets: PRIVATE } },
      { action: 'Allow', protocol: 'TCP', destination: { notNets: PRIVATE, ports: [80, 443] } },
      { action: 'Allow', protocol: 'TCP', destination: { nets: ['::/0'], ports: [443] } },
    ]);
    expect(bare(spec.ingress)).toEqual([
      { action: 'Allow', protocol: 'TCP', source: { notNets: PRIVATE }, destination: { ports: [8080] } },
    ]);
  });

  test('in a dual-stack cluster, public traffic without an address is allowed in both families', async () => {
    const { tree } = await run([egress('shop', pub, { port: 443 })], { config: config({ ipFamilies: ['IPv4', 'IPv6'] }) });
    expect(bare(policyOf(tree, 'shop').spec.egress)).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { notNets: PRIVATE, ports: [443] } },
      { action: 'Allow', protocol: 'TCP', destination: { nets: ['::/0'], ports: [443] } },
    ]);
  });

  test('Service rules name the service and carry no ports (Calico rejects ports with services)', async () => {
    const { tree } = await run([egress('shop', pub, { service: { name: 'carrier-api', namespace: 'shop' }, port: 8443 })]);
    expect(bare(policyOf(tree, 'shop').spec.egress)).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { services: { name: 'carrier-api', namespace: 'shop' } } },
    ]);
  });

  test('rule order: Domains, Service, Namespace, NetworkSet, Private, Public; then protocol, ports, peer', async () => {
    const records = [
      egress('shop', pub, { port: 443 }),
      egress('shop', pvt, { port: 5432 }),
      egress('shop', networkSet('feeds', null, null, ['feed=x'])),
      egress('shop', wep('zeta'), { port: 80 }),
      egress('shop', wep('alpha'), { port: 80 }),
      egress('shop', wep('kube-system'), { protocol: 'UDP', port: 53 }),
      egress('shop', wep('beta'), { port: 22 }),
      egress('shop', pub, { service: { name: 'svc', namespace: 'shop' } }),
      egress('shop', pub, { domains: ['b.example.com'], port: 443 }),
    ];
    const { tree } = await run([...records].reverse(), { config: config({ flavor: 'calico-enterprise' }) });
    const peers = policyOf(tree, 'shop').spec.egress.map((r: any) => r.metadata.annotations['policy-recommender.io/peer']);
    expect(peers).toEqual([
      'domains',
      'service:shop/svc',
      'namespace:beta', // TCP 22
      'namespace:alpha', // TCP 80, alpha < zeta
      'namespace:zeta',
      'namespace:kube-system', // UDP after TCP
      'globalnetworkset:feeds',
      'private',
      'public',
    ]);
  });

  test('intraNamespacePassThroughTraffic passes traffic within the namespace to the next tier', async () => {
    const records = [
      egress('shop', wep('shop'), { port: 8080 }),
      ingress('shop', wep('shop'), { port: 8080 }),
      egress('shop', wep('db'), { port: 5432 }),
    ];
    const { tree } = await run(records, { config: config({ namespaceSpec: { intraNamespacePassThroughTraffic: true } }) });
    const spec = policyOf(tree, 'shop').spec;
    expect(spec.ingress.map((r: any) => r.action)).toEqual(['Pass']);
    expect(spec.egress.map((r: any) => [r.action, r.destination.namespaceSelector])).toEqual([
      ['Allow', nsSelector('db')],
      ['Pass', nsSelector('shop')],
    ]);
  });
});

describe('domains', () => {
  const records = [
    egress('shop', pub, { domains: ['api.stripe.com'], port: 443 }),
    egress('shop', pub, { domains: ['hooks.slack.com', 'api.stripe.com'], port: 443 }),
    egress('shop', pub, { domains: ['api.stripe.com'], port: 8443 }),
    egress('shop', pub, { port: 80 }),
  ];

  test('calico-enterprise: one domain rule per protocol and port with the sorted union of domains', async () => {
    const { tree, namespaces } = await run(records, { config: config({ flavor: 'calico-enterprise' }), calicoEdition: 'enterprise' });
    expect(bare(policyOf(tree, 'shop').spec.egress)).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { domains: ['api.stripe.com', 'hooks.slack.com'], ports: [443] } },
      { action: 'Allow', protocol: 'TCP', destination: { domains: ['api.stripe.com'], ports: [8443] } },
      { action: 'Allow', protocol: 'TCP', destination: { notNets: PRIVATE, ports: [80] } },
    ]);
    expect(namespaces[0]!.warnings).toEqual([]);
  });

  test('calico-enterprise from flows that do not tell which Calico wrote them: a warning says what open-source Calico would make of each domain rule', async () => {
    const { namespaces } = await run(records, { config: config({ flavor: 'calico-enterprise' }) });
    const messages = namespaces[0]!.warnings.map((w) => w.message);
    expect(messages).toContain(
      'egress to hooks.slack.com (TCP 443) is a domain rule, which only Calico Enterprise has: open-source Calico drops the domains field (or its API server refuses the policy), which would allow that port to any address',
    );
  });

  test('open-source calico: never a domain rule; a public rule on the observed ports that lists the domains, and a warning', async () => {
    const { tree, namespaces } = await run(records);
    const egressRules = policyOf(tree, 'shop').spec.egress;
    expect(JSON.stringify(egressRules)).not.toContain('"domains"');
    expect(bare(egressRules)).toEqual([{ action: 'Allow', protocol: 'TCP', destination: { notNets: PRIVATE, ports: [80, 443, 8443] } }]);
    expect(egressRules[0].metadata.annotations['policy-recommender.io/domains']).toBe('api.stripe.com, hooks.slack.com');
    const warnings = namespaces[0]!.warnings.map((w) => `${w.code}: ${w.message}`);
    expect(warnings).toHaveLength(3);
    expect(warnings).toContain(
      'approximation: egress to hooks.slack.com (TCP 443) is allowed to any public IPv4 address (outside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16) on that port: open-source Calico has no domain rules',
    );
  });

  test('open-source calico: a new domain behind an allowed port updates the note but not last-updated', async () => {
    const first = await run(records);
    const later = NOW + 3600;
    const second = await run([egress('shop', pub, { domains: ['cdn.example.net'], port: 443, start: later - 600 })], {
      tree: first.tree,
      now: later,
    });
    const policy = policyOf(second.tree, 'shop');
    expect(policy.spec.egress[0].metadata.annotations['policy-recommender.io/domains']).toBe(
      'api.stripe.com, cdn.example.net, hooks.slack.com',
    );
    expect(policy.metadata.annotations['policy-recommender.io/last-updated']).toBe(formatTime(NOW));
    expect(second.namespaces[0]!.outcome).toBe('updated');
  });
});

describe('kubernetes flavour: networking.k8s.io/v1 NetworkPolicy', () => {
  test('peers by namespace label and ipBlock, ports with their protocol, one rule per peer', async () => {
    const { tree, namespaces } = await run(
      [
        egress('shop', wep('kube-system'), { protocol: 'UDP', port: 53 }),
        egress('shop', wep('kube-system'), { protocol: 'TCP', port: 53 }),
        egress('shop', pvt, { port: 5432 }),
        egress('shop', pub, { port: 443 }),
        ingress('shop', wep('shop'), { port: 8080 }),
      ],
      { config: config({ flavor: 'kubernetes' }) },
    );
    const policy = policyOf(tree, 'shop');
    // Staged first, as Calico's flavours are (issue 11, point 8): the enforce PR makes it the
    // networking.k8s.io/v1 NetworkPolicy.
    expect(policy).toMatchObject({
      apiVersion: 'projectcalico.org/v3',
      kind: 'StagedKubernetesNetworkPolicy',
      metadata: { name: 'shop-recommendation', namespace: 'shop' },
      spec: { stagedAction: 'Set', podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    expect(policy.spec.egress).toEqual([
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }],
        ports: [
          { protocol: 'TCP', port: 53 },
          { protocol: 'UDP', port: 53 },
        ],
      },
      { to: PRIVATE.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port: 5432 }] },
      { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: PRIVATE } }], ports: [{ protocol: 'TCP', port: 443 }] },
    ]);
    expect(policy.spec.ingress).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } } }],
        ports: [{ protocol: 'TCP', port: 8080 }],
      },
    ]);
    expect(namespaces[0]!.warnings).toEqual([]);
    // Rule provenance lives in one policy annotation, since rules cannot carry annotations.
    const provenance = JSON.parse(policy.metadata.annotations['policy-recommender.io/rules']);
    expect(provenance['egress namespace:kube-system']).toEqual({ category: 'Namespace', firstAdded: formatTime(NOW) });
    expect(Object.keys(provenance)).toHaveLength(4);
  });

  test('what Kubernetes cannot express is approximated least-permissively and reported', async () => {
    const { tree, namespaces } = await run(
      [
        egress('shop', pub, { domains: ['api.stripe.com'], port: 443 }),
        egress('shop', pub, { service: { name: 'carrier-api', namespace: 'shop' }, port: 8443 }),
        egress('shop', networkSet('corp', null, '10.4.0.9'), { port: 636 }),
        egress('shop', networkSet('saas', null, '52.1.2.3'), { port: 993 }),
        egress('shop', pvt, { protocol: 'ICMP', port: null }),
      ],
      { config: config({ flavor: 'kubernetes' }) },
    );
    expect(policyOf(tree, 'shop').spec.egress).toEqual([
      // ICMP cannot be matched: all traffic to the private ranges. That also covers the network
      // set only ever seen at private addresses (approximated as the private ranges on its port).
      { to: PRIVATE.map((cidr) => ({ ipBlock: { cidr } })) },
      // Domain, service and a public network set: the observed ports, to any public address.
      {
        to: [{ ipBlock: { cidr: '0.0.0.0/0', except: PRIVATE } }],
        ports: [
          { protocol: 'TCP', port: 443 },
          { protocol: 'TCP', port: 993 },
          { protocol: 'TCP', port: 8443 },
        ],
      },
    ]);
    const messages = namespaces[0]!.warnings.map((w) => w.message);
    expect(messages).toHaveLength(5);
    expect(messages.join('\n')).toMatch(/api\.stripe\.com .* Kubernetes policy cannot name domains/);
    expect(messages.join('\n')).toMatch(/service shop\/carrier-api .* cannot name services/);
    expect(messages.join('\n')).toMatch(/globalnetworkset:corp \(TCP 636\) is allowed to the private ranges/);
    expect(messages.join('\n')).toMatch(
      /globalnetworkset:saas \(TCP 993\) is allowed to any public IPv4 address \(outside 10.0.0.0\/8, 172.16.0.0\/12, 192.168.0.0\/16\)/,
    );
    expect(messages.join('\n')).toMatch(/ICMP to private is allowed as all traffic to that peer/);
  });
});
