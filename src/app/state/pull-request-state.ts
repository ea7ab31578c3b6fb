// What the bot remembers about one recommendation pull request, kept in a hidden marker in the
// PR body: which cluster and namespace it is for, a hash of the files it proposes (an unchanged
// recommendation is recognised without fetching the branch), the commit the bot wrote (any
// other head means a person committed), the policy files it wrote (the engine's memory while the
// PR is open), and the evidence accumulated for each rule across runs. Which unit a PR is for is
// its branch's name (proposal-key.ts).

import { decodeMarker, encodeMarker, replaceMarker } from './marker.ts';

export const RECOMMENDATION_LABEL = 'policy-recommendation';
/** In the body of a PR the bot closed itself (as obsolete): not a person's dismissal. */
export const OBSOLETE_MARKER = '<!-- policy-recommender:obsolete -->';
export const REBASE_LABEL = 'policy-recommender:rebase';
/** The labels that say where a PR stands (one at a time): its status, or that it enforces. */
export const STATUS_LABELS = ['Learning', 'Stabilizing', 'Stable', 'Enforce'] as const;
const MARKER_KIND = 'pr';

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
  /** The policy files the PR proposes, relative to the cluster's path, and their content. */
  readonly memory: Readonly<Record<string, string>>;
  readonly evidence: Readonly<Record<string, RuleEvidence>>;
  /** Notices already given once (e.g. `edited`). */
  readonly notified: readonly string[];
  /** The repository does not support draft pull requests: the status label stands in. */
  readonly noDrafts?: true;
  /**
   * The default branch's tree the commit was built on, and the repository paths the commit
   * changes: when the default branch moves, only these paths can make the PR conflict
   * (run/mergeability.ts). Absent in states written by earlier releases.
   */
  readonly base?: { readonly tree: string; readonly paths: readonly string[] };
  /**
   * The `/policy-recommender rebase` comments (GitHub's comment ids) a rebuild of this PR served,
   * the latest REBASE_COMMANDS_KEPT: the same command delivered again is not served again.
   */
  readonly rebaseCommands?: readonly number[];
  /**
   * Cilium (no staged policies: the open PR is the staging area): since when (unix seconds) nothing
   * the PR's policies would deny was seen, counted from when it was first proposed.
   */
  readonly quietSince?: number;
}

export const REBASE_COMMANDS_KEPT = 20;

/** Closed unmerged by a person: "dismiss, never propose again". */
export function isDismissal(pr: { state: string; body: string }): boolean {
  return pr.state === 'closed' && !pr.body.includes(OBSOLETE_MARKER);
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
    memory: memoryOf(value as Record<string, unknown>),
    evidence: typeof value.evidence === 'object' && value.evidence !== null ? value.evidence : {},
    notified: Array.isArray(value.notified) ? value.notified.map(String) : [],
    ...(value.noDrafts === true ? { noDrafts: true as const } : {}),
    ...baseOf(value.base),
    ...(Array.isArray(value.rebaseCommands) && value.rebaseCommands.every((c) => Number.isSafeInteger(c))
      ? { rebaseCommands: value.rebaseCommands }
      : {}),
    ...(Number.isSafeInteger(value.quietSince) ? { quietSince: value.quietSince! } : {}),
  };
}

function baseOf(base: unknown): { base?: NonNullable<PullRequestState['base']> } {
  if (typeof base !== 'object' || base === null) return {};
  const { tree, paths } = base as Record<string, unknown>;
  if (typeof tree !== 'string' || !Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) return {};
  return { base: { tree, paths: paths as string[] } };
}

/** The policy files recorded, from this version's `memory` or an earlier one's single `policy`. */
function memoryOf(value: Record<string, unknown>): Record<string, string> {
  const memory = value['memory'];
  // Built with fromEntries: a key such as `__proto__` stays a key, never a prototype.
  if (typeof memory === 'object' && memory !== null && !Array.isArray(memory)) {
    return Object.fromEntries(Object.entries(memory).filter((e): e is [string, string] => typeof e[1] === 'string'));
  }
  if (typeof value['policyPath'] === 'string' && typeof value['policy'] === 'string')
    return Object.fromEntries([[value['policyPath'], value['policy']]]);
  return {};
}
