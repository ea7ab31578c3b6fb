// Conformance: every flow-log line shape Calico documents, or Felix writes, is read — or skipped
// with a precise, counted reason when it truly carries nothing to learn. Facts, each naming its
// source:
// - the docs' example lines, verbatim in fixtures/flow-logs/ (see its README for pages and commit);
// - the docs' "Flow log data types" table (tigera/docs calico-enterprise/observability/elastic/flow/
//   datatypes.mdx, the same on calico-cloud/, https://docs.tigera.io/calico-enterprise/latest/
//   observability/elastic/flow/datatypes): every field and value it lists;
// - Felix's own test fixtures and writer, per release (projectcalico/calico release-v3.30,
//   release-v3.31, release-v3.32, release-v3.33, HEAD): felix/collector/flowlog/types_test.go (the
//   policy sets of one flow), felix/calc/policy_lookups_cache_test.go (the names in traces),
//   felix/collector/utils/utils.go (protocol names), felix/collector/flowlog/types.go (EmptyService).

import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import { learn } from '../../src/engine/learn.ts';
import { type ParseResult, parseCalicoFlowLog } from '../../src/flows/calico-flow-log.ts';
import type { FlowRecord, PolicyHit } from '../../src/flows/record.ts';
import { FileFlowSource } from '../../src/flows/sources/file-source.ts';
import { writeFlowFile } from '../../src/generator/generate.ts';
import { readRecords, withTempDir } from '../flows/fixtures.ts';
import { END_TIME, planFromFlows } from '../support/recommend-run.ts';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`fixtures/flow-logs/${name}`, import.meta.url)), 'utf8');

function record(result: ParseResult): FlowRecord {
  if (!result.ok) throw new Error(`expected a record, got "${result.reason}"`);
  return result.record;
}

const line = (o: Record<string, unknown>): string => JSON.stringify(o);
const hit = (
  index: number,
  tier: string,
  kind: PolicyHit['kind'],
  namespace: string | null,
  name: string,
  action: PolicyHit['action'],
  ruleIndex: number,
): PolicyHit => ({
  index,
  tier,
  kind,
  namespace,
  name,
  action,
  ruleIndex,
});

// The docs' example, as one line: its only defect is a trailing comma after the last
// `pending_policies` entry (`"...|deny|1",       ]`), which no JSON reader accepts.
const DOCS_EXAMPLE = fixture('datatypes-no-aggregation.json');
const DOCS_EXAMPLE_LINE = JSON.stringify(JSON.parse(DOCS_EXAMPLE.replace(/,\s*\]/, ']')));
const docsExample = (): Record<string, unknown> => JSON.parse(DOCS_EXAMPLE_LINE) as Record<string, unknown>;
const withFields = (changes: Record<string, unknown>): string => {
  const o = docsExample();
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete o[k];
    else o[k] = v;
  }
  return line(o);
};

const EXAMPLE_RECORD: FlowRecord = {
  startTime: 1597166083,
  endTime: 1597166383,
  source: {
    type: 'wep',
    name: 'access-6b687c8dcb-*',
    namespace: 'policy-demo',
    labels: ['pod-template-hash=6b687c8dcb', 'app=access'],
    ip: '192.168.47.9',
  },
  dest: {
    type: 'wep',
    name: 'nginx-86c57db685-*',
    namespace: 'policy-demo',
    labels: ['pod-template-hash=86c57db685', 'app=nginx'],
    ip: '192.168.138.79',
  },
  destPort: 80,
  destService: null,
  destDomains: [],
  protocol: 'TCP',
  action: 'allow',
  reporter: 'dst',
  policies: {
    all: [
      hit(0, 'tier1', 'NetworkPolicy', 'ns1', 'policy1', 'pass', 3),
      // The example puts `ns2/staged:tier1.policy1` in tier2: read as written, a staged policy of ns2
      // whose name is `tier1.policy1`.
      hit(1, 'tier2', 'StagedNetworkPolicy', 'ns2', 'tier1.policy1', 'deny', 1),
      hit(2, 'default', 'NetworkPolicy', 'policy-demo', 'access-nginx', 'allow', 2),
    ],
    pending: [
      hit(0, 'tier1', 'NetworkPolicy', 'ns1', 'policy1', 'pass', 3),
      hit(1, 'tier2', 'StagedNetworkPolicy', 'ns2', 'tier1.policy1', 'deny', 1),
    ],
    enforced: [
      hit(0, 'tier1', 'NetworkPolicy', 'ns1', 'policy1', 'pass', 3),
      hit(1, 'default', 'NetworkPolicy', 'policy-demo', 'access-nginx', 'allow', 2),
    ],
  },
  numFlows: 1,
};

