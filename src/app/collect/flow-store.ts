// The flows a collector holds, in memory, bounded by distinct flows rather than by records.
//
// A record is folded into its distinct flow (the record without its times and counters: ends,
// port, protocol, verdict, reporter, policy trace) and its time slot (SLOT_SECONDS wide, by start
// time): one entry per distinct flow and slot, with the first start, the last end and the flows
// counted. So a flow Goldmane reports every 15 seconds for a day is 288 entries, not 5,760
// records, and a run reads it back as one record per slot with its exact first and last time.
//
// Why five-minute slots: a run's window is honoured to within one slot at its start (every flow
// of the window is delivered; flows up to one slot older may be too, which the runs' 15-minute
// overlap re-reads anyway) and exactly at its end; a day is 288 slots. A slot whose flows are all
// in (the collector's progress passed its end) is sealed into typed arrays, 28 bytes an entry.
//
// Memory is capped by an estimate in bytes (distinct flows by the length of what identifies them,
// entries by their form): when the cap is reached, the oldest slots are dropped, and the store
// says which interval it dropped (onDropped). The newest slot is never dropped: a slot that alone
// exceeds the cap takes no new distinct flow, and says so for that slot.

import type { FlowRecord } from '../../flows/record.ts';
import type { TimeWindow } from '../../flows/source.ts';

export const SLOT_SECONDS = 300;

/** Estimated bytes, per piece (V8 on 64 bits; an estimate for the cap, never a measurement). */
export const ESTIMATED_BYTES = {
  /** A distinct flow: its identity string (one byte a character: names and labels are ASCII), map entries, counters. */
  distinctFlow: 112,
  /** An entry of a slot still filling: a Map entry and an object of three numbers. */
  openEntry: 96,
  /** An entry of a sealed slot: id (4), first and last (8 each), flows (8). */
  sealedEntry: 28,
  slot: 256,
} as const;

export type DropCause = 'memory-cap' | 'history';

export interface FlowStoreOptions {
  /** The cap on the estimated bytes held. */
  readonly maxBytes: number;
  readonly slotSeconds?: number;
  /**
   * Flows that started in [from, to) were dropped: the oldest slots (`oldest`: nothing that
   * started before `to` is held any more), or some of one slot's (new distinct flows that did not fit).
   */
  readonly onDropped?: (interval: TimeWindow, cause: DropCause, oldest: boolean) => void;
}

interface OpenEntry {
  first: number;
  last: number;
  flows: number;
}

interface SealedEntries {
  readonly ids: Uint32Array;
  readonly first: Float64Array;
  readonly last: Float64Array;
  readonly flows: Float64Array;
}

interface Slot {
  readonly start: number;
  open: Map<number, OpenEntry> | null;
  sealed: SealedEntries | null;
  /** New distinct flows this slot could not take (the cap). */
  overflow: number;
}

interface Distinct {
  readonly identity: string;
  /** Slots holding an entry of it. */
  slots: number;
}

/** What a record is without its times and counters, as one string (JSON of a fixed field order). */
function identityOf(r: FlowRecord): string {
  return JSON.stringify([r.source, r.dest, r.destPort, r.destService, r.destDomains, r.protocol, r.action, r.reporter, r.policies]);
}

type Shape = Omit<FlowRecord, 'startTime' | 'endTime' | 'numFlows'>;

function shapeOf(identity: string): Shape {
  const [source, dest, destPort, destService, destDomains, protocol, action, reporter, policies] = JSON.parse(identity) as [
    Shape['source'],
    Shape['dest'],
    Shape['destPort'],
    Shape['destService'],
    Shape['destDomains'],
    Shape['protocol'],
    Shape['action'],
    Shape['reporter'],
    Shape['policies'],
  ];
  return { source, dest, destPort, destService, destDomains, protocol, action, reporter, policies };
}

/** Entries delivered between two turns of the event loop while reading. */
const YIELD_EVERY = 8192;

export class FlowStore {
  readonly #maxBytes: number;
  readonly #slotSeconds: number;
  readonly #onDropped: (interval: TimeWindow, cause: DropCause, oldest: boolean) => void;
  /** Slot starts, ascending, and the slots. */
  #starts: number[] = [];
  readonly #slots = new Map<number, Slot>();
  readonly #ids = new Map<string, number>();
  readonly #distinct = new Map<number, Distinct>();
  #nextId = 0;
  #bytes = 0;
  #entries = 0;
  /** Reads in progress: nothing is dropped under them (they would lose what they were promised). */
  #reading = 0;
  /** Flows that started before this are not held (dropped, or never taken). */
  #floor = -Infinity;
  /** Counts clear(): a read that finds it changed stops. */
  #generation = 0;

