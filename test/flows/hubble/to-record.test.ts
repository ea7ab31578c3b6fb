// Hubble events -> FlowRecord (src/flows/sources/hubble/to-record.ts). The event shapes are
// Cilium's: api/v1/flow/flow.proto and api/v1/observer/observer.proto (v1.19.4, vendored in
// src/flows/sources/hubble/proto), written as protojson with proto names (flow.pb.json.go
// UseProtoNames). Lines marked "upstream" are copied from Cilium's own tests:
// hubble/pkg/printer/printer_test.go (the jsonpb case) and pkg/hubble/exporter/exporter_test.go
// (TestExporter's expected output), cilium/cilium main.

import { describe, expect, test } from '@jest/globals';
import type { FlowRecord } from '../../../src/flows/record.ts';
import { parseHubbleLine, withHubbleLines } from '../../../src/flows/sources/hubble/jsonpb-line.ts';
import { aggregatePodName, type HubbleResult, hubbleEventToRecord } from '../../../src/flows/sources/hubble/to-record.ts';
import { observerCodec } from '../../../src/flows/sources/hubble/wire.ts';

const TIME = '2024-05-01T10:00:00.123456789Z';
const SECONDS = Date.parse('2024-05-01T10:00:00Z') / 1000;

/** A FORWARDED egress TCP flow from shop/customer to shop/db:5432, with the fields Cilium 1.15+ writes. */
function flow(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    time: TIME,
    uuid: 'b6f0a1d8-0f3c-4f57-9d0a-3c2d0e1b2a01',
    verdict: 'FORWARDED',
    IP: { source: '10.0.1.5', destination: '10.0.2.7', ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 41000, destination_port: 5432, flags: { SYN: true } } },
    source: {
      ID: 1234,
      identity: 40001,
      cluster_name: 'default',
      namespace: 'shop',
      labels: [
        'k8s:app=customer',
        'k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=shop',
        'k8s:io.cilium.k8s.policy.cluster=default',
        'k8s:io.cilium.k8s.policy.serviceaccount=customer',
        'k8s:io.kubernetes.pod.namespace=shop',
      ],
      pod_name: 'customer-6b687c8dcb-x7k2p',
      workloads: [{ name: 'customer', kind: 'Deployment' }],
    },
    destination: {
      ID: 2222,
      identity: 40002,
      namespace: 'shop',
      labels: ['k8s:app=db', 'k8s:io.kubernetes.pod.namespace=shop'],
      pod_name: 'db-0',
      workloads: [{ name: 'db', kind: 'StatefulSet' }],
    },
    Type: 'L3_L4',
    node_name: 'kind-worker',
    event_type: { type: 4, sub_type: 3 },
    traffic_direction: 'EGRESS',
    trace_observation_point: 'TO_STACK',
    is_reply: false,
    Summary: 'TCP Flags: SYN',
    ...overrides,
  };
}

function response(f: Record<string, unknown>): Record<string, unknown> {
  return { flow: f, node_name: 'kind-worker', time: TIME };
}

function record(result: HubbleResult): FlowRecord {
  if (!result.ok) throw new Error(`not read: ${result.reason}`);
  return result.record;
}

function notRead(result: HubbleResult): { reason: string; nothingToLearn: boolean } {
  if (result.ok) throw new Error('read');
  return { reason: result.reason, nothingToLearn: result.nothingToLearn === true };
}

