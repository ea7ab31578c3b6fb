// Repository over GitHub's REST and GraphQL APIs (Octokit, with Probot's retry and throttling
// plugins). Requests are kept few: one recursive tree per run, blobs fetched by SHA in GraphQL
// batches and cached (content-addressed, so never stale), pull requests listed in pages of 100,
// and, given the App's PullRequestViews, only those updated since the last run
// (pull-request-views.ts).

import type { ProbotOctokit } from 'probot';
import { foldUpdates, OVERLAP_MS, oldestFirst, type PullRequestViews, serverTime, type UpdatedPullRequest } from './pull-request-views.ts';
import {
  type BranchHead,
  BranchMoved,
  type CommitInfo,
  type FoundIssue,
  type IssueInfo,
  type PullRequestInfo,
  type PullRequestListing,
  type PullRequestState,
  type Repository,
  RepositoryConflict,
  type TreeEntry,
} from './repository.ts';

export type Octokit = InstanceType<typeof ProbotOctokit>;

const BLOBS_PER_QUERY = 200;
const BLOB_CACHE_BYTES = 64 * 1024 * 1024;

/** Blob text by SHA, shared by all repositories of the process; bounded by size. */
class BlobCache {
  readonly #entries = new Map<string, string>();
  #bytes = 0;

  get(sha: string): string | undefined {
    const text = this.#entries.get(sha);
    if (text !== undefined) {
      // Most recently used last.
      this.#entries.delete(sha);
      this.#entries.set(sha, text);
    }
    return text;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  set(sha: string, text: string): void {
    if (this.#entries.has(sha)) return;
    this.#entries.set(sha, text);
    this.#bytes += text.length;
    for (const [old, value] of this.#entries) {
      if (this.#bytes <= BLOB_CACHE_BYTES) break;
      this.#entries.delete(old);
      this.#bytes -= value.length;
    }
  }
}

const blobCache = new BlobCache();

/** Empties the process's blob cache (a run then reads every blob again: tests replaying histories). */
export function forgetBlobs(): void {
  blobCache.clear();
}

// `isCrossRepository`: a pull request from a fork (@octokit/graphql-schema schema.graphql,
// PullRequest.isCrossRepository "Reference originated in a different repository"). Anyone can open
// one with our branch's name as its head (`pullRequests(headRefName:)` matches the name alone) and
// write any body: the bot's PRs are never from a fork, so such a PR is never taken for one of them.
const PR_FIELDS = `
  id number title body isDraft createdAt updatedAt url headRefName headRefOid state merged mergedAt isCrossRepository
  labels(first: 100) { pageInfo { hasNextPage } nodes { name } }
`;

interface PullRequestNode {
  id: string;
  number: number;
  title: string;
  body: string;
  isDraft: boolean;
  createdAt: string;
  updatedAt: string;
  url: string;
  headRefName: string;
  headRefOid: string;
  state: 'OPEN' | 'CLOSED' | 'MERGED';
  merged: boolean;
  mergedAt: string | null;
  isCrossRepository: boolean;
  labels: { pageInfo?: { hasNextPage: boolean }; nodes: { name: string }[] };
}

function toPullRequest(node: PullRequestNode): PullRequestInfo {
  const state: PullRequestState = node.merged ? 'merged' : node.state === 'OPEN' ? 'open' : 'closed';
  return {
    id: node.id,
    number: node.number,
    state,
    url: node.url,
    title: node.title,
    body: node.body ?? '',
    draft: node.isDraft,
    labels: node.labels.nodes.map((l) => l.name),
    branch: node.headRefName,
    headOid: node.headRefOid,
    createdAt: node.createdAt,
    ...(node.mergedAt ? { mergedAt: node.mergedAt } : {}),
  };
}

function status(e: unknown): number | undefined {
  return typeof e === 'object' && e !== null && 'status' in e ? (e as { status: number }).status : undefined;
}

/** GitHub answered the GraphQL request with errors (as opposed to failing to answer it). */
function isGraphqlError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && Array.isArray((e as { errors?: unknown }).errors);
}

const NO_OBJECT = '0'.repeat(40);

/**
 * The issues (not pull requests) the App opened whose body holds `marker`, oldest (lowest number)
 * first. Only a bot's: on a public repository anyone can open an issue holding the marker and
 * forge the bot's memory in it (REST `simple-user.type`, @octokit/openapi: "User", "Bot" or
 * "Organization"; an App's installation acts as a Bot, and no person can).
 */
function foundIssues(
  issues: readonly {
    number: number;
    body?: string | null;
    state: string;
    labels: readonly (string | { name?: string })[];
    pull_request?: unknown;
    user?: { type?: string } | null;
  }[],
  marker: string,
): FoundIssue[] {
  return issues
    .filter((i) => i.pull_request === undefined && i.user?.type === 'Bot' && (i.body ?? '').includes(marker))
    .map((i) => ({
      number: i.number,
      body: i.body ?? '',
      state: i.state === 'closed' ? ('closed' as const) : ('open' as const),
      labels: i.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter((l) => l !== ''),
    }))
    .sort((a, b) => a.number - b.number);
}

/**
 * For requests that create something new each time (a comment, an issue): Probot's retry plugin
 * would repeat one whose response was lost (a 502 after GitHub carried it out) and make a
 * duplicate. Not retried, a failure is left to the next run, which looks before it says or
 * creates anything again.
 */
const NOT_RETRIED = { retries: 0 };

interface PullRequestPage {
  repository: { pullRequests: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: PullRequestNode[] } };
}

/**
 * How many of a branch name's latest pull requests are read to find the newest that is not from a
 * fork. More forks than this with the name hide the history: the unit is then proposed as if new,
 * never taken as dismissed (GitHub's node limit is 500,000 per query: 100 branches x 10 x 100 labels).
 */
const LATEST_CANDIDATES = 10;

/** A page of the repository's pull requests (`filter`: the connection's other arguments). */
const PULL_REQUEST_PAGE = (filter: string, variables: string) => `query($owner: String!, $name: String!, $cursor: String${variables}) {
  repository(owner: $owner, name: $name) {
    pullRequests(${filter}, first: 100, after: $cursor) {
      pageInfo { hasNextPage endCursor }
      nodes { ${PR_FIELDS} }
    }
  }
}`;
/** The labelled open pull requests, oldest first: the whole listing. */
const OPEN_WITH_LABEL = PULL_REQUEST_PAGE(
  'states: OPEN, labels: $labels, orderBy: { field: CREATED_AT, direction: ASC }',
  ', $labels: [String!]',
);
/** Every pull request, whatever its state and labels, most recently updated first: the catch-up. */
const RECENTLY_UPDATED = PULL_REQUEST_PAGE('orderBy: { field: UPDATED_AT, direction: DESC }', '');

export class GitHubRepository implements Repository {
  readonly owner: string;
  readonly name: string;
  readonly defaultBranch: string;
  readonly #octokit: Octokit;
  /** Recursive trees by SHA: a run lists the default branch's tree once, however many clusters it has. */
  readonly #trees = new Map<string, Promise<TreeEntry[]>>();
  /** The repository's GraphQL node id (for ref updates), when known. */
  #nodeId: string | undefined;
  /** The process's views of open pull requests (pull-request-views.ts); without them, every listing is whole. */
  readonly #views: PullRequestViews | undefined;

