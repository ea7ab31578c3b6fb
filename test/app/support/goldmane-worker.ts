// A worker thread with the Goldmane test server and our Goldmane source following it
// (test/support/goldmane-server.ts, src/flows/sources/goldmane/goldmane-source.ts follow), for App
// tests: nock, which fakes GitHub in those tests, patches the main thread's sockets in a way that
// breaks gRPC's TLS; a worker has sockets of its own. Runs as plain Node (types stripped), driven
// by messages from test/app/support/worker-goldmane.ts; records and events go back in order.

import { parentPort, workerData } from 'node:worker_threads';
import { openGoldmaneSource } from '../../../src/flows/sources/goldmane/goldmane-source.ts';
import { GoldmaneTestServer, goldmaneConfig, type Release, type TestFlow } from '../../support/goldmane-server.ts';
import { relayFollowing } from './following-worker.ts';

export interface WorkerData {
  readonly release: Release;
  /** The server's "now" at start (Unix seconds). */
  readonly now: number;
  readonly flows: TestFlow[];
}

export type ToWorker =
  | { readonly op: 'rollover'; readonly id: number; readonly n: number }
  | { readonly op: 'follow'; readonly since: number }
  | { readonly op: 'abort' }
  | { readonly op: 'streams'; readonly id: number }
  | { readonly op: 'close'; readonly id: number };

const port = parentPort!;
const data = workerData as WorkerData;
const server = await GoldmaneTestServer.start({ release: data.release, now: () => data.now, flows: data.flows });
let following: AbortController | null = null;

port.on('message', async (message: ToWorker) => {
  switch (message.op) {
    case 'rollover':
      for (let i = 0; i < message.n; i++) server.rollover();
      port.postMessage({ op: 'reply', id: message.id, now: server.now() });
      break;
    case 'follow': {
      const stop = new AbortController();
      following = stop;
      const source = await openGoldmaneSource(goldmaneConfig(server.address), { backoffMs: 5, maxBackoffMs: 20 });
      await relayFollowing(port, (options) => source.follow(options), {
        since: message.since,
        signal: stop.signal,
        now: () => server.now(),
      });
      break;
    }
    case 'abort':
      following?.abort();
      following = null;
      break;
    case 'streams':
      port.postMessage({ op: 'reply', id: message.id, open: server.openStreams, calls: server.streamCalls.map((c) => c.start_time_gte) });
      break;
    case 'close':
      following?.abort();
      server.forceClose();
      port.postMessage({ op: 'reply', id: message.id });
      break;
  }
});
port.postMessage({ op: 'ready', address: server.address, now: server.now() });
