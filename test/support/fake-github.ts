// A stateful, in-memory GitHub behind nock, for the App's lifecycle tests: repositories with real
// git objects (blobs, trees and commits hashed like git), branches, pull requests, issues, labels
// and comments, installations and their tokens. The REST endpoints and GraphQL queries the App
// uses are answered from (and change) that model with GitHub's documented shapes and errors, so a
// test runs the real app against it for many runs and asserts on the resulting repository state.
//
// - GitHub's descriptions are the contract (github-description.ts): every REST request is
//   validated against the official OpenAPI description (`@octokit/openapi`: the operation for
//   the method and path, its path and query parameters, its JSON body at every depth, the
//   formats it states), every GraphQL document and its variables against GitHub's public schema
//   (`@octokit/graphql-schema`, custom scalars included). What GitHub would refuse gets GitHub's
//   error; that and what GitHub would silently ignore (an unknown query parameter or body field)
//   are `violations()`, and `stop()` throws while any is left. The fake's JSON answers and
//   webhooks are shaped from the description (the required fields the fake does not model are
//   added, saying nothing) and held to it, formats included; its GraphQL answers are shaped by
//   graphql-js from the schema and held to it (non-null fields, enums, scalars of their kind).
// - REST: routed by method and path; valid requests the fake does not implement answer 500
//   with the request in the message and are listed by `unexpected()`.
// - GraphQL: graphql-js executes the document against GitHub's schema, with the model answering
//   each field (`GqlExecutor`), so any query made of the supported types and fields works; a
//   valid field or argument the fake does not model is a GraphQL error (which Octokit throws)
//   listed by `unexpected()`.
// - People: `FakeRepository` methods do what a person does between runs (merge, close, reopen,
//   restore a branch, push, tick a dashboard box...); readers give the state for assertions.
// - Webhooks: every change, the App's (through the API) and people's, queues the event GitHub
//   would deliver, with the right sender (`events()`, `takeEvents()`, `deliver(probot)`);
//   builders (`pullRequestEvent`, `pushEvent`...) make one on demand.
// - Accounting and faults: every request is recorded (`requests()`); `failNext` makes the next
//   matching request(s) fail, before or after the change is applied (a lost response).
// - People during a run: `actBefore(i, act)` has a person act right before the run's i-th
//   request; `atEveryRequest` tries every i of a run. `deliver(probot, { concurrent, twice })`
//   delivers webhooks at once and each twice, as GitHub may.
//
// Usage:
//   nock.disableNetConnect();
//   const github = new FakeGitHub({ now: () => END_TIME }).start();
//   const repo = github.addRepository({ owner: 'acme', name: 'policies', installationId: 7, files: {...} });
//   ... run the app; repo.closePullRequest(1); await github.deliver(probot); ...
//   github.stop(); expect(github.unexpected()).toEqual([]);
//
// With Probot, disable throttling with the function form of defaults: Probot replaces the
// `throttle` options of `ProbotOctokit.defaults({ throttle: { enabled: false } })` with its own,
// which leaves the plugin on and spaces writes 1 s apart (see test/app/fake-github.test.ts).

import { createHash } from 'node:crypto';
import { type DocumentNode, type FieldNode, Kind, type OperationDefinitionNode } from 'graphql';
import nock from 'nock';
import type { Probot } from 'probot';
import { mergeTrees, type TreeMerge } from './fake-merge.ts';
import { graphqlDescription, type MatchedRequest, type ResolverFailure, restDescription } from './github-description.ts';

// ==================================================================================== public types

export type WebhookEvent = Parameters<Probot['receive']>[0];

export interface FakeGitHubOptions {
  /** Unix seconds: timestamps of everything created (PRs, issues, comments, commits). Default: the real clock. */
  readonly now?: () => number;
  /** The App's slug: API writes are made by `<slug>[bot]`. */
  readonly appSlug?: string;
  readonly appId?: number;
  /** Login of the person doing the person-side actions. */
  readonly person?: string;
  /** Entries a recursive tree listing returns before it is `truncated` (GitHub: 100 000). */
  readonly treeEntryLimit?: number;
  /** Bytes of blob text GraphQL returns before `isTruncated` (GitHub: 512 KiB). */
  readonly graphqlBlobTextLimit?: number;
}

export interface RepositorySpec {
  readonly owner: string;
  readonly name: string;
  /** The installation that can access it (created if new); null: the App is not installed there. Default 1. */
  readonly installationId?: number | null;
  readonly private?: boolean;
  readonly defaultBranch?: string;
  /** Files of the initial commit on the default branch. */
  readonly files?: Readonly<Record<string, string>>;
  /** Shortcut for `.github/policy-recommender.yml` in the initial commit. */
  readonly config?: string;
  /** false: creating a draft PR fails with GitHub's 422 (private repository on a free plan). Default true. */
  readonly draftPullRequests?: boolean;
  /** GitHub's "Automatically delete head branches" setting, applied by `mergePullRequest`. */
  readonly deleteBranchOnMerge?: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  /** Path without the query string, percent-decoded. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** For GraphQL: the operation's first field (`repository`, `markPullRequestReadyForReview`...). */
  readonly graphql?: string;
  /** For GraphQL: the fields selected under the first field (`object`, `pullRequests`...), deduplicated. */
  readonly graphqlFields?: readonly string[];
  /** For GraphQL: the variables sent (e.g. a mutation's input). */
  readonly variables?: Readonly<Record<string, unknown>>;
  /** The installation of the token used, if it is one the fake issued. */
  readonly installationId?: number;
  /** The status answered. */
  status: number;
  /** Answered by an injected fault. */
  faulted?: boolean;
}

export interface Fault {
  /** Default: any method. */
  readonly method?: string;
  /** Matched against the decoded path (without query). Default: any path. */
  readonly pathRegex?: RegExp;
  /** For POST /graphql: matched against the first field and the fields under it. */
  readonly graphql?: string | RegExp;
  /**
   * What the matching request gets: an HTTP `status` (the default), a connection reset (`reset`:
   * the client sees ECONNRESET, no response), or nothing unusual (`pass`: it is served normally,
   * after `before`; for interleaving people or other clients with a request).
   */
  readonly kind?: 'status' | 'reset' | 'pass';
  /** For `kind: 'status'`; default 500. */
  readonly status?: number;
  /**
   * Runs when the request arrives, before anything is applied: a person acting between the
   * App's read and its write, or (awaiting a promise) another client's requests served meanwhile.
   */
  readonly before?: () => void | Promise<void>;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** How many matching requests fail (default 1). */
  readonly times?: number;
  /** Let this many matching requests through before failing (default 0). */
  readonly skip?: number;
  /** Apply the request to the model first, then answer with the failure (a response lost on the way). */
  readonly afterApply?: boolean;
}

export type PullRequestStatus = 'open' | 'closed' | 'merged';

export interface CommentSnapshot {
  readonly id: number;
  readonly body: string;
  readonly user: string;
  readonly bot: boolean;
  readonly createdAt: string;
}

export interface PullRequestSnapshot {
  readonly number: number;
  readonly nodeId: string;
  readonly url: string;
  readonly title: string;
  readonly body: string;
  readonly state: PullRequestStatus;
  readonly draft: boolean;
  readonly labels: readonly string[];
  readonly head: string;
  readonly headSha: string;
  readonly base: string;
  readonly createdAt: string;
  readonly closedAt: string | null;
  readonly mergedAt: string | null;
  readonly mergeCommitSha: string | null;
  readonly user: string;
  readonly comments: readonly CommentSnapshot[];
}

export interface IssueSnapshot {
  readonly number: number;
  readonly title: string;
  readonly body: string;
  readonly state: 'open' | 'closed';
  readonly labels: readonly string[];
  readonly isPullRequest: boolean;
  readonly user: string;
  readonly createdAt: string;
  readonly comments: readonly CommentSnapshot[];
}

export interface CommitSnapshot {
  readonly sha: string;
  readonly tree: string;
  readonly parents: readonly string[];
  readonly message: string;
  readonly author: string;
}

/** Files to write: content, or null to delete. */
export type FileChanges = Readonly<Record<string, string | null>> | ReadonlyMap<string, string | null>;

// ==================================================================================== git objects

const GIT_SHA = /^[0-9a-f]{40}$/;

function sha1(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha1');
  for (const p of parts) hash.update(p);
  return hash.digest('hex');
}

function gitObjectSha(type: 'blob' | 'tree' | 'commit', content: Buffer): string {
  return sha1(Buffer.from(`${type} ${content.length}\0`), content);
}

interface TreeItem {
  readonly sha: string;
  readonly mode: string;
}
/** A tree as the full paths of its blobs (directories are implied). */
type FlatTree = ReadonlyMap<string, TreeItem>;

interface DirNode {
  readonly files: Map<string, TreeItem>;
  readonly dirs: Map<string, DirNode>;
}

function dirOf(flat: FlatTree): DirNode {
  const root: DirNode = { files: new Map(), dirs: new Map() };
  for (const [path, item] of flat) {
    const parts = path.split('/');
    let node = root;
    for (const part of parts.slice(0, -1)) {
      let next = node.dirs.get(part);
      if (next === undefined) node.dirs.set(part, (next = { files: new Map(), dirs: new Map() }));
      node = next;
    }
    node.files.set(parts[parts.length - 1]!, item);
  }
  return root;
}

/** A directory's entries in git's order (a directory sorts as its name followed by '/'). */
function gitOrder(node: DirNode): { name: string; dir?: DirNode; item?: TreeItem }[] {
  const entries: { name: string; key: string; dir?: DirNode; item?: TreeItem }[] = [
    ...[...node.files].map(([name, item]) => ({ name, key: name, item })),
    ...[...node.dirs].map(([name, dir]) => ({ name, key: `${name}/`, dir })),
  ];
  return entries.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
}

function flatten(node: DirNode, prefix = '', out = new Map<string, TreeItem>()): Map<string, TreeItem> {
  for (const e of gitOrder(node)) {
    if (e.item) out.set(prefix + e.name, e.item);
    else flatten(e.dir!, `${prefix}${e.name}/`, out);
  }
  return out;
}

/** Hashes a directory like git and registers every (sub)tree in `store`. */
function hashDir(node: DirNode, store: Map<string, FlatTree>): string {
  const chunks: Buffer[] = [];
  for (const e of gitOrder(node)) {
    const [mode, sha] = e.item ? [e.item.mode, e.item.sha] : ['40000', hashDir(e.dir!, store)];
    chunks.push(Buffer.from(`${mode} ${e.name}\0`), Buffer.from(sha, 'hex'));
  }
  const sha = gitObjectSha('tree', Buffer.concat(chunks));
  if (!store.has(sha)) store.set(sha, flatten(node));
  return sha;
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function toMap(files: FileChanges): Map<string, string | null> {
  return files instanceof Map ? new Map(files) : new Map(Object.entries(files as Record<string, string | null>));
}

// ==================================================================================== GraphQL errors

/** A GraphQL error as GitHub reports it; `unsupported` ones are also the fake's `unexpected()`. */
class GqlError extends Error {
  readonly type: string;
  readonly unsupported: boolean;
  constructor(message: string, options: { type?: string; unsupported?: boolean } = {}) {
    super(message);
    this.type = options.type ?? 'INVALID';
    this.unsupported = options.unsupported ?? false;
  }
}

/** The operation's first field (`repository`...) and the fields selected directly under it, for accounting and faults. */
function fieldsOf(operation: OperationDefinitionNode | null): { first: string; under: string[] } {
  const fields = (node: { selectionSet?: { selections: readonly { kind: string }[] } | undefined } | undefined) =>
    (node?.selectionSet?.selections ?? []).filter((s): s is FieldNode => s.kind === Kind.FIELD);
  const first = fields(operation ?? undefined)[0];
  return { first: first?.name.value ?? '', under: [...new Set(fields(first).map((f) => f.name.value))] };
}

// ==================================================================================== the model

interface User {
  readonly login: string;
  readonly id: number;
  readonly type: 'User' | 'Bot' | 'Organization';
}

interface Commit {
  readonly sha: string;
  readonly tree: string;
  readonly parents: readonly string[];
  readonly message: string;
  readonly author: { readonly name: string; readonly email: string; readonly date: string };
  readonly committer: { readonly name: string; readonly email: string; readonly date: string };
}

interface Comment {
  readonly id: number;
  readonly nodeId: string;
  body: string;
  readonly user: User;
  readonly createdAt: string;
  updatedAt: string;
}

interface PullData {
  readonly head: string;
  /** The owner of the fork the head branch is in; absent for a branch of this repository. */
  readonly fork?: string;
  headSha: string;
  base: string;
  draft: boolean;
  merged: boolean;
  mergedAt: string | null;
  mergeCommitSha: string | null;
  mergedBy: User | null;
}

/** An issue or a pull request (they share numbers, labels and comments). */
interface Thread {
  readonly number: number;
  readonly id: number;
  readonly nodeId: string;
  title: string;
  body: string;
  state: 'open' | 'closed';
  labels: string[];
  readonly comments: Comment[];
  readonly user: User;
  readonly createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  /** The body before the last edit (for `issues.edited` payloads). */
  previousBody: string | null;
  readonly pr: PullData | null;
}

interface Label {
  readonly id: number;
  readonly nodeId: string;
  readonly name: string;
  readonly color: string;
}

interface Installation {
  readonly id: number;
  readonly account: User;
}

/** What an HTTP answer is made of. */
interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A GitHub error answer (thrown by the model, turned into a response). */
class HttpError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: string | Record<string, unknown>) {
    const payload = typeof body === 'string' ? { message: body } : body;
    super(String(payload['message']));
    this.status = status;
    this.body = { ...payload, documentation_url: 'https://docs.github.com/rest', status: String(status) };
  }
}

const notFound = (): HttpError => new HttpError(404, 'Not Found');
const validationFailed = (errors: Record<string, unknown>[]): HttpError => new HttpError(422, { message: 'Validation Failed', errors });

/** Shared state of the fake (counters, clock, users, indexes), used by every repository. */
class World {
  readonly options: Required<Omit<FakeGitHubOptions, 'now'>> & { now: () => number };
  readonly bot: User;
  readonly person: User;
  readonly repos = new Map<string, RepoState>();
  readonly installations = new Map<number, Installation>();
  readonly pullRequestsByNodeId = new Map<string, { repo: RepoState; number: number }>();
  readonly tokens = new Map<string, number>();
  readonly users = new Map<string, User>();
  /** Webhook events GitHub would deliver for the changes so far, oldest first. */
  readonly events: WebhookEvent[] = [];
  /** What GitHub's description says is wrong with requests, answers and webhooks (see FakeGitHub.violations()). */
  readonly violations: string[] = [];
  #ids = 1000;
  #events = 0;

  constructor(options: FakeGitHubOptions) {
    this.options = {
      now: options.now ?? (() => Math.floor(Date.now() / 1000)),
      appSlug: options.appSlug ?? 'policy-recommender',
      appId: options.appId ?? 1,
      person: options.person ?? 'octocat',
      treeEntryLimit: options.treeEntryLimit ?? 100_000,
      graphqlBlobTextLimit: options.graphqlBlobTextLimit ?? 512 * 1024,
    };
    this.bot = { login: `${this.options.appSlug}[bot]`, id: 100_000 + this.options.appId, type: 'Bot' };
    this.person = this.user(this.options.person, 'User');
  }

