// A real Goldmane stand-in for tests and the bench: a gRPC server on 127.0.0.1 (ephemeral port)
// serving goldmane.Flows over mutual TLS (client certificates required and verified), speaking the
// contract of one Calico release and answering as that release's Goldmane does.
//
// The wire: messages are encoded and decoded here by hand from the field numbers of upstream's
// goldmane/proto/api.proto (copies in test/flows/goldmane/upstream/), not from our goldmane.proto,
// so a wrong field number in ours fails the end-to-end tests instead of agreeing with itself;
// test/flows/goldmane/contract.test.ts checks this encoding against upstream's files. Per release:
// - requests: FlowListRequest/FlowStreamRequest `filter` decoded as the release reads it
//   (PolicyMatch tier/namespace/name: `string` up to 3.31, `StringMatch` from 3.32; Filter fields
//   9 and 10 unknown, so skipped, up to 3.31); bytes the release cannot parse fail the call with
//   INTERNAL as grpc-go does. A request that carries a filter is then refused: this server does
//   not implement filtering, so no test can pass by relying on a filter that is not applied.
// - PolicyKind: 7/8 (AdminNetworkPolicy/BaselineAdminNetworkPolicy) exist up to 3.31, 11
//   (ClusterNetworkPolicy) from 3.32; flows given to a release must not use the other's kinds
//   (other unknown numbers pass as hostile input).
// - policy hits from Felix's flow-log strings exactly as each release's HitFromString builds them
//   (goldmane/proto/methods.go, release-v3.31 and release-v3.32): goldmaneHit().
//
// The store follows goldmane/pkg/storage (identical in substance from release-v3.30 to master):
// the flows given are Felix's reports; each lands in the 15-second bucket of its start_time
// (bucket_ring.go AddFlow), counters add up and labels intersect per FlowKey and bucket
// (diachronic_flow.go), and only the ring's 242 buckets are held: [T - 3600, T + 30) for "now" in
// [T, T + 15) (goldmane.go numBuckets, NewBucketRing). Reports outside it are dropped.
//
// List (ring_index.go RingIndex.List, index.go calculateListMeta, goldmane.go normalizeTimeRange):
// 0 = oldest / now, negative = relative to now; gte >= lt fails; one Flow per FlowKey with a bucket
// starting in [gte, lt), aggregated over its buckets wholly inside the window (none: start_time 0);
// newest start first, flows with equal start times in a shuffled order that changes on every call
// (seeded: reproducible); `page` of `page_size` (0: all, totalPages 1); a page past the end is
// empty with zero metadata. Sort orders other than Time are refused (not implemented here).
//
// Stream (goldmane.go Stream/backfill, bucket_ring.go Backfill/iterBucketsTime/flushToStreams,
// stream/*.go): start_time_gte 0 = now (no history), negative = relative; history from the bucket
// holding start_time_gte up to the streaming bucket (two before the head), one FlowResult per key
// and bucket, in bucket order; then, at every rollover() (the test moves time on), the streaming
// bucket's flows to every open stream. A start time Goldmane no longer holds gets no history. A
// start time at or after the streaming bucket wraps around the ring (iterBuckets): every bucket
// of history (from 3.32 without the two unfinished ones, which are not yet `ready`; up to 3.31
// with them, incomplete). `streamRace` makes the next stream meet the race Goldmane has between
// registering a stream and backfilling it: a rollover comes first, so that bucket arrives live
// before the history and again at its end (from 3.32 the live bucket whole first; up to 3.31
// flow by flow interleaved with the history, as 3.30's per-flow goroutines deliver it).
//
// Faults: fail the next N calls with a status, fail every call, delay every reply, lie about
// totalPages, leave out metadata, answer with raw bytes, break the next streams after N messages.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { isDnsLabel, isDnsSubdomain } from '../../src/calico/names.ts';
import type { GoldmaneConfig } from '../../src/config/deployment-config.ts';
import { compileFlows, type RecordShape, recordPodLabels, traceEntries } from '../../src/generator/record.ts';
import {
  type Endpoint,
  type FlowTemplate,
  podNameAggr,
  type Scenario,
  type Reporter as ScenarioReporter,
} from '../../src/generator/scenario.ts';

// ---------------------------------------------------------------- releases

export const RELEASES = ['3.30', '3.31', '3.32', '3.33', 'main'] as const;
export type Release = (typeof RELEASES)[number];

/** Which upstream api.proto a release ships (test/flows/goldmane/upstream/). */
export function contractOf(release: Release): 'v3.30-v3.31' | 'v3.32-main' {
  return release === '3.30' || release === '3.31' ? 'v3.30-v3.31' : 'v3.32-main';
}

/** The upstream branch a release's behaviour is read from. */
export function upstreamRef(release: Release): string {
  return release === 'main' ? 'master' : `release-v${release}`;
}

// ---------------------------------------------------------------- messages (all fields optional)

export interface TestPolicyHit {
  kind?: number;
  namespace?: string;
  name?: string;
  tier?: string;
  action?: number;
  policy_index?: number;
  rule_index?: number;
  trigger?: TestPolicyHit;
}

export interface TestFlowKey {
  source_name?: string;
  source_namespace?: string;
  source_type?: number;
  dest_name?: string;
  dest_namespace?: string;
  dest_type?: number;
  dest_port?: number;
  dest_service_name?: string;
  dest_service_namespace?: string;
  dest_service_port_name?: string;
  dest_service_port?: number;
  proto?: string;
  reporter?: number;
  action?: number;
  policies?: { enforced_policies?: TestPolicyHit[]; pending_policies?: TestPolicyHit[] };
}

export interface TestFlow {
  Key?: TestFlowKey;
  start_time?: number;
  end_time?: number;
  source_labels?: string[];
  dest_labels?: string[];
  packets_in?: number;
  packets_out?: number;
  bytes_in?: number;
  bytes_out?: number;
  num_connections_started?: number;
  num_connections_completed?: number;
  num_connections_live?: number;
}

export interface StringMatch {
  value: string;
  type: number;
}

/** PolicyMatch as the release reads it: strings up to 3.31, StringMatch (or null) from 3.32. */
export interface DecodedPolicyMatch {
  kind: number;
  tier: string | StringMatch | null;
  namespace: string | StringMatch | null;
  name: string | StringMatch | null;
  action: number;
}

export interface DecodedFilter {
  source_names: StringMatch[];
  source_namespaces: StringMatch[];
  dest_names: StringMatch[];
  dest_namespaces: StringMatch[];
  protocols: StringMatch[];
  dest_ports: number[];
  actions: number[];
  policies: DecodedPolicyMatch[];
  /** From 3.32; up to 3.31 an unknown field, skipped. */
  reporter: number;
  pending_actions: number[];
}

export interface ListRequest {
  start_time_gte: number;
  start_time_lt: number;
  page: number;
  page_size: number;
  sort_by: number[];
  filter: DecodedFilter | null;
  aggregation_interval: number;
}

export interface StreamRequest {
  start_time_gte: number;
  filter: DecodedFilter | null;
  aggregation_interval: number;
}

