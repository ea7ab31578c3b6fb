// From staged to enforced through PRs alone: every recommendation PR shows what its policy would
// do to the observed flows; an accepted staged policy's would-be denials are tracked on the
// dashboard; once it has denied nothing for `enforceAfter`, an enforce PR turns it into a
// NetworkPolicy (merge = enforce, close = keep it staged); once every selected namespace is
// enforced, the global default deny is proposed for enforcement with the flows it would deny.

import { afterEach, describe, expect, test } from '@jest/globals';
import { parse } from 'yaml';
import { RECOMMENDATION_LABEL } from '../../src/app/state/pull-request-state.ts';
import { branchName, branchOf } from '../../src/plan/lifecycle/unit-key.ts';
import type { LineOptions } from '../support/flow-lines.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, HOUR } from './support/app-harness.ts';

useNock();

const DAY = 24 * HOUR;
const CONFIG = [
  'clusters:',
  '  - name: prod',
  '    path: clusters/prod',
  'schedule: "0 */6 * * *"',
  'stabilizationPeriod: 6h',
  'enforceAfter: 2d',
  'pullRequests:',
  '  hourlyLimit: 0',
  '  concurrentLimit: 0',
  'namespaceSpec:',
  '  selector: "projectcalico.org/name != \'legacy\'"',
].join('\n');

const SHOP = 'clusters/prod/namespace-isolation/shop.yaml';
const shopBranch = branchName('prod', 'shop');
const enforceShop = branchOf({ kind: 'enforce', cluster: 'prod', namespace: 'shop' });
const db = { namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432 } as const;

let h: AppHarness;
afterEach(async () => {
  expect(h.errors).toEqual([]);
  expect(h.github.unexpected()).toEqual([]);
  await h.stop();
});

const openPrs = () => h.repo.pullRequests({ state: 'open' });
/** The dashboard as it reads (Markdown escapes removed). */
const dashboard = () => h.dashboard().replaceAll('\\', '');
const prFor = (branch: string) => h.repo.pullRequestFor(branch)!;

/** Accepts the open PR of a branch as a reviewer would. */
async function merge(branch: string): Promise<void> {
  const pr = prFor(branch);
  if (pr.draft) h.repo.markReadyForReview(pr.number);
  h.repo.mergePullRequest(pr.number);
  await h.deliver();
}

/** Runs every 6 hours for `days`, the same traffic seen each time. */
async function quietDays(days: number, traffic: readonly Omit<LineOptions, 'at'>[] = [db]): Promise<void> {
  for (let t = 0; t < days * DAY; t += 6 * HOUR) {
    h.now += 6 * HOUR;
    await h.see(...traffic);
    await h.run('schedule');
  }
}

async function acceptedShop(): Promise<void> {
  h = await AppHarness.start({ config: CONFIG });
  await h.see(db);
  await h.run('first');
  await merge(shopBranch);
  await h.run('after merge');
}

describe('evidence in every PR', () => {
  test('a recommendation PR says what its policy would do to the flows it was built from: all allowed', async () => {
    h = await AppHarness.start({ config: CONFIG });
    await h.see(db, { namespace: 'shop', direction: 'ingress', peer: 'pub', port: 443 });
    await h.run('first');
    const body = prFor(shopBranch).body;
    expect(body).toContain('### Simulated against the observed flows');
    expect(body).toContain(
      '2 distinct flows observed (2 flows in the flow logs): all allowed. Its policy is evaluated as if enforced; every other policy as the cluster has it (other staged policies are not applied).',
    );
    expect(body).toContain('ns["namespace shop"]');
  });
});

