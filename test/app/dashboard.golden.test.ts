// What people read on the dashboard, as a golden file (as test/app/pull-request-body.golden.test.ts
// does for PR bodies): a real App run against the fake GitHub through a history that reaches every
// state a reviewer meets in the first weeks (learning, held back by a PR limit, accepted at a merge,
// not selected), so a change to what the dashboard says shows up as a diff of
// test/app/__golden__/dashboard.md. `UPDATE_GOLDEN=1 npm test -- test/app/dashboard.golden` rewrites it.

import { afterEach, expect, test } from '@jest/globals';
import { branchName } from '../../src/plan/lifecycle/unit-key.ts';
import { expectGolden } from '../support/golden.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, CONFIG as HARNESS_CONFIG, stopClean } from './support/app-harness.ts';
import { shownDashboard } from './support/github-view.ts';

useNock();

let h: AppHarness;
afterEach(() => stopClean(h));

/** The harness's configuration, one PR an hour, legacy not selected. */
const CONFIG = [
  HARNESS_CONFIG.replace('hourlyLimit: 0', 'hourlyLimit: 1'),
  'namespaceSpec:',
  '  selector: "projectcalico.org/name != \'legacy\'"',
].join('\n');

test('the dashboard after the first weeks: learning, held back, accepted at a merge, not selected', async () => {
  h = await AppHarness.start({ config: CONFIG });
  await h.see(
    { namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432 },
    { namespace: 'web', direction: 'ingress', peer: 'pub', port: 443 },
    { namespace: 'zoo', direction: 'egress', peer: 'pub', port: 80 },
    { namespace: 'legacy', direction: 'egress', peer: 'pub', port: 8080 },
  );
  await h.run('first');
  const shop = h.repo.pullRequestFor(branchName('prod', 'shop'))!;
  h.repo.markReadyForReview(shop.number);
  h.repo.mergePullRequest(shop.number);
  await h.deliver();
  h.now += 30 * 60;
  await h.run('after the merge');

  const rendered = shownDashboard(h.dashboard());
  expectGolden(new URL('./__golden__/dashboard.md', import.meta.url), rendered);
  // Nothing of the deployment: the harness's flow file lives in a temporary directory.
  expect(rendered).not.toMatch(/\/tmp|app-harness-|flows\.log/);
});
