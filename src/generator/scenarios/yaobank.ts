// The seeds' demo app: a three-tier bank in namespace `yaobank`, plus the noise a real cluster adds.
import { type FlowTemplate, flow, type Scenario, wep, workload } from '../scenario.ts';
import { coredns, hostEndpoint, internetClients, kubeDnsService, prometheus, publicNet } from './common.ts';

const NS = 'yaobank';

const customer = workload(NS, 'customer', ['app=customer', 'version=v1'], [{ proto: 'tcp', port: 80 }], '/usr/local/bin/python3');
const summary = workload(NS, 'summary', ['app=summary'], [{ proto: 'tcp', port: 8080 }], '/usr/local/bin/python3');
const database = workload(NS, 'database', ['app=database'], [{ proto: 'tcp', port: 2379 }], '/usr/local/bin/etcd');

const nodes = ['worker-1', 'worker-2', 'worker-3'];

export function yaobankScenario(): Scenario {
  const [c, s, d, dns] = [wep(customer), wep(summary), wep(database), wep(coredns)];
  const internet = publicNet(internetClients);
  const flows: FlowTemplate[] = [
    // --- Learned: allowed by the yaobank / kube-system namespace profiles.
    flow(internet, c, 'tcp', 80, 10),
    flow(c, s, 'tcp', 8080, 20, { service: { name: 'summary', namespace: NS, portName: 'http', port: 80 } }),
    flow(s, d, 'tcp', 2379, 20, { service: { name: 'database', namespace: NS, portName: 'etcd', port: 2379 } }),
    flow(c, dns, 'udp', 53, 8, { service: kubeDnsService('udp') }),
    flow(s, dns, 'udp', 53, 8, { service: kubeDnsService('udp') }),
    flow(d, dns, 'udp', 53, 4, { service: kubeDnsService('udp') }),
    // Large DNS answers fall back to TCP now and then.
    flow(c, dns, 'tcp', 53, 0.5, { service: kubeDnsService('tcp') }),
    flow(s, dns, 'tcp', 53, 0.5, { service: kubeDnsService('tcp') }),
    // Payment provider and a status page, known by name through DNS policy / domain tracking.
    flow(c, publicNet(['54.187.174.169', '54.187.205.235', '54.241.31.99']), 'tcp', 443, 4, { domains: ['api.stripe.com'] }),
    flow(c, publicNet(['93.184.215.14']), 'tcp', 443, 2, { domains: ['www.example.com'] }),
    // Same port, but the IP was never resolved through DNS, so no domain is known.
    flow(c, publicNet(['151.101.1.69', '151.101.65.69']), 'tcp', 443, 1),
    // No `policies` field (older Felix, or tracing off) on an edge listed above: still learned,
    // and must not add a rule of its own.
    flow(c, s, 'tcp', 8080, 0.3, { trace: { kind: 'absent' }, service: { name: 'summary', namespace: NS, portName: 'http', port: 80 } }),
    flow(s, d, 'tcp', 2379, 0.3, { trace: { kind: 'absent' } }),

    // --- Noise: NOT learned.
    // Denied: a security-tier policy decided, not the profile; learning it would open the database.
    flow(internet, d, 'tcp', 2379, 2, { action: 'deny', trace: { kind: 'hit', hit: '0|security|security.block-public-db|deny|0' } }),
    // Allowed by a higher tier (platform team's Prometheus rule): that tier already owns this
    // traffic, and a namespace rule for it would conflict with it.
    ...[c, s, d].map((e) =>
      flow(wep(prometheus), e, 'tcp', 9100, 3, { trace: { kind: 'hit', hit: '0|platform|platform.allow-prometheus|allow|0' } }),
    ),
    // Host endpoint (kubelet liveness/readiness probes): host traffic is skipped by the engine.
    flow(hostEndpoint('worker-1', '10.0.1.31'), c, 'tcp', 80, 2, { reporters: ['dst'] }),
    flow(hostEndpoint('worker-2', '10.0.1.32'), s, 'tcp', 8080, 2, { reporters: ['dst'] }),
  ];
  return { name: 'yaobank', workloads: [customer, summary, database, coredns, prometheus], flows, nodes };
}
