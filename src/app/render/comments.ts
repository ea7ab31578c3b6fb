// The comments the bot writes on its pull requests, each with a hidden marker so that it is said
// exactly once: whoever says it (a webhook, or a run catching up on one that failed) checks for
// the marker first.

import { describeKey, type ProposalKey } from '../../plan/lifecycle/unit-key.ts';
import { code } from './markdown.ts';

export const DISMISSED_MARKER = '<!-- policy-recommender:dismissed -->';

/** What closing a PR unmerged means, said once on the PR. */
export function dismissalComment(key: ProposalKey): string {
  const cluster = `(cluster ${code(key.cluster)})`;
  switch (key.kind) {
    case 'namespace':
      return (
        `Dismissed: policy-recommender will not propose namespace ${code(key.namespace)} ${cluster} again. ` +
        `To undo, restore the branch and reopen this pull request, or tick its box on the "Policy recommendations" issue.\n\n${DISMISSED_MARKER}`
      );
    case 'workloads':
    case 'enforce':
    case 'enforce-workloads':
    case 'enforce-default-deny': {
      if (key.kind === 'workloads')
        return `Dismissed: policy-recommender will not propose policies for ${code(describeKey(key))} ${cluster} again. To undo, restore the branch and reopen this pull request.\n\n${DISMISSED_MARKER}`;
      const staged = key.kind === 'enforce-workloads' && key.workload === undefined ? 'they stay staged' : 'it stays staged';
      return `Dismissed: policy-recommender will not propose enforcing ${code(describeKey(key).replace(/ \(enforce\)$/, ''))} ${cluster} again: ${staged}. To undo, restore the branch and reopen this pull request.\n\n${DISMISSED_MARKER}`;
    }
    case 'bootstrap':
      return (
        `Dismissed: policy-recommender will not propose the cluster-wide files ${cluster} again. Policies that name a tier the cluster does not have cannot be applied: ` +
        `add the tiers yourself, or restore the branch and reopen this pull request.\n\n${DISMISSED_MARKER}`
      );
  }
}
