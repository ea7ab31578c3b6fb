// What one pull request proposes: the files that differ from the default branch for one unit of
// recommendations (a namespace's isolation policy, one workload's microsegmentation policy, or all
// of a namespace's workload policies), planned on the default branch's tree with the open pull
// request's policy files as memory (while a PR is open, the rules learned in earlier runs live
// there). Pure: the GitHub App opens, updates and closes one PR per unit.

import type { RecommendationConfig } from '../config/recommendation-config.ts';
import type { Observations } from '../engine/aggregate.ts';
import type { NetworkSetFacts } from '../engine/network-sets.ts';
import type { NamespaceReport, Warning, WorkloadReport } from '../engine/report.ts';
import type { RecommendationStatus } from '../engine/status.ts';
import type { Workload } from '../engine/workloads.ts';
import type { CalicoEdition } from '../flows/source.ts';
import { buildInventory } from '../tree/inventory.ts';
import { ensureReachable } from '../tree/kustomize.ts';
import { applyTemplate, type TierRequest } from '../tree/template.ts';
import { type TreeFiles, TreeOverlay } from '../tree/tree.ts';
import { minOf } from '../util/append.ts';
import { contentHash } from '../util/content-hash.ts';
import { type NamespaceContext, type Plan, planRecommendations } from './plan.ts';

export type ProposalUnit =
  /** The namespace's isolation policy (namespace-isolation/<ns>.yaml). */
  | { readonly kind: 'namespace'; readonly namespace: string }
  /** Microsegmentation: every selected workload of the namespace, or only `workload` (`<ns>/<Kind>/<name>`). */
  | { readonly kind: 'workloads'; readonly namespace: string; readonly workload?: string };

export interface ProposalInput {
  /** The cluster's directory in the repository ('' = root). */
  readonly clusterPath: string;
  /** The default branch's files below the cluster path, keyed relative to it. */
  readonly tree: TreeFiles;
  readonly template: TreeFiles;
  readonly observations: Pick<Observations, 'byNamespace' | 'endpoints'>;
  readonly config: RecommendationConfig;
  readonly now: number;
  readonly namespaces?: NamespaceContext;
  /** The cluster's workloads; without them, workloads are inferred from the flows. */
  readonly workloads?: readonly Workload[];
  /** The open pull request's policy files, relative to the cluster path: the engine's memory. */
  readonly memory?: TreeFiles;
  /** Network sets as the cluster has them. */
  readonly networkSets?: readonly NetworkSetFacts[];
  /** Which Calico the flows came from, when the source tells. */
  readonly calicoEdition?: CalicoEdition;
}

export interface Proposal {
  readonly unit: ProposalUnit;
  /** Repository paths whose content differs from the default branch: what the PR proposes. */
  readonly files: ReadonlyMap<string, string>;
  /** Which of those files are new. */
  readonly added: ReadonlySet<string>;
  /** Changes exactly when the files do. */
  readonly hash: string;
  /** The unit's namespace report (kind `namespace`), or none. */
  readonly namespaces: readonly NamespaceReport[];
  /** The unit's workload reports (kind `workloads`), sorted. */
  readonly workloads: readonly WorkloadReport[];
  /** The least advanced status of the unit's policies: a PR is ready when all of them are Stable. */
  readonly status: RecommendationStatus;
  /** When the unit's rules last changed (the latest of its policies), RFC 3339. */
  readonly lastUpdated: string | null;
  readonly warnings: readonly Warning[];
}

const STATUS_ORDER: readonly RecommendationStatus[] = ['Learning', 'Stabilizing', 'Stable'];