  nextId(): number {
    return ++this.#ids;
  }

  nextEventId(): string {
    return `fake-delivery-${++this.#events}`;
  }

  time(): string {
    return isoTime(this.options.now());
  }

  user(login: string, type: User['type']): User {
    let user = this.users.get(login.toLowerCase());
    if (user === undefined) this.users.set(login.toLowerCase(), (user = { login, id: this.nextId(), type }));
    return user;
  }

  repo(owner: string, name: string): RepoState | undefined {
    return this.repos.get(`${owner}/${name}`.toLowerCase());
  }
}

/** A webhook event as GitHub would deliver it: shaped from and held to GitHub's description of it. */
function webhookEvent(world: World, name: string, payload: Record<string, unknown>): WebhookEvent {
  const checked = restDescription().webhook(name, payload);
  const key = typeof payload['action'] === 'string' ? `${name}.${payload['action']}` : name;
  world.violations.push(...checked.problems.slice(0, 20).map((p) => `the fake's ${key} webhook: ${p}`));
  return { id: world.nextEventId(), name, payload: checked.payload } as unknown as WebhookEvent;
}

function nodeId(prefix: string, ...parts: (string | number)[]): string {
  return `${prefix}_${Buffer.from(parts.join(':')).toString('base64url')}`;
}

/** One repository's git objects, refs, issues and pull requests, with GitHub's rules. */
class RepoState {
  readonly world: World;
  readonly id: number;
  readonly nodeId: string;
  readonly owner: User;
  readonly name: string;
  readonly private: boolean;
  defaultBranch: string;
  installationId: number | null;
  draftPullRequests: boolean;
  deleteBranchOnMerge: boolean;
  readonly blobs = new Map<string, Buffer>();
  readonly trees = new Map<string, FlatTree>();
  readonly commits = new Map<string, Commit>();
  readonly refs = new Map<string, string>();
  readonly threads = new Map<number, Thread>();
  readonly labels = new Map<string, Label>();
  #nextNumber = 1;

  constructor(world: World, spec: RepositorySpec) {
    this.world = world;
    this.id = world.nextId();
    this.owner = world.user(spec.owner, 'Organization');
    this.name = spec.name;
    this.nodeId = nodeId('R', this.id);
    this.private = spec.private ?? false;
    this.defaultBranch = spec.defaultBranch ?? 'main';
    this.installationId = spec.installationId === undefined ? 1 : spec.installationId;
    this.draftPullRequests = spec.draftPullRequests ?? true;
    this.deleteBranchOnMerge = spec.deleteBranchOnMerge ?? false;
    const files: Record<string, string> = { ...(spec.files ?? {}) };
    if (spec.config !== undefined) files['.github/policy-recommender.yml'] = spec.config;
    const tree = this.writeTree(new Map(), new Map(Object.entries(files)));
    const commit = this.writeCommit(tree, [], 'Initial commit', world.person);
    this.refs.set(this.defaultBranch, commit);
  }

  get fullName(): string {
    return `${this.owner.login}/${this.name}`;
  }

  get htmlUrl(): string {
    return `https://github.com/${this.fullName}`;
  }

  get apiUrl(): string {
    return `https://api.github.com/repos/${this.fullName}`;
  }

  // ------------------------------------------------------------------ git

  writeBlob(content: Buffer): string {
    const sha = gitObjectSha('blob', content);
    this.blobs.set(sha, content);
    return sha;
  }

  /** A new tree: `base` with `changes` (content, a blob SHA via {sha}, or null to delete a file or a directory). */
  writeTree(base: FlatTree, changes: ReadonlyMap<string, string | { sha: string; mode?: string } | null>): string {
    const flat = new Map(base);
    for (const [path, change] of changes) {
      if (change === null) {
        const under = [...flat.keys()].filter((p) => p.startsWith(`${path}/`));
        if (!flat.has(path) && under.length === 0) throw new HttpError(422, 'GitRPC::BadObjectState');
        flat.delete(path);
        for (const p of under) flat.delete(p);
      } else if (typeof change === 'string') {
        flat.set(path, { sha: this.writeBlob(Buffer.from(change, 'utf8')), mode: '100644' });
      } else {
        flat.set(path, { sha: change.sha, mode: change.mode ?? '100644' });
      }
      // A file replaces a directory of the same name and the other way round, as in git.
      for (const p of [...flat.keys()])
        if (p !== path && (path.startsWith(`${p}/`) || p.startsWith(`${path}/`)) && change !== null) flat.delete(p);
    }
    return hashDir(dirOf(flat), this.trees);
  }

  writeCommit(tree: string, parents: readonly string[], message: string, user: User): string {
    const seconds = this.world.options.now();
    const signature = { name: user.login, email: `${user.id}+${user.login}@users.noreply.github.com`, date: isoTime(seconds) };
    const text =
      `tree ${tree}\n` +
      parents.map((p) => `parent ${p}\n`).join('') +
      `author ${signature.name} <${signature.email}> ${seconds} +0000\n` +
      `committer ${signature.name} <${signature.email}> ${seconds} +0000\n\n${message}`;
    const sha = gitObjectSha('commit', Buffer.from(text));
    this.commits.set(sha, { sha, tree, parents: [...parents], message, author: signature, committer: signature });
    return sha;
  }

  commit(sha: string): Commit {
    const commit = this.commits.get(sha);
    if (commit === undefined) throw new Error(`no commit ${sha} in ${this.fullName}`);
    return commit;
  }

  treeOf(commitSha: string): FlatTree {
    return this.trees.get(this.commit(commitSha).tree)!;
  }

  /** A branch name, a commit SHA, or `heads/x` / `refs/heads/x`: the commit. */
  resolve(ref: string): string | undefined {
    const branch = ref.replace(/^(refs\/)?heads\//, '');
    return this.refs.get(branch) ?? (this.commits.has(ref) ? ref : undefined);
  }

  /** Whether `ancestor` is reachable from `descendant`. */
  isAncestor(ancestor: string, descendant: string): boolean {
    const seen = new Set<string>();
    const stack = [descendant];
    while (stack.length > 0) {
      const sha = stack.pop()!;
      if (sha === ancestor) return true;
      if (seen.has(sha)) continue;
      seen.add(sha);
      stack.push(...(this.commits.get(sha)?.parents ?? []));
    }
    return false;
  }

  /** The nearest common ancestor (first found breadth-first from `b`), or null. */
  mergeBase(a: string, b: string): string | null {
    const ofA = new Set<string>();
    const stack = [a];
    while (stack.length > 0) {
      const sha = stack.pop()!;
      if (ofA.has(sha)) continue;
      ofA.add(sha);
      stack.push(...(this.commits.get(sha)?.parents ?? []));
    }
    const queue = [b];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const sha = queue.shift()!;
      if (ofA.has(sha)) return sha;
      if (seen.has(sha)) continue;
      seen.add(sha);
      queue.push(...(this.commits.get(sha)?.parents ?? []));
    }
    return null;
  }

  /** Files that differ from `from` to `to` (content, or null when deleted). */
  diff(from: FlatTree, to: FlatTree): Map<string, string | null> {
    const out = new Map<string, string | null>();
    for (const [path, item] of to) if (from.get(path)?.sha !== item.sha) out.set(path, this.text(item.sha));
    for (const path of from.keys()) if (!to.has(path)) out.set(path, null);
    return out;
  }

  text(blobSha: string): string {
    return this.blobs.get(blobSha)!.toString('utf8');
  }

  /** Points a branch at a commit (creating it); open PRs of that head follow (as on GitHub). */
  moveBranch(branch: string, sha: string, actor: User): void {
    const before = this.refs.get(branch) ?? null;
    if (before === sha) return;
    this.refs.set(branch, sha);
    this.emit('push', this.pushPayload(branch, before, sha), actor);
    for (const t of this.threads.values()) {
      if (t.pr && !t.pr.fork && t.state === 'open' && t.pr.head === branch && t.pr.headSha !== sha) {
        const previous = t.pr.headSha;
        t.pr.headSha = sha;
        t.updatedAt = this.world.time();
        this.threadEvent(t, 'synchronize', actor, { before: previous, after: sha });
      }
    }
  }

  /**
   * The existing branch a new branch's name collides with, as git refuses: `a` and `a/b` cannot
   * both exist (a ref is a file, and would have to be a directory too).
   */
  refConflict(branch: string): string | undefined {
    for (const name of this.refs.keys()) {
      if (name !== branch && (branch.startsWith(`${name}/`) || name.startsWith(`${branch}/`))) return name;
    }
    return undefined;
  }

  /** Deletes a branch; GitHub closes the open pull requests whose head it was. */
  deleteBranch(branch: string, actor: User): void {
    if (branch === this.defaultBranch) throw new HttpError(422, 'Cannot delete the default branch');
    const before = this.refs.get(branch);
    if (before === undefined) throw new HttpError(422, 'Reference does not exist');
    this.refs.delete(branch);
    this.emit('push', this.pushPayload(branch, before, null), actor);
    for (const t of this.threads.values()) {
      if (t.pr && !t.pr.fork && t.state === 'open' && t.pr.head === branch) this.close(t, actor);
    }
  }

  /** A `push` payload: the commits new on `branch` (at most 20, as GitHub sends) with their files. */
  pushPayload(branch: string, before: string | null, after: string | null): Record<string, unknown> {
    const ZERO = '0'.repeat(40);
    // The commits new to the repository: for a new branch, those on no other branch.
    const known = before !== null ? [before] : [...this.refs].filter(([name]) => name !== branch).map(([, sha]) => sha);
    const commits: string[] = [];
    for (
      let sha: string | undefined = after ?? undefined;
      sha !== undefined && !known.some((k) => this.isAncestor(sha!, k));
      sha = this.commit(sha).parents[0]
    ) {
      commits.unshift(sha);
    }
    const toPayload = (sha: string) => {
      const c = this.commit(sha);
      const parent = c.parents[0];
      const from = parent === undefined ? new Map<string, TreeItem>() : this.treeOf(parent);
      const to = this.treeOf(sha);
      const changed = [...this.diff(from, to).keys()];
      return {
        id: sha,
        tree_id: c.tree,
        distinct: true,
        message: c.message,
        timestamp: c.committer.date,
        url: `${this.htmlUrl}/commit/${sha}`,
        author: { name: c.author.name, email: c.author.email, username: c.author.name },
        committer: { name: c.committer.name, email: c.committer.email, username: c.committer.name },
        added: changed.filter((p) => !from.has(p)),
        removed: changed.filter((p) => !to.has(p)),
        modified: changed.filter((p) => from.has(p) && to.has(p)),
      };
    };
    const payloadCommits = commits.slice(-20).map(toPayload);
    return {
      ref: `refs/heads/${branch}`,
      before: before ?? ZERO,
      after: after ?? ZERO,
      created: before === null,
      deleted: after === null,
      forced: before !== null && after !== null && !this.isAncestor(before, after),
      base_ref: null,
      compare: `${this.htmlUrl}/compare/${(before ?? ZERO).slice(0, 12)}...${(after ?? ZERO).slice(0, 12)}`,
      commits: payloadCommits,
      head_commit: payloadCommits.at(-1) ?? null,
      repository: { ...this.restRepository(), owner: { ...this.restUser(this.owner), name: this.owner.login, email: null } },
      pusher: { name: this.world.person.login, email: `${this.world.person.login}@example.com` },
    };
  }

  // ------------------------------------------------------------------ webhooks

  /** The webhook event GitHub would send (the repository, sender and installation added). */
  event(name: string, payload: Record<string, unknown>, sender: User): WebhookEvent {
    return webhookEvent(this.world, name, {
      repository: this.restRepository(),
      sender: this.restUser(sender),
      ...(this.installationId !== null
        ? { installation: { id: this.installationId, node_id: nodeId('I', 'installation', this.installationId) } }
        : {}),
      ...payload,
    });
  }

  /** Queues the webhook GitHub would deliver. */
  emit(name: string, payload: Record<string, unknown>, sender: User): void {
    this.world.events.push(this.event(name, payload, sender));
  }

  /** Queues a `pull_request` or `issues` event about a thread. */
  threadEvent(t: Thread, action: string, sender: User, extra: Record<string, unknown> = {}): void {
    if (t.pr)
      this.emit(
        'pull_request',
        { action, number: t.number, pull_request: this.restPull(t as Thread & { pr: PullData }), ...extra },
        sender,
      );
    else this.emit('issues', { action, issue: this.restIssue(t), ...extra }, sender);
  }

  /** A commit of `changes` on top of `parent`. */
  commitChanges(parent: string, changes: ReadonlyMap<string, string | null>, message: string, user: User): string {
    return this.writeCommit(this.writeTree(this.treeOf(parent), changes), [parent], message, user);
  }

  // ------------------------------------------------------------------ issues and pull requests

  thread(number: number): Thread {
    const t = this.threads.get(number);
    if (t === undefined) throw notFound();
    return t;
  }

  pull(number: number): Thread & { pr: PullData } {
    const t = this.thread(number);
    if (t.pr === null) throw notFound();
    return t as Thread & { pr: PullData };
  }

  newThread(fields: { title: string; body: string; user: User; pr: PullData | null }): Thread {
    const number = this.#nextNumber++;
    const now = this.world.time();
    const thread: Thread = {
      number,
      id: this.world.nextId(),
      nodeId: nodeId(fields.pr ? 'PR' : 'I', this.id, number),
      title: fields.title,
      body: fields.body,
      state: 'open',
      labels: [],
      comments: [],
      user: fields.user,
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      previousBody: null,
      pr: fields.pr,
    };
    this.threads.set(number, thread);
    if (fields.pr) this.world.pullRequestsByNodeId.set(thread.nodeId, { repo: this, number });
    this.threadEvent(thread, 'opened', fields.user);
    return thread;
  }

  label(name: string): Label {
    let label = this.labels.get(name.toLowerCase());
    if (label === undefined) {
      const id = this.world.nextId();
      this.labels.set(name.toLowerCase(), (label = { id, nodeId: nodeId('LA', id), name, color: 'ededed' }));
    }
    return label;
  }

  /** Sets a thread's labels (creating missing repository labels, as GitHub does), deduplicated. */
  setLabels(t: Thread, names: readonly string[], actor: User): void {
    const out: string[] = [];
    for (const n of names) {
      const label = this.label(n);
      if (!out.some((l) => l.toLowerCase() === label.name.toLowerCase())) out.push(label.name);
    }
    const before = t.labels;
    t.labels = out;
    t.updatedAt = this.world.time();
    for (const l of before) if (!out.includes(l)) this.threadEvent(t, 'unlabeled', actor, { label: this.restLabel(l) });
    for (const l of out) if (!before.includes(l)) this.threadEvent(t, 'labeled', actor, { label: this.restLabel(l) });
  }

  /** Edits a thread's title and body (`edited` carries what they were). */
  edit(t: Thread, change: { title?: string; body?: string }, actor: User): void {
    const changes: Record<string, { from: string }> = {};
    if (change.title !== undefined && change.title !== t.title) {
      changes['title'] = { from: t.title };
      t.title = change.title;
    }
    if (change.body !== undefined && change.body !== t.body) {
      changes['body'] = { from: t.body };
      t.previousBody = t.body;
      t.body = change.body;
    }
    if (Object.keys(changes).length === 0) return;
    t.updatedAt = this.world.time();
    this.threadEvent(t, 'edited', actor, { changes });
  }

