// Our Goldmane client against the test server speaking each supported release: the flows' policy
// hits are built from Felix's flow-log strings exactly as that release's Goldmane builds them
// (goldmane/proto/methods.go HitFromString; the strings are upstream's own TestConversion cases in
// goldmane/proto/methods_test.go of release-v3.31 and release-v3.32, the same on release-v3.30,
// release-v3.33 and master), sent over the wire of that release's api.proto (upstream/), read by
// List and by Stream, and compared with what each string names. The server also reads our
// requests as that release does: they must mean the same to every release.

import { describe, expect, test } from '@jest/globals';
import type { FlowRecord, PolicyHit } from '../../../src/flows/record.ts';
import { openGoldmaneSource } from '../../../src/flows/sources/goldmane/goldmane-source.ts';
import {
  ACTION,
  contractOf,
  ENDPOINT,
  GoldmaneTestServer,
  goldmaneConfig,
  goldmaneHit,
  RELEASES,
  REPORTER,
  type Release,
  type TestFlow,
  upstreamRef,
} from '../../support/goldmane-server.ts';

/** release-v3.31 goldmane/proto/methods_test.go TestConversion (release-v3.30: the same). */
const V331: [string, string][] = [
  ['0|tier|tier.name|allow|0', '0 tier GlobalNetworkPolicy -/name allow 0'],
  ['1|tier|tier.staged:name|deny|2', '1 tier StagedGlobalNetworkPolicy -/name deny 2'],
  ['1|tier|tier.staged:name.with.dots|deny|2', '1 tier StagedGlobalNetworkPolicy -/name.with.dots deny 2'],
  ['0|adminnetworkpolicy|adminnetworkpolicy.name|deny|1', '0 adminnetworkpolicy GlobalNetworkPolicy -/name deny 1'],
  ['1|baselineadminnetworkpolicy|baselineadminnetworkpolicy.name|deny|2', '1 baselineadminnetworkpolicy GlobalNetworkPolicy -/name deny 2'],
  ['0|tier|namespace/tier.name|allow|1', '0 tier NetworkPolicy namespace/name allow 1'],
  ['0|tier1|default/tier1.np1-1|pass|0', '0 tier1 NetworkPolicy default/np1-1 pass 0'],
  ['0|default|namespace/knp.default.name|allow|2', '0 default KubernetesNetworkPolicy namespace/name allow 2'],
  ['1|tier|namespace/tier.staged:name|deny|0', '1 tier StagedNetworkPolicy namespace/name deny 0'],
  ['1|tier|namespace/tier.staged:name.with.dots|deny|0', '1 tier StagedNetworkPolicy namespace/name.with.dots deny 0'],
  ['1|default|namespace/staged:knp.default.name|deny|3', '1 default StagedKubernetesNetworkPolicy namespace/name deny 3'],
  [
    '1|default|namespace/staged:knp.default.name.with.dots|deny|3',
    '1 default StagedKubernetesNetworkPolicy namespace/name.with.dots deny 3',
  ],
  // AdminNetworkPolicy (kind 7) and BaselineAdminNetworkPolicy (8): never ours, another policy.
  ['3|adminnetworkpolicy|kanp.adminnetworkpolicy.name|pass|4', '3 adminnetworkpolicy Other -/name pass 4'],
  ['3|adminnetworkpolicy|kanp.adminnetworkpolicy.name.with.dots|pass|4', '3 adminnetworkpolicy Other -/name.with.dots pass 4'],
  ['2|adminnetworkpolicy|kanp.adminnetworkpolicy.name.with.dots|pass|1', '2 adminnetworkpolicy Other -/name.with.dots pass 1'],
  ['0|baselineadminnetworkpolicy|kbanp.baselineadminnetworkpolicy.name|pass|4', '0 baselineadminnetworkpolicy Other -/name pass 4'],
  [
    '3|baselineadminnetworkpolicy|kbanp.baselineadminnetworkpolicy.name.with.dots|pass|4',
    '3 baselineadminnetworkpolicy Other -/name.with.dots pass 4',
  ],
  [
    '2|baselineadminnetworkpolicy|kbanp.baselineadminnetworkpolicy.name.with.dots|pass|1',
    '2 baselineadminnetworkpolicy Other -/name.with.dots pass 1',
  ],
  ['1|__PROFILE__|__PROFILE__.kns.default|allow|0', '1 __PROFILE__ Profile -/kns.default allow 0'],
  ['2|__PROFILE__|__PROFILE__.kns.default|allow|1', '2 __PROFILE__ Profile -/kns.default allow 1'],
  ['1|__PROFILE__|__PROFILE__.ksa.svcacct|allow|0', '1 __PROFILE__ Profile -/ksa.svcacct allow 0'],
  // End of tier: the hit names the tier, its trigger the policy; rule -1.
  ['0|tier1|ns1/tier1.policy1|deny|-1', '0 tier1 NetworkPolicy ns1/policy1 deny -1'],
  ['1|tier1|ns1/tier1.policy1|allow|-1', '1 tier1 NetworkPolicy ns1/policy1 allow -1'],
  ['0|adminnetworkpolicy|kanp.adminnetworkpolicy.policy1|allow|-1', '0 adminnetworkpolicy Other -/policy1 allow -1'],
  ['2|adminnetworkpolicy|adminnetworkpolicy.policy1|allow|-1', '2 adminnetworkpolicy GlobalNetworkPolicy -/policy1 allow -1'],
  ['0|tier2|default/tier2.staged:np2-1|deny|-1', '0 tier2 StagedNetworkPolicy default/np2-1 deny -1'],
  ['1|tier2|default/tier2.staged:np2-1|deny|-1', '1 tier2 StagedNetworkPolicy default/np2-1 deny -1'],
];

