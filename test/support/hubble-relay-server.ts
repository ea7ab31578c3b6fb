// A Hubble Relay test peer: a real gRPC server (@grpc/grpc-js) on 127.0.0.1 serving
// observer.Observer/GetFlows (Cilium's observer.proto, v1.19.4, vendored in
// src/flows/sources/hubble/proto) with TLS, mutual TLS or plain text, from a list of events.
//
// What it does as Relay does (cilium pkg/hubble/relay/observer, observer.proto GetFlowsRequest):
// sends the events whose time is at or after `since` (and before `until`), oldest first; with
// `follow`, keeps the stream open and sends every event appended later. Events without a time
// (node_status, lost_events) are always sent. Faults: the next streams can break with UNAVAILABLE
// after N messages; raw bytes can be sent as a malformed message; a flow can be sent twice.

import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { HubbleConfig } from '../../src/config/deployment-config.ts';
import { observerCodec } from '../../src/flows/sources/hubble/wire.ts';
import { tlsFile } from './goldmane-server.ts';

/** A GetFlowsResponse in wire.ts's decoded shape (times as {seconds, nanos}), or raw bytes. */
export type RelayEvent = Record<string, unknown> | Buffer;

export type RelayTls = 'tls' | 'mtls' | 'plaintext';

export interface DecodedGetFlowsRequest {
  readonly follow: boolean;
  readonly since: number | null;
  readonly until: number | null;
}

interface OpenStream {
  readonly call: grpc.ServerWritableStream<Buffer, Buffer>;
  readonly request: DecodedGetFlowsRequest;
  sent: number;
  readonly breakAfter: number | null;
  open: boolean;
}

export class HubbleRelayTestServer {
  readonly #server: grpc.Server;
  readonly port: number;
  /** Every GetFlows request received, in order. */
  readonly requests: DecodedGetFlowsRequest[] = [];
  /** The next streams, one each, end with UNAVAILABLE once they have sent this many messages. */
  readonly breakStreamsAfter: number[] = [];
  #events: RelayEvent[];
  readonly #streams = new Set<OpenStream>();

  private constructor(server: grpc.Server, port: number, events: RelayEvent[]) {
    this.#server = server;
    this.port = port;
    this.#events = events;
  }

  static async start(options: { events?: RelayEvent[]; tls?: RelayTls } = {}): Promise<HubbleRelayTestServer> {
    const mode = options.tls ?? 'mtls';
    const server = new grpc.Server();
    const credentials =
      mode === 'plaintext'
        ? grpc.ServerCredentials.createInsecure()
        : grpc.ServerCredentials.createSsl(
            readFileSync(tlsFile('ca.pem')),
            [{ cert_chain: readFileSync(tlsFile('server.pem')), private_key: readFileSync(tlsFile('server-key.pem')) }],
            mode === 'mtls',
          );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    const instance = new HubbleRelayTestServer(server, port, options.events ?? []);
    const { service, decodeRequest } = observerCodec();
    const getFlows = service['GetFlows']!;
    server.addService(
      {
        GetFlows: {
          ...getFlows,
          requestDeserialize: (bytes: Buffer) => decodeRequest(bytes),
          responseSerialize: (bytes: Buffer) => bytes,
        },
      },
      { GetFlows: (call: grpc.ServerWritableStream<Record<string, unknown>, Buffer>) => instance.#getFlows(call) },
    );
    return instance;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Adds events: streams that follow and are open get them now. */
  append(...events: RelayEvent[]): void {
    this.#events.push(...events);
    for (const stream of this.#streams) for (const e of events) this.#send(stream, e);
  }

  /** Streams open now. */
  get openStreams(): number {
    return this.#streams.size;
  }

  async stop(): Promise<void> {
    for (const s of this.#streams) s.call.end();
    await new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve()));
  }

  #getFlows(call: grpc.ServerWritableStream<Record<string, unknown>, Buffer>): void {
    const r = call.request;
    const request: DecodedGetFlowsRequest = { follow: r['follow'] === true, since: seconds(r['since']), until: seconds(r['until']) };
    this.requests.push(request);
    const stream: OpenStream = {
      call: call as unknown as grpc.ServerWritableStream<Buffer, Buffer>,
      request,
      sent: 0,
      breakAfter: this.breakStreamsAfter.shift() ?? null,
      open: true,
    };
    call.on('cancelled', () => this.#close(stream));
    call.on('error', () => this.#close(stream));
    for (const e of this.#events) if (!this.#send(stream, e)) return;
    if (!stream.open) return;
    if (request.follow) this.#streams.add(stream);
    else {
      stream.open = false;
      call.end();
    }
  }

  /** Sends one event if it is in the request's range; false once the stream is closed. */
  #send(stream: OpenStream, event: RelayEvent): boolean {
    if (!stream.open) return false;
    if (!Buffer.isBuffer(event)) {
      const t = eventTime(event);
      if (t !== null && stream.request.since !== null && t < stream.request.since) return true;
      if (t !== null && stream.request.until !== null && t >= stream.request.until) return true;
    }
    if (stream.breakAfter !== null && stream.sent >= stream.breakAfter) {
      this.#close(stream);
      stream.call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'relay test server: stream broken on purpose' });
      return false;
    }
    stream.call.write(Buffer.isBuffer(event) ? event : observerCodec().encodeResponse(event));
    stream.sent++;
    return true;
  }

  #close(stream: OpenStream): void {
    stream.open = false;
    this.#streams.delete(stream);
  }
}

