// `npm run reliability`: the fault, concurrency, people-acting-during-a-run and hostile-input suites at their large size
// (every request of every run of the scenario with every fault kind, more races, many more fuzz
// cases), the request economy at 2,000 open PRs, and one summary table. The suites are the ones `npm test` runs small (see size.ts).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SuiteReport } from './size.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SUITES = [
  'test/reliability/faults.test.ts',
  'test/reliability/concurrency.test.ts',
  'test/reliability/people.test.ts',
  'test/reliability/merge-order.test.ts',
  'test/reliability/deliveries.test.ts',
  'test/hostile/rendering.test.ts',
  // The request economy at 2,000 open PRs (issue 14, point 5).
  'test/app/economy.test.ts',
];

const dir = mkdtempSync(join(tmpdir(), 'reliability-'));
const file = join(dir, 'report.jsonl');
const started = Date.now();
// One jest process per suite: at their large size, run one after another in one process (jest runs
// them in band on two CPUs), what the suites leave behind piled up until V8's heap limit ended the
// third suite (3.8 GB after faults and people); each alone peaks at 1.5 GB.
const statuses = SUITES.map(
  (suite) =>
    spawnSync(
      process.execPath,
      ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', 'node_modules/jest/bin/jest.js', '--testTimeout=3600000', suite],
      { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, RELIABILITY_SIZE: 'large', RELIABILITY_REPORT: file } },
    ).status,
);
let rows: SuiteReport[] = [];
try {
  rows = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SuiteReport);
} catch {
  // No suite got as far as reporting: the table says so.
}
rmSync(dir, { recursive: true, force: true });

const columns = ['suite', 'scenarios', 'faults injected', 'converged', 'duplicates', 'lost decisions', 'fuzz cases', 'failures'] as const;
const cell = (v: number | string | undefined) => (v === undefined ? '-' : String(v));
const lines = rows.map((r) => [
  r.suite,
  cell(r.scenarios),
  cell(r.faults),
  cell(r.converged),
  cell(r.duplicates),
  cell(r.lost),
  cell(r.fuzzCases),
  cell(r.failures),
]);
const sum = (k: keyof SuiteReport) => rows.reduce((n, r) => n + (typeof r[k] === 'number' ? (r[k] as number) : 0), 0);
lines.push([
  'total',
  ...(['scenarios', 'faults', 'converged', 'duplicates', 'lost', 'fuzzCases', 'failures'] as const).map((k) => String(sum(k))),
]);
const widths = columns.map((c, i) => Math.max(c.length, ...lines.map((l) => l[i]!.length)));
const format = (cells: readonly string[]) =>
  `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
console.log(`\nReliability (${Math.round((Date.now() - started) / 1000)} s)\n`);
console.log(format(columns));
console.log(`|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
for (const l of lines) console.log(format(l));
for (const r of rows) if (r.note) console.log(`\n${r.suite}: ${r.note}`);
if (rows.length < SUITES.length) console.log(`\n${SUITES.length - rows.length} suite(s) reported nothing (see the output above).`);
process.exitCode = statuses.every((status) => status === 0) && rows.length >= SUITES.length && sum('failures') === 0 ? 0 : 1;
