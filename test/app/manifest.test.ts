import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from '@jest/globals';
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

let server: ChildProcess | undefined;
afterAll(() => {
  server?.kill();
});

/** Starts `npm start`'s entry without credentials (Probot's setup flow) and reads its setup page. */
async function setupPage(): Promise<string> {
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
  server = spawn(process.execPath, [MAIN], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (let i = 0; i < 100; i++) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/probot`);
      if (response.ok) return await response.text();
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the setup server did not start');
}

describe('app.yml and the setup flow', () => {
  test('the manifest Probot sends to GitHub holds only GitHub manifest keys, least privilege, and the handled events', async () => {
    const html = await setupPage();
    // The page POSTs the manifest from this attribute; it must survive the HTML intact.
    const value = /name="manifest" id="manifest" value='([^']*)'/.exec(html)?.[1];
    expect(value).toBeDefined();
    const manifest = JSON.parse(value!.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as Record<string, unknown>;
    // Probot itself adds "version"; everything from app.yml is a GitHub key.
    const ours = Object.keys(manifest).filter((k) => k !== 'version');
    expect(ours.filter((k) => !GITHUB_MANIFEST_KEYS.includes(k))).toEqual([]);
    expect(manifest['default_permissions']).toEqual({ contents: 'write', pull_requests: 'write', issues: 'write', metadata: 'read' });
    expect(manifest['default_events']).toEqual(['issue_comment', 'issues', 'pull_request', 'push']);
    expect(manifest['public']).toBe(false);
    expect(JSON.stringify(manifest)).not.toMatch(/schedule|timezone/);
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
