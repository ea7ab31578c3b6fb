// Every lifecycle path of a recommendation PR, through the real App (Probot, Octokit) against the
// fake GitHub: each test is a history of runs, people's actions and webhooks.

import { afterEach, describe, expect, test } from '@jest/globals';
import { text } from '../../src/app/render/markdown.ts';
import { decodeState, REBASE_LABEL, RECOMMENDATION_LABEL } from '../../src/app/state/pull-request-state.ts';
import { CONFIG_PATH } from '../../src/config/repository-config.ts';
import { formatTime } from '../../src/engine/provenance.ts';
import { branchName, branchOf } from '../../src/plan/lifecycle/unit-key.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, CONFIG, HOUR, stopClean } from './support/app-harness.ts';

useNock();

let h: AppHarness;
afterEach(() => stopClean(h));

const SHOP = 'clusters/prod/namespace-isolation/shop.yaml';
const shopBranch = branchName('prod', 'shop');
const dns = { namespace: 'shop', direction: 'egress', peer: 'ns:kube-system', port: 53, proto: 'udp' } as const;
const db = { namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432 } as const;
const web = { namespace: 'web', direction: 'ingress', peer: 'pub', port: 443 } as const;

async function started(): Promise<AppHarness> {
  h = await AppHarness.start();
  await h.see(dns, db, web);
  await h.run('first');
  return h;
}

const openPrs = () => h.repo.pullRequests({ state: 'open' });
const prFor = (branch: string) => h.repo.pullRequestFor(branch)!;

describe('a recommendation PR from first run to enforcement-ready', () => {
  test('first run: one draft PR per namespace, labelled Learning, one commit on the default branch, and the dashboard', async () => {
    await started();
    const prs = openPrs();
    expect(prs.map((p) => [p.head, p.draft, p.labels])).toEqual([
      [shopBranch, true, [RECOMMENDATION_LABEL, 'Learning']],
      [branchName('prod', 'web'), true, [RECOMMENDATION_LABEL, 'Learning']],
    ]);
    const pr = prFor(shopBranch);
    expect(pr.title).toBe('Network policy for namespace shop (cluster prod)');
    expect(h.repo.commit(pr.headSha).parents).toEqual([h.repo.branchSha('main')]);
    expect(h.repo.file(shopBranch, SHOP)).toMatch(/namespace: shop[\s\S]*ports:\n\s+- 5432/);
    // The body explains merge and close, lists the rules with evidence, graphs the peers.
    expect(pr.body).toContain('**Merge** to accept it');
    expect(pr.body).toContain('**Close** to dismiss it');
    expect(pr.body).toContain(`| Allow egress TCP 5432 | ${text('pods of namespace db')} | 1 |`);
    expect(pr.body).toContain('```mermaid');
    expect(decodeState(pr.body)).toMatchObject({ cluster: 'prod', namespace: 'shop', commit: pr.headSha });
    expect(h.dashboard()).toMatch(new RegExp(`\\| \`shop\` \\| Learning \\| #${pr.number} \\|`));
  });

  test('an unchanged run writes nothing, not even the dashboard (only its run-by-run facts would change)', async () => {
    await started();
    const dashboard = h.dashboard();
    h.now += HOUR;
    h.github.resetRequests();
    await h.run('second');
    expect(h.writes()).toEqual([]);
    expect(h.dashboard()).toBe(dashboard);
  });

  test('new traffic rebuilds the branch: one commit on the current default head, rule added, other PRs untouched', async () => {
    await started();
    const before = prFor(branchName('prod', 'web')).headSha;
    h.repo.commitToDefault({ 'docs/notes.md': 'moved on\n' }, 'unrelated change');
    h.now += HOUR;
    await h.see({ namespace: 'shop', direction: 'egress', peer: 'ns:cache', port: 6379 });
    await h.run('new traffic');
    const pr = prFor(shopBranch);
    expect(h.repo.commit(pr.headSha).parents).toEqual([h.repo.branchSha('main')]);
    expect(h.repo.file(shopBranch, SHOP)).toContain("projectcalico.org/name == 'cache'");
    expect(pr.body).toMatch(new RegExp(`\\| Allow egress TCP 6379 \\| ${escapeRegExp(text('pods of namespace cache'))} \\|.* yes \\|`));
    expect(pr.draft).toBe(true);
    expect(prFor(branchName('prod', 'web')).headSha).toBe(before);
  });

  test('stabilised: marked ready for review and labelled Stable', async () => {
    await started();
    h.now += 4 * HOUR; // more than the stabilization period (3h)
    await h.run('later');
    const pr = prFor(shopBranch);
    expect(pr.draft).toBe(false);
    expect(pr.labels).toEqual([RECOMMENDATION_LABEL, 'Stable']);
    expect(pr.body).toContain('**Status: Ready for review.**');
    expect(h.dashboard()).toMatch(/\| `shop` \| Ready for review \|/);
  });

  test('a repository without drafts: the status label stands in, and it converges', async () => {
    h = await AppHarness.start();
    h.repo.configure({ draftPullRequests: false });
    await h.see(dns);
    await h.run('first');
    expect(prFor(shopBranch)).toMatchObject({ draft: false, labels: [RECOMMENDATION_LABEL, 'Learning'] });
    h.github.resetRequests();
    h.now += HOUR;
    await h.run('again');
    expect(h.writes()).toEqual([]);
    h.now += 4 * HOUR;
    await h.run('stable');
    expect(prFor(shopBranch).labels).toEqual([RECOMMENDATION_LABEL, 'Stable']);
  });
});

