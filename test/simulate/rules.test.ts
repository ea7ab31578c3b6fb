// Rule matching, hand-computed for every construct. Each case is one Allow rule in a namespaced
// policy `shop/default.p` (default tier): a match is `allowed` by it, no match is `denied` by the
// default tier's Deny, and a match the record cannot decide is `indeterminate` between the two.

import { describe, expect, test } from '@jest/globals';
import type { FlowEnd } from '../../src/simulate/endpoint.ts';
import { policySetFromTree } from '../../src/simulate/policy-set.ts';
import {
  decide,
  docs,
  egress,
  evaluate,
  type FlowOptions,
  ingress,
  net,
  networkSet,
  policySet,
  pub,
  pvt,
  wep,
} from '../support/simulate.ts';

const ALLOWED = 'allowed: rule shop/default.p egress[0]';
const DENIED = 'denied: tier-default default';
const UNKNOWN = 'indeterminate: rule shop/default.p egress[0] | tier-default default';

const web = wep('shop', 'web-*', ['app=web']);

/** The policy with one egress rule (YAML flow mapping), plus other documents. */
function withRule(rule: string, ...others: string[]): string {
  const policy = [
    'apiVersion: projectcalico.org/v3',
    'kind: NetworkPolicy',
    'metadata: {name: p, namespace: shop}',
    'spec:',
    '  selector: all()',
    '  types: [Egress]',
    `  egress: [${rule}]`,
  ].join('\n');
  return docs(policy, ...others);
}

function check(rule: string, dest: FlowEnd, o: FlowOptions = {}, ...others: string[]): string {
  return decide(withRule(rule, ...others), egress(web, dest, o));
}

describe('protocols', () => {
  test('by name and by number', () => {
    expect(check('{action: Allow, protocol: TCP}', pub)).toBe(ALLOWED);
    expect(check('{action: Allow, protocol: 6}', pub)).toBe(ALLOWED);
    expect(check('{action: Allow, protocol: UDP}', pub)).toBe(DENIED);
    expect(check('{action: Allow, protocol: 47}', pvt, { protocol: 47, port: null })).toBe(ALLOWED);
    expect(check('{action: Allow, protocol: "47"}', pvt, { protocol: 'TCP' })).toBe(DENIED);
  });

  test('notProtocol', () => {
    expect(check('{action: Allow, notProtocol: TCP}', pub)).toBe(DENIED);
    expect(check('{action: Allow, notProtocol: TCP}', pub, { protocol: 'UDP' })).toBe(ALLOWED);
  });

  test('ICMP: the protocol is known, types and codes are not', () => {
    expect(check('{action: Allow, protocol: ICMP}', pub, { protocol: 'ICMP', port: null })).toBe(ALLOWED);
    expect(check('{action: Allow, protocol: ICMP, icmp: {type: 8}}', pub, { protocol: 'ICMP', port: null })).toBe(UNKNOWN);
    expect(check('{action: Allow, protocol: ICMP, icmp: {type: 8}}', pub)).toBe(DENIED);
    expect(check('{action: Allow, protocol: ICMP, notICMP: {type: 8}}', pub, { protocol: 'ICMP', port: null })).toBe(UNKNOWN);
    expect(check('{action: Allow, protocol: ICMPv6}', pub, { protocol: 'ICMP', port: null })).toBe(DENIED);
  });
});

