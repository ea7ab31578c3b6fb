// The fake GitHub (test/support/fake-github.ts) driven by the App's real GitHub client
// (GitHubRepository over a real ProbotOctokit, through nock), and one end-to-end run of the
// Probot app against it.

import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { Probot, ProbotOctokit } from 'probot';
import { policyRecommenderApp } from '../../src/app/app.ts';
import { GitHubRepository, type Octokit } from '../../src/app/github/github-repository.ts';
import { BranchMoved, RepositoryConflict } from '../../src/app/github/repository.ts';
import { DASHBOARD_LABEL, DASHBOARD_MARKER, DASHBOARD_TITLE } from '../../src/app/render/dashboard.ts';
import { RECOMMENDATION_LABEL } from '../../src/app/state/pull-request-state.ts';
import { CONFIG_PATH } from '../../src/config/repository-config.ts';
import { FileFlowSource } from '../../src/flows/sources/file-source.ts';
import { writeFlowFile } from '../../src/generator/generate.ts';
import { branchName } from '../../src/plan/lifecycle/unit-key.ts';
import { loadTree, TEMPLATE_DIR } from '../../src/tree/fs-tree.ts';
import { atEveryRequest, eventName, FakeGitHub, type FakeRepository } from '../support/fake-github.ts';
import { graphqlDescription, restDescription } from '../support/github-description.ts';
import { useNock } from '../support/nock-scope.ts';

const TestOctokit = ProbotOctokit.defaults({ retry: { enabled: false }, throttle: { enabled: false } });
/**
 * For Probot: it sets its own `throttle` options on the class it is given, which replace (not
 * merge with) those of `ProbotOctokit.defaults({ throttle: { enabled: false } })`, leaving the
 * throttling plugin on (writes 1 s apart). The function form sees Probot's options and wins.
 */
const AppOctokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  retry: { enabled: false },
  throttle: { ...(options['throttle'] as object | undefined), enabled: false },
}));
/** 2026-11-22T12:00:00Z. */
const END_TIME = 1795348800;

let github: FakeGitHub;
let fake: FakeRepository;
let octokit: Octokit;
let repo: GitHubRepository;

useNock();

function setUp(options: ConstructorParameters<typeof FakeGitHub>[0] = {}, files: Record<string, string> = {}): void {
  github = new FakeGitHub({ now: () => END_TIME, ...options }).start();
  fake = github.addRepository({
    owner: 'acme',
    name: 'policies',
    installationId: 7,
    files: {
      'README.md': 'hello\n',
      'clusters/prod/kustomization.yaml': 'resources: []\n',
      'clusters/prod/yaobank/policy.yaml': 'kind: NetworkPolicy\n',
      'clusters/other/policy.yaml': 'kind: Other\n',
      ...files,
    },
  });
  octokit = new TestOctokit({ auth: { token: 'test' } }) as Octokit;
  repo = new GitHubRepository(octokit, { owner: 'acme', name: 'policies', defaultBranch: 'main' });
}

afterEach(() => {
  github.stop();
  expect(github.unexpected()).toEqual([]);
});

const methods = () =>
  github.requests().map((r) => `${r.method} ${r.path}${r.graphql ? ` ${r.graphql}.${r.graphqlFields?.join(',')}` : ''} ${r.status}`);
const statusOf = async (p: Promise<unknown>): Promise<number | undefined> =>
  p.then(
    () => undefined,
    (e: unknown) => (e as { status?: number }).status,
  );

describe('git data', () => {
  beforeEach(() => setUp());

  test('head() is the default branch commit and its tree; blob SHAs are git’s', async () => {
    const head = await repo.head();
    expect(head.commitSha).toBe(fake.branchSha('main'));
    expect(head.treeSha).toBe(fake.commit(head.commitSha).tree);
    const entries = await repo.listFiles(head.treeSha, '');
    // `git hash-object` of "hello\n".
    expect(entries.find((e) => e.path === 'README.md')?.sha).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
    expect(createHash('sha1').update('blob 6\0hello\n').digest('hex')).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
    expect(methods()).toEqual(['GET /repos/acme/policies/branches/main 200', `GET /repos/acme/policies/git/trees/${head.treeSha} 200`]);
  });

  test('listFiles() lists the blobs below a prefix, recursively', async () => {
    const head = await repo.head();
    const entries = await repo.listFiles(head.treeSha, 'clusters/prod');
    expect(entries.map((e) => e.path).sort()).toEqual(['clusters/prod/kustomization.yaml', 'clusters/prod/yaobank/policy.yaml']);
    expect(github.requests().at(-1)?.query).toEqual({ recursive: 'true' });
    // Directories are listed as trees too, as GitHub does; the repository keeps the blobs only.
    const { data } = await octokit.rest.git.getTree({ owner: 'acme', repo: 'policies', tree_sha: head.treeSha, recursive: 'true' });
    expect(data.tree.filter((e) => e.type === 'tree').map((e) => e.path)).toEqual([
      'clusters',
      'clusters/other',
      'clusters/prod',
      'clusters/prod/yaobank',
    ]);
    const top = await octokit.rest.git.getTree({ owner: 'acme', repo: 'policies', tree_sha: head.treeSha });
    expect(top.data.tree.map((e) => e.path)).toEqual(['README.md', 'clusters']);
  });

  test('listFiles() reads a tree once, however many prefixes (clusters) a run lists', async () => {
    const head = await repo.head();
    const prod = await repo.listFiles(head.treeSha, 'clusters/prod');
    const other = await repo.listFiles(head.treeSha, 'clusters/other');
    expect(prod.every((e) => e.path.startsWith('clusters/prod/'))).toBe(true);
    expect(other.length).toBeGreaterThan(0);
    expect(other.every((e) => e.path.startsWith('clusters/other/'))).toBe(true);
    expect(methods().filter((m) => m.includes('/git/trees/'))).toEqual([`GET /repos/acme/policies/git/trees/${head.treeSha} 200`]);
  });

  test('a tree beyond GitHub’s listing limit is truncated, and listFiles() refuses it', async () => {
    github.stop();
    setUp({ treeEntryLimit: 3 });
    const head = await repo.head();
    await expect(repo.listFiles(head.treeSha, '')).rejects.toThrow(/too large/);
  });

  test('readBlobs() batches blobs in one GraphQL query and serves them from its cache afterwards', async () => {
    const marker = `unique ${Date.now()} ${Math.random()}`;
    fake.commitToDefault({ 'a.yaml': `a: ${marker}\n`, 'b.yaml': `b: ${marker}\n` });
    const head = await repo.head();
    const entries = (await repo.listFiles(head.treeSha, '')).filter((e) => e.path.endsWith('.yaml') && e.path.length === 6);
    github.resetRequests();
    const texts = await repo.readBlobs(entries.map((e) => e.sha));
    expect([...texts.values()].sort()).toEqual([`a: ${marker}\n`, `b: ${marker}\n`]);
    expect(methods()).toEqual(['POST /graphql repository.object 200']);
    github.resetRequests();
    expect(await repo.readBlobs(entries.map((e) => e.sha))).toEqual(texts);
    expect(github.requests()).toEqual([]);
  });

  test('a blob GraphQL truncates is read over REST', async () => {
    github.stop();
    setUp({ graphqlBlobTextLimit: 16 });
    const text = `long: ${'x'.repeat(100)} ${Math.random()}\n`;
    fake.commitToDefault({ 'long.yaml': text });
    const head = await repo.head();
    const entry = (await repo.listFiles(head.treeSha, '')).find((e) => e.path === 'long.yaml')!;
    github.resetRequests();
    expect((await repo.readBlobs([entry.sha])).get(entry.sha)).toBe(text);
    expect(methods()).toEqual(['POST /graphql repository.object 200', `GET /repos/acme/policies/git/blobs/${entry.sha} 200`]);
  });

  test('commit() writes one commit on the parent; setBranch() creates, and moves compare-and-swap with updateRefs', async () => {
    const head = await repo.head();
    const first = await repo.commit(
      head,
      new Map([
        ['clusters/prod/new.yaml', 'new: 1\n'],
        ['README.md', null],
      ]),
      'first',
    );
    expect(fake.commit(first)).toMatchObject({ parents: [head.commitSha], message: 'first', author: 'policy-recommender[bot]' });
    expect(fake.tree(first).get('clusters/prod/new.yaml')).toBe('new: 1\n');
    expect(fake.tree(first).has('README.md')).toBe(false);
    expect(fake.tree(first).get('clusters/other/policy.yaml')).toBe('kind: Other\n');
    expect(await repo.readCommit(first)).toEqual({
      sha: first,
      tree: fake.commit(first).tree,
      parents: [head.commitSha],
      message: 'first',
    });
    expect(await repo.readFile(first, 'clusters/prod/new.yaml')).toBe('new: 1\n');
    expect(await repo.readFile(first, 'README.md')).toBeNull();

    await repo.setBranch('feature', first, null);
    expect(fake.branchSha('feature')).toBe(first);
    expect(await repo.branchSha('feature')).toBe(first);
    expect(await repo.branchSha('nope')).toBeNull();

    // Exists: creating it fails, and says where it is.
    const second = await repo.commit(head, new Map([['clusters/prod/new.yaml', 'new: 2\n']]), 'second');
    await expect(repo.setBranch('feature', second, null)).rejects.toMatchObject({ name: 'BranchMoved', current: first });
    expect(fake.branchSha('feature')).toBe(first);

    // A move from where it is (not a fast-forward) succeeds; from anywhere else it changes nothing.
    github.resetRequests();
    await repo.setBranch('feature', second, first);
    expect(fake.branchSha('feature')).toBe(second);
    // Without the node id from repos.get, it is asked for once.
    expect(methods()).toEqual(['POST /graphql repository.id 200', 'POST /graphql updateRefs.clientMutationId 200']);
    const theirs = fake.pushToBranch('feature', { 'clusters/prod/new.yaml': 'theirs\n' }, 'a person');
    await expect(repo.setBranch('feature', first, second)).rejects.toBeInstanceOf(BranchMoved);
    expect(fake.branchSha('feature')).toBe(theirs);
    await expect(repo.setBranch('missing', first, second)).rejects.toMatchObject({ name: 'BranchMoved', current: null });
    expect(fake.branchSha('missing')).toBeUndefined();

    // Deleting compare-and-swap: a moved branch stays; a missing one is fine.
    await expect(repo.deleteBranch('feature', second)).rejects.toBeInstanceOf(BranchMoved);
    expect(fake.branchSha('feature')).toBe(theirs);
    await repo.deleteBranch('feature', theirs);
    expect(fake.branchSha('feature')).toBeUndefined();
    await repo.deleteBranch('feature', theirs);

    // GitHub's REST errors, as the fallbacks expect them.
    const createAgain = octokit.rest.git.createRef({ owner: 'acme', repo: 'policies', ref: 'refs/heads/main', sha: second });
    await expect(createAgain).rejects.toMatchObject({ status: 422, message: expect.stringContaining('Reference already exists') });
    const moveMissing = octokit.rest.git.updateRef({ owner: 'acme', repo: 'policies', ref: 'heads/nope', sha: second, force: true });
    await expect(moveMissing).rejects.toMatchObject({ status: 422, message: expect.stringContaining('Reference does not exist') });
    await repo.setBranch('other', second, null);
    const notFastForward = octokit.rest.git.updateRef({ owner: 'acme', repo: 'policies', ref: 'heads/other', sha: first });
    await expect(notFastForward).rejects.toMatchObject({ status: 422, message: expect.stringContaining('not a fast forward') });
  });

  test('updateRefs is atomic: one rejected update leaves every ref as it was', async () => {
    const head = await repo.head();
    const a = await repo.commit(head, new Map([['a.yaml', 'a\n']]), 'a');
    await repo.setBranch('a', a, null);
    const id = fake.nodeId;
    const mutation = `mutation($input: UpdateRefsInput!) { updateRefs(input: $input) { clientMutationId } }`;
    const zero = '0'.repeat(40);
    await expect(
      octokit.graphql(mutation, {
        input: {
          repositoryId: id,
          refUpdates: [
            { name: 'refs/heads/b', beforeOid: zero, afterOid: a },
            { name: 'refs/heads/a', beforeOid: head.commitSha, afterOid: head.commitSha, force: true },
          ],
        },
      }),
    ).rejects.toThrow(/rejected/);
    expect(fake.branches()).toEqual(['a', 'main']);
    await octokit.graphql(mutation, {
      input: {
        repositoryId: id,
        refUpdates: [
          { name: 'refs/heads/b', beforeOid: zero, afterOid: a },
          { name: 'refs/heads/a', beforeOid: a, afterOid: zero },
        ],
      },
    });
    expect(fake.branches()).toEqual(['b', 'main']);
    // As git: a branch cannot be created where another's name would have to be a directory, or the other way round.
    for (const name of ['refs/heads/b/c', 'refs/heads/main/x']) {
      await expect(
        octokit.graphql(mutation, { input: { repositoryId: id, refUpdates: [{ name, beforeOid: zero, afterOid: a }] } }),
      ).rejects.toThrow(/Ref cannot be created/);
    }
    await octokit.graphql(mutation, {
      input: { repositoryId: id, refUpdates: [{ name: 'refs/heads/c/d', beforeOid: zero, afterOid: a }] },
    });
    await expect(octokit.rest.git.createRef({ owner: 'acme', repo: 'policies', ref: 'refs/heads/c', sha: a })).rejects.toMatchObject({
      status: 422,
      message: expect.stringContaining('Reference update failed'),
    });
    expect(fake.branches()).toEqual(['b', 'c/d', 'main']);
    // Without force, a move must be a fast-forward.
    await expect(
      octokit.graphql(mutation, {
        input: { repositoryId: id, refUpdates: [{ name: 'refs/heads/b', beforeOid: a, afterOid: head.commitSha }] },
      }),
    ).rejects.toThrow(/fast-forward/);
  });

  test('deleting a path that is not in the base tree fails as on GitHub', async () => {
    const head = await repo.head();
    expect(await statusOf(repo.commit(head, new Map([['nope.yaml', null]]), 'm'))).toBe(422);
  });

  test('deleteBranch() twice: the second is a no-op; an open PR of the branch is closed by GitHub', async () => {
    const head = await repo.head();
    const sha = await repo.commit(head, new Map([['x.yaml', 'x\n']]), 'x');
    await repo.setBranch('gone', sha, null);
    const pr = await repo.createPullRequest({ branch: 'gone', title: 'T', body: 'B', draft: false });
    github.resetRequests();
    await repo.deleteBranch('gone');
    await repo.deleteBranch('gone');
    expect(methods()).toEqual([
      'DELETE /repos/acme/policies/git/refs/heads/gone 204',
      'DELETE /repos/acme/policies/git/refs/heads/gone 422',
    ]);
    expect(fake.branchSha('gone')).toBeUndefined();
    expect(fake.pullRequest(pr.number).state).toBe('closed');
  });
});

