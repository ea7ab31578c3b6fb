// A hub namespace (issue 14): one namespace that `peers` namespaces call, and that calls each of
// them back, as a shared platform service (an API gateway, a message bus) does in a large cluster.
// Its ingress and egress policies each hold a rule per peer namespace, so the cost of merging and
// rendering one namespace's many rules shows (bench/scale.ts, the `peers` axis). Every peer
// namespace has one client workload, which resolves DNS through CoreDNS and calls the hub's API;
// the hub's gateway calls each client on its port.
import { type FlowTemplate, flow, type Scenario, type Workload, wep, workload } from '../scenario.ts';
import { coredns, kubeDnsService } from './common.ts';
import { SCALE_LIMITS } from './scale.ts';

export const HUB_NAMESPACE = 'platform-hub';

function helmLabels(namespace: string, name: string, component: string): string[] {
  return [
    `app.kubernetes.io/name=${name}`,
    `app.kubernetes.io/instance=${namespace}-${name}`,
    `app.kubernetes.io/component=${component}`,
    `app.kubernetes.io/part-of=${namespace}`,
    'app.kubernetes.io/managed-by=Helm',
  ];
}

export function hubScenario(peers: number): Scenario {
  if (!Number.isSafeInteger(peers) || peers < 1 || peers > SCALE_LIMITS.namespaces)
    throw new RangeError(`namespaces must be an integer in [1, ${SCALE_LIMITS.namespaces}], got ${peers}`);
  const api = workload(HUB_NAMESPACE, 'api', helmLabels(HUB_NAMESPACE, 'api', 'api'), [{ proto: 'tcp', port: 8000 }], '/app/api');
  const gateway = workload(
    HUB_NAMESPACE,
    'gateway',
    helmLabels(HUB_NAMESPACE, 'gateway', 'gateway'),
    [{ proto: 'tcp', port: 8443 }],
    '/usr/local/bin/envoy',
  );
  const clients: Workload[] = [];
  for (let i = 0; i < peers; i++) {
    const namespace = `peer-${String(i + 1).padStart(5, '0')}`;
    clients.push(workload(namespace, 'client', helmLabels(namespace, 'client', 'client'), [{ proto: 'tcp', port: 8080 }], '/app/client'));
  }
  const dns = wep(coredns);
  const flows: FlowTemplate[] = [];
  for (const w of [api, gateway, ...clients]) flows.push(flow(wep(w), dns, 'udp', 53, 1, { service: kubeDnsService('udp') }));
  for (const c of clients) {
    flows.push(flow(wep(c), wep(api), 'tcp', 8000, 4));
    flows.push(flow(wep(gateway), wep(c), 'tcp', 8080, 1));
  }
  return {
    name: 'hub',
    workloads: [api, gateway, ...clients, coredns],
    flows,
    nodes: Array.from({ length: 6 }, (_, k) => `ip-10-1-${k}-7.ec2.internal`),
  };
}