describe('ports', () => {
  test('numbers and ranges', () => {
    const rule = '{action: Allow, protocol: TCP, destination: {ports: [80, "8000:8100"]}}';
    expect(check(rule, pub, { port: 80 })).toBe(ALLOWED);
    expect(check(rule, pub, { port: 8080 })).toBe(ALLOWED);
    expect(check(rule, pub, { port: 8100 })).toBe(ALLOWED);
    expect(check(rule, pub, { port: 8101 })).toBe(DENIED);
    expect(check(rule, pub, { port: 443 })).toBe(DENIED);
  });

  test('an unquoted range is a range, as kubectl reads it (go-yaml has no base-60 numbers)', () => {
    // YAML 1.1 would make `20:21` the number 1221 and `1:30:59` 5459.
    const rule = '{action: Allow, protocol: TCP, destination: {ports: [20:21, 1:59]}}';
    expect(check(rule, pub, { port: 21 })).toBe(ALLOWED);
    expect(check(rule, pub, { port: 30 })).toBe(ALLOWED);
    expect(check(rule, pub, { port: 1221 })).toBe(DENIED);
    expect(check(rule, pub, { port: 119 })).toBe(DENIED);
  });

  test('notPorts', () => {
    const rule = '{action: Allow, protocol: TCP, destination: {notPorts: [22, "6000:6010"]}}';
    expect(check(rule, pub, { port: 22 })).toBe(DENIED);
    expect(check(rule, pub, { port: 6005 })).toBe(DENIED);
    expect(check(rule, pub, { port: 80 })).toBe(ALLOWED);
  });

  test('a named port cannot be resolved from a flow, unless a number in the list decides', () => {
    expect(check('{action: Allow, protocol: TCP, destination: {ports: [http]}}', pub)).toBe(UNKNOWN);
    expect(check('{action: Allow, protocol: TCP, destination: {ports: [80, http]}}', pub, { port: 80 })).toBe(ALLOWED);
    expect(check('{action: Allow, protocol: TCP, destination: {ports: [80, http]}}', pub, { port: 81 })).toBe(UNKNOWN);
    expect(check('{action: Allow, protocol: TCP, destination: {notPorts: [ssh]}}', pub)).toBe(UNKNOWN);
    const verdict = evaluate(withRule('{action: Allow, protocol: TCP, destination: {ports: [http]}}'), egress(web, pub));
    expect(verdict.unknowns).toEqual([
      "shop/default.p egress[0]: named port 'http' cannot be resolved from a flow (its number is the pod's, not in flow logs)",
    ]);
  });

  test('a record without a port, and source ports (never in records), are unknown', () => {
    expect(check('{action: Allow, protocol: TCP, destination: {ports: [80]}}', pub, { port: null })).toBe(UNKNOWN);
    expect(check('{action: Allow, protocol: TCP, source: {ports: [1024]}}', pub)).toBe(UNKNOWN);
  });
});

