// One policy's step of a plan, whatever it protects (a namespace, or a workload): find the policy
// in the tree (the engine's memory), update or create it, and account for it. Files that are not
// ours or cannot be read are reported and left alone. Pure, like plan.ts.

import type { RecommendationConfig } from '../config/recommendation-config.ts';
import type { PolicyFlavor, PolicySubject } from '../engine/flavors/flavor.ts';
import type { ObservedAtom } from '../engine/model.ts';
import { type PolicySettings, PolicyTooLargeError, recommendPolicy } from '../engine/policy.ts';
import { type PolicyDocument, PolicyShapeError, type PolicyView, parsePolicyDocument, viewPolicy } from '../engine/policy-document.ts';
import { ANNOTATIONS, parseTime } from '../engine/provenance.ts';
import type { NamespaceReport, Warning } from '../engine/report.ts';
import { recommendationStatus } from '../engine/status.ts';
import type { Inventory, ObjectRef } from '../tree/inventory.ts';
import type { TreeOverlay } from '../tree/tree.ts';
import { deepEqual } from '../util/plain.ts';
import { parseYamlFile, patchDocument, renderNewFile, stringifyDocuments } from '../yaml/document.ts';

/** What every policy step of one plan shares. */
export interface PlanRun {
  readonly tree: TreeOverlay;
  readonly inventory: Inventory;
  readonly flavor: PolicyFlavor;
  readonly config: RecommendationConfig;
  readonly now: number;
  readonly nowText: string;
  readonly labelsOf: (ns: string) => Record<string, string>;
  readonly labelsComplete: boolean;
  /** Paths written so far, to be made reachable from the kustomizations. */
  readonly written: string[];
  /** PlanInput.observationsCoverLookback: a subject without flows in them was not watched. */
  readonly observationsCoverLookback: boolean;
}

export interface PolicyStep {
  readonly subject: PolicySubject;
  /** What warnings are about: the namespace, and the workload's key. */
  readonly about: { readonly namespace: string; readonly workload?: string };
  /** "this namespace's policy", "this workload's policy": for messages. */
  readonly what: string;
  /** Where the tree defines the policy (usually once, or not yet). */
  readonly refs: readonly ObjectRef[];
  /** Where a new policy goes. */
  readonly defaultPath: string;
  readonly observed: readonly ObservedAtom[];
  readonly settings: PolicySettings;
}

export interface PlannedPolicy {
  readonly report: NamespaceReport;
  /** The policy as it now stands (null when it was skipped). */
  readonly policy: PolicyDocument | null;
}

export function planPolicy(step: PolicyStep, run: PlanRun): PlannedPolicy {
  const { tree, flavor, config } = run;
  const { about, refs } = step;
  const namespace = about.namespace;
  const warnings: Warning[] = [];
  const ref = refs[0];
  if (refs.length > 1) {
    warnings.push({
      code: 'duplicate-object',
      ...about,
      message: `the policy is defined ${refs.length} times (${refs.map((r) => r.path).join(', ')}); only ${ref!.path} is updated`,
    });
  }
  const path = ref?.path ?? step.defaultPath;
  if (ref === undefined && tree.has(path)) {
    const unreadable = run.inventory.unreadable.get(path);
    return unplanned(namespace, path, null, config, run.now, [
      unreadable !== undefined
        ? { code: 'invalid-policy-file', ...about, message: `${unreadable}; nothing was written` }
        : { code: 'file-conflict', ...about, message: `${path} exists and does not hold ${step.what}; nothing was written` },
    ]);
  }
  if (ref !== undefined && run.inventory.unreadable.has(ref.path)) {
    return unplanned(namespace, path, null, config, run.now, [
      { code: 'invalid-policy-file', ...about, message: run.inventory.unreadable.get(ref.path)! },
    ]);
  }

  const docs = ref === undefined ? null : parseYamlFile(tree.get(ref.path)!, ref.path);
  const found: unknown = docs === null ? null : docs[ref!.index]!.toJS();
  let result;
  try {
    result = recommendPolicy(
      {
        subject: step.subject,
        // The boundary: the document found is typed here, once (PolicyShapeError when it cannot be).
        previous: docs === null ? null : parsePolicyDocument(found),
        observed: step.observed,
        now: run.nowText,
        namespaceLabels: run.labelsOf,
        namespaceLabelsComplete: run.labelsComplete,
      },
      flavor,
      step.settings,
    );
  } catch (e) {
    if (e instanceof PolicyTooLargeError) {
      return unplanned(namespace, path, null, config, run.now, [
        {
          code: 'policy-too-large',
          ...about,
          message: `${path}: ${e.message}; nothing was written (too many distinct peers, protocols and ports to merge)`,
        },
      ]);
    }
    if (!(e instanceof PolicyShapeError)) throw e;
    return unplanned(namespace, path, null, config, run.now, [
      { code: 'invalid-policy-file', ...about, message: `${path}: cannot update the policy: ${e.message}` },
    ]);
  }

  let outcome: NamespaceReport['outcome'] = 'unchanged';
  if (docs === null) {
    tree.set(path, renderNewFile(result.policy, flavor.newFileComment));
    outcome = 'created';
  } else if (!deepEqual(found, result.policy)) {
    patchDocument(docs[ref!.index]!, result.policy);
    tree.set(path, stringifyDocuments(docs, tree.get(path)));
    outcome = 'updated';
  }
  if (outcome !== 'unchanged') run.written.push(path);
  const lastUpdated = annotation(viewPolicy(result.policy), ANNOTATIONS.lastUpdated);
  const report: NamespaceReport = {
    namespace,
    path,
    // A policy whose subject had no flow in the lookback window was not watched: not Stable on time alone.
    status: recommendationStatus(
      parseTime(lastUpdated),
      run.now,
      config.interval,
      config.stabilizationPeriod,
      !run.observationsCoverLookback || step.observed.some((a) => a.evidence.flows > 0),
    ),
    lastUpdated,
    outcome,
    rules: result.rules,
    warnings: [...warnings, ...result.warnings],
  };
  return { report, policy: result.policy };
}

function unplanned(...args: Parameters<typeof skipped>): PlannedPolicy {
  return { report: skipped(...args), policy: null };
}

/** The object at `ref` as read (undefined when its file is not valid YAML). */
export function readObject(tree: TreeOverlay, ref: ObjectRef): unknown {
  try {
    return parseYamlFile(tree.get(ref.path)!, ref.path)[ref.index]?.toJS();
  } catch {
    return undefined;
  }
}

/** What a plan reads of the policy at `ref` (null when it is not a mapping, or not valid YAML). */
export function readPolicy(tree: TreeOverlay, ref: ObjectRef): PolicyView | null {
  return viewPolicy(readObject(tree, ref));
}

/** The account of a policy the plan leaves alone. */
export function skipped(
  namespace: string,
  path: string,
  policy: PolicyView | null,
  config: RecommendationConfig,
  now: number,
  warnings: Warning[],
): NamespaceReport {
  const lastUpdated = annotation(policy, ANNOTATIONS.lastUpdated);
  return {
    namespace,
    path,
    // Not recommended (not selected, enforced, unreadable): its status is its file's age alone.
    status: recommendationStatus(parseTime(lastUpdated), now, config.interval, config.stabilizationPeriod, true),
    lastUpdated,
    outcome: 'skipped',
    rules: [],
    warnings,
  };
}

export function annotation(policy: PolicyView | null, key: string): string | null {
  // An unquoted timestamp a person wrote is its text (yaml/document.ts reads timestamps as Kubernetes does).
  const value = policy?.metadata?.annotations?.[key];
  return typeof value === 'string' ? value : null;
}
