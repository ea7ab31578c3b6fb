// Webhooks only enqueue (issue 15, point 6): a handler records what its event alone can tell and
// asks for a run; the run, holding the repository's run lock, observes what GitHub shows and
// converges (src/app/run/inbox.ts, decide.ts decideClosed, apply.ts tidyClosed). Each test checks
// that no request reaches GitHub outside a run's hold of the lock, and that what the handlers once
// did themselves (say a dismissal, tidy after a merge, label for a rebase, restore a dashboard
// box) is done once, by the run, however often the event arrives, and also when it never does.

import { afterEach, describe, expect, test } from '@jest/globals';
import { DASHBOARD_LABEL } from '../../src/app/render/dashboard.ts';
import { FLOW_WINDOW_OVERLAP } from '../../src/app/run/run-repository.ts';
import { REBASE_LABEL, RECOMMENDATION_LABEL } from '../../src/app/state/pull-request-state.ts';
import type { RunLock } from '../../src/cluster/run-lock.ts';
import { branchName } from '../../src/plan/lifecycle/unit-key.ts';
import type { WebhookEvent } from '../support/fake-github.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, CONFIG, HOUR, stopClean } from './support/app-harness.ts';

useNock();

let h: AppHarness;
afterEach(() => stopClean(h));

const SHOP = branchName('prod', 'shop');
const WEB = branchName('prod', 'web');
const SHOP_FILE = 'clusters/prod/namespace-isolation/shop.yaml';
const shop = { namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432 } as const;
const web = { namespace: 'web', direction: 'ingress', peer: 'pub', port: 443 } as const;
const DISMISSED = /^Dismissed: policy-recommender will not propose namespace `shop`/;

/**
 * A run lock in this process (as the Lease is across replicas: src/cluster/run-lock.ts) that a
 * test can keep taken, and that records which of GitHub's requests were made while a run held it.
 */
class TestLock implements RunLock {
  harness: AppHarness | undefined;
  /** [first, end) of the fake GitHub's request log, per hold. */
  readonly spans: [number, number][] = [];
  #taken: Promise<void> = Promise.resolve();
  holds = 0;

  async hold<T>(_repository: string, signal: AbortSignal, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    await this.#taken;
    const from = this.harness!.github.requests().length;
    this.holds++;
    try {
      return await run(signal);
    } finally {
      this.spans.push([from, this.harness!.github.requests().length]);
    }
  }

  /** Takes the lock (another replica's run); returns what releases it. */
  take(): () => void {
    let release!: () => void;
    this.#taken = new Promise((resolve) => (release = resolve));
    return release;
  }

  /** Requests to GitHub (the fake's log from `from` on) made while no run held the lock. */
  outside(from: number): string[] {
    return this.harness!.github.requests()
      .map((r, i) => ({ r, i }))
      .filter(({ i }) => i >= from && !this.spans.some(([a, b]) => i >= a && i < b))
      .map(({ r }) => `${r.method} ${r.path}`);
  }
}

async function started(lock = new TestLock()): Promise<TestLock> {
  h = await AppHarness.start({ runLock: lock });
  lock.harness = h;
  // Before the window a run reads again (FLOW_WINDOW_OVERLAP): a run asked for at the same moment
  // as the last one reads no flow twice, so what it writes depends only on what happened.
  h.seenAgo = FLOW_WINDOW_OVERLAP + 15 * 60;
  await h.see(shop, web);
  await h.run('first');
  await h.deliver();
  return lock;
}

const prFor = (branch: string) => h.repo.pullRequestFor(branch)!;
const dismissals = (n: number) => h.repo.comments(n).filter((c) => DISMISSED.test(c.body));
/** The events GitHub queued since the last take, of one kind. */
const taken = (name: string, action?: string): WebhookEvent[] =>
  h.github.takeEvents().filter((e) => e.name === name && (action === undefined || (e.payload as { action?: string }).action === action));

