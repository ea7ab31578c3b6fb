// A real Goldmane stand-in for tests and the bench: a gRPC server on 127.0.0.1 (ephemeral port)
// serving goldmane.Flows over mutual TLS (client certificates required and verified).
//
// Its messages are encoded and decoded here by hand from the field numbers of the wire contract
// (reference calico.md section 5), not from src/.../goldmane.proto: a wrong field number or enum
// in our .proto fails the end-to-end tests instead of agreeing with itself. Hostile values
// (unknown enum numbers, any strings, negative numbers) go on the wire exactly as given.
//
// Paging and time filtering follow Goldmane: flows whose start_time lies in [start_time_gte,
// start_time_lt) (0 = oldest / now, negative = relative to now), 0-based `page` of `page_size`,
// `totalPages` = ceil(matching / page_size). Faults: fail the next N calls with a status, fail every
// call with a status, delay every reply.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type { GoldmaneConfig } from '../../src/deployment/deployment-config.ts';
import { podLabels, podNameAggr, type Endpoint, type FlowTemplate, type Reporter as ScenarioReporter, type Scenario } from '../../src/generator/scenario.ts';
import { compileFlows } from '../../src/generator/record.ts';

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

export interface ListRequest {
  start_time_gte: number;
  start_time_lt: number;
  page: number;
  page_size: number;
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
  Profile: 9,
  EndOfTier: 10,
  ClusterNetworkPolicy: 11,
} as const;

// ---------------------------------------------------------------- protobuf encoding by hand

const LEN = 2;

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

// Flows repeat their keys and label lists (the bench serves a million records of a few hundred
// distinct flows): each is encoded once per object.
const keyCache = new WeakMap<TestFlowKey, Buffer>();
/** Per field (4 source, 5 dest): one array may be used for both. */
const labelCaches = new Map<number, WeakMap<string[], Buffer>>([
  [4, new WeakMap()],
  [5, new WeakMap()],
]);

function cachedKey(k: TestFlowKey): Buffer {
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
  const e = new Encoder();
  if (f.Key !== undefined) e.bytes(1, cachedKey(f.Key));
  e.int(2, f.start_time).int(3, f.end_time);
  if (f.source_labels !== undefined && f.source_labels.length > 0) e.raw(cachedLabels(4, f.source_labels));
  if (f.dest_labels !== undefined && f.dest_labels.length > 0) e.raw(cachedLabels(5, f.dest_labels));
  return e
    .int(6, f.packets_in)
    .int(7, f.packets_out)
    .int(8, f.bytes_in)
    .int(9, f.bytes_out)
    .int(10, f.num_connections_started)
    .int(11, f.num_connections_completed)
    .int(12, f.num_connections_live)
    .finish();
}

function encodeListResult(meta: { totalPages: number; totalResults: number } | null, flows: Iterable<{ id: number; flow: TestFlow }>): Buffer {
  const e = new Encoder();
  if (meta !== null) e.bytes(1, new Encoder().int(1, meta.totalPages).int(2, meta.totalResults).finish());
  for (const { id, flow } of flows) e.bytes(2, new Encoder().int(1, id).bytes(2, encodeFlow(flow)).finish());
  return e.finish();
}

export function encodeFlowResult(id: number, flow: TestFlow): Buffer {
  return new Encoder().int(1, id).bytes(2, encodeFlow(flow)).finish();
}

/** Reads FlowListRequest's varint fields (1-4, 7); skips the rest (sort_by, filter). */
export function decodeListRequest(buf: Buffer): ListRequest {
  const out: ListRequest = { start_time_gte: 0, start_time_lt: 0, page: 0, page_size: 0, aggregation_interval: 0 };
  let at = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= buf.length) throw new Error('truncated varint');
      const byte = buf[at++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (at < buf.length) {
    const tag = Number(readVarint());
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) {
      const value = Number(BigInt.asIntN(64, readVarint()));
      if (field === 1) out.start_time_gte = value;
      else if (field === 2) out.start_time_lt = value;
      else if (field === 3) out.page = value;
      else if (field === 4) out.page_size = value;
      else if (field === 7) out.aggregation_interval = value;
    } else if (wire === LEN) {
      at += Number(readVarint());
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new Error(`unexpected wire type ${wire}`);
  }
  return out;
}

