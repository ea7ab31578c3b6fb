// Where a Flows.Stream resumes after it breaks, and which of its flows are sent twice. Pure: the
// reader (goldmane-source.ts follow) feeds it what arrives and asks it where to reconnect.
//
// What a stream sends (goldmane/pkg/goldmane/goldmane.go Stream/backfill, storage/bucket_ring.go
// Backfill/iterBucketsTime/flushToStreams, stream/*.go; release-v3.30 to master): one FlowResult
// per FlowKey and 15-second bucket, start_time = the bucket's start. First the history: the
// buckets from the one holding start_time_gte up to the "streaming bucket" (two before the
// ring's head), oldest first. Then, at every rollover, the streaming bucket, to every stream.
// Buckets come in order but for one race: registering a stream and backfilling it are separate
// steps of two goroutines, and a rollover between them sends that bucket live before the history
// and again as its last bucket (from 3.32 the bucket's flows together; up to 3.31 flow by flow,
// interleaved with the history). That bucket is recent: within a couple of intervals of "now".
// And a start time at or after the streaming bucket goes round the ring and replays all history
// (iterBuckets), so one is never asked for.
//
// So, per connection: a flow of a bucket older than `recent` (now minus the clock skew allowed,
// minus two intervals) is certainly history, which comes in order, and moves the resume point to
// its bucket. Buckets from `recent` on may be that race's early bucket: they move nothing until a
// flow arrives from a bucket no history of this connection can reach (`settled`: after now plus
// the skew allowed); from then on buckets come in order and each moves the resume point. The
// resume point's bucket may have arrived in part, so it is asked for again, and every flow of it
// and of newer buckets already seen is recognised by its key and dropped.

import { INTERVAL_SECONDS } from './list-window.ts';

/** Goldmane's history: 242 buckets of 15 s, the oldest about an hour back (goldmane.go numBuckets). */
export const HISTORY_SECONDS = 3600;
/** How far our clock may be from Goldmane's for the resume point to stay exact. */
export const CLOCK_SKEW_SECONDS = 120;

export interface Connection {
  /** FlowStreamRequest.start_time_gte (Unix seconds, a bucket start). */
  readonly startTimeGte: number;
  /** History that Goldmane no longer holds, in our clock: its flows are lost. */
  readonly lost: { readonly from: number; readonly to: number } | null;
}

const alignDown = (t: number): number => Math.floor(t / INTERVAL_SECONDS) * INTERVAL_SECONDS;
const alignUp = (t: number): number => Math.ceil(t / INTERVAL_SECONDS) * INTERVAL_SECONDS;

export class StreamResume {
  #resumeFrom: number;
  /** The resume point is a bucket flows came from (always before the streaming bucket). */
  #confirmed = false;
  #recent = 0;
  #settleAt = 0;
  #settled = false;
  #duplicates = 0;
  /** Keys seen per bucket start, for buckets from the resume point on. */
  readonly #seen = new Map<number, Set<string>>();

  /** `since`: Unix seconds to replay history from. */
  constructor(since: number) {
    this.#resumeFrom = alignDown(since);
  }

  /** Every flow starting before this was delivered (or reported lost). */
  get resumeFrom(): number {
    return this.#resumeFrom;
  }

  /** Flows dropped because they had been delivered already. */
  get duplicates(): number {
    return this.#duplicates;
  }

  /** Buckets whose keys are remembered (bounded: a few buckets). */
  get bucketsRemembered(): number {
    return this.#seen.size;
  }

  /** The request of a new connection made at `now` (Unix seconds, our clock). */
  connect(now: number): Connection {
    // Goldmane sends nothing of a start time it no longer holds (findBucket fails), so never ask for one.
    const oldest = alignUp(now - HISTORY_SECONDS + CLOCK_SKEW_SECONDS + INTERVAL_SECONDS);
    // A start time that is not a bucket we received from might lie at or past the streaming bucket.
    const newest = alignDown(now - CLOCK_SKEW_SECONDS) - INTERVAL_SECONDS;
    let lost: Connection['lost'] = null;
    if (this.#resumeFrom < oldest) {
      lost = { from: this.#resumeFrom, to: oldest };
      this.#advance(oldest);
      this.#confirmed = false;
    }
    if (!this.#confirmed && this.#resumeFrom > newest) this.#resumeFrom = Math.max(oldest, newest);
    this.#recent = alignDown(now - CLOCK_SKEW_SECONDS) - 2 * INTERVAL_SECONDS;
    this.#settleAt = alignDown(now + CLOCK_SKEW_SECONDS) + INTERVAL_SECONDS;
    this.#settled = false;
    return { startTimeGte: this.#resumeFrom, lost };
  }

  /**
   * A flow of bucket `start` with key `key` arrived: true if it is new, false if it was delivered
   * before (drop it).
   */
  accept(start: number, key: string): boolean {
    let seen = this.#seen.get(start);
    if (seen?.has(key)) {
      this.#duplicates++;
      return false;
    }
    // Older than the resume point: out of every order Goldmane has; kept rather than lost.
    if (start < this.#resumeFrom) return true;
    if (seen === undefined) this.#seen.set(start, (seen = new Set()));
    seen.add(key);
    if (!this.#settled && start >= this.#settleAt) this.#settled = true;
    if (start > this.#resumeFrom && (this.#settled || start < this.#recent)) {
      this.#advance(start);
      this.#confirmed = true;
    } else if (start === this.#resumeFrom) this.#confirmed = true;
    return true;
  }

  #advance(to: number): void {
    this.#resumeFrom = to;
    for (const bucket of this.#seen.keys()) if (bucket < to) this.#seen.delete(bucket);
  }
}