  setDraft(t: Thread & { pr: PullData }, draft: boolean, actor: User): void {
    if (t.pr.draft === draft) return;
    t.pr.draft = draft;
    t.updatedAt = this.world.time();
    this.threadEvent(t, draft ? 'converted_to_draft' : 'ready_for_review', actor);
  }

  addComment(t: Thread, body: string, user: User): Comment {
    const now = this.world.time();
    const id = this.world.nextId();
    const comment: Comment = { id, nodeId: nodeId('IC', id), body, user, createdAt: now, updatedAt: now };
    t.comments.push(comment);
    t.updatedAt = now;
    this.emit('issue_comment', { action: 'created', issue: this.restIssue(t), comment: this.restComment(t, comment) }, user);
    return comment;
  }

  /** Deletes a comment of any thread; false when there is none with that id. */
  deleteComment(id: number, actor: User): boolean {
    for (const t of this.threads.values()) {
      const at = t.comments.findIndex((c) => c.id === id);
      if (at === -1) continue;
      const [comment] = t.comments.splice(at, 1);
      this.emit('issue_comment', { action: 'deleted', issue: this.restIssue(t), comment: this.restComment(t, comment!) }, actor);
      return true;
    }
    return false;
  }

  close(t: Thread, actor: User): void {
    if (t.state === 'closed') return;
    t.state = 'closed';
    t.closedAt = this.world.time();
    t.updatedAt = t.closedAt;
    this.threadEvent(t, 'closed', actor);
  }

  reopenIssue(t: Thread, actor: User): void {
    if (t.state === 'open') return;
    t.state = 'open';
    t.closedAt = null;
    t.updatedAt = this.world.time();
    this.threadEvent(t, 'reopened', actor);
  }

  /** Reopens a pull request under GitHub's rules (its branch must exist and still contain its head). */
  reopen(t: Thread & { pr: PullData }, actor: User): void {
    if (t.state === 'open') return;
    const state = (message: string) => validationFailed([{ resource: 'PullRequest', code: 'custom', field: 'state', message }]);
    if (t.pr.merged) throw state('state cannot be changed. The pull request has been merged.');
    const sha = this.refs.get(t.pr.head);
    if (sha === undefined) throw state(`state cannot be changed. The ${t.pr.head} branch has been deleted.`);
    if (!this.isAncestor(t.pr.headSha, sha)) throw state('state cannot be changed. The head branch was force-pushed or recreated.');
    const other = [...this.threads.values()].find(
      (o) => o !== t && o.pr && o.state === 'open' && o.pr.head === t.pr.head && o.pr.base === t.pr.base,
    );
    if (other) throw state(`state cannot be changed. There is already an open pull request from ${t.pr.head} to ${t.pr.base}.`);
    t.state = 'open';
    t.closedAt = null;
    t.pr.headSha = sha;
    t.updatedAt = this.world.time();
    this.threadEvent(t, 'reopened', actor);
  }

  prState(t: Thread & { pr: PullData }): PullRequestStatus {
    return t.pr.merged ? 'merged' : t.state;
  }

  /** The files a pull request changes (its head against the merge base with its base branch). */
  changedFiles(t: Thread & { pr: PullData }): Map<string, string | null> {
    const base = t.pr.merged ? this.commit(t.pr.mergeCommitSha!).parents[0]! : (this.refs.get(t.pr.base) ?? t.pr.headSha);
    const mergeBase = this.mergeBase(base, t.pr.headSha) ?? base;
    return this.diff(this.treeOf(mergeBase), this.treeOf(t.pr.headSha));
  }

  /** The PR's head merged into its base branch's head (fake-merge.ts). */
  mergeOf(t: Thread & { pr: PullData }): TreeMerge {
    const baseHead = this.refs.get(t.pr.base);
    const mergeBase = baseHead === undefined ? null : this.mergeBase(baseHead, t.pr.headSha);
    if (baseHead === undefined || mergeBase === null) return { conflicts: ['(no common history)'], changes: new Map() };
    const blobs = (sha: string) => new Map([...this.treeOf(sha)].map(([path, item]) => [path, item.sha]));
    return mergeTrees(blobs(mergeBase), blobs(baseHead), blobs(t.pr.headSha), (blob) => this.text(blob));
  }

  merge(t: Thread & { pr: PullData }, user: User, deleteBranch: boolean): string {
    if (t.state !== 'open') throw new Error(`#${t.number} is not open`);
    if (t.pr.draft) throw new Error(`#${t.number} is a draft: draft pull requests cannot be merged (mark it ready for review first)`);
    const baseHead = this.refs.get(t.pr.base);
    if (baseHead === undefined) throw new Error(`the base branch ${t.pr.base} of #${t.number} does not exist`);
    const mergeBase = this.mergeBase(baseHead, t.pr.headSha);
    if (mergeBase === null) throw new Error(`#${t.number} has no history in common with ${t.pr.base}`);
    const merge = this.mergeOf(t);
    if (merge.conflicts.length > 0) throw new Error(`#${t.number} conflicts with ${t.pr.base} in ${merge.conflicts.join(', ')}`);
    const tree = this.writeTree(this.treeOf(baseHead), merge.changes);
    const sha = this.writeCommit(
      tree,
      [baseHead, t.pr.headSha],
      `Merge pull request #${t.number} from ${this.owner.login}/${t.pr.head}\n\n${t.title}`,
      user,
    );
    this.moveBranch(t.pr.base, sha, user);
    t.pr.merged = true;
    t.pr.mergedAt = this.world.time();
    t.pr.mergeCommitSha = sha;
    t.pr.mergedBy = user;
    this.close(t, user);
    if (deleteBranch && this.refs.has(t.pr.head)) this.deleteBranch(t.pr.head, user);
    return sha;
  }

  // ------------------------------------------------------------------ REST shapes
  //
  // What the fake models; what GitHub's schemas also require (URL templates, counters, flags
  // that are always false here...) is added from the description when an answer or a webhook
  // leaves the fake (github-description.ts: shapeResponse, webhook).

  restUser(u: User): Record<string, unknown> {
    return {
      login: u.login,
      id: u.id,
      node_id: nodeId('U', u.id),
      type: u.type,
      avatar_url: `https://avatars.githubusercontent.com/u/${u.id}?v=4`,
      url: `https://api.github.com/users/${encodeURIComponent(u.login)}`,
      html_url: `https://github.com/${encodeURIComponent(u.login)}`,
    };
  }

  restRepository(): Record<string, unknown> {
    return {
      id: this.id,
      node_id: this.nodeId,
      name: this.name,
      full_name: this.fullName,
      private: this.private,
      visibility: this.private ? 'private' : 'public',
      owner: this.restUser(this.owner),
      html_url: this.htmlUrl,
      url: this.apiUrl,
      default_branch: this.defaultBranch,
      delete_branch_on_merge: this.deleteBranchOnMerge,
      permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
    };
  }

  restLabel(name: string): Record<string, unknown> {
    const l = this.label(name);
    return { id: l.id, node_id: l.nodeId, url: `${this.apiUrl}/labels/${encodeURIComponent(l.name)}`, name: l.name, color: l.color };
  }

  restIssue(t: Thread): Record<string, unknown> {
    return {
      id: t.id,
      node_id: t.nodeId,
      url: `${this.apiUrl}/issues/${t.number}`,
      repository_url: this.apiUrl,
      html_url: `${this.htmlUrl}/${t.pr ? 'pull' : 'issues'}/${t.number}`,
      number: t.number,
      state: t.state,
      state_reason: t.state === 'closed' ? 'completed' : null,
      title: t.title,
      body: t.body,
      user: this.restUser(t.user),
      labels: t.labels.map((l) => this.restLabel(l)),
      comments: t.comments.length,
      created_at: t.createdAt,
      updated_at: t.updatedAt,
      closed_at: t.closedAt,
      author_association: t.user.type === 'Bot' ? 'NONE' : 'MEMBER',
      ...(t.pr
        ? {
            draft: t.pr.draft,
            pull_request: {
              url: `${this.apiUrl}/pulls/${t.number}`,
              html_url: `${this.htmlUrl}/pull/${t.number}`,
              diff_url: `${this.htmlUrl}/pull/${t.number}.diff`,
              patch_url: `${this.htmlUrl}/pull/${t.number}.patch`,
              merged_at: t.pr.mergedAt,
            },
          }
        : {}),
    };
  }

  /**
   * A pull request as REST shows it. `mergeable` is GitHub's background job's answer, only in the
   * single-PR answer (@octokit/openapi api.github.com.json: `pull-request.mergeable` is a nullable
   * boolean; `pull-request-simple`, what lists return, has none): lists and webhooks say null here.
   */
  restPull(t: Thread & { pr: PullData }, withMergeable = false): Record<string, unknown> {
    const branch = (ref: string, sha: string, fork?: string) => ({
      label: `${fork ?? this.owner.login}:${ref}`,
      ref,
      sha,
      user: this.restUser(fork === undefined ? this.owner : this.world.user(fork, 'User')),
      repo: this.restRepository(),
    });
    return {
      url: `${this.apiUrl}/pulls/${t.number}`,
      id: t.id,
      node_id: t.nodeId,
      html_url: `${this.htmlUrl}/pull/${t.number}`,
      diff_url: `${this.htmlUrl}/pull/${t.number}.diff`,
      patch_url: `${this.htmlUrl}/pull/${t.number}.patch`,
      issue_url: `${this.apiUrl}/issues/${t.number}`,
      number: t.number,
      state: t.state,
      title: t.title,
      user: this.restUser(t.user),
      body: t.body,
      labels: t.labels.map((l) => this.restLabel(l)),
      created_at: t.createdAt,
      updated_at: t.updatedAt,
      closed_at: t.closedAt,
      merged_at: t.pr.mergedAt,
      merge_commit_sha: t.pr.mergeCommitSha,
      draft: t.pr.draft,
      head: branch(t.pr.head, t.pr.headSha, t.pr.fork),
      base: branch(t.pr.base, this.refs.get(t.pr.base) ?? ''),
      author_association: t.user.type === 'Bot' ? 'NONE' : 'MEMBER',
      merged: t.pr.merged,
      // GitHub computes it in a background job (null until then); the fake's job is done at once.
      mergeable: withMergeable && t.state === 'open' ? this.mergeOf(t).conflicts.length === 0 : null,
      merged_by: t.pr.mergedBy ? this.restUser(t.pr.mergedBy) : null,
      comments: t.comments.length,
    };
  }

  restComment(t: Thread, c: Comment): Record<string, unknown> {
    return {
      id: c.id,
      node_id: c.nodeId,
      url: `${this.apiUrl}/issues/comments/${c.id}`,
      html_url: `${this.htmlUrl}/${t.pr ? 'pull' : 'issues'}/${t.number}#issuecomment-${c.id}`,
      issue_url: `${this.apiUrl}/issues/${t.number}`,
      body: c.body,
      user: this.restUser(c.user),
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      author_association: c.user.type === 'Bot' ? 'NONE' : 'MEMBER',
    };
  }

  restCommit(sha: string): Record<string, unknown> {
    const c = this.commit(sha);
    return {
      sha,
      node_id: nodeId('C', this.id, sha),
      url: `${this.apiUrl}/git/commits/${sha}`,
      html_url: `${this.htmlUrl}/commit/${sha}`,
      author: c.author,
      committer: c.committer,
      message: c.message,
      tree: { sha: c.tree, url: `${this.apiUrl}/git/trees/${c.tree}` },
      parents: c.parents.map((p) => ({ sha: p, url: `${this.apiUrl}/git/commits/${p}`, html_url: `${this.htmlUrl}/commit/${p}` })),
      verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
    };
  }

  restRef(branch: string): Record<string, unknown> {
    const sha = this.refs.get(branch)!;
    return {
      ref: `refs/heads/${branch}`,
      node_id: nodeId('REF', this.id, branch),
      url: `${this.apiUrl}/git/refs/heads/${branch}`,
      object: { sha, type: 'commit', url: `${this.apiUrl}/git/commits/${sha}` },
    };
  }

  /** A tree's entries as GET /git/trees answers them. */
  restTreeEntries(treeSha: string, recursive: boolean): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    const walk = (node: DirNode, prefix: string) => {
      for (const e of gitOrder(node)) {
        const path = prefix + e.name;
        if (e.item) {
          out.push({
            path,
            mode: e.item.mode,
            type: 'blob',
            sha: e.item.sha,
            size: this.blobs.get(e.item.sha)?.length ?? 0,
            url: `${this.apiUrl}/git/blobs/${e.item.sha}`,
          });
        } else {
          const sha = hashDir(e.dir!, this.trees);
          out.push({ path, mode: '040000', type: 'tree', sha, url: `${this.apiUrl}/git/trees/${sha}` });
          if (recursive) walk(e.dir!, `${path}/`);
        }
      }
    };
    walk(dirOf(this.trees.get(treeSha)!), '');
    return out;
  }
}

// ==================================================================================== the fake

/** The HTTP side: routing, authentication, accounting, faults, GraphQL execution. */
export class FakeGitHub {
  readonly #world: World;
  readonly #requests: RecordedRequest[] = [];
  readonly #unexpected: string[] = [];
  readonly #faults: { fault: Fault; left: number; skip: number }[] = [];
  #interceptors: nock.Interceptor[] = [];
  #tokenCount = 0;

  constructor(options: FakeGitHubOptions = {}) {
    this.#world = new World(options);
  }

  // ------------------------------------------------------------------ setup

