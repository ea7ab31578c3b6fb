// How a time window is read with Flows.List so that no flow is lost or read twice.
//
// What List does, on every release (goldmane/pkg/storage/ring_index.go RingIndex.List and
// diachronic_flow.go, identical in substance from release-v3.30 to master):
// - one Flow per FlowKey that has an aggregation interval (a 15-second bucket) starting in
//   [start_time_gte, start_time_lt), with the statistics of its intervals that lie wholly inside
//   the window: start_time = its first such interval's start, end_time = its last one's end;
// - sorted by start_time, newest first, and by nothing else: the list is built from a Go map and
//   sorted with sort.Slice (not stable), so flows with equal start times, which are most of them
//   (every flow active since the window began starts with it), come back in a different order on
//   every call. Page N of one call and page N+1 of the next overlap and leave gaps: paging through
//   a window loses some flows and reads others twice, however fast it goes.
// - page_size 0 returns every flow in one reply, built in one step of Goldmane's main loop: an
//   exact snapshot. (goldmane/pkg/storage/index.go calculateListMeta: totalPages 1.)
//
// So a window is read in replies that each hold a whole slice of it: first the whole window with
// page_size = maxFlowsPerCall; if the reply says there are more (meta.totalResults), its page is
// an arbitrary subset and is dropped, and the window is cut into slices of whole intervals, as
// many as that count needs, each counted (page_size 1: its metadata) and then read with page_size
// 0 when it fits a reply, or cut again. Slices share no interval, so every flow's statistics are
// read exactly once (a flow active in several slices comes once per slice, with that slice's
// share). Cutting stops helping when flows are long-lived (the parts together then hold their
// slice's flows several times over): such a slice, and a single interval, is read whole, which
// only the reply size limit bounds (a larger reply fails with RESOURCE_EXHAUSTED and the slice is
// cut after all).
//
// Other techniques upstream offers, and why not: sort_by DestName/SourceName/... (storage/index.go)
// orders by (value, flow ID), stable between calls, but a flow that stops matching the window
// (its oldest interval expiring during the read) shifts every later flow back by one, so one is
// skipped; and each page costs Goldmane a pass over all its flows. Deduplicating by FlowResult.id
// removes repeats but cannot find what a shifted page skipped.

import * as grpc from '@grpc/grpc-js';
import type { TimeWindow } from '../../source.ts';
import type { ListPage, WireFlowListRequest } from './wire.ts';

/**
 * Goldmane's aggregation interval. Buckets are this wide and start at multiples of it
 * (goldmane/pkg/daemon/daemon.go AGGREGATION_WINDOW, default 15s; storage/utils.go GetStartTime
 * aligns the ring to it). A window that cuts an interval would get, for a flow seen only in that
 * interval, a flow with no statistics and start_time 0 (diachronic_flow.go Within counts the
 * interval, GetWindows leaves it out), and the interval's statistics in neither window.
 */
export const INTERVAL_SECONDS = 15;

/** [from, to), Unix seconds, multiples of INTERVAL_SECONDS. */
export interface Slice {
  readonly from: number;
  readonly to: number;
}

/** One List call; rejects with the gRPC error. */
export type ListCall = (request: WireFlowListRequest) => Promise<ListPage>;

/**
 * A slice is read whole rather than in parts when its parts hold this many times its flows
 * together (flows active in several parts are counted, and would be read, once per part).
 */
const CUT_USELESS = 1.5;

/** The window widened to whole intervals (a source may read more than asked; never less). */
export function alignedWindow(window: TimeWindow): Slice {
  const from = Math.max(INTERVAL_SECONDS, Math.floor(window.from / INTERVAL_SECONDS) * INTERVAL_SECONDS);
  const to = Math.max(from + INTERVAL_SECONDS, Math.ceil(window.to / INTERVAL_SECONDS) * INTERVAL_SECONDS);
  return { from, to };
}

