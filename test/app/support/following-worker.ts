// What the App tests' worker threads share (goldmane-worker.ts, hubble-worker.ts: a test server
// and our source following it, in a thread whose sockets nock does not patch). Worker side:
// relayFollowing sends what the source delivers back in order. Main side: FollowingWorker, a
// Follower (what a FlowCollector follows) that relays those records and events, and a request and
// reply channel for the test's own operations.

import { type MessagePort, Worker } from 'node:worker_threads';
import type { Follower } from '../../../src/app/collect/collector.ts';
import type { FlowRecord } from '../../../src/flows/record.ts';
import { SkipReport } from '../../../src/flows/skip-report.ts';
import type { FollowEvent, FollowOptions } from '../../../src/flows/sources/goldmane/goldmane-source.ts';

/** Worker side: follows with `follow`, posting each record and event, then `failed` or nothing, then `ended`. */
export async function relayFollowing(
  port: MessagePort,
  follow: (options: FollowOptions) => Promise<void>,
  options: Pick<FollowOptions, 'since' | 'signal' | 'now'>,
): Promise<void> {
  await follow({
    ...options,
    onRecord: (record) => port.postMessage({ op: 'record', record }),
    onEvent: (event) => port.postMessage({ op: 'event', event }),
  }).catch((e: unknown) => port.postMessage({ op: 'failed', message: (e as Error).message }));
  port.postMessage({ op: 'ended' });
}

type Relayed<Reply> =
  | ({ op: 'reply'; id: number } & Reply)
  | { op: 'record'; record: FlowRecord }
  | { op: 'event'; event: FollowEvent }
  | { op: 'failed'; message: string }
  | { op: 'ended' };
type FromWorker<Ready, Reply> = ({ op: 'ready' } & Ready) | Relayed<Reply>;

/** Main side. `To`: the worker's messages; those with an `id` are answered with a `Reply`. */
export class FollowingWorker<Reply extends object, To extends { readonly op: string }> {
  readonly #worker: Worker;
  readonly #replies = new Map<number, (reply: Reply) => void>();
  #nextId = 1;
  #following: { options: FollowOptions; resolve: () => void; reject: (e: Error) => void } | null = null;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  /** Starts the worker at `url` and waits for its `ready` message. */
  static async start<Ready extends object, Reply extends object, To extends { readonly op: string }>(
    url: URL,
    workerData?: unknown,
  ): Promise<{ worker: FollowingWorker<Reply, To>; ready: Ready }> {
    const thread = new Worker(url, workerData === undefined ? {} : { workerData });
    const worker = new FollowingWorker<Reply, To>(thread);
    const ready = await new Promise<Ready>((resolve, reject) => {
      thread.once('error', reject);
      thread.on('message', (m: FromWorker<Ready, Reply>) => {
        if (m.op === 'ready') resolve(m as Ready);
        else worker.#receive(m as Relayed<Reply>);
      });
    });
    return { worker, ready };
  }

  /** A Follower relaying what the worker's source delivers; `follow` is the message that starts it there. */
  follower(description: string, follow: (options: FollowOptions) => To, abort: To): Follower {
    const skipped = new SkipReport();
    const unlearnable = new SkipReport();
    let inputsRead = 0;
    return {
      description,
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
          this.post(follow(options));
          options.signal.addEventListener('abort', () => this.post(abort), { once: true });
        }),
    };
  }

  /** Sends a message with a fresh `id` and waits for its reply. */
  ask(message: To & { readonly id: number }): Promise<Reply> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#replies.set(id, resolve);
      this.post({ ...message, id });
    });
  }

  post(message: To): void {
    this.#worker.postMessage(message);
  }

  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }

  #receive(m: Relayed<Reply>): void {
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
}
