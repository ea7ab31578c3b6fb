// The body of a cluster's bootstrap pull request: the cluster-wide files its tree lacks (the
// template's tiers and staged global default deny), why they exist, and how it relates to the
// namespace pull requests. Kept apart from the recommendation PRs so that no two PRs add the same
// file: each can be merged in any order without conflicting with another.

import { encodeState, type PullRequestState } from '../state/pull-request-state.ts';
import { code, text } from './markdown.ts';

export interface BootstrapContent {
  readonly cluster: string;
  readonly title: string;
  /** Repository paths and whether each is new. */
  readonly files: readonly { path: string; added: boolean }[];
  readonly warnings: readonly { readonly message: string }[];
  readonly state: PullRequestState;
}

export function renderBootstrapBody(c: BootstrapContent): string {
  const tiers = c.files.some((f) => /tiers\.ya?ml$/.test(f.path));
  const why = [
    `This adds the cluster-wide files that the recommended policies of cluster ${code(c.cluster)} rely on, and that its tree does not have yet:`,
    '',
    ...(tiers
      ? [
          '- **the tiers**, in evaluation order: Calico refuses a policy whose tier does not exist, so the namespace (and workload) policies can only be applied once their tier is;',
        ]
      : []),
    '- **a staged global default deny** (sparing the system namespaces): it denies nothing; Calico reports what it would deny, and enforcing it is proposed last, once every selected namespace has an enforced policy.',
  ].join('\n');
  const order = [
    'The recommendation pull requests of this cluster never touch these files, so all of them, this one included, merge without conflicts in any order.',
    `**Merge this one first** all the same: until it is merged, Argo CD and Flux cannot apply a merged recommendation (Calico refuses a policy naming a tier it does not have); they apply it at their next sync after this one is merged.`,
    '- **Close** to dismiss it: the files are not proposed again; define the tiers yourself (by kind and name, in any file of the tree).',
  ].join('\n\n');
  const out = [`## ${text(c.title)}`, why, order, '**Status: Ready for review.**'];
  if (c.warnings.length > 0) out.push(`### Warnings\n\n${c.warnings.map((w) => `- ${text(w.message)}`).join('\n')}`);
  out.push(`### Files\n\n${c.files.map((f) => `- ${code(f.path)}${f.added ? ' (new)' : ''}`).join('\n')}`);
  return `${out.join('\n\n')}\n\n${encodeState(c.state)}\n`;
}
