// Deciding, not doing: from what a run observed about each namespace (its recommendation, its
// pull request, its history) to one action per namespace, with the repository's PR limits
// applied in a stable order. Pure; apply.ts carries the actions out.

import type { RecommendationStatus } from '../../engine/status.ts';
import type { PullRequestInfo } from '../github/repository.ts';
import { decodeState, isDismissal, REBASE_LABEL, type PullRequestState } from '../state/pull-request-state.ts';
import type { NamespaceRecommendation } from './namespace-recommendation.ts';

export interface NamespaceFacts {
  readonly cluster: string;
  readonly namespace: string;
  /** What the PR should propose now; null when nothing differs from the default branch. */
  readonly recommendation: NamespaceRecommendation | null;
  readonly status: RecommendationStatus | null;
  readonly openPullRequest: PullRequestInfo | null;
  readonly state: PullRequestState | null;
  /** The most recent PR for the namespace's branch in any state (looked up for candidates only). */
  readonly latest?: PullRequestInfo | null;
  /** Why the namespace no longer gets recommendations (deleted, not selected), if so. */
  readonly gone: string | null;
  /** The namespace's policy is on the default branch. */
  readonly accepted: boolean;
  /** A person asked (on the dashboard) to propose a dismissed namespace again. */
  readonly recreate: boolean;
}

export type Action =
  | { readonly kind: 'none' }
  | { readonly kind: 'open'; readonly update: boolean }
  | { readonly kind: 'update'; readonly pr: PullRequestInfo; readonly rebase: boolean }
  /** A run recorded its commit but stopped before moving the branch, and nothing changed since: move it. */
  | { readonly kind: 'resume'; readonly pr: PullRequestInfo; readonly commit: string }
  /** Same files, but the status (labels, draft, body) moved. */
  | { readonly kind: 'refresh'; readonly pr: PullRequestInfo }
  | { readonly kind: 'close'; readonly pr: PullRequestInfo; readonly reason: string }
  | { readonly kind: 'notify-edited'; readonly pr: PullRequestInfo };

/** What the dashboard shows for a namespace. */
export type DashboardState =
  | 'Learning'
  | 'Stabilizing'
  | 'Ready for review'
  | 'Accepted'
  | 'Dismissed'
  | 'Edited'
  | 'Awaiting PR limits'
  | 'Closed as obsolete'
  | 'No traffic'
  | 'Error';

export interface Decision {
  readonly facts: NamespaceFacts;
  readonly action: Action;
  readonly dashboard: DashboardState;
}

export interface Limits {
  /** 0 = no limit. */
  readonly concurrent: number;
  readonly hourly: number;
  /** The bot's open PRs now, and how many of them were opened in the last hour. */
  readonly open: number;
  readonly openedLastHour: number;
}

/** Namespaces whose next step depends on their PR history (latest PR of their branch). */
export function needsHistory(facts: NamespaceFacts): boolean {
  return facts.openPullRequest === null && facts.recommendation !== null && facts.gone === null;
}

export function decide(all: readonly NamespaceFacts[], limits: Limits, afterMerge: 'propose-updates' | 'stop'): Decision[] {
  let open = limits.open;
  let opened = limits.openedLastHour;
  const ordered = [...all].sort((a, b) => (a.cluster === b.cluster ? (a.namespace < b.namespace ? -1 : 1) : a.cluster < b.cluster ? -1 : 1));
  return ordered.map((facts): Decision => {
    const pr = facts.openPullRequest;
    if (pr !== null) return withPullRequest(facts, pr);
    if (facts.gone !== null || facts.recommendation === null) {
      return { facts, action: { kind: 'none' }, dashboard: facts.accepted ? 'Accepted' : 'No traffic' };
    }
    const latest = facts.latest ?? null;
    // Open but unlabelled: a run stopped between creating it and labelling it. It is ours: adopt it.
    if (latest?.state === 'open') return withPullRequest({ ...facts, openPullRequest: latest, state: decodeState(latest.body) }, latest);
    if (latest !== null && isDismissal(latest) && !facts.recreate) return { facts, action: { kind: 'none' }, dashboard: 'Dismissed' };
    const update = facts.accepted || latest?.state === 'merged';
    if (update && afterMerge === 'stop') return { facts, action: { kind: 'none' }, dashboard: 'Accepted' };
    if ((limits.concurrent > 0 && open >= limits.concurrent) || (limits.hourly > 0 && opened >= limits.hourly)) {
      return { facts, action: { kind: 'none' }, dashboard: 'Awaiting PR limits' };
    }
    open++;
    opened++;
    return { facts, action: { kind: 'open', update }, dashboard: statusState(facts.status) };
  });
}

function withPullRequest(facts: NamespaceFacts, pr: PullRequestInfo): Decision {
  const rebase = pr.labels.includes(REBASE_LABEL);
  const state = facts.state;
  // A PR without our state, or whose branch head is neither of our last commits, was edited by a person.
  const stale = lagging(pr, state);
  const edited = state === null || (pr.headOid !== state.commit && !stale);
  if (facts.gone !== null) return { facts, action: { kind: 'close', pr, reason: facts.gone }, dashboard: 'Closed as obsolete' };
  if (edited && !rebase) {
    const notified = state?.notified.includes('edited') ?? false;
    return { facts, action: notified ? { kind: 'none' } : { kind: 'notify-edited', pr }, dashboard: 'Edited' };
  }
  if (facts.recommendation === null) {
    return { facts, action: { kind: 'close', pr, reason: 'its changes are already on the default branch: nothing is left to add' }, dashboard: 'Closed as obsolete' };
  }
  // Stale: a run recorded a new commit but stopped before moving the branch to it. If the
  // recommendation is still the one recorded, that commit is the result: the branch moves to it.
  if (stale && !rebase && facts.recommendation.hash === state!.hash) return { facts, action: { kind: 'resume', pr, commit: state!.commit }, dashboard: statusState(facts.status) };
  if (rebase || stale || facts.recommendation.hash !== state!.hash) return { facts, action: { kind: 'update', pr, rebase }, dashboard: statusState(facts.status) };
  // Where drafts are unavailable (private repositories on free plans) the status label says it.
  const draftOk = state!.noDrafts === true || pr.draft === (facts.status !== 'Stable');
  const labelled = facts.status !== null && pr.labels.includes(facts.status);
  const current = draftOk && labelled;
  return { facts, action: current ? { kind: 'none' } : { kind: 'refresh', pr }, dashboard: statusState(facts.status) };
}

/** The PR's branch is still at the commit before the one its state records (a run stopped in between). */
export function lagging(pr: PullRequestInfo, state: PullRequestState | null): boolean {
  return state !== null && state.previous !== undefined && pr.headOid === state.previous && pr.headOid !== state.commit;
}

function statusState(status: RecommendationStatus | null): DashboardState {
  return status === 'Stable' ? 'Ready for review' : (status ?? 'Learning');
}
