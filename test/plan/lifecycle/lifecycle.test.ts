// The accept-to-enforce lifecycle, called directly (plan/lifecycle/lifecycle.ts): no App, no
// GitHub. A tree planned from flows stands for what was merged; each step feeds the next run what
// the previous one decided, as the App does through the dashboard's hidden state.
import { describe, expect, test } from '@jest/globals';
import { quietSince } from '../../../src/plan/lifecycle/acceptance.ts';
import { enforcementReadiness, planLifecycle } from '../../../src/plan/lifecycle/lifecycle.ts';
import type { AcceptanceRecord, LifecycleUnit } from '../../../src/plan/lifecycle/unit.ts';
import { keyId } from '../../../src/plan/lifecycle/unit-key.ts';
import { egress, HOUR, ingress, NOW, pub, run, wep } from '../../support/engine.ts';
import { DAY, ENFORCE_AFTER, lifecycleInput } from './support.ts';

const unitOf = (units: readonly LifecycleUnit[], id: string) => units.find((u) => keyId(u.key) === id);
const shopTraffic = [egress('shop', pub, { port: 443 }), ingress('shop', wep('web', 'frontend-*'), { port: 8080 })];

/** The default branch once the recommendation PRs (and the cluster-wide files) were merged. */
async function acceptedTree(): Promise<Map<string, string>> {
  return (await run(shopTraffic)).tree;
}

describe('enforcementReadiness: gone, then changing, then quiet for enforceAfter', () => {
  const record: AcceptanceRecord = { hash: 'h', since: NOW - 2 * DAY, denied: 0 };
  test('a unit that is gone is not ready, for that reason, even when quiet long enough', () => {
    expect(enforcementReadiness('the namespace no longer exists in the cluster', null, record, NOW + 30 * DAY, ENFORCE_AFTER, 'x')).toEqual(
      {
        ready: false,
        why: 'the namespace no longer exists in the cluster',
      },
    );
  });
  test('a changing unit waits for its update to be merged', () => {
    expect(enforcementReadiness(null, 'still changing', record, NOW + 30 * DAY, ENFORCE_AFTER, 'x')).toEqual({
      ready: false,
      why: 'still changing',
    });
  });
  test('quiet for exactly enforceAfter since the acceptance: ready; a second less: waiting', () => {
    expect(enforcementReadiness(null, null, record, record.since + ENFORCE_AFTER, ENFORCE_AFTER, 'x')).toEqual({ ready: true });
    const waiting = enforcementReadiness(null, null, record, record.since + ENFORCE_AFTER - 1, ENFORCE_AFTER, 'the staged policy');
    expect(waiting).toMatchObject({ ready: false });
    expect((waiting as { why: string }).why).toMatch(
      /^the staged policy changed on the default branch at .*: enforcement is proposed once/,
    );
  });
  test('a would-be denial restarts the clock: quiet counts from the last one', () => {
    const denied: AcceptanceRecord = { ...record, denied: 2, lastDenied: NOW };
    expect(quietSince(denied)).toBe(NOW);
    expect(quietSince(record)).toBe(record.since);
    const why = enforcementReadiness(null, null, denied, NOW + ENFORCE_AFTER - 1, ENFORCE_AFTER, 'the staged policy');
    expect((why as { why: string }).why).toMatch(/^the staged policy would have denied observed traffic at /);
    expect(enforcementReadiness(null, null, denied, NOW + ENFORCE_AFTER, ENFORCE_AFTER, 'x')).toEqual({ ready: true });
  });
});

