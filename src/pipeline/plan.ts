// Decides what a recommendation run changes in a policies tree: for each namespace, update its
// policy (found by kind, namespace and name wherever it lives) or create it, then add what the
// template provides and keep everything reachable from the root kustomization. Pure: a tree of
// text in, changed files and reports out. The CLI writes the changes to disk; the App commits them.

import { types } from 'node:util';
import type { RecommendationConfig } from '../config/recommendation-config.ts';
import { flavorFor } from '../engine/flavors/index.ts';
import type { PolicyFlavor } from '../engine/flavors/flavor.ts';
import type { ObservedAtom } from '../engine/model.ts';
import { namespacePolicyName, namespacePolicyPath } from '../engine/naming.ts';
import { PolicyShapeError, recommendNamespacePolicy } from '../engine/namespace-policy.ts';
import { ANNOTATIONS, formatTime, parseTime } from '../engine/provenance.ts';
import type { NamespaceReport, Warning } from '../engine/report.ts';
import { recommendationStatus } from '../engine/status.ts';
import { buildInventory, type Inventory, type ObjectRef } from '../repo/inventory.ts';
import { ensureReachable, kustomizationIn } from '../repo/kustomize.ts';
import { applyTemplate } from '../repo/template.ts';
import { TreeOverlay, type TreeFiles } from '../repo/tree.ts';
import { deepEqual, isPlainObject, type PlainObject } from '../util/plain.ts';
import { parseYamlFile, patchDocument, renderNewFile, stringifyDocuments } from '../yaml/document.ts';

/** What the cluster says about namespaces; without it a namespace's labels are just its name. */
export interface NamespaceContext {
  labels(namespace: string): Record<string, string> | undefined;
}

export interface PlanInput {
  readonly tree: TreeFiles;
  readonly template: TreeFiles;
  readonly observations: ReadonlyMap<string, readonly ObservedAtom[]>;
  readonly config: RecommendationConfig;
  /** Unix seconds. */
  readonly now: number;
  readonly namespaces?: NamespaceContext;
  /** Plan only this namespace (one pull request per namespace), leaving the others alone. */
  readonly onlyNamespace?: string;
}

export interface Plan {
  /** New or changed files (path -> content), sorted by path; empty when nothing changes. */
  readonly changes: ReadonlyMap<string, string>;
  readonly namespaces: readonly NamespaceReport[];
  /** Namespaces with traffic that the namespace selector excludes. */
  readonly notSelected: readonly string[];
  readonly warnings: readonly Warning[];
}

export function planRecommendations(input: PlanInput): Plan {
  const { config, now } = input;
  const flavor = flavorFor(config.flavor);
  const tier = config.namespaceSpec.tierName;
  const tree = new TreeOverlay(input.tree);
  const inventory = buildInventory(tree);
  const nowText = formatTime(now);
  const nameLabels = (ns: string) => ({ 'kubernetes.io/metadata.name': ns, 'projectcalico.org/name': ns });
  const labelsOf = (ns: string) => input.namespaces?.labels(ns) ?? nameLabels(ns);

  const existing = policyRefs(inventory, flavor, tier);
  const namespaces = [...new Set([...input.observations.keys(), ...existing.keys()])]
    .filter((ns) => input.onlyNamespace === undefined || ns === input.onlyNamespace)
    .sort();

  const reports: NamespaceReport[] = [];
  const notSelected: string[] = [];
  const written: string[] = [];
  for (const namespace of namespaces) {
    const refs = existing.get(namespace) ?? [];
    const selected = config.namespaceSpec.recStatus === 'Enabled' && config.namespaceSpec.selector.matches(labelsOf(namespace));
    if (!selected) {
      if (refs.length === 0) notSelected.push(namespace);
      else reports.push(skipped(namespace, refs[0]!.path, readPolicy(tree, refs[0]!), config, now, []));
      continue;
    }
    const report = planNamespace(namespace, refs, input.observations.get(namespace) ?? [], {
      tree,
      inventory,
      flavor,
      config,
      now,
      nowText,
      labelsOf,
      labelsComplete: input.namespaces !== undefined,
      written,
    });
    reports.push(report);
  }

  const warnings: Warning[] = [];
  const hasPolicies = reports.some((r) => r.outcome !== 'skipped') || existing.size > 0;
  const hadRoot = kustomizationIn(tree, '') !== null;
  if (hasPolicies) {
    const template = applyTemplate(tree, input.template, inventory, config.flavor, tier);
    warnings.push(...template.warnings);
    written.push(...template.written);
  }
  // A tree without a root kustomization was built as a plain directory (Argo CD's directory
  // mode, Flux's generated kustomization): now that it has one, it must still build every file.
  const previouslyBuilt = hadRoot || !hasPolicies ? [] : [...new Set(inventory.objects.map((o) => o.path))];
  for (const path of [...previouslyBuilt, ...written]) ensureReachable(tree, path);
  return { changes: tree.changes(), namespaces: reports, notSelected, warnings };
}

/** Namespaces whose policy (of this flavour and tier) the tree holds. */
export function namespacesWithPolicies(tree: TreeFiles, config: RecommendationConfig): string[] {
  const inventory = buildInventory(new TreeOverlay(tree));
  return [...policyRefs(inventory, flavorFor(config.flavor), config.namespaceSpec.tierName).keys()].sort();
}

