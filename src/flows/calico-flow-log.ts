// Calico flow-log JSON (Enterprise / Cloud format, one object per line) -> FlowRecord.
// This is the validation boundary for file input: every value is type-checked and every name is
// checked against Kubernetes name syntax here, so hostile values never reach paths, selectors or YAML.
// The fields read, and their values, are those of the docs' "Flow log data types" page (Calico
// Enterprise and Calico Cloud, tigera/docs calico-enterprise/observability/elastic/flow/datatypes.mdx)
// and of Felix's writer; fields not read (counters, process and TCP statistics, `host`,
// `nat_outgoing_ports`, `transit_policies` ...) are ignored whatever they hold. A line that is well
// formed but teaches nothing (a forwarding node's report, protocol 0) is skipped with its reason
// and marked `nothingToLearn`, so that it can be told from a malformed one.
// test/conformance/flow-log-shapes.test.ts holds the documented shapes.

import { isIP } from 'node:net';
import { isPortNumber } from '../calico/ports.ts';
import { parseProtocol } from '../calico/protocol.ts';
import { memoize } from '../util/memo.ts';
import { parsePolicyHit } from './policy-hit.ts';
import type { DestinationService, EndpointType, FlowEndpoint, FlowRecord, PolicyHit, PolicyTrace } from './record.ts';
import {
  ENDPOINT_TYPES,
  FORWARDED_ONLY,
  isProtocolZero,
  MAX_DOMAINS,
  MAX_HITS,
  MAX_LABELS,
  NO_STRINGS,
  type NotRead,
  normalisedDomains,
  PROTOCOL_ZERO,
  parseReporter,
  validDnsLabel,
  validEndpointName,
  validLabelList,
} from './validation.ts';

export type ParseResult = { ok: true; record: FlowRecord } | NotRead;

/** Thrown inside the parser to abort one line with a reason; never escapes parseCalicoFlowLog. */
class Reject {
  readonly reason: string;
  readonly nothingToLearn: boolean;
  constructor(reason: string, nothingToLearn = false) {
    this.reason = reason;
    this.nothingToLearn = nothingToLearn;
  }
}

/**
 * The space-delimited text lines of the docs' "Filter flow logs" page (`startTime endTime srcType
 * srcNamespace srcName ...`, reporter `in` / `out`, no policy trace): an older format than JSON.
 */
const TEXT_FLOW_LOG = /^\d+ \d+ (wep|hep|ns|net) \S+ \S+ \S+ (wep|hep|ns|net) /;

/** The reasons of lines that are no JSON object at all (the fast path, flow-log-parser.ts, never caches them). */
export const NOT_JSON = 'not JSON';
export const TEXT_FORMAT = 'space-delimited text flow log (not the JSON format): not read';
export const NOT_AN_OBJECT = 'not a JSON object';

export function parseCalicoFlowLog(line: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, reason: TEXT_FLOW_LOG.test(line) ? TEXT_FORMAT : NOT_JSON };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: NOT_AN_OBJECT };
  }
  try {
    return { ok: true, record: toRecord(value as Record<string, unknown>) };
  } catch (e) {
    if (!(e instanceof Reject)) throw e;
    return e.nothingToLearn ? { ok: false, reason: e.reason, nothingToLearn: true } : { ok: false, reason: e.reason };
  }
}

function toRecord(o: Record<string, unknown>): FlowRecord {
  if (o['proto'] === undefined && o['protocol'] !== undefined) {
    // whisker-backend/pkg/apis/v1/flows.go (HEAD): no endpoint types, RFC 3339 times.
    throw new Reject('a Whisker API flow, not a flow-log line (no endpoint types): read flows from Goldmane instead');
  }
  const startTime = time(o, 'start_time');
  const endTime = time(o, 'end_time');
  if (endTime < startTime) throw new Reject('end_time before start_time');
  const action = o['action'];
  if (action !== 'allow' && action !== 'deny') throw invalid(o, 'action');
  const reporter = parseReporter(o['reporter']);
  if (reporter === null) throw invalid(o, 'reporter');
  const protocolZero = isProtocolZero(o['proto']);
  const protocol = protocolZero ? null : parseProtocol(o['proto']);
  if (!protocolZero && protocol === null) throw invalid(o, 'proto');
  const source = endpoint(o, 'source');
  const dest = endpoint(o, 'dest');
  const destPort = optionalPort(o, 'dest_port');
  const destService = service(o);
  const destDomains = domains(o['dest_domains']);
  const trace = policies(o['policies']);
  const numFlows = count(o, 'num_flows');
  // Well formed, but nothing to learn from (checked last: a malformed line is malformed first).
  if (reporter === 'fwd') throw new Reject(FORWARDED_ONLY, true);
  if (protocol === null) throw new Reject(PROTOCOL_ZERO, true);
  return { startTime, endTime, source, dest, destPort, destService, destDomains, protocol, action, reporter, policies: trace, numFlows };
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
  if (!validLabelList(list)) throw invalid(o, field);
  return list as string[];
}

function service(o: Record<string, unknown>): DestinationService | null {
  const name = optionalName(o, 'dest_service_name', validDnsLabel);
  if (name === null) return null;
  // `*`: several of the service's port names match the destination port (flow log data types page).
  const portName = o['dest_service_port'] === '*' ? null : optionalName(o, 'dest_service_port', validDnsLabel);
  // Felix's "no service" has port number 0 (felix/collector/flowlog/types.go EmptyService, release-v3.30 to HEAD).
  const port = optionalPort(o, 'dest_service_port_num');
  return {
    name,
    namespace: optionalName(o, 'dest_service_namespace', validDnsLabel),
    // Port names are IANA service names or numbers as text; both fit a DNS label.
    portName,
    port: port === 0 ? null : port,
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
