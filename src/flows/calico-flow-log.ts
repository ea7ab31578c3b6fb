// Calico flow-log JSON (Enterprise / Cloud format, one object per line) -> FlowRecord.
// This is the validation boundary for file input: every value is type-checked and every name is
// checked against Kubernetes name syntax here, so hostile values never reach paths, selectors or YAML.

import { isIP } from 'node:net';
import { parseProtocol } from '../calico/protocol.ts';
import { isPortNumber } from '../calico/ports.ts';
import { memoize } from '../util/memo.ts';
import { parsePolicyHit } from './policy-hit.ts';
import { ENDPOINT_TYPES, MAX_DOMAINS, MAX_HITS, MAX_LABELS, NO_STRINGS, normalisedDomains, validDnsLabel, validEndpointName, validLabel } from './validation.ts';
import type { DestinationService, EndpointType, FlowEndpoint, FlowRecord, PolicyHit, PolicyTrace } from './record.ts';

export type ParseResult = { ok: true; record: FlowRecord } | { ok: false; reason: string };

/** Thrown inside the parser to abort one line with a reason; never escapes parseCalicoFlowLog. */
class Reject {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

export function parseCalicoFlowLog(line: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'not a JSON object' };
  }
  try {
    return { ok: true, record: toRecord(value as Record<string, unknown>) };
  } catch (e) {
    if (e instanceof Reject) return { ok: false, reason: e.reason };
    throw e;
  }
}

function toRecord(o: Record<string, unknown>): FlowRecord {
  const startTime = time(o, 'start_time');
  const endTime = time(o, 'end_time');
  if (endTime < startTime) throw new Reject('end_time before start_time');
  const action = o['action'];
  if (action !== 'allow' && action !== 'deny') throw invalid(o, 'action');
  const reporter = o['reporter'];
  if (reporter !== 'src' && reporter !== 'dst') throw invalid(o, 'reporter');
  const protocol = parseProtocol(o['proto']);
  if (protocol === null) throw invalid(o, 'proto');
  return {
    startTime,
    endTime,
    source: endpoint(o, 'source'),
    dest: endpoint(o, 'dest'),
    destPort: optionalPort(o, 'dest_port'),
    destService: service(o),
    destDomains: domains(o['dest_domains']),
    protocol,
    action,
    reporter,
    policies: policies(o['policies']),
    numFlows: count(o, 'num_flows'),
  };
}

function invalid(o: Record<string, unknown>, field: string): Reject {
  return new Reject(o[field] === undefined ? `missing field ${field}` : `invalid ${field}`);
}

function time(o: Record<string, unknown>, field: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1e11) throw invalid(o, field);
  return v;
}

function count(o: Record<string, unknown>, field: string): number {
  const v = o[field];
  if (v === undefined || v === null) return 1;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalid(o, field);
  return v;
}

function optionalPort(o: Record<string, unknown>, field: string): number | null {
  const v = o[field];
  if (v === undefined || v === null) return null;
  if (!isPortNumber(v)) throw invalid(o, field);
  return v;
}

/** `-` and empty mean "none" in Calico flow logs. */
function optionalName(o: Record<string, unknown>, field: string, valid: (s: string) => boolean): string | null {
  const v = o[field];
  if (v === undefined || v === null || v === '-' || v === '') return null;
  if (typeof v !== 'string' || !valid(v)) throw invalid(o, field);
  return v;
}

// Constant field names: computed property names are slow in V8's hot paths.
const FIELDS = {
  source: { type: 'source_type', namespace: 'source_namespace', name: 'source_name_aggr', ip: 'source_ip', labels: 'source_labels' },
  dest: { type: 'dest_type', namespace: 'dest_namespace', name: 'dest_name_aggr', ip: 'dest_ip', labels: 'dest_labels' },
} as const;

const validIp = memoize((ip) => isIP(ip) !== 0);

function endpoint(o: Record<string, unknown>, side: 'source' | 'dest'): FlowEndpoint {
  const f = FIELDS[side];
  const type = o[f.type];
  if (typeof type !== 'string' || !ENDPOINT_TYPES.has(type)) throw invalid(o, f.type);
  const namespace = optionalName(o, f.namespace, validDnsLabel);
  const name = o[f.name];
  if (typeof name !== 'string' || !validEndpointName(type as EndpointType, name)) throw invalid(o, f.name);
  if (type === 'wep' && namespace === null) throw new Reject(`missing ${f.namespace} for a workload`);
  const ip = o[f.ip];
  if (ip !== undefined && ip !== null && (typeof ip !== 'string' || !validIp(ip))) throw invalid(o, f.ip);
  return { type: type as EndpointType, name, namespace, labels: labels(o, f.labels), ip: (ip as string | null | undefined) ?? null };
}

/** `{"labels": ["k=v", ...]}` (Calico's shape) or a bare list; every entry a valid Kubernetes label. */
function labels(o: Record<string, unknown>, field: string): readonly string[] {
  const v = o[field];
  if (v === undefined || v === null || v === '-') return NO_STRINGS;
  let list: unknown;
  if (Array.isArray(v)) list = v;
  else if (typeof v === 'object' && Object.keys(v).every((k) => k === 'labels')) list = (v as { labels?: unknown }).labels ?? [];
  else throw invalid(o, field);
  if (list === null) return NO_STRINGS;
  if (!Array.isArray(list) || list.length > MAX_LABELS) throw invalid(o, field);
  for (const l of list) if (typeof l !== 'string' || !validLabel(l)) throw invalid(o, field);
  return list as string[];
}

function service(o: Record<string, unknown>): DestinationService | null {
  const name = optionalName(o, 'dest_service_name', validDnsLabel);
  if (name === null) return null;
  return {
    name,
    namespace: optionalName(o, 'dest_service_namespace', validDnsLabel),
    // Port names are IANA service names or numbers as text; both fit a DNS label.
    portName: optionalName(o, 'dest_service_port', validDnsLabel),
    port: optionalPort(o, 'dest_service_port_num'),
  };
}

/** Calico writes an array; some exports join them with commas. */
function domains(v: unknown): readonly string[] {
  if (v === undefined || v === null || v === '-' || v === '') return NO_STRINGS;
  const list = typeof v === 'string' ? v.split(',') : v;
  if (!Array.isArray(list) || list.length > MAX_DOMAINS) throw new Reject('invalid dest_domains');
  if (!list.every((d) => typeof d === 'string')) throw new Reject('invalid dest_domains');
  const names = normalisedDomains(list);
  if (names === null) throw new Reject('invalid dest_domains entry');
  return names;
}

function policies(v: unknown): PolicyTrace | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new Reject('invalid policies');
  const p = v as Record<string, unknown>;
  const [allRaw, pendingRaw, enforcedRaw] = [p['all_policies'], p['pending_policies'], p['enforced_policies']];
  // The three traces are usually identical: parse a repeat once.
  const all = hits(allRaw);
  const pending = sameEntries(pendingRaw, allRaw) ? all : hits(pendingRaw);
  const enforced = sameEntries(enforcedRaw, pendingRaw) ? pending : sameEntries(enforcedRaw, allRaw) ? all : hits(enforcedRaw);
  return all === null && pending === null && enforced === null ? null : { all, pending, enforced };
}

function sameEntries(a: unknown, b: unknown): boolean {
  return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((e, i) => e === b[i]);
}

function hits(v: unknown): PolicyHit[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.length > MAX_HITS) throw new Reject('invalid policies');
  return v.map((entry) => {
    const hit = parsePolicyHit(entry);
    if (hit === null) throw new Reject('invalid policies entry');
    return hit;
  });
}
