import { type ChildProcess, spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from '@jest/globals';
import { withWebhookPath } from '../../src/app/ops/setup-mode.ts';
import { defaultsFromManifest, loadScheduleDefaults } from '../../src/config/schedule-defaults.ts';
import { freePort } from '../support/free-port.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/app/main.ts', import.meta.url));
/** GitHub's manifest parameters (docs: "Registering a GitHub App from a manifest"). */
const GITHUB_MANIFEST_KEYS = [
  'name',
  'url',
  'hook_attributes',
  'redirect_url',
  'callback_urls',
  'setup_url',
  'description',
  'public',
  'default_events',
  'default_permissions',
  'request_oauth_on_install',
  'setup_on_update',
];

const servers: ChildProcess[] = [];
afterAll(() => {
  for (const server of servers) server.kill();
});

interface SetupServer {
  readonly base: string;
  readonly output: () => string;
}

/**
 * Starts `npm start`'s entry (src/app/main.ts) without credentials, in `cwd`: Probot's setup flow
 * (probot 14.3.2 lib/run.js, `!appId || !privateKey`); resolves once its setup page answers.
 */
async function startSetupMode(cwd = ROOT): Promise<SetupServer> {
  const port = await freePort();
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    NO_SMEE_SETUP: 'true',
    APP_ID: '',
    PRIVATE_KEY: '',
    NODE_ENV: 'development',
    WEBHOOK_PROXY_URL: '',
  } as Record<string, string>;
  const server = spawn(process.execPath, [MAIN], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push(server);
  let output = '';
  server.stdout!.on('data', (d: Buffer) => void (output += d.toString()));
  server.stderr!.on('data', (d: Buffer) => void (output += d.toString()));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(`${base}/probot`)).ok) return { base, output: () => output };
    } catch {
      // not listening yet
    }
    if (server.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the setup server did not start: ${output}`);
}

/** The manifest the setup page posts to GitHub, from the button that carries it (Probot's lib/views/setup.js). */
function manifestOf(html: string): Record<string, unknown> {
  const value = /name="manifest" id="manifest" value='([^']*)'/.exec(html)?.[1];
  expect(value).toBeDefined();
  return JSON.parse(value!.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as Record<string, unknown>;
}

describe('app.yml and the setup flow', () => {
  test('the manifest Probot sends to GitHub holds only GitHub manifest keys, least privilege, and the handled events', async () => {
    const { base } = await startSetupMode();
    // The page POSTs the manifest from this attribute; it must survive the HTML intact.
    const manifest = manifestOf(await (await fetch(`${base}/probot`)).text());
    // Probot itself adds "version"; everything from app.yml is a GitHub key.
    const ours = Object.keys(manifest).filter((k) => k !== 'version');
    expect(ours.filter((k) => !GITHUB_MANIFEST_KEYS.includes(k))).toEqual([]);
    expect(manifest['default_permissions']).toEqual({ contents: 'write', pull_requests: 'write', issues: 'write', metadata: 'read' });
    expect(manifest['default_events']).toEqual(['issue_comment', 'issues', 'pull_request', 'push']);
    expect(manifest['public']).toBe(false);
    expect(JSON.stringify(manifest)).not.toMatch(/schedule|timezone/);
    // GitHub delivers to the App's webhook path (Probot's default, lib/server/server.js
    // defaultWebhookPath), not to `/` where Probot's manifest points it; GitHub's redirect after
    // creating the App comes back to the setup flow.
    expect(manifest['hook_attributes']).toEqual({ url: `${base}/api/github/webhooks` });
    expect(manifest['redirect_url']).toBe(`${base}/probot/setup`);
  });

  test('in setup mode /healthz, /readyz and /metrics answer: alive, not ready until the App is registered and the server restarted', async () => {
    // A directory of its own: registering writes the credentials to .env in the working directory.
    const cwd = await mkdtemp(join(tmpdir(), 'setup-mode-'));
    try {
      await copyFile(join(ROOT, 'app.yml'), join(cwd, 'app.yml'));
      await copyFile(join(ROOT, 'package.json'), join(cwd, 'package.json'));
      const { base } = await startSetupMode(cwd);

      const health = await fetch(`${base}/healthz`);
      expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).toMatch(/^setup mode: the GitHub App is not registered yet/);
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^policy_recommender_process_cpu_seconds_total /m);
      // The setup flow itself is still there, and so is Probot's 404 for the rest.
      expect((await fetch(`${base}/`, { redirect: 'manual' })).headers.get('location')).toBe('/probot');
      expect((await fetch(`${base}/nothing`)).status).toBe(404);

      // "Use an existing GitHub App": the import form writes the credentials (lib/apps/setup.js);
      // the server keeps running the setup flow until restarted, and says so.
      const imported = await fetch(`${base}/probot/import`, {
        method: 'POST',
        body: JSON.stringify({ appId: '4242', pem: 'not a key', webhook_secret: 'a secret' }),
      });
      expect(imported.status).toBe(200);
      expect(await readFile(join(cwd, '.env'), 'utf8')).toMatch(/^APP_ID=4242$/m);
      const after = await fetch(`${base}/readyz`);
      expect([after.status, await after.text()]).toEqual([
        503,
        'setup mode: the GitHub App is registered and its credentials written to .env; restart the server to run it\n',
      ]);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });

  test("the setup page's manifest is rewritten only where Probot points the webhook at `/`", () => {
    const page = (manifest: object) => `<button name="manifest" id="manifest" value='${JSON.stringify(manifest)}' >Register</button>`;
    const probots = {
      hook_attributes: { url: 'https://h.example/' },
      redirect_url: 'https://h.example/probot/setup',
      name: 'policy-recommender',
    };
    expect(manifestOf(withWebhookPath(page(probots), '/hooks'))).toEqual({
      ...probots,
      hook_attributes: { url: 'https://h.example/hooks' },
    });
    // An apostrophe (here from the webhook path) is escaped inside the single-quoted attribute.
    expect(withWebhookPath(page(probots), "/o'hooks")).toContain('o\\u0027hooks');
    expect(manifestOf(withWebhookPath(page(probots), "/o'hooks"))['hook_attributes']).toEqual({ url: "https://h.example/o'hooks" });
    // A smee channel (WEBHOOK_PROXY_URL) or a URL of app.yml's own is left as it is.
    for (const url of ['https://smee.io/abc', 'https://elsewhere.example/']) {
      const other = page({ ...probots, hook_attributes: { url } });
      expect(withWebhookPath(other, '/hooks')).toBe(other);
    }
    expect(withWebhookPath('<html>no manifest</html>', '/hooks')).toBe('<html>no manifest</html>');
  });

  test('the deployment default schedule lives in a comment block, overridable by the environment', async () => {
    const text = await readFile(`${ROOT}/app.yml`, 'utf8');
    expect(defaultsFromManifest(text)).toEqual({ schedule: '0 */2 * * *', timezone: 'Etc/UTC' });
    expect(await loadScheduleDefaults(`${ROOT}/app.yml`, {})).toEqual({ schedule: '0 */2 * * *', timezone: 'Etc/UTC' });
    expect(
      await loadScheduleDefaults(`${ROOT}/app.yml`, {
        POLICY_RECOMMENDER_SCHEDULE: '*/30 * * * *',
        POLICY_RECOMMENDER_TIMEZONE: 'Europe/Berlin',
      }),
    ).toEqual({
      schedule: '*/30 * * * *',
      timezone: 'Europe/Berlin',
    });
    await expect(loadScheduleDefaults(`${ROOT}/app.yml`, { POLICY_RECOMMENDER_SCHEDULE: 'hourly' })).rejects.toThrow(
      /schedule: not a cron expression/,
    );
    expect(defaultsFromManifest('name: x\n# policy-recommender:\n#   schedule: "5 * * * *"\nname2: y\n')).toEqual({
      schedule: '5 * * * *',
    });
  });
});