describe("the docs' example lines", () => {
  test('"Flow log data types", example with no aggregation: every field it holds lands in the record', () => {
    expect(() => JSON.parse(DOCS_EXAMPLE)).toThrow(SyntaxError);
    expect(DOCS_EXAMPLE_LINE.length).toBe(DOCS_EXAMPLE.replace(/\s/g, '').length - 1);
    expect(record(parseCalicoFlowLog(DOCS_EXAMPLE_LINE))).toEqual(EXAMPLE_RECORD);
  });

  describe('"Apply policy to forwarded traffic"', () => {
    // Both examples are abridged: no start_time or end_time (and the first no source_type), which
    // every flow log has (data types table). Verbatim they are incomplete lines; with the times of
    // the data types example (and source_type `wep`) they are whole ones.
    const times = { start_time: 1597166083, end_time: 1597166383 };
    const applyOnForward = JSON.parse(fixture('forwarded-apply-on-forward.json')) as Record<string, unknown>;
    const preDnat = JSON.parse(fixture('forwarded-pre-dnat.json')) as Record<string, unknown>;

    test('verbatim, they lack the times', () => {
      expect(parseCalicoFlowLog(line(applyOnForward))).toEqual({ ok: false, reason: 'missing field start_time' });
      expect(parseCalicoFlowLog(line(preDnat))).toEqual({ ok: false, reason: 'missing field start_time' });
    });

    test("reporter `dst, fwd`: the destination's report (its policies are the workload's); transit_policies belong to the host endpoint", () => {
      const r = record(parseCalicoFlowLog(line({ ...applyOnForward, ...times, source_type: 'wep' })));
      const profile = [hit(0, '__PROFILE__', 'Profile', null, 'kns.maintenance-server', 'allow', 0)];
      expect(r).toEqual({
        startTime: 1597166083,
        endTime: 1597166383,
        source: { type: 'wep', name: 'client-pods-*', namespace: 'client-pods-namespace', labels: [], ip: '10.0.0.1' },
        dest: { type: 'wep', name: 'maintenance-server-*', namespace: 'maintenance-server-namespace', labels: [], ip: '192.168.1.10' },
        destPort: 22,
        destService: null,
        destDomains: [],
        protocol: 'TCP',
        action: 'allow',
        reporter: 'dst',
        policies: { all: profile, pending: profile, enforced: profile },
        numFlows: 1,
      } satisfies FlowRecord);
    });

    test('reporter `fwd` (preDNAT at a host endpoint): well formed, nothing to learn', () => {
      expect(parseCalicoFlowLog(line({ ...preDnat, ...times }))).toEqual({
        ok: false,
        reason: 'reporter fwd (forwarded through a node that is neither end: no policy of either endpoint decided it there)',
        nothingToLearn: true,
      });
    });
  });

  test('"Filter flow logs": the space-delimited text line gets its own reason', () => {
    expect(parseCalicoFlowLog(fixture('filtering-text-line.txt').trim())).toEqual({
      ok: false,
      reason: 'space-delimited text flow log (not the JSON format): not read',
    });
  });

  test('"Policy recommendations" (calico-enterprise/network-policy/recommendations/learn-about-policy-recommendations.mdx): the entries it shows', () => {
    const r = record(
      parseCalicoFlowLog(
        withFields({
          reporter: 'src',
          policies: {
            all_policies: [
              '1|__PROFILE__|__PROFILE__.kns.curl-ns|allow|0',
              '0|namespace-isolation|curl-ns/namespace-isolation.staged:curl-ns-vfzgh|allow|3',
            ],
          },
        }),
      ),
    );
    expect(r.policies!.all).toEqual([
      hit(1, '__PROFILE__', 'Profile', null, 'kns.curl-ns', 'allow', 0),
      hit(0, 'namespace-isolation', 'StagedNetworkPolicy', 'curl-ns', 'curl-ns-vfzgh', 'allow', 3),
    ]);
  });
});

