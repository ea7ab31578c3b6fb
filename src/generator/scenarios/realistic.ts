// A large cluster's cardinality (the bench's realistic profile, issue 14): the multi-namespace
// scenario at 200 namespaces, every namespace also running a Helm-installed set of eight
// microservices that resolve names, call each other, call the same service of another namespace
// and, once per namespace, a SaaS API by name. About 20,000 distinct flows (flows times their
// reporters: 19,814 at 200 namespaces), so a million records repeat each about 50 times, against
// the multi-namespace scenario's 378. Traffic is skewed as in real clusters: a few namespaces are
// busy, most are quiet. The shape depends only on `namespaces`, never on the generator's seed.

import { type FlowTemplate, flow, type Scenario, type Workload, wep, workload } from '../scenario.ts';
import { coredns, kubeDnsService, publicNet } from './common.ts';
import { multiNamespaceScenario, namespaceName } from './multi-namespace.ts';

export const REALISTIC_NAMESPACES = 200;

const SERVICES = [
  { name: 'gateway', port: 8080, process: '/usr/local/bin/envoy' },
  { name: 'auth', port: 8443, process: '/app/auth-server' },
  { name: 'profile', port: 9000, process: '/usr/local/bin/java' },
  { name: 'search', port: 9200, process: '/usr/share/opensearch/jdk/bin/java' },
  { name: 'billing', port: 5000, process: '/usr/local/bin/python3' },
  { name: 'reports', port: 3000, process: '/usr/local/bin/node' },
  { name: 'audit', port: 7070, process: '/app/audit' },
  { name: 'notifier', port: 8081, process: '/usr/local/bin/dotnet' },
] as const;

/** In-namespace callees of service k: three others, each service called by three. */
const CALLEES = [1, 3, 5] as const;

function services(i: number): Workload[] {
  const ns = namespaceName(i);
  // Their labels are Helm's (the full record shape adds the rest of helmLabels).
  return SERVICES.map((s) =>
    workload(
      ns,
      s.name,
      [`app.kubernetes.io/name=${s.name}`, `app.kubernetes.io/instance=${ns}-${s.name}`],
      [{ proto: 'tcp', port: s.port }],
      s.process,
    ),
  );
}

export function realisticScenario(namespaces = REALISTIC_NAMESPACES): Scenario {
  const base = multiNamespaceScenario(namespaces);
  const N = namespaces;
  const apps = Array.from({ length: N }, (_, i) => services(i));
  const dns = wep(coredns);
  const flows: FlowTemplate[] = [...base.flows];
  for (let i = 0; i < N; i++) {
    const ws = apps[i]!;
    // Zipf-like activity: namespace i is about 1/(1 + i mod 50) as busy as the busiest.
    const busy = 4 / (1 + (i % 50));
    ws.forEach((w, k) => {
      flows.push(flow(wep(w), dns, 'udp', 53, 2 * busy, { service: kubeDnsService('udp') }));
      for (const step of CALLEES) {
        const callee = ws[(k + step) % ws.length]!;
        flows.push(
          flow(wep(w), wep(callee), 'tcp', callee.ports[0]!.port, busy / step, {
            service: { name: callee.name, namespace: callee.namespace, portName: 'http', port: 80 },
          }),
        );
      }
      if (k % 2 === 0 && N > 1) {
        const far = apps[(i + 1 + k) % N]![k]!;
        flows.push(flow(wep(w), wep(far), 'tcp', far.ports[0]!.port, busy / 4));
      }
    });
    flows.push(
      flow(wep(ws[SERVICES.length - 1]!), publicNet(['54.240.196.170', '52.94.236.248']), 'tcp', 443, busy / 2, {
        domains: [`hooks-${i % 40}.notify.example.com`],
      }),
    );
  }
  return { name: 'realistic', workloads: [...base.workloads, ...apps.flat()], flows, nodes: base.nodes };
}
