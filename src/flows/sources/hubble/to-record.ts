// Hubble's events -> FlowRecord: the one normalisation of Cilium's flows, whether they come from
// Hubble Relay over gRPC (decoded by wire.ts into the same shape) or from lines of `hubble observe
// -o jsonpb` and Hubble's exporter (protojson with proto field names). Pure; the validation boundary
// for Hubble input, as calico-flow-log.ts is for Calico's: every name is checked here.
//
// What is read, from Cilium's definitions (vendored in ./proto, release v1.19.4; v1.18.6 differs
// only by fields added in v1.19 that are not read here but `aggregate`):
// - api/v1/observer/observer.proto GetFlowsResponse (and ExportEvent, the exporter's lines): a
//   oneof of `flow`, `node_status`, `lost_events` (ExportEvent also `agent_event`, `debug_event`),
//   plus `node_name` and `time`. Only `flow` teaches anything; the others are counted, never fatal.
// - api/v1/flow/flow.proto Flow: `time`, `verdict`, `Type`, `traffic_direction`, `is_reply` (and the
//   deprecated `reply`), `IP`, `l4`, `source`/`destination` Endpoint (`identity`, `namespace`,
//   `labels` as `source:key=value`, `pod_name`, `workloads`), `destination_names`,
//   `destination_service`, `egress_allowed_by`/`ingress_allowed_by`, `aggregate`.
// - Reserved identities: pkg/identity/numericidentity.go (v1.19.4): 1 host, 2 world, 3 unmanaged,
//   4 health, 5 init, 6 remote-node, 7 kube-apiserver, 8 ingress, 9 world-ipv4, 10 world-ipv6;
//   their labels `reserved:<name>` (pkg/labels/labels.go IDName*). Identities with the local scope
//   bit (1<<24, IdentityScopeLocal) are CIDR identities: addresses outside the cluster's endpoints.
//
// Learned: FORWARDED flows and AUDIT verdicts (policy audit mode: the flow went through, and a
// policy would have dropped it, which is exactly what a recommendation must allow), in the
// direction Hubble observed them (traffic_direction EGRESS: the source's report, INGRESS: the
// destination's). Not learned, counted with their reason: replies, drops and every other verdict,
// socket and L7 events (their connection has its own L3/L4 events), flows without a direction or a
// transport protocol, and endpoints still without labels (identity init). Where Hubble names the
// policies that allowed a flow (`*_allowed_by`, on policy-verdict events), the record carries them
// as a policy trace of `Other` hits: another policy decided it.

import { isIP } from 'node:net';
import { isPrivateIp } from '../../../calico/nets.ts';
import type { Protocol } from '../../../calico/protocol.ts';
import { memoize } from '../../../util/memo.ts';
import type { DestinationService, EndpointEntity, FlowEndpoint, FlowRecord, PolicyHit, PolicyTrace } from '../../record.ts';
import {
  MAX_HITS,
  MAX_LABELS,
  MAX_NAME,
  MAX_TIME,
  NO_STRINGS,
  type NotRead,
  normalisedDomains,
  validDnsLabel,
  validEndpointName,
  validLabel,
  validSubdomain,
} from '../../validation.ts';

export type HubbleResult = { ok: true; record: FlowRecord } | NotRead;

/** Aborts one event with a reason; never escapes hubbleEventToRecord. */
class Reject {
  readonly reason: string;
  readonly nothingToLearn: boolean;
  constructor(reason: string, nothingToLearn = false) {
    this.reason = reason;
    this.nothingToLearn = nothingToLearn;
  }
}

const skip = (reason: string): Reject => new Reject(reason, true);

/** The members of GetFlowsResponse / ExportEvent's oneof that are no flow (observer.proto). */
const NOT_FLOWS: ReadonlyMap<string, string> = new Map([
  ['node_status', 'node_status event (a Hubble Relay node state change, not a flow)'],
  ['lost_events', 'lost_events event (Hubble lost flows before they could be read)'],
  ['agent_event', 'agent_event (a Cilium agent event, not a flow)'],
  ['debug_event', 'debug_event (a Cilium datapath debug event, not a flow)'],
]);

