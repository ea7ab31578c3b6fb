// Where the kubernetes and cilium flavours keep rule provenance: their rules cannot carry
// annotations, so one policy annotation maps each rule of ours (by direction and peers) to its
// category and the time it was first added. The annotation must fit what Kubernetes and Calico accept, whatever the
// number of rules and peers.

import { ANNOTATIONS_SIZE_LIMIT, annotationsError, v1StoredAnnotationBytes } from '../../calico/names.ts';
import { textHash } from '../../util/content-hash.ts';
import { deepEqual, isPlainObject } from '../../util/plain.ts';
import { type Category, DIRECTIONS, type Direction, type Peer, peerKey } from '../model.ts';
import type { PolicyDocument } from '../policy-document.ts';
import { ANNOTATIONS } from '../provenance.ts';

/** Keys longer than this (a rule with many merged peers) are written as a digest of the key. */
const MAX_PLAIN_RULE_KEY = 200;

/**
 * Room left under ANNOTATIONS_SIZE_LIMIT for what Calico adds when it stores the policy (the tier
 * label clientv3 sets, a longer creationTimestamp) and for annotations people add later.
 */
const ANNOTATIONS_HEADROOM = 8 * 1024;

/** How a rule is named in the provenance annotation: direction and peers (a digest when long). */
export function ruleKey(direction: string, peers: readonly Peer[]): string {
  return shortKey(`${direction} ${peers.map(peerKey).join(', ')}`);
}

function shortKey(plain: string): string {
  if (plain.length <= MAX_PLAIN_RULE_KEY) return plain;
  return `${plain.slice(0, plain.indexOf(' '))} sha256:${textHash(plain)}`;
}

/** The entries recorded in a policy's annotations ({} when absent or not ours to read). */
export function readRuleRecord(annotations: unknown): Record<string, unknown> {
  const text = isPlainObject(annotations) ? annotations[ANNOTATIONS.rules] : undefined;
  if (typeof text !== 'string') return {};
  try {
    const value: unknown = JSON.parse(text);
    // Records written before keys were shortened hold long keys: read them as their digest.
    return isPlainObject(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [shortKey(k), v])) : {};
  } catch {
    return {};
  }
}

/** The keys of the rules a policy's record says are ours (PolicyFlavor.ownRuleKeys). */
export function recordedRuleKeys(policy: PolicyDocument): ReadonlySet<string> {
  return new Set(Object.keys(readRuleRecord(policy.metadata.annotations)));
}

/**
 * `annotations` with the record written into them (removed when empty), sorted by key. The record
 * must fit both Kubernetes' limit on annotations and Calico's storage of the whole metadata in one
 * annotation (names.ts, validateObjectMetaAnnotations and the crd.projectcalico.org/v1 backend):
 * it is written indented while that fits, compactly otherwise, and as a last resort only the
 * first entries that fit are kept. A rule whose entry is left out is no longer ours: it stays as
 * written and is never changed, which allows nothing new.
 */
export function writeRuleRecord<V>(
  annotations: Readonly<Record<string, V>>,
  entries: Readonly<Record<string, unknown>>,
  meta: { readonly name: string; readonly labels: Readonly<Record<string, string>> },
): Record<string, V | string> {
  const { [ANNOTATIONS.rules]: _old, ...others } = annotations;
  const keys = Object.keys(entries).sort();
  if (keys.length === 0) return others;
  const fits = (text: string): boolean => {
    const candidate = { ...others, [ANNOTATIONS.rules]: text };
    const limit = ANNOTATIONS_SIZE_LIMIT - ANNOTATIONS_HEADROOM;
    // annotationsError is null only when every value is a string.
    return (
      annotationsError(candidate) === null &&
      v1StoredAnnotationBytes({ ...meta, annotations: candidate as Record<string, string> }) <= limit
    );
  };
  const record = (n: number): Record<string, unknown> => Object.fromEntries(keys.slice(0, n).map((k) => [k, entries[k]]));
  const indented = JSON.stringify(record(keys.length), null, 2);
  if (fits(indented)) return { ...others, [ANNOTATIONS.rules]: indented };
  // The most entries that fit, written compactly (binary search: fitting shrinks with n).
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(JSON.stringify(record(mid)))) low = mid;
    else high = mid - 1;
  }
  return low === 0 ? others : { ...others, [ANNOTATIONS.rules]: JSON.stringify(record(low)) };
}

/** What a flavour recognises of one of its rules as written: its category and peers. */
export type RecogniseRule = (
  rule: unknown,
  direction: Direction,
) => { readonly category: Category; readonly peers: readonly Peer[] } | null;

/**
 * The policy with its rule record brought up to date (PolicyFlavor.finish of the flavours whose
 * rules cannot carry provenance): a rule is ours if we recorded it before, or if it was not in
 * `previous` (we wrote it in this run: first added `now`).
 */
export function withRuleRecord(
  policy: PolicyDocument,
  previous: PolicyDocument | null,
  now: string,
  recognise: RecogniseRule,
): PolicyDocument {
  const { metadata } = policy;
  const annotations = metadata.annotations ?? {};
  const recorded = readRuleRecord(annotations);
  const entries: Record<string, unknown> = {};
  for (const direction of DIRECTIONS) {
    const before = previous?.spec[direction] ?? [];
    for (const rule of policy.spec[direction] ?? []) {
      const shape = recognise(rule, direction);
      if (shape === null) continue;
      const key = ruleKey(direction, shape.peers);
      if (recorded[key] !== undefined) entries[key] = recorded[key];
      else if (!before.some((old) => deepEqual(old, rule))) {
        entries[key] = { category: shape.category, firstAdded: now };
      }
    }
  }
  const meta = { name: metadata.name, labels: metadata.labels ?? {} };
  return { ...policy, metadata: { ...metadata, annotations: writeRuleRecord(annotations, entries, meta) } };
}
