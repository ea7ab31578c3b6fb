// The main thread's side of goldmane-worker.ts: a Goldmane test server and our source following it,
// in a worker thread, and a Follower (what a FlowCollector follows) that relays the records and
// events it sends, in order. Time is the server's: rollover(n) moves it on by n buckets.

import { Worker } from 'node:worker_threads';
import type { Follower } from '../../../src/app/collect/collector.ts';
import type { FlowRecord } from '../../../src/flows/record.ts';
import { SkipReport } from '../../../src/flows/skip-report.ts';
import type { FollowEvent, FollowOptions } from '../../../src/flows/sources/goldmane/goldmane-source.ts';
import type { Release, TestFlow } from '../../support/goldmane-server.ts';
import type { ToWorker, WorkerData } from './goldmane-worker.ts';

type FromWorker =
  | { op: 'ready'; address: string; now: number }
  | { op: 'reply'; id: number; now?: number; open?: number; calls?: number[] }
  | { op: 'record'; record: FlowRecord }
  | { op: 'event'; event: FollowEvent }
  | { op: 'failed'; message: string }
  | { op: 'ended' };

export class WorkerGoldmane {
  readonly #worker: Worker;
  readonly #replies = new Map<number, (reply: FromWorker & { op: 'reply' }) => void>();
  #nextId = 1;
  #address = '';
  #now = 0;
  #following: { options: FollowOptions; resolve: () => void; reject: (e: Error) => void } | null = null;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  static async start(options: { release?: Release; now: number; flows: TestFlow[] }): Promise<WorkerGoldmane> {
    const data: WorkerData = { release: options.release ?? 'main', now: options.now, flows: options.flows };
    const worker = new Worker(new URL('./goldmane-worker.ts', import.meta.url), { workerData: data });
    const g = new WorkerGoldmane(worker);
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (m: FromWorker) => {
        if (m.op === 'ready') {
          g.#address = m.address;
          g.#now = m.now;
          resolve();
        } else g.#receive(m);
      });
    });
    return g;
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
    const reply = await this.#ask({ op: 'rollover', id: 0, n });
    this.#now = reply.now!;
    return this.#now;
  }

  /** Streams open now, and the start_time_gte of every Stream call so far. */
  async streams(): Promise<{ open: number; calls: number[] }> {
    const reply = await this.#ask({ op: 'streams', id: 0 });
    return { open: reply.open!, calls: reply.calls! };
  }

  /** What a collector follows: our Goldmane source in the worker, following the server. */
  follower(): Follower {
    const skipped = new SkipReport();
    const unlearnable = new SkipReport();
    let inputsRead = 0;
    return {
      description: `goldmane at ${this.#address}`,
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
          this.#post({ op: 'follow', since: options.since });
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

  #ask(message: Extract<ToWorker, { id: number }>): Promise<FromWorker & { op: 'reply' }> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#replies.set(id, resolve);
      this.#post({ ...message, id });
    });
  }

  #post(message: ToWorker): void {
    this.#worker.postMessage(message);
  }
}
