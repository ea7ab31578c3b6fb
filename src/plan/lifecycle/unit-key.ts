// Which pull request is which: every PR the bot opens is for one unit of a cluster, and its branch
// name says which, so that the bot (and a person) can tell from the branch alone:
//
//   policy-recommender/<cluster>/<namespace>                        the namespace's isolation policy
//   policy-recommender/<cluster>/<namespace>.appsec                 all of its workloads' policies (microsegmentation)
//   policy-recommender/<cluster>/<namespace>.appsec.<kind>-<name>   one workload's policy
//   policy-recommender/<cluster>/<namespace>.enforce                enforce its accepted isolation policy
//   policy-recommender/<cluster>/<namespace>.appsec.enforce         enforce its workloads' accepted policies
//   policy-recommender/<cluster>/<namespace>.appsec.<kind>-<name>.enforce   ... one workload's
//   policy-recommender/<cluster>/_cluster/enforce                   enforce the staged global default deny
//   policy-recommender/<cluster>/_cluster/bootstrap                 the cluster-wide files (tiers, staged default deny)
//
// A unit is one path segment after the cluster's, never a directory of another's: git (and so
// GitHub) cannot have both `a` and `a/b` as branches, and a namespace's units have PRs open at the
// same time. Namespaces are DNS labels, so neither `.` nor `_cluster` can be part of one. In a
// workload's part, dots of its name become underscores (never part of a Kubernetes name), so that
// the dots separate parts alone and nothing ends in `.lock` or holds `..`, which git refuses.

import { isDnsLabel, isDnsSubdomain } from '../../calico/names.ts';
import { WORKLOAD_KINDS, type WorkloadKind } from '../../engine/model.ts';

export type ProposalKey =
  | { readonly kind: 'namespace'; readonly cluster: string; readonly namespace: string }
  /** Microsegmentation: every selected workload of the namespace, or one (`<ns>/<Kind>/<name>`). */
  | { readonly kind: 'workloads'; readonly cluster: string; readonly namespace: string; readonly workload?: string }
  | { readonly kind: 'enforce'; readonly cluster: string; readonly namespace: string }
  /** Enforcing accepted microsegmentation policies: the namespace's workloads', or one workload's. */
  | { readonly kind: 'enforce-workloads'; readonly cluster: string; readonly namespace: string; readonly workload?: string }
  | { readonly kind: 'enforce-default-deny'; readonly cluster: string }
  /** The cluster-wide files the tree lacks (the template's tiers and staged default deny), in a PR of their own. */
  | { readonly kind: 'bootstrap'; readonly cluster: string };

const PREFIX = 'policy-recommender/';
const CLUSTER_WIDE = '_cluster';

export function branchOf(key: ProposalKey): string {
  const base = `${PREFIX}${key.cluster}/`;
  switch (key.kind) {
    case 'namespace':
      return `${base}${key.namespace}`;
    case 'workloads':
      return key.workload === undefined
        ? `${base}${key.namespace}.appsec`
        : `${base}${key.namespace}.appsec.${workloadSegment(key.workload)}`;
    case 'enforce':
      return `${base}${key.namespace}.enforce`;
    case 'enforce-workloads':
      return `${branchOf({ kind: 'workloads', cluster: key.cluster, namespace: key.namespace, ...(key.workload === undefined ? {} : { workload: key.workload }) })}.enforce`;
    case 'enforce-default-deny':
      return `${base}${CLUSTER_WIDE}/enforce`;
    case 'bootstrap':
      return `${base}${CLUSTER_WIDE}/bootstrap`;
  }
}

/** The namespace isolation PR's branch (the most common key). */
export function branchName(cluster: string, namespace: string): string {
  return branchOf({ kind: 'namespace', cluster, namespace });
}

/** The key a branch stands for, or null when it is not one of the bot's branches. */
export function parseBranch(branch: string): ProposalKey | null {
  if (!branch.startsWith(PREFIX)) return null;
  const [cluster, unit, ...more] = branch.slice(PREFIX.length).split('/');
  if (!cluster || !isDnsLabel(cluster) || unit === undefined) return null;
  if (unit === CLUSTER_WIDE) {
    if (more.length !== 1) return null;
    return more[0] === 'enforce'
      ? { kind: 'enforce-default-deny', cluster }
      : more[0] === 'bootstrap'
        ? { kind: 'bootstrap', cluster }
        : null;
  }
  if (more.length > 0) return null;
  const [namespace, ...rest] = unit.split('.') as [string, ...string[]];
  if (!isDnsLabel(namespace)) return null;
  if (rest.length === 0) return { kind: 'namespace', cluster, namespace };
  if (rest.length === 1 && rest[0] === 'enforce') return { kind: 'enforce', cluster, namespace };
  if (rest[0] !== 'appsec') return null;
  const enforce = rest.at(-1) === 'enforce' && rest.length > 1;
  const segments = enforce ? rest.slice(1, -1) : rest.slice(1);
  if (segments.length > 1) return null;
  const workload = segments.length === 1 ? parseWorkloadSegment(namespace, segments[0]!) : undefined;
  if (workload === null) return null;
  return { kind: enforce ? 'enforce-workloads' : 'workloads', cluster, namespace, ...(workload === undefined ? {} : { workload }) };
}

/** A stable identity of a key, for maps and the dashboard's hidden state. */
export function keyId(key: ProposalKey): string {
  return branchOf(key).slice(PREFIX.length);
}

/** What the unit is about, for titles, comments and the dashboard: `namespace shop`, `workload shop/Deployment/web` ... */
export function describeKey(key: ProposalKey): string {
  switch (key.kind) {
    case 'namespace':
      return `namespace ${key.namespace}`;
    case 'workloads':
      return key.workload === undefined ? `the workloads of namespace ${key.namespace}` : `workload ${key.workload}`;
    case 'enforce':
      return `namespace ${key.namespace} (enforce)`;
    case 'enforce-workloads':
      return key.workload === undefined ? `the workloads of namespace ${key.namespace} (enforce)` : `workload ${key.workload} (enforce)`;
    case 'enforce-default-deny':
      return 'the global default deny (enforce)';
    case 'bootstrap':
      return 'the cluster-wide files';
  }
}

/** The namespace a key is about, or null for a cluster-wide unit. */
export function namespaceOfKey(key: ProposalKey): string | null {
  return key.kind === 'enforce-default-deny' || key.kind === 'bootstrap' ? null : key.namespace;
}

function workloadSegment(workload: string): string {
  const [, kind, name] = workload.split('/') as [string, string, string];
  return `${kind.toLowerCase()}-${name.replaceAll('.', '_')}`;
}

function parseWorkloadSegment(namespace: string, segment: string): string | null {
  const kind = WORKLOAD_KINDS.find((k) => segment.startsWith(`${k.toLowerCase()}-`));
  if (kind === undefined) return null;
  const name = segment.slice(kind.length + 1).replaceAll('_', '.');
  return isDnsSubdomain(name) ? `${namespace}/${kind satisfies WorkloadKind}/${name}` : null;
}
