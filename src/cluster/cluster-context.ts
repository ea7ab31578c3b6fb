// What the cluster says about namespaces and workloads, read (never written) through the
// Kubernetes API: namespaces with their labels, so `namespaceSpec.selector` is evaluated on real
// labels and recommendations for deleted namespaces can be retired; workloads with the stable
// labels of their pod template, for per-workload (microsegmentation) selectors.
//
// Every list is paginated (`limit` + `continue`). An expired continue token (410 Gone) restarts
// that list from the beginning, a bounded number of times. A 403 names the missing permission.
// What comes back is validated here: an item with an invalid name or label is skipped and
// counted, so nothing downstream needs to escape a name.

import { AppsV1Api, BatchV1Api, CoreV1Api, type ConfigurationOptions, type KubeConfig } from '@kubernetes/client-node';
import { isDnsLabel, isDnsSubdomain, isLabelKey, isLabelValue } from '../calico/names.ts';
import { SkipReport } from '../flows/skip-report.ts';
import type { NamespaceContext } from '../pipeline/plan.ts';
import { CHURN_LABELS, type Workload, type WorkloadKind } from '../engine/workloads.ts';
import { accessError, apiStatusOf, ClusterAccessError, describePermission, missingPermissions, type Permission } from './errors.ts';
import { loadKubeConfig, withSignal, type ClusterConnection } from './kube-config.ts';

export { ClusterAccessError, describePermission, type Permission } from './errors.ts';

export interface ClusterNamespace {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export type { Workload, WorkloadKind } from '../engine/workloads.ts';
export { CHURN_LABELS } from '../engine/workloads.ts';

export interface ClusterContext {
  /** Every namespace, sorted by name. */
  namespaces(): Promise<ClusterNamespace[]>;
  /**
   * Deployments, StatefulSets, DaemonSets, CronJobs and standalone Jobs (a Job created by a
   * CronJob is represented by its CronJob), sorted by namespace, kind and name.
   */
  workloads(): Promise<Workload[]>;
  /** Items the latest namespaces() / workloads() call skipped as invalid, with reasons. */
  readonly skipped: { readonly namespaces: SkipReport; readonly workloads: SkipReport };
}

export interface ClusterContextOptions {
  /** Items per list request (`limit`). */
  readonly pageSize?: number;
  /** How many times one list may be started (a 410 on an expired continue token restarts it). */
  readonly maxListAttempts?: number;
  /** Milliseconds before one request is abandoned. */
  readonly requestTimeoutMs?: number;
}

export function openClusterContext(access: ClusterConnection, options: ClusterContextOptions = {}): ClusterContext {
  return new KubernetesClusterContext(loadKubeConfig(access), options);
}

interface ListPage {
  readonly items?: unknown;
  readonly metadata?: { readonly _continue?: string };
}

type ListCall = (params: { limit: number; _continue?: string }, options: ConfigurationOptions) => Promise<ListPage>;

interface WorkloadSource {
  readonly kind: WorkloadKind;
  readonly permission: Permission;
  readonly list: ListCall;
  readonly template: (item: unknown) => unknown;
}

export class KubernetesClusterContext implements ClusterContext {
  readonly #pageSize: number;
  readonly #maxAttempts: number;
  readonly #timeoutMs: number;
  readonly #core: CoreV1Api;
  readonly #sources: readonly WorkloadSource[];
  #skipped = { namespaces: new SkipReport(), workloads: new SkipReport() };

