// The webhook endpoint at the internet's edge, through real HTTP: the App in Probot's own server
// on 127.0.0.1 (as `npm start` runs it), GitHub faked behind nock. Unauthenticated deliveries are
// never logged; a redelivery keeps its X-GitHub-Delivery id (github/docs
// content/webhooks/using-webhooks/best-practices-for-using-webhooks.md) and has one effect; a
// burst of pushes costs one or two runs; no start without WEBHOOK_SECRET. Bodies over GitHub's
// maximum: webhook-body-limit.test.ts.

import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import nock from 'nock';
import { RecentDeliveries, webhookSecretProblem } from '../../src/app/ops/webhook-edge.ts';
import { PUSH_COMMITS_LISTED, type PushPayload, pushTrigger } from '../../src/app/push-trigger.ts';
import { branchName } from '../../src/plan/lifecycle/unit-key.ts';
import { capturedLog } from '../support/captured-log.ts';
import type { WebhookEvent } from '../support/fake-github.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness } from './support/app-harness.ts';
import { editedIssuePayload } from './support/bare-app.ts';

useNock();
beforeAll(() => nock.enableNetConnect('127.0.0.1'));

const SECRET = 'webhook-secret-5d1e9b20';

let h: AppHarness | undefined;
afterEach(async () => {
  if (h) expect(h.github.unexpected()).toEqual([]);
  await h?.stop();
  h = undefined;
});

/** An `issues.edited` event about an issue that is not the dashboard: handled without any request. */
function editedIssue(id: string, extra: Record<string, unknown> = {}): WebhookEvent {
  return { id, name: 'issues', payload: editedIssuePayload(extra) } as unknown as WebhookEvent;
}