/** Enum numbers of the wire contract, for building test flows. */
export const ENDPOINT = { wep: 1, hep: 2, ns: 3, net: 4 } as const;
export const REPORTER = { src: 1, dst: 2 } as const;
export const ACTION = { allow: 1, deny: 2, pass: 3 } as const;
export const KIND = {
  CalicoNetworkPolicy: 1,
  GlobalNetworkPolicy: 2,
  StagedNetworkPolicy: 3,
  StagedGlobalNetworkPolicy: 4,
  StagedKubernetesNetworkPolicy: 5,
  NetworkPolicy: 6,
  /** release-v3.30/v3.31 only. */
  AdminNetworkPolicy: 7,
  /** release-v3.30/v3.31 only. */
  BaselineAdminNetworkPolicy: 8,
  Profile: 9,
  EndOfTier: 10,
  /** From release-v3.32. */
  ClusterNetworkPolicy: 11,
} as const;

/** The kinds a release cannot send: the other contract's. */
function foreignKinds(release: Release): ReadonlySet<number> {
  return contractOf(release) === 'v3.30-v3.31'
    ? new Set([KIND.ClusterNetworkPolicy])
    : new Set([KIND.AdminNetworkPolicy, KIND.BaselineAdminNetworkPolicy]);
}

/** Goldmane's bucket width and ring size (goldmane.go: 15 s, numBuckets = 242). */
export const INTERVAL = 15;
const NUM_BUCKETS = 242;
export const bucketOf = (t: number): number => Math.floor(t / INTERVAL) * INTERVAL;

/**
 * A flow reported in every bucket of [from, to) (each 15 s long, `offset` seconds into its bucket):
 * by default web-* to db-* in namespace shop, TCP, reported by the source, allowed; `key` changes that.
 */
export function everyBucket(from: number, to: number, key: TestFlowKey = {}, offset = 2): TestFlow[] {
  const out: TestFlow[] = [];
  for (let b = bucketOf(from); b < to; b += INTERVAL) {
    out.push({
      Key: {
        source_name: 'web-*',
        source_namespace: 'shop',
        source_type: ENDPOINT.wep,
        dest_name: 'db-*',
        dest_namespace: 'shop',
        dest_type: ENDPOINT.wep,
        proto: 'tcp',
        reporter: REPORTER.src,
        action: ACTION.allow,
        ...key,
      },
      start_time: b + offset,
      end_time: b + offset + INTERVAL,
      num_connections_started: 1,
    });
  }
  return out;
}

// ---------------------------------------------------------------- protobuf encoding by hand

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

