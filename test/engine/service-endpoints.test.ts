// A workload that a record reaches through a service without naming the pod (`dest_name: "-"`,
// `dest_service_*` set) is a pod of the cluster. Calico's policies allow it by the service
// (`destination.services`, whose endpoints are those pods), and so do Cilium's from 1.17
// (toServices: the agent turns a service with a selector into generated toEndpoints,
// pkg/policy/api/selector.go EndpointSelector.Generated and rule_validation.go
// countNonGeneratedEndpoints in the Cilium 1.17.0-pre vendored by cilium-cli v0.18.0). Kubernetes
// policy cannot (k8s.io/api networking/v1 NetworkPolicyPeer: podSelector, namespaceSelector,
// ipBlock): the kubernetes flavour used to write such a service as the public address ranges,
// which a pod's address never is, a rule that never matches and so denied the traffic once
// enforced. It now learns it as the pod's namespace (src/engine/learn.ts,
// LearnContext.serviceEndpoints); a service reached at a public address stays public.

import { beforeAll, describe, expect, test } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { learn } from '../../src/engine/learn.ts';
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
    expect(learn(records[0]!, { ...ctx, serviceEndpoints: true })).toMatchObject({ peers: [{ category: 'Service', ...api }] });
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
  test('still the service (toServices, with its ports), which Cilium 1.17 and later resolve to its pods', async () => {
    const plan = await run(records, { config: config({ flavor: 'cilium' }) });
    const spec = (parseAllDocuments(plan.tree.get(PATH)!)[0]!.toJS() as { spec: { egress: unknown[] } }).spec;
    expect(spec.egress).toContainEqual({
      toServices: [{ k8sService: { serviceName: 'api', namespace: 'payments' } }],
      toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }],
    });
    expect(ciliumPoliciesOf(plan.tree).length).toBeGreaterThan(0);
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
