// The Hubble Relay source (src/flows/sources/hubble/hubble-source.ts) against a real gRPC peer on
// 127.0.0.1 (test/support/hubble-relay-server.ts) speaking observer.Observer/GetFlows
// (observer.proto, Cilium v1.19.4): TLS, mutual TLS and plain text, one-off reads with since/until,
// following with reconnection and resumption, non-flow and malformed messages counted.

import { afterEach, describe, expect, test } from '@jest/globals';
import { validateDeploymentConfig } from '../../../src/config/deployment-config.ts';
import type { FlowRecord } from '../../../src/flows/record.ts';
import { FlowSourceError } from '../../../src/flows/source.ts';
import type { FollowEvent } from '../../../src/flows/sources/goldmane/goldmane-source.ts';
import { type HubbleSourceOptions, openHubbleSource } from '../../../src/flows/sources/hubble/hubble-source.ts';
import { tlsFile } from '../../support/goldmane-server.ts';
import { HubbleRelayTestServer, hubbleConfig, type RelayEvent, relayFlow } from '../../support/hubble-relay-server.ts';

const T0 = 1_795_000_000;
const FAST: HubbleSourceOptions = { backoffMs: 5, maxBackoffMs: 20 };
const NODE_STATUS: RelayEvent = { node_status: { state_change: 'NODE_CONNECTED', node_names: ['kind-worker'] }, node_name: 'relay' };
const LOST: RelayEvent = { lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: '12' }, node_name: 'kind-worker' };

let servers: HubbleRelayTestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  servers = [];
});

async function start(events: RelayEvent[], tls: 'tls' | 'mtls' | 'plaintext' = 'mtls'): Promise<HubbleRelayTestServer> {
  const server = await HubbleRelayTestServer.start({ events, tls });
  servers.push(server);
  return server;
}

describe('read: what Relay holds of a window (GetFlows since/until, not following)', () => {
  test('over mutual TLS: the flows in the window, non-flow events counted apart, a malformed message located', async () => {
    const server = await start([
      relayFlow(T0 - 10),
      NODE_STATUS,
      relayFlow(T0 + 1),
      Buffer.from([0x0a, 0xff, 0xff]),
      relayFlow(T0 + 2, { verdict: 'DROPPED' }),
      LOST,
      relayFlow(T0 + 3.5),
      relayFlow(T0 + 100),
    ]);
    const source = await openHubbleSource(hubbleConfig(server.address, 'mtls'), FAST);
    const records: FlowRecord[] = [];
    await source.read({ from: T0, to: T0 + 60 }, (r) => records.push(r));
    expect(server.requests).toEqual([{ follow: false, since: T0, until: T0 + 60 }]);
    expect(records.map((r) => r.startTime)).toEqual([T0 + 1, T0 + 3]);
    expect(records[0]).toMatchObject({
      source: { name: 'customer-6b687c8dcb-*', namespace: 'shop' },
      dest: { name: 'db-*' },
      destPort: 5432,
    });
    expect(source.inputsRead).toBe(6);
    expect(source.skipped.summary()).toEqual({
      total: 1,
      byReason: { 'not a GetFlowsResponse message': 1 },
      examples: [{ location: 'hubble reply 3', reason: 'not a GetFlowsResponse message' }],
    });
    expect(source.unlearnable.summary().byReason).toEqual({
      'lost_events event (Hubble lost flows before they could be read)': 1,
      'node_status event (a Hubble Relay node state change, not a flow)': 1,
      'verdict DROPPED (dropped: it did not flow)': 1,
    });
    expect(source.kind).toBe('hubble');
    expect(source.description).toBe(`hubble-relay at ${server.address}`);
  });

  test('over TLS without a client certificate, and over plain text when asked for', async () => {
    for (const mode of ['tls', 'plaintext'] as const) {
      const server = await start([relayFlow(T0 + 1)], mode);
      const source = await openHubbleSource(hubbleConfig(server.address, mode), FAST);
      const records: FlowRecord[] = [];
      await source.read({ from: T0, to: T0 + 60 }, (r) => records.push(r));
      expect(records).toHaveLength(1);
      expect(source.description).toBe(`hubble-relay at ${server.address}${mode === 'plaintext' ? ' (plain text)' : ''}`);
    }
  });
});