function varint(out: number[], value: number): void {
  if (value >= 0 && value < 2 ** 31) {
    let v = value;
    while (v > 0x7f) {
      out.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    out.push(v);
    return;
  }
  // int64 two's complement (negative numbers take 10 bytes), as protobuf writes them.
  let v = BigInt.asUintN(64, BigInt(Math.trunc(value)));
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

export class Encoder {
  readonly parts: Buffer[] = [];
  #scalars: number[] = [];

  #flush(): void {
    if (this.#scalars.length > 0) {
      this.parts.push(Buffer.from(this.#scalars));
      this.#scalars = [];
    }
  }
  /** varint field; proto3 leaves out zeros. */
  int(field: number, value: number | undefined): this {
    if (value === undefined || value === 0) return this;
    this.#scalars.push(field << 3);
    varint(this.#scalars, value);
    return this;
  }
  /** A packed repeated varint field (proto3's default for repeated scalars and enums). */
  packed(field: number, values: readonly number[] | undefined): this {
    if (values === undefined || values.length === 0) return this;
    const body: number[] = [];
    for (const v of values) varint(body, v);
    return this.bytes(field, Buffer.from(body));
  }
  bytes(field: number, data: Buffer | undefined): this {
    if (data === undefined) return this;
    this.#scalars.push((field << 3) | LEN);
    varint(this.#scalars, data.length);
    this.#flush();
    this.parts.push(data);
    return this;
  }
  string(field: number, value: string | undefined): this {
    return value === undefined || value === '' ? this : this.bytes(field, Buffer.from(value, 'utf8'));
  }
  raw(data: Buffer): this {
    this.#flush();
    this.parts.push(data);
    return this;
  }
  finish(): Buffer {
    this.#flush();
    return this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
  }
}

function encodeHit(h: TestPolicyHit): Buffer {
  return new Encoder()
    .int(1, h.kind)
    .string(2, h.namespace)
    .string(3, h.name)
    .string(4, h.tier)
    .int(5, h.action)
    .int(6, h.policy_index)
    .int(7, h.rule_index)
    .bytes(8, h.trigger === undefined ? undefined : encodeHit(h.trigger))
    .finish();
}

function encodeKey(k: TestFlowKey): Buffer {
  const e = new Encoder()
    .string(1, k.source_name)
    .string(2, k.source_namespace)
    .int(3, k.source_type)
    .string(4, k.dest_name)
    .string(5, k.dest_namespace)
    .int(6, k.dest_type)
    .int(7, k.dest_port)
    .string(8, k.dest_service_name)
    .string(9, k.dest_service_namespace)
    .string(10, k.dest_service_port_name)
    .int(11, k.dest_service_port)
    .string(12, k.proto)
    .int(13, k.reporter)
    .int(14, k.action);
  if (k.policies !== undefined) {
    const trace = new Encoder();
    for (const h of k.policies.enforced_policies ?? []) trace.bytes(1, encodeHit(h));
    for (const h of k.policies.pending_policies ?? []) trace.bytes(2, encodeHit(h));
    e.bytes(15, trace.finish());
  }
  return e.finish();
}

// Flows repeat their keys and label lists (the bench serves a million flows of a few hundred
// templates): each is encoded once per object.
const keyCache = new WeakMap<TestFlowKey, Buffer>();
/** Per field (4 source, 5 dest): one array may be used for both. */
const labelCaches = new Map<number, WeakMap<string[], Buffer>>([
  [4, new WeakMap()],
  [5, new WeakMap()],
]);

export function encodedKey(k: TestFlowKey): Buffer {
  let b = keyCache.get(k);
  if (b === undefined) keyCache.set(k, (b = encodeKey(k)));
  return b;
}

function cachedLabels(field: number, labels: string[]): Buffer {
  const cache = labelCaches.get(field)!;
  let b = cache.get(labels);
  if (b === undefined) {
    const e = new Encoder();
    for (const l of labels) e.bytes(field, Buffer.from(l, 'utf8'));
    cache.set(labels, (b = e.finish()));
  }
  return b;
}

export function encodeFlow(f: TestFlow): Buffer {
  const w = new Writer(flowLength(f));
  writeFlow(w, f);
  return w.finish();
}

export function encodeFlowResult(id: number, flow: TestFlow): Buffer {
  const body = flowLength(flow);
  const w = new Writer(resultLength(id, body));
  writeResult(w, id, flow, body);
  return w.finish();
}

export function encodeListResult(
  meta: { totalPages: number; totalResults: number } | null,
  flows: Iterable<{ id: number; flow: TestFlow }>,
): Buffer {
  const w = new Writer(1 << 16);
  if (meta !== null) w.message(1, new Encoder().int(1, meta.totalPages).int(2, meta.totalResults).finish());
  for (const { id, flow } of flows) {
    const body = flowLength(flow);
    w.tag(2, LEN).varint(resultLength(id, body));
    writeResult(w, id, flow, body);
  }
  return w.finish();
}

// The bench serves a million flows: replies are written into one growing buffer, field by field,
// with the encoded key and label lists reused per object.

/** Bytes of a varint; negative int64 values take 10. */
function varintLength(value: number): number {
  if (value < 0) return 10;
  let n = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 128)) n++;
  return n;
}

/** A varint field's bytes; proto3 leaves out zeros. */
const intLength = (field: number, value: number | undefined): number =>
  value === undefined || value === 0 ? 0 : varintLength(field << 3) + varintLength(value);
const lenLength = (field: number, length: number): number => varintLength(field << 3) + varintLength(length) + length;

function flowLength(f: TestFlow): number {
  let n = f.Key === undefined ? 0 : lenLength(1, encodedKey(f.Key).length);
  n += intLength(2, f.start_time) + intLength(3, f.end_time);
  if (f.source_labels !== undefined && f.source_labels.length > 0) n += cachedLabels(4, f.source_labels).length;
  if (f.dest_labels !== undefined && f.dest_labels.length > 0) n += cachedLabels(5, f.dest_labels).length;
  for (const [i, c] of COUNTERS.entries()) n += intLength(6 + i, f[c]);
  return n;
}

const resultLength = (id: number, body: number): number => intLength(1, id) + lenLength(2, body);

function writeResult(w: Writer, id: number, flow: TestFlow, body: number): void {
  w.int(1, id).tag(2, LEN).varint(body);
  writeFlow(w, flow);
}

function writeFlow(w: Writer, f: TestFlow): void {
  if (f.Key !== undefined) w.message(1, encodedKey(f.Key));
  w.int(2, f.start_time).int(3, f.end_time);
  if (f.source_labels !== undefined && f.source_labels.length > 0) w.raw(cachedLabels(4, f.source_labels));
  if (f.dest_labels !== undefined && f.dest_labels.length > 0) w.raw(cachedLabels(5, f.dest_labels));
  for (const [i, c] of COUNTERS.entries()) w.int(6 + i, f[c]);
}

class Writer {
  #buf: Buffer;
  #at = 0;

  constructor(capacity: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(16, capacity));
  }

  #ensure(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#at + n));
    this.#buf.copy(bigger, 0, 0, this.#at);
    this.#buf = bigger;
  }

  varint(value: number): this {
    this.#ensure(10);
    if (value >= 0 && value < 2 ** 31) {
      let v = value;
      while (v > 0x7f) {
        this.#buf[this.#at++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.#buf[this.#at++] = v;
      return this;
    }
    const bytes: number[] = [];
    varint(bytes, value);
    for (const b of bytes) this.#buf[this.#at++] = b;
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  int(field: number, value: number | undefined): this {
    return value === undefined || value === 0 ? this : this.tag(field, VARINT).varint(value);
  }

  message(field: number, data: Buffer): this {
    return this.tag(field, LEN).varint(data.length).raw(data);
  }

  raw(data: Buffer): this {
    this.#ensure(data.length);
    data.copy(this.#buf, this.#at);
    this.#at += data.length;
    return this;
  }

  finish(): Buffer {
    return this.#buf.subarray(0, this.#at);
  }
}

// ---------------------------------------------------------------- decoding requests, per release

/** A message that does not parse: grpc-go answers INTERNAL "grpc: error unmarshalling request". */
class Unparsable extends Error {}

interface Field {
  field: number;
  wire: number;
  value: bigint | Buffer;
}

/** Every field of a message, in order; groups and malformed bytes throw (as protowire does). */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (at >= buf.length) throw new Unparsable('truncated varint');
      const byte = buf[at++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new Unparsable('varint too long');
  };
  const take = (n: number): Buffer => {
    if (n < 0 || at + n > buf.length) throw new Unparsable('truncated field');
    const b = buf.subarray(at, at + n);
    at += n;
    return b;
  };
  while (at < buf.length) {
    const tag = readVarint();
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (field === 0) throw new Unparsable('field number 0');
    if (wire === VARINT) out.push({ field, wire, value: readVarint() });
    else if (wire === LEN) out.push({ field, wire, value: take(Number(readVarint())) });
    else if (wire === FIXED64) out.push({ field, wire, value: take(8) });
    else if (wire === FIXED32) out.push({ field, wire, value: take(4) });
    else throw new Unparsable(`wire type ${wire}`);
  }
  return out;
}

const int64 = (f: Field): number => Number(BigInt.asIntN(64, f.value as bigint));
const enumOf = (f: Field): number => Number(BigInt.asIntN(32, f.value as bigint));
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A proto3 `string`: grpc-go rejects invalid UTF-8. */
function stringOf(f: Field): string {
  try {
    return utf8.decode(f.value as Buffer);
  } catch {
    throw new Unparsable('invalid UTF-8');
  }
}

/** A repeated varint field, packed (LEN) or not. */
function varints(f: Field, convert: (v: bigint) => number): number[] {
  return f.wire === VARINT ? [convert(f.value as bigint)] : packedVarints(f.value as Buffer, convert);
}

function packedVarints(buf: Buffer, convert: (v: bigint) => number): number[] {
  const out: number[] = [];
  let at = 0;
  while (at < buf.length) {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= buf.length || shift >= 70n) throw new Unparsable('truncated packed varint');
      const byte = buf[at++]!;
      v |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
    }
    out.push(convert(v));
  }
  return out;
}

const asEnum = (v: bigint): number => Number(BigInt.asIntN(32, v));

/** A field whose wire type is not the declared one is an unknown field to protobuf-go: skipped. */
const is = (f: Field, field: number, wire: number): boolean => f.field === field && f.wire === wire;

function decodeStringMatch(buf: Buffer): StringMatch {
  const out: StringMatch = { value: '', type: 0 };
  for (const f of fields(buf)) {
    if (is(f, 1, LEN)) out.value = stringOf(f);
    else if (is(f, 2, VARINT)) out.type = enumOf(f);
  }
  return out;
}

function decodePolicyMatch(buf: Buffer, release: Release): DecodedPolicyMatch {
  const strings = contractOf(release) === 'v3.30-v3.31';
  const out: DecodedPolicyMatch = { kind: 0, tier: null, namespace: null, name: null, action: 0 };
  if (strings) {
    out.tier = '';
    out.namespace = '';
    out.name = '';
  }
  for (const f of fields(buf)) {
    if (is(f, 1, VARINT)) out.kind = enumOf(f);
    else if (is(f, 5, VARINT)) out.action = enumOf(f);
    else if (f.wire === LEN && (f.field === 2 || f.field === 3 || f.field === 4)) {
      const value = strings ? stringOf(f) : decodeStringMatch(f.value as Buffer);
      if (f.field === 2) out.tier = value;
      else if (f.field === 3) out.namespace = value;
      else out.name = value;
    }
  }
  return out;
}

function decodeFilter(buf: Buffer, release: Release): DecodedFilter {
  const out: DecodedFilter = {
    source_names: [],
    source_namespaces: [],
    dest_names: [],
    dest_namespaces: [],
    protocols: [],
    dest_ports: [],
    actions: [],
    policies: [],
    reporter: 0,
    pending_actions: [],
  };
  const matches = [out.source_names, out.source_namespaces, out.dest_names, out.dest_namespaces, out.protocols];
  const newer = contractOf(release) === 'v3.32-main';
  for (const f of fields(buf)) {
    if (f.field >= 1 && f.field <= 5 && f.wire === LEN) matches[f.field - 1]!.push(decodeStringMatch(f.value as Buffer));
    else if (is(f, 6, LEN)) {
      let port = 0;
      for (const p of fields(f.value as Buffer)) if (is(p, 1, VARINT)) port = int64(p);
      out.dest_ports.push(port);
    } else if (f.field === 7 && (f.wire === LEN || f.wire === VARINT)) out.actions.push(...varints(f, asEnum));
    else if (is(f, 8, LEN)) out.policies.push(decodePolicyMatch(f.value as Buffer, release));
    else if (newer && is(f, 9, VARINT)) out.reporter = enumOf(f);
    else if (newer && f.field === 10 && (f.wire === LEN || f.wire === VARINT)) out.pending_actions.push(...varints(f, asEnum));
  }
  return out;
}

/** FlowListRequest as `release` reads it. Throws Unparsable where grpc-go would fail to unmarshal. */
export function decodeListRequest(buf: Buffer, release: Release = 'main'): ListRequest {
  const out: ListRequest = {
    start_time_gte: 0,
    start_time_lt: 0,
    page: 0,
    page_size: 0,
    sort_by: [],
    filter: null,
    aggregation_interval: 0,
  };
  for (const f of fields(buf)) {
    if (is(f, 1, VARINT)) out.start_time_gte = int64(f);
    else if (is(f, 2, VARINT)) out.start_time_lt = int64(f);
    else if (is(f, 3, VARINT)) out.page = int64(f);
    else if (is(f, 4, VARINT)) out.page_size = int64(f);
    else if (is(f, 5, LEN)) {
      let sortBy = 0;
      for (const s of fields(f.value as Buffer)) if (is(s, 1, VARINT)) sortBy = enumOf(s);
      out.sort_by.push(sortBy);
    } else if (is(f, 6, LEN)) out.filter = decodeFilter(f.value as Buffer, release);
    else if (is(f, 7, VARINT)) out.aggregation_interval = int64(f);
  }
  return out;
}

/** FlowStreamRequest as `release` reads it. */
export function decodeStreamRequest(buf: Buffer, release: Release = 'main'): StreamRequest {
  const out: StreamRequest = { start_time_gte: 0, filter: null, aggregation_interval: 0 };
  for (const f of fields(buf)) {
    if (is(f, 1, VARINT)) out.start_time_gte = int64(f);
    else if (is(f, 2, LEN)) out.filter = decodeFilter(f.value as Buffer, release);
    else if (is(f, 3, VARINT)) out.aggregation_interval = int64(f);
  }
  return out;
}

/** A PolicyMatch encoded as `release`'s clients encode it (for tests of what each release reads). */
export function encodePolicyMatch(
  release: Release,
  m: { kind?: number; tier?: string; namespace?: string; name?: string; action?: number },
): Buffer {
  const e = new Encoder().int(1, m.kind);
  const text = (field: number, value: string | undefined): void => {
    if (value === undefined) return;
    if (contractOf(release) === 'v3.30-v3.31') e.string(field, value);
    else e.bytes(field, new Encoder().string(1, value).finish());
  };
  text(2, m.tier);
  text(3, m.namespace);
  text(4, m.name);
  return e.int(5, m.action).finish();
}

// ---------------------------------------------------------------- Felix's policy strings, per release

/**
 * goldmane/proto/methods.go HitFromString of the release: a Felix flow-log policy entry
 * (`<index>|<tier>|<name part>|<action>|<rule index>`) as that release's Goldmane puts it on the
 * wire. Throws where it returns an error.
 */
export function goldmaneHit(release: Release, entry: string): TestPolicyHit {
  const parts = entry.split('|');
  if (parts.length !== 5) throw new Error(`unexpected policy label format: ${entry}`);
  const [indexText, tierText, namePart, actionText, ruleText] = parts as [string, string, string, string, string];
  const policyIndex = goInt(indexText);
  const action = ({ allow: ACTION.allow, deny: ACTION.deny, pass: ACTION.pass } as Record<string, number>)[actionText.toLowerCase()];
  if (action === undefined) throw new Error(`unexpected action: ${actionText}`);
  const ruleIndex = goInt(ruleText);
  const { kind, name, namespace } = contractOf(release) === 'v3.30-v3.31' ? namePartV331(namePart, tierText) : namePartV332(namePart);
  if (name === '') throw new Error(`invalid name: ${namePart}`);
  if (!isDnsSubdomain(name)) throw new Error(`invalid name: ${name}`);
  if (namespace !== '' && !isDnsLabel(namespace)) throw new Error(`invalid namespace: ${namespace}`);
  if (tierText === '') throw new Error('tier is required');
  let tier = tierText;
  if (tier === '__PROFILE__') tier = '';
  else if (!isDnsSubdomain(tier)) throw new Error(`invalid tier: ${tier}`);
  const hit: TestPolicyHit = { kind, tier, name, namespace, action, policy_index: policyIndex, rule_index: ruleIndex };
  if (ruleIndex === -1)
    return { kind: KIND.EndOfTier, tier, action, rule_index: -1, policy_index: policyIndex, trigger: { kind, name, namespace, tier } };
  return hit;
}

/** strconv.ParseInt(s, 10, 64). */
function goInt(text: string): number {
  if (!/^[+-]?\d+$/.test(text)) throw new Error(`invalid integer: ${text}`);
  return Number(text);
}

/** release-v3.31 goldmane/proto/methods.go (identical on release-v3.30). */
function namePartV331(namePart: string, tier: string): { kind: number; name: string; namespace: string } {
  const nameParts = namePart.split('/');
  let kind = 0;
  let n = '';
  let namespace = '';
  if (nameParts.length === 1) {
    n = nameParts[0]!;
    if (n.includes('staged:')) {
      kind = KIND.StagedGlobalNetworkPolicy;
      n = n.replace('staged:', '');
    } else if (n.startsWith('kanp.')) {
      kind = KIND.AdminNetworkPolicy;
      n = n.slice('kanp.'.length);
    } else if (n.startsWith('kbanp.')) {
      kind = KIND.BaselineAdminNetworkPolicy;
      n = n.slice('kbanp.'.length);
    } else if (n.startsWith('__PROFILE__.')) kind = KIND.Profile;
    else kind = KIND.GlobalNetworkPolicy;
  } else if (nameParts.length === 2) {
    n = nameParts[1]!;
    namespace = nameParts[0]!;
    if (n.startsWith('staged:knp.')) {
      kind = KIND.StagedKubernetesNetworkPolicy;
      n = n.slice('staged:knp.'.length);
    } else if (n.startsWith('knp.')) {
      kind = KIND.NetworkPolicy;
      n = n.slice('knp.'.length);
    } else if (n.includes('staged:')) {
      kind = KIND.StagedNetworkPolicy;
      n = n.replace('staged:', '');
    } else kind = KIND.CalicoNetworkPolicy;
  } else return { kind: 0, name: '', namespace: '' };
  // n is "<tier>.<name>"; the name may hold dots.
  const dotted = n.split('.');
  if (dotted[0] !== tier) throw new Error(`tier does not match: ${dotted[0]} != ${tier}`);
  return { kind, name: dotted.slice(1).join('.'), namespace };
}

/** release-v3.32 goldmane/proto/methods.go (identical on release-v3.33 and master); felix/types/policy_id.go. */
function namePartV332(namePart: string): { kind: number; name: string; namespace: string } {
  const short = namePart.split(':')[0]!;
  const kinds: Record<string, number> = {
    gnp: KIND.GlobalNetworkPolicy,
    snp: KIND.StagedNetworkPolicy,
    np: KIND.CalicoNetworkPolicy,
    knp: KIND.NetworkPolicy,
    sknp: KIND.StagedKubernetesNetworkPolicy,
    sgnp: KIND.StagedGlobalNetworkPolicy,
    kcnp: KIND.ClusterNetworkPolicy,
    pro: KIND.Profile,
  };
  const kind = kinds[short];
  const colon = namePart.indexOf(':');
  if (kind === undefined || colon === -1) throw new Error(`unexpected policy kind in name part: ${namePart}`);
  const nameParts = namePart.slice(colon + 1).split('/');
  if (nameParts.length === 1) return { kind, name: nameParts[0]!, namespace: '' };
  if (nameParts.length === 2) return { kind, name: nameParts[1]!, namespace: nameParts[0]! };
  return { kind, name: '', namespace: '' };
}

// ---------------------------------------------------------------- the store

export const TLS_DIR = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
export const tlsFile = (name: string): string => `${TLS_DIR}${name}`;

/** A GoldmaneConfig for a client of the test server, using the fixture certificates. */
export function goldmaneConfig(address: string, overrides: Partial<GoldmaneConfig> = {}): GoldmaneConfig {
  return {
    address,
    caFile: tlsFile('ca.pem'),
    certFile: tlsFile('client.pem'),
    keyFile: tlsFile('client-key.pem'),
    timeout: 5,
    ...overrides,
  };
}

/**
 * Felix's reports as a list, or (for big benches) generated on demand by index. A generated set
 * is a shortcut Goldmane knows nothing of: every index is a FlowKey of its own with one report,
 * so nothing needs grouping.
 */
export type FlowSet =
  | readonly TestFlow[]
  | {
      readonly count: number;
      at(index: number): TestFlow;
      /** The report's start_time without building it; never decreasing with the index, so a window is found by bisection. */
      startTime(index: number): number;
    };

const isList = (set: FlowSet): set is readonly TestFlow[] => Array.isArray(set);

/** A List answer before paging: how many flows, and the ones at [from, from + size) of its order. */
interface Listing {
  readonly total: number;
  take(from: number, size: number): { id: number; flow: TestFlow }[];
}

/** One FlowKey: its reports by bucket start. */
interface KeyEntry {
  readonly id: number;
  readonly key: TestFlowKey | undefined;
  readonly buckets: Map<number, TestFlow[]>;
}

/** mulberry32: a small seeded generator, so shuffles are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

const sortedLabels = new WeakMap<readonly string[], string[]>();
/** Goldmane keeps labels as a sorted set (types/flow.go toHandles). */
function sorted(labels: readonly string[] | undefined): string[] | undefined {
  if (labels === undefined || labels.length === 0) return undefined;
  let out = sortedLabels.get(labels);
  if (out === undefined) sortedLabels.set(labels, (out = [...labels].sort()));
  return out;
}

function intersect(a: string[] | undefined, b: string[] | undefined): string[] | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (a === b) return a;
  const keep = new Set(b);
  const out = a.filter((l) => keep.has(l));
  return out.length === 0 ? undefined : out;
}