  /**
   * `nodeId`: the repository's `node_id` (from `repos.get` or a webhook); asked for when missing.
   * `pullRequestViews`: the App's cache of open pull requests, brought up to date at each listing.
   */
  constructor(
    octokit: Octokit,
    repo: { owner: string; name: string; defaultBranch: string; nodeId?: string },
    options: { pullRequestViews?: PullRequestViews } = {},
  ) {
    this.#octokit = octokit;
    this.owner = repo.owner;
    this.name = repo.name;
    this.defaultBranch = repo.defaultBranch;
    this.#nodeId = repo.nodeId;
    this.#views = options.pullRequestViews;
  }

  async #repositoryId(): Promise<string> {
    this.#nodeId ??= (
      await this.#octokit.graphql<{ repository: { id: string } }>(
        `query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { id } }`,
        {
          owner: this.owner,
          name: this.name,
        },
      )
    ).repository.id;
    return this.#nodeId;
  }

  get #repo() {
    return { owner: this.owner, repo: this.name };
  }

  async head(): Promise<BranchHead> {
    const { data } = await this.#octokit.rest.repos.getBranch({ ...this.#repo, branch: this.defaultBranch });
    return { commitSha: data.commit.sha, treeSha: data.commit.commit.tree.sha };
  }

  async listFiles(treeSha: string, prefix: string): Promise<TreeEntry[]> {
    let tree = this.#trees.get(treeSha);
    if (tree === undefined) {
      tree = this.#readTree(treeSha);
      this.#trees.set(treeSha, tree);
      tree.catch(() => this.#trees.delete(treeSha));
    }
    const under = prefix === '' ? '' : `${prefix}/`;
    return (await tree).filter((e) => e.path.startsWith(under));
  }

  async #readTree(treeSha: string): Promise<TreeEntry[]> {
    const { data } = await this.#octokit.rest.git.getTree({ ...this.#repo, tree_sha: treeSha, recursive: 'true' });
    if (data.truncated) {
      throw new Error(
        `the tree of ${this.owner}/${this.name} is too large for one request (GitHub truncated it); keep policies in a smaller repository`,
      );
    }
    return data.tree
      .filter((e) => e.type === 'blob' && e.path !== undefined && e.sha !== undefined)
      .map((e) => ({ path: e.path!, sha: e.sha! }));
  }

  async readBlobs(shas: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const missing = [...new Set(shas)].filter((sha) => {
      const cached = blobCache.get(sha);
      if (cached !== undefined) out.set(sha, cached);
      return cached === undefined;
    });
    for (let i = 0; i < missing.length; i += BLOBS_PER_QUERY) {
      const batch = missing.slice(i, i + BLOBS_PER_QUERY);
      const vars = Object.fromEntries(batch.map((sha, j) => [`o${j}`, sha]));
      const query = `query($owner: String!, $name: String!, ${batch.map((_, j) => `$o${j}: GitObjectID!`).join(', ')}) {
        repository(owner: $owner, name: $name) {
          ${batch.map((_, j) => `b${j}: object(oid: $o${j}) { ... on Blob { text isTruncated isBinary } }`).join('\n')}
        }
      }`;
      const result = await this.#octokit.graphql<{
        repository: Record<string, { text: string | null; isTruncated: boolean; isBinary: boolean } | null>;
      }>(query, { owner: this.owner, name: this.name, ...vars });
      for (const [j, sha] of batch.entries()) {
        const blob = result.repository[`b${j}`];
        if (!blob || blob.isBinary) continue;
        const text = blob.isTruncated || blob.text === null ? await this.#readBlob(sha) : blob.text;
        blobCache.set(sha, text);
        out.set(sha, text);
      }
    }
    return out;
  }

  async #readBlob(sha: string): Promise<string> {
    const { data } = await this.#octokit.rest.git.getBlob({ ...this.#repo, file_sha: sha });
    return Buffer.from(data.content, data.encoding === 'base64' ? 'base64' : 'utf8').toString('utf8');
  }

  /**
   * With the process's view of them (pull-request-views.ts): the view, brought up to date with
   * the pull requests updated since it was read. Without one: all of them, 100 a page.
   */
  async openPullRequests(label: string): Promise<PullRequestInfo[]> {
    return [...(await this.pullRequests(label)).open];
  }

  async pullRequests(label: string): Promise<PullRequestListing> {
    const views = this.#views;
    // The node id survives a rename or transfer, and a repository deleted and made again under the same name has another.
    const key = `${this.#nodeId ?? `${this.owner}/${this.name}`.toLowerCase()}\n${label.toLowerCase()}`;
    const view = views?.get(key);
    const open = new Map(view?.open ?? []);
    const closed = new Map<number, PullRequestInfo>();
    let readAt: number | undefined;
    let done = false;
    let cursor: string | null = null;
    do {
      const page = await this.#pullRequestPage(view === undefined ? OPEN_WITH_LABEL : RECENTLY_UPDATED, {
        cursor,
        ...(view === undefined ? { labels: [label] } : {}),
      });
      // The read starts with its first answer: whatever changes after it is listed by the next read.
      if (cursor === null) readAt = page.date;
      const updates: UpdatedPullRequest[] = [];
      for (const node of page.nodes) updates.push({ pr: await this.#complete(toPullRequest(node), node), updatedAt: node.updatedAt });
      if (view === undefined) for (const { pr } of updates) open.set(pr.number, pr);
      else done = foldUpdates(open, updates, label, view.readAt - OVERLAP_MS, closed);
      cursor = page.hasNextPage ? page.endCursor : null;
    } while (cursor !== null && !done);
    if (views !== undefined && readAt !== undefined) views.set(key, { open, readAt });
    return { open: oldestFirst(open), closed: [...closed.values()].sort((a, b) => a.number - b.number) };
  }

  /**
   * One page of pull requests, with when GitHub answered (its `Date` header, ms; undefined without
   * one). Octokit's `graphql` gives no headers, so the request is made as it makes it
   * (@octokit/graphql dist-src/graphql.js: POST /graphql with `query` and `variables`; GraphQL
   * errors in a 200 answer are thrown, with their `errors`).
   */
  async #pullRequestPage(
    query: string,
    variables: Record<string, unknown>,
  ): Promise<{ nodes: PullRequestNode[]; hasNextPage: boolean; endCursor: string | null; date: number | undefined }> {
    const response = await this.#octokit.request('POST /graphql', {
      query,
      variables: { owner: this.owner, name: this.name, ...variables },
    });
    const body = response.data as { data?: PullRequestPage; errors?: { message: string }[] };
    if (body.errors !== undefined || body.data === undefined) {
      throw Object.assign(new Error(`GitHub's GraphQL API refused the request: ${(body.errors ?? []).map((e) => e.message).join('; ')}`), {
        errors: body.errors ?? [],
      });
    }
    const { pageInfo, nodes } = body.data.repository.pullRequests;
    return {
      nodes: nodes.filter((n) => !n.isCrossRepository),
      hasNextPage: pageInfo.hasNextPage,
      endCursor: pageInfo.endCursor,
      date: serverTime(response.headers.date),
    };
  }

  async latestPullRequests(branches: readonly string[]): Promise<Map<string, PullRequestInfo | null>> {
    const out = new Map<string, PullRequestInfo | null>();
    for (let i = 0; i < branches.length; i += 100) {
      const batch = branches.slice(i, i + 100);
      const vars = Object.fromEntries(batch.map((b, j) => [`h${j}`, b]));
      const query = `query($owner: String!, $name: String!, ${batch.map((_, j) => `$h${j}: String!`).join(', ')}) {
        repository(owner: $owner, name: $name) {
          ${batch.map((_, j) => `p${j}: pullRequests(headRefName: $h${j}, first: ${LATEST_CANDIDATES}, orderBy: { field: CREATED_AT, direction: DESC }) { nodes { ${PR_FIELDS} } }`).join('\n')}
        }
      }`;
      const result = await this.#octokit.graphql<{ repository: Record<string, { nodes: PullRequestNode[] }> }>(query, {
        owner: this.owner,
        name: this.name,
        ...vars,
      });
      for (const [j, branch] of batch.entries()) {
        const node = result.repository[`p${j}`]?.nodes.find((n) => !n.isCrossRepository);
        out.set(branch, node ? await this.#complete(toPullRequest(node), node) : null);
      }
    }
    return out;
  }

  /** A pull request with all its labels: those past GraphQL's first page are read over REST, paginated. */
  async #complete(pr: PullRequestInfo, node: PullRequestNode): Promise<PullRequestInfo> {
    if (!node.labels.pageInfo?.hasNextPage) return pr;
    const labels = await this.#octokit.paginate(this.#octokit.rest.issues.listLabelsOnIssue, {
      ...this.#repo,
      issue_number: pr.number,
      per_page: 100,
    });
    return { ...pr, labels: labels.map((l) => l.name) };
  }

  async commit(parent: BranchHead, files: ReadonlyMap<string, string | null>, message: string): Promise<string> {
    const tree = await this.#octokit.rest.git.createTree({
      ...this.#repo,
      base_tree: parent.treeSha,
      tree: [...files].map(([path, content]) =>
        content === null
          ? { path, mode: '100644' as const, type: 'blob' as const, sha: null }
          : { path, mode: '100644' as const, type: 'blob' as const, content },
      ),
    });
    const commit = await this.#octokit.rest.git.createCommit({ ...this.#repo, message, tree: tree.data.sha, parents: [parent.commitSha] });
    return commit.data.sha;
  }

  async readCommit(sha: string): Promise<CommitInfo> {
    const { data } = await this.#octokit.rest.git.getCommit({ ...this.#repo, commit_sha: sha });
    return { sha, tree: data.tree.sha, parents: data.parents.map((p) => p.sha), message: data.message };
  }

  async readFile(commitSha: string, path: string): Promise<string | null> {
    const result = await this.#octokit.graphql<{
      repository: { object: { oid: string; text: string | null; isTruncated: boolean; isBinary: boolean } | null };
    }>(
      `query($owner: String!, $name: String!, $expression: String!) {
        repository(owner: $owner, name: $name) { object(expression: $expression) { ... on Blob { oid text isTruncated isBinary } } }
      }`,
      { owner: this.owner, name: this.name, expression: `${commitSha}:${path}` },
    );
    const blob = result.repository.object;
    if (!blob || blob.isBinary || blob.oid === undefined) return null;
    return blob.isTruncated || blob.text === null ? this.#readBlob(blob.oid) : blob.text;
  }

  async branchSha(branch: string): Promise<string | null> {
    try {
      const { data } = await this.#octokit.rest.git.getRef({ ...this.#repo, ref: `heads/${branch}` });
      return data.object.sha;
    } catch (e) {
      if (status(e) === 404) return null;
      throw e;
    }
  }

  async setBranch(branch: string, sha: string, expected: string | null): Promise<void> {
    if (expected !== null) return this.#swap(branch, expected, sha);
    try {
      await this.#octokit.rest.git.createRef({ ...this.#repo, ref: `refs/heads/${branch}`, sha });
    } catch (e) {
      if (status(e) === 422 && /already exists/i.test(String((e as Error).message)))
        throw new BranchMoved(branch, null, await this.branchSha(branch));
      throw e;
    }
  }

  async deleteBranch(branch: string, expected?: string): Promise<void> {
    if (expected !== undefined) {
      try {
        await this.#swap(branch, expected, NO_OBJECT);
      } catch (e) {
        if (!(e instanceof BranchMoved) || e.current !== null) throw e;
      }
      return;
    }
    try {
      await this.#octokit.rest.git.deleteRef({ ...this.#repo, ref: `heads/${branch}` });
    } catch (e) {
      // Already gone (GitHub's "delete branch on merge", or a person): nothing to do.
      if (status(e) !== 422 && status(e) !== 404) throw e;
    }
  }

  /**
   * Compare-and-swap of one branch with GraphQL's `updateRefs`: GitHub applies it only if the
   * ref points at `beforeOid` (zeros in `afterOid` delete it). A rejection is a GraphQL error;
   * the ref itself then says whether it moved (its message is not a contract).
   */
  async #swap(branch: string, before: string, after: string): Promise<void> {
    const repositoryId = await this.#repositoryId();
    try {
      await this.#octokit.graphql(`mutation($input: UpdateRefsInput!) { updateRefs(input: $input) { clientMutationId } }`, {
        input: { repositoryId, refUpdates: [{ name: `refs/heads/${branch}`, beforeOid: before, afterOid: after, force: true }] },
      });
    } catch (e) {
      if (!isGraphqlError(e)) throw e;
      const current = await this.branchSha(branch);
      if (current !== before) throw new BranchMoved(branch, before, current);
      throw e;
    }
  }

  async createPullRequest(pr: { branch: string; title: string; body: string; draft: boolean }): Promise<PullRequestInfo> {
    const create = (draft: boolean) =>
      this.#octokit.rest.pulls.create({ ...this.#repo, head: pr.branch, base: this.defaultBranch, title: pr.title, body: pr.body, draft });
    let response;
    try {
      response = await create(pr.draft);
    } catch (e) {
      const message = String((e as { message?: unknown }).message ?? '');
      if (status(e) === 422 && /draft/i.test(message) && pr.draft) response = await create(false);
      else if (status(e) === 422 && /already exists/i.test(message))
        throw new RepositoryConflict(`a pull request for ${pr.branch} already exists`);
      else throw e;
    }
    const d = response.data;
    return {
      id: d.node_id,
      number: d.number,
      state: 'open',
      url: d.html_url,
      title: d.title,
      body: d.body ?? '',
      draft: d.draft ?? false,
      labels: (d.labels ?? []).map((l) => l.name),
      branch: pr.branch,
      headOid: d.head.sha,
      createdAt: d.created_at,
    };
  }

  async updatePullRequest(number: number, change: { title?: string; body?: string; state?: 'closed' | 'open' }): Promise<void> {
    await this.#octokit.rest.pulls.update({ ...this.#repo, pull_number: number, ...change });
  }

  async addLabels(number: number, labels: readonly string[]): Promise<void> {
    await this.#octokit.rest.issues.addLabels({ ...this.#repo, issue_number: number, labels: [...labels] });
  }

  async removeLabel(number: number, label: string): Promise<void> {
    try {
      await this.#octokit.rest.issues.removeLabel({ ...this.#repo, issue_number: number, name: label });
    } catch (e) {
      // Already gone (a person removed it meanwhile): nothing to do.
      if (status(e) !== 404) throw e;
    }
  }

  async setDraft(pr: PullRequestInfo, draft: boolean): Promise<void> {
    const mutation = draft ? 'convertPullRequestToDraft' : 'markPullRequestReadyForReview';
    await this.#octokit.graphql(`mutation($id: ID!) { ${mutation}(input: { pullRequestId: $id }) { pullRequest { isDraft } } }`, {
      id: pr.id,
    });
  }

  async commentOnce(number: number, body: string, marker: string): Promise<void> {
    if ((await this.#commentsWith(number, marker)).length > 0) return;
    await this.#octokit.rest.issues.createComment({ ...this.#repo, issue_number: number, body, request: NOT_RETRIED });
    // Another replica handling the same event at the same moment may have said it too. Each lists
    // after its own comment is made, so the last to list sees both: the oldest stays.
    const said = (await this.#commentsWith(number, marker)).filter((c) => c.user?.type === 'Bot').sort((a, b) => a.id - b.id);
    for (const extra of said.slice(1)) {
      await this.#octokit.rest.issues.deleteComment({ ...this.#repo, comment_id: extra.id }).catch((e: unknown) => {
        // Already deleted by the other replica.
        if (status(e) !== 404) throw e;
      });
    }
  }

  async hasComment(number: number, marker: string): Promise<boolean> {
    return (await this.#commentsWith(number, marker)).length > 0;
  }

  async #commentsWith(number: number, marker: string) {
    const comments = await this.#octokit.paginate(this.#octokit.rest.issues.listComments, {
      ...this.#repo,
      issue_number: number,
      per_page: 100,
    });
    return comments.filter((c) => (c.body ?? '').includes(marker));
  }

  async findIssues(label: string, marker: string): Promise<FoundIssue[]> {
    // Every page: a repository may have any number of issues with the label (people use it too).
    const issues = await this.#octokit.paginate(this.#octokit.rest.issues.listForRepo, {
      ...this.#repo,
      labels: label,
      state: 'open',
      sort: 'created',
      direction: 'asc',
      per_page: 100,
    });
    return foundIssues(issues, marker);
  }

  async searchIssues(term: string, marker: string): Promise<FoundIssue[]> {
    // GitHub's issue search (search/issues-and-pull-requests in @octokit/openapi): `repo:`, `is:issue`
    // and `in:body` are documented qualifiers (docs.github.com, "Searching issues and pull
    // requests"); open and closed issues are both searched unless `is:open`/`is:closed` says
    // otherwise. A quoted term is matched as a phrase. At most 1,000 results are served (REST
    // "search" docs): oldest first, so the oldest dashboard is among them.
    if (!/^[^"\\]+$/.test(term)) throw new Error(`a search term cannot hold quotes or backslashes: ${term}`);
    const q = `repo:${this.owner}/${this.name} is:issue in:body "${term}"`;
    const items = [];
    for await (const response of this.#octokit.paginate.iterator(this.#octokit.rest.search.issuesAndPullRequests, {
      q,
      sort: 'created',
      order: 'asc',
      per_page: 100,
    })) {
      // Octokit's paginate moves `incomplete_results` onto each page's array: the search timed out
      // before it looked at everything, so "not found" would mean nothing.
      if ((response.data as { incomplete_results?: boolean }).incomplete_results) {
        throw new Error(`GitHub's issue search timed out before searching everything (incomplete_results) for ${q}`);
      }
      items.push(...response.data);
    }
    return foundIssues(items, marker);
  }

  async readIssue(number: number): Promise<IssueInfo & { state: 'open' | 'closed' }> {
    const { data } = await this.#octokit.rest.issues.get({ ...this.#repo, issue_number: number });
    return { number: data.number, body: data.body ?? '', state: data.state === 'closed' ? 'closed' : 'open' };
  }

  async closeIssue(number: number): Promise<void> {
    await this.#octokit.rest.issues.update({ ...this.#repo, issue_number: number, state: 'closed' });
  }

  async reopenIssue(number: number): Promise<void> {
    await this.#octokit.rest.issues.update({ ...this.#repo, issue_number: number, state: 'open' });
  }

  async createIssue(issue: { title: string; body: string; labels: readonly string[] }): Promise<IssueInfo> {
    const { data } = await this.#octokit.rest.issues.create({
      ...this.#repo,
      title: issue.title,
      body: issue.body,
      labels: [...issue.labels],
      request: NOT_RETRIED,
    });
    return { number: data.number, body: data.body ?? '' };
  }

  async updateIssue(number: number, body: string): Promise<void> {
    await this.#octokit.rest.issues.update({ ...this.#repo, issue_number: number, body });
  }
}
