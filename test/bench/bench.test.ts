// `npm run bench` at a tiny size, so that the benchmark cannot rot unnoticed: every source runs
// (the file source, Goldmane over TLS gRPC, Elasticsearch over HTTP, the simulation), each
// measurement in its own process, and the summary line carries what each measured. Times are
// not asserted (tests never do); the bench's own consistency checks (every record read, none
// skipped, every record simulated against every policy) make it exit non-zero if they fail.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Figures {
  readonly records: number;
  readonly recordsPerSec: number;
  readonly baselineRecordsPerSec: number;
  readonly throughputRatio: number;
  readonly peakRssMb: number;
}

describe('npm run bench', () => {
  test('measures every source against its baseline and reports the simulation', () => {
    const run = spawnSync(
      process.execPath,
      [
        'bench/run.ts',
        '--sizes',
        '3000,6000',
        '--goldmane',
        '3000',
        '--elasticsearch',
        '500',
        '--simulate',
        '3000',
        '--runs',
        '1',
        '--scale',
        'tiny',
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 220_000 },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
      results: Figures[];
      peakRssGrowth: number;
      goldmane: Figures;
      elasticsearch: Figures;
      simulate: Figures & {
        policies: number;
        policiesByTier: Record<string, number>;
        evaluationsPerSec: number;
        candidatePoliciesPerRecord: number;
        verdicts: { allowed: number; denied: number; indeterminate: number };
      };
      scale: {
        preset: string;
        target: number;
        growth: { axis: string; task: string; from: number; to: number; time: number; memory: number }[];
      };
    };

    expect(summary.results.map((r) => r.records)).toEqual([3000, 6000]);
    expect(summary.goldmane.records).toBe(3000);
    expect(summary.elasticsearch.records).toBe(500);
    for (const figures of [...summary.results, summary.goldmane, summary.elasticsearch, summary.simulate]) {
      expect(figures.recordsPerSec).toBeGreaterThan(0);
      expect(figures.baselineRecordsPerSec).toBeGreaterThan(0);
      expect(figures.throughputRatio).toBeCloseTo(figures.recordsPerSec / figures.baselineRecordsPerSec, 2);
      expect(figures.peakRssMb).toBeGreaterThan(0);
    }
    expect(summary.peakRssGrowth).toBeGreaterThan(0);

    const sim = summary.simulate;
    expect(sim.records).toBe(3000);
    // The recommender's own policies, microsegmentation included: both tiers and the default deny.
    expect(Object.keys(sim.policiesByTier)).toEqual(['namespace-isolation', 'appsec', 'default']);
    expect(Object.values(sim.policiesByTier).reduce((a, b) => a + b, 0)).toBe(sim.policies);
    expect(sim.policiesByTier['appsec']).toBeGreaterThan(sim.policiesByTier['namespace-isolation']!);
    expect(sim.verdicts.allowed + sim.verdicts.denied + sim.verdicts.indeterminate).toBe(3000);
    expect(sim.verdicts.allowed).toBeGreaterThan(sim.verdicts.denied);
    // Both are computed from the best time, each rounded on its own.
    expect(sim.evaluationsPerSec / (sim.recordsPerSec * sim.policies)).toBeCloseTo(1, 2);
    expect(sim.candidatePoliciesPerRecord).toBeGreaterThan(0);
    expect(sim.candidatePoliciesPerRecord).toBeLessThanOrEqual(sim.policies);

    // The scale section: one growth factor per doubling of each axis, for each task measured on it.
    expect(summary.scale.preset).toBe('tiny');
    expect(summary.scale.target).toBe(2.3);
    expect(summary.scale.growth.map((g) => `${g.axis} ${g.task} ${g.from}->${g.to}`)).toEqual([
      'namespaces recommend 20->40',
      'namespaces kustomize 20->40',
      'namespaces microsegment 20->40',
      'workloads recommend 100->200',
      'workloads microsegment 100->200',
      'distinct flows recommend 500->1000',
      'distinct flows simulate 500->1000',
    ]);
    for (const g of summary.scale.growth) {
      expect(g.time).toBeGreaterThan(0);
      expect(g.memory).toBeGreaterThan(0);
    }
    expect(run.stdout).toContain('target <= 2.3');
  }, 240_000);
});
