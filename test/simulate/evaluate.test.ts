// Calico's evaluation order, hand-computed: tiers, policies, first match, Pass, Log, default
// actions, profiles, types, and staged policies in both views.

import { describe, expect, test } from '@jest/globals';
import { decide, docs, egress, evaluate, hep, ingress, policySet, pub, tier, wep } from '../support/simulate.ts';

const web = wep('shop', 'web-*', ['app=web']);

/** A GlobalNetworkPolicy with egress rules (YAML flow mappings). */
function gnp(name: string, tierName: string, order: number | null, egressRules: string[], extra = ''): string {
  return [
    'apiVersion: projectcalico.org/v3',
    'kind: GlobalNetworkPolicy',
    `metadata: {name: ${name}}`,
    'spec:',
    `  tier: ${tierName}`,
    ...(order === null ? [] : [`  order: ${order}`]),
    '  selector: all()',
    '  types: [Egress]',
    `  egress: [${egressRules.join(', ')}]`,
    ...(extra === '' ? [] : [extra]),
  ].join('\n');
}

const ALLOW = '{action: Allow}';
const DENY = '{action: Deny}';
const PASS = '{action: Pass}';

describe('tiers', () => {
  test('a lower order is evaluated first', () => {
    const set = docs(tier('a', 100), tier('b', 200), gnp('a.allow', 'a', null, [ALLOW]), gnp('b.deny', 'b', null, [DENY]));
    expect(decide(set, egress(web, pub))).toBe('allowed: rule a.allow egress[0]');
    const swapped = docs(tier('a', 300), tier('b', 200), gnp('a.allow', 'a', null, [ALLOW]), gnp('b.deny', 'b', null, [DENY]));
    expect(decide(swapped, egress(web, pub))).toBe('denied: rule b.deny egress[0]');
  });

  test('tiers of equal order go by name', () => {
    const set = docs(
      tier('beta', 100),
      tier('alpha', 100),
      gnp('beta.deny', 'beta', null, [DENY]),
      gnp('alpha.allow', 'alpha', null, [ALLOW]),
    );
    expect(decide(set, egress(web, pub))).toBe('allowed: rule alpha.allow egress[0]');
  });

  test('a tier without order comes last, after the default tier (order 1,000,000)', () => {
    const set = docs(tier('late', null), gnp('late.allow', 'late', 1, [ALLOW]), gnp('deny-all', 'default', 1, [DENY]));
    expect(decide(set, egress(web, pub))).toBe('denied: rule default.deny-all egress[0]');
    const early = docs(tier('early', 999_999), gnp('early.allow', 'early', 1, [ALLOW]), gnp('deny-all', 'default', 1, [DENY]));
    expect(decide(early, egress(web, pub))).toBe('allowed: rule early.allow egress[0]');
  });

  test('a tier where no policy applies is skipped', () => {
    const db = gnp('a.db-only', 'a', null, [DENY]).replace('selector: all()', "selector: app == 'db'");
    expect(decide(docs(tier('a', 1), db), egress(web, pub))).toBe('allowed: profile kns.shop');
  });
});

describe('policies in a tier', () => {
  test('a lower order comes first', () => {
    const set = docs(tier('a', 1), gnp('a.first', 'a', 10, [ALLOW]), gnp('a.second', 'a', 20, [DENY]));
    expect(decide(set, egress(web, pub))).toBe('allowed: rule a.first egress[0]');
    const swapped = docs(tier('a', 1), gnp('a.first', 'a', 30, [ALLOW]), gnp('a.second', 'a', 20, [DENY]));
    expect(decide(swapped, egress(web, pub))).toBe('denied: rule a.second egress[0]');
  });

  test('equal orders go by name, and no order comes after every order', () => {
    const ties = docs(tier('a', 1), gnp('a.zeta', 'a', 10, [ALLOW]), gnp('a.alpha', 'a', 10, [DENY]));
    expect(decide(ties, egress(web, pub))).toBe('denied: rule a.alpha egress[0]');
    const unordered = docs(tier('a', 1), gnp('a.alpha', 'a', null, [DENY]), gnp('a.zeta', 'a', 1000, [ALLOW]));
    expect(decide(unordered, egress(web, pub))).toBe('allowed: rule a.zeta egress[0]');
  });

  test('the first matching rule decides; Log rules never do', () => {
    const set = docs(
      tier('a', 1),
      gnp('a.p', 'a', 1, ['{action: Log}', '{action: Deny, protocol: TCP, destination: {ports: [22]}}', ALLOW]),
    );
    expect(decide(set, egress(web, pub, { port: 22 }))).toBe('denied: rule a.p egress[1]');
    expect(decide(set, egress(web, pub, { port: 80 }))).toBe('allowed: rule a.p egress[2]');
  });

  test('rules of a later policy in the same tier decide when the earlier policy has no match', () => {
    const set = docs(
      tier('a', 1),
      gnp('a.ssh', 'a', 1, ['{action: Deny, protocol: TCP, destination: {ports: [22]}}']),
      gnp('a.rest', 'a', 2, [ALLOW]),
    );
    expect(decide(set, egress(web, pub, { port: 80 }))).toBe('allowed: rule a.rest egress[0]');
  });
});

