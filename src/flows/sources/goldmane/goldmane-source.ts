// Flows from Goldmane (open-source Calico 3.30+) over gRPC with mutual TLS.
//
// List, not Stream. `Flows.List` answers "the flows whose start lies in [from, to)" as a finite,
// paged snapshot (`totalPages`), each page one idempotent unary call that a deadline bounds and a
// retry can simply repeat; a run knows when it has read everything. `Flows.Stream` is built for
// tailing: it starts at `start_time_gte`, replays history and then keeps sending a 15-second
// update per active flow forever, with no marker saying "history is complete" — a batch run would
// have to guess when to hang up (a timeout), would see the same flow once per interval, and could
// not resume a broken stream without duplicates. Stream would suit a long-running collector that
// keeps its own memory between runs; this recommender's memory is the policies in Git and it polls
// well inside Goldmane's hour, so List is the simpler and more predictable contract.
//
// Paging caveat (Goldmane's own documentation): pages can shift between calls while Goldmane
// ingests or expires buckets, so a flow may rarely be seen twice or not at all in one run. A
// duplicate only adds evidence to a rule that exists anyway; a flow missed now is seen next run.

import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { GoldmaneConfig } from '../../../deployment/deployment-config.ts';
import type { FlowRecord } from '../../record.ts';
import { SkipReport } from '../../skip-report.ts';
import { FlowSourceError, type FlowSource, type TimeWindow } from '../../source.ts';
import { probeTls, splitAddress } from './tls-probe.ts';
import { goldmaneFlowToRecord } from './to-record.ts';
import { flowsClientConstructor, flowsCodec, type ListPage, type WireFlowListRequest, type WireFlowResult } from './wire.ts';

export interface GoldmaneSourceOptions {
  /** Flows per List call; default 1000. */
  pageSize?: number;
  /** Retries of one call after UNAVAILABLE or DEADLINE_EXCEEDED; default 4. */
  retries?: number;
  /** First retry delay; it doubles per retry (with jitter) up to maxBackoffMs. Default 500 ms. */
  backoffMs?: number;
  /** Cap of one retry delay; default 10 s. */
  maxBackoffMs?: number;
}

const DEFAULT_PAGE_SIZE = 1000;
const MAX_PAGE_SIZE = 100_000;
const DEFAULT_RETRIES = 4;
const DEFAULT_BACKOFF_MS = 500;
const DEFAULT_MAX_BACKOFF_MS = 10_000;
/** Goldmane keeps about an hour of flows (15-second buckets). */
const RETENTION_SECONDS = 3600;
/** A page of flows is well under this; a larger reply is refused rather than buffered. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Flows converted between two turns of the event loop. */
const YIELD_EVERY = 256;
const RETRYABLE: ReadonlySet<grpc.status> = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

interface TlsMaterial {
  readonly ca: Buffer;
  readonly key: Buffer;
  readonly cert: Buffer;
}