const COUNTERS = [
  'packets_in',
  'packets_out',
  'bytes_in',
  'bytes_out',
  'num_connections_started',
  'num_connections_completed',
  'num_connections_live',
] as const;

/** A key's reports over `buckets` as one Flow (diachronic_flow.go AggregateWindows). */
function aggregate(key: TestFlowKey | undefined, reports: readonly (readonly [number, readonly TestFlow[]])[]): TestFlow {
  const out: TestFlow = {};
  if (key !== undefined) out.Key = key;
  let first = true;
  let source: string[] | undefined;
  let dest: string[] | undefined;
  for (const [bucket, flows] of reports) {
    for (const f of flows) {
      for (const c of COUNTERS) out[c] = (out[c] ?? 0) + (f[c] ?? 0);
      source = first ? sorted(f.source_labels) : intersect(source, sorted(f.source_labels));
      dest = first ? sorted(f.dest_labels) : intersect(dest, sorted(f.dest_labels));
      first = false;
    }
    if (out.start_time === undefined || bucket < out.start_time) out.start_time = bucket;
    if (out.end_time === undefined || bucket + INTERVAL > out.end_time) out.end_time = bucket + INTERVAL;
  }
  if (source !== undefined) out.source_labels = source;
  if (dest !== undefined) out.dest_labels = dest;
  return out;
}

