// Workloads, the subjects of microsegmentation: Deployments, StatefulSets, DaemonSets, CronJobs and
// Jobs with the stable labels of their pods. They come from the cluster (the pod template's labels)
// or, offline, are inferred from flow records: the aggregated pod-name prefix
// (`<deployment>-<replicaset hash>-*`, `<statefulset>-*`, ...) and the churn labels the controllers
// add (pod-template-hash, controller-revision-hash, job-name) tell the kind and the name; the labels
// the records carry (only those common to the aggregated pods) give the stable labels.
//
// An endpoint belongs to workload W when W's stable labels are a subset of the endpoint's labels,
// in W's namespace: exactly the pods W's policy selector (`app == 'web' && ...`) selects. When
// several workloads' labels fit, the pod-name prefix decides; when the record has no labels, the
// prefix alone does. Anything else is ambiguous or unmatched, and reported, never guessed.

import { isDnsSubdomain } from '../calico/names.ts';
import type { Labels } from '../calico/selector.ts';
import { own } from '../util/plain.ts';
import { compareStrings, type EndpointRef, type WorkloadKind } from './model.ts';

export interface WorkloadId {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
}

export interface Workload extends WorkloadId {
  /** The pod template's labels minus churn labels (see CHURN_LABELS). */
  readonly labels: Labels;
}

/**
 * Labels a controller adds or rewrites on every rollout, run or restart, or that differ from pod
 * to pod: never part of a stable selector. The Job controller's uid labels are on every Job's pod
 * template and change whenever the Job is recreated; `job-name` is kept (it is the Job's own name;
 * a CronJob's jobs each have their own, see inferWorkloads).
 */
export const CHURN_LABELS: ReadonlySet<string> = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
  'controller-uid',
  'batch.kubernetes.io/controller-uid',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'batch.kubernetes.io/job-completion-index',
]);
const JOB_NAME_LABELS = ['job-name', 'batch.kubernetes.io/job-name'];

/** `<namespace>/<Kind>/<name>`: how configuration, reports and pull requests name a workload. */
export function workloadKey(w: WorkloadId): string {
  return `${w.namespace}/${w.kind}/${w.name}`;
}

export function compareWorkloads(a: WorkloadId, b: WorkloadId): number {
  return compareStrings(a.namespace, b.namespace) || compareStrings(a.kind, b.kind) || compareStrings(a.name, b.name);
}

/** `key=value` strings (as flow records write labels) as a map; malformed entries are ignored. */
export function parseLabels(list: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const entry of list) {
    const eq = entry.indexOf('=');
    if (eq > 0) labels[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return labels;
}

function withoutChurn(labels: Labels, drop: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels))
    if (!CHURN_LABELS.has(k) && !drop.includes(k) && !k.startsWith('projectcalico.org/')) out[k] = v;
  return out;
}

/** The pod-name prefix of an endpoint: `customer-6b687c8dcb` for `customer-6b687c8dcb-*` or a pod name; null when unknown. */
function namePrefix(name: string): string | null {
  if (name.endsWith('-*')) return name.slice(0, -2) || null;
  if (name === '-' || name.includes('*')) return null;
  const dash = name.lastIndexOf('-');
  return dash > 0 ? name.slice(0, dash) : null;
}

/** Replica set hashes use Kubernetes' "safe" alphabet (no vowels, no 0, 1, 3). */
const REPLICA_SET_HASH = /^[bcdfghjklmnpqrstvwxz2456789]{5,10}$/;
/** A CronJob's jobs are named `<cronjob>-<scheduled time in minutes>`. */
const CRON_JOB_SUFFIX = /^(.+)-\d{8,}$/;

/**
 * The workload a flow endpoint's name and churn labels point to, or why it cannot be told.
 * Offline inference only: with the cluster's workloads, attributeEndpoint decides.
 */
export function inferIdentity(endpoint: EndpointRef): Omit<WorkloadId, 'namespace'> | string {
  // Named by the source (Hubble's `workloads`, checked at aggregation): Cilium's default label
  // filter drops pod-template-hash and the other controller labels inference reads.
  if (endpoint.workload !== undefined) return endpoint.workload;
  const identity = inferFromName(endpoint);
  // Pod-name prefixes are checked loosely at the boundary (`a..b-*`): a workload's name must be an object name.
  return typeof identity === 'string' || isDnsSubdomain(identity.name) ? identity : 'its name is not a valid workload name';
}

function inferFromName(endpoint: EndpointRef): Omit<WorkloadId, 'namespace'> | string {
  const prefix = namePrefix(endpoint.name);
  if (prefix === null) return 'the flow log does not name the pod';
  const labels = parseLabels(endpoint.labels);
  const hash = labels['pod-template-hash'];
  if (hash !== undefined) {
    return prefix.endsWith(`-${hash}`)
      ? { kind: 'Deployment', name: prefix.slice(0, -hash.length - 1) }
      : 'its name does not fit its pod-template-hash';
  }
  const job = labels['job-name'] ?? labels['batch.kubernetes.io/job-name'];
  if (job !== undefined) {
    if (prefix !== job) return 'its name does not fit its job-name';
    const cron = CRON_JOB_SUFFIX.exec(job);
    return cron === null ? { kind: 'Job', name: job } : { kind: 'CronJob', name: cron[1]! };
  }
  const revision = labels['controller-revision-hash'];
  if (revision !== undefined) {
    if (labels['pod-template-generation'] !== undefined) return { kind: 'DaemonSet', name: prefix };
    // A StatefulSet's revision is `<statefulset>-<hash>`; a DaemonSet's is the hash alone.
    return revision.startsWith(`${prefix}-`) ? { kind: 'StatefulSet', name: prefix } : { kind: 'DaemonSet', name: prefix };
  }
  const dash = prefix.lastIndexOf('-');
  if (dash > 0 && REPLICA_SET_HASH.test(prefix.slice(dash + 1)) && endpoint.labels.length === 0) {
    return { kind: 'Deployment', name: prefix.slice(0, dash) };
  }
  return 'its kind cannot be told from the flow log (no controller labels)';
}

