// A scenario is plain data: the cluster's workloads and the flows between them. The generator only
// repeats these flows with varying counters and times, so the set of distinct aggregated flows is a
// property of the scenario alone, never of how many records are written.
import { hashString, k8sSuffix } from './random.ts';

export type Reporter = 'src' | 'dst';
type Action = 'allow' | 'deny';

export interface PortSpec {
  readonly proto: string;
  readonly port: number;
}

export interface Workload {
  readonly namespace: string;
  /** Controller name (Deployment, StatefulSet or DaemonSet). */
  readonly name: string;
  readonly controller: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  /** Stable pod labels as `k=v`; churn labels (pod-template-hash ...) are added by `podLabels`. */
  readonly labels: readonly string[];
  readonly ports: readonly PortSpec[];
  /** Main process, written as `process_name` by the reporter on this workload's node. */
  readonly process: string;
}

export type Endpoint =
  | { readonly type: 'wep'; readonly workload: Workload }
  /** A host endpoint (a node's interface); `ips` are the node's addresses. */
  | {
      readonly type: 'hep';
      readonly name: string;
      readonly node: string;
      readonly labels: readonly string[];
      readonly ips: readonly string[];
    }
  /** A NetworkSet; `namespace` is `-` for a GlobalNetworkSet. */
  | {
      readonly type: 'ns';
      readonly name: string;
      readonly namespace: string;
      readonly labels: readonly string[];
      readonly ips: readonly string[];
    }
  /** Plain networks, classified by Calico as private (`pvt`) or public (`pub`). */
  | { readonly type: 'net'; readonly name: 'pub' | 'pvt'; readonly ips: readonly string[] };

/** The policy trace a record carries. */
type Trace =
  /** Decided by the reporting endpoint's namespace profile (what the recommender learns from). */
  | { readonly kind: 'profile' }
  /** Decided by a tiered policy; the same hit in all, enforced and pending policies. */
  | { readonly kind: 'hit'; readonly hit: string }
  /** Enforced by the profile, but a staged policy in `pending_policies` would decide otherwise. */
  | { readonly kind: 'staged'; readonly pending: string }
  /** No `policies` field at all (older Felix, or policy tracing off): treated like the profile. */
  | { readonly kind: 'absent' };

export interface ServiceRef {
  readonly name: string;
  readonly namespace: string;
  /** Port name, written as `dest_service_port`. */
  readonly portName: string;
  readonly port: number;
}

export interface FlowTemplate {
  readonly source: Endpoint;
  readonly dest: Endpoint;
  readonly proto: string;
  /** Destination port; null for protocols without ports (ICMP, GRE ...). */
  readonly port: number | null;
  readonly action: Action;
  readonly trace: Trace;
  /** Which ends write a record: see `defaultReporters`. */
  readonly reporters: readonly Reporter[];
  readonly domains?: readonly string[];
  readonly service?: ServiceRef;
  /** Relative frequency of this flow's records. */
  readonly weight: number;
}

export interface Scenario {
  readonly name: string;
  readonly workloads: readonly Workload[];
  readonly flows: readonly FlowTemplate[];
  /** Node names that host the workloads (written as `host`). */
  readonly nodes: readonly string[];
}

/** Both ends write a record when both are workloads or hosts; otherwise only the Calico-managed end. */
function defaultReporters(source: Endpoint, dest: Endpoint): readonly Reporter[] {
  const managed = (e: Endpoint): boolean => e.type === 'wep' || e.type === 'hep';
  const out: Reporter[] = [];
  if (managed(source)) out.push('src');
  if (managed(dest)) out.push('dst');
  return out;
}

/** Template with the usual defaults: allowed by the profile, reporters from the endpoint types. */
export function flow(
  source: Endpoint,
  dest: Endpoint,
  proto: string,
  port: number | null,
  weight: number,
  extra: Partial<Omit<FlowTemplate, 'source' | 'dest' | 'proto' | 'port' | 'weight'>> = {},
): FlowTemplate {
  return {
    source,
    dest,
    proto,
    port,
    weight,
    action: extra.action ?? 'allow',
    trace: extra.trace ?? { kind: 'profile' },
    reporters: extra.reporters ?? defaultReporters(source, dest),
    ...(extra.domains ? { domains: extra.domains } : {}),
    ...(extra.service ? { service: extra.service } : {}),
  };
}