describe('a dismissal', () => {
  test('delivered again (under another id, to another replica): said once, the branch gone, nothing more written', async () => {
    const lock = await started();
    const pr = prFor(SHOP);
    h.github.takeEvents();
    h.repo.closePullRequest(pr.number);
    const [closed] = taken('pull_request', 'closed');
    const from = h.github.requests().length;
    await h.receive(closed!);
    expect(dismissals(pr.number)).toHaveLength(1);
    expect(h.repo.branchSha(SHOP)).toBeUndefined();
    expect(lock.outside(from)).toEqual([]);
    await h.deliver();

    h.github.resetRequests();
    lock.spans.length = 0;
    await h.receive({ ...closed!, id: 'redelivered-1' } as WebhookEvent);
    expect(h.writes()).toEqual([]);
    // A replica that never listed the PRs (its listing is cold: it sees no close in it) follows the record.
    const other = await h.replica();
    await other.receive({ ...closed!, id: 'redelivered-2' } as WebhookEvent);
    expect(other.errors).toEqual([]);
    expect(h.writes()).toEqual([]);
    expect(h.repo.comments(pr.number)).toHaveLength(1);
  });

  test('made while a run holds the lock: the handler waits for it, and the run after it says it', async () => {
    const lock = await started();
    const pr = prFor(SHOP);
    h.github.takeEvents();
    h.repo.closePullRequest(pr.number);
    const [closed] = taken('pull_request', 'closed');
    const release = lock.take();
    const from = h.github.requests().length;
    const holdsBefore = lock.holds;
    const handled = h.receive(closed!);
    // Nothing is done outside the lock: no request, no comment, the branch still there.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.github.requests().length).toBe(from);
    expect(h.repo.comments(pr.number)).toEqual([]);
    expect(h.repo.branchSha(SHOP)).toBeDefined();
    release();
    await handled;
    expect(lock.holds).toBe(holdsBefore + 1);
    expect(dismissals(pr.number)).toHaveLength(1);
    expect(h.repo.branchSha(SHOP)).toBeUndefined();
    expect(lock.outside(from)).toEqual([]);
  });

  test('whose webhook was lost: the next run sees the close in what was updated since, says it once and deletes the branch', async () => {
    await started();
    const pr = prFor(SHOP);
    h.repo.closePullRequest(pr.number);
    h.github.takeEvents(); // never delivered
    h.now += HOUR;
    h.github.resetRequests();
    await h.run('scheduled');
    expect(dismissals(pr.number)).toHaveLength(1);
    expect(h.repo.branchSha(SHOP)).toBeUndefined();
    // Not from a listing of every pull request: from the one page of those updated since.
    expect(h.github.requests().filter((r) => r.graphql === 'repository' && r.variables && 'cursor' in r.variables)).toHaveLength(1);
    h.now += HOUR;
    h.github.resetRequests();
    await h.run('next');
    expect(h.writes()).toEqual([]);
    expect(h.repo.comments(pr.number)).toHaveLength(1);
  });
});

describe('a merge', () => {
  test('whose webhook was lost: the next run takes the status label off (a label a person added stays) and deletes the branch', async () => {
    await started();
    const pr = prFor(SHOP);
    h.repo.addLabel(pr.number, 'security-reviewed');
    h.repo.markReadyForReview(pr.number);
    h.repo.mergePullRequest(pr.number);
    h.github.takeEvents(); // never delivered
    expect(h.repo.branchSha(SHOP)).toBeDefined();
    h.now += HOUR;
    h.github.resetRequests();
    await h.run('scheduled');
    expect([...h.repo.pullRequest(pr.number).labels].sort()).toEqual([RECOMMENDATION_LABEL, 'security-reviewed']);
    // One request per status label (DELETE .../issues/{n}/labels/{name}), never the set replaced.
    expect(h.writes().filter((w) => w.includes(`/issues/${pr.number}/labels`))).toEqual([
      `DELETE /repos/acme/policies/issues/${pr.number}/labels/Learning`,
    ]);
    expect(h.repo.branchSha(SHOP)).toBeUndefined();
    expect(h.repo.comments(pr.number)).toEqual([]);
  });

  test('delivered twice: tidied once', async () => {
    const lock = await started();
    const pr = prFor(SHOP);
    h.repo.markReadyForReview(pr.number);
    h.github.takeEvents();
    h.repo.mergePullRequest(pr.number);
    const [closed] = taken('pull_request', 'closed');
    const from = h.github.requests().length;
    await Promise.all([h.receive(closed!), h.receive({ ...closed!, id: 'again' } as WebhookEvent)]);
    expect(lock.outside(from)).toEqual([]);
    expect(h.repo.pullRequest(pr.number).labels).toEqual([RECOMMENDATION_LABEL]);
    expect(h.repo.branchSha(SHOP)).toBeUndefined();
    const deletes = h.github
      .requests()
      .slice(from)
      .filter((r) => r.method === 'DELETE' || r.graphql === 'updateRefs');
    expect(deletes.map((r) => `${r.method} ${r.path}${r.graphql ? ` ${r.graphql}` : ''}`)).toEqual([
      `DELETE /repos/acme/policies/issues/${pr.number}/labels/Learning`,
      'POST /graphql updateRefs',
    ]);
  });
});