describe('Pass, default actions and profiles', () => {
  test('Pass goes on to the next tier', () => {
    const set = docs(tier('a', 1), tier('b', 2), gnp('a.pass', 'a', 1, [PASS]), gnp('b.deny', 'b', 1, [DENY]));
    expect(decide(set, egress(web, pub))).toBe('denied: rule b.deny egress[0]');
  });

  test('Pass from the last tier with policies reaches the profile', () => {
    expect(decide(docs(tier('a', 1), gnp('a.pass', 'a', 1, [PASS])), egress(web, pub))).toBe('allowed: profile kns.shop');
  });

  test("policies applied but no rule matched: the tier's default action, Deny unless the tier says Pass", () => {
    const rule = '{action: Allow, protocol: TCP, destination: {ports: [443]}}';
    expect(decide(docs(tier('a', 1), gnp('a.p', 'a', 1, [rule])), egress(web, pub))).toBe('denied: tier-default a');
    expect(decide(docs(tier('a', 1, 'Pass'), gnp('a.p', 'a', 1, [rule])), egress(web, pub))).toBe('allowed: profile kns.shop');
    // A policy with no rules for the direction still applies: default deny.
    expect(decide(docs(tier('a', 1), gnp('a.p', 'a', 1, [])), egress(web, pub))).toBe('denied: tier-default a');
  });

  test('no policy at all: the namespace profile allows', () => {
    expect(decide('', egress(web, pub))).toBe('allowed: profile kns.shop');
  });

  test('host endpoints: automatic ones have the default-allow profile; for others the record cannot tell', () => {
    const auto = { ...hep('node-1-auto-hep'), labels: ['projectcalico.org/created-by=calico-kube-controllers'] };
    expect(decide('', egress(auto, pub))).toBe('allowed: profile projectcalico-default-allow');
    const verdict = evaluate('', egress(hep('node-1'), pub));
    expect(verdict.verdict).toBe('indeterminate');
    expect(verdict.decisions.map((d) => d.by)).toEqual(['profile', 'no-profile']);
  });

  test('global policies select host endpoints by their labels; namespaced policies never do', () => {
    const node = { ...hep('node-1'), labels: ['role=node', 'projectcalico.org/created-by=calico-kube-controllers'] };
    const set = docs(tier('a', 1), gnp('a.nodes', 'a', 1, [DENY]).replace('selector: all()', "selector: role == 'node'"));
    expect(decide(set, egress(node, pub))).toBe('denied: rule a.nodes egress[0]');
    // The web pods' record says nothing of `role`: they might carry it.
    expect(decide(set, egress(web, pub))).toBe('indeterminate: rule a.nodes egress[0] | profile kns.shop');
    expect(decide(set, egress(wep('shop', 'web-*', ['role=web']), pub))).toBe('allowed: profile kns.shop');
  });

  test('a flow reported by a network cannot be decided', () => {
    const verdict = evaluate('', ingress(wep('shop'), pub));
    expect(verdict.verdict).toBe('indeterminate');
    expect(verdict.unknowns[0]).toMatch(/reporting end is a network/);
  });
});

describe('which policies apply', () => {
  const namespaced = (types: string, rules: string) =>
    docs(
      tier('a', 1),
      [
        'apiVersion: projectcalico.org/v3',
        'kind: NetworkPolicy',
        'metadata: {name: a.p, namespace: shop}',
        'spec:',
        '  tier: a',
        '  selector: all()',
        types,
        rules,
      ].join('\n'),
    );

  test('a namespaced policy applies to its namespace only', () => {
    const set = namespaced('  types: [Egress]', '  egress: [{action: Deny}]');
    expect(decide(set, egress(web, pub))).toBe('denied: rule shop/a.p egress[0]');
    expect(decide(set, egress(wep('other'), pub))).toBe('allowed: profile kns.other');
  });

  test('types: a policy does not apply to a direction it leaves out', () => {
    const set = namespaced('  types: [Ingress]', '  ingress: [{action: Deny}]');
    expect(decide(set, egress(web, pub))).toBe('allowed: profile kns.shop');
    expect(decide(set, ingress(pub, web))).toBe('denied: rule shop/a.p ingress[0]');
  });

  test('types default: Egress when there are only egress rules, Ingress when there are none', () => {
    const egressOnly = namespaced('', '  egress: [{action: Deny}]');
    expect(decide(egressOnly, egress(web, pub))).toBe('denied: rule shop/a.p egress[0]');
    expect(decide(egressOnly, ingress(pub, web))).toBe('allowed: profile kns.shop');
    const none = namespaced('', '');
    expect(decide(none, ingress(pub, web))).toBe('denied: tier-default a');
    expect(decide(none, egress(web, pub))).toBe('allowed: profile kns.shop');
  });

  test('a policy whose selector the record cannot decide: both ways are followed', () => {
    const set = namespaced('  types: [Egress]', '  egress: [{action: Deny}]').replace('selector: all()', "selector: tier == 'front'");
    const verdict = evaluate(set, egress(web, pub));
    expect(verdict.verdict).toBe('indeterminate');
    expect(verdict.decisions.map((d) => d.by)).toEqual(['rule', 'profile']);
    expect(verdict.unknowns[0]).toMatch(/shop\/a\.p may or may not apply: .*selector "tier == 'front'"/);
  });
});

