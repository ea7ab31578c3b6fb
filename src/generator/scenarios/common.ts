// Endpoints every scenario's cluster has: CoreDNS, Prometheus, nodes and the internet.
import { type Endpoint, type ServiceRef, type Workload, workload } from '../scenario.ts';

export const coredns: Workload = workload(
  'kube-system',
  'coredns',
  ['k8s-app=kube-dns'],
  [
    { proto: 'udp', port: 53 },
    { proto: 'tcp', port: 53 },
  ],
  '/coredns',
);

export const kubeDnsService = (proto: 'udp' | 'tcp'): ServiceRef => ({
  name: 'kube-dns',
  namespace: 'kube-system',
  portName: proto === 'udp' ? 'dns' : 'dns-tcp',
  port: 53,
});

export const prometheus: Workload = workload(
  'monitoring',
  'prometheus-k8s',
  ['app.kubernetes.io/name=prometheus', 'app.kubernetes.io/instance=k8s', 'prometheus=k8s'],
  [{ proto: 'tcp', port: 9090 }],
  '/bin/prometheus',
  'StatefulSet',
);

/** A node's automatic host endpoint (kubelet probes and host-networked agents come from here). */
export function hostEndpoint(node: string, ip: string): Endpoint {
  return {
    type: 'hep',
    name: `${node}-auto-hep`,
    node,
    labels: [`kubernetes.io/hostname=${node}`, 'kubernetes.io/os=linux', 'projectcalico.org/created-by=calico-kube-controllers'],
    ips: [ip],
  };
}

export const publicNet = (ips: readonly string[]): Endpoint => ({ type: 'net', name: 'pub', ips });
export const privateNet = (ips: readonly string[]): Endpoint => ({ type: 'net', name: 'pvt', ips });

/** Clients on the internet: a fixed pool, so IPs look real but stay deterministic. */
export const internetClients: readonly string[] = [
  '81.2.69.142',
  '175.45.176.3',
  '89.160.20.112',
  '216.160.83.57',
  '67.43.156.12',
  '2.125.160.216',
  '149.101.100.7',
  '202.196.224.9',
  '186.28.170.4',
  '91.198.174.192',
  '12.87.118.40',
  '5.188.10.77',
  '104.28.41.9',
  '185.199.110.153',
  '41.216.186.24',
];