describe('"Flow log data types": every field and value the table lists', () => {
  test('fields the recommender does not read are accepted whatever documented value they hold', () => {
    const documented = {
      host: 'bz-n8kf-kadm-node-1',
      '@timestamp': 1597166383000,
      bytes_in: 388,
      bytes_out: 1113,
      packets_in: 6,
      packets_out: 5,
      num_flows_completed: 1,
      num_flows_started: 1,
      num_process_names: 2,
      num_process_ids: 3,
      num_process_args: 1,
      nat_outgoing_ports: [40001, 40002, 40003],
      // "-": not logged; "*": over the per-flow process limit.
      process_name: '*',
      process_id: '-',
      process_args: ['-g', 'daemon off;'],
      original_source_ips: ['203.0.113.7'],
      num_original_source_ips: 1,
      source_name: 'access-6b687c8dcb-zn5s2',
      dest_name: 'nginx-86c57db685-h6792',
      source_port: null,
      tcp_mean_send_congestion_window: 10,
      tcp_min_send_congestion_window: 10,
      tcp_mean_smooth_rtt: 120,
      tcp_max_smooth_rtt: 400,
      tcp_mean_min_rtt: 80,
      tcp_max_min_rtt: 90,
      tcp_mean_mss: 1448,
      tcp_min_mss: 1398,
      tcp_total_retransmissions: 0,
      tcp_lost_packets: 0,
      tcp_unrecovered_to: 0,
      http_requests_allowed_in: 0,
      http_requests_denied_in: 0,
    };
    expect(record(parseCalicoFlowLog(withFields(documented)))).toEqual(EXAMPLE_RECORD);
  });

  test('action: allow, deny', () => {
    expect(record(parseCalicoFlowLog(withFields({ action: 'deny' }))).action).toBe('deny');
  });

  test('reporter: src, dst; fwd skipped with its reason', () => {
    expect(record(parseCalicoFlowLog(withFields({ reporter: 'src' }))).reporter).toBe('src');
    expect(record(parseCalicoFlowLog(withFields({ reporter: 'dst' }))).reporter).toBe('dst');
    expect(parseCalicoFlowLog(withFields({ reporter: 'fwd' }))).toMatchObject({ ok: false, nothingToLearn: true });
  });

  test('source_type / dest_type: wep, ns (namespaced or global network set), net, and hep ("Enable HostEndpoint reporting")', () => {
    const ends = (changes: Record<string, unknown>) => record(parseCalicoFlowLog(withFields(changes)));
    expect(ends({ dest_type: 'ns', dest_name_aggr: 'public-ips', dest_namespace: 'policy-demo', dest_labels: null }).dest).toMatchObject({
      type: 'ns',
      name: 'public-ips',
      namespace: 'policy-demo',
    });
    expect(ends({ dest_type: 'ns', dest_name_aggr: 'public-ips', dest_namespace: '-' }).dest).toMatchObject({
      type: 'ns',
      namespace: null,
    });
    expect(ends({ source_type: 'hep', source_name_aggr: 'bz-n8kf-kadm-node-1', source_namespace: '-' }).source).toMatchObject({
      type: 'hep',
      namespace: null,
    });
  });

  test('*_name_aggr: a pod prefix ending in `*`, a bare `*` ("Filter flow logs"), `pvt` and `pub` for networks; `-` namespaces are none; a null IP is aggregated', () => {
    const r = record(
      parseCalicoFlowLog(
        withFields({
          source_type: 'net',
          source_name_aggr: 'pvt',
          source_namespace: '-',
          source_ip: null,
          source_labels: '-',
          dest_name_aggr: '*',
        }),
      ),
    );
    expect(r.source).toEqual({ type: 'net', name: 'pvt', namespace: null, labels: [], ip: null });
    expect(r.dest.name).toBe('*');
    expect(
      record(
        parseCalicoFlowLog(withFields({ reporter: 'src', dest_type: 'net', dest_name_aggr: 'pub', dest_namespace: '-', dest_labels: '-' })),
      ).dest,
    ).toMatchObject({
      name: 'pub',
      labels: [],
    });
  });

  test('*_labels: `{"labels": [...]}` as the example has it, or `-` for aggregation', () => {
    expect(record(parseCalicoFlowLog(withFields({ dest_labels: '-' }))).dest.labels).toEqual([]);
    expect(record(parseCalicoFlowLog(withFields({ dest_labels: { labels: ['app=nginx'] } }))).dest.labels).toEqual(['app=nginx']);
  });

  test("dest_service_*: `-` no service; dest_service_port `*` several port names for the port; Felix's empty service has port number 0", () => {
    const service = (changes: Record<string, unknown>) => record(parseCalicoFlowLog(withFields(changes))).destService;
    // felix/collector/flowlog/types.go EmptyService = {"-", "-", "-", 0} (release-v3.30 to HEAD).
    expect(service({ dest_service_namespace: '-', dest_service_name: '-', dest_service_port: '-', dest_service_port_num: 0 })).toBeNull();
    expect(
      service({ dest_service_namespace: 'policy-demo', dest_service_name: 'nginx', dest_service_port: '*', dest_service_port_num: 80 }),
    ).toEqual({
      name: 'nginx',
      namespace: 'policy-demo',
      portName: null,
      port: 80,
    });
    expect(
      service({ dest_service_namespace: 'policy-demo', dest_service_name: 'nginx', dest_service_port: 'http', dest_service_port_num: 80 }),
    ).toEqual({
      name: 'nginx',
      namespace: 'policy-demo',
      portName: 'http',
      port: 80,
    });
    // "the destination port is aggregated": `-` and no port.
    expect(
      service({
        dest_port: null,
        dest_service_namespace: 'policy-demo',
        dest_service_name: 'nginx',
        dest_service_port: '-',
        dest_service_port_num: 0,
      }),
    ).toEqual({
      name: 'nginx',
      namespace: 'policy-demo',
      portName: null,
      port: null,
    });
  });

  test('dest_port: not applicable for ICMP (null)', () => {
    expect(record(parseCalicoFlowLog(withFields({ proto: 'icmp', dest_port: null }))).destPort).toBeNull();
  });

  test('dest_domains: an array of keywords', () => {
    const r = record(
      parseCalicoFlowLog(
        withFields({
          reporter: 'src',
          dest_type: 'net',
          dest_name_aggr: 'pub',
          dest_namespace: '-',
          dest_domains: ['api.example.com', 'www.example.com'],
        }),
      ),
    );
    expect(r.destDomains).toEqual(['api.example.com', 'www.example.com']);
  });

  test("policies: all_policies (deprecated, may be missing), enforced_policies, pending_policies, transit_policies (not read: host endpoints')", () => {
    const enforced = ['0|default|policy-demo/default.access-nginx|allow|2'];
    const r = record(
      parseCalicoFlowLog(
        withFields({
          policies: {
            enforced_policies: enforced,
            pending_policies: enforced,
            transit_policies: ['0|default|default.allow-ssh-maintenance|allow|0'],
          },
        }),
      ),
    );
    const h = [hit(0, 'default', 'NetworkPolicy', 'policy-demo', 'access-nginx', 'allow', 2)];
    expect(r.policies).toEqual({ all: null, pending: h, enforced: h });
  });

  test("rule index: -1 the tier's default action, -2 unknown", () => {
    const r = record(
      parseCalicoFlowLog(
        withFields({ policies: { enforced_policies: ['0|tier1|ns1/tier1.policy1|deny|-1', '1|tier2|ns1/tier2.policy2|allow|-2'] } }),
      ),
    );
    expect(r.policies!.enforced!.map((h) => h.ruleIndex)).toEqual([-1, -2]);
  });
});

