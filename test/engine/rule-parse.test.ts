// The boundary of the engine's rules: each rule found in a policy is parsed once (PolicyFlavor.parse)
// into the flavour's rule type (calico/types.ts), keeping the rule as written. A rule without the
// type is a person's: written back as it was, never taken for ours.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { calicoFlavor } from '../../src/engine/flavors/calico.ts';
import type { RuleContext } from '../../src/engine/flavors/flavor.ts';
import { kubernetesFlavor } from '../../src/engine/flavors/kubernetes.ts';
import type { Direction, ObservedAtom, Peer } from '../../src/engine/model.ts';
import { egress, HOUR, loadTemplate, NOW, policyOf, run, wep } from '../support/engine.ts';

const PATH = 'namespace-isolation/shop.yaml';

function context(direction: Direction): RuleContext {
  return {
    namespace: 'shop',
    direction,
    now: '2026-11-18T00:00:00Z',
    intraNamespacePass: false,
    ownRuleKeys: null,
    namespaceLabels: (namespace) => ({ 'projectcalico.org/name': namespace }),
    namespaceLabelsComplete: false,
  };
}

function observed(peer: Peer, port: number): ObservedAtom {
  return { atom: { direction: 'egress', peer, protocol: 'TCP', port }, evidence: { flows: 1, firstSeen: 0, lastSeen: 0, remoteIps: 0 } };
}

const db: Peer = { category: 'Namespace', namespace: 'db' };
const calico = calicoFlavor({ enterprise: false });
const kubernetes = kubernetesFlavor();
const ctx = context('egress');
/** Our rule for TCP 5432 to namespace db, as the Calico flavour renders it. */
const ours = () => structuredClone(calico.render([observed(db, 5432)], ctx)[0]!.raw) as Record<string, unknown>;

describe('Calico rules: parsed into CalicoRule', () => {
  test('a rule with the type is typed as written (the same object: nothing is dropped or reordered)', () => {
    const raw = ours();
    const rule = calico.parse(raw);
    expect(rule.typed).toBe(raw);
    expect(rule.raw).toBe(raw);
    // Every field Calico's Rule has is part of the type (api/pkg/apis/projectcalico/v3/policy_common.go, release-v3.31).
    const full = {
      action: 'Deny',
      protocol: 'ICMP',
      notProtocol: 'TCP',
      ipVersion: 4,
      icmp: { type: 8, code: 0 },
      notICMP: { type: 3 },
      source: { nets: ['10.0.0.0/8'], notNets: ['10.1.0.0/16'], selector: 'a == "b"', notSelector: 'c == "d"', namespaceSelector: 'all()' },
      destination: { ports: [80, '90:99', 'http'], notPorts: [81], serviceAccounts: { names: ['x'], selector: 'y == "z"' } },
      metadata: { annotations: { note: 'kept' } },
    };
    expect(calico.parse(full).typed).toBe(full);
  });

  test.each([
    ['a field a Rule does not have', { ...ours(), owner: 'team-a' }],
    ['a field an EntityRule does not have', { action: 'Allow', protocol: 'TCP', destination: { ports: [443], bogus: 1 } }],
    ['a field of the wrong type', { action: 'Allow', protocol: 'TCP', destination: { ports: '443' } }],
    ['an action Calico does not have', { action: 'Reject' }],
    [
      'an annotation that is not a string',
      { action: 'Allow', metadata: { annotations: { 'policy-recommender.io/first-added': new Date(0) } } },
    ],
    ['no mapping at all', 'not a rule'],
  ])('a rule with %s is a person’s rule: untyped, kept as written, never ours', (_what, raw) => {
    const rule = calico.parse(raw);
    expect(rule.typed).toBeNull();
    expect(rule.raw).toBe(raw);
    expect(calico.identify(rule, ctx)).toBeNull();
    expect(calico.describe(rule, ctx).category).toBe('Custom');
  });

  test('the flavour reads the typed rule, not what was written', () => {
    const typed = calico.parse(ours()).typed!;
    // Typed as ours: recognised, whatever `raw` holds.
    expect(calico.identify({ raw: 'written otherwise', typed }, ctx)).toMatchObject({ category: 'Namespace', ours: true });
    // Without the type: a person's rule, even when what was written is our shape.
    expect(calico.identify({ raw: ours(), typed: null }, ctx)).toBeNull();
    expect(calico.describe({ raw: ours(), typed: null }, ctx).category).toBe('Custom');
  });
});

describe('Kubernetes rules: parsed into KubernetesRule', () => {
  const to = { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'db' } } }] };

  test('a rule with the type is typed as written', () => {
    const raw = { ...to, ports: [{ protocol: 'TCP', port: 5432 }] };
    expect(kubernetes.parse(raw).typed).toBe(raw);
    expect(kubernetes.identify(kubernetes.parse(raw), ctx)).toMatchObject({ category: 'Namespace' });
  });

  test.each([
    ['a field a NetworkPolicyEgressRule does not have', { ...to, owner: 'team-a' }],
    ['a protocol NetworkPolicyPort does not have', { ...to, ports: [{ protocol: 'ICMP' }] }],
    ['a peer field Kubernetes does not have', { to: [{ service: 'db' }] }],
  ])('a rule with %s is a person’s rule: untyped and never ours', (_what, raw) => {
    const rule = kubernetes.parse(raw);
    expect(rule.typed).toBeNull();
    expect(kubernetes.identify(rule, ctx)).toBeNull();
    expect(kubernetes.describe(rule, ctx).category).toBe('Custom');
  });
});

describe('through a recommendation: what people wrote survives', () => {
  beforeAll(async () => {
    await loadTemplate();
  });

  test("our rule edited with a field of a person's own stays byte for byte, is not extended, and new traffic gets a rule of its own", async () => {
    const first = await run([egress('shop', wep('db'), { port: 5432 })]);
    const text = first.tree.get(PATH)!;
    const rule = /( {4}- action: Allow\n(?: {6}.*\n)+)/.exec(text)![1]!;
    const edited = rule.replace('      protocol: TCP\n', '      protocol: TCP\n      owner: team-a # who asked for it\n');
    expect(edited).not.toBe(rule);
    const tree = new Map(first.tree).set(PATH, text.replace(rule, edited));

    const second = await run([egress('shop', wep('db'), { port: 6379 })], { tree, now: NOW + HOUR });
    const after = second.tree.get(PATH)!;
    expect(after).toContain(edited);
    const rules = policyOf(second.tree, 'shop').spec.egress;
    expect(rules).toHaveLength(2);
    expect(rules.find((r: { owner?: string }) => r.owner === 'team-a').destination.ports).toEqual([5432]);
    expect(rules.find((r: { owner?: string }) => r.owner === undefined).destination.ports).toEqual([6379]);
  });
});
