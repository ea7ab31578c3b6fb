import { describe, expect, test } from '@jest/globals';
import { type LearnContext, learn } from '../../../src/engine/learn.ts';
import type { FlowRecord } from '../../../src/flows/record.ts';
import { goldmaneFlowToRecord } from '../../../src/flows/sources/goldmane/to-record.ts';
import type { WireFlow, WireFlowKey, WirePolicyHit } from '../../../src/flows/sources/goldmane/wire.ts';

// Wire objects exactly as @grpc/proto-loader hands them over (defaults filled in).
function hit(h: Partial<WirePolicyHit>): WirePolicyHit {
  return { kind: 0, namespace: '', name: '', tier: '', action: 0, policy_index: 0, rule_index: 0, trigger: null, ...h };
}
const profile = (ns: string, index = 0): WirePolicyHit => hit({ kind: 9, name: `kns.${ns}`, action: 1, policy_index: index });

function key(k: Partial<WireFlowKey> = {}): WireFlowKey {
  return {
    source_name: 'customer-6b687c8dcb-*',
    source_namespace: 'yaobank',
    source_type: 1,
    dest_name: 'summary-7d8f9c6b5d-*',
    dest_namespace: 'yaobank',
    dest_type: 1,
    dest_port: 8080,
    dest_service_name: '',
    dest_service_namespace: '',
    dest_service_port_name: '',
    dest_service_port: 0,
    proto: 'tcp',
    reporter: 1,
    action: 1,
    policies: { enforced_policies: [profile('yaobank')], pending_policies: [profile('yaobank')] },
    ...k,
  };
}

function flow(f: Partial<WireFlow> = {}, k: Partial<WireFlowKey> = {}): WireFlow {
  return {
    Key: key(k),
    start_time: 1_795_000_000,
    end_time: 1_795_000_015,
    source_labels: ['app=customer', 'version=v1'],
    dest_labels: ['app=summary'],
    packets_in: 10,
    packets_out: 12,
    bytes_in: 1000,
    bytes_out: 1200,
    num_connections_started: 3,
    num_connections_completed: 2,
    num_connections_live: 1,
    ...f,
  };
}

function ok(f: WireFlow): FlowRecord {
  const result = goldmaneFlowToRecord(f);
  if (!result.ok) throw new Error(`rejected: ${result.reason}`);
  return result.record;
}

function reason(f: WireFlow | null): string {
  const result = goldmaneFlowToRecord(f);
  if (result.ok) throw new Error('accepted');
  return result.reason;
}

/** The flow-log form of one hit, as the engine sees it. */
function traced(h: WirePolicyHit): FlowRecord['policies'] {
  return ok(flow({}, { policies: { enforced_policies: [], pending_policies: [h] } })).policies;
}
const policyOf = (h: WirePolicyHit) => traced(h)!.pending![0]!;