describe('protocols as Felix names them (felix/collector/utils/utils.go protoNames, identical on release-v3.30 to HEAD)', () => {
  test.each<[unknown, FlowRecord['protocol']]>([
    ['icmp', 'ICMP'],
    ['tcp', 'TCP'],
    ['udp', 'UDP'],
    ['ipip', 4],
    ['esp', 50],
    ['icmp6', 'ICMPv6'],
    ['sctp', 'SCTP'],
    // Any other protocol: its number (ProtoToString), e.g. GRE; the "Filter flow logs" example has `6`.
    ['47', 47],
    ['6', 'TCP'],
    ['255', 255],
  ])('%p', (proto, expected) => {
    expect(record(parseCalicoFlowLog(withFields({ proto, dest_port: null }))).protocol).toBe(expected);
  });

  test('"0": well formed, but no Calico rule can match it (validator: 1-255)', () => {
    expect(parseCalicoFlowLog(withFields({ proto: '0' }))).toEqual({
      ok: false,
      reason: 'proto 0 (no Calico rule can match IP protocol 0)',
      nothingToLearn: true,
    });
  });
});

describe('the policy sets of one flow (felix/collector/flowlog/types_test.go, entry "muWithEndpointMeta, FlowDefault")', () => {
  // Felix logs the flow once per enforced set, each with all of its hits and the one pending set.
  // Sets are Go maps: their JSON order is arbitrary (data types page: "displayed in random order").
  const releases = {
    // release-v3.30 and release-v3.31 (identical).
    '3.31': {
      traces: [
        [
          '0|tier1|namespace1/tier1.staged:policy1|allow|0',
          '1|tier2|namespace2/tier2.policy2|allow|1',
          '2|tier3|namespace3/tier3.policy3|allow|3',
          '3|tier4|namespace4/tier4.policy4|allow|1',
        ],
        ['0|tier1|namespace1/tier1.staged:policy1|allow|0', '1|tier4|namespace4/tier4.policy4|allow|1'],
        [
          '0|tier1|namespace1/tier1.staged:policy1|allow|0',
          '1|tier2|namespace2/tier2.policy2|allow|1',
          '2|tier4|namespace4/tier4.policy4|allow|1',
          '3|tier3|namespace3/tier3.policy3|allow|3',
        ],
      ],
      enforced: [
        [
          '0|tier2|namespace2/tier2.policy2|allow|1',
          '1|tier3|namespace3/tier3.policy3|allow|3',
          '2|tier4|namespace4/tier4.policy4|allow|1',
        ],
        ['0|tier4|namespace4/tier4.policy4|allow|1'],
        [
          '0|tier2|namespace2/tier2.policy2|allow|1',
          '1|tier4|namespace4/tier4.policy4|allow|1',
          '2|tier3|namespace3/tier3.policy3|allow|3',
        ],
      ],
      pending: ['0|tier1|namespace1/tier1.staged:policy1|allow|0'],
    },
    // release-v3.32, release-v3.33 and HEAD (identical).
    '3.32': {
      traces: [
        [
          '0|tier1|snp:namespace1/policy1|allow|0',
          '1|tier2|np:namespace2/policy2|allow|1',
          '2|tier3|np:namespace3/policy3|allow|3',
          '3|tier4|np:namespace4/policy4|allow|1',
        ],
        ['0|tier1|snp:namespace1/policy1|allow|0', '1|tier4|np:namespace4/policy4|allow|1'],
        [
          '0|tier1|snp:namespace1/policy1|allow|0',
          '1|tier2|np:namespace2/policy2|allow|1',
          '2|tier4|np:namespace4/policy4|allow|1',
          '3|tier3|np:namespace3/policy3|allow|3',
        ],
      ],
      enforced: [
        ['0|tier2|np:namespace2/policy2|allow|1', '1|tier3|np:namespace3/policy3|allow|3', '2|tier4|np:namespace4/policy4|allow|1'],
        ['0|tier4|np:namespace4/policy4|allow|1'],
        ['0|tier2|np:namespace2/policy2|allow|1', '1|tier4|np:namespace4/policy4|allow|1', '2|tier3|np:namespace3/policy3|allow|3'],
      ],
      pending: ['0|tier1|snp:namespace1/policy1|allow|0'],
    },
  } as const;

  const logsOf = (release: keyof typeof releases) => {
    const r = releases[release];
    return r.enforced.map((enforced, i) =>
      record(
        parseCalicoFlowLog(
          withFields({
            reporter: 'src',
            policies: {
              all_policies: [...r.traces[i]!].reverse(),
              enforced_policies: [...enforced].reverse(),
              pending_policies: r.pending,
            },
          }),
        ),
      ),
    );
  };

  test("each release's logs read as the same records", () => {
    expect(logsOf('3.32')).toEqual(logsOf('3.31'));
  });

  test('what they say: a staged policy of namespace1 is pending; enforced policies of namespace2 to namespace4 decided', () => {
    const [first] = logsOf('3.32');
    expect(first!.policies!.pending).toEqual([hit(0, 'tier1', 'StagedNetworkPolicy', 'namespace1', 'policy1', 'allow', 0)]);
    expect(first!.policies!.enforced!.map((h) => `${h.kind} ${h.namespace}/${h.name}`).sort()).toEqual([
      'NetworkPolicy namespace2/policy2',
      'NetworkPolicy namespace3/policy3',
      'NetworkPolicy namespace4/policy4',
    ]);
  });
});

