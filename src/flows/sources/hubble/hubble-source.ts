// Flows from Hubble Relay (Cilium) over gRPC: Observer.GetFlows (observer.proto, Cilium v1.19.4),
// with TLS or mutual TLS as Relay is usually deployed, plain text only when the configuration asks.
//
// Two ways to read:
// - read(window): a run reading Relay directly. GetFlows with since/until, not following: what the
//   nodes' ring buffers still hold of the window (Hubble keeps minutes of flows per node).
// - follow(): the collector of the replica that holds the Lease (app/collect). GetFlows with
//   follow=true from `since`, for ever; after any failure it reconnects with backoff, asking from
//   the newest flow seen minus a reordering margin and dropping what it is sent again
//   (stream-resume.ts says what cannot be guaranteed).
//
// Every event is normalised by to-record.ts; what teaches nothing (node_status, lost_events, replies,
// drops ...) is counted in `unlearnable`, what is malformed in `skipped`, never fatal. Errors name
// the address and the files' paths, never their contents.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { HubbleConfig } from '../../../config/deployment-config.ts';
import type { FlowRecord } from '../../record.ts';
import { SkipReport } from '../../skip-report.ts';
import { type FlowSource, FlowSourceError, type TimeWindow } from '../../source.ts';
import type { FollowOptions } from '../goldmane/goldmane-source.ts';
import { probeTls, splitAddress } from '../goldmane/tls-probe.ts';
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
import { HubbleResume, REORDER_MARGIN_SECONDS } from './stream-resume.ts';
import { hubbleEventToRecord, timestamp } from './to-record.ts';
import { observerClientConstructor, observerCodec, toTimestamp, type WireGetFlowsRequest } from './wire.ts';

export interface HubbleSourceOptions {
  /** The largest message accepted, in bytes; default 16 MiB. */
  maxMessageBytes?: number;
  /** First reconnection delay; it doubles per failure (with jitter) up to maxBackoffMs. Default 500 ms. */
  backoffMs?: number;
  /** Cap of one reconnection delay; default 10 s. */
  maxBackoffMs?: number;
  /** Seconds of reordering a resumption covers; default REORDER_MARGIN_SECONDS. */
  reorderMargin?: number;
}

const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const DEFAULT_BACKOFF_MS = 500;
const DEFAULT_MAX_BACKOFF_MS = 10_000;
/** Events converted between two turns of the event loop. */
const YIELD_EVERY = 256;
/** A followed stream may carry nothing for long: HTTP/2 pings find a dead connection (grpc-go's minimum is 5 minutes). */
const KEEPALIVE_MS = 6 * 60_000;
const KEEPALIVE_TIMEOUT_MS = 20_000;
/** What Hubble keeps is counted in events per node (4095 by default), not time: a few minutes, on a busy node less. */
const HUBBLE_RETENTION_SECONDS = 5 * 60;

interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/** Reads the TLS files (when TLS) and checks they make a TLS context; connects lazily. */
export async function openHubbleSource(config: HubbleConfig, options: HubbleSourceOptions = {}): Promise<HubbleFlowSource> {
  if (config.plaintext === true) return new HubbleFlowSource(config, null, options);
  if (config.caFile === undefined) throw new FlowSourceError('hubble: give caFile (TLS), or plaintext: true');
  const [ca, cert, key] = await Promise.all([
    readPem(config.caFile, 'caFile', 'CERTIFICATE'),
    config.certFile === undefined ? undefined : readPem(config.certFile, 'certFile', 'CERTIFICATE'),
    config.keyFile === undefined ? undefined : readPem(config.keyFile, 'keyFile', 'PRIVATE KEY'),
  ]);
  return new HubbleFlowSource(config, { ca, ...(cert ? { cert } : {}), ...(key ? { key } : {}) }, options);
}

async function readPem(path: string, field: string, label: string): Promise<Buffer> {
  const data = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new FlowSourceError(`cannot read hubble ${field} ${path}: ${describeFsError(e)}`);
  });
  // The contents never appear in a message.
  if (!data.includes('-----BEGIN ') || !data.includes(`${label}-----`))
    throw new FlowSourceError(`hubble ${field} ${path} holds no PEM ${label.toLowerCase()}`);
  return data;
}

