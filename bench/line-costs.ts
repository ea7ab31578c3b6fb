// `node bench/line-costs.ts [--profile realistic|present] [--records 100000] [--rounds 3]`
// What each step of the file path costs per line, on one thread: generates a file of the record
// profile (src/generator/generate.ts PROFILES), reads its lines into memory, then times over the
// same lines, best of `--rounds`: JSON.parse alone (the baseline's work, without reading), the
// reference parser (parseCalicoFlowLog), the fast path (a fresh FlowLogParser each round, its
// learning included), and the fast path with the default configuration's aggregator (what a
// reader thread does with a line once it is read). CPU time (user + system) per line, so a loaded
// machine moves it less than wall time; bench/profile.ts shows the same path function by function,
// and `npm run bench` the whole command line against the baseline.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG } from '../src/config/recommendation-config.ts';
import { FlowAggregator } from '../src/engine/aggregate.ts';
import { parseCalicoFlowLog } from '../src/flows/calico-flow-log.ts';
import { FlowLogParser } from '../src/flows/flow-log-parser.ts';
import { readFileChunks, readLines } from '../src/flows/line-reader.ts';
import { learnContext, lookbackWindow } from '../src/flows/read-flows.ts';
import { isProfileName, PROFILES, writeFlowFile } from '../src/generator/generate.ts';
import { count, positiveInteger, runMain } from './support.ts';

/** The least CPU time, microseconds per line, of `rounds` runs of `step` over every line. */
function perLine(lines: readonly string[], rounds: number, prepare: () => (line: string) => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const step = prepare();
    const before = process.cpuUsage();
    for (const line of lines) step(line);
    const cpu = process.cpuUsage(before);
    best = Math.min(best, (cpu.user + cpu.system) / lines.length);
  }
  return best;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      profile: { type: 'string', default: 'realistic' },
      records: { type: 'string', default: '100000' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const profile = values.profile;
  if (!isProfileName(profile)) throw new Error('--profile must be present or realistic');
  const records = positiveInteger(values.records, '--records');
  const rounds = positiveInteger(values.rounds, '--rounds');
  const dir = await mkdtemp(join(tmpdir(), 'policy-recommender-line-costs-'));
  try {
    const file = join(dir, 'flows.jsonl');
    const now = Math.floor(Date.now() / 1000 / 300) * 300;
    await writeFlowFile(file, { ...PROFILES[profile], records, endTime: now });
    const lines: string[] = [];
    await readLines(readFileChunks(file), { line: (text) => void lines.push(text), bad: () => {} });
    const context = learnContext(DEFAULT_CONFIG, lookbackWindow(DEFAULT_CONFIG, now));
    /** The fast path's last parser: how it read the lines (fast, by the reference, past its cache's cap). */
    let parser = new FlowLogParser();
    const rows: [string, number][] = [
      ['JSON.parse', perLine(lines, rounds, () => (line) => void JSON.parse(line))],
      ['parseCalicoFlowLog (reference)', perLine(lines, rounds, () => (line) => void parseCalicoFlowLog(line))],
      [
        'FlowLogParser (fast path)',
        perLine(lines, rounds, () => {
          const fresh = (parser = new FlowLogParser());
          return (line) => void fresh.parse(line);
        }),
      ],
      [
        'FlowLogParser + FlowAggregator.add',
        perLine(lines, rounds, () => {
          const fresh = new FlowLogParser();
          const aggregator = new FlowAggregator(context);
          return (line) => {
            const result = fresh.parse(line);
            if (result.ok) aggregator.add(result.record);
          };
        }),
      ],
    ];
    console.log(`${count(lines.length)} lines of the ${profile} profile, one thread, best of ${rounds}: CPU microseconds per line`);
    for (const [step, us] of rows) console.log(`${us.toFixed(2).padStart(8)}  ${step}`);
    console.log(`the fast path's parser: ${JSON.stringify(parser.stats)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

runMain('line costs', main);
