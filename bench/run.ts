// `npm run bench [-- --sizes 1000000,4000000] [--profiles present,realistic] [--gzip 1000000]
//                    [--goldmane 1000000] [--elasticsearch 100000] [--simulate 1000000] [--runs 3]
//                    [--scale tiny|short|full] [--hubble 1000000] [--only file,goldmane,elasticsearch,simulate,scale,hubble]
//                    [--cli built|sources]`
// Measures each flow source against a baseline measured in the same run, as ratios:
// - file: the whole `recommend` command (src/cli/main.ts: file -> FileFlowSource -> readFlows ->
//   planRecommendations -> the YAML files written into a fresh directory -> the summary) against
//   reading the same file line by line on one thread and JSON.parsing each line (bench/worker.ts),
//   for each record profile (src/generator/generate.ts PROFILES: records shaped like Calico
//   Enterprise's, `present` at the multi-namespace scenario's 378 distinct flows, `realistic` at
//   200 namespaces and about 20,000) at each of `--sizes`, plain, and gzipped at each of `--gzip`;
//   `recommend` as the installed command runs it (`--cli built`, the default: dist/, compiled by
//   scripts/build.ts at the start of the run), or from the TypeScript sources (`--cli sources`:
//   Node strips the types of every module, on the main thread and on each reader thread);
// - goldmane: the Goldmane source into readFlows against the same Flows.List calls that only
//   decode the flows (bench/goldmane.ts), on the realistic profile's flows;
// - elasticsearch: the Elasticsearch source into readFlows against plain HTTP paging that only
//   JSON.parses each page (bench/elasticsearch.ts), on the realistic profile's flows;
// - simulate: the simulate command's path against the same read without evaluation, with flow x
//   policy evaluations per second (bench/simulate.ts);
// - hubble: the Hubble source over gRPC into readFlows against the same GetFlows call that only
//   decodes, and a Hubble jsonpb file through `recommend` against read + JSON.parse (bench/hubble.ts);
// - scale: how recommend and simulate grow with namespaces, workloads, distinct flows and a hub's peers
//   (bench/scale.ts; `--scale full` for the large sizes).
// Every measurement runs in its own child process, so peak RSS is per measurement. Runs come in
// pairs, baseline and ours back to back (alternating which goes first); each mode's median and
// spread (min-max) of wall and CPU time are reported, and the ratios: baseline's median over ours'
// (throughputRatio, for wall time; cpuRatio) and the same per pair. Above 1, ours is faster. The
// last stdout line is one JSON object with the results. Reports only: exits 0 whatever the
// numbers, non-zero only if something crashed.

import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isProfileName, PROFILE_NAMES, PROFILES, type ProfileName } from '../src/generator/generate.ts';
import { benchElasticsearch, ELASTICSEARCH_DEFAULT_BUCKETS } from './elasticsearch.ts';
import { benchGoldmane, GOLDMANE_DEFAULT_RECORDS } from './goldmane.ts';
import { benchHubble, HUBBLE_DEFAULT_RECORDS, type HubbleBenchResult, hubbleRows, hubbleSummary } from './hubble.ts';
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
const BUILD = fileURLToPath(new URL('../scripts/build.ts', import.meta.url));
const SOURCES = ['file', 'goldmane', 'elasticsearch', 'simulate', 'scale', 'hubble'] as const;
type Source = (typeof SOURCES)[number];
const DEFAULT_SIZES = [1_000_000, 4_000_000];
const DEFAULT_GZIP_SIZES = [1_000_000];
const DEFAULT_RUNS = 3;
/**
 * The file source's target (issue 14, point 2): `recommend` at least as fast as a bare single-threaded
 * read + JSON.parse of the same file, on the realistic profile at every size. Reported for every
 * file measurement; the other sources have none yet, so they only report.
 */
const TARGET_RATIO = 1.0;
/** Issue 14, point 3: peak RSS of the largest size over the smallest, per profile, at most this. */
const MAX_RSS_GROWTH = 1.1;
/** Issue 14, point 3: peak RSS at the largest size of the present profile below this. */
const MAX_PRESENT_PEAK_RSS_MB = 200;

