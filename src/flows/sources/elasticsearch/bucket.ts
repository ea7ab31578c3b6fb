// One composite bucket -> FlowRecord. The validation boundary for Elasticsearch input, held to
// the same rules as a flow-log line (src/flows/calico-flow-log.ts): every name is checked against
// Kubernetes name syntax, protocols parsed, domains normalised, policy hits parsed, so nothing an
// index holds can reach a path, a selector or YAML unchecked. A bad bucket is rejected with a
// reason; the source counts it. A bucket that is well formed but teaches nothing (a forwarding
// node's report, protocol 0) is skipped with its reason and marked `nothingToLearn`, as a file line is.

import { isPortNumber } from '../../../calico/ports.ts';
import { parseProtocol } from '../../../calico/protocol.ts';
import { memoize } from '../../../util/memo.ts';
import { parsePolicyHit } from '../../policy-hit.ts';
import type { DestinationService, EndpointType, FlowEndpoint, FlowRecord, PolicyHit, PolicyTrace } from '../../record.ts';
import {
  ENDPOINT_TYPES,
  FORWARDED_ONLY,
  isProtocolZero,
  MAX_HITS,
  MAX_TIME,
  NO_STRINGS,
  type NotRead,
  normalisedDomains,
  PROTOCOL_ZERO,
  parseReporter,
  validDnsLabel,
  validEndpointName,
} from '../../validation.ts';
import { END, type KeyName, NUM_FLOWS, START, TRACE_ENTRY_SEPARATOR, TRACE_INVALID, TRACE_LIST_SEPARATOR } from './query.ts';

export type BucketResult = { ok: true; record: FlowRecord } | NotRead;

class Reject {
  readonly reason: string;
  readonly nothingToLearn: boolean;
  constructor(reason: string, nothingToLearn = false) {
    this.reason = reason;
    this.nothingToLearn = nothingToLearn;
  }
}

const MAX_TRACE = 64 * 1024;

export function parseBucket(bucket: unknown): BucketResult {
  if (typeof bucket !== 'object' || bucket === null || Array.isArray(bucket)) return { ok: false, reason: 'not a bucket' };
  const b = bucket as Record<string, unknown>;
  const key = b['key'];
  if (typeof key !== 'object' || key === null || Array.isArray(key)) return { ok: false, reason: 'bucket without a key' };
  try {
    return { ok: true, record: toRecord(key as Record<string, unknown>, b) };
  } catch (e) {
    if (!(e instanceof Reject)) throw e;
    return e.nothingToLearn ? { ok: false, reason: e.reason, nothingToLearn: true } : { ok: false, reason: e.reason };
  }
}

function toRecord(key: Record<string, unknown>, bucket: Record<string, unknown>): FlowRecord {
  const reporter = parseReporter(key['reporter' satisfies KeyName]);
  if (reporter === null) throw invalid(key, 'reporter');
  const protocolZero = isProtocolZero(key['proto' satisfies KeyName]);
  const protocol = protocolZero ? null : parseProtocol(key['proto' satisfies KeyName]);
  if (!protocolZero && protocol === null) throw invalid(key, 'proto');
  const startTime = time(bucket, START, 'start_time', Math.floor);
  const endTime = time(bucket, END, 'end_time', Math.ceil);
  if (endTime < startTime) throw new Reject('end_time before start_time');
  const source = endpoint(key, 'source');
  const dest = endpoint(key, 'dest');
  const destPort = port(key);
  const destService = service(key);
  const destDomains = domains(key['dest_domains' satisfies KeyName]);
  const policies = trace(key['policies' satisfies KeyName]);
  const numFlows = bucketFlows(bucket);
  // Well formed, but nothing to learn from (the same reasons as a file line's).
  if (reporter === 'fwd') throw new Reject(FORWARDED_ONLY, true);
  if (protocol === null) throw new Reject(PROTOCOL_ZERO, true);
  return { startTime, endTime, source, dest, destPort, destService, destDomains, protocol, action: 'allow', reporter, policies, numFlows };
}

function invalid(key: Record<string, unknown>, field: string): Reject {
  return new Reject(key[field] === undefined || key[field] === null ? `missing field ${field}` : `invalid ${field}`);
}

/** A min / max of a date field: epoch milliseconds (null when no log in the bucket had the field). */
function time(bucket: Record<string, unknown>, agg: string, field: string, round: (x: number) => number): number {
  const value = metric(bucket, agg);
  if (value === null) throw new Reject(`missing field ${field}`);
  const seconds = round(value / 1000);
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_TIME) throw new Reject(`invalid ${field}`);
  return seconds;
}

