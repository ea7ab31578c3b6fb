// Calico Enterprise flow logs in Elasticsearch (`tigera_secure_ee_flows.<cluster>.*`). The
// aggregation is Elasticsearch's: one composite aggregation over the fields that key a rule (see
// query.ts), paged with `after_key`, each bucket becoming one FlowRecord. Raw documents are never
// pulled, so what crosses the network and what this process holds is bounded by the number of
// distinct flows in a page, not by the volume of logs.

import { readFile } from 'node:fs/promises';
import { Client, errors } from '@elastic/elasticsearch';
import type { ElasticsearchConfig } from '../../../config/deployment-config.ts';
import type { FlowRecord } from '../../record.ts';
import { SkipReport } from '../../skip-report.ts';
import { type FlowSource, FlowSourceError, type TimeWindow } from '../../source.ts';
import { parseBucket } from './bucket.ts';
import { type AfterKey, AGGREGATION, searchBody } from './query.ts';

export interface RetryOptions {
  /** Tries per request, the first included (default 5). */
  readonly attempts?: number;
  /** First back-off without a `retry-after`, doubled each time (default 1 s). */
  readonly baseDelayMs?: number;
  /** Upper bound of any wait, `retry-after` included (default 30 s). */
  readonly maxDelayMs?: number;
}

export interface ElasticsearchSourceOptions {
  /**
   * Buckets per page (default 5,000; at most 10,000, well below `search.max_buckets`). Every page
   * is a new search that runs the query and the per-log scripts over the whole window again, so
   * fewer, larger pages cost the cluster less; 5,000 buckets are a few MB of JSON.
   */
  pageSize?: number;
  /** A ready client (tests, benchmarks); without it one is built from the configuration. */
  client?: Client;
  retry?: RetryOptions;
  /** Replaces the timer between retries (tests). */
  sleep?: (ms: number) => Promise<void>;
}

const DEFAULT_PAGE_SIZE = 5000;
const MAX_PAGE_SIZE = 10_000;
const DEFAULT_RETRY: Required<RetryOptions> = { attempts: 5, baseDelayMs: 1000, maxDelayMs: 30_000 };
const MAX_REASON = 300;

/**
 * Plain JSON both ways. The v9 client otherwise sends `compatible-with=9` media types, which
 * Elasticsearch 7 and 8 (what Calico Enterprise ships) reject; the request used here is valid
 * from 7.11 on, so nothing is gained by the versioned media type.
 */
const JSON_HEADERS = { accept: 'application/json', 'content-type': 'application/json' };

