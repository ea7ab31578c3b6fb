// `npm run bench [-- --sizes 1000000,4000000] [--goldmane 1000000] [--elasticsearch 100000]
//                    [--simulate 1000000] [--runs 2] [--scale tiny|short|full]
//                    [--only file,goldmane,elasticsearch,simulate,scale]`
// Measures each flow source against a baseline measured in the same run, as a ratio:
// - file: the whole ingest-and-recommend path (file -> FileFlowSource -> readFlows ->
//   planRecommendations) against reading the same file line by line and JSON.parsing each line
//   (bench/worker.ts), at each of `--sizes`;
// - goldmane: the Goldmane source into readFlows against the same Flows.List calls (the window
//   read in whole slices, as the source reads it) that only decode the flows (bench/goldmane.ts);
// - elasticsearch: the Elasticsearch source into readFlows against plain HTTP paging that only
//   JSON.parses each page (bench/elasticsearch.ts);
// - simulate: the simulate command's path (file -> readFlows, every record decided by the
//   Simulator against the recommender's own policies for the file, microsegmentation included)
//   against the same read without evaluation, with flow x policy evaluations per second
//   (bench/simulate.ts);
// - scale: how recommend (also in the kustomize layout and with microsegmentation) and simulate
//   grow with namespaces, workloads and distinct flows: each doubling's growth factor of time and
//   peak RSS against the target 2.3 (bench/scale.ts; `--scale full` for the large sizes).
// Every measurement runs in its own child process, so peak RSS is per measurement. Runs alternate
// baseline / ours and the best time of each counts, so page-cache and warm-up effects cancel. The
// last stdout line is one JSON object with the results. Reports only: exits 0 whatever the
// numbers, non-zero only if something crashed.

import { rm } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchElasticsearch, ELASTICSEARCH_DEFAULT_BUCKETS } from './elasticsearch.ts';
import { benchGoldmane, GOLDMANE_DEFAULT_RECORDS } from './goldmane.ts';
import { benchScale, parseScalePreset, type ScalePreset, type ScaleResult } from './scale.ts';
import { benchSimulate, SIMULATE_DEFAULT_RECORDS, type SimulateResult } from './simulate.ts';
import {
  type Comparison,
  compareWithBaseline,
  count,
  generateFlowFile,
  MB,
  measureInChild,
  positiveInteger,
  printTable,
  round,
  summarize,
  withTempDir,
} from './support.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const SCENARIO = 'multi-namespace';
const SOURCES = ['file', 'goldmane', 'elasticsearch', 'simulate', 'scale'] as const;
type Source = (typeof SOURCES)[number];
const DEFAULT_SIZES = [1_000_000, 4_000_000];
const DEFAULT_RUNS = 2;
/** The file source's target; the other sources have none yet, so they only report. */
const TARGET_RATIO = 0.7;
/** Peak RSS of the largest size over the smallest above this counts as growing with the record count. */
const MAX_RSS_GROWTH = 1.2;

interface Options {
  readonly sizes: readonly number[];
  readonly goldmane: number;
  readonly elasticsearch: number;
  readonly simulate: number;
  readonly runs: number;
  readonly scale: ScalePreset;
  readonly only: ReadonlySet<Source>;
}

interface SizeResult extends Comparison {
  readonly fileMb: number;
}

const STRING = { type: 'string' } as const;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: { sizes: STRING, goldmane: STRING, elasticsearch: STRING, simulate: STRING, runs: STRING, scale: STRING, only: STRING },
  });
  return {
    sizes: values.sizes === undefined ? DEFAULT_SIZES : values.sizes.split(',').map((text) => positiveInteger(text, '--sizes')),
    goldmane: values.goldmane === undefined ? GOLDMANE_DEFAULT_RECORDS : positiveInteger(values.goldmane, '--goldmane'),
    elasticsearch:
      values.elasticsearch === undefined ? ELASTICSEARCH_DEFAULT_BUCKETS : positiveInteger(values.elasticsearch, '--elasticsearch'),
    simulate: values.simulate === undefined ? SIMULATE_DEFAULT_RECORDS : positiveInteger(values.simulate, '--simulate'),
    runs: values.runs === undefined ? DEFAULT_RUNS : positiveInteger(values.runs, '--runs'),
    scale: parseScalePreset(values.scale),
    only: values.only === undefined ? new Set(SOURCES) : parseSources(values.only),
  };
}

function parseSources(text: string): Set<Source> {
  const names = text.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !SOURCES.some((source) => source === name));
  if (unknown.length > 0 || names.length === 0) throw new Error(`--only takes a comma list of ${SOURCES.join(', ')}, got "${text}"`);
  return new Set(SOURCES.filter((source) => names.includes(source)));
}

// ---------------------------------------------------------------- the file source