// ---------------------------------------------------------------- the server

export interface GoldmaneServerOptions {
  /** Felix's reports. */
  flows?: FlowSet;
  /** Unix seconds the server takes as "now"; default the clock. rollover() moves it on by 15 s. */
  now?: () => number;
  /** The release whose contract and behaviour the server follows; default main. */
  release?: Release;
  /** Seed of the tie shuffles; default 1. */
  seed?: number;
  /** Defaults: the fixtures' server certificate and CA. */
  tls?: { ca: Buffer; cert: Buffer; key: Buffer };
}

export interface Fault {
  code: grpc.status;
  details: string;
}

interface OpenStream {
  readonly call: grpc.ServerWritableStream<Buffer, Buffer>;
  sent: number;
  open: boolean;
  /** Messages after which it breaks. */
  readonly breakAfter: number | null;
}

export class GoldmaneTestServer {
  readonly #server: grpc.Server;
  readonly port: number;
  readonly release: Release;
  /** Every List request received, in order (failed ones included), as the release read it. */
  readonly calls: ListRequest[] = [];
  /** Every Stream request received, in order. */
  readonly streamCalls: StreamRequest[] = [];
  /** Calls that reached the server in total (List and Stream). */
  callCount = 0;
  /** Milliseconds to wait before every List reply. */
  delayMs = 0;
  /** When set, every call fails with it. */
  failure: Fault | null = null;
  /** Replaces the reply's totalPages (a server that lies); null = the truth. */
  totalPagesOverride: number | null = null;
  /** Leave ListMetadata out of replies. */
  omitMeta = false;
  /** Reply to every List call with these bytes as the encoded FlowListResult (malformed replies). */
  rawListReply: Buffer | null = null;
  /** Per-call hook (call numbers count from 1): a fault or a delay for this call only. */
  onList: ((request: ListRequest, call: number) => { fault?: Fault; delayMs?: number } | undefined) | null = null;
  /** The next Stream meets the registration race (see the header). */
  streamRace = false;
  /** The next streams, one each, end with UNAVAILABLE once they have sent this many messages. */
  readonly breakStreamsAfter: number[] = [];
  #failNext: Fault[] = [];
  #flows: FlowSet = [];
  #keys: KeyEntry[] = [];
  readonly #baseNow: () => number;
  #elapsed = 0;
  readonly #seed: number;
  #shuffles = 0;
  readonly #streams = new Set<OpenStream>();
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(server: grpc.Server, port: number, options: GoldmaneServerOptions) {
    this.#server = server;
    this.port = port;
    this.release = options.release ?? 'main';
    this.#baseNow = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.#seed = options.seed ?? 1;
    this.setFlows(options.flows ?? []);
  }