describe('merge, close, reopen', () => {
  test('merged: accepted, no PR; new traffic later: an update PR editing the merged file in place', async () => {
    await started();
    const pr = prFor(shopBranch);
    h.repo.markReadyForReview(pr.number);
    h.repo.mergePullRequest(pr.number);
    await h.deliver();
    // A person annotates the accepted policy on the default branch.
    const merged = h.repo.file('main', SHOP)!;
    h.repo.commitToDefault({ [SHOP]: merged.replace('spec:\n', 'spec:\n  # Reviewed by the shop team.\n') }, 'note');
    await h.run('after merge');
    expect(openPrs().map((p) => p.head)).toEqual([branchName('prod', 'web')]);
    expect(h.dashboard()).toMatch(/\| `shop` \| Accepted \|/);

    h.now += HOUR;
    await h.see({ namespace: 'shop', direction: 'egress', peer: 'pub', port: 443 });
    await h.run('new traffic');
    const update = prFor(shopBranch);
    expect(update.number).not.toBe(pr.number);
    expect(update.title).toBe('Update network policy for namespace shop (cluster prod)');
    const file = h.repo.file(shopBranch, SHOP)!;
    expect(file).toContain('# Reviewed by the shop team.');
    expect(file).toContain("projectcalico.org/name == 'db'");
    expect(file).toMatch(/ports:\n\s+- 443/);
  });

  test('accepted: dated at the merge, not at the run that saw it; its row links the merged PR, which lost its status labels', async () => {
    await started();
    const pr = prFor(shopBranch);
    h.now += 4 * HOUR;
    await h.run('stable');
    expect(prFor(shopBranch).labels).toContain('Stable');
    h.repo.markReadyForReview(pr.number);
    h.repo.mergePullRequest(pr.number);
    const mergedAt = h.now;
    await h.deliver();
    // The merge's webhook takes the status label off (DELETE .../issues/{n}/labels/{name}); people's labels stay.
    expect(prFor(shopBranch).labels).toEqual([RECOMMENDATION_LABEL]);
    h.now += 3 * HOUR;
    await h.run('after merge');
    expect(h.dashboard()).toMatch(new RegExp(`\\| \`shop\` \\| Accepted \\| #${pr.number} \\|`));
    expect(h.dashboard()).toContain(text(`merged ${formatTime(mergedAt)}; would have denied nothing since`));
    // Runs after keep both.
    h.now += HOUR;
    await h.run('later');
    expect(h.dashboard()).toMatch(new RegExp(`\\| \`shop\` \\| Accepted \\| #${pr.number} \\|`));
    expect(h.dashboard()).toContain(text(`merged ${formatTime(mergedAt)};`));
  });

  test('a merge whose webhook was missed: the next run dates it at the merge and takes the status label off', async () => {
    await started();
    const pr = prFor(shopBranch);
    h.repo.markReadyForReview(pr.number);
    h.repo.mergePullRequest(pr.number);
    const mergedAt = h.now;
    h.github.takeEvents(); // never delivered
    expect(prFor(shopBranch).labels).toContain('Learning');
    h.now += HOUR;
    await h.run('after merge');
    expect(prFor(shopBranch).labels).toEqual([RECOMMENDATION_LABEL]);
    expect(h.dashboard()).toContain(text(`merged ${formatTime(mergedAt)};`));
  });

  test('afterMerge: stop — no update PRs once accepted', async () => {
    h = await AppHarness.start({ config: `${CONFIG}\nafterMerge: stop\n` });
    await h.see(dns);
    await h.run('first');
    h.repo.markReadyForReview(prFor(shopBranch).number);
    h.repo.mergePullRequest(prFor(shopBranch).number);
    await h.deliver();
    h.now += HOUR;
    await h.see(db);
    await h.run('new traffic');
    expect(openPrs()).toEqual([]);
    expect(h.dashboard()).toMatch(/\| `shop` \| Accepted \|/);
  });

  test('closed: dismissed — one comment, branch deleted, never proposed again; reopening resumes it', async () => {
    await started();
    const pr = prFor(shopBranch);
    h.repo.closePullRequest(pr.number);
    await h.deliver();
    expect(h.repo.comments(pr.number).map((c) => c.body)).toEqual([expect.stringMatching(/^Dismissed: .*restore the branch and reopen/)]);
    expect(h.repo.branchSha(shopBranch)).toBeUndefined();
    for (let i = 0; i < 2; i++) {
      h.now += HOUR;
      await h.see({ namespace: 'shop', direction: 'egress', peer: 'ns:cache', port: 6379 });
      await h.run(`after close ${i}`);
      expect(openPrs().map((p) => p.head)).toEqual([branchName('prod', 'web')]);
      expect(h.dashboard()).toMatch(/\| `shop` \| Dismissed \|/);
    }
    // A person changes their mind: restore the branch, reopen.
    h.repo.restoreBranch(pr.number);
    h.repo.reopenPullRequest(pr.number);
    await h.deliver();
    const resumed = prFor(shopBranch);
    expect(resumed).toMatchObject({ number: pr.number, state: 'open' });
    expect(h.repo.file(shopBranch, SHOP)).toContain("projectcalico.org/name == 'cache'");
    expect(h.dashboard()).toMatch(new RegExp(`\\| \`shop\` \\| Learning \\| #${pr.number} \\|`));
    // Closing again does not repeat the comment.
    h.repo.closePullRequest(pr.number);
    await h.deliver();
    expect(h.repo.comments(pr.number).filter((c) => c.body.startsWith('Dismissed'))).toHaveLength(1);
  });
});

