// A larger cluster: N application namespaces of 2-5 workloads calling each other, every remote
// category the recommender knows, and the noise (denied, higher-tier, staged, host, system) it must skip.
// The shape depends only on `namespaces` (a fixed internal seed), never on the generator's seed.

import { createRandom, hashString } from '../random.ts';
import { type Endpoint, type FlowTemplate, flow, type Scenario, type Workload, wep, workload } from '../scenario.ts';
import { coredns, hostEndpoint, internetClients, kubeDnsService, privateNet, prometheus, publicNet } from './common.ts';

export const DEFAULT_NAMESPACES = 12;

const NAMED = ['shop-frontend', 'payments', 'catalog', 'orders', 'inventory', 'shipping', 'accounts', 'notifications'];

export function namespaceName(i: number): string {
  return NAMED[i] ?? `team-${String(i + 1).padStart(2, '0')}`;
}

interface Role {
  readonly name: string;
  readonly tier: string;
  readonly port: number;
  readonly process: string;
}

const ROLES: readonly Role[] = [
  { name: 'frontend', tier: 'web', port: 8080, process: '/usr/local/bin/node' },
  { name: 'api', tier: 'backend', port: 8000, process: '/usr/local/bin/gunicorn' },
  { name: 'worker', tier: 'backend', port: 50051, process: '/app/worker' },
  { name: 'cache', tier: 'data', port: 6379, process: '/usr/local/bin/redis-server' },
  { name: 'db', tier: 'data', port: 5432, process: '/usr/lib/postgresql/16/bin/postgres' },
  { name: 'queue', tier: 'data', port: 5672, process: '/usr/local/lib/erlang/erts-14.2/bin/beam.smp' },
];

const role = (name: string): Role => ROLES.find((r) => r.name === name) as Role;

/** Workloads of namespace i: an entry point, a backend, then 0-3 more; fixed per index. */
function namespaceWorkloads(i: number): Workload[] {
  const ns = namespaceName(i);
  const rng = createRandom(hashString(`multi-namespace/${ns}`));
  const count = rng.range(2, 5);
  const entry = i % 3 === 0 ? role('frontend') : role('api');
  const second = entry.name === 'api' ? role('worker') : role('api');
  const rest = ROLES.filter((r) => r !== entry && r !== second);
  for (let k = rest.length - 1; k > 0; k--) {
    const j = rng.int(k + 1);
    [rest[k], rest[j]] = [rest[j] as Role, rest[k] as Role];
  }
  return [entry, second, ...rest.slice(0, count - 2)].map((r) =>
    workload(ns, r.name, [`app=${r.name}`, `tier=${r.tier}`], [{ proto: 'tcp', port: r.port }], r.process),
  );
}

const portOf = (w: Workload): number => w.ports[0]?.port ?? 80;

const nodes = Array.from({ length: 6 }, (_, k) => `ip-10-0-${1 + (k >> 1)}-${20 + k}.ec2.internal`);

const DOMAINS: readonly (readonly string[])[] = [
  ['api.github.com'],
  ['hooks.slack.com'],
  ['s3.eu-west-1.amazonaws.com'],
  ['oauth2.googleapis.com', 'www.googleapis.com'],
  ['api.sendgrid.com'],
  ['registry.npmjs.org'],
];

const hit = (h: string) => ({ kind: 'hit', hit: h }) as const;