/** Keys only a bare Flow (flow.proto) has at its top level, to tell one from anything else. */
const FLOW_KEYS: readonly string[] = ['verdict', 'IP', 'l4', 'source', 'destination', 'Type', 'event_type', 'uuid'];

/**
 * A Hubble event (GetFlowsResponse, ExportEvent, or a bare Flow) as a FlowRecord, or why not.
 * `value` is what JSON.parse (protojson) or wire.ts (protobuf) made of it.
 */
export function hubbleEventToRecord(value: unknown): HubbleResult {
  try {
    return { ok: true, record: eventToRecord(value) };
  } catch (e) {
    if (!(e instanceof Reject)) throw e;
    return e.nothingToLearn ? { ok: false, reason: e.reason, nothingToLearn: true } : { ok: false, reason: e.reason };
  }
}

/** Is this object a Hubble event (rather than, say, a Calico flow-log line)? */
export function isHubbleEvent(o: Record<string, unknown>): boolean {
  if ('flow' in o) return true;
  for (const k of NOT_FLOWS.keys()) if (k in o) return true;
  // A Calico flow-log line has `action` and `reporter`; a bare Flow has neither.
  if ('action' in o || 'reporter' in o || 'start_time' in o) return false;
  return FLOW_KEYS.some((k) => k in o);
}

function eventToRecord(value: unknown): FlowRecord {
  if (!isObject(value)) throw new Reject('not a JSON object');
  if ('flow' in value) {
    const flow = value['flow'];
    if (!isObject(flow)) throw new Reject('invalid flow');
    return flowToRecord(flow, value['time']);
  }
  for (const [k, reason] of NOT_FLOWS) if (k in value && value[k] !== null && value[k] !== undefined) throw skip(reason);
  if (FLOW_KEYS.some((k) => k in value)) return flowToRecord(value, undefined);
  throw new Reject('not a Hubble event (no flow, node_status or lost_events)');
}

/** Verdicts (flow.proto Verdict) by name and number; learned: FORWARDED and AUDIT. */
const VERDICTS: readonly string[] = ['VERDICT_UNKNOWN', 'FORWARDED', 'DROPPED', 'ERROR', 'AUDIT', 'REDIRECTED', 'TRACED', 'TRANSLATED'];

const VERDICT_SKIPS: Readonly<Record<string, string>> = {
  VERDICT_UNKNOWN: 'verdict VERDICT_UNKNOWN (no verdict: not a decision)',
  DROPPED: 'verdict DROPPED (dropped: it did not flow)',
  ERROR: 'verdict ERROR (an error while processing it)',
  REDIRECTED: 'verdict REDIRECTED (handed to the L7 proxy: learned from its other events)',
  TRACED: 'verdict TRACED (a trace point, no decision)',
  TRANSLATED: 'verdict TRANSLATED (an address translation, no decision)',
};

function flowToRecord(f: Record<string, unknown>, outerTime: unknown): FlowRecord {
  const seconds = timestamp(f['time'] ?? outerTime);
  const verdict = enumName(f['verdict'], VERDICTS, 'verdict') ?? 'VERDICT_UNKNOWN';
  const type = enumName(f['Type'], ['UNKNOWN_TYPE', 'L3_L4', 'L7', 'SOCK'], 'Type') ?? 'UNKNOWN_TYPE';
  const direction =
    enumName(f['traffic_direction'], ['TRAFFIC_DIRECTION_UNKNOWN', 'INGRESS', 'EGRESS'], 'traffic_direction') ??
    'TRAFFIC_DIRECTION_UNKNOWN';
  const reply = isReply(f['is_reply'], f['reply']);

  // Well formed, but nothing to learn (before the endpoints: drops and traces may lack them).
  const verdictSkip = VERDICT_SKIPS[verdict];
  if (verdictSkip !== undefined) throw skip(verdictSkip);
  if (type === 'SOCK') throw skip('socket trace event (Type SOCK): learned from its L3/L4 events');
  if (type === 'L7') throw skip('L7 record: learned from its L3/L4 events');
  if (reply) throw skip('reply (is_reply): the connection is learned from its request');
  if (direction === 'TRAFFIC_DIRECTION_UNKNOWN')
    throw skip('traffic_direction unknown: neither end can be told to have sent or received it');

  const ip = isObject(f['IP']) ? f['IP'] : null;
  const sourceIp = address(ip?.['source'], 'IP.source');
  const destIp = address(ip?.['destination'], 'IP.destination');
  const { protocol, port } = layer4(f['l4']);
  const source = endpoint(f['source'], sourceIp, 'source');
  const dest = endpoint(f['destination'], destIp, 'destination');
  if (source.entity === 'init' || dest.entity === 'init') throw skip('identity init (an endpoint without labels yet)');
  const egress = direction === 'EGRESS';
  return {
    startTime: seconds,
    endTime: seconds,
    source,
    dest,
    destPort: port,
    destService: service(f['destination_service']),
    destDomains: domains(f['destination_names']),
    protocol,
    action: 'allow',
    reporter: egress ? 'src' : 'dst',
    policies: allowedBy(egress ? f['egress_allowed_by'] : f['ingress_allowed_by'], egress ? 'egress_allowed_by' : 'ingress_allowed_by'),
    numFlows: aggregated(f['aggregate']),
  };
}