describe('enforcing an accepted staged policy', () => {
  test('quiet for enforceAfter: an enforce PR, ready for review; merged: enforced, and nothing more is proposed', async () => {
    await acceptedShop();
    expect(dashboard()).toMatch(
      /\| `shop` \| Accepted \| #\d+ \|.*\| merged 2026-11-22T12:00:00Z; would have denied nothing since; enforcement is proposed after 48h without a would-be denial, at 2026-11-24T12:00:00Z at the earliest \|/,
    );
    await quietDays(1);
    expect(h.repo.pullRequestFor(enforceShop)).toBeUndefined();

    await quietDays(1);
    const pr = prFor(enforceShop);
    expect(pr.title).toBe('Enforce the network policy of namespace shop (cluster prod)');
    expect(pr.draft).toBe(false);
    expect(pr.labels).toEqual([RECOMMENDATION_LABEL, 'Enforce']);
    expect([...h.repo.changedFiles(pr.number).keys()]).toEqual([SHOP]);
    const enforced = parse(h.repo.file(enforceShop, SHOP)!) as { kind: string; spec: Record<string, unknown> };
    expect(enforced.kind).toBe('NetworkPolicy');
    expect(enforced.spec['stagedAction']).toBeUndefined();
    expect(pr.body).toMatch(/Since 2026-11-22T12:00:00Z \(at least 48h\) it has denied nothing it would deny\./);
    expect(pr.body).toContain('1 distinct flow observed (2 flows in the flow logs): all allowed.');
    expect(h.dashboard()).toMatch(/\| `shop` enforce isolation \| Ready for review \| #\d+ \|/);

    // Unchanged: only the dashboard is rewritten (its last run's time).
    h.github.resetRequests();
    await quietDays(0.25);
    expect(h.writes()).toEqual([`PATCH /repos/acme/policies/issues/${h.repo.issues({ label: 'policy-recommender' })[0]!.number}`]);

    await merge(enforceShop);
    await quietDays(1);
    // shop was the only namespace: the global default deny is next.
    expect(openPrs().map((p) => p.head)).toEqual([branchOf({ kind: 'enforce-default-deny', cluster: 'prod' })]);
    expect(h.dashboard()).toMatch(/\| `shop` \| Enforced \|/);
    expect(h.repo.file('main', SHOP)).toContain('kind: NetworkPolicy');
  });

  test('traffic the accepted policy would deny: counted, an update proposed, the enforce PR closed as obsolete, the clock restarted', async () => {
    await acceptedShop();
    await quietDays(2);
    const enforce = prFor(enforceShop);
    expect(enforce.state).toBe('open');

    h.now += 6 * HOUR;
    const cache = { namespace: 'shop', direction: 'egress', peer: 'ns:cache', port: 6379 } as const;
    await h.see(db, cache);
    await h.run('new traffic');
    expect(h.repo.pullRequest(enforce.number).state).toBe('closed');
    expect(h.repo.pullRequest(enforce.number).body).toMatch(
      /^> \*\*Closed by policy-recommender:\*\* the staged policy is still changing: an update is proposed\./,
    );
    expect(prFor(shopBranch).title).toBe('Update network policy for namespace shop (cluster prod)');
    expect(dashboard()).toMatch(
      /would have denied 1 observed flow since, the last at 2026-11-24T17:55:00Z; enforcement is proposed after 48h without a would-be denial, at 2026-11-26T17:55:00Z at the earliest/,
    );
    // A bot's close is not a dismissal: once the update is merged and quiet again, enforcement comes back.
    await merge(shopBranch);
    await quietDays(2.25, [db, cache]);
    expect(prFor(enforceShop).state).toBe('open');
    expect(prFor(enforceShop).number).not.toBe(enforce.number);
  });

  test('the staged policy changed on the default branch: the open enforce PR is closed saying so, and proposed again after enforceAfter from the change', async () => {
    await acceptedShop();
    await quietDays(2);
    const enforce = prFor(enforceShop);
    h.repo.commitToDefault(
      { [SHOP]: `# Reviewed by the security team.\n${h.repo.file('main', SHOP)!}` },
      'a person edits the staged policy',
    );
    h.now += 6 * HOUR;
    await h.see(db);
    await h.run('after the edit');
    expect(h.repo.pullRequest(enforce.number).state).toBe('closed');
    expect(h.repo.pullRequest(enforce.number).body).toMatch(
      /^> \*\*Closed by policy-recommender:\*\* the staged policy changed on the default branch at 2026-11-24T18:00:00Z: enforcement is proposed once nothing would have been denied for 48h since\./,
    );
    expect(h.repo.pullRequest(enforce.number).body).not.toContain('would have denied');
    await quietDays(2);
    expect(prFor(enforceShop).state).toBe('open');
    expect(h.repo.file(enforceShop, SHOP)).toContain('# Reviewed by the security team.');
  });

  // Issue 11, point 8: the kubernetes flavour is staged first too (StagedKubernetesNetworkPolicy),
  // and its enforce PR makes it the networking.k8s.io/v1 NetworkPolicy.
  test('kubernetes flavour: staged first, then an enforce PR that turns it into a Kubernetes NetworkPolicy', async () => {
    h = await AppHarness.start({ config: `${CONFIG}\nflavor: kubernetes` });
    await h.see(db);
    await h.run('first');
    expect(parse(h.repo.file(shopBranch, SHOP)!)).toMatchObject({
      apiVersion: 'projectcalico.org/v3',
      kind: 'StagedKubernetesNetworkPolicy',
      spec: { stagedAction: 'Set' },
    });
    await merge(shopBranch);
    await h.run('after merge');
    await quietDays(2);
    const pr = prFor(enforceShop);
    expect([...h.repo.changedFiles(pr.number).keys()]).toEqual([SHOP]);
    const enforced = parse(h.repo.file(enforceShop, SHOP)!) as { apiVersion: string; kind: string; spec: Record<string, unknown> };
    expect([enforced.apiVersion, enforced.kind, enforced.spec['stagedAction']]).toEqual([
      'networking.k8s.io/v1',
      'NetworkPolicy',
      undefined,
    ]);
    expect(pr.body).toContain('the `StagedKubernetesNetworkPolicy` becomes a `networking.k8s.io/v1 NetworkPolicy` with the same rules.');
    await merge(enforceShop);
    await quietDays(0.5);
    expect(h.dashboard()).toMatch(/\| `shop` \| Enforced \|/);
  });

  test('closed unmerged: the policy stays staged and enforcing it is not proposed again', async () => {
    await acceptedShop();
    await quietDays(2);
    const pr = prFor(enforceShop);
    h.repo.closePullRequest(pr.number);
    await h.deliver();
    expect(h.repo.comments(pr.number).map((c) => c.body)).toEqual([
      expect.stringMatching(
        /^Dismissed: policy-recommender will not propose enforcing `namespace shop` \(cluster `prod`\) again: it stays staged\./,
      ),
    ]);
    await quietDays(3);
    expect(openPrs()).toEqual([]);
    expect(h.repo.file('main', SHOP)).toContain('kind: StagedNetworkPolicy');
  });
});

// Issue 11, point 10: traffic with a host endpoint (here NodePort traffic SNATed to node-1) is not
// learned: no rule can name the node as a stable peer. The policy would still deny it once enforced.
describe('traffic with host endpoints', () => {
  const nodePort = { namespace: 'shop', direction: 'ingress', peer: 'hep:node-1', port: 8080 } as const;
  // The policy governs ingress (it has learned an ingress rule), so the node's traffic meets it.
  const https = { namespace: 'shop', direction: 'ingress', peer: 'pub', port: 443 } as const;

  test("is listed among what the PR's policy would deny, and holds enforcement back while it would be denied", async () => {
    h = await AppHarness.start({ config: CONFIG });
    await h.see(db, https, nodePort);
    await h.run('first');
    const body = prFor(shopBranch).body.replaceAll('\\', '');
    expect(body).toMatch(/Of the 3 distinct flows observed \(3 flows in the flow logs\), 1 would be \*\*denied\*\*/);
    expect(body).toMatch(
      /\| ingress \| `shop\/app-5d7f9c-\*` \| `host endpoint node-1` \| `TCP` \| `8080` \| 1 \| not learned \(a host endpoint has no stable peer a rule could name\); tier namespace-isolation default action \|/,
    );

    await merge(shopBranch);
    await h.run('after merge');
    await quietDays(3, [db, https, nodePort]);
    // Still denied by what enforcing would do: no enforce PR, and the dashboard says why.
    expect(h.repo.pullRequestFor(enforceShop)).toBeUndefined();
    expect(dashboard()).toMatch(/\| `shop` \| Accepted \|.*would have denied \d+ observed flows since/);

    // Once nothing is denied any more (the node's traffic stopped), enforcement is proposed.
    await quietDays(2.5, [db, https]);
    expect(prFor(enforceShop).state).toBe('open');
  });
});

describe('enforcing the global default deny', () => {
  test('once every selected namespace is enforced, with the flows it would deny listed', async () => {
    h = await AppHarness.start({ config: CONFIG });
    const web = { namespace: 'web', direction: 'ingress', peer: 'pub', port: 443 } as const;
    const legacy = { namespace: 'legacy', direction: 'egress', peer: 'pub', port: 8080 } as const;
    await h.see(db, web, legacy);
    await h.run('first');
    // legacy has traffic, but namespaceSpec does not select it: the dashboard says that, not "No traffic".
    expect(h.dashboard()).toMatch(/\| `legacy` \| Not selected \|/);
    await merge(shopBranch);
    // Each PR adds its own file only: the second one merges as it is.
    await h.run('after the first merge');
    await merge(branchName('prod', 'web'));
    await quietDays(2.5, [db, web, legacy]);
    await merge(enforceShop);
    await h.run('one enforced');
    const deny = branchOf({ kind: 'enforce-default-deny', cluster: 'prod' });
    expect(h.repo.pullRequestFor(deny)).toBeUndefined();

    // Both enforce PRs edit only their own file: no rebase needed between the merges.
    await merge(branchOf({ kind: 'enforce', cluster: 'prod', namespace: 'web' }));
    await quietDays(0.25, [db, web, legacy]);
    const pr = prFor(deny);
    expect(pr.title).toBe('Enforce the global default deny (cluster prod)');
    expect([...h.repo.changedFiles(pr.number).keys()]).toEqual(['clusters/prod/global-default-deny.yaml']);
    expect(h.repo.file(deny, 'clusters/prod/global-default-deny.yaml')).toContain('kind: GlobalNetworkPolicy');
    // legacy is not selected for recommendations, so only the default deny decides its traffic.
    expect(pr.body).toMatch(/1 would be \*\*denied\*\*/);
    expect(pr.body).toContain('It would deny:');
    // Proposed by the run the last merge's push asked for, from the flows seen until then.
    expect(pr.body).toMatch(/\| egress \| `legacy\/\*` \| `pub` \| `TCP` \| `8080` \| 1 \| tier default default action \|/);
  });
});
