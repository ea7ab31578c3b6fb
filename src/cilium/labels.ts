// Cilium's identity labels (`source:key=value`) and its label selectors: Kubernetes LabelSelectors
// whose keys carry a source. Written from pkg/labels/labels.go (parseSource, GetExtendedKeyFrom),
// pkg/labels/array.go (LabelArray.Has/Get: "The key can be of source "any", in which case the
// source is ignored. The inverse, however, is not true") and pkg/policy/types/requirements.go
// ([MAIN]: `case selection.NotIn, selection.NotEquals: return !exists || !r.HasValue(val)`), in
// Cilium v1.16.0 and main (cilium/cilium-cli v0.16.14 and v0.19.7 vendor trees).

import type { Truth } from '../calico/selector.ts';
import type { EndpointSelector, Requirement, SelectorKey } from './types.ts';

export interface Label {
  readonly source: string;
  readonly key: string;
  readonly value: string;
}

/** Known sources; a selector key `foo:bar` names source `foo` whatever it is (parseSource). */
export const SOURCE_ANY = 'any';
export const SOURCE_K8S = 'k8s';
export const SOURCE_RESERVED = 'reserved';

/** `k8s:io.kubernetes.pod.namespace` (pkg/k8s/apis/cilium.io/const.go PodNamespaceLabel). */
export const POD_NAMESPACE_KEY = 'io.kubernetes.pod.namespace';
/** `k8s:io.cilium.k8s.policy.cluster` (PolicyLabelCluster): every pod of a cluster carries it. */
export const CLUSTER_KEY = 'io.cilium.k8s.policy.cluster';
/** Namespace labels as identity labels (PodNamespaceMetaLabelsPrefix). */
export const NAMESPACE_LABELS_PREFIX = 'io.cilium.k8s.namespace.labels.';

/**
 * A selector key as pkg/labels' parseSource(str, ':') splits it: `$host` is reserved/host; text
 * before the first `:` is the source; no `:` means source `any` (GetExtendedKeyFrom).
 */
export function parseSelectorKey(text: string): SelectorKey {
  if (text.startsWith('$')) return { source: SOURCE_RESERVED, key: text.slice(1) };
  const colon = text.indexOf(':');
  if (colon === -1) return { source: SOURCE_ANY, key: text };
  return { source: text.slice(0, colon), key: text.slice(colon + 1) };
}

/** An identity label as Hubble prints it (`k8s:app=web`, `reserved:world`); null when it names no source. */
export function parseIdentityLabel(text: string): Label | null {
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  const rest = text.slice(colon + 1);
  const eq = rest.indexOf('=');
  return {
    source: text.slice(0, colon),
    key: eq === -1 ? rest : rest.slice(0, eq),
    value: eq === -1 ? '' : rest.slice(eq + 1),
  };
}

/** Labels whose key the selector key names: any source for `any:`, else that source only (LabelArray.Has). */
function labelsFor(key: SelectorKey, labels: readonly Label[]): readonly Label[] {
  return labels.filter((l) => l.key === key.key && (key.source === SOURCE_ANY || l.source === key.source));
}

/**
 * Does one requirement hold? Labels null = not known (the flow did not say), which answers
 * unknown. Where an `any:` key finds labels of several sources with different values, Cilium's
 * Get returns the first in its sorted array, which we do not reproduce: unknown if they disagree.
 */
function requirementMatches(r: Requirement, labels: readonly Label[] | null, complete: LabelsComplete = true): Truth {
  if (labels === null) return 'unknown';
  const found = labelsFor(r.key, labels);
  const exists = found.length > 0;
  // Labels known only in part: a label not among them may still be there.
  if (!exists && !absenceCertain(complete, r.key)) return 'unknown';
  const has = (l: Label) => r.values.includes(l.value);
  switch (r.operator) {
    case 'Exists':
      return exists;
    case 'DoesNotExist':
      return !exists;
    case 'In': {
      if (!exists) return false;
      const hits = found.filter(has).length;
      return hits === found.length ? true : hits === 0 ? false : 'unknown';
    }
    case 'NotIn': {
      if (!exists) return true;
      const hits = found.filter(has).length;
      return hits === 0 ? true : hits === found.length ? false : 'unknown';
    }
  }
}

/**
 * Whether labels are all of an endpoint's: true, false (some of them: a label's absence is not
 * certain), or per key (true where the absence of a label with that key is certain).
 */
export type LabelsComplete = boolean | ((key: SelectorKey) => boolean);

/** Is a label with this key, not among the known labels, certainly absent? */
export function absenceCertain(complete: LabelsComplete, key: SelectorKey): boolean {
  return typeof complete === 'function' ? complete(key) : complete;
}

/** All requirements hold (Kleene's AND): an empty selector matches everything. */
export function selectorMatches(selector: EndpointSelector, labels: readonly Label[] | null, complete: LabelsComplete = true): Truth {
  let result: Truth = true;
  for (const r of selector.requirements) {
    const truth = requirementMatches(r, labels, complete);
    if (truth === false) return false;
    if (truth === 'unknown') result = 'unknown';
  }
  return result;
}

/** Does the selector name this key (with source `k8s` or `any`), as EndpointSelector.HasKey does? */
export function selectorHasKey(selector: EndpointSelector, key: string, sources: readonly string[] = [SOURCE_K8S, SOURCE_ANY]): boolean {
  return selector.requirements.some((r) => r.key.key === key && sources.includes(r.key.source));
}

/** Does the selector name a key with this prefix (EndpointSelector.HasKeyPrefix)? */
export function selectorHasKeyPrefix(selector: EndpointSelector, prefix: string, sources: readonly string[]): boolean {
  return selector.requirements.some((r) => r.key.key.startsWith(prefix) && sources.includes(r.key.source));
}

export function describeSelector(selector: EndpointSelector): string {
  if (selector.requirements.length === 0) return '{}';
  return `{${selector.requirements
    .map((r) => {
      const key = `${r.key.source}:${r.key.key}`;
      if (r.operator === 'Exists' || r.operator === 'DoesNotExist') return `${key} ${r.operator}`;
      if (r.operator === 'In' && r.values.length === 1) return `${key}=${r.values[0]}`;
      return `${key} ${r.operator} (${r.values.join(', ')})`;
    })
    .join(', ')}}`;
}