describe('nets', () => {
  test('IPv4: an address the record carries is decided', () => {
    const rule = '{action: Allow, destination: {nets: [10.0.0.0/8]}}';
    expect(check(rule, net('10.1.2.3'))).toBe(ALLOWED);
    expect(check(rule, net('192.168.1.1'))).toBe(DENIED);
    expect(check(rule, networkSet('partners', null, '10.9.9.9'))).toBe(ALLOWED);
  });

  test('IPv6', () => {
    const rule = '{action: Allow, destination: {nets: ["fd00::/8", "2001:db8::/32"]}}';
    expect(check(rule, net('fd00::1'))).toBe(ALLOWED);
    expect(check(rule, net('2001:db8:1::5'))).toBe(ALLOWED);
    expect(check(rule, net('fe80::1'))).toBe(DENIED);
    expect(check(rule, net('10.0.0.1'))).toBe(DENIED);
  });

  test('pvt without an address lies in the RFC 1918 ranges', () => {
    expect(check('{action: Allow, destination: {nets: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]}}', pvt)).toBe(ALLOWED);
    expect(check('{action: Allow, destination: {nets: [10.0.0.0/8]}}', pvt)).toBe(UNKNOWN);
    expect(check('{action: Allow, destination: {nets: [100.64.0.0/10]}}', pvt)).toBe(DENIED);
  });

  // felix/collector/types/endpoint/endpoint.go getSubnetType: `pub` is an IPv4 address outside
  // RFC 1918 or any IPv6 address. Which family a record without an address has, the cluster's
  // families say (PolicySetOptions.ipFamilies; IPv4 by default).
  test('pub without an address lies outside the private ranges', () => {
    expect(check('{action: Allow, destination: {nets: [10.0.0.0/8]}}', pub)).toBe(DENIED);
    expect(check('{action: Allow, destination: {nets: [0.0.0.0/0]}}', pub)).toBe(ALLOWED);
    expect(check('{action: Allow, destination: {notNets: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]}}', pub)).toBe(ALLOWED);
    expect(check('{action: Allow, destination: {notNets: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]}}', pvt)).toBe(DENIED);
    expect(check('{action: Allow, destination: {notNets: [8.8.8.0/24]}}', pub)).toBe(UNKNOWN);
  });

  test('in a dual-stack cluster, a record without an address may be of either family', () => {
    const dual = (rule: string, dest: FlowEnd) =>
      decide(policySetFromTree(new Map([['p.yaml', withRule(rule)]]), { ipFamilies: ['IPv4', 'IPv6'] }), egress(web, dest));
    expect(dual('{action: Allow, destination: {nets: [0.0.0.0/0]}}', pub)).toBe(UNKNOWN);
    // A known address decides the family.
    expect(dual('{action: Allow, destination: {nets: [0.0.0.0/0]}}', net('8.8.8.8'))).toBe(ALLOWED);
    // `pvt` is IPv4 only (RFC 1918).
    expect(dual('{action: Allow, destination: {nets: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]}}', pvt)).toBe(ALLOWED);
  });

  // felix/rules/policy.go FilterRuleToIPVersion: a rule is rendered for a family only if each of
  // its nets/notNets lists has a CIDR of that family; the other family never matches it.
  test('a rule whose nets or notNets name one family does not apply to the other', () => {
    expect(check('{action: Allow, destination: {notNets: [10.0.0.0/8]}}', net('2001:db8::1'))).toBe(DENIED);
    expect(check('{action: Allow, destination: {notNets: ["fc00::/7"]}}', net('8.8.8.8'))).toBe(DENIED);
    expect(check('{action: Allow, destination: {nets: ["::/0"]}}', net('2001:db8::1'))).toBe(ALLOWED);
    expect(check('{action: Allow, ipVersion: 6, destination: {ports: [80]}, protocol: TCP}', net('8.8.8.8'))).toBe(DENIED);
  });

  // Calico refuses IPv4 and IPv6 nets in one rule (validateRule), so "every address" takes one rule
  // per IP version. An address the record does not give is one or the other, so the two rules
  // allow it: the evaluator decides the whole flow once per possible family.
  test('an address of unknown IP version is allowed by an IPv4 and an IPv6 catch-all rule, in a dual-stack cluster too', () => {
    const rules = '{action: Allow, destination: {nets: [0.0.0.0/0]}}, {action: Allow, destination: {nets: ["::/0"]}}';
    expect([pub, wep('db')].map((dest) => evaluate(withRule(rules), egress(web, dest)).verdict)).toEqual(['allowed', 'allowed']);
    const dual = policySetFromTree(new Map([['p.yaml', withRule(rules)]]), { ipFamilies: ['IPv4', 'IPv6'] });
    expect([pub, wep('db')].map((dest) => evaluate(dual, egress(web, dest)).verdict)).toEqual(['allowed', 'allowed']);
  });

  test("a pod's address is aggregated away", () => {
    expect(check('{action: Allow, destination: {nets: [10.0.0.0/8]}}', wep('db'))).toBe(UNKNOWN);
  });

  test('notNets', () => {
    const rule = '{action: Allow, destination: {notNets: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]}}';
    expect(check(rule, net('8.8.8.8'))).toBe(ALLOWED);
    expect(check(rule, net('10.0.0.1'))).toBe(DENIED);
    expect(check(rule, pub)).toBe(ALLOWED);
    expect(check(rule, pvt)).toBe(DENIED);
    expect(check(rule, wep('db'))).toBe(UNKNOWN);
  });

  test('a network set defined in the tree: its nets bound the address', () => {
    const set = 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: partners}\nspec: {nets: [203.0.113.0/24]}';
    expect(check('{action: Allow, destination: {nets: [203.0.0.0/16]}}', networkSet('partners'), {}, set)).toBe(ALLOWED);
    expect(check('{action: Allow, destination: {nets: [203.0.113.0/25]}}', networkSet('partners'), {}, set)).toBe(UNKNOWN);
    expect(check('{action: Allow, destination: {nets: [198.51.100.0/24]}}', networkSet('partners'), {}, set)).toBe(DENIED);
    expect(check('{action: Allow, destination: {nets: [198.51.100.0/24]}}', networkSet('partners'))).toBe(UNKNOWN);
  });
});