describe('a FORWARDED flow between two pods', () => {
  test('becomes the source-reported record of the egress, with aggregated names and pod labels', () => {
    const r = record(hubbleEventToRecord(response(flow())));
    expect(r).toEqual({
      startTime: SECONDS,
      endTime: SECONDS,
      source: {
        type: 'wep',
        name: 'customer-6b687c8dcb-*',
        namespace: 'shop',
        labels: ['app=customer'],
        ip: null,
        identity: 40001,
        workload: { kind: 'Deployment', name: 'customer' },
      },
      dest: {
        type: 'wep',
        name: 'db-*',
        namespace: 'shop',
        labels: ['app=db'],
        ip: null,
        identity: 40002,
        workload: { kind: 'StatefulSet', name: 'db' },
      },
      destPort: 5432,
      destService: null,
      destDomains: [],
      protocol: 'TCP',
      action: 'allow',
      reporter: 'src',
      policies: null,
      numFlows: 1,
    });
  });

  test('INGRESS is the destination report; a bare Flow (no GetFlowsResponse around it) reads the same', () => {
    const r = record(hubbleEventToRecord(flow({ traffic_direction: 'INGRESS' })));
    expect(r.reporter).toBe('dst');
    expect(r.source.name).toBe('customer-6b687c8dcb-*');
  });

  test('the time comes from the response when the flow has none (GetFlowsResponse.time)', () => {
    const f = flow();
    delete f['time'];
    expect(record(hubbleEventToRecord(response(f))).startTime).toBe(SECONDS);
    expect(notRead(hubbleEventToRecord(f))).toEqual({ reason: 'missing field time', nothingToLearn: false });
  });

  test('AUDIT (policy audit mode: it flowed, a policy would have dropped it) is learned', () => {
    expect(record(hubbleEventToRecord(response(flow({ verdict: 'AUDIT', event_type: { type: 5 } })))).action).toBe('allow');
  });
});

describe('what teaches nothing is counted apart, with its reason', () => {
  test.each([
    ['DROPPED', 'verdict DROPPED (dropped: it did not flow)'],
    ['ERROR', 'verdict ERROR (an error while processing it)'],
    ['TRACED', 'verdict TRACED (a trace point, no decision)'],
    ['TRANSLATED', 'verdict TRANSLATED (an address translation, no decision)'],
    ['REDIRECTED', 'verdict REDIRECTED (handed to the L7 proxy: learned from its other events)'],
  ])('verdict %s', (verdict, reason) => {
    expect(notRead(hubbleEventToRecord(response(flow({ verdict }))))).toEqual({ reason, nothingToLearn: true });
  });

  test('replies: is_reply true (bare in protojson, {value} from protobuf), and the deprecated reply', () => {
    const reason = 'reply (is_reply): the connection is learned from its request';
    expect(notRead(hubbleEventToRecord(response(flow({ is_reply: true }))))).toEqual({ reason, nothingToLearn: true });
    expect(notRead(hubbleEventToRecord(response(flow({ is_reply: { value: true } }))))).toEqual({ reason, nothingToLearn: true });
    expect(notRead(hubbleEventToRecord(response(flow({ is_reply: undefined, reply: true }))))).toEqual({ reason, nothingToLearn: true });
    // is_reply absent: it is not known to be a reply (flow.proto: "May be absent").
    expect(hubbleEventToRecord(response(flow({ is_reply: undefined }))).ok).toBe(true);
  });

  test('L7 records, socket traces, flows without a direction or a transport', () => {
    const l7 = flow({ Type: 'L7', l7: { type: 'REQUEST', dns: { query: 'api.example.com.' } } });
    expect(notRead(hubbleEventToRecord(response(l7))).reason).toBe('L7 record: learned from its L3/L4 events');
    expect(notRead(hubbleEventToRecord(response(flow({ Type: 'SOCK', verdict: 'FORWARDED' })))).nothingToLearn).toBe(true);
    expect(notRead(hubbleEventToRecord(response(flow({ traffic_direction: undefined })))).reason).toMatch(/^traffic_direction unknown/);
    expect(notRead(hubbleEventToRecord(response(flow({ l4: undefined })))).reason).toBe('no L4 protocol (l4 missing)');
  });

  test('an endpoint still without labels (reserved identity init, numericidentity.go 5)', () => {
    const f = flow({ destination: { identity: 5, labels: ['reserved:init'] } });
    expect(notRead(hubbleEventToRecord(response(f)))).toEqual({
      reason: 'identity init (an endpoint without labels yet)',
      nothingToLearn: true,
    });
  });

  test('upstream: the jsonpb line of hubble/pkg/printer/printer_test.go (a DROPPED SYN)', () => {
    const line =
      '{"flow":{"time":"1970-01-01T00:20:34.567800Z","verdict":"DROPPED","IP":{"source":"1.1.1.1","destination":"2.2.2.2"},' +
      '"l4":{"TCP":{"source_port":31793,"destination_port":8080}},"source":{"identity":4},"destination":{"identity":12345},' +
      '"Type":"L3_L4","node_name":"k8s1","event_type":{"type":1,"sub_type":133},"is_reply":false,"Summary":"TCP Flags: SYN"}}';
    expect(notRead(parseHubbleLine(line))).toEqual({ reason: 'verdict DROPPED (dropped: it did not flow)', nothingToLearn: true });
  });

  test("upstream: the exporter's lines of pkg/hubble/exporter/exporter_test.go (a flow without verdict, agent, debug and lost events)", () => {
    const lines = [
      '{"flow":{"time":"1970-01-01T00:00:01Z","node_name":"my-node"},"node_name":"my-node","time":"1970-01-01T00:00:01Z"}',
      '{"agent_event":{},"node_name":"my-node","time":"1970-01-01T00:00:02Z"}',
      '{"debug_event":{},"node_name":"my-node","time":"1970-01-01T00:00:03Z"}',
      '{"lost_events":{},"node_name":"my-node","time":"1970-01-01T00:00:04Z"}',
    ];
    expect(lines.map((l) => notRead(parseHubbleLine(l)))).toEqual([
      { reason: 'verdict VERDICT_UNKNOWN (no verdict: not a decision)', nothingToLearn: true },
      { reason: 'agent_event (a Cilium agent event, not a flow)', nothingToLearn: true },
      { reason: 'debug_event (a Cilium datapath debug event, not a flow)', nothingToLearn: true },
      { reason: 'lost_events event (Hubble lost flows before they could be read)', nothingToLearn: true },
    ]);
  });

  test('node_status (relay.proto NodeStatusEvent)', () => {
    const r = hubbleEventToRecord({ node_status: { state_change: 'NODE_UNAVAILABLE', node_names: ['kind-worker2'] } });
    expect(notRead(r)).toEqual({ reason: 'node_status event (a Hubble Relay node state change, not a flow)', nothingToLearn: true });
  });
});

