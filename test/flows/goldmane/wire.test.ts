import { describe, expect, test } from '@jest/globals';
import { flowIdentity, flowsCodec, splitListResult } from '../../../src/flows/sources/goldmane/wire.ts';
import {
  ACTION,
  ENDPOINT,
  Encoder,
  encodedKey,
  encodeFlowResult,
  KIND,
  REPORTER,
  type TestFlow,
  type TestPolicyHit,
} from '../../support/goldmane-server.ts';

// The test server encodes by hand from upstream's field numbers (goldmane/proto/api.proto, the
// same for these messages on every release: contract.test.ts); decoding with our .proto (through
// proto-loader) must give every field back.

const everyField: TestFlow = {
  Key: {
    source_name: 'customer-6b687c8dcb-*',
    source_namespace: 'yaobank',
    source_type: ENDPOINT.wep,
    dest_name: 'pub',
    dest_namespace: '',
    dest_type: ENDPOINT.net,
    dest_port: 443,
    dest_service_name: 'api',
    dest_service_namespace: 'payments',
    dest_service_port_name: 'https',
    dest_service_port: 8443,
    proto: 'tcp',
    reporter: REPORTER.dst,
    action: ACTION.deny,
    policies: {
      enforced_policies: [
        {
          kind: KIND.EndOfTier,
          tier: 'security',
          action: ACTION.deny,
          policy_index: 2,
          rule_index: -1,
          trigger: { kind: KIND.GlobalNetworkPolicy, tier: 'security', name: 'security.default-deny' },
        },
      ],
      pending_policies: [
        {
          kind: KIND.ClusterNetworkPolicy,
          namespace: '',
          name: 'n',
          tier: 'kube-admin',
          action: ACTION.pass,
          policy_index: 1,
          rule_index: 7,
        },
      ],
    },
  },
  start_time: 1_795_000_000,
  end_time: 1_795_000_015,
  source_labels: ['app=customer', 'version=v1'],
  dest_labels: ['x=y'],
  packets_in: 1,
  packets_out: 2,
  bytes_in: 3,
  bytes_out: 4,
  num_connections_started: 5,
  num_connections_completed: 6,
  num_connections_live: 7,
};

describe('the wire contract', () => {
  test('every field of FlowResult, by number, decodes to the field of that name', () => {
    const decoded = flowsCodec().decodeFlowResult(encodeFlowResult(42, everyField));
    const hit = (h: TestPolicyHit, trigger: unknown = null): unknown => ({
      kind: 0,
      namespace: '',
      name: '',
      tier: '',
      action: 0,
      policy_index: 0,
      rule_index: 0,
      ...h,
      trigger,
    });
    expect(decoded).toEqual({
      id: 42,
      flow: {
        ...everyField,
        Key: {
          ...everyField.Key,
          policies: {
            enforced_policies: [
              hit(everyField.Key!.policies!.enforced_policies![0]!, hit(everyField.Key!.policies!.enforced_policies![0]!.trigger!)),
            ],
            pending_policies: [hit(everyField.Key!.policies!.pending_policies![0]!)],
          },
        },
      },
    });
  });

  test('int64 values: negative numbers and values past 2^53 (never exact as Number, so range checks reject them)', () => {
    const decoded = flowsCodec().decodeFlowResult(
      encodeFlowResult(1, { start_time: -5, end_time: 2 ** 60, num_connections_started: 2 ** 53 + 2 }),
    );
    expect(decoded.flow!.start_time).toBe(-5);
    expect(decoded.flow!.end_time).toBe(2 ** 60);
    expect(Number.isSafeInteger(decoded.flow!.num_connections_started)).toBe(false);
  });
});

describe('splitting a List reply', () => {
  const meta = (pages: number, results: number) => new Encoder().int(1, pages).int(2, results).finish();

  test('metadata and one view per flow, in order', () => {
    const flows = [encodeFlowResult(1, everyField), encodeFlowResult(2, everyField)];
    const reply = new Encoder().bytes(1, meta(3, 250)).bytes(2, flows[0]).bytes(2, flows[1]).finish();
    const page = splitListResult(reply);
    expect(page.meta).toEqual({ totalPages: 3, totalResults: 250 });
    expect(page.flows.map((b) => Buffer.compare(b, flows[page.flows.indexOf(b)]!))).toEqual([0, 0]);
  });

  test('no metadata, no flows', () => {
    expect(splitListResult(Buffer.alloc(0))).toEqual({ meta: null, flows: [] });
  });

  test('unknown fields of every wire type are skipped (a newer Goldmane)', () => {
    const unknown = Buffer.from([
      (9 << 3) | 0,
      0x96,
      0x01, // varint 150
      (10 << 3) | 1,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8, // fixed64
      (11 << 3) | 5,
      1,
      2,
      3,
      4, // fixed32
    ]);
    const reply = Buffer.concat([
      unknown,
      new Encoder()
        .bytes(1, Buffer.concat([meta(2, 9), unknown]))
        .bytes(12, Buffer.from('x'))
        .bytes(2, Buffer.from([8, 1]))
        .finish(),
    ]);
    expect(splitListResult(reply)).toEqual({ meta: { totalPages: 2, totalResults: 9 }, flows: [Buffer.from([8, 1])] });
  });

  test('negative and huge totalPages come through as numbers for the reader to judge', () => {
    expect(splitListResult(new Encoder().bytes(1, meta(-1, 0)).finish()).meta!.totalPages).toBe(-1);
    expect(Number.isSafeInteger(splitListResult(new Encoder().bytes(1, meta(2 ** 62, 0)).finish()).meta!.totalPages)).toBe(false);
  });

  test.each([
    ['a truncated length', Buffer.from([(2 << 3) | 2, 10, 1, 2])],
    ['a truncated varint', Buffer.from([(9 << 3) | 0, 0x80])],
    ['a group (wire type 3)', Buffer.from([(9 << 3) | 3])],
    ['field 0', Buffer.from([0, 0])],
    ['an endless varint', Buffer.from([(9 << 3) | 0, ...Array(11).fill(0x80), 1])],
  ])('malformed: %s', (_what, bytes) => {
    expect(() => splitListResult(bytes)).toThrow();
  });
});

describe("a stream flow's identity without decoding it", () => {
  test('its bucket start and its FlowKey bytes as sent', () => {
    const bytes = encodeFlowResult(9, everyField);
    expect(flowIdentity(bytes)).toEqual({ startTime: everyField.start_time, key: encodedKey(everyField.Key!) });
  });

  test('none without a key or a start time', () => {
    expect(flowIdentity(encodeFlowResult(9, { ...everyField, Key: undefined }))).toBeNull();
    expect(flowIdentity(encodeFlowResult(9, { ...everyField, start_time: 0 }))).toBeNull();
    expect(flowIdentity(new Encoder().int(1, 9).finish())).toBeNull();
    expect(() => flowIdentity(Buffer.from([0x12, 0x7f]))).toThrow();
  });
});