  constructor(config: KubeConfig, options: ClusterContextOptions = {}) {
    this.#pageSize = positiveInteger(options.pageSize ?? 500, 'pageSize');
    this.#maxAttempts = positiveInteger(options.maxListAttempts ?? 3, 'maxListAttempts');
    this.#timeoutMs = positiveInteger(options.requestTimeoutMs ?? 30_000, 'requestTimeoutMs');
    this.#core = config.makeApiClient(CoreV1Api);
    const apps = config.makeApiClient(AppsV1Api);
    const batch = config.makeApiClient(BatchV1Api);
    const list = (resource: string, group: string): Permission => ({ verb: 'list', resource, group });
    const podTemplate = (item: unknown) => at(item, 'spec', 'template', 'metadata', 'labels');
    this.#sources = [
      { kind: 'Deployment', permission: list('deployments', 'apps'), list: (p, o) => apps.listDeploymentForAllNamespaces(p, o), template: podTemplate },
      { kind: 'StatefulSet', permission: list('statefulsets', 'apps'), list: (p, o) => apps.listStatefulSetForAllNamespaces(p, o), template: podTemplate },
      { kind: 'DaemonSet', permission: list('daemonsets', 'apps'), list: (p, o) => apps.listDaemonSetForAllNamespaces(p, o), template: podTemplate },
      {
        kind: 'CronJob',
        permission: list('cronjobs', 'batch'),
        list: (p, o) => batch.listCronJobForAllNamespaces(p, o),
        template: (item) => at(item, 'spec', 'jobTemplate', 'spec', 'template', 'metadata', 'labels'),
      },
      { kind: 'Job', permission: list('jobs', 'batch'), list: (p, o) => batch.listJobForAllNamespaces(p, o), template: podTemplate },
    ];
  }

  get skipped(): { readonly namespaces: SkipReport; readonly workloads: SkipReport } {
    return this.#skipped;
  }

  async namespaces(): Promise<ClusterNamespace[]> {
    const permission: Permission = { verb: 'list', resource: 'namespaces', group: '' };
    const items = await this.#listAll(permission, (p, o) => this.#core.listNamespace(p, o));
    const skipped = new SkipReport();
    const byName = new Map<string, ClusterNamespace>();
    items.forEach((item, index) => {
      const name = at(item, 'metadata', 'name');
      const where = typeof name === 'string' && isDnsLabel(name) ? `namespace ${name}` : `namespaces[${index}]`;
      if (typeof name !== 'string' || !isDnsLabel(name)) return skipped.add(where, 'invalid namespace name');
      const labels = validLabels(at(item, 'metadata', 'labels'), new Set());
      if (typeof labels === 'string') return skipped.add(where, labels);
      if (byName.has(name)) return skipped.add(where, 'listed twice');
      byName.set(name, { name, labels });
    });
    this.#skipped = { ...this.#skipped, namespaces: skipped };
    return [...byName.values()].sort((a, b) => compare(a.name, b.name));
  }