describe('every field', () => {
  test('a complete flow', () => {
    const record = ok(
      flow(
        {},
        {
          dest_service_name: 'summary',
          dest_service_namespace: 'yaobank',
          dest_service_port_name: 'http',
          dest_service_port: 80,
          policies: {
            enforced_policies: [profile('yaobank')],
            pending_policies: [
              hit({
                kind: 3,
                namespace: 'yaobank',
                tier: 'namespace-isolation',
                name: 'yaobank-recommendation',
                action: 1,
                policy_index: 0,
                rule_index: 2,
              }),
            ],
          },
        },
      ),
    );
    expect(record).toEqual({
      startTime: 1_795_000_000,
      endTime: 1_795_000_015,
      source: { type: 'wep', name: 'customer-6b687c8dcb-*', namespace: 'yaobank', labels: ['app=customer', 'version=v1'], ip: null },
      dest: { type: 'wep', name: 'summary-7d8f9c6b5d-*', namespace: 'yaobank', labels: ['app=summary'], ip: null },
      destPort: 8080,
      destService: { name: 'summary', namespace: 'yaobank', portName: 'http', port: 80 },
      destDomains: [],
      protocol: 'TCP',
      action: 'allow',
      reporter: 'src',
      policies: {
        all: null,
        pending: [
          {
            index: 0,
            tier: 'namespace-isolation',
            kind: 'StagedNetworkPolicy',
            namespace: 'yaobank',
            name: 'yaobank-recommendation',
            action: 'allow',
            ruleIndex: 2,
          },
        ],
        enforced: [{ index: 0, tier: '__PROFILE__', kind: 'Profile', namespace: null, name: 'kns.yaobank', action: 'allow', ruleIndex: 0 }],
      },
      numFlows: 3,
    });
  });

  test('int64 fields given as decimal strings (a loader with longs: String) read the same', () => {
    const record = ok(flow({ start_time: '1795000000', end_time: '1795000015', num_connections_started: '7' }, { dest_port: '443' }));
    expect([record.startTime, record.endTime, record.numFlows, record.destPort]).toEqual([1_795_000_000, 1_795_000_015, 7, 443]);
  });

  test.each([
    [1, 'wep'],
    [2, 'hep'],
    [3, 'ns'],
    [4, 'net'],
  ] as const)('endpoint type %d is %s', (wire, type) => {
    const name = { wep: 'db-*', hep: 'worker-1-auto-hep', ns: 'feeds', net: 'pvt' }[type];
    const record = ok(flow({}, { dest_type: wire, dest_name: name, dest_namespace: type === 'wep' || type === 'ns' ? 'shop' : '' }));
    expect(record.dest.type).toBe(type);
    expect(record.dest.name).toBe(name);
  });

  test('endpoint type 0 is missing, and a number outside the contract is invalid', () => {
    expect(reason(flow({}, { source_type: 0 }))).toBe('missing field source_type');
    expect(reason(flow({}, { dest_type: 5 }))).toBe('invalid dest_type');
    expect(reason(flow({}, { dest_type: -1 }))).toBe('invalid dest_type');
  });

  test('networks are pub or pvt, without namespace; anything else is rejected', () => {
    expect(ok(flow({}, { dest_type: 4, dest_name: 'pub', dest_namespace: '' })).dest).toEqual({
      type: 'net',
      name: 'pub',
      namespace: null,
      labels: ['app=summary'],
      ip: null,
    });
    expect(ok(flow({}, { dest_type: 4, dest_name: 'pvt', dest_namespace: '' })).dest.name).toBe('pvt');
    expect(reason(flow({}, { dest_type: 4, dest_name: '10.0.0.1' }))).toBe('invalid dest_name');
    expect(reason(flow({}, { dest_type: 4, dest_name: 'private' }))).toBe('invalid dest_name');
  });

  test('namespaces: empty is null; global network sets have none; a workload must have one', () => {
    expect(ok(flow({}, { dest_type: 3, dest_name: 'threat-feed', dest_namespace: '' })).dest.namespace).toBeNull();
    expect(ok(flow({}, { dest_type: 3, dest_name: 'threat-feed', dest_namespace: 'shop' })).dest.namespace).toBe('shop');
    expect(ok(flow({}, { source_type: 2, source_name: 'worker-1-auto-hep', source_namespace: '' })).source.namespace).toBeNull();
    expect(reason(flow({}, { source_namespace: '' }))).toBe('missing source_namespace for a workload');
  });

  test('labels: k=v strings, possibly none', () => {
    expect(ok(flow({ source_labels: [], dest_labels: ['projectcalico.org/name=x', 'empty='] })).source.labels).toEqual([]);
    expect(ok(flow({ dest_labels: ['projectcalico.org/name=x', 'empty='] })).dest.labels).toEqual(['projectcalico.org/name=x', 'empty=']);
  });

  test('ports: 0 (proto3 default) means none; 1-65535 otherwise', () => {
    expect(ok(flow({}, { dest_port: 0, proto: 'icmp' })).destPort).toBeNull();
    expect(ok(flow({}, { dest_port: 65535 })).destPort).toBe(65535);
    expect(reason(flow({}, { dest_port: 65536 }))).toBe('invalid dest_port');
    expect(reason(flow({}, { dest_port: -1 }))).toBe('invalid dest_port');
    expect(reason(flow({}, { dest_service_name: 'web', dest_service_port: 70000 }))).toBe('invalid dest_service_port');
  });

  test('service: none without a name; the other parts optional', () => {
    expect(ok(flow({}, { dest_service_namespace: 'x', dest_service_port: 80 })).destService).toBeNull();
    expect(ok(flow({}, { dest_service_name: 'kube-dns' })).destService).toEqual({
      name: 'kube-dns',
      namespace: null,
      portName: null,
      port: null,
    });
  });

  test.each([
    ['tcp', 'TCP'],
    ['TCP', 'TCP'],
    ['udp', 'UDP'],
    ['icmp', 'ICMP'],
    ['icmp6', 'ICMPv6'],
    ['sctp', 'SCTP'],
    ['6', 'TCP'],
    ['47', 47],
  ] as const)('proto %s is %s', (proto, protocol) => {
    expect(ok(flow({}, { proto })).protocol).toBe(protocol);
  });

  test('proto: empty is missing, unknown names and numbers are invalid', () => {
    expect(reason(flow({}, { proto: '' }))).toBe('missing field proto');
    expect(reason(flow({}, { proto: 'quic' }))).toBe('invalid proto');
    expect(reason(flow({}, { proto: '256' }))).toBe('invalid proto');
    expect(reason(flow({}, { proto: 'tcp'.repeat(100) }))).toBe('invalid proto');
  });

  test('reporter and action enums', () => {
    expect(ok(flow({}, { reporter: 1 })).reporter).toBe('src');
    expect(ok(flow({}, { reporter: 2 })).reporter).toBe('dst');
    expect(reason(flow({}, { reporter: 0 }))).toBe('missing field reporter');
    expect(reason(flow({}, { reporter: 3 }))).toBe('invalid reporter');
    expect(ok(flow({}, { action: 1 })).action).toBe('allow');
    expect(ok(flow({}, { action: 2 })).action).toBe('deny');
    expect(reason(flow({}, { action: 0 }))).toBe('missing field action');
    // Pass is never a flow's final verdict.
    expect(reason(flow({}, { action: 3 }))).toBe('invalid action');
    expect(reason(flow({}, { action: 9 }))).toBe('invalid action');
  });

  test('times: Unix seconds, end not before start', () => {
    expect(reason(flow({ start_time: 100, end_time: 99 }))).toBe('end_time before start_time');
    expect(reason(flow({ start_time: -5 }))).toBe('invalid start_time');
    expect(reason(flow({ end_time: 2 ** 60 }))).toBe('invalid end_time');
    expect(reason(flow({ start_time: 1.5 }))).toBe('invalid start_time');
  });

  test('start and end 0: List found the flow only in intervals the window cuts (goldmane/pkg/storage/diachronic_flow.go Within vs GetWindows)', () => {
    expect(reason(flow({ start_time: 0, end_time: 0, num_connections_started: 0, source_labels: [], dest_labels: [] }))).toBe(
      'no whole aggregation interval in the window',
    );
    expect(ok(flow({ start_time: 0, end_time: 15 })).startTime).toBe(0);
  });

  test('numFlows: connections started, at least 1', () => {
    expect(ok(flow({ num_connections_started: 0 })).numFlows).toBe(1);
    expect(ok(flow({ num_connections_started: 1 })).numFlows).toBe(1);
    expect(ok(flow({ num_connections_started: 250 })).numFlows).toBe(250);
    expect(reason(flow({ num_connections_started: -1 }))).toBe('invalid num_connections_started');
    // Beyond 2^53 Number cannot hold an int64 exactly: rejected, never rounded into range.
    expect(reason(flow({ num_connections_started: 2 ** 53 }))).toBe('invalid num_connections_started');
  });

  test('no IPs and no domains: Goldmane has none', () => {
    const record = ok(flow());
    expect([record.source.ip, record.dest.ip, record.destDomains]).toEqual([null, null, []]);
  });

  test('a flow or key that is missing', () => {
    expect(reason(null)).toBe('missing field flow');
    expect(reason(flow({ Key: null }))).toBe('missing field Key');
  });
});

