// `node bench/elasticsearch.ts [buckets] [--runs N]` (default 100,000 buckets, 2 runs)
// Measures the Elasticsearch flow source end to end over real HTTP against a baseline: a local
// server (node:http on 127.0.0.1, in a child process so its memory and CPU are not charged to the
// measurement) answers the composite-aggregation search page by page (1,000 buckets a page).
// Readers run one at a time, each in a child of its own, so a reader's peak RSS is its own:
// - ours: the source (through the @elastic client) reads every bucket into the engine's
//   aggregator through readFlows;
// - baseline: the same requests with plain fetch, paged by after_key the same way, each response
//   body only JSON.parsed (no client, no conversion, no aggregation).
// Runs alternate and the best time of each counts. Prints the figures and, last, one JSON line.
//
// The buckets look like a busy cluster's: 60 namespaces, every bucket a distinct workload prefix,
// remote ends spread over other namespaces, kube-system DNS, public domains, private networks,
// network sets and ingress from other namespaces; every 25th decided by a security-tier policy.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { TimeWindow } from '../src/flows/source.ts';
import {
  type Comparison,
  compareServedReaders,
  count,
  measureMode,
  parseStandaloneArgs,
  printStandaloneResult,
  runMain,
  serveUntilStdinCloses,
  type Work,
} from './support.ts';

const SELF = fileURLToPath(import.meta.url);
const INDEX = 'tigera_secure_ee_flows.bench.*';
const NOW = 1_795_348_800;
const NAMESPACES = 60;
const PAGE_SIZE = 1000;
export const ELASTICSEARCH_DEFAULT_BUCKETS = 100_000;
const DEFAULT_RUNS = 2;
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

const profileTrace = (ns: string): string => {
  const hit = `0|__PROFILE__|__PROFILE__.kns.${ns}|allow|0`;
  return `a:${hit}\tp:${hit}\te:${hit}`;
};
const securityTrace =
  'a:0|security|security.allow-monitoring|allow|2\tp:0|security|security.allow-monitoring|allow|2\te:0|security|security.allow-monitoring|allow|2';

/** Bucket `i`: its key encodes `i` (in source_name_aggr), so an after_key says where to go on. */
function bucketAt(i: number): Record<string, unknown> {
  const ns = `team-${Math.floor(i / 6) % NAMESPACES}`;
  const kind = i % 6;
  const key: Record<string, unknown> = {
    reporter: 'src',
    source_type: 'wep',
    source_namespace: ns,
    source_name_aggr: `app-${i}-*`,
    dest_type: 'net',
    dest_namespace: '-',
    dest_name_aggr: 'pub',
    proto: 'tcp',
    dest_port: 443,
    dest_service_namespace: '-',
    dest_service_name: '-',
    dest_domains: null,
    policies: i % 25 === 0 ? securityTrace : profileTrace(ns),
  };
  switch (kind) {
    case 0:
      Object.assign(key, {
        dest_type: 'wep',
        dest_namespace: `team-${(i * 7) % NAMESPACES}`,
        dest_name_aggr: 'api-*',
        dest_port: 8000 + (i % 8),
      });
      break;
    case 1:
      Object.assign(key, {
        dest_type: 'wep',
        dest_namespace: 'kube-system',
        dest_name_aggr: 'coredns-5d78c9869d-*',
        proto: 'udp',
        dest_port: 53,
      });
      break;
    case 2:
      Object.assign(key, { dest_domains: `api${i % 12}.example.com,cdn.example.net` });
      break;
    case 3:
      Object.assign(key, { dest_name_aggr: 'pvt', dest_port: 5432 });
      break;
    case 4:
      Object.assign(key, { dest_type: 'ns', dest_namespace: i % 2 ? ns : '-', dest_name_aggr: `partners-${i % 5}` });
      break;
    default:
      Object.assign(key, {
        reporter: 'dst',
        source_namespace: `team-${(i * 11) % NAMESPACES}`,
        dest_type: 'wep',
        dest_namespace: ns,
        dest_name_aggr: 'web-*',
        dest_port: 8080,
      });
  }
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
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        aggs: { flows: { composite: { size: number; after?: { source_name_aggr: string } } } };
      };
      const { size, after } = body.aggs.flows.composite;
      const from = after === undefined ? 0 : Number(/^app-(\d+)-\*$/.exec(after.source_name_aggr)![1]) + 1;
      const buckets: Record<string, unknown>[] = [];
      for (let i = from; i < Math.min(total, from + size); i++) buckets.push(bucketAt(i));
      const last = buckets.at(-1) as { key: unknown } | undefined;
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
    `elasticsearch bench: ${count(buckets)} buckets, ${PAGE_SIZE} a page, over HTTP on 127.0.0.1, ${runs} alternating runs per mode`,
  );
  printStandaloneResult(
    { bench: 'elasticsearch-source', pageSize: PAGE_SIZE, runsPerMode: runs },
    await benchElasticsearch(buckets, { runs }),
  );
}

if (process.argv[1] === SELF) runMain('elasticsearch bench', () => main(process.argv.slice(2)));