describe('pull requests', () => {
  beforeEach(() => setUp());

  async function branchWith(branch: string, files: Record<string, string>): Promise<string> {
    const head = await repo.head();
    const sha = await repo.commit(head, new Map(Object.entries(files)), `files for ${branch}`);
    await repo.setBranch(branch, sha, null);
    return sha;
  }

  test('createPullRequest() opens a draft; a second one for the same head is a RepositoryConflict', async () => {
    const sha = await branchWith('policy-recommender/prod/yaobank', { 'clusters/prod/yaobank/policy.yaml': 'kind: Better\n' });
    const pr = await repo.createPullRequest({ branch: 'policy-recommender/prod/yaobank', title: 'Title', body: 'Body', draft: true });
    expect(pr).toMatchObject({
      state: 'open',
      draft: true,
      title: 'Title',
      body: 'Body',
      branch: 'policy-recommender/prod/yaobank',
      headOid: sha,
      labels: [],
    });
    expect(pr.url).toBe(`https://github.com/acme/policies/pull/${pr.number}`);
    expect(pr.createdAt).toBe('2026-11-22T12:00:00Z');
    expect(fake.pullRequest(pr.number)).toMatchObject({
      state: 'open',
      draft: true,
      head: 'policy-recommender/prod/yaobank',
      base: 'main',
      headSha: sha,
      nodeId: pr.id,
    });
    expect([...fake.changedFiles(pr.number)]).toEqual([['clusters/prod/yaobank/policy.yaml', 'kind: Better\n']]);

    await expect(
      repo.createPullRequest({ branch: 'policy-recommender/prod/yaobank', title: 'Again', body: '', draft: true }),
    ).rejects.toBeInstanceOf(RepositoryConflict);
    const raw = octokit.rest.pulls.create({
      owner: 'acme',
      repo: 'policies',
      head: 'policy-recommender/prod/yaobank',
      base: 'main',
      title: 'x',
    });
    await expect(raw).rejects.toMatchObject({
      status: 422,
      message: expect.stringContaining('A pull request already exists for acme:policy-recommender/prod/yaobank.'),
    });
  });

  test('a repository without drafts rejects them with GitHub’s 422 and the App falls back to a regular PR', async () => {
    fake.configure({ draftPullRequests: false });
    await branchWith('no-drafts', { 'f.yaml': 'f\n' });
    github.resetRequests();
    const pr = await repo.createPullRequest({ branch: 'no-drafts', title: 'T', body: '', draft: true });
    expect(pr.draft).toBe(false);
    expect(fake.pullRequest(pr.number).draft).toBe(false);
    expect(methods()).toEqual(['POST /repos/acme/policies/pulls 422', 'POST /repos/acme/policies/pulls 201']);
    const draftAttempt = octokit.rest.pulls.create({
      owner: 'acme',
      repo: 'policies',
      head: 'no-drafts',
      base: 'main',
      title: 'x',
      draft: true,
    });
    await expect(draftAttempt).rejects.toMatchObject({
      status: 422,
      message: expect.stringContaining('Draft pull requests are not supported in this repository.'),
    });
  });

  test('a PR without commits is refused', async () => {
    await repo.setBranch('empty', fake.branchSha('main')!, null);
    expect(await statusOf(repo.createPullRequest({ branch: 'empty', title: 'T', body: '', draft: false }))).toBe(422);
  });

  test('openPullRequests() pages through 150 labelled PRs, 100 at a time, oldest first', async () => {
    for (let i = 0; i < 160; i++) {
      fake.pushToBranch(`b${i}`, { [`f${i}.yaml`]: `${i}\n` });
      fake.openPullRequest({ head: `b${i}`, title: `PR ${i}`, labels: i % 16 === 15 ? ['other'] : [RECOMMENDATION_LABEL], byBot: true });
    }
    fake.pushToBranch('closed', { 'c.yaml': 'c\n' });
    fake.closePullRequest(fake.openPullRequest({ head: 'closed', title: 'closed', labels: [RECOMMENDATION_LABEL] }));
    github.resetRequests();
    const open = await repo.openPullRequests(RECOMMENDATION_LABEL);
    expect(open).toHaveLength(150);
    expect(open.map((p) => p.number)).toEqual([...open.map((p) => p.number)].sort((a, b) => a - b));
    expect(new Set(open.map((p) => p.branch)).size).toBe(150);
    expect(open.every((p) => p.state === 'open' && p.labels.includes(RECOMMENDATION_LABEL))).toBe(true);
    expect(methods()).toEqual(['POST /graphql repository.pullRequests 200', 'POST /graphql repository.pullRequests 200']);
  });

  test('a PR with more labels than GraphQL gives on one page: all of them, the rest read over REST', async () => {
    await branchWith('labelled', { 'l.yaml': 'l\n' });
    const many = Array.from({ length: 130 }, (_, i) => `team-${String(i).padStart(3, '0')}`);
    const number = fake.openPullRequest({ head: 'labelled', title: 'many labels', labels: [...many, RECOMMENDATION_LABEL], byBot: true });
    github.resetRequests();
    const [open] = await repo.openPullRequests(RECOMMENDATION_LABEL);
    expect(open!.number).toBe(number);
    expect([...open!.labels].sort()).toEqual([...many, RECOMMENDATION_LABEL].sort());
    expect((await repo.latestPullRequests(['labelled'])).get('labelled')!.labels).toHaveLength(131);
    expect(methods()).toEqual([
      'POST /graphql repository.pullRequests 200',
      `GET /repos/acme/policies/issues/${number}/labels 200`,
      `GET /repos/acme/policies/issues/${number}/labels 200`,
      'POST /graphql repository.pullRequests 200',
      `GET /repos/acme/policies/issues/${number}/labels 200`,
      `GET /repos/acme/policies/issues/${number}/labels 200`,
    ]);
  });

  test('latestPullRequests() gives the newest PR per head branch in any state, or null', async () => {
    await branchWith('reused', { 'r.yaml': 'r1\n' });
    const old = fake.openPullRequest({ head: 'reused', title: 'old' });
    fake.closePullRequest(old);
    const newer = fake.openPullRequest({ head: 'reused', title: 'newer' });
    await branchWith('merged', { 'm.yaml': 'm\n' });
    const merged = fake.openPullRequest({ head: 'merged', title: 'merged' });
    fake.mergePullRequest(merged);
    await branchWith('dismissed', { 'd.yaml': 'd\n' });
    const dismissed = fake.openPullRequest({ head: 'dismissed', title: 'dismissed' });
    fake.closePullRequest(dismissed);
    github.resetRequests();
    const latest = await repo.latestPullRequests(['reused', 'merged', 'dismissed', 'never']);
    expect(latest.get('reused')).toMatchObject({ number: newer, state: 'open' });
    expect(latest.get('merged')).toMatchObject({ number: merged, state: 'merged' });
    expect(latest.get('dismissed')).toMatchObject({ number: dismissed, state: 'closed' });
    expect(latest.get('never')).toBeNull();
    expect(methods()).toEqual(['POST /graphql repository.pullRequests 200']);
  });

  // GraphQL's `pullRequests(headRefName:)` matches the branch name alone, so a fork's PR with our
  // branch's name is listed too (PullRequest.isCrossRepository tells them apart): anyone can open
  // one, and close it, or write any body (a forged hidden state), on a public repository.
  test("a fork's pull request with the bot's branch name is never taken for the bot's (latest, listing, catch-up)", async () => {
    await branchWith('policy-recommender/prod/shop', { 's.yaml': 's\n' });
    const ours = fake.openPullRequest({ head: 'policy-recommender/prod/shop', title: 'ours', labels: [RECOMMENDATION_LABEL], byBot: true });
    const forged = fake.openPullRequest({
      head: 'policy-recommender/prod/shop',
      title: 'forged',
      body: 'forged hidden state',
      labels: [RECOMMENDATION_LABEL],
      fromFork: 'mallory',
    });
    const closedFork = fake.openPullRequest({ head: 'policy-recommender/prod/web', title: 'closed fork', fromFork: 'mallory' });
    fake.closePullRequest(closedFork);
    // The fork's PRs are listed by name (the fake answers as GitHub does), then left out.
    const listed = await octokit.graphql<{ repository: { pullRequests: { nodes: { number: number; isCrossRepository: boolean }[] } } }>(
      'query { repository(owner: "acme", name: "policies") { pullRequests(headRefName: "policy-recommender/prod/shop", first: 10) { nodes { number isCrossRepository } } } }',
    );
    expect(listed.repository.pullRequests.nodes).toEqual([
      { number: ours, isCrossRepository: false },
      { number: forged, isCrossRepository: true },
    ]);
    const latest = await repo.latestPullRequests(['policy-recommender/prod/shop', 'policy-recommender/prod/web']);
    expect(latest.get('policy-recommender/prod/shop')).toMatchObject({ number: ours, state: 'open' });
    expect(latest.get('policy-recommender/prod/web')).toBeNull();
    expect((await repo.openPullRequests(RECOMMENDATION_LABEL)).map((p) => p.number)).toEqual([ours]);
    expect(fake.pullRequest(forged).state).toBe('open');
  });

  test('addLabels(), removeLabel(), setDraft(), updatePullRequest() and comment()', async () => {
    await branchWith('labels', { 'l.yaml': 'l\n' });
    const pr = await repo.createPullRequest({ branch: 'labels', title: 'T', body: 'B', draft: true });
    fake.addLabel(pr.number, 'keep-me');
    await repo.addLabels(pr.number, [RECOMMENDATION_LABEL, 'Learning']);
    expect(fake.labels(pr.number)).toEqual(['keep-me', RECOMMENDATION_LABEL, 'Learning']);
    await repo.removeLabel(pr.number, 'Learning');
    // Already gone (a person removed it): nothing to do.
    await repo.removeLabel(pr.number, 'Learning');
    expect(fake.labels(pr.number)).toEqual(['keep-me', RECOMMENDATION_LABEL]);

    await repo.setDraft(pr, false);
    expect(fake.pullRequest(pr.number).draft).toBe(false);
    await repo.setDraft({ ...pr, draft: false }, true);
    expect(fake.pullRequest(pr.number).draft).toBe(true);

    await repo.updatePullRequest(pr.number, { title: 'New title', body: 'New body' });
    expect(fake.pullRequest(pr.number)).toMatchObject({ title: 'New title', body: 'New body' });
    await repo.commentOnce(pr.number, 'Closing: obsolete. <!-- said -->', '<!-- said -->');
    await repo.commentOnce(pr.number, 'Closing: obsolete, again. <!-- said -->', '<!-- said -->');
    await repo.updatePullRequest(pr.number, { state: 'closed' });
    expect(fake.pullRequest(pr.number).state).toBe('closed');
    expect(fake.comments(pr.number)).toMatchObject([
      { body: 'Closing: obsolete. <!-- said -->', user: 'policy-recommender[bot]', bot: true },
    ]);
    await repo.updatePullRequest(pr.number, { state: 'open' });
    expect(fake.pullRequest(pr.number).state).toBe('open');

    // The REST add and remove endpoints as well.
    await octokit.rest.issues.addLabels({ owner: 'acme', repo: 'policies', issue_number: pr.number, labels: ['a', 'b'] });
    await octokit.rest.issues.removeLabel({ owner: 'acme', repo: 'policies', issue_number: pr.number, name: 'a' });
    expect(fake.labels(pr.number)).toEqual(['keep-me', RECOMMENDATION_LABEL, 'b']);
    expect(await statusOf(octokit.rest.issues.removeLabel({ owner: 'acme', repo: 'policies', issue_number: pr.number, name: 'a' }))).toBe(
      404,
    );
  });

  test('the draft mutation fails where drafts are unsupported', async () => {
    await branchWith('d', { 'd.yaml': 'd\n' });
    const pr = await repo.createPullRequest({ branch: 'd', title: 'T', body: '', draft: false });
    fake.configure({ draftPullRequests: false });
    await expect(repo.setDraft(pr, true)).rejects.toThrow(/Draft pull requests are not supported/);
  });
});

