// A clock whose time moves only when a test advances it. Timers fire in order of due time; a
// callback that returns a promise (the elector's attempts, which talk HTTP to the test server)
// is awaited before time moves on, so every step is deterministic without real waiting.

import type { Clock } from '../../src/cluster/leader-election.ts';

interface Timer {
  readonly id: number;
  readonly due: number;
  readonly callback: () => unknown;
}

export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, Timer>();

  readonly #awaitCallbacks: boolean;

  /**
   * With `awaitCallbacks: false` a callback's promise is not awaited: time can move on while a
   * request hangs (and the timers that abort it can fire).
   */
  constructor(options: { start?: number; awaitCallbacks?: boolean } = {}) {
    this.#now = options.start ?? Date.UTC(2026, 10, 18, 12, 0, 0);
    this.#awaitCallbacks = options.awaitCallbacks ?? true;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => unknown, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { id, due: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }

  /** Moves time forward by `ms`, firing (and awaiting) every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const timer of this.#timers.values()) {
        if (timer.due <= target && (next === undefined || timer.due < next.due || (timer.due === next.due && timer.id < next.id)))
          next = timer;
      }
      if (next === undefined) break;
      this.#timers.delete(next.id);
      this.#now = Math.max(this.#now, next.due);
      const result = next.callback();
      if (this.#awaitCallbacks) await result;
    }
    this.#now = target;
  }

  /** Advances in steps of `stepMs` until `condition` holds or `limitMs` has passed; returns the time taken. */
  async advanceUntil(condition: () => boolean, limitMs: number, stepMs = 100): Promise<number> {
    const start = this.#now;
    while (!condition() && this.#now - start < limitMs) await this.advance(stepMs);
    return this.#now - start;
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }
}
