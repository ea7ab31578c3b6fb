// Policy-trace entries of every release become one structured hit. The entries are upstream's own
// test data: goldmane/proto/methods_test.go on release-v3.31 (names as Felix printed them up to
// 3.31) and on HEAD (3.32+: `<kind>:[<ns>/]<name>`); Felix's own test of the names it writes
// (felix/calc/policy_lookups_cache_test.go "Check flow log name is set correctly", identical on
// release-v3.30 and release-v3.31, and on release-v3.32, release-v3.33 and HEAD); and what Felix's
// RuleID.setFlowLogPolicyName (felix/calc/policy_lookup_cache.go) makes of the rule IDs that test
// file builds. Felix writes `<index>|<tier>|<policy>|<action>|<rule index>` (felix/collector/
// flowlog/types.go newPolicySet): the tests below put an index and a rule index around the
// `<tier>|<policy>|<action>` Felix's tests check.

import { describe, expect, test } from '@jest/globals';
import { parsePolicyHit, policyHitEntry, type TraceForm } from '../../src/flows/policy-hit.ts';

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
    [
      '1|default|namespace/staged:knp.default.name.with.dots|deny|3',
      ['StagedKubernetesNetworkPolicy', 'default', 'namespace', 'name.with.dots', 'deny', 3],
    ],
    [
      '0|adminnetworkpolicy|kanp.adminnetworkpolicy.policy1|allow|-1',
      ['Other', 'adminnetworkpolicy', null, 'kanp.adminnetworkpolicy.policy1', 'allow', -1],
    ],
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

/** Felix's `<tier>|<policy>|<action>` with an index and a rule index around it, as newPolicySet writes it. */
const entry = (fpName: string, index = 0, ruleIndex = 0) => {
  const [tier, policy, action] = fpName.split('|') as [string, string, string];
  return `${index}|${tier}|${policy}|${action}|${ruleIndex}`;
};

describe('the names Felix writes up to 3.31 (felix/calc/policy_lookups_cache_test.go, release-v3.30 = release-v3.31)', () => {
  test.each([
    ['default|default.gnp-1|allow', ['GlobalNetworkPolicy', 'default', null, 'gnp-1', 'allow', 0]],
    ['tier-1|tier-1.gnp-2|pass', ['GlobalNetworkPolicy', 'tier-1', null, 'gnp-2', 'pass', 0]],
    ['default|ns1/default.np-1|allow', ['NetworkPolicy', 'default', 'ns1', 'np-1', 'allow', 0]],
    ['netsec|ns2/netsec.np-2|allow', ['NetworkPolicy', 'netsec', 'ns2', 'np-2', 'allow', 0]],
    ['default|test/knp.default.allow.all|allow', ['KubernetesNetworkPolicy', 'default', 'test', 'allow.all', 'allow', 0]],
    // A profile's rule ID with a namespace (Felix itself gives profiles none): still the profile.
    ['__PROFILE__|ns3/__PROFILE__.kns.ns3|allow', ['Profile', '__PROFILE__', null, 'kns.ns3', 'allow', 0]],
    ['default|default.staged:gnp-1|allow', ['StagedGlobalNetworkPolicy', 'default', null, 'gnp-1', 'allow', 0]],
    ['tier-1|tier-1.staged:gnp-2|pass', ['StagedGlobalNetworkPolicy', 'tier-1', null, 'gnp-2', 'pass', 0]],
    ['default|ns1/default.staged:np.1|allow', ['StagedNetworkPolicy', 'default', 'ns1', 'np.1', 'allow', 0]],
    ['netsec|ns2/netsec.staged:np-2|allow', ['StagedNetworkPolicy', 'netsec', 'ns2', 'np-2', 'allow', 0]],
    ['default|test/staged:knp.default.allow.all|allow', ['StagedKubernetesNetworkPolicy', 'default', 'test', 'allow.all', 'allow', 0]],
  ])('%s', (fpName, expected) => {
    expect(parsed(entry(fpName))).toEqual(expected);
  });

  // setFlowLogPolicyName (release-v3.31) on the rule IDs of that test file: a policy without a
  // namespace is `<tier>.<name>` whatever its name, so an AdminNetworkPolicy (DeconstructPolicyName
  // keeps its `kanp.adminnetworkpolicy.` prefix) gets its tier twice; a rule ID without a name is
  // `__NO_MATCH__` (the end of a tier: NewRuleID(tier, "", "", 0, ...); no profile matched:
  // NewRuleID("", "", "", 0, ...)).
  test.each([
    [
      'adminnetworkpolicy|adminnetworkpolicy.kanp.adminnetworkpolicy.policy-1.1.1.1|deny',
      ['Other', 'adminnetworkpolicy', null, 'kanp.adminnetworkpolicy.policy-1.1.1.1', 'deny', 0],
    ],
    [
      'baselineadminnetworkpolicy|baselineadminnetworkpolicy.kbanp.baselineadminnetworkpolicy.policy-1.1.1.1|deny',
      ['Other', 'baselineadminnetworkpolicy', null, 'kbanp.baselineadminnetworkpolicy.policy-1.1.1.1', 'deny', 0],
    ],
    ['tier-1|tier-1.policy-1.2.3|allow', ['GlobalNetworkPolicy', 'tier-1', null, 'policy-1.2.3', 'allow', 0]],
    ['tier-1|namespace-1/tier-1.policy-2|allow', ['NetworkPolicy', 'tier-1', 'namespace-1', 'policy-2', 'allow', 0]],
    ['tier-1|tier-1.__NO_MATCH__|deny', ['Other', 'tier-1', null, '__NO_MATCH__', 'deny', 0]],
    ['tier-1|tier-1.__NO_MATCH__|pass', ['Other', 'tier-1', null, '__NO_MATCH__', 'pass', 0]],
    ['__PROFILE__|__PROFILE__.__NO_MATCH__|deny', ['Profile', '__PROFILE__', null, '__NO_MATCH__', 'deny', 0]],
  ])('derived: %s', (fpName, expected) => {
    expect(parsed(entry(fpName))).toEqual(expected);
  });
});