// ------------------------------------------------------------------ scalars

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An enum as protojson writes it (its name) or as wire.ts decodes an unknown value (a number). */
function enumName(v: unknown, names: readonly string[], field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' && names.includes(v)) return v;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < names.length) return names[v]!;
  throw new Reject(`invalid ${field}`);
}

/** RFC 3339 as protojson writes google.protobuf.Timestamp ("2024-05-01T10:00:00.123456789Z"). */
const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;

/** Unix seconds of a Timestamp: protojson's string, or wire.ts's `{seconds, nanos}`. */
export function timestamp(v: unknown): number {
  if (v === undefined || v === null) throw new Reject('missing field time');
  let seconds: number;
  if (typeof v === 'string') {
    const m = RFC3339.exec(v);
    seconds = m === null ? NaN : Date.parse(`${m[1]}${m[2]}`) / 1000;
  } else if (isObject(v)) {
    const s = v['seconds'];
    seconds = typeof s === 'number' ? s : typeof s === 'string' && /^-?\d{1,20}$/.test(s) ? Number(s) : s === undefined ? 0 : NaN;
  } else seconds = NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_TIME) throw new Reject('invalid time');
  return seconds;
}

/** is_reply is a BoolValue: a bare boolean in protojson, `{value}` from wire.ts (false leaves it out). */
function isReply(isReplyValue: unknown, deprecatedReply: unknown): boolean {
  if (isReplyValue === true || deprecatedReply === true) return true;
  if (isReplyValue === false || isReplyValue === undefined || isReplyValue === null) return false;
  if (isObject(isReplyValue)) return isReplyValue['value'] === true;
  throw new Reject('invalid is_reply');
}

const validIp = memoize((ip) => isIP(ip) !== 0);

function address(v: unknown, field: string): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || v.length > 45 || !validIp(v)) throw new Reject(`invalid ${field}`);
  return v;
}

function uint(v: unknown, max: number, field: string): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,20}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw new Reject(`invalid ${field}`);
  return n;
}

/** Layer4's oneof (flow.proto): TCP, UDP, SCTP with ports; ICMPv4, ICMPv6, VRRP (112), IGMP (2) without. */
function layer4(v: unknown): { protocol: Protocol; port: number | null } {
  if (!isObject(v)) {
    if (v === undefined || v === null) throw skip('no L4 protocol (l4 missing)');
    throw new Reject('invalid l4');
  }
  const ported = (name: 'TCP' | 'UDP' | 'SCTP'): { protocol: Protocol; port: number | null } => {
    const l = v[name];
    if (!isObject(l)) throw new Reject(`invalid l4.${name}`);
    const port = uint(l['destination_port'], 65535, `l4.${name}.destination_port`);
    return { protocol: name, port: port === 0 ? null : port };
  };
  if (v['TCP'] !== undefined && v['TCP'] !== null) return ported('TCP');
  if (v['UDP'] !== undefined && v['UDP'] !== null) return ported('UDP');
  if (v['SCTP'] !== undefined && v['SCTP'] !== null) return ported('SCTP');
  if (isObject(v['ICMPv4'])) return { protocol: 'ICMP', port: null };
  if (isObject(v['ICMPv6'])) return { protocol: 'ICMPv6', port: null };
  if (isObject(v['VRRP'])) return { protocol: 112, port: null };
  if (isObject(v['IGMP'])) return { protocol: 2, port: null };
  throw skip('no L4 protocol this project knows (l4 holds none of TCP, UDP, SCTP, ICMPv4, ICMPv6, VRRP, IGMP)');
}

