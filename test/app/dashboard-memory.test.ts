// The bot's memory (the dashboard issue) is found always, and kept whole: past the first page of
// issues with its label; when a person removed its label or closed it (GitHub's issue search
// finds it; it is labelled and reopened); never replaced by a second one when that search fails;
// and when a repository has two dashboards (their memories are merged into the oldest, the other
// is closed with a comment). What each memory keeps when merged is mergeDashboardMemory's
// (src/app/state/dashboard-memory.ts).

import { afterEach, describe, expect, test } from '@jest/globals';
import {
  DASHBOARD_LABEL,
  DASHBOARD_MARKER,
  type DashboardMemory,
  decodeDashboardState,
  renderDashboard,
} from '../../src/app/render/dashboard.ts';
import { DASHBOARD_SEARCH_TERM, FLOW_WINDOW_OVERLAP } from '../../src/app/run/run-repository.ts';
import { mergeDashboardMemory } from '../../src/app/state/dashboard-memory.ts';
import { replaceMarker } from '../../src/app/state/marker.ts';
import type { ObservedAtom } from '../../src/engine/model.ts';
import { formatTime } from '../../src/engine/provenance.ts';
import { branchName } from '../../src/plan/lifecycle/unit-key.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, CONFIG, HOUR } from './support/app-harness.ts';

useNock();

let h: AppHarness;
afterEach(async () => {
  expect(h.github.unexpected()).toEqual([]);
  await h.stop();
});

const shop = { namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432 } as const;
const web = { namespace: 'web', direction: 'ingress', peer: 'pub', port: 443 } as const;
const SHOP = branchName('prod', 'shop');
const WEB = branchName('prod', 'web');
const dashboards = () => h.repo.issues({ label: DASHBOARD_LABEL, state: 'open' }).filter((i) => i.body.includes(DASHBOARD_MARKER));
/** The messages of the errors the App logged (and forgets them: they were expected). */
const loggedErrors = (): string[] => h.errors.splice(0).map((e) => (e as [string, { err?: Error }])[1]?.err?.message ?? JSON.stringify(e));
const windowOnDashboard = () => /between (\S+) and (\S+) ?:/.exec(h.dashboard())?.slice(1);