const sign = (body: string | Buffer, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('an unauthenticated delivery is never logged', () => {
  test('a 2 MB post with a wrong signature: 400 and one short line (delivery id, event, reason), no payload', async () => {
    const { log, text } = capturedLog('info');
    h = await AppHarness.start({ webhookSecret: SECRET, log });
    const marker = 'PAYLOAD-MARKER-7c1f';
    const event = editedIssue('forged-delivery-1', { filler: `${marker} ${'z'.repeat(2 * 1024 * 1024)}` });
    const before = text().length;
    const forged = await h.post(event, { signature: sign(JSON.stringify(event.payload), 'not-the-secret') });
    expect(forged.status).toBe(400);
    expect(await forged.json()).toEqual({ error: 'signature does not match event payload and secret' });
    const added = text().slice(before);
    expect(added).not.toContain(marker);
    expect(added).not.toContain('zzzz');
    // Probot's request log line and ours; a few hundred bytes for a 2 MB post.
    expect(added.length).toBeLessThan(4096);
    const ours = added.split('\n').filter((l) => l.includes('refused'));
    expect(ours.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([
      'webhook delivery forged-delivery-1 (issues) refused: signature does not match event payload and secret',
    ]);
    // The same delivery, genuine, is handled.
    expect((await h.post(event)).status).toBe(200);
  });
});

describe('a redelivered event has one effect', () => {
  async function dismissed(): Promise<{ number: number; closed: WebhookEvent }> {
    h = await AppHarness.start({ webhookSecret: SECRET });
    await h.see({ namespace: 'shop', direction: 'egress', peer: 'pub', port: 443 });
    await h.run('first');
    const pr = h.repo.pullRequestFor(branchName('prod', 'shop'))!;
    h.github.takeEvents();
    h.repo.closePullRequest(pr.number);
    const closed = h.github.takeEvents().find((e) => e.name === 'pull_request' && (e.payload as { action: string }).action === 'closed')!;
    return { number: pr.number, closed };
  }

  test('the same delivery id twice: handled once; the second is answered without a request to GitHub', async () => {
    const { number, closed } = await dismissed();
    const first = await h!.post(closed);
    expect([first.status, await first.text()]).toEqual([200, 'ok\n']);
    expect(h!.repo.comments(number)).toHaveLength(1);
    h!.github.resetRequests();
    const again = await h!.post(closed);
    expect([again.status, await again.text()]).toEqual([200, 'already handled\n']);
    expect(h!.github.requests()).toEqual([]);
    expect(h!.repo.comments(number)).toHaveLength(1);
  });

  test('the same event under two delivery ids, at once: one dismissal comment', async () => {
    const { number, closed } = await dismissed();
    const answers = await Promise.all([
      h!.post(closed, { id: 'copy-1' }),
      h!.post(closed, { id: 'copy-2' }),
      h!.post(closed, { id: 'copy-1' }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(h!.repo.comments(number).map((c) => c.body)).toEqual([expect.stringMatching(/^Dismissed: /)]);
    expect(h!.repo.branchSha(branchName('prod', 'shop'))).toBeUndefined();
  });

  test("a genuine delivery whose handling fails: Probot's log has the error and the delivery's id, not its payload", async () => {
    const { log, text } = capturedLog('info');
    h = await AppHarness.start({ webhookSecret: SECRET, log });
    await h.see({ namespace: 'shop', direction: 'egress', peer: 'pub', port: 443 });
    await h.run('first');
    const pr = h.repo.pullRequestFor(branchName('prod', 'shop'))!;
    h.github.takeEvents();
    h.repo.closePullRequest(pr.number);
    const closed = h.github.takeEvents().find((e) => e.name === 'pull_request' && (e.payload as { action: string }).action === 'closed')!;
    const marker = 'PAYLOAD-MARKER-41d0';
    const payload: Record<string, unknown> = { ...(closed.payload as object), filler: `${marker} ${'q'.repeat(256 * 1024)}` };
    const event = { ...closed, payload } as unknown as WebhookEvent;
    h.github.failNext({ method: 'GET', pathRegex: /\/issues\/\d+\/comments$/, status: 500 });
    const before = text().length;
    const failed = await h.post(event, { id: 'failing-delivery-1' });
    expect(failed.status).toBe(500);
    const added = text().slice(before);
    expect(added).not.toContain(marker);
    expect(added).not.toContain('qqqq');
    const errors = added
      .split('\n')
      .filter((l) => l.includes('HandlerError'))
      .map((l) => JSON.parse(l) as { id?: string; err?: { delivery?: string; message?: string } });
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.err?.delivery).toBe('pull_request failing-delivery-1');
  });

  test('a delivery that failed is handled when GitHub redelivers it (same id)', async () => {
    const { number, closed } = await dismissed();
    h!.github.failNext({ method: 'GET', pathRegex: /\/issues\/\d+\/comments$/, status: 500 });
    const failed = await h!.post(closed);
    expect(failed.status).toBe(500);
    expect(h!.repo.comments(number)).toHaveLength(0);
    const redelivered = await h!.post(closed);
    expect([redelivered.status, await redelivered.text()]).toEqual([200, 'ok\n']);
    expect(h!.repo.comments(number)).toHaveLength(1);
  });

  test('the memory of delivery ids is bounded: the oldest is forgotten first', () => {
    const recent = new RecentDeliveries(3);
    for (const id of ['a', 'b', 'c', 'd']) expect(recent.claim(id)).toBe(true);
    expect(recent.size).toBe(3);
    expect(recent.claim('d')).toBe(false);
    expect(recent.claim('a')).toBe(true);
  });
});

describe('WEBHOOK_SECRET', () => {
  const MAIN = join(import.meta.dirname, '../../src/app/main.ts');
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'webhook-secret-'));
  });
  afterEach(async () => {
    await rm(join(dir, '.env'), { force: true });
  });

  const start = (env: Record<string, string>) =>
    spawnSync(process.execPath, [MAIN], {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '', APP_ID: '4242', PRIVATE_KEY_PATH: join(dir, 'key.pem'), ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });

  test.each([
    ['missing', {}],
    ['empty', { WEBHOOK_SECRET: '' }],
    ['blank', { WEBHOOK_SECRET: '  ' }],
  ])('%s: `npm start` refuses to start, with one line and a non-zero exit', (_, env) => {
    const result = start(env);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^WEBHOOK_SECRET is missing or empty: .*"development"/)]);
  });

  test('Probot’s public default "development" is refused too', () => {
    const result = start({ WEBHOOK_SECRET: 'development' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(/^WEBHOOK_SECRET is "development", Probot's public default/);
  });

  test('read as Probot reads it: .env over the environment; not needed in setup mode (no APP_ID or no private key)', async () => {
    const configured = { APP_ID: '4242', PRIVATE_KEY_PATH: '/k.pem' };
    expect(webhookSecretProblem({ ...configured, WEBHOOK_SECRET: 's3cret' }, dir)).toBeNull();
    expect(webhookSecretProblem(configured, dir)).toMatch(/^WEBHOOK_SECRET is missing/);
    expect(webhookSecretProblem({}, dir)).toBeNull();
    expect(webhookSecretProblem({ APP_ID: '4242' }, dir)).toBeNull();
    await writeFile(join(dir, '.env'), 'WEBHOOK_SECRET=from-dot-env\n');
    expect(webhookSecretProblem(configured, dir)).toBeNull();
    await writeFile(join(dir, '.env'), 'WEBHOOK_SECRET=\n');
    expect(webhookSecretProblem({ ...configured, WEBHOOK_SECRET: 's3cret' }, dir)).toMatch(/^WEBHOOK_SECRET is missing/);
    // A private key file in the working directory is Probot's too (@probot/get-private-key).
    await rm(join(dir, '.env'));
    await writeFile(join(dir, 'app.pem'), 'key');
    expect(webhookSecretProblem({ APP_ID: '4242' }, dir)).toMatch(/^WEBHOOK_SECRET is missing/);
    await rm(join(dir, 'app.pem'));
  });
});

describe('pushes', () => {
  const NOTES = (i: number) => ({ [`clusters/prod/notes-${i}.md`]: `note ${i}\n` });
  /** The pushes to the default branch queued so far, as GitHub would deliver them. */
  const pushes = () => h!.github.takeEvents().filter((e) => e.name === 'push');
  const runs = () => h!.github.requests().filter((r) => r.method === 'GET' && r.path === '/repos/acme/policies').length;

  async function started(): Promise<number> {
    h = await AppHarness.start({ webhookSecret: SECRET });
    await h.see({ namespace: 'shop', direction: 'egress', peer: 'pub', port: 443 });
    await h.run('first');
    h.github.takeEvents();
    // What a run with nothing new costs (the reference for a burst).
    h.github.resetRequests();
    await h.run('quiet');
    const quiet = h.github.requests().length;
    h.github.resetRequests();
    return quiet;
  }

  test('a burst of 500 pushes under a cluster’s path: no request per push, one run once it has settled', async () => {
    const quiet = await started();
    for (let i = 0; i < 500; i++) h!.repo.commitToDefault(NOTES(i), `notes ${i}`);
    const burst = pushes();
    expect(burst).toHaveLength(500);
    // Before: each push read the configuration and asked for a run (over 1,000 requests).
    const answers = await Promise.all(burst.map((e) => h!.post(e)));
    expect(answers.map((a) => a.status)).toEqual(burst.map(() => 200));
    expect(h!.github.requests()).toEqual([]);
    await h!.settle();
    expect(runs()).toBe(1);
    expect(h!.github.requests().filter((r) => r.path.endsWith('/contents/.github/policy-recommender.yml'))).toHaveLength(1);
    expect(h!.github.requests().length).toBeLessThanOrEqual(quiet + 1);
    // A burst arriving during the run: one more run after it, not one per push.
    for (let i = 500; i < 510; i++) h!.repo.commitToDefault(NOTES(i), `notes ${i}`);
    h!.github.resetRequests();
    const hold = h!.github.hold({ method: 'GET', pathRegex: /^\/repos\/acme\/policies$/ });
    const running = h!.run('a person asked');
    await hold.reached;
    await Promise.all(pushes().map((e) => h!.post(e)));
    const settled = h!.settle();
    hold.release();
    await Promise.all([running, settled]);
    expect(runs()).toBe(2);
    expect(h!.errors).toEqual([]);
  });

  test('a merge of a recommendation PR asks for a run; a push elsewhere, to another branch or a redelivery does not', async () => {
    await started();
    const pr = h!.repo.pullRequestFor(branchName('prod', 'shop'))!;
    h!.repo.markReadyForReview(pr.number);
    h!.repo.mergePullRequest(pr.number);
    const merged = pushes();
    expect(merged).toHaveLength(1);
    expect((await h!.post(merged[0]!)).status).toBe(200);
    await h!.settle();
    expect(runs()).toBe(1);
    // That run tidied after the merge (its webhook was not delivered here: the run sees the merge
    // itself) and deleted the merged PR's branch: GitHub's push event for that deletion is not
    // one of those this test posts.
    expect(pushes().map((e) => (e.payload as { deleted?: boolean; ref: string }).ref)).toEqual([`refs/heads/${pr.head}`]);

    h!.github.resetRequests();
    h!.repo.commitToDefault({ 'README.md': '# Policies, edited\n' }, 'readme');
    h!.repo.pushToBranch('someone/feature', NOTES(1), 'a feature branch');
    const elsewhere = pushes();
    expect(elsewhere).toHaveLength(2);
    for (const e of elsewhere) expect((await h!.post(e)).status).toBe(200);
    expect((await h!.post(merged[0]!)).status).toBe(200);
    await h!.settle();
    expect(h!.github.requests()).toEqual([]);
  });

  test('a push of the configuration: one run reads it and the schedule follows it', async () => {
    await started();
    expect(h!.scheduler.scheduled()).toEqual([]);
    h!.repo.commitToDefault(
      { '.github/policy-recommender.yml': 'clusters:\n  - name: prod\n    path: clusters/prod\nschedule: "30 2 * * *"\n' },
      'config',
    );
    const [push] = pushes();
    expect((await h!.post(push!)).status).toBe(200);
    await h!.settle();
    expect(runs()).toBe(1);
    expect(h!.github.requests().filter((r) => r.path.endsWith('/contents/.github/policy-recommender.yml'))).toHaveLength(1);
    expect(h!.scheduler.scheduled()).toEqual([h!.repo.key()]);
  });
});

describe('which pushes ask for a run (push-trigger.ts)', () => {
  const push = (files: string[][], extra: Partial<PushPayload> = {}): PushPayload => ({
    ref: 'refs/heads/main',
    before: 'a',
    after: 'b',
    repository: { default_branch: 'main' },
    commits: files.map((modified) => ({ modified })),
    ...extra,
  });
  test.each<[string, PushPayload, readonly string[] | undefined, string | null]>([
    ['the configuration', push([['.github/policy-recommender.yml']]), ['clusters/prod'], 'configuration'],
    ['a file under a cluster', push([['x.md'], ['clusters/prod/ns.yaml']]), ['clusters/prod'], 'policies'],
    ['the cluster directory itself (a file named like it)', push([['clusters/prod']]), ['clusters/prod'], 'policies'],
    ['a sibling with the same prefix', push([['clusters/production/ns.yaml']]), ['clusters/prod'], null],
    ['anything, when a cluster is the whole repository', push([['README.md']]), [''], 'policies'],
    ['elsewhere', push([['README.md']]), ['clusters/prod'], null],
    ['another branch', push([['clusters/prod/ns.yaml']], { ref: 'refs/heads/other' }), ['clusters/prod'], null],
    ['a tag', push([['clusters/prod/ns.yaml']], { ref: 'refs/tags/main' }), ['clusters/prod'], null],
    ['the default branch deleted', push([], { deleted: true, after: '0' }), ['clusters/prod'], null],
    ['a forced push (files unknown)', push([['README.md']], { forced: true }), ['clusters/prod'], 'configuration'],
    [
      'more commits than GitHub lists (files unknown)',
      push(Array.from({ length: PUSH_COMMITS_LISTED }, () => ['README.md'])),
      ['clusters/prod'],
      'configuration',
    ],
    ['no commits listed, yet the branch moved', push([]), ['clusters/prod'], 'configuration'],
    ['nothing moved', push([], { after: 'a' }), ['clusters/prod'], null],
    ['a change, before the configuration was read', push([['README.md']]), undefined, 'configuration'],
  ])('%s', (_, payload, paths, kind) => {
    expect(pushTrigger(payload, paths)?.kind ?? null).toBe(kind);
  });
});