  static async start(options: GoldmaneServerOptions = {}): Promise<GoldmaneTestServer> {
    // Before anything is bound: flows this release cannot send fail the start.
    checkRelease(options.flows ?? [], options.release ?? 'main');
    const tls = options.tls ?? {
      ca: readFileSync(tlsFile('ca.pem')),
      cert: readFileSync(tlsFile('server.pem')),
      key: readFileSync(tlsFile('server-key.pem')),
    };
    const server = new grpc.Server();
    const credentials = grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    const instance = new GoldmaneTestServer(server, port, options);
    server.addService(service(), {
      List: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => instance.#list(call, callback),
      Stream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => instance.#stream(call),
    });
    return instance;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The server's "now" (Unix seconds). */
  now(): number {
    return this.#baseNow() + this.#elapsed;
  }

  setFlows(flows: FlowSet): void {
    this.#flows = flows;
    this.#keys = [];
    if (!isList(flows)) return;
    checkRelease(flows, this.release);
    const byKey = new Map<string, KeyEntry>();
    for (const f of flows) {
      const id = f.Key === undefined ? '' : encodedKey(f.Key).toString('latin1');
      let entry = byKey.get(id);
      if (entry === undefined) {
        entry = { id: byKey.size + 1, key: f.Key, buckets: new Map() };
        byKey.set(id, entry);
        this.#keys.push(entry);
      }
      const bucket = bucketOf(f.start_time ?? 0);
      const reports = entry.buckets.get(bucket);
      if (reports === undefined) entry.buckets.set(bucket, [f]);
      else reports.push(f);
    }
  }

  /** Adds reports (a list-backed store only), e.g. the next bucket's before a rollover(). */
  addFlows(flows: readonly TestFlow[]): void {
    if (!isList(this.#flows)) throw new Error('addFlows needs a list of flows');
    this.setFlows([...this.#flows, ...flows]);
  }

  /** The next `n` calls fail with `code` (UNAVAILABLE by default). */
  failNext(n: number, code: grpc.status = grpc.status.UNAVAILABLE, details = 'injected fault'): void {
    for (let i = 0; i < n; i++) this.#failNext.push({ code, details });
  }

  /** Streams open now. */
  get openStreams(): number {
    return [...this.#streams].filter((s) => s.open).length;
  }

  /**
   * Goldmane's rollover: the streaming bucket (two before the head: [T - 15, T) for now in
   * [T, T + 15)) goes to every open stream, then time moves on by one interval.
   */
  rollover(): void {
    const flows = this.#bucketResults(bucketOf(this.now()) - INTERVAL);
    for (const s of this.#streams) for (const bytes of flows) this.#send(s, bytes);
    this.#elapsed += INTERVAL;
  }

  /** Ends every open stream with a status (a restarting Goldmane). */
  endStreams(code: grpc.status = grpc.status.UNAVAILABLE, details = 'injected stream end'): void {
    for (const s of this.#streams) this.#end(s, { code, details });
  }

  async close(): Promise<void> {
    this.#clearTimers();
    for (const s of this.#streams) if (s.open) s.call.end();
    this.#streams.clear();
    await new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve()));
  }

  /** Stops at once, cutting calls in flight. */
  forceClose(): void {
    this.#clearTimers();
    this.#streams.clear();
    this.#server.forceShutdown();
  }

  #clearTimers(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #fault(): Fault | null {
    this.callCount++;
    return this.#failNext.shift() ?? this.failure;
  }

  /** The ring: buckets [T - 3600, T + 30) for now in [T, T + 15). */
  #history(): { oldest: number; end: number; now: number; filling: number } {
    const now = this.now();
    const filling = bucketOf(now);
    return { oldest: filling + 2 * INTERVAL - NUM_BUCKETS * INTERVAL, end: filling + 2 * INTERVAL, now, filling };
  }

  /**
   * Each key with a bucket held in [from, to), with all its buckets held, as [bucket, reports]
   * pairs; generated sets: one key per index, found by bisection.
   */
  *#held(
    from: number,
    to: number,
  ): Generator<{ id: number; key: TestFlowKey | undefined; reports: (readonly [number, readonly TestFlow[]])[]; index: number }> {
    const { oldest, end } = this.#history();
    const lo = Math.max(from, oldest);
    const hi = Math.min(to, end);
    const set = this.#flows;
    if (isList(set)) {
      for (const entry of this.#keys) {
        if (![...entry.buckets.keys()].some((b) => b >= lo && b < hi)) continue;
        const reports = [...entry.buckets].filter(([b]) => b >= oldest && b < end).sort((a, b) => a[0] - b[0]);
        yield { id: entry.id, key: entry.key, reports, index: -1 };
      }
      return;
    }
    // The first index whose bucket is at or after `bound`.
    const firstAt = (bound: number): number => {
      let a = 0;
      let b = set.count;
      while (a < b) {
        const m = (a + b) >>> 1;
        if (bucketOf(set.startTime(m)) < bound) a = m + 1;
        else b = m;
      }
      return a;
    };
    for (let i = firstAt(lo), last = firstAt(hi); i < last; i++)
      yield { id: i + 1, key: undefined, reports: [[bucketOf(set.startTime(i)), []]], index: i };
  }

  /** A generated set's report `index`, as its one-bucket flow. */
  #generated(index: number): TestFlow {
    const set = this.#flows as Exclude<FlowSet, readonly TestFlow[]>;
    const f = set.at(index);
    const b = bucketOf(set.startTime(index));
    return {
      Key: f.Key,
      start_time: b,
      end_time: b + INTERVAL,
      source_labels: sorted(f.source_labels),
      dest_labels: sorted(f.dest_labels),
      packets_in: f.packets_in,
      packets_out: f.packets_out,
      bytes_in: f.bytes_in,
      bytes_out: f.bytes_out,
      num_connections_started: f.num_connections_started,
      num_connections_completed: f.num_connections_completed,
      num_connections_live: f.num_connections_live,
    };
  }

  /** RingIndex.List: the window's flows, newest start first, ties shuffled anew. */
  #listFlows(gte: number, lt: number): Listing {
    const random = prng(this.#seed * 7919 + this.#shuffles++);
    if (!isList(this.#flows)) return this.#listGenerated(gte, lt, random);
    const byStart = new Map<number, { id: number; flow: () => TestFlow }[]>();
    for (const held of this.#held(gte, lt)) {
      const inside = held.reports.filter(([b]) => b >= gte && b + INTERVAL <= lt);
      const start = inside.length === 0 ? 0 : inside[0]![0];
      let group = byStart.get(start);
      if (group === undefined) byStart.set(start, (group = []));
      group.push({ id: held.id, flow: () => aggregate(held.key, inside) });
    }
    const all = [...byStart.keys()].sort((a, b) => b - a).flatMap((start) => shuffle(byStart.get(start)!, random));
    return { total: all.length, take: (from, size) => all.slice(from, from + size).map((f) => ({ id: f.id, flow: f.flow() })) };
  }

  /** A generated set (one key and bucket per index, in time order): bucket ranges, shuffled when taken. */
  #listGenerated(gte: number, lt: number, random: () => number): Listing {
    const set = this.#flows as Exclude<FlowSet, readonly TestFlow[]>;
    const { oldest, end } = this.#history();
    const firstAt = (bound: number): number => {
      let a = 0;
      let b = set.count;
      while (a < b) {
        const m = (a + b) >>> 1;
        if (bucketOf(set.startTime(m)) < bound) a = m + 1;
        else b = m;
      }
      return a;
    };
    const first = firstAt(Math.max(gte, oldest));
    const last = firstAt(Math.min(lt, end));
    // A bucket the window's end cuts: its flows have no statistics in the window (start_time 0), listed last.
    const cut = Math.max(first, firstAt(lt - INTERVAL + 1));
    const groups: { from: number; to: number; zero: boolean }[] = [];
    for (let to = cut; to > first; ) {
      const from = Math.max(first, firstAt(bucketOf(set.startTime(to - 1))));
      groups.push({ from, to, zero: false });
      to = from;
    }
    if (last > cut) groups.push({ from: cut, to: last, zero: true });
    const flowOf = (index: number, zero: boolean): TestFlow =>
      zero
        ? { ...this.#generated(index), start_time: 0, end_time: 0, source_labels: [], dest_labels: [], ...zeroCounters }
        : this.#generated(index);
    return {
      total: last - first,
      take: (from, size) => {
        const out: { id: number; flow: TestFlow }[] = [];
        let at = 0;
        for (const group of groups) {
          const length = group.to - group.from;
          if (at + length > from && out.length < size) {
            const order = shuffle(
              Array.from({ length }, (_, i) => group.from + i),
              random,
            );
            for (const index of order.slice(Math.max(0, from - at), Math.max(0, from - at) + size - out.length))
              out.push({ id: index + 1, flow: flowOf(index, group.zero) });
          }
          at += length;
          if (out.length >= size) break;
        }
        return out;
      },
    };
  }

  /** The flows of one bucket, one FlowResult per key, in an order that changes per call. */
  #bucketResults(bucket: number): Buffer[] {
    const out: Buffer[] = [];
    for (const held of this.#held(bucket, bucket + INTERVAL)) {
      const reports = held.reports.filter(([b]) => b === bucket);
      if (reports.length === 0) continue;
      out.push(encodeFlowResult(held.id, held.index >= 0 ? this.#generated(held.index) : aggregate(held.key, reports)));
    }
    return shuffle(out, prng(this.#seed * 104729 + this.#shuffles++));
  }

  #list(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void {
    let request: ListRequest;
    try {
      request = decodeListRequest(call.request, this.release);
    } catch (e) {
      this.callCount++;
      callback({ code: grpc.status.INTERNAL, details: `grpc: error unmarshalling request: ${(e as Error).message}` });
      return;
    }
    this.calls.push(request);
    const hook = this.onList?.(request, this.calls.length);
    const queued = this.#fault();
    const fault = hook?.fault ?? queued;
    const delayMs = hook?.delayMs ?? this.delayMs;
    const reply = (): void => {
      if (fault !== null) return callback({ code: fault.code, details: fault.details });
      if (this.rawListReply !== null) return callback(null, this.rawListReply);
      const answer = this.#answerList(request);
      if ('error' in answer) callback(answer.error);
      else callback(null, answer.reply);
    };
    if (delayMs > 0) {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        reply();
      }, delayMs);
      this.#timers.add(timer);
      // A client that gave up (deadline) gets no reply: nothing is left waiting.
      call.on('cancelled', () => {
        clearTimeout(timer);
        this.#timers.delete(timer);
      });
    } else reply();
  }

  #answerList(request: ListRequest): { reply: Buffer } | { error: Partial<grpc.StatusObject> } {
    if (request.filter !== null)
      return { error: { code: grpc.status.FAILED_PRECONDITION, details: 'the test server does not apply filters' } };
    const { oldest, now } = this.#history();
    // goldmane.go normalizeTimeRange and validateTimeRange / validateListRequest: plain Go errors (UNKNOWN).
    const gte = request.start_time_gte < 0 ? now + request.start_time_gte : request.start_time_gte === 0 ? oldest : request.start_time_gte;
    const lt = request.start_time_lt < 0 ? now + request.start_time_lt : request.start_time_lt === 0 ? now : request.start_time_lt;
    if (gte >= lt) return { error: { code: grpc.status.UNKNOWN, details: `startTimeGt (${gte}) must be less than startTimeLt (${lt})` } };
    if (request.sort_by.length > 1) return { error: { code: grpc.status.UNKNOWN, details: 'at most one sort order is supported' } };
    if (request.sort_by.length === 1 && request.sort_by[0] !== 0)
      return { error: { code: grpc.status.UNIMPLEMENTED, details: 'the test server sorts by time only' } };
    const listing = this.#listFlows(gte, lt);
    const total = listing.total;
    let page: { id: number; flow: TestFlow }[];
    let meta = listMeta(total, request.page_size);
    if (request.page_size > 0) {
      const from = request.page * request.page_size;
      if (from >= total) {
        page = [];
        meta = { totalPages: 0, totalResults: 0 };
      } else page = listing.take(from, request.page_size);
    } else page = listing.take(0, total);
    if (this.totalPagesOverride !== null) meta = { ...meta, totalPages: this.totalPagesOverride };
    return { reply: encodeListResult(this.omitMeta ? null : meta, page) };
  }

  #stream(call: grpc.ServerWritableStream<Buffer, Buffer>): void {
    let request: StreamRequest;
    try {
      request = decodeStreamRequest(call.request, this.release);
    } catch (e) {
      this.callCount++;
      call.emit('error', { code: grpc.status.INTERNAL, details: `grpc: error unmarshalling request: ${(e as Error).message}` });
      return;
    }
    this.streamCalls.push(request);
    const fault = this.#fault();
    if (fault !== null) return void call.emit('error', { code: fault.code, details: fault.details });
    if (request.filter !== null)
      return void call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details: 'the test server does not apply filters' });
    const stream: OpenStream = { call, sent: 0, open: true, breakAfter: this.breakStreamsAfter.shift() ?? null };
    call.on('cancelled', () => {
      stream.open = false;
      this.#streams.delete(stream);
    });
    // goldmane.go Stream: only a non-zero start time is resolved (0 means now: no history).
    const gte = request.start_time_gte < 0 ? this.now() + request.start_time_gte : request.start_time_gte;
    this.#streams.add(stream);
    let early: Buffer[] = [];
    if (this.streamRace) {
      // A rollover between registering the stream and backfilling it: its bucket goes live to
      // every stream, this one included, before the backfill is computed.
      this.streamRace = false;
      early = this.#bucketResults(bucketOf(this.now()) - INTERVAL);
      for (const s of this.#streams) if (s !== stream) for (const bytes of early) this.#send(s, bytes);
      this.#elapsed += INTERVAL;
    }
    const history = gte === 0 ? [] : this.#backfillBuckets(gte).flatMap((b) => this.#bucketResults(b));
    const messages =
      early.length === 0 ? history : contractOf(this.release) === 'v3.32-main' ? [...early, ...history] : interleave(early, history);
    for (const bytes of messages) this.#send(stream, bytes);
  }

  /** bucket_ring.go Backfill: the buckets from the one holding gte to the streaming bucket (excluded). */
  #backfillBuckets(gte: number): number[] {
    const { oldest, end, filling } = this.#history();
    // findBucket fails outside the ring: iterBucketsTime returns an error and nothing is sent.
    if (gte < oldest || gte >= end) return [];
    const first = bucketOf(gte);
    const streaming = filling - INTERVAL;
    const buckets: number[] = [];
    if (first <= streaming) {
      for (let b = first; b < streaming; b += INTERVAL) buckets.push(b);
      return buckets;
    }
    // iterBuckets from a start after the end goes round the ring: first .. head, oldest .. streaming.
    const ready = (b: number): boolean => contractOf(this.release) === 'v3.30-v3.31' || b < streaming;
    for (let b = first; b < end; b += INTERVAL) if (ready(b)) buckets.push(b);
    for (let b = oldest; b < streaming; b += INTERVAL) buckets.push(b);
    return buckets;
  }

  #send(stream: OpenStream, bytes: Buffer): void {
    if (!stream.open) return;
    if (stream.breakAfter !== null && stream.sent >= stream.breakAfter) {
      this.#end(stream, { code: grpc.status.UNAVAILABLE, details: 'injected stream break' });
      return;
    }
    stream.sent++;
    stream.call.write(bytes);
  }

