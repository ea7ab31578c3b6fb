// Flows from Goldmane (open-source Calico 3.30+) over gRPC with mutual TLS. One client for every
// supported release: what it sends and decodes means the same on all of them (goldmane.proto).
//
// Two ways to read:
// - read(window): the FlowSource a scheduled run uses. Flows.List over the window, in replies
//   that each hold a whole slice of it (list-window.ts: List pages cannot be walked without
//   losing and repeating flows), each call with a deadline and retries.
// - follow(): for a collector that runs continuously (Goldmane keeps about an hour). Flows.Stream
//   sends every flow once per 15-second bucket as the bucket completes, after replaying history
//   from a start time; Goldmane does no work per poll, nothing is read twice, and a collector that
//   keeps up never falls outside Goldmane's hour. It reconnects after any failure, resuming where
//   it stopped and dropping what it is sent again (stream-resume.ts), and says what was lost when
//   it was away for longer than Goldmane keeps.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { GoldmaneConfig } from '../../../config/deployment-config.ts';
import type { FlowRecord } from '../../record.ts';
import { SkipReport } from '../../skip-report.ts';
import { type FlowSource, FlowSourceError, type TimeWindow } from '../../source.ts';
import {
  backoffDelay,
  describeFsError,
  describeStatus,
  grpcChannelOptions,
  isServiceError,
  oneLine,
  sleep,
  yieldToEventLoop,
} from '../source-support.ts';
import { readWindow, type Slice } from './list-window.ts';
import { HISTORY_SECONDS, StreamResume } from './stream-resume.ts';
import { probeTls, splitAddress } from './tls-probe.ts';
import { goldmaneFlowToRecord } from './to-record.ts';
import {
  flowIdentity,
  flowsClientConstructor,
  flowsCodec,
  type ListPage,
  type WireFlowListRequest,
  type WireFlowResult,
  type WireFlowStreamRequest,
} from './wire.ts';

export interface GoldmaneSourceOptions {
  /** Flows one List reply may hold before a window is cut into slices; default 10,000. */
  maxFlowsPerCall?: number;
  /** The largest reply accepted, in bytes; default 64 MiB. */
  maxReplyBytes?: number;
  /** Retries of one List call after UNAVAILABLE or DEADLINE_EXCEEDED; default 4. */
  retries?: number;
  /** First retry delay; it doubles per retry (with jitter) up to maxBackoffMs. Default 500 ms. */
  backoffMs?: number;
  /** Cap of one retry delay (and of follow's reconnection delay); default 10 s. */
  maxBackoffMs?: number;
}

export interface FollowOptions {
  /** Unix seconds: replay history from here (as far back as Goldmane still holds). */
  readonly since: number;
  /** Ends following; follow() then resolves. */
  readonly signal: AbortSignal;
  readonly onRecord: (record: FlowRecord) => void;
  /** Connections, failures, lost history and progress, for logs, metrics and the dashboard. */
  readonly onEvent?: (event: FollowEvent) => void;
  /** Unix seconds of our clock; default Date.now(). */
  readonly now?: () => number;
}

export type FollowEvent =
  /** A stream is open, replaying history from `from`. */
  | { readonly type: 'connected'; readonly from: number }
  /** The stream failed or ended; the next attempt follows in `retryInMs`. */
  | { readonly type: 'disconnected'; readonly reason: string; readonly retryInMs: number }
  /** Flows starting in [from, to) are lost: Goldmane no longer held them when we (re)connected. */
  | { readonly type: 'lost'; readonly from: number; readonly to: number }
  /** Every flow starting before `before` has been delivered (or reported lost). */
  | { readonly type: 'progress'; readonly before: number };

const DEFAULT_MAX_FLOWS_PER_CALL = 10_000;
const MAX_FLOWS_PER_CALL = 1_000_000;
const DEFAULT_MAX_REPLY_BYTES = 64 * 1024 * 1024;
const DEFAULT_RETRIES = 4;
const DEFAULT_BACKOFF_MS = 500;
const DEFAULT_MAX_BACKOFF_MS = 10_000;
/** Flows converted between two turns of the event loop. */
const YIELD_EVERY = 256;
const RETRYABLE: ReadonlySet<grpc.status> = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);
/**
 * A stream carries no traffic while no flow completes: HTTP/2 pings find a dead connection.
 * grpc-go servers refuse pings more often than every 5 minutes (keepalive.EnforcementPolicy
 * MinTime default), so 6.
 */
