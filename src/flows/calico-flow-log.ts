// Calico flow-log JSON (Enterprise / Cloud format, one object per line) -> FlowRecord.
// This is the validation boundary for file input: every value is type-checked and every name is
// checked against Kubernetes name syntax here, so hostile values never reach paths, selectors or YAML.

import { isIP } from 'node:net';
import { isDnsLabel, isDnsSubdomain, isLabelKey, isLabelValue, normaliseDomain } from '../calico/names.ts';
import { parseProtocol } from '../calico/protocol.ts';
import { isPortNumber } from '../calico/ports.ts';
import { memoize } from '../util/memo.ts';
import type { DestinationService, EndpointType, FlowEndpoint, FlowRecord, PolicyHit, PolicyHitAction, PolicyTrace } from './record.ts';

export type ParseResult = { ok: true; record: FlowRecord } | { ok: false; reason: string };

/** Thrown inside the parser to abort one line with a reason; never escapes parseCalicoFlowLog. */
class Reject {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

const ENDPOINT_TYPES: ReadonlySet<string> = new Set(['wep', 'hep', 'ns', 'net']);
const HIT_ACTIONS: ReadonlySet<string> = new Set(['allow', 'deny', 'pass', 'log']);
const MAX_NAME = 253;
/** Shared by every record without labels or domains: one less allocation per record. */
const NONE: readonly string[] = Object.freeze([]);
const MAX_LABELS = 256;
const MAX_HITS = 64;
const MAX_DOMAINS = 64;
/** Workload names in aggregated logs are pod-name prefixes ending in `*`; `-` when unknown. */
const WORKLOAD_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9*])?$|^\*$|^-$/;
const PROFILE_TIER = '__PROFILE__';
/** `<ns>/<tier>.<name>`, `<tier>.staged:<name>`, `__PROFILE__.kns.<ns>`, `knp.default.<name>`. */
const POLICY_IN_TRACE = /^[A-Za-z0-9_][-A-Za-z0-9_.:/]{0,511}$/;

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

// Flow logs repeat the same names and addresses millions of times: check each once.
const validDnsLabel = memoize(isDnsLabel);
const validSubdomain = memoize(isDnsSubdomain);
const validWorkloadName = memoize((name) => WORKLOAD_NAME.test(name));
// Networks (`pub`, `pvt`) and host names: printable ASCII without quotes or separators.
const validOtherName = memoize((name) => /^[A-Za-z0-9][-A-Za-z0-9._*]*$/.test(name));
const validIp = memoize((ip) => isIP(ip) !== 0);
const validLabel = memoize(isLabel);

function endpoint(o: Record<string, unknown>, side: 'source' | 'dest'): FlowEndpoint {
  const f = FIELDS[side];
  const type = o[f.type];
  if (typeof type !== 'string' || !ENDPOINT_TYPES.has(type)) throw invalid(o, f.type);
  const namespace = optionalName(o, f.namespace, validDnsLabel);
  const name = o[f.name];
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME) throw invalid(o, f.name);
  if (!validEndpointName(type as EndpointType, name)) throw invalid(o, f.name);
  if (type === 'wep' && namespace === null) throw new Reject(`missing ${f.namespace} for a workload`);
  const ip = o[f.ip];
  if (ip !== undefined && ip !== null && (typeof ip !== 'string' || !validIp(ip))) throw invalid(o, f.ip);
  return { type: type as EndpointType, name, namespace, labels: labels(o, f.labels), ip: (ip as string | null | undefined) ?? null };
}

function validEndpointName(type: EndpointType, name: string): boolean {
  switch (type) {
    case 'ns':
      return validSubdomain(name);
    case 'wep':
      return validWorkloadName(name);
    default:
      return validOtherName(name);
  }
}

/** `{"labels": ["k=v", ...]}` (Calico's shape) or a bare list; every entry a valid Kubernetes label. */
function labels(o: Record<string, unknown>, field: string): readonly string[] {
  const v = o[field];
  if (v === undefined || v === null || v === '-') return NONE;
  let list: unknown;
  if (Array.isArray(v)) list = v;
  else if (typeof v === 'object' && Object.keys(v).every((k) => k === 'labels')) list = (v as { labels?: unknown }).labels ?? [];
  else throw invalid(o, field);
  if (list === null) return NONE;
  if (!Array.isArray(list) || list.length > MAX_LABELS) throw invalid(o, field);
  for (const l of list) if (typeof l !== 'string' || !validLabel(l)) throw invalid(o, field);
  return list as string[];
}

function isLabel(text: string): boolean {
  const eq = text.indexOf('=');
  return eq > 0 && isLabelKey(text.slice(0, eq)) && isLabelValue(text.slice(eq + 1));
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
  if (v === undefined || v === null || v === '-' || v === '') return NONE;
  const list = typeof v === 'string' ? v.split(',') : v;
  if (!Array.isArray(list) || list.length > MAX_DOMAINS) throw new Reject('invalid dest_domains');
  const out: string[] = [];
  for (const d of list) {
    if (typeof d !== 'string') throw new Reject('invalid dest_domains');
    const name = normaliseDomain(d.trim());
    if (name === null) throw new Reject('invalid dest_domains entry');
    out.push(name);
  }
  return out;
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
  return v.map(parsePolicyHit);
}

/** `<index>|<tier>|<policy>|<action>|<rule index>` */
export function parsePolicyHit(entry: unknown): PolicyHit {
  if (typeof entry !== 'string' || entry.length > 1024) throw new Reject('invalid policies entry');
  const hit = cachedHit(entry);
  if (hit === null) throw new Reject('invalid policies entry');
  return hit;
}

// The same few hits repeat in every record; parsed hits are immutable, so they can be shared.
const cachedHit = memoize((entry): PolicyHit | null => {
  try {
    return Object.freeze(readPolicyHit(entry));
  } catch (e) {
    if (e instanceof Reject) return null;
    throw e;
  }
});

function readPolicyHit(entry: string): PolicyHit {
  const parts = entry.split('|');
  if (parts.length !== 5) throw new Reject('invalid policies entry');
  const [index, tier, policy, action, ruleIndex] = parts as [string, string, string, string, string];
  if (
    !/^\d{1,4}$/.test(index) ||
    !/^-?\d{1,6}$/.test(ruleIndex) ||
    !HIT_ACTIONS.has(action) ||
    !(isDnsLabel(tier) || tier === PROFILE_TIER) ||
    !POLICY_IN_TRACE.test(policy)
  ) {
    throw new Reject('invalid policies entry');
  }
  return { index: Number(index), tier, policy, action: action as PolicyHitAction, ruleIndex: Number(ruleIndex) };
}
