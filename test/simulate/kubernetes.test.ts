// Kubernetes NetworkPolicy as Calico evaluates it (`default.knp.default.<name>`, default tier,
// order 1000), hand-computed: selection, peers, ports, policy types, empty lists and the union of
// several policies.

import { describe, expect, test } from '@jest/globals';
import { decide, docs, egress, evaluate, ingress, net, policySet, pub, tier, wep } from '../support/simulate.ts';

const db = wep('shop', 'db-*', ['app=db']);
const web = wep('shop', 'web-*', ['app=web']);
const DENIED = 'denied: tier-default default';

function knp(name: string, spec: string[], namespace = 'shop'): string {
  return [
    'apiVersion: networking.k8s.io/v1',
    'kind: NetworkPolicy',
    `metadata: {name: ${name}, namespace: ${namespace}}`,
    'spec:',
    ...spec.map((l) => `  ${l}`),
  ].join('\n');
}

const dbIngress = knp('db', [
  'podSelector: {matchLabels: {app: db}}',
  'policyTypes: [Ingress]',
  'ingress:',
  '  - from: [{podSelector: {matchLabels: {app: web}}}]',
  '    ports: [{protocol: TCP, port: 5432}]',
]);

describe('Kubernetes NetworkPolicy', () => {
  test('podSelector peers: pods of the policy namespace with those labels', () => {
    expect(decide(dbIngress, ingress(web, db, { port: 5432 }))).toBe('allowed: rule shop/default.knp.default.db ingress[0]');
    expect(decide(dbIngress, ingress(wep('shop', 'x-*', ['app=other']), db, { port: 5432 }))).toBe(DENIED);
    expect(decide(dbIngress, ingress(wep('other', 'web-*', ['app=web']), db, { port: 5432 }))).toBe(DENIED);
    expect(decide(dbIngress, ingress(web, db, { port: 5433 }))).toBe(DENIED);
    expect(decide(dbIngress, ingress(web, db, { port: 5432, protocol: 'UDP' }))).toBe(DENIED);
  });

  test('pods the podSelector does not pick are not isolated', () => {
    expect(decide(dbIngress, ingress(web, wep('shop', 'api-*', ['app=api']), { port: 5432 }))).toBe('allowed: profile kns.shop');
    expect(decide(dbIngress, egress(db, pub))).toBe('allowed: profile kns.shop');
  });

  test('namespaceSelector with podSelector: pods with those labels in namespaces with those labels', () => {
    const set = knp('db', [
      'podSelector: {matchLabels: {app: db}}',
      'ingress:',
      '  - from: [{namespaceSelector: {matchLabels: {team: a}}, podSelector: {matchExpressions: [{key: app, operator: In, values: [web, api]}]}}]',
    ]);
    const labels = new Map([
      ['team-a', { team: 'a' }],
      ['team-b', { team: 'b' }],
    ]);
    expect(decide(policySet(set, labels), ingress(wep('team-a', 'web-*', ['app=web']), db))).toBe(
      'allowed: rule shop/default.knp.default.db ingress[0]',
    );
    expect(decide(policySet(set, labels), ingress(wep('team-a', 'x-*', ['app=x']), db))).toBe(DENIED);
    expect(decide(policySet(set, labels), ingress(wep('team-b', 'web-*', ['app=web']), db))).toBe(DENIED);
    // Without the namespace's labels the record cannot tell.
    expect(evaluate(set, ingress(wep('team-c', 'web-*', ['app=web']), db)).verdict).toBe('indeterminate');
  });

  test('an empty namespaceSelector is every namespace; matchExpressions Exists / DoesNotExist / NotIn', () => {
    const set = knp('db', [
      'podSelector: {}',
      'ingress:',
      '  - from: [{namespaceSelector: {}, podSelector: {matchExpressions: [{key: app, operator: Exists}, {key: app, operator: NotIn, values: [batch]}]}}]',
    ]);
    expect(decide(set, ingress(wep('anywhere', 'web-*', ['app=web']), db))).toBe('allowed: rule shop/default.knp.default.db ingress[0]');
    expect(decide(set, ingress(wep('anywhere', 'job-*', ['app=batch']), db))).toBe(DENIED);
    expect(decide(set, ingress(pub, db))).toBe(DENIED);
    const absent = knp('db', ['podSelector: {matchExpressions: [{key: quarantine, operator: DoesNotExist}]}', 'ingress: []']);
    expect(decide(absent, ingress(web, wep('shop', 'q-*', ['quarantine=yes'])))).toBe('allowed: profile kns.shop');
  });

  test('ipBlock with except', () => {
    const set = knp('out', [
      'podSelector: {}',
      'policyTypes: [Egress]',
      'egress:',
      '  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]',
    ]);
    expect(decide(set, egress(web, net('10.2.0.1')))).toBe('allowed: rule shop/default.knp.default.out egress[0]');
    expect(decide(set, egress(web, net('10.1.2.3')))).toBe(DENIED);
    expect(decide(set, egress(web, net('192.168.0.1')))).toBe(DENIED);
  });

  test('ports: a range with endPort, TCP by default, a protocol without a port', () => {
    const set = knp('ports', ['podSelector: {}', 'ingress:', '  - ports: [{port: 8000, endPort: 8100}, {protocol: UDP}]']);
    expect(decide(set, ingress(pub, web, { port: 8050 }))).toBe('allowed: rule shop/default.knp.default.ports ingress[0]');
    expect(decide(set, ingress(pub, web, { port: 8101 }))).toBe(DENIED);
    expect(decide(set, ingress(pub, web, { port: 8050, protocol: 'SCTP' }))).toBe(DENIED);
    expect(decide(set, ingress(pub, web, { port: 9999, protocol: 'UDP' }))).toBe('allowed: rule shop/default.knp.default.ports ingress[0]');
  });

  test('a named port cannot be resolved from a flow', () => {
    const set = knp('named', ['podSelector: {}', 'ingress: [{ports: [{port: http}]}]']);
    expect(evaluate(set, ingress(pub, web)).verdict).toBe('indeterminate');
  });

  test('policyTypes: Egress alone isolates egress only; without policyTypes, egress rules add Egress', () => {
    const egressOnly = knp('deny-out', ['podSelector: {}', 'policyTypes: [Egress]']);
    expect(decide(egressOnly, egress(web, pub))).toBe(DENIED);
    expect(decide(egressOnly, ingress(pub, web))).toBe('allowed: profile kns.shop');

    const defaulted = knp('both', ['podSelector: {}', 'egress: [{ports: [{port: 53, protocol: UDP}]}]']);
    expect(decide(defaulted, ingress(pub, web))).toBe(DENIED);
    expect(decide(defaulted, egress(web, pub, { port: 53, protocol: 'UDP' }))).toBe(
      'allowed: rule shop/default.knp.default.both egress[0]',
    );
    expect(decide(defaulted, egress(web, pub))).toBe(DENIED);

    const ingressOnly = knp('in', ['podSelector: {}']);
    expect(decide(ingressOnly, egress(web, pub))).toBe('allowed: profile kns.shop');
  });

  test('empty lists: no rules allow nothing, an empty rule or peer list allows everything', () => {
    expect(decide(knp('none', ['podSelector: {}', 'ingress: []']), ingress(pub, web))).toBe(DENIED);
    expect(decide(knp('all', ['podSelector: {}', 'ingress: [{}]']), ingress(pub, web))).toBe(
      'allowed: rule shop/default.knp.default.all ingress[0]',
    );
    expect(decide(knp('all', ['podSelector: {}', 'ingress: [{from: [], ports: []}]']), ingress(pub, web))).toBe(
      'allowed: rule shop/default.knp.default.all ingress[0]',
    );
  });

  test('several policies selecting a pod: what any of them allows is allowed (union)', () => {
    const set = docs(
      knp('http', ['podSelector: {matchLabels: {app: web}}', 'ingress: [{ports: [{port: 80}]}]']),
      knp('https', ['podSelector: {}', 'ingress: [{ports: [{port: 443}]}]']),
    );
    expect(decide(set, ingress(pub, web, { port: 80 }))).toBe('allowed: rule shop/default.knp.default.http ingress[0]');
    expect(decide(set, ingress(pub, web, { port: 443 }))).toBe('allowed: rule shop/default.knp.default.https ingress[0]');
    expect(decide(set, ingress(pub, web, { port: 22 }))).toBe(DENIED);
    // The db pods are selected by `https` only.
    expect(decide(set, ingress(pub, db, { port: 80 }))).toBe(DENIED);
  });

  test('Kubernetes policies sit in the default tier at order 1000, after the Calico tiers', () => {
    const isolation = [
      'apiVersion: projectcalico.org/v3',
      'kind: NetworkPolicy',
      'metadata: {name: iso.shop, namespace: shop}',
      'spec:',
      '  tier: iso',
      '  types: [Ingress]',
      "  ingress: [{action: Pass, source: {namespaceSelector: projectcalico.org/name == 'shop'}}, {action: Allow}]",
    ].join('\n');
    const set = docs(tier('iso', 10), isolation, dbIngress);
    expect(decide(set, ingress(web, db, { port: 5432 }))).toBe('allowed: rule shop/default.knp.default.db ingress[0]');
    expect(decide(set, ingress(web, db, { port: 22 }))).toBe(DENIED);
    expect(decide(set, ingress(pub, db, { port: 22 }))).toBe('allowed: rule shop/iso.shop ingress[1]');
    // A Calico policy of the default tier with a lower order comes before them.
    const first =
      'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: early, namespace: shop}\nspec:\n  order: 10\n  ingress: [{action: Deny}]';
    expect(decide(docs(first, dbIngress), ingress(web, db, { port: 5432 }))).toBe('denied: rule shop/default.early ingress[0]');
  });

  test('a StagedKubernetesNetworkPolicy stands in for the Kubernetes policy of the same name', () => {
    const staged = [
      'apiVersion: projectcalico.org/v3',
      'kind: StagedKubernetesNetworkPolicy',
      'metadata: {name: db, namespace: shop}',
      'spec:',
      '  podSelector: {matchLabels: {app: db}}',
      '  policyTypes: [Ingress]',
      '  ingress: [{ports: [{port: 5433}]}]',
    ].join('\n');
    const set = policySet(docs(dbIngress, staged));
    expect(decide(set, ingress(web, db, { port: 5433 }))).toBe('allowed: rule shop/default.knp.default.db ingress[0]');
    expect(decide(set, ingress(web, db, { port: 5432 }))).toBe(DENIED);
    expect(decide(set, ingress(web, db, { port: 5432 }), 'enforced')).toBe('allowed: rule shop/default.knp.default.db ingress[0]');
  });
});
