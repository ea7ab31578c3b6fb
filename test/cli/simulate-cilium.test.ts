// `policy-recommender simulate` with a directory of Cilium policies and Hubble's jsonpb lines
// (`hubble observe -o jsonpb`; flow.proto of Cilium v1.19.4): the Cilium evaluator decides each
// flow at the end that reported it, through the same report as Calico's.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { cli, tableRows } from '../support/cli.ts';

const NOW = '2026-12-06T13:00:00Z';

const pod = (namespace: string, app: string, podName: string) => ({
  identity: 40000 + app.length,
  namespace,
  labels: [`k8s:app=${app}`, `k8s:io.kubernetes.pod.namespace=${namespace}`],
  pod_name: podName,
  workloads: [{ name: app, kind: 'Deployment' }],
});
const web = pod('shop', 'web', 'web-6b687c8dcb-zn5s2');
const batch = pod('shop', 'batch', 'batch-7c9d8f6b5-x7k2p');
const postgres = pod('db', 'postgres', 'postgres-5d7f9c8b6-q4w8r');

function line(second: number, source: object, destination: object, direction: 'EGRESS' | 'INGRESS', port = 5432): string {
  return JSON.stringify({
    flow: {
      time: `2026-12-06T12:00:${String(second).padStart(2, '0')}.000000001Z`,
      verdict: 'FORWARDED',
      IP: { source: '10.0.1.5', destination: '10.0.2.7', ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 40000 + second, destination_port: port, flags: { SYN: true } } },
      source,
      destination,
      Type: 'L3_L4',
      traffic_direction: direction,
      is_reply: false,
    },
    node_name: 'node-1',
  });
}

const POLICY = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: postgres-ingress
  namespace: db
spec:
  endpointSelector:
    matchLabels: { app: postgres }
  ingress:
    - fromEndpoints:
        - matchLabels: { app: web, k8s:io.kubernetes.pod.namespace: shop }
      toPorts:
        - ports: [{ port: "5432", protocol: TCP }]
`;

let dir: string;
const simulate = () => cli('simulate', '--flows', join(dir, 'flows.json'), '--policies', join(dir, 'policies'), '--now', NOW);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'policy-recommender-simulate-cilium-'));
  await mkdir(join(dir, 'policies'));
  await writeFile(join(dir, 'policies', 'db.yaml'), POLICY);
  const lines = [
    line(1, web, postgres, 'EGRESS'),
    line(1, web, postgres, 'INGRESS'),
    line(2, web, postgres, 'INGRESS'),
    line(3, batch, postgres, 'INGRESS'),
  ];
  await writeFile(join(dir, 'flows.json'), `${lines.join('\n')}\n`);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('policy-recommender simulate with Cilium policies', () => {
  test('decides each Hubble flow at its reporting end, by the Cilium policy that selects it', async () => {
    const { code, stdout, stderr } = await simulate();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(
      `against 1 Cilium policy in ${join(dir, 'policies')}, as Cilium enforces them, at the end that reported each flow.`,
    );
    expect(tableRows(stdout)).toEqual([
      ['denied', 'ingress', 'db/postgres-5d7f9c8b6-*', 'shop/batch-7c9d8f6b5-*', 'TCP', '5432', '1', 'db/postgres-ingress Deny'],
      ['allowed', 'ingress', 'db/postgres-5d7f9c8b6-*', 'shop/web-6b687c8dcb-*', 'TCP', '5432', '2', 'db/postgres-ingress Allow'],
      [
        'allowed',
        'egress',
        'shop/web-6b687c8dcb-*',
        'db/postgres-5d7f9c8b6-*',
        'TCP',
        '5432',
        '1',
        'no policy selects the source for egress: Allow',
      ],
    ]);
  });

  test('an invalid Cilium policy is a skipped object, named with its path', async () => {
    await writeFile(join(dir, 'policies', 'broken.yaml'), POLICY.replace('postgres-ingress', 'broken').replace('"5432"', '"70000"'));
    const { code, stdout } = await simulate();
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /Skipped objects \(1\):\n {2}broken\.yaml: CiliumNetworkPolicy db\/broken: spec\.ingress\.0\.toPorts\.0\.ports\.0\.port: .+/,
    );
    expect(stdout).toContain('against 1 Cilium policy');
  });

  test('Kubernetes NetworkPolicies beside Cilium policies are decided as Cilium enforces them', async () => {
    // Cilium's ParseNetworkPolicy (pkg/k8s/network_policy.go): an empty namespaceSelector is every
    // namespace; the allow rules of both kinds are one union at the selected pod.
    await writeFile(
      join(dir, 'policies', 'k8s.yaml'),
      [
        'apiVersion: networking.k8s.io/v1',
        'kind: NetworkPolicy',
        'metadata: { name: allow-batch, namespace: db }',
        'spec:',
        '  podSelector: { matchLabels: { app: postgres } }',
        '  ingress:',
        '    - from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: batch } } }]',
        '      ports: [{ port: 5432 }]',
        '',
      ].join('\n'),
    );
    const { code, stdout, stderr } = await simulate();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('against 2 Cilium policies');
    expect(tableRows(stdout).filter((row) => row[3] === 'shop/batch-7c9d8f6b5-*')).toEqual([
      [
        'allowed',
        'ingress',
        'db/postgres-5d7f9c8b6-*',
        'shop/batch-7c9d8f6b5-*',
        'TCP',
        '5432',
        '1',
        'db/allow-batch (NetworkPolicy) Allow',
      ],
    ]);
  });

  test('Cilium policies beside Calico policies are refused: one CNI at a time', async () => {
    await writeFile(
      join(dir, 'policies', 'calico.yaml'),
      'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: { name: deny-all, namespace: db }\nspec: { selector: all() }\n',
    );
    const { code, stderr } = await simulate();
    expect(code).toBe(1);
    expect(stderr).toContain('holds Cilium policies and 1 Calico policy (NetworkPolicy db/deny-all): simulate one CNI at a time');
  });
});