describe('dismissals a webhook missed', () => {
  test('the next run says it once and deletes the branch; the namespace stays listed as dismissed while it is quiet', async () => {
    await started();
    const pr = prFor(shopBranch);
    h.repo.closePullRequest(pr.number);
    h.github.takeEvents(); // the webhook never arrived (or its handler failed)
    expect(h.repo.branchSha(shopBranch)).toBeDefined();
    h.now += HOUR;
    await h.see({ namespace: 'shop', direction: 'egress', peer: 'ns:cache', port: 6379 });
    await h.run('after a missed webhook');
    expect(h.repo.comments(pr.number).map((c) => c.body)).toEqual([
      expect.stringMatching(/^Dismissed: policy-recommender will not propose namespace `shop`/),
    ]);
    expect(h.repo.branchSha(shopBranch)).toBeUndefined();
    for (let i = 0; i < 3; i++) {
      h.now += HOUR;
      await h.run(`quiet ${i}`);
      expect(h.dashboard()).toMatch(/\| `shop` \| Dismissed \|/);
      expect(h.dashboard()).toContain('<!-- policy-recommender:recreate prod/shop -->');
    }
    expect(h.repo.comments(pr.number)).toHaveLength(1);
  });
});

describe('people win', () => {
  test("a person's commit stops updates, said once; the rebase label regenerates and comes off", async () => {
    await started();
    const pr = prFor(shopBranch);
    const theirs = h.repo.file(shopBranch, SHOP)!.replace('spec:\n', 'spec:\n  # hand-tuned\n');
    h.repo.pushToBranch(shopBranch, { [SHOP]: theirs }, 'tune');
    for (let i = 0; i < 2; i++) {
      h.now += HOUR;
      await h.see({ namespace: 'shop', direction: 'egress', peer: 'ns:cache', port: 6379 });
      await h.run(`after edit ${i}`);
    }
    expect(h.repo.file(shopBranch, SHOP)).toBe(theirs);
    expect(h.repo.comments(pr.number).map((c) => c.body)).toEqual([expect.stringMatching(/^Someone else changed this branch/)]);
    expect(h.dashboard()).toMatch(/\| `shop` \| Edited \|/);

    h.repo.addLabel(pr.number, REBASE_LABEL);
    await h.deliver();
    const after = prFor(shopBranch);
    expect(h.repo.log(shopBranch)).toHaveLength(h.repo.log('main').length + 1);
    expect(h.repo.file(shopBranch, SHOP)).not.toContain('# hand-tuned');
    expect(h.repo.file(shopBranch, SHOP)).toContain("projectcalico.org/name == 'cache'");
    expect(after.labels).not.toContain(REBASE_LABEL);
    expect(h.dashboard()).toMatch(/\| `shop` \| Learning \|/);
  });

  test('a rebase asked for when this run read no traffic of the namespace closes the PR and says why', async () => {
    await started();
    const pr = prFor(shopBranch);
    // A day later, its traffic older than the lookback (24h): the PR keeps its policies (its state
    // is the memory), until a rebase sets them aside and rebuilds from the flows this run reads.
    h.now += 25 * HOUR;
    await h.run('a day later');
    expect(prFor(shopBranch).state).toBe('open');
    h.repo.addLabel(pr.number, REBASE_LABEL);
    await h.deliver();
    const closed = prFor(shopBranch);
    expect(closed.state).toBe('closed');
    // Not "already on the default branch": the default branch has no policy for shop.
    expect(h.repo.file('main', SHOP)).toBeUndefined();
    expect(closed.body).toMatch(
      /^> \*\*Closed by policy-recommender:\*\* a rebase was asked for, and rebuilt from the flows this run read \(the policies it proposed set aside\) it adds nothing to the default branch: no traffic beyond what the default branch allows was seen\./,
    );
    expect(h.dashboard()).toMatch(/\| `shop` \| Closed as obsolete \|/);
  });

  test('labels people add to a PR stay', async () => {
    await started();
    const pr = prFor(shopBranch);
    h.repo.addLabel(pr.number, 'needs-security-review');
    h.now += 4 * HOUR;
    await h.run('stable');
    expect([...prFor(shopBranch).labels].sort()).toEqual([RECOMMENDATION_LABEL, 'Stable', 'needs-security-review'].sort());
  });

  test('the comment command runs now', async () => {
    await started();
    h.now += HOUR;
    await h.see({ namespace: 'shop', direction: 'egress', peer: 'ns:cache', port: 6379 });
    h.repo.comment(prFor(shopBranch).number, '/policy-recommender run');
    await h.deliver();
    expect(h.repo.file(shopBranch, SHOP)).toContain("projectcalico.org/name == 'cache'");
  });

  test('ticking "Run now" on the dashboard runs', async () => {
    await started();
    h.now += HOUR;
    await h.see({ namespace: 'shop', direction: 'egress', peer: 'ns:cache', port: 6379 });
    const issue = h.repo.issues()[0]!;
    h.repo.editIssueBody(issue.number, (b) => b.replace('- [ ] <!-- policy-recommender:run -->', '- [x] <!-- policy-recommender:run -->'));
    await h.deliver();
    expect(h.repo.file(shopBranch, SHOP)).toContain("projectcalico.org/name == 'cache'");
    expect(h.dashboard()).toContain('- [ ] <!-- policy-recommender:run -->');
  });
});

