// What a run needs from the repository host, as one small interface: reading a branch's files,
// finding the bot's pull requests, writing one commit per branch, and managing PRs and the
// dashboard issue. The GitHub implementation is github-repository.ts; tests talk to it through
// nock, so every request is real HTTP.

export type PullRequestState = 'open' | 'closed' | 'merged';

export interface PullRequestInfo {
  /** GraphQL node id (for ready-for-review / draft mutations). */
  readonly id: string;
  readonly number: number;
  readonly state: PullRequestState;
  readonly url: string;
  readonly title: string;
  readonly body: string;
  readonly draft: boolean;
  readonly labels: readonly string[];
  readonly branch: string;
  /** The branch head; compared with what the bot last wrote to spot people's commits. */
  readonly headOid: string;
  readonly createdAt: string;
  /** When it was merged (RFC 3339), for a merged PR. */
  readonly mergedAt?: string;
}

export interface PullRequestListing {
  /** Oldest first. */
  readonly open: readonly PullRequestInfo[];
  /** Closed or merged since the last listing, by number. */
  readonly closed: readonly PullRequestInfo[];
}

export interface BranchHead {
  readonly commitSha: string;
  readonly treeSha: string;
}

export interface TreeEntry {
  readonly path: string;
  /** Blob SHA: content-addressed, so it doubles as a cache key. */
  readonly sha: string;
}

export interface IssueInfo {
  readonly number: number;
  readonly body: string;
}

/** An issue as a lookup found it: whether it is open, and its labels. */
export interface FoundIssue extends IssueInfo {
  readonly state: 'open' | 'closed';
  readonly labels: readonly string[];
}

export interface Repository {
  readonly owner: string;
  readonly name: string;
  readonly defaultBranch: string;

  /** The default branch's head. */
  head(): Promise<BranchHead>;
  /** Blob entries of a tree, recursively, below `prefix` ('' = everything). */
  listFiles(treeSha: string, prefix: string): Promise<TreeEntry[]>;
  /** Text of blobs by SHA (cached by SHA; unchanged files cost nothing after the first read). */
  readBlobs(shas: readonly string[]): Promise<Map<string, string>>;

  /** Open pull requests carrying `label` (from this repository's branches: never a fork's). */
  openPullRequests(label: string): Promise<PullRequestInfo[]>;
  /**
   * Open pull requests carrying `label`, and those carrying it that were closed or merged since
   * the last listing (github/pull-request-views.ts; none when there was none to catch up from);
   * from this repository's branches only, never a fork's.
   */
  pullRequests(label: string): Promise<PullRequestListing>;
  /** The most recent pull request (any state) from each of this repository's head branches (never a fork's), or null. */
  latestPullRequests(branches: readonly string[]): Promise<Map<string, PullRequestInfo | null>>;

  /** One commit with these files changed (null content deletes), on top of `parent`. */
  commit(parent: BranchHead, files: ReadonlyMap<string, string | null>, message: string): Promise<string>;
  /** A commit's tree, parents and message. */
  readCommit(sha: string): Promise<CommitInfo>;
  /** A file's text at a commit, or null when it has none there. */
  readFile(commitSha: string, path: string): Promise<string | null>;
  /** Where a branch points now, or null when it does not exist. */
  branchSha(branch: string): Promise<string | null>;
  /**
   * Points the branch at `sha`, compare-and-swap: only if it points at `expected` now (null: only
   * if it does not exist yet). Otherwise nothing changes and it throws BranchMoved, so a commit
   * a person or another replica pushed in the meantime is never overwritten. Not a fast-forward
   * (the bot rebuilds its commit on the default branch).
   */
  setBranch(branch: string, sha: string, expected: string | null): Promise<void>;
  /** Deletes the branch (only if it still points at `expected`, when given); already gone is fine. */
  deleteBranch(branch: string, expected?: string): Promise<void>;

  createPullRequest(pr: { branch: string; title: string; body: string; draft: boolean }): Promise<PullRequestInfo>;
  updatePullRequest(number: number, change: { title?: string; body?: string; state?: 'closed' | 'open' }): Promise<void>;
  /** Adds labels, keeping every other (a person's label added meanwhile stays). */
  addLabels(number: number, labels: readonly string[]): Promise<void>;
  /** Removes one label, leaving the others; already gone is fine. */
  removeLabel(number: number, label: string): Promise<void>;
  setDraft(pr: PullRequestInfo, draft: boolean): Promise<void>;
  /**
   * Comments on the issue or PR unless a comment there contains `marker` already: says a thing
   * once, even when two replicas handle the same event at the same moment.
   */
  commentOnce(number: number, body: string, marker: string): Promise<void>;
  /** Whether a comment on the issue or PR contains `marker` (a dashboard closed as merged into another says so). */
  hasComment(number: number, marker: string): Promise<boolean>;

  /** Every open issue the App opened, carrying `label`, whose body holds `marker`, oldest (lowest number) first. */
  findIssues(label: string, marker: string): Promise<FoundIssue[]>;
  /**
   * Every issue the App opened, open or closed and whatever its labels, whose body holds `marker`, oldest first,
   * found by GitHub's issue search for the words `term` (which must be in the body's visible
   * text). The search index follows changes with a delay (an issue created a moment ago may not
   * be found yet), and search has a rate limit of its own: a fallback for findIssues, not a
   * replacement. Throws when it cannot tell (the search failed, or timed out before searching
   * everything): never read a failure as "there is none".
   */
  searchIssues(term: string, marker: string): Promise<FoundIssue[]>;
  /** An issue as it is now (to merge what people did since it was listed). */
  readIssue(number: number): Promise<IssueInfo & { state: 'open' | 'closed' }>;
  createIssue(issue: { title: string; body: string; labels: readonly string[] }): Promise<IssueInfo>;
  updateIssue(number: number, body: string): Promise<void>;
  closeIssue(number: number): Promise<void>;
  reopenIssue(number: number): Promise<void>;
}

export interface CommitInfo {
  readonly sha: string;
  readonly tree: string;
  readonly parents: readonly string[];
  readonly message: string;
}

/** The PR's branch was not found, or a PR for it already exists: the caller re-plans. */
export class RepositoryConflict extends Error {
  override readonly name: string = 'RepositoryConflict';
}

/** A compare-and-swap of a branch failed: it no longer points where the run saw it. */
export class BranchMoved extends RepositoryConflict {
  override readonly name = 'BranchMoved';
  /** Where it points now (null: it does not exist). */
  readonly current: string | null;
  constructor(branch: string, expected: string | null, current: string | null) {
    super(
      `the branch ${branch} moved (expected ${expected ?? 'no branch'}, found ${current ?? 'no branch'}): someone else wrote to it meanwhile`,
    );
    this.current = current;
  }
}
