// Every problem with `.github/policy-recommender.yml` is reported on the dashboard, where people
// look, with its line and column for YAML; the namespaces' states stay visible; the webhook that
// brought the change never fails for it. `_extends` reads only what the repository's own readers
// could read, and nothing from an extended file appears on the dashboard.
// Whole App runs (Probot, Octokit) against the fake GitHub.

import { afterEach, describe, expect, test } from '@jest/globals';
import { decodeDashboardState } from '../../src/app/render/dashboard.ts';
import { branchName } from '../../src/app/state/proposal-key.ts';
import { MAX_CONFIG_BYTES } from '../../src/config/config-yaml.ts';
import { CONFIG_PATH } from '../../src/config/repository-config.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, CONFIG, HOUR, stopClean } from './support/app-harness.ts';

useNock();

let h: AppHarness;
// No error or warning logged: a configuration problem is the repository's, reported to it.
afterEach(() => stopClean(h));

const shop = { namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432 } as const;
/** The dashboard as it reads (Markdown and HTML escapes removed). */
const dashboard = () =>
  h.dashboard().replaceAll('\\', '').replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
const configErrors = () => /## Configuration errors\n\n[^\n]*\n\n((?:- [^\n]*\n?)+)/.exec(dashboard())?.[1]?.trim().split('\n') ?? [];

/** A running repository with a PR for `shop`, whose configuration is then replaced by `text` (a push). */
async function brokenBy(text: string): Promise<void> {
  h = await AppHarness.start();
  await h.see(shop);
  await h.run('first');
  expect(h.repo.pullRequestFor(branchName('prod', 'shop'))).toMatchObject({ state: 'open' });
  h.now += HOUR;
  h.repo.commitToDefault({ [CONFIG_PATH]: text }, 'edit the configuration');
  // The push webhook: handled (no exception, so no 500 to GitHub), and it runs the repository.
  await expect(h.deliver()).resolves.toBeUndefined();
}

