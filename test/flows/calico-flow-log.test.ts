import { describe, expect, test } from '@jest/globals';
import { type ParseResult, parseCalicoFlowLog } from '../../src/flows/calico-flow-log.ts';
import type { FlowRecord } from '../../src/flows/record.ts';
import { validLabel, validLabelList } from '../../src/flows/validation.ts';
import { HOSTILE_NAMES } from '../support/hostile-values.ts';
import { ABRIDGED_EXAMPLE, abridged, withFields } from './fixtures.ts';

function record(result: ParseResult): FlowRecord {
  if (!result.ok) throw new Error(`expected a record, got rejection "${result.reason}"`);
  return result.record;
}

function reason(result: ParseResult): string {
  if (result.ok) throw new Error(`expected a rejection, got a record: ${JSON.stringify(result.record)}`);
  return result.reason;
}

/** Parses the abridged example with `changes` applied (`undefined` deletes a field). */
const parseWith = (changes: Record<string, unknown>): ParseResult => parseCalicoFlowLog(withFields(abridged(), changes));

describe('a valid record', () => {
  test('the abridged example from the reference maps every field', () => {
    const r = record(parseCalicoFlowLog(ABRIDGED_EXAMPLE));
    expect(r).toEqual({
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
        labels: [],
        ip: '192.168.138.79',
      },
      destPort: 80,
      destService: null,
      destDomains: [],
      protocol: 'TCP',
      action: 'allow',
      reporter: 'dst',
      policies: {
        all: [{ index: 0, tier: '__PROFILE__', kind: 'Profile', namespace: null, name: 'kns.policy-demo', action: 'allow', ruleIndex: 0 }],
        pending: null,
        enforced: null,
      },
      numFlows: 1,
    });
  });

  test('a full record: service fields, domains, all three traces, counters', () => {
    const r = record(
      parseWith({
        source_ip: null,
        source_name: '-',
        reporter: 'src',
        action: 'deny',
        dest_ip: '2001:db8::1',
        dest_type: 'net',
        dest_name_aggr: 'pub',
        dest_namespace: '-',
        dest_labels: null,
        dest_port: 443,
        dest_service_name: 'summary',
        dest_service_namespace: 'yaobank',
        dest_service_port: 'http',
        dest_service_port_num: 80,
        dest_domains: ['API.Stripe.com.', 'www.example.com', '*.googleapis.com'],
        num_flows: 17,
        policies: {
          all_policies: ['0|security|security.block-public-db|deny|0', '1|default|yaobank/default.allow-x|pass|-1'],
          enforced_policies: ['0|security|security.block-public-db|deny|0'],
          pending_policies: ['0|namespace-isolation|yaobank/namespace-isolation.staged:customer|allow|3'],
        },
      }),
    );
    expect(r.source.ip).toBeNull();
    expect(r.dest).toEqual({ type: 'net', name: 'pub', namespace: null, labels: [], ip: '2001:db8::1' });
    expect(r.destPort).toBe(443);
    expect(r.destService).toEqual({ name: 'summary', namespace: 'yaobank', portName: 'http', port: 80 });
    expect(r.destDomains).toEqual(['api.stripe.com', 'www.example.com', '*.googleapis.com']);
    expect(r.action).toBe('deny');
    expect(r.reporter).toBe('src');
    expect(r.numFlows).toBe(17);
    expect(r.policies).toEqual({
      all: [
        { index: 0, tier: 'security', kind: 'GlobalNetworkPolicy', namespace: null, name: 'block-public-db', action: 'deny', ruleIndex: 0 },
        { index: 1, tier: 'default', kind: 'NetworkPolicy', namespace: 'yaobank', name: 'allow-x', action: 'pass', ruleIndex: -1 },
      ],
      enforced: [
        { index: 0, tier: 'security', kind: 'GlobalNetworkPolicy', namespace: null, name: 'block-public-db', action: 'deny', ruleIndex: 0 },
      ],
      pending: [
        {
          index: 0,
          tier: 'namespace-isolation',
          kind: 'StagedNetworkPolicy',
          namespace: 'yaobank',
          name: 'customer',
          action: 'allow',
          ruleIndex: 3,
        },
      ],
    });
  });

  test('dest_service_port `*` (several port names match the port) and dest_service_port_num 0 (no port) name no port', () => {
    expect(
      record(
        parseWith({ dest_service_name: 'summary', dest_service_namespace: 'yaobank', dest_service_port: '*', dest_service_port_num: 80 }),
      ).destService,
    ).toEqual({
      name: 'summary',
      namespace: 'yaobank',
      portName: null,
      port: 80,
    });
    expect(record(parseWith({ dest_service_name: 'summary', dest_service_port: 'http', dest_service_port_num: 0 })).destService).toEqual({
      name: 'summary',
      namespace: null,
      portName: 'http',
      port: null,
    });
    expect(reason(parseWith({ dest_service_name: 'summary', dest_service_port: '**' }))).toBe('invalid dest_service_port');
    expect(reason(parseWith({ dest_service_name: 'summary', dest_service_port: 'HTTP' }))).toBe('invalid dest_service_port');
  });

  test('service fields: `-` means none', () => {
    expect(
      record(parseWith({ dest_service_name: '-', dest_service_namespace: '-', dest_service_port: '-', dest_service_port_num: null }))
        .destService,
    ).toBeNull();
    expect(record(parseWith({ dest_service_name: '', dest_service_namespace: 'yaobank' })).destService).toBeNull();
    expect(
      record(parseWith({ dest_service_name: 'kube-dns', dest_service_namespace: '-', dest_service_port: '-', dest_service_port_num: null }))
        .destService,
    ).toEqual({
      name: 'kube-dns',
      namespace: null,
      portName: null,
      port: null,
    });
    expect(record(parseWith({ dest_service_name: 'kube-dns' })).destService).toEqual({
      name: 'kube-dns',
      namespace: null,
      portName: null,
      port: null,
    });
  });

  test('`-` namespace and `-` labels mean none; labels accepted as an object or a bare array', () => {
    const r = record(
      parseWith({ source_type: 'net', source_name_aggr: 'pvt', source_namespace: '-', source_labels: '-', dest_labels: ['app=nginx'] }),
    );
    expect(r.source).toEqual({ type: 'net', name: 'pvt', namespace: null, labels: [], ip: '192.168.47.9' });
    expect(r.dest.labels).toEqual(['app=nginx']);
    expect(record(parseWith({ source_labels: null })).source.labels).toEqual([]);
    expect(record(parseWith({ source_labels: undefined })).source.labels).toEqual([]);
    expect(record(parseWith({ source_labels: { labels: [] } })).source.labels).toEqual([]);
  });

  test('network set and host endpoint names', () => {
    const ns = record(parseWith({ dest_type: 'ns', dest_name_aggr: 'stripe-ips.v2', dest_namespace: 'yaobank' })).dest;
    expect(ns).toMatchObject({ type: 'ns', name: 'stripe-ips.v2', namespace: 'yaobank' });
    const gns = record(parseWith({ dest_type: 'ns', dest_name_aggr: 'internet-blocklist', dest_namespace: '-' })).dest;
    expect(gns).toMatchObject({ type: 'ns', name: 'internet-blocklist', namespace: null });
    const hep = record(parseWith({ source_type: 'hep', source_name_aggr: 'worker-1-auto-hep', source_namespace: '-' })).source;
    expect(hep).toMatchObject({ type: 'hep', name: 'worker-1-auto-hep', namespace: null });
    // A bare `*` is a fully aggregated workload name.
    expect(record(parseWith({ dest_name_aggr: '*' })).dest.name).toBe('*');
  });

  test('domains: lowercase, no trailing dot, comma-joined string accepted, `-` / empty mean none', () => {
    expect(record(parseWith({ dest_domains: 'API.Stripe.COM.,www.example.com' })).destDomains).toEqual([
      'api.stripe.com',
      'www.example.com',
    ]);
    expect(record(parseWith({ dest_domains: 'api.stripe.com, www.example.com.' })).destDomains).toEqual([
      'api.stripe.com',
      'www.example.com',
    ]);
    expect(record(parseWith({ dest_domains: 'single.example.org' })).destDomains).toEqual(['single.example.org']);
    expect(record(parseWith({ dest_domains: ['*.Example.com'] })).destDomains).toEqual(['*.example.com']);
    expect(record(parseWith({ dest_domains: '-' })).destDomains).toEqual([]);
    expect(record(parseWith({ dest_domains: '' })).destDomains).toEqual([]);
    expect(record(parseWith({ dest_domains: [] })).destDomains).toEqual([]);
    expect(record(parseWith({ dest_domains: null })).destDomains).toEqual([]);
    // 253 characters is the longest DNS name.
    const longest = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(longest).toHaveLength(253);
    expect(record(parseWith({ dest_domains: [longest] })).destDomains).toEqual([longest]);
  });

  test.each<[unknown, FlowRecord['protocol']]>([
    ['tcp', 'TCP'],
    ['TCP', 'TCP'],
    ['6', 'TCP'],
    [6, 'TCP'],
    ['udp', 'UDP'],
    ['17', 'UDP'],
    [17, 'UDP'],
    ['icmp', 'ICMP'],
    [1, 'ICMP'],
    ['icmpv6', 'ICMPv6'],
    ['58', 'ICMPv6'],
    ['sctp', 'SCTP'],
    ['132', 'SCTP'],
    [132, 'SCTP'],
    ['udplite', 'UDPLite'],
    ['47', 47],
    [47, 47],
    ['255', 255],
  ])('proto %p -> %p', (proto, expected) => {
    expect(record(parseWith({ proto })).protocol).toBe(expected);
  });

  test('num_flows defaults to 1 when absent or null; 0 and large counts are kept', () => {
    expect(record(parseWith({ num_flows: undefined })).numFlows).toBe(1);
    expect(record(parseWith({ num_flows: null })).numFlows).toBe(1);
    expect(record(parseWith({ num_flows: 0 })).numFlows).toBe(0);
    expect(record(parseWith({ num_flows: 123456 })).numFlows).toBe(123456);
  });

  test('optional values: no IPs, no dest port, boundary ports, equal start and end', () => {
    const r = record(parseWith({ source_ip: undefined, dest_ip: null, dest_port: null, end_time: 1597166083 }));
    expect(r.source.ip).toBeNull();
    expect(r.dest.ip).toBeNull();
    expect(r.destPort).toBeNull();
    expect(r.endTime).toBe(r.startTime);
    expect(record(parseWith({ dest_port: undefined })).destPort).toBeNull();
    expect(record(parseWith({ dest_port: 0 })).destPort).toBe(0);
    expect(record(parseWith({ dest_port: 65535 })).destPort).toBe(65535);
  });

  test('no policies field, or an empty one, means no trace; empty trace lists are kept', () => {
    expect(record(parseWith({ policies: undefined })).policies).toBeNull();
    expect(record(parseWith({ policies: null })).policies).toBeNull();
    expect(record(parseWith({ policies: {} })).policies).toBeNull();
    expect(record(parseWith({ policies: { all_policies: [] } })).policies).toEqual({ all: [], pending: null, enforced: null });
  });

  test('a 63-character namespace is accepted; unknown extra fields are ignored', () => {
    const ns = 'n'.repeat(63);
    expect(record(parseWith({ source_namespace: ns })).source.namespace).toBe(ns);
    expect(record(parseWith({ http_requests_allowed_in: 3, process_name: '/bin/sh', something_new: { x: [1] } })).numFlows).toBe(1);
  });
});

