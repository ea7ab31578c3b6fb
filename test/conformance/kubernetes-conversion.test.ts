// Conformance of src/simulate/kubernetes-policy.ts with Calico's conversion of a Kubernetes
// NetworkPolicy (and of a StagedKubernetesNetworkPolicy) into its own form. Source:
// projectcalico/calico, libcalico-go/lib/backend/k8s/conversion/conversion.go
// (K8sNetworkPolicyToCalico, k8sSelectorToCalico, k8sRuleToCalico, SimplifyPorts,
// k8sPeerToCalicoFields, k8sPortToCalico) and its conversion_test.go, in release-v3.30,
// release-v3.31, release-v3.32, release-v3.33 and main (August 2026). The rule conversion and every
// test case below are the same in all five; what differs is only the converted policy's name and
// key kind (names.K8sNetworkPolicyNamePrefix "knp.default." up to 3.31, the plain name and kind
// KubernetesNetworkPolicy from 3.32: commits c088014687 and 0c1117b3d5). The staged variant:
// libcalico-go/lib/backend/syncersv1/updateprocessors/stagedkubernetesnetworkpolicyprocessor.go and
// its _test.go (same conversion; key `<ns>/staged:knp.default.<name>` up to 3.31).
//
// Selectors are compared by meaning (our canonical text of both), not by spelling: upstream writes
// `k in { 'v1', 'v2' }` and `! has(toast)`, we write `k in {'v1', 'v2'}` and `!has(toast)`.
// One deliberate difference in shape: ipBlock peers without `except` share one rule (see
// kubernetes-policy.ts); the last group checks it allows exactly what upstream's rules allow.

import { describe, expect, test } from '@jest/globals';
import { parseSelector } from '../../src/calico/selector.ts';
import { kubernetesPolicyAsCalico } from '../../src/simulate/kubernetes-policy.ts';
import { KUBERNETES_POLICY_ORDER } from '../../src/simulate/policy-terms.ts';
import type { PlainObject } from '../../src/util/plain.ts';
import { decide, egress, hep, ingress, net, networkSet, policySet, pvt, wep } from '../support/simulate.ts';

type Obj = Record<string, unknown>;

/** conversion_test.go's ObjectMeta: name test.policy, namespace default. */
function np(spec: Obj, name = 'test.policy'): PlainObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'default' }, spec };
}

function convert(
  spec: Obj,
  staged = false,
): { spec: Obj; kind: unknown; ruleIndex: { ingress: readonly number[]; egress: readonly number[] } } {
  const converted = kubernetesPolicyAsCalico(np(spec), staged);
  return { spec: converted.value['spec'] as Obj, kind: converted.value['kind'], ruleIndex: converted.ruleIndex };
}

function meaning(selector: unknown): string {
  return parseSelector(selector as string).canonical();
}

/**
 * A rule as upstream's Go struct holds it: selectors by meaning, absent fields dropped, an empty
 * Source for egress rules (upstream sets `Source: apiv3.EntityRule{}`).
 */
function normalRule(rule: Obj): Obj {
  const entity = (e: unknown): Obj => {
    const out: Obj = {};
    for (const [k, v] of Object.entries((e ?? {}) as Obj)) {
      if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
      out[k] = k === 'selector' || k === 'namespaceSelector' ? meaning(v) : v;
    }
    return out;
  };
  const out: Obj = { action: rule['action'], source: entity(rule['source']), destination: entity(rule['destination']) };
  if (rule['protocol'] !== undefined) out['protocol'] = rule['protocol'];
  return out;
}

function rules(list: unknown): Obj[] {
  return (list as Obj[]).map(normalRule);
}

const ORCH = "projectcalico.org/orchestrator == 'k8s'";
const kv = { matchLabels: { k: 'v', k2: 'v2' } };

function expectPolicy(spec: Obj, selector: string, types: string[]): void {
  expect(spec['order']).toBe(1000);
  expect(KUBERNETES_POLICY_ORDER).toBe(1000);
  expect(spec['tier']).toBe('default');
  expect(meaning(spec['selector'])).toBe(meaning(selector));
  expect(spec['types']).toEqual(types);
}

// ---------------------------------------------------------------------------------------------
// conversion_test.go "Test selector conversion" table (release-v3.30 .. v3.33, main):
// k8sSelectorToCalico for pod selectors (the policy's podSelector) and namespace selectors (a
// peer's namespaceSelector).

