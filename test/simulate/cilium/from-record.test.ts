// Flow records (from Hubble events, through the Hubble normalisation) decided by the Cilium
// evaluator at the end that reported them: src/simulate/cilium/from-record.ts and simulator.ts.
// Events are shaped as Cilium's api/v1/flow/flow.proto (v1.19.4) prints them in jsonpb; policy
// semantics as cited in src/simulate/cilium/ and /work/notes/cilium-semantics.md.

import { describe, expect, test } from '@jest/globals';
import type { FlowRecord } from '../../../src/flows/record.ts';
import { hubbleEventToRecord } from '../../../src/flows/sources/hubble/to-record.ts';
import { ciliumFlowOf } from '../../../src/simulate/cilium/from-record.ts';
import { CiliumSimulator } from '../../../src/simulate/cilium/simulator.ts';
import { policies } from './support.ts';

const client = {
  identity: 32753,
  namespace: 'shop',
  labels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=shop', 'k8s:io.cilium.k8s.namespace.labels.team=payments'],
  pod_name: 'web-6b687c8dcb-zn5s2',
  workloads: [{ name: 'web', kind: 'Deployment' }],
};
const server = {
  identity: 45219,
  namespace: 'db',
  labels: ['k8s:app=postgres', 'k8s:io.kubernetes.pod.namespace=db'],
  pod_name: 'postgres-0',
  workloads: [{ name: 'postgres', kind: 'StatefulSet' }],
};

function record(flow: Record<string, unknown>): FlowRecord {
  const result = hubbleEventToRecord({
    flow: {
      time: '2026-12-06T12:00:00.000000001Z',
      verdict: 'FORWARDED',
      IP: { source: '10.0.1.5', destination: '10.0.2.7', ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 40000, destination_port: 5432, flags: { SYN: true } } },
      source: client,
      destination: server,
      Type: 'L3_L4',
      traffic_direction: 'EGRESS',
      is_reply: false,
      ...flow,
    },
  });
  if (!result.ok) throw new Error(JSON.stringify(result));
  return result.record;
}

const DB_INGRESS = policies(
  `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: postgres-ingress, namespace: db }
spec:
  endpointSelector: { matchLabels: { app: postgres } }
  ingress:
    - fromEndpoints: [{ matchLabels: { app: web, k8s:io.kubernetes.pod.namespace: shop } }]
      toPorts: [{ ports: [{ port: "5432", protocol: TCP }] }]
`,
  'db',
);

