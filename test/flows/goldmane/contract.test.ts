// Our goldmane.proto and the test server against upstream's goldmane/proto/api.proto of every
// supported release: test/flows/goldmane/upstream/v3.30-v3.31.api.proto (release-v3.30,
// release-v3.31) and v3.32-main.api.proto (release-v3.32, release-v3.33, master). Upstream's files
// are loaded as they are and used to encode and decode, so these are facts, not our reading.

import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, test } from '@jest/globals';
import { goldmaneFlowToRecord } from '../../../src/flows/sources/goldmane/to-record.ts';
import { flowsCodec, LOADER_OPTIONS, PROTO_FILE, splitListResult } from '../../../src/flows/sources/goldmane/wire.ts';
import {
  ACTION,
  contractOf,
  decodeListRequest,
  decodeStreamRequest,
  ENDPOINT,
  encodeListResult,
  encodePolicyMatch,
  KIND,
  RELEASES,
  REPORTER,
  type Release,
  type TestFlow,
} from '../../support/goldmane-server.ts';

const CONTRACTS = {
  'v3.30-v3.31': fileURLToPath(new URL('./upstream/v3.30-v3.31.api.proto', import.meta.url)),
  'v3.32-main': fileURLToPath(new URL('./upstream/v3.32-main.api.proto', import.meta.url)),
} as const;
type Contract = keyof typeof CONTRACTS;

interface Field {
  name: string;
  number: number;
  type: string;
  typeName: string;
  label: string;
}
interface Descriptor {
  type: { field?: Field[]; value?: { name: string; number: number }[] };
}
type Definitions = Record<string, Descriptor & Record<string, unknown>>;

const load = (file: string): Definitions => protoLoader.loadSync(file, LOADER_OPTIONS) as unknown as Definitions;
const ours = load(PROTO_FILE);
const upstream: Record<Contract, Definitions> = {
  'v3.30-v3.31': load(CONTRACTS['v3.30-v3.31']),
  'v3.32-main': load(CONTRACTS['v3.32-main']),
};

const messages = (d: Definitions): string[] => Object.keys(d).filter((k) => d[k]!.type?.field !== undefined);
const enums = (d: Definitions): string[] => Object.keys(d).filter((k) => d[k]!.type?.value !== undefined);
const fieldsOf = (d: Definitions, message: string): Field[] =>
  d[message]!.type.field!.map(({ name, number, type, typeName, label }) => ({ name, number, type, typeName, label }));

interface Method {
  requestSerialize(value: object): Buffer;
  requestDeserialize(bytes: Buffer): Record<string, unknown>;
  responseSerialize(value: object): Buffer;
  responseDeserialize(bytes: Buffer): Record<string, unknown>;
  requestType: { type: { name: string } };
  responseType: { type: { name: string } };
}
const method = (d: Definitions, service: string, name: string): Method =>
  (d[`goldmane.${service}`] as unknown as Record<string, Method>)[name]!;

/** A release of each contract, for the test server. */
const releaseOf: Record<Contract, Release> = { 'v3.30-v3.31': '3.31', 'v3.32-main': '3.33' };

test('the releases and their contracts', () => {
  expect(RELEASES.map((r) => [r, contractOf(r)])).toEqual([
    ['3.30', 'v3.30-v3.31'],
    ['3.31', 'v3.30-v3.31'],
    ['3.32', 'v3.32-main'],
    ['3.33', 'v3.32-main'],
    ['main', 'v3.32-main'],
  ]);
});

const everyField: TestFlow = {
  Key: {
    source_name: 'customer-6b687c8dcb-*',
    source_namespace: 'yaobank',
    source_type: ENDPOINT.wep,
    dest_name: 'pub',
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
          trigger: { kind: KIND.GlobalNetworkPolicy, tier: 'security', name: 'default-deny' },
        },
      ],
      pending_policies: [
        {
          kind: KIND.StagedNetworkPolicy,
          namespace: 'yaobank',
          name: 'yaobank-recommendation',
          tier: 'namespace-isolation',
          action: ACTION.pass,
          policy_index: 1,
          rule_index: 7,
        },
      ],
    },
  },
  start_time: 1_795_000_005,
  end_time: 1_795_000_020,
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