describe('failures are named, with the address and never the credentials', () => {
  async function failure(config: Parameters<typeof openHubbleSource>[0]): Promise<string> {
    const source = await openHubbleSource(config, FAST);
    const error = await source
      .read({ from: T0, to: T0 + 60 }, () => undefined)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(FlowSourceError);
    const message = (error as Error).message;
    expect(message).not.toMatch(/BEGIN|PRIVATE KEY/);
    return message;
  }

  test('a server that requires a client certificate, asked without one', async () => {
    const server = await start([relayFlow(T0 + 1)], 'mtls');
    const message = await failure(hubbleConfig(server.address, 'tls'));
    expect(message).toMatch(new RegExp(`^hubble-relay at ${server.address}: GetFlows failed: UNAVAILABLE`));
    expect(message).toMatch(/client certificate/);
  });

  test('a server certificate signed by another CA', async () => {
    const server = await start([relayFlow(T0 + 1)], 'mtls');
    const message = await failure(hubbleConfig(server.address, 'mtls', { caFile: tlsFile('other-ca.pem') }));
    expect(message).toMatch(/not signed by the CA in caFile/);
  });

  test('a client certificate the server does not trust', async () => {
    const server = await start([relayFlow(T0 + 1)], 'mtls');
    const message = await failure(
      hubbleConfig(server.address, 'mtls', { certFile: tlsFile('other-client.pem'), keyFile: tlsFile('other-client-key.pem') }),
    );
    expect(message).toMatch(/client certificate/);
  });

  test('a server name the certificate does not carry', async () => {
    const server = await start([relayFlow(T0 + 1)], 'mtls');
    const message = await failure(hubbleConfig(server.address, 'mtls', { serverName: 'relay.example' }));
    expect(message).toMatch(/does not name the server/);
  });

  test('nothing listening', async () => {
    const server = await start([], 'mtls');
    const address = server.address;
    await server.stop();
    servers = [];
    const message = await failure(hubbleConfig(address, 'mtls'));
    expect(message).toMatch(/is Hubble Relay running at this address\?/);
  });

  test('unreadable or swapped TLS files are named by path at opening', async () => {
    await expect(openHubbleSource(hubbleConfig('127.0.0.1:1', 'mtls', { caFile: '/nonexistent/ca.pem' }))).rejects.toThrow(
      'cannot read hubble caFile /nonexistent/ca.pem: no such file',
    );
    await expect(openHubbleSource(hubbleConfig('127.0.0.1:1', 'mtls', { keyFile: tlsFile('client.pem') }))).rejects.toThrow(
      `hubble keyFile ${tlsFile('client.pem')} holds no PEM private key`,
    );
  });
});