describe('selectors', () => {
  const db = wep('data', 'db-*', ['app=db']);

  test('in a namespaced policy a selector stays in its namespace', () => {
    expect(check("{action: Allow, destination: {selector: app == 'db'}}", wep('shop', 'db-*', ['app=db']))).toBe(ALLOWED);
    expect(check("{action: Allow, destination: {selector: app == 'db'}}", db)).toBe(DENIED);
  });

  test('namespaceSelector picks the namespaces by their labels; the name labels are always known', () => {
    expect(check("{action: Allow, destination: {namespaceSelector: projectcalico.org/name == 'data', selector: app == 'db'}}", db)).toBe(
      ALLOWED,
    );
    expect(check("{action: Allow, destination: {namespaceSelector: kubernetes.io/metadata.name == 'data'}}", db)).toBe(ALLOWED);
    expect(check("{action: Allow, destination: {namespaceSelector: projectcalico.org/name == 'other'}}", db)).toBe(DENIED);
    expect(check("{action: Allow, destination: {namespaceSelector: projectcalico.org/name == 'data', selector: app == 'cache'}}", db)).toBe(
      DENIED,
    );
  });

  test('other namespace labels are known from the caller or from Namespace objects, else unknown', () => {
    const rule = withRule("{action: Allow, destination: {namespaceSelector: team == 'storage'}}");
    expect(decide(rule, egress(web, db))).toBe(UNKNOWN);
    expect(decide(policySet(rule, new Map([['data', { team: 'storage' }]])), egress(web, db))).toBe(ALLOWED);
    expect(decide(policySet(rule, new Map([['data', { team: 'web' }]])), egress(web, db))).toBe(DENIED);
    const namespaceObject = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: data, labels: {team: storage}}';
    expect(check("{action: Allow, destination: {namespaceSelector: team == 'storage'}}", db, {}, namespaceObject)).toBe(ALLOWED);
  });

  test("a label the record lacks makes a selector unknown; Calico's own labels are always known", () => {
    expect(check("{action: Allow, destination: {namespaceSelector: all(), selector: tier == 'data'}}", db)).toBe(UNKNOWN);
    expect(check("{action: Allow, destination: {namespaceSelector: all(), selector: projectcalico.org/orchestrator == 'k8s'}}", db)).toBe(
      ALLOWED,
    );
    expect(check('{action: Allow, destination: {namespaceSelector: all(), selector: has(projectcalico.org/kind)}}', db)).toBe(DENIED);
  });

  test('selectors never match a plain network', () => {
    expect(check('{action: Allow, destination: {namespaceSelector: all()}}', pub)).toBe(DENIED);
    expect(check('{action: Allow, destination: {namespaceSelector: global(), selector: all()}}', pub)).toBe(DENIED);
  });

  test('global() selects global network sets (and host endpoints); all() selects namespaces only', () => {
    const saas =
      'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: corp-saas, labels: {kind: saas}}\nspec: {nets: [20.190.128.0/18]}';
    const rule = "{action: Allow, destination: {namespaceSelector: global(), selector: kind == 'saas'}}";
    expect(check(rule, networkSet('corp-saas'), {}, saas)).toBe(ALLOWED);
    expect(check(rule, networkSet('corp-saas', 'shop'), {}, saas)).toBe(DENIED);
    expect(
      check("{action: Allow, destination: {namespaceSelector: all(), selector: kind == 'saas'}}", networkSet('corp-saas'), {}, saas),
    ).toBe(DENIED);
  });

  // libcalico-go/lib/backend/syncersv1/updateprocessors/networksetprocessor.go: a NetworkSet's labels
  // are its own plus projectcalico.org/namespace; globalnetworksetprocessor.go: a GlobalNetworkSet's
  // only its own. Nothing adds projectcalico.org/name or projectcalico.org/kind.
  test("a network set has only its own labels (and its namespace's): a name-and-kind selector never matches it", () => {
    const legacy =
      "{action: Allow, destination: {selector: projectcalico.org/name == 'corp-saas' && projectcalico.org/kind == 'NetworkSet', namespaceSelector: global()}}";
    const saas = networkSet('corp-saas', null, null, ['kind=saas']);
    expect(check(legacy, saas)).toBe(DENIED);
    const byLabels = "{action: Allow, destination: {selector: kind == 'saas', namespaceSelector: global()}}";
    expect(check(byLabels, saas)).toBe(ALLOWED);
    expect(check(byLabels, networkSet('other-set', null, null, ['kind=other']))).toBe(DENIED);
    // A record without labels cannot tell (the log may not include them).
    expect(check(byLabels, networkSet('corp-saas'))).toBe(UNKNOWN);
    const local = "{action: Allow, destination: {selector: role == 'partner' && projectcalico.org/namespace == 'shop'}}";
    expect(check(local, networkSet('partners', 'shop', null, ['role=partner']))).toBe(ALLOWED);
    expect(check(local, networkSet('partners', 'data', null, ['role=partner']))).toBe(DENIED);
  });

  test('notSelector excludes what it selects; in a global policy it also matches networks', () => {
    const global = [
      'apiVersion: projectcalico.org/v3',
      'kind: GlobalNetworkPolicy',
      'metadata: {name: g}',
      'spec:',
      '  selector: all()',
      '  types: [Egress]',
      "  egress: [{action: Allow, destination: {notSelector: app == 'db'}}]",
    ].join('\n');
    const g = (dest: FlowEnd) => decide(global, egress(web, dest));
    expect(g(pub)).toBe('allowed: rule default.g egress[0]');
    expect(g(db)).toBe('denied: tier-default default');
    expect(g(wep('data', 'cache-*', ['app=cache']))).toBe('allowed: rule default.g egress[0]');
    expect(g(wep('data', 'x-*'))).toBe('indeterminate: rule default.g egress[0] | tier-default default');
  });

  test('a lone notSelector in a namespaced policy stays in the namespace (Calico scopes the rule)', () => {
    const rule = "{action: Allow, destination: {notSelector: app == 'db'}}";
    expect(check(rule, wep('shop', 'cache-*', ['app=cache']))).toBe(ALLOWED);
    expect(check(rule, wep('data', 'cache-*', ['app=cache']))).toBe(DENIED);
    expect(check(rule, pub)).toBe(DENIED);
  });

  test('a selector in a global policy selects endpoints in every namespace', () => {
    const global = [
      'apiVersion: projectcalico.org/v3',
      'kind: GlobalNetworkPolicy',
      'metadata: {name: g}',
      'spec:',
      '  types: [Egress]',
      "  egress: [{action: Allow, destination: {selector: app == 'db'}}]",
    ].join('\n');
    expect(decide(global, egress(web, db))).toBe('allowed: rule default.g egress[0]');
  });

  test("the source side of an egress rule is the reporting pod's own", () => {
    expect(check("{action: Allow, source: {selector: app == 'web'}}", pub)).toBe(ALLOWED);
    expect(check("{action: Allow, source: {selector: app == 'api'}}", pub)).toBe(DENIED);
  });
});