describe('staged policies', () => {
  const policy = (kind: string, rule: string, stagedAction?: string) =>
    [
      'apiVersion: projectcalico.org/v3',
      `kind: ${kind}`,
      'metadata: {name: a.p, namespace: shop}',
      'spec:',
      '  tier: a',
      ...(stagedAction === undefined ? [] : [`  stagedAction: ${stagedAction}`]),
      '  selector: all()',
      '  types: [Egress]',
      `  egress: [${rule}]`,
    ].join('\n');
  const enforcedDeny = policy('NetworkPolicy', DENY);

  test('Set (the default): the staged policy stands in for the enforced one of the same name', () => {
    for (const action of [undefined, 'Set']) {
      const set = policySet(docs(tier('a', 1), enforcedDeny, policy('StagedNetworkPolicy', ALLOW, action)));
      expect(decide(set, egress(web, pub))).toBe('allowed: rule shop/a.p egress[0]');
      expect(evaluate(set, egress(web, pub)).decisions[0]).toMatchObject({ policy: { staged: true, kind: 'StagedNetworkPolicy' } });
      expect(decide(set, egress(web, pub), 'enforced')).toBe('denied: rule shop/a.p egress[0]');
    }
  });

  test('a staged policy with no enforced counterpart is added', () => {
    const set = policySet(docs(tier('a', 1), policy('StagedNetworkPolicy', DENY)));
    expect(decide(set, egress(web, pub))).toBe('denied: rule shop/a.p egress[0]');
    expect(decide(set, egress(web, pub), 'enforced')).toBe('allowed: profile kns.shop');
  });

  test('Delete removes the enforced policy', () => {
    // Calico wants nothing but the tier beside stagedAction Delete (validateStagedNetworkPolicy).
    const deletion = [
      'apiVersion: projectcalico.org/v3',
      'kind: StagedNetworkPolicy',
      'metadata: {name: a.p, namespace: shop}',
      'spec: {tier: a, stagedAction: Delete}',
    ].join('\n');
    const set = policySet(docs(tier('a', 1), enforcedDeny, deletion));
    expect(decide(set, egress(web, pub))).toBe('allowed: profile kns.shop');
    expect(decide(set, egress(web, pub), 'enforced')).toBe('denied: rule shop/a.p egress[0]');
  });

  test('Learn is evaluated like Set; Ignore (a dismissed recommendation) is left out', () => {
    const learn = policySet(docs(tier('a', 1), enforcedDeny, policy('StagedNetworkPolicy', ALLOW, 'Learn')));
    expect(decide(learn, egress(web, pub))).toBe('allowed: rule shop/a.p egress[0]');
    const ignore = policySet(docs(tier('a', 1), enforcedDeny, policy('StagedNetworkPolicy', ALLOW, 'Ignore')));
    expect(decide(ignore, egress(web, pub))).toBe('denied: rule shop/a.p egress[0]');
  });

  test('global policies pair with staged global policies', () => {
    const set = policySet(
      docs(
        tier('a', 1),
        gnp('a.g', 'a', 1, [DENY]),
        gnp('a.g', 'a', 1, [ALLOW]).replace('kind: GlobalNetworkPolicy', 'kind: StagedGlobalNetworkPolicy'),
      ),
    );
    expect(decide(set, egress(web, pub))).toBe('allowed: rule a.g egress[0]');
    expect(decide(set, egress(web, pub), 'enforced')).toBe('denied: rule a.g egress[0]');
  });

  test('a staged policy takes its own tier and order', () => {
    const staged = policy('StagedNetworkPolicy', ALLOW).replace('tier: a', 'tier: b').replace('name: a.p', 'name: a.p');
    const set = policySet(docs(tier('a', 1), tier('b', 2), enforcedDeny, staged, gnp('a.q', 'a', 5, [PASS])));
    // The enforced a.p (tier a) is replaced by the staged one in tier b: tier a only passes.
    expect(decide(set, egress(web, pub))).toBe('allowed: rule shop/b.a.p egress[0]');
  });
});