  /** Adds an installation of the App (done implicitly by `addRepository`). */
  addInstallation(id: number, account: string): void {
    if (!this.#world.installations.has(id)) this.#world.installations.set(id, { id, account: this.#world.user(account, 'Organization') });
  }

  addRepository(spec: RepositorySpec): FakeRepository {
    if (this.#world.repo(spec.owner, spec.name)) throw new Error(`${spec.owner}/${spec.name} already exists`);
    const state = new RepoState(this.#world, spec);
    this.#world.repos.set(state.fullName.toLowerCase(), state);
    if (state.installationId !== null) this.addInstallation(state.installationId, spec.owner);
    return new FakeRepository(state);
  }

  repository(fullName: string): FakeRepository {
    const [owner, name] = fullName.split('/') as [string, string];
    const state = this.#world.repo(owner, name);
    if (state === undefined) throw new Error(`no repository ${fullName}`);
    return new FakeRepository(state);
  }

  /** Serves api.github.com through nock until `stop()`. */
  start(): this {
    if (this.#interceptors.length > 0) return this;
    const scope = nock('https://api.github.com').persist();
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      const interceptor = scope.intercept(() => true, method);
      interceptor.reply(async (req: Request) => this.#serve(req));
      this.#interceptors.push(interceptor);
    }
    return this;
  }

  /**
   * Stops serving; throws if a request broke GitHub's description (or a response of the fake
   * did), naming each, so every test that uses the fake fails on a call GitHub would refuse.
   */
  stop(): void {
    for (const i of this.#interceptors) nock.removeInterceptor(i);
    this.#interceptors = [];
    const violations = this.takeViolations();
    if (violations.length > 0)
      throw new Error(
        `FakeGitHub: ${violations.length} request(s) or response(s) unlike GitHub's description:\n- ${violations.join('\n- ')}`,
      );
  }

  // ------------------------------------------------------------------ accounting and faults

  requests(): readonly RecordedRequest[] {
    return [...this.#requests];
  }

  resetRequests(): void {
    this.#requests.length = 0;
  }

  /** Requests the fake does not implement (REST routes, GraphQL fields or syntax): a test or an app bug. */
  unexpected(): readonly string[] {
    return [...this.#unexpected];
  }

  /**
   * Requests real GitHub would refuse or silently ignore in part, and responses of the fake that
   * do not match GitHub's description (see github-description.ts), each naming the operation and
   * what is wrong; `stop()` throws while any is left.
   */
  violations(): readonly string[] {
    return [...this.#world.violations];
  }

  /** The violations so far, emptying the list (for a test that makes them on purpose). */
  takeViolations(): string[] {
    return this.#world.violations.splice(0);
  }

  /** The next matching request(s) fail with `status` (the rest of the model is untouched unless `afterApply`). */
  failNext(fault: Fault): void {
    this.#faults.push({ fault, left: fault.times ?? 1, skip: fault.skip ?? 0 });
  }

  /**
   * The next matching request waits, unanswered, until `release()`: `reached` resolves when it
   * arrives. For interleaving two clients at one request (e.g. two replicas at a ref update).
   */
  hold(match: Pick<Fault, 'method' | 'pathRegex' | 'graphql' | 'skip'>): { reached: Promise<void>; release(): void } {
    let arrived!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.failNext({
      ...match,
      kind: 'pass',
      before: () => {
        arrived();
        return released;
      },
    });
    return { reached, release };
  }

  /**
   * A person acting between two requests: `act` runs when the `index`-th request from now
   * arrives (0: the next one), before it is served, and the request is then served as usual.
   * `ran()` tells whether that request came. See `atEveryRequest` to try every index of a run.
   */
  actBefore(index: number, act: () => void | Promise<void>): { ran(): boolean } {
    let ran = false;
    this.failNext({
      kind: 'pass',
      skip: index,
      before: async () => {
        ran = true;
        await act();
      },
    });
    return { ran: () => ran };
  }

  /** Faults not yet consumed. */
  pendingFaults(): number {
    return this.#faults.reduce((n, f) => n + f.left, 0);
  }

  /** Installation tokens issued so far. */
  tokensIssued(): number {
    return this.#tokenCount;
  }

  /** The installation tokens themselves (secrets a test checks never leak). */
  issuedTokens(): string[] {
    return [...this.#world.tokens.keys()];
  }

  // ------------------------------------------------------------------ webhooks

  /**
   * The webhook events GitHub would have delivered for every change so far (the App's requests
   * and people's actions), oldest first, not yet taken. Each names its sender (the App's bot or
   * the person), as GitHub does.
   */
  events(): readonly WebhookEvent[] {
    return [...this.#world.events];
  }

  /** The queued events, emptying the queue. */
  takeEvents(): WebhookEvent[] {
    return this.#world.events.splice(0);
  }

  /**
   * Delivers the queued events to the app (`probot.receive`), by default one at a time and in
   * order; events caused by the handlers are delivered too, until none is left. `only` filters
   * by `name` or `name.action` (others are dropped). Fails after `maxRounds` rounds (a loop).
   *
   * GitHub promises neither order nor once-only delivery, so a test can ask for what it does at
   * its worst: `concurrent` delivers a round's events all at once (the handlers interleave at
   * every request), `twice` delivers each event a second time with the same delivery id (a
   * redelivery keeps the event's X-GitHub-Delivery GUID: github/docs#32822), concurrently with
   * the first when both are set, else right after it. Every delivery runs to its end before a
   * failure is thrown (the first one's).
   */
  async deliver(
    probot: { receive(event: WebhookEvent): Promise<void> },
    options: { only?: readonly string[]; maxRounds?: number; concurrent?: boolean; twice?: boolean } = {},
  ): Promise<WebhookEvent[]> {
    const delivered: WebhookEvent[] = [];
    const max = options.maxRounds ?? 20;
    const copies = options.twice ? 2 : 1;
    for (let round = 0; this.#world.events.length > 0; round++) {
      if (round >= max)
        throw new Error(`webhook deliveries still cause events after ${max} rounds: ${this.#world.events.map(eventName).join(', ')}`);
      const events = this.takeEvents().filter((e) => !options.only || options.only.includes(e.name) || options.only.includes(eventName(e)));
      const deliveries = events.flatMap((e) => Array.from({ length: copies }, () => e));
      delivered.push(...deliveries);
      if (options.concurrent) {
        const results = await Promise.allSettled(deliveries.map((e) => probot.receive(e)));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      } else {
        for (const event of deliveries) await probot.receive(event);
      }
    }
    return delivered;
  }

  /** `installation.created` for an installation and all its repositories. */
  installationCreatedEvent(installationId: number): WebhookEvent {
    const installation = this.#world.installations.get(installationId);
    if (installation === undefined) throw new Error(`no installation ${installationId}`);
    const repos = [...this.#world.repos.values()].filter((r) => r.installationId === installationId);
    const anyRepo = repos[0];
    return webhookEvent(this.#world, 'installation', {
      action: 'created',
      installation: this.#restInstallation(installation),
      repositories: repos.map((r) => ({ id: r.id, node_id: r.nodeId, name: r.name, full_name: r.fullName, private: r.private })),
      requester: null,
      sender: anyRepo ? anyRepo.restUser(this.#world.person) : { login: this.#world.person.login, id: this.#world.person.id, type: 'User' },
    });
  }

  // ------------------------------------------------------------------ HTTP

  async #serve(req: Request): Promise<[number, string, Record<string, string>]> {
    const url = new URL(req.url);
    const path = url.pathname
      .split('/')
      .map((s) => decodeURIComponent(s))
      .join('/');
    const rawText = req.method === 'GET' || req.method === 'DELETE' ? '' : await req.text();
    let body: unknown;
    try {
      body = rawText === '' ? undefined : JSON.parse(rawText);
    } catch {
      return this.#finish(null, { status: 400, body: { message: 'Problems parsing JSON' } });
    }
    const auth = this.#auth(req.headers.get('authorization'));
    const record: RecordedRequest = {
      method: req.method,
      path,
      query: Object.fromEntries(url.searchParams),
      ...(auth.installationId !== undefined ? { installationId: auth.installationId } : {}),
      status: 0,
    };
    let graphqlFields: string[] = [];
    let document: DocumentNode | null = null;
    let refusal: Reply | null;
    if (req.method === 'POST' && url.pathname === '/graphql') {
      const { query, variables, operationName } = (body ?? {}) as {
        query?: unknown;
        variables?: Record<string, unknown>;
        operationName?: string;
      };
      const checked = graphqlDescription().check(String(query ?? ''), variables, operationName);
      refusal = this.#graphqlRefusal(checked.problems);
      document = checked.document;
      const { first, under } = fieldsOf(checked.operation);
      graphqlFields = [first, ...under];
      Object.assign(record, { graphql: first, graphqlFields: under, ...(variables ? { variables } : {}) });
    } else {
      refusal = this.#restRefusal(req.method, url, body, req.headers.get('content-type'));
    }
    this.#requests.push(record);
    if (refusal !== null) return this.#finish(record, refusal);

    const taken = this.#takeFault(req.method, path, graphqlFields);
    await taken?.before?.();
    const fault = taken?.kind === 'pass' ? null : taken;
    if (fault) record.faulted = true;
    if (fault && !fault.afterApply) return this.#finish(record, this.#faultReply(fault));
    let reply: Reply;
    try {
      reply =
        url.pathname === '/graphql' && req.method === 'POST'
          ? this.#graphql(body, auth, document!)
          : this.#rest({ method: req.method, path, rawPath: url.pathname, query: url.searchParams, headers: req.headers, body, auth });
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      reply = { status: e.status, body: e.body };
    }
    if (fault) return this.#finish(record, this.#faultReply(fault));
    return this.#finish(record, this.#conform(req.method, url.pathname, reply));
  }

  /** A GraphQL request GitHub would refuse (github-description.ts): GitHub's answer, and a violation. */
  #graphqlRefusal(problems: readonly string[]): Reply | null {
    if (problems.length === 0) return null;
    this.#world.violations.push(...problems.map((p) => `POST /graphql (GraphQL): ${p}`));
    return { status: 200, body: { errors: problems.map((message) => ({ message, locations: [] })) } };
  }

  /**
   * Holds a REST request to GitHub's description (github-description.ts): the operation must
   * exist for the method and path, its parameters and body must validate. What GitHub refuses
   * gets GitHub's answer (404 for no such operation, 422 for an invalid request); what GitHub
   * would silently ignore (an unknown query parameter or body field) is served. Both are violations.
   */
  #restRefusal(method: string, url: URL, body: unknown, contentType: string | null): Reply | null {
    const violation = (what: string, problems: readonly string[]) =>
      this.#world.violations.push(...problems.map((p) => `${method} ${url.pathname}${url.search} (${what}): ${p}`));
    const matched = restDescription().match(method, url.pathname);
    if (matched === null) {
      violation('no such operation', ['GitHub has no operation for this method and path']);
      return { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' } };
    }
    const { refused, ignored } = restDescription().checkRequest(matched, url.searchParams, body, contentType);
    violation(`${matched.operation.route}, ${matched.operation.id}`, [...refused, ...ignored.map((i) => `${i} (GitHub ignores it)`)]);
    if (refused.length === 0) return null;
    return {
      status: 422,
      body: { message: `Invalid request.\n\n${refused.join('\n')}`, documentation_url: 'https://docs.github.com/rest', status: '422' },
    };
  }

  /**
   * The fake's JSON answer shaped from the operation's response schema (the fields the fake
   * does not model), then held to it: a field the fake gives with the wrong type or value, or an
   * answer of the wrong shape, is a violation (a fake that drifted from GitHub).
   */
  #conform(method: string, rawPath: string, reply: Reply): Reply {
    if (rawPath === '/graphql' || reply.body === undefined || typeof reply.body === 'string') return reply;
    const matched: MatchedRequest | null = restDescription().match(method, rawPath);
    if (matched === null) return reply;
    const body = restDescription().shapeResponse(matched.operation, reply.status, reply.body);
    const problems = restDescription().checkResponse(matched.operation, reply.status, body);
    this.#world.violations.push(
      ...problems
        .slice(0, 20)
        .map(
          (p) => `the fake's ${reply.status} answer to ${method} ${rawPath} (${matched.operation.route}, ${matched.operation.id}): ${p}`,
        ),
    );
    return { ...reply, body };
  }

  #finish(record: RecordedRequest | null, reply: Reply): [number, string, Record<string, string>] {
    if (record) record.status = reply.status;
    const headers: Record<string, string> = {
      'x-github-request-id': `FAKE:${this.#requests.length}`,
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      // GitHub's clock (RFC 9110 section 6.6.1: an origin server with a clock sends Date in every response).
      date: new Date(this.#world.options.now() * 1000).toUTCString(),
      ...(typeof reply.body === 'string' ? {} : { 'content-type': 'application/json; charset=utf-8' }),
      ...(reply.headers ?? {}),
    };
    const text = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    return [reply.status, text, headers];
  }

  #takeFault(method: string, path: string, graphqlFields: readonly string[]): Fault | null {
    const index = this.#faults.findIndex(({ fault }) => {
      if (fault.method !== undefined && fault.method.toUpperCase() !== method) return false;
      if (fault.pathRegex !== undefined && !fault.pathRegex.test(path)) return false;
      if (fault.graphql !== undefined) {
        const g = fault.graphql;
        if (!graphqlFields.some((f) => (typeof g === 'string' ? f === g : g.test(f)))) return false;
      }
      return true;
    });
    if (index === -1) return null;
    const entry = this.#faults[index]!;
    if (entry.skip > 0) {
      entry.skip--;
      return null;
    }
    if (--entry.left <= 0) this.#faults.splice(index, 1);
    return entry.fault;
  }

  #faultReply(fault: Fault): Reply {
    if (fault.kind === 'reset') throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
    const status = fault.status ?? 500;
    return {
      status,
      body: fault.body ?? { message: `Injected failure (${status})`, documentation_url: 'https://docs.github.com/rest' },
      ...(fault.headers ? { headers: fault.headers } : {}),
    };
  }

  #auth(header: string | null): { kind: 'none' | 'jwt' | 'token'; installationId?: number } {
    if (header === null) return { kind: 'none' };
    const [scheme, credential = ''] = header.split(/\s+/, 2) as [string, string?];
    if (/^bearer$/i.test(scheme) && credential.split('.').length === 3) return { kind: 'jwt' };
    const installationId = this.#world.tokens.get(credential);
    return installationId === undefined ? { kind: 'token' } : { kind: 'token', installationId };
  }

  #unsupported(what: string): Reply {
    this.#unexpected.push(what);
    return { status: 500, body: { message: `FakeGitHub does not implement ${what}` } };
  }

  #restInstallation(i: Installation): Record<string, unknown> {
    // A Simple User (apps/list-installations: account is a Simple User or an Enterprise).
    const account = {
      login: i.account.login,
      id: i.account.id,
      node_id: nodeId('O', i.account.id),
      type: i.account.type,
      name: i.account.login,
      email: null,
      avatar_url: `https://avatars.githubusercontent.com/u/${i.account.id}?v=4`,
      url: `https://api.github.com/users/${encodeURIComponent(i.account.login)}`,
      html_url: `https://github.com/${encodeURIComponent(i.account.login)}`,
    };
    return {
      id: i.id,
      node_id: nodeId('I', 'installation', i.id),
      account,
      app_id: this.#world.options.appId,
      app_slug: this.#world.options.appSlug,
      target_id: i.account.id,
      target_type: i.account.type,
      repository_selection: 'selected',
      access_tokens_url: `https://api.github.com/app/installations/${i.id}/access_tokens`,
      repositories_url: 'https://api.github.com/installation/repositories',
      html_url: `https://github.com/organizations/${i.account.login}/settings/installations/${i.id}`,
      permissions: { contents: 'write', pull_requests: 'write', issues: 'write', metadata: 'read' },
      events: ['issue_comment', 'issues', 'pull_request', 'push'],
      created_at: this.#world.time(),
      updated_at: this.#world.time(),
    };
  }

