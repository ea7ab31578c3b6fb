// `node bench/elasticsearch.ts [buckets]` (default 100,000)
// Measures the Elasticsearch flow source end to end over real HTTP: a local server (node:http on
// 127.0.0.1, in a child process so its memory and CPU are not charged to the measurement) answers
// the composite-aggregation search page by page (1,000 buckets a page), and
// the source reads every bucket into the engine's aggregator through readFlows. Prints the figures
// and, last, one JSON line.
//
// The buckets look like a busy cluster's: 60 namespaces, every bucket a distinct workload prefix,
// remote ends spread over other namespaces, kube-system DNS, public domains, private networks,
// network sets and ingress from other namespaces; every 25th decided by a security-tier policy.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client } from '@elastic/elasticsearch';
import { DEFAULT_CONFIG } from '../src/config/recommendation-config.ts';
import { openElasticsearchSource } from '../src/flows/sources/elasticsearch/elasticsearch-source.ts';
import { readFlows } from '../src/pipeline/run.ts';

const SELF = fileURLToPath(import.meta.url);
const INDEX = 'tigera_secure_ee_flows.bench.*';
const NOW = 1_795_348_800;
const NAMESPACES = 60;
const MB = 1024 * 1024;
const PAGE_SIZE = 1000;

export interface ElasticsearchBenchResult {
  records: number;
  recordsPerSec: number;
  peakRssMb: number;
}

export async function benchElasticsearch(buckets: number): Promise<ElasticsearchBenchResult> {
  if (!Number.isSafeInteger(buckets) || buckets < 0) throw new Error(`buckets must be a non-negative integer, got ${buckets}`);
  const server = await startServer(buckets);
  try {
    const client = new Client({ node: server.url, maxRetries: 0, compression: false });
    const source = await openElasticsearchSource({ node: server.url, index: INDEX, timeout: 60 }, { client, pageSize: PAGE_SIZE });
    let sampledPeak = process.memoryUsage.rss();
    const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss())), 20);
    sampler.unref();
    const started = performance.now();
    const flows = await readFlows(source, DEFAULT_CONFIG, NOW);
    const elapsedMs = performance.now() - started;
    clearInterval(sampler);
    await client.close();
    const { recordsSeen, recordsLearned, notLearned } = flows.observations;
    if (flows.inputsRead !== buckets || flows.skipped.total !== 0 || recordsSeen !== buckets) {
      throw new Error(`read ${flows.inputsRead} buckets (${flows.skipped.total} skipped, ${recordsSeen} records) of ${buckets}`);
    }
    let atoms = 0;
    for (const list of flows.observations.byNamespace.values()) atoms += list.length;
    console.log(
      `${buckets.toLocaleString('en-US')} buckets in ${(elapsedMs / 1000).toFixed(2)} s; ${recordsLearned.toLocaleString('en-US')} learned, ` +
        `not learned ${JSON.stringify(notLearned)}; ${flows.observations.byNamespace.size} namespaces, ${atoms} atoms`,
    );
    const peakBytes = Math.max(process.resourceUsage().maxRSS * 1024, sampledPeak);
    return {
      records: flows.inputsRead,
      recordsPerSec: Math.round(buckets / (elapsedMs / 1000)),
      peakRssMb: Number((peakBytes / MB).toFixed(1)),
    };
  } finally {
    server.stop();
  }
}

/** The server runs in a child process (this file with `--serve`); it prints its port when ready. */
function startServer(buckets: number): Promise<{ url: string; stop: () => void }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [SELF, '--serve', String(buckets)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`bench server exited (${code}) before it was ready`)));
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      out += text;
      const m = /^listening (\d+)\n/.exec(out);
      if (m) resolve({ url: `http://127.0.0.1:${m[1]}`, stop: () => child.kill() });
    });
  });
}

// --- the server side -------------------------------------------------------------------------

const profileTrace = (ns: string): string => {
  const hit = `0|__PROFILE__|__PROFILE__.kns.${ns}|allow|0`;
  return `a:${hit}\tp:${hit}\te:${hit}`;
};
const securityTrace = 'a:0|security|security.allow-monitoring|allow|2\tp:0|security|security.allow-monitoring|allow|2\te:0|security|security.allow-monitoring|allow|2';

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
      Object.assign(key, { dest_type: 'wep', dest_namespace: `team-${(i * 7) % NAMESPACES}`, dest_name_aggr: 'api-*', dest_port: 8000 + (i % 8) });
      break;
    case 1:
      Object.assign(key, { dest_type: 'wep', dest_namespace: 'kube-system', dest_name_aggr: 'coredns-5d78c9869d-*', proto: 'udp', dest_port: 53 });
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

function serve(total: number): void {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { aggs: { flows: { composite: { size: number; after?: { source_name_aggr: string } } } } };
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
      res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`));
  // Ends with its parent: the stdin pipe closes when the parent goes away.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

if (process.argv[1] === SELF) {
  const [first, second] = process.argv.slice(2);
  if (first === '--serve') {
    serve(Number(second));
  } else {
    const buckets = first === undefined ? 100_000 : Number(first.replaceAll('_', ''));
    benchElasticsearch(buckets).then(
      (result) => {
        console.log(`${result.records.toLocaleString('en-US')} records, ${result.recordsPerSec.toLocaleString('en-US')} records/s, peak RSS ${result.peakRssMb} MB`);
        console.log(JSON.stringify({ bench: 'elasticsearch-source', node: process.version, ...result }));
      },
      (e: unknown) => {
        console.error(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        process.exitCode = 1;
      },
    );
  }
}