// ------------------------------------------------------------------ endpoints

/** pkg/identity/numericidentity.go (v1.19.4): reserved numeric identities. */
const RESERVED_IDENTITIES: ReadonlyMap<number, EndpointEntity> = new Map<number, EndpointEntity>([
  [1, 'host'],
  [2, 'world'],
  [3, 'unmanaged'],
  [4, 'health'],
  [5, 'init'],
  [6, 'remote-node'],
  [7, 'kube-apiserver'],
  [8, 'ingress'],
  [9, 'world'],
  [10, 'world'],
]);

/** `reserved:<name>` labels (pkg/labels/labels.go IDName*), world-ipv4/-ipv6 being world. */
const RESERVED_LABELS: ReadonlyMap<string, EndpointEntity> = new Map<string, EndpointEntity>([
  ['host', 'host'],
  ['world', 'world'],
  ['world-ipv4', 'world'],
  ['world-ipv6', 'world'],
  ['unmanaged', 'unmanaged'],
  ['health', 'health'],
  ['init', 'init'],
  ['remote-node', 'remote-node'],
  ['kube-apiserver', 'kube-apiserver'],
  ['ingress', 'ingress'],
]);

/** IdentityScopeLocal (numericidentity.go): identities of CIDRs, allocated per node. */
const LOCAL_SCOPE = 1 << 24;
const SCOPE_MASK = 0xff000000;

/**
 * Labels Cilium adds to every pod's identity (pkg/k8s/apis/cilium.io/const.go: the pod's namespace,
 * service account and cluster; `io.cilium.k8s.namespace.labels.*`, the namespace's labels): facts
 * about the namespace, not the pod's own labels, which a Calico flow log would carry.
 */
const CILIUM_LABEL_PREFIXES: readonly string[] = [
  'io.kubernetes.pod.namespace',
  'io.cilium.k8s.policy.',
  'io.cilium.k8s.namespace.labels.',
  'io.cilium.',
];
const NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';

interface ParsedLabels {
  readonly labels: readonly string[];
  readonly reserved: readonly EndpointEntity[];
  readonly namespace: string | null;
}

/** Cilium label strings (`k8s:app=web`, `reserved:world`, `cidr:1.2.3.4/32`) -> pod labels, reserved entities. */
const parseCiliumLabels = memoize((joined: string): ParsedLabels | null => {
  const labels: string[] = [];
  const reserved: EndpointEntity[] = [];
  let namespace: string | null = null;
  for (const text of joined.split('\n')) {
    const colon = text.indexOf(':');
    const eq = text.indexOf('=');
    const hasSource = colon > 0 && (eq === -1 || colon < eq);
    const source = hasSource ? text.slice(0, colon) : 'k8s';
    const rest = hasSource ? text.slice(colon + 1) : text;
    if (source === 'reserved') {
      const entity = RESERVED_LABELS.get(rest.endsWith('=') ? rest.slice(0, -1) : rest);
      if (entity !== undefined) reserved.push(entity);
      continue;
    }
    // Pod labels come from Kubernetes (`k8s:`); `container:`, `cidr:`, `fqdn:` ... describe other things.
    if (source !== 'k8s') continue;
    const restEq = rest.indexOf('=');
    const key = restEq === -1 ? rest : rest.slice(0, restEq);
    if (key === NAMESPACE_LABEL) {
      namespace = rest.slice(restEq + 1);
      continue;
    }
    if (CILIUM_LABEL_PREFIXES.some((p) => key.startsWith(p))) continue;
    const label = restEq === -1 ? `${rest}=` : rest;
    if (!validLabel(label)) return null;
    labels.push(label);
  }
  return { labels: labels.length === 0 ? NO_STRINGS : labels, reserved, namespace };
});

/** A generated pod-name suffix: generateName's 5 "safe" characters, or a StatefulSet's ordinal. */
const GENERATED_SUFFIX = /^(?:[bcdfghjklmnpqrstvwxz2456789]{5}|\d{1,9})$/;

