// Reads a repository's `.github/policy-recommender.yml` and the configurations it extends, and
// validates the result. Every problem becomes a configuration issue for the dashboard (never an
// exception that fails a webhook): YAML errors with their line and column, like unknown keys.
//
// `_extends` (the syntax of Probot's loader, @probot/octokit-plugin-config 4.1.0:
// `<repo>`, `<owner>/<repo>`, `<owner>/<repo>:<path>.yml`; keys merged shallowly, the
// extending file's win) must not become a way to read files the repository's own members could
// not: the App's installation may read repositories they cannot. So an extended file is only read
// from a repository that
// - has the same owner,
// - is this repository, or is public, or is internal while this one is internal (a private
//   repository's readers may include outside collaborators, who cannot read internal ones, and
//   the App cannot know that the readers of one private repository can read another),
// and only a file that validates as a policy-recommender configuration is used. A refusal names
// only what this repository's own file says; nothing read from an extended file (its keys, values
// or YAML errors) is reported: whoever may read it can check it where it is.
// Unlike Probot's loader, a repository without its own file is not configured by its owner's
// `.github` repository: a repository is onboarded by its own file.

import { isPlainObject, type PlainObject } from '../util/plain.ts';
import { ConfigError, type ConfigIssue } from './config-error.ts';
import { readConfigYaml, tooLarge, yamlIssue } from './config-yaml.ts';
import {
  CONFIG_PATH,
  extendedConfigIssues,
  type RepositoryConfig,
  type ScheduleDefaults,
  validateRepositoryConfig,
} from './repository-config.ts';

export type Visibility = 'public' | 'internal' | 'private';

export type ConfigFile =
  | { readonly kind: 'file'; readonly text: string }
  | { readonly kind: 'absent' }
  /** A directory or a submodule. */
  | { readonly kind: 'not-a-file' }
  | { readonly kind: 'too-large'; readonly size: number };

/** How the loader reads GitHub (github/github-config-reader.ts), on each repository's default branch. */
export interface ConfigReader {
  readFile(owner: string, repo: string, path: string): Promise<ConfigFile>;
  /** The repository's visibility; null when the installation cannot read it (or it does not exist). */
  visibility(owner: string, repo: string): Promise<Visibility | null>;
}

export type LoadedConfig =
  | { readonly kind: 'absent' }
  | { readonly kind: 'valid'; readonly config: RepositoryConfig }
  | { readonly kind: 'invalid'; readonly issues: readonly ConfigIssue[] };

/** Configurations a chain of `_extends` may add to the repository's own. */
export const MAX_EXTENDED = 3;

/** Probot's syntax (extends-to-get-content-params.js of @probot/octokit-plugin-config 4.1.0). */
const EXTENDS = /^(?:([a-z\d](?:[a-z\d]|-(?=[a-z\d])){0,38})\/)?([-_.\w\d]+)(?::([-_./\w\d]+\.ya?ml))?$/i;

interface FileRef {
  readonly owner: string;
  readonly repo: string;
  readonly path: string;
}

