// Elasticsearch responses in the documented shapes, for the Elasticsearch flow-source tests. No
// nock here: a file that only builds buckets must not patch the worker's networking (es-nock.ts).

import type { ElasticsearchConfig } from '../../../src/config/deployment-config.ts';

export const NODE = 'https://es.test:9200';
export const INDEX = 'tigera_secure_ee_flows.prod-eu.*';
export const SEARCH_PATH = `/${INDEX}/_search`;
/** Elasticsearch 7.14+ sends this on every response; the client refuses 2xx responses without it. */
export const PRODUCT = { 'x-elastic-product': 'Elasticsearch' };

export const profile = (ns: string): string => `0|__PROFILE__|__PROFILE__.kns.${ns}|allow|0`;

/** The `policies` key the trace runtime field emits: `a:` all, `p:` pending, `e:` enforced. */
export function traceKey(lists: { all?: string[]; pending?: string[]; enforced?: string[] }): string {
  const parts: string[] = [];
  if (lists.all) parts.push(`a:${lists.all.join('\n')}`);
  if (lists.pending) parts.push(`p:${lists.pending.join('\n')}`);
  if (lists.enforced) parts.push(`e:${lists.enforced.join('\n')}`);
  return parts.join('\t');
}

export type BucketKey = Record<string, string | number | null>;

/** An egress bucket reported by a `wep` in `ns`, the profile deciding; override any key. */
export function bucketKey(ns: string, changes: BucketKey = {}): BucketKey {
  return {
    reporter: 'src',
    source_type: 'wep',
    source_namespace: ns,
    source_name_aggr: 'app-7d4b9c-*',
    dest_type: 'net',
    dest_namespace: '-',
    dest_name_aggr: 'pub',
    proto: 'tcp',
    dest_port: 443,
    dest_service_namespace: '-',
    dest_service_name: '-',
    dest_domains: null,
    policies: traceKey({ all: [profile(ns)], pending: [profile(ns)], enforced: [profile(ns)] }),
    ...changes,
  };
}

export interface BucketStats {
  /** Unix seconds. */
  start?: number | null;
  end?: number | null;
  flows?: number;
  docs?: number;
}

export const T0 = 1_795_340_000;

/** A composite bucket as Elasticsearch returns it: dates as epoch milliseconds plus the formatted string. */
export function bucket(key: BucketKey, stats: BucketStats = {}): Record<string, unknown> {
  const start = stats.start === undefined ? T0 : stats.start;
  const end = stats.end === undefined ? T0 + 300 : stats.end;
  const date = (s: number | null) => (s === null ? { value: null } : { value: s * 1000, value_as_string: String(s) });
  return {
    key,
    doc_count: stats.docs ?? 1,
    start_time: date(start),
    end_time: date(end),
    num_flows: { value: stats.flows ?? 1 },
  };
}

export interface PageOptions {
  afterKey?: BucketKey | null;
  shards?: Record<string, unknown>;
  timedOut?: boolean;
}

/** A search response holding one page of the composite aggregation. */
export function page(buckets: unknown[], options: PageOptions = {}): Record<string, unknown> {
  const after = options.afterKey === undefined ? ((buckets.at(-1) as { key?: BucketKey } | undefined)?.key ?? null) : options.afterKey;
  return {
    took: 12,
    timed_out: options.timedOut ?? false,
    _shards: options.shards ?? { total: 3, successful: 3, skipped: 0, failed: 0 },
    hits: { max_score: null, hits: [] },
    aggregations: { flows: { ...(after === null ? {} : { after_key: after }), buckets } },
  };
}

/** The last page: no buckets, no after_key. */
export const lastPage = (): Record<string, unknown> => page([], { afterKey: null });

/** Every request body a scope saw, parsed, in order. */
export class Bodies {
  readonly seen: any[] = [];
  matcher = (body: unknown): boolean => {
    this.seen.push(typeof body === 'string' ? JSON.parse(body) : body);
    return true;
  };
}

export function esConfig(overrides: Partial<ElasticsearchConfig> = {}): ElasticsearchConfig {
  return { node: NODE, index: INDEX, timeout: 60, ...overrides } as ElasticsearchConfig;
}