describe('the names Felix writes from 3.32 (felix/calc/policy_lookups_cache_test.go, release-v3.32 = release-v3.33 = HEAD)', () => {
  test.each([
    ['default|gnp:gnp-1|allow', ['GlobalNetworkPolicy', 'default', null, 'gnp-1', 'allow', 0]],
    ['tier-1|gnp:gnp-2|pass', ['GlobalNetworkPolicy', 'tier-1', null, 'gnp-2', 'pass', 0]],
    ['default|np:ns1/np-1|allow', ['NetworkPolicy', 'default', 'ns1', 'np-1', 'allow', 0]],
    ['netsec|np:ns2/np-2|allow', ['NetworkPolicy', 'netsec', 'ns2', 'np-2', 'allow', 0]],
    ['default|knp:test/allow.all|allow', ['KubernetesNetworkPolicy', 'default', 'test', 'allow.all', 'allow', 0]],
    ['__PROFILE__|pro:kns.ns3|allow', ['Profile', '__PROFILE__', null, 'kns.ns3', 'allow', 0]],
    ['default|sgnp:gnp-1|allow', ['StagedGlobalNetworkPolicy', 'default', null, 'gnp-1', 'allow', 0]],
    ['tier-1|sgnp:gnp-2|pass', ['StagedGlobalNetworkPolicy', 'tier-1', null, 'gnp-2', 'pass', 0]],
    ['default|snp:ns1/np.1|allow', ['StagedNetworkPolicy', 'default', 'ns1', 'np.1', 'allow', 0]],
    ['netsec|snp:ns2/np-2|allow', ['StagedNetworkPolicy', 'netsec', 'ns2', 'np-2', 'allow', 0]],
    ['default|sknp:test/allow.all|allow', ['StagedKubernetesNetworkPolicy', 'default', 'test', 'allow.all', 'allow', 0]],
  ])('%s', (fpName, expected) => {
    expect(parsed(entry(fpName))).toEqual(expected);
  });

  // setFlowLogPolicyName (HEAD) on the rule IDs of that test file: the end of a tier is
  // `eot:__NO_MATCH__`, no profile matched `pro:__NO_MATCH__`; the test's Kubernetes policies carry
  // the names older Typha sent (`knp.default.<name>`, `kcnp.<tier>.<name>`), which are dropped as
  // the Goldmane source drops them.
  test.each([
    ['tier-1|eot:__NO_MATCH__|deny', ['Other', 'tier-1', null, '__NO_MATCH__', 'deny', 0]],
    ['kube-admin|eot:__NO_MATCH__|deny', ['Other', 'kube-admin', null, '__NO_MATCH__', 'deny', 0]],
    ['__PROFILE__|pro:__NO_MATCH__|deny', ['Profile', '__PROFILE__', null, '__NO_MATCH__', 'deny', 0]],
    ['__PROFILE__|pro:profile-1|deny', ['Profile', '__PROFILE__', null, 'profile-1', 'deny', 0]],
    ['tier-1|gnp:policy-1.2.3|allow', ['GlobalNetworkPolicy', 'tier-1', null, 'policy-1.2.3', 'allow', 0]],
    ['tier-1|np:namespace-1/policy-2|allow', ['NetworkPolicy', 'tier-1', 'namespace-1', 'policy-2', 'allow', 0]],
    [
      'default|knp:namespace-1/knp.default.policy-1.1.1.1|deny',
      ['KubernetesNetworkPolicy', 'default', 'namespace-1', 'policy-1.1.1.1', 'deny', 0],
    ],
    ['kube-admin|kcnp:kcnp.kube-admin.policy-1.1.1.1|deny', ['ClusterNetworkPolicy', 'kube-admin', null, 'policy-1.1.1.1', 'deny', 0]],
    [
      'kube-baseline|kcnp:kcnp.kube-baseline.policy-1.1.1.1|deny',
      ['ClusterNetworkPolicy', 'kube-baseline', null, 'policy-1.1.1.1', 'deny', 0],
    ],
  ])('derived: %s', (fpName, expected) => {
    expect(parsed(entry(fpName))).toEqual(expected);
  });

  test('a Kubernetes policy keeps a name that merely starts with its tier (Kubernetes names never carried one)', () => {
    expect(parsed('0|default|knp:ns/default.web|allow|0')).toEqual(['KubernetesNetworkPolicy', 'default', 'ns', 'default.web', 'allow', 0]);
    expect(parsed('0|default|np:ns/default.web|allow|0')).toEqual(['NetworkPolicy', 'default', 'ns', 'web', 'allow', 0]);
  });
});

