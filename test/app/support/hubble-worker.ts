// A worker thread with the Hubble Relay test server and our Hubble source following it
// (test/support/hubble-relay-server.ts, src/flows/sources/hubble/hubble-source.ts follow), for App
// tests: nock, which fakes GitHub in those tests, patches the main thread's sockets, and gRPC's
// connections to 127.0.0.1 never open there (as goldmane-worker.ts says of Goldmane's TLS); a
// worker has sockets of its own. Runs as plain Node (types stripped), driven by messages from
// test/app/support/worker-hubble.ts; records and events go back in order.

import { parentPort } from 'node:worker_threads';
import { openHubbleSource } from '../../../src/flows/sources/hubble/hubble-source.ts';
import { HubbleRelayTestServer, hubbleConfig, type RelayEvent } from '../../support/hubble-relay-server.ts';
import { relayFollowing } from './following-worker.ts';

export type ToHubbleWorker =
  | { readonly op: 'append'; readonly id: number; readonly events: RelayEvent[]; readonly now: number }
  | { readonly op: 'follow'; readonly since: number; readonly now: number }
  | { readonly op: 'abort' }
  | { readonly op: 'streams'; readonly id: number }
  | { readonly op: 'close'; readonly id: number };

const port = parentPort!;
const server = await HubbleRelayTestServer.start({ tls: 'mtls', events: [] });
let following: AbortController | null = null;
/** The main thread's clock (Unix seconds), as of its last message. */
let now = 0;

port.on('message', async (message: ToHubbleWorker) => {
  switch (message.op) {
    case 'append':
      now = message.now;
      server.append(...message.events);
      port.postMessage({ op: 'reply', id: message.id });
      break;
    case 'follow': {
      now = message.now;
      const stop = new AbortController();
      following = stop;
      const source = await openHubbleSource(hubbleConfig(server.address), { backoffMs: 5, maxBackoffMs: 20 });
      await relayFollowing(port, (options) => source.follow(options), { since: message.since, signal: stop.signal, now: () => now });
      break;
    }
    case 'abort':
      following?.abort();
      following = null;
      break;
    case 'streams':
      port.postMessage({ op: 'reply', id: message.id, open: server.openStreams });
      break;
    case 'close':
      following?.abort();
      await server.stop();
      port.postMessage({ op: 'reply', id: message.id });
      break;
  }
});
port.postMessage({ op: 'ready', address: server.address });
