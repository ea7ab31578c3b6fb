// Building the policy set: what Calico's API server would refuse is reported with its file and
// skipped; everything else is indexed as Calico orders it.

import { describe, expect, test } from '@jest/globals';
import { effectivePolicies, policySetFromTree } from '../../src/simulate/policy-set.ts';
import { docs, tier } from '../support/simulate.ts';

function setOf(files: Record<string, string>) {
  return policySetFromTree(new Map(Object.entries(files)));
}

function policy(kind: string, name: string, spec: string[], namespace: string | null = 'shop'): string {
  const metadata = namespace === null ? `{name: ${name}}` : `{name: ${name}, namespace: ${namespace}}`;
  return ['apiVersion: projectcalico.org/v3', `kind: ${kind}`, `metadata: ${metadata}`, 'spec:', ...spec.map((l) => `  ${l}`)].join('\n');
}

describe('invalid objects are reported with their file and skipped', () => {
  const cases: [string, string, RegExp][] = [
    ['a broken selector', policy('NetworkPolicy', 'p', ["selector: app = 'x'"]), /spec\.selector: expected '=='/],
    [
      'global() outside a namespaceSelector',
      policy('NetworkPolicy', 'p', ['selector: global()']),
      /global\(\) can only be used in a rule's namespaceSelector/,
    ],
    ['a tier that does not exist', policy('NetworkPolicy', 'p', ['tier: missing']), /tier missing does not exist/],
    [
      'ports without a protocol',
      policy('NetworkPolicy', 'p', ['egress: [{action: Allow, destination: {ports: [80]}}]']),
      /ports need protocol TCP, UDP or SCTP/,
    ],
    [
      'services with a selector',
      policy('NetworkPolicy', 'p', ['egress: [{action: Allow, destination: {services: {name: api}, selector: all()}}]']),
      /services cannot be combined/,
    ],
    [
      'services on the local end',
      policy('NetworkPolicy', 'p', ['egress: [{action: Allow, source: {services: {name: api}}}]']),
      /services may only name the remote end/,
    ],
    [
      'ports with services',
      policy('NetworkPolicy', 'p', ['egress: [{action: Allow, protocol: TCP, destination: {services: {name: api}, ports: [80]}}]']),
      /ports cannot be given with services/,
    ],
    [
      'domains on a Deny rule',
      policy('NetworkPolicy', 'p', ['egress: [{action: Deny, destination: {domains: [a.com]}}]']),
      /domains is only valid on Allow rules/,
    ],
    [
      'domains with nets',
      policy('NetworkPolicy', 'p', ['egress: [{action: Allow, destination: {domains: [a.com], nets: [1.2.3.0/24]}}]']),
      /domains cannot be combined with nets/,
    ],
    ['an unknown action', policy('NetworkPolicy', 'p', ['egress: [{action: Drop}]']), /action must be one of Allow, Deny, Log, Pass/],
    [
      'an unknown rule field',
      policy('NetworkPolicy', 'p', ['egress: [{action: Allow, dest: {}}]']),
      /spec\.egress\[0\]\.dest is not a rule field/,
    ],
    ['a bad CIDR', policy('NetworkPolicy', 'p', ['egress: [{action: Allow, destination: {nets: [10.0.0.0/33]}}]']), /is not an IP network/],
    [
      'a bad stagedAction',
      policy('StagedNetworkPolicy', 'p', ['stagedAction: Apply']),
      /stagedAction must be one of Set, Delete, Learn, Ignore/,
    ],
    ['a namespaced policy without a namespace', policy('NetworkPolicy', 'p', [], null), /metadata\.namespace is missing/],
    [
      'icmp without an ICMP protocol',
      policy('NetworkPolicy', 'p', ['egress: [{action: Allow, icmp: {type: 8}}]']),
      /icmp requires protocol ICMP/,
    ],
    ['a default tier with another order', tier('default', 5), /the default tier must have order 1000000/],
    [
      'a bad Kubernetes port',
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: k, namespace: shop}\nspec:\n  podSelector: {}\n  ingress: [{ports: [{port: 90, endPort: 80}]}]',
      /endPort must be a port at or above port/,
    ],
    [
      'a Kubernetes peer with ipBlock and a selector',
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: k, namespace: shop}\nspec:\n  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]',
      /ipBlock cannot be combined with selectors/,
    ],
  ];
  test.each(cases)('%s', (_what, yaml, message) => {
    const set = setOf({ 'bad.yaml': yaml, 'good.yaml': policy('NetworkPolicy', 'ok', []) });
    expect(set.warnings).toHaveLength(1);
    expect(set.warnings[0]!.path).toBe('bad.yaml');
    expect(set.warnings[0]!.message).toMatch(message);
    expect(set.policies.map((p) => p.name)).toEqual(['ok']);
  });

  test('a file that is not YAML, a duplicate, and the internal API version', () => {
    const set = setOf({
      'a.yaml': policy('NetworkPolicy', 'p', []),
      'b.yaml': policy('NetworkPolicy', 'p', []),
      'broken.yaml': 'spec: [unclosed',
      'old.yaml': policy('NetworkPolicy', 'q', []).replace('projectcalico.org/v3', 'crd.projectcalico.org/v1'),
      'notes.txt': 'not a YAML file',
    });
    expect(set.warnings.map((w) => [w.path, w.object, w.message.split(':')[0]])).toEqual([
      ['b.yaml', 'NetworkPolicy shop/p', 'defined again (first in a.yaml)'],
      ['broken.yaml', null, 'broken.yaml'],
      ['old.yaml', 'NetworkPolicy shop/q', 'apiVersion "crd.projectcalico.org/v1" is not projectcalico.org/v3'],
    ]);
    expect(set.policies).toHaveLength(1);
  });

  test('objects of other kinds are none of its business', () => {
    const set = setOf({
      'kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []',
      'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}',
    });
    expect(set.warnings).toEqual([]);
    expect(set.policies).toEqual([]);
  });
});