describe("policy hits: kind, namespace and the policy's own name", () => {
  test.each([
    [
      'CalicoNetworkPolicy',
      { kind: 1, namespace: 'shop', tier: 'security', name: 'allow-web' },
      'security',
      ['NetworkPolicy', 'shop', 'allow-web'],
    ],
    [
      'CalicoNetworkPolicy, name already tiered (Calico <= 3.31)',
      { kind: 1, namespace: 'shop', tier: 'security', name: 'security.allow-web' },
      'security',
      ['NetworkPolicy', 'shop', 'allow-web'],
    ],
    [
      'CalicoNetworkPolicy, default tier',
      { kind: 1, namespace: 'shop', tier: 'default', name: 'default.allow-web' },
      'default',
      ['NetworkPolicy', 'shop', 'allow-web'],
    ],
    [
      'GlobalNetworkPolicy',
      { kind: 2, tier: 'platform', name: 'allow-prometheus' },
      'platform',
      ['GlobalNetworkPolicy', null, 'allow-prometheus'],
    ],
    [
      'StagedNetworkPolicy',
      { kind: 3, namespace: 'shop', tier: 'namespace-isolation', name: 'namespace-isolation.shop-recommendation' },
      'namespace-isolation',
      ['StagedNetworkPolicy', 'shop', 'shop-recommendation'],
    ],
    [
      'StagedNetworkPolicy, name with staged:',
      { kind: 3, namespace: 'shop', tier: 'appsec', name: 'staged:waf' },
      'appsec',
      ['StagedNetworkPolicy', 'shop', 'waf'],
    ],
    [
      'StagedGlobalNetworkPolicy',
      { kind: 4, tier: 'security', name: 'quarantine' },
      'security',
      ['StagedGlobalNetworkPolicy', null, 'quarantine'],
    ],
    [
      'StagedKubernetesNetworkPolicy',
      { kind: 5, namespace: 'shop', tier: 'default', name: 'deny-all' },
      'default',
      ['StagedKubernetesNetworkPolicy', 'shop', 'deny-all'],
    ],
    [
      'NetworkPolicy (Kubernetes)',
      { kind: 6, namespace: 'shop', tier: 'default', name: 'allow-dns' },
      'default',
      ['KubernetesNetworkPolicy', 'shop', 'allow-dns'],
    ],
    [
      'NetworkPolicy (Kubernetes), prefixed name',
      { kind: 6, namespace: 'shop', tier: 'default', name: 'knp.default.allow-dns' },
      'default',
      ['KubernetesNetworkPolicy', 'shop', 'allow-dns'],
    ],
    // A Kubernetes name never carried a tier: `default.web` is the policy's own name.
    [
      'NetworkPolicy (Kubernetes) named like a tier prefix',
      { kind: 6, namespace: 'shop', tier: 'default', name: 'default.web' },
      'default',
      ['KubernetesNetworkPolicy', 'shop', 'default.web'],
    ],
    [
      'ClusterNetworkPolicy',
      { kind: 11, tier: 'kube-admin', name: 'block-metadata' },
      'kube-admin',
      ['ClusterNetworkPolicy', null, 'block-metadata'],
    ],
    ['Profile (Goldmane hides its tier)', { kind: 9, tier: '', name: 'kns.shop' }, '__PROFILE__', ['Profile', null, 'kns.shop']],
    ['Profile named by namespace only', { kind: 9, namespace: 'shop' }, '__PROFILE__', ['Profile', null, 'kns.shop']],
    [
      'Profile for host endpoints',
      { kind: 9, name: 'projectcalico-default-allow' },
      '__PROFILE__',
      ['Profile', null, 'projectcalico-default-allow'],
    ],
  ] as const)('%s', (_kind, h, tier, [kind, namespace, name]) => {
    expect(policyOf(hit({ action: 2, policy_index: 3, rule_index: 1, ...h }))).toEqual({
      index: 3,
      tier,
      kind,
      namespace,
      name,
      action: 'deny',
      ruleIndex: 1,
    });
  });

  test("EndOfTier is the tier's default action, named by the policy that triggered it, rule -1", () => {
    const endOfTier = hit({
      kind: 10,
      tier: 'namespace-isolation',
      action: 2,
      policy_index: 1,
      rule_index: -1,
      trigger: hit({ kind: 3, namespace: 'shop', tier: 'namespace-isolation', name: 'shop-recommendation' }),
    });
    expect(policyOf(endOfTier)).toEqual({
      index: 1,
      tier: 'namespace-isolation',
      kind: 'StagedNetworkPolicy',
      namespace: 'shop',
      name: 'shop-recommendation',
      action: 'deny',
      ruleIndex: -1,
    });
    const global = hit({
      kind: 10,
      tier: 'security',
      action: 2,
      rule_index: -1,
      trigger: hit({ kind: 2, tier: 'security', name: 'security.default-deny' }),
    });
    expect(policyOf(global)).toEqual({
      index: 0,
      tier: 'security',
      kind: 'GlobalNetworkPolicy',
      namespace: null,
      name: 'default-deny',
      action: 'deny',
      ruleIndex: -1,
    });
  });

  // goldmane/proto/api.proto: 7 AdminNetworkPolicy and 8 BaselineAdminNetworkPolicy on release-v3.30 and
  // release-v3.31 (reserved from 3.32); a later release may add more. None is ours: another policy.
  test.each([7, 8, 12])('kind %i, unknown to this project, is another policy, not a rejected flow', (kind) => {
    expect(policyOf(hit({ kind, tier: 'kube-admin', name: 'p', action: 2 }))).toEqual({
      index: 0,
      tier: 'kube-admin',
      kind: 'Other',
      namespace: null,
      name: 'p',
      action: 'deny',
      ruleIndex: 0,
    });
  });

  test('hit actions: allow, deny, pass', () => {
    expect([1, 2, 3].map((action) => policyOf(hit({ kind: 2, tier: 't', name: 'p', action })).action)).toEqual(['allow', 'deny', 'pass']);
  });

  test('pending and enforced keep their order; all_policies does not exist in Goldmane', () => {
    const trace = ok(
      flow(
        {},
        {
          policies: {
            enforced_policies: [hit({ kind: 2, tier: 'security', name: 'pass-all', action: 3 }), profile('yaobank', 1)],
            pending_policies: [hit({ kind: 4, tier: 'security', name: 'quarantine', action: 2 })],
          },
        },
      ),
    ).policies!;
    expect(trace.all).toBeNull();
    expect(trace.enforced!.map((h) => `${h.kind} ${h.name}`)).toEqual(['GlobalNetworkPolicy pass-all', 'Profile kns.yaobank']);
    expect(trace.pending!.map((h) => `${h.kind} ${h.name}`)).toEqual(['StagedGlobalNetworkPolicy quarantine']);
  });

  test('no trace, or empty lists, is no trace (proto3 cannot tell empty from absent)', () => {
    expect(ok(flow({}, { policies: null })).policies).toBeNull();
    expect(ok(flow({}, { policies: { enforced_policies: [], pending_policies: [] } })).policies).toBeNull();
    expect(ok(flow({}, { policies: { enforced_policies: [profile('yaobank')], pending_policies: [] } })).policies).toEqual({
      all: null,
      pending: null,
      enforced: [{ index: 0, tier: '__PROFILE__', kind: 'Profile', namespace: null, name: 'kns.yaobank', action: 'allow', ruleIndex: 0 }],
    });
  });

  test.each([
    ['kind 0', { kind: 0, tier: 't', name: 'p', action: 1 }, 'missing policy hit kind'],
    ['action 0', { kind: 2, tier: 't', name: 'p', action: 0 }, 'invalid policy hit action'],
    ['action 4', { kind: 2, tier: 't', name: 'p', action: 4 }, 'invalid policy hit action'],
    ['rule index -2', { kind: 2, tier: 't', name: 'p', action: 1, rule_index: -2 }, 'invalid policy hit rule_index'],
    ['negative policy index', { kind: 2, tier: 't', name: 'p', action: 1, policy_index: -1 }, 'invalid policy hit policy_index'],
    ['no tier', { kind: 2, name: 'p', action: 1 }, 'missing policy hit tier'],
    ['no name', { kind: 2, tier: 't', action: 1 }, 'missing policy hit name'],
    ['namespaced kind without namespace', { kind: 1, tier: 't', name: 'p', action: 1 }, 'missing policy hit namespace'],
    ['global kind with a namespace', { kind: 2, tier: 't', name: 'p', namespace: 'shop', action: 1 }, 'invalid policy hit namespace'],
    ['EndOfTier without trigger', { kind: 10, tier: 't', action: 2, rule_index: -1 }, 'missing policy hit trigger'],
    [
      'EndOfTier triggered by EndOfTier',
      { kind: 10, tier: 't', action: 2, trigger: hit({ kind: 10, tier: 't' }) },
      'invalid policy hit trigger',
    ],
    ['Profile without name or namespace', { kind: 9, action: 1 }, 'missing policy hit name'],
  ] as const)('rejected: %s', (_what, h, why) => {
    expect(reason(flow({}, { policies: { enforced_policies: [hit(h)], pending_policies: [] } }))).toBe(why);
  });

  test('the mapped traces drive the engine as flow-log traces do', () => {
    const ctx: LearnContext = {
      window: { from: 1_794_000_000, to: 1_796_000_000 },
      clusterDomain: 'cluster.local',
      tierName: 'namespace-isolation',
    };
    const ownStagedDeny = hit({
      kind: 10,
      tier: 'namespace-isolation',
      action: 2,
      rule_index: -1,
      trigger: hit({ kind: 3, namespace: 'yaobank', tier: 'namespace-isolation', name: 'yaobank-recommendation' }),
    });
    const learnedWith = (enforced: WirePolicyHit[], pending: WirePolicyHit[]) =>
      learn(ok(flow({}, { policies: { enforced_policies: enforced, pending_policies: pending } })), ctx);
    // Decided by the namespace profile: learned.
    expect(typeof learnedWith([profile('yaobank')], [profile('yaobank')])).toBe('object');
    // Our own staged recommendation would deny it, but only the profile enforced: still learned.
    expect(typeof learnedWith([profile('yaobank')], [ownStagedDeny])).toBe('object');
    // Someone else's staged policy decides: not ours to learn.
    expect(learnedWith([profile('yaobank')], [hit({ kind: 4, tier: 'security', name: 'quarantine', action: 2 })])).toBe(
      'decided by another policy',
    );
    // A higher tier allowed it.
    const platform = hit({ kind: 2, tier: 'platform', name: 'allow-prometheus', action: 1 });
    expect(learnedWith([platform], [platform])).toBe('decided by another policy');
  });
});