describe('retirement, configuration, limits', () => {
  test('a namespace deleted from the cluster: its PR is closed as obsolete (not a dismissal)', async () => {
    h = await AppHarness.start();
    h.namespaces = ['shop', 'web'];
    await h.see(dns, web);
    await h.run('first');
    h.namespaces = ['web'];
    h.now += HOUR;
    await h.run('after delete');
    const pr = h.repo.pullRequests().find((p) => p.head === shopBranch)!;
    expect(pr.state).toBe('closed');
    expect(pr.body).toMatch(/Closed by policy-recommender:\*\* the namespace no longer exists in the cluster/);
    expect(h.repo.branchSha(shopBranch)).toBeUndefined();
    await h.deliver();
    expect(h.repo.comments(pr.number)).toEqual([]);
    // If it comes back, it is proposed again.
    h.namespaces = ['shop', 'web'];
    h.now += HOUR;
    await h.see(dns);
    await h.run('back');
    expect(prFor(shopBranch)).toMatchObject({ state: 'open' });
  });

  test('an invalid configuration is reported on the dashboard with key paths; nothing else happens', async () => {
    h = await AppHarness.start({ config: 'clusters:\n  - name: Prod\n    path: ../x\nmaxRules: many\n' });
    await h.see(dns);
    await h.run('first');
    expect(h.repo.pullRequests()).toEqual([]);
    expect(h.repo.branches()).toEqual(['main']);
    const dashboard = h.dashboard();
    expect(dashboard).toContain('## Configuration errors');
    expect(dashboard).toContain('`clusters.0.name`: a cluster name is a DNS label');
    expect(dashboard).toContain('`clusters.0.path`: must be a relative path inside the repository');
    expect(dashboard).toContain('`maxRules`:');
    // Fixing it makes the next run work.
    h.repo.commitToDefault({ [CONFIG_PATH]: CONFIG }, 'fix config');
    await h.deliver();
    expect(openPrs()).toHaveLength(1);
    expect(h.dashboard()).not.toContain('Configuration errors');
  });

  test('PR limits: hourly and concurrent; the rest wait on the dashboard', async () => {
    h = await AppHarness.start({
      config: 'clusters:\n  - name: prod\n    path: clusters/prod\npullRequests:\n  hourlyLimit: 2\n  concurrentLimit: 3\n',
    });
    await h.see(
      ...['a1', 'a2', 'a3', 'a4', 'a5'].map((namespace) => ({ namespace, direction: 'egress' as const, peer: 'pub', port: 443 })),
    );
    await h.run('first');
    expect(openPrs().map((p) => p.head)).toEqual([branchName('prod', 'a1'), branchName('prod', 'a2')]);
    expect(h.dashboard()).toMatch(/\| `a3` \| Awaiting PR limits \|/);
    // Which limit holds it is said beside it.
    expect(h.dashboard()).toMatch(
      new RegExp(
        `\\| Awaiting PR limits \\|  \\| [^|]* \\| ${escapeRegExp(text('pullRequests.hourlyLimit (2) holds it back: 2 pull requests were opened in the last hour'))} \\|`,
      ),
    );
    const learned = formatTime(h.now);
    h.now += 30 * 60;
    await h.run('same hour');
    expect(openPrs()).toHaveLength(2);
    // Held back, its rules keep the time they really changed, not the time of each run.
    expect(h.dashboard()).toMatch(new RegExp(`\\| \`a3\` \\| Awaiting PR limits \\|  \\| ${learned} \\|`));
    h.now += HOUR;
    await h.run('next hour');
    expect(openPrs()).toHaveLength(3); // concurrent limit
    // Opened at last: its PR says the same (and its file carries it).
    const a3 = prFor(branchName('prod', 'a3'));
    expect(a3.body).toContain(`Its rules last changed at ${learned}.`);
    // And its rules are new to its reviewers, as when it was first proposed.
    expect(a3.body).toMatch(/\| 1 \| Allow egress TCP 443 \| .* \| yes \|/);
    expect(h.repo.file(branchName('prod', 'a3'), 'clusters/prod/namespace-isolation/a3.yaml')).toContain(`last-updated: "${learned}"`);
    expect(h.dashboard()).toContain(text('pullRequests.concurrentLimit (3) holds it back: 3 recommendation pull requests are open'));
    h.repo.markReadyForReview(openPrs()[0]!.number);
    h.repo.mergePullRequest(openPrs()[0]!.number);
    await h.deliver();
    h.now += HOUR;
    await h.run('after a merge');
    expect(openPrs()).toHaveLength(3);
  });
});
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('a cluster tree without the cluster-wide files', () => {
  test('one bootstrap PR adds them, says why, and is not held by the PR limits; the namespace PRs add only their own files', async () => {
    h = await AppHarness.start({ clusterTree: 'empty', config: `${CONFIG.replace('concurrentLimit: 0', 'concurrentLimit: 1')}` });
    await h.see(dns, web);
    await h.run('first');
    const bootstrap = prFor(branchOf({ kind: 'bootstrap', cluster: 'prod' }));
    expect(bootstrap).toMatchObject({
      title: 'Cluster-wide policy files: tiers and a staged default deny (cluster prod)',
      draft: false,
      labels: [RECOMMENDATION_LABEL, 'Stable'],
    });
    expect([...h.repo.changedFiles(bootstrap.number).keys()]).toEqual([
      'clusters/prod/global-default-deny.yaml',
      'clusters/prod/tiers.yaml',
    ]);
    expect(bootstrap.body).toContain('Calico refuses a policy whose tier does not exist');
    expect(bootstrap.body).toContain('**Merge this one first**');
    // concurrentLimit 1: the bootstrap PR does not count, one namespace PR is opened.
    expect(openPrs().map((p) => p.head)).toEqual([bootstrap.head, shopBranch]);
    expect([...h.repo.changedFiles(prFor(shopBranch).number).keys()]).toEqual([SHOP]);

    // Merged: no bootstrap PR any more, and the namespace PR keeps its commit.
    const head = prFor(shopBranch).headSha;
    h.repo.mergePullRequest(bootstrap.number);
    await h.run('after the bootstrap merge');
    expect(openPrs().map((p) => p.head)).toEqual([shopBranch]);
    expect(prFor(shopBranch).headSha).toBe(head);
  });
});