describe('services, service accounts, domains, HTTP', () => {
  test('services: the flow addressed to the service matches; a pod of another namespace does not', () => {
    const rule = '{action: Allow, destination: {services: {name: api, namespace: backend}}}';
    expect(check(rule, wep('backend', 'api-*'), { service: { name: 'api', namespace: 'backend' } })).toBe(ALLOWED);
    expect(check(rule, pub, { service: { name: 'api', namespace: 'backend' } })).toBe(ALLOWED);
    expect(check(rule, wep('data', 'db-*'))).toBe(DENIED);
    // Another service's pod in the same namespace, or an address, may still be an endpoint of it.
    expect(check(rule, wep('backend', 'api-*'), { service: { name: 'api-internal', namespace: 'backend' } })).toBe(UNKNOWN);
    expect(check(rule, pub)).toBe(UNKNOWN);
  });

  test("services without a namespace are the policy's namespace's", () => {
    expect(
      check('{action: Allow, destination: {services: {name: api}}}', wep('shop', 'api-*'), { service: { name: 'api', namespace: 'shop' } }),
    ).toBe(ALLOWED);
    expect(
      check('{action: Allow, destination: {services: {name: api}}}', wep('data', 'api-*'), { service: { name: 'api', namespace: 'data' } }),
    ).toBe(DENIED);
  });

  test('serviceAccounts: decided when the record carries the service-account label', () => {
    const rule = '{action: Allow, destination: {serviceAccounts: {names: [reader]}}}';
    expect(check(rule, wep('data', 'db-*', ['projectcalico.org/serviceaccount=reader']))).toBe(ALLOWED);
    expect(check(rule, wep('data', 'db-*', ['projectcalico.org/serviceaccount=writer']))).toBe(DENIED);
    expect(check(rule, wep('data', 'db-*'))).toBe(UNKNOWN);
    expect(check(rule, pub)).toBe(DENIED);
    expect(check("{action: Allow, destination: {serviceAccounts: {selector: role == 'x'}}}", wep('data'))).toBe(UNKNOWN);
  });

  test('domains: exact names, and * for one or more labels at its place', () => {
    const rule = "{action: Allow, destination: {domains: ['*.example.com', api.stripe.com, 'www.*.org']}}";
    expect(check(rule, pub, { domains: ['api.stripe.com'] })).toBe(ALLOWED);
    expect(check(rule, pub, { domains: ['www.example.com'] })).toBe(ALLOWED);
    expect(check(rule, pub, { domains: ['a.b.example.com'] })).toBe(ALLOWED);
    expect(check(rule, pub, { domains: ['example.com'] })).toBe(DENIED);
    expect(check(rule, pub, { domains: ['stripe.com'] })).toBe(DENIED);
    expect(check(rule, pub, { domains: ['www.sun.org'] })).toBe(ALLOWED);
    expect(check(rule, pub, { domains: ['www.org'] })).toBe(DENIED);
    expect(check(rule, pub, { domains: ['other.net', 'api.stripe.com'] })).toBe(ALLOWED);
  });

  test('domains: without names in the record an outside address is unknown, a pod is not one', () => {
    const rule = '{action: Allow, destination: {domains: [api.stripe.com]}}';
    expect(check(rule, pub)).toBe(UNKNOWN);
    expect(check(rule, wep('data'))).toBe(DENIED);
  });

  test('http is never in flow logs', () => {
    // Calico allows HTTP matches in ingress rules only (validate(Global)NetworkPolicySpec).
    const policy = withRule('{action: Allow}')
      .replace('types: [Egress]', 'types: [Ingress]')
      .replace('egress: [{action: Allow}]', 'ingress: [{action: Allow, protocol: TCP, http: {methods: [GET]}}]');
    expect(decide(policy, ingress(pub, web))).toBe('indeterminate: rule shop/default.p ingress[0] | tier-default default');
  });
});