  async workloads(): Promise<Workload[]> {
    // All five lists run at once; when several are refused, one error names every missing permission.
    const results = await Promise.allSettled(this.#sources.map((s) => this.#listAll(s.permission, s.list)));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ClusterAccessError] : []));
    if (errors.length > 0) {
      const other = errors.find((e) => e.missing.length === 0);
      throw other ?? missingPermissions(errors);
    }
    const skipped = new SkipReport();
    const byKey = new Map<string, Workload>();
    this.#sources.forEach((source, s) => {
      const items = (results[s] as PromiseFulfilledResult<unknown[]>).value;
      const resource = `${source.permission.resource}.${source.permission.group}`;
      items.forEach((item, index) => {
        const namespace = at(item, 'metadata', 'namespace');
        const name = at(item, 'metadata', 'name');
        const valid = typeof namespace === 'string' && isDnsLabel(namespace) && typeof name === 'string' && isDnsSubdomain(name);
        const where = valid ? `${resource} ${namespace}/${name}` : `${resource}[${index}]`;
        if (!valid) return skipped.add(where, 'invalid namespace or name');
        if (source.kind === 'Job' && ownedByCronJob(item)) return; // represented by its CronJob
        const labels = validLabels(source.template(item), CHURN_LABELS);
        if (typeof labels === 'string') return skipped.add(where, labels);
        const key = `${source.kind}/${namespace}/${name}`;
        if (byKey.has(key)) return skipped.add(where, 'listed twice');
        byKey.set(key, { kind: source.kind, namespace, name, labels });
      });
    });
    this.#skipped = { ...this.#skipped, workloads: skipped };
    return [...byKey.values()].sort((a, b) => compare(a.namespace, b.namespace) || compare(a.kind, b.kind) || compare(a.name, b.name));
  }

  /** Every item of one list, following continue tokens; an expired token restarts the list. */
  async #listAll(permission: Permission, list: ListCall): Promise<unknown[]> {
    for (let attempt = 1; ; attempt++) {
      const items: unknown[] = [];
      const tokens = new Set<string>();
      let token: string | undefined;
      try {
        do {
          const page = await list(
            token === undefined ? { limit: this.#pageSize } : { limit: this.#pageSize, _continue: token },
            withSignal(AbortSignal.timeout(this.#timeoutMs)),
          );
          if (page.items !== undefined && page.items !== null && !Array.isArray(page.items)) {
            throw new ClusterAccessError(`cannot ${describePermission(permission)}: the response's items are not a list`, { permission });
          }
          items.push(...((page.items as unknown[] | undefined) ?? []));
          const next = page.metadata?._continue;
          token = typeof next === 'string' && next !== '' ? next : undefined;
          if (token !== undefined) {
            if (tokens.has(token)) {
              throw new ClusterAccessError(`cannot ${describePermission(permission)}: the API server repeated a continue token`, { permission });
            }
            tokens.add(token);
          }
        } while (token !== undefined);
        return items;
      } catch (e) {
        const status = apiStatusOf(e);
        if (status?.code !== 410) throw accessError(e, permission);
        if (attempt >= this.#maxAttempts) {
          throw new ClusterAccessError(
            `cannot ${describePermission(permission)}: the continue token expired (HTTP 410 ${status.reason}) ${attempt} times; the list changes faster than it can be read`,
            { status: 410, reason: status.reason, permission, cause: e },
          );
        }
        // Restart without the token: the pages read so far came from an older snapshot.
      }
    }
  }
}

/**
 * Namespace labels for the engine (`planRecommendations`' `namespaces`), so
 * `namespaceSpec.selector` is evaluated on real labels. Every namespace also carries the labels
 * Kubernetes and Calico derive from its name. Namespaces not in the cluster have no labels
 * (the engine then falls back to the name labels).
 */
export function namespaceContext(namespaces: readonly ClusterNamespace[]): NamespaceContext {
  const byName = new Map<string, Readonly<Record<string, string>>>();
  for (const ns of namespaces) {
    byName.set(ns.name, { 'kubernetes.io/metadata.name': ns.name, 'projectcalico.org/name': ns.name, ...ns.labels });
  }
  return {
    labels(namespace: string) {
      const labels = byName.get(namespace);
      return labels === undefined ? undefined : { ...labels };
    },
  };
}

export interface NamespaceInventory {
  exists(namespace: string): boolean;
  /**
   * Which of `candidates` (namespaces with recommendations) no longer exist, sorted. Empty when
   * the listing skipped anything: a partial view never retires a recommendation.
   */
  deleted(candidates: Iterable<string>): string[];
}

/** Which namespaces exist, from one `namespaces()` listing and what it skipped. */
export function namespaceInventory(namespaces: readonly ClusterNamespace[], skipped?: SkipReport): NamespaceInventory {
  const names = new Set(namespaces.map((ns) => ns.name));
  const complete = skipped === undefined || skipped.total === 0;
  return {
    exists: (namespace) => names.has(namespace),
    deleted: (candidates) => (complete ? [...new Set(candidates)].filter((ns) => !names.has(ns)).sort(compare) : []),
  };
}

/** A Job whose controller is a CronJob (batch/v1, or batch/v1beta1 on old clusters). */
function ownedByCronJob(job: unknown): boolean {
  const owners = at(job, 'metadata', 'ownerReferences');
  if (!Array.isArray(owners)) return false;
  return owners.some((o) => at(o, 'kind') === 'CronJob' && typeof at(o, 'apiVersion') === 'string' && (at(o, 'apiVersion') as string).startsWith('batch/'));
}

/** The labels minus `drop`, or the reason they are invalid. */
function validLabels(value: unknown, drop: ReadonlySet<string>): Record<string, string> | string {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return 'labels are not a map';
  const labels: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (drop.has(key)) continue;
    if (!isLabelKey(key)) return 'invalid label key';
    if (typeof v !== 'string' || !isLabelValue(v)) return `invalid value of label ${key}`;
    labels[key] = v;
  }
  return labels;
}

function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
