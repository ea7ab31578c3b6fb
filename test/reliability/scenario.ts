// The scripted history the fault and concurrency suites replay, a normalised snapshot of what it
// leaves on GitHub, and the fault kinds. Shared by the `npm test` size and `npm run reliability`
// (test/reliability/run.ts), which differ only in how many cases they try (see size.ts).
//
// The history: five namespaces in one cluster, four runs.
//   1. traffic for shop, web, api, batch: four draft PRs and the dashboard;
//   2. people merge shop and dismiss web; api has new traffic (its branch is rebuilt), cache
//      appears (a new PR), batch left the cluster (its PR closed as obsolete);
//   3. a person pushes to cache's branch (edited: said once); shop, accepted, has new traffic (an
//      update PR); api has been stable for the stabilization period (ready for review);
//   4. nothing new (only the dashboard is rewritten).

import { forgetBlobs } from '../../src/app/github/github-repository.ts';
import { DASHBOARD_LABEL, decodeDashboardState } from '../../src/app/render/dashboard.ts';
import { FLOW_WINDOW_OVERLAP } from '../../src/app/run/run-repository.ts';
import { branchName } from '../../src/plan/lifecycle/unit-key.ts';
import { AppHarness, type HarnessOptions, HOUR } from '../app/support/app-harness.ts';
import type { Fault, RecordedRequest } from '../support/fake-github.ts';

const NAMESPACES = ['api', 'batch', 'cache', 'shop', 'web'] as const;
const pr = (h: AppHarness, namespace: string) => h.repo.pullRequestFor(branchName('prod', namespace))!;

export interface Step {
  readonly name: string;
  /** What happens before the step's run: people's actions, webhooks, time, traffic, the cluster. */
  readonly prepare: (h: AppHarness) => Promise<void>;
}

export const STEPS: readonly Step[] = [
  {
    name: 'first run',
    prepare: async (h) => {
      h.namespaces = [...NAMESPACES];
      // Before the window a run reads again (FLOW_WINDOW_OVERLAP): what a run reads then depends
      // only on where the last dashboard write said reading stopped, not on how many runs there were.
      h.seenAgo = FLOW_WINDOW_OVERLAP + 15 * 60;
      await h.see(
        { namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432 },
        { namespace: 'web', direction: 'ingress', peer: 'pub', port: 443 },
        { namespace: 'api', direction: 'egress', peer: 'pub', port: 443 },
        { namespace: 'batch', direction: 'egress', peer: 'pvt', port: 5432 },
      );
    },
  },
  {
    name: 'merge, dismiss, new traffic, new namespace, deleted namespace',
    prepare: async (h) => {
      const shop = pr(h, 'shop');
      h.repo.markReadyForReview(shop.number);
      h.repo.mergePullRequest(shop.number);
      h.repo.closePullRequest(pr(h, 'web').number);
      await h.deliver();
      h.now += HOUR;
      await h.see(
        { namespace: 'api', direction: 'egress', peer: 'ns:db', port: 5432 },
        { namespace: 'cache', direction: 'ingress', peer: 'ns:shop', port: 6379 },
      );
      h.namespaces = NAMESPACES.filter((n) => n !== 'batch');
    },
  },
  {
    name: 'edited branch, update after merge, stabilised',
    prepare: async (h) => {
      await h.deliver();
      h.repo.pushToBranch(branchName('prod', 'cache'), { 'clusters/prod/notes.md': 'mine\n' }, 'a person');
      h.now += 4 * HOUR;
      await h.see({ namespace: 'shop', direction: 'egress', peer: 'pub', port: 443 });
    },
  },
  {
    name: 'nothing new',
    prepare: async (h) => {
      await h.deliver();
      h.now += HOUR;
    },
  },
];

/** A harness after the first `runs` steps of the history. */
export async function replay(runs: number, options: HarnessOptions = {}): Promise<AppHarness> {
  // Every history starts cold: the same requests in the same order, blob reads included.
  forgetBlobs();
  const h = await AppHarness.start(options);
  for (const step of STEPS.slice(0, runs)) {
    await step.prepare(h);
    await h.run(step.name);
  }
  return h;
}

// ------------------------------------------------------------------------------------ faults

export type FaultKind = 'http-500' | 'http-502-html' | 'connection-reset' | 'secondary-rate-limit' | 'branch-moved';
export const FAULT_KINDS: readonly FaultKind[] = ['http-500', 'http-502-html', 'connection-reset', 'secondary-rate-limit', 'branch-moved'];

const BAD_GATEWAY =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n';
const SECONDARY_LIMIT = {
  message:
    'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.',
  documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
};
export const PERSON_EDIT = { 'clusters/prod/notes.md': 'pushed while the bot was writing\n' };