/** release-v3.32 goldmane/proto/methods_test.go TestConversion (release-v3.33 and master: the same). */
const V332: [string, string][] = [
  ['0|tier|gnp:name|allow|0', '0 tier GlobalNetworkPolicy -/name allow 0'],
  ['1|tier|sgnp:name|deny|2', '1 tier StagedGlobalNetworkPolicy -/name deny 2'],
  ['1|tier|sgnp:name.with.dots|deny|2', '1 tier StagedGlobalNetworkPolicy -/name.with.dots deny 2'],
  ['0|kube-admin|kcnp:name|deny|1', '0 kube-admin ClusterNetworkPolicy -/name deny 1'],
  ['1|kube-baseline|kcnp:name|deny|2', '1 kube-baseline ClusterNetworkPolicy -/name deny 2'],
  ['0|tier|np:namespace/name|allow|1', '0 tier NetworkPolicy namespace/name allow 1'],
  // The name as 3.32 sends it is `tier.name`; our model drops the tier prefix (src/flows/policy-hit.ts).
  ['0|tier|np:namespace/tier.name|allow|1', '0 tier NetworkPolicy namespace/name allow 1'],
  ['0|tier1|np:default/tier1.np1-1|pass|0', '0 tier1 NetworkPolicy default/np1-1 pass 0'],
  ['0|default|knp:namespace/name|allow|2', '0 default KubernetesNetworkPolicy namespace/name allow 2'],
  ['1|tier|snp:namespace/name|deny|0', '1 tier StagedNetworkPolicy namespace/name deny 0'],
  ['1|tier|snp:namespace/name.with.dots|deny|0', '1 tier StagedNetworkPolicy namespace/name.with.dots deny 0'],
  ['1|default|sknp:namespace/name|deny|3', '1 default StagedKubernetesNetworkPolicy namespace/name deny 3'],
  ['1|default|sknp:namespace/name.with.dots|deny|3', '1 default StagedKubernetesNetworkPolicy namespace/name.with.dots deny 3'],
  ['3|kube-admin|kcnp:name|pass|4', '3 kube-admin ClusterNetworkPolicy -/name pass 4'],
  ['3|kube-admin|kcnp:name.with.dots|pass|4', '3 kube-admin ClusterNetworkPolicy -/name.with.dots pass 4'],
  ['2|kube-admin|kcnp:name.with.dots|pass|1', '2 kube-admin ClusterNetworkPolicy -/name.with.dots pass 1'],
  ['3|kube-baseline|kcnp:name|pass|4', '3 kube-baseline ClusterNetworkPolicy -/name pass 4'],
  ['3|kube-baseline|kcnp:name.with.dots|pass|4', '3 kube-baseline ClusterNetworkPolicy -/name.with.dots pass 4'],
  ['2|kube-baseline|kcnp:name.with.dots|pass|1', '2 kube-baseline ClusterNetworkPolicy -/name.with.dots pass 1'],
  ['1|__PROFILE__|pro:kns.default|allow|0', '1 __PROFILE__ Profile -/kns.default allow 0'],
  ['2|__PROFILE__|pro:kns.default|allow|1', '2 __PROFILE__ Profile -/kns.default allow 1'],
  ['1|__PROFILE__|pro:ksa.svcacct|allow|0', '1 __PROFILE__ Profile -/ksa.svcacct allow 0'],
  ['0|tier1|np:ns1/tier1.policy1|deny|-1', '0 tier1 NetworkPolicy ns1/policy1 deny -1'],
  ['1|tier1|np:ns1/tier1.policy1|allow|-1', '1 tier1 NetworkPolicy ns1/policy1 allow -1'],
  ['0|kube-admin|kcnp:policy1|allow|-1', '0 kube-admin ClusterNetworkPolicy -/policy1 allow -1'],
  ['2|kube-admin|gnp:kube-admin.policy1|allow|-1', '2 kube-admin GlobalNetworkPolicy -/policy1 allow -1'],
  ['0|tier2|snp:default/np2-1|deny|-1', '0 tier2 StagedNetworkPolicy default/np2-1 deny -1'],
  ['1|tier2|snp:default/np2-1|deny|-1', '1 tier2 StagedNetworkPolicy default/np2-1 deny -1'],
];