describe('malformed events are rejected with a reason, never thrown', () => {
  test.each([
    ['an unknown verdict', { verdict: 'MAYBE' }, 'invalid verdict'],
    ['a verdict number past the enum', { verdict: 9 }, 'invalid verdict'],
    ['a bad time', { time: 'yesterday' }, 'invalid time'],
    ['a bad IP', { IP: { source: '10.0.1.500', destination: '10.0.2.7' } }, 'invalid IP.source'],
    ['a port past 65535', { l4: { TCP: { destination_port: 70000 } } }, 'invalid l4.TCP.destination_port'],
    ['a bad namespace', { source: { namespace: 'Shop!', pod_name: 'x' } }, 'invalid source.namespace'],
    ['a bad label', { source: { namespace: 'shop', labels: ['k8s:app=a b'] } }, 'invalid source.labels'],
    ['labels that are no list', { source: { namespace: 'shop', labels: 'k8s:app=a' } }, 'invalid source.labels'],
    ['a bad pod name', { source: { namespace: 'shop', pod_name: 'a/b' } }, 'invalid source.pod_name'],
    [
      'a bad workload',
      { source: { namespace: 'shop', pod_name: 'a-0', workloads: [{ name: 'A', kind: 'x' }] } },
      'invalid source.workloads',
    ],
    ['a bad destination name', { destination_names: ['not a name'] }, 'invalid destination_names entry'],
    ['a bad policy', { egress_allowed_by: [{ name: 'Bad Name' }] }, 'invalid egress_allowed_by entry'],
    [
      'a network endpoint without address',
      { IP: undefined, destination: { identity: 2, labels: ['reserved:world'] } },
      'missing IP of the destination (not a pod)',
    ],
  ])('%s', (_name, overrides, reason) => {
    expect(notRead(hubbleEventToRecord(response(flow(overrides))))).toEqual({ reason, nothingToLearn: false });
  });

  test('anything else', () => {
    expect(notRead(hubbleEventToRecord([1, 2]))).toEqual({ reason: 'not a JSON object', nothingToLearn: false });
    expect(notRead(hubbleEventToRecord({ hello: 'world' })).reason).toBe('not a Hubble event (no flow, node_status or lost_events)');
    expect(notRead(hubbleEventToRecord({ flow: 'x' })).reason).toBe('invalid flow');
    expect(notRead(parseHubbleLine('{"flow":')).reason).toBe('not JSON');
  });
});

