// The App's view of the open pull requests (src/app/github/pull-request-views.ts), against the
// fake GitHub through the real client: after anything a person or another replica does, the
// view's answer is the whole listing's (a GitHubRepository without a view is the oracle), and a
// listing with nothing changed costs one request however many PRs are open.

import { afterEach, describe, expect, test } from '@jest/globals';
import { ProbotOctokit } from 'probot';
import { GitHubRepository, type Octokit } from '../../src/app/github/github-repository.ts';
import { foldUpdates, OVERLAP_MS, PullRequestViews } from '../../src/app/github/pull-request-views.ts';
import type { PullRequestInfo } from '../../src/app/github/repository.ts';
import { RECOMMENDATION_LABEL } from '../../src/app/state/pull-request-state.ts';
import { FakeGitHub, type FakeRepository } from '../support/fake-github.ts';
import { useNock } from '../support/nock-scope.ts';

useNock();

const TestOctokit = ProbotOctokit.defaults({ retry: { enabled: false }, throttle: { enabled: false } });
/** 2026-11-22T12:00:00Z. */
const START = 1795348800;

let github: FakeGitHub;
let fake: FakeRepository;
let now = START;

function setUp(): void {
  now = START;
  github = new FakeGitHub({ now: () => now }).start();
  fake = github.addRepository({ owner: 'acme', name: 'policies', installationId: 7, files: { 'README.md': 'hello\n' } });
}

/** A client of the repository: with a replica's views, or none (the whole listing: the oracle). */
function client(views?: PullRequestViews): GitHubRepository {
  const octokit = new TestOctokit({ auth: { token: 'test' } }) as Octokit;
  return new GitHubRepository(
    octokit,
    { owner: 'acme', name: 'policies', defaultBranch: 'main' },
    views ? { pullRequestViews: views } : {},
  );
}

function openRecommendation(i: number, labels: readonly string[] = [RECOMMENDATION_LABEL]): number {
  fake.pushToBranch(`policy-recommender/prod/team-${i}`, { [`clusters/prod/team-${i}/policy.yaml`]: `${i}\n` });
  return fake.openPullRequest({ head: `policy-recommender/prod/team-${i}`, title: `team-${i}`, body: `state ${i}`, labels, byBot: true });
}

const listings = () => github.requests().filter((r) => r.graphql === 'repository').length;

describe('the view of open pull requests', () => {
  afterEach(() => {
    github.stop();
    expect(github.unexpected()).toEqual([]);
  });

  test('after each thing a person does between two listings (even in the same second), the view lists what the whole listing does', async () => {
    setUp();
    const numbers = Array.from({ length: 8 }, (_, i) => openRecommendation(i));
    const other = openRecommendation(100, ['other']);
    now += 3600;
    const views = new PullRequestViews();
    const viewed = client(views);
    const oracle = client();
    expect(await viewed.openPullRequests(RECOMMENDATION_LABEL)).toEqual(await oracle.openPullRequests(RECOMMENDATION_LABEL));

    const [a, b, c, d, e, f] = numbers as [number, number, number, number, number, number];
    const acts: [string, () => void][] = [
      ['closes one', () => fake.closePullRequest(a)],
      ['reopens it', () => fake.reopenPullRequest(a)],
      ['merges one', () => fake.mergePullRequest(b)],
      ['edits a body', () => fake.editIssueBody(c, (body) => `${body}\nmine`)],
      ['removes the label', () => fake.removeLabel(d, RECOMMENDATION_LABEL)],
      ['puts it back', () => fake.addLabel(d, RECOMMENDATION_LABEL)],
      ['labels another PR', () => fake.addLabel(other, RECOMMENDATION_LABEL)],
      ['adds a label of theirs', () => fake.addLabel(e, 'reviewed')],
      ['pushes to a branch', () => fake.pushToBranch(`policy-recommender/prod/team-5`, { 'clusters/prod/notes.md': 'mine\n' })],
      ['marks one ready for review', () => fake.markReadyForReview(f)],
      ['converts it back to a draft', () => fake.convertToDraft(f)],
      ['deletes a branch (GitHub closes its PR)', () => fake.deleteBranch('policy-recommender/prod/team-6')],
      ['opens one', () => void openRecommendation(200)],
      ['closes the last', () => fake.closePullRequest(numbers[7]!)],
    ];
    for (const [i, [what, act]] of acts.entries()) {
      // Every other act in the second of the last listing: times are stamped to the second.
      if (i % 2 === 0) now += 60;
      act();
      expect({ what, open: await viewed.openPullRequests(RECOMMENDATION_LABEL) }).toEqual({
        what,
        open: await oracle.openPullRequests(RECOMMENDATION_LABEL),
      });
    }
  });

  test("a replica's stale view catches up with what another replica and people did since it last listed", async () => {
    setUp();
    for (let i = 0; i < 150; i++) openRecommendation(i);
    now += 3600;
    const mine = client(new PullRequestViews());
    const theirs = client(new PullRequestViews());
    await mine.openPullRequests(RECOMMENDATION_LABEL);
    now += 3600;
    // The other replica runs for hours, writing; people act too.
    const listed = await theirs.openPullRequests(RECOMMENDATION_LABEL);
    for (const pr of listed.slice(0, 120)) await theirs.updatePullRequest(pr.number, { body: `${pr.body}\nrebuilt` });
    now += 3600;
    fake.closePullRequest(listed[130]!.number);
    await theirs.removeLabel(listed[140]!.number, RECOMMENDATION_LABEL);
    now += 3600;
    github.resetRequests();
    expect(await mine.openPullRequests(RECOMMENDATION_LABEL)).toEqual(await client().openPullRequests(RECOMMENDATION_LABEL));
    // 122 PRs changed since its last listing: two pages of the catch-up, the second reaching the
    // 28 unchanged (the oracle's whole listing is two more).
    expect(listings()).toBe(2 + 2);
  });

  test.each([200, 2000])(
    '%i open PRs: a listing with nothing changed since the last is one request',
    async (n) => {
      setUp();
      for (let i = 0; i < n; i++) openRecommendation(i);
      now += 3600;
      const viewed = client(new PullRequestViews());
      github.resetRequests();
      const whole = await viewed.openPullRequests(RECOMMENDATION_LABEL);
      expect(whole).toHaveLength(n);
      expect(listings()).toBe(n / 100);
      now += 3600;
      github.resetRequests();
      expect(await viewed.openPullRequests(RECOMMENDATION_LABEL)).toEqual(whole);
      expect(listings()).toBe(1);
      expect(github.requests()[0]!.variables).toEqual({ owner: 'acme', name: 'policies', cursor: null });
    },
    300_000,
  ); // making 2,000 PRs in the fake takes a while
});