describe('issues', () => {
  beforeEach(() => setUp());

  test('findIssues() finds the open, labelled issues holding the marker (not a PR), on every page; createIssue(), updateIssue(), readIssue(), closeIssue()', async () => {
    expect(await repo.findIssues(DASHBOARD_LABEL, DASHBOARD_MARKER)).toEqual([]);
    // Decoys: a PR and a closed issue with the label and marker, an issue without the label.
    fake.pushToBranch('decoy', { 'x.yaml': 'x\n' });
    fake.openPullRequest({ head: 'decoy', title: 'decoy', body: `${DASHBOARD_MARKER}{} -->`, labels: [DASHBOARD_LABEL] });
    fake.openIssue('unlabelled', `${DASHBOARD_MARKER}{} -->`);
    // A person's issue with the label and the marker: on a public repository anyone can write one.
    fake.openIssue('forged', `${DASHBOARD_MARKER}{"v":1} -->`, [DASHBOARD_LABEL]);
    // People's issues with the label, more than a page of them, older than the dashboard.
    for (let i = 0; i < 120; i++) fake.openIssue(`a person's issue ${i}`, 'about policies', [DASHBOARD_LABEL]);
    expect(await repo.findIssues(DASHBOARD_LABEL, DASHBOARD_MARKER)).toEqual([]);

    const created = await repo.createIssue({ title: DASHBOARD_TITLE, body: `${DASHBOARD_MARKER}{"v":1} -->`, labels: [DASHBOARD_LABEL] });
    expect(fake.issue(created.number)).toMatchObject({
      title: DASHBOARD_TITLE,
      labels: [DASHBOARD_LABEL],
      state: 'open',
      isPullRequest: false,
      user: 'policy-recommender[bot]',
    });
    github.resetRequests();
    expect(await repo.findIssues(DASHBOARD_LABEL, DASHBOARD_MARKER)).toEqual([
      { number: created.number, body: `${DASHBOARD_MARKER}{"v":1} -->`, state: 'open', labels: [DASHBOARD_LABEL] },
    ]);
    // Two pages of 100 (Octokit's paginate follows the Link header).
    expect(github.requests().map((r) => r.query?.['page'] ?? '1')).toEqual(['1', '2']);
    expect(github.requests()[0]?.query).toEqual({
      labels: DASHBOARD_LABEL,
      state: 'open',
      sort: 'created',
      direction: 'asc',
      per_page: '100',
    });
    expect(await repo.readIssue(created.number)).toEqual({ number: created.number, body: `${DASHBOARD_MARKER}{"v":1} -->`, state: 'open' });

    await repo.updateIssue(created.number, 'new body');
    expect(fake.issue(created.number).body).toBe('new body');
    fake.editIssueBody(created.number, (b) => `${b}\n- [x] ticked`);
    expect(fake.issue(created.number).body).toBe('new body\n- [x] ticked');
    const event = fake.issuesEvent('edited', created.number);
    expect(event.payload).toMatchObject({
      action: 'edited',
      issue: { number: created.number, body: 'new body\n- [x] ticked' },
      changes: { body: { from: 'new body' } },
      installation: { id: 7 },
    });
    await repo.closeIssue(created.number);
    expect(fake.issue(created.number).state).toBe('closed');
    await repo.reopenIssue(created.number);
    expect(fake.issue(created.number).state).toBe('open');
  });

  // GitHub's issue search, as the fake holds it to what GitHub documents (see its #searchIssues).
  const dashboardBody = (words: string) => `${words}\n\n${DASHBOARD_MARKER}{"v":1} -->`;

  test('searchIssues() finds issues holding the marker in any state and with any labels, by words of their visible text, on every page', async () => {
    // Decoys: a PR with the words and marker; an issue with the marker but not the words; one with
    // the words but not the marker; one whose words are only inside an HTML comment (not searched).
    fake.pushToBranch('decoy', { 'x.yaml': 'x\n' });
    fake.openPullRequest({ head: 'decoy', title: 'decoy', body: dashboardBody('policy-recommender') });
    fake.openIssue('no words', `${DASHBOARD_MARKER}{} -->`);
    fake.openIssue('words only', 'what does policy-recommender do?');
    fake.openIssue('hidden words', `<!-- policy-recommender --> ${DASHBOARD_MARKER}{} -->`);
    // More than a page of issues with the words (people write about the bot).
    for (let i = 0; i < 120; i++) fake.openIssue(`question ${i}`, `policy recommender question ${i}`);
    // A person's issue with the words and the marker: not the App's, so never taken for its dashboard.
    fake.openIssue('Policy recommendations', dashboardBody('forged by someone: policy-recommender'));
    const unlabelled = fake.openIssue('Policy recommendations', dashboardBody('This issue lists what Policy-Recommender proposes'), [], {
      byBot: true,
    });
    const closed = fake.openIssue('Policy recommendations', dashboardBody('made by policy-recommender'), ['policy-recommender', 'other'], {
      byBot: true,
    });
    fake.closeIssue(closed);
    github.resetRequests();

    expect(await repo.searchIssues('policy-recommender', DASHBOARD_MARKER)).toEqual([
      { number: unlabelled, body: dashboardBody('This issue lists what Policy-Recommender proposes'), state: 'open', labels: [] },
      { number: closed, body: dashboardBody('made by policy-recommender'), state: 'closed', labels: ['policy-recommender', 'other'] },
    ]);
    expect(github.requests().map((r) => [r.path, r.query['page'] ?? '1'])).toEqual([
      ['/search/issues', '1'],
      ['/search/issues', '2'],
    ]);
    expect(github.requests()[0]?.query).toEqual({
      q: 'repo:acme/policies is:issue in:body "policy-recommender"',
      sort: 'created',
      order: 'asc',
      per_page: '100',
    });
  });

  test("search: qualifiers and phrases as documented; at most 1,000 results; another installation's repository cannot be searched", async () => {
    const search = async (q: string, extra: Record<string, string | number> = {}) =>
      (await octokit.rest.search.issuesAndPullRequests({ q, per_page: 100, ...extra })).data;
    const a = fake.openIssue('Alpha in the title', 'the body says gamma delta');
    const b = fake.openIssue('beta', 'delta gamma');
    fake.comment(b, 'alpha in a comment');
    fake.closeIssue(b);
    const numbers = async (q: string) => (await search(q, { sort: 'created', order: 'asc' })).items.map((i) => i.number);
    expect(await numbers('repo:acme/policies alpha')).toEqual([a, b]); // title, body and comments without in:
    expect(await numbers('repo:acme/policies alpha in:title')).toEqual([a]);
    expect(await numbers('repo:acme/policies alpha in:body')).toEqual([]);
    expect(await numbers('repo:acme/policies "gamma delta" in:body')).toEqual([a]); // a phrase: its words in a row
    expect(await numbers('repo:acme/policies gamma delta in:body')).toEqual([a, b]);
    expect(await numbers('repo:acme/policies GAMMA is:closed')).toEqual([b]); // not case sensitive
    expect(await numbers('repo:acme/policies gamma state:open is:issue')).toEqual([a]);

    for (let i = 0; i < 1005; i++) fake.openIssue(`many ${i}`, 'many');
    const first = await search('repo:acme/policies many in:title');
    expect(first).toMatchObject({ total_count: 1005, incomplete_results: false, search_type: 'lexical' });
    expect((await search('repo:acme/policies many in:title', { page: 10 })).items).toHaveLength(100);
    expect(await statusOf(search('repo:acme/policies many in:title', { page: 11 }))).toBe(422);

    github.addRepository({ owner: 'other', name: 'private', installationId: 8, private: true });
    // Installation 7's token (the fake takes any three-part bearer credential as the App's JWT).
    const issued = await fetch('https://api.github.com/app/installations/7/access_tokens', {
      method: 'POST',
      headers: { authorization: 'Bearer a.b.c', accept: 'application/vnd.github+json' },
    });
    const { token } = (await issued.json()) as { token: string };
    const installation7 = new TestOctokit({ auth: { token } }) as Octokit;
    expect((await installation7.rest.search.issuesAndPullRequests({ q: 'repo:acme/policies alpha' })).data.total_count).toBe(2);
    expect(await statusOf(installation7.rest.search.issuesAndPullRequests({ q: 'repo:other/private anything' }))).toBe(422);
    github.stop();
    expect(github.violations()).toEqual([]);
  });

  test('searchIssues() throws when the search fails or timed out (incomplete_results), never answering "none"', async () => {
    github.failNext({
      pathRegex: /^\/search\/issues$/,
      status: 403,
      body: { message: 'API rate limit exceeded for installation ID 7.', documentation_url: 'https://docs.github.com/rest' },
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-resource': 'search' },
    });
    expect(await statusOf(repo.searchIssues('policy-recommender', DASHBOARD_MARKER))).toBe(403);
    github.failNext({
      pathRegex: /^\/search\/issues$/,
      status: 200,
      body: { total_count: 0, incomplete_results: true, items: [], search_type: 'lexical' },
    });
    await expect(repo.searchIssues('policy-recommender', DASHBOARD_MARKER)).rejects.toThrow(/incomplete_results/);
  });
});