describe('the dashboard is found always', () => {
  test('past the first page of issues with its label (people label their issues too): no second dashboard, its memory kept', async () => {
    h = await AppHarness.start();
    await h.see(shop);
    await h.run('first');
    const [dashboard] = dashboards();
    const readUntil = decodeDashboardState(dashboard!.body).flowsReadUntil['prod']!;
    // Newer than the dashboard, so GitHub lists them first: 120 issues are more than a page of 100.
    for (let i = 0; i < 120; i++) h.repo.openIssue(`question ${i} about a policy`, 'why is this denied?', [DASHBOARD_LABEL]);
    h.now += HOUR;
    await h.see(web);
    await h.run('second');
    expect(dashboards().map((d) => d.number)).toEqual([dashboard!.number]);
    // The second run read on from where the first stopped (less the overlap): the memory was found.
    expect(windowOnDashboard()?.[0]).toBe(formatTime(readUntil - FLOW_WINDOW_OVERLAP));
    expect(h.dashboard()).toMatch(/\| `web` \| Learning \|/);
    expect(h.errors).toEqual([]);
  });

  /** Every issue holding the marker, in any state and with any labels. */
  const anyDashboards = () => h.repo.issues().filter((i) => i.body.includes(DASHBOARD_MARKER));
  const searches = () => h.github.requests().filter((r) => r.path === '/search/issues');

  /** A first run, shop's PR merged and a run after it: the memory holds shop's enforcement clock and a read point. */
  async function acceptedShop(): Promise<{ number: number; memory: DashboardMemory }> {
    h = await AppHarness.start();
    await h.see(shop);
    await h.run('first');
    const pr = h.repo.pullRequestFor(SHOP)!;
    if (pr.draft) h.repo.markReadyForReview(pr.number);
    h.repo.mergePullRequest(pr.number);
    await h.deliver();
    h.now += HOUR;
    await h.run('after the merge');
    const [dashboard] = dashboards();
    const memory = decodeDashboardState(dashboard!.body);
    expect(memory.accepted['prod']?.['shop']?.since).toBeDefined();
    return { number: dashboard!.number, memory };
  }

  /** The next run read on from where the memory's read point was (less the overlap), and kept shop's enforcement clock. */
  function memoryKept(before: DashboardMemory): void {
    expect(windowOnDashboard()?.[0]).toBe(formatTime(before.flowsReadUntil['prod']! - FLOW_WINDOW_OVERLAP));
    expect(decodeDashboardState(h.dashboard()).accepted['prod']?.['shop']).toEqual(before.accepted['prod']?.['shop']);
  }

  test('its label removed by a person: found by search, labelled again, its memory kept; the next runs find it by its label again', async () => {
    const { number, memory } = await acceptedShop();
    h.repo.removeLabel(number, DASHBOARD_LABEL);
    // Its webhook missed (with it, a run at once does the same: the closed case below).
    h.github.takeEvents();
    h.now += HOUR;
    await h.see(web);
    h.github.resetRequests();
    await h.run('unlabelled');
    expect(anyDashboards().map((d) => [d.number, d.state, d.labels])).toEqual([[number, 'open', [DASHBOARD_LABEL]]]);
    expect(searches()).toHaveLength(1);
    memoryKept(memory);
    expect(h.dashboard()).toMatch(/\| `web` \| Learning \|/);
    expect(h.infos).toContainEqual(expect.stringContaining(`the dashboard #${number} had lost its label`));

    // Found by its label again: no search (a run that finds its dashboard costs what it did).
    h.now += HOUR;
    h.github.resetRequests();
    await h.run('labelled');
    expect(searches()).toEqual([]);
    expect(anyDashboards().map((d) => d.number)).toEqual([number]);
    expect(h.errors).toEqual([]);
  });

  test('closed by a person (and unlabelled): reopened and labelled, its memory kept, the log says so', async () => {
    const { number, memory } = await acceptedShop();
    h.repo.removeLabel(number, DASHBOARD_LABEL);
    h.repo.closeIssue(number);
    // Its webhooks ask for a run, which puts it back.
    await h.deliver();
    expect(anyDashboards().map((d) => [d.number, d.state, d.labels])).toEqual([[number, 'open', [DASHBOARD_LABEL]]]);
    h.now += HOUR;
    await h.run('closed');
    expect(anyDashboards().map((d) => [d.number, d.state, d.labels])).toEqual([[number, 'open', [DASHBOARD_LABEL]]]);
    memoryKept(memory);
    expect(h.infos).toContainEqual(expect.stringContaining(`the dashboard #${number} was closed; reopened`));

    // Closed with its label on: the same (the label alone does not find a closed issue).
    h.repo.closeIssue(number);
    await h.deliver();
    h.now += HOUR;
    await h.run('closed again');
    expect(anyDashboards().map((d) => [d.number, d.state])).toEqual([[number, 'open']]);
    expect(decodeDashboardState(h.dashboard()).accepted['prod']?.['shop']).toEqual(memory.accepted['prod']?.['shop']);
    expect(h.errors).toEqual([]);
  });

  test('the search fails (its rate limit): the run fails saying why and opens no second dashboard; the next run finds the first', async () => {
    const { number, memory } = await acceptedShop();
    h.repo.removeLabel(number, DASHBOARD_LABEL);
    h.github.takeEvents();
    h.github.failNext({
      method: 'GET',
      pathRegex: /^\/search\/issues$/,
      status: 403,
      body: {
        message: 'API rate limit exceeded for installation ID 7.',
        documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
      },
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-resource': 'search' },
    });
    h.now += HOUR;
    h.github.resetRequests();
    await h.run('search fails');
    expect(anyDashboards().map((d) => d.number)).toEqual([number]);
    // Nothing was written: the run stopped at the lookup.
    expect(h.writes()).toEqual([]);
    expect(loggedErrors()).toEqual([
      expect.stringMatching(/searching for the dashboard failed \(API rate limit exceeded.*no new dashboard is opened/),
    ]);

    h.now += HOUR;
    await h.run('search works');
    expect(anyDashboards().map((d) => [d.number, d.state, d.labels])).toEqual([[number, 'open', [DASHBOARD_LABEL]]]);
    expect(decodeDashboardState(h.dashboard()).accepted['prod']?.['shop']).toEqual(memory.accepted['prod']?.['shop']);
    expect(decodeDashboardState(h.dashboard()).flowsReadUntil['prod']).toBeGreaterThanOrEqual(memory.flowsReadUntil['prod']!);
    expect(h.errors).toEqual([]);
  });

  test('a search that timed out (incomplete_results) fails the run too: "not found" would mean nothing', async () => {
    const { number } = await acceptedShop();
    h.repo.removeLabel(number, DASHBOARD_LABEL);
    h.github.failNext({
      method: 'GET',
      pathRegex: /^\/search\/issues$/,
      status: 200,
      body: { total_count: 0, incomplete_results: true, items: [], search_type: 'lexical' },
    });
    h.now += HOUR;
    await h.run('search timed out');
    expect(anyDashboards().map((d) => d.number)).toEqual([number]);
    expect(loggedErrors()).toEqual([
      expect.stringMatching(/searching for the dashboard failed \(GitHub's issue search timed out.*incomplete_results/),
    ]);
  });

  test('a new repository: one search, then the dashboard is created; its visible text holds the words the search looks for', async () => {
    h = await AppHarness.start();
    await h.see(shop);
    await h.run('first');
    expect(searches()).toHaveLength(1);
    expect(searches()[0]!.query['q']).toBe(`repo:acme/policies is:issue in:body "${DASHBOARD_SEARCH_TERM}"`);
    const [dashboard] = dashboards();
    // The fake's search reads only what Markdown shows (GitHub does not document more): found by it.
    h.repo.removeLabel(dashboard!.number, DASHBOARD_LABEL);
    h.now += HOUR;
    h.github.resetRequests();
    await h.run('second');
    expect(searches()).toHaveLength(1);
    expect(anyDashboards().map((d) => [d.number, d.state, d.labels])).toEqual([[dashboard!.number, 'open', [DASHBOARD_LABEL]]]);
    expect(h.errors).toEqual([]);
  });

  test('two dashboards: their memories are merged into the oldest, the other is closed once, with a comment', async () => {
    h = await AppHarness.start();
    await h.see(shop);
    await h.run('first');
    const [kept] = dashboards();
    const memory = decodeDashboardState(kept!.body);
    // A second dashboard that read less far and remembers a dismissal the first does not.
    const earlier = memory.flowsReadUntil['prod']! - 2 * HOUR;
    const other: DashboardMemory = { ...memory, flowsReadUntil: { prod: earlier }, dismissed: ['prod/legacy'], digest: '' };
    const extra = h.repo.openIssue(
      'Policy recommendations',
      renderDashboard({ lastRun: null, configErrors: [], clusters: [], state: other }),
      [DASHBOARD_LABEL],
      { byBot: true },
    );

    h.now += HOUR;
    await h.run('second');
    expect(dashboards().map((d) => d.number)).toEqual([kept!.number]);
    // The earlier read point: what the other dashboard's runs had not read is read.
    expect(windowOnDashboard()?.[0]).toBe(formatTime(earlier - FLOW_WINDOW_OVERLAP));
    expect(decodeDashboardState(h.dashboard()).dismissed).toEqual(['prod/legacy']);
    expect(h.dashboard()).toMatch(/\| `legacy` \| Dismissed \|/);
    expect(h.repo.issue(extra).state).toBe('closed');
    expect(h.repo.comments(extra).map((c) => c.body)).toEqual([expect.stringContaining(`kept in #${kept!.number}`)]);

    // Once: the next run finds one dashboard and leaves the closed one alone.
    h.now += HOUR;
    await h.see(web);
    await h.run('third');
    expect(h.repo.issue(extra).state).toBe('closed');
    expect(h.repo.comments(extra)).toHaveLength(1);

    // Found by search (a person removed the kept one's label), the one closed as merged is not
    // taken again: its memory is old (its read point would be read from again).
    const readUntil = decodeDashboardState(h.dashboard()).flowsReadUntil['prod']!;
    h.repo.removeLabel(kept!.number, DASHBOARD_LABEL);
    h.now += HOUR;
    await h.run('fourth');
    expect(dashboards().map((d) => d.number)).toEqual([kept!.number]);
    expect(windowOnDashboard()?.[0]).toBe(formatTime(readUntil - FLOW_WINDOW_OVERLAP));
    expect(h.repo.issue(extra).state).toBe('closed');
    expect(h.repo.comments(extra)).toHaveLength(1);
    expect(h.errors).toEqual([]);
  });

  test('two dashboards found by search (neither labelled, one closed): merged into the oldest, which is reopened and labelled', async () => {
    const { number, memory } = await acceptedShop();
    const other: DashboardMemory = { ...memory, dismissed: ['prod/legacy'], digest: '' };
    const extra = h.repo.openIssue(
      'Policy recommendations',
      renderDashboard({ lastRun: null, configErrors: [], clusters: [], state: other }),
      [],
      { byBot: true },
    );
    h.repo.removeLabel(number, DASHBOARD_LABEL);
    h.repo.closeIssue(number);
    await h.deliver();
    h.now += HOUR;
    await h.run('both unlabelled');
    expect(anyDashboards().map((d) => [d.number, d.state, d.labels])).toEqual([
      [number, 'open', [DASHBOARD_LABEL]],
      [extra, 'closed', []],
    ]);
    memoryKept(memory);
    expect(decodeDashboardState(h.dashboard()).dismissed).toEqual(['prod/legacy']);
    expect(h.repo.comments(extra).map((c) => c.body)).toEqual([expect.stringContaining(`kept in #${number}`)]);
    expect(h.errors).toEqual([]);
  });
});

describe('a ticked box is served once its namespace is proposed again (until then, it is remembered)', () => {
  const LIMITED = CONFIG.replace('concurrentLimit: 0', 'concurrentLimit: 1');
  const box = (ticked: boolean) => `- [${ticked ? 'x' : ' '}] <!-- policy-recommender:recreate prod/web -->`;

  /** web dismissed, shop's PR open: the one PR the limit allows. */
  async function dismissedWeb(): Promise<void> {
    h = await AppHarness.start({ config: LIMITED });
    await h.see(web);
    await h.run('first');
    h.repo.closePullRequest(h.repo.pullRequestFor(WEB)!.number);
    await h.deliver();
    h.now += HOUR;
    await h.see(shop, { ...web, port: 8443 });
    await h.run('second');
    expect(h.repo.pullRequestFor(SHOP)?.state).toBe('open');
    expect(h.dashboard()).toContain(box(false));
  }

  test('held back by the PR limit, the request is remembered; then it is proposed, from what was seen while dismissed', async () => {
    await dismissedWeb();
    h.repo.editIssueBody(dashboards()[0]!.number, (b) => b.replace(box(false), box(true)));
    h.now += HOUR;
    await h.run('ticked, but the limit holds');
    expect(h.repo.pullRequestFor(WEB)?.state).toBe('closed');
    expect(h.dashboard()).toMatch(/\| `web` \| Awaiting PR limits \|/);
    expect(decodeDashboardState(h.dashboard()).recreate).toEqual(['prod/web']);
    h.now += HOUR;
    await h.run('the limit still holds');
    expect(decodeDashboardState(h.dashboard()).recreate).toEqual(['prod/web']);
    // The limit frees up (shop merged): web is proposed again, with the traffic seen while it was dismissed.
    h.repo.markReadyForReview(h.repo.pullRequestFor(SHOP)!.number);
    h.repo.mergePullRequest(h.repo.pullRequestFor(SHOP)!.number);
    await h.deliver();
    h.now += HOUR;
    await h.run('limit free');
    expect(h.repo.pullRequestFor(WEB)?.state).toBe('open');
    expect(h.repo.file(WEB, 'clusters/prod/namespace-isolation/web.yaml')).toContain('8443');
    expect(h.dashboard()).not.toContain('recreate prod/web');
    expect(decodeDashboardState(h.dashboard()).recreate).toBeUndefined();
  });

  test('a remembered request whose box a person unticked is withdrawn', async () => {
    await dismissedWeb();
    // Remembered as asked for (a run wrote its box ticked), and the box unticked since by a person.
    const number = dashboards()[0]!.number;
    const state = decodeDashboardState(h.dashboard());
    h.repo.editIssueBody(number, (b) => replaceMarker(b, 'dashboard', { ...state, recreate: ['prod/web'] }));
    expect(h.dashboard()).toContain(box(false));
    h.now += HOUR;
    await h.run('unticked');
    // Not asked for any more: still dismissed (asked for, it would await the PR limit), and forgotten.
    expect(h.dashboard()).toMatch(/\| `web` \| Dismissed \|/);
    expect(h.dashboard()).toContain(box(false));
    expect(decodeDashboardState(h.dashboard()).recreate).toBeUndefined();
  });
  test('a remembered request whose box a person unticks while a run is in progress is withdrawn too', async () => {
    await dismissedWeb();
    // Remembered as asked for, its box ticked as runs write it.
    const number = dashboards()[0]!.number;
    const state = decodeDashboardState(h.dashboard());
    h.repo.editIssueBody(number, (b) => replaceMarker(b, 'dashboard', { ...state, recreate: ['prod/web'] }).replace(box(false), box(true)));
    h.github.takeEvents();
    h.now += HOUR;
    // Unticked once the run has read the dashboard (when it asks for the default branch's head):
    // the run read it ticked; its re-read before writing sees it unticked (run-repository.ts writeDashboard).
    h.github.failNext({
      method: 'GET',
      pathRegex: /\/branches\/main$/,
      kind: 'pass',
      before: () => h.repo.editIssueBody(number, (b) => b.replace(box(true), box(false))),
    });
    await h.run('unticked during the run');
    expect(h.github.pendingFaults()).toBe(0);
    expect(decodeDashboardState(h.dashboard()).recreate).toBeUndefined();
    expect(h.dashboard()).not.toContain(box(true));
    await h.deliver();
    h.now += HOUR;
    await h.run('after');
    expect(h.dashboard()).toMatch(/\| `web` \| Dismissed \|/);
    expect(h.dashboard()).toContain(box(false));
    expect(decodeDashboardState(h.dashboard()).recreate).toBeUndefined();
  });
});

describe('mergeDashboardMemory', () => {
  const atom = (port: number, flows: number): ObservedAtom =>
    ({
      atom: { direction: 'egress', peer: { category: 'Public' }, protocol: 'TCP', port },
      evidence: { flows, firstSeen: 100, lastSeen: 200, remoteIps: 1 },
    }) as unknown as ObservedAtom;
  const empty: DashboardMemory = { v: 1, flowsReadUntil: {}, pending: {}, pendingEndpoints: {}, accepted: {}, dismissed: [] };

  test('keeps what either remembers: the earliest read point, every pending observation, every dismissal', () => {
    const a: DashboardMemory = {
      ...empty,
      flowsReadUntil: { prod: 5000, dev: 100 },
      pending: { 'prod/shop': [atom(443, 1)] },
      dismissed: ['prod/web'],
    };
    const b: DashboardMemory = {
      ...empty,
      flowsReadUntil: { prod: 3000, stage: 7 },
      pending: { 'prod/shop': [atom(80, 2)], 'prod/api': [atom(53, 1)] },
      dismissed: ['prod/api', 'prod/web'],
    };
    const merged = mergeDashboardMemory([a, b]);
    expect(merged.flowsReadUntil).toEqual({ prod: 3000, dev: 100, stage: 7 });
    expect(merged.pending['prod/shop']!.map((o) => o.atom.port).sort()).toEqual([443, 80].sort());
    expect(Object.keys(merged.pending).sort()).toEqual(['prod/api', 'prod/shop']);
    expect(merged.dismissed).toEqual(['prod/api', 'prod/web']);
    expect(merged.digest).toBeUndefined();
  });

  test('enforcement clocks: the same accepted policy keeps its earliest start and every denial; a newer merge its own', () => {
    const a: DashboardMemory = {
      ...empty,
      accepted: { prod: { shop: { hash: 'h1', since: 1000, denied: 0 }, web: { hash: 'old', since: 10, denied: 0 } } },
    };
    const b: DashboardMemory = {
      ...empty,
      accepted: { prod: { shop: { hash: 'h1', since: 4000, denied: 2, lastDenied: 4500 }, web: { hash: 'new', since: 900, denied: 0 } } },
    };
    expect(mergeDashboardMemory([a, b]).accepted).toEqual({
      prod: { shop: { hash: 'h1', since: 1000, denied: 2, lastDenied: 4500 }, web: { hash: 'new', since: 900, denied: 0 } },
    });
    expect(mergeDashboardMemory([b, a]).accepted).toEqual(mergeDashboardMemory([a, b]).accepted);
  });

  test('the merged PR an acceptance links to is kept, from either memory', () => {
    const a: DashboardMemory = { ...empty, accepted: { prod: { shop: { hash: 'h1', since: 1000, denied: 0, pr: 7 } } } };
    const b: DashboardMemory = { ...empty, accepted: { prod: { shop: { hash: 'h1', since: 4000, denied: 0 } } } };
    expect(mergeDashboardMemory([a, b]).accepted['prod']?.['shop']).toEqual({ hash: 'h1', since: 1000, denied: 0, pr: 7 });
    expect(mergeDashboardMemory([b, a]).accepted['prod']?.['shop']).toEqual({ hash: 'h1', since: 1000, denied: 0, pr: 7 });
  });
});

// On a public repository anyone can open an issue or a pull request from a fork: neither is taken
// for the bot's own (github-repository.ts: issues the App opened; pull requests not from a fork).
describe("what outsiders write is never taken for the bot's memory or its pull requests", () => {
  test("an issue holding the dashboard's marker and a forged memory, opened before the first run: the bot opens its own", async () => {
    h = await AppHarness.start();
    const forged: DashboardMemory = {
      ...decodeDashboardState(null),
      dismissed: ['prod/shop'],
      flowsReadUntil: { prod: h.now + 100 * HOUR },
    };
    const planted = h.repo.openIssue(
      'Policy recommendations',
      renderDashboard({ lastRun: null, configErrors: [], clusters: [], state: forged }),
    );
    await h.see(shop);
    await h.run('first');
    const [dashboard] = dashboards();
    expect(dashboard!.number).not.toBe(planted);
    expect(decodeDashboardState(dashboard!.body).dismissed).toEqual([]);
    expect(h.dashboard()).toMatch(/\| `shop` \| Learning \|/);
    expect(h.repo.pullRequestFor(SHOP)).toBeDefined();
    // Left as it was: not relabelled, not reopened, not commented on.
    expect(h.repo.issue(planted).labels).toEqual([]);
    expect(h.repo.comments(planted)).toEqual([]);
  });

  test("a fork's pull request with the name of the bot's branch, closed: not a dismissal of the namespace", async () => {
    h = await AppHarness.start();
    const fork = h.repo.openPullRequest({ head: SHOP, title: 'Policy for shop', body: 'not the bot', fromFork: 'mallory' });
    h.repo.closePullRequest(fork);
    await h.see(shop);
    await h.run('first');
    const pr = h.repo.pullRequestFor(SHOP);
    expect(pr?.number).not.toBe(fork);
    expect(pr?.state).toBe('open');
    expect(decodeDashboardState(h.dashboard()).dismissed).toEqual([]);
    expect(h.errors).toEqual([]);
  });
});