export class HubbleFlowSource implements FlowSource {
  readonly kind = 'hubble';
  readonly skipped = new SkipReport();
  readonly unlearnable = new SkipReport();
  readonly retention = HUBBLE_RETENTION_SECONDS;
  #inputsRead = 0;
  readonly #config: HubbleConfig;
  readonly #secureContext: SecureContext | null;
  readonly #credentials: grpc.ChannelCredentials;
  readonly #maxMessageBytes: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #margin: number;

  constructor(config: HubbleConfig, tls: TlsMaterial | null, options: HubbleSourceOptions = {}) {
    this.#config = config;
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.#maxBackoffMs = Math.max(this.#backoffMs, options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);
    this.#margin = options.reorderMargin ?? REORDER_MARGIN_SECONDS;
    if (tls === null) {
      this.#secureContext = null;
      this.#credentials = grpc.credentials.createInsecure();
      return;
    }
    try {
      this.#secureContext = createSecureContext({
        ca: tls.ca,
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
      });
      this.#credentials = grpc.credentials.createFromSecureContext(this.#secureContext);
    } catch (e) {
      // OpenSSL's reason names no file contents.
      throw new FlowSourceError(`hubble TLS files (caFile, certFile, keyFile) are not usable together: ${oneLine((e as Error).message)}`);
    }
  }

  get description(): string {
    return `hubble-relay at ${this.#config.address}${this.#secureContext === null ? ' (plain text)' : ''}`;
  }

  get inputsRead(): number {
    return this.#inputsRead;
  }

  /** What Relay's nodes still hold of the window (GetFlows since/until, not following). */
  async read(window: TimeWindow, onRecord: (record: FlowRecord) => void): Promise<void> {
    const client = this.#newClient();
    const { decodeResponse } = observerCodec();
    const request: WireGetFlowsRequest = { since: toTimestamp(window.from), until: toTimestamp(window.to) };
    const call = (client as ObserverClient).GetFlows(request, { deadline: Date.now() + this.#config.timeout * 1000 });
    call.on('error', () => undefined);
    let n = 0;
    try {
      for await (const bytes of call as AsyncIterable<Buffer>) {
        if (++n % YIELD_EVERY === 0) await yieldToEventLoop();
        this.#take(bytes, `hubble reply ${n}`, decodeResponse, onRecord);
      }
    } catch (e) {
      if (!isServiceError(e)) {
        call.cancel();
        throw e;
      }
      throw new FlowSourceError(`${this.description}: GetFlows failed: ${describeStatus(e)}${await this.#hint(e)}`);
    } finally {
      client.close();
    }
  }

  /**
   * Follows Relay's flows from `since` until `signal` aborts (then it resolves). Failures are
   * retried for ever with backoff and reported as events; it rejects only with an error thrown by
   * onRecord or onEvent.
   */
  async follow(options: FollowOptions): Promise<void> {
    const { signal, onRecord } = options;
    const emit = options.onEvent ?? (() => undefined);
    const now = options.now ?? (() => Date.now() / 1000);
    const resume = new HubbleResume(options.since, this.#margin);
    const { decodeResponse } = observerCodec();
    const client = this.#newClient({ 'grpc.keepalive_time_ms': KEEPALIVE_MS, 'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS });
    let failures = 0;
    let progress = -Infinity;
    let first = true;
    try {
      while (!signal.aborted) {
        const since = first ? options.since : resume.since;
        const call = (client as ObserverClient).GetFlows({ follow: true, since: toTimestamp(since) });
        call.on('error', () => undefined);
        const cancel = (): void => call.cancel();
        signal.addEventListener('abort', cancel, { once: true });
        // Hubble keeps events, not time: nothing before the first connection is promised.
        emit({ type: 'connected', from: first ? Math.floor(now()) : Math.floor(since) });
        first = false;
        let reason: string;
        try {
          for await (const bytes of call as AsyncIterable<Buffer>) {
            failures = 0;
            this.#inputsRead++;
            const location = `hubble stream event ${this.#inputsRead}`;
            let decoded: Record<string, unknown>;
            try {
              decoded = decodeResponse(bytes);
            } catch {
              this.skipped.add(location, 'not a GetFlowsResponse message');
              continue;
            }
            const flow = decoded['flow'] as Record<string, unknown> | undefined;
            if (flow !== undefined && flow !== null) {
              const time = safely(() => exactTime(flow['time'] ?? decoded['time']));
              if (time !== null && !resume.accept(time, flowKey(flow, bytes))) continue;
            } else {
              const lost = lostInterval(decoded['lost_events']);
              if (lost !== null) emit({ type: 'lost', ...lost });
            }
            this.#convert(decoded, location, onRecord);
            if (resume.deliveredBefore > progress) emit({ type: 'progress', before: (progress = resume.deliveredBefore) });
          }
          reason = 'the stream ended';
        } catch (e) {
          if (!isServiceError(e)) {
            call.cancel();
            throw e;
          }
          reason = `${describeStatus(e)}${await this.#hint(e)}`;
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

  #take(bytes: Buffer, location: string, decode: (b: Buffer) => Record<string, unknown>, onRecord: (r: FlowRecord) => void): void {
    this.#inputsRead++;
    let decoded: Record<string, unknown>;
    try {
      decoded = decode(bytes);
    } catch {
      this.skipped.add(location, 'not a GetFlowsResponse message');
      return;
    }
    this.#convert(decoded, location, onRecord);
  }

  #convert(decoded: Record<string, unknown>, location: string, onRecord: (r: FlowRecord) => void): void {
    const converted = hubbleEventToRecord(decoded);
    if (converted.ok) onRecord(converted.record);
    else (converted.nothingToLearn ? this.unlearnable : this.skipped).add(location, converted.reason);
  }

  #newClient(extra: grpc.ChannelOptions = {}): grpc.Client {
    const Client = observerClientConstructor();
    return new Client(this.#config.address, this.#credentials, grpcChannelOptions(this.#maxMessageBytes, this.#config.serverName, extra));
  }

  #delay(attempt: number): number {
    return backoffDelay(attempt, this.#backoffMs, this.#maxBackoffMs);
  }

  /** Why Relay is unreachable, from one plain TLS connection (goldmane/tls-probe.ts), for UNAVAILABLE. */
  async #hint(e: grpc.ServiceError): Promise<string> {
    if (e.code !== grpc.status.UNAVAILABLE || this.#secureContext === null) return '';
    const target = splitAddress(this.#config.address);
    if (target === null) return '';
    const serverName = this.#config.serverName || target.host;
    const diagnosis = await probeTls(
      { ...target, serverName, secureContext: this.#secureContext, peer: 'Hubble Relay' },
      Math.min(5000, this.#config.timeout * 1000),
    );
    return diagnosis === null ? '' : ` (${diagnosis})`;
  }
}

interface ObserverClient extends grpc.Client {
  GetFlows(request: WireGetFlowsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<Buffer>;
}

/** A flow's time in fractional Unix seconds (the resume point needs more than whole seconds). */
function exactTime(v: unknown): number {
  const seconds = timestamp(v);
  const nanos = typeof v === 'object' && v !== null ? Number((v as { nanos?: unknown }).nanos ?? 0) : 0;
  return Number.isFinite(nanos) ? seconds + nanos / 1e9 : seconds;
}

/** A flow's identity for deduplication: its uuid (Cilium 1.14+), else its bytes hashed. */
function flowKey(flow: Record<string, unknown>, bytes: Buffer): string {
  const uuid = flow['uuid'];
  return typeof uuid === 'string' && uuid !== '' ? uuid : createHash('sha1').update(bytes).digest('base64');
}

/** LostEvent's `first`/`last` (Cilium 1.19): the interval whose flows Hubble lost, or null. */
function lostInterval(v: unknown): { from: number; to: number } | null {
  if (typeof v !== 'object' || v === null) return null;
  const { first, last } = v as { first?: unknown; last?: unknown };
  if (first === undefined || last === undefined) return null;
  const from = safely(() => timestamp(first));
  const to = safely(() => timestamp(last));
  return from === null || to === null || to < from ? null : { from, to: to + 1 };
}

function safely<T>(f: () => T): T | null {
  try {
    return f();
  } catch {
    return null;
  }
}
