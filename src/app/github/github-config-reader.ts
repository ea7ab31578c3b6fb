// The configuration loader's view of GitHub (config/load-repository-config.ts): a file on a
// repository's default branch through the contents API, and a repository's visibility.

import { MAX_CONFIG_BYTES } from '../../config/config-yaml.ts';
import type { ConfigFile, ConfigReader, Visibility } from '../../config/load-repository-config.ts';
import type { Octokit } from './github-repository.ts';

const notFound = (e: unknown): boolean => (e as { status?: number }).status === 404;

/**
 * `known`: visibilities already read (the run reads its repository anyway), so that a
 * configuration without `_extends` costs one request, as with Probot's loader.
 */
export function githubConfigReader(octokit: Octokit, known: ReadonlyMap<string, Visibility> = new Map()): ConfigReader {
  const visibilities = new Map(known);
  return {
    async readFile(owner, repo, path): Promise<ConfigFile> {
      let data: unknown;
      try {
        // GET /repos/{owner}/{repo}/contents/{path} with the `object` media type (@octokit/openapi,
        // api.github.com.json): a file is an object with `type`, `size`, `encoding` and `content`
        // (base64; empty with encoding "none" over 1 MB); a directory is an object with `entries`
        // (an array, in the default media type).
        ({ data } = await octokit.rest.repos.getContent({ owner, repo, path, mediaType: { format: 'object' } }));
      } catch (e) {
        if (notFound(e)) return { kind: 'absent' };
        throw e;
      }
      const item = data as { type?: unknown; size?: unknown; encoding?: unknown; content?: unknown };
      if (Array.isArray(data) || item.type !== 'file') return { kind: 'not-a-file' };
      const size = typeof item.size === 'number' ? item.size : Number.POSITIVE_INFINITY;
      if (size > MAX_CONFIG_BYTES || item.encoding !== 'base64' || typeof item.content !== 'string') return { kind: 'too-large', size };
      return { kind: 'file', text: Buffer.from(item.content, 'base64').toString('utf8') };
    },

    async visibility(owner, repo): Promise<Visibility | null> {
      const id = `${owner}/${repo}`.toLowerCase();
      const cached = visibilities.get(id);
      if (cached !== undefined) return cached;
      try {
        const { data } = await octokit.rest.repos.get({ owner, repo });
        const visibility = visibilityOf(data);
        visibilities.set(id, visibility);
        return visibility;
      } catch (e) {
        if (notFound(e)) return null;
        throw e;
      }
    },
  };
}

/**
 * GET /repos/{owner}/{repo}'s `visibility` ("public, private, or internal", full-repository in
 * @octokit/openapi), else its `private` flag; anything else counts as the least visible.
 */
export function visibilityOf(repository: { visibility?: string; private: boolean }): Visibility {
  const v = repository.visibility;
  if (v === 'public' || v === 'internal' || v === 'private') return v;
  return v === undefined && !repository.private ? 'public' : 'private';
}