describe('policy names in traces, per release (felix/calc/policy_lookups_cache_test.go "Check flow log name is set correctly")', () => {
  // The same table entry on both sides: release-v3.30 / release-v3.31 on the left, release-v3.32 /
  // release-v3.33 / HEAD on the right. Felix writes `<index>|<tier>|<policy>|<action>|<rule index>`.
  test.each([
    ['Global network policy', 'default|default.gnp-1|allow', 'default|gnp:gnp-1|allow'],
    ['Global network policy in non default tier', 'tier-1|tier-1.gnp-2|pass', 'tier-1|gnp:gnp-2|pass'],
    ['Namespaced network policy', 'default|ns1/default.np-1|allow', 'default|np:ns1/np-1|allow'],
    ['Namespaced network policy in non default tier', 'netsec|ns2/netsec.np-2|allow', 'netsec|np:ns2/np-2|allow'],
    ['Kubernetes network policy', 'default|test/knp.default.allow.all|allow', 'default|knp:test/allow.all|allow'],
    ['Profile', '__PROFILE__|ns3/__PROFILE__.kns.ns3|allow', '__PROFILE__|pro:kns.ns3|allow'],
    ['Staged Global network policy', 'default|default.staged:gnp-1|allow', 'default|sgnp:gnp-1|allow'],
    ['Staged Global network policy in non default tier', 'tier-1|tier-1.staged:gnp-2|pass', 'tier-1|sgnp:gnp-2|pass'],
    ['Staged Namespaced network policy', 'default|ns1/default.staged:np.1|allow', 'default|snp:ns1/np.1|allow'],
    ['Staged Namespaced network policy in non default tier', 'netsec|ns2/netsec.staged:np-2|allow', 'netsec|snp:ns2/np-2|allow'],
    ['Staged Kubernetes network policy', 'default|test/staged:knp.default.allow.all|allow', 'default|sknp:test/allow.all|allow'],
  ])('%s', (_entry, older, newer) => {
    const parse = (fpName: string) => {
      const [tier, policy, action] = fpName.split('|');
      return record(parseCalicoFlowLog(withFields({ policies: { pending_policies: [`0|${tier}|${policy}|${action}|0`] } }))).policies;
    };
    expect(parse(newer)).toEqual(parse(older));
    expect(parse(newer)!.pending).toHaveLength(1);
  });

  test('Kubernetes cluster network policies (3.32+, tiers kube-admin / kube-baseline) and AdminNetworkPolicies (up to 3.31) are other policies', () => {
    const pending = (entry: string) =>
      record(parseCalicoFlowLog(withFields({ policies: { pending_policies: [entry] } }))).policies!.pending![0]!;
    // goldmane/proto/methods_test.go (HEAD).
    expect(pending('0|kube-admin|kcnp:name|deny|1')).toEqual(hit(0, 'kube-admin', 'ClusterNetworkPolicy', null, 'name', 'deny', 1));
    // policy_lookup_cache.go setFlowLogPolicyName (release-v3.31) for the AdminNetworkPolicy of policy_lookups_cache_test.go.
    expect(pending('0|adminnetworkpolicy|adminnetworkpolicy.kanp.adminnetworkpolicy.policy-1.1.1.1|deny|0')).toMatchObject({
      kind: 'Other',
      tier: 'adminnetworkpolicy',
    });
  });

  test('end of tier and no profile match (`__NO_MATCH__`, policy_lookup_cache.go NoMatchNameStr): read, never a policy of ours', () => {
    const pending = (entry: string) =>
      record(parseCalicoFlowLog(withFields({ policies: { pending_policies: [entry] } }))).policies!.pending![0]!;
    expect(pending('0|tier-1|tier-1.__NO_MATCH__|deny|0')).toEqual(hit(0, 'tier-1', 'Other', null, '__NO_MATCH__', 'deny', 0));
    expect(pending('0|tier-1|eot:__NO_MATCH__|deny|0')).toEqual(hit(0, 'tier-1', 'Other', null, '__NO_MATCH__', 'deny', 0));
    expect(pending('0|__PROFILE__|__PROFILE__.__NO_MATCH__|deny|0')).toEqual(
      hit(0, '__PROFILE__', 'Profile', null, '__NO_MATCH__', 'deny', 0),
    );
    expect(pending('0|__PROFILE__|pro:__NO_MATCH__|deny|0')).toEqual(hit(0, '__PROFILE__', 'Profile', null, '__NO_MATCH__', 'deny', 0));
  });
});

