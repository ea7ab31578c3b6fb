// Calico flow-log JSON (Enterprise / Cloud format, one object per line) -> FlowRecord.
// This is the validation boundary for file input: every value is type-checked and every name is
// checked against Kubernetes name syntax here, so hostile values never reach paths, selectors or YAML.

import { isIP } from 'node:net';
import { isDnsLabel, isDnsSubdomain, isLabelKey, isLabelValue, normaliseDomain } from '../calico/names.ts';
import { parseProtocol } from '../calico/protocol.ts';
import { isPortNumber } from '../calico/ports.ts';
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

function endpoint(o: Record<string, unknown>, side: 'source' | 'dest'): FlowEndpoint {
  const type = o[`${side}_type`];
  if (typeof type !== 'string' || !ENDPOINT_TYPES.has(type)) throw invalid(o, `${side}_type`);
  const namespace = optionalName(o, `${side}_namespace`, isDnsLabel);
  const nameField = `${side}_name_aggr`;
  const name = o[nameField];
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME) throw invalid(o, nameField);
  if (!validEndpointName(type as EndpointType, name)) throw invalid(o, nameField);
  if (type === 'wep' && namespace === null) throw new Reject(`missing ${side}_namespace for a workload`);
  const ipField = `${side}_ip`;
  const ip = o[ipField];
  if (ip !== undefined && ip !== null && (typeof ip !== 'string' || isIP(ip) === 0)) throw invalid(o, ipField);
  return { type: type as EndpointType, name, namespace, labels: labels(o, `${side}_labels`), ip: (ip as string | null | undefined) ?? null };
}

function validEndpointName(type: EndpointType, name: string): boolean {
  switch (type) {
    case 'ns':
      return isDnsSubdomain(name);
    case 'wep':
      return WORKLOAD_NAME.test(name);
    default:
      // Networks (`pub`, `pvt`) and host names: printable ASCII without quotes or separators.
      return /^[A-Za-z0-9][-A-Za-z0-9._*]*$/.test(name);
  }
}

/** `{"labels": ["k=v", ...]}` (Calico's shape) or a bare list; every entry a valid Kubernetes label. */
function labels(o: Record<string, unknown>, field: string): readonly string[] {
  const v = o[field];
  if (v === undefined || v === null || v === '-') return [];
  let list: unknown;
  if (Array.isArray(v)) list = v;
  else if (typeof v === 'object' && Object.keys(v).every((k) => k === 'labels')) list = (v as { labels?: unknown }).labels ?? [];
  else throw invalid(o, field);
  if (list === null) return [];
  if (!Array.isArray(list) || list.length > MAX_LABELS) throw invalid(o, field);
  for (const l of list) if (typeof l !== 'string' || !isLabel(l)) throw invalid(o, field);
  return list as string[];
}

function isLabel(text: string): boolean {
  const eq = text.indexOf('=');
  return eq > 0 && isLabelKey(text.slice(0, eq)) && isLabelValue(text.slice(eq + 1));
}

function service(o: Record<string, unknown>): DestinationService | null {
  const name = optionalName(o, 'dest_service_name', isDnsLabel);
  if (name === null) return null;
  return {
    name,
    namespace: optionalName(o, 'dest_service_namespace', isDnsLabel),
    // Port names are IANA service names or numbers as text; both fit a DNS label.
    portName: optionalName(o, 'dest_service_port', isDnsLabel),
    port: optionalPort(o, 'dest_service_port_num'),
  };
}

/** Calico writes an array; some exports join them with commas. */
function domains(v: unknown): readonly string[] {
  if (v === undefined || v === null || v === '-' || v === '') return [];
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
  const trace = { all: hits(p['all_policies']), pending: hits(p['pending_policies']), enforced: hits(p['enforced_policies']) };
  return trace.all === null && trace.pending === null && trace.enforced === null ? null : trace;
}

function hits(v: unknown): PolicyHit[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.length > MAX_HITS) throw new Reject('invalid policies');
  return v.map(parsePolicyHit);
}

/** `<index>|<tier>|<policy>|<action>|<rule index>` */
export function parsePolicyHit(entry: unknown): PolicyHit {
  if (typeof entry !== 'string' || entry.length > 1024) throw new Reject('invalid policies entry');
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
