// A cluster of any size, for measuring how the recommender grows with it (bench/scale.ts):
// `namespaces` application namespaces holding `workloads` workloads between them (spread evenly),
// and exactly `flows` distinct flows (one per scenario flow and reporter, so the generator at
// `records: flows` writes each once). Every workload resolves DNS through CoreDNS and calls its
// neighbours, mostly within its namespace and the next ones, on one of a few ports; a tenth of
// them also call the internet by name. Workloads carry Helm-style labels, as real charts set them.
import { type FlowTemplate, flow, type Scenario, type Workload, wep, workload } from '../scenario.ts';
import { coredns, kubeDnsService, publicNet } from './common.ts';

export interface ScaleParams {
  readonly namespaces: number;
  readonly workloads: number;
  /** Distinct flows: scenario flows times their reporters. */
  readonly flows: number;
}

export const SCALE_LIMITS = { namespaces: 100_000, workloads: 1_000_000, flows: 10_000_000 } as const;

const ROLES = [
  { component: 'frontend', port: 8080, process: '/usr/local/bin/node' },
  { component: 'api', port: 8000, process: '/usr/local/bin/gunicorn' },
  { component: 'worker', port: 50051, process: '/app/worker' },
  { component: 'cache', port: 6379, process: '/usr/local/bin/redis-server' },
  { component: 'db', port: 5432, process: '/usr/lib/postgresql/16/bin/postgres' },
] as const;

function scaleNamespaceName(i: number): string {
  return `tenant-${String(i + 1).padStart(5, '0')}`;
}

function scaleWorkload(index: number, namespace: string, inNamespace: number): Workload {
  const role = ROLES[index % ROLES.length]!;
  const name = `${role.component}-${inNamespace + 1}`;
  const labels = [
    `app.kubernetes.io/name=${name}`,
    `app.kubernetes.io/instance=${namespace}-${name}`,
    `app.kubernetes.io/component=${role.component}`,
    `app.kubernetes.io/part-of=${namespace}`,
    'app.kubernetes.io/managed-by=Helm',
    'app.kubernetes.io/version=1.4.2',
    `helm.sh/chart=${role.component}-1.4.2`,
  ];
  return workload(namespace, name, labels, [{ proto: 'tcp', port: role.port }], role.process);
}

function checkCount(name: keyof ScaleParams, value: number, min: number): void {
  const max = SCALE_LIMITS[name];
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
}

export function scaleScenario(params: ScaleParams): Scenario {
  const { namespaces: N, workloads: W, flows: F } = params;
  checkCount('namespaces', N, 1);
  checkCount('workloads', W, N);
  // Every workload's DNS lookup (two reporters: the pod and CoreDNS) comes first.
  checkCount('flows', F, 2 * W);
  const apps: Workload[] = [];
  for (let i = 0; i < N; i++) {
    const namespace = scaleNamespaceName(i);
    const size = Math.floor(((i + 1) * W) / N) - Math.floor((i * W) / N);
    for (let k = 0; k < size; k++) apps.push(scaleWorkload(apps.length, namespace, k));
  }
  const flows: FlowTemplate[] = [];
  let distinct = 0;
  const add = (f: FlowTemplate): void => {
    flows.push(f);
    distinct += f.reporters.length;
  };
  const dns = wep(coredns);
  for (const w of apps) add(flow(wep(w), dns, 'udp', 53, 1, { service: kubeDnsService('udp') }));
  // Then rounds over the workloads: in round r, workload s calls workload s+1+r (round r of the
  // pairs), on the callee's port and then on ports above it once every pair is used; every tenth
  // call in a round goes to the internet instead (one reporter). Each (caller, callee, port) and
  // each internet call is distinct.
  const pairs = Math.max(1, W - 1);
  for (let j = 0; distinct < F; j++) {
    const s = j % W;
    const r = Math.floor(j / W);
    const caller = apps[s]!;
    if (j % 10 === 9 || W === 1 || distinct === F - 1) {
      const domain = `api-${j}.saas.example.com`;
      add(
        flow(wep(caller), publicNet([`52.${(j >> 16) & 255}.${(j >> 8) & 255}.${j & 255}`]), 'tcp', 443 + Math.floor(j / 65536), 1, {
          domains: [domain],
        }),
      );
      continue;
    }
    const callee = apps[(s + 1 + (r % pairs)) % W]!;
    add(flow(wep(caller), wep(callee), 'tcp', callee.ports[0]!.port + Math.floor(r / pairs), 1));
  }
  return { name: 'scale', workloads: [...apps, coredns], flows, nodes: Array.from({ length: 6 }, (_, k) => `ip-10-1-${k}-7.ec2.internal`) };
}
