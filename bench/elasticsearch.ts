// `node bench/elasticsearch.ts [buckets] [--runs N]` (default 100,000 buckets, 3 paired runs)
// Measures the Elasticsearch flow source end to end over real HTTP against a baseline: a local
// server (node:http on 127.0.0.1, in a child process so its memory and CPU are not charged to the
// measurement) answers the composite-aggregation search page by page (1,000 buckets a page).
// Readers run one at a time, each in a child of its own, so a reader's peak RSS is its own:
// - ours: the source (through the @elastic client) reads every bucket into the engine's
//   aggregator through readFlows;
// - baseline: the same requests with plain fetch, paged by after_key the same way, each response
//   body only JSON.parsed (no client, no conversion, no aggregation).
// Runs are paired and alternate (bench/support.ts). Prints the figures and, last, one JSON line.
//
// The buckets are the realistic profile's (src/generator/generate.ts PROFILES: 200 namespaces,
// about 20,000 distinct flows with every peer kind, denied, higher-tier and staged noise, traces of
// two hits), one bucket per distinct flow (as the composite aggregation of a window gives them),
// repeated as if their workloads had been rolled out again and again (a new pod-template hash, so
// a new aggregated name and a new bucket), as many as asked for.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { TimeWindow } from '../src/flows/source.ts';
import type { Endpoint } from '../src/generator/scenario.ts';
import {
  type Comparison,
  compareServedReaders,
  count,
  measureMode,
  parseStandaloneArgs,
  printStandaloneResult,
  rolledOutName,
  runMain,
  serveUntilStdinCloses,
  type Work,
} from './support.ts';

const SELF = fileURLToPath(import.meta.url);
const INDEX = 'tigera_secure_ee_flows.bench.*';
/** The record profile the buckets come from (src/generator/generate.ts PROFILES). */
const PROFILE = 'realistic';
const NOW = 1_795_348_800;
const PAGE_SIZE = 1000;
export const ELASTICSEARCH_DEFAULT_BUCKETS = 100_000;
const DEFAULT_RUNS = 3;
const TIMEOUT_SECONDS = 60;

export async function benchElasticsearch(buckets: number, options: { runs?: number } = {}): Promise<Comparison> {
  if (!Number.isSafeInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be a positive integer, got ${buckets}`);
  // One window for both readers, the one readFlows would take by default. Imported here, not at
  // the top: the readers run this file too, and the baseline's memory must not hold the engine.
  const [{ DEFAULT_CONFIG }, { lookbackWindow }] = await Promise.all([
    import('../src/config/recommendation-config.ts'),
    import('../src/flows/read-flows.ts'),
  ]);
  const window = lookbackWindow(DEFAULT_CONFIG, NOW);
  const result = await compareServedReaders({
    name: 'elasticsearch',
    records: buckets,
    runs: options.runs ?? DEFAULT_RUNS,
    server: [SELF, '--serve', String(buckets)],
    reader: (mode, port) => [SELF, '--read', mode, `http://127.0.0.1:${port}`, String(window.from), String(window.to)],
    check: (m) => {
      if (m.mode === 'ours' && (m.details['skipped'] !== 0 || m.details['recordsSeen'] !== buckets)) {
        throw new Error(
          `read ${m.records} buckets (${String(m.details['skipped'])} skipped, ${String(m.details['recordsSeen'])} records) of ${buckets}`,
        );
      }
    },
  });
  const d = result.details;
  console.log(
    `  ours learned ${count(Number(d['recordsLearned']))}, not learned ${JSON.stringify(d['notLearned'])}; ${String(d['namespaces'])} namespaces, ${String(d['atoms'])} atoms`,
  );
  return result;
}

// --- the readers -----------------------------------------------------------------------------

