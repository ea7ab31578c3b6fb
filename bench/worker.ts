// One measurement of the file source in its own process, so peak memory belongs to that
// measurement alone.
//   node bench/worker.ts baseline <file>
//   node bench/worker.ts ours <file> <now unix seconds> [built]
// Prints one JSON line (a Measurement, bench/support.ts) on stdout. Only the work itself is timed;
// the project's modules are imported, and ours' output directory made, before the clock starts,
// and the modules only in `ours` mode, so the baseline's memory is not charged for them.
// - baseline: the file read line by line on one thread, every line JSON.parsed (gunzipped first
//   for a `.gz` file), nothing more: the least any reader of the file does;
// - ours: the whole `policy-recommender recommend --flows <file> --out <dir> --now <now>`, through
//   the command line's own entry point (src/cli/main.ts main): reading, learning, planning, writing
//   the YAML files into a fresh directory and rendering the summary (counted, not printed).
//   With `built`, the compiled command line (dist/cli/main.js, `npm run build`) instead of the
//   sources: what the installed command runs (bin/policy-recommender.cjs), without Node's type
//   stripping of every module on the main thread and on each reader thread.

import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { measureMode, runMain, type Work, type WorkDone } from './support.ts';

/** The same read size FileFlowSource uses, so the baseline is not slowed by smaller reads. */
const READ_CHUNK = 1 << 20;

async function baseline(file: string): Promise<WorkDone> {
  const raw = createReadStream(file, { highWaterMark: READ_CHUNK });
  const input: Readable = file.endsWith('.gz') ? raw.pipe(createGunzip({ chunkSize: READ_CHUNK })) : raw;
  const lines = createInterface({ input, crlfDelay: Infinity });
  let records = 0;
  let objects = 0;
  for await (const line of lines) {
    records++;
    const value: unknown = JSON.parse(line);
    // Use the result so the parse cannot be treated as dead code.
    if (typeof value === 'object' && value !== null) objects++;
  }
  return { records, details: { objects } };
}

/** `1,234,567` in the summary -> 1234567. */
const summaryNumber = (text: string | undefined): number => Number((text ?? '').replaceAll(',', ''));

/** Files under `dir`, at any depth. */
async function countFiles(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).length;
}

/** The command line's entry point: the sources', or the built one's (dist/, as installed). */
type CliMain = typeof import('../src/cli/main.ts').main;

/** Loads the command line, makes a fresh output directory, then returns the timed work: `recommend` into it. */
async function ours(file: string, now: number, built: boolean): Promise<Work> {
  // A path in a variable: the built module is not part of the type-checked program.
  const builtCli = '../dist/cli/main.js';
  const { main } = (built ? await import(builtCli) : await import('../src/cli/main.ts')) as { main: CliMain };
  const out = await mkdtemp(join(tmpdir(), 'policy-recommender-bench-out-'));
  const argv = ['recommend', '--flows', file, '--out', out, '--now', new Date(now * 1000).toISOString()];
  return async () => {
    let summary = '';
    const errors: string[] = [];
    try {
      const code = await main(argv, { stdout: (text) => void (summary += text), stderr: (text) => void errors.push(text) });
      if (code !== 0) throw new Error(`recommend exited ${code}: ${errors.join(' ')}`);
      // The summary's first line (src/cli/summary.ts renderSummary) says what was read.
      const read = /^Read ([\d,]+) lines from .*?: ([\d,]+) flow records, ([\d,]+) learned from/.exec(summary);
      const skipped = /Skipped ([\d,]+) malformed lines/.exec(summary);
      const wrote = /Wrote ([\d,]+) files to /.exec(summary);
      if (read === null || wrote === null) throw new Error(`unexpected summary: ${summary.slice(0, 300)}`);
      return {
        records: summaryNumber(read[1]),
        details: {
          recordsSeen: summaryNumber(read[2]),
          recordsLearned: summaryNumber(read[3]),
          skipped: skipped === null ? 0 : summaryNumber(skipped[1]),
          filesWritten: summaryNumber(wrote[1]),
          filesOnDisk: await countFiles(out),
          summaryChars: summary.length,
        },
      };
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  };
}

const USAGE = 'worker.ts baseline <file> | worker.ts ours <file> <now> [built]';

async function main(argv: readonly string[]): Promise<void> {
  const [mode, file, now, cli] = argv;
  if (file === undefined || (cli !== undefined && cli !== 'built')) throw new Error(`usage: ${USAGE}`);
  await measureMode(mode, { baseline: async () => () => baseline(file), ours: () => ours(file, Number(now), cli === 'built') }, USAGE);
}

runMain('bench worker', () => main(process.argv.slice(2)));