describe('entries no Felix release writes are rejected', () => {
  test.each([
    // Kubernetes policies are always in the default tier (DeconstructPolicyName, release-v3.31;
    // goldmane/proto/methods_test.go release-v3.31 lists this one as invalid).
    '0|tier|namespace/knp.default.name|allow|2',
    '0|tier|namespace/staged:knp.default.name|allow|2',
    // ... and namespaced.
    '0|default|knp.default.name|allow|2',
    // An AdminNetworkPolicy is global, and named `kanp.adminnetworkpolicy.<name>`.
    '0|adminnetworkpolicy|ns/kanp.adminnetworkpolicy.name|allow|0',
    '0|adminnetworkpolicy|kanp.adminnetworkpolicy.|allow|0',
    // Only profiles sit in the __PROFILE__ tier, and profiles only there.
    '0|__PROFILE__|np:ns/name|allow|0',
    '0|__PROFILE__|default.name|allow|0',
    '0|tier|pro:kns.default|allow|0',
    // Namespaced kinds have a namespace, the others none (goldmane/proto/methods.go Validate, HEAD).
    '0|tier|np:name|allow|0',
    '0|tier|snp:name|allow|0',
    '0|default|knp:name|allow|0',
    '0|tier|gnp:ns/name|allow|0',
    '0|kube-admin|kcnp:ns/name|allow|0',
    '0|__PROFILE__|pro:ns/kns.ns|allow|0',
    // 3.32+ names are object names: no `staged:`.
    '0|tier|snp:ns/staged:name|allow|0',
    // The end of a tier names no policy.
    '0|tier|eot:name|deny|0',
    '0|__PROFILE__|eot:__NO_MATCH__|deny|0',
    '0|tier|tier.staged:__NO_MATCH__|deny|0',
    '0|tier|ns/tier.__NO_MATCH__|deny|0',
    // Felix writes allow, deny or pass (RuleID.ActionString).
    '0|tier|tier.name|log|0',
    '0|tier|np:ns/name|next-tier|0',
  ])('%s', (entry) => {
    expect(parsePolicyHit(entry)).toBeNull();
  });

  test('a kind name of JavaScript objects is no kind', () => {
    expect(parsePolicyHit('0|tier|constructor:name|allow|0')).toMatchObject({ kind: 'Other', name: 'name' });
    expect(parsePolicyHit('0|constructor|constructor.name|allow|0')).toMatchObject({ kind: 'GlobalNetworkPolicy', name: 'name' });
  });
});

