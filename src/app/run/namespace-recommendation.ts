// The files one namespace's pull request should contain: the engine's plan for that namespace
// alone, run on the default branch's tree with the PR's own policy file as memory (while a PR is
// open, rules learned in earlier runs live there). Pure.

import type { RecommendationConfig } from '../../config/recommendation-config.ts';
import type { ObservedAtom } from '../../engine/model.ts';
import type { NamespaceReport } from '../../engine/report.ts';
import { planRecommendations, type NamespaceContext } from '../../pipeline/plan.ts';
import { ensureReachable } from '../../repo/kustomize.ts';
import { TreeOverlay, type TreeFiles } from '../../repo/tree.ts';
import { contentHash } from '../state/pull-request-state.ts';

export interface NamespaceRecommendationInput {
  readonly namespace: string;
  /** The cluster's directory in the repository ('' = root). */
  readonly clusterPath: string;
  /** The default branch's files below the cluster path, keyed relative to it. */
  readonly tree: TreeFiles;
  readonly template: TreeFiles;
  readonly observed: readonly ObservedAtom[];
  readonly config: RecommendationConfig;
  readonly now: number;
  readonly namespaces?: NamespaceContext;
  /** The open PR's policy file (relative path and text), used as memory. */
  readonly memory: { path: string; text: string } | null;
}

export interface NamespaceRecommendation {
  /** Repository paths whose content differs from the default branch: what the PR proposes. */
  readonly files: ReadonlyMap<string, string>;
  /** Which of those files are new. */
  readonly added: ReadonlySet<string>;
  readonly hash: string;
  readonly report: NamespaceReport;
  /** The policy file, relative to the cluster path, and its proposed content. */
  readonly policyPath: string;
  readonly policy: string | null;
  readonly warnings: NamespaceReport['warnings'];
}

export function recommendNamespace(input: NamespaceRecommendationInput): NamespaceRecommendation | null {
  const memoryTree = new Map(input.tree);
  if (input.memory !== null) memoryTree.set(input.memory.path, input.memory.text);
  const plan = planRecommendations({
    tree: memoryTree,
    template: input.template,
    observations: new Map(input.observed.length > 0 ? [[input.namespace, input.observed]] : []),
    config: input.config,
    now: input.now,
    onlyNamespace: input.namespace,
    ...(input.namespaces ? { namespaces: input.namespaces } : {}),
  });
  const report = plan.namespaces.find((n) => n.namespace === input.namespace);
  if (report === undefined) return null;

  // The engine makes a policy file reachable from the kustomizations when it writes it; one it
  // keeps as it is (the memory, unchanged) must be listed too, as it is not on the default branch.
  const overlay = new TreeOverlay(new Map([...memoryTree, ...plan.changes]));
  if (overlay.has(report.path) && !input.tree.has(report.path)) ensureReachable(overlay, report.path);
  const finalTree = new Map([...memoryTree, ...plan.changes, ...overlay.changes()]);
  const prefix = input.clusterPath === '' ? '' : `${input.clusterPath}/`;
  const files = new Map<string, string>();
  const added = new Set<string>();
  for (const [path, text] of [...finalTree].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (input.tree.get(path) === text) continue;
    files.set(prefix + path, text);
    if (!input.tree.has(path)) added.add(prefix + path);
  }
  return {
    files,
    added,
    hash: contentHash(files),
    report,
    policyPath: report.path,
    policy: finalTree.get(report.path) ?? null,
    warnings: [...report.warnings, ...plan.warnings],
  };
}
