// Deciding, not doing: from what a run observed about each unit (a namespace's isolation policy,
// its workloads' policies, an enforcement: its proposed change, its pull request, its history) to
// one action per unit, with the repository's PR limits applied in a stable order. Pure; apply.ts
// carries the actions out.

import type { RecommendationStatus } from '../../engine/status.ts';
import type { UnitChange } from '../../plan/lifecycle/unit.ts';
import { keyId, type ProposalKey, parseBranch } from '../../plan/lifecycle/unit-key.ts';
import type { PullRequestInfo } from '../github/repository.ts';
import type { DashboardState } from '../state/dashboard-state.ts';
import { decodeState, isDismissal, type PullRequestState, REBASE_LABEL, STATUS_LABELS } from '../state/pull-request-state.ts';

export interface UnitFacts {
  readonly key: ProposalKey;
  /** The namespace the unit belongs to (null: cluster-wide). */
  readonly namespace: string | null;
  readonly cluster: string;
  /** What the PR should propose now; null when nothing differs from the default branch. */
  readonly change: UnitChange | null;
  readonly status: RecommendationStatus | null;
  readonly openPullRequest: PullRequestInfo | null;
  readonly state: PullRequestState | null;
  /** The most recent PR for the namespace's branch in any state (looked up for candidates only). */
  readonly latest?: PullRequestInfo | null;
  /** Why the unit no longer gets a pull request (namespace deleted, not selected, no longer ready to enforce), if so. */
  readonly gone: string | null;
  /** The unit's policies are on the default branch. */
  readonly accepted: boolean;
  /** The namespace's isolation policy on the default branch is enforced (a NetworkPolicy). */
  readonly enforced?: boolean;
  /** A person asked (on the dashboard) to propose a dismissed unit again. */
  readonly recreate: boolean;
  /** An earlier run saw the dismissal through (its comment said, its branch deleted). */
  readonly dismissalNoted?: boolean;
  /** The namespace exists but `namespaceSpec` does not select it (or recommendations are disabled). */
  readonly notSelected?: boolean;
  /**
   * The open PR merges cleanly into the default branch as it is now (run/mergeability.ts);
   * undefined when not known (no PR, a person's commit, a state from an earlier release).
   */
  readonly mergeable?: boolean;
  /**
   * `/policy-recommender rebase` comments on the open PR that no rebuild served yet (their ids:
   * run/inbox.ts, the PR state's `rebaseCommands`); its change then ignores the PR's memory.
   */
  readonly rebaseCommands?: readonly number[];
}

type Action =
  | { readonly kind: 'none' }
  | { readonly kind: 'open'; readonly update: boolean }
  | { readonly kind: 'update'; readonly pr: PullRequestInfo; readonly rebase: boolean }
  /** A run recorded its commit but stopped before moving the branch, and nothing changed since: move it. */
  | { readonly kind: 'resume'; readonly pr: PullRequestInfo; readonly commit: string }
  /** Same files, but the status (labels, draft, body) moved. */
  | { readonly kind: 'refresh'; readonly pr: PullRequestInfo }
  | { readonly kind: 'close'; readonly pr: PullRequestInfo; readonly reason: string }
  | { readonly kind: 'notify-edited'; readonly pr: PullRequestInfo }
  /** Dismissed by a person: make sure it was said once and its branch is gone (as decideClosed would: apply.ts tidyClosed). */
  | { readonly kind: 'note-dismissal'; readonly pr: PullRequestInfo };

export interface Decision {
  readonly facts: UnitFacts;
  readonly action: Action;
  readonly dashboard: DashboardState;
  /** What the dashboard says beside the state: for `Awaiting PR limits`, which limit holds it. */
  readonly note?: string;
}

export interface Limits {
  /** 0 = no limit. */
  readonly concurrent: number;
  readonly hourly: number;
  /** The bot's open PRs now, and how many of them were opened in the last hour. */
  readonly open: number;
  readonly openedLastHour: number;
}