/** Loads the client, the source and the engine, then returns the timed work: Elasticsearch -> readFlows. */
async function ours(url: string, window: TimeWindow): Promise<Work> {
  const [{ Client }, { openElasticsearchSource }, { readFlows }, { DEFAULT_CONFIG }] = await Promise.all([
    import('@elastic/elasticsearch'),
    import('../src/flows/sources/elasticsearch/elasticsearch-source.ts'),
    import('../src/flows/read-flows.ts'),
    import('../src/config/recommendation-config.ts'),
  ]);
  return async () => {
    const client = new Client({ node: url, maxRetries: 0, compression: false });
    const source = await openElasticsearchSource({ node: url, index: INDEX, timeout: TIMEOUT_SECONDS }, { client, pageSize: PAGE_SIZE });
    const flows = await readFlows(source, DEFAULT_CONFIG, NOW, window);
    await client.close();
    const { recordsSeen, recordsLearned, notLearned, byNamespace } = flows.observations;
    let atoms = 0;
    for (const list of byNamespace.values()) atoms += list.length;
    return {
      records: flows.inputsRead,
      details: { skipped: flows.skipped.total, recordsSeen, recordsLearned, notLearned, namespaces: byNamespace.size, atoms },
    };
  };
}

/**
 * The least any client of the aggregation does: the same search bodies (query.ts), page after
 * page by after_key, each response body JSON.parsed and its buckets counted.
 */