  constructor(options: FlowStoreOptions) {
    if (!(options.maxBytes > 0)) throw new RangeError(`maxBytes must be positive, got ${options.maxBytes}`);
    this.#maxBytes = options.maxBytes;
    this.#slotSeconds = options.slotSeconds ?? SLOT_SECONDS;
    if (!Number.isInteger(this.#slotSeconds) || this.#slotSeconds < 1)
      throw new RangeError(`slotSeconds must be a positive integer, got ${this.#slotSeconds}`);
    this.#onDropped = options.onDropped ?? (() => undefined);
  }

  get slotSeconds(): number {
    return this.#slotSeconds;
  }

  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** The estimate the cap applies to. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries held: distinct flows per slot. */
  get entries(): number {
    return this.#entries;
  }

  /** Distinct flows held (in any slot). */
  get distinctFlows(): number {
    return this.#distinct.size;
  }

  get slots(): number {
    return this.#starts.length;
  }

  /** Adds a record; false when it was not kept (older than what the store holds, or over the cap). */
  add(record: FlowRecord): boolean {
    const start = this.#slotOf(record.startTime);
    if (start + this.#slotSeconds <= this.#floor) return false;
    const slot = this.#slot(start);
    if (slot.sealed !== null) this.#unseal(slot);
    const identity = identityOf(record);
    let id = this.#ids.get(identity);
    const known = id === undefined ? undefined : slot.open!.get(id);
    if (known !== undefined) {
      if (record.startTime < known.first) known.first = record.startTime;
      if (record.endTime > known.last) known.last = record.endTime;
      known.flows += record.numFlows;
      return true;
    }
    const cost = ESTIMATED_BYTES.openEntry + (id === undefined ? ESTIMATED_BYTES.distinctFlow + identity.length : 0);
    // Under a read nothing is dropped: what arrives meanwhile is taken, and the cap applies after it.
    if (this.#bytes + cost > this.#maxBytes && this.#reading === 0) {
      this.#makeRoom(cost, start);
      if (this.#bytes + cost > this.#maxBytes) {
        // Only this slot is left (or the ones before it are newer): this flow does not fit.
        if (slot.overflow++ === 0) this.#onDropped({ from: start, to: start + this.#slotSeconds }, 'memory-cap', false);
        return false;
      }
    }
    if (id === undefined) {
      id = this.#nextId++;
      this.#ids.set(identity, id);
      this.#distinct.set(id, { identity, slots: 0 });
      this.#bytes += ESTIMATED_BYTES.distinctFlow + identity.length;
    }
    this.#distinct.get(id)!.slots++;
    slot.open!.set(id, { first: record.startTime, last: record.endTime, flows: record.numFlows });
    this.#bytes += ESTIMATED_BYTES.openEntry;
    this.#entries++;
    return true;
  }

  /** Slots that end at or before `before` are complete: they are compacted. */
  seal(before: number): void {
    for (const start of this.#starts) {
      if (start + this.#slotSeconds > before) break;
      const slot = this.#slots.get(start)!;
      if (slot.open === null) continue;
      const n = slot.open.size;
      const sealed: SealedEntries = {
        ids: new Uint32Array(n),
        first: new Float64Array(n),
        last: new Float64Array(n),
        flows: new Float64Array(n),
      };
      let i = 0;
      for (const [id, e] of slot.open) {
        sealed.ids[i] = id;
        sealed.first[i] = e.first;
        sealed.last[i] = e.last;
        sealed.flows[i] = e.flows;
        i++;
      }
      slot.open = null;
      slot.sealed = sealed;
      this.#bytes -= n * (ESTIMATED_BYTES.openEntry - ESTIMATED_BYTES.sealedEntry);
    }
  }

  /** Drops the slots that end at or before `before` (history no run will read). */
  dropBefore(before: number, cause: DropCause = 'history'): void {
    if (this.#reading > 0) return;
    const from = this.#starts[0];
    let to: number | undefined;
    while (this.#starts.length > 0 && this.#starts[0]! + this.#slotSeconds <= before) to = this.#drop();
    if (from !== undefined && to !== undefined) this.#onDropped({ from, to }, cause, true);
    this.#floor = Math.max(this.#floor, this.#slotOf(before));
  }

  /** Drops everything. */
  clear(): void {
    this.#starts = [];
    this.#slots.clear();
    this.#ids.clear();
    this.#distinct.clear();
    this.#bytes = 0;
    this.#entries = 0;
    this.#floor = -Infinity;
    this.#generation++;
  }

  /**
   * Delivers one record per distinct flow and slot whose time span touches the window, with the
   * slot's first start, last end and flows counted. Nothing is dropped while it reads.
   */
  async read(window: TimeWindow, onRecord: (record: FlowRecord) => void): Promise<number> {
    this.#reading++;
    let delivered = 0;
    try {
      const shapes = new Map<number, Shape>();
      const shape = (id: number): Shape => {
        let s = shapes.get(id);
        if (s === undefined) shapes.set(id, (s = shapeOf(this.#distinct.get(id)!.identity)));
        return s;
      };
      let sinceYield = 0;
      const generation = this.#generation;
      // Every slot that starts in time: a flow may last longer than its slot.
      for (const start of [...this.#starts]) {
        if (start > window.to || generation !== this.#generation) break;
        const slot = this.#slots.get(start);
        if (slot === undefined) continue;
        // One slot at a time, without yielding: it does not change under the loop.
        const deliver = (id: number, first: number, last: number, flows: number): void => {
          if (last < window.from || first > window.to) return;
          onRecord({ ...shape(id), startTime: first, endTime: last, numFlows: flows });
          delivered++;
        };
        if (slot.open !== null) for (const [id, e] of slot.open) deliver(id, e.first, e.last, e.flows);
        else {
          const s = slot.sealed!;
          for (let i = 0; i < s.ids.length; i++) deliver(s.ids[i]!, s.first[i]!, s.last[i]!, s.flows[i]!);
        }
        sinceYield += slot.open?.size ?? slot.sealed!.ids.length;
        if (sinceYield >= YIELD_EVERY) {
          sinceYield = 0;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    } finally {
      this.#reading--;
    }
    if (this.#reading === 0 && this.#bytes > this.#maxBytes) this.#makeRoom(0, Infinity);
    return delivered;
  }

  #slotOf(t: number): number {
    return Math.floor(t / this.#slotSeconds) * this.#slotSeconds;
  }

  #slot(start: number): Slot {
    let slot = this.#slots.get(start);
    if (slot !== undefined) return slot;
    slot = { start, open: new Map(), sealed: null, overflow: 0 };
    this.#slots.set(start, slot);
    // Mostly appended; history replayed after a reconnection may fill in an older slot.
    let i = this.#starts.length;
    while (i > 0 && this.#starts[i - 1]! > start) i--;
    this.#starts.splice(i, 0, start);
    this.#bytes += ESTIMATED_BYTES.slot;
    return slot;
  }

  #unseal(slot: Slot): void {
    const s = slot.sealed!;
    const open = new Map<number, OpenEntry>();
    for (let i = 0; i < s.ids.length; i++) open.set(s.ids[i]!, { first: s.first[i]!, last: s.last[i]!, flows: s.flows[i]! });
    slot.open = open;
    slot.sealed = null;
    this.#bytes += s.ids.length * (ESTIMATED_BYTES.openEntry - ESTIMATED_BYTES.sealedEntry);
  }

  /** Drops the oldest slots (never `keep`, never the newest) until `cost` more bytes fit. */
  #makeRoom(cost: number, keep: number): void {
    if (this.#reading > 0) return;
    const from = this.#starts[0];
    let to: number | undefined;
    while (this.#bytes + cost > this.#maxBytes && this.#starts.length > 1 && this.#starts[0] !== keep) to = this.#drop();
    if (from !== undefined && to !== undefined) {
      this.#floor = Math.max(this.#floor, to);
      this.#onDropped({ from, to }, 'memory-cap', true);
    }
  }

  /** Drops the oldest slot; returns its end. */
  #drop(): number {
    const start = this.#starts.shift()!;
    const slot = this.#slots.get(start)!;
    this.#slots.delete(start);
    const release = (id: number): void => {
      const d = this.#distinct.get(id)!;
      if (--d.slots > 0) return;
      this.#distinct.delete(id);
      this.#ids.delete(d.identity);
      this.#bytes -= ESTIMATED_BYTES.distinctFlow + d.identity.length;
    };
    if (slot.open !== null) {
      for (const id of slot.open.keys()) release(id);
      this.#bytes -= slot.open.size * ESTIMATED_BYTES.openEntry;
      this.#entries -= slot.open.size;
    } else {
      for (const id of slot.sealed!.ids) release(id);
      this.#bytes -= slot.sealed!.ids.length * ESTIMATED_BYTES.sealedEntry;
      this.#entries -= slot.sealed!.ids.length;
    }
    this.#bytes -= ESTIMATED_BYTES.slot;
    return start + this.#slotSeconds;
  }
}
