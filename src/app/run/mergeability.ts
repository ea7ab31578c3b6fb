// Does an open pull request still merge cleanly into the default branch? Asked when the default
// branch moved since the PR's commit (another PR merged, a person committed): the bot rebuilds a PR
// that conflicts and leaves alone one that does not, so its commits (and reviews) stay.
//
// GitHub has the answer too, but computes it asynchronously: REST `mergeable` is null and GraphQL
// `PullRequest.mergeable` UNKNOWN until a background job finishes (@octokit/graphql-schema
// schema.graphql, enum MergeableState: MERGEABLE, CONFLICTING, UNKNOWN "still being calculated";
// @octokit/openapi api.github.com.json: `pull-request.mergeable` a nullable boolean, only on the
// single-PR endpoint, absent from lists), and a run triggered by the
// push that merged a PR is exactly when it is still unknown. So the run compares itself, from
// what the PR's state recorded (the tree it was built on and the paths it changes): only paths
// the default branch changed since can conflict, and for those a three-way line merge
// (repo/merge3.ts) decides, as git would. A state without that record (written by an earlier
// release) is not checked: such a PR is rebuilt whenever its files would change, as before.

import { mergeText } from '../../tree/merge3.ts';
import type { BranchHead, Repository } from '../github/repository.ts';
import { keyId } from '../state/proposal-key.ts';
import { mergeabilityMatters, type UnitFacts } from './decide.ts';

/**
 * Per unit (key id) with an open PR that was checked: whether it merges cleanly into `head`.
 * Costs one tree listing per distinct base tree (the head's is the run's own, cached), and for
 * each path the default branch changed under a PR, the PR's version of the file.
 */
export async function mergeability(
  repo: Repository,
  head: BranchHead,
  facts: readonly UnitFacts[],
  clusterPath: (cluster: string) => string | undefined,
): Promise<Map<string, boolean>> {
  const listings = new Map<string, Promise<Map<string, string>>>();
  const list = (tree: string, prefix: string) => {
    const id = `${tree}\0${prefix}`;
    if (!listings.has(id))
      listings.set(
        id,
        repo.listFiles(tree, prefix).then((entries) => new Map(entries.map((e) => [e.path, e.sha]))),
      );
    return listings.get(id)!;
  };
  const out = new Map<string, boolean>();
  for (const f of facts) {
    const pr = f.openPullRequest;
    const base = f.state?.base;
    const prefix = clusterPath(f.cluster);
    // Only where the answer decides something (a person's branch, a PR rebuilt anyway: not asked).
    if (pr === null || base === undefined || prefix === undefined || !mergeabilityMatters(f)) continue;
    if (base.tree === head.treeSha) {
      out.set(keyId(f.key), true);
      continue;
    }
    const [before, now] = await Promise.all([list(base.tree, prefix), list(head.treeSha, prefix)]);
    const moved = base.paths.filter((path) => before.get(path) !== now.get(path));
    let clean = true;
    for (const path of moved) {
      const [shaBefore, shaNow] = [before.get(path), now.get(path)];
      const blobs = await repo.readBlobs([shaBefore, shaNow].filter((s): s is string => s !== undefined));
      const theirs = await repo.readFile(pr.headOid, path);
      const merged = mergeText(
        shaBefore === undefined ? null : (blobs.get(shaBefore) ?? null),
        shaNow === undefined ? null : (blobs.get(shaNow) ?? null),
        theirs,
      );
      if (!merged.clean) {
        clean = false;
        break;
      }
    }
    out.set(keyId(f.key), clean);
  }
  return out;
}