/** What the unit's pull request should propose now; null when the unit has no policy to propose. */
export function propose(input: ProposalInput, unit: ProposalUnit): Proposal | null {
  const memoryTree = new Map([...input.tree, ...(input.memory ?? [])]);
  const byNamespace = input.observations.byNamespace;
  const plan: Plan = planRecommendations({
    tree: memoryTree,
    template: input.template,
    observations:
      unit.kind === 'namespace'
        ? new Map(byNamespace.has(unit.namespace) ? [[unit.namespace, byNamespace.get(unit.namespace)!]] : [])
        : byNamespace,
    endpoints: input.observations.endpoints,
    config: input.config,
    now: input.now,
    ...(unit.kind === 'namespace'
      ? { onlyNamespace: unit.namespace }
      : {
          onlyWorkloads:
            unit.workload === undefined ? { namespace: unit.namespace } : { namespace: unit.namespace, workload: unit.workload },
        }),
    ...(input.namespaces ? { namespaces: input.namespaces } : {}),
    ...(input.workloads ? { workloads: input.workloads } : {}),
    ...(input.networkSets ? { networkSets: input.networkSets } : {}),
    ...(input.calicoEdition ? { calicoEdition: input.calicoEdition } : {}),
  });
  const namespaces = plan.namespaces.filter((n) => n.namespace === unit.namespace);
  const workloads = plan.workloads;
  const reports: NamespaceReport[] = [...namespaces, ...workloads];
  if (reports.length === 0) return null;

  // A unit's PR holds its own policy files only (and, in the kustomize layout, their entries in
  // the kustomizations): the template's cluster-wide files are the bootstrap PR's
  // (proposeBootstrap), so no two PRs add the same file. Memory files are proposed only as the
  // unit's own policies, and a policy file kept as it is (the memory, unchanged) is not on the
  // default branch either: both are made part of the build.
  const own = new Set(reports.map((r) => r.path));
  const kept = [...(input.memory ?? [])].filter(([path]) => own.has(path));
  const ownChanges = [...plan.changes].filter(([path]) => own.has(path));
  const overlay = new TreeOverlay(new Map([...input.tree, ...kept, ...ownChanges]));
  for (const path of own) if (overlay.has(path) && !input.tree.has(path)) ensureReachable(overlay, path);
  const finalTree = new Map([...input.tree, ...kept, ...ownChanges, ...overlay.changes()]);
  const { files, added } = differences(input, finalTree);
  const updates = reports.map((r) => r.lastUpdated).filter((t): t is string => t !== null);
  return {
    unit,
    files,
    added,
    hash: contentHash(files),
    namespaces,
    workloads,
    status: STATUS_ORDER[minOf(reports.map((r) => STATUS_ORDER.indexOf(r.status)))]!,
    lastUpdated: updates.length === 0 ? null : updates.sort().at(-1)!,
    warnings: [...reports.flatMap((r) => r.warnings), ...plan.warnings],
  };
}

/**
 * The microsegmentation pull requests a plan calls for, as the configuration groups them
 * (`microsegmentation.pullRequests`): one per namespace with selected workloads, or one per
 * workload. Workloads the plan skipped (not selected, no stable labels) get none.
 */
export function microsegmentationUnits(plan: Plan): ProposalUnit[] {
  if (plan.microsegmentation === null) return [];
  const proposed = plan.workloads.filter((w) => w.outcome !== 'skipped');
  if (plan.microsegmentation.pullRequests === 'per-workload') {
    return proposed.map((w) => ({ kind: 'workloads', namespace: w.namespace, workload: w.key }));
  }
  return [...new Set(proposed.map((w) => w.namespace))].map((namespace) => ({ kind: 'workloads', namespace }));
}

/** Repository paths of `finalTree` (cluster-relative) that differ from the default branch, and which are new. */
function differences(
  input: Pick<ProposalInput, 'clusterPath' | 'tree'>,
  finalTree: ReadonlyMap<string, string>,
): { files: Map<string, string>; added: Set<string> } {
  const prefix = input.clusterPath === '' ? '' : `${input.clusterPath}/`;
  const files = new Map<string, string>();
  const added = new Set<string>();
  for (const [path, text] of [...finalTree].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (input.tree.get(path) === text) continue;
    files.set(prefix + path, text);
    if (!input.tree.has(path)) added.add(prefix + path);
  }
  return { files, added };
}

/** The cluster-wide files a cluster's tree lacks: what its bootstrap PR proposes. */
export interface BootstrapProposal {
  /** Repository paths whose content differs from the default branch (new files, and kustomization entries in the kustomize layout). */
  readonly files: ReadonlyMap<string, string>;
  readonly added: ReadonlySet<string>;
  readonly hash: string;
  /** Objects the tree defines more than once (kustomize refuses to build them). */
  readonly warnings: readonly Warning[];
}

/**
 * What the template provides and the tree lacks (tiers, the staged global default deny): the
 * cluster-wide files every policy of the cluster relies on (a policy naming a tier Calico does
 * not have is refused), proposed once, in a PR of their own. Null when the tree has them all.
 */
export function proposeBootstrap(input: Pick<ProposalInput, 'clusterPath' | 'tree' | 'template' | 'config'>): BootstrapProposal | null {
  const tree = new TreeOverlay(input.tree);
  const { config } = input;
  const tiers: TierRequest[] = [{ name: config.namespaceSpec.tierName, model: 'namespace-isolation' }];
  if (config.microsegmentation.enabled && config.flavor !== 'kubernetes')
    tiers.push({ name: config.microsegmentation.tierName, model: 'appsec' });
  const template = applyTemplate(tree, input.template, buildInventory(tree), config.flavor, tiers);
  for (const path of template.written) ensureReachable(tree, path);
  const { files, added } = differences(input, new Map([...input.tree, ...tree.changes()]));
  return files.size === 0 ? null : { files, added, hash: contentHash(files), warnings: template.warnings };
}