interface Options {
  readonly sizes: readonly number[];
  readonly gzipSizes: readonly number[];
  readonly profiles: readonly ProfileName[];
  readonly goldmane: number;
  readonly elasticsearch: number;
  readonly simulate: number;
  readonly hubble: number;
  readonly runs: number;
  readonly scale: ScalePreset;
  readonly only: ReadonlySet<Source>;
  /** The file source's `ours`: the built command line (dist/) or the sources. */
  readonly cli: 'built' | 'sources';
}

interface FileResult extends Comparison {
  readonly profile: ProfileName;
  readonly gzip: boolean;
  readonly fileMb: number;
}

const STRING = { type: 'string' } as const;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      sizes: STRING,
      gzip: STRING,
      profiles: STRING,
      goldmane: STRING,
      elasticsearch: STRING,
      simulate: STRING,
      hubble: STRING,
      runs: STRING,
      scale: STRING,
      only: STRING,
      cli: STRING,
    },
  });
  if (values.cli !== undefined && values.cli !== 'built' && values.cli !== 'sources')
    throw new Error(`--cli takes built or sources, got "${values.cli}"`);
  const sizes = (text: string | undefined, name: string, fallback: readonly number[]): readonly number[] =>
    text === undefined ? fallback : text === '' ? [] : text.split(',').map((t) => positiveInteger(t, name));
  return {
    sizes: sizes(values.sizes, '--sizes', DEFAULT_SIZES),
    gzipSizes: sizes(values.gzip, '--gzip', DEFAULT_GZIP_SIZES),
    profiles: values.profiles === undefined ? PROFILE_NAMES : parseProfiles(values.profiles),
    goldmane: values.goldmane === undefined ? GOLDMANE_DEFAULT_RECORDS : positiveInteger(values.goldmane, '--goldmane'),
    elasticsearch:
      values.elasticsearch === undefined ? ELASTICSEARCH_DEFAULT_BUCKETS : positiveInteger(values.elasticsearch, '--elasticsearch'),
    simulate: values.simulate === undefined ? SIMULATE_DEFAULT_RECORDS : positiveInteger(values.simulate, '--simulate'),
    hubble: values.hubble === undefined ? HUBBLE_DEFAULT_RECORDS : positiveInteger(values.hubble, '--hubble'),
    runs: values.runs === undefined ? DEFAULT_RUNS : positiveInteger(values.runs, '--runs'),
    scale: parseScalePreset(values.scale),
    only: values.only === undefined ? new Set(SOURCES) : parseSources(values.only),
    cli: values.cli ?? 'built',
  };
}

function parseSources(text: string): Set<Source> {
  const names = text.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !SOURCES.some((source) => source === name));
  if (unknown.length > 0 || names.length === 0) throw new Error(`--only takes a comma list of ${SOURCES.join(', ')}, got "${text}"`);
  return new Set(SOURCES.filter((source) => names.includes(source)));
}

function parseProfiles(text: string): ProfileName[] {
  const names = text.split(',').map((name) => name.trim());
  if (names.length === 0 || !names.every(isProfileName))
    throw new Error(`--profiles takes a comma list of ${PROFILE_NAMES.join(', ')}, got "${text}"`);
  return PROFILE_NAMES.filter((name) => names.includes(name));
}

// ---------------------------------------------------------------- the file source

