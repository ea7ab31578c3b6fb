// Regressions for defects the fault-injection and hostile-input suites found (test/reliability/,
// test/hostile/rendering.test.ts), each as the smallest history that showed it.

import { afterEach, describe, expect, test } from '@jest/globals';
import { code, text, timestamp } from '../../src/app/render/markdown.ts';
import { decodeState } from '../../src/app/state/pull-request-state.ts';
import { branchName } from '../../src/plan/lifecycle/unit-key.ts';
import { KUSTOMIZE_LAYOUT } from '../support/engine.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, HOUR } from './support/app-harness.ts';

useNock();

let h: AppHarness | undefined;
afterEach(async () => {
  if (h === undefined) return;
  expect(h.github.unexpected()).toEqual([]);
  await h.stop();
  h = undefined;
});

const KUSTOMIZATION = 'clusters/prod/namespace-isolation/kustomization.yaml';
const api = branchName('prod', 'api');
const shop = branchName('prod', 'shop');

describe('the App', () => {
  test('an open PR keeps its kustomization entry when it is rebuilt after another PR was merged (kustomize layout)', async () => {
    // A tree of the earlier releases' template: the namespace policies are listed.
    const files = Object.fromEntries([...KUSTOMIZE_LAYOUT].map(([path, text]) => [`clusters/prod/${path}`, text]));
    h = await AppHarness.start({ files });
    await h.see(
      { namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432 },
      { namespace: 'api', direction: 'egress', peer: 'pub', port: 443 },
    );
    await h.run('first');
    const merged = h.repo.pullRequestFor(shop)!;
    h.repo.markReadyForReview(merged.number);
    h.repo.mergePullRequest(merged.number);
    await h.deliver();
    // Nothing new for api: its policy file (the PR's memory) is unchanged, but the default
    // branch's kustomization now lists shop only. Before the fix, the rebuilt PR dropped api.yaml
    // from the kustomization, so merging it would have added a policy nothing applies.
    for (let i = 0; i < 2; i++) {
      h.now += HOUR;
      await h.run(`after the merge ${i}`);
      expect(h.repo.file(api, KUSTOMIZATION)).toMatch(/resources: \[api\.yaml, shop\.yaml\]/);
    }
  });

  test('a branch move that failed is resumed with the recorded commit, and its flows are counted once', async () => {
    h = await AppHarness.start();
    await h.see({ namespace: 'api', direction: 'egress', peer: 'pub', port: 443 });
    await h.run('first');
    h.now += HOUR;
    await h.see({ namespace: 'api', direction: 'egress', peer: 'ns:db', port: 5432 });
    h.github.failNext({ graphql: 'updateRefs', status: 500 });
    await h.run('branch move fails');
    const recorded = decodeState(h.repo.pullRequestFor(api)!.body)!;
    expect(h.repo.branchSha(api)).toBe(recorded.previous);
    h.github.resetRequests();
    await h.run('resumed');
    expect(h.repo.branchSha(api)).toBe(recorded.commit);
    // Only the move: no new commit, no body rewrite.
    expect(h.writes()).toEqual(['POST /graphql updateRefs', expect.stringMatching(/^PATCH \/repos\/acme\/policies\/issues\/\d+$/)]);
    expect(h.repo.pullRequestFor(api)!.body).toContain(`| Allow egress TCP 5432 | ${text('pods of namespace db')} | 1 |`);
  });

  test("with Probot's retries, a comment whose response was lost is not posted twice", async () => {
    h = await AppHarness.start({ retries: true });
    await h.see({ namespace: 'api', direction: 'egress', peer: 'pub', port: 443 });
    await h.run('first');
    const pr = h.repo.pullRequestFor(api)!;
    h.repo.pushToBranch(api, { 'clusters/prod/notes.md': 'mine\n' }, 'a person');
    h.github.failNext({ method: 'POST', pathRegex: /\/comments$/, status: 502, body: '<html>502 Bad Gateway</html>', afterApply: true });
    h.now += HOUR;
    await h.run('edited');
    await h.run('again');
    expect(h.repo.comments(pr.number).map((c) => c.body)).toEqual([expect.stringMatching(/^Someone else changed this branch/)]);
  });
});

describe('rendering', () => {
  test('an empty value is no code span (two backticks would pair with the next ones)', () => {
    expect(code('')).toBe('');
    expect(`${code('')} ${code('@octocat')}`).toBe(' `@octocat`');
  });

  test('a value holding an HTML comment is escaped text, not a code span with a raw marker in it', () => {
    expect(code('<!-- policy-recommender:pr x -->')).toBe(text('<!-- policy-recommender:pr x -->'));
    expect(code('<!-- policy-recommender:pr x -->')).not.toContain('<!--');
  });

  test('mentions and issue references are broken for GitHub (which finds them after backslash escapes are gone)', () => {
    expect(text('@octocat fixes #12')).toBe('@&#8203;octocat fixes \\#&#8203;12');
  });

  test('a last-updated annotation someone edited is shown as text', () => {
    expect(timestamp('2026-11-22T12:00:00Z')).toBe('2026-11-22T12:00:00Z');
    expect(timestamp('[x](https://evil.example) @octocat')).toBe(text('[x](https://evil.example) @octocat'));
  });
});