describe('conversion_test.go selector conversion table (release-v3.30 .. v3.33, main)', () => {
  const podSelector = (selector: Obj | null): unknown =>
    convert({ podSelector: selector ?? undefined, policyTypes: ['Ingress'] }).spec['selector'];
  const namespaceSelector = (selector: Obj | null): unknown => {
    const peer = selector === null ? { podSelector: {} } : { namespaceSelector: selector };
    const rule = (convert({ podSelector: {}, ingress: [{ from: [peer] }] }).spec['ingress'] as Obj[])[0]!;
    return (rule['source'] as Obj)['namespaceSelector'];
  };
  const toast = (operator: string, values?: string[]): Obj => ({
    matchExpressions: [{ key: 'toast', operator, ...(values ? { values } : {}) }],
  });

  test('an empty pod selector', () => expect(meaning(podSelector({}))).toBe(meaning(ORCH)));
  test('an empty namespace selector', () => expect(meaning(namespaceSelector({}))).toBe('all()'));
  test('an OpDoesNotExist namespace selector', () =>
    expect(meaning(namespaceSelector(toast('DoesNotExist')))).toBe(meaning('! has(toast)')));
  test('an OpExists namespace selector', () => expect(meaning(namespaceSelector(toast('Exists')))).toBe(meaning('has(toast)')));
  test('an OpIn namespace selector', () =>
    expect(meaning(namespaceSelector(toast('In', ['butter', 'jam'])))).toBe(meaning("toast in { 'butter', 'jam' }")));
  test('an OpNotIn namespace selector', () =>
    expect(meaning(namespaceSelector(toast('NotIn', ['marmite', 'milk'])))).toBe(meaning("toast not in { 'marmite', 'milk' }")));
  test('an OpDoesNotExist pod selector', () =>
    expect(meaning(podSelector(toast('DoesNotExist')))).toBe(meaning(`${ORCH} && ! has(toast)`)));
  test('a nil pod selector', () => expect(meaning(podSelector(null))).toBe(meaning(ORCH)));
  test('a nil namespace selector: no namespaceSelector (the policy namespace)', () => expect(namespaceSelector(null)).toBeUndefined());
});

// ---------------------------------------------------------------------------------------------
// conversion_test.go "Test NetworkPolicy conversion" (release-v3.30 .. v3.33, main). Each case
// keeps upstream's title. Upstream asserts the key name: "knp.default.test.policy" in 3.30/3.31,
// "test.policy" from 3.32 (ours is the policy's metadata.name; the Felix-side name is per release).

