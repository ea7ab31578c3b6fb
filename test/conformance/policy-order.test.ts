// Policies of equal order, per Calico release (felix/calc/policy_sorter.go PolKVLess):
// - release-v3.30 / release-v3.31: ties break on the v1 key's name, `<ns>/<tier>.<name>` for a
//   Calico NetworkPolicy (a name without a dot is stored as `default.<name>`,
//   libcalico-go/lib/names/policy.go TieredPolicyName) and `<ns>/knp.default.<name>` for a
//   Kubernetes NetworkPolicy (libcalico-go/lib/backend/k8s/conversion/conversion.go, order 1000);
// - release-v3.32 and later: on `<name>/<namespace>/<kind>` (model.PolicyKey), the Kubernetes
//   policy's name being its own (conversion.go, release-v3.32) and its kind KubernetesNetworkPolicy.
// Tiers by order, then name, in every release.

import { describe, expect, test } from '@jest/globals';
import type { CalicoRelease } from '../../src/calico/release.ts';
import { Simulator } from '../../src/simulate/evaluate.ts';
import { policySetFromTree } from '../../src/simulate/policy-set.ts';
import { egress, oneLine, wep } from '../support/simulate.ts';

/** A Calico NetworkPolicy named `zz` (default tier, order 1000) denying TCP 80, and a Kubernetes one named `db` allowing it. */
const TREE = new Map([
  [
    'calico.yaml',
    'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: zz, namespace: shop}\nspec: {order: 1000, selector: all(), types: [Egress], egress: [{action: Deny, protocol: TCP, destination: {ports: [80]}}]}',
  ],
  [
    'kubernetes.yaml',
    'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: shop}\nspec: {podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: 80}]}]}',
  ],
]);

const decide = (release: CalicoRelease) =>
  oneLine(
    new Simulator(policySetFromTree(TREE, { calicoVersion: release }), 'enforced').evaluate(
      egress(wep('shop', 'web-*'), wep('api', 'x-*'), { port: 80 }),
    ),
  );

describe('ties between a Calico and a Kubernetes policy of order 1000', () => {
  test.each(['3.30', '3.31'] as const)(
    'Calico %s: `shop/default.zz` sorts before `shop/knp.default.db`: the Calico policy decides',
    (release) => {
      expect(decide(release)).toBe('denied: rule shop/default.zz egress[0]');
    },
  );

  test.each(['3.32', '3.33', 'main'] as const)(
    'Calico %s: `db/shop/KubernetesNetworkPolicy` sorts before `zz/shop/NetworkPolicy`: the Kubernetes policy decides',
    (release) => {
      expect(decide(release)).toBe('allowed: rule shop/default.knp.default.db egress[0]');
    },
  );
});

describe('ties between Calico policies of one tier', () => {
  // `t.a` in namespace zoo (Allow) against the global `t.b` (Deny), both order 10 in tier t.
  const tree = new Map([
    ['tiers.yaml', 'apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: t}\nspec: {order: 100}'],
    [
      'a.yaml',
      'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: t.a, namespace: zoo}\nspec: {tier: t, order: 10, selector: all(), types: [Egress], egress: [{action: Allow}]}',
    ],
    [
      'b.yaml',
      'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: t.b}\nspec: {tier: t, order: 10, selector: all(), types: [Egress], egress: [{action: Deny}]}',
    ],
  ]);
  const first = (release: CalicoRelease) =>
    oneLine(
      new Simulator(policySetFromTree(tree, { calicoVersion: release }), 'enforced').evaluate(
        egress(wep('zoo', 'web-*'), wep('api', 'x-*'), { port: 80 }),
      ),
    );

  test.each(['3.30', '3.31'] as const)('Calico %s: `t.b` sorts before `zoo/t.a` (the namespace comes first in the key)', (release) => {
    expect(first(release)).toBe('denied: rule t.b egress[0]');
  });

  test.each(['3.32', '3.33', 'main'] as const)(
    'Calico %s: `t.a/zoo/NetworkPolicy` sorts before `t.b//GlobalNetworkPolicy` (the name comes first)',
    (release) => {
      expect(first(release)).toBe('allowed: rule zoo/t.a egress[0]');
    },
  );
});