const KEEPALIVE_MS = 6 * 60_000;
const KEEPALIVE_TIMEOUT_MS = 20_000;

interface TlsMaterial {
  readonly ca: Buffer;
  readonly key: Buffer;
  readonly cert: Buffer;
}

/**
 * Reads the CA bundle, client certificate and key, and checks they make a TLS context, so a
 * misconfiguration fails here, before anything is read. Connects lazily (on `read`/`follow`).
 */
export async function openGoldmaneSource(config: GoldmaneConfig, options: GoldmaneSourceOptions = {}): Promise<GoldmaneFlowSource> {
  const [ca, cert, key] = await Promise.all([
    readPem(config.caFile, 'caFile', 'CERTIFICATE'),
    readPem(config.certFile, 'certFile', 'CERTIFICATE'),
    readPem(config.keyFile, 'keyFile', 'PRIVATE KEY'),
  ]);
  return new GoldmaneFlowSource(config, { ca, key, cert }, options);
}

async function readPem(path: string, field: string, label: string): Promise<Buffer> {
  const data = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new FlowSourceError(`cannot read goldmane ${field} ${path}: ${describeFsError(e)}`);
  });
  // A quick look for the PEM header, so a swapped or empty file gets a clear message. The
  // contents themselves never appear in a message.
  if (!data.includes(`-----BEGIN `) || !data.includes(`${label}-----`)) {
    throw new FlowSourceError(`goldmane ${field} ${path} holds no PEM ${label.toLowerCase()}`);
  }
  return data;
}

export class GoldmaneFlowSource implements FlowSource {
  readonly kind = 'goldmane';
  readonly skipped = new SkipReport();
  readonly unlearnable = new SkipReport();
  readonly retention = HISTORY_SECONDS;
  readonly calicoEdition = 'open-source';
  #inputsRead = 0;
  readonly #config: GoldmaneConfig;
  readonly #secureContext: SecureContext;
  readonly #credentials: grpc.ChannelCredentials;
  readonly #maxFlowsPerCall: number;
  readonly #maxReplyBytes: number;
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;

  constructor(config: GoldmaneConfig, tls: TlsMaterial, options: GoldmaneSourceOptions = {}) {
    this.#config = config;
    this.#maxFlowsPerCall = integerOption(options.maxFlowsPerCall, DEFAULT_MAX_FLOWS_PER_CALL, 1, MAX_FLOWS_PER_CALL, 'maxFlowsPerCall');
    this.#maxReplyBytes = integerOption(options.maxReplyBytes, DEFAULT_MAX_REPLY_BYTES, 1024, 2 ** 31 - 1, 'maxReplyBytes');
    this.#retries = integerOption(options.retries, DEFAULT_RETRIES, 0, 100, 'retries');
    this.#backoffMs = integerOption(options.backoffMs, DEFAULT_BACKOFF_MS, 0, 3_600_000, 'backoffMs');
    this.#maxBackoffMs = integerOption(
      options.maxBackoffMs,
      Math.max(DEFAULT_MAX_BACKOFF_MS, this.#backoffMs),
      this.#backoffMs,
      3_600_000,
      'maxBackoffMs',
    );
    try {
      // One context for gRPC and for the diagnostic probe (tls-probe.ts).
      this.#secureContext = createSecureContext({ ca: tls.ca, key: tls.key, cert: tls.cert });
      this.#credentials = grpc.credentials.createFromSecureContext(this.#secureContext);
    } catch (e) {
      // OpenSSL's reason ("no start line", "key values mismatch") names no file contents.
      throw new FlowSourceError(`goldmane TLS files (caFile, certFile, keyFile) are not usable together: ${oneLine((e as Error).message)}`);
    }
  }

  get description(): string {
    return `goldmane at ${this.#config.address}`;
  }

  get inputsRead(): number {
    return this.#inputsRead;
  }