describe('a configuration that is not valid YAML', () => {
  test('a tab: reported with its line and column; the namespaces stay as they were, and the memory too', async () => {
    await brokenBy('clusters:\n\t- name: prod\n\t  path: clusters/prod\n');
    const before = decodeDashboardState(h.dashboard());
    expect(configErrors()).toEqual(['- not valid YAML at line 2, column 1: Tabs are not allowed as indentation']);
    expect(dashboard()).toContain('The namespaces below are as the last run with a valid configuration left them.');
    expect(dashboard()).toMatch(/## Cluster `prod` \(`clusters\/prod`\)[\s\S]*\| `shop` \| Learning \| #1 \|/);
    expect(before.flowsReadUntil).toEqual({ prod: h.now - HOUR });
    // Nothing else happened: no new PR, no branch pushed.
    expect(h.repo.pullRequests()).toHaveLength(1);

    // Another run while it is still broken keeps the same sections, once.
    h.now += HOUR;
    await h.run('again');
    expect(dashboard().match(/## Cluster `prod`/g)).toHaveLength(1);
    expect(decodeDashboardState(h.dashboard())).toEqual(before);

    // Fixed: the next push runs normally, from where the flows were read.
    h.repo.commitToDefault({ [CONFIG_PATH]: CONFIG }, 'fix');
    await h.deliver();
    expect(dashboard()).not.toContain('Configuration errors');
    expect(dashboard()).not.toContain('The namespaces below are as the last run');
    expect(decodeDashboardState(h.dashboard()).flowsReadUntil).toEqual({ prod: h.now });
  });

  test.each([
    [
      'an unclosed flow sequence',
      'clusters: [prod\n',
      'not valid YAML at line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
    [
      'a key given twice',
      'clusters: []\nschedule: "0 * * * *"\nclusters: []\n',
      'not valid YAML at line 3, column 1: Map keys must be unique',
    ],
    [
      'two documents',
      `${CONFIG}\n---\nclusters: []\n`,
      'not valid YAML at line 9, column 1: Source contains multiple documents; please use YAML.parseAllDocuments()',
    ],
    [
      'an alias bomb',
      'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n',
      'not valid YAML at line 2, column 8: more than 10 aliases once expanded: write the values out',
    ],
    [
      'an alias without its anchor',
      'clusters: *list\n',
      'not valid YAML at line 1, column 11: an alias (*name) whose anchor (&name) is not defined before it',
    ],
    [
      'a file too large for a configuration',
      `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n${CONFIG}`,
      `not valid YAML: the file has ${MAX_CONFIG_BYTES + 3 + CONFIG.length} bytes, more than the ${MAX_CONFIG_BYTES} a configuration may have`,
    ],
    ['a list', '- clusters\n', 'must be a YAML mapping of keys'],
  ])('%s', async (_, text, message) => {
    await brokenBy(text);
    expect(configErrors()).toEqual([`- ${message}`]);
    expect(dashboard()).toMatch(/\| `shop` \| Learning \| #1 \|/);
  });

  test('keys named like built-in object properties are unknown keys, never a prototype', async () => {
    await brokenBy(`${CONFIG}\n__proto__:\n  flavor: kubernetes\nconstructor: 1\n`);
    expect(configErrors()).toEqual(['- `__proto__`: unknown key', '- `constructor`: unknown key']);
  });

  test('a directory where the file should be', async () => {
    h = await AppHarness.start({ config: CONFIG, files: {} });
    h.repo.commitToDefault({ [CONFIG_PATH]: null, [`${CONFIG_PATH}/x.yml`]: CONFIG }, 'a directory');
    await h.run('first');
    expect(configErrors()).toEqual(['- .github/policy-recommender.yml is not a file']);
  });
});

describe('_extends', () => {
  const SECRET = 'clusters:\n  - name: topsecret\n    path: hidden-path\npullRequests:\n  labels: [confidential-label]\n';

  async function extending(reference: string, setUp: () => void): Promise<void> {
    h = await AppHarness.start({ config: `_extends: ${reference}\n${CONFIG}\n` });
    setUp();
    await h.see(shop);
    await h.run('first');
  }

  /** Refused: reported at `_extends`, nothing proposed, nothing of the extended file shown. */
  function expectRefused(why: RegExp, ...secrets: string[]): void {
    const errors = configErrors();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^- `_extends`: "[^"]+" is refused: /);
    expect(errors[0]).toMatch(why);
    expect(h.repo.pullRequests()).toEqual([]);
    for (const secret of ['topsecret', 'hidden-path', 'confidential-label', ...secrets]) expect(h.dashboard()).not.toContain(secret);
  }

  test('a public repository of the same owner with a valid configuration is extended: its keys apply, the repository’s own win', async () => {
    await extending('shared', () => {
      h.github.addRepository({
        owner: 'acme',
        name: 'shared',
        installationId: 7,
        files: { [CONFIG_PATH]: 'pullRequests:\n  labels: [team-network]\nmaxRules: 5\n' },
      });
    });
    expect(configErrors()).toEqual([]);
    const pr = h.repo.pullRequestFor(branchName('prod', 'shop'))!;
    // Shallow merge as Probot's loader: this file's `pullRequests` replaces the extended one whole.
    expect(pr.labels).not.toContain('team-network');
  });

  test('keys only the extended file sets apply', async () => {
    h = await AppHarness.start({ config: '_extends: acme/shared:config/base.yml\nclusters:\n  - name: prod\n    path: clusters/prod\n' });
    h.github.addRepository({
      owner: 'acme',
      name: 'shared',
      installationId: 7,
      files: { 'config/base.yml': 'pullRequests:\n  labels: [team-network]\n  hourlyLimit: 0\n  concurrentLimit: 0\n' },
    });
    await h.see(shop);
    await h.run('first');
    expect(configErrors()).toEqual([]);
    expect(h.repo.pullRequestFor(branchName('prod', 'shop'))!.labels).toContain('team-network');
  });

  test('a private repository of the same owner is refused (its readers are not this repository’s), and so is one the App cannot read, alike', async () => {
    await extending('secret', () => {
      h.github.addRepository({ owner: 'acme', name: 'secret', installationId: 7, private: true, files: { [CONFIG_PATH]: SECRET } });
    });
    expectRefused(
      /only this repository, or a repository of the same owner that is public \(or internal, when this one is internal\) can be extended/,
    );
    const privateRefusal = configErrors()[0]!.replace('secret', 'X');
    // No request read the private file.
    expect(h.github.requests().some((r) => r.path.startsWith('/repos/acme/secret/contents'))).toBe(false);
    await h.stop();

    await extending('elsewhere', () => {
      h.github.addRepository({ owner: 'acme', name: 'elsewhere', installationId: null, files: { [CONFIG_PATH]: SECRET } });
    });
    expectRefused(/only this repository/);
    expect(configErrors()[0]!.replace('elsewhere', 'X')).toBe(privateRefusal);
  });

  test('another owner’s repository is refused without a request to it', async () => {
    await extending('other-org/shared', () => {
      h.github.addRepository({ owner: 'other-org', name: 'shared', installationId: null, files: { [CONFIG_PATH]: SECRET } });
    });
    expectRefused(/only this repository/);
    expect(h.github.requests().some((r) => r.path.startsWith('/repos/other-org/'))).toBe(false);
  });

  test('a file that is not a policy-recommender configuration is refused, without a word of what it holds', async () => {
    await extending('acme/shared:.github/dependabot.yml', () => {
      h.github.addRepository({
        owner: 'acme',
        name: 'shared',
        installationId: 7,
        files: { '.github/dependabot.yml': 'version: 2\nupdates:\n  - package-ecosystem: npm\n    registries: [private-registry-token]\n' },
      });
    });
    expectRefused(
      /it is not a valid policy-recommender configuration \(check it in its own repository\)/,
      'version',
      'updates',
      'package-ecosystem',
      'private-registry-token',
    );
  });

  test('a configuration with one bad value is not a valid configuration either, and its YAML errors are not shown', async () => {
    await extending('shared', () => {
      h.github.addRepository({
        owner: 'acme',
        name: 'shared',
        installationId: 7,
        files: { [CONFIG_PATH]: 'maxRules: confidential-value\n' },
      });
    });
    expectRefused(/not a valid policy-recommender configuration/, 'maxRules', 'confidential-value');
    await h.stop();
    await extending('shared', () => {
      h.github.addRepository({
        owner: 'acme',
        name: 'shared',
        installationId: 7,
        files: { [CONFIG_PATH]: 'confidential-key: [unclosed\n' },
      });
    });
    expectRefused(/is not a policy-recommender configuration/, 'confidential-key', 'line');
  });

  test('a file that does not exist', async () => {
    await extending('shared:config/missing.yml', () => {
      h.github.addRepository({ owner: 'acme', name: 'shared', installationId: 7 });
    });
    expectRefused(/it names a file that does not exist/);
  });

  test('a chain is checked at every step: a public file extending a private one is refused', async () => {
    await extending('shared', () => {
      h.github.addRepository({
        owner: 'acme',
        name: 'shared',
        installationId: 7,
        files: { [CONFIG_PATH]: '_extends: secret\nmaxRules: 5\n' },
      });
      h.github.addRepository({ owner: 'acme', name: 'secret', installationId: 7, private: true, files: { [CONFIG_PATH]: SECRET } });
    });
    expectRefused(/a configuration it extends in turn reads a repository whose files this repository's readers may not read/);
  });

  test('a loop is refused', async () => {
    await extending('shared', () => {
      h.github.addRepository({
        owner: 'acme',
        name: 'shared',
        installationId: 7,
        files: { [CONFIG_PATH]: '_extends: policies\nmaxRules: 5\n' },
      });
    });
    expectRefused(/extends a configuration already extended \(a loop\)/);
  });

  test('a value of the extended file that does not fit this one is reported without its key or value', async () => {
    // Alone, `initialLookback: 3d` is valid (the default schedule runs every 2 hours); with this
    // file's weekly schedule it is shorter than the interval.
    h = await AppHarness.start({ config: '_extends: shared\nschedule: "0 0 * * 0"\nclusters:\n  - name: prod\n    path: clusters/prod\n' });
    h.github.addRepository({ owner: 'acme', name: 'shared', installationId: 7, files: { [CONFIG_PATH]: 'initialLookback: 3d\n' } });
    await h.run('first');
    expect(configErrors()).toEqual([
      '- `_extends`: the configuration "shared" extends does not fit this file (each is valid alone): set its keys here to override them, or fix it where it is',
    ]);
    expect(h.dashboard()).not.toContain('initialLookback');
    expect(h.dashboard()).not.toContain('3d');
  });

  test('an _extends that is not a reference', async () => {
    h = await AppHarness.start({ config: `_extends: [a, b]\n${CONFIG}\n` });
    await h.run('first');
    expect(configErrors()).toEqual(['- `_extends`: must be <repo>, <owner>/<repo> or <owner>/<repo>:<path>.yml']);
  });
});