  #end(stream: OpenStream, status: Fault): void {
    if (!stream.open) return;
    stream.open = false;
    this.#streams.delete(stream);
    stream.call.emit('error', status);
  }
}

const zeroCounters = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Record<(typeof COUNTERS)[number], number>;

/** index.go calculateListMeta. */
function listMeta(total: number, pageSize: number): { totalPages: number; totalResults: number } {
  if (total === 0) return { totalPages: 0, totalResults: 0 };
  if (pageSize <= 0) return { totalPages: 1, totalResults: total };
  return { totalPages: Math.ceil(total / pageSize), totalResults: total };
}

/** Two sequences merged one by one (3.30's live goroutine racing the main loop's backfill). */
function interleave(a: readonly Buffer[], b: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i < a.length) out.push(a[i]!);
    if (i < b.length) out.push(b[i]!);
  }
  return out;
}

/** Throws when a listed flow uses a policy kind of the other contract. */
function checkRelease(flows: FlowSet, release: Release): void {
  if (!isList(flows)) return;
  const foreign = foreignKinds(release);
  const check = (h: TestPolicyHit): void => {
    if (h.kind !== undefined && foreign.has(h.kind)) throw new Error(`Goldmane ${release} has no PolicyKind ${h.kind}`);
    if (h.trigger !== undefined) check(h.trigger);
  };
  for (const f of flows) {
    for (const h of f.Key?.policies?.enforced_policies ?? []) check(h);
    for (const h of f.Key?.policies?.pending_policies ?? []) check(h);
  }
}

