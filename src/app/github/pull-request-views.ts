// What keeps an idle run's GitHub cost constant however many recommendation PRs are open: a
// process cache of each repository's open labelled pull requests, brought up to date at the start
// of every run by reading only the pull requests GitHub says were updated since the last read.
//
// - Desired vs observed: the view is what GitHub showed; a run never trusts it without asking
//   GitHub what changed since. GitHub's GraphQL `Repository.pullRequests` ordered by
//   `PullRequestOrderField.UPDATED_AT`, DESC, no state or label filter (@octokit/graphql-schema
//   schema.graphql: `updatedAt` "the date and time when the object was last updated") lists every
//   pull request of the repository, most recently updated first; the catch-up reads pages until
//   one older than the last read's start (less OVERLAP), so whatever anyone did since (closed,
//   merged, reopened, edited, labelled or unlabelled, pushed, drafted) is seen, by whichever replica
//   or process did it. A pull request seen open and labelled is (re)placed in the view, any other
//   is taken out. Renovate keeps its PR list the same way (renovatebot/renovate
//   lib/modules/platform/github/pr.ts, getPrCache: `state=all&sort=updated&direction=desc`, page
//   by page until nothing newer than its cache).
// - The read's start is GitHub's clock, not ours: the `Date` header of the first page's answer
//   (RFC 9110 section 6.6.1: an origin server with a clock sends it in every response). A change
//   made after that answer has a later `updatedAt`; OVERLAP covers the skew between GitHub's hosts.
//   Without a `Date` header, nothing is remembered (the next run reads everything again).
// - Cold (a new process, another replica, a repository first seen): the labelled open PRs are
//   listed whole, 100 a page, as before. A replica whose view is stale catches up from its own
//   last read: stale costs pages, never correctness.
// - What closed: the catch-up also hands the run the labelled pull requests it saw closed or
//   merged since the last read, so the run tidies after them (a dismissal said, a merged PR's
//   status labels and branch removed) at no extra cost. A cold read sees none: a webhook's record
//   of the close (run/inbox.ts), and the run's own look at its units' latest PRs, cover it.
// - Bounded: the views' titles and bodies take at most MAX_BYTES (the least recently used
//   repository's view is dropped first, and its next run lists its PRs whole).

import type { PullRequestInfo } from './repository.ts';

/** How far before the last read's start the next read looks again (skew between GitHub's clocks). */
export const OVERLAP_MS = 5 * 60 * 1000;
const MAX_BYTES = 64 * 1024 * 1024;

/** One repository's open pull requests with the label, as GitHub showed them at `readAt`. */
export interface PullRequestView {
  /** By number. */
  readonly open: ReadonlyMap<number, PullRequestInfo>;
  /** When the read that made this view started, by GitHub's clock (ms since the epoch). */
  readonly readAt: number;
}

/** A pull request as a catch-up page lists it, with when it was last updated. */
export interface UpdatedPullRequest {
  readonly pr: PullRequestInfo;
  /** RFC 3339, from GitHub. */
  readonly updatedAt: string;
}

/**
 * Folds one page of the catch-up (most recently updated first) into `open`: open and labelled
 * PRs are put in, any other taken out; labelled PRs closed or merged go into `closed` (what a
 * run tidies after: run/decide.ts decideClosed). Returns whether the page reached PRs not updated
 * since `since` (ms): the catch-up stops there.
 */
export function foldUpdates(
  open: Map<number, PullRequestInfo>,
  page: readonly UpdatedPullRequest[],
  label: string,
  since: number,
  closed?: Map<number, PullRequestInfo>,
): boolean {
  for (const { pr, updatedAt } of page) {
    const at = Date.parse(updatedAt);
    // An unreadable time: taken as new (read it), never as old (skip it).
    if (Number.isFinite(at) && at < since) return true;
    if (pr.state === 'open' && hasLabel(pr, label)) open.set(pr.number, pr);
    else {
      open.delete(pr.number);
      if (pr.state !== 'open' && hasLabel(pr, label)) closed?.set(pr.number, pr);
    }
  }
  return false;
}

/** GitHub's label names are case-insensitive (the `labels` filter matches them so). */
function hasLabel(pr: PullRequestInfo, label: string): boolean {
  const wanted = label.toLowerCase();
  return pr.labels.some((l) => l.toLowerCase() === wanted);
}

/** The open pull requests oldest first (by creation, then number), as the full listing orders them. */
export function oldestFirst(open: ReadonlyMap<number, PullRequestInfo>): PullRequestInfo[] {
  return [...open.values()].sort((a, b) => (a.createdAt === b.createdAt ? a.number - b.number : a.createdAt < b.createdAt ? -1 : 1));
}

/** A `Date` header as ms since the epoch, or undefined. */
export function serverTime(date: string | undefined): number | undefined {
  if (date === undefined) return undefined;
  const at = Date.parse(date);
  return Number.isFinite(at) ? at : undefined;
}

/** About how much memory a view holds (its PRs' texts; the rest is small and fixed per PR). */
function sizeOf(view: PullRequestView): number {
  let bytes = 0;
  for (const pr of view.open.values()) bytes += 2 * (pr.title.length + pr.body.length) + 512;
  return bytes;
}

/** The process's views, one per repository and label (an App holds one; each replica its own). */
export class PullRequestViews {
  readonly #views = new Map<string, { view: PullRequestView; bytes: number }>();
  #bytes = 0;
  readonly #limit: number;

  constructor(limit = MAX_BYTES) {
    this.#limit = limit;
  }

  get(key: string): PullRequestView | undefined {
    const entry = this.#views.get(key);
    if (entry === undefined) return undefined;
    // Most recently used last.
    this.#views.delete(key);
    this.#views.set(key, entry);
    return entry.view;
  }

  set(key: string, view: PullRequestView): void {
    const old = this.#views.get(key);
    if (old !== undefined) {
      this.#views.delete(key);
      this.#bytes -= old.bytes;
    }
    const bytes = sizeOf(view);
    this.#views.set(key, { view, bytes });
    this.#bytes += bytes;
    for (const [k, entry] of this.#views) {
      if (this.#bytes <= this.#limit) break;
      this.#views.delete(k);
      this.#bytes -= entry.bytes;
    }
  }
}
