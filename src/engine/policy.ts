// One policy: the previous policy (the engine's memory) plus observed atoms -> the updated policy
// object, its rules with their evidence, and warnings. The subject is a whole namespace (namespace
// isolation) or one workload (microsegmentation): the same machinery, memory and merge for both.
// Pure: typed documents (policy-document.ts) in and out.

import { appendAll } from '../util/append.ts';
import { deepEqual, type PlainObject } from '../util/plain.ts';
import type { PolicyFlavor, PolicyRule, PolicySubject, RuleContext } from './flavors/flavor.ts';
import { firstMatch, mergeDirection } from './merge-rules.ts';
import { DIRECTIONS, type Direction, type ObservedAtom } from './model.ts';
import type { PolicyDocument, PolicyMetadata, PolicySpec } from './policy-document.ts';
import { ANNOTATIONS, LABELS, type Layer, MANAGED_BY } from './provenance.ts';
import type { RuleReport, Warning } from './report.ts';
import { workloadKey } from './workloads.ts';

export interface PolicyInput {
  readonly subject: PolicySubject;
  /** The policy as found in the tree (parsePolicyDocument), or null for a new one. */
  readonly previous: PolicyDocument | null;
  readonly observed: readonly ObservedAtom[];
  /** RFC 3339. */
  readonly now: string;
  readonly namespaceLabels: (namespace: string) => Record<string, string>;
  readonly namespaceLabelsComplete: boolean;
}

/** What the configuration says about one policy. */
export interface PolicySettings {
  readonly tier: string;
  readonly layer: Layer;
  readonly maxRules: number;
  /** Rules for traffic within the namespace say Pass (namespace isolation under microsegmentation). */
  readonly intraNamespacePass: boolean;
}

export interface RecommendedPolicy {
  readonly policy: PolicyDocument;
  /** The rules (or policy types) changed, so lastUpdated moved. */
  readonly rulesChanged: boolean;
  readonly rules: readonly RuleReport[];
  readonly warnings: readonly Warning[];
}

/** The policy would hold more than its kind accepts (reported; nothing is written, the file stays as it was). */
export class PolicyTooLargeError extends Error {
  override readonly name = 'PolicyTooLargeError';
}

const TYPE_OF: Readonly<Record<Direction, string>> = { ingress: 'Ingress', egress: 'Egress' };

export function recommendPolicy<R>(input: PolicyInput, flavor: PolicyFlavor<R>, settings: PolicySettings): RecommendedPolicy {
  const { subject, now, previous } = input;
  const { namespace, workload } = subject;
  const { maxRules } = settings;
  // The workload annotation names the workload even where the policy name had to be shortened.
  const annotations: Record<string, string> = workload === undefined ? {} : { [ANNOTATIONS.workload]: `${workload.kind}/${workload.name}` };
  const policy: PolicyDocument = previous
    ? structuredClone(previous)
    : flavor.skeleton(subject, settings.tier, { labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.layer]: settings.layer }, annotations });
  const { spec } = policy;
  // A union-of-allows flavour's namespace policy leaves out the workloads with their own policies.
  const reselected = previous !== null && flavor.reselect?.(policy, subject) === true;

  const about = workload === undefined ? { namespace } : { namespace, workload: workloadKey(workload) };
  const warnings: Warning[] = [];
  const approximations = new Set<string>();
  for (const o of input.observed) {
    const note = flavor.approximation(o);
    if (note !== null) approximations.add(note);
  }
  for (const message of approximations) warnings.push({ code: 'approximation', ...about, message });

  const adapted = input.observed.flatMap((o) => flavor.adapt(o));
  const ownRuleKeys = flavor.ownRuleKeys(policy);
  const reports: RuleReport[] = [];
  const changedDirections: Direction[] = [];
  for (const direction of DIRECTIONS) {
    const ctx: RuleContext = {
      namespace,
      direction,
      now,
      intraNamespacePass: settings.intraNamespacePass,
      namespaceLabels: input.namespaceLabels,
      namespaceLabelsComplete: input.namespaceLabelsComplete,
      ownRuleKeys,
    };
    const existing = spec[direction] ?? [];
    // Each rule is read once, here; what is written back is each rule's `raw`.
    const parsed = existing.map((raw) => flavor.parse(raw));
    const atoms = adapted.filter((o) => o.atom.direction === direction);
    const merged = mergeDirection(flavor, parsed, atoms, ctx, maxRules);
    const written = merged.rules.map((r) => r.raw);
    const limit = flavor.maxRulesPerDirection;
    if (limit !== null && merged.rules.length > limit) {
      throw new PolicyTooLargeError(
        `${direction} would need ${merged.rules.length} rules, more than the ${limit} a ${flavor.kind} holds in one direction`,
      );
    }
    // Untouched directions keep whatever the file had (even a person's empty `ingress:`).
    if (!deepEqual(written, existing)) {
      spec[direction] = written;
      changedDirections.push(direction);
    }
    if (merged.reconciled > 0) {
      const what = settings.intraNamespacePass
        ? 'passes it to the next tier (Pass instead of Allow), where per-workload policies decide'
        : 'allows it (Allow instead of Pass)';
      warnings.push({ code: 'pass-through', ...about, message: `${direction}: our rule for traffic within the namespace now ${what}` });
    }
    if (merged.contracted > 0) {
      warnings.push({
        code: 'rules-merged',
        ...about,
        message: `${direction}: ${merged.contracted} rules merged into rules with several peers (same protocol and ports) to stay within maxRules ${maxRules}`,
      });
    }
    if (merged.rules.length > maxRules) {
      warnings.push({
        code: 'over-max-rules',
        ...about,
        message: `${direction}: ${merged.rules.length} rules, more than maxRules ${maxRules}; every rule is kept, none dropped`,
      });
    }
    appendAll(reports, ruleReports(flavor, merged.rules, existing, atoms, ctx));
  }
  // Types follow the rules this run wrote; a person who removed a type keeps it removed until
  // new traffic in that direction is learned.
  const typesKey = flavor.typesKey;
  if (typesKey !== null) addPolicyTypes(spec, typesKey, previous === null ? DIRECTIONS : changedDirections);
  // A new policy is written in the conventional order; an existing one keeps the order it has.
  if (previous === null) policy.spec = inConventionalOrder(spec, typesKey);

  const before = previous === null ? null : previous.spec;
  const rulesChanged =
    before === null ||
    reselected ||
    DIRECTIONS.some((d) => !deepEqual(withoutNotes(spec[d]), withoutNotes(before[d]))) ||
    (typesKey !== null && !deepEqual(spec[typesKey], before[typesKey]));
  if (rulesChanged) setAnnotation(policy.metadata, ANNOTATIONS.lastUpdated, now);
  return { policy: flavor.finish(policy, previous, now), rulesChanged, rules: reports, warnings };
}

