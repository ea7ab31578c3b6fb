// Policy-trace entries of every release become one structured hit. The entries are upstream's own
// test data: goldmane/proto/methods_test.go on release-v3.31 (names as Felix printed them up to
// 3.31) and on HEAD (3.32+: `<kind>:[<ns>/]<name>`).

import { describe, expect, test } from '@jest/globals';
import { parsePolicyHit } from '../../src/flows/policy-hit.ts';

const parsed = (entry: string) => {
  const hit = parsePolicyHit(entry);
  return hit === null ? null : [hit.kind, hit.tier, hit.namespace, hit.name, hit.action, hit.ruleIndex];
};

describe('Calico up to 3.31 (release-v3.31 goldmane/proto/methods_test.go)', () => {
  test.each([
    ['0|tier|tier.name|allow|0', ['GlobalNetworkPolicy', 'tier', null, 'name', 'allow', 0]],
    ['1|tier|tier.staged:name|deny|2', ['StagedGlobalNetworkPolicy', 'tier', null, 'name', 'deny', 2]],
    ['1|tier|tier.staged:name.with.dots|deny|2', ['StagedGlobalNetworkPolicy', 'tier', null, 'name.with.dots', 'deny', 2]],
    ['0|tier|namespace/tier.name|allow|1', ['NetworkPolicy', 'tier', 'namespace', 'name', 'allow', 1]],
    ['0|tier1|default/tier1.np1-1|pass|0', ['NetworkPolicy', 'tier1', 'default', 'np1-1', 'pass', 0]],
    ['1|tier|namespace/tier.staged:name|deny|0', ['StagedNetworkPolicy', 'tier', 'namespace', 'name', 'deny', 0]],
    ['0|default|namespace/knp.default.name|allow|2', ['KubernetesNetworkPolicy', 'default', 'namespace', 'name', 'allow', 2]],
    ['1|default|namespace/staged:knp.default.name.with.dots|deny|3', ['StagedKubernetesNetworkPolicy', 'default', 'namespace', 'name.with.dots', 'deny', 3]],
    ['0|adminnetworkpolicy|kanp.adminnetworkpolicy.policy1|allow|-1', ['Other', 'adminnetworkpolicy', null, 'kanp.adminnetworkpolicy.policy1', 'allow', -1]],
    ['1|__PROFILE__|__PROFILE__.kns.default|allow|0', ['Profile', '__PROFILE__', null, 'kns.default', 'allow', 0]],
    ['1|__PROFILE__|__PROFILE__.ksa.svcacct|allow|0', ['Profile', '__PROFILE__', null, 'ksa.svcacct', 'allow', 0]],
    ['0|tier1|ns1/tier1.policy1|deny|-1', ['NetworkPolicy', 'tier1', 'ns1', 'policy1', 'deny', -1]],
    // Calico Enterprise's older form of a staged policy.
    ['1|tier|namespace/staged:tier.name|deny|0', ['StagedNetworkPolicy', 'tier', 'namespace', 'name', 'deny', 0]],
  ])('%s', (entry, expected) => {
    expect(parsed(entry)).toEqual(expected);
  });
});

describe('Calico 3.32 and later (HEAD goldmane/proto/methods_test.go)', () => {
  test.each([
    ['0|tier|gnp:name|allow|0', ['GlobalNetworkPolicy', 'tier', null, 'name', 'allow', 0]],
    ['1|tier|sgnp:name.with.dots|deny|2', ['StagedGlobalNetworkPolicy', 'tier', null, 'name.with.dots', 'deny', 2]],
    ['0|kube-admin|kcnp:name|deny|1', ['ClusterNetworkPolicy', 'kube-admin', null, 'name', 'deny', 1]],
    ['0|tier|np:namespace/name|allow|1', ['NetworkPolicy', 'tier', 'namespace', 'name', 'allow', 1]],
    // A name that carries its tier (created so before 3.32) is the same policy.
    ['0|tier|np:namespace/tier.name|allow|1', ['NetworkPolicy', 'tier', 'namespace', 'name', 'allow', 1]],
    ['0|default|knp:namespace/name|allow|2', ['KubernetesNetworkPolicy', 'default', 'namespace', 'name', 'allow', 2]],
    ['1|tier|snp:namespace/name.with.dots|deny|0', ['StagedNetworkPolicy', 'tier', 'namespace', 'name.with.dots', 'deny', 0]],
    ['1|default|sknp:namespace/name|deny|3', ['StagedKubernetesNetworkPolicy', 'default', 'namespace', 'name', 'deny', 3]],
    ['1|__PROFILE__|pro:kns.default|allow|0', ['Profile', '__PROFILE__', null, 'kns.default', 'allow', 0]],
    ['2|kube-admin|gnp:kube-admin.policy1|allow|-1', ['GlobalNetworkPolicy', 'kube-admin', null, 'policy1', 'allow', -1]],
    // A kind Felix has no short name for is written in full: another policy, never ours.
    ['0|tier|AdminNetworkPolicy:name|deny|0', ['Other', 'tier', null, 'name', 'deny', 0]],
  ])('%s', (entry, expected) => {
    expect(parsed(entry)).toEqual(expected);
  });

  test.each([
    '1|tier|sgnp:tier.name|deny|notInt',
    'notint|kube-baseline|kcnp:name|deny|2',
    '0|tier|gnp:tier.name|allow|0|extra',
    '1|tier|gnp:invalid-ch@aracter|deny|2',
    '1|_|snp:namespace/tier.name|deny|0',
    '0|@kube-baseline|kcnp:policy1|allow|-1',
    '0|kube-admin|kcnp:name|badaction|1',
    '0||np:namespace/name|allow|1',
    '0|tier1|np:namespace/|pass|0',
    '1|___PROFILE__|pro:kns.default|allow|0',
    '1|__PROFILE__|pro:PSA.svcacct|allow|0',
  ])('rejected as upstream rejects it: %s', (entry) => {
    expect(parsePolicyHit(entry)).toBeNull();
  });
});