describe('hostile values are rejected with a fixed reason, never echoed', () => {
  const hostile = ['../../etc/passwd', 'a"b', "x'; rm -rf /", 'line\nbreak', '{{ template }}', 'a|b', 'x'.repeat(300), '\u202eevil'];

  test.each(hostile)('%j as names, namespaces, labels, services and policy names', (bad) => {
    const cases: WireFlow[] = [
      flow({}, { source_namespace: bad }),
      flow({}, { dest_namespace: bad }),
      flow({}, { source_name: bad }),
      flow({}, { dest_type: 3, dest_name: bad }),
      flow({}, { dest_type: 2, dest_name: bad, dest_namespace: '' }),
      flow({ source_labels: [bad] }),
      flow({ dest_labels: [`${bad}=v`] }),
      flow({ dest_labels: [`k=${bad}`] }),
      flow({}, { dest_service_name: bad }),
      flow({}, { dest_service_name: 'web', dest_service_namespace: bad }),
      flow({}, { dest_service_name: 'web', dest_service_port_name: bad }),
      flow(
        {},
        { policies: { enforced_policies: [hit({ kind: 1, namespace: bad, tier: 't', name: 'p', action: 1 })], pending_policies: [] } },
      ),
      flow(
        {},
        { policies: { enforced_policies: [hit({ kind: 1, namespace: 'ns', tier: bad, name: 'p', action: 1 })], pending_policies: [] } },
      ),
      flow(
        {},
        { policies: { enforced_policies: [hit({ kind: 1, namespace: 'ns', tier: 't', name: bad, action: 1 })], pending_policies: [] } },
      ),
      flow({}, { policies: { enforced_policies: [hit({ kind: 9, name: bad, action: 1 })], pending_policies: [] } }),
    ];
    for (const c of cases) {
      const why = reason(c);
      expect(why).toMatch(/^(invalid|missing) [a-z_ ]+$/);
      expect(why).not.toContain(bad);
    }
  });

  test('upper case and slashes, valid in some label parts, are rejected in names and namespaces', () => {
    for (const bad of ['UPPER', 'ns/evil']) {
      expect(reason(flow({}, { source_namespace: bad }))).toBe('invalid source_namespace');
      expect(reason(flow({}, { dest_name: bad }))).toBe('invalid dest_name');
      expect(reason(flow({}, { dest_type: 3, dest_name: bad }))).toBe('invalid dest_name');
      expect(reason(flow({}, { dest_service_name: bad }))).toBe('invalid dest_service_name');
      expect(
        reason(flow({}, { policies: { enforced_policies: [hit({ kind: 2, tier: bad, name: 'p', action: 1 })], pending_policies: [] } })),
      ).toBe('invalid policy hit tier');
      expect(
        reason(flow({}, { policies: { enforced_policies: [hit({ kind: 2, tier: 't', name: bad, action: 1 })], pending_policies: [] } })),
      ).toBe('invalid policy hit name');
    }
  });

  test('too many labels or policy hits', () => {
    expect(reason(flow({ source_labels: Array.from({ length: 257 }, (_, i) => `k${i}=v`) }))).toBe('invalid source_labels');
    expect(
      reason(flow({}, { policies: { enforced_policies: Array.from({ length: 65 }, () => profile('yaobank')), pending_policies: [] } })),
    ).toBe('invalid policies');
  });
});