describe('foldUpdates', () => {
  const pr = (number: number, state: PullRequestInfo['state'], labels: string[]): PullRequestInfo => ({
    id: `PR_${number}`,
    number,
    state,
    url: '',
    title: '',
    body: '',
    draft: false,
    labels,
    branch: `b${number}`,
    headOid: 'a'.repeat(40),
    createdAt: '2026-11-22T12:00:00Z',
  });
  test('puts open labelled PRs in (the label matched case-insensitively), takes others out, and stops at the first not updated since', () => {
    const open = new Map([
      [1, pr(1, 'open', ['x'])],
      [2, pr(2, 'open', ['x'])],
      [3, pr(3, 'open', ['x'])],
    ]);
    const since = Date.parse('2026-11-22T12:00:00Z') - OVERLAP_MS;
    const done = foldUpdates(
      open,
      [
        { pr: pr(4, 'open', ['X']), updatedAt: '2026-11-22T13:00:00Z' },
        { pr: pr(1, 'closed', ['x']), updatedAt: '2026-11-22T12:30:00Z' },
        { pr: pr(2, 'open', ['y']), updatedAt: '2026-11-22T11:56:00Z' },
        { pr: pr(3, 'merged', ['x']), updatedAt: '2026-11-22T11:54:00Z' },
      ],
      'x',
      since,
    );
    expect(done).toBe(true);
    expect([...open.keys()].sort()).toEqual([3, 4]);
    expect(foldUpdates(open, [{ pr: pr(5, 'open', ['x']), updatedAt: 'not a time' }], 'x', since)).toBe(false);
    expect(open.has(5)).toBe(true);
  });
  test('hands the run the labelled PRs it saw closed or merged since (what the run tidies after), not others', () => {
    const open = new Map([[1, pr(1, 'open', ['x'])]]);
    const closed = new Map<number, PullRequestInfo>();
    const since = Date.parse('2026-11-22T12:00:00Z') - OVERLAP_MS;
    foldUpdates(
      open,
      [
        { pr: pr(1, 'closed', ['X']), updatedAt: '2026-11-22T13:00:00Z' },
        { pr: pr(6, 'merged', ['x', 'Stable']), updatedAt: '2026-11-22T12:40:00Z' },
        { pr: pr(7, 'closed', ['y']), updatedAt: '2026-11-22T12:30:00Z' },
        { pr: pr(8, 'open', ['y']), updatedAt: '2026-11-22T12:20:00Z' },
        { pr: pr(9, 'merged', ['x']), updatedAt: '2026-11-22T11:00:00Z' },
      ],
      'x',
      since,
      closed,
    );
    expect(open.size).toBe(0);
    expect([...closed.keys()]).toEqual([1, 6]);
  });
});

describe('PullRequestViews', () => {
  test('holds at most its byte limit, dropping the least recently used repository first', () => {
    const view = (n: number) => ({
      readAt: 0,
      open: new Map(
        Array.from({ length: n }, (_, i) => [
          i,
          {
            id: `PR_${i}`,
            number: i,
            state: 'open' as const,
            url: '',
            title: 't',
            body: 'x'.repeat(1000),
            draft: false,
            labels: [],
            branch: `b${i}`,
            headOid: 'a'.repeat(40),
            createdAt: '',
          },
        ]),
      ),
    });
    // Each PR: about 2.5 kB; 10 PRs per view, 3 views' worth of room.
    const views = new PullRequestViews(3 * 10 * 2600);
    views.set('a', view(10));
    views.set('b', view(10));
    views.set('c', view(10));
    expect(views.get('a')).toBeDefined();
    views.set('d', view(10));
    // b was the least recently used (a was read after c was set).
    expect(views.get('b')).toBeUndefined();
    expect(['a', 'c', 'd'].map((k) => views.get(k) !== undefined)).toEqual([true, true, true]);
  });
});