/**
 * A pod's name aggregated as Calico's flow logs aggregate it (the pod's generateName and `*`:
 * `customer-6b687c8dcb-x7k2p` -> `customer-6b687c8dcb-*`, `db-0` -> `db-*`): the last segment
 * dropped when a controller owns the pod (Cilium names it in `workloads`) or the segment looks
 * generated; a bare pod keeps its name.
 */
export function aggregatePodName(pod: string, owned: boolean): string {
  const dash = pod.lastIndexOf('-');
  if (dash <= 0 || dash === pod.length - 1) return pod;
  return owned || GENERATED_SUFFIX.test(pod.slice(dash + 1)) ? `${pod.slice(0, dash + 1)}*` : pod;
}

const WORKLOAD_KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;

function endpoint(v: unknown, ip: string | null, side: 'source' | 'destination'): FlowEndpoint {
  if (v !== undefined && v !== null && !isObject(v)) throw new Reject(`invalid ${side}`);
  const e = (v ?? {}) as Record<string, unknown>;
  const identity = uint(e['identity'], 0xffffffff, `${side}.identity`);
  const labelList = e['labels'];
  if (labelList !== undefined && labelList !== null && (!Array.isArray(labelList) || labelList.length > MAX_LABELS))
    throw new Reject(`invalid ${side}.labels`);
  const rawLabels = (labelList ?? []) as unknown[];
  for (const l of rawLabels) if (typeof l !== 'string' || l.length > 700 || l.includes('\n')) throw new Reject(`invalid ${side}.labels`);
  const parsed = rawLabels.length === 0 ? { labels: NO_STRINGS, reserved: [], namespace: null } : parseCiliumLabels(rawLabels.join('\n'));
  if (parsed === null) throw new Reject(`invalid ${side}.labels`);

  // The entity: the reserved identity, else its reserved labels (kube-apiserver before host and
  // remote-node, which a kube-apiserver's node also has), else a CIDR identity's world.
  const byLabel = parsed.reserved.includes('kube-apiserver') ? 'kube-apiserver' : parsed.reserved[0];
  const entity: EndpointEntity | undefined =
    RESERVED_IDENTITIES.get(identity) ?? byLabel ?? ((identity & SCOPE_MASK) >>> 0 === LOCAL_SCOPE ? 'world' : undefined);
  const facts = { ...(entity !== undefined ? { entity } : {}), ...(identity !== 0 ? { identity } : {}) };

  const namespaceValue = e['namespace'];
  if (namespaceValue !== undefined && namespaceValue !== null && typeof namespaceValue !== 'string')
    throw new Reject(`invalid ${side}.namespace`);
  const namespace = namespaceValue || parsed.namespace || null;
  const onNode =
    entity === 'host' ||
    entity === 'remote-node' ||
    entity === 'health' ||
    parsed.reserved.includes('host') ||
    parsed.reserved.includes('remote-node');

  if (namespace !== null && entity === undefined) {
    if (namespace.length > 63 || !validDnsLabel(namespace)) throw new Reject(`invalid ${side}.namespace`);
    const workload = workloadOf(e['workloads'], side);
    const pod = e['pod_name'];
    if (pod !== undefined && pod !== null && (typeof pod !== 'string' || (pod !== '' && (pod.length > MAX_NAME || !validSubdomain(pod)))))
      throw new Reject(`invalid ${side}.pod_name`);
    const name = pod ? aggregatePodName(pod, workload !== null) : '-';
    if (!validEndpointName('wep', name)) throw new Reject(`invalid ${side}.pod_name`);
    return { type: 'wep', name, namespace, labels: parsed.labels, ip: null, ...facts, ...(workload !== null ? { workload } : {}) };
  }
  if (onNode) {
    // A node (this one, another, or its health endpoint): a host endpoint, as Calico would see it.
    return {
      type: 'hep',
      name: entity === 'health' ? 'health' : entity === 'remote-node' ? 'remote-node' : 'host',
      namespace: null,
      labels: NO_STRINGS,
      ip,
      ...facts,
    };
  }
  if (ip === null) throw new Reject(`missing IP of the ${side} (not a pod)`);
  // Outside the cluster's pods: a network, named by its address's class as Felix does (pvt: IPv4 RFC 1918).
  const pvt = isIP(ip) === 4 && isPrivateIp(ip);
  return { type: 'net', name: pvt ? 'pvt' : 'pub', namespace: null, labels: NO_STRINGS, ip, ...facts };
}