describe('people, faults and accounting', () => {
  beforeEach(() => setUp());

  test('mergePullRequest() applies the PR’s changes onto the default branch as a merge commit', async () => {
    const head = await repo.head();
    const sha = await repo.commit(
      head,
      new Map([
        ['clusters/prod/yaobank/policy.yaml', 'kind: Merged\n'],
        ['clusters/prod/added.yaml', 'added\n'],
      ]),
      'bot',
    );
    await repo.setBranch('to-merge', sha, null);
    const pr = await repo.createPullRequest({ branch: 'to-merge', title: 'T', body: '', draft: true });
    expect(() => fake.mergePullRequest(pr.number)).toThrow(/draft/);
    fake.markReadyForReview(pr.number);
    // Meanwhile someone changed another file on main: both changes end up there.
    fake.commitToDefault({ 'README.md': 'changed\n' });
    const before = fake.branchSha('main')!;
    const merge = fake.mergePullRequest(pr.number);
    expect(fake.branchSha('main')).toBe(merge);
    expect(fake.commit(merge).parents).toEqual([before, sha]);
    expect(fake.file('main', 'clusters/prod/yaobank/policy.yaml')).toBe('kind: Merged\n');
    expect(fake.file('main', 'clusters/prod/added.yaml')).toBe('added\n');
    expect(fake.file('main', 'README.md')).toBe('changed\n');
    expect(fake.pullRequest(pr.number)).toMatchObject({ state: 'merged', mergeCommitSha: merge });
    expect(fake.branchSha('to-merge')).toBe(sha); // not deleted unless asked
    expect((await repo.latestPullRequests(['to-merge'])).get('to-merge')?.state).toBe('merged');
  });

  test('close, delete the branch, reopen (refused), restore the branch, reopen', async () => {
    fake.pushToBranch('work', { 'w.yaml': 'w\n' });
    const n = fake.openPullRequest({ head: 'work', title: 'W', labels: [RECOMMENDATION_LABEL] });
    fake.closePullRequest(n);
    fake.deleteBranch('work');
    expect(() => fake.reopenPullRequest(n)).toThrow(/deleted/);
    fake.restoreBranch(n);
    fake.reopenPullRequest(n);
    expect(fake.pullRequest(n).state).toBe('open');
    // A person's commit moves the PR's head.
    const pushed = fake.pushToBranch('work', { 'w.yaml': 'edited\n' }, 'my edit');
    expect(fake.pullRequest(n).headSha).toBe(pushed);
    expect((await repo.openPullRequests(RECOMMENDATION_LABEL))[0]?.headOid).toBe(pushed);
  });

  test('webhook events reflect the model', async () => {
    fake.pushToBranch('policy-recommender/prod/yaobank', { 'clusters/prod/yaobank/policy.yaml': 'x\n' });
    const n = fake.openPullRequest({ head: 'policy-recommender/prod/yaobank', title: 'P', labels: [RECOMMENDATION_LABEL], byBot: true });
    fake.addLabel(n, 'policy-recommender:rebase');
    expect(fake.pullRequestEvent('labeled', n, { label: 'policy-recommender:rebase' })).toMatchObject({
      name: 'pull_request',
      payload: {
        action: 'labeled',
        label: { name: 'policy-recommender:rebase' },
        pull_request: {
          number: n,
          head: { ref: 'policy-recommender/prod/yaobank' },
          merged: false,
          labels: [{ name: RECOMMENDATION_LABEL }, { name: 'policy-recommender:rebase' }],
        },
        repository: { full_name: 'acme/policies', default_branch: 'main', owner: { login: 'acme' } },
        installation: { id: 7 },
      },
    });
    fake.closePullRequest(n);
    expect(fake.pullRequestEvent('closed', n).payload).toMatchObject({
      action: 'closed',
      pull_request: { state: 'closed', merged: false },
    });
    const comment = fake.comment(n, '/policy-recommender rebase');
    expect(fake.issueCommentEvent(n).payload).toMatchObject({
      action: 'created',
      issue: { number: n, pull_request: { url: expect.any(String) } },
      comment: { id: comment, body: '/policy-recommender rebase', user: { login: 'octocat', type: 'User' } },
    });
    const before = fake.branchSha('main')!;
    fake.commitToDefault({ [CONFIG_PATH]: 'clusters: []\n', 'README.md': null }, 'config');
    fake.commitToDefault({ 'new.txt': 'n\n' });
    const push = fake.pushEvent('main', before);
    expect(push.payload).toMatchObject({
      ref: 'refs/heads/main',
      before,
      after: fake.branchSha('main'),
      commits: [
        { added: [CONFIG_PATH], removed: ['README.md'], modified: [] },
        { added: ['new.txt'], removed: [], modified: [] },
      ],
    });
    expect(github.installationCreatedEvent(7).payload).toMatchObject({
      action: 'created',
      installation: { id: 7, account: { login: 'acme' } },
      repositories: [{ full_name: 'acme/policies' }],
    });
  });

  test('every change queues the webhook GitHub would send, with its sender', async () => {
    github.takeEvents();
    const head = await repo.head();
    const sha = await repo.commit(head, new Map([['e.yaml', 'e\n']]), 'e');
    await repo.setBranch('events', sha, null);
    const pr = await repo.createPullRequest({ branch: 'events', title: 'T', body: '', draft: true });
    await repo.addLabels(pr.number, [RECOMMENDATION_LABEL]);
    await repo.setDraft(pr, false);
    const pushed = fake.pushToBranch('events', { 'e.yaml': 'person\n' });
    fake.closePullRequest(pr.number);
    const events = github.takeEvents();
    const summary = events.map((e) => `${eventName(e)} by ${(e.payload as { sender: { login: string } }).sender.login}`);
    expect(summary).toEqual([
      'push by policy-recommender[bot]',
      'pull_request.opened by policy-recommender[bot]',
      'pull_request.labeled by policy-recommender[bot]',
      'pull_request.ready_for_review by policy-recommender[bot]',
      'push by octocat',
      'pull_request.synchronize by octocat',
      'pull_request.closed by octocat',
    ]);
    expect(events[0]!.payload).toMatchObject({
      ref: 'refs/heads/events',
      created: true,
      after: sha,
      commits: [{ id: sha, added: ['e.yaml'] }],
    });
    expect(events[4]!.payload).toMatchObject({ before: sha, after: pushed, commits: [{ modified: ['e.yaml'] }] });
    expect(github.events()).toEqual([]);
  });

  test('failNext() fails the next matching request, before or after applying it', async () => {
    github.failNext({ method: 'GET', pathRegex: /\/branches\//, status: 502 });
    expect(await statusOf(repo.head())).toBe(502);
    await expect(repo.head()).resolves.toBeDefined();

    // A lost response: the PR exists although the App saw an error.
    fake.pushToBranch('lost', { 'l.yaml': 'l\n' });
    github.failNext({ method: 'POST', pathRegex: /\/pulls$/, status: 500, afterApply: true });
    expect(await statusOf(repo.createPullRequest({ branch: 'lost', title: 'T', body: '', draft: false }))).toBe(500);
    expect(fake.pullRequests().map((p) => p.head)).toEqual(['lost']);
    await expect(repo.createPullRequest({ branch: 'lost', title: 'T', body: '', draft: false })).rejects.toBeInstanceOf(RepositoryConflict);

    github.failNext({ graphql: 'pullRequests', status: 502, times: 2 });
    expect(await statusOf(repo.openPullRequests(RECOMMENDATION_LABEL))).toBe(502);
    expect(await statusOf(repo.latestPullRequests(['x']))).toBe(502);
    expect(github.pendingFaults()).toBe(0);
    expect(github.requests().filter((r) => r.faulted)).toHaveLength(4);
  });

  test('a connection reset gives no response; hold() keeps a request waiting until released', async () => {
    github.failNext({ method: 'GET', pathRegex: /\/branches\//, kind: 'reset' });
    // As a real socket reset reaches Octokit: fetch failed (ECONNRESET), no response at all.
    const reset = await repo.head().catch((e: unknown) => e);
    expect(reset).toMatchObject({ response: undefined, cause: { message: 'fetch failed', cause: { code: 'ECONNRESET' } } });
    expect(github.requests().at(-1)).toMatchObject({ faulted: true, status: 0 });

    const hold = github.hold({ method: 'GET', pathRegex: /\/branches\// });
    let done = false;
    const head = repo.head().then(() => (done = true));
    await hold.reached;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(done).toBe(false);
    hold.release();
    await head;
    expect(done).toBe(true);
  });

  test('unknown GraphQL fields and REST routes fail loudly and are reported', async () => {
    await expect(octokit.graphql('query { repository(owner: "acme", name: "policies") { stargazerCount } }')).rejects.toThrow(
      /stargazerCount/,
    );
    expect(await statusOf(octokit.request('GET /repos/{owner}/{repo}/stargazers', { owner: 'acme', repo: 'policies' }))).toBe(500);
    expect(github.unexpected()).toHaveLength(2);
    expect(github.unexpected()[0]).toContain('stargazerCount');
    expect(github.unexpected()[1]).toBe('GET /repos/acme/policies/stargazers');
    // Not a fake limitation: GitHub's own answers for unknown things.
    expect(await statusOf(octokit.rest.repos.get({ owner: 'acme', repo: 'missing' }))).toBe(404);
    await expect(repo.readBlobs(['0'.repeat(40)])).resolves.toEqual(new Map());
    github.stop();
    github = new FakeGitHub().start(); // afterEach checks this one
  });

  test('Probot’s config plugin reads the configuration from the default branch, the .github repository and _extends', async () => {
    const read = async (name: string) =>
      (await octokit.config.get({ owner: 'acme', repo: name, path: CONFIG_PATH })) as { config: unknown; files: { config: unknown }[] };
    expect((await read('policies')).files.every((f) => f.config === null)).toBe(true); // not configured: 2 requests, both 404
    expect(methods()).toEqual([
      `GET /repos/acme/policies/contents/${CONFIG_PATH} 404`,
      `GET /repos/acme/.github/contents/${CONFIG_PATH} 404`,
    ]);

    fake.commitToDefault({ [CONFIG_PATH]: 'clusters:\n  - name: prod\n    path: clusters/prod\n' });
    expect((await read('policies')).config).toEqual({ clusters: [{ name: 'prod', path: 'clusters/prod' }] });

    const org = github.addRepository({
      owner: 'acme',
      name: '.github',
      installationId: 7,
      files: { [CONFIG_PATH]: 'schedule: "0 3 * * *"\nafterMerge: stop\n' },
    });
    const other = github.addRepository({ owner: 'acme', name: 'other', installationId: 7 });
    expect((await read('other')).config).toEqual({ schedule: '0 3 * * *', afterMerge: 'stop' });
    other.commitToDefault({ [CONFIG_PATH]: '_extends: .github\nafterMerge: propose-updates\n' });
    expect((await read('other')).config).toEqual({ schedule: '0 3 * * *', afterMerge: 'propose-updates' });
    expect(org.file('main', CONFIG_PATH)).toContain('schedule');
  });
});

describe('held to GitHub’s descriptions (@octokit/openapi, @octokit/graphql-schema)', () => {
  beforeEach(() => setUp());

  test('a REST request GitHub would refuse gets GitHub’s error and fails the test, naming the operation and the violation', async () => {
    fake.pushToBranch('x', { 'x.yaml': 'x\n' });
    const create = { owner: 'acme', repo: 'policies', title: 'T', head: 'x', base: 'main' };
    // What Octokit's types would refuse too: sent through an untyped route.
    const untyped = (route: string, parameters: Record<string, unknown>) => octokit.request(route, parameters);
    // pulls/create's `draft` is a boolean in the description.
    expect(await statusOf(untyped('POST /repos/{owner}/{repo}/pulls', { ...create, draft: 'yes' }))).toBe(422);
    // issues/list-for-repo's `state` is one of open, closed, all; `issue_number` an integer.
    expect(await statusOf(untyped('GET /repos/{owner}/{repo}/issues', { owner: 'acme', repo: 'policies', state: 'opened' }))).toBe(422);
    expect(
      await statusOf(untyped('GET /repos/{owner}/{repo}/issues/{issue_number}', { owner: 'acme', repo: 'policies', issue_number: 'one' })),
    ).toBe(422);
    // No such operation: GitHub answers 404.
    expect(await statusOf(octokit.request('GET /repos/{owner}/{repo}/pull-requests', { owner: 'acme', repo: 'policies' }))).toBe(404);
    expect(fake.pullRequests()).toEqual([]);
    const violations = github.violations();
    expect(violations).toEqual([
      'POST /repos/acme/policies/pulls (POST /repos/{owner}/{repo}/pulls, pulls/create): body.draft must be boolean',
      'GET /repos/acme/policies/issues?state=opened (GET /repos/{owner}/{repo}/issues, issues/list-for-repo): query parameter state must be equal to one of the allowed values ("open", "closed", "all")',
      'GET /repos/acme/policies/issues/one (GET /repos/{owner}/{repo}/issues/{issue_number}, issues/get): path parameter issue_number must be integer (one)',
      'GET /repos/acme/policies/pull-requests (no such operation): GitHub has no operation for this method and path',
    ]);
    expect(() => github.stop()).toThrow(
      /4 request\(s\) or response\(s\) unlike GitHub's description:\n- POST \/repos\/acme\/policies\/pulls \(POST \/repos\/\{owner\}\/\{repo\}\/pulls, pulls\/create\): body.draft must be boolean/,
    );
    expect(github.violations()).toEqual([]); // reported once
  });

  test('what GitHub would silently ignore (an unknown query parameter or body field) is served, and is a violation all the same', async () => {
    fake.openIssue('one', '', ['a']);
    // `label` is not issues/list-for-repo's filter (`labels` is): GitHub lists every issue.
    const listed = await octokit.request('GET /repos/{owner}/{repo}/issues', { owner: 'acme', repo: 'policies', label: 'b' });
    expect(listed.data).toHaveLength(1);
    // issues/update has no `label` field.
    await octokit.request('PATCH /repos/{owner}/{repo}/issues/{issue_number}', {
      owner: 'acme',
      repo: 'policies',
      issue_number: 1,
      label: 'b',
    });
    expect(github.takeViolations()).toEqual([
      'GET /repos/acme/policies/issues?label=b (GET /repos/{owner}/{repo}/issues, issues/list-for-repo): query parameter label is not a parameter of this operation (GitHub ignores it)',
      "PATCH /repos/acme/policies/issues/1 (PATCH /repos/{owner}/{repo}/issues/{issue_number}, issues/update): body.label is not a field of this operation's body (GitHub ignores it)",
    ]);
  });

  test('GraphQL documents are validated against GitHub’s schema, and variables against their types', async () => {
    await expect(
      octokit.graphql('query { repository(owner: "acme", name: "policies") { nameWithOwner stargazers_count } }'),
    ).rejects.toThrow(/Cannot query field "stargazers_count" on type "Repository"/);
    await expect(
      octokit.graphql('query($n: Int!) { repository(owner: "acme", name: "policies") { pullRequest(number: $n) { id } } }', { n: '1' }),
    ).rejects.toThrow(/Int cannot represent non-integer value: "1"/);
    await expect(octokit.graphql('query { repository(owner: "acme") { id } }')).rejects.toThrow(
      /argument "name" of type "String!" is required/,
    );
    const violations = github.takeViolations();
    expect(violations).toHaveLength(3);
    expect(violations.every((v) => v.startsWith('POST /graphql (GraphQL): '))).toBe(true);
    // A valid document the fake does not model is the fake's limit, not a violation.
    await expect(octokit.graphql('query { repository(owner: "acme", name: "policies") { stargazerCount } }')).rejects.toThrow(
      /stargazerCount/,
    );
    expect(github.violations()).toEqual([]);
    expect(github.unexpected()).toHaveLength(1);
    github.stop();
    github = new FakeGitHub().start(); // afterEach checks this one
  });

  test('the fake’s answers are shaped from the response schemas and held to them', async () => {
    fake.pushToBranch('y', { 'y.yaml': 'y\n' });
    const created = await octokit.rest.pulls.create({
      owner: 'acme',
      repo: 'policies',
      title: 'T',
      head: 'y',
      base: 'main',
    });
    // Modelled fields are the fake's; the rest of what pulls/create's schema requires says nothing.
    expect(created.data).toMatchObject({
      number: 1,
      state: 'open',
      head: { ref: 'y' },
      milestone: null,
      auto_merge: null,
      _links: { self: { href: '' } },
    });
    const description = restDescription();
    const { operation } = description.match('POST', '/repos/acme/policies/pulls')!;
    // A field of the wrong type, a missing field: what a fake that drifted would answer.
    expect(description.checkResponse(operation, 201, { ...created.data, number: '1' })).toEqual(['response.number must be integer']);
    const { title: _title, ...untitled } = created.data;
    expect(description.checkResponse(operation, 201, untitled)).toEqual(["response must have required property 'title'"]);
    expect(description.checkResponse(operation, 201, description.shapeResponse(operation, 201, untitled))).toEqual([]);
    // repos/get-content answers one of a directory (an array), a file, a symlink or a submodule.
    const listing = await octokit.rest.repos.getContent({ owner: 'acme', repo: 'policies', path: 'clusters' });
    // A field of a stated format the fake does not model says so in that format (a `.invalid` host).
    expect(listing.data).toEqual([
      expect.objectContaining({
        type: 'dir',
        name: 'other',
        path: 'clusters/other',
        _links: { self: 'https://fake-github.invalid/not-modelled', git: null, html: null },
        sha: '',
        size: 0,
      }),
      expect.objectContaining({ name: 'prod' }),
    ]);
  });

  test('the formats the description states (date-time, uri, email...) hold in the fake’s answers and webhooks', async () => {
    const description = restDescription();
    const { operation } = description.match('GET', '/repos/acme/policies/issues/1')!;
    fake.openIssue('one');
    const issue = (await octokit.rest.issues.get({ owner: 'acme', repo: 'policies', issue_number: 1 })).data;
    expect(issue).toMatchObject({
      created_at: '2026-11-22T12:00:00Z',
      html_url: 'https://github.com/acme/policies/issues/1',
      events_url: 'https://fake-github.invalid/not-modelled',
    });
    expect(description.checkResponse(operation, 200, issue)).toEqual([]);
    expect(description.checkResponse(operation, 200, { ...issue, created_at: '2026-11-22 12:00' })).toEqual([
      'response.created_at must match format "date-time"',
    ]);
    expect(description.checkResponse(operation, 200, { ...issue, html_url: 'github.com/acme/policies/issues/1' })).toEqual([
      'response.html_url must match format "uri"',
    ]);
    // Webhooks' user URLs are RFC 6570 templates (webhook-issues-opened: issue.user.following_url).
    const opened = github.takeEvents()[0]!.payload as { issue: { user: Record<string, unknown> } };
    const following = (url: string) =>
      description.webhook('issues', { ...opened, issue: { ...opened.issue, user: { ...opened.issue.user, following_url: url } } }).problems;
    expect(following('https://api.github.com/users/octocat/following{/other_user}')).toEqual([]);
    expect(following('https://api.github.com/users/octocat/following{/other_user')).toEqual([
      'issues payload.issue.user.following_url must match format "uri-template"',
    ]);
    // A bot's no-reply address (brackets and all) is an email as GitHub writes it; a name is not.
    const push = description.match('GET', '/repos/acme/policies/git/commits/x')!.operation;
    const commit = (await octokit.rest.git.getCommit({ owner: 'acme', repo: 'policies', commit_sha: fake.branchSha('main')! })).data;
    expect(description.checkResponse(push, 200, commit)).toEqual([]);
    const before = fake.branchSha('main')!;
    fake.commitToDefault({ 'b.yaml': 'b\n' });
    const pushed = description.webhook('push', { ...(fake.pushEvent('main', before).payload as Record<string, unknown>) });
    expect(pushed.problems).toEqual([]);
    const payload = pushed.payload as { commits: unknown[]; head_commit: { author: Record<string, unknown> } };
    const author = (email: string) =>
      description.webhook('push', { ...payload, head_commit: { ...payload.head_commit, author: { ...payload.head_commit.author, email } } })
        .problems;
    expect(author('41898282+github-actions[bot]@users.noreply.github.com')).toEqual([]);
    expect(author('octocat')).toEqual(['push payload.head_commit.author.email must match format "email"']);
    // Through the fake: an answer it would shape wrongly (here, an owner no GitHub account could have) fails the test.
    github.addRepository({ owner: 'ac me', name: 'odd', installationId: 7 });
    await octokit.request('GET /repos/{owner}/{repo}', { owner: 'ac me', repo: 'odd' });
    expect(github.takeViolations()).toEqual([
      expect.stringMatching(
        /^the fake's 200 answer to GET \/repos\/ac%20me\/odd \(GET \/repos\/\{owner\}\/\{repo\}, repos\/get\): response\.(owner\.)?(html_)?url must match format "uri"$/,
      ),
    ]);
  });

  test('request bodies are held to their schema at every depth: nested formats and closed objects are refused, nested unknown fields reported', async () => {
    const untyped = (route: string, parameters: Record<string, unknown>) => octokit.request(route, parameters);
    const { commitSha, treeSha } = { commitSha: fake.branchSha('main')!, treeSha: fake.commit(fake.branchSha('main')!).tree };
    const commit = { owner: 'acme', repo: 'policies', message: 'm', tree: treeSha, parents: [commitSha] };
    // git/create-commit's author.date is a date-time.
    expect(
      await statusOf(
        untyped('POST /repos/{owner}/{repo}/git/commits', { ...commit, author: { name: 'a', email: 'a@example.com', date: 'yesterday' } }),
      ),
    ).toBe(422);
    // issues/create's issue_field_values items are closed objects (additionalProperties: false).
    expect(
      await statusOf(
        untyped('POST /repos/{owner}/{repo}/issues', {
          owner: 'acme',
          repo: 'policies',
          title: 'T',
          issue_field_values: [{ field_id: 1, value: 'x', colour: 'red' }],
        }),
      ),
    ).toBe(422);
    // issues/list-for-repo's `since` is a date-time.
    expect(await statusOf(untyped('GET /repos/{owner}/{repo}/issues', { owner: 'acme', repo: 'policies', since: 'last week' }))).toBe(422);
    expect(fake.issues()).toEqual([]);
    // An unknown field inside an open nested object (author, a tree entry) is ignored by GitHub: served, and a violation.
    await untyped('POST /repos/{owner}/{repo}/git/commits', { ...commit, author: { name: 'a', email: 'a@example.com', when: 'now' } });
    await untyped('POST /repos/{owner}/{repo}/git/trees', {
      owner: 'acme',
      repo: 'policies',
      tree: [{ path: 'a.yaml', mode: '100644', type: 'blob', content: 'a\n', executable: false }],
    });
    expect(github.takeViolations()).toEqual([
      'POST /repos/acme/policies/git/commits (POST /repos/{owner}/{repo}/git/commits, git/create-commit): body.author.date must match format "date-time"',
      "POST /repos/acme/policies/issues (POST /repos/{owner}/{repo}/issues, issues/create): body.issue_field_values.0 must NOT have additional properties ('colour')",
      'GET /repos/acme/policies/issues?since=last%20week (GET /repos/{owner}/{repo}/issues, issues/list-for-repo): query parameter since must match format "date-time"',
      "POST /repos/acme/policies/git/commits (POST /repos/{owner}/{repo}/git/commits, git/create-commit): body.author.when is not a field of this operation's body (GitHub ignores it)",
      "POST /repos/acme/policies/git/trees (POST /repos/{owner}/{repo}/git/trees, git/create-tree): body.tree[0].executable is not a field of this operation's body (GitHub ignores it)",
    ]);
  });

  test('GraphQL answers are shaped by graphql-js from GitHub’s schema and held to it: non-null fields, enums, scalars', async () => {
    const sha = fake.branchSha('main')!;
    const answer = await octokit.graphql<{
      repository: { defaultBranchRef: { target: { __typename: string; oid: string; committedDate: string } }; url: string };
    }>(
      `query { repository(owner: "acme", name: "policies") { url defaultBranchRef { target { __typename ...on Commit { oid committedDate } } } } }`,
    );
    expect(answer.repository).toEqual({
      url: 'https://github.com/acme/policies',
      defaultBranchRef: { target: { __typename: 'Commit', oid: sha, committedDate: '2026-11-22T12:00:00Z' } },
    });
    // What the fake's model answers goes through the same checks: an answer GitHub could not give fails the test.
    const schema = graphqlDescription();
    // (Each under its own nullable root, as a null non-null field nulls its parent and what it holds.)
    const { document } = schema.check(
      'query { a: repository(owner: "a", name: "b") { name } b: repository(owner: "a", name: "b") { url } c: repository(owner: "a", name: "b") { isPrivate } d: repository(owner: "a", name: "b") { pullRequest(number: 1) { state } } e: repository(owner: "a", name: "b") { defaultBranchRef { target { oid } } } f: repository(owner: "a", name: "b") { pullRequest(number: 1) { number } } }',
      {},
    );
    const drifted: Record<string, unknown> = {
      name: null,
      url: 'acme/policies',
      isPrivate: 1,
      state: 'DRAFTED',
      oid: 'abc123',
      number: '1',
    };
    const result = schema.execute(document!, undefined, {}, (_type, _source, field) =>
      field === 'repository'
        ? { __typename: 'Repository' }
        : field === 'pullRequest'
          ? { __typename: 'PullRequest' }
          : field === 'defaultBranchRef'
            ? { __typename: 'Ref' }
            : field === 'target'
              ? { __typename: 'Commit' }
              : drifted[field],
    );
    expect(result.errors?.map((e) => e.message)).toEqual([
      'Cannot return null for non-nullable field Repository.name.',
      'URI cannot represent the value "acme/policies"',
      'Boolean cannot represent 1 (a number)',
      'Enum "PullRequestState" cannot represent value: "DRAFTED"',
      'GitObjectID cannot represent the value "abc123"',
      // graphql-js would answer true and 1: a fake answering 1 and "1" has drifted all the same.
      'Int cannot represent "1" (a string)',
    ]);
    // Through the fake: a model value out of its scalar's form (an owner no GitHub account could have) is a violation.
    github.addRepository({ owner: 'ac me', name: 'odd', installationId: 7 });
    await expect(octokit.graphql('query { repository(owner: "ac me", name: "odd") { url } }')).rejects.toThrow(
      /URI cannot represent the value "https:\/\/github.com\/ac me\/odd"/,
    );
    expect(github.takeViolations()).toEqual([
      'the fake\'s answer to POST /graphql (GraphQL repository.url): URI cannot represent the value "https://github.com/ac me/odd"',
    ]);
    // And what a client sends in a custom scalar is held to it: a short object ID, a ref that is not fully qualified.
    await expect(octokit.graphql('query { repository(owner: "acme", name: "policies") { object(oid: "abc123") { id } } }')).rejects.toThrow(
      /GitObjectID cannot represent the literal "abc123"/,
    );
    await expect(
      octokit.graphql('mutation($input: UpdateRefsInput!) { updateRefs(input: $input) { clientMutationId } }', {
        input: { repositoryId: fake.nodeId, refUpdates: [{ name: 'main', afterOid: sha }] },
      }),
    ).rejects.toThrow(/GitRefname cannot represent the value "main"/);
    expect(github.takeViolations()).toHaveLength(2);
  });

  test('webhook payloads are shaped from and held to GitHub’s description of the event (x-webhooks)', () => {
    fake.openIssue('one', 'body', ['a']);
    const [opened, labeled] = github.takeEvents();
    // Modelled: the issue; from the description (webhook-issues-labeled): what the fake does not model.
    expect(labeled!.payload).toMatchObject({
      action: 'labeled',
      issue: { number: 1, title: 'one', labels: [{ name: 'a', default: false }], active_lock_reason: null },
      repository: { archived: false, fork: false },
    });
    const description = restDescription();
    // What the fake gives is held to the schema: a field of the wrong type.
    const payload = opened!.payload as Record<string, Record<string, unknown>>;
    expect(description.webhook('issues', { ...payload, issue: { ...payload['issue'], number: 'one' } }).problems).toEqual([
      'issues payload.issue.number must be integer',
    ]);
    expect(description.webhook('issues', { action: 'tickled' }).problems).toEqual(['GitHub describes no webhook webhook-issues-tickled']);
  });

  test('webhooks can be delivered concurrently and twice, with the same delivery id', async () => {
    fake.openIssue('one');
    fake.comment(1, 'hello');
    let inFlight = 0;
    let most = 0;
    const received: string[] = [];
    const probot = {
      receive: async (event: { id: string; name: string }) => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        received.push(`${event.id} ${event.name}`);
        inFlight--;
      },
    };
    const delivered = await github.deliver(probot, { concurrent: true, twice: true });
    expect(delivered).toHaveLength(4);
    expect(most).toBe(4);
    expect(received.sort()).toEqual([
      'fake-delivery-1 issues',
      'fake-delivery-1 issues',
      'fake-delivery-2 issue_comment',
      'fake-delivery-2 issue_comment',
    ]);
  });

  test('atEveryRequest(): people act between every two requests of a run, each case in a fresh world', async () => {
    github.stop();
    const cases: string[] = [];
    const requests = await atEveryRequest({
      start: async () => {
        setUp();
        return { github, fake, octokit, seen: [] as string[] };
      },
      // A "run" of three reads of the default branch.
      run: async (w) => {
        for (let i = 0; i < 3; i++)
          w.seen.push((await w.octokit.rest.repos.getBranch({ owner: 'acme', repo: 'policies', branch: 'main' })).data.commit.sha);
      },
      act: (w) => void w.fake.commitToDefault({ 'person.md': 'a person\n' }),
      check: (w, c) => {
        const before = w.fake.log('main')[1]!.sha;
        const after = w.fake.branchSha('main')!;
        // Reads before the request index see the old head, from it on the person's commit.
        expect(w.seen).toEqual([0, 1, 2].map((i) => (i < c.index ? before : after)));
        cases.push(`${c.index} ${c.request.method} ${c.request.path}`);
      },
      stop: async (w) => w.github.stop(),
    });
    expect(requests).toHaveLength(3);
    expect(cases).toEqual([0, 1, 2].map((i) => `${i} GET /repos/acme/policies/branches/main`));
    github = new FakeGitHub().start(); // afterEach checks this one
  });
});

describe('the Probot app against the fake', () => {
  let dir: string;
  let flows: string;
  let privateKey: string;
  let clusterTemplate: Record<string, string> = {};
  beforeAll(async () => {
    clusterTemplate = Object.fromEntries([...(await loadTree(TEMPLATE_DIR))].map(([path, text]) => [`clusters/prod/${path}`, text]));
    dir = await mkdtemp(join(tmpdir(), 'fake-github-'));
    flows = join(dir, 'yaobank.log');
    await writeFlowFile(flows, { scenario: 'yaobank', records: 200, endTime: END_TIME, seed: 1 });
    privateKey = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let stopApp: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stopApp?.();
    stopApp = undefined;
  });

  /** The real app in Probot, against `github`; errors it logs are collected. */
  async function startApp(now: () => number = () => END_TIME) {
    const probot = new Probot({ appId: 1, privateKey, Octokit: AppOctokit, logLevel: 'fatal' });
    const { app, scheduler } = policyRecommenderApp({
      scheduleDefaults: { schedule: '0 */2 * * *', timezone: 'UTC' },
      openFlowSource: async () => FileFlowSource.open([flows]),
      template: await loadTree(TEMPLATE_DIR),
      engineVersion: 'test',
      now,
      scheduleOnLoad: false,
    });
    await probot.load(app);
    const errors: unknown[] = [];
    for (const level of ['error', 'warn'] as const) {
      jest.spyOn(probot.log, level).mockImplementation((...args: unknown[]) => {
        errors.push([level, ...args]);
      });
    }
    stopApp = () => scheduler().stop();
    return { probot, scheduler: scheduler(), errors };
  }

  function configured(): FakeRepository {
    github = new FakeGitHub({ now: () => END_TIME }).start();
    return github.addRepository({
      owner: 'acme',
      name: 'policies',
      installationId: 7,
      // The cluster's tree as policies-template/clusters/example/ starts it (tiers, default deny).
      files: { 'README.md': '# Policies\n', [CONFIG_PATH]: 'clusters:\n  - name: prod\n    path: clusters/prod\n', ...clusterTemplate },
    });
  }

  test('a run opens a draft PR for yaobank and creates the dashboard issue', async () => {
    const policies = configured();
    const { scheduler, errors } = await startApp();

    await scheduler.request(policies.key(), 'test');
    expect(errors).toEqual([]);

    const branch = branchName('prod', 'yaobank');
    expect(branch).toBe('policy-recommender/prod/yaobank');
    const prs = policies.pullRequests();
    expect(prs).toHaveLength(1);
    const pr = prs[0]!;
    expect(pr).toMatchObject({ state: 'open', draft: true, head: branch, base: 'main', user: 'policy-recommender[bot]' });
    expect(pr.labels).toEqual([RECOMMENDATION_LABEL, 'Learning']);
    expect(pr.headSha).toBe(policies.branchSha(branch));
    // One commit on top of the default branch, with the policy only: the directory layout lists nothing.
    expect(policies.commit(pr.headSha).parents).toEqual([policies.branchSha('main')]);
    const files = policies.changedFiles(pr.number);
    expect(files.get('clusters/prod/namespace-isolation/yaobank.yaml')).toMatch(/kind: StagedNetworkPolicy[\s\S]*namespace: yaobank/);
    expect([...files.keys()]).toEqual(['clusters/prod/namespace-isolation/yaobank.yaml']);
    expect(policies.file(branch, 'README.md')).toBe('# Policies\n');

    const dashboards = policies.issues({ label: DASHBOARD_LABEL });
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]).toMatchObject({ title: DASHBOARD_TITLE, state: 'open', user: 'policy-recommender[bot]' });
    expect(dashboards[0]!.body).toContain(DASHBOARD_MARKER);
    expect(dashboards[0]!.body).toMatch(new RegExp(`\\| \`yaobank\` \\| Learning \\| #${pr.number} \\|`));

    // One installation token; every request used it.
    expect(github.tokensIssued()).toBe(1);
    const requests = github.requests();
    expect(requests[0]).toMatchObject({ method: 'POST', path: '/app/installations/7/access_tokens', status: 201 });
    expect(requests.slice(1).every((r) => r.installationId === 7)).toBe(true);

    // A second run with nothing new changes nothing and stays cheap.
    github.resetRequests();
    const before = policies.pullRequests();
    await scheduler.request(policies.key(), 'again');
    expect(errors).toEqual([]);
    expect(policies.pullRequests()).toEqual(before);
    // Not even the dashboard is rewritten: only its run-by-run facts would change.
    const writes = github.requests().filter((r) => r.method !== 'GET' && r.path !== '/graphql');
    expect(writes.map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(github.requests().length).toBeLessThanOrEqual(12);
  });

  test('GitHub’s webhooks drive dismissal, re-creation, rebase and merge', async () => {
    const policies = configured();
    const { probot, scheduler, errors } = await startApp();
    const branch = branchName('prod', 'yaobank');
    const dashboard = () => policies.issues({ label: DASHBOARD_LABEL })[0]!;
    await scheduler.request(policies.key(), 'first');
    // The events of the App's own changes come back to it, and it ignores them.
    expect(github.events().map(eventName)).toEqual(
      expect.arrayContaining(['push', 'pull_request.opened', 'pull_request.labeled', 'issues.opened']),
    );
    github.resetRequests();
    await github.deliver(probot);
    expect(github.requests().filter((r) => r.path !== '/app/installations/7/access_tokens')).toEqual([]);

    // A person closes the PR: the App says so once and deletes the branch; it stays dismissed.
    policies.closePullRequest(1);
    await github.deliver(probot);
    expect(policies.comments(1).map((c) => c.body)).toEqual([expect.stringMatching(/^Dismissed: /)]);
    expect(policies.branchSha(branch)).toBeUndefined();
    await scheduler.request(policies.key(), 'second');
    expect(policies.pullRequests({ state: 'open' })).toEqual([]);
    expect(dashboard().body).toMatch(/\| `yaobank` \| Dismissed \|/);

    // Ticking its box on the dashboard proposes it again.
    policies.editIssueBody(dashboard().number, (b) =>
      b.replace('- [ ] <!-- policy-recommender:recreate prod/yaobank', '- [x] <!-- policy-recommender:recreate prod/yaobank'),
    );
    await github.deliver(probot);
    const [again] = policies.pullRequests({ state: 'open' });
    expect(again).toMatchObject({ head: branch, draft: true, labels: [RECOMMENDATION_LABEL, 'Learning'] });
    expect(dashboard().body).toMatch(new RegExp(`\\| \`yaobank\` \\| Learning \\| #${again!.number} \\|`));
    expect(dashboard().body).not.toContain('recreate prod/yaobank');

    // "/policy-recommender rebase": the App records the command and asks for a run, and that run
    // regenerates the branch (as the rebase label has a run do; no label is added to ask for it).
    policies.comment(again!.number, '/policy-recommender rebase');
    github.resetRequests();
    const delivered = await github.deliver(probot);
    expect(delivered.map(eventName)).toEqual(expect.arrayContaining(['issue_comment.created']));
    expect(delivered.map(eventName)).not.toContain('pull_request.labeled');
    expect(policies.labels(again!.number)).toEqual([RECOMMENDATION_LABEL, 'Learning']);
    // Regenerated: the same files on the same parent at the same (fake) time is the same commit.
    expect(methods()).toContain('POST /graphql updateRefs.clientMutationId 200');
    expect(policies.pullRequest(again!.number).headSha).toBe(policies.branchSha(branch));

    // Merged: the namespace is accepted, and the run after the merge deletes the branch (the
    // merge's events ask for that run once their burst has settled).
    policies.markReadyForReview(again!.number);
    policies.mergePullRequest(again!.number);
    await github.deliver(probot);
    expect(policies.file('main', 'clusters/prod/namespace-isolation/yaobank.yaml')).toContain('yaobank-recommendation');
    await scheduler.request(policies.key(), 'after merge');
    expect(policies.branchSha(branch)).toBeUndefined();
    expect(dashboard().body).toMatch(/\| `yaobank` \| Accepted \|/);
    expect(policies.pullRequests({ state: 'open' })).toEqual([]);
    expect(errors).toEqual([]);
  });

  // The two tests below fail on src/app bugs (reported): a PR the App closes as obsolete
  // ("A new pull request is opened when there is something to propose again", apply.ts) is then treated as if a
  // person had dismissed it.
  async function closedAsObsolete() {
    const policies = configured();
    const app = await startApp();
    await app.scheduler.request(policies.key(), 'first');
    await github.deliver(app.probot);
    // A person applies the proposal on main by hand: the App closes its PR as obsolete.
    policies.commitToDefault(policies.changedFiles(1), 'applied by hand');
    await app.scheduler.request(policies.key(), 'second');
    expect(policies.pullRequest(1).state).toBe('closed');
    expect(policies.pullRequest(1).body).toContain('A new pull request is opened when there is something to propose again');
    return { policies, ...app };
  }

  test('the App’s own close (as obsolete) does not get a "Dismissed" comment', async () => {
    const { policies, probot } = await closedAsObsolete();
    const [closed] = github.events().filter((e) => eventName(e) === 'pull_request.closed');
    expect((closed!.payload as { sender: { type: string } }).sender.type).toBe('Bot');
    await github.deliver(probot);
    expect(policies.comments(1).filter((c) => /^Dismissed/.test(c.body))).toEqual([]);
  });

  test('a namespace whose PR was closed as obsolete gets a new PR when it needs one again', async () => {
    const { policies, scheduler, errors } = await closedAsObsolete();
    // The policy leaves main again: the namespace needs a PR again.
    policies.commitToDefault({ 'clusters/prod/namespace-isolation/yaobank.yaml': null }, 'drop the policy');
    await scheduler.request(policies.key(), 'third');
    expect(errors).toEqual([]);
    expect(policies.issues({ label: DASHBOARD_LABEL })[0]!.body).not.toMatch(/\| `yaobank` \| Dismissed \|/);
    expect(policies.pullRequests({ state: 'open' })).toMatchObject([{ head: branchName('prod', 'yaobank') }]);
  });
});