describe("Calico Enterprise / Cloud: the forms the docs' flow log data types page lists", () => {
  // calico-enterprise/observability/elastic/flow/datatypes.mdx (tigera/docs): `<tier>.<name>` for a
  // GlobalNetworkPolicy, `<namespace>/knp.default.<name>` for a Kubernetes NetworkPolicy,
  // `<namespace>/<tier>.<name>` for a NetworkPolicy; "Staged policy names are prefixed with staged:".
  test.each([
    ['0|security|security.block-public-db|deny|0', ['GlobalNetworkPolicy', 'security', null, 'block-public-db', 'deny', 0]],
    ['0|default|yaobank/knp.default.allow-db|allow|1', ['KubernetesNetworkPolicy', 'default', 'yaobank', 'allow-db', 'allow', 1]],
    ['0|netsec|yaobank/netsec.allow-db|allow|1', ['NetworkPolicy', 'netsec', 'yaobank', 'allow-db', 'allow', 1]],
    ['0|netsec|staged:netsec.block|deny|0', ['StagedGlobalNetworkPolicy', 'netsec', null, 'block', 'deny', 0]],
    ['0|netsec|yaobank/staged:netsec.block|deny|0', ['StagedNetworkPolicy', 'netsec', 'yaobank', 'block', 'deny', 0]],
    [
      '0|default|yaobank/staged:knp.default.allow-db|allow|1',
      ['StagedKubernetesNetworkPolicy', 'default', 'yaobank', 'allow-db', 'allow', 1],
    ],
    // Names with dots keep them; only the tier in front is dropped, once.
    ['0|netsec|netsec.block.v2|deny|0', ['GlobalNetworkPolicy', 'netsec', null, 'block.v2', 'deny', 0]],
    ['0|netsec|yaobank/netsec.netsec.v2|deny|0', ['NetworkPolicy', 'netsec', 'yaobank', 'netsec.v2', 'deny', 0]],
    // The page's own example: a staged tier1 name in tier2, read as written.
    ['1|tier2|ns2/staged:tier1.policy1|deny|1', ['StagedNetworkPolicy', 'tier2', 'ns2', 'tier1.policy1', 'deny', 1]],
  ])('%s', (text, expected) => {
    expect(parsed(text)).toEqual(expected);
  });
});

describe('rule indexes', () => {
  test('-1 (the tier default action) and -2 (not recorded; flow log data types page) are kept', () => {
    expect(parsePolicyHit('0|tier1|ns1/tier1.policy1|deny|-1')?.ruleIndex).toBe(-1);
    expect(parsePolicyHit('0|tier1|np:ns1/policy1|deny|-2')?.ruleIndex).toBe(-2);
  });
});

describe('policyHitEntry writes what Felix writes', () => {
  const forms: [string, TraceForm][] = [
    // release-v3.31 policy_lookups_cache_test.go names (index and rule index added).
    ['0|default|default.gnp-1|allow|0', '3.31'],
    ['2|netsec|ns2/netsec.np-2|allow|4', '3.31'],
    ['0|default|test/knp.default.allow.all|allow|0', '3.31'],
    ['1|tier-1|tier-1.staged:gnp-2|pass|-1', '3.31'],
    ['0|default|ns1/default.staged:np.1|allow|0', '3.31'],
    ['0|default|test/staged:knp.default.allow.all|allow|0', '3.31'],
    ['3|__PROFILE__|__PROFILE__.kns.ns3|allow|0', '3.31'],
    // HEAD policy_lookups_cache_test.go names.
    ['0|default|gnp:gnp-1|allow|0', '3.32'],
    ['2|netsec|np:ns2/np-2|allow|4', '3.32'],
    ['0|default|knp:test/allow.all|allow|0', '3.32'],
    ['1|tier-1|sgnp:gnp-2|pass|-1', '3.32'],
    ['0|default|snp:ns1/np.1|allow|0', '3.32'],
    ['0|default|sknp:test/allow.all|allow|0', '3.32'],
    ['3|__PROFILE__|pro:kns.ns3|allow|0', '3.32'],
    ['0|kube-admin|kcnp:name|deny|1', '3.32'],
  ];
  test.each(forms)('%s (%s)', (text, form) => {
    expect(policyHitEntry(parsePolicyHit(text)!, form)).toBe(text);
  });

  test('one hit, both forms', () => {
    const hit = parsePolicyHit('0|security|security.staged:quarantine|deny|0')!;
    expect(policyHitEntry(hit, '3.32')).toBe('0|security|sgnp:quarantine|deny|0');
    expect(parsePolicyHit(policyHitEntry(hit, '3.32'))).toEqual(hit);
  });

  test('what a form cannot say is refused', () => {
    expect(() => policyHitEntry(parsePolicyHit('0|kube-admin|kcnp:name|deny|1')!, '3.31')).toThrow(RangeError);
    expect(() => policyHitEntry(parsePolicyHit('0|tier|AdminNetworkPolicy:name|deny|0')!, '3.32')).toThrow(RangeError);
  });
});
