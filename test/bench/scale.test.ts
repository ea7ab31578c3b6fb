// The scale bench's arithmetic (bench/scale.ts): growth per doubling, a re-measured size keeping its
// best run, and each axis's verdict. The bench itself runs at a tiny size in bench.test.ts.

import { describe, expect, test } from '@jest/globals';
import { axisVerdicts, combineFigures, growthBetween, perDoubling, TARGET_GROWTH, type TaskFigures } from '../../bench/scale.ts';

function figures(workloads: number, cpuSeconds: number, systemSeconds: number, peakRssMb: number, seconds = cpuSeconds): TaskFigures {
  return {
    task: 'microsegment',
    size: { namespaces: 1000, workloads, flows: 4 * workloads },
    seconds,
    cpuSeconds,
    systemSeconds,
    peakRssMb,
    runs: 1,
  };
}

describe('perDoubling', () => {
  test('a doubling is its own ratio; another step is the ratio of one doubling', () => {
    expect(perDoubling(2)(2.5)).toBe(2.5);
    // 4x the size at 4x the cost is 2x per doubling; 1.25x at 1.25x is linear too.
    expect(perDoubling(4)(4)).toBeCloseTo(2, 10);
    expect(perDoubling(1.25)(1.25)).toBeCloseTo(2, 10);
    expect(perDoubling(1.25)(1.25 ** 2)).toBeCloseTo(4, 10);
  });
});

describe('growthBetween', () => {
  test('CPU time, user time, wall time and peak RSS, larger size over smaller', () => {
    const g = growthBetween('workloads', figures(10_000, 10, 1, 500, 12), figures(20_000, 25, 9, 700, 30));
    expect(g).toEqual({
      axis: 'workloads',
      task: 'microsegment',
      from: 10_000,
      to: 20_000,
      time: 2.5,
      user: 1.78,
      systemSeconds: [1, 9],
      wall: 2.5,
      memory: 1.4,
      withinTarget: false,
      firstAttempt: null,
    });
  });

  test('within the target when both CPU time and peak RSS are', () => {
    expect(growthBetween('workloads', figures(10_000, 10, 1, 500), figures(20_000, 10 * TARGET_GROWTH, 1, 1000)).withinTarget).toBe(true);
    expect(growthBetween('workloads', figures(10_000, 10, 1, 500), figures(20_000, 20, 1, 500 * 2.31)).withinTarget).toBe(false);
  });

  test("the peers axis counts a hub's peer namespaces (all namespaces but the hub)", () => {
    const hub = (peers: number): TaskFigures => ({
      ...figures(peers + 2, 1, 0, 100),
      size: { namespaces: peers + 1, workloads: peers + 2, flows: 6 * peers + 4, hub: true },
    });
    expect(growthBetween('peers', hub(1000), hub(2000))).toMatchObject({ axis: 'peers', from: 1000, to: 2000 });
  });

  test('a step that is not a doubling is reported per doubling', () => {
    const g = growthBetween('workloads', figures(80_000, 80, 8, 1000), figures(100_000, 100, 10, 1250));
    expect(g.time).toBe(2);
    expect(g.memory).toBe(2);
  });
});

describe('combineFigures', () => {
  test('keeps the run with less CPU time, and the higher of the two peaks', () => {
    const first = figures(20_000, 25, 9, 700, 30);
    const again = figures(20_000, 18, 2, 720, 19);
    expect(combineFigures(first, again)).toEqual({ ...again, peakRssMb: 720, runs: 2 });
    expect(combineFigures(again, first)).toEqual({ ...again, peakRssMb: 720, runs: 2 });
  });
});

describe('axisVerdicts', () => {
  test('an axis is met when every doubling of every task is; its worst factors are named', () => {
    const growth = [
      growthBetween('workloads', figures(10_000, 10, 1, 500), figures(20_000, 19, 1, 700)),
      growthBetween('workloads', figures(20_000, 19, 1, 700), figures(40_000, 40, 1, 1200)),
      { ...growthBetween('namespaces', figures(1000, 10, 1, 500), figures(2000, 24, 1, 600)), axis: 'namespaces' as const },
    ];
    const [workloads, namespaces] = axisVerdicts(growth);
    expect(workloads).toMatchObject({ axis: 'workloads', met: true });
    expect(workloads!.worstTime).toBe(growth[1]);
    expect(workloads!.worstMemory).toBe(growth[1]);
    expect(namespaces).toMatchObject({ axis: 'namespaces', met: false, worstTime: growth[2] });
  });
});