function bucketFlows(bucket: Record<string, unknown>): number {
  const value = metric(bucket, NUM_FLOWS);
  if (value === null || !Number.isSafeInteger(value) || value < 0) throw new Reject('invalid num_flows');
  return value;
}

function metric(bucket: Record<string, unknown>, agg: string): number | null {
  const m = bucket[agg];
  if (typeof m !== 'object' || m === null) throw new Reject(`bucket without ${agg}`);
  const value = (m as Record<string, unknown>)['value'];
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Reject(`invalid ${agg}`);
  return value;
}

/** `-` and empty mean "none" in Calico flow logs. */
function optionalName(key: Record<string, unknown>, field: string, valid: (s: string) => boolean): string | null {
  const v = key[field];
  if (v === undefined || v === null || v === '-' || v === '') return null;
  if (typeof v !== 'string' || !valid(v)) throw invalid(key, field);
  return v;
}

const FIELDS = {
  source: { type: 'source_type', namespace: 'source_namespace', name: 'source_name_aggr' },
  dest: { type: 'dest_type', namespace: 'dest_namespace', name: 'dest_name_aggr' },
} as const satisfies Record<string, Record<string, KeyName>>;

/**
 * Labels are not asked for (they are `nested`, and no rule is keyed by them), nor addresses: at
 * Calico Enterprise's default aggregation for allowed flows the logs carry none, and networks are
 * already classified by name (`pub` / `pvt`), which is what the engine keys rules by.
 */
function endpoint(key: Record<string, unknown>, side: 'source' | 'dest'): FlowEndpoint {
  const f = FIELDS[side];
  const type = key[f.type];
  if (typeof type !== 'string' || !ENDPOINT_TYPES.has(type)) throw invalid(key, f.type);
  const namespace = optionalName(key, f.namespace, validDnsLabel);
  const name = key[f.name];
  if (typeof name !== 'string' || !validEndpointName(type as EndpointType, name)) throw invalid(key, f.name);
  if (type === 'wep' && namespace === null) throw new Reject(`missing ${f.namespace} for a workload`);
  return { type: type as EndpointType, name, namespace, labels: NO_STRINGS, ip: null };
}

/** The mapping indexes a missing port as 0 (`null_value: 0`); 0 is no port anyone can allow. */
function port(key: Record<string, unknown>): number | null {
  const v = key['dest_port' satisfies KeyName];
  if (v === undefined || v === null || v === 0) return null;
  if (!isPortNumber(v)) throw invalid(key, 'dest_port');
  return v;
}

/** Only what keys a rule: the service's port name and number are not asked for. */
function service(key: Record<string, unknown>): DestinationService | null {
  const name = optionalName(key, 'dest_service_name', validDnsLabel);
  if (name === null) return null;
  return { name, namespace: optionalName(key, 'dest_service_namespace', validDnsLabel), portName: null, port: null };
}

/** The `,`-joined set DOMAINS_SCRIPT emits. */
function domains(v: unknown): readonly string[] {
  if (v === undefined || v === null || v === '') return NO_STRINGS;
  if (typeof v !== 'string') throw new Reject('invalid dest_domains');
  const names = normalisedDomains(v.split(','));
  if (names === null) throw new Reject('invalid dest_domains entry');
  return names;
}

/** The encoding TRACE_SCRIPT emits, back into a PolicyTrace; parsed once per distinct string. */
function trace(v: unknown): PolicyTrace | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || v.length > MAX_TRACE) throw new Reject('invalid policies');
  const parsed = cachedTrace(v);
  if (typeof parsed === 'string') throw new Reject(parsed);
  return parsed;
}

const cachedTrace = memoize((text): PolicyTrace | string => {
  if (text === TRACE_INVALID) return 'invalid policies';
  const lists: Record<string, PolicyHit[] | null> = { a: null, p: null, e: null };
  for (const part of text.split(TRACE_LIST_SEPARATOR)) {
    const colon = part.indexOf(':');
    const tag = part.slice(0, colon);
    if (colon !== 1 || !(tag in lists) || lists[tag] !== null) return 'invalid policies';
    const body = part.slice(2);
    const entries = body === '' ? [] : body.split(TRACE_ENTRY_SEPARATOR);
    if (entries.length > MAX_HITS) return 'invalid policies';
    const hits: PolicyHit[] = [];
    for (const entry of entries) {
      const hit = parsePolicyHit(entry);
      if (hit === null) return 'invalid policies entry';
      hits.push(hit);
    }
    lists[tag] = Object.freeze(hits) as PolicyHit[];
  }
  return Object.freeze({ all: lists['a'] ?? null, pending: lists['p'] ?? null, enforced: lists['e'] ?? null });
}, 4096);