export function multiNamespaceScenario(namespaces = DEFAULT_NAMESPACES): Scenario {
  if (!Number.isInteger(namespaces) || namespaces < 1 || namespaces > 500) {
    throw new RangeError(`namespaces must be an integer in [1, 500], got ${namespaces}`);
  }
  const N = namespaces;
  const apps = Array.from({ length: N }, (_, i) => namespaceWorkloads(i));
  // Index helpers: a feature placed at namespace `k % N` exists for every N.
  const at = (k: number): Workload[] => apps[k % N] as Workload[];
  const entry = (k: number): Workload => at(k)[0] as Workload;
  const backend = (k: number): Workload => at(k)[1] as Workload;

  const metricsServer = workload(
    'kube-system',
    'metrics-server',
    ['k8s-app=metrics-server'],
    [{ proto: 'tcp', port: 10250 }],
    '/metrics-server',
  );
  const kubeControllers = workload(
    'calico-system',
    'calico-kube-controllers',
    ['k8s-app=calico-kube-controllers'],
    [{ proto: 'tcp', port: 9094 }],
    '/usr/bin/kube-controllers',
  );
  const dns = wep(coredns);
  const globalSet: Endpoint = {
    type: 'ns',
    name: 'corp-saas',
    namespace: '-',
    labels: ['kind=saas', 'owner=it'],
    ips: ['20.190.128.10', '40.126.32.74'],
  };
  const heps = nodes.map((n, k) => hostEndpoint(n, `10.0.${1 + (k >> 1)}.${20 + k}`));

  const flows: FlowTemplate[] = [];
  const add = (...f: FlowTemplate[]): void => void flows.push(...f);

  for (let i = 0; i < N; i++) {
    const ws = apps[i] as Workload[];
    const ns = namespaceName(i);
    const [e, b] = [ws[0] as Workload, ws[1] as Workload];

    // --- Learned: allowed by the namespace profiles.
    add(flow(wep(e), wep(b), 'tcp', portOf(b), 10));
    for (const w of ws.slice(2)) add(flow(wep(b), wep(w), 'tcp', portOf(w), 6));
    for (const w of ws) add(flow(wep(w), dns, 'udp', 53, 4, { service: kubeDnsService('udp') }));
    if (i % 4 === 0) add(flow(wep(e), dns, 'tcp', 53, 0.4, { service: kubeDnsService('tcp') }));
    if (N > 1) {
      const next = entry(i + 1);
      add(
        flow(wep(b), wep(next), 'tcp', portOf(next), 5, {
          service: { name: next.name, namespace: next.namespace, portName: 'http', port: 80 },
        }),
      );
      const far = backend(i + 5);
      if (i % 2 === 0 && far.namespace !== ns) add(flow(wep(e), wep(far), 'tcp', portOf(far), 2));
    }
    if (i % 3 === 1) {
      // A namespaced NetworkSet of partner endpoints.
      const set: Endpoint = {
        type: 'ns',
        name: 'partner-apis',
        namespace: ns,
        labels: ['kind=partner'],
        ips: [`52.95.${110 + (i % 40)}.21`, `52.95.${110 + (i % 40)}.87`],
      };
      add(flow(wep(b), set, 'tcp', 443, 3));
    }
    if (i % 4 === 2) add(flow(wep(b), globalSet, 'tcp', 443, 2));
    if (i % 3 === 2) add(flow(wep(b), privateNet(['10.20.0.5']), 'tcp', 5432, 3));
    if (i % 2 === 1) {
      add(
        flow(wep(b), publicNet(['140.82.121.5', '140.82.121.6', '3.5.246.10', '142.250.179.202']), 'tcp', 443, 3, {
          domains: DOMAINS[i % DOMAINS.length] as readonly string[],
        }),
      );
    } else {
      add(flow(wep(e), publicNet(['151.101.2.132', '104.16.24.35']), 'tcp', 443, 2));
      add(flow(wep(e), publicNet(['185.125.190.36']), 'tcp', 80, 1));
    }
  }

  // Single-instance features, placed so that every N has them.
  add(
    // An ExternalName Service: the CNAME chain puts a cluster-internal name next to the real one.
    flow(wep(backend(2)), publicNet(['18.200.12.40']), 'tcp', 443, 1, {
      domains: ['api.partner-carrier.com', `partner-gw.${namespaceName(2 % N)}.svc.cluster.local`],
    }),
    // Egress-gateway style Service in front of a public endpoint: learned as a Service rule.
    flow(wep(backend(3)), publicNet(['35.156.41.9']), 'tcp', 443, 2, {
      service: { name: 'carrier-api', namespace: namespaceName(3 % N), portName: 'https', port: 443 },
    }),
    flow(wep(entry(0)), privateNet(['10.0.0.1']), 'icmp', null, 1),
    flow(wep(backend(2)), wep(entry(3)), 'icmp', null, 0.5),
    flow(wep(backend(4)), privateNet(['10.40.0.20', '10.40.0.21']), '132', 3868, 1),
    flow(wep(entry(6)), privateNet(['10.50.0.1']), '47', null, 0.5),
    flow(privateNet(['10.100.4.17', '10.100.4.18', '192.168.10.44']), wep(entry(0)), 'tcp', portOf(entry(0)), 3),
    flow(privateNet(['172.20.7.9']), wep(entry(7)), 'tcp', portOf(entry(7)), 1),
    flow(publicNet(internetClients), wep(entry(0)), 'tcp', portOf(entry(0)), 6),
    flow(publicNet(internetClients), wep(entry(5)), 'tcp', portOf(entry(5)), 2),
    // No `policies` field on an edge that exists above: still learned, adds nothing new.
    flow(wep(entry(0)), wep(backend(0)), 'tcp', portOf(backend(0)), 0.3, { trace: { kind: 'absent' } }),
  );

  // --- Noise: NOT learned.
  // Denied by security-tier policies: the profile did not decide, and learning them would open
  // exactly what security closed.
  add(
    flow(publicNet(internetClients), wep(entry(1)), 'tcp', 22, 1, {
      action: 'deny',
      trace: hit('0|security|security.default-deny|deny|-1'),
    }),
    flow(wep(backend(N - 1)), publicNet(['64.233.184.27']), 'tcp', 25, 1, {
      action: 'deny',
      trace: hit('0|security|security.block-smtp|deny|0'),
    }),
    flow(wep(entry(2)), wep(backend(1)), 'tcp', 9443, 1, {
      action: 'deny',
      reporters: ['src'],
      trace: hit('0|security|security.tenant-isolation|deny|0'),
    }),
  );
  // Allowed by the platform tier (Prometheus scraping every pod): owned by a higher tier, a
  // namespace rule would conflict with it.
  for (const ws of apps)
    for (const w of ws) add(flow(wep(prometheus), wep(w), 'tcp', 9090, 1, { trace: hit('0|platform|platform.allow-prometheus|allow|0') }));
  // Staged policy hits in pending only: a staged policy would deny this, so learning it would
  // contradict the staged decision.
  add(
    flow(wep(entry(3)), publicNet(['45.33.32.156']), 'tcp', 6667, 1, {
      trace: { kind: 'staged', pending: '0|security|security.staged:quarantine|deny|0' },
    }),
    flow(wep(entry(4)), wep(entry(5)), 'tcp', 9999, 1, {
      trace: { kind: 'staged', pending: '0|security|security.staged:quarantine|deny|0' },
    }),
  );
  // Host endpoints (kubelet probes): skipped by the engine.
  apps.forEach((ws, i) =>
    add(flow(heps[i % heps.length] as Endpoint, wep(ws[0] as Workload), 'tcp', portOf(ws[0] as Workload), 1, { reporters: ['dst'] })),
  );
  // System namespaces among themselves: allowed by their profiles, but out of the default scope.
  add(
    flow(wep(metricsServer), dns, 'udp', 53, 1, { service: kubeDnsService('udp') }),
    flow(wep(kubeControllers), dns, 'udp', 53, 1, { service: kubeDnsService('udp') }),
    flow(dns, privateNet(['10.0.0.2']), 'udp', 53, 3),
    flow(wep(metricsServer), heps[0] as Endpoint, 'tcp', 10250, 1, { reporters: ['src'] }),
  );

  return {
    name: 'multi-namespace',
    workloads: [...apps.flat(), coredns, prometheus, metricsServer, kubeControllers],
    flows,
    nodes,
  };
}