describe('conversion_test.go NetworkPolicy conversion (release-v3.30 .. v3.33, main)', () => {
  const labels2 = { matchLabels: { label: 'value', label2: 'value2' } };

  test('should parse a basic k8s NetworkPolicy to a NetworkPolicy', () => {
    const { spec, kind } = convert({
      podSelector: labels2,
      ingress: [{ ports: [{ port: 80 }, { port: 'foo' }], from: [{ podSelector: kv }] }],
      policyTypes: ['Ingress'],
    });
    expect(kind).toBe('NetworkPolicy');
    expectPolicy(spec, `${ORCH} && label == 'value' && label2 == 'value2'`, ['Ingress']);
    expect(rules(spec['ingress'])).toEqual(
      rules([
        {
          action: 'Allow',
          protocol: 'TCP',
          source: { selector: `${ORCH} && k == 'v' && k2 == 'v2'` },
          destination: { ports: [80, 'foo'] },
        },
      ]),
    );
    expect(spec['egress']).toHaveLength(0);
  });

  test('should parse a k8s NetworkPolicy with no ports', () => {
    const { spec } = convert({ podSelector: labels2, ingress: [{ from: [{ podSelector: kv }] }], policyTypes: ['Ingress'] });
    // "We only default to TCP when ports exist."
    expect(rules(spec['ingress'])).toEqual(
      rules([{ action: 'Allow', source: { selector: `${ORCH} && k == 'v' && k2 == 'v2'` }, destination: {} }]),
    );
  });

  test('should parse a k8s NetworkPolicy with blank ports', () => {
    const { spec } = convert({
      podSelector: labels2,
      ingress: [{ ports: [{ port: 80 }, {}], from: [{ podSelector: kv }] }],
      policyTypes: ['Ingress'],
    });
    expect(rules(spec['ingress'])).toEqual(
      rules([{ action: 'Allow', protocol: 'TCP', source: { selector: `${ORCH} && k == 'v' && k2 == 'v2'` }, destination: {} }]),
    );
  });

  test('should parse a k8s egress NetworkPolicy with blank ports', () => {
    const { spec } = convert({
      podSelector: labels2,
      egress: [{ ports: [{}, { port: 80 }], to: [{ podSelector: kv }] }, { ports: [{ port: 53, protocol: 'UDP' }] }],
      policyTypes: ['Egress'],
    });
    expect(rules(spec['egress'])).toEqual(
      rules([
        { action: 'Allow', protocol: 'TCP', source: {}, destination: { selector: `${ORCH} && k == 'v' && k2 == 'v2'` } },
        { action: 'Allow', protocol: 'UDP', source: {}, destination: { ports: [53] } },
      ]),
    );
  });

  // Upstream drops a rule whose port does not convert (and reports an error). Such a policy never
  // reaches Felix: the Kubernetes API server rejects a port name that is not an IANA service name,
  // and Calico's validator (validateStagedKubernetesNetworkPolicy) rejects a staged policy whose
  // conversion reports an error. We reject the policy as those do.
  test('should drop rules with invalid ports in a k8s NetworkPolicy (we reject the policy, as the API server does)', () => {
    for (const kind of ['networking.k8s.io/v1|NetworkPolicy', 'projectcalico.org/v3|StagedKubernetesNetworkPolicy']) {
      const [apiVersion, k] = kind.split('|');
      const yaml = `apiVersion: ${apiVersion}\nkind: ${k}\nmetadata: {name: test.policy, namespace: default}\nspec:\n  podSelector: {}\n  ingress: [{ports: [{port: 80}, {port: "-50:-1"}]}]`;
      const set = policySet(yaml);
      expect(set.policies).toHaveLength(0);
      expect(set.warnings.map((w) => w.message).join('\n')).toMatch(/-50:-1/);
    }
  });

  test('should parse a NetworkPolicy with no rules', () => {
    const { spec } = convert({ podSelector: { matchLabels: { label: 'value' } }, policyTypes: ['Ingress'] });
    expectPolicy(spec, `${ORCH} && label == 'value'`, ['Ingress']);
    expect(spec['ingress']).toHaveLength(0);
    expect(spec['egress']).toHaveLength(0);
  });

  test('should parse a default-deny egress NetworkPolicy', () => {
    const { spec } = convert({ podSelector: {}, policyTypes: ['Egress'] });
    expectPolicy(spec, ORCH, ['Egress']);
    expect(spec['ingress']).toHaveLength(0);
    expect(spec['egress']).toHaveLength(0);
  });

  test('should parse a NetworkPolicy with multiple peers', () => {
    const { spec } = convert({
      podSelector: { matchLabels: { label: 'value' } },
      ingress: [{ ports: [{}], from: [{ podSelector: { matchLabels: { k: 'v' } } }, { podSelector: { matchLabels: { k2: 'v2' } } }] }],
      policyTypes: ['Ingress'],
    });
    expectPolicy(spec, `${ORCH} && label == 'value'`, ['Ingress']);
    const ingressRules = spec['ingress'] as Obj[];
    expect(ingressRules).toHaveLength(2);
    expect(meaning((ingressRules[0]!['source'] as Obj)['selector'])).toBe(meaning(`${ORCH} && k == 'v'`));
    expect(meaning((ingressRules[1]!['source'] as Obj)['selector'])).toBe(meaning(`${ORCH} && k2 == 'v2'`));
    expect(spec['egress']).toHaveLength(0);
  });

  test('should parse a k8s NetworkPolicy with a DoesNotExist expression', () => {
    const { spec } = convert({
      podSelector: labels2,
      ingress: [
        {
          ports: [{ port: 80 }, { port: 'foo' }],
          from: [{ podSelector: { matchExpressions: [{ key: 'toast', operator: 'DoesNotExist' }] } }],
        },
      ],
      policyTypes: ['Ingress'],
    });
    expectPolicy(spec, `${ORCH} && label == 'value' && label2 == 'value2'`, ['Ingress']);
    expect(rules(spec['ingress'])).toEqual(
      rules([{ action: 'Allow', protocol: 'TCP', source: { selector: `${ORCH} && ! has(toast)` }, destination: { ports: [80, 'foo'] } }]),
    );
  });

  // One rule per protocol (sorted: TCP before UDP), then per peer, in the peers' order.
  test('should parse a NetworkPolicy with multiple peers and ports', () => {
    const { spec } = convert({
      podSelector: { matchLabels: { label: 'value' } },
      ingress: [
        {
          ports: [
            { port: 90, protocol: 'UDP' },
            { port: 80, protocol: 'TCP' },
          ],
          from: [{ podSelector: { matchLabels: { k: 'v' } } }, { podSelector: { matchLabels: { k2: 'v2' } } }],
        },
      ],
      policyTypes: ['Ingress'],
    });
    expect(rules(spec['ingress'])).toEqual(
      rules([
        { action: 'Allow', protocol: 'TCP', source: { selector: `${ORCH} && k == 'v'` }, destination: { ports: [80] } },
        { action: 'Allow', protocol: 'TCP', source: { selector: `${ORCH} && k2 == 'v2'` }, destination: { ports: [80] } },
        { action: 'Allow', protocol: 'UDP', source: { selector: `${ORCH} && k == 'v'` }, destination: { ports: [90] } },
        { action: 'Allow', protocol: 'UDP', source: { selector: `${ORCH} && k2 == 'v2'` }, destination: { ports: [90] } },
      ]),
    );
  });

  test('should parse a NetworkPolicy with empty podSelector', () => {
    const { spec } = convert({ podSelector: {}, policyTypes: ['Ingress'] });
    expectPolicy(spec, ORCH, ['Ingress']);
    expect(spec['ingress']).toHaveLength(0);
  });

  // A peer without a podSelector still selects pods only.
  test('should parse a NetworkPolicy with a namespaceSelector', () => {
    const { spec } = convert({
      podSelector: { matchLabels: { label: 'value' } },
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { namespaceRole: 'dev', namespaceFoo: 'bar' } } }] }],
      policyTypes: ['Ingress'],
    });
    expectPolicy(spec, `${ORCH} && label == 'value'`, ['Ingress']);
    expect(rules(spec['ingress'])).toEqual(
      rules([
        {
          action: 'Allow',
          source: { selector: ORCH, namespaceSelector: "namespaceFoo == 'bar' && namespaceRole == 'dev'" },
          destination: {},
        },
      ]),
    );
  });

  test('should parse a NetworkPolicy with a nil namespace selector', () => {
    for (const peer of [{ podSelector: {} }, { podSelector: {}, namespaceSelector: null }]) {
      const { spec } = convert({ podSelector: { matchLabels: { label: 'value' } }, ingress: [{ from: [peer] }], policyTypes: ['Ingress'] });
      expect(rules(spec['ingress'])).toEqual(rules([{ action: 'Allow', source: { selector: ORCH }, destination: {} }]));
    }
  });

  test('should parse a NetworkPolicy with an empty namespaceSelector', () => {
    const { spec } = convert({
      podSelector: { matchLabels: { label: 'value' } },
      ingress: [{ from: [{ namespaceSelector: { matchLabels: {} } }] }],
      policyTypes: ['Ingress'],
    });
    expect(rules(spec['ingress'])).toEqual(
      rules([{ action: 'Allow', source: { selector: ORCH, namespaceSelector: 'all()' }, destination: {} }]),
    );
  });

  test('should parse a NetworkPolicy with pod and namespace selectors', () => {
    const { spec } = convert({
      podSelector: { matchLabels: { label: 'value' } },
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchLabels: { namespaceRole: 'dev', namespaceFoo: 'bar' } },
              podSelector: { matchLabels: { podA: 'B', podC: 'D' } },
            },
          ],
        },
      ],
      policyTypes: ['Ingress'],
    });
    expect(rules(spec['ingress'])).toEqual(
      rules([
        {
          action: 'Allow',
          source: {
            selector: `${ORCH} && podA == 'B' && podC == 'D'`,
            namespaceSelector: "namespaceFoo == 'bar' && namespaceRole == 'dev'",
          },
          destination: {},
        },
      ]),
    );
  });

  test('should parse a NetworkPolicy with podSelector.MatchExpressions', () => {
    const { spec } = convert({
      podSelector: { matchExpressions: [{ key: 'k', operator: 'In', values: ['v1', 'v2'] }] },
      policyTypes: ['Ingress'],
    });
    expectPolicy(spec, `${ORCH} && k in { 'v1', 'v2' }`, ['Ingress']);
  });

  test.each([
    ['should parse a NetworkPolicy with Ports only', 'ingress', { protocol: 'TCP', port: 80 }, 80],
    ['should parse a NetworkPolicy with Port Range only', 'ingress', { protocol: 'TCP', port: 32000, endPort: 32768 }, '32000:32768'],
    ['should parse a NetworkPolicy with Ports only (egress)', 'egress', { protocol: 'TCP', port: 80 }, 80],
    [
      'should parse a NetworkPolicy with Port Range only (egress)',
      'egress',
      { protocol: 'TCP', port: 32000, endPort: 32768 },
      '32000:32768',
    ],
  ])('%s', (_title, direction, port, expected) => {
    const type = direction === 'ingress' ? 'Ingress' : 'Egress';
    const { spec } = convert({ podSelector: {}, [direction]: [{ ports: [port] }], policyTypes: [type] });
    expectPolicy(spec, ORCH, [type]);
    expect(rules(spec[direction])).toEqual(rules([{ action: 'Allow', protocol: 'TCP', destination: { ports: [expected] } }]));
  });

  test('should parse a NetworkPolicy with an Ingress rule with an IPBlock Peer', () => {
    const { spec } = convert({
      podSelector: {},
      ingress: [{ from: [{ ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.3.0/24', '192.168.4.0/24'] } }] }],
      policyTypes: ['Ingress'],
    });
    expectPolicy(spec, ORCH, ['Ingress']);
    expect(rules(spec['ingress'])).toEqual(
      rules([{ action: 'Allow', source: { nets: ['192.168.0.0/16'], notNets: ['192.168.3.0/24', '192.168.4.0/24'] }, destination: {} }]),
    );
  });

  test('should parse a NetworkPolicy with an Egress rule with an IPBlock Peer', () => {
    const except = ['192.168.3.0/24', '192.168.4.0/24', '192.168.5.0/24'];
    const { spec } = convert({
      podSelector: {},
      egress: [{ to: [{ ipBlock: { cidr: '192.168.0.0/16', except } }] }],
      policyTypes: ['Egress'],
    });
    expectPolicy(spec, ORCH, ['Egress']);
    expect(rules(spec['egress'])).toEqual(rules([{ action: 'Allow', destination: { nets: ['192.168.0.0/16'], notNets: except } }]));
  });

  test('should parse a NetworkPolicy with an Egress rule with IPBlock and Ports', () => {
    const except = ['192.168.3.0/24', '192.168.4.0/24', '192.168.5.0/24'];
    const { spec } = convert({
      podSelector: {},
      egress: [
        {
          ports: [
            { port: 90, protocol: 'UDP' },
            { port: 80, protocol: 'TCP' },
          ],
          to: [{ ipBlock: { cidr: '192.168.0.0/16', except } }],
        },
      ],
      policyTypes: ['Egress'],
    });
    expect(rules(spec['egress'])).toEqual(
      rules([
        { action: 'Allow', protocol: 'TCP', destination: { ports: [80], nets: ['192.168.0.0/16'], notNets: except } },
        { action: 'Allow', protocol: 'UDP', destination: { ports: [90], nets: ['192.168.0.0/16'], notNets: except } },
      ]),
    );
  });

  test('should parse a NetworkPolicyPeer with an IPBlock Peer and no Except field / with an CIDR and Except field', () => {
    const peer = (ipBlock: Obj): Obj =>
      (convert({ podSelector: {}, ingress: [{ from: [{ ipBlock }] }] }).spec['ingress'] as Obj[])[0]!['source'] as Obj;
    expect(peer({ cidr: '192.168.0.0/16' })).toEqual({ nets: ['192.168.0.0/16'] });
    expect(peer({ cidr: '192.168.0.0/16', except: ['192.168.3.0/24', '192.168.4.0/24', '192.168.5.0/24'] })).toEqual({
      nets: ['192.168.0.0/16'],
      notNets: ['192.168.3.0/24', '192.168.4.0/24', '192.168.5.0/24'],
    });
  });

  // Upstream leaves the fields empty (the rule would allow everything); the API server never lets
  // such a CIDR through (ValidateCIDR), and neither do we.
  test('should have empty and Nil NetworkPolicyPeerfields when an IPBlock is invalid (we reject the policy)', () => {
    const set = policySet(
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: default}\nspec:\n  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 192.168.0.0/55}}]}]',
    );
    expect(set.policies).toHaveLength(0);
    expect(set.warnings).toHaveLength(1);
  });

  test('should parse a NetworkPolicy with both an Egress and an Ingress rule', () => {
    const { spec } = convert({
      podSelector: {},
      ingress: [{ from: [{ ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.3.0/24', '192.168.4.0/24'] } }] }],
      egress: [{ to: [{ ipBlock: { cidr: '10.10.0.0/16', except: ['192.168.13.0/24', '192.168.14.0/24', '192.168.15.0/24'] } }] }],
      policyTypes: ['Egress', 'Ingress'],
    });
    // Types always come out as Ingress, Egress.
    expectPolicy(spec, ORCH, ['Ingress', 'Egress']);
    expect(rules(spec['egress'])).toEqual(
      rules([
        { action: 'Allow', destination: { nets: ['10.10.0.0/16'], notNets: ['192.168.13.0/24', '192.168.14.0/24', '192.168.15.0/24'] } },
      ]),
    );
    expect(rules(spec['ingress'])).toEqual(
      rules([{ action: 'Allow', source: { nets: ['192.168.0.0/16'], notNets: ['192.168.3.0/24', '192.168.4.0/24'] }, destination: {} }]),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// conversion_test.go "Test NetworkPolicy conversion (k8s <= 1.7, no policyTypes)"
// (release-v3.30 .. v3.33, main): without policyTypes the conversion makes an Ingress policy.

describe('conversion_test.go NetworkPolicy conversion without policyTypes (release-v3.30 .. v3.33, main)', () => {
  test('should parse a basic NetworkPolicy to a Policy', () => {
    const { spec } = convert({
      podSelector: { matchLabels: { label: 'value', label2: 'value2' } },
      ingress: [{ ports: [{ port: 80 }], from: [{ podSelector: kv }] }],
    });
    expectPolicy(spec, `${ORCH} && label == 'value' && label2 == 'value2'`, ['Ingress']);
    expect(rules(spec['ingress'])).toEqual(
      rules([
        { action: 'Allow', protocol: 'TCP', source: { selector: `${ORCH} && k == 'v' && k2 == 'v2'` }, destination: { ports: [80] } },
      ]),
    );
    expect(spec['egress']).toHaveLength(0);
  });

  test('should parse a NetworkPolicy with no rules / with empty podSelector / with podSelector.MatchExpressions', () => {
    expectPolicy(convert({ podSelector: { matchLabels: { label: 'value' } } }).spec, `${ORCH} && label == 'value'`, ['Ingress']);
    expectPolicy(convert({ podSelector: {} }).spec, ORCH, ['Ingress']);
    expectPolicy(
      convert({ podSelector: { matchExpressions: [{ key: 'k', operator: 'In', values: ['v1', 'v2'] }] } }).spec,
      `${ORCH} && k in { 'v1', 'v2' }`,
      ['Ingress'],
    );
  });

  test('should parse a NetworkPolicy with multiple peers (and ports)', () => {
    const peers = [{ podSelector: { matchLabels: { k: 'v' } } }, { podSelector: { matchLabels: { k2: 'v2' } } }];
    const two = convert({ podSelector: { matchLabels: { label: 'value' } }, ingress: [{ ports: [{}], from: peers }] }).spec;
    expect(two['ingress']).toHaveLength(2);
    expect(two['types']).toEqual(['Ingress']);
    const four = convert({
      podSelector: { matchLabels: { label: 'value' } },
      ingress: [
        {
          ports: [
            { port: 90, protocol: 'UDP' },
            { port: 80, protocol: 'TCP' },
          ],
          from: peers,
        },
      ],
    }).spec;
    expect(
      (four['ingress'] as Obj[]).map(
        (r) =>
          `${String(r['protocol'])} ${JSON.stringify((r['destination'] as Obj)['ports'])} ${meaning((r['source'] as Obj)['selector'])}`,
      ),
    ).toEqual([
      `TCP [80] ${meaning(`${ORCH} && k == 'v'`)}`,
      `TCP [80] ${meaning(`${ORCH} && k2 == 'v2'`)}`,
      `UDP [90] ${meaning(`${ORCH} && k == 'v'`)}`,
      `UDP [90] ${meaning(`${ORCH} && k2 == 'v2'`)}`,
    ]);
  });

  test('should parse a NetworkPolicy with Ports only', () => {
    const { spec } = convert({ podSelector: {}, ingress: [{ ports: [{ protocol: 'TCP', port: 80 }] }] });
    expectPolicy(spec, ORCH, ['Ingress']);
    expect(rules(spec['ingress'])).toEqual(rules([{ action: 'Allow', protocol: 'TCP', destination: { ports: [80] } }]));
  });

  // Kubernetes' API server defaults policyTypes before Calico sees a NetworkPolicy
  // (SetDefaults_NetworkPolicySpec: Ingress, plus Egress when there are egress rules). Nothing
  // defaults a StagedKubernetesNetworkPolicy (clientv3 stagedkubernetesnetworkpolicy.go has no
  // defaultPolicyTypesField, 3.30 .. main), so K8sNetworkPolicyToCalico makes it Ingress only.
  test('egress rules without policyTypes: Ingress and Egress for a NetworkPolicy (API server defaulting), Ingress only when staged', () => {
    const spec = { podSelector: {}, egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] };
    expect(convert(spec).spec['types']).toEqual(['Ingress', 'Egress']);
    expect(convert(spec, true).spec['types']).toEqual(['Ingress']);
    expect(convert({ podSelector: {}, egress: [] }).spec['types']).toEqual(['Ingress']);
  });
});

// ---------------------------------------------------------------------------------------------
// conversion.go k8sRuleToCalico / SimplifyPorts (release-v3.30 .. v3.33, main): how ports of one
// protocol gather into one rule.

describe('conversion.go k8sRuleToCalico and SimplifyPorts (release-v3.30 .. v3.33, main)', () => {
  const portsOf = (ports: Obj[]): Obj[] =>
    (convert({ podSelector: {}, ingress: [{ ports }] }).spec['ingress'] as Obj[]).map((r) => ({
      protocol: r['protocol'],
      ports: (r['destination'] as Obj)['ports'],
    }));

  test('"[80, 81, 82, 9090, foo]" becomes "[foo, 80-82, 9090]"; duplicates and overlapping ranges merge', () => {
    expect(portsOf([{ port: 80 }, { port: 81 }, { port: 82 }, { port: 9090 }, { port: 'foo' }])).toEqual([
      { protocol: 'TCP', ports: ['foo', '80:82', 9090] },
    ]);
    expect(portsOf([{ port: 443 }, { port: 443 }])).toEqual([{ protocol: 'TCP', ports: [443] }]);
    expect(portsOf([{ port: 8000, endPort: 8100 }, { port: 8050, endPort: 8200 }, { port: 8201 }])).toEqual([
      { protocol: 'TCP', ports: ['8000:8201'] },
    ]);
  });

  test('a single numeric port keeps the list as given', () => {
    expect(portsOf([{ port: 'http' }, { port: 80 }])).toEqual([{ protocol: 'TCP', ports: ['http', 80] }]);
  });

  test('a port entry without a number allows its whole protocol, whatever the order; other protocols keep their ports', () => {
    expect(portsOf([{ port: 80 }, {}, { protocol: 'UDP', port: 53 }, { protocol: 'SCTP' }])).toEqual([
      { protocol: 'SCTP', ports: undefined },
      { protocol: 'TCP', ports: undefined },
      { protocol: 'UDP', ports: [53] },
    ]);
  });

  test('a port given as digits in a string is a number (numorstring.PortFromString)', () => {
    expect(portsOf([{ port: '8080' }])).toEqual([{ protocol: 'TCP', ports: [8080] }]);
  });

  test('every converted rule maps back to the Kubernetes rule it came from', () => {
    const { ruleIndex } = convert({
      podSelector: {},
      ingress: [{ ports: [{ port: 1, protocol: 'UDP' }, { port: 2 }], from: [{ podSelector: {} }, { namespaceSelector: {} }] }, {}],
    });
    expect(ruleIndex.ingress).toEqual([0, 0, 0, 0, 1]);
  });
});

// ---------------------------------------------------------------------------------------------
// updateprocessors/stagedkubernetesnetworkpolicyprocessor.go and _test.go (release-v3.30 .. v3.33,
// main): a StagedKubernetesNetworkPolicy converts like the NetworkPolicy it stages, with its
// stagedAction; a minimal one (stagedAction Set, nothing else) is an Ingress policy on every pod
// of its namespace, order 1000, tier default. With stagedAction Delete the spec must be empty
// (validator.go validateStagedKubernetesNetworkPolicy) and nothing reaches Felix.

describe('stagedkubernetesnetworkpolicyprocessor_test.go (release-v3.30 .. v3.33, main)', () => {
  test('a StagedKubernetesNetworkPolicy with minimum configuration', () => {
    const { spec, kind } = convert({ stagedAction: 'Set' }, true);
    expect(kind).toBe('StagedNetworkPolicy');
    expectPolicy(spec, ORCH, ['Ingress']);
    expect(spec['stagedAction']).toBe('Set');
    expect(convert({}, true).spec['stagedAction']).toBe('Set');
  });

  test('stagedAction Delete needs an empty spec', () => {
    expect(convert({ stagedAction: 'Delete' }, true).spec['stagedAction']).toBe('Delete');
    expect(convert({ stagedAction: 'Delete', podSelector: {} }, true).spec['stagedAction']).toBe('Delete');
    expect(() => convert({ stagedAction: 'Delete', podSelector: { matchLabels: { a: 'b' } } }, true)).toThrow(/zero-value/);
    expect(() => convert({ stagedAction: 'Delete', ingress: [{}] }, true)).toThrow(/zero-value/);
  });

  // k8sPeerToCalicoFields converts a peer with no field at all to the pods of the policy
  // namespace; Calico's validator lets it through in a staged policy, Kubernetes' API server
  // refuses it in a NetworkPolicy ("must specify a peer").
  test('an empty peer: the pods of the namespace when staged, refused in a NetworkPolicy', () => {
    const rule = (convert({ podSelector: {}, ingress: [{ from: [{}] }] }, true).spec['ingress'] as Obj[])[0]!;
    expect(normalRule(rule)).toEqual(normalRule({ action: 'Allow', source: { selector: ORCH }, destination: {} }));
    expect(() => convert({ podSelector: {}, ingress: [{ from: [{}] }] })).toThrow(/must hold podSelector, namespaceSelector or ipBlock/);
  });
});

// ---------------------------------------------------------------------------------------------
// What those conversions mean in the simulator. A peer without a podSelector selects pods only
// (k8sSelectorToCalico adds projectcalico.org/orchestrator == 'k8s', conversion.go 3.30 .. main):
// a network set or a host endpoint in a selected namespace is not a pod.

describe('peers in the simulator', () => {
  const team = new Map([['team-a', { team: 'a' }]]);
  const from = (peer: string): string =>
    `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: shop}\nspec:\n  podSelector: {}\n  ingress: [{from: [${peer}]}]`;
  const db = wep('shop', 'db-*', ['app=db']);
  const ALLOWED = 'allowed: rule shop/default.knp.default.db ingress[0]';
  const DENIED = 'denied: tier-default default';

  test.each(['{namespaceSelector: {matchLabels: {team: a}}}', '{namespaceSelector: {}}'])(
    '%s: pods of the namespaces, never their network sets or host endpoints',
    (peer) => {
      const set = policySet(from(peer), team);
      expect(decide(set, ingress(wep('team-a', 'web-*', ['app=web']), db))).toBe(ALLOWED);
      expect(decide(set, ingress(networkSet('partners', 'team-a', '203.0.113.7'), db))).toBe(DENIED);
      expect(decide(set, ingress(hep('node-1'), db))).toBe(DENIED);
    },
  );

  test('an ipBlock peer matches addresses, whatever the endpoint', () => {
    const set = policySet(from('{ipBlock: {cidr: 203.0.113.0/24}}'), team);
    expect(decide(set, ingress(networkSet('partners', 'team-a', '203.0.113.7'), db))).toBe(ALLOWED);
    expect(decide(set, ingress(net('203.0.114.1'), db))).toBe(DENIED);
  });

  // Our one difference in shape: ipBlocks without except share a rule, so an address known only
  // to be private is found in the union of the private ranges (upstream: three rules, same Allow).
  test('ipBlocks without except share one rule that allows exactly what the separate rules allow', () => {
    const cidrs = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
    const { spec } = convert({
      podSelector: {},
      egress: [{ to: [...cidrs.map((cidr) => ({ ipBlock: { cidr } })), { ipBlock: { cidr: '0.0.0.0/0', except: cidrs } }] }],
      policyTypes: ['Egress'],
    });
    expect(rules(spec['egress'])).toEqual(
      rules([
        { action: 'Allow', destination: { nets: cidrs } },
        { action: 'Allow', destination: { nets: ['0.0.0.0/0'], notNets: cidrs } },
      ]),
    );
    const policy = `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: out, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{to: [${cidrs.map((c) => `{ipBlock: {cidr: ${c}}}`).join(', ')}]}]`;
    expect(decide(policy, egress(db, pvt))).toBe('allowed: rule shop/default.knp.default.out egress[0]');
    expect(decide(policy, egress(db, net('172.20.1.1')))).toBe('allowed: rule shop/default.knp.default.out egress[0]');
    expect(decide(policy, egress(db, net('8.8.8.8')))).toBe(DENIED);
  });
});