/** FlowStreamRequest: start_time_gte (1) and aggregation_interval (3). */
function decodeStreamRequest(buf: Buffer): { start_time_gte: number } {
  const list = decodeListRequest(buf);
  return { start_time_gte: list.start_time_gte };
}

// ---------------------------------------------------------------- the server

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

/** Flows as a list, or (for big benches) generated on demand by index. */
export type FlowSet =
  | readonly TestFlow[]
  | {
      readonly count: number;
      at(index: number): TestFlow;
      /** The flow's start_time without building it: time filtering of big sets stays cheap. */
      startTime?(index: number): number;
    };

const isList = (set: FlowSet): set is readonly TestFlow[] => Array.isArray(set);

export interface GoldmaneServerOptions {
  flows?: FlowSet;
  /** Unix seconds the server takes as "now" for 0 and relative times; default the clock. */
  now?: () => number;
  /** Defaults: the fixtures' server certificate and CA. */
  tls?: { ca: Buffer; cert: Buffer; key: Buffer };
}

export interface Fault {
  code: grpc.status;
  details: string;
}

export class GoldmaneTestServer {
  readonly #server: grpc.Server;
  readonly port: number;
  /** Every List request received, in order (failed ones included). */
  readonly calls: ListRequest[] = [];
  /** Calls that reached the server in total (List and Stream). */
  callCount = 0;
  /** Milliseconds to wait before every reply. */
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
  #failNext: Fault[] = [];
  #flows: FlowSet;
  #now: () => number;
  #filtered = new Map<string, Uint32Array>();
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(server: grpc.Server, port: number, options: GoldmaneServerOptions) {
    this.#server = server;
    this.port = port;
    this.#flows = options.flows ?? [];
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  static async start(options: GoldmaneServerOptions = {}): Promise<GoldmaneTestServer> {
    const tls = options.tls ?? { ca: readFileSync(tlsFile('ca.pem')), cert: readFileSync(tlsFile('server.pem')), key: readFileSync(tlsFile('server-key.pem')) };
    const server = new grpc.Server();
    const credentials = grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    const instance = new GoldmaneTestServer(server, port, options);
    server.addService(SERVICE, {
      List: (call: grpc.ServerUnaryCall<ListRequest, Buffer>, callback: grpc.sendUnaryData<Buffer>) => instance.#list(call, callback),
      Stream: (call: grpc.ServerWritableStream<{ start_time_gte: number }, Buffer>) => instance.#stream(call),
    });
    return instance;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  setFlows(flows: FlowSet): void {
    this.#flows = flows;
    this.#filtered.clear();
  }

  /** The next `n` calls fail with `code` (UNAVAILABLE by default). */
  failNext(n: number, code: grpc.status = grpc.status.UNAVAILABLE, details = 'injected fault'): void {
    for (let i = 0; i < n; i++) this.#failNext.push({ code, details });
  }

  async close(): Promise<void> {
    this.#clearTimers();
    await new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve()));
  }

  /** Stops at once, cutting calls in flight. */
  forceClose(): void {
    this.#clearTimers();
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

  #flowAt(i: number): TestFlow {
    const set = this.#flows;
    return isList(set) ? set[i]! : set.at(i);
  }