describe('the rebase command', () => {
  test('regenerates an edited PR in the run it asks for; the same command again changes nothing', async () => {
    const lock = await started();
    const pr = prFor(SHOP);
    const theirs = h.repo.file(SHOP, SHOP_FILE)!.replace('spec:\n', 'spec:\n  # hand-tuned\n');
    h.repo.pushToBranch(SHOP, { [SHOP_FILE]: theirs }, 'tune');
    h.now += HOUR;
    await h.see({ ...shop, peer: 'ns:cache', port: 6379 });
    await h.run('edited');
    expect(h.dashboard()).toMatch(/\| `shop` \| Edited \|/);
    await h.deliver();

    h.repo.comment(pr.number, '/policy-recommender rebase');
    const [command] = taken('issue_comment');
    const from = h.github.requests().length;
    await h.receive(command!);
    expect(lock.outside(from)).toEqual([]);
    expect(h.repo.file(SHOP, SHOP_FILE)).not.toContain('# hand-tuned');
    expect(h.repo.file(SHOP, SHOP_FILE)).toContain("projectcalico.org/name == 'cache'");
    expect(h.repo.log(SHOP)).toHaveLength(h.repo.log('main').length + 1);
    expect(prFor(SHOP).labels).not.toContain(REBASE_LABEL);
    // The label was never needed: the run served the command itself.
    expect(
      h.github
        .requests()
        .slice(from)
        .filter((r) => r.path.includes('/labels')),
    ).toEqual([]);
    expect(h.dashboard()).toMatch(/\| `shop` \| Learning \|/);
    await h.deliver();

    const head = h.repo.branchSha(SHOP);
    h.github.resetRequests();
    await h.receive({ ...command!, id: 'redelivered' } as WebhookEvent);
    expect(h.writes()).toEqual([]);
    expect(h.repo.branchSha(SHOP)).toBe(head);
  });
});

describe('a tick a bot write overwrote', () => {
  const RECREATE_WEB = '<!-- policy-recommender:recreate prod/web -->';

  test('is put back by the run its webhook asks for, under the run lock, and served', async () => {
    const lock = await started();
    h.repo.closePullRequest(prFor(WEB).number);
    await h.deliver();
    h.now += HOUR;
    await h.see({ ...web, port: 8443 });
    await h.run('web seen again');
    expect(h.dashboard()).toContain(`- [ ] ${RECREATE_WEB}`);
    await h.deliver();

    // A person ticks web's box between the run's re-read of the dashboard and its write.
    const dashboard = h.repo.issues({ label: DASHBOARD_LABEL })[0]!.number;
    h.now += HOUR;
    await h.see({ ...shop, port: 6379 });
    h.github.failNext({
      method: 'PATCH',
      pathRegex: new RegExp(`/issues/${dashboard}$`),
      kind: 'pass',
      before: () => h.repo.editIssueBody(dashboard, (b) => b.replace(`- [ ] ${RECREATE_WEB}`, `- [x] ${RECREATE_WEB}`)),
    });
    await h.run('a person ticks during the write');
    expect(h.github.pendingFaults()).toBe(0);
    // Overwritten: the write did not know of the tick.
    expect(h.dashboard()).toContain(`- [ ] ${RECREATE_WEB}`);
    expect(prFor(WEB).state).toBe('closed');

    const from = h.github.requests().length;
    const holds = lock.holds;
    await h.deliver();
    expect(lock.outside(from)).toEqual([]);
    expect(lock.holds).toBeGreaterThan(holds);
    expect(h.infos.some((m) => m.includes(`the dashboard #${dashboard}: put back prod/web`))).toBe(true);
    // Served by that run: web is proposed again, and its box is unticked as served.
    expect(prFor(WEB).state).toBe('open');
    expect(h.dashboard()).not.toContain(RECREATE_WEB);
  });
});

describe('a configuration that is not valid', () => {
  test('a dismissal is still said (it needs no configuration)', async () => {
    await started();
    const pr = prFor(SHOP);
    h.repo.commitToDefault({ '.github/policy-recommender.yml': `${CONFIG}\nschedule: [` }, 'break it');
    h.repo.closePullRequest(pr.number);
    await h.deliver();
    expect(h.dashboard()).toContain('configuration');
    expect(dismissals(pr.number)).toHaveLength(1);
    expect(h.repo.branchSha(SHOP)).toBeUndefined();
  });
});
