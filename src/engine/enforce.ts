// Enforcing an accepted staged policy: the same object, as the kind Calico enforces
// (StagedNetworkPolicy -> NetworkPolicy, StagedGlobalNetworkPolicy -> GlobalNetworkPolicy, and
// StagedKubernetesNetworkPolicy -> the networking.k8s.io/v1 NetworkPolicy, its apiVersion too), with
// the same metadata and spec and no `stagedAction`. The file is edited in place through the
// Document API, so people's comments, key order and style stay: an enforce PR changes the kind
// and stagedAction and nothing else (apiVersion too for a Kubernetes policy). Our header note
// (stagedNote) is true of both kinds, so it stays; files written before it had a "Staged: ..."
// note, which is replaced, as it would no longer be true. Pure.

import type { Document } from 'yaml';
import { CALICO_API_VERSION, KUBERNETES_NETWORKING_API_VERSION } from '../calico/types.ts';
import { parseYamlFile, stringifyDocuments } from '../yaml/document.ts';
import { editInPlace, type InPlaceEdit } from '../yaml/edit-in-place.ts';

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

/** The header note of files we write: what the policy does while staged and after its enforce PR, true of both. */
export function stagedNote(kind: StagedKind): string {
  const enforced =
    ENFORCED_API_VERSIONS[kind] === CALICO_API_VERSION ? ENFORCED_KINDS[kind] : `${ENFORCED_KINDS[kind]} of ${ENFORCED_API_VERSIONS[kind]}`;
  return ` While its kind is ${kind}, Calico reports what it would deny without denying anything; its enforce PR changes only the kind, to ${enforced}, and Calico then denies what these rules do not allow.`;
}

/** The note of files written before stagedNote, and of the template's default deny before it. */
const LEGACY_STAGED_NOTE = / Staged: Calico reports what it would deny without denying anything\./;
const LEGACY_TEMPLATE_NOTE = /It is \*staged\*: Calico reports what it would deny/;
const LEGACY_ENFORCED_NOTE =
  ' Enforced: Calico denies what these rules do not allow (it was staged until it had denied nothing for a while).';

/**
 * The file's text with the target policy enforced, or null when the file holds no such policy.
 * A `stagedAction: Delete` policy is not a policy to enforce: null as well.
 */
export function enforcePolicyInFile(text: string, path: string, target: PolicyTarget): string | null {
  const docs = parseYamlFile(text, path);
  const index = docs.findIndex((d) => matches(d, target));
  const doc = docs[index];
  if (doc === undefined) return null;
  const action = doc.getIn(['spec', 'stagedAction']);
  if (action !== undefined && action !== 'Set') return null;
  const apiVersion = ENFORCED_API_VERSIONS[target.kind];
  const edits: InPlaceEdit[] = [
    ...(apiVersion !== CALICO_API_VERSION ? [{ set: ['apiVersion'], value: apiVersion }] : []),
    { set: ['kind'], value: ENFORCED_KINDS[target.kind] },
    ...(action === undefined ? [] : [{ delete: ['spec', 'stagedAction'] }]),
  ];
  for (const edit of edits) {
    if ('set' in edit) doc.setIn(edit.set, edit.value);
    else doc.deleteIn(edit.delete);
  }
  // A header of an earlier release that says "staged" would no longer be true: our note is
  // replaced, the template's gets the fact on top. Any other header is left as it is.
  const comment = doc.commentBefore ?? '';
  if (LEGACY_STAGED_NOTE.test(comment)) doc.commentBefore = comment.replace(LEGACY_STAGED_NOTE, stagedNote(target.kind));
  else if (LEGACY_TEMPLATE_NOTE.test(comment)) doc.commentBefore = `${LEGACY_ENFORCED_NOTE}\n${comment}`;
  else {
    // Nothing else changes: edit the text itself, so not even a folded scalar is laid out anew.
    const inPlace = editInPlace(text, path, index, edits, docs);
    if (inPlace !== null) return inPlace;
  }
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