/** Rules without the informational domain notes: a new note alone does not change what is allowed. */
function withoutNotes(rules: unknown): unknown {
  if (!Array.isArray(rules)) return rules;
  return rules.map((rule) => {
    const annotations = (rule as { metadata?: { annotations?: Record<string, unknown> } })?.metadata?.annotations;
    if (annotations === undefined || !(ANNOTATIONS.domains in annotations)) return rule;
    const { [ANNOTATIONS.domains]: _note, ...rest } = annotations;
    return { ...(rule as PlainObject), metadata: { ...(rule as { metadata: PlainObject }).metadata, annotations: rest } };
  });
}

function inConventionalOrder(spec: PolicySpec, typesKey: 'types' | 'policyTypes' | null): PolicySpec {
  if (typesKey === null) {
    const { ingress, egress, ...rest } = spec;
    return Object.fromEntries(Object.entries({ ...rest, ingress, egress }).filter(([, v]) => v !== undefined));
  }
  const { ingress, egress, [typesKey]: types, ...rest } = spec;
  return Object.fromEntries(Object.entries({ ...rest, [typesKey]: types, ingress, egress }).filter(([, v]) => v !== undefined));
}

/** Types list the directions that have rules (Calico's rule); existing entries are kept. */
function addPolicyTypes(spec: PolicySpec, key: 'types' | 'policyTypes', directions: readonly Direction[]): void {
  const current = spec[key] ?? [];
  const wanted = directions.filter((d) => (spec[d]?.length ?? 0) > 0).map((d) => TYPE_OF[d]);
  const missing = wanted.filter((t) => !current.includes(t));
  if (missing.length === 0) return;
  const all = [...current, ...missing];
  // Keep Calico's conventional order when we write the whole list.
  spec[key] = spec[key] === undefined ? ['Ingress', 'Egress'].filter((t) => all.includes(t)) : all;
}

function setAnnotation(metadata: PolicyMetadata, key: string, value: string): void {
  metadata.annotations ??= {};
  metadata.annotations[key] = value;
}

/** Each observed atom is evidence for the first rule that decides it. */
function ruleReports<R>(
  flavor: PolicyFlavor<R>,
  rules: readonly PolicyRule<R>[],
  existing: readonly unknown[],
  atoms: readonly ObservedAtom[],
  ctx: RuleContext,
): RuleReport[] {
  const evidence = rules.map(() => ({ flows: 0, firstSeen: null as number | null, lastSeen: null as number | null }));
  const firstDeciding = firstMatch(flavor, rules, ctx);
  for (const o of atoms) {
    const i = firstDeciding(o);
    if (i === -1) continue;
    const e = evidence[i]!;
    e.flows += o.evidence.flows;
    e.firstSeen = e.firstSeen === null ? o.evidence.firstSeen : Math.min(e.firstSeen, o.evidence.firstSeen);
    e.lastSeen = e.lastSeen === null ? o.evidence.lastSeen : Math.max(e.lastSeen, o.evidence.lastSeen);
  }
  return rules.map((rule, i) => ({
    ...flavor.describe(rule, ctx),
    direction: ctx.direction,
    changed: !existing.some((old) => deepEqual(old, rule.raw)),
    ...evidence[i]!,
  }));
}