async function measureFile(
  dir: string,
  profile: ProfileName,
  records: number,
  gzip: boolean,
  runs: number,
  cli: Options['cli'],
): Promise<FileResult> {
  const file = join(dir, `flows-${profile}-${records}.jsonl${gzip ? '.gz' : ''}`);
  console.log(`file source, ${profile} profile, ${count(records)} records${gzip ? ', gzipped' : ''}:`);
  const { now, fileMb } = await generateFlowFile(file, PROFILES[profile], records);
  try {
    const comparison = await compareWithBaseline(
      records,
      runs,
      (mode) =>
        measureInChild([WORKER, mode, file, String(now), ...(mode === 'ours' && cli === 'built' ? ['built'] : [])], `${mode} worker`),
      (m) => {
        if (m.mode !== 'ours') return;
        if (m.details['skipped'] !== 0) throw new Error(`ours skipped ${String(m.details['skipped'])} of ${records} valid records`);
        if (m.details['recordsSeen'] !== records) throw new Error(`ours saw ${String(m.details['recordsSeen'])} of ${records} records`);
        if (m.details['filesOnDisk'] !== m.details['filesWritten'])
          throw new Error(`ours said it wrote ${String(m.details['filesWritten'])} files, ${String(m.details['filesOnDisk'])} are there`);
      },
    );
    const d = comparison.details;
    console.log(
      `  ours learned from ${count(Number(d['recordsLearned']))} records and wrote ${String(d['filesWritten'])} files and a summary of ${count(Number(d['summaryChars']))} characters`,
    );
    return { ...comparison, profile, gzip, fileMb: round(fileMb, 1) };
  } finally {
    // One file at a time: the 4M file alone is several GB.
    await rm(file, { force: true });
  }
}