  /**
   * GitHub's issue search (`GET /search/issues`, search/issues-and-pull-requests), holding to what
   * GitHub documents and no more (docs.github.com: "Searching issues and pull requests", "REST API
   * endpoints for search", "Troubleshooting search queries"):
   * - qualifiers `repo:OWNER/NAME`, `is:issue`/`is:pr`, `type:issue`/`type:pr`, `is:open`/
   *   `is:closed`, `state:open`/`state:closed`, `in:title,body,comments` (without it, title,
   *   body and comments are all searched); any other qualifier is `unexpected()`;
   * - words and "quoted phrases", all required, not case sensitive; a phrase is its words in a row;
   * - GitHub does not document that text Markdown hides (HTML comments) is searched, so the
   *   fake's index leaves it out: a search that works here works on GitHub;
   * - `sort=created|updated` with `order`; without `sort` ("best match") the fake answers newest first;
   * - at most 1,000 results are served (a page past them is refused with 422), queries longer than
   *   256 characters are refused; `incomplete_results` is false (a fault's body can say otherwise).
   * Which repositories a token may search: those of its installation (another is a 422, as
   * GitHub answers for repositories that "cannot be searched").
   */
  #searchIssues(query: URLSearchParams, auth: { kind: 'none' | 'jwt' | 'token'; installationId?: number }, rawPath: string): Reply {
    const world = this.#world;
    const q = query.get('q') ?? '';
    if (q.length > 256)
      throw validationFailed([{ message: 'The search is longer than 256 characters.', resource: 'Search', field: 'q', code: 'invalid' }]);
    const terms = [...q.matchAll(/(-?)([a-z]+):("[^"]*"|\S+)|"([^"]*)"|(\S+)/gi)];
    let repo: RepoState | undefined;
    let kind: 'issue' | 'pr' | null = null;
    let state: 'open' | 'closed' | null = null;
    let fields: readonly string[] = ['title', 'body', 'comments'];
    const phrases: string[][] = [];
    for (const [, negated, key, rawValue, phrase, word] of terms) {
      if (key === undefined) {
        const words = searchWords(phrase ?? word ?? '');
        if (words.length > 0) phrases.push(words);
        continue;
      }
      const value = rawValue!.replace(/^"|"$/g, '').toLowerCase();
      const qualifier = `${key.toLowerCase()}:${value}`;
      if (negated) return this.#unsupported(`GET /search/issues with -${qualifier}`);
      if (key.toLowerCase() === 'repo') {
        const [owner = '', name = ''] = value.split('/');
        repo = world.repo(owner, name);
        if (
          repo === undefined ||
          (auth.installationId !== undefined && repo.installationId !== auth.installationId) ||
          (auth.kind === 'none' && repo.private)
        ) {
          throw validationFailed([
            {
              message:
                'The listed users and repositories cannot be searched either because the resources do not exist or you do not have permission to view them.',
              resource: 'Search',
              field: 'q',
              code: 'invalid',
            },
          ]);
        }
      } else if (['is:issue', 'type:issue'].includes(qualifier)) kind = 'issue';
      else if (['is:pr', 'type:pr', 'is:pull-request'].includes(qualifier)) kind = 'pr';
      else if (['is:open', 'state:open'].includes(qualifier)) state = 'open';
      else if (['is:closed', 'state:closed'].includes(qualifier)) state = 'closed';
      else if (key.toLowerCase() === 'in' && value.split(',').every((f) => ['title', 'body', 'comments'].includes(f)))
        fields = value.split(',');
      else return this.#unsupported(`GET /search/issues with ${qualifier} (the fake searches within one repository)`);
    }
    if (repo === undefined) return this.#unsupported('GET /search/issues without repo: (the fake searches within one repository)');
    const searched = repo;
    const text = (t: Thread): string[][] => [
      ...(fields.includes('title') ? [searchWords(t.title)] : []),
      ...(fields.includes('body') ? [searchWords(visibleText(t.body))] : []),
      ...(fields.includes('comments') ? t.comments.map((c) => searchWords(visibleText(c.body))) : []),
    ];
    const sort = query.get('sort');
    const asc = query.get('order') === 'asc';
    const key = (t: Thread) => (sort === 'updated' ? t.updatedAt : t.createdAt);
    const matches = [...searched.threads.values()]
      .filter((t) => kind === null || (kind === 'pr') === (t.pr !== null))
      .filter((t) => state === null || t.state === state)
      .filter((t) => phrases.every((p) => text(t).some((words) => containsPhrase(words, p))))
      .sort((a, b) => {
        if (sort !== 'created' && sort !== 'updated') return b.number - a.number;
        const order = key(a) === key(b) ? a.number - b.number : key(a) < key(b) ? -1 : 1;
        return asc ? order : -order;
      });
    const served = matches.slice(0, 1000);
    const perPage = Math.min(100, Math.max(1, Number.parseInt(query.get('per_page') ?? '30', 10) || 30));
    const page = Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1);
    if ((page - 1) * perPage >= 1000)
      throw validationFailed([{ message: 'Only the first 1000 search results are available', resource: 'Search', code: 'invalid' }]);
    const { page: items, headers } = this.#paginate(served, query, rawPath);
    return {
      status: 200,
      body: {
        total_count: matches.length,
        incomplete_results: false,
        items: items.map((t) => ({ ...searched.restIssue(t), score: 1 })),
        search_type: 'lexical',
      },
      headers,
    };
  }

