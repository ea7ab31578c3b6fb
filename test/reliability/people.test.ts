// People act during a run. In the scripted history (scenario.ts), while run 3 is in progress (an
// edited branch, an update after a merge, a PR stabilised; the web PR dismissed in run 2), one
// person's decision is made when a request of the run arrives at GitHub, before GitHub applies it
// (the fake's `before` fault: "a person acting between"), at every request of the run in turn:
// ticking a dismissed namespace's box, ticking "Run now", commenting `/policy-recommender run`,
// adding their own label to a PR, adding the rebase label to the PR whose branch they edited, or
// closing a PR. Then GitHub's webhooks are delivered (with the runs they ask for) and one
// scheduled run follows, as in production. Every decision must have taken effect: none is lost.
//
// GitHub's issue update (`PATCH /repos/{owner}/{repo}/issues/{issue_number}`, operation
// issues/update in @octokit/openapi's api.github.com.json) takes no precondition (no If-Match,
// no expected body), nor does GraphQL's `updateIssue` (UpdateIssueInput in
// @octokit/graphql-schema's schema.graphql): the dashboard is re-read right before it is
// written, and a tick that falls between that read and the write reaches the next run through
// its webhook.
//
// `npm test` tries the first request and each that reads or writes an issue or its labels;
// `npm run reliability` every request.

import { afterAll, describe, expect, test } from '@jest/globals';
import { DASHBOARD_LABEL, dashboardRequests } from '../../src/app/render/dashboard.ts';
import { isDismissal, REBASE_LABEL } from '../../src/app/state/pull-request-state.ts';
import { branchName } from '../../src/plan/lifecycle/unit-key.ts';
import { type AppHarness, HOUR } from '../app/support/app-harness.ts';
import { useNock } from '../support/nock-scope.ts';
import { duplicates, type RecordedRequest, replay, STEPS } from './scenario.ts';
import { report, sized } from './size.ts';

useNock();

const RUN = 2;
const WEB = branchName('prod', 'web');
const API = branchName('prod', 'api');
const CACHE = branchName('prod', 'cache');
const OWN_LABEL = 'security-reviewed';
const NOTES = 'clusters/prod/notes.md';

const dashboard = (h: AppHarness) => h.repo.issues({ label: DASHBOARD_LABEL, state: 'open' })[0]!;
const tick = (h: AppHarness, box: string) => h.repo.editIssueBody(dashboard(h).number, (b) => b.replace(`- [ ] ${box}`, `- [x] ${box}`));
/** Whether a run read the dashboard after request `from` of the log (before the scheduled run). */
const readAfter = (requests: readonly RecordedRequest[], from: number) =>
  requests.slice(from).some((r) => r.method === 'GET' && r.path === '/repos/acme/policies/issues');

interface Action {
  readonly name: string;
  /** What happens after run 2 and before run 3's own preparation, for this action to have a target. */
  readonly setup?: (h: AppHarness) => Promise<void>;
  readonly act: (h: AppHarness) => void;
  /** What is wrong after the settling runs (empty: the decision took effect). */
  readonly check: (h: AppHarness, requestsUntilScheduled: readonly RecordedRequest[], actedAt: number) => string[];
}

const ACTIONS: readonly Action[] = [
  {
    name: 'ticks the box of the dismissed namespace web',
    // New traffic for web after its dismissal: the dashboard lists it as dismissed, with its box
    // (and keeps what was seen, to propose it from when the box is ticked).
    setup: async (h) => {
      await h.deliver();
      h.now += HOUR;
      await h.see({ namespace: 'web', direction: 'ingress', peer: 'ns:shop', port: 8080 });
      await h.run('web seen again');
      if (!dashboard(h).body.includes('- [ ] <!-- policy-recommender:recreate prod/web -->')) throw new Error('web has no box to tick');
    },
    act: (h) => tick(h, '<!-- policy-recommender:recreate prod/web -->'),
    check: (h) =>
      h.repo.pullRequestFor(WEB)?.state === 'open' ? [] : [`web has no open PR (its latest is ${h.repo.pullRequestFor(WEB)?.state})`],
  },
  {
    name: 'ticks "Run now"',
    act: (h) => tick(h, '<!-- policy-recommender:run -->'),
    check: (h, requests, at) => [
      ...(readAfter(requests, at) ? [] : ['no run read the dashboard after the tick']),
      ...(dashboardRequests(dashboard(h).body).run ? ['"Run now" is still ticked after runs served it'] : []),
    ],
  },
  {
    name: 'comments /policy-recommender run on the dashboard',
    act: (h) => void h.repo.comment(dashboard(h).number, '/policy-recommender run'),
    check: (_h, requests, at) => (readAfter(requests, at) ? [] : ['no run read the dashboard after the comment']),
  },
  {
    name: 'adds their own label to the api PR',
    act: (h) => h.repo.addLabel(h.repo.pullRequestFor(API)!.number, OWN_LABEL),
    check: (h) => (h.repo.pullRequestFor(API)!.labels.includes(OWN_LABEL) ? [] : [`the api PR lost the label ${OWN_LABEL}`]),
  },
  {
    name: 'adds the rebase label to the cache PR (whose branch they edited)',
    act: (h) => h.repo.addLabel(h.repo.pullRequestFor(CACHE)!.number, REBASE_LABEL),
    // Regenerated, their edit discarded: here nothing is left to propose (cache's rules are on the
    // default branch since shop's merge), so the bot closes it as obsolete.
    check: (h) => {
      const pr = h.repo.pullRequestFor(CACHE)!;
      if (pr.state === 'open') {
        return [
          ...(h.repo.tree(CACHE).has(NOTES) ? ['the cache branch still has their edit'] : []),
          ...(pr.labels.includes(REBASE_LABEL) ? ['the rebase label is still there'] : []),
        ];
      }
      return pr.state === 'closed' && !isDismissal(pr) && h.repo.branchSha(CACHE) === undefined
        ? []
        : [`the cache PR is ${pr.state}${isDismissal(pr) ? ', not by the bot' : ''}`];
    },
  },
  {
    name: 'closes the api PR (a dismissal)',
    act: (h) => h.repo.closePullRequest(h.repo.pullRequestFor(API)!.number),
    check: (h) => {
      const pr = h.repo.pullRequestFor(API)!;
      return [
        ...(pr.state === 'closed' && isDismissal(pr) ? [] : [`the api PR is ${pr.state}${pr.state === 'closed' ? ', as obsolete' : ''}`]),
        ...(h.repo.comments(pr.number).some((c) => /^Dismissed: /.test(c.body)) ? [] : ['no one said it is dismissed']),
      ];
    },
  },
];

