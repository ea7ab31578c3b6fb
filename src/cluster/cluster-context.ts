// What the cluster says about namespaces and workloads, read (never written) through the
// Kubernetes API: namespaces with their labels, so `namespaceSpec.selector` is evaluated on real
// labels and recommendations for deleted namespaces can be retired; workloads with the stable
// labels of their pod template, for per-workload (microsegmentation) selectors. And what Calico
// says: its release (ClusterInformation), its network sets and its IP pools.
//
// Every list is paginated (`limit` + `continue`). An expired continue token (410 Gone) restarts
// that list from the beginning, a bounded number of times. A 403 names the missing permission.
// What comes back is validated here: an item with an invalid name or label is skipped and
// counted, so nothing downstream needs to escape a name.
//
// Calico's objects are read from `projectcalico.org/v3` and, when that group does not serve them
// (404), refuses us (403) or its aggregated API server is down (503), from the
// `crd.projectcalico.org/v1` CRDs that store them (see calico-objects.ts). Calico's aggregated API
// server ignores `limit` and `continue` and answers every list in one page
// (apiserver/pkg/storage/calico/resource.go List, release-v3.33); CRDs page like any list.

import { AppsV1Api, BatchV1Api, type ConfigurationOptions, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { isDnsLabel, isDnsSubdomain } from '../calico/names.ts';
import type { CalicoRelease } from '../calico/release.ts';
import type { WorkloadKind } from '../engine/model.ts';
import { CHURN_LABELS, type Workload } from '../engine/workloads.ts';
import { SkipReport } from '../flows/skip-report.ts';
import type { NamespaceContext } from '../plan/plan.ts';
import { appendAll } from '../util/append.ts';
import {
  CALICO_APIS,
  type CalicoApi,
  type ClusterIpPool,
  type ClusterNetworkSet,
  calicoReleaseFrom,
  ipPoolFrom,
  networkSetFrom,
} from './calico-objects.ts';
import { accessError, apiStatusOf, ClusterAccessError, describePermission, missingPermissions, type Permission } from './errors.ts';
import { at, compare, validLabels } from './items.ts';
import { type ClusterConnection, loadKubeConfig, withSignal } from './kube-config.ts';

export { ClusterAccessError, type Permission } from './errors.ts';

export interface ClusterNamespace {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export type { CalicoRelease } from '../calico/release.ts';
export type { Workload } from '../engine/workloads.ts';
export { type ClusterIpPool, type ClusterNetworkSet, ipFamilies } from './calico-objects.ts';

export interface SkippedItems {
  readonly namespaces: SkipReport;
  readonly workloads: SkipReport;
  readonly networkSets: SkipReport;
  readonly ipPools: SkipReport;
}

export interface ClusterContext {
  /** Every namespace, sorted by name. */
  namespaces(): Promise<ClusterNamespace[]>;
  /**
   * Deployments, StatefulSets, DaemonSets, CronJobs and standalone Jobs (a Job created by a
   * CronJob is represented by its CronJob), sorted by namespace, kind and name.
   */
  workloads(): Promise<Workload[]>;
  /**
   * The Calico release the cluster runs, from `spec.calicoVersion` of the ClusterInformation
   * named `default`: its minor release, `main` for anything newer than 3.33, or null when it cannot
   * be read (not installed, refused, not recorded yet, not a version) or is older than 3.30;
   * `calicoVersionWarning` then says why. Never throws.
   */
  calicoVersion(): Promise<CalicoRelease | null>;
  /** Why the latest calicoVersion() call gave null; null after one that gave a release. */
  readonly calicoVersionWarning: string | null;
  /** Every NetworkSet and GlobalNetworkSet, global ones first, then by namespace and name. */
  networkSets(): Promise<ClusterNetworkSet[]>;
  /** Every IPPool, sorted by name. */
  ipPools(): Promise<ClusterIpPool[]>;
  /** Items the latest call of each list skipped as invalid, with reasons. */
  readonly skipped: SkippedItems;
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

/** The ClusterInformation calico/node keeps up to date (libcalico-go/lib/clientv3/client.go). */
const CLUSTER_INFORMATION = 'default';

/** Statuses of projectcalico.org/v3 after which crd.projectcalico.org/v1 is tried. */
const CALICO_FALLBACK: ReadonlySet<number> = new Set([403, 404, 503]);

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
  readonly #custom: CustomObjectsApi;
  #skipped: SkippedItems = {
    namespaces: new SkipReport(),
    workloads: new SkipReport(),
    networkSets: new SkipReport(),
    ipPools: new SkipReport(),
  };
  #calicoVersionWarning: string | null = null;

  constructor(config: KubeConfig, options: ClusterContextOptions = {}) {
    this.#pageSize = positiveInteger(options.pageSize ?? 500, 'pageSize');
    this.#maxAttempts = positiveInteger(options.maxListAttempts ?? 3, 'maxListAttempts');
    this.#timeoutMs = positiveInteger(options.requestTimeoutMs ?? 30_000, 'requestTimeoutMs');
    this.#core = config.makeApiClient(CoreV1Api);
    this.#custom = config.makeApiClient(CustomObjectsApi);
    const apps = config.makeApiClient(AppsV1Api);
    const batch = config.makeApiClient(BatchV1Api);
    const list = (resource: string, group: string): Permission => ({ verb: 'list', resource, group });
    const podTemplate = (item: unknown) => at(item, 'spec', 'template', 'metadata', 'labels');
    this.#sources = [
      {
        kind: 'Deployment',
        permission: list('deployments', 'apps'),
        list: (p, o) => apps.listDeploymentForAllNamespaces(p, o),
        template: podTemplate,
      },
      {
        kind: 'StatefulSet',
        permission: list('statefulsets', 'apps'),
        list: (p, o) => apps.listStatefulSetForAllNamespaces(p, o),
        template: podTemplate,
      },
      {
        kind: 'DaemonSet',
        permission: list('daemonsets', 'apps'),
        list: (p, o) => apps.listDaemonSetForAllNamespaces(p, o),
        template: podTemplate,
      },
      {
        kind: 'CronJob',
        permission: list('cronjobs', 'batch'),
        list: (p, o) => batch.listCronJobForAllNamespaces(p, o),
        template: (item) => at(item, 'spec', 'jobTemplate', 'spec', 'template', 'metadata', 'labels'),
      },
      { kind: 'Job', permission: list('jobs', 'batch'), list: (p, o) => batch.listJobForAllNamespaces(p, o), template: podTemplate },
    ];
  }

  get skipped(): SkippedItems {
    return this.#skipped;
  }

  get calicoVersionWarning(): string | null {
    return this.#calicoVersionWarning;
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

  async calicoVersion(): Promise<CalicoRelease | null> {
    let found: { readonly object: unknown } | null;
    try {
      found = await this.#fromCalico('get', 'clusterinformations', async (api, permission) => {
        try {
          const object: unknown = await this.#custom.getClusterCustomObject(
            { group: api.group, version: api.version, plural: 'clusterinformations', name: CLUSTER_INFORMATION },
            withSignal(AbortSignal.timeout(this.#timeoutMs)),
          );
          return { object };
        } catch (e) {
          // The group serves ClusterInformations but has none named default: no other group
          // would know better (the v1 CRDs are the v3 API's storage, or stale copies).
          const status = apiStatusOf(e);
          if (status?.code === 404 && status.name !== undefined) return null;
          throw accessError(e, permission);
        }
      });
    } catch (e) {
      if (!(e instanceof ClusterAccessError)) throw e;
      this.#calicoVersionWarning = `Calico release unknown: ${e.message}`;
      return null;
    }
    if (found === null) {
      this.#calicoVersionWarning = `Calico release unknown: the cluster has no ClusterInformation named ${CLUSTER_INFORMATION} (calico/node creates it when it starts)`;
      return null;
    }
    const reading = calicoReleaseFrom(found.object);
    this.#calicoVersionWarning = reading.release === null ? `Calico release unknown: ${reading.reason}` : null;
    return reading.release;
  }

  async networkSets(): Promise<ClusterNetworkSet[]> {
    // Both lists run at once; when both are refused, one error names every missing permission.
    const kinds = [
      { plural: 'globalnetworksets', global: true },
      { plural: 'networksets', global: false },
    ];
    const results = await Promise.allSettled(kinds.map((k) => this.#listCalico(k.plural)));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ClusterAccessError] : []));
    if (errors.length > 0) throw errors.find((e) => e.missing.length === 0) ?? missingPermissions(errors);
    const skipped = new SkipReport();
    const byKey = new Map<string, ClusterNetworkSet>();
    kinds.forEach(({ plural, global }, k) => {
      const { api, items } = (results[k] as PromiseFulfilledResult<{ api: CalicoApi; items: unknown[] }>).value;
      const resource = `${plural}.${api.group}`;
      items.forEach((item, index) => {
        const read = networkSetFrom(item, api, global);
        if ('invalid' in read) return skipped.add(`${resource}[${index}]`, read.invalid);
        const { set } = read;
        const where = `${resource} ${set.namespace === null ? '' : `${set.namespace}/`}${set.name}`;
        for (const net of read.invalidNets) skipped.add(`${where} spec.nets[${net}]`, 'invalid net (Felix ignores it)');
        const key = `${set.namespace ?? ''}/${set.name}`;
        if (byKey.has(key)) return skipped.add(where, 'listed twice');
        byKey.set(key, set);
      });
    });
    this.#skipped = { ...this.#skipped, networkSets: skipped };
    return [...byKey.values()].sort((a, b) => compare(a.namespace ?? '', b.namespace ?? '') || compare(a.name, b.name));
  }

  async ipPools(): Promise<ClusterIpPool[]> {
    const { api, items } = await this.#listCalico('ippools');
    const resource = `ippools.${api.group}`;
    const skipped = new SkipReport();
    const byName = new Map<string, ClusterIpPool>();
    items.forEach((item, index) => {
      const pool = ipPoolFrom(item);
      if (typeof pool === 'string') return skipped.add(`${resource}[${index}]`, pool);
      if (byName.has(pool.name)) return skipped.add(`${resource} ${pool.name}`, 'listed twice');
      byName.set(pool.name, pool);
    });
    this.#skipped = { ...this.#skipped, ipPools: skipped };
    return [...byName.values()].sort((a, b) => compare(a.name, b.name));
  }

  /** Every object of one Calico resource, from the first API group that serves it to us. */
  #listCalico(plural: string): Promise<{ readonly api: CalicoApi; readonly items: unknown[] }> {
    return this.#fromCalico('list', plural, async (api, permission) => {
      const items = await this.#listAll(permission, async (params, options) => {
        // Custom objects come back as raw JSON: the token is `metadata.continue`.
        const page: unknown = await this.#custom.listClusterCustomObject(
          { group: api.group, version: api.version, plural, ...params },
          options,
        );
        const token = at(page, 'metadata', 'continue');
        return { items: at(page, 'items'), metadata: typeof token === 'string' ? { _continue: token } : {} };
      });
      return { api, items };
    });
  }

  /**
   * `read` from projectcalico.org/v3, else from crd.projectcalico.org/v1 when v3 answered 404 (not
   * served), 403 (refused: RBAC is checked before the API server knows whether a group exists) or
   * 503 (Calico's aggregated API server is down; its storage, the v1 CRDs, may still answer).
   */
  async #fromCalico<T>(verb: string, resource: string, read: (api: CalicoApi, permission: Permission) => Promise<T>): Promise<T> {
    const failures: ClusterAccessError[] = [];
    for (const api of CALICO_APIS) {
      const permission: Permission = { verb, resource, group: api.group };
      try {
        return await read(api, permission);
      } catch (e) {
        const error = accessError(e, permission);
        if (error.status === undefined || !CALICO_FALLBACK.has(error.status)) throw error;
        failures.push(error);
      }
    }
    const [v3, v1] = failures as [ClusterAccessError, ClusterAccessError];
    if (v3.status === 403 && v1.status === 403) throw missingPermissions(failures);
    if (v3.status === 404 && v1.status === 404) {
      const groups = CALICO_APIS.map((api) => `${api.group}/${api.version}`).join(' nor ');
      throw new ClusterAccessError(`cannot ${verb} ${resource}: neither ${groups} serves them (is Calico installed?)`, {
        status: 404,
        reason: v1.reason,
        permission: v3.permission,
        cause: v1,
      });
    }
    // Where the data is not served (404), the other group's answer is the one that matters.
    throw v1.status === 404 ? v3 : v1;
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
          appendAll(items, (page.items as unknown[] | undefined) ?? []);
          const next = page.metadata?._continue;
          token = typeof next === 'string' && next !== '' ? next : undefined;
          if (token !== undefined) {
            if (tokens.has(token)) {
              throw new ClusterAccessError(`cannot ${describePermission(permission)}: the API server repeated a continue token`, {
                permission,
              });
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
  return owners.some(
    (o) => at(o, 'kind') === 'CronJob' && typeof at(o, 'apiVersion') === 'string' && (at(o, 'apiVersion') as string).startsWith('batch/'),
  );
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