describe.each(Object.keys(CONTRACTS) as Contract[])('upstream %s api.proto', (contract) => {
  const theirs = upstream[contract];
  const release = releaseOf[contract];

  test('every field we declare has upstream’s number, type and label; we leave out only the filters', () => {
    for (const message of messages(ours)) {
      expect(theirs[message]).toBeDefined();
      const upstreamFields = fieldsOf(theirs, message);
      expect(fieldsOf(ours, message)).toEqual(upstreamFields.filter((f) => fieldsOf(ours, message).some((o) => o.number === f.number)));
      const missing = upstreamFields
        .filter((f) => !fieldsOf(ours, message).some((o) => o.number === f.number))
        .map((f) => `${message}.${f.name} = ${f.number}`);
      expect([message, missing]).toEqual([
        message,
        {
          'goldmane.FlowListRequest': ['goldmane.FlowListRequest.filter = 6'],
          'goldmane.FlowStreamRequest': ['goldmane.FlowStreamRequest.filter = 2'],
        }[message] ?? [],
      ]);
    }
  });

  test('every enum value upstream has, ours has, by name and number; ours adds only the other contract’s policy kinds', () => {
    for (const e of enums(ours)) {
      const upstreamValues = theirs[e]!.type.value!.map(({ name, number }) => ({ name, number }));
      const ourValues = ours[e]!.type.value!.map(({ name, number }) => ({ name, number }));
      for (const v of upstreamValues) expect(ourValues).toContainEqual(v);
      const extra = ourValues.filter((v) => !upstreamValues.some((u) => u.number === v.number));
      const expected =
        e !== 'goldmane.PolicyKind'
          ? []
          : contract === 'v3.30-v3.31'
            ? [{ name: 'ClusterNetworkPolicy', number: 11 }]
            : [
                { name: 'AdminNetworkPolicy', number: 7 },
                { name: 'BaselineAdminNetworkPolicy', number: 8 },
              ];
      expect([e, extra]).toEqual([e, expected]);
    }
  });

  test('Flows.List and Flows.Stream take and give the same messages', () => {
    for (const name of ['List', 'Stream']) {
      expect(method(ours, 'Flows', name).requestType.type.name).toBe(method(theirs, 'Flows', name).requestType.type.name);
      expect(method(ours, 'Flows', name).responseType.type.name).toBe(method(theirs, 'Flows', name).responseType.type.name);
    }
  });

  test('a FlowListResult the test server writes reads, with upstream’s types, as the flows it was given', () => {
    const bytes = encodeListResult({ totalPages: 3, totalResults: 250 }, [{ id: 42, flow: everyField }]);
    const decoded = method(theirs, 'Flows', 'List').responseDeserialize(bytes);
    const hit = (h: object, trigger: unknown = null): unknown => ({
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
    const key = everyField.Key!;
    expect(decoded).toEqual({
      meta: { totalPages: 3, totalResults: 250 },
      flows: [
        {
          id: 42,
          flow: {
            ...everyField,
            Key: {
              ...key,
              dest_namespace: '',
              policies: {
                enforced_policies: [hit(key.policies!.enforced_policies![0]!, hit(key.policies!.enforced_policies![0]!.trigger!))],
                pending_policies: [hit(key.policies!.pending_policies![0]!)],
              },
            },
          },
        },
      ],
    });
  });

  test('an upstream-encoded FlowListResult reads with ours as upstream wrote it', () => {
    const value = method(theirs, 'Flows', 'List').responseDeserialize(
      encodeListResult({ totalPages: 1, totalResults: 1 }, [{ id: 7, flow: everyField }]),
    );
    const bytes = method(theirs, 'Flows', 'List').responseSerialize(value);
    const page = splitListResult(bytes);
    expect(page.meta).toEqual({ totalPages: 1, totalResults: 1 });
    expect(flowsCodec().decodeFlowResult(page.flows[0]!)).toEqual((value['flows'] as unknown[])[0]);
  });

  test('our List and Stream requests read the same with upstream’s types and in the test server as this release', () => {
    const list = { start_time_gte: 1_795_000_005, start_time_lt: 1_795_003_605, page: 0, page_size: 10_000 };
    const listBytes = method(ours, 'Flows', 'List').requestSerialize(list);
    expect(method(theirs, 'Flows', 'List').requestDeserialize(listBytes)).toEqual({
      ...list,
      sort_by: [],
      filter: null,
      aggregation_interval: 0,
    });
    expect(decodeListRequest(listBytes, release)).toEqual({ ...list, sort_by: [], filter: null, aggregation_interval: 0 });
    const streamBytes = method(ours, 'Flows', 'Stream').requestSerialize({ start_time_gte: -3480 });
    expect(method(theirs, 'Flows', 'Stream').requestDeserialize(streamBytes)).toEqual({
      start_time_gte: -3480,
      filter: null,
      aggregation_interval: 0,
    });
    expect(decodeStreamRequest(streamBytes, release)).toEqual({ start_time_gte: -3480, filter: null, aggregation_interval: 0 });
  });

  test('a filter as this release’s clients write it is read by the test server as the release reads it', () => {
    const text = contract === 'v3.30-v3.31' ? (value: string) => value : (value: string) => ({ value, type: 0 });
    const filter = {
      source_names: [{ value: 'web', type: 1 }],
      dest_ports: [{ port: 443 }],
      actions: [ACTION.deny],
      policies: [
        {
          kind: KIND.StagedNetworkPolicy,
          tier: text('default'),
          namespace: text('shop'),
          name: text('shop-recommendation'),
          action: ACTION.deny,
        },
      ],
      ...(contract === 'v3.32-main' ? { reporter: REPORTER.dst, pending_actions: [ACTION.deny] } : {}),
    };
    const bytes = method(theirs, 'Flows', 'List').requestSerialize({ start_time_gte: 1, start_time_lt: 2, filter });
    expect(decodeListRequest(bytes, release).filter).toEqual({
      source_names: [{ value: 'web', type: 1 }],
      source_namespaces: [],
      dest_names: [],
      dest_namespaces: [],
      protocols: [],
      dest_ports: [443],
      actions: [ACTION.deny],
      policies: [
        {
          kind: KIND.StagedNetworkPolicy,
          tier: text('default'),
          namespace: text('shop'),
          name: text('shop-recommendation'),
          action: ACTION.deny,
        },
      ],
      reporter: contract === 'v3.32-main' ? REPORTER.dst : 0,
      pending_actions: contract === 'v3.32-main' ? [ACTION.deny] : [],
    });
  });

  test('a policy hit of every kind this release has reaches a FlowRecord; no kind rejects the flow', () => {
    const kinds = theirs['goldmane.PolicyKind']!.type.value!.map((v) => v.number).filter(
      (k) => k !== 0 && k !== KIND.EndOfTier && k !== KIND.Profile,
    );
    const namespaced = new Set<number>([
      KIND.CalicoNetworkPolicy,
      KIND.StagedNetworkPolicy,
      KIND.NetworkPolicy,
      KIND.StagedKubernetesNetworkPolicy,
    ]);
    const results = kinds.map((kind) => {
      const hit = { kind, tier: 'security', name: 'p', namespace: namespaced.has(kind) ? 'shop' : '', action: ACTION.deny };
      const flow = { ...everyField, Key: { ...everyField.Key, policies: { enforced_policies: [hit], pending_policies: [] } } };
      // Encoded by upstream's FlowResult (the Stream reply type), decoded by ours.
      const bytes = method(theirs, 'Flows', 'Stream').responseSerialize({ id: 1, flow });
      const record = goldmaneFlowToRecord(flowsCodec().decodeFlowResult(bytes).flow);
      return [kind, record.ok ? record.record.policies!.enforced![0]!.kind : record.reason];
    });
    expect(results).toEqual(
      contract === 'v3.30-v3.31'
        ? [
            [1, 'NetworkPolicy'],
            [2, 'GlobalNetworkPolicy'],
            [3, 'StagedNetworkPolicy'],
            [4, 'StagedGlobalNetworkPolicy'],
            [5, 'StagedKubernetesNetworkPolicy'],
            [6, 'KubernetesNetworkPolicy'],
            [7, 'Other'],
            [8, 'Other'],
          ]
        : [
            [1, 'NetworkPolicy'],
            [2, 'GlobalNetworkPolicy'],
            [3, 'StagedNetworkPolicy'],
            [4, 'StagedGlobalNetworkPolicy'],
            [5, 'StagedKubernetesNetworkPolicy'],
            [6, 'KubernetesNetworkPolicy'],
            [11, 'ClusterNetworkPolicy'],
          ],
    );
  });
});

describe('why we never send a filter: PolicyMatch changed type in 3.32, on the same field numbers', () => {
  test('a 3.32 client’s PolicyMatch, read by 3.31: the name is the StringMatch’s bytes as text', () => {
    const bytes = encodePolicyMatch('3.32', { kind: KIND.StagedNetworkPolicy, name: 'shop' });
    // FlowListRequest { 6: Filter { 8: PolicyMatch } }
    const filter = (policy: Buffer): Buffer => Buffer.concat([Buffer.from([0x32, policy.length + 2, 0x42, policy.length]), policy]);
    // Upstream 3.31 reads it so (protobufjs, as Go: a string field takes any valid UTF-8).
    const asV331 = method(upstream['v3.30-v3.31'], 'Flows', 'List').requestDeserialize(filter(bytes))['filter'] as {
      policies: { name: string }[];
    };
    expect(asV331.policies[0]!.name).toBe('\n\u0004shop');
    // The test server as 3.31 reads it the same; as 3.32 as meant.
    expect(decodeListRequest(filter(bytes), '3.31').filter!.policies[0]!.name).toBe('\n\u0004shop');
    expect(decodeListRequest(filter(bytes), '3.32').filter!.policies[0]!.name).toEqual({ value: 'shop', type: 0 });
  });

  test('a 3.31 client’s PolicyMatch, read by 3.32: the text does not parse as a StringMatch (grpc-go: INTERNAL)', () => {
    const bytes = encodePolicyMatch('3.31', { kind: KIND.StagedNetworkPolicy, name: 'shop' });
    const filter = Buffer.concat([Buffer.from([0x32, bytes.length + 2, 0x42, bytes.length]), bytes]);
    expect(decodeListRequest(filter, '3.31').filter!.policies[0]!.name).toBe('shop');
    // 's' is field 14 with wire type 3 (a group start) that never ends.
    expect(() => decodeListRequest(filter, '3.32')).toThrow('wire type 3');
  });
});
