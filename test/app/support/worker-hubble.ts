// The main thread's side of hubble-worker.ts: a Hubble Relay test server (mutual TLS) and our
// Hubble source following it, in a worker thread, and a Follower (what a FlowCollector follows)
// that relays the records and events it sends, in order.

import { Worker } from 'node:worker_threads';
import type { Follower } from '../../../src/app/collect/collector.ts';
import type { FlowRecord } from '../../../src/flows/record.ts';
import { SkipReport } from '../../../src/flows/skip-report.ts';
import type { FollowEvent, FollowOptions } from '../../../src/flows/sources/goldmane/goldmane-source.ts';
import type { RelayEvent } from '../../support/hubble-relay-server.ts';
import type { ToHubbleWorker } from './hubble-worker.ts';

type FromWorker =
  | { op: 'ready'; address: string }
  | { op: 'reply'; id: number; open?: number }
  | { op: 'record'; record: FlowRecord }
  | { op: 'event'; event: FollowEvent }
  | { op: 'failed'; message: string }
  | { op: 'ended' };

export class WorkerHubble {
  readonly #worker: Worker;
  readonly #replies = new Map<number, (reply: FromWorker & { op: 'reply' }) => void>();
  #nextId = 1;
  #address = '';
  #following: { options: FollowOptions; resolve: () => void; reject: (e: Error) => void } | null = null;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  static async start(): Promise<WorkerHubble> {
    const worker = new Worker(new URL('./hubble-worker.ts', import.meta.url));
    const h = new WorkerHubble(worker);
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (m: FromWorker) => {
        if (m.op === 'ready') {
          h.#address = m.address;
          resolve();
        } else h.#receive(m);
      });
    });
    return h;
  }

  get address(): string {
    return this.#address;
  }

  /** Relay sends these events to its followers (and keeps them for later GetFlows calls); `now`: the test's clock. */
  async append(now: number, ...events: RelayEvent[]): Promise<void> {
    await this.#ask({ op: 'append', id: 0, events, now });
  }

  /** GetFlows streams open now. */
  async openStreams(): Promise<number> {
    return (await this.#ask({ op: 'streams', id: 0 })).open!;
  }

  /** What a collector follows: our Hubble source in the worker, following the server. */
  follower(): Follower {
    const skipped = new SkipReport();
    const unlearnable = new SkipReport();
    let inputsRead = 0;
    return {
      description: `hubble-relay at ${this.#address}`,
      skipped,
      unlearnable,
      get inputsRead() {
        return inputsRead;
      },
      follow: (options) =>
        new Promise<void>((resolve, reject) => {
          if (this.#following !== null) throw new Error('one follower at a time');
          this.#following = {
            options: {
              ...options,
              onRecord: (r) => {
                inputsRead++;
                options.onRecord(r);
              },
            },
            resolve,
            reject,
          };
          this.#post({ op: 'follow', since: options.since, now: options.now?.() ?? Date.now() / 1000 });
          options.signal.addEventListener('abort', () => this.#post({ op: 'abort' }), { once: true });
        }),
    };
  }

  async close(): Promise<void> {
    await this.#ask({ op: 'close', id: 0 });
    await this.#worker.terminate();
  }

  #receive(m: FromWorker): void {
    switch (m.op) {
      case 'reply':
        this.#replies.get(m.id)?.(m);
        this.#replies.delete(m.id);
        break;
      case 'record':
        this.#following?.options.onRecord(m.record);
        break;
      case 'event':
        this.#following?.options.onEvent?.(m.event);
        break;
      case 'failed':
        this.#following?.reject(new Error(m.message));
        this.#following = null;
        break;
      case 'ended':
        this.#following?.resolve();
        this.#following = null;
        break;
    }
  }

  #ask(message: Extract<ToHubbleWorker, { id: number }>): Promise<FromWorker & { op: 'reply' }> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#replies.set(id, resolve);
      this.#post({ ...message, id });
    });
  }

  #post(message: ToHubbleWorker): void {
    this.#worker.postMessage(message);
  }
}
