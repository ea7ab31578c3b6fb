// What the bot says on GitHub besides its PR bodies, as golden files (see test/support/golden.ts):
// every comment it posts (a dismissal, for each kind of unit; an edited branch; a second dashboard
// merged into the first), the note that closes a PR as obsolete, the titles of its PRs, and the
// dashboard after people acted and when the configuration is broken. The comments on people's
// actions and the dashboards come from a real App run against the fake GitHub, at the harness's
// fixed times. `UPDATE_GOLDEN=1 npm test -- test/app/comments.golden` rewrites them.

import { afterEach, describe, expect, test } from '@jest/globals';
import { dismissalComment } from '../../src/app/render/comments.ts';
import { DASHBOARD_LABEL, type DashboardMemory, decodeDashboardState, renderDashboard } from '../../src/app/render/dashboard.ts';
import { type PullRequestUnit, pullRequestTitle } from '../../src/app/render/pull-request-body.ts';
import { CONFIG_PATH } from '../../src/config/repository-config.ts';
import { branchName, branchOf, type ProposalKey } from '../../src/plan/lifecycle/unit-key.ts';
import { expectGolden } from '../support/golden.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, CONFIG, HOUR, stopClean } from './support/app-harness.ts';
import { shownDashboard, shownPullRequest } from './support/github-view.ts';

useNock();

const golden = (name: string, rendered: string) => expectGolden(new URL(`./__golden__/${name}.md`, import.meta.url), rendered);

/** One key of each kind, as the App makes them (plan/lifecycle/unit-key.ts). */
const KEYS: readonly [string, ProposalKey][] = [
  ['namespace', { kind: 'namespace', cluster: 'prod', namespace: 'shop' }],
  ['workloads-per-namespace', { kind: 'workloads', cluster: 'prod', namespace: 'shop' }],
  ['workloads-per-workload', { kind: 'workloads', cluster: 'prod', namespace: 'shop', workload: 'shop/Deployment/web' }],
  ['enforce-namespace', { kind: 'enforce', cluster: 'prod', namespace: 'shop' }],
  ['enforce-workloads-per-namespace', { kind: 'enforce-workloads', cluster: 'prod', namespace: 'shop' }],
  ['enforce-workloads-per-workload', { kind: 'enforce-workloads', cluster: 'prod', namespace: 'shop', workload: 'shop/Deployment/web' }],
  ['enforce-default-deny', { kind: 'enforce-default-deny', cluster: 'prod' }],
  ['bootstrap', { kind: 'bootstrap', cluster: 'prod' }],
];

describe('rendered from fixed data', () => {
  test.each(KEYS)('the comment on a dismissed PR: %s', (name, key) => {
    golden(`comment-dismissed-${name}`, `${dismissalComment(key)}\n`);
  });

  test('the title of each kind of PR, first and update', () => {
    const lines = KEYS.flatMap(([name, key]) => {
      // As apply.ts passes them: the unit of the key, the namespace ('' for a cluster-wide unit).
      const unit: PullRequestUnit =
        (key.kind === 'workloads' || key.kind === 'enforce-workloads') && key.workload !== undefined
          ? { kind: key.kind, workload: key.workload }
          : { kind: key.kind };
      const namespace = 'namespace' in key ? key.namespace : '';
      return [false, true].map(
        (update) => `| ${name}${update ? ' (update)' : ''} | ${pullRequestTitle({ cluster: 'prod', namespace, update, unit })} |`,
      );
    });
    golden('pr-titles', ['| Unit | Title |', '| --- | --- |', ...lines, ''].join('\n'));
  });
});

let h: AppHarness | undefined;
afterEach(async () => {
  if (h) await stopClean(h);
  h = undefined;
});