/** TestInvalidStrings of the same files: each release's HitFromString refuses them, and so does our port. */
const INVALID: Record<'v3.30-v3.31' | 'v3.32-main', string[]> = {
  'v3.30-v3.31': [
    '1|tier|staged:tier.name|deny|notInt',
    'notint|baselineadminnetworkpolicy|baselineadminnetworkpolicy.name|deny|2',
    'notint|baselineadminnetworkpolicy|kbanp.baselineadminnetworkpolicy.name|pass|4',
    'notint|tier1|ns1/tier1.policy1|deny|-1',
    '0|tier|tier.name|allow|0|extra',
    '1|tier|invalid-ch@aracter|deny|2',
    '1|_|namespace/staged:tier.name|deny|0',
    '0|@dminnetworkpolicy|kanp.adminnetworkpolicy.policy1|allow|-1',
    '0|adminnetworkpolicy|adminnetworkpolicy.name|badaction|1',
    '0|tier|namespace/knp.default.name|allow|2',
    '0|adminnetworkpolicy|kanp.foobar.policy1|allow|-1',
    '1|tier|tier2.name|allow|0',
    '0||namespace/tier.name|allow|1',
    '0|tier1|default/|pass|0',
    '1|tier|namespace/knp.default|deny|3',
    '1|___PROFILE__|__PROFILE__.kns.default|allow|0',
    '1|__PROFILE__|__PROFILE__.PSA.svcacct|allow|0',
  ],
  'v3.32-main': [
    '1|tier|sgnp:tier.name|deny|notInt',
    'notint|kube-baseline|kcnp:name|deny|2',
    'notint|kube-baseline|kcnp:name|pass|4',
    'notint|tier1|np:ns1/tier1.policy1|deny|-1',
    '0|tier|gnp:tier.name|allow|0|extra',
    '1|tier|gnp:invalid-ch@aracter|deny|2',
    '1|_|snp:namespace/tier.name|deny|0',
    '0|@kube-baseline|kcnp:policy1|allow|-1',
    '0|kube-admin|kcnp:name|badaction|1',
    '0||np:namespace/name|allow|1',
    '0|tier1|np:namespace/|pass|0',
    '1|___PROFILE__|pro:kns.default|allow|0',
    '1|__PROFILE__|pro:PSA.svcacct|allow|0',
  ],
};

const T0 = 1_795_000_005;
const NOW = T0 + 600;