function seconds(v: unknown): number | null {
  if (typeof v !== 'object' || v === null) return null;
  const { seconds: s, nanos } = v as { seconds?: unknown; nanos?: unknown };
  return Number(s ?? 0) + Number(nanos ?? 0) / 1e9;
}

/** A flow's time (or the response's), fractional Unix seconds; null for events without one. */
function eventTime(event: Record<string, unknown>): number | null {
  const flow = event['flow'] as Record<string, unknown> | undefined;
  return seconds(flow?.['time'] ?? event['time']);
}

/** A HubbleConfig for a client of the test server, with the fixture certificates. */
export function hubbleConfig(address: string, mode: RelayTls = 'mtls', overrides: Partial<HubbleConfig> = {}): HubbleConfig {
  const base: HubbleConfig =
    mode === 'plaintext'
      ? { address, plaintext: true, timeout: 5 }
      : mode === 'tls'
        ? { address, caFile: tlsFile('ca.pem'), timeout: 5 }
        : { address, caFile: tlsFile('ca.pem'), certFile: tlsFile('client.pem'), keyFile: tlsFile('client-key.pem'), timeout: 5 };
  return { ...base, ...overrides };
}

/** A flow event at `time` (Unix seconds, fractional) from shop/customer to shop/db:5432, egress. */
export function relayFlow(
  time: number,
  overrides: Record<string, unknown> = {},
  uuid: string | null = `uuid-${time}`,
): Record<string, unknown> {
  const whole = Math.floor(time);
  return {
    flow: {
      time: { seconds: whole, nanos: Math.round((time - whole) * 1e9) },
      ...(uuid !== null ? { uuid } : {}),
      verdict: 'FORWARDED',
      IP: { source: '10.0.1.5', destination: '10.0.2.7', ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 41000, destination_port: 5432 } },
      source: {
        identity: 40001,
        namespace: 'shop',
        labels: ['k8s:app=customer', 'k8s:io.kubernetes.pod.namespace=shop'],
        pod_name: 'customer-6b687c8dcb-x7k2p',
      },
      destination: { identity: 40002, namespace: 'shop', labels: ['k8s:app=db', 'k8s:io.kubernetes.pod.namespace=shop'], pod_name: 'db-0' },
      Type: 'L3_L4',
      node_name: 'kind-worker',
      traffic_direction: 'EGRESS',
      is_reply: { value: false },
      ...overrides,
    },
    node_name: 'kind-worker',
  };
}