const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads the credential and CA files and builds the client; fails before anything is searched. */
export async function openElasticsearchSource(
  config: ElasticsearchConfig,
  options: ElasticsearchSourceOptions = {},
): Promise<ElasticsearchFlowSource> {
  const node = displayNode(config.node);
  if (!/^[^\s/\\?#"<>|]+$/.test(config.index)) throw new FlowSourceError(`elasticsearch ${node}: invalid index pattern "${config.index}"`);
  const pageSize = options.pageSize ?? config.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new RangeError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`);
  }
  const client = options.client ?? (await buildClient(config, node));
  return new ElasticsearchFlowSource(client, config, node, pageSize, { ...DEFAULT_RETRY, ...options.retry }, options.sleep ?? sleepFor);
}

async function buildClient(config: ElasticsearchConfig, node: string): Promise<Client> {
  const url = new URL(config.node);
  // Secrets live in mounted files; one inlined in the URL would end up in logs and messages.
  if (url.username !== '' || url.password !== '') {
    throw new FlowSourceError(
      `elasticsearch ${node}: the node URL must not carry credentials; use apiKeyFile, or username and passwordFile`,
    );
  }
  let auth: { apiKey: string } | { username: string; password: string };
  if (config.apiKeyFile !== undefined) {
    const key = (await readSecret(config.apiKeyFile, 'API key file')).trim();
    if (key === '') throw new FlowSourceError(`API key file ${config.apiKeyFile} is empty`);
    // `id:api_key` as Elasticsearch prints it, or already encoded (base64 has no colon).
    auth = { apiKey: key.includes(':') ? Buffer.from(key).toString('base64') : key };
  } else if (config.username !== undefined && config.passwordFile !== undefined) {
    // A mounted Secret often ends with a newline that is not part of the password.
    const password = (await readSecret(config.passwordFile, 'password file')).replace(/\r?\n$/, '');
    if (password === '') throw new FlowSourceError(`password file ${config.passwordFile} is empty`);
    auth = { username: config.username, password };
  } else {
    throw new FlowSourceError(`elasticsearch ${node}: give either apiKeyFile, or username and passwordFile`);
  }
  const ca = config.caFile === undefined ? undefined : await readSecret(config.caFile, 'CA file');
  return new Client({
    node: config.node,
    auth,
    ...(ca === undefined ? {} : { tls: { ca } }),
    requestTimeout: config.timeout * 1000,
    // Retries are ours: the client's would not honour `retry-after`, nor retry 429.
    maxRetries: 0,
    headers: JSON_HEADERS,
  });
}

async function readSecret(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : (code ?? 'unreadable');
    // The path only: never the contents.
    throw new FlowSourceError(`cannot read ${what} ${path}: ${why}`);
  }
}

/** The node for messages: scheme, host, port and path, never user info or query. */
function displayNode(node: string): string {
  try {
    const url = new URL(node);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return '<invalid node URL>';
  }
}

export class ElasticsearchFlowSource implements FlowSource {
  readonly kind = 'elasticsearch';
  readonly calicoEdition = 'enterprise';
  readonly skipped = new SkipReport();
  readonly unlearnable = new SkipReport();
  readonly description: string;
  #inputsRead = 0;
  readonly #client: Client;
  readonly #index: string;
  readonly #pageSize: number;
  readonly #timeoutMs: number;
  readonly #retry: Required<RetryOptions>;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(
    client: Client,
    config: ElasticsearchConfig,
    node: string,
    pageSize: number,
    retry: Required<RetryOptions>,
    sleep: (ms: number) => Promise<void>,
  ) {
    this.#client = client;
    this.#index = config.index;
    this.#pageSize = pageSize;
    this.#timeoutMs = config.timeout * 1000;
    this.#retry = retry;
    this.#sleep = sleep;
    this.description = `elasticsearch ${node} index ${config.index}`;
  }

  /** Buckets read so far, valid or not. */
  get inputsRead(): number {
    return this.#inputsRead;
  }

  /** Pages through the aggregation one page at a time: at most one page is held. */
  async read(window: TimeWindow, onRecord: (record: FlowRecord) => void): Promise<void> {
    let after: AfterKey | undefined;
    let afterText: string | undefined;
    let bucketNo = 0;
    for (;;) {
      const { buckets, afterKey } = compositePage(await this.#search(searchBody(window, this.#pageSize, after)), this.description);
      for (const bucket of buckets) {
        this.#inputsRead++;
        bucketNo++;
        const parsed = parseBucket(bucket);
        if (parsed.ok) onRecord(parsed.record);
        else (parsed.nothingToLearn ? this.unlearnable : this.skipped).add(`elasticsearch bucket ${bucketNo}`, parsed.reason);
      }
      if (buckets.length === 0 || afterKey === undefined) return;
      const text = JSON.stringify(afterKey);
      if (text === afterText) throw new FlowSourceError(`${this.description}: the composite aggregation did not advance past ${text}`);
      after = afterKey;
      afterText = text;
    }
  }

  /** One page, retried on 429, 5xx and connection failures; a partial result is an error. */
  async #search(body: Record<string, unknown>): Promise<unknown> {
    const { attempts, baseDelayMs, maxDelayMs } = this.#retry;
    for (let attempt = 1; ; attempt++) {
      let failure: { retryable: boolean; message: string; retryAfterMs: number | null };
      try {
        const response: unknown = await this.#client.search(
          // The body is built and checked in query.ts; the client's types do not model every field.
          { index: this.#index, allow_no_indices: false, ...body } as Parameters<Client['search']>[0],
          { headers: JSON_HEADERS, maxRetries: 0, requestTimeout: this.#timeoutMs },
        );
        checkComplete(response, this.description);
        return response;
      } catch (e) {
        if (e instanceof FlowSourceError) throw e;
        failure = classify(e, this.#index);
      }
      if (!failure.retryable) throw new FlowSourceError(`${this.description}: ${failure.message}`);
      if (attempt >= attempts) {
        throw new FlowSourceError(
          `${this.description}: ${failure.message}; gave up after ${attempts} ${attempts === 1 ? 'attempt' : 'attempts'}`,
        );
      }
      const backoff = baseDelayMs * 2 ** (attempt - 1);
      await this.#sleep(Math.min(failure.retryAfterMs ?? backoff, maxDelayMs));
    }
  }
}

/** `_shards.failed > 0` or `timed_out`: Elasticsearch answered from part of the data. */
function checkComplete(response: unknown, description: string): void {
  if (typeof response !== 'object' || response === null) throw new FlowSourceError(`${description}: the response is not a search result`);
  const r = response as Record<string, unknown>;
  const shards = r['_shards'] as Record<string, unknown> | undefined;
  const failed = typeof shards?.['failed'] === 'number' ? shards['failed'] : 0;
  if (failed > 0) {
    const failures = Array.isArray(shards?.['failures']) ? (shards['failures'] as unknown[]) : [];
    const first = failures[0] as Record<string, unknown> | undefined;
    const where =
      typeof first?.['index'] === 'string'
        ? ` (index ${first['index']}${typeof first['shard'] === 'number' ? `, shard ${first['shard']}` : ''})`
        : '';
    const total = typeof shards?.['total'] === 'number' ? ` of ${shards['total']}` : '';
    throw new FlowSourceError(
      `${description}: ${failed}${total} shards failed, so the flows would be incomplete: ${errorReason(first?.['reason']) ?? 'no reason given'}${where}`,
    );
  }
  if (r['timed_out'] === true) throw new FlowSourceError(`${description}: the search timed out, so the flows would be incomplete`);
}

function compositePage(response: unknown, description: string): { buckets: readonly unknown[]; afterKey: AfterKey | undefined } {
  const aggregations = (response as Record<string, unknown>)['aggregations'] as Record<string, unknown> | undefined;
  const agg = aggregations?.[AGGREGATION] as Record<string, unknown> | undefined;
  const buckets = agg?.['buckets'];
  if (!Array.isArray(buckets)) throw new FlowSourceError(`${description}: the response has no "${AGGREGATION}" composite aggregation`);
  const afterKey = agg!['after_key'];
  if (afterKey !== undefined && afterKey !== null && (typeof afterKey !== 'object' || Array.isArray(afterKey))) {
    throw new FlowSourceError(`${description}: the response has an invalid after_key`);
  }
  return { buckets, afterKey: (afterKey ?? undefined) as AfterKey | undefined };
}

function classify(e: unknown, index: string): { retryable: boolean; message: string; retryAfterMs: number | null } {
  if (e instanceof errors.ResponseError) {
    const status = e.meta.statusCode ?? 0;
    const reason = errorReason((e.meta.body as Record<string, unknown> | undefined)?.['error']);
    const detail = reason === null ? '' : `: ${reason}`;
    if (status === 429 || status >= 500) {
      return { retryable: true, message: `HTTP ${status}${detail}`, retryAfterMs: retryAfter(e.meta.headers?.['retry-after']) };
    }
    const what =
      status === 401
        ? 'authentication failed'
        : status === 403
          ? `not allowed to search ${index}`
          : status === 404
            ? `no index matches ${index}`
            : 'search rejected';
    return { retryable: false, message: `${what} (HTTP ${status})${detail}`, retryAfterMs: null };
  }
  if (e instanceof errors.ProductNotSupportedError) {
    return { retryable: false, message: 'the server did not identify itself as Elasticsearch', retryAfterMs: null };
  }
  // The client keeps only the message of a TLS failure; a certificate that does not verify will
  // not verify on a retry either.
  if (e instanceof errors.ConnectionError && /certificate|altnames/i.test(e.message)) {
    return {
      retryable: false,
      message: `TLS: ${clip(e.message)} (is caFile the CA that signed the server's certificate?)`,
      retryAfterMs: null,
    };
  }
  if (e instanceof errors.TimeoutError || e instanceof errors.ConnectionError || e instanceof errors.NoLivingConnectionsError) {
    return { retryable: true, message: `${e.name}: ${clip(e.message)}`, retryAfterMs: null };
  }
  if (e instanceof errors.ElasticsearchClientError)
    return { retryable: false, message: `${e.name}: ${clip(e.message)}`, retryAfterMs: null };
  throw e;
}

/** `type: reason` of an Elasticsearch error object, with the first root cause when it says more. */
function errorReason(error: unknown): string | null {
  if (typeof error === 'string') return clip(error);
  if (typeof error !== 'object' || error === null) return null;
  const o = error as Record<string, unknown>;
  const own = [o['type'], o['reason']].filter((x) => typeof x === 'string').join(': ');
  const rootCause = Array.isArray(o['root_cause']) ? (o['root_cause'][0] as Record<string, unknown> | undefined) : undefined;
  const failedShard = Array.isArray(o['failed_shards'])
    ? (o['failed_shards'][0] as Record<string, unknown> | undefined)?.['reason']
    : undefined;
  const inner = errorReason(failedShard ?? rootCause ?? o['caused_by'] ?? null);
  const text = inner !== null && inner !== own && !own.includes(inner) ? `${own} (${inner})` : own;
  return text === '' ? null : clip(text);
}

/** Seconds or an HTTP date; null when absent or unreadable. */
function retryAfter(header: unknown): number | null {
  const text = Array.isArray(header) ? header[0] : header;
  if (typeof text !== 'string' || text.trim() === '') return null;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_REASON ? `${oneLine.slice(0, MAX_REASON)}...` : oneLine;
}