async function measureSize(dir: string, records: number, runs: number): Promise<SizeResult> {
  const file = join(dir, `flows-${records}.jsonl`);
  const { now, fileMb } = await generateFlowFile(file, SCENARIO, records);
  try {
    const comparison = await compareWithBaseline(
      records,
      runs,
      (mode) => measureInChild([WORKER, mode, file, String(now)], `${mode} worker`),
      (m) => {
        if (m.mode === 'ours' && m.details['skipped'] !== 0)
          throw new Error(`ours skipped ${String(m.details['skipped'])} of ${records} valid records`);
      },
    );
    return { ...comparison, fileMb: round(fileMb, 1) };
  } finally {
    // One size's file at a time: the 4M file alone is several GB.
    await rm(file, { force: true });
  }
}

async function benchFiles(sizes: readonly number[], runs: number): Promise<SizeResult[]> {
  console.log(`file source: sizes ${sizes.join(', ')}`);
  return withTempDir(async (dir) => {
    const results: SizeResult[] = [];
    for (const records of sizes) results.push(await measureSize(dir, records, runs));
    return results;
  });
}

/** Largest size's peak RSS over the smallest's; null with fewer than two sizes. */
function reportFileVerdicts(results: readonly SizeResult[]): number | null {
  for (const r of results) {
    if (r.throughputRatio < TARGET_RATIO)
      console.log(`below target: file throughputRatio ${r.throughputRatio} < ${TARGET_RATIO} at ${count(r.records)} records`);
  }
  if (results.length < 2) return null;
  const smallest = results.reduce((a, b) => (b.records < a.records ? b : a));
  const largest = results.reduce((a, b) => (b.records > a.records ? b : a));
  if (largest === smallest) return null;
  const growth = round(largest.peakRssMb / smallest.peakRssMb, 3);
  const verdict = growth > MAX_RSS_GROWTH ? `below target: peak RSS grows with the record count (> ${MAX_RSS_GROWTH})` : 'flat';
  console.log(`file peak RSS growth ${count(largest.records)} / ${count(smallest.records)} records: ${growth} (${verdict})`);
  return growth;
}

// ---------------------------------------------------------------- all sources

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const { runs, only } = options;
  const cpuList = cpus();
  console.log(`flow-source bench: ${[...only].join(', ')}; scenario ${SCENARIO}, ${runs} alternating runs per mode (best time counts)`);
  console.log(
    `node ${process.version} on ${process.platform}/${process.arch}, ${cpuList.length} CPUs ` +
      `(${cpuList[0]?.model.trim() ?? 'unknown'}; available parallelism ${availableParallelism()}), ${(totalmem() / MB / 1024).toFixed(1)} GB RAM`,
  );

  const files = only.has('file') ? await benchFiles(options.sizes, runs) : [];
  let goldmane: Comparison | null = null;
  if (only.has('goldmane')) {
    console.log(`goldmane source: ${count(options.goldmane)} flows over gRPC with mutual TLS`);
    goldmane = await benchGoldmane(options.goldmane, { runs });
  }
  let elasticsearch: Comparison | null = null;
  if (only.has('elasticsearch')) {
    console.log(`elasticsearch source: ${count(options.elasticsearch)} buckets over HTTP`);
    elasticsearch = await benchElasticsearch(options.elasticsearch, { runs });
  }
  let simulate: SimulateResult | null = null;
  if (only.has('simulate')) {
    console.log(`simulate: ${count(options.simulate)} records evaluated against the recommender's policies for them`);
    simulate = await benchSimulate(options.simulate, { runs });
  }

  let scale: ScaleResult | null = null;
  if (only.has('scale')) {
    // One run per size: the growth factors compare sizes, and the large ones take minutes.
    scale = await benchScale(options.scale, 1);
  }

  printTable([
    ...files.map((comparison) => ({ source: 'file', comparison })),
    ...(goldmane === null ? [] : [{ source: 'goldmane', comparison: goldmane }]),
    ...(elasticsearch === null ? [] : [{ source: 'elasticsearch', comparison: elasticsearch }]),
    ...(simulate === null ? [] : [{ source: 'simulate', comparison: simulate }]),
  ]);
  const peakRssGrowth = reportFileVerdicts(files);
  // `results` and `peakRssGrowth` are the file source's, under the names they had before the other
  // sources were measured; a source left out by --only is null.
  const summary = {
    bench: 'ingest-and-recommend',
    scenario: SCENARIO,
    node: process.version,
    cpus: cpuList.length,
    runsPerMode: runs,
    results: files.map(summarize),
    peakRssGrowth,
    goldmane: goldmane === null ? null : summarize(goldmane),
    elasticsearch: elasticsearch === null ? null : summarize(elasticsearch),
    simulate: simulate === null ? null : summarize(simulate),
    scale:
      scale === null
        ? null
        : { preset: scale.preset, target: scale.target, growth: scale.growth, tenThousandNamespaces: scale.tenThousandNamespaces },
  };
  console.log(JSON.stringify(summary));
}

main().catch((e: unknown) => {
  console.error(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
