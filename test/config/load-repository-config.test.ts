// Which files `_extends` may read, by the visibility of the repositories involved (GET
// /repos/{owner}/{repo}'s `visibility`: "public, private, or internal", @octokit/openapi
// api.github.com.json, full-repository). The fake GitHub has public and private repositories
// only; internal ones are GitHub Enterprise Cloud's, so the rule is checked here against a reader
// that answers from a table (the App's runs check the rest in configuration-problems.test.ts).

import { describe, expect, test } from '@jest/globals';
import { type ConfigReader, loadRepositoryConfig, MAX_EXTENDED, type Visibility } from '../../src/config/load-repository-config.ts';
import { CONFIG_PATH } from '../../src/config/repository-config.ts';

const defaults = { schedule: '0 */2 * * *', timezone: 'UTC' };
const OWN = 'clusters:\n  - name: prod\n    path: clusters/prod\n';

function reader(
  repos: Record<string, { visibility: Visibility | null; files: Record<string, string> }>,
): ConfigReader & { asked: string[] } {
  const asked: string[] = [];
  const repo = (owner: string, name: string) => (Object.hasOwn(repos, `${owner}/${name}`) ? repos[`${owner}/${name}`]! : null);
  return {
    asked,
    async readFile(owner, name, path) {
      asked.push(`file ${owner}/${name}:${path}`);
      const text = repo(owner, name)?.files[path];
      return text === undefined ? { kind: 'absent' } : { kind: 'file', text };
    },
    async visibility(owner, name) {
      asked.push(`visibility ${owner}/${name}`);
      return repo(owner, name)?.visibility ?? null;
    },
  };
}

async function load(own: Visibility, extended: Visibility | null, reference = 'base'): Promise<string> {
  const r = reader({
    'acme/policies': { visibility: own, files: { [CONFIG_PATH]: `_extends: ${reference}\n${OWN}`, '.github/base.yml': 'maxRules: 5\n' } },
    'acme/base': { visibility: extended, files: { [CONFIG_PATH]: 'maxRules: 5\n' } },
  });
  const loaded = await loadRepositoryConfig(r, { owner: 'acme', repo: 'policies' }, defaults);
  if (loaded.kind === 'valid') return `valid: maxRules ${loaded.config.recommendation.maxRules}`;
  if (loaded.kind === 'invalid')
    return loaded.issues
      .map((i) => `${i.path}: ${i.message}`)
      .join('; ')
      .replace(/: only this repository.*/, ': (the rule)');
  return 'absent';
}

const REFUSED = '_extends: "base" is refused: it reads a repository whose files this repository\'s readers may not read: (the rule)';

describe('a repository extending another repository of its owner', () => {
  test.each<[Visibility, Visibility | null, string]>([
    ['public', 'public', 'valid: maxRules 5'],
    ['internal', 'public', 'valid: maxRules 5'],
    ['private', 'public', 'valid: maxRules 5'],
    ['internal', 'internal', 'valid: maxRules 5'],
    // Outside collaborators of a private repository cannot read internal repositories.
    ['private', 'internal', REFUSED],
    ['public', 'internal', REFUSED],
    // Two private repositories have their own readers, which the App cannot compare.
    ['private', 'private', REFUSED],
    ['internal', 'private', REFUSED],
    ['public', 'private', REFUSED],
    // One the installation cannot read: the same answer (no way to tell it exists).
    ['private', null, REFUSED],
  ])('this one %s, the extended one %s', async (own, extended, expected) => {
    expect(await load(own, extended)).toBe(expected);
  });

  test('its own repository (another file) is always readable by its readers: no visibility is asked', async () => {
    const r = reader({
      'acme/policies': {
        visibility: 'private',
        files: { [CONFIG_PATH]: `_extends: policies:.github/base.yml\n${OWN}`, '.github/base.yml': 'maxRules: 7\n' },
      },
    });
    const loaded = await loadRepositoryConfig(r, { owner: 'acme', repo: 'policies' }, defaults);
    expect(loaded).toMatchObject({ kind: 'valid', config: { recommendation: { maxRules: 7 } } });
    expect(r.asked).toEqual([`file acme/policies:${CONFIG_PATH}`, 'file acme/policies:.github/base.yml']);
  });

  test(`a chain of more than ${MAX_EXTENDED} configurations is refused`, async () => {
    const files = (next: string) => ({ visibility: 'public' as const, files: { [CONFIG_PATH]: `_extends: ${next}\n` } });
    const r = reader({
      'acme/policies': { visibility: 'public', files: { [CONFIG_PATH]: `_extends: a\n${OWN}` } },
      'acme/a': files('b'),
      'acme/b': files('c'),
      'acme/c': files('d'),
      'acme/d': { visibility: 'public', files: { [CONFIG_PATH]: '' } },
    });
    const loaded = await loadRepositoryConfig(r, { owner: 'acme', repo: 'policies' }, defaults);
    expect(loaded).toEqual({
      kind: 'invalid',
      issues: [{ path: '_extends', message: `"a" is refused: it extends more than ${MAX_EXTENDED} configurations in a chain` }],
    });
    expect(r.asked).not.toContain(`file acme/d:${CONFIG_PATH}`);
  });

  test('without its own file, a repository is not configured (no fallback to the owner’s .github repository)', async () => {
    const r = reader({
      'acme/.github': { visibility: 'public', files: { [CONFIG_PATH]: OWN } },
      'acme/policies': { visibility: 'public', files: {} },
    });
    expect(await loadRepositoryConfig(r, { owner: 'acme', repo: 'policies' }, defaults)).toEqual({ kind: 'absent' });
    expect(r.asked).toEqual([`file acme/policies:${CONFIG_PATH}`]);
  });

  test('an empty file is a configuration (it names no cluster)', async () => {
    const r = reader({ 'acme/policies': { visibility: 'public', files: { [CONFIG_PATH]: '# nothing yet\n' } } });
    expect(await loadRepositoryConfig(r, { owner: 'acme', repo: 'policies' }, defaults)).toEqual({
      kind: 'invalid',
      issues: [{ path: 'clusters', message: 'required: a list' }],
    });
  });
});