test('a file of documented shapes: records read; malformed inputs and those with nothing to learn counted apart, by reason', async () => {
  await withTempDir(async (dir) => {
    const times = { start_time: 1597166083, end_time: 1597166383 };
    const lines = [
      DOCS_EXAMPLE_LINE,
      line({ ...(JSON.parse(fixture('forwarded-apply-on-forward.json')) as object), ...times, source_type: 'wep' }),
      line({ ...(JSON.parse(fixture('forwarded-pre-dnat.json')) as object), ...times }),
      withFields({ proto: '0' }),
      fixture('filtering-text-line.txt').trim(),
      DOCS_EXAMPLE.split('\n')[1]!,
      withFields({ dest_service_name: 'nginx', dest_service_port: '*', dest_service_port_num: 80 }),
    ];
    const file = join(dir, 'flows.log');
    await writeFile(file, `${lines.join('\n')}\n`);
    const source = await FileFlowSource.open([file]);
    const records = await readRecords(source, { from: 0, to: 2_000_000_000 });
    expect(records).toHaveLength(3);
    expect(source.skipped.summary().byReason).toEqual({
      'not JSON': 1,
      'space-delimited text flow log (not the JSON format): not read': 1,
    });
    expect(source.unlearnable.summary().byReason).toEqual({
      'proto 0 (no Calico rule can match IP protocol 0)': 1,
      'reporter fwd (forwarded through a node that is neither end: no policy of either endpoint decided it there)': 1,
    });
    expect(source.inputsRead).toBe(7);
  });
});