/** Where each namespace's policy is defined (usually once), found by kind, namespace and name. */
function policyRefs(inventory: Inventory, flavor: PolicyFlavor, tier: string): Map<string, ObjectRef[]> {
  const refs = new Map<string, ObjectRef[]>();
  for (const ref of inventory.objects) {
    if (ref.kind === flavor.kind && ref.namespace !== null && ref.name === namespacePolicyName(flavor.name, tier, ref.namespace)) {
      refs.set(ref.namespace, [...(refs.get(ref.namespace) ?? []), ref]);
    }
  }
  return refs;
}

interface NamespaceRun {
  readonly tree: TreeOverlay;
  readonly inventory: Inventory;
  readonly flavor: PolicyFlavor;
  readonly config: RecommendationConfig;
  readonly now: number;
  readonly nowText: string;
  readonly labelsOf: (ns: string) => Record<string, string>;
  readonly labelsComplete: boolean;
  readonly written: string[];
}

function planNamespace(namespace: string, refs: readonly ObjectRef[], observed: readonly ObservedAtom[], run: NamespaceRun): NamespaceReport {
  const { tree, flavor, config } = run;
  const warnings: Warning[] = [];
  const ref = refs[0];
  if (refs.length > 1) {
    warnings.push({
      code: 'duplicate-object',
      namespace,
      message: `the policy is defined ${refs.length} times (${refs.map((r) => r.path).join(', ')}); only ${ref!.path} is updated`,
    });
  }
  const path = ref?.path ?? namespacePolicyPath(namespace);
  if (ref === undefined && tree.has(path)) {
    const unreadable = run.inventory.unreadable.get(path);
    return skipped(namespace, path, null, config, run.now, [
      unreadable !== undefined
        ? { code: 'invalid-policy-file', namespace, message: `${unreadable}; nothing was written` }
        : { code: 'file-conflict', namespace, message: `${path} exists and does not hold this namespace's policy; nothing was written` },
    ]);
  }
  if (ref !== undefined && run.inventory.unreadable.has(ref.path)) {
    return skipped(namespace, path, null, config, run.now, [{ code: 'invalid-policy-file', namespace, message: run.inventory.unreadable.get(ref.path)! }]);
  }

  const docs = ref === undefined ? null : parseYamlFile(tree.get(ref.path)!, ref.path);
  const previous = docs === null ? null : (docs[ref!.index]!.toJS() as PlainObject);
  let result;
  try {
    result = recommendNamespacePolicy(
      {
        namespace,
        previous,
        observed,
        now: run.nowText,
        namespaceLabels: run.labelsOf,
        namespaceLabelsComplete: run.labelsComplete,
      },
      flavor,
      config,
    );
  } catch (e) {
    if (!(e instanceof PolicyShapeError)) throw e;
    return skipped(namespace, path, null, config, run.now, [
      { code: 'invalid-policy-file', namespace, message: `${path}: cannot update the policy: ${e.message}` },
    ]);
  }

  let outcome: NamespaceReport['outcome'] = 'unchanged';
  if (docs === null) {
    tree.set(path, renderNewFile(result.policy, flavor.newFileComment));
    outcome = 'created';
  } else if (!deepEqual(previous, result.policy)) {
    patchDocument(docs[ref!.index]!, result.policy);
    tree.set(path, stringifyDocuments(docs, tree.get(path)));
    outcome = 'updated';
  }
  if (outcome !== 'unchanged') run.written.push(path);
  const lastUpdated = annotation(result.policy, ANNOTATIONS.lastUpdated);
  return {
    namespace,
    path,
    status: recommendationStatus(parseTime(lastUpdated), run.now, config.interval, config.stabilizationPeriod),
    lastUpdated,
    outcome,
    rules: result.rules,
    warnings: [...warnings, ...result.warnings],
  };
}

function readPolicy(tree: TreeOverlay, ref: ObjectRef): PlainObject | null {
  try {
    const value: unknown = parseYamlFile(tree.get(ref.path)!, ref.path)[ref.index]?.toJS();
    return isPlainObject(value) ? value : null;
  } catch {
    return null;
  }
}

function skipped(
  namespace: string,
  path: string,
  policy: PlainObject | null,
  config: RecommendationConfig,
  now: number,
  warnings: Warning[],
): NamespaceReport {
  const lastUpdated = policy === null ? null : annotation(policy, ANNOTATIONS.lastUpdated);
  return {
    namespace,
    path,
    status: recommendationStatus(parseTime(lastUpdated), now, config.interval, config.stabilizationPeriod),
    lastUpdated,
    outcome: 'skipped',
    rules: [],
    warnings,
  };
}

function annotation(policy: PlainObject, key: string): string | null {
  const metadata = policy['metadata'];
  const annotations = isPlainObject(metadata) ? metadata['annotations'] : undefined;
  const value = isPlainObject(annotations) ? annotations[key] : undefined;
  // An unquoted timestamp a person wrote is a YAML 1.1 timestamp.
  if (types.isDate(value) && !Number.isNaN(value.getTime())) return formatTime(Math.floor(value.getTime() / 1000));
  return typeof value === 'string' ? value : null;
}