describe('follow: the collector reads Relay continuously', () => {
  interface Followed {
    readonly records: FlowRecord[];
    readonly events: FollowEvent[];
    readonly stop: () => Promise<void>;
  }

  async function follow(server: HubbleRelayTestServer, since: number, now = T0 + 30): Promise<Followed> {
    const source = await openHubbleSource(hubbleConfig(server.address), { ...FAST, reorderMargin: 2 });
    const records: FlowRecord[] = [];
    const events: FollowEvent[] = [];
    const abort = new AbortController();
    const done = source.follow({
      since,
      signal: abort.signal,
      now: () => now,
      onRecord: (r) => records.push(r),
      onEvent: (e) => events.push(e),
    });
    return {
      records,
      events,
      stop: async () => {
        abort.abort();
        await done;
      },
    };
  }

  async function until(condition: () => boolean): Promise<void> {
    for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(condition()).toBe(true);
  }

  test('streams what Relay holds from since, then what comes, with progress', async () => {
    const server = await start([relayFlow(T0 - 5), relayFlow(T0 + 1), NODE_STATUS, relayFlow(T0 + 2)]);
    const f = await follow(server, T0);
    await until(() => f.records.length === 2);
    server.append(relayFlow(T0 + 6), relayFlow(T0 + 7));
    await until(() => f.records.length === 4);
    await f.stop();
    expect(server.requests[0]).toEqual({ follow: true, since: T0, until: null });
    expect(f.records.map((r) => r.startTime)).toEqual([T0 + 1, T0 + 2, T0 + 6, T0 + 7]);
    // Nothing before the first connection is promised (Hubble keeps events, not time).
    expect(f.events[0]).toEqual({ type: 'connected', from: T0 + 30 });
    const progress = f.events.filter((e) => e.type === 'progress').map((e) => (e as { before: number }).before);
    expect(progress.at(-1)).toBe(T0 + 5);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  test('after a broken stream it resumes from the newest flow minus the margin, and drops what it is sent again', async () => {
    const events: RelayEvent[] = [];
    for (let i = 1; i <= 10; i++) events.push(relayFlow(T0 + i * 0.5));
    const server = await start(events);
    // The first stream breaks after 6 messages (up to T0 + 3), the second after 2 more.
    server.breakStreamsAfter.push(6, 2);
    const f = await follow(server, T0);
    await until(() => f.records.length === 10);
    await new Promise((r) => setTimeout(r, 50));
    await f.stop();
    expect(f.records.map((r) => r.startTime)).toEqual(
      events.map((e) => Math.floor((e as { flow: { time: { seconds: number; nanos: number } } }).flow.time.seconds)),
    );
    // Reconnections ask from the newest flow seen (T0 + 3) minus the 2 s margin; the second stream
    // breaks after sending two flows of the margin again (dropped), so the third asks the same.
    expect(server.requests.map((r) => r.since)).toEqual([T0, T0 + 1, T0 + 1]);
    const disconnects = f.events.filter((e) => e.type === 'disconnected');
    expect(disconnects).toHaveLength(2);
    expect((disconnects[0] as { reason: string }).reason).toMatch(/^UNAVAILABLE: relay test server: stream broken on purpose/);
  });

  test('flows without uuid (before Cilium 1.14) are recognised by their bytes', async () => {
    const events = [relayFlow(T0 + 1, {}, null), relayFlow(T0 + 2, {}, null), relayFlow(T0 + 3, {}, null)];
    const server = await start(events);
    server.breakStreamsAfter.push(2);
    const f = await follow(server, T0);
    await until(() => f.records.length === 3);
    await new Promise((r) => setTimeout(r, 50));
    await f.stop();
    expect(f.records.map((r) => r.startTime)).toEqual([T0 + 1, T0 + 2, T0 + 3]);
  });

  test("lost_events with Cilium 1.19's first/last become a lost interval", async () => {
    const lost: RelayEvent = {
      lost_events: {
        source: 'HUBBLE_RING_BUFFER',
        num_events_lost: '40',
        first: { seconds: T0 + 1, nanos: 0 },
        last: { seconds: T0 + 4, nanos: 500 },
      },
    };
    const server = await start([lost, relayFlow(T0 + 5)]);
    const f = await follow(server, T0);
    await until(() => f.records.length === 1);
    await f.stop();
    expect(f.events.filter((e) => e.type === 'lost')).toEqual([{ type: 'lost', from: T0 + 1, to: T0 + 5 }]);
  });
});

describe('deployment configuration (flows.source: hubble)', () => {
  const validate = (hubble: Record<string, unknown>) => () =>
    validateDeploymentConfig({ clusters: { prod: { flows: { source: 'hubble', hubble } } } }, 'deployment.yaml');

  test('TLS, mutual TLS and plain text when asked for', () => {
    expect(validate({ address: 'hubble-relay.kube-system.svc:443', caFile: '/tls/ca.crt' })).not.toThrow();
    expect(
      validate({
        address: 'hubble-relay.kube-system.svc:443',
        caFile: '/tls/ca.crt',
        certFile: '/tls/tls.crt',
        keyFile: '/tls/tls.key',
        serverName: 'relay.hubble',
      }),
    ).not.toThrow();
    expect(validate({ address: 'hubble-relay.kube-system.svc:80', plaintext: true })).not.toThrow();
  });

  test('neither TLS nor plain text, both, or half a client certificate are refused', () => {
    expect(validate({ address: 'relay:443' })).toThrow(/give caFile \(TLS\), or plaintext: true/);
    expect(validate({ address: 'relay:443', caFile: '/ca.pem', plaintext: true })).toThrow(/give caFile/);
    expect(validate({ address: 'relay:443', caFile: '/ca.pem', certFile: '/c.pem' })).toThrow(/certFile and keyFile go together/);
    expect(validate({ address: 'relay', caFile: '/ca.pem' })).toThrow(/host:port/);
  });
});