/** Compiles the command line into dist/ (scripts/build.ts, as `npm run build`): what the installed command runs. */
function buildCli(): void {
  const built = spawnSync(process.execPath, [BUILD], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error(`build failed (${built.signal ?? `exit ${built.status}`})`);
}

async function benchFiles(options: Options): Promise<FileResult[]> {
  if (options.cli === 'built') {
    buildCli();
    console.log(
      'file source: ours is the built command line (dist/cli/main.js, just built by scripts/build.ts), as the installed command runs it',
    );
  } else console.log('file source: ours is the command line from its TypeScript sources (src/cli/main.ts, types stripped by Node)');
  return withTempDir(async (dir) => {
    const results: FileResult[] = [];
    for (const profile of options.profiles) {
      for (const records of options.sizes) results.push(await measureFile(dir, profile, records, false, options.runs, options.cli));
      for (const records of options.gzipSizes) results.push(await measureFile(dir, profile, records, true, options.runs, options.cli));
    }
    return results;
  });
}

interface ProfileVerdict {
  readonly profile: ProfileName;
  /** Plain files under TARGET_RATIO, by size. */
  readonly belowTarget: readonly number[];
  /** Largest plain size's peak RSS over the smallest's; null with fewer than two sizes. */
  readonly peakRssGrowth: number | null;
  /** The largest plain size's peak RSS. */
  readonly peakRssMb: number | null;
}

function reportFileVerdicts(results: readonly FileResult[], profiles: readonly ProfileName[]): ProfileVerdict[] {
  for (const r of results) {
    if (r.throughputRatio < TARGET_RATIO) {
      console.log(
        `below target: file (${r.profile}${r.gzip ? ', gzipped' : ''}) throughputRatio ${r.throughputRatio} < ${TARGET_RATIO} at ${count(r.records)} records`,
      );
    }
  }
  return profiles.map((profile) => {
    const plain = results.filter((r) => r.profile === profile && !r.gzip).sort((a, b) => a.records - b.records);
    const smallest = plain[0];
    const largest = plain.at(-1);
    let peakRssGrowth: number | null = null;
    if (smallest !== undefined && largest !== undefined && largest.records > smallest.records) {
      peakRssGrowth = round(largest.peakRssMb / smallest.peakRssMb, 3);
      const verdict = peakRssGrowth > MAX_RSS_GROWTH ? `below target: grows with the record count (> ${MAX_RSS_GROWTH})` : 'flat';
      console.log(
        `file (${profile}) peak RSS growth ${count(largest.records)} / ${count(smallest.records)} records: ${peakRssGrowth} (${verdict})`,
      );
    }
    if (profile === 'present' && largest !== undefined && largest.peakRssMb >= MAX_PRESENT_PEAK_RSS_MB) {
      console.log(
        `below target: file (present) peak RSS ${largest.peakRssMb} MB >= ${MAX_PRESENT_PEAK_RSS_MB} MB at ${count(largest.records)} records`,
      );
    }
    return {
      profile,
      belowTarget: plain.filter((r) => r.throughputRatio < TARGET_RATIO).map((r) => r.records),
      peakRssGrowth,
      peakRssMb: largest?.peakRssMb ?? null,
    };
  });
}

// ---------------------------------------------------------------- all sources

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const { runs, only } = options;
  const cpuList = cpus();
  const load = (): string =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(', ');
  console.log(`flow-source bench: ${[...only].join(', ')}; profiles ${options.profiles.join(', ')}, ${runs} paired runs per measurement`);
  console.log(
    `node ${process.version} on ${process.platform}/${process.arch}, ${cpuList.length} CPUs ` +
      `(${cpuList[0]?.model.trim() ?? 'unknown'}; available parallelism ${availableParallelism()}), ${(totalmem() / MB / 1024).toFixed(1)} GB RAM; load average ${load()}`,
  );
  const loadBefore = loadavg();

  const files = only.has('file') ? await benchFiles(options) : [];
  let goldmane: Comparison | null = null;
  if (only.has('goldmane')) {
    console.log(`goldmane source: ${count(options.goldmane)} flows of the realistic profile over gRPC with mutual TLS`);
    goldmane = await benchGoldmane(options.goldmane, { runs });
  }
  let elasticsearch: Comparison | null = null;
  if (only.has('elasticsearch')) {
    console.log(`elasticsearch source: ${count(options.elasticsearch)} buckets of the realistic profile over HTTP`);
    elasticsearch = await benchElasticsearch(options.elasticsearch, { runs });
  }
  let simulate: SimulateResult | null = null;
  if (only.has('simulate')) {
    console.log(`simulate: ${count(options.simulate)} records evaluated against the recommender's policies for them`);
    simulate = await benchSimulate(options.simulate, { runs });
  }

  let hubble: HubbleBenchResult | null = null;
  if (only.has('hubble')) hubble = await benchHubble(options.hubble, { runs });

  let scale: ScaleResult | null = null;
  if (only.has('scale')) {
    // One run per size: the growth factors compare sizes, and the large ones take minutes.
    scale = await benchScale(options.scale, 1);
  }

  printTable([
    ...files.map((comparison) => ({
      source: `file ${comparison.profile}${comparison.gzip ? ' .gz' : ''}`,
      comparison,
    })),
    ...(goldmane === null ? [] : [{ source: 'goldmane realistic', comparison: goldmane }]),
    ...(elasticsearch === null ? [] : [{ source: 'elasticsearch realistic', comparison: elasticsearch }]),
    ...(simulate === null ? [] : [{ source: 'simulate', comparison: simulate }]),
    ...(hubble === null ? [] : hubbleRows(hubble)),
  ]);
  const verdicts = reportFileVerdicts(files, options.profiles);
  console.log(`load average before ${loadBefore.map((l) => l.toFixed(2)).join(', ')}, after ${load()} (${cpuList.length} CPUs)`);
  // A source left out by --only is null.
  const summary = {
    bench: 'ingest-and-recommend',
    node: process.version,
    cpus: cpuList.length,
    loadAverage: { before: loadBefore.map((l) => round(l, 2)), after: loadavg().map((l) => round(l, 2)) },
    runsPerMode: runs,
    fileCli: only.has('file') ? options.cli : null,
    target: { throughputRatio: TARGET_RATIO, peakRssGrowth: MAX_RSS_GROWTH, presentPeakRssMb: MAX_PRESENT_PEAK_RSS_MB },
    results: files.map(summarize),
    verdicts,
    goldmane: goldmane === null ? null : { profile: 'realistic', ...summarize(goldmane) },
    elasticsearch: elasticsearch === null ? null : { profile: 'realistic', ...summarize(elasticsearch) },
    simulate: simulate === null ? null : summarize(simulate),
    hubble: hubble === null ? null : hubbleSummary(hubble),
    scale:
      scale === null
        ? null
        : {
            preset: scale.preset,
            target: scale.target,
            growth: scale.growth,
            tenThousandNamespaces: scale.tenThousandNamespaces,
            verdicts: scale.verdicts,
          },
  };
  console.log(JSON.stringify(summary));
}

main().catch((e: unknown) => {
  console.error(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
