// Cilium's staging in the bot (plan/lifecycle/recommendation-change.ts ciliumStaging), called
// through the lifecycle: what an open PR's quiet time counts, and what its flows are checked against.
import { describe, expect, test } from '@jest/globals';
import type { FlowRecord } from '../../../src/flows/record.ts';
import { planLifecycle } from '../../../src/plan/lifecycle/lifecycle.ts';
import type { LifecycleInput, LifecycleUnit, OpenUnit } from '../../../src/plan/lifecycle/unit.ts';
import { keyId } from '../../../src/plan/lifecycle/unit-key.ts';
import { config, egress, HOUR, NOW, net } from '../../support/engine.ts';
import { DAY, lifecycleInput } from './support.ts';

const cfg = config({ flavor: 'cilium', stabilizationPeriod: '1d' });

const input = (records: readonly FlowRecord[], changes: Partial<LifecycleInput> = {}) =>
  lifecycleInput(new Map(), records, { config: cfg, ...changes });

const shop = (units: readonly LifecycleUnit[]) => units.find((u) => keyId(u.key) === 'prod/shop')!;
const https = (start: number) => egress('shop', net('8.8.8.8'), { port: 443, start });
const other = (start: number) => egress('shop', net('8.8.8.8'), { port: 8443, start });

/** The first run's proposal for shop, as its open PR would hold it, quiet since `quietSince`. */
async function openPullRequest(quietSince: number, keep: 'memory' | 'proposed only'): Promise<OpenUnit> {
  const first = shop(planLifecycle(await input([https(NOW - 12 * DAY)], { now: NOW - 11 * DAY })).units);
  const files = new Map(Object.entries(first.change!.memory));
  return { key: first.key, proposed: files, ...(keep === 'memory' ? { memory: files } : {}), quietSince };
}

describe("an open Cilium PR's quiet time", () => {
  test('quiet long enough, stable rules: ready (the case the others change)', async () => {
    const open = await openPullRequest(NOW - 10 * DAY, 'memory');
    const unit = shop(planLifecycle(await input([https(NOW - HOUR)], { open: new Map([[keyId(open.key), open]]) })).units);
    expect(unit.change!.simulation).toMatchObject({ denied: [], quietSince: NOW - 10 * DAY });
  });

  test('a gap in the flows read restarts it at the gap’s end: time without flows is no time without denials', async () => {
    const open = await openPullRequest(NOW - 10 * DAY, 'memory');
    const unit = shop(
      planLifecycle(await input([https(NOW - HOUR)], { open: new Map([[keyId(open.key), open]]), flowsMissingUntil: NOW - 2 * HOUR }))
        .units,
    );
    expect(unit.change!.simulation!.quietSince).toBe(NOW - 2 * HOUR);
    expect(unit.change!.status).toBe('Stabilizing');
  });

  test('with a rebase asked for (no memory), flows are still checked against what the PR proposed, not the regenerated policy', async () => {
    const open = await openPullRequest(NOW - 10 * DAY, 'proposed only');
    const seen = NOW - HOUR;
    const unit = shop(planLifecycle(await input([https(seen), other(seen)], { open: new Map([[keyId(open.key), open]]) })).units);
    expect(unit.change!.simulation!.denied.map((row) => [row.port, row.peer])).toEqual([[8443, 'pub']]);
    expect(unit.change!.simulation!.lastDenied).toBeGreaterThanOrEqual(seen);
    expect(unit.change!.status).not.toBe('Stable');
  });
});