export async function loadRepositoryConfig(
  reader: ConfigReader,
  target: { owner: string; repo: string },
  defaults: ScheduleDefaults,
): Promise<LoadedConfig> {
  const own = await reader.readFile(target.owner, target.repo, CONFIG_PATH);
  if (own.kind === 'absent') return { kind: 'absent' };
  const invalid = (...issues: ConfigIssue[]): LoadedConfig => ({ kind: 'invalid', issues });
  if (own.kind === 'not-a-file') return invalid({ path: '', message: `${CONFIG_PATH} is not a file` });
  if (own.kind === 'too-large') return invalid(yamlIssue(tooLarge(own.size)));
  const read = readConfigYaml(own.text);
  if (!read.ok) return invalid(yamlIssue(read.problem));
  if (read.value !== null && !isPlainObject(read.value)) return invalid({ path: '', message: 'must be a YAML mapping of keys' });
  const ownValue: PlainObject = read.value ?? {};

  // The repository's own file, then each file it extends, in turn.
  const layers: PlainObject[] = [ownValue];
  const reference = ownValue['_extends'];
  if (reference !== undefined) {
    const first = parseReference(reference, target.owner);
    if (first === null) return invalid({ path: '_extends', message: 'must be <repo>, <owner>/<repo> or <owner>/<repo>:<path>.yml' });
    const refused = (why: string): LoadedConfig => invalid({ path: '_extends', message: `"${String(reference)}" is refused: ${why}` });
    const seen = new Set([refId({ ...target, path: CONFIG_PATH })]);
    let targetVisibility: Visibility | null | undefined;
    let next: FileRef | null = first;
    while (next !== null) {
      const hop = layers.length === 1 ? 'it' : 'a configuration it extends in turn';
      if (layers.length > MAX_EXTENDED) return refused(`it extends more than ${MAX_EXTENDED} configurations in a chain`);
      if (seen.has(refId(next))) return refused(`${hop} extends a configuration already extended (a loop)`);
      seen.add(refId(next));
      const sameRepository =
        next.owner.toLowerCase() === target.owner.toLowerCase() && next.repo.toLowerCase() === target.repo.toLowerCase();
      if (!sameRepository) {
        targetVisibility ??= (await reader.visibility(target.owner, target.repo)) ?? 'public';
        const visibility = next.owner.toLowerCase() === target.owner.toLowerCase() ? await reader.visibility(next.owner, next.repo) : null;
        if (visibility === null || !atLeastAsVisible(visibility, targetVisibility)) {
          return refused(
            `${hop} reads a repository whose files this repository's readers may not read: only this repository, or a repository of the same owner that is public (or internal, when this one is internal) can be extended`,
          );
        }
      }
      const file = await reader.readFile(next.owner, next.repo, next.path);
      if (file.kind === 'absent') return refused(`${hop} names a file that does not exist`);
      const value = file.kind === 'file' ? readConfigYaml(file.text) : null;
      const layer = value?.ok ? (value.value ?? {}) : undefined;
      if (!isPlainObject(layer)) return refused(`${hop} is not a policy-recommender configuration (check it in its own repository)`);
      const further = layer['_extends'];
      const nextRef = further === undefined ? null : parseReference(further, target.owner);
      const { _extends: _, ...keys } = layer;
      if ((further !== undefined && nextRef === null) || extendedConfigIssues(keys, defaults).length > 0) {
        return refused(`${hop} is not a valid policy-recommender configuration (check it in its own repository)`);
      }
      layers.push(layer);
      next = nextRef;
    }
  }

  // Probot's merge: the extended files' keys, each replaced by those of the files extending it.
  const merged: PlainObject = Object.fromEntries(
    layers
      .toReversed()
      .flatMap((layer) => Object.entries(layer))
      .filter(([key]) => key !== '_extends'),
  );
  try {
    return { kind: 'valid', config: validateRepositoryConfig(merged, defaults) };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // A problem under a key that comes from an extended file is not described: its path or message could quote that file.
    const fromOwn = (issue: ConfigIssue): boolean => {
      const top = issue.path.split('.')[0]!;
      return issue.path === '' || Object.hasOwn(ownValue, top) || !layers.some((layer) => Object.hasOwn(layer, top));
    };
    const issues = e.issues.filter(fromOwn);
    if (issues.length < e.issues.length) {
      issues.push({
        path: '_extends',
        message: `the configuration "${String(reference)}" extends does not fit this file (each is valid alone): set its keys here to override them, or fix it where it is`,
      });
    }
    return invalid(...issues);
  }
}

function parseReference(value: unknown, owner: string): FileRef | null {
  if (typeof value !== 'string') return null;
  const match = EXTENDS.exec(value);
  return match === null ? null : { owner: match[1] ?? owner, repo: match[2]!, path: match[3] ?? CONFIG_PATH };
}

function refId(ref: FileRef): string {
  return `${ref.owner}/${ref.repo}:${ref.path}`.toLowerCase();
}

/** Whoever can read a repository of visibility `reader` can read one of visibility `extended` (same owner, another repository). */
function atLeastAsVisible(extended: Visibility, reader: Visibility): boolean {
  return extended === 'public' || (extended === 'internal' && reader === 'internal');
}