  #count(): number {
    const set = this.#flows;
    return isList(set) ? set.length : set.count;
  }

  /** Indices of the flows starting in [gte, lt), computed once per window. */
  #matching(gteRaw: number, ltRaw: number): Uint32Array {
    const now = this.#now();
    const gte = gteRaw === 0 ? -Infinity : gteRaw < 0 ? now + gteRaw : gteRaw;
    const lt = ltRaw === 0 ? now : ltRaw < 0 ? now + ltRaw : ltRaw;
    const cacheKey = `${gte}:${lt}`;
    let hits = this.#filtered.get(cacheKey);
    if (hits === undefined) {
      const n = this.#count();
      const all = new Uint32Array(n);
      const set = this.#flows;
      const startOf = !isList(set) && set.startTime !== undefined ? set.startTime.bind(set) : (i: number) => this.#flowAt(i).start_time ?? 0;
      let m = 0;
      for (let i = 0; i < n; i++) {
        const start = startOf(i);
        if (start >= gte && start < lt) all[m++] = i;
      }
      hits = all.subarray(0, m);
      this.#filtered.set(cacheKey, hits);
    }
    return hits;
  }

  #list(call: grpc.ServerUnaryCall<ListRequest, Buffer>, callback: grpc.sendUnaryData<Buffer>): void {
    const request = call.request;
    this.calls.push(request);
    const hook = this.onList?.(request, this.calls.length);
    const queued = this.#fault();
    const fault = hook?.fault ?? queued;
    const delayMs = hook?.delayMs ?? this.delayMs;
    const reply = (): void => {
      if (fault !== null) {
        callback({ code: fault.code, details: fault.details });
        return;
      }
      if (this.rawListReply !== null) {
        callback(null, this.rawListReply);
        return;
      }
      const matching = this.#matching(request.start_time_gte, request.start_time_lt);
      const size = request.page_size > 0 ? request.page_size : matching.length;
      const totalPages = size === 0 ? 0 : Math.ceil(matching.length / size);
      const from = request.page_size > 0 ? request.page * size : 0;
      const to = Math.min(matching.length, from + size);
      const page = function* (this: GoldmaneTestServer): Generator<{ id: number; flow: TestFlow }> {
        for (let j = from; j < to; j++) yield { id: matching[j]! + 1, flow: this.#flowAt(matching[j]!) };
      }.call(this);
      const meta = this.omitMeta ? null : { totalPages: this.totalPagesOverride ?? totalPages, totalResults: matching.length };
      callback(null, encodeListResult(meta, page));
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

  #stream(call: grpc.ServerWritableStream<{ start_time_gte: number }, Buffer>): void {
    const fault = this.#fault();
    if (fault !== null) {
      call.emit('error', { code: fault.code, details: fault.details });
      return;
    }
    // History from start_time_gte, then the end (a real Goldmane would keep the stream open).
    for (const i of this.#matching(call.request.start_time_gte, 0)) call.write(encodeFlowResult(i + 1, this.#flowAt(i)));
    call.end();
  }
}

const passBuffer = (b: Buffer): Buffer => b;
const SERVICE: grpc.ServiceDefinition = {
  List: {
    path: '/goldmane.Flows/List',
    requestStream: false,
    responseStream: false,
    requestSerialize: () => {
      throw new Error('server side only');
    },
    requestDeserialize: decodeListRequest,
    responseSerialize: passBuffer,
    responseDeserialize: passBuffer,
    originalName: 'List',
  },
  Stream: {
    path: '/goldmane.Flows/Stream',
    requestStream: false,
    responseStream: true,
    requestSerialize: () => {
      throw new Error('server side only');
    },
    requestDeserialize: decodeStreamRequest,
    responseSerialize: passBuffer,
    responseDeserialize: passBuffer,
    originalName: 'Stream',
  },
};

// ---------------------------------------------------------------- scenario flows as Goldmane reports them

/** A profile hit as Goldmane reports it: no tier (Goldmane hides `__PROFILE__`), name `kns.<ns>`. */
export function profileHit(profile: string, index = 0): TestPolicyHit {
  return { kind: KIND.Profile, name: profile, action: ACTION.allow, policy_index: index, rule_index: 0 };
}

/**
 * A flow-log policy entry (`<index>|<tier>|<policy>|<action>|<rule>`) as Goldmane's structured hit,
 * the inverse of the flow-log naming: rule -1 is the tier's end (EndOfTier with a trigger).
 */
export function hitFromFlowLog(entry: string): TestPolicyHit {
  const [index, tier, policy, action, rule] = entry.split('|') as [string, string, string, string, string];
  const slash = policy.indexOf('/');
  const namespace = slash === -1 ? undefined : policy.slice(0, slash);
  const namePart = slash === -1 ? policy : policy.slice(slash + 1);
  let kind: number;
  let name: string;
  if (tier === '__PROFILE__') {
    kind = KIND.Profile;
    name = namePart.replace(/^__PROFILE__\./, '');
  } else if (namePart.startsWith('staged:knp.default.')) {
    kind = KIND.StagedKubernetesNetworkPolicy;
    name = namePart.slice('staged:knp.default.'.length);
  } else if (namePart.startsWith('knp.default.')) {
    kind = KIND.NetworkPolicy;
    name = namePart.slice('knp.default.'.length);
  } else if (namePart.includes('staged:')) {
    kind = namespace === undefined ? KIND.StagedGlobalNetworkPolicy : KIND.StagedNetworkPolicy;
    name = namePart.split('staged:')[1]!;
  } else {
    kind = namespace === undefined ? KIND.GlobalNetworkPolicy : KIND.CalicoNetworkPolicy;
    // Goldmane in Calico <= 3.31 reports the tiered name, `<tier>.<name>`.
    name = namePart;
  }
  const a = ACTION[action as keyof typeof ACTION];
  const hit: TestPolicyHit = { kind, tier: kind === KIND.Profile ? '' : tier, name, action: a, policy_index: Number(index), rule_index: Number(rule) };
  if (namespace !== undefined) hit.namespace = namespace;
  if (Number(rule) === -1 && kind !== KIND.Profile) {
    return { kind: KIND.EndOfTier, tier, action: a, policy_index: Number(index), rule_index: -1, trigger: { ...hit, action: 0, policy_index: 0, rule_index: 0 } };
  }
  return hit;
}

function endpointFields(e: Endpoint): { name: string; namespace: string; type: number; labels: string[] } {
  switch (e.type) {
    case 'wep':
      return { name: podNameAggr(e.workload), namespace: e.workload.namespace, type: ENDPOINT.wep, labels: [...podLabels(e.workload)] };
    case 'hep':
      return { name: e.name, namespace: '', type: ENDPOINT.hep, labels: [...e.labels] };
    case 'ns':
      return { name: e.name, namespace: e.namespace === '-' ? '' : e.namespace, type: ENDPOINT.ns, labels: [...e.labels] };
    case 'net':
      return { name: e.name, namespace: '', type: ENDPOINT.net, labels: [] };
  }
}

function traceOf(t: FlowTemplate, reporter: ScenarioReporter): TestFlowKey['policies'] {
  const local = reporter === 'src' ? t.source : t.dest;
  const profile = profileHit(local.type === 'wep' ? `kns.${local.workload.namespace}` : 'projectcalico-default-allow');
  switch (t.trace.kind) {
    case 'profile':
      return { enforced_policies: [profile], pending_policies: [profile] };
    case 'hit': {
      const hit = hitFromFlowLog(t.trace.hit);
      return { enforced_policies: [hit], pending_policies: [hit] };
    }
    case 'staged':
      return { enforced_policies: [profile], pending_policies: [hitFromFlowLog(t.trace.pending)] };
    case 'absent':
      return undefined;
  }
}

/**
 * One Goldmane flow per scenario flow and reporter (the scenario's distinct flows), without times
 * or counters. Goldmane knows no IPs or domains, so those parts of the scenario are lost.
 */
export function scenarioGoldmaneFlows(scenario: Scenario): { flow: TestFlow; template: FlowTemplate; reporter: ScenarioReporter }[] {
  return compileFlows(scenario).map(({ template: t, reporter }) => {
    const src = endpointFields(t.source);
    const dst = endpointFields(t.dest);
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
    const policies = traceOf(t, reporter);
    if (policies !== undefined) key.policies = policies;
    return { flow: { Key: key, source_labels: src.labels, dest_labels: dst.labels, num_connections_started: 1 }, template: t, reporter };
  });
}
