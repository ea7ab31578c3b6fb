// Enforcing an accepted staged policy: the same object, as the kind Calico enforces
// (StagedNetworkPolicy -> NetworkPolicy, StagedGlobalNetworkPolicy -> GlobalNetworkPolicy, and
// StagedKubernetesNetworkPolicy -> the networking.k8s.io/v1 NetworkPolicy, its apiVersion too), with
// the same metadata and spec and no `stagedAction`. The file is edited in place through the
// Document API, so people's comments, key order and style stay; only our own "Staged: ..." note
// in the header comment is replaced, as it would no longer be true (other headers get a line on
// top saying it is enforced). Pure.

import type { Document } from 'yaml';
import { CALICO_API_VERSION, KUBERNETES_NETWORKING_API_VERSION } from '../calico/types.ts';
import { parseYamlFile, stringifyDocuments } from '../yaml/document.ts';

export const ENFORCED_KINDS = {
  StagedNetworkPolicy: 'NetworkPolicy',
  StagedGlobalNetworkPolicy: 'GlobalNetworkPolicy',
  StagedKubernetesNetworkPolicy: 'NetworkPolicy',
} as const;

/** The enforced kind's apiVersion: Calico's, or Kubernetes' for a staged Kubernetes policy. */
const ENFORCED_API_VERSIONS: Readonly<Record<StagedKind, string>> = {
  StagedNetworkPolicy: CALICO_API_VERSION,
  StagedGlobalNetworkPolicy: CALICO_API_VERSION,
  StagedKubernetesNetworkPolicy: KUBERNETES_NETWORKING_API_VERSION,
};

export type StagedKind = keyof typeof ENFORCED_KINDS;

export interface PolicyTarget {
  readonly kind: StagedKind;
  /** null for the global kind. */
  readonly namespace: string | null;
  readonly name: string;
}

const STAGED_NOTE = / Staged: Calico reports what it would deny without denying anything\./;
const ENFORCED_NOTE = ' Enforced: Calico denies what these rules do not allow (it was staged until it had denied nothing for a while).';

/**
 * The file's text with the target policy enforced, or null when the file holds no such policy.
 * A `stagedAction: Delete` policy is not a policy to enforce: null as well.
 */
export function enforcePolicyInFile(text: string, path: string, target: PolicyTarget): string | null {
  const docs = parseYamlFile(text, path);
  const doc = docs.find((d) => matches(d, target));
  if (doc === undefined) return null;
  const action = doc.getIn(['spec', 'stagedAction']);
  if (action !== undefined && action !== 'Set') return null;
  if (ENFORCED_API_VERSIONS[target.kind] !== CALICO_API_VERSION) doc.set('apiVersion', ENFORCED_API_VERSIONS[target.kind]);
  doc.set('kind', ENFORCED_KINDS[target.kind]);
  doc.deleteIn(['spec', 'stagedAction']);
  const comment = doc.commentBefore ?? '';
  // Our note is replaced; any other header (a template's, a person's) gets the fact on top.
  doc.commentBefore = STAGED_NOTE.test(comment)
    ? comment.replace(STAGED_NOTE, ENFORCED_NOTE)
    : `${ENFORCED_NOTE}${comment ? `\n${comment}` : ''}`;
  return stringifyDocuments(docs, text);
}

function matches(doc: Document, target: PolicyTarget): boolean {
  return (
    doc.get('apiVersion') === CALICO_API_VERSION &&
    doc.get('kind') === target.kind &&
    doc.getIn(['metadata', 'name']) === target.name &&
    (doc.getIn(['metadata', 'namespace']) ?? null) === target.namespace
  );
}