async function baseline(url: string, window: TimeWindow): Promise<Work> {
  const { AGGREGATION, searchBody } = await import('../src/flows/sources/elasticsearch/query.ts');
  type Page = { aggregations: Record<string, { buckets: unknown[]; after_key?: Record<string, unknown> }> };
  const search = `${url}/${encodeURIComponent(INDEX)}/_search?allow_no_indices=false`;
  return async () => {
    let records = 0;
    let pages = 0;
    for (let after: Record<string, unknown> | undefined; ; ) {
      const response = await fetch(search, {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify(searchBody(window, PAGE_SIZE, after)),
        signal: AbortSignal.timeout(TIMEOUT_SECONDS * 1000),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status} from ${search}`);
      const { buckets, after_key } = (JSON.parse(await response.text()) as Page).aggregations[AGGREGATION]!;
      pages++;
      records += buckets.length;
      if (buckets.length === 0 || after_key === undefined) break;
      after = after_key;
    }
    return { records, details: { pages } };
  };
}

function read(argv: readonly string[]): Promise<void> {
  const [mode, url = '', from, to] = argv;
  const window = { from: Number(from), to: Number(to) };
  return measureMode(
    mode,
    { ours: () => ours(url, window), baseline: () => baseline(url, window) },
    'elasticsearch.ts --read baseline|ours <url> <from> <to>',
  );
}

// --- the server side -------------------------------------------------------------------------

type BucketKey = Record<string, string | number | null>;
/** The composite key's sources (query.ts KEY_FIELDS), in its order. */
const KEY_NAMES = [
  'reporter',
  'source_type',
  'source_namespace',
  'source_name_aggr',
  'dest_type',
  'dest_namespace',
  'dest_name_aggr',
  'proto',
  'dest_port',
  'dest_service_namespace',
  'dest_service_name',
  'dest_domains',
  'policies',
] as const;

/** Each distinct flow of the profile as a composite key (query.ts KEY_FIELDS), the trace as the trace runtime field emits it. */
async function distinctKeys(): Promise<BucketKey[]> {
  const [{ PROFILES }, { buildScenario }, { compileFlows, traceEntries }, { podNameAggr }, { traceKey }] = await Promise.all([
    import('../src/generator/generate.ts'),
    import('../src/generator/scenarios/index.ts'),
    import('../src/generator/record.ts'),
    import('../src/generator/scenario.ts'),
    import('../test/flows/elasticsearch/es-fixtures.ts'),
  ]);
  const { scenario, shape } = PROFILES[PROFILE];
  const end = (e: Endpoint): { type: string; namespace: string; name: string } => {
    switch (e.type) {
      case 'wep':
        return { type: 'wep', namespace: e.workload.namespace, name: podNameAggr(e.workload) };
      case 'ns':
        return { type: 'ns', namespace: e.namespace, name: e.name };
      default:
        return { type: e.type, namespace: '-', name: e.name };
    }
  };
  return compileFlows(buildScenario(scenario)).map(({ template: t, reporter }) => {
    const [src, dst] = [end(t.source), end(t.dest)];
    const trace = traceEntries(t, reporter, shape);
    return {
      reporter,
      source_type: src.type,
      source_namespace: src.namespace,
      source_name_aggr: src.name,
      dest_type: dst.type,
      dest_namespace: dst.namespace,
      dest_name_aggr: dst.name,
      proto: t.proto,
      dest_port: t.port,
      dest_service_namespace: t.service?.namespace ?? '-',
      dest_service_name: t.service?.name ?? '-',
      dest_domains: t.domains === undefined ? null : [...t.domains].sort().join(','),
      policies: trace === null ? null : traceKey({ all: [...trace.all], pending: [...trace.pending], enforced: [...trace.enforced] }),
    };
  });
}

/** Bucket `i`: distinct flow `i mod K` after roll-out `i div K`; its times spread over the day before NOW. */
function bucketAt(distinct: readonly BucketKey[], i: number): { key: BucketKey } & Record<string, unknown> {
  const base = distinct[i % distinct.length]!;
  const n = Math.floor(i / distinct.length);
  const rename = (end: 'source' | 'dest'): string => {
    const name = String(base[`${end}_name_aggr`]);
    return base[`${end}_type`] === 'wep' ? rolledOutName(name, n) : name;
  };
  const key: BucketKey = n === 0 ? base : { ...base, source_name_aggr: rename('source'), dest_name_aggr: rename('dest') };
  const start = NOW - 3600 * (1 + (i % 20));
  return {
    key,
    doc_count: 1 + (i % 9),
    start_time: { value: start * 1000, value_as_string: String(start) },
    end_time: { value: (start + 300) * 1000, value_as_string: String(start + 300) },
    num_flows: { value: 1 + (i % 17) },
  };
}

async function serve(total: number): Promise<void> {
  const distinct = await distinctKeys();
  // A flow with no workload end cannot be rolled out: its repetitions would share one bucket.
  const unrolled = distinct.find((k) => k['source_type'] !== 'wep' && k['dest_type'] !== 'wep');
  if (unrolled !== undefined && total > distinct.length) throw new Error(`a flow with no workload end: ${JSON.stringify(unrolled)}`);
  // Where each served key stands, so that an after_key (the last key of a page) says where to go on.
  const identity = (key: Readonly<Record<string, unknown>>): string => JSON.stringify(KEY_NAMES.map((name) => key[name] ?? null));
  const positions = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        aggs: { flows: { composite: { size: number; after?: Record<string, unknown> } } };
      };
      const { size, after } = body.aggs.flows.composite;
      const previous = after === undefined ? -1 : positions.get(identity(after));
      if (previous === undefined) throw new Error(`after_key never served: ${JSON.stringify(after)}`);
      const from = previous + 1;
      const buckets: { key: BucketKey }[] = [];
      for (let i = from; i < Math.min(total, from + size); i++) buckets.push(bucketAt(distinct, i));
      const last = buckets.at(-1);
      if (last !== undefined) positions.set(identity(last.key), from + buckets.length - 1);
      const payload = JSON.stringify({
        took: 3,
        timed_out: false,
        _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
        hits: { max_score: null, hits: [] },
        aggregations: { flows: { ...(last === undefined ? {} : { after_key: last.key }), buckets } },
      });
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-elastic-product': 'Elasticsearch',
        'content-length': Buffer.byteLength(payload),
      });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await serveUntilStdinCloses((server.address() as AddressInfo).port, () => {
    server.closeAllConnections();
    server.close();
  });
}

// --- command line ----------------------------------------------------------------------------

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--serve') return serve(Number(argv[1]));
  if (argv[0] === '--read') return read(argv.slice(1));
  const { records: buckets, runs } = parseStandaloneArgs(argv, { records: ELASTICSEARCH_DEFAULT_BUCKETS, runs: DEFAULT_RUNS });
  console.log(
    `elasticsearch bench: ${count(buckets)} buckets, ${PAGE_SIZE} a page, (the ${PROFILE} profile's distinct flows, rolled out) over HTTP on 127.0.0.1, ${runs} paired runs`,
  );
  printStandaloneResult(
    { bench: 'elasticsearch-source', profile: PROFILE, pageSize: PAGE_SIZE, runsPerMode: runs },
    await benchElasticsearch(buckets, { runs }),
  );
}

if (process.argv[1] === SELF) runMain('elasticsearch bench', () => main(process.argv.slice(2)));
