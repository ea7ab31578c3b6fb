// Hubble Relay's Observer service (observer.Observer, ./proto/observer/observer.proto, Cilium
// v1.19.4) through @grpc/proto-loader. GetFlows replies are kept as bytes by the client (the reader
// needs them to recognise a flow sent twice, see stream-resume.ts) and decoded one at a time into
// the shape protojson gives (proto field names, enums by name, 64-bit integers as strings, absent
// fields left out), so that to-record.ts reads gRPC and jsonpb lines alike. Two differences remain,
// and to-record.ts takes both forms: a Timestamp is `{seconds, nanos}` rather than RFC 3339 text,
// and a BoolValue `{value}` rather than a bare boolean. An enum value this release does not know
// stays a number (to-record.ts rejects it).
//
// v1.18.6 (cilium/hubble v1.18.6 vendors it) differs from v1.19.4 only by additions: Flow
// `emitter`, `ip_trace_id`, `aggregate`; Layer4 VRRP and IGMP; Tunnel `vni`; LostEvent `first`
// and `last`; more DropReason and DebugEventType values; FlowFilter `ip_trace_id`, `encrypted`. A
// field one side does not know is skipped by the other (proto3), so either release can be talked to.

import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO_DIR = fileURLToPath(new URL('./proto', import.meta.url));
const OBSERVER_PROTO = 'observer/observer.proto';

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  arrays: false,
  oneofs: false,
  includeDirs: [PROTO_DIR],
};

/** A google.protobuf.Timestamp as a request carries it. */
export interface WireTimestamp {
  seconds: number | string;
  nanos: number;
}

/** What this project sends (observer.proto GetFlowsRequest); filters are left to Hubble's defaults. */
export interface WireGetFlowsRequest {
  follow?: boolean;
  since?: WireTimestamp;
  until?: WireTimestamp;
}

export interface ObserverCodec {
  /** observer.Observer with GetFlows replies handed over as bytes (one GetFlowsResponse each). */
  readonly service: grpc.ServiceDefinition;
  /** One GetFlowsResponse, decoded as described above. Throws on malformed bytes. */
  readonly decodeResponse: (bytes: Buffer) => Record<string, unknown>;
  /** Encodes a GetFlowsResponse given in the decoded shape (the test server and the bench). */
  readonly encodeResponse: (response: Record<string, unknown>) => Buffer;
  /** Decodes a request (the test server). */
  readonly decodeRequest: (bytes: Buffer) => Record<string, unknown>;
}

let codec: ObserverCodec | undefined;

export function observerCodec(): ObserverCodec {
  if (codec === undefined) {
    const definition = protoLoader.loadSync(OBSERVER_PROTO, LOADER_OPTIONS);
    const service = definition['observer.Observer'] as grpc.ServiceDefinition | undefined;
    const getFlows = service?.['GetFlows'];
    if (service === undefined || getFlows === undefined)
      throw new Error(`${OBSERVER_PROTO} declares no observer.Observer service with GetFlows`);
    codec = {
      service: { ...service, GetFlows: { ...getFlows, responseDeserialize: (bytes: Buffer) => bytes } },
      decodeResponse: getFlows.responseDeserialize as (bytes: Buffer) => Record<string, unknown>,
      encodeResponse: getFlows.responseSerialize as (response: Record<string, unknown>) => Buffer,
      decodeRequest: getFlows.requestDeserialize as (bytes: Buffer) => Record<string, unknown>,
    };
  }
  return codec;
}

/** A client class for observer.Observer. */
export function observerClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(observerCodec().service, 'Observer');
}

/** Unix seconds (fractional) as a Timestamp. */
export function toTimestamp(seconds: number): WireTimestamp {
  const whole = Math.floor(seconds);
  return { seconds: whole, nanos: Math.min(999_999_999, Math.round((seconds - whole) * 1e9)) };
}