describe('endpoints outside the pods: reserved identities and entities (pkg/identity/numericidentity.go v1.19.4)', () => {
  const egressTo = (destination: Record<string, unknown>, ip = '140.82.112.3') =>
    record(hubbleEventToRecord(response(flow({ IP: { source: '10.0.1.5', destination: ip }, destination }))));

  test('world (identity 2, or 9/10, or reserved:world): a public or private network by its address, with its IP', () => {
    expect(egressTo({ identity: 2, labels: ['reserved:world'] }).dest).toEqual({
      type: 'net',
      name: 'pub',
      namespace: null,
      labels: [],
      ip: '140.82.112.3',
      entity: 'world',
      identity: 2,
    });
    expect(egressTo({ identity: 9, labels: ['reserved:world-ipv4'] }, '192.168.1.10').dest).toMatchObject({
      type: 'net',
      name: 'pvt',
      entity: 'world',
    });
    expect(egressTo({ identity: 10 }, '2606:4700::1111').dest).toMatchObject({ type: 'net', name: 'pub', entity: 'world' });
    expect(egressTo({ labels: ['reserved:world'] }).dest).toMatchObject({ type: 'net', entity: 'world' });
  });

  test('a CIDR identity (IdentityScopeLocal, 1<<24) is the world, with its cidr: labels dropped', () => {
    const dest = egressTo({ identity: 16777217, labels: ['cidr:140.82.112.0/20', 'reserved:world'] });
    expect(dest.dest).toMatchObject({ type: 'net', name: 'pub', labels: [], entity: 'world', identity: 16777217 });
  });

  test('host, remote-node and health are host endpoints; kube-apiserver keeps its entity on a node', () => {
    expect(egressTo({ identity: 1, labels: ['reserved:host'] }, '172.18.0.2').dest).toMatchObject({
      type: 'hep',
      name: 'host',
      entity: 'host',
    });
    expect(egressTo({ identity: 6, labels: ['reserved:remote-node'] }, '172.18.0.3').dest).toMatchObject({
      type: 'hep',
      name: 'remote-node',
      entity: 'remote-node',
    });
    expect(egressTo({ identity: 4, labels: ['reserved:health'] }, '10.0.0.9').dest).toMatchObject({ type: 'hep', name: 'health' });
    expect(egressTo({ identity: 7, labels: ['reserved:kube-apiserver', 'reserved:remote-node'] }, '172.18.0.3').dest).toMatchObject({
      type: 'hep',
      entity: 'kube-apiserver',
    });
    expect(egressTo({ identity: 7, labels: ['reserved:kube-apiserver', 'reserved:world'] }, '34.1.2.3').dest).toMatchObject({
      type: 'net',
      name: 'pub',
      entity: 'kube-apiserver',
    });
    expect(egressTo({ identity: 8, labels: ['reserved:ingress'] }, '10.0.0.50').dest).toMatchObject({
      type: 'net',
      name: 'pvt',
      entity: 'ingress',
    });
    expect(egressTo({ identity: 3 }, '10.0.0.51').dest).toMatchObject({ type: 'net', entity: 'unmanaged' });
  });

  test('an endpoint Hubble knows nothing of (identity 0, no labels) is a network by its address, without entity', () => {
    expect(egressTo({}, '8.8.8.8').dest).toEqual({ type: 'net', name: 'pub', namespace: null, labels: [], ip: '8.8.8.8' });
  });
});