/** Units whose next step depends on their PR history (latest PR of their branch). */
export function needsHistory(facts: UnitFacts): boolean {
  return facts.openPullRequest === null && facts.change !== null && facts.gone === null;
}

/**
 * The order in which units get a PR when the limits leave room for some: enforcements first (an
 * accepted policy that has proven itself is one merge from done, and without a turn of its own a
 * stream of new namespaces would hold it back for ever), then updates of accepted policies, then
 * new proposals; by key within each. Every PR counts against the limits, enforcements too: they
 * are there to keep the reviewers' queue short, and an enforce PR is reviewed like any other.
 */
function priority(facts: UnitFacts): number {
  return isEnforcement(facts.key) ? 0 : facts.accepted ? 1 : 2;
}

/** Which limit holds a unit back, in the configuration's words. */
function heldBy(limits: Limits, open: number, opened: number): string | null {
  if (limits.concurrent > 0 && open >= limits.concurrent) {
    return `pullRequests.concurrentLimit (${limits.concurrent}) holds it back: ${plural(open, 'recommendation pull request is', 'recommendation pull requests are')} open; it is opened when one is merged or closed`;
  }
  if (limits.hourly > 0 && opened >= limits.hourly) {
    return `pullRequests.hourlyLimit (${limits.hourly}) holds it back: ${plural(opened, 'pull request was', 'pull requests were')} opened in the last hour`;
  }
  return null;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function decide(all: readonly UnitFacts[], limits: Limits, afterMerge: 'propose-updates' | 'stop'): Decision[] {
  let open = limits.open;
  let opened = limits.openedLastHour;
  const byKey = (a: UnitFacts, b: UnitFacts) => (keyId(a.key) < keyId(b.key) ? -1 : keyId(a.key) > keyId(b.key) ? 1 : 0);
  // Decided in priority order (who gets room under the limits), returned in key order (the dashboard's).
  const ordered = [...all].sort((a, b) => priority(a) - priority(b) || byKey(a, b));
  const decisions = ordered.map((facts): Decision => {
    const pr = facts.openPullRequest;
    if (pr !== null) return withPullRequest(facts, pr);
    if (facts.gone !== null || facts.change === null) {
      return {
        facts,
        action: { kind: 'none' },
        dashboard: facts.enforced ? 'Enforced' : facts.accepted ? 'Accepted' : facts.notSelected ? 'Not selected' : 'No traffic',
      };
    }
    const latest = facts.latest ?? null;
    // Open but unlabelled: a run stopped between creating it and labelling it. It is ours: adopt it.
    if (latest?.state === 'open') return withPullRequest({ ...facts, openPullRequest: latest, state: decodeState(latest.body) }, latest);
    if (latest !== null && isDismissal(latest) && !facts.recreate) {
      return { facts, action: facts.dismissalNoted ? { kind: 'none' } : { kind: 'note-dismissal', pr: latest }, dashboard: 'Dismissed' };
    }
    const update = facts.accepted || latest?.state === 'merged';
    if (update && afterMerge === 'stop') return { facts, action: { kind: 'none' }, dashboard: facts.enforced ? 'Enforced' : 'Accepted' };
    // The cluster-wide files' PR is not a recommendation: the limits, which pace reviews of
    // recommendations, neither hold it back nor count it.
    if (facts.key.kind === 'bootstrap') return { facts, action: { kind: 'open', update }, dashboard: statusState(facts.status) };
    const held = heldBy(limits, open, opened);
    if (held !== null) return { facts, action: { kind: 'none' }, dashboard: 'Awaiting PR limits', note: held };
    open++;
    opened++;
    return { facts, action: { kind: 'open', update }, dashboard: statusState(facts.status) };
  });
  return decisions.sort((a, b) => byKey(a.facts, b.facts));
}

function withPullRequest(facts: UnitFacts, pr: PullRequestInfo): Decision {
  const rebase = pr.labels.includes(REBASE_LABEL) || (facts.rebaseCommands?.length ?? 0) > 0;
  const state = facts.state;
  // A PR without our state, or whose branch head is neither of our last commits, was edited by a person.
  const stale = lagging(pr, state);
  const edited = state === null || (pr.headOid !== state.commit && !stale);
  if (facts.gone !== null) return { facts, action: { kind: 'close', pr, reason: facts.gone }, dashboard: 'Closed as obsolete' };
  if (edited && !rebase) {
    const notified = state?.notified.includes('edited') ?? false;
    return { facts, action: notified ? { kind: 'none' } : { kind: 'notify-edited', pr }, dashboard: 'Edited' };
  }
  if (facts.change === null) {
    // A rebase rebuilds a recommendation from this run's flows alone (cluster-units.ts sets the
    // PR's policies aside), so "nothing differs" then says no traffic of the unit beyond the
    // default branch's policies was read, not that the PR's changes were merged some other way.
    // Enforcements, the cluster-wide files and an enforced namespace are not rebuilt from flows.
    const reason =
      rebase && keepsCommitWhenClean(facts) && facts.enforced !== true
        ? 'a rebase was asked for, and rebuilt from the flows this run read (the policies it proposed set aside) it adds nothing to the default branch: no traffic beyond what the default branch allows was seen'
        : 'its changes are already on the default branch: nothing is left to add';
    return { facts, action: { kind: 'close', pr, reason }, dashboard: 'Closed as obsolete' };
  }
  // Stale: a run recorded a new commit but stopped before moving the branch to it. If the
  // recommendation is still the one recorded, that commit is the result: the branch moves to it.
  if (stale && !rebase && facts.change.hash === state!.hash)
    return { facts, action: { kind: 'resume', pr, commit: state!.commit }, dashboard: statusState(facts.status) };
  // A PR is rebuilt when its recommendation changed, when it conflicts with the default branch,
  // or when its files would change for a reason a clean merge does not take care of. A PR whose
  // policies are as recorded and that merges cleanly is left alone even though the default branch
  // moved (a list it extends gained another PR's entry): its commit, and its reviews, stay.
  const conflicted = facts.mergeable === false;
  const baseMovedOnly =
    facts.change.hash !== state!.hash &&
    facts.mergeable === true &&
    keepsCommitWhenClean(facts) &&
    sameFiles(facts.change.memory, state!.memory);
  if (rebase || stale || conflicted || (facts.change.hash !== state!.hash && !baseMovedOnly))
    return { facts, action: { kind: 'update', pr, rebase }, dashboard: statusState(facts.status) };
  // Where drafts are unavailable (private repositories on free plans) the status label says it.
  const draftOk = state!.noDrafts === true || pr.draft === (facts.status !== 'Stable');
  const labelled = facts.status !== null && pr.labels.includes(statusLabel(facts));
  // Cilium: a flow its policies would deny moves the PR's quiet time on, and its body lists it.
  const quiet = facts.change.quietSince === undefined || state!.quietSince === facts.change.quietSince;
  const current = draftOk && labelled && quiet;
  return { facts, action: current ? { kind: 'none' } : { kind: 'refresh', pr }, dashboard: statusState(facts.status) };
}

/**
 * Whether the decision about this unit's open PR depends on its mergeability (so the run asks
 * run/mergeability.ts, which may cost a request): its files are as recorded (a conflict alone then
 * rebuilds it), or only the default branch moved under a recommendation whose policies are as
 * recorded. A PR rebuilt anyway, closed, or a person's, does not need the answer.
 */
export function mergeabilityMatters(facts: UnitFacts): boolean {
  const { openPullRequest: pr, state, change } = facts;
  if (
    pr === null ||
    state === null ||
    change === null ||
    facts.gone !== null ||
    pr.labels.includes(REBASE_LABEL) ||
    (facts.rebaseCommands?.length ?? 0) > 0 ||
    pr.headOid !== state.commit
  )
    return false;
  return change.hash === state.hash || (keepsCommitWhenClean(facts) && sameFiles(change.memory, state.memory));
}

/**
 * Recommendations: their memory is their policies, and a clean merge of a PR whose policies are
 * unchanged yields them. Enforcements and the bootstrap are derived from the default branch's
 * files, so any change of theirs is rebuilt.
 */
function keepsCommitWhenClean(facts: UnitFacts): boolean {
  return facts.key.kind === 'namespace' || facts.key.kind === 'workloads';
}

function sameFiles(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length > 0 && keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/** The PR's branch is still at the commit before the one its state records (a run stopped in between). */
export function lagging(pr: PullRequestInfo, state: PullRequestState | null): boolean {
  return state !== null && state.previous !== undefined && pr.headOid === state.previous && pr.headOid !== state.commit;
}

/** The label that says where a PR stands: its status, or `Enforce` for an enforcement. */
export function statusLabel(facts: Pick<UnitFacts, 'key' | 'status'>): string {
  return isEnforcement(facts.key) ? 'Enforce' : (facts.status ?? 'Learning');
}

function isEnforcement(key: ProposalKey): boolean {
  return key.kind === 'enforce' || key.kind === 'enforce-workloads' || key.kind === 'enforce-default-deny';
}

function statusState(status: RecommendationStatus | null): DashboardState {
  return status === 'Stable' ? 'Ready for review' : (status ?? 'Learning');
}

/**
 * What a closed pull request of the bot still needs, each part idempotent (apply.ts tidyClosed):
 * nothing once done, so a close seen twice (a redelivered webhook, a second replica, the next
 * run's read of what was updated) changes nothing more.
 */
export interface Tidy {
  /** A person closed it (a dismissal, not the bot's close as obsolete): say once how to undo it. */
  readonly comment: boolean;
  /** Merged: its status labels are history now, removed one by one (a person's label stays). */
  readonly removeLabels: readonly string[];
  /** Its branch, where it still points at the PR's head; not when an open PR has the branch now. */
  readonly deleteBranch: boolean;
}

export interface ClosedDecision {
  readonly key: ProposalKey;
  readonly pr: PullRequestInfo;
  readonly tidy: Tidy;
}

/**
 * The one code path for the bot's closed pull requests, whoever saw them closed (the listing of
 * what was updated since the last run, a webhook's record, a unit's latest PR): a dismissal is
 * said (unless the dashboard noted it already: `noted`, unit key ids), a merge loses its status
 * labels, and the branch goes. `open`: the bot's open pull requests now.
 */
export function decideClosed(
  closed: readonly PullRequestInfo[],
  open: readonly PullRequestInfo[],
  noted: ReadonlySet<string>,
): ClosedDecision[] {
  const held = new Set(open.map((pr) => pr.branch));
  const out: ClosedDecision[] = [];
  for (const pr of closed) {
    const key = parseBranch(pr.branch);
    if (key === null || pr.state === 'open') continue;
    out.push({ key, pr, tidy: closedTidy(pr, !noted.has(keyId(key)), !held.has(pr.branch)) });
  }
  return out;
}

/** A dismissal the unit's decision found (note-dismissal): the same tidy as decideClosed's. */
export function dismissalTidy(pr: PullRequestInfo): Tidy {
  return closedTidy(pr, true, true);
}

function closedTidy(pr: PullRequestInfo, sayDismissal: boolean, branchFree: boolean): Tidy {
  const merged = pr.state === 'merged';
  return {
    comment: !merged && sayDismissal && isDismissal(pr),
    removeLabels: merged ? pr.labels.filter((l) => (STATUS_LABELS as readonly string[]).includes(l)) : [],
    deleteBranch: branchFree,
  };
}
