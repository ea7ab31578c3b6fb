// `npm run bench` at a tiny size, so that the benchmark cannot rot unnoticed: every source runs
// (the file source at both record profiles, plain and gzipped, through the whole `recommend`
// command; Goldmane over TLS gRPC and Elasticsearch over HTTP on the realistic profile; the
// simulation), each measurement in its own process, and the summary line carries what each
// measured: medians and spreads of wall and CPU time, and their ratios. Times are not asserted
// (tests never do); the bench's own consistency checks (every record read, none skipped, every
// file it says it wrote on disk, every record simulated against every policy) make it exit
// non-zero if they fail.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

interface ModeFigures {
  readonly runs: number;
  readonly wallMs: Spread;
  readonly cpuMs: Spread;
  readonly peakRssMb: number;
}

interface Figures {
  readonly records: number;
  readonly recordsPerSec: number;
  readonly baselineRecordsPerSec: number;
  readonly throughputRatio: number;
  readonly cpuRatio: number;
  readonly pairedWallRatio: Spread;
  readonly pairedCpuRatio: Spread;
  readonly ours: ModeFigures;
  readonly baseline: ModeFigures;
  readonly peakRssMb: number;
}

const ordered = (s: Spread): boolean => s.min <= s.median && s.median <= s.max && s.min > 0;

describe('npm run bench', () => {
  test('measures every source against its baseline and reports the simulation', () => {
    const run = spawnSync(
      process.execPath,
      [
        'bench/run.ts',
        '--sizes',
        '3000,6000',
        '--gzip',
        '3000',
        '--goldmane',
        '3000',
        '--elasticsearch',
        '500',
        '--simulate',
        '3000',
        '--hubble',
        '3000',
        '--runs',
        '2',
        '--scale',
        'tiny',
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 400_000 },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
      target: { throughputRatio: number };
      loadAverage: { before: number[]; after: number[] };
      results: (Figures & { profile: string; gzip: boolean })[];
      verdicts: { profile: string; peakRssGrowth: number; belowTarget: number[] }[];
      goldmane: Figures & { profile: string };
      elasticsearch: Figures & { profile: string };
      hubble: { profile: string; grpc: Figures; file: Figures & { fileMb: number } };
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

    // The target the issue names (issue 14, point 2), in the code.
    expect(summary.target.throughputRatio).toBe(1);
    expect(summary.loadAverage.before).toHaveLength(3);
    expect(summary.results.map((r) => `${r.profile} ${r.records}${r.gzip ? ' gz' : ''}`)).toEqual([
      'present 3000',
      'present 6000',
      'present 3000 gz',
      'realistic 3000',
      'realistic 6000',
      'realistic 3000 gz',
    ]);
    expect(summary.goldmane).toMatchObject({ records: 3000, profile: 'realistic' });
    expect(summary.elasticsearch).toMatchObject({ records: 500, profile: 'realistic' });
    expect(summary.hubble).toMatchObject({ profile: 'realistic', grpc: { records: 3000 }, file: { records: 3000 } });
    for (const figures of [
      ...summary.results,
      summary.goldmane,
      summary.elasticsearch,
      summary.simulate,
      summary.hubble.grpc,
      summary.hubble.file,
    ]) {
      expect(figures.recordsPerSec).toBeGreaterThan(0);
      expect(figures.baselineRecordsPerSec).toBeGreaterThan(0);
      // Ratios of medians: records/s are records over the median wall time.
      expect(figures.throughputRatio).toBeCloseTo(figures.recordsPerSec / figures.baselineRecordsPerSec, 2);
      expect(figures.throughputRatio).toBeCloseTo(figures.baseline.wallMs.median / figures.ours.wallMs.median, 2);
      expect(figures.cpuRatio).toBeCloseTo(figures.baseline.cpuMs.median / figures.ours.cpuMs.median, 2);
      for (const s of [figures.ours.wallMs, figures.ours.cpuMs, figures.baseline.wallMs, figures.baseline.cpuMs])
        expect(ordered(s)).toBe(true);
      expect(ordered(figures.pairedWallRatio) && ordered(figures.pairedCpuRatio)).toBe(true);
      expect([figures.ours.runs, figures.baseline.runs]).toEqual([2, 2]);
      expect(figures.peakRssMb).toBeGreaterThan(0);
    }
    expect(summary.verdicts.map((v) => v.profile)).toEqual(['present', 'realistic']);
    for (const v of summary.verdicts) expect(v.peakRssGrowth).toBeGreaterThan(0);

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
      'peers recommend 20->40',
      'peers microsegment 20->40',
      'peers simulate 20->40',
    ]);
    for (const g of summary.scale.growth) {
      expect(g.time).toBeGreaterThan(0);
      expect(g.memory).toBeGreaterThan(0);
    }
    expect(run.stdout).toContain('target <= 2.3');
  }, 420_000);
});