describe('what the set holds', () => {
  test("Calico's names: <tier>.<name>, the prefix not repeated; Kubernetes policies as knp.default.<name>", () => {
    const set = setOf({
      'p.yaml': docs(
        tier('iso', 1),
        policy('NetworkPolicy', 'iso.shop', ['tier: iso']),
        policy('NetworkPolicy', 'plain', ['tier: iso']),
        policy('GlobalNetworkPolicy', 'g', [], null),
        'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec: {podSelector: {}}',
      ),
    });
    expect(set.policies.map((p) => p.calicoName)).toEqual(['iso.shop', 'iso.plain', 'default.g', 'default.knp.default.web']);
    expect(set.policies.find((p) => p.kind === 'KubernetesNetworkPolicy')).toMatchObject({ tier: 'default', order: 1000 });
  });

  test('the views: enforced only, or with staged Set/Learn applied and Delete/Ignore honoured', () => {
    const set = setOf({
      'p.yaml': docs(
        policy('NetworkPolicy', 'kept', []),
        policy('NetworkPolicy', 'replaced', []),
        policy('NetworkPolicy', 'deleted', []),
        policy('StagedNetworkPolicy', 'replaced', ['stagedAction: Set']),
        policy('StagedNetworkPolicy', 'deleted', ['stagedAction: Delete']),
        policy('StagedNetworkPolicy', 'learning', ['stagedAction: Learn']),
        policy('StagedNetworkPolicy', 'dismissed', ['stagedAction: Ignore']),
      ),
    });
    const names = (view: 'enforced' | 'staged') =>
      effectivePolicies(view, set.policies)
        .map((p) => `${p.staged ? 'staged ' : ''}${p.name}`)
        .sort();
    expect(names('enforced')).toEqual(['deleted', 'kept', 'replaced']);
    expect(names('staged')).toEqual(['kept', 'staged learning', 'staged replaced']);
  });

  test('namespace labels: the name labels always, others from Namespace objects or the caller', () => {
    const set = policySetFromTree(new Map([['ns.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: a}}']]), {
      namespaces: new Map([['data', { tier: 'db' }]]),
    });
    expect(set.namespaceLabels('shop').labels).toEqual({
      team: 'a',
      'projectcalico.org/name': 'shop',
      'kubernetes.io/metadata.name': 'shop',
    });
    expect(set.namespaceLabels('data').known('team')).toBe(true);
    expect(set.namespaceLabels('other').known('team')).toBe(false);
    expect(set.namespaceLabels('other').known('projectcalico.org/name')).toBe(true);
  });

  test('tier indexes hold only the policies that may apply to a namespace, in order', () => {
    const set = setOf({
      'p.yaml': docs(
        policy('NetworkPolicy', 'b', ['order: 5', 'egress: [{action: Allow}]']),
        policy('NetworkPolicy', 'a', ['order: 5', 'egress: [{action: Allow}]'], 'other'),
        policy('GlobalNetworkPolicy', 'g', ['order: 1', 'egress: [{action: Allow}]'], null),
        policy('NetworkPolicy', 'ingress-only', ['order: 1']),
      ),
    });
    const tier = set.plan('staged').tiers[0]!;
    expect(tier.policiesFor('shop', 'egress').map((p) => p.name)).toEqual(['g', 'b']);
    expect(tier.policiesFor(null, 'egress').map((p) => p.name)).toEqual(['g']);
    expect(tier.policiesFor('shop', 'ingress').map((p) => p.name)).toEqual(['ingress-only']);
  });
});