/** The first of Cilium's `workloads` ({name, kind}; flow.proto Endpoint.workloads), or null. */
function workloadOf(v: unknown, side: string): { kind: string; name: string } | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw new Reject(`invalid ${side}.workloads`);
  const first = v[0];
  if (first === undefined) return null;
  if (!isObject(first)) throw new Reject(`invalid ${side}.workloads`);
  const { name, kind } = first;
  if (typeof name !== 'string' || typeof kind !== 'string' || name.length > MAX_NAME || !validSubdomain(name) || !WORKLOAD_KIND.test(kind))
    throw new Reject(`invalid ${side}.workloads`);
  return { kind, name };
}

// ------------------------------------------------------------------ the rest

function service(v: unknown): DestinationService | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw new Reject('invalid destination_service');
  const { name, namespace } = v;
  if (name === undefined || name === null || name === '') return null;
  if (typeof name !== 'string' || name.length > 63 || !validDnsLabel(name)) throw new Reject('invalid destination_service.name');
  if (
    namespace !== undefined &&
    namespace !== null &&
    namespace !== '' &&
    (typeof namespace !== 'string' || namespace.length > 63 || !validDnsLabel(namespace))
  )
    throw new Reject('invalid destination_service.namespace');
  return { name, namespace: (namespace as string | undefined) || null, portName: null, port: null };
}

function domains(v: unknown): readonly string[] {
  if (v === undefined || v === null) return NO_STRINGS;
  if (!Array.isArray(v) || !v.every((d) => typeof d === 'string')) throw new Reject('invalid destination_names');
  if (v.length === 0) return NO_STRINGS;
  const names = normalisedDomains(v);
  if (names === null) throw new Reject('invalid destination_names entry');
  return names;
}

/**
 * The policies that allowed the flow in its direction (flow.proto Policy: name, namespace, kind;
 * Cilium fills them on policy-verdict events): another policy decided it. `Other` hits, with the
 * kind Hubble gave kept in `sourceKind`; null when Hubble names none.
 */
function allowedBy(v: unknown, field: string): PolicyTrace | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.length > MAX_HITS) throw new Reject(`invalid ${field}`);
  if (v.length === 0) return null;
  const hits = v.map((p, index): PolicyHit => {
    if (!isObject(p)) throw new Reject(`invalid ${field} entry`);
    const { name, namespace, kind } = p;
    if (
      name !== undefined &&
      name !== null &&
      (typeof name !== 'string' || name.length > MAX_NAME || (name !== '' && !validSubdomain(name)))
    )
      throw new Reject(`invalid ${field} entry`);
    if (
      namespace !== undefined &&
      namespace !== null &&
      namespace !== '' &&
      (typeof namespace !== 'string' || namespace.length > 63 || !validDnsLabel(namespace))
    )
      throw new Reject(`invalid ${field} entry`);
    if (kind !== undefined && kind !== null && kind !== '' && (typeof kind !== 'string' || !WORKLOAD_KIND.test(kind)))
      throw new Reject(`invalid ${field} entry`);
    return {
      index,
      tier: 'default',
      kind: 'Other',
      namespace: (namespace as string | undefined) || null,
      // Cilium's own rules (allow-localhost and the like) have no name.
      name: (name as string | undefined) || 'unnamed',
      action: 'allow',
      ruleIndex: 0,
      ...(kind ? { sourceKind: kind as string } : {}),
    };
  });
  return { all: null, pending: null, enforced: hits };
}

/** v1.19's `aggregate` counters (flows Hubble folded into this one); 1 without them. */
function aggregated(v: unknown): number {
  if (!isObject(v)) return 1;
  const max = 0xffffffff;
  const n =
    uint(v['ingress_flow_count'], max, 'aggregate') +
    uint(v['egress_flow_count'], max, 'aggregate') +
    uint(v['unknown_direction_flow_count'], max, 'aggregate');
  return Math.max(1, n);
}