const passBuffer = (b: Buffer): Buffer => b;
const serverOnly = (): Buffer => {
  throw new Error('server side only');
};

/** Requests stay bytes: each handler decodes them as its release does. */
function service(): grpc.ServiceDefinition {
  const method = (name: string, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> => ({
    path: `/goldmane.Flows/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: serverOnly,
    requestDeserialize: passBuffer,
    responseSerialize: passBuffer,
    responseDeserialize: passBuffer,
    originalName: name,
  });
  return { List: method('List', false), Stream: method('Stream', true) };
}

// ---------------------------------------------------------------- scenario flows as Goldmane reports them

/** A profile hit as Goldmane reports it: no tier (Goldmane hides `__PROFILE__`), name `kns.<ns>`. */
export function profileHit(profile: string, index = 0): TestPolicyHit {
  return goldmaneHit('3.31', `${index}|__PROFILE__|__PROFILE__.${profile}|allow|0`);
}

function endpointFields(e: Endpoint, shape: RecordShape): { name: string; namespace: string; type: number; labels: string[] } {
  switch (e.type) {
    case 'wep':
      return {
        name: podNameAggr(e.workload),
        namespace: e.workload.namespace,
        type: ENDPOINT.wep,
        labels: [...recordPodLabels(e.workload, shape)],
      };
    case 'hep':
      return { name: e.name, namespace: '', type: ENDPOINT.hep, labels: [...e.labels] };
    case 'ns':
      return { name: e.name, namespace: e.namespace === '-' ? '' : e.namespace, type: ENDPOINT.ns, labels: [...e.labels] };
    case 'net':
      return { name: e.name, namespace: '', type: ENDPOINT.net, labels: [] };
  }
}

/** The scenarios write 3.31 flow-log policy strings: they become hits as Goldmane 3.31 builds them (Goldmane has no all_policies). */
function traceOf(t: FlowTemplate, reporter: ScenarioReporter, shape: RecordShape): TestFlowKey['policies'] {
  const trace = traceEntries(t, reporter, shape);
  if (trace === null) return undefined;
  const hits = (entries: readonly string[]) => entries.map((e) => goldmaneHit('3.31', e));
  return { enforced_policies: hits(trace.enforced), pending_policies: hits(trace.pending) };
}

/**
 * One Goldmane flow per scenario flow and reporter (the scenario's distinct flows), without times
 * or counters. Goldmane knows no IPs or domains, so those parts of the scenario are lost (and
 * flows that differ only there share a FlowKey). `shape` as in the generator (src/generator/
 * record.ts): `full` gives pods Helm's labels and every trace two hits.
 */
export function scenarioGoldmaneFlows(
  scenario: Scenario,
  shape: RecordShape = 'compact',
): { flow: TestFlow; template: FlowTemplate; reporter: ScenarioReporter }[] {
  return compileFlows(scenario).map(({ template: t, reporter }) => {
    const src = endpointFields(t.source, shape);
    const dst = endpointFields(t.dest, shape);
    const key: TestFlowKey = {
      source_name: src.name,
      source_namespace: src.namespace,
      source_type: src.type,
      dest_name: dst.name,
      dest_namespace: dst.namespace,
      dest_type: dst.type,
      dest_port: t.port ?? 0,
      proto: t.proto,
      reporter: REPORTER[reporter],
      action: ACTION[t.action],
    };
    if (t.service !== undefined) {
      key.dest_service_name = t.service.name;
      key.dest_service_namespace = t.service.namespace;
      key.dest_service_port_name = t.service.portName;
      key.dest_service_port = t.service.port;
    }
    const policies = traceOf(t, reporter, shape);
    if (policies !== undefined) key.policies = policies;
    return { flow: { Key: key, source_labels: src.labels, dest_labels: dst.labels, num_connections_started: 1 }, template: t, reporter };
  });
}