/** Does the endpoint's pod-name prefix fit the workload's naming (pods are named after their controller)? */
function nameFits(endpoint: EndpointRef, w: WorkloadId): boolean {
  const prefix = namePrefix(endpoint.name);
  if (prefix === null || !prefix.startsWith(`${w.name}`)) return false;
  const rest = prefix.slice(w.name.length);
  switch (w.kind) {
    case 'Deployment':
      return /^-[a-z0-9]+$/.test(rest);
    case 'CronJob':
      return /^-\d+$/.test(rest);
    default:
      return rest === '';
  }
}

/**
 * Workloads inferred from flow endpoints (offline): each endpoint's identity (inferIdentity), with
 * the labels common to all its endpoints that carry labels, minus churn labels. Sorted.
 */
export function inferWorkloads(endpoints: Iterable<EndpointRef>): Workload[] {
  const found = new Map<string, { id: WorkloadId; labels: Record<string, string> | null }>();
  for (const endpoint of endpoints) {
    const identity = inferIdentity(endpoint);
    if (typeof identity === 'string') continue;
    const id: WorkloadId = { ...identity, namespace: endpoint.namespace };
    const key = workloadKey(id);
    let entry = found.get(key);
    if (entry === undefined) found.set(key, (entry = { id, labels: null }));
    if (endpoint.labels.length === 0) continue; // labels missing: says nothing about them
    // Each of a CronJob's runs has its own job-name.
    const labels = withoutChurn(parseLabels(endpoint.labels), id.kind === 'CronJob' ? JOB_NAME_LABELS : []);
    entry.labels = entry.labels === null ? labels : intersect(entry.labels, labels);
  }
  return [...found.values()].map(({ id, labels }) => ({ ...id, labels: labels ?? {} })).sort(compareWorkloads);
}

function intersect(a: Record<string, string>, b: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(a)) if (b[k] === v) out[k] = v;
  return out;
}

export type Attribution =
  | { readonly workload: Workload }
  | { readonly reason: 'ambiguous'; readonly candidates: readonly Workload[] }
  | { readonly reason: 'unmatched'; readonly detail: string };

/** Workloads by namespace, for attributeEndpoint. */
export class WorkloadIndex {
  readonly #byNamespace = new Map<string, Workload[]>();
  readonly #cache = new Map<string, Attribution>();
  readonly workloads: readonly Workload[];

  constructor(workloads: readonly Workload[]) {
    this.workloads = [...workloads].sort(compareWorkloads);
    for (const w of this.workloads) {
      const list = this.#byNamespace.get(w.namespace);
      if (list === undefined) this.#byNamespace.set(w.namespace, [w]);
      else list.push(w);
    }
  }

  inNamespace(namespace: string): readonly Workload[] {
    return this.#byNamespace.get(namespace) ?? [];
  }

  get(id: WorkloadId): Workload | undefined {
    return this.inNamespace(id.namespace).find((w) => w.kind === id.kind && w.name === id.name);
  }

  /** Which workload an endpoint belongs to (see the file comment). */
  attribute(endpoint: EndpointRef): Attribution {
    const key = `${endpoint.namespace}/${endpoint.name}/${endpoint.labels.join(',')}`;
    let result = this.#cache.get(key);
    if (result === undefined) this.#cache.set(key, (result = this.#attribute(endpoint)));
    return result;
  }

  #attribute(endpoint: EndpointRef): Attribution {
    const all = this.inNamespace(endpoint.namespace);
    const labels = parseLabels(endpoint.labels);
    const byName = (list: readonly Workload[]) => list.filter((w) => nameFits(endpoint, w));
    if (endpoint.labels.length > 0) {
      // Workloads without stable labels would fit every endpoint: only their names can tell.
      const fitting = all.filter(
        (w) => Object.keys(w.labels).length > 0 && Object.entries(w.labels).every(([k, v]) => own(labels, k) === v),
      );
      if (fitting.length === 1) return { workload: fitting[0]! };
      if (fitting.length > 1) {
        const named = byName(fitting);
        return named.length === 1 ? { workload: named[0]! } : { reason: 'ambiguous', candidates: fitting };
      }
      // Aggregation may have thinned the labels: the name decides, if no label contradicts it.
      const named = byName(all).filter((w) =>
        Object.entries(w.labels).every(([k, v]) => own(labels, k) === undefined || own(labels, k) === v),
      );
      if (named.length === 1) return { workload: named[0]! };
      return named.length > 1 ? { reason: 'ambiguous', candidates: named } : { reason: 'unmatched', detail: 'its labels fit no workload' };
    }
    const named = byName(all);
    if (named.length === 1) return { workload: named[0]! };
    return named.length > 1
      ? { reason: 'ambiguous', candidates: named }
      : { reason: 'unmatched', detail: 'no labels, and its name fits no workload' };
  }
}
