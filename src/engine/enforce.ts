// Enforcing an accepted staged policy: the same object, as the kind Calico enforces
// (StagedNetworkPolicy -> NetworkPolicy, StagedGlobalNetworkPolicy -> GlobalNetworkPolicy), with
// the same metadata and spec and no `stagedAction`. The file is edited in place through the
// Document API, so people's comments, key order and style stay; only our own "Staged: ..." note
// in the header comment is replaced, as it would no longer be true (other headers get a line on
// top saying it is enforced). Pure.

import type { Document } from 'yaml';
import { parseYamlFile, stringifyDocuments } from '../yaml/document.ts';

export const ENFORCED_KINDS = {
  StagedNetworkPolicy: 'NetworkPolicy',
  StagedGlobalNetworkPolicy: 'GlobalNetworkPolicy',
} as const;

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
  doc.set('kind', ENFORCED_KINDS[target.kind]);
  doc.deleteIn(['spec', 'stagedAction']);
  const comment = doc.commentBefore ?? '';
  // Our note is replaced; any other header (a template's, a person's) gets the fact on top.
  doc.commentBefore = STAGED_NOTE.test(comment) ? comment.replace(STAGED_NOTE, ENFORCED_NOTE) : `${ENFORCED_NOTE}${comment ? `\n${comment}` : ''}`;
  return stringifyDocuments(docs, text);
}

function matches(doc: Document, target: PolicyTarget): boolean {
  return (
    doc.get('apiVersion') === 'projectcalico.org/v3' &&
    doc.get('kind') === target.kind &&
    doc.getIn(['metadata', 'name']) === target.name &&
    (doc.getIn(['metadata', 'namespace']) ?? null) === target.namespace
  );
}