describe('planLifecycle: recommend, accept, wait, enforce, then the default deny', () => {
  test('no policy yet: the namespace is recommended, with the cluster-wide files in a unit of their own', async () => {
    const { units } = planLifecycle(await lifecycleInput(new Map(), shopTraffic));
    const shop = unitOf(units, 'prod/shop')!;
    expect(shop).toMatchObject({ namespace: 'shop', accepted: false, gone: null, status: 'Learning' });
    expect([...shop.change!.files.keys()].some((p) => p.includes('shop'))).toBe(true);
    // The simulation asks what the policy would deny once enforced: the traffic it was learned from, nothing.
    expect(shop.change!.simulation).toMatchObject({ denied: [], indeterminate: [] });
    const bootstrap = unitOf(units, 'prod/_cluster/bootstrap')!;
    expect(bootstrap.change!.files.size).toBeGreaterThan(0);
    expect(unitOf(units, 'prod/shop.enforce')).toBeUndefined();
  });

  test('accepted and quiet: a record from the first run, enforcement after enforceAfter, then the default deny', async () => {
    const tree = await acceptedTree();
    const first = planLifecycle(await lifecycleInput(tree, shopTraffic));
    expect(first.accepted['shop']).toEqual({ hash: expect.any(String), since: NOW, denied: 0 });
    expect(first.notes.get('prod/shop')).toBe(
      'accepted 2026-11-18T11:06:40Z; would have denied nothing since; enforcement is proposed after 168h without a would-be denial, at 2026-11-25T11:06:40Z at the earliest',
    );
    expect(unitOf(first.units, 'prod/shop')).toMatchObject({ accepted: true, change: null });
    expect(unitOf(first.units, 'prod/shop.enforce')).toBeUndefined();

    const later = NOW + ENFORCE_AFTER;
    const second = planLifecycle(
      await lifecycleInput(tree, [egress('shop', pub, { port: 443, start: later - HOUR })], { now: later, accepted: first.accepted }),
    );
    expect(second.accepted['shop']).toEqual(first.accepted['shop']);
    const enforce = unitOf(second.units, 'prod/shop.enforce')!;
    expect(enforce).toMatchObject({ gone: null, status: 'Stable' });
    const [path, text] = [...enforce.change!.files][0]!;
    // The accepted file itself, rewritten.
    expect(tree.has(path)).toBe(true);
    expect(path).toMatch(/shop/);
    expect(text).toMatch(/^kind: NetworkPolicy$/m);
    expect(text).not.toMatch(/^kind: StagedNetworkPolicy$/m);
    expect(enforce.change!.simulation).toMatchObject({ denied: [], quietSince: NOW });
    expect(unitOf(second.units, 'prod/_cluster/enforce')).toBeUndefined();

    // Merged: the namespace is enforced, and it was the only one: the global default deny is next.
    const enforced = new Map([...tree, ...enforce.change!.files]);
    const third = planLifecycle(await lifecycleInput(enforced, [], { now: later + HOUR, accepted: second.accepted }));
    expect(unitOf(third.units, 'prod/shop')).toMatchObject({ accepted: true, enforced: true, change: null });
    expect(third.accepted['shop']).toBeUndefined();
    const deny = unitOf(third.units, 'prod/_cluster/enforce')!;
    expect(deny).toMatchObject({ gone: null, status: 'Stable' });
    expect([...deny.change!.files.values()][0]).toMatch(/^kind: GlobalNetworkPolicy$/m);
  });

  test('traffic the accepted policy would deny is counted, restarts the clock, and an open enforcement is withdrawn', async () => {
    const tree = await acceptedTree();
    const first = planLifecycle(await lifecycleInput(tree, []));
    const later = NOW + ENFORCE_AFTER;
    // New traffic: shop now calls the database namespace, which its accepted policy does not allow.
    const newTraffic = egress('shop', wep('db', 'postgres-*'), { port: 5432, start: later - HOUR, end: later - HOUR + 300 });
    const open = new Map([['prod/shop.enforce', { key: { kind: 'enforce' as const, cluster: 'prod', namespace: 'shop' } }]]);
    const second = planLifecycle(await lifecycleInput(tree, [newTraffic], { now: later, accepted: first.accepted, open }));
    expect(second.accepted['shop']).toMatchObject({ since: NOW, denied: 1, lastDenied: later - HOUR + 300 });
    // The recommendation is updated to allow it, so the staged policy is changing as well.
    expect(unitOf(second.units, 'prod/shop')!.change).not.toBeNull();
    expect(unitOf(second.units, 'prod/shop.enforce')).toMatchObject({
      change: null,
      gone: 'the staged policy is still changing: an update is proposed',
    });
    // The same flow read again (runs overlap their windows) is not counted twice.
    const third = planLifecycle(await lifecycleInput(tree, [newTraffic], { now: later + HOUR, accepted: second.accepted }));
    expect(third.accepted['shop']).toMatchObject({ denied: 1 });
  });

  test('a namespace gone from the cluster: its recommendation and open enforcement say why', async () => {
    const tree = await acceptedTree();
    const open = new Map([['prod/shop.enforce', { key: { kind: 'enforce' as const, cluster: 'prod', namespace: 'shop' } }]]);
    const { units } = planLifecycle(await lifecycleInput(tree, [], { deleted: new Set(['shop']), open, now: NOW + 30 * DAY }));
    expect(unitOf(units, 'prod/shop')).toMatchObject({ change: null, gone: 'the namespace no longer exists in the cluster' });
    expect(unitOf(units, 'prod/shop.enforce')).toMatchObject({ change: null, gone: 'the namespace no longer exists in the cluster' });
  });

  test('an open PR’s memory is what the unit is proposed from: its rules are kept though this run saw none of them', async () => {
    const proposed = planLifecycle(await lifecycleInput(new Map(), shopTraffic));
    const memory = new Map(Object.entries(unitOf(proposed.units, 'prod/shop')!.change!.memory));
    const open = new Map([['prod/shop', { key: { kind: 'namespace' as const, cluster: 'prod', namespace: 'shop' }, memory }]]);
    const onlyEgress = [egress('shop', pub, { port: 443 })];
    const withMemory = unitOf(planLifecycle(await lifecycleInput(new Map(), onlyEgress, { open })).units, 'prod/shop')!;
    const without = unitOf(planLifecycle(await lifecycleInput(new Map(), onlyEgress)).units, 'prod/shop')!;
    const ingressRules = (u: LifecycleUnit) => u.change!.reports.flatMap((r) => r.rules).filter((r) => r.direction === 'ingress');
    expect(ingressRules(withMemory).length).toBeGreaterThan(0);
    expect(ingressRules(without)).toEqual([]);
  });
});