describe('labels, namespaces and names', () => {
  test('labels without a source are pod labels; container:, cidr:, fqdn: and the like are not', () => {
    const r = record(
      hubbleEventToRecord(
        response(
          flow({
            source: {
              namespace: 'shop',
              pod_name: 'web',
              labels: ['app=web', 'container:io.kubernetes.container.name=web', 'fqdn:*.example.com', 'k8s:tier'],
            },
          }),
        ),
      ),
    );
    expect(r.source.labels).toEqual(['app=web', 'tier=']);
  });

  test('the namespace from k8s:io.kubernetes.pod.namespace when the namespace field is empty', () => {
    const r = record(hubbleEventToRecord(response(flow({ source: { labels: ['k8s:io.kubernetes.pod.namespace=shop', 'k8s:app=web'] } }))));
    expect(r.source).toMatchObject({ type: 'wep', name: '-', namespace: 'shop', labels: ['app=web'] });
  });

  test.each([
    ['customer-6b687c8dcb-x7k2p', false, 'customer-6b687c8dcb-*'],
    ['db-0', false, 'db-*'],
    ['db-12', false, 'db-*'],
    ['agent-x7k2p', false, 'agent-*'],
    ['nightly-28461234-5bq8c', false, 'nightly-28461234-*'],
    // A bare pod keeps its name unless a controller owns it.
    ['my-pod', false, 'my-pod'],
    ['my-pod', true, 'my-*'],
    ['nginx', false, 'nginx'],
  ])('pod %s (owned: %s) aggregates as %s, as Calico flow logs name it (generateName + *)', (pod, owned, name) => {
    expect(aggregatePodName(pod, owned)).toBe(name);
  });

  test('destination_names are the destination domains (lowercase, no trailing dot)', () => {
    const r = record(
      hubbleEventToRecord(
        response(
          flow({
            IP: { source: '10.0.1.5', destination: '140.82.112.3' },
            destination: { identity: 2 },
            destination_names: ['API.GitHub.com.'],
          }),
        ),
      ),
    );
    expect(r.destDomains).toEqual(['api.github.com']);
  });

  test('destination_service becomes the destination service', () => {
    const r = record(hubbleEventToRecord(response(flow({ destination_service: { name: 'db', namespace: 'shop' } }))));
    expect(r.destService).toEqual({ name: 'db', namespace: 'shop', portName: null, port: null });
  });

  test('UDP, SCTP and ICMP (no port), VRRP and IGMP by number', () => {
    const l4 = (v: Record<string, unknown>) => record(hubbleEventToRecord(response(flow({ l4: v }))));
    expect([l4({ UDP: { destination_port: 53 } }).protocol, l4({ UDP: { destination_port: 53 } }).destPort]).toEqual(['UDP', 53]);
    expect(l4({ SCTP: { destination_port: 5060 } }).protocol).toBe('SCTP');
    expect([l4({ ICMPv4: { type: 8 } }).protocol, l4({ ICMPv4: { type: 8 } }).destPort]).toEqual(['ICMP', null]);
    expect(l4({ ICMPv6: { type: 128 } }).protocol).toBe('ICMPv6');
    expect(l4({ VRRP: { type: 1 } }).protocol).toBe(112);
    expect(l4({ IGMP: { type: 17 } }).protocol).toBe(2);
  });
});

describe('policies that allowed a flow (egress_allowed_by / ingress_allowed_by): another policy decided', () => {
  test("the reporter's direction's list becomes a trace of Other hits, with Cilium's kind kept", () => {
    const f = flow({
      event_type: { type: 5 },
      egress_allowed_by: [
        {
          name: 'allow-db',
          namespace: 'shop',
          labels: ['k8s:io.cilium.k8s.policy.name=allow-db'],
          revision: '7',
          kind: 'CiliumNetworkPolicy',
        },
      ],
      ingress_allowed_by: [{ name: 'other', namespace: 'shop' }],
    });
    expect(record(hubbleEventToRecord(response(f))).policies).toEqual({
      all: null,
      pending: null,
      enforced: [
        {
          index: 0,
          tier: 'default',
          kind: 'Other',
          namespace: 'shop',
          name: 'allow-db',
          action: 'allow',
          ruleIndex: 0,
          sourceKind: 'CiliumNetworkPolicy',
        },
      ],
    });
    // Reported at ingress, the ingress list counts.
    const ingress = record(hubbleEventToRecord(response({ ...f, traffic_direction: 'INGRESS' })));
    expect(ingress.policies?.enforced?.map((h) => h.name)).toEqual(['other']);
  });

  test('a clusterwide policy has no namespace; a nameless one is `unnamed`', () => {
    const f = flow({ egress_allowed_by: [{ name: 'allow-dns', kind: 'CiliumClusterwideNetworkPolicy' }, {}] });
    expect(record(hubbleEventToRecord(response(f))).policies?.enforced?.map((h) => [h.namespace, h.name])).toEqual([
      [null, 'allow-dns'],
      [null, 'unnamed'],
    ]);
  });
});

