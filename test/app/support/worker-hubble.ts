// The main thread's side of hubble-worker.ts: a Hubble Relay test server (mutual TLS) and our
// Hubble source following it, in a worker thread, and a Follower (what a FlowCollector follows)
// that relays the records and events it sends, in order (following-worker.ts).

import type { Follower } from '../../../src/app/collect/collector.ts';
import type { RelayEvent } from '../../support/hubble-relay-server.ts';
import { FollowingWorker } from './following-worker.ts';
import type { ToHubbleWorker } from './hubble-worker.ts';

type Reply = { open?: number };

export class WorkerHubble {
  readonly #worker: FollowingWorker<Reply, ToHubbleWorker>;
  readonly #address: string;

  private constructor(worker: FollowingWorker<Reply, ToHubbleWorker>, address: string) {
    this.#worker = worker;
    this.#address = address;
  }

  static async start(): Promise<WorkerHubble> {
    const { worker, ready } = await FollowingWorker.start<{ address: string }, Reply, ToHubbleWorker>(
      new URL('./hubble-worker.ts', import.meta.url),
    );
    return new WorkerHubble(worker, ready.address);
  }

  get address(): string {
    return this.#address;
  }

  /** Relay sends these events to its followers (and keeps them for later GetFlows calls); `now`: the test's clock. */
  async append(now: number, ...events: RelayEvent[]): Promise<void> {
    await this.#worker.ask({ op: 'append', id: 0, events, now });
  }

  /** GetFlows streams open now. */
  async openStreams(): Promise<number> {
    return (await this.#worker.ask({ op: 'streams', id: 0 })).open!;
  }

  /** What a collector follows: our Hubble source in the worker, following the server. */
  follower(): Follower {
    return this.#worker.follower(
      `hubble-relay at ${this.#address}`,
      (options) => ({ op: 'follow', since: options.since, now: options.now?.() ?? Date.now() / 1000 }),
      { op: 'abort' },
    );
  }

  async close(): Promise<void> {
    await this.#worker.ask({ op: 'close', id: 0 });
    await this.#worker.terminate();
  }
}
