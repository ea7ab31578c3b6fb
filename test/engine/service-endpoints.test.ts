// A workload that a record reaches through a service without naming the pod (`dest_name: "-"`,
// `dest_service_*` set) is a pod of the cluster. Calico's policies allow it by the service
// (`destination.services`, whose endpoints are those pods). The kubernetes and cilium flavours
// cannot: NetworkPolicy has no service peer (k8s.io/api networking/v1 NetworkPolicyPeer: podSelector,
// namespaceSelector, ipBlock), and Cilium's toServices applies only to services without a selector
// (cilium/cilium Documentation/security/policy/language.rst @012a3bf, "Services based": "will only
// take effect on Kubernetes services without a selector ... For services backed by pods, use
// Endpoints Based rules on the backend pod labels"; PR #25864). They used to write such a service
// as the public address ranges, which a pod's address never is: a rule that never matches, denying
// the traffic once enforced. They now learn it as the pod's namespace (src/engine/learn.ts,
// LearnContext.serviceEndpoints); a service reached at a public address stays public.

import { beforeAll, describe, expect, test } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { learn } from '../../src/engine/learn.ts';
import { evaluateCiliumFlow } from '../../src/simulate/cilium/evaluate.ts';
import { Simulator } from '../../src/simulate/evaluate.ts';
import { policySetFromTree } from '../../src/simulate/policy-set.ts';
import { ciliumPoliciesOf, config, egress, HOUR, loadTemplate, NOW, net, policyOf, run, wep } from '../support/engine.ts';

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
const PATH = 'namespace-isolation/shop.yaml';
const api = { name: 'api', namespace: 'payments' };
const carrier = { name: 'carrier', namespace: 'shop' };

/** A pod of `payments` behind its `api` service, and an external service reached at a public address. */
const records = [
  egress('shop', wep('payments', '-'), { port: 8080, service: api }),
  egress('shop', net('52.1.2.3', 'pub'), { port: 443, service: carrier }),
];

beforeAll(async () => {
  await loadTemplate();
});

describe('learning', () => {
  const ctx = { window: { from: NOW - 24 * HOUR, to: NOW }, clusterDomain: 'cluster.local', tierName: 'namespace-isolation' };

  test('a pod behind a service is the service where the flavour selects services, else its namespace', () => {
    expect(learn(records[0]!, ctx)).toMatchObject({ peers: [{ category: 'Service', ...api }] });
    expect(learn(records[0]!, { ...ctx, serviceEndpoints: false })).toMatchObject({
      peers: [{ category: 'Namespace', namespace: 'payments' }],
    });
    // A public address behind a service stays the service (public ranges where it cannot be named).
    expect(learn(records[1]!, { ...ctx, serviceEndpoints: false })).toMatchObject({ peers: [{ category: 'Service', ...carrier }] });
  });
});

describe('kubernetes flavour', () => {
  const kubernetes = config({ flavor: 'kubernetes' });

  test("the pod's namespace, not the public ranges; the public service stays public", async () => {
    const plan = await run(records, { config: kubernetes });
    expect(policyOf(plan.tree, 'shop').spec.egress).toEqual([
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'payments' } } }],
        ports: [{ protocol: 'TCP', port: 8080 }],
      },
      { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: PRIVATE } }], ports: [{ protocol: 'TCP', port: 443 }] },
    ]);
    const again = await run(records, { config: kubernetes, tree: plan.tree, now: NOW + HOUR });
    expect(again.changes.get(PATH)).toBeUndefined();
  });

  test("Calico's conversion of the policy allows the pod through its service, and not another namespace's", async () => {
    const plan = await run(records, { config: kubernetes });
    const simulator = new Simulator(policySetFromTree(plan.tree), 'staged');
    const verdict = (dest: ReturnType<typeof wep>, service: typeof api | null) =>
      simulator.evaluate({
        reporter: 'src',
        source: wep('shop'),
        dest,
        protocol: 'TCP',
        destPort: 8080,
        destService: service,
        destDomains: [],
      }).verdict;
    expect(verdict({ ...wep('payments', '-'), ip: '10.4.5.6' }, api)).toBe('allowed');
    expect(verdict({ ...wep('billing', '-'), ip: '10.4.5.7' }, { name: 'api', namespace: 'billing' })).toBe('denied');
  });
});

describe('cilium flavour', () => {
  const cilium = config({ flavor: 'cilium' });

  test("the pod's namespace (toEndpoints), not its service; Cilium's evaluator allows the pod", async () => {
    const plan = await run(records, { config: cilium });
    const spec = (parseAllDocuments(plan.tree.get(PATH)!)[0]!.toJS() as { spec: { egress: unknown[] } }).spec;
    // The external service (no pod behind it) stays toServices, Cilium's use for it.
    expect(JSON.stringify(spec.egress)).not.toContain('"serviceName":"api"');
    expect(JSON.stringify(spec.egress)).toContain('"serviceName":"carrier"');
    expect(spec.egress).toContainEqual({
      toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'payments' } }],
      toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }],
    });
    const policies = ciliumPoliciesOf(plan.tree);
    const verdict = (namespace: string) =>
      evaluateCiliumFlow(policies, {
        source: { kind: 'pod', namespace: 'shop', labels: [], ip: null },
        destination: { kind: 'pod', namespace, labels: [], ip: '10.4.5.6' },
        protocol: 'TCP',
        destPort: 8080,
        destNames: null,
        direction: 'egress',
      }).verdict;
    expect(verdict('payments')).toBe('allowed');
    expect(verdict('billing')).toBe('denied');
  });
});

describe('calico flavour', () => {
  test('still the service (destination.services), which selects its endpoints', async () => {
    const plan = await run(records, {});
    expect(policyOf(plan.tree, 'shop').spec.egress.map((r: { destination: unknown }) => r.destination)).toContainEqual({
      services: { name: 'api', namespace: 'payments' },
    });
  });
});