/** `slice` cut into `parts` slices of whole intervals, as equal as can be, oldest first. */
export function cut(slice: Slice, parts: number): Slice[] {
  const intervals = (slice.to - slice.from) / INTERVAL_SECONDS;
  const n = Math.max(1, Math.min(intervals, Math.floor(parts)));
  const out: Slice[] = [];
  let from = slice.from;
  for (let i = 0; i < n; i++) {
    const to = slice.from + Math.round(((i + 1) * intervals) / n) * INTERVAL_SECONDS;
    out.push({ from, to });
    from = to;
  }
  return out;
}

/**
 * Reads every flow of `window` (aligned: alignedWindow) and hands each reply that holds a whole
 * slice to `onReply`, in order. The next call goes out while a reply is being handled; a reply's
 * handling must finish before the next one starts (it is awaited), so at most two replies are held.
 * A failing call or handler ends the read with its error, after the handler in progress settles.
 */
export async function readWindow(
  list: ListCall,
  window: TimeWindow,
  maxFlowsPerCall: number,
  onReply: (page: ListPage, slice: Slice) => Promise<void>,
): Promise<void> {
  let handling: Promise<void> = Promise.resolve();
  const hand = async (page: ListPage, slice: Slice): Promise<void> => {
    // A handler's failure surfaces here, before any further call.
    await handling;
    handling = onReply(page, slice);
    // Seen when awaited; until then it must not count as unhandled.
    handling.catch(() => undefined);
  };

  const request = (slice: Slice, pageSize: number): WireFlowListRequest => ({
    start_time_gte: slice.from,
    start_time_lt: slice.to,
    page: 0,
    page_size: pageSize,
  });

  /** The whole slice in one reply; cut when even that is over the reply size limit. */
  const whole = async (slice: Slice): Promise<void> => {
    let page: ListPage;
    try {
      page = await list(request(slice, 0));
    } catch (e) {
      if (!tooLarge(e) || slice.to - slice.from <= INTERVAL_SECONDS) throw e;
      for (const part of cut(slice, 2)) await whole(part);
      return;
    }
    await hand(page, slice);
  };

  /** How many flows a slice holds (page 0 of one flow: its metadata); null when the reply does not say. */
  const count = async (slice: Slice): Promise<number | null> => {
    const page = await list(request(slice, 1));
    if (page.flows.length === 0) return 0;
    const total = page.meta?.totalResults;
    return total !== undefined && Number.isSafeInteger(total) && total >= page.flows.length ? total : null;
  };

  /** `known`: how many flows the slice holds, when counted already. */
  const read = async (slice: Slice, known: number | null = null): Promise<void> => {
    let total = known;
    if (total === null) {
      const page = await list(request(slice, maxFlowsPerCall));
      if (complete(page, maxFlowsPerCall)) return hand(page, slice);
      // More flows than one call takes: this page is an arbitrary subset of them, dropped.
      total = estimate(page);
    } else if (total <= maxFlowsPerCall) return whole(slice);
    if (slice.to - slice.from <= INTERVAL_SECONDS) return whole(slice);
    const parts = cut(slice, Math.max(2, Math.ceil(total / maxFlowsPerCall)));
    const counts: (number | null)[] = [];
    for (const part of parts) counts.push(await count(part));
    // Long-lived flows are in every part: cutting would read them once per part. Read it whole.
    const parted = counts.reduce<number>((sum, c) => sum + (c ?? 0), 0);
    if (parted > total * CUT_USELESS) return whole(slice);
    for (const [i, part] of parts.entries()) if (counts[i] !== 0) await read(part, counts[i]!);
  };

  try {
    await read(alignedWindow(window));
  } finally {
    // The handler in progress finishes (or fails) before the read ends; its error wins.
    await handling;
  }
}

/** Does a page-0 reply of `pageSize` hold every flow of its window? */
function complete(page: ListPage, pageSize: number): boolean {
  if (page.flows.length < pageSize) return true;
  const total = page.meta?.totalResults;
  return total !== undefined && Number.isSafeInteger(total) && total <= page.flows.length;
}

/** The slice's flow count as the reply states it, or a guess when it states nothing usable. */
function estimate(page: ListPage): number {
  const total = page.meta?.totalResults;
  return total !== undefined && Number.isSafeInteger(total) && total > page.flows.length ? total : page.flows.length * 2;
}

function tooLarge(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === grpc.status.RESOURCE_EXHAUSTED;
}
