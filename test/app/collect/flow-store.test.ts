// The collector's store: records folded per distinct flow and slot, windows honoured, memory
// bounded by distinct flows under a cap that drops the oldest data and says so. Counts and the
// store's own estimate only: never wall-clock time, never the process's real memory.

import { describe, expect, test } from '@jest/globals';
import { type DropCause, ESTIMATED_BYTES, FlowStore, SLOT_SECONDS } from '../../../src/app/collect/flow-store.ts';
import type { FlowRecord } from '../../../src/flows/record.ts';
import type { TimeWindow } from '../../../src/flows/source.ts';
import { egress, NOW, wep } from '../../support/engine.ts';

/** A slot start. */
const S = Math.floor(NOW / SLOT_SECONDS) * SLOT_SECONDS;

/** Goldmane's report of one flow in one 15-second bucket. */
const bucket = (start: number, port = 5432, o: { flows?: number; labels?: string[] } = {}): FlowRecord =>
  egress('shop', wep('shop', 'db-*', o.labels ?? []), { port, start, end: start + 15, flows: o.flows ?? 1 });

async function readAll(store: FlowStore, window: TimeWindow): Promise<FlowRecord[]> {
  const out: FlowRecord[] = [];
  await store.read(window, (r) => out.push(r));
  return out;
}

/** The estimated bytes of one slot of `n` distinct flows (ports from `first`), as the store counts them. */
function slotBytes(n: number, slotSeconds: number): number {
  const store = new FlowStore({ maxBytes: 1e9, slotSeconds });
  for (let i = 0; i < n; i++) store.add(bucket(S, 100_000 + i));
  return store.bytes;
}

function recording(maxBytes: number, slotSeconds?: number): { store: FlowStore; dropped: [TimeWindow, DropCause, boolean][] } {
  const dropped: [TimeWindow, DropCause, boolean][] = [];
  const store = new FlowStore({
    maxBytes,
    ...(slotSeconds ? { slotSeconds } : {}),
    onDropped: (w, c, oldest) => dropped.push([w, c, oldest]),
  });
  return { store, dropped };
}

