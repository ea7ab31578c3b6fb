// Hubble's jsonpb lines in the file source (src/flows/sources/file-source.ts with
// hubble/jsonpb-line.ts): recognised per line among Calico's, plain and gzipped, with both Calico
// parsers (the fast path and the reference), every skip located by file and line.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from '@jest/globals';
import { FileFlowSource } from '../../../src/flows/sources/file-source.ts';
import { exampleAt, readRecords, withTempDir } from '../fixtures.ts';

const T = 1597166083;
const rfc3339 = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', '.123456789Z');

/** `hubble observe -o jsonpb`: one GetFlowsResponse per line (an egress TCP flow to policy-demo/nginx:80). */
function hubbleLine(t: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    flow: {
      time: rfc3339(t),
      uuid: `0598f6e1-4542-494c-a061-${String(t).padStart(12, '0')}`,
      verdict: 'FORWARDED',
      IP: { source: '10.42.0.19', destination: '10.42.0.253', ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 49390, destination_port: 80, flags: { SYN: true } } },
      source: {
        ID: 3202,
        identity: 32753,
        namespace: 'policy-demo',
        labels: ['k8s:app=access', 'k8s:io.kubernetes.pod.namespace=policy-demo'],
        pod_name: 'access-6b687c8dcb-zn5s2',
        workloads: [{ name: 'access', kind: 'Deployment' }],
      },
      destination: { ID: 1, identity: 45219, namespace: 'policy-demo', labels: ['k8s:app=nginx'], pod_name: 'nginx-86c57db685-x7k2p' },
      Type: 'L3_L4',
      node_name: 'k3s',
      event_type: { type: 4 },
      traffic_direction: 'EGRESS',
      is_reply: false,
      ...extra,
    },
    node_name: 'k3s',
    time: rfc3339(t),
  });
}

describe.each(['fast', 'reference'] as const)('the file source (%s Calico parser)', (parser) => {
  test.each([false, true])('reads Hubble and Calico lines side by side (gzip: %s)', async (gzip) => {
    await withTempDir(async (dir) => {
      const lines = [
        hubbleLine(T),
        exampleAt(T),
        '{"node_status":{"state_change":"NODE_CONNECTED","node_names":["k3s"]},"node_name":"relay"}',
        hubbleLine(T + 1, { verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED' }),
        '{"flow":{"time":"not a time","verdict":"FORWARDED"}}',
        exampleAt(T + 2),
        hubbleLine(T + 3),
      ];
      const text = `${lines.join('\n')}\n`;
      const path = join(dir, gzip ? 'flows.json.gz' : 'flows.json');
      await writeFile(path, gzip ? gzipSync(text) : text);
      const source = await FileFlowSource.open([path], { parser });
      const records = await readRecords(source, { from: 0, to: 2e9 });
      expect(records.map((r) => [r.startTime, r.reporter, r.source.name, r.dest.name])).toEqual([
        [T, 'src', 'access-6b687c8dcb-*', 'nginx-86c57db685-*'],
        [T, 'dst', 'access-6b687c8dcb-*', 'nginx-86c57db685-*'],
        [T + 2, 'dst', 'access-6b687c8dcb-*', 'nginx-86c57db685-*'],
        [T + 3, 'src', 'access-6b687c8dcb-*', 'nginx-86c57db685-*'],
      ]);
      expect(source.inputsRead).toBe(7);
      expect(source.skipped.summary().examples).toEqual([{ location: `${path}:5`, reason: 'invalid time' }]);
      expect(source.unlearnable.summary().examples.map((e) => e.location)).toEqual([`${path}:3`, `${path}:4`]);
    });
  });
});
