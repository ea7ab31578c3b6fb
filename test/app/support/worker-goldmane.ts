// The main thread's side of goldmane-worker.ts: a Goldmane test server and our source following it,
// in a worker thread, and a Follower (what a FlowCollector follows) that relays the records and
// events it sends, in order (following-worker.ts). Time is the server's: rollover(n) moves it on by n buckets.

import type { Follower } from '../../../src/app/collect/collector.ts';
import type { Release, TestFlow } from '../../support/goldmane-server.ts';
import { FollowingWorker } from './following-worker.ts';
import type { ToWorker, WorkerData } from './goldmane-worker.ts';

type Reply = { now?: number; open?: number; calls?: number[] };

export class WorkerGoldmane {
  readonly #worker: FollowingWorker<Reply, ToWorker>;
  readonly #address: string;
  #now: number;

  private constructor(worker: FollowingWorker<Reply, ToWorker>, address: string, now: number) {
    this.#worker = worker;
    this.#address = address;
    this.#now = now;
  }

  static async start(options: { release?: Release; now: number; flows: TestFlow[] }): Promise<WorkerGoldmane> {
    const data: WorkerData = { release: options.release ?? 'main', now: options.now, flows: options.flows };
    const { worker, ready } = await FollowingWorker.start<{ address: string; now: number }, Reply, ToWorker>(
      new URL('./goldmane-worker.ts', import.meta.url),
      data,
    );
    return new WorkerGoldmane(worker, ready.address, ready.now);
  }

  get address(): string {
    return this.#address;
  }

  /** The server's time (Unix seconds), as of its last reply. */
  get now(): number {
    return this.#now;
  }

  /** Goldmane's rollover, `n` times: each sends the streaming bucket and moves time on by 15 s. */
  async rollover(n: number): Promise<number> {
    const reply = await this.#worker.ask({ op: 'rollover', id: 0, n });
    this.#now = reply.now!;
    return this.#now;
  }

  /** Streams open now, and the start_time_gte of every Stream call so far. */
  async streams(): Promise<{ open: number; calls: number[] }> {
    const reply = await this.#worker.ask({ op: 'streams', id: 0 });
    return { open: reply.open!, calls: reply.calls! };
  }

  /** What a collector follows: our Goldmane source in the worker, following the server. */
  follower(): Follower {
    return this.#worker.follower(`goldmane at ${this.#address}`, (options) => ({ op: 'follow', since: options.since }), { op: 'abort' });
  }

  async close(): Promise<void> {
    await this.#worker.ask({ op: 'close', id: 0 });
    await this.#worker.terminate();
  }
}