/**
 * Reads the CA bundle, client certificate and key, and checks they make a TLS context, so a
 * misconfiguration fails here, before anything is read. Connects lazily (on `read`).
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
  readonly skipped = new SkipReport();
  readonly retention = RETENTION_SECONDS;
  #inputsRead = 0;
  readonly #config: GoldmaneConfig;
  readonly #secureContext: SecureContext;
  readonly #credentials: grpc.ChannelCredentials;
  readonly #pageSize: number;
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;

  constructor(config: GoldmaneConfig, tls: TlsMaterial, options: GoldmaneSourceOptions = {}) {
    this.#config = config;
    this.#pageSize = integerOption(options.pageSize, DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE, 'pageSize');
    this.#retries = integerOption(options.retries, DEFAULT_RETRIES, 0, 100, 'retries');
    this.#backoffMs = integerOption(options.backoffMs, DEFAULT_BACKOFF_MS, 0, 3_600_000, 'backoffMs');
    this.#maxBackoffMs = integerOption(options.maxBackoffMs, Math.max(DEFAULT_MAX_BACKOFF_MS, this.#backoffMs), this.#backoffMs, 3_600_000, 'maxBackoffMs');
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
    // Ends the retries of a page requested ahead when the read stops early.
    const stop = new AbortController();
    try {
      let page = 0;
      let next = this.#list(client, window, page, stop.signal);
      for (;;) {
        const result = await next;
        const flows = result.flows;
        const totalPages = pagesOf(result, flows.length, page, this.#pageSize);
        // An empty page ends the read whatever totalPages claims (data expired meanwhile, or a broken server).
        const more = page + 1 < totalPages && flows.length > 0;
        if (more) {
          // One page ahead: the next List call is in flight while this page's flows are converted.
          next = this.#list(client, window, page + 1, stop.signal);
          // Its failure is seen when it is awaited; until then it must not count as unhandled.
          next.catch(() => undefined);
        }
        for (let i = 0; i < flows.length; i++) {
          // Let the event loop run now and then: the next page's request only goes out, and its
          // reply only streams in (HTTP/2 flow control), while this loop is not holding the thread.
          if (i > 0 && i % YIELD_EVERY === 0) await yieldToEventLoop();
          this.#inputsRead++;
          // One flow decoded at a time: its objects die young (see flowsCodec).
          let decoded: WireFlowResult;
          try {
            decoded = decodeFlowResult(flows[i]!);
          } catch {
            this.skipped.add(`goldmane page ${page + 1} flow ${i + 1}`, 'not a FlowResult message');
            continue;
          }
          const converted = goldmaneFlowToRecord(decoded.flow);
          if (converted.ok) onRecord(converted.record);
          else this.skipped.add(`goldmane page ${page + 1} flow ${i + 1}`, converted.reason);
        }
        if (!more) break;
        page++;
      }
    } finally {
      stop.abort();
      client.close();
    }
  }

  #newClient(): grpc.Client {
    const Client = flowsClientConstructor();
    const channelOptions: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      // grpc-js retries on its own only when told to; the retries here are explicit (below).
      'grpc.enable_retries': 0,
    };
    if (this.#config.serverName !== undefined && this.#config.serverName !== '') {
      channelOptions['grpc.ssl_target_name_override'] = this.#config.serverName;
      channelOptions['grpc.default_authority'] = this.#config.serverName;
    }
    return new Client(this.#config.address, this.#credentials, channelOptions);
  }

  /** One page, with a deadline per attempt and bounded, jittered exponential backoff between attempts. */
  async #list(client: grpc.Client, window: TimeWindow, page: number, signal: AbortSignal): Promise<ListPage> {
    const request: WireFlowListRequest = {
      start_time_gte: window.from,
      start_time_lt: window.to,
      page,
      page_size: this.#pageSize,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        return await unaryList(client, request, this.#config.timeout * 1000);
      } catch (e) {
        const error = e as grpc.ServiceError;
        if (RETRYABLE.has(error.code) && attempt < this.#retries && !signal.aborted) {
          await sleep(this.#delay(attempt), signal);
          if (!signal.aborted) continue;
        }
        throw await this.#failure(error, page, attempt + 1);
      }
    }
  }

  /** Full jitter over the upper half: between 50% and 100% of min(max, base * 2^attempt). */
  #delay(attempt: number): number {
    const ceiling = Math.min(this.#maxBackoffMs, this.#backoffMs * 2 ** attempt);
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  async #failure(error: grpc.ServiceError, page: number, attempts: number): Promise<FlowSourceError> {
    const code = typeof error.code === 'number' ? error.code : grpc.status.UNKNOWN;
    const name = grpc.status[code] ?? `status ${code}`;
    // Details come from the server or the TLS stack: one line, bounded, never file contents.
    const details = oneLine(error.details ?? error.message ?? '')
      .replace(/\s*Resolution note:\s*$/, '')
      .slice(0, 500);
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    let hint = '';
    if (code === grpc.status.UNAVAILABLE) {
      const diagnosis = await this.#probe();
      if (diagnosis !== null) hint = ` (${diagnosis})`;
    } else if (code === grpc.status.DEADLINE_EXCEEDED) {
      hint = ` (deadline ${this.#config.timeout}s per call)`;
    }
    return new FlowSourceError(`${this.description}: List page ${page + 1} failed${tries}: ${name}${details ? `: ${details}` : ''}${hint}`);
  }

  /** Why the server stays unreachable, from one plain TLS connection (see tls-probe.ts). */
  async #probe(): Promise<string | null> {
    const target = splitAddress(this.#config.address);
    if (target === null) return null;
    const serverName = this.#config.serverName || target.host;
    return probeTls({ ...target, serverName, secureContext: this.#secureContext }, Math.min(5000, this.#config.timeout * 1000));
  }
}

/** The generic client's List method (grpc-js adds it from the service definition). */
interface FlowsClient extends grpc.Client {
  List(request: WireFlowListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<ListPage>): grpc.ClientUnaryCall;
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

/** totalPages from the reply; without usable metadata, keep going while pages come back full. */
function pagesOf(result: ListPage, flows: number, page: number, pageSize: number): number {
  const total = result.meta?.totalPages;
  if (total !== undefined && Number.isSafeInteger(total) && total >= 0) return total;
  return flows >= pageSize ? page + 2 : page + 1;
}

function integerOption(value: number | undefined, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  return value;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

function describeFsError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return e.code ?? 'unreadable';
  }
}