describe('both trace forms teach the same', () => {
  test('our own staged recommendation, in the 3.31 form or the 3.32 one (with or without the tier its name was created with), is seen through; another staged policy is not', () => {
    const ctx = { window: { from: 0, to: 2_000_000_000 }, clusterDomain: 'cluster.local', tierName: 'namespace-isolation' };
    const lesson = (pending: string) => {
      const r = record(
        parseCalicoFlowLog(
          withFields({
            reporter: 'dst',
            policies: { enforced_policies: ['0|__PROFILE__|__PROFILE__.kns.policy-demo|allow|0'], pending_policies: [pending] },
          }),
        ),
      );
      const result = learn(r, ctx);
      return typeof result === 'string' ? result : `${result.direction} ${result.namespace}`;
    };
    expect(lesson('0|namespace-isolation|policy-demo/namespace-isolation.staged:policy-demo-recommendation|deny|-1')).toBe(
      'ingress policy-demo',
    );
    expect(lesson('0|namespace-isolation|snp:policy-demo/namespace-isolation.policy-demo-recommendation|deny|-1')).toBe(
      'ingress policy-demo',
    );
    expect(lesson('0|namespace-isolation|snp:policy-demo/policy-demo-recommendation|deny|-1')).toBe('ingress policy-demo');
    expect(lesson('0|namespace-isolation|snp:policy-demo/quarantine|deny|0')).toBe('decided by another policy');
    expect(lesson('0|namespace-isolation|policy-demo/namespace-isolation.staged:quarantine|deny|0')).toBe('decided by another policy');
  });

  test('the generated multi-namespace logs in the 3.32 form give the recommendations of the 3.31 form, file for file', async () => {
    await withTempDir(async (dir) => {
      const plans = [];
      for (const traceForm of ['3.31', '3.32'] as const) {
        const path = join(dir, `flows-${traceForm}.log`);
        await writeFlowFile(path, { scenario: 'multi-namespace', records: 4000, endTime: END_TIME, seed: 1, traceForm });
        plans.push(await planFromFlows([path], 'calico'));
      }
      const [older, newer] = plans;
      expect(older!.changes.size).toBeGreaterThan(10);
      expect([...newer!.changes]).toEqual([...older!.changes]);
      expect(newer!.namespaces).toEqual(older!.namespaces);
    });
  });
});