describe('well formed, nothing to learn: skipped with the reason, marked nothingToLearn', () => {
  const skipped = (result: ParseResult) => {
    if (result.ok) throw new Error('expected a skip');
    return [result.reason, result.nothingToLearn ?? false];
  };

  test("a forwarding node's report", () => {
    expect(skipped(parseWith({ reporter: 'fwd' }))).toEqual([expect.stringMatching(/^reporter fwd \(/), true]);
    expect(skipped(parseWith({ reporter: 'fwd', policies: { transit_policies: ['0|default|default.allow-ssh|allow|0'] } }))).toEqual([
      expect.stringMatching(/^reporter fwd/),
      true,
    ]);
  });

  test.each<[unknown]>([[0], ['0']])('proto %p', (proto) => {
    expect(skipped(parseWith({ proto }))).toEqual(['proto 0 (no Calico rule can match IP protocol 0)', true]);
  });

  test('a malformed line is malformed first, whatever it reports', () => {
    expect(skipped(parseWith({ reporter: 'fwd', source_namespace: '../x' }))).toEqual(['invalid source_namespace', false]);
    expect(skipped(parseWith({ proto: 0, dest_port: -1 }))).toEqual(['invalid dest_port', false]);
  });

  test('malformed lines carry no nothingToLearn', () => {
    expect(parseWith({ action: 'x' })).toEqual({ ok: false, reason: 'invalid action' });
  });
});

describe('reporter', () => {
  test.each<[unknown, 'src' | 'dst']>([
    ['src', 'src'],
    ['dst', 'dst'],
    // The destination's report of a flow a node also forwarded ("Apply policy to forwarded traffic" page).
    ['dst, fwd', 'dst'],
    ['dst,fwd', 'dst'],
    ['fwd, src', 'src'],
  ])('%p -> %p', (reporter, expected) => {
    expect(record(parseWith({ reporter })).reporter).toBe(expected);
  });
});

describe('formats that are not flow-log JSON lines get their own reason', () => {
  test('the space-delimited text format of the docs\' "Filter flow logs" page', () => {
    const line = '1528842551 1528842851 wep dev rails-81531* - wep dev memcached-38456* - - - 6 - 3000 7 3 4 out 154 61 70111 49404 allow';
    expect(parseCalicoFlowLog(line)).toEqual({ ok: false, reason: 'space-delimited text flow log (not the JSON format): not read' });
    expect(reason(parseCalicoFlowLog('1528842551 oops'))).toBe('not JSON');
  });

  test('a Whisker API flow (whisker-backend/pkg/apis/v1/flows.go FlowResponse, HEAD)', () => {
    const whisker = {
      start_time: '2025-04-01T10:00:00Z',
      end_time: '2025-04-01T10:00:15Z',
      action: 'Allow',
      source_name: 'client-*',
      source_namespace: 'app',
      source_labels: 'app=client',
      dest_name: 'server-*',
      dest_namespace: 'app',
      dest_labels: 'app=server',
      protocol: 'tcp',
      dest_port: 80,
      reporter: 'Dst',
      policies: { enforced: [], pending: [] },
      packets_in: 1,
      packets_out: 1,
      bytes_in: 60,
      bytes_out: 60,
    };
    expect(reason(parseCalicoFlowLog(JSON.stringify(whisker)))).toBe(
      'a Whisker API flow, not a flow-log line (no endpoint types): read flows from Goldmane instead',
    );
  });
});

describe('rejections', () => {
  test.each<[string, string]>([
    ['plain text', 'not JSON'],
    ['', 'not JSON'],
    ['{', 'not JSON'],
    ["{'start_time': 1}", 'not JSON'],
    ['{start_time: 1597166083}', 'not JSON'],
    ['{"start_time":1597166083,,"end_time":1597166383}', 'not JSON'],
    ['NaN', 'not JSON'],
    [ABRIDGED_EXAMPLE.slice(0, 120), 'not JSON'],
    ['[]', 'not a JSON object'],
    [`[${ABRIDGED_EXAMPLE}]`, 'not a JSON object'],
    ['42', 'not a JSON object'],
    ['-1.5e3', 'not a JSON object'],
    ['null', 'not a JSON object'],
    ['true', 'not a JSON object'],
    ['"flow"', 'not a JSON object'],
  ])('line %p -> %p', (line, expected) => {
    expect(reason(parseCalicoFlowLog(line))).toBe(expected);
  });

  test.each(['start_time', 'end_time', 'action', 'reporter', 'proto', 'source_type', 'dest_type', 'source_name_aggr', 'dest_name_aggr'])(
    'missing %s',
    (field) => {
      expect(reason(parseWith({ [field]: undefined }))).toBe(`missing field ${field}`);
    },
  );

  test.each<[string, Record<string, unknown>, string]>([
    // times
    ['start_time as a string', { start_time: '1597166083' }, 'invalid start_time'],
    ['start_time as a date', { start_time: '2020-08-11T17:14:43Z' }, 'invalid start_time'],
    ['start_time fractional', { start_time: 1597166083.5 }, 'invalid start_time'],
    ['start_time negative', { start_time: -1 }, 'invalid start_time'],
    ['start_time null', { start_time: null }, 'invalid start_time'],
    ['end_time in milliseconds', { end_time: 1597166383000 }, 'invalid end_time'],
    ['end_time as a string', { end_time: 'later' }, 'invalid end_time'],
    ['end before start', { start_time: 1597166383, end_time: 1597166083 }, 'end_time before start_time'],
    // verdict
    ['action uppercase', { action: 'ALLOW' }, 'invalid action'],
    ['action pass', { action: 'pass' }, 'invalid action'],
    ['action as a number', { action: 1 }, 'invalid action'],
    ['action null', { action: null }, 'invalid action'],
    ['reporter both', { reporter: 'both' }, 'invalid reporter'],
    ['reporter as a number', { reporter: 1 }, 'invalid reporter'],
    ['reporter uppercase', { reporter: 'SRC' }, 'invalid reporter'],
    ['reporter empty', { reporter: '' }, 'invalid reporter'],
    ['reporter both ends', { reporter: 'src, dst' }, 'invalid reporter'],
    ['reporter twice', { reporter: 'dst, dst' }, 'invalid reporter'],
    ['reporter with an empty part', { reporter: 'dst,' }, 'invalid reporter'],
    ['reporter with an unknown part', { reporter: 'dst, out' }, 'invalid reporter'],
    ['reporter as a list', { reporter: ['dst', 'fwd'] }, 'invalid reporter'],
    ['proto unknown name', { proto: 'tcpx' }, 'invalid proto'],
    ['proto empty', { proto: '' }, 'invalid proto'],
    ['proto 256', { proto: 256 }, 'invalid proto'],
    ['proto "256"', { proto: '256' }, 'invalid proto'],
    ['proto -6', { proto: -6 }, 'invalid proto'],
    ['proto 6.5', { proto: 6.5 }, 'invalid proto'],
    ['proto "0x6"', { proto: '0x6' }, 'invalid proto'],
    ['proto null', { proto: null }, 'invalid proto'],
    ['proto as an array', { proto: ['tcp'] }, 'invalid proto'],
    // endpoint types
    ['source_type pod', { source_type: 'pod' }, 'invalid source_type'],
    ['dest_type uppercase', { dest_type: 'WEP' }, 'invalid dest_type'],
    ['dest_type as a number', { dest_type: 5 }, 'invalid dest_type'],
    ['source_type empty', { source_type: '' }, 'invalid source_type'],
    // counters
    ['num_flows as a string', { num_flows: 'many' }, 'invalid num_flows'],
    ['num_flows negative', { num_flows: -1 }, 'invalid num_flows'],
    ['num_flows fractional', { num_flows: 1.5 }, 'invalid num_flows'],
    ['num_flows unsafe integer', { num_flows: 2 ** 60 }, 'invalid num_flows'],
    // labels
    ['source_labels as a string', { source_labels: 'app=customer' }, 'invalid source_labels'],
    ['source_labels as a number', { source_labels: 42 }, 'invalid source_labels'],
    ['dest_labels as a boolean', { dest_labels: true }, 'invalid dest_labels'],
    ['labels list is a string', { dest_labels: { labels: 'app=x' } }, 'invalid dest_labels'],
    ['labels list has a number', { source_labels: { labels: ['app=x', 7] } }, 'invalid source_labels'],
    ['labels list too long', { source_labels: { labels: Array.from({ length: 257 }, (_, i) => `k${i}=v`) } }, 'invalid source_labels'],
    ['label too long', { source_labels: { labels: [`k=${'v'.repeat(400)}`] } }, 'invalid source_labels'],
    // policies
    ['policies as an array', { policies: ['0|t|p|allow|0'] }, 'invalid policies'],
    ['policies as a string', { policies: '0|t|p|allow|0' }, 'invalid policies'],
    ['all_policies as a string', { policies: { all_policies: '0|t|p|allow|0' } }, 'invalid policies'],
    ['too many policy hits', { policies: { all_policies: Array.from({ length: 65 }, (_, i) => `${i}|t|t.p|pass|0`) } }, 'invalid policies'],
    // domains
    ['dest_domains as a number', { dest_domains: 5 }, 'invalid dest_domains'],
    ['dest_domains as an object', { dest_domains: { a: 'x.com' } }, 'invalid dest_domains'],
    ['dest_domains with a number', { dest_domains: ['x.com', 5] }, 'invalid dest_domains'],
    ['too many dest_domains', { dest_domains: Array.from({ length: 65 }, (_, i) => `d${i}.example.com`) }, 'invalid dest_domains'],
  ])('wrong value: %s', (_name, changes, expected) => {
    expect(reason(parseWith(changes))).toBe(expected);
  });

  const longName = 'a'.repeat(64);
  test.each<[string, Record<string, unknown>, string]>([
    ['namespace path traversal', { source_namespace: '../../etc' }, 'invalid source_namespace'],
    ['namespace with /', { dest_namespace: 'yaobank/x' }, 'invalid dest_namespace'],
    ['namespace with a newline', { source_namespace: 'yaobank\nmalicious: true' }, 'invalid source_namespace'],
    ['namespace with a quote', { source_namespace: 'pay"ments' }, 'invalid source_namespace'],
    ['namespace with shell', { source_namespace: '$(touch /tmp/pwned)' }, 'invalid source_namespace'],
    ['namespace with markup', { source_namespace: '<!-- x -->`y`' }, 'invalid source_namespace'],
    ['namespace uppercase', { source_namespace: 'Yaobank' }, 'invalid source_namespace'],
    ['namespace over 63', { dest_namespace: longName }, 'invalid dest_namespace'],
    ['namespace 300 characters', { source_namespace: 'a'.repeat(300) }, 'invalid source_namespace'],
    ['namespace with a dot', { source_namespace: 'yao.bank' }, 'invalid source_namespace'],
    ['namespace as a number', { source_namespace: 7 }, 'invalid source_namespace'],
    ['workload name path traversal', { source_name_aggr: '../../etc' }, 'invalid source_name_aggr'],
    ['workload name with /', { dest_name_aggr: 'nginx/x-*' }, 'invalid dest_name_aggr'],
    ['workload name with a newline', { dest_name_aggr: 'nginx-*\nx' }, 'invalid dest_name_aggr'],
    ['workload name with a quote', { dest_name_aggr: 'ng"inx-*' }, 'invalid dest_name_aggr'],
    ['workload name uppercase', { source_name_aggr: 'Access-6b687c8dcb-*' }, 'invalid source_name_aggr'],
    ['workload name empty', { source_name_aggr: '' }, 'invalid source_name_aggr'],
    ['workload name over 253', { source_name_aggr: `${'a'.repeat(253)}*` }, 'invalid source_name_aggr'],
    ['workload name as a number', { source_name_aggr: 42 }, 'invalid source_name_aggr'],
    ['network set name with /', { dest_type: 'ns', dest_name_aggr: 'a/b', dest_namespace: '-' }, 'invalid dest_name_aggr'],
    ['network set name uppercase', { dest_type: 'ns', dest_name_aggr: 'Blocklist', dest_namespace: '-' }, 'invalid dest_name_aggr'],
    ['network set name traversal', { dest_type: 'ns', dest_name_aggr: '../../etc', dest_namespace: '-' }, 'invalid dest_name_aggr'],
    ['network name traversal', { dest_type: 'net', dest_name_aggr: '../../etc', dest_namespace: '-' }, 'invalid dest_name_aggr'],
    ['network name with /', { dest_type: 'net', dest_name_aggr: 'pub/x', dest_namespace: '-' }, 'invalid dest_name_aggr'],
    ['host name with a quote', { source_type: 'hep', source_name_aggr: 'worker"1', source_namespace: '-' }, 'invalid source_name_aggr'],
    [
      'host name with a newline',
      { source_type: 'hep', source_name_aggr: 'worker-1\nx', source_namespace: '-' },
      'invalid source_name_aggr',
    ],
    ['host name with a space', { source_type: 'hep', source_name_aggr: 'worker 1', source_namespace: '-' }, 'invalid source_name_aggr'],
    ['workload without namespace (-)', { source_namespace: '-' }, 'missing source_namespace for a workload'],
    ['workload without namespace (absent)', { dest_namespace: undefined }, 'missing dest_namespace for a workload'],
    ['workload without namespace (empty)', { dest_namespace: '' }, 'missing dest_namespace for a workload'],
    ['service name traversal', { dest_service_name: '../../etc' }, 'invalid dest_service_name'],
    ['service name uppercase', { dest_service_name: 'Summary' }, 'invalid dest_service_name'],
    [
      'service namespace with a newline',
      { dest_service_name: 'summary', dest_service_namespace: 'a\nb' },
      'invalid dest_service_namespace',
    ],
  ])('hostile name: %s', (_name, changes, expected) => {
    expect(reason(parseWith(changes))).toBe(expected);
  });

  test.each<[unknown]>([
    ['999.1.1.1'],
    ['192.168.1'],
    ['localhost'],
    [''],
    ['10.0.0.1/32'],
    [' 10.0.0.1'],
    ['2001:db8::g'],
    [3232235785],
    [['10.0.0.1']],
  ])('bad IP %p', (ip) => {
    expect(reason(parseWith({ source_ip: ip }))).toBe('invalid source_ip');
    expect(reason(parseWith({ dest_ip: ip }))).toBe('invalid dest_ip');
  });

  test.each<[unknown]>([[-1], [70000], [65536], [1.5], ['80'], [true], [[80]]])('bad port %p', (port) => {
    expect(reason(parseWith({ dest_port: port }))).toBe('invalid dest_port');
    expect(reason(parseWith({ dest_service_name: 'summary', dest_service_port_num: port }))).toBe('invalid dest_service_port_num');
  });

  test.each<[string]>([
    ['a..b'],
    ['-x.com'],
    ['x-.com'],
    ['a'.repeat(300)],
    [`${'a'.repeat(64)}.com`],
    ['exa mple.com'],
    ['example.com/path'],
    ['ex"ample.com'],
    ['a.*.com'],
    ['*'],
    ['.'],
    ['..'],
    ['.example.com'],
  ])('invalid domain %p', (domain) => {
    expect(reason(parseWith({ dest_domains: [domain] }))).toBe('invalid dest_domains entry');
    expect(reason(parseWith({ dest_domains: `ok.example.com,${domain}` }))).toBe('invalid dest_domains entry');
  });

  test.each<[unknown]>([
    ['0|__PROFILE__|__PROFILE__.kns.policy-demo|allow'],
    ['0|__PROFILE__|__PROFILE__.kns.policy-demo|allow|0|extra'],
    ['0|tier.policy|allow|0'],
    [''],
    ['x|default|default.p|allow|0'],
    ['-1|default|default.p|allow|0'],
    ['1.5|default|default.p|allow|0'],
    ['12345|default|default.p|allow|0'],
    ['0|default|default.p|allow|x'],
    ['0|default|default.p|allow|'],
    ['0|default|default.p|ALLOW|0'],
    ['0|default|default.p|reject|0'],
    ['0||default.p|allow|0'],
    ['0|default||allow|0'],
    [`0|default|${'p'.repeat(1100)}|allow|0`],
    [7],
    [null],
    [{ index: 0 }],
  ])('malformed policy entry %p', (entry) => {
    expect(reason(parseWith({ policies: { all_policies: [entry] } }))).toBe('invalid policies entry');
    expect(reason(parseWith({ policies: { pending_policies: ['0|t|t.p|allow|0', entry] } }))).toBe('invalid policies entry');
    expect(reason(parseWith({ policies: { enforced_policies: [entry] } }))).toBe('invalid policies entry');
  });

  test('a rejection never throws, whatever the JSON holds', () => {
    const values: unknown[] = [null, true, 0, -1, 1e308, '', '-', 'x', [], [null], {}, { labels: null }, { labels: [null] }];
    const fields = Object.keys(JSON.parse(ABRIDGED_EXAMPLE) as object).concat(['dest_service_name', 'dest_domains', 'dest_labels']);
    for (const field of fields) {
      for (const value of values) {
        const result = parseWith({ [field]: value });
        expect(typeof result.ok).toBe('boolean');
        if (!result.ok) expect(result.reason).toMatch(/\S/);
      }
    }
  });
});

describe('label lists seen before (validLabelList: whole lists remembered, not each label looked up)', () => {
  /** The per-label verdict the remembered lists must agree with. */
  const oneByOne = (list: readonly unknown[]): boolean => list.every((l) => typeof l === 'string' && validLabel(l));

  test('a list equal to a valid one is valid; one that differs in any entry is judged again', () => {
    const valid = ['app=frontend', 'tier=web', 'app.kubernetes.io/name=frontend', 'pod-template-hash=2ppzwqdc5x'];
    const variants: unknown[][] = [valid, [...valid], valid.slice(1), ['x=y', ...valid]];
    // Every entry replaced by a hostile name, a non-string, or a near miss; the last entry kept (same remembered key).
    for (let i = 0; i < valid.length - 1; i++)
      for (const bad of [...HOSTILE_NAMES, 7, null, {}, ['app=x'], 'app=frontend ', 'app=', '=x'])
        variants.push(valid.map((l, j) => (j === i ? bad : l)));
    variants.push([...valid.slice(0, -1), 7], [...valid, 'bad label=x'], [...valid.slice(0, -1), 'pod-template-hash=2ppzwqdc5x\n']);
    // Twice over: the second pass meets every list remembered.
    for (const list of [...variants, ...variants]) expect([list, validLabelList(list)]).toEqual([list, oneByOne(list)]);
  });

  test('through the parser: a hostile list after valid records of the same endpoint is still rejected', () => {
    const labels = ['app=customer', 'pod-template-hash=6b687c8dcb'];
    expect(record(parseWith({ source_labels: { labels } })).source.labels).toEqual(labels);
    expect(reason(parseWith({ source_labels: { labels: ['app=cus tomer', 'pod-template-hash=6b687c8dcb'] } }))).toBe(
      'invalid source_labels',
    );
    expect(reason(parseWith({ dest_labels: [1, 'pod-template-hash=6b687c8dcb'] }))).toBe('invalid dest_labels');
    expect(record(parseWith({ dest_labels: labels })).dest.labels).toEqual(labels);
  });

  test('the memory is bounded: more distinct lists than it holds changes no verdict', () => {
    // About 6 MB of lists (the cap is 4 MB), each checked twice; every tenth one invalid.
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < 6000; i++) {
        const list = Array.from({ length: 8 }, (_, j) => `label-${j}=${'v'.repeat(40)}${i}`);
        if (i % 10 === 0) list[3] = `bad key ${i}=x`;
        expect(validLabelList(list)).toBe(i % 10 !== 0);
      }
  });
});
