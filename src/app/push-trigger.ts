// Which pushes ask for a run: a push to the default branch that touches the configuration, or a
// configured cluster's policies (a merge, or a person's commit). Decided from the push payload
// and what the app last read of the configuration, without a request to GitHub, so that a burst
// of pushes costs nothing before the (coalesced) run.

import { CONFIG_PATH } from '../config/repository-config.ts';

/**
 * GitHub lists at most 2048 of a push's commits (@octokit/openapi-webhooks-types 12.1.0,
 * types.d.ts, the push event's `commits`): with that many, the files changed are not all known.
 */
export const PUSH_COMMITS_LISTED = 2048;

export interface PushPayload {
  readonly ref: string;
  readonly deleted?: boolean;
  readonly forced?: boolean;
  readonly before?: string;
  readonly after?: string;
  readonly repository: { readonly default_branch?: string };
  readonly commits: readonly {
    readonly added?: readonly string[];
    readonly modified?: readonly string[];
    readonly removed?: readonly string[];
  }[];
}

export type PushTrigger =
  | { readonly kind: 'configuration'; readonly reason: string }
  | { readonly kind: 'policies'; readonly reason: string }
  | null;

/**
 * What a push asks for. `clusterPaths` are the configured clusters' directories ('' = the whole
 * repository), or undefined when the configuration has not been read yet: then any push to the
 * default branch asks for a run (which reads it).
 */
export function pushTrigger(push: PushPayload, clusterPaths: readonly string[] | undefined): PushTrigger {
  const branch = push.repository.default_branch;
  if (branch === undefined || push.ref !== `refs/heads/${branch}` || push.deleted) return null;
  // A history rewritten, or more commits than GitHub lists: which files changed is not known.
  const unknown =
    push.forced === true || push.commits.length >= PUSH_COMMITS_LISTED || (push.commits.length === 0 && push.before !== push.after);
  if (unknown) return { kind: 'configuration', reason: `push to ${branch} (files unknown)` };
  const files = new Set(push.commits.flatMap((c) => [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])]));
  if (files.has(CONFIG_PATH)) return { kind: 'configuration', reason: 'configuration changed' };
  if (clusterPaths === undefined)
    return files.size > 0 ? { kind: 'configuration', reason: `push to ${branch} (configuration not read yet)` } : null;
  for (const path of clusterPaths) {
    const under = (file: string) => path === '' || file === path || file.startsWith(`${path}/`);
    if ([...files].some(under)) return { kind: 'policies', reason: `push to ${branch} under ${path === '' ? '/' : path}` };
  }
  return null;
}