describe('the protobuf shape (wire.ts) reads as protojson does', () => {
  test('a GetFlowsResponse encoded and decoded gives the same record as its jsonpb line', () => {
    const { encodeResponse, decodeResponse } = observerCodec();
    const f = flow({
      time: { seconds: SECONDS, nanos: 123456789 },
      is_reply: { value: false },
      egress_allowed_by: [{ name: 'allow-db', namespace: 'shop', revision: '7', kind: 'CiliumNetworkPolicy' }],
    });
    delete f['Summary'];
    const decoded = decodeResponse(encodeResponse({ flow: f, node_name: 'kind-worker' }));
    const viaProto = record(hubbleEventToRecord(decoded));
    const viaJson = record(
      parseHubbleLine(
        JSON.stringify(
          response(flow({ egress_allowed_by: [{ name: 'allow-db', namespace: 'shop', revision: '7', kind: 'CiliumNetworkPolicy' }] })),
        ),
      ),
    );
    expect(viaProto).toEqual(viaJson);
  });

  test('v1.19 aggregate counters count the flows folded into one', () => {
    const r = record(hubbleEventToRecord(response(flow({ aggregate: { ingress_flow_count: 2, egress_flow_count: 3 } }))));
    expect(r.numFlows).toBe(5);
  });
});

describe('the file dispatch (withHubbleLines)', () => {
  const calico = (_line: string) => ({ ok: false as const, reason: 'missing field start_time' });
  test('a Hubble line is read as Hubble; a Calico reason stands for anything that is not Hubble', () => {
    const parse = withHubbleLines(calico);
    expect(parse(JSON.stringify(response(flow()))).ok).toBe(true);
    // Keys in another order: the Calico parser's reason sends it to Hubble's.
    const reordered = JSON.stringify({ node_name: 'kind-worker', flow: flow() });
    expect(parse(reordered).ok).toBe(true);
    expect(parse('{"foo":1}')).toEqual({ ok: false, reason: 'missing field start_time' });
    expect(parse('not json')).toEqual({ ok: false, reason: 'missing field start_time' });
  });

  test("a Calico line never reaches Hubble's parser", () => {
    let calls = 0;
    const parse = withHubbleLines((_line) => {
      calls++;
      return { ok: false, reason: 'invalid action' };
    });
    expect(parse('{"start_time":1,"verdict":"FORWARDED"}')).toEqual({ ok: false, reason: 'invalid action' });
    expect(calls).toBe(1);
  });
});

describe('hostile values (test/support/hostile-values.ts) never reach a record unchecked', () => {
  const SAFE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9*])?$|^-$/;
  const placements: [string, (v: string) => Record<string, unknown>][] = [
    ['namespace', (v) => ({ source: { namespace: v, pod_name: 'web-0' } })],
    ['pod_name', (v) => ({ source: { namespace: 'shop', pod_name: v } })],
    ['label value', (v) => ({ source: { namespace: 'shop', pod_name: 'web-0', labels: [`k8s:app=${v}`] } })],
    ['label key', (v) => ({ source: { namespace: 'shop', pod_name: 'web-0', labels: [`k8s:${v}=x`] } })],
    ['workload', (v) => ({ source: { namespace: 'shop', pod_name: 'web-0', workloads: [{ name: v, kind: 'Deployment' }] } })],
    ['policy name', (v) => ({ egress_allowed_by: [{ name: v, namespace: 'shop' }] })],
    ['policy namespace', (v) => ({ egress_allowed_by: [{ name: 'p', namespace: v }] })],
    ['service', (v) => ({ destination_service: { name: v, namespace: 'shop' } })],
    ['destination name', (v) => ({ destination_names: [v] })],
  ];
  for (const [where, place] of placements) {
    test(where, async () => {
      const { HOSTILE_NAMES } = await import('../../support/hostile-values.ts');
      for (const value of HOSTILE_NAMES) {
        const r = hubbleEventToRecord(response(flow(place(value))));
        if (!r.ok) continue;
        const rec = r.record;
        for (const e of [rec.source, rec.dest]) {
          expect(e.name).toMatch(SAFE_NAME);
          if (e.namespace !== null) expect(e.namespace).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
          for (const l of e.labels) expect(l).not.toMatch(/[\s"'\n<>{}\u202e]/);
          if (e.workload) expect(e.workload.name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
        }
        for (const h of rec.policies?.enforced ?? [])
          expect(`${h.namespace ?? ''}/${h.name}`).toMatch(/^([a-z0-9-]*)\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
        // Underscores are DNS (SRV names): calico/names.ts normaliseDomain, shared by every source.
        for (const d of rec.destDomains) expect(d).toMatch(/^[a-z0-9*_]([-a-z0-9._]*[a-z0-9_])?$/);
        if (rec.destService) expect(rec.destService.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      }
    });
  }
});