  /** Page `page` of `items` (per_page, default 30, at most 100), with GitHub's Link header. */
  #paginate<T>(items: readonly T[], query: URLSearchParams, rawPath: string): { page: T[]; headers: Record<string, string> } {
    const perPage = Math.min(100, Math.max(1, Number.parseInt(query.get('per_page') ?? '30', 10) || 30));
    const page = Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (p: number) => {
      const q = new URLSearchParams(query);
      q.set('page', String(p));
      q.set('per_page', String(perPage));
      return `<https://api.github.com${rawPath}?${q}>`;
    };
    const links: string[] = [];
    if (page < last) links.push(`${link(page + 1)}; rel="next"`, `${link(last)}; rel="last"`);
    if (page > 1) links.push(`${link(1)}; rel="first"`, `${link(page - 1)}; rel="prev"`);
    return { page: items.slice((page - 1) * perPage, page * perPage), headers: links.length > 0 ? { link: links.join(', ') } : {} };
  }

  // ------------------------------------------------------------------ REST

  #rest(r: {
    method: string;
    path: string;
    rawPath: string;
    query: URLSearchParams;
    headers: Headers;
    body: unknown;
    auth: { kind: 'none' | 'jwt' | 'token'; installationId?: number };
  }): Reply {
    const world = this.#world;
    const { method, path, query, auth } = r;
    const body = (r.body ?? {}) as Record<string, unknown>;
    const route = `${method} ${path}`;
    let m: RegExpExecArray | null;

    // --- the App (JWT)
    if ((m = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path)) && method === 'POST') {
      if (auth.kind !== 'jwt') throw new HttpError(401, 'A JSON web token could not be decoded');
      const installation = world.installations.get(Number(m[1]));
      if (installation === undefined) throw notFound();
      const token = `ghs_fake${installation.id}x${++this.#tokenCount}`;
      world.tokens.set(token, installation.id);
      return {
        status: 201,
        body: {
          token,
          expires_at: new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          permissions: { contents: 'write', pull_requests: 'write', issues: 'write', metadata: 'read' },
          repository_selection: 'selected',
        },
      };
    }
    if (path === '/app/installations' && method === 'GET') {
      if (auth.kind !== 'jwt') throw new HttpError(401, 'A JSON web token could not be decoded');
      const { page, headers } = this.#paginate(
        [...world.installations.values()].map((i) => this.#restInstallation(i)),
        query,
        r.rawPath,
      );
      return { status: 200, body: page, headers };
    }
    if ((m = /^\/app\/installations\/(\d+)$/.exec(path)) && method === 'GET') {
      if (auth.kind !== 'jwt') throw new HttpError(401, 'A JSON web token could not be decoded');
      const installation = world.installations.get(Number(m[1]));
      if (installation === undefined) throw notFound();
      return { status: 200, body: this.#restInstallation(installation) };
    }
    if (path === '/installation/repositories' && method === 'GET') {
      if (auth.installationId === undefined) throw new HttpError(403, 'This endpoint requires an installation access token');
      const repos = [...world.repos.values()].filter((x) => x.installationId === auth.installationId);
      const { page, headers } = this.#paginate(repos, query, r.rawPath);
      return {
        status: 200,
        body: { total_count: repos.length, repository_selection: 'selected', repositories: page.map((x) => x.restRepository()) },
        headers,
      };
    }

    // --- search
    if (path === '/search/issues' && method === 'GET') return this.#searchIssues(query, auth, r.rawPath);

    // --- repositories
    m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    if (m === null) return this.#unsupported(route);
    const repo = world.repo(m[1]!, m[2]!);
    const rest = m[3] ?? '';
    if (auth.kind === 'jwt')
      throw new HttpError(401, 'A JSON web token cannot be used for repository endpoints; use an installation token');
    if (repo === undefined) throw notFound();
    if (auth.installationId !== undefined && repo.installationId !== auth.installationId) throw notFound();
    if (auth.kind === 'none' && (repo.private || method !== 'GET'))
      throw repo.private ? notFound() : new HttpError(401, 'Requires authentication');
    const bot = world.bot;

    if (rest === '' && method === 'GET') return { status: 200, body: repo.restRepository() };

    // contents (Probot's config plugin asks for the raw media type)
    if ((m = /^\/contents(?:\/(.*))?$/.exec(rest)) && method === 'GET') {
      const filePath = (m[1] ?? '').replace(/\/+$/, '');
      const ref = query.get('ref') ?? repo.defaultBranch;
      const sha = repo.resolve(ref);
      if (sha === undefined) throw new HttpError(404, `No commit found for the ref ${ref}`);
      const tree = repo.treeOf(sha);
      const raw = /\.raw\b|vnd\.github\.raw/.test(r.headers.get('accept') ?? '');
      const item = tree.get(filePath);
      if (item !== undefined) {
        const content = repo.blobs.get(item.sha)!;
        if (raw) return { status: 200, body: content.toString('utf8'), headers: { 'content-type': 'text/plain; charset=utf-8' } };
        return {
          status: 200,
          body: {
            type: 'file',
            encoding: 'base64',
            size: content.length,
            name: filePath.split('/').pop(),
            path: filePath,
            content: content.toString('base64'),
            sha: item.sha,
            url: `${repo.apiUrl}/contents/${filePath}?ref=${ref}`,
          },
        };
      }
      const prefix = filePath === '' ? '' : `${filePath}/`;
      const children = new Map<string, 'file' | 'dir'>();
      for (const p of tree.keys()) {
        if (!p.startsWith(prefix)) continue;
        const [head, ...tail] = p.slice(prefix.length).split('/');
        children.set(head!, tail.length > 0 ? 'dir' : 'file');
      }
      if (children.size === 0) throw notFound();
      return { status: 200, body: [...children].map(([name, type]) => ({ type, name, path: prefix + name })) };
    }

    if ((m = /^\/branches\/(.+)$/.exec(rest)) && method === 'GET') {
      const sha = repo.refs.get(m[1]!);
      if (sha === undefined) throw new HttpError(404, 'Branch not found');
      const c = repo.restCommit(sha);
      return {
        status: 200,
        body: {
          name: m[1],
          commit: {
            sha,
            node_id: c['node_id'],
            url: `${repo.apiUrl}/commits/${sha}`,
            html_url: c['html_url'],
            commit: { ...c, url: c['url'] },
            parents: c['parents'],
          },
          _links: { self: `${repo.apiUrl}/branches/${m[1]}`, html: `${repo.htmlUrl}/tree/${m[1]}` },
          protected: false,
        },
      };
    }

    // git database
    if ((m = /^\/git\/trees\/([^/]+)$/.exec(rest)) && method === 'GET') {
      const sha = repo.trees.has(m[1]!) ? m[1]! : repo.resolve(m[1]!) ? repo.commit(repo.resolve(m[1]!)!).tree : undefined;
      if (sha === undefined) throw notFound();
      const recursive = query.has('recursive') && !['0', 'false'].includes(query.get('recursive')!);
      const entries = repo.restTreeEntries(sha, recursive);
      const truncated = entries.length > world.options.treeEntryLimit;
      return {
        status: 200,
        body: { sha, url: `${repo.apiUrl}/git/trees/${sha}`, tree: entries.slice(0, world.options.treeEntryLimit), truncated },
      };
    }
    if (rest === '/git/trees' && method === 'POST') {
      // Shapes (a `tree` array, modes, types) are checked against git/create-tree's schema before.
      const entries = body['tree'] as Record<string, unknown>[];
      const baseSha = body['base_tree'] as string | undefined;
      let base: FlatTree = new Map();
      if (baseSha !== undefined && baseSha !== null) {
        const found = repo.trees.get(baseSha) ?? (repo.commits.has(baseSha) ? repo.treeOf(baseSha) : undefined);
        if (found === undefined) throw new HttpError(422, 'base_tree is not a valid tree oid');
        base = found;
      }
      const changes = new Map<string, string | { sha: string; mode: string } | null>();
      for (const e of entries) {
        const p = e['path'];
        if (
          typeof p !== 'string' ||
          p === '' ||
          p.startsWith('/') ||
          p.endsWith('/') ||
          p.split('/').some((s) => s === '' || s === '.' || s === '..')
        ) {
          throw new HttpError(422, `tree.path contains a malformed path component`);
        }
        const mode = String(e['mode']);
        if ((e['type'] ?? 'blob') !== 'blob' && e['sha'] !== null) return this.#unsupported(`${route} with a ${String(e['type'])} entry`);
        const hasContent = typeof e['content'] === 'string';
        const hasSha = 'sha' in e;
        if (hasContent === hasSha)
          throw new HttpError(422, 'Must supply either tree.sha or tree.content. Request will be rejected if both are present.');
        if (hasContent) changes.set(p, e['content'] as string);
        else if (e['sha'] === null) changes.set(p, null);
        else {
          const sha = String(e['sha']);
          if (!repo.blobs.has(sha)) throw new HttpError(422, `tree.sha ${sha} is not a valid blob`);
          changes.set(p, { sha, mode });
        }
      }
      const sha = repo.writeTree(base, changes);
      return {
        status: 201,
        body: { sha, url: `${repo.apiUrl}/git/trees/${sha}`, tree: repo.restTreeEntries(sha, false), truncated: false },
      };
    }
    if ((m = /^\/git\/blobs\/([^/]+)$/.exec(rest)) && method === 'GET') {
      const content = repo.blobs.get(m[1]!);
      if (content === undefined) throw notFound();
      const base64 = content.toString('base64').replace(/.{60}/g, '$&\n');
      return {
        status: 200,
        body: {
          sha: m[1],
          node_id: nodeId('B', repo.id, m[1]!),
          size: content.length,
          url: `${repo.apiUrl}/git/blobs/${m[1]}`,
          content: `${base64}\n`,
          encoding: 'base64',
        },
      };
    }
    if (rest === '/git/blobs' && method === 'POST') {
      const sha = repo.writeBlob(Buffer.from(body['content'] as string, body['encoding'] === 'base64' ? 'base64' : 'utf8'));
      return { status: 201, body: { sha, url: `${repo.apiUrl}/git/blobs/${sha}` } };
    }
    if ((m = /^\/git\/commits\/([^/]+)$/.exec(rest)) && method === 'GET') {
      if (!repo.commits.has(m[1]!)) throw notFound();
      return { status: 200, body: repo.restCommit(m[1]!) };
    }
    if (rest === '/git/commits' && method === 'POST') {
      const tree = body['tree'] as string;
      const parents = (body['parents'] ?? []) as string[];
      if (!repo.trees.has(tree)) throw new HttpError(422, 'Tree SHA does not exist');
      for (const p of parents) if (!repo.commits.has(p)) throw new HttpError(422, 'Parent SHA does not exist or is not a commit object');
      const sha = repo.writeCommit(tree, parents, body['message'] as string, bot);
      return { status: 201, body: repo.restCommit(sha) };
    }
    if ((m = /^\/git\/(?:ref|refs)\/heads\/(.+)$/.exec(rest)) && method === 'GET') {
      if (!repo.refs.has(m[1]!)) throw notFound();
      return { status: 200, body: repo.restRef(m[1]!) };
    }
    if (rest === '/git/refs' && method === 'POST') {
      const ref = body['ref'] as string;
      const sha = body['sha'] as string;
      if (!/^refs\/[^/]+\/.+/.test(ref)) throw new HttpError(422, `${ref} is not a valid ref name.`);
      if (!ref.startsWith('refs/heads/')) return this.#unsupported(`${route} for ${ref} (only branches are modelled)`);
      if (!repo.commits.has(sha)) throw new HttpError(422, 'Object does not exist');
      const branch = ref.slice('refs/heads/'.length);
      if (repo.refs.has(branch)) throw new HttpError(422, 'Reference already exists');
      if (repo.refConflict(branch) !== undefined) throw new HttpError(422, 'Reference update failed');
      repo.moveBranch(branch, sha, bot);
      return { status: 201, body: repo.restRef(branch) };
    }
    if ((m = /^\/git\/refs\/(.+)$/.exec(rest)) && (method === 'PATCH' || method === 'DELETE')) {
      const ref = m[1]!;
      if (!/^(refs\/)?heads\//.test(ref)) throw new HttpError(422, 'Reference does not exist');
      const branch = ref.replace(/^(refs\/)?heads\//, '');
      if (!repo.refs.has(branch)) throw new HttpError(422, 'Reference does not exist');
      if (method === 'DELETE') {
        repo.deleteBranch(branch, bot);
        return { status: 204 };
      }
      const sha = String(body['sha'] ?? '');
      if (!repo.commits.has(sha)) throw new HttpError(422, 'Object does not exist');
      if (body['force'] !== true && !repo.isAncestor(repo.refs.get(branch)!, sha)) throw new HttpError(422, 'Update is not a fast forward');
      repo.moveBranch(branch, sha, bot);
      return { status: 200, body: repo.restRef(branch) };
    }

    // pull requests
    if (rest === '/pulls' && method === 'GET') {
      const state = query.get('state') ?? 'open';
      const head = query.get('head');
      const base = query.get('base');
      const pulls = [...repo.threads.values()]
        .filter((t): t is Thread & { pr: PullData } => t.pr !== null)
        .filter((t) => state === 'all' || t.state === state)
        .filter((t) => head === null || `${t.pr.fork ?? repo.owner.login}:${t.pr.head}`.toLowerCase() === head.toLowerCase())
        .filter((t) => base === null || t.pr.base === base)
        .sort((a, b) => (query.get('direction') === 'asc' ? a.number - b.number : b.number - a.number));
      const { page, headers } = this.#paginate(pulls, query, r.rawPath);
      return { status: 200, body: page.map((t) => repo.restPull(t)), headers };
    }
    if (rest === '/pulls' && method === 'POST') {
      const head = String(body['head'] ?? '').replace(new RegExp(`^${repo.owner.login}:`, 'i'), '');
      const base = String(body['base'] ?? '');
      if (typeof body['title'] !== 'string' || body['title'] === '')
        throw validationFailed([{ resource: 'PullRequest', field: 'title', code: 'missing_field' }]);
      if (body['draft'] === true && !repo.draftPullRequests)
        throw new HttpError(422, 'Draft pull requests are not supported in this repository.');
      const baseSha = repo.refs.get(base);
      const headSha = repo.refs.get(head);
      if (baseSha === undefined) throw validationFailed([{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
      if (headSha === undefined) throw validationFailed([{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
      if ([...repo.threads.values()].some((t) => t.pr && !t.pr.fork && t.state === 'open' && t.pr.head === head && t.pr.base === base)) {
        throw validationFailed([
          { resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${repo.owner.login}:${head}.` },
        ]);
      }
      if (repo.isAncestor(headSha, baseSha))
        throw validationFailed([{ resource: 'PullRequest', code: 'custom', message: `No commits between ${base} and ${head}` }]);
      const t = repo.newThread({
        title: body['title'],
        body: typeof body['body'] === 'string' ? body['body'] : '',
        user: bot,
        pr: { head, headSha, base, draft: body['draft'] === true, merged: false, mergedAt: null, mergeCommitSha: null, mergedBy: null },
      }) as Thread & { pr: PullData };
      return { status: 201, body: repo.restPull(t) };
    }
    if ((m = /^\/pulls\/(\d+)$/.exec(rest)) && (method === 'GET' || method === 'PATCH')) {
      const t = repo.pull(Number(m[1]));
      if (method === 'PATCH') {
        if (typeof body['base'] === 'string' && !repo.refs.has(body['base']))
          throw validationFailed([{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
        if (body['state'] === 'open') repo.reopen(t, bot);
        repo.edit(t, editOf(body), bot);
        if (typeof body['base'] === 'string' && body['base'] !== t.pr.base) {
          t.pr.base = body['base'];
          t.updatedAt = repo.world.time();
        }
        if (body['state'] === 'closed') repo.close(t, bot);
      }
      return { status: 200, body: repo.restPull(t, method === 'GET') };
    }

    // issues, labels, comments
    if (rest === '/issues' && method === 'GET') {
      const state = query.get('state') ?? 'open';
      const labels = (query.get('labels') ?? '')
        .split(',')
        .map((l) => l.trim().toLowerCase())
        .filter((l) => l !== '');
      const asc = query.get('direction') === 'asc';
      const issues = [...repo.threads.values()]
        .filter((t) => state === 'all' || t.state === state)
        .filter((t) => labels.every((l) => t.labels.some((x) => x.toLowerCase() === l)))
        .sort((a, b) => (asc ? 1 : -1) * (a.createdAt === b.createdAt ? a.number - b.number : a.createdAt < b.createdAt ? -1 : 1));
      const { page, headers } = this.#paginate(issues, query, r.rawPath);
      return { status: 200, body: page.map((t) => repo.restIssue(t)), headers };
    }
    if (rest === '/issues' && method === 'POST') {
      if (typeof body['title'] !== 'string' || body['title'] === '')
        throw validationFailed([{ resource: 'Issue', field: 'title', code: 'missing_field' }]);
      const t = repo.newThread({ title: body['title'], body: typeof body['body'] === 'string' ? body['body'] : '', user: bot, pr: null });
      if (Array.isArray(body['labels'])) repo.setLabels(t, labelNames(body['labels']), bot);
      return { status: 201, body: repo.restIssue(t) };
    }
    if ((m = /^\/issues\/(\d+)$/.exec(rest)) && (method === 'GET' || method === 'PATCH')) {
      const t = repo.thread(Number(m[1]));
      if (method === 'PATCH') {
        if (body['state'] === 'open') {
          if (t.pr) repo.reopen(t as Thread & { pr: PullData }, bot);
          else repo.reopenIssue(t, bot);
        }
        repo.edit(t, editOf(body), bot);
        if (Array.isArray(body['labels'])) repo.setLabels(t, labelNames(body['labels']), bot);
        if (body['state'] === 'closed') repo.close(t, bot);
      }
      return { status: 200, body: repo.restIssue(t) };
    }
    if ((m = /^\/issues\/(\d+)\/labels$/.exec(rest))) {
      const t = repo.thread(Number(m[1]));
      const names = () => labelNames((Array.isArray(r.body) ? r.body : body['labels']) as unknown[] | undefined);
      if (method === 'GET') {
        // Paginated like every list (issues/list-labels-on-issue takes per_page and page).
        const { page, headers } = this.#paginate(
          t.labels.map((l) => repo.restLabel(l)),
          query,
          r.rawPath,
        );
        return { status: 200, body: page, headers };
      }
      if (method === 'PUT') repo.setLabels(t, names(), bot);
      else if (method === 'POST') repo.setLabels(t, [...t.labels, ...names()], bot);
      else if (method === 'DELETE') {
        repo.setLabels(t, [], bot);
        return { status: 204 };
      } else return this.#unsupported(route);
      return { status: 200, body: t.labels.map((l) => repo.restLabel(l)) };
    }
    if ((m = /^\/issues\/(\d+)\/labels\/(.+)$/.exec(rest)) && method === 'DELETE') {
      const t = repo.thread(Number(m[1]));
      const name = m[2]!.toLowerCase();
      if (!t.labels.some((l) => l.toLowerCase() === name)) throw new HttpError(404, 'Label does not exist');
      repo.setLabels(
        t,
        t.labels.filter((l) => l.toLowerCase() !== name),
        bot,
      );
      return { status: 200, body: t.labels.map((l) => repo.restLabel(l)) };
    }
    if ((m = /^\/issues\/comments\/(\d+)$/.exec(rest)) && method === 'DELETE') {
      // issues/delete-comment: 204, or 404 when there is no such comment (any more).
      if (!repo.deleteComment(Number(m[1]), bot)) throw new HttpError(404, 'Not Found');
      return { status: 204 };
    }
    if ((m = /^\/issues\/(\d+)\/comments$/.exec(rest))) {
      const t = repo.thread(Number(m[1]));
      if (method === 'GET') {
        const { page, headers } = this.#paginate(t.comments, query, r.rawPath);
        return { status: 200, body: page.map((c) => repo.restComment(t, c)), headers };
      }
      if (method === 'POST') {
        if (typeof body['body'] !== 'string' || body['body'] === '')
          throw validationFailed([{ resource: 'IssueComment', field: 'body', code: 'missing_field' }]);
        const c = repo.addComment(t, body['body'], bot);
        return { status: 201, body: repo.restComment(t, c) };
      }
    }
    return this.#unsupported(route);
  }

  // ------------------------------------------------------------------ GraphQL

  /**
   * Executes a validated operation against the model: graphql-js walks the document and shapes
   * the answer as GitHub's schema states (github-description.ts `execute`); `GqlExecutor`
   * answers each field from the model. An answer the schema does not allow (a null non-null
   * field, a scalar or enum value out of its type) is a violation: a fake that drifted.
   */
  #graphql(body: unknown, auth: { kind: string; installationId?: number }, document: DocumentNode): Reply {
    const {
      query,
      variables = {},
      operationName,
    } = (body ?? {}) as { query?: unknown; variables?: Record<string, unknown>; operationName?: string };
    if (auth.kind === 'none') throw new HttpError(401, 'This endpoint requires you to be authenticated.');
    const executor = new GqlExecutor(this.#world, auth.installationId);
    const result = graphqlDescription().execute(document, operationName, variables, (type, source, field, args, given) =>
      executor.resolve(type, source as GqlObject | null, field, args, given),
    );
    const errors = (result.errors ?? []).map((e) => {
      const thrown = (e.originalError as Partial<ResolverFailure> | undefined)?.thrown;
      const where = { path: [...(e.path ?? [])], locations: (e.locations ?? []).map(({ line, column }) => ({ line, column })) };
      if (thrown instanceof GqlError) {
        if (thrown.unsupported) this.#unexpected.push(`GraphQL: ${thrown.message}\n${String(query)}`);
        return { type: thrown.type, ...where, message: thrown.message };
      }
      if (thrown !== undefined) throw thrown;
      this.#world.violations.push(`the fake's answer to POST /graphql (GraphQL ${where.path.join('.')}): ${e.message}`);
      return { ...where, message: e.message };
    });
    return { status: 200, body: errors.length > 0 ? { data: result.data ?? null, errors } : { data: result.data ?? null } };
  }
}

function editOf(body: Record<string, unknown>): { title?: string; body?: string } {
  return {
    ...(typeof body['title'] === 'string' ? { title: body['title'] } : {}),
    ...(typeof body['body'] === 'string' || body['body'] === null ? { body: (body['body'] as string | null) ?? '' } : {}),
  };
}

/** `name.action` of a webhook event (`push` has no action). */
export function eventName(event: WebhookEvent): string {
  const action = (event.payload as { action?: unknown }).action;
  return typeof action === 'string' ? `${event.name}.${action}` : event.name;
}

/** Words as the fake's search index has them: lower case, split at anything but letters and digits. */
function searchWords(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== '');
}

/** What Markdown shows of a text: without its HTML comments. */
function visibleText(markdown: string): string {
  return markdown.replace(/<!--[\s\S]*?(?:-->|$)/g, ' ');
}

function containsPhrase(words: readonly string[], phrase: readonly string[]): boolean {
  for (let i = 0; i + phrase.length <= words.length; i++) if (phrase.every((w, j) => words[i + j] === w)) return true;
  return false;
}

function labelNames(values: readonly unknown[] | undefined): string[] {
  return (values ?? []).map((v) => (typeof v === 'string' ? v : String((v as { name?: unknown }).name ?? ''))).filter((n) => n !== '');
}

// ==================================================================================== GraphQL execution

interface GqlObject {
  readonly __typename: string;
  readonly [key: string]: unknown;
}

/** Answers the fields of GitHub's GraphQL types the fake models, from the model. */
class GqlExecutor {
  readonly #world: World;
  readonly #installationId: number | undefined;

  constructor(world: World, installationId: number | undefined) {
    this.#world = world;
    this.#installationId = installationId;
  }

  /**
   * `updateRefs` (GitHub's docs): creates, moves and deletes refs atomically, each only if it
   * points at `beforeOid` first (zeros: it must not exist); `afterOid` zeros deletes; without
   * `force`, a move must be a fast-forward. Any rejected update rejects them all.
   */
  #updateRefs(args: Record<string, unknown>): GqlObject {
    // Its arguments and input fields are checked against GitHub's schema before.
    const input = (args['input'] ?? {}) as { repositoryId?: unknown; refUpdates?: unknown; clientMutationId?: unknown };
    const repo = [...this.#world.repos.values()].find((r) => r.nodeId === input.repositoryId);
    if (repo === undefined)
      throw new GqlError(`Could not resolve to a node with the global id of '${String(input.repositoryId)}'`, { type: 'NOT_FOUND' });
    if (this.#installationId !== undefined && repo.installationId !== this.#installationId)
      throw new GqlError('Resource not accessible by integration', { type: 'FORBIDDEN' });
    const updates = (Array.isArray(input.refUpdates) ? input.refUpdates : []) as {
      name?: unknown;
      beforeOid?: unknown;
      afterOid?: unknown;
      force?: unknown;
    }[];
    const planned: { branch: string; after: string }[] = [];
    for (const u of updates) {
      const ref = String(u.name ?? '');
      if (!ref.startsWith('refs/heads/')) throw new GqlError(`${ref} (only branches are modelled by the fake)`, { unsupported: true });
      const branch = ref.slice('refs/heads/'.length);
      const after = String(u.afterOid ?? '');
      const current = repo.refs.get(branch) ?? ZERO_OID;
      if (typeof u.beforeOid === 'string' && u.beforeOid !== current) {
        throw new GqlError(`A ref update was rejected: ${ref} is at ${current}, not at ${u.beforeOid}.`, { type: 'UNPROCESSABLE' });
      }
      if (after === ZERO_OID) {
        if (current === ZERO_OID) throw new GqlError(`A ref update was rejected: ${ref} does not exist.`, { type: 'UNPROCESSABLE' });
        if (branch === repo.defaultBranch)
          throw new GqlError('A ref update was rejected: the default branch cannot be deleted.', { type: 'UNPROCESSABLE' });
      } else {
        if (!repo.commits.has(after))
          throw new GqlError(`A ref update was rejected: ${after} is not a commit of this repository.`, { type: 'UNPROCESSABLE' });
        if (u.force !== true && current !== ZERO_OID && !repo.isAncestor(current, after))
          throw new GqlError(`A ref update was rejected: ${ref} is not a fast-forward.`, { type: 'UNPROCESSABLE' });
        if (current === ZERO_OID && repo.refConflict(branch) !== undefined)
          throw new GqlError('Ref cannot be created', { type: 'UNPROCESSABLE' });
      }
      planned.push({ branch, after });
    }
    for (const { branch, after } of planned) {
      if (after === ZERO_OID) repo.deleteBranch(branch, this.#world.bot);
      else repo.moveBranch(branch, after, this.#world.bot);
    }
    return { __typename: 'UpdateRefsPayload', clientMutationId: input.clientMutationId ?? null };
  }

  /**
   * One field of an object of type `type` (the source is null for Query and Mutation); `args`
   * as graphql-js coerced them (defaults included), `given` the names of those the document gives.
   */
  resolve(type: string, source: GqlObject | null, name: string, args: Record<string, unknown>, given: ReadonlySet<string>): unknown {
    const accept = (...allowed: string[]) => {
      for (const a of given) {
        if (!allowed.includes(a))
          throw new GqlError(`Field '${name}' doesn't accept argument '${a}'`, { unsupported: true, type: 'argumentNotAccepted' });
      }
    };
    const unknown = (): never => {
      throw new GqlError(`Field '${name}' doesn't exist on type '${type}'`, { unsupported: true, type: 'undefinedField' });
    };
    const scalar = (value: unknown): unknown => {
      accept();
      return value;
    };
    const world = this.#world;

    switch (type) {
      case 'Query': {
        if (name === 'repository') {
          accept('owner', 'name', 'followRenames');
          const repo = world.repo(String(args['owner']), String(args['name']));
          if (repo === undefined || (this.#installationId !== undefined && repo.installationId !== this.#installationId)) {
            throw new GqlError(`Could not resolve to a Repository with the name '${String(args['owner'])}/${String(args['name'])}'.`, {
              type: 'NOT_FOUND',
            });
          }
          return repoObject(repo);
        }
        if (name === 'node') {
          accept('id');
          const found = world.pullRequestsByNodeId.get(String(args['id']));
          return found ? prObject(found.repo, found.repo.pull(found.number)) : null;
        }
        return unknown();
      }
      case 'Mutation': {
        if (name === 'updateRefs') return this.#updateRefs(args);
        if (name !== 'markPullRequestReadyForReview' && name !== 'convertPullRequestToDraft') return unknown();
        accept('input');
        const input = (args['input'] ?? {}) as { pullRequestId?: unknown; clientMutationId?: unknown };
        const found = world.pullRequestsByNodeId.get(String(input.pullRequestId));
        if (found === undefined)
          throw new GqlError(`Could not resolve to a node with the global id of '${String(input.pullRequestId)}'`, { type: 'NOT_FOUND' });
        const t = found.repo.pull(found.number);
        if (this.#installationId !== undefined && found.repo.installationId !== this.#installationId) {
          throw new GqlError('Resource not accessible by integration', { type: 'FORBIDDEN' });
        }
        if (t.pr.merged) throw new GqlError('Pull request is already merged', { type: 'UNPROCESSABLE' });
        if (name === 'convertPullRequestToDraft' && !found.repo.draftPullRequests)
          throw new GqlError('Draft pull requests are not supported in this repository.', { type: 'UNPROCESSABLE' });
        const draft = name === 'convertPullRequestToDraft';
        found.repo.setDraft(t, draft, world.bot);
        return {
          __typename: draft ? 'ConvertPullRequestToDraftPayload' : 'MarkPullRequestReadyForReviewPayload',
          clientMutationId: input.clientMutationId ?? null,
          pullRequest: prObject(found.repo, t),
        };
      }
      case 'Repository': {
        const repo = source!['repo'] as RepoState;
        switch (name) {
          case 'id':
            return scalar(repo.nodeId);
          case 'name':
            return scalar(repo.name);
          case 'nameWithOwner':
            return scalar(repo.fullName);
          case 'isPrivate':
            return scalar(repo.private);
          case 'url':
            return scalar(repo.htmlUrl);
          case 'owner':
            accept();
            return {
              __typename: repo.owner.type === 'User' ? 'User' : 'Organization',
              login: repo.owner.login,
              id: nodeId('O', repo.owner.id),
            };
          case 'defaultBranchRef':
            accept();
            return { __typename: 'Ref', name: repo.defaultBranch, target: commitObject(repo, repo.refs.get(repo.defaultBranch)!) };
          case 'object': {
            accept('oid', 'expression');
            let oid = (args['oid'] as string | null | undefined) ?? null;
            if (oid === null && typeof args['expression'] === 'string') {
              const [rev, file] = (args['expression'] as string).split(':', 2) as [string, string | undefined];
              const commit = repo.resolve(rev);
              if (commit === undefined) return null;
              oid = file === undefined ? commit : (repo.treeOf(commit).get(file)?.sha ?? null);
            }
            // A full object ID: GitHub's schema refuses any other (github-description.ts SCALARS).
            if (oid === null || !GIT_SHA.test(oid)) return null;
            if (repo.blobs.has(oid)) return blobObject(repo, oid, world.options.graphqlBlobTextLimit);
            if (repo.commits.has(oid)) return commitObject(repo, oid);
            if (repo.trees.has(oid)) return { __typename: 'Tree', oid, id: nodeId('T', repo.id, oid) };
            return null;
          }
          case 'pullRequest': {
            accept('number');
            const t = repo.threads.get(Number(args['number']));
            if (t === undefined || t.pr === null)
              throw new GqlError(`Could not resolve to a PullRequest with the number of ${String(args['number'])}.`, { type: 'NOT_FOUND' });
            return prObject(repo, t as Thread & { pr: PullData });
          }
          case 'pullRequests':
            accept('states', 'labels', 'headRefName', 'baseRefName', 'first', 'last', 'after', 'before', 'orderBy');
            return pullRequestConnection(repo, args);
          default:
            return unknown();
        }
      }
      case 'PullRequest': {
        const repo = source!['repo'] as RepoState;
        const t = source!['thread'] as Thread & { pr: PullData };
        switch (name) {
          case 'id':
            return scalar(t.nodeId);
          case 'number':
            return scalar(t.number);
          case 'title':
            return scalar(t.title);
          case 'body':
            return scalar(t.body);
          case 'isDraft':
            return scalar(t.pr.draft);
          case 'createdAt':
            return scalar(t.createdAt);
          case 'updatedAt':
            return scalar(t.updatedAt);
          case 'closedAt':
            return scalar(t.closedAt);
          case 'mergedAt':
            return scalar(t.pr.mergedAt);
          case 'url':
            return scalar(`${repo.htmlUrl}/pull/${t.number}`);
          case 'headRefName':
            return scalar(t.pr.head);
          case 'isCrossRepository':
            return scalar(t.pr.fork !== undefined);
          case 'headRefOid':
            return scalar(t.pr.headSha);
          case 'baseRefName':
            return scalar(t.pr.base);
          case 'state':
            return scalar(repo.prState(t).toUpperCase());
          case 'merged':
            return scalar(t.pr.merged);
          case 'closed':
            return scalar(t.state === 'closed');
          case 'labels': {
            accept('first', 'after', 'last', 'before', 'orderBy');
            const limit = connectionLimit('labels', args);
            const nodes = t.labels.map((l) => {
              const label = repo.label(l);
              return { __typename: 'Label', id: label.nodeId, name: label.name, color: label.color };
            });
            return connection('Label', nodes, limit, args['after'] as string | null, (n) => String(n['name']));
          }
          default:
            return unknown();
        }
      }
      default:
        // Objects the fake builds whole (commits, blobs, labels, connections, payloads...): their fields.
        if (source !== null && Object.hasOwn(source, name)) return scalar(source[name]);
        return unknown();
    }
  }
}

const ZERO_OID = '0'.repeat(40);

function repoObject(repo: RepoState): GqlObject {
  return { __typename: 'Repository', repo };
}

function prObject(repo: RepoState, thread: Thread & { pr: PullData }): GqlObject {
  return { __typename: 'PullRequest', repo, thread };
}

function commitObject(repo: RepoState, sha: string): GqlObject {
  const c = repo.commit(sha);
  return {
    __typename: 'Commit',
    oid: sha,
    abbreviatedOid: sha.slice(0, 7),
    id: nodeId('C', repo.id, sha),
    message: c.message,
    committedDate: c.committer.date,
    authoredDate: c.author.date,
  };
}

function blobObject(repo: RepoState, sha: string, limit: number): GqlObject {
  const content = repo.blobs.get(sha)!;
  const isBinary = content.includes(0);
  const isTruncated = !isBinary && content.length > limit;
  return {
    __typename: 'Blob',
    oid: sha,
    abbreviatedOid: sha.slice(0, 7),
    id: nodeId('B', repo.id, sha),
    byteSize: content.length,
    isBinary,
    isTruncated,
    text: isBinary ? null : content.subarray(0, isTruncated ? limit : content.length).toString('utf8'),
  };
}

function connectionLimit(field: string, args: Record<string, unknown>): number {
  const first = args['first'] as number | null | undefined;
  const last = args['last'] as number | null | undefined;
  if ((first === null || first === undefined) && (last === null || last === undefined)) {
    throw new GqlError(`You must provide a \`first\` or \`last\` value to properly paginate the \`${field}\` connection.`, {
      type: 'MISSING_PAGINATION_BOUNDARIES',
    });
  }
  if (last !== null && last !== undefined)
    throw new GqlError(`\`last\` on \`${field}\` is not supported by the fake`, { unsupported: true });
  if (first! < 0 || first! > 100) {
    throw new GqlError(`Requesting ${first} records on the \`${field}\` connection exceeds the \`first\` limit of 100 records.`, {
      type: 'EXCESSIVE_PAGINATION',
    });
  }
  return first!;
}

/** A page of `nodes` (already ordered) after the cursor: cursors encode each node's sort key. */
function connection(
  typename: string,
  nodes: readonly GqlObject[],
  first: number,
  after: string | null,
  key: (n: GqlObject) => string,
): GqlObject {
  const cursor = (n: GqlObject) => Buffer.from(`cursor:v2:${key(n)}`).toString('base64');
  let start = 0;
  if (after !== null && after !== undefined) {
    const decoded = Buffer.from(after, 'base64').toString('utf8');
    if (!decoded.startsWith('cursor:v2:'))
      throw new GqlError(`\`${after}\` does not appear to be a valid cursor.`, { type: 'INVALID_CURSOR_ARGUMENTS' });
    const index = nodes.findIndex((n) => key(n) === decoded.slice('cursor:v2:'.length));
    start = index + 1;
  }
  const page = nodes.slice(start, start + first);
  return {
    __typename: `${typename}Connection`,
    totalCount: nodes.length,
    nodes: page,
    edges: page.map((n) => ({ __typename: `${typename}Edge`, cursor: cursor(n), node: n })),
    pageInfo: {
      __typename: 'PageInfo',
      hasNextPage: start + first < nodes.length,
      hasPreviousPage: start > 0,
      startCursor: page.length > 0 ? cursor(page[0]!) : null,
      endCursor: page.length > 0 ? cursor(page[page.length - 1]!) : null,
    },
  };
}

function pullRequestConnection(repo: RepoState, args: Record<string, unknown>): GqlObject {
  const first = connectionLimit('pullRequests', args);
  const asList = (v: unknown): string[] | null => (v === null || v === undefined ? null : Array.isArray(v) ? v.map(String) : [String(v)]);
  const states = asList(args['states']);
  const labels = asList(args['labels'])?.map((l) => l.toLowerCase()) ?? null;
  const head = args['headRefName'] as string | null | undefined;
  const base = args['baseRefName'] as string | null | undefined;
  const orderBy = (args['orderBy'] ?? { field: 'CREATED_AT', direction: 'ASC' }) as { field?: string; direction?: string };
  if (!['CREATED_AT', 'UPDATED_AT'].includes(String(orderBy.field)))
    throw new GqlError(`orderBy field ${String(orderBy.field)} is not supported by the fake`, { unsupported: true });
  const sortKey = (t: Thread) => (orderBy.field === 'UPDATED_AT' ? t.updatedAt : t.createdAt);
  const direction = orderBy.direction === 'DESC' ? -1 : 1;
  const threads = [...repo.threads.values()]
    .filter((t): t is Thread & { pr: PullData } => t.pr !== null)
    .filter((t) => states === null || states.includes(repo.prState(t).toUpperCase()))
    .filter((t) => labels === null || labels.length === 0 || t.labels.some((l) => labels.includes(l.toLowerCase())))
    .filter((t) => head === null || head === undefined || t.pr.head === head)
    .filter((t) => base === null || base === undefined || t.pr.base === base)
    .sort((a, b) => direction * (sortKey(a) === sortKey(b) ? a.number - b.number : sortKey(a) < sortKey(b) ? -1 : 1));
  return connection(
    'PullRequest',
    threads.map((t) => prObject(repo, t)),
    first,
    (args['after'] as string | null | undefined) ?? null,
    (n) => String((n['thread'] as Thread).number),
  );
}

// ==================================================================================== people during a run

/** One case of `atEveryRequest`: the request before which people acted, and its index in the run. */
export interface RequestCase {
  readonly index: number;
  readonly request: RecordedRequest;
}

/**
 * People acting between every two requests of a run: the scenario runs once undisturbed, which
 * gives the run's requests; then once per request index `i`, in a fresh world, with `act` done
 * right before the run's request `i` (after request `i - 1` was answered), and `check` after.
 * A case whose request never came (the run took another path) fails, naming it. Returns the
 * undisturbed run's requests (their number is the number of cases tried, with `every` 1).
 *
 * `start` builds the world up to the run (its requests are not counted); `run` is the run;
 * `stop` tears the world down. `every` tries every n-th index only (the last one always).
 */
export async function atEveryRequest<W extends { readonly github: FakeGitHub }>(scenario: {
  start(): Promise<W>;
  run(world: W): Promise<void>;
  act(world: W, c: RequestCase): void | Promise<void>;
  check(world: W, c: RequestCase): void | Promise<void>;
  stop(world: W): Promise<void>;
  every?: number;
}): Promise<readonly RecordedRequest[]> {
  const reference = await scenario.start();
  let requests: RecordedRequest[];
  try {
    reference.github.resetRequests();
    await scenario.run(reference);
    requests = [...reference.github.requests()];
  } finally {
    await scenario.stop(reference);
  }
  const every = scenario.every ?? 1;
  for (const [index, request] of requests.entries()) {
    if (index % every !== every - 1 && index !== requests.length - 1) continue;
    const c: RequestCase = { index, request };
    const world = await scenario.start();
    try {
      world.github.resetRequests();
      const injected = world.github.actBefore(index, () => scenario.act(world, c));
      await scenario.run(world);
      if (!injected.ran())
        throw new Error(
          `people were to act before request ${index} (${request.method} ${request.path}${request.graphql ? ` ${request.graphql}` : ''}), but the run made only ${world.github.requests().length} requests`,
        );
      await scenario.check(world, c);
    } finally {
      await scenario.stop(world);
    }
  }
  return requests;
}

// ==================================================================================== people's side

/**
 * One repository of the fake: what people do between runs, readers for assertions, and the
 * webhook events GitHub would send (built from the current state, to pass to `probot.receive`).
 */
export class FakeRepository {
  readonly #repo: RepoState;

  constructor(state: RepoState) {
    this.#repo = state;
  }

  get owner(): string {
    return this.#repo.owner.login;
  }

  get name(): string {
    return this.#repo.name;
  }

  get fullName(): string {
    return this.#repo.fullName;
  }

  get defaultBranch(): string {
    return this.#repo.defaultBranch;
  }

  /** The repository's GraphQL node id (`updateRefs` takes it). */
  get nodeId(): string {
    return this.#repo.nodeId;
  }

  get installationId(): number | null {
    return this.#repo.installationId;
  }

  /** The repository's settings (drafts supported, delete head branches on merge). */
  configure(settings: { draftPullRequests?: boolean; deleteBranchOnMerge?: boolean }): void {
    if (settings.draftPullRequests !== undefined) this.#repo.draftPullRequests = settings.draftPullRequests;
    if (settings.deleteBranchOnMerge !== undefined) this.#repo.deleteBranchOnMerge = settings.deleteBranchOnMerge;
  }

  /** Key for the App's scheduler. */
  key(): { installationId: number; owner: string; repo: string } {
    if (this.#repo.installationId === null) throw new Error(`${this.fullName} is not installed`);
    return { installationId: this.#repo.installationId, owner: this.owner, repo: this.name };
  }

  // ------------------------------------------------------------------ readers

  branches(): string[] {
    return [...this.#repo.refs.keys()].sort();
  }

  /** The branch's head commit, or undefined when it does not exist. */
  branchSha(branch: string): string | undefined {
    return this.#repo.refs.get(branch);
  }

  /** A file's content on a branch (or at a commit), or undefined. */
  file(branch: string, path: string): string | undefined {
    const sha = this.#repo.resolve(branch);
    if (sha === undefined) throw new Error(`no branch or commit ${branch} in ${this.fullName}`);
    const item = this.#repo.treeOf(sha).get(path);
    return item === undefined ? undefined : this.#repo.text(item.sha);
  }

  /** All files of a branch (or commit): path -> content. */
  tree(branch: string): Map<string, string> {
    const sha = this.#repo.resolve(branch);
    if (sha === undefined) throw new Error(`no branch or commit ${branch} in ${this.fullName}`);
    return new Map([...this.#repo.treeOf(sha)].map(([p, item]) => [p, this.#repo.text(item.sha)]));
  }

  commit(sha: string): CommitSnapshot {
    const c = this.#repo.commit(sha);
    return { sha, tree: c.tree, parents: [...c.parents], message: c.message, author: c.author.name };
  }

  /** First-parent history of a branch, newest first. */
  log(branch: string): CommitSnapshot[] {
    const out: CommitSnapshot[] = [];
    let sha = this.#repo.resolve(branch);
    while (sha !== undefined) {
      out.push(this.commit(sha));
      sha = this.#repo.commit(sha).parents[0];
    }
    return out;
  }

  pullRequests(filter: { state?: PullRequestStatus } = {}): PullRequestSnapshot[] {
    return [...this.#repo.threads.values()]
      .filter((t): t is Thread & { pr: PullData } => t.pr !== null)
      .map((t) => this.#pullSnapshot(t))
      .filter((p) => filter.state === undefined || p.state === filter.state);
  }

  pullRequest(number: number): PullRequestSnapshot {
    return this.#pullSnapshot(this.#pull(number));
  }

  /** The most recent pull request whose head is `branch`, if any. */
  pullRequestFor(branch: string): PullRequestSnapshot | undefined {
    return this.pullRequests()
      .filter((p) => p.head === branch)
      .at(-1);
  }

  /** What a pull request changes (its head against the merge base): path -> content, null when deleted. */
  changedFiles(number: number): Map<string, string | null> {
    return this.#repo.changedFiles(this.#pull(number));
  }

  /** Issues that are not pull requests. */
  issues(filter: { state?: 'open' | 'closed'; label?: string } = {}): IssueSnapshot[] {
    return [...this.#repo.threads.values()]
      .filter((t) => t.pr === null)
      .filter((t) => filter.state === undefined || t.state === filter.state)
      .filter((t) => filter.label === undefined || t.labels.includes(filter.label))
      .map((t) => this.#issueSnapshot(t));
  }

  /** An issue or a pull request, as an issue. */
  issue(number: number): IssueSnapshot {
    return this.#issueSnapshot(this.#thread(number));
  }

  comments(number: number): CommentSnapshot[] {
    return this.#thread(number).comments.map(commentSnapshot);
  }

  labels(number: number): string[] {
    return [...this.#thread(number).labels];
  }

  // ------------------------------------------------------------------ people's actions

  /** Merges like GitHub's merge button (a merge commit on the base branch); returns the merge commit. */
  mergePullRequest(number: number, options: { deleteBranch?: boolean } = {}): string {
    return this.#repo.merge(this.#pull(number), this.#repo.world.person, options.deleteBranch ?? this.#repo.deleteBranchOnMerge);
  }

  closePullRequest(number: number): void {
    const t = this.#pull(number);
    if (t.state !== 'open') throw new Error(`#${number} is not open`);
    this.#repo.close(t, this.#repo.world.person);
  }

  /** Reopens under GitHub's rules: not merged, its branch exists and still contains its head. */
  reopenPullRequest(number: number): void {
    const t = this.#pull(number);
    if (t.state === 'open') throw new Error(`#${number} is already open`);
    try {
      this.#repo.reopen(t, this.#repo.world.person);
    } catch (e) {
      throw e instanceof HttpError
        ? new Error(`#${number} cannot be reopened: ${JSON.stringify((e.body as { errors?: unknown }).errors ?? e.message)}`)
        : e;
    }
  }

  /** GitHub's "Restore branch" button on a closed pull request: its branch again at its head. */
  restoreBranch(number: number): void {
    const t = this.#pull(number);
    if (this.#repo.refs.has(t.pr.head)) throw new Error(`the branch ${t.pr.head} exists`);
    this.#repo.moveBranch(t.pr.head, t.pr.headSha, this.#repo.world.person);
  }

  /** A person deletes a branch (open pull requests from it are closed, as on GitHub). */
  deleteBranch(branch: string): void {
    this.#repo.deleteBranch(branch, this.#repo.world.person);
  }

  /** A person's commit on `branch` (created from the default branch if missing); returns the commit. */
  pushToBranch(branch: string, files: FileChanges, message = 'Edit files'): string {
    const parent = this.#repo.refs.get(branch) ?? this.#repo.refs.get(this.#repo.defaultBranch)!;
    const sha = this.#repo.commitChanges(parent, toMap(files), message, this.#repo.world.person);
    this.#repo.moveBranch(branch, sha, this.#repo.world.person);
    return sha;
  }

  /** A person's commit on the default branch (e.g. editing the configuration or a policy). */
  commitToDefault(files: FileChanges, message = 'Edit files'): string {
    return this.pushToBranch(this.#repo.defaultBranch, files, message);
  }

  /** A person force-pushes a branch to a commit. */
  forcePush(branch: string, sha: string): void {
    if (!this.#repo.commits.has(sha)) throw new Error(`no commit ${sha}`);
    this.#repo.moveBranch(branch, sha, this.#repo.world.person);
  }

  addLabel(number: number, name: string): void {
    const t = this.#thread(number);
    this.#repo.setLabels(t, [...t.labels, name], this.#repo.world.person);
  }

  removeLabel(number: number, name: string): void {
    const t = this.#thread(number);
    this.#repo.setLabels(
      t,
      t.labels.filter((l) => l !== name),
      this.#repo.world.person,
    );
  }

  /** A person closes an issue (not a pull request: closePullRequest). */
  closeIssue(number: number): void {
    const t = this.#thread(number);
    if (t.pr !== null) throw new Error(`#${number} is a pull request`);
    if (t.state !== 'open') throw new Error(`#${number} is not open`);
    this.#repo.close(t, this.#repo.world.person);
  }

  /** A person edits an issue's (or PR's) body, e.g. ticking a dashboard checkbox. */
  editIssueBody(number: number, body: string | ((body: string) => string)): void {
    const t = this.#thread(number);
    this.#repo.edit(t, { body: typeof body === 'function' ? body(t.body) : body }, this.#repo.world.person);
  }

  /** A person's comment; returns its id. */
  comment(number: number, body: string): number {
    return this.#repo.addComment(this.#thread(number), body, this.#repo.world.person).id;
  }

  /** The paths in which the PR conflicts with its base branch (empty: GitHub would merge it). */
  conflicts(number: number): readonly string[] {
    return this.#repo.mergeOf(this.#pull(number)).conflicts;
  }

  markReadyForReview(number: number): void {
    this.#repo.setDraft(this.#pull(number), false, this.#repo.world.person);
  }

  convertToDraft(number: number): void {
    this.#repo.setDraft(this.#pull(number), true, this.#repo.world.person);
  }

  /**
   * Opens a pull request from an existing branch as a person (or, with `byBot`, as the App did
   * earlier: for seeding state); returns its number. GitHub's rules apply (one open PR per head).
   * `fromFork`: the head branch is in that user's fork (any name, ours included; its head is the
   * default branch's commit), opened by that user.
   */
  openPullRequest(pr: {
    head: string;
    title: string;
    body?: string;
    draft?: boolean;
    labels?: readonly string[];
    byBot?: boolean;
    fromFork?: string;
  }): number {
    const repo = this.#repo;
    const headSha = pr.fromFork === undefined ? repo.refs.get(pr.head) : repo.refs.get(repo.defaultBranch);
    if (headSha === undefined) throw new Error(`no branch ${pr.head}`);
    if ([...repo.threads.values()].some((t) => t.pr && t.state === 'open' && t.pr.head === pr.head && t.pr.fork === pr.fromFork))
      throw new Error(`a pull request for ${pr.head} is open`);
    const t = repo.newThread({
      title: pr.title,
      body: pr.body ?? '',
      user: pr.byBot ? repo.world.bot : pr.fromFork !== undefined ? repo.world.user(pr.fromFork, 'User') : repo.world.person,
      pr: {
        head: pr.head,
        ...(pr.fromFork === undefined ? {} : { fork: pr.fromFork }),
        headSha,
        base: repo.defaultBranch,
        draft: pr.draft ?? false,
        merged: false,
        mergedAt: null,
        mergeCommitSha: null,
        mergedBy: null,
      },
    });
    repo.setLabels(t, pr.labels ?? [], pr.byBot ? repo.world.bot : repo.world.person);
    return t.number;
  }

  /** A person opens an issue (or, with `byBot`, the App did earlier: for seeding state); returns its number. */
  openIssue(title: string, body = '', labels: readonly string[] = [], options: { byBot?: boolean } = {}): number {
    const user = options.byBot ? this.#repo.world.bot : this.#repo.world.person;
    const t = this.#repo.newThread({ title, body, user, pr: null });
    this.#repo.setLabels(t, labels, user);
    return t.number;
  }

  // ------------------------------------------------------------------ webhook events
  //
  // Every change (the App's and people's) also queues the event GitHub would deliver: see
  // FakeGitHub.events()/deliver(). These builders make one on demand from the current state.

  /** `pull_request` with `action` (closed, reopened, labeled, opened, edited...); `label` for labeled/unlabeled. */
  pullRequestEvent(action: string, number: number, options: { label?: string; sender?: 'person' | 'bot' } = {}): WebhookEvent {
    const t = this.#pull(number);
    return this.#repo.event(
      'pull_request',
      {
        action,
        number,
        pull_request: this.#repo.restPull(t),
        ...(options.label !== undefined ? { label: this.#repo.restLabel(options.label) } : {}),
      },
      this.#sender(options.sender),
    );
  }

  /** `issue_comment.created` for a comment (default: the latest) on an issue or pull request. */
  issueCommentEvent(number: number, commentId?: number): WebhookEvent {
    const t = this.#thread(number);
    const comment = commentId === undefined ? t.comments.at(-1) : t.comments.find((c) => c.id === commentId);
    if (comment === undefined) throw new Error(`no such comment on #${number}`);
    return this.#repo.event(
      'issue_comment',
      { action: 'created', issue: this.#repo.restIssue(t), comment: this.#repo.restComment(t, comment) },
      comment.user,
    );
  }

  /** `issues` with `action` (edited carries the previous body as `changes.body.from`). */
  issuesEvent(action: string, number: number, options: { sender?: 'person' | 'bot' } = {}): WebhookEvent {
    const t = this.#thread(number);
    return this.#repo.event(
      'issues',
      {
        action,
        issue: this.#repo.restIssue(t),
        ...(action === 'edited' && t.previousBody !== null ? { changes: { body: { from: t.previousBody } } } : {}),
      },
      this.#sender(options.sender),
    );
  }

  /** `push` of `branch` from `before` to its current head, with each commit's added/modified/removed files. */
  pushEvent(branch: string, before: string): WebhookEvent {
    const after = this.#repo.refs.get(branch);
    if (after === undefined) throw new Error(`no branch ${branch}`);
    return this.#repo.event('push', this.#repo.pushPayload(branch, before, after), this.#repo.world.person);
  }

  // ------------------------------------------------------------------ internals

  #sender(who: 'person' | 'bot' | undefined): User {
    return who === 'bot' ? this.#repo.world.bot : this.#repo.world.person;
  }

  #thread(number: number): Thread {
    const t = this.#repo.threads.get(number);
    if (t === undefined) throw new Error(`no issue or pull request #${number} in ${this.fullName}`);
    return t;
  }

  #pull(number: number): Thread & { pr: PullData } {
    const t = this.#thread(number);
    if (t.pr === null) throw new Error(`#${number} is an issue, not a pull request`);
    return t as Thread & { pr: PullData };
  }

  #pullSnapshot(t: Thread & { pr: PullData }): PullRequestSnapshot {
    return {
      number: t.number,
      nodeId: t.nodeId,
      url: `${this.#repo.htmlUrl}/pull/${t.number}`,
      title: t.title,
      body: t.body,
      state: this.#repo.prState(t),
      draft: t.pr.draft,
      labels: [...t.labels],
      head: t.pr.head,
      headSha: t.pr.headSha,
      base: t.pr.base,
      createdAt: t.createdAt,
      closedAt: t.closedAt,
      mergedAt: t.pr.mergedAt,
      mergeCommitSha: t.pr.mergeCommitSha,
      user: t.user.login,
      comments: t.comments.map(commentSnapshot),
    };
  }

  #issueSnapshot(t: Thread): IssueSnapshot {
    return {
      number: t.number,
      title: t.title,
      body: t.body,
      state: t.state,
      labels: [...t.labels],
      isPullRequest: t.pr !== null,
      user: t.user.login,
      createdAt: t.createdAt,
      comments: t.comments.map(commentSnapshot),
    };
  }
}

function commentSnapshot(c: Comment): CommentSnapshot {
  return { id: c.id, body: c.body, user: c.user.login, bot: c.user.type === 'Bot', createdAt: c.createdAt };
}