describe('a flow record as the Cilium evaluator reads it', () => {
  test('the reporting end decides: an EGRESS event is the source’s egress, an INGRESS event the destination’s ingress', () => {
    expect(ciliumFlowOf(record({})).direction).toBe('egress');
    expect(ciliumFlowOf(record({ traffic_direction: 'INGRESS' })).direction).toBe('ingress');
  });

  test('a pod keeps its Kubernetes labels; the namespace is its own field', () => {
    const flow = ciliumFlowOf(record({}));
    expect(flow.source).toMatchObject({ kind: 'pod', namespace: 'shop', labels: [{ source: 'k8s', key: 'app', value: 'web' }] });
    expect(flow.destPort).toBe(5432);
    expect(flow.protocol).toBe('TCP');
  });

  test('ingress allowed by the rule that names the client; another client is denied (default deny once selected)', () => {
    const sim = new CiliumSimulator(DB_INGRESS);
    const allowed = sim.evaluate(record({ traffic_direction: 'INGRESS' }));
    expect(allowed).toMatchObject({ verdict: 'allowed', direction: 'ingress' });
    expect(allowed.decisions).toEqual([
      { by: 'cilium', action: 'Allow', policies: ['db/postgres-ingress'], reason: 'allowed by postgres-ingress' },
    ]);
    const other = {
      ...client,
      labels: ['k8s:app=batch'],
      pod_name: 'batch-7c9d8f6b5-abcde',
      workloads: [{ name: 'batch', kind: 'Deployment' }],
    };
    const denied = sim.evaluate(record({ traffic_direction: 'INGRESS', source: other }));
    expect(denied.verdict).toBe('denied');
    expect(denied.decisions[0]).toMatchObject({ action: 'Deny', policies: ['db/postgres-ingress'] });
  });

  test('the egress end of the same flow is not selected by the ingress policy: allowed, no policy applies', () => {
    const verdict = new CiliumSimulator(DB_INGRESS).evaluate(record({}));
    expect(verdict.verdict).toBe('allowed');
    expect(verdict.decisions[0]).toMatchObject({ action: 'Allow', policies: [], reason: 'no policy selects the source for egress' });
  });

  test('a selector on labels Cilium adds (namespace labels) is unknown from a record, never a certain no', () => {
    // Records strip io.cilium.k8s.namespace.labels.* (to-record.ts); the pod may carry team=payments.
    const byTeam = policies(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: from-payments, namespace: db }
spec:
  endpointSelector: {}
  ingress:
    - fromEndpoints: [{ matchLabels: { k8s:io.cilium.k8s.namespace.labels.team: payments, k8s:io.kubernetes.pod.namespace: shop } }]
`,
      'db',
    );
    const verdict = new CiliumSimulator(byTeam).evaluate(record({ traffic_direction: 'INGRESS' }));
    expect(verdict.verdict).toBe('indeterminate');
    expect(verdict.unknowns.join('\n')).toMatch(/from-payments/);
    // A key the record does carry in full is decided: app=web is not app=batch.
    const byApp = policies(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: from-batch, namespace: db }
spec:
  endpointSelector: {}
  ingress:
    - fromEndpoints: [{ matchLabels: { app: batch, k8s:io.kubernetes.pod.namespace: shop } }]
`,
      'db',
    );
    expect(new CiliumSimulator(byApp).evaluate(record({ traffic_direction: 'INGRESS' })).verdict).toBe('denied');
  });

  test('egress to a name: toFQDNs decides by the names the source resolved (destination_names)', () => {
    const fqdn = policies(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: to-stripe, namespace: shop }
spec:
  endpointSelector: { matchLabels: { app: web } }
  egress:
    - toFQDNs: [{ matchName: api.stripe.com }]
      toPorts: [{ ports: [{ port: "443", protocol: TCP }] }]
`,
      'shop',
    );
    const out = (names: string[] | undefined) =>
      record({
        IP: { source: '10.0.1.5', destination: '52.1.2.3', ipVersion: 'IPv4' },
        l4: { TCP: { source_port: 40000, destination_port: 443 } },
        destination: { identity: 16777217, labels: ['reserved:world'] },
        ...(names ? { destination_names: names } : {}),
      });
    const sim = new CiliumSimulator(fqdn);
    expect(sim.evaluate(out(['api.stripe.com'])).verdict).toBe('allowed');
    expect(sim.evaluate(out(['evil.example.com'])).verdict).toBe('denied');
    // Without names the record cannot tell (Cilium learns names per node): not a certain denial.
    expect(sim.evaluate(out(undefined)).verdict).toBe('indeterminate');
  });

  test('entities: traffic to the API server is decided by toEntities kube-apiserver', () => {
    const api = policies(
      `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: to-apiserver, namespace: shop }
spec:
  endpointSelector: {}
  egress:
    - toEntities: [kube-apiserver]
`,
      'shop',
    );
    const toApi = record({
      IP: { source: '10.0.1.5', destination: '172.18.0.2', ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 40000, destination_port: 6443 } },
      destination: { identity: 7, labels: ['reserved:kube-apiserver', 'reserved:remote-node'] },
    });
    expect(ciliumFlowOf(toApi).destination).toMatchObject({ kind: 'entity', entity: 'kube-apiserver' });
    expect(new CiliumSimulator(api).evaluate(toApi).verdict).toBe('allowed');
    expect(new CiliumSimulator(api).evaluate(record({})).verdict).toBe('denied');
  });
});