const CONFIG_WITH_WORKLOADS = [
  CONFIG,
  'microsegmentation:',
  '  enabled: true',
  '  select:',
  '    namespaces: [shop]',
  '  pullRequests: per-namespace',
].join('\n');
const shop = {
  namespace: 'shop',
  direction: 'egress',
  peer: 'ns:shop',
  port: 8080,
  workload: 'web-7d9f8c6b5-*',
  labels: ['app=web', 'pod-template-hash=7d9f8c6b5'],
  peerWorkload: 'api-5c6d7e8f9a-*',
  peerLabels: ['app=api', 'pod-template-hash=5c6d7e8f9a'],
} as const;
const web = { namespace: 'web', direction: 'ingress', peer: 'pub', port: 443 } as const;

test('people act: a PR dismissed, a branch edited, microsegmentation turned off, a PR GitHub refuses, a second dashboard', async () => {
  const app = await AppHarness.start({ config: CONFIG_WITH_WORKLOADS });
  h = app;
  await app.see(shop, web);
  await app.run('first');
  const pr = (key: ProposalKey) => app.repo.pullRequestFor(branchOf(key))!;
  const comments = (key: ProposalKey) => app.repo.comments(pr(key).number).map((c) => `${c.body}\n`);

  // web's PR closed unmerged: dismissed (the webhook says so on the PR).
  const webKey = { kind: 'namespace', cluster: 'prod', namespace: 'web' } as const;
  app.repo.closePullRequest(pr(webKey).number);
  await app.deliver();
  expect(comments(webKey)).toEqual([`${dismissalComment(webKey)}\n`]);

  // A person's commit on shop's branch: the bot stops updating it, and says so once.
  const shopKey = { kind: 'namespace', cluster: 'prod', namespace: 'shop' } as const;
  app.repo.pushToBranch(branchName('prod', 'shop'), { 'clusters/prod/namespace-isolation/shop.yaml': '# mine\n' }, 'my policy');
  await app.deliver();
  app.now += HOUR;
  await app.see(shop, web);
  await app.run('after the edit');
  expect(comments(shopKey)).toHaveLength(1);
  golden('comment-edited', comments(shopKey)[0]!);

  // Microsegmentation turned off: its PR is closed as obsolete, saying why in its body. And zoo's
  // first traffic meets GitHub refusing to open its PR: the dashboard says so.
  const workloadsKey = { kind: 'workloads', cluster: 'prod', namespace: 'shop' } as const;
  await app.see({ namespace: 'zoo', direction: 'egress', peer: 'pub', port: 80 });
  app.github.failNext({ method: 'POST', pathRegex: /\/pulls$/, status: 422 });
  app.repo.commitToDefault({ [CONFIG_PATH]: CONFIG }, 'no microsegmentation');
  await app.deliver();
  expect(pr(workloadsKey).state).toBe('closed');
  golden('pr-closed-as-obsolete', shownPullRequest(pr(workloadsKey)));
  golden('dashboard-dismissed-edited-obsolete-error', shownDashboard(app.dashboard()));

  // A second dashboard (as two runs racing to open the first could leave): merged into the first, closed with a comment.
  const [kept] = app.repo.issues({ label: DASHBOARD_LABEL });
  const memory: DashboardMemory = { ...decodeDashboardState(kept!.body), digest: '' };
  const extra = app.repo.openIssue(
    'Policy recommendations',
    renderDashboard({ lastRun: null, configErrors: [], clusters: [], state: memory }),
    [DASHBOARD_LABEL],
    { byBot: true },
  );
  app.now += HOUR;
  await app.run('two dashboards');
  expect(app.repo.comments(extra)).toHaveLength(1);
  golden('comment-second-dashboard', `${app.repo.comments(extra)[0]!.body}\n`);
});

test('a configuration error: said first, the namespaces as the last valid run left them', async () => {
  const app = await AppHarness.start();
  h = app;
  await app.see(shop, web);
  await app.run('first');
  app.now += HOUR;
  app.repo.commitToDefault(
    { [CONFIG_PATH]: `${CONFIG.replace('stabilizationPeriod: 3h', 'stabilizationPeriod: soon')}\nflavour: calico\n` },
    'edit the configuration',
  );
  await app.deliver();
  golden('dashboard-configuration-error', shownDashboard(app.dashboard()));
});
