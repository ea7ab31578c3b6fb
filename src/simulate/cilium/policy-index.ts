// Which of a policy set's policies, and of a rule's entries, can decide a flow, found by namespace
// instead of tried one by one: a hub namespace's flows (one per peer namespace) against its peers'
// policies and against its own policy's entries (one per peer namespace) made `simulate` and the
// App's Cilium staging quadratic in the hub's peers. Skipping is exact: the skipped policies and
// entries answer false (no reason given) for the flow, as evaluate.ts would find one by one, and
// the candidates keep their order (the first policy that allows names the decision).

import { POD_NAMESPACE_KEY, SOURCE_K8S } from '../../cilium/labels.ts';
import type { CiliumPolicy, PeerRule, Rule } from '../../cilium/types.ts';
import type { CiliumOptions, CiliumPeer } from './flow.ts';
import { entryNamespaces, peerIdentity } from './match-rule.ts';

/** `indexed`: candidates by namespace; `every`: each policy and entry (the reference). */
export type Lookups = 'indexed' | 'every';

/** Below this many entries a section is tried whole (an index costs more than it saves). */
const SMALL_SECTION = 8;

/** A policy and its position in the set. */
type Placed = readonly [number, CiliumPolicy];

interface PolicyIndex {
  /** Clusterwide policies, in the set's order: they may select any endpoint. */
  readonly clusterwide: readonly CiliumPolicy[];
  readonly clusterwidePlaced: readonly Placed[];
  /** Namespaced policies by namespace, in the set's order. */
  readonly byNamespace: ReadonlyMap<string, readonly Placed[]>;
  /** Clusterwide and one namespace's policies, in the set's order, as merged once. */
  readonly merged: Map<string, readonly CiliumPolicy[]>;
}

/** By the policy set's array, which its readers build whole before evaluating (policy-set.ts): never changed after. */
const policyIndexes = new WeakMap<readonly CiliumPolicy[], PolicyIndex>();

function policyIndex(policies: readonly CiliumPolicy[]): PolicyIndex {
  let index = policyIndexes.get(policies);
  if (index !== undefined) return index;
  const byNamespace = new Map<string, Placed[]>();
  const clusterwidePlaced: Placed[] = [];
  policies.forEach((policy, at) => {
    if (policy.namespace === null) {
      clusterwidePlaced.push([at, policy]);
      return;
    }
    const list = byNamespace.get(policy.namespace);
    if (list === undefined) byNamespace.set(policy.namespace, [[at, policy]]);
    else list.push([at, policy]);
  });
  index = { clusterwide: clusterwidePlaced.map(([, p]) => p), clusterwidePlaced, byNamespace, merged: new Map() };
  policyIndexes.set(policies, index);
  return index;
}

/**
 * The policies that may select the subject, in the set's order. A namespaced policy selects only
 * pods of its namespace (evaluate.ts ruleSelects: `subject.peer.kind !== 'pod'` and another
 * namespace answer false); a node is tried against every policy, as before.
 */
export function candidatePolicies(
  policies: readonly CiliumPolicy[],
  subject: { readonly kind: 'node' } | { readonly kind: 'endpoint'; readonly peer: CiliumPeer },
): readonly CiliumPolicy[] {
  if (subject.kind === 'node') return policies;
  const index = policyIndex(policies);
  if (subject.peer.kind !== 'pod') return index.clusterwide;
  const namespace = subject.peer.namespace;
  let merged = index.merged.get(namespace);
  if (merged === undefined) {
    const own = index.byNamespace.get(namespace) ?? [];
    merged = [...index.clusterwidePlaced, ...own].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
    index.merged.set(namespace, merged);
  }
  return merged;
}

/**
 * The namespace the peer's identity gives for certain: its one `k8s:io.kubernetes.pod.namespace`
 * label (peerIdentity adds it to a pod whose labels are known); null when its labels are not known
 * or say no single namespace, and every entry is tried.
 */
export function certainNamespace(peer: CiliumPeer, options: CiliumOptions): string | null {
  if (peer.kind !== 'pod') return null;
  const labels = peerIdentity(peer, options).labels;
  if (labels === null) return null;
  const found = labels.filter((l) => l.source === SOURCE_K8S && l.key === POD_NAMESPACE_KEY);
  return found.length === 1 ? found[0]!.value : null;
}

interface EntryIndex {
  readonly byNamespace: ReadonlyMap<string, readonly number[]>;
  /** Entries any namespace's pod (or another peer) may match. */
  readonly rest: readonly number[];
  readonly merged: Map<string, readonly PeerRule[]>;
}

/** By a rule section's array (parsed policies are not changed). */
const entryIndexes = new WeakMap<readonly PeerRule[], EntryIndex>();

function entryIndex(entries: readonly PeerRule[], policy: CiliumPolicy, rule: Rule): EntryIndex {
  let index = entryIndexes.get(entries);
  if (index !== undefined) return index;
  const byNamespace = new Map<string, number[]>();
  const rest: number[] = [];
  entries.forEach((entry, at) => {
    const namespaces = entryNamespaces(entry, policy, rule.endpointSelector);
    if (namespaces === null) rest.push(at);
    else
      for (const namespace of namespaces) {
        const list = byNamespace.get(namespace);
        if (list === undefined) byNamespace.set(namespace, [at]);
        else list.push(at);
      }
  });
  index = { byNamespace, rest, merged: new Map() };
  entryIndexes.set(entries, index);
  return index;
}

/**
 * A rule section's entries that may match a peer of `peerNamespace` (all of them when it is null
 * or the section is small), in their order.
 */
export function candidateEntries(
  entries: readonly PeerRule[],
  selected: { readonly policy: CiliumPolicy; readonly rule: Rule },
  peerNamespace: string | null,
): readonly PeerRule[] {
  if (peerNamespace === null || entries.length < SMALL_SECTION) return entries;
  const index = entryIndex(entries, selected.policy, selected.rule);
  let merged = index.merged.get(peerNamespace);
  if (merged === undefined) {
    const positions = [...index.rest, ...(index.byNamespace.get(peerNamespace) ?? [])];
    merged = [...new Set(positions)].sort((a, b) => a - b).map((at) => entries[at]!);
    index.merged.set(peerNamespace, merged);
  }
  return merged;
}

const withRequiresCache = new WeakMap<readonly PeerRule[], readonly PeerRule[]>();

/** The entries with fromRequires/toRequires (evaluate.ts requiresHold reads only those). */
export function withRequires(entries: readonly PeerRule[]): readonly PeerRule[] {
  let found = withRequiresCache.get(entries);
  if (found === undefined) withRequiresCache.set(entries, (found = entries.filter((e) => (e.requires?.length ?? 0) > 0)));
  return found;
}