/** One flow per upstream string, each its own FlowKey (source `f-<i>-*`), in the bucket at T0. */
function flowsOf(release: Release, cases: readonly [string, string][]): TestFlow[] {
  return cases.map(([entry], i) => ({
    Key: {
      source_name: `f-${i}-*`,
      source_namespace: 'shop',
      source_type: ENDPOINT.wep,
      dest_name: 'db-*',
      dest_namespace: 'shop',
      dest_type: ENDPOINT.wep,
      dest_port: 5432,
      proto: 'tcp',
      reporter: REPORTER.src,
      action: ACTION.allow,
      policies: { enforced_policies: [goldmaneHit(release, entry)], pending_policies: [] },
    },
    start_time: T0 + 3,
    end_time: T0 + 18,
    num_connections_started: 1,
  }));
}

const described = (h: PolicyHit): string => `${h.index} ${h.tier} ${h.kind} ${h.namespace ?? '-'}/${h.name} ${h.action} ${h.ruleIndex}`;
/** Each record's hit, in the order of the cases. */
const hitsOf = (records: readonly FlowRecord[]): string[] =>
  [...records]
    .sort((a, b) => Number(a.source.name.split('-')[1]) - Number(b.source.name.split('-')[1]))
    .map((r) => described(r.policies!.enforced![0]!));

describe.each(RELEASES.map((r) => [r, upstreamRef(r)]))('Goldmane %s (%s)', (release) => {
  const cases = contractOf(release as Release) === 'v3.30-v3.31' ? V331 : V332;

  test('List: every upstream policy-hit case arrives as the policy it names; the request means what it says', async () => {
    const server = await GoldmaneTestServer.start({
      release: release as Release,
      now: () => NOW,
      flows: flowsOf(release as Release, cases),
    });
    try {
      const source = await openGoldmaneSource(goldmaneConfig(server.address));
      const records: FlowRecord[] = [];
      await source.read({ from: T0, to: NOW }, (r) => records.push(r));
      expect(source.skipped.total).toBe(0);
      expect(hitsOf(records)).toEqual(cases.map(([, expected]) => expected));
      // As this release reads it: the window, page 0, a page size, no sort order, no filter.
      expect(server.calls).toEqual([
        { start_time_gte: T0, start_time_lt: NOW, page: 0, page_size: 10_000, sort_by: [], filter: null, aggregation_interval: 0 },
      ]);
    } finally {
      server.forceClose();
    }
  });

  test('Stream: the same flows, replayed from a start time', async () => {
    const server = await GoldmaneTestServer.start({
      release: release as Release,
      now: () => NOW,
      flows: flowsOf(release as Release, cases),
    });
    try {
      const source = await openGoldmaneSource(goldmaneConfig(server.address));
      const records: FlowRecord[] = [];
      const stop = new AbortController();
      await source.follow({
        since: T0 - 300,
        signal: stop.signal,
        now: () => NOW,
        onRecord: (r) => {
          records.push(r);
          if (records.length === cases.length) stop.abort();
        },
      });
      expect(source.skipped.total).toBe(0);
      expect(hitsOf(records)).toEqual(cases.map(([, expected]) => expected));
      expect(server.streamCalls).toEqual([{ start_time_gte: T0 - 300, filter: null, aggregation_interval: 0 }]);
    } finally {
      server.forceClose();
    }
  });

  test('a kind of the other contract cannot be sent by this release (the test server refuses to)', async () => {
    // kcnp (11) for 3.30/3.31, kanp (7) for 3.32 on.
    const [other, foreign]: [Release, [string, string]] =
      contractOf(release as Release) === 'v3.30-v3.31' ? ['3.32', V332[3]!] : ['3.31', V331[12]!];
    await expect(GoldmaneTestServer.start({ release: release as Release, flows: flowsOf(other, [foreign]) })).rejects.toThrow(
      /has no PolicyKind/,
    );
  });
});

describe.each(Object.entries(INVALID))('HitFromString as upstream %s: its invalid cases fail', (contract, entries) => {
  const release: Release = contract === 'v3.30-v3.31' ? '3.31' : '3.32';
  test.each(entries)('%s', (entry) => {
    expect(() => goldmaneHit(release, entry)).toThrow();
  });
});
