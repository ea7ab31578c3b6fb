// One composite bucket of Calico Enterprise's flow index -> FlowRecord, held to the rules of a
// flow-log line (test/flows/calico-flow-log.test.ts): the reporter values and protocols the docs'
// "Flow log data types" page (tigera/docs calico-enterprise/observability/elastic/flow/datatypes.mdx)
// lists, and trace entries of every Felix release.

import { describe, expect, test } from '@jest/globals';
import type { FlowRecord } from '../../../src/flows/record.ts';
import { type BucketResult, parseBucket } from '../../../src/flows/sources/elasticsearch/bucket.ts';
import { type BucketKey, bucket, bucketKey, traceKey } from './es-fixtures.ts';

const parse = (changes: BucketKey): BucketResult => parseBucket(bucket(bucketKey('shop', changes)));

function record(result: BucketResult): FlowRecord {
  if (!result.ok) throw new Error(`expected a record, got "${result.reason}"`);
  return result.record;
}

describe('reporter', () => {
  test.each<[string, 'src' | 'dst']>([
    ['src', 'src'],
    ['dst', 'dst'],
    ['dst, fwd', 'dst'],
  ])('%p -> %p', (reporter, expected) => {
    const changes: BucketKey =
      expected === 'dst'
        ? {
            reporter,
            source_type: 'net',
            source_namespace: '-',
            source_name_aggr: 'pub',
            dest_type: 'wep',
            dest_namespace: 'shop',
            dest_name_aggr: 'web-*',
          }
        : { reporter };
    expect(record(parse(changes)).reporter).toBe(expected);
  });

  test("a forwarding node's report: well formed, nothing to learn", () => {
    expect(parse({ reporter: 'fwd' })).toEqual({ ok: false, reason: expect.stringMatching(/^reporter fwd \(/), nothingToLearn: true });
  });

  test('anything else is invalid', () => {
    for (const reporter of ['both', 'src, dst', 'FWD', '']) expect(parse({ reporter })).toEqual({ ok: false, reason: 'invalid reporter' });
  });
});

describe('protocols as Felix names them (felix/collector/utils/utils.go, release-v3.30 to HEAD)', () => {
  test.each<[string | number, FlowRecord['protocol']]>([
    ['tcp', 'TCP'],
    ['udp', 'UDP'],
    ['icmp', 'ICMP'],
    ['icmp6', 'ICMPv6'],
    ['sctp', 'SCTP'],
    ['ipip', 4],
    ['esp', 50],
    ['47', 47],
    [47, 47],
  ])('%p', (proto, expected) => {
    expect(record(parse({ proto, dest_port: null })).protocol).toBe(expected);
  });

  test('protocol 0: well formed, nothing to learn', () => {
    expect(parse({ proto: '0' })).toEqual({ ok: false, reason: 'proto 0 (no Calico rule can match IP protocol 0)', nothingToLearn: true });
    // Malformed first: a broken bucket with protocol 0 is malformed.
    expect(parse({ proto: '0', source_namespace: '../x' })).toEqual({ ok: false, reason: 'invalid source_namespace' });
  });
});

describe('trace entries of every release', () => {
  test('3.31 and 3.32+ names of one policy read the same', () => {
    const older = record(parse({ policies: traceKey({ pending: ['0|security|security.staged:quarantine|deny|0'] }) }));
    const newer = record(parse({ policies: traceKey({ pending: ['0|security|sgnp:quarantine|deny|0'] }) }));
    expect(newer.policies).toEqual(older.policies);
    expect(newer.policies!.pending).toEqual([
      { index: 0, tier: 'security', kind: 'StagedGlobalNetworkPolicy', namespace: null, name: 'quarantine', action: 'deny', ruleIndex: 0 },
    ]);
  });
});
