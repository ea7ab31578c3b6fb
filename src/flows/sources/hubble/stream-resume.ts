// Where a followed GetFlows stream resumes after it breaks, and which flows it sends twice. Pure:
// the reader (hubble-source.ts follow) feeds it each flow's time and key, and asks where to resume.
//
// What Hubble Relay sends (observer.proto GetFlowsRequest: `since`, `follow`): every flow its nodes'
// ring buffers still hold from `since` on, then new flows as they come, merged from all nodes and
// ordered by time only within a short sorting window (Relay's sort buffer, drained every second by
// default): a flow may arrive after a later one of another node. Flows carry their time (to the
// nanosecond) and, since Cilium 1.14, a `uuid` (flow.proto as cilium/hubble v0.12.0 vendors it).
//
// So a reconnection asks for flows `since` the newest time seen minus a margin that covers that
// reordering, and every flow of the margin it was already given is recognised by its key (its
// uuid, else its bytes' hash) and dropped. Flows are lost only where Hubble lost them: a node's ring
// buffer (4095 events by default) overwritten while we were away, a node Relay could not reach, or
// flows reordered by more than the margin (a node's clock that far off, or a node slow to answer).

/** Seconds of reordering a resumption covers (Relay's sort window is about a second). */
export const REORDER_MARGIN_SECONDS = 10;

export class HubbleResume {
  /** The newest flow time seen (Unix seconds, fractional); the first `since` until one arrives. */
  #newest: number;
  readonly #margin: number;
  /** Keys of the flows seen within the margin of #newest, with their times. */
  readonly #seen = new Map<string, number>();
  #prunedAt: number;
  #duplicates = 0;

  constructor(since: number, margin = REORDER_MARGIN_SECONDS) {
    this.#newest = since;
    this.#margin = margin;
    this.#prunedAt = since;
  }

  /** GetFlowsRequest.since of the next connection (Unix seconds, fractional). */
  get since(): number {
    return this.#newest - this.#margin;
  }

  /** Every flow before this (Unix seconds) was delivered, as far as Hubble allows (see the file comment). */
  get deliveredBefore(): number {
    return Math.floor(this.#newest - this.#margin);
  }

  get duplicates(): number {
    return this.#duplicates;
  }

  /** Keys remembered (bounded by the flows of one margin). */
  get remembered(): number {
    return this.#seen.size;
  }

  /** A flow of time `time` and key `key` arrived: true if it is new, false if it was delivered before. */
  accept(time: number, key: string): boolean {
    if (this.#seen.has(key)) {
      this.#duplicates++;
      return false;
    }
    // Older than the margin: not one we can have seen (we asked from the margin on); kept.
    if (time < this.#newest - this.#margin) return true;
    this.#seen.set(key, time);
    if (time > this.#newest) {
      this.#newest = time;
      // Prune once per half margin, not per flow.
      if (time - this.#prunedAt >= this.#margin / 2) {
        const floor = time - this.#margin;
        for (const [k, t] of this.#seen) if (t < floor) this.#seen.delete(k);
        this.#prunedAt = time;
      }
    }
    return true;
  }
}