describe('unknowns are followed both ways', () => {
  test('an undecidable Deny before an Allow: indeterminate, with both candidates', () => {
    const set = withRule('{action: Deny, destination: {nets: [10.0.0.0/8]}}, {action: Allow}');
    const verdict = evaluate(set, egress(web, wep('data')));
    expect(verdict.verdict).toBe('indeterminate');
    expect(verdict.decisions.map((d) => (d.by === 'rule' ? `${d.action} ${d.rule}` : d.by))).toEqual(['Deny 0', 'Allow 1']);
  });

  test('an undecidable Allow before another Allow: allowed either way', () => {
    const verdict = evaluate(withRule('{action: Allow, destination: {nets: [10.0.0.0/8]}}, {action: Allow}'), egress(web, wep('data')));
    expect(verdict.verdict).toBe('allowed');
    expect(verdict.decisions).toHaveLength(2);
    expect(verdict.unknowns).toHaveLength(1);
  });

  test('ingress rules see the remote end as the source', () => {
    const policy = docs(
      'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n  types: [Ingress]\n  ingress: [{action: Allow, protocol: TCP, source: {nets: [10.0.0.0/8]}, destination: {ports: [80]}}]',
    );
    expect(decide(policy, ingress(net('10.0.0.7'), web))).toBe('allowed: rule shop/default.p ingress[0]');
    expect(decide(policy, ingress(net('8.8.8.8'), web))).toBe('denied: tier-default default');
  });
});