/** The history to run 3, `act` when request `index` of its run arrives, then webhooks and one scheduled run. */
async function during(action: Action, index: number | null): Promise<{ hit: boolean; problems: string[]; requests: RecordedRequest[] }> {
  const h = await replay(RUN);
  try {
    await action.setup?.(h);
    await STEPS[RUN]!.prepare(h);
    h.github.resetRequests();
    let actedAt = -1;
    const act = () => {
      actedAt = h.github.requests().length;
      action.act(h);
    };
    if (index === null) act();
    else h.github.failNext({ skip: index, kind: 'pass', before: act });
    await h.run(`${STEPS[RUN]!.name} (people acting)`);
    const requests = [...h.github.requests()];
    const hit = h.github.pendingFaults() === 0;
    await h.deliver();
    const untilScheduled = [...h.github.requests()];
    h.now += HOUR;
    await h.run('scheduled');
    await h.deliver();
    return { hit, problems: [...action.check(h, untilScheduled, actedAt), ...duplicates(h)], requests };
  } finally {
    await h.stop();
  }
}

/** Every request (1), or every n-th and those that read or write the dashboard or labels. */
const EVERY = sized(Infinity, 1);
/** The requests run 3 makes when nobody acts (the same up to any action, which comes at one of them). */
const requestsOfRun = async (action: Action) => (await during({ ...action, act: () => undefined, check: () => [] }, null)).requests;
const always = (r: RecordedRequest) =>
  (r.method !== 'GET' && /\/issues\/\d+(\/labels.*)?$/.test(r.path)) || (r.method === 'GET' && /\/issues(\/\d+)?$/.test(r.path));
const tally = { cases: 0, made: 0, tookEffect: 0, lost: 0, duplicates: 0, failures: 0 };
const made = new Map<string, number>();

afterAll(() => {
  report({
    suite: 'people act during a run',
    scenarios: tally.cases,
    faults: tally.made,
    converged: tally.tookEffect,
    duplicates: tally.duplicates,
    lost: tally.lost,
    failures: tally.failures,
    note: `${tally.made} decisions made while run ${RUN + 1} was in progress (${[...made].map(([a, n]) => `${n} × ${a}`).join('; ')}), ${tally.lost} lost`,
  });
});

describe('a person’s decision made during a run is never lost', () => {
  test.each(ACTIONS.map((a) => [a.name, a] as const))('a person %s at each request of the run', async (_name, action) => {
    // Made before the run, the decision takes effect (the check can tell).
    expect((await during(action, null)).problems).toEqual([]);
    const failures: string[] = [];
    const requests = await requestsOfRun(action);
    expect(requests.length).toBeGreaterThan(15);
    for (const [index, request] of requests.entries()) {
      // Small: the first request, and those where a decision can be lost (the dashboard's, labels).
      if (index % EVERY !== 0 && !always(request)) continue;
      const got = await during(action, index);
      tally.cases++;
      if (got.hit) {
        tally.made++;
        made.set(action.name, (made.get(action.name) ?? 0) + 1);
      }
      const lost = got.problems.filter((p) => !/ open PRs for | repeated | dashboards$/.test(p));
      tally.duplicates += got.problems.length - lost.length;
      if (lost.length > 0) tally.lost++;
      else if (got.hit) tally.tookEffect++;
      if (!got.hit || got.problems.length > 0) {
        tally.failures++;
        failures.push(
          `at request ${index} (${request.method} ${request.path}${request.graphql ? ` ${request.graphql}` : ''}): ${got.hit ? '' : 'not injected; '}${got.problems.join('; ')}`,
        );
      }
    }
    expect(failures).toEqual([]);
  });
});