  async read(window: TimeWindow, onRecord: (record: FlowRecord) => void): Promise<void> {
    const client = this.#newClient();
    const { decodeFlowResult } = flowsCodec();
    // Ends the retries of a call in flight when the read stops early.
    const stop = new AbortController();
    let reply = 0;
    const list = (request: WireFlowListRequest): Promise<ListPage> => this.#list(client, request, stop.signal);
    const convert = async (page: ListPage): Promise<void> => {
      reply++;
      const flows = page.flows;
      for (let i = 0; i < flows.length; i++) {
        // Let the event loop run now and then: the next call only goes out, and its reply only
        // streams in (HTTP/2 flow control), while this loop is not holding the thread.
        if (i > 0 && i % YIELD_EVERY === 0) await yieldToEventLoop();
        this.#inputsRead++;
        // One flow decoded at a time: its objects die young (see flowsCodec).
        let decoded: WireFlowResult;
        try {
          decoded = decodeFlowResult(flows[i]!);
        } catch {
          this.skipped.add(`goldmane reply ${reply} flow ${i + 1}`, 'not a FlowResult message');
          continue;
        }
        const converted = goldmaneFlowToRecord(decoded.flow);
        if (converted.ok) onRecord(converted.record);
        else (converted.nothingToLearn ? this.unlearnable : this.skipped).add(`goldmane reply ${reply} flow ${i + 1}`, converted.reason);
      }
    };
    try {
      await readWindow(list, window, this.#maxFlowsPerCall, async (page: ListPage, _slice: Slice) => {
        try {
          await convert(page);
        } catch (e) {
          stop.abort();
          throw e;
        }
      });
    } catch (e) {
      throw isServiceError(e) ? await this.#failure('List', e, (e as { attempts?: number }).attempts ?? 1) : e;
    } finally {
      stop.abort();
      client.close();
    }
  }

  /**
   * Follows Goldmane's flows as they complete, from `since` until `signal` aborts (then it
   * resolves). Each flow arrives once per 15-second bucket it was active in. Goldmane's failures
   * are retried for ever (and reported as events); it rejects only with an error thrown by
   * onRecord or onEvent.
   */
  async follow(options: FollowOptions): Promise<void> {
    const { signal, onRecord } = options;
    const emit = options.onEvent ?? (() => undefined);
    const now = options.now ?? (() => Date.now() / 1000);
    const resume = new StreamResume(options.since);
    const { decodeFlowResult } = flowsCodec();
    const client = this.#newClient({ 'grpc.keepalive_time_ms': KEEPALIVE_MS, 'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS });
    let failures = 0;
    let progress = resume.resumeFrom;
    try {
      while (!signal.aborted) {
        const connection = resume.connect(now());
        if (connection.lost !== null) emit({ type: 'lost', ...connection.lost });
        if (resume.resumeFrom > progress) emit({ type: 'progress', before: (progress = resume.resumeFrom) });
        const request: WireFlowStreamRequest = { start_time_gte: connection.startTimeGte };
        const call = (client as FlowsClient).Stream(request);
        // The loop below sees the stream's error; this keeps one that comes after it from going unhandled.
        call.on('error', () => undefined);
        const cancel = (): void => call.cancel();
        signal.addEventListener('abort', cancel, { once: true });
        emit({ type: 'connected', from: connection.startTimeGte });
        let reason: string;
        try {
          for await (const bytes of call as AsyncIterable<Buffer>) {
            failures = 0;
            this.#inputsRead++;
            const identity = safely(() => flowIdentity(bytes));
            if (identity !== null && !resume.accept(identity.startTime, keyHash(identity.key))) continue;
            let decoded: WireFlowResult;
            try {
              decoded = decodeFlowResult(bytes);
            } catch {
              this.skipped.add(`goldmane stream flow ${this.#inputsRead}`, 'not a FlowResult message');
              continue;
            }
            const converted = goldmaneFlowToRecord(decoded.flow);
            if (converted.ok) onRecord(converted.record);
            else
              (converted.nothingToLearn ? this.unlearnable : this.skipped).add(
                `goldmane stream flow ${this.#inputsRead}`,
                converted.reason,
              );
            if (resume.resumeFrom > progress) emit({ type: 'progress', before: (progress = resume.resumeFrom) });
          }
          reason = 'the stream ended';
        } catch (e) {
          // The stream's failure is retried; the sink's (onRecord, onEvent) is not ours to hide.
          if (!isServiceError(e)) {
            call.cancel();
            throw e;
          }
          reason = describeStatus(e);
          if ((e as grpc.ServiceError).code === grpc.status.UNAVAILABLE && !signal.aborted) {
            const diagnosis = await this.#probe();
            if (diagnosis !== null) reason += ` (${diagnosis})`;
          }
        } finally {
          signal.removeEventListener('abort', cancel);
        }
        if (signal.aborted) break;
        const retryInMs = this.#delay(failures++);
        emit({ type: 'disconnected', reason, retryInMs });
        await sleep(retryInMs, signal);
      }
    } finally {
      client.close();
    }
  }

  #newClient(extra: grpc.ChannelOptions = {}): grpc.Client {
    const Client = flowsClientConstructor();
    return new Client(this.#config.address, this.#credentials, grpcChannelOptions(this.#maxReplyBytes, this.#config.serverName, extra));
  }

  /** One List call, with a deadline per attempt and bounded, jittered exponential backoff between attempts. */
  async #list(client: grpc.Client, request: WireFlowListRequest, signal: AbortSignal): Promise<ListPage> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await unaryList(client, request, this.#config.timeout * 1000);
      } catch (e) {
        const error = e as grpc.ServiceError;
        if (RETRYABLE.has(error.code) && attempt < this.#retries && !signal.aborted) {
          await sleep(this.#delay(attempt), signal);
          if (!signal.aborted) continue;
        }
        throw Object.assign(error, { attempts: attempt + 1 });
      }
    }
  }

  #delay(attempt: number): number {
    return backoffDelay(attempt, this.#backoffMs, this.#maxBackoffMs);
  }

  async #failure(method: string, error: grpc.ServiceError, attempts: number): Promise<FlowSourceError> {
    const code = typeof error.code === 'number' ? error.code : grpc.status.UNKNOWN;
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    let hint = '';
    if (code === grpc.status.UNAVAILABLE) {
      const diagnosis = await this.#probe();
      if (diagnosis !== null) hint = ` (${diagnosis})`;
    } else if (code === grpc.status.DEADLINE_EXCEEDED) {
      hint = ` (deadline ${this.#config.timeout}s per call)`;
    } else if (code === grpc.status.RESOURCE_EXHAUSTED) {
      hint = ` (one 15-second interval of flows is larger than maxReplyBytes, ${this.#maxReplyBytes} bytes)`;
    }
    return new FlowSourceError(`${this.description}: ${method} failed${tries}: ${describeStatus(error)}${hint}`);
  }

  /** Why the server stays unreachable, from one plain TLS connection (see tls-probe.ts). */
  async #probe(): Promise<string | null> {
    const target = splitAddress(this.#config.address);
    if (target === null) return null;
    const serverName = this.#config.serverName || target.host;
    return probeTls({ ...target, serverName, secureContext: this.#secureContext }, Math.min(5000, this.#config.timeout * 1000));
  }
}

/** The generic client's methods (grpc-js adds them from the service definition). */
interface FlowsClient extends grpc.Client {
  List(request: WireFlowListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<ListPage>): grpc.ClientUnaryCall;
  Stream(request: WireFlowStreamRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<Buffer>;
}

function unaryList(client: grpc.Client, request: WireFlowListRequest, timeoutMs: number): Promise<ListPage> {
  return new Promise((resolve, reject) => {
    (client as FlowsClient).List(request, { deadline: Date.now() + timeoutMs }, (error, value) => {
      if (error) reject(error);
      else if (value === undefined) reject(Object.assign(new Error('empty reply'), { code: grpc.status.INTERNAL, details: 'empty reply' }));
      else resolve(value);
    });
  });
}

/** A FlowKey's identity for deduplication: its bytes as Goldmane sent them, hashed to stay small. */
function keyHash(key: Buffer): string {
  return createHash('sha1').update(key).digest('base64');
}

function safely<T>(f: () => T): T | null {
  try {
    return f();
  } catch {
    return null;
  }
}

function integerOption(value: number | undefined, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  return value;
}