export function workload(
  namespace: string,
  name: string,
  labels: readonly string[],
  ports: readonly PortSpec[],
  process: string,
  controller: Workload['controller'] = 'Deployment',
): Workload {
  return { namespace, name, labels, ports, process, controller };
}

export const wep = (w: Workload): Endpoint => ({ type: 'wep', workload: w });

/** Aggregated pod name as Calico writes it: `<name>-<pod-template-hash>-*` for Deployments. */
export function podNameAggr(w: Workload): string {
  return w.controller === 'Deployment' ? `${w.name}-${templateHash(w)}-*` : `${w.name}-*`;
}

/** Pod labels including the churn labels Kubernetes adds (they change on every rollout). */
export function podLabels(w: Workload): readonly string[] {
  switch (w.controller) {
    case 'Deployment':
      return [...w.labels, `pod-template-hash=${templateHash(w)}`];
    case 'StatefulSet':
      return [...w.labels, `controller-revision-hash=${w.name}-${k8sSuffix(`${w.namespace}/${w.name}/rev`, 10)}`];
    case 'DaemonSet':
      return [...w.labels, `controller-revision-hash=${k8sSuffix(`${w.namespace}/${w.name}/rev`, 10)}`, 'pod-template-generation=1'];
  }
}

/**
 * The labels a Helm chart puts on a workload's pods (the chart's `_helpers.tpl` convention, as in
 * scale.ts): `app.kubernetes.io/*`, `helm.sh/chart` and the older `app`. The full record shape
 * (record.ts) writes the workload's own labels and then these, each key once.
 */
export function helmLabels(w: Workload): readonly string[] {
  const h = hashString(`${w.namespace}/${w.name}/version`);
  const version = `1.${h % 24}.${(h >>> 8) % 10}`;
  return [
    `app=${w.name}`,
    `app.kubernetes.io/name=${w.name}`,
    `app.kubernetes.io/instance=${w.namespace}-${w.name}`,
    `app.kubernetes.io/component=${w.name}`,
    `app.kubernetes.io/part-of=${w.namespace}`,
    'app.kubernetes.io/managed-by=Helm',
    `app.kubernetes.io/version=${version}`,
    `helm.sh/chart=${w.name}-${version}`,
  ];
}

function templateHash(w: Workload): string {
  return k8sSuffix(`${w.namespace}/${w.name}`, 10);
}

const SYSTEM_NAMESPACE = /^(kube-|calico-|tigera-|openshift-)/;

/** What a correct recommender learns from a scenario (see reference/calico.md section 2). */
export interface LearnableEdge {
  readonly namespace: string;
  readonly direction: 'ingress' | 'egress';
  readonly peer: string;
  readonly proto: string;
  readonly port: number | null;
  readonly domains?: readonly string[];
  readonly service?: string;
}

/**
 * The edges the scenario's allowed, profile-decided flows imply: an independent oracle for the
 * recommender's tests. System namespaces are left out (the default scope excludes them).
 */
export function learnableEdges(scenario: Scenario, includeSystem = false): LearnableEdge[] {
  const seen = new Map<string, LearnableEdge>();
  for (const f of scenario.flows) {
    if (f.action !== 'allow' || (f.trace.kind !== 'profile' && f.trace.kind !== 'absent')) continue;
    if (f.source.type === 'hep' || f.dest.type === 'hep') continue;
    for (const reporter of f.reporters) {
      const local = reporter === 'src' ? f.source : f.dest;
      const remote = reporter === 'src' ? f.dest : f.source;
      if (local.type !== 'wep') continue;
      const namespace = local.workload.namespace;
      if (!includeSystem && SYSTEM_NAMESPACE.test(namespace)) continue;
      const edge: LearnableEdge = {
        namespace,
        direction: reporter === 'src' ? 'egress' : 'ingress',
        peer: describePeer(remote),
        proto: f.proto,
        port: f.port,
        ...(reporter === 'src' && f.domains ? { domains: f.domains } : {}),
        ...(reporter === 'src' && f.service && remote.type === 'net' ? { service: `${f.service.namespace}/${f.service.name}` } : {}),
      };
      seen.set(JSON.stringify(edge), edge);
    }
  }
  return [...seen.values()];
}

function describePeer(e: Endpoint): string {
  switch (e.type) {
    case 'wep':
      return `namespace ${e.workload.namespace}`;
    case 'ns':
      return e.namespace === '-' ? `global networkset ${e.name}` : `networkset ${e.namespace}/${e.name}`;
    case 'net':
      return e.name;
    case 'hep':
      return `host ${e.name}`;
  }
}
