// Output of any size: `simulate` over 100,000 distinct flows crashed with "Maximum call stack
// size exceeded" (issue 14) because its table was built with `Math.max(...cells)` and
// `lines.push(...table)`, which put every row on the stack. 200,000 rows crash either form.

import { describe, expect, test } from '@jest/globals';
import type { DirectoryRun } from '../../src/cli/recommend-directory.ts';
import { renderSimulation } from '../../src/cli/render-simulation.ts';
import type { DirectorySimulation } from '../../src/cli/simulate-directory.ts';
import { renderSummary } from '../../src/cli/summary.ts';
import { formatTable } from '../../src/cli/table.ts';
import type { FlowRow, Totals } from '../../src/simulate/report.ts';
import { appendAll, maxOf } from '../../src/util/append.ts';

const ROWS = 200_000;

describe('output of 200,000 rows', () => {
  test('formatTable pads every column to its widest cell', () => {
    const rows = [['NAME', 'N'], ...Array.from({ length: ROWS }, (_, i) => [`flow-${i}`, String(i)])];
    const lines = formatTable(rows);
    expect(lines).toHaveLength(ROWS + 1);
    expect(lines[0]).toBe(`NAME${' '.repeat('flow-199999'.length - 4)}  N`);
    expect(lines[1]).toBe(`flow-0${' '.repeat('flow-199999'.length - 6)}  0`);
    expect(lines[ROWS]).toBe('flow-199999  199999');
  });

  test('the simulation report lists every distinct flow', () => {
    const rows: FlowRow[] = Array.from({ length: ROWS }, (_, i) => ({
      verdict: 'allowed',
      direction: 'egress',
      endpoint: { type: 'wep', namespace: `tenant-${i % 1000}`, name: `api-${i}-*` },
      peer: { type: 'net', namespace: null, name: 'pub' },
      service: null,
      protocol: 'TCP',
      port: 443,
      decisions: [{ by: 'profile', profile: `kns.tenant-${i % 1000}` }],
      unknowns: [],
      records: 1,
      flows: 1,
    })) as unknown as FlowRow[];
    const count = { rows: ROWS, records: ROWS, flows: ROWS };
    const totals: Totals = {
      all: count,
      byVerdict: { allowed: count, denied: { rows: 0, records: 0, flows: 0 }, indeterminate: { rows: 0, records: 0, flows: 0 } },
      byDecider: [],
    };
    const sim = {
      flows: {
        source: 'a generated file',
        skipped: { total: 0 },
        unlearnable: { total: 0 },
        observations: { recordsSeen: ROWS, recordsLearned: ROWS, notLearned: {} },
        window: { from: 1_795_000_000, to: 1_795_086_400 },
      },
      simulated: ROWS,
      policies: { dir: 'policies', view: 'staged', count: 0, warnings: [] },
      rows,
      totals,
    } as unknown as DirectorySimulation;
    const lines = renderSimulation(sim).split('\n');
    expect(lines.filter((l) => l.startsWith('allowed  egress'))).toHaveLength(ROWS);
    expect(lines.at(-1)).toBe(
      'Totals: 200,000 distinct flows (200,000 records, 200,000 flows): 200,000 allowed (200,000 flows), 0 denied (0 flows), 0 indeterminate (0 flows).',
    );
  });

  test('appendAll and maxOf take lists of any length', () => {
    const big = Array.from({ length: ROWS }, (_, i) => i);
    expect(appendAll([-1], big)).toHaveLength(ROWS + 1);
    expect(maxOf(big)).toBe(ROWS - 1);
    expect(maxOf([], 0)).toBe(0);
  });

  test('the summary names ten written files at most, then says how many more', () => {
    const changes = new Map(
      Array.from({ length: 10_000 }, (_, i) => [`namespace-isolation/tenant-${String(i).padStart(5, '0')}.yaml`, 'x'] as const),
    );
    const run = {
      flows: {
        source: 'a generated file',
        inputsRead: 1,
        skipped: { total: 0 },
        unlearnable: { total: 0 },
        observations: { recordsSeen: 1, recordsLearned: 1, notLearned: {} },
        window: { from: 0, to: 1 },
      },
      plan: { changes, clusterWide: [], namespaces: [], notSelected: [], warnings: [], workloads: [], microsegmentation: null },
    } as unknown as DirectoryRun;
    const last = renderSummary(run, 'out', false).split('\n').at(-1)!;
    expect(last).toBe(`Wrote 10000 files to out: ${[...changes.keys()].slice(0, 10).join(', ')} and 9990 more.`);
  });
});
