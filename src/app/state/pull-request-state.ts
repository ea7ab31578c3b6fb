// What the bot remembers about one recommendation pull request, kept in a hidden marker in the
// PR body: which cluster and namespace it is for, a hash of the files it proposes (an unchanged
// recommendation is recognised without fetching the branch), the commit the bot wrote (any
// other head means a person committed), the policy file it wrote (the engine's memory while the
// PR is open), and the evidence accumulated for each rule across runs.

import { createHash } from 'node:crypto';
import { isDnsLabel } from '../../calico/names.ts';
import { decodeMarker, encodeMarker, replaceMarker } from './marker.ts';

export const RECOMMENDATION_LABEL = 'policy-recommendation';
/** In the body of a PR the bot closed itself (as obsolete): not a person's dismissal. */
export const OBSOLETE_MARKER = '<!-- policy-recommender:obsolete -->';
export const REBASE_LABEL = 'policy-recommender:rebase';
export const STATUS_LABELS = ['Learning', 'Stabilizing', 'Stable'] as const;
const MARKER_KIND = 'pr';
const BRANCH_PREFIX = 'policy-recommender/';

/** Evidence of one rule: flows seen, first and last seen (unix seconds). */
export type RuleEvidence = readonly [flows: number, first: number, last: number];

export interface PullRequestState {
  readonly v: 1;
  readonly cluster: string;
  readonly namespace: string;
  /** Engine version that wrote it. */
  readonly engine: string;
  /** Hash of the proposed files (path and content). */
  readonly hash: string;
  /** The commit the bot made; a different branch head means someone else committed. */
  readonly commit: string;
  /**
   * The bot's commit before this one: an update records its new commit before moving the
   * branch, so a head still at `previous` is the bot's own, left behind by an interrupted run.
   */
  readonly previous?: string;
  /** The policy file the PR proposes, relative to the cluster's path, and its content. */
  readonly policyPath: string;
  readonly policy: string | null;
  readonly evidence: Readonly<Record<string, RuleEvidence>>;
  /** Notices already given once (e.g. `edited`). */
  readonly notified: readonly string[];
  /** The repository does not support draft pull requests: the status label stands in. */
  readonly noDrafts?: true;
}

/** Closed unmerged by a person: "dismiss, never propose again". */
export function isDismissal(pr: { state: string; body: string }): boolean {
  return pr.state === 'closed' && !pr.body.includes(OBSOLETE_MARKER);
}

export function branchName(cluster: string, namespace: string): string {
  return `${BRANCH_PREFIX}${cluster}/${namespace}`;
}

export function parseBranch(branch: string): { cluster: string; namespace: string } | null {
  if (!branch.startsWith(BRANCH_PREFIX)) return null;
  const [cluster, namespace, ...rest] = branch.slice(BRANCH_PREFIX.length).split('/');
  return rest.length === 0 && cluster && namespace && isDnsLabel(cluster) && isDnsLabel(namespace) ? { cluster, namespace } : null;
}

export function contentHash(files: ReadonlyMap<string, string>): string {
  const hash = createHash('sha256');
  for (const path of [...files.keys()].sort()) hash.update(`${path}\0${files.get(path)}\0`);
  return hash.digest('hex').slice(0, 20);
}

export function encodeState(state: PullRequestState): string {
  return encodeMarker(MARKER_KIND, state);
}

/** A PR body with its state replaced, everything else untouched. */
export function replaceState(body: string, state: PullRequestState): string {
  return replaceMarker(body, MARKER_KIND, state);
}

/** The state in a PR body, or null when it is missing or not one of ours. */
export function decodeState(body: string): PullRequestState | null {
  const value = decodeMarker(body, MARKER_KIND) as Partial<PullRequestState> | null;
  if (value === null || value.v !== 1 || typeof value.hash !== 'string' || typeof value.commit !== 'string') return null;
  return {
    v: 1,
    cluster: String(value.cluster ?? ''),
    namespace: String(value.namespace ?? ''),
    engine: String(value.engine ?? ''),
    hash: value.hash,
    commit: value.commit,
    ...(typeof value.previous === 'string' ? { previous: value.previous } : {}),
    policyPath: String(value.policyPath ?? ''),
    policy: typeof value.policy === 'string' ? value.policy : null,
    evidence: typeof value.evidence === 'object' && value.evidence !== null ? value.evidence : {},
    notified: Array.isArray(value.notified) ? value.notified.map(String) : [],
    ...(value.noDrafts === true ? { noDrafts: true as const } : {}),
  };
}