describe('the flow store', () => {
  test('reports differing only in times and counters are one entry per slot, with the first start, the last end and every flow counted', async () => {
    const { store } = recording(1e9);
    // A slot of five minutes: twenty buckets, two flows each; then the first bucket of the next slot.
    for (let b = S; b < S + SLOT_SECONDS; b += 15) store.add(bucket(b, 5432, { flows: 2 }));
    store.add(bucket(S + SLOT_SECONDS));
    expect(store.entries).toBe(2);
    expect(store.distinctFlows).toBe(1);
    const records = await readAll(store, { from: S - 3600, to: S + 3600 });
    expect(records.map((r) => [r.startTime, r.endTime, r.numFlows])).toEqual([
      [S, S + SLOT_SECONDS, 40],
      [S + SLOT_SECONDS, S + SLOT_SECONDS + 15, 1],
    ]);
    // Everything but times and counters as it was added.
    const { startTime: _s, endTime: _e, numFlows: _n, ...shape } = bucket(S);
    const { startTime: _s2, endTime: _e2, numFlows: _n2, ...read } = records[0]!;
    expect(read).toEqual(shape);
  });

  test('another port, or other labels, is another distinct flow', async () => {
    const { store } = recording(1e9);
    store.add(bucket(S, 5432));
    store.add(bucket(S, 5433));
    store.add(bucket(S, 5432, { labels: ['app=db'] }));
    store.add(bucket(S + 15, 5432));
    expect(store.distinctFlows).toBe(3);
    expect(store.entries).toBe(3);
  });

  test('a window gets every entry whose span touches it, and no other', async () => {
    const { store } = recording(1e9);
    // One flow in the first half of the slot, another in its second half.
    store.add(bucket(S, 1000));
    store.add(bucket(S + 60, 1000));
    store.add(bucket(S + 240, 2000));
    const ports = async (w: TimeWindow) => (await readAll(store, w)).map((r) => r.destPort).sort();
    expect(await ports({ from: S + 100, to: S + 3600 })).toEqual([2000]);
    expect(await ports({ from: S + 75, to: S + 3600 })).toEqual([1000, 2000]);
    expect(await ports({ from: S - 600, to: S + 100 })).toEqual([1000]);
    expect(await ports({ from: S - 600, to: S - 1 })).toEqual([]);
  });

  test('a sealed slot costs less and reads the same; a late report opens it again', async () => {
    const { store } = recording(1e9);
    for (let port = 1; port <= 100; port++) store.add(bucket(S, port));
    const open = store.bytes;
    const before = await readAll(store, { from: S, to: S + 600 });
    store.seal(S + SLOT_SECONDS);
    expect(open - store.bytes).toBe(100 * (ESTIMATED_BYTES.openEntry - ESTIMATED_BYTES.sealedEntry));
    expect(await readAll(store, { from: S, to: S + 600 })).toEqual(before);
    store.add(bucket(S + 15, 1));
    expect(store.bytes).toBe(open);
    expect((await readAll(store, { from: S, to: S + 600 })).find((r) => r.destPort === 1)!.numFlows).toBe(2);
  });

  test('memory is bounded by distinct flows: a day of the same 50 flows every 15 seconds is 50 x 288 entries', () => {
    const { store, dropped } = recording(1e9);
    let records = 0;
    for (let b = S; b < S + 86_400; b += 15) {
      for (let port = 1; port <= 50; port++) store.add(bucket(b, port));
      records += 50;
      store.seal(b);
    }
    expect(records).toBe(288_000);
    expect(store.entries).toBe(50 * 288);
    expect(store.distinctFlows).toBe(50);
    expect(dropped).toEqual([]);
  });

  test('at the cap the oldest slots are dropped, and the store says which interval; what is left reads whole', async () => {
    // Room for three and a half slots of 200 distinct flows.
    const { store, dropped } = recording(3.5 * slotBytes(200, 60), 60);
    let id = 10_000;
    for (let slot = 0; slot < 10; slot++) {
      // New distinct flows in every slot (ports), so nothing is shared between slots.
      for (let i = 0; i < 200; i++) store.add(bucket(S + slot * 60, ++id));
      expect(store.bytes).toBeLessThanOrEqual(store.maxBytes);
    }
    expect(store.slots).toBe(3);
    expect(store.entries).toBe(600);
    expect(store.distinctFlows).toBe(600);
    // Seven slots dropped, each time the oldest, each said.
    expect(dropped.every(([, cause, oldest]) => cause === 'memory-cap' && oldest)).toBe(true);
    expect(dropped.map(([w]) => w.from)).toEqual([0, 1, 2, 3, 4, 5, 6].map((n) => S + n * 60));
    expect(Math.max(...dropped.map(([w]) => w.to))).toBe(S + 7 * 60);
    const held = await readAll(store, { from: S - 3600, to: S + 3600 });
    expect(held).toHaveLength(600);
    expect(Math.min(...held.map((r) => r.startTime))).toBe(S + 7 * 60);
    // Reports of a dropped slot are not taken again.
    expect(store.add(bucket(S, 10_001))).toBe(false);
  });

  test('a slot that alone exceeds the cap takes no more new distinct flows, says so once, and still counts the ones it holds', async () => {
    const { store, dropped } = recording(100 * 1024);
    let taken = 0;
    for (let port = 1; port <= 5000; port++) if (store.add(bucket(S, port))) taken++;
    expect(store.bytes).toBeLessThanOrEqual(100 * 1024);
    expect(taken).toBe(store.entries);
    expect(taken).toBeLessThan(5000);
    expect(dropped).toEqual([[{ from: S, to: S + SLOT_SECONDS }, 'memory-cap', false]]);
    // A flow it holds still counts.
    expect(store.add(bucket(S + 15, 1))).toBe(true);
    expect((await readAll(store, { from: S, to: S + 600 })).find((r) => r.destPort === 1)!.numFlows).toBe(2);
  });

  test('history no run reads is dropped by whole slots, and said as history', () => {
    const { store, dropped } = recording(1e9);
    for (let slot = 0; slot < 4; slot++) store.add(bucket(S + slot * SLOT_SECONDS));
    store.dropBefore(S + 2 * SLOT_SECONDS + 10);
    expect(store.slots).toBe(2);
    expect(dropped).toEqual([[{ from: S, to: S + 2 * SLOT_SECONDS }, 'history', true]]);
    expect(store.distinctFlows).toBe(1);
  });

  test('nothing is dropped under a read in progress; the cap applies again when it ends', async () => {
    const { store, dropped } = recording(2.5 * slotBytes(100, 60), 60);
    let id = 10_000;
    for (let slot = 0; slot < 2; slot++) for (let i = 0; i < 100; i++) store.add(bucket(S + slot * 60, ++id));
    let added = false;
    const seen: FlowRecord[] = [];
    await store.read({ from: S - 60, to: S + 3600 }, (r) => {
      seen.push(r);
      if (added) return;
      added = true;
      // Two more slots arrive while the first is read: the oldest is not dropped under the reader.
      for (let slot = 2; slot < 4; slot++) for (let i = 0; i < 100; i++) store.add(bucket(S + slot * 60, ++id));
    });
    expect(seen.filter((r) => r.startTime < S + 120)).toHaveLength(200);
    expect(store.bytes).toBeLessThanOrEqual(store.maxBytes);
    expect(dropped.length).toBeGreaterThan(0);
  });
});