/** The branch a request moves (not deletes) compare-and-swap, if it is such a request. */
export function movedBranch(r: RecordedRequest): string | null {
  if (r.graphql !== 'updateRefs') return null;
  const update = ((r.variables?.['input'] as { refUpdates?: { name: string; afterOid: string }[] } | undefined)?.refUpdates ?? [])[0];
  return update && !/^0+$/.test(update.afterOid) ? update.name.replace(/^refs\/heads\//, '') : null;
}

/**
 * The fault of a kind at the `index`-th request of a run. 500: refused before anything happens;
 * 502 with an HTML body: GitHub's proxy lost the response of a request that was carried out;
 * connection reset: no response at all, nothing carried out; secondary rate limit: 403 with
 * `retry-after`; branch moved: a person pushes to the branch between the run's read and its
 * ref update (only where the request is a ref update).
 */
export function faultAt(kind: FaultKind, index: number, h: AppHarness, request: RecordedRequest): Fault | null {
  switch (kind) {
    case 'http-500':
      return { skip: index, status: 500 };
    case 'http-502-html':
      return { skip: index, status: 502, body: BAD_GATEWAY, headers: { 'content-type': 'text/html' }, afterApply: true };
    case 'connection-reset':
      return { skip: index, kind: 'reset' };
    case 'secondary-rate-limit':
      return { skip: index, status: 403, body: SECONDARY_LIMIT, headers: { 'retry-after': '60' } };
    case 'branch-moved': {
      const branch = movedBranch(request);
      return branch === null
        ? null
        : { skip: index, kind: 'pass', before: () => void h.repo.pushToBranch(branch, PERSON_EDIT, 'a person') };
    }
  }
}

// ------------------------------------------------------------------------------------ snapshots

/** What a history leaves on GitHub, without times, durations, numbers and SHAs. */
export function snapshot(h: AppHarness): unknown {
  const repo = h.repo;
  const main = repo.tree('main');
  const files = (tree: Map<string, string>, base?: Map<string, string>) =>
    Object.fromEntries([...tree].filter(([path, text]) => base?.get(path) !== text).sort(([a], [b]) => (a < b ? -1 : 1)));
  const branchOf = new Map(repo.pullRequests().map((p) => [p.number, p.head]));
  const numbers = (text: string) => text.replace(/#(\d+)/g, (_, n: string) => `#<${branchOf.get(Number(n)) ?? 'issue'}>`);
  const byBranch: Record<string, unknown[]> = {};
  for (const p of repo.pullRequests()) {
    (byBranch[p.head] ??= []).push({
      state: p.state,
      title: p.title,
      draft: p.draft,
      labels: [...p.labels].sort(),
      body: visible(p.body),
      comments: repo.comments(p.number).map((c) => c.body),
    });
  }
  const dashboards = repo.issues({ label: DASHBOARD_LABEL });
  return {
    main: files(main),
    branches: Object.fromEntries(
      repo
        .branches()
        .filter((b) => b !== 'main')
        .map((b) => [b, files(repo.tree(b), main)]),
    ),
    pullRequests: Object.fromEntries(Object.entries(byBranch).sort(([a], [b]) => (a < b ? -1 : 1))),
    issues: repo.issues().map((i) => ({ title: i.title, state: i.state, labels: i.labels, comments: i.comments.length })),
    dashboard: dashboards.map((d) => ({
      text: numbers(visible(d.body))
        .replace(/^Last run that changed this page: .*$/m, 'Last run: <time>')
        // Run-by-run facts: the last run that wrote the dashboard tells them (an idle run does not write).
        .replace(/^Flows from .* between .*$/m, 'Flows from <the harness file> between <the window read>'),
      // Without its digest: it hashes the flow source's description, the harness's own file here.
      state: { ...decodeDashboardState(d.body), digest: undefined },
    })),
  };
}

/**
 * A body without its hidden state; a dashboard also without its write record, which says what that
 * write was based on (state/dashboard-write.ts) and so differs with the history that led to it.
 */
function visible(body: string): string {
  return body
    .replace(/\n*<!-- policy-recommender:write [A-Za-z0-9+/=]* -->/g, '')
    .replace(/<!-- policy-recommender:(pr|dashboard) [A-Za-z0-9+/=]* -->/g, '<state>');
}

/** Duplicates a history left: several open PRs for a branch, a comment said twice, two dashboards. */
export function duplicates(h: AppHarness): string[] {
  const out: string[] = [];
  const open = h.repo.pullRequests({ state: 'open' });
  for (const branch of new Set(open.map((p) => p.head))) {
    const n = open.filter((p) => p.head === branch).length;
    if (n > 1) out.push(`${n} open PRs for ${branch}`);
  }
  for (const p of h.repo.pullRequests()) {
    const bodies = h.repo.comments(p.number).map((c) => c.body);
    if (new Set(bodies).size < bodies.length) out.push(`a comment repeated on #${p.number}`);
  }
  const dashboards = h.repo.issues({ label: DASHBOARD_LABEL });
  if (dashboards.length > 1) out.push(`${dashboards.length} dashboards`);
  return out;
}

/** Each branch's PRs' states, oldest first (for lostDecisions). */
export function decisions(h: AppHarness): Map<string, string[]> {
  const prs = h.repo.pullRequests();
  return new Map([...new Set(prs.map((p) => p.head))].map((b) => [b, prs.filter((p) => p.head === b).map((p) => p.state)]));
}

/**
 * People's decisions a history lost against the reference's (`decisions`): a merge or a dismissal
 * that is not there, a PR the bot closed that the reference keeps open.
 */
export function lostDecisions(h: AppHarness, reference: Map<string, string[]>): string[] {
  const out: string[] = [];
  const mine = decisions(h);
  for (const [branch, expected] of reference) {
    const got = mine.get(branch) ?? [];
    expected.forEach((state, i) => {
      if (got[i] !== state && (state !== 'open' || got[i] === 'closed'))
        out.push(`${branch}: PR ${i + 1} is ${got[i] ?? 'missing'}, not ${state}`);
    });
  }
  return out;
}

export type { RecordedRequest };
