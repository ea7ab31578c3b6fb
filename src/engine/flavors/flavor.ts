// What a policy flavour (open-source Calico, Calico Enterprise, Kubernetes) must answer so the
// flavour-independent merge (../merge-rules.ts) can update a policy. A rule found in a policy is
// parsed once, when the policy is read (PolicyFlavor.parse), into the flavour's rule type, keeping
// the rule as written: existing rules may have been written or edited by people, and one that
// does not have the type is theirs, kept as it is and never taken for ours.

import type { Flavor } from '../../config/recommendation-config.ts';
import type { Category, Direction, ObservedAtom, Peer } from '../model.ts';
import type { PolicyDocument } from '../policy-document.ts';
import type { Workload } from '../workloads.ts';

/** First line of every new policy file's comment. */
export const NEW_FILE_ORIGIN = ' Recommended by policy-recommender from observed flows: every rule allows traffic that was seen.';

/** What a policy protects: a whole namespace, or (microsegmentation) one workload in it. */
export interface PolicySubject {
  readonly namespace: string;
  /** The workload, selected by its stable labels (never empty); absent for the namespace's policy. */
  readonly workload?: Workload;
  /**
   * A namespace policy of a flavour without tiers (Cilium): the pods of workloads whose own
   * policies replace it for them, each by a label that tells that workload apart; its selection
   * leaves them out.
   */
  readonly excluded?: readonly { readonly key: string; readonly value: string }[];
}

export interface RuleContext {
  /** The namespace of the policy (the whole namespace, or the namespace of its workload). */
  readonly namespace: string;
  readonly direction: Direction;
  /** RFC 3339, written as the first-added time of new rules. */
  readonly now: string;
  /** Traffic within the namespace is passed to the next tier (namespace policies with microsegmentation). */
  readonly intraNamespacePass: boolean;
  /**
   * Keys of the rules this project wrote, for flavours whose rules cannot carry provenance
   * (Kubernetes); null when rules carry it themselves (Calico).
   */
  readonly ownRuleKeys: ReadonlySet<string> | null;
  /** Labels of a namespace: from the cluster when known, else just its name labels. */
  readonly namespaceLabels: (namespace: string) => Record<string, string>;
  /** True when namespaceLabels returns every label (cluster context); false when only names are known. */
  readonly namespaceLabelsComplete: boolean;
}

/** A rule the flavour recognises as one of the shapes it renders (whoever wrote it). */
export interface RuleIdentity {
  readonly category: Category;
  readonly peers: readonly Peer[];
  /** Atoms with this key may be added to this rule (if it is ours); null when it cannot take more (e.g. merged peers). */
  readonly extendKey: string | null;
  /** Rules with the same key can be merged (if ours) without allowing anything new; null if not mergeable. */
  readonly contractKey: string | null;
  /** Orders rules: category, protocol, ports, peer. */
  readonly sortKey: readonly (number | string)[];
  /** Written by this project (carries our provenance). */
  readonly ours: boolean;
}

/** A human-readable account of one rule, for summaries and PR bodies. */
export interface RuleSummary {
  readonly action: string;
  readonly category: Category | 'Custom';
  readonly peers: readonly string[];
  /** What the rule's remote side allows, in words (never narrower than what it matches). */
  readonly remote: string;
  readonly protocol: string;
  readonly ports: readonly string[];
  readonly firstAdded: string | null;
}

/** One rule of a policy as the engine carries it. */
export interface PolicyRule<R> {
  /** The rule as written (what is written back while the engine leaves it alone). */
  readonly raw: unknown;
  /** The rule as the flavour's rule type; null when it does not have it: a person's rule, never ours. */
  readonly typed: R | null;
}

/**
 * A necessary condition of PolicyFlavor.matches: `matches(rule, atom, ctx)` can hold only when
 * `rule(rule, ctx)` is null (the rule may decide any atom), or `atom(atom, ctx)` is null (any rule
 * may decide it), or the two lists share a key. So rules can be looked up by key instead of each
 * being tried (never a different answer: only rules that cannot match are skipped).
 */
export interface MatchKeys<R> {
  rule(rule: PolicyRule<R>, ctx: RuleContext): readonly string[] | null;
  atom(atom: ObservedAtom, ctx: RuleContext): readonly string[] | null;
}

/** A rule the flavour made: what it writes is the typed rule itself. */
export function madeRule<R>(typed: R): PolicyRule<R> {
  return { raw: typed, typed };
}

/** `R`: the flavour's rule type (the Calico rule, the Kubernetes rule). */
export interface PolicyFlavor<R = unknown> {
  readonly name: Flavor;
  /** The kind of the policies it writes: staged ones in projectcalico.org/v3, or Cilium's (cilium.io/v2). */
  readonly kind: 'StagedNetworkPolicy' | 'StagedKubernetesNetworkPolicy' | 'CiliumNetworkPolicy';
  /**
   * Its policies are staged (they deny nothing until an enforce PR turns them into `enforced`);
   * false for Cilium, which has no staged policies: merging a policy enforces it.
   */
  readonly staged: boolean;
  /** What merging its enforce PR turns such a policy into (engine/enforce.ts); null when there is no enforce step. */
  readonly enforced: { readonly apiVersion: string; readonly kind: 'NetworkPolicy' } | null;
  /** The comment at the top of a new policy file: what merging it means in this flavour. */
  readonly newFileComment: string;
  /** `types` (Calico) or `policyTypes` (Kubernetes); null when its policies name no types (Cilium). */
  readonly typesKey: 'types' | 'policyTypes' | null;
  /** The most rules one direction of its policies may hold (the kind's schema); null when unbounded. */
  readonly maxRulesPerDirection: number | null;
  /** A new, empty policy for a namespace or a workload (no rules, no types). */
  skeleton(
    subject: PolicySubject,
    tier: string,
    metadata: { labels: Record<string, string>; annotations: Record<string, string> },
  ): PolicyDocument;
  /**
   * Flavours whose policies are a union of allows (Cilium): an existing policy's subject selection
   * set to what `subject` says now (a namespace policy leaves out the pods of workloads with their
   * own policies). Returns whether it changed. Absent: the selection never changes.
   */
  reselect?(policy: PolicyDocument, subject: PolicySubject): boolean;
  /**
   * Policy-level bookkeeping after the rules are final (Kubernetes keeps rule provenance here).
   * `previous` is the policy as found (null for a new one): rules not in it were written now.
   */
  finish(policy: PolicyDocument, previous: PolicyDocument | null, now: string): PolicyDocument;
  /** Maps an observed atom to what this flavour can express (e.g. domains -> public ports, one per IP family). */
  adapt(observed: ObservedAtom): ObservedAtom[];
  /** A rule found in a policy, read once at the boundary. */
  parse(raw: unknown): PolicyRule<R>;
  /** Does `rule` decide traffic of `atom` (Calico's first-match semantics; Log rules never decide)? */
  matches(rule: PolicyRule<R>, atom: ObservedAtom, ctx: RuleContext): boolean;
  /**
   * Optional, for speed only (a namespace with many peers: merge-rules.ts RuleLookup): keys that
   * `matches` needs. Absent: every rule is tried on every atom.
   */
  readonly matchKeys?: MatchKeys<R>;
  identify(rule: PolicyRule<R>, ctx: RuleContext): RuleIdentity | null;
  extendKey(atom: ObservedAtom, ctx: RuleContext): string;
  /** Can `atom` be added to `rule` (same extend key) without exceeding a schema limit? */
  canExtend(rule: PolicyRule<R>, atom: ObservedAtom, ctx: RuleContext): boolean;
  /** `rule` with `atom` added. */
  extend(rule: PolicyRule<R>, atom: ObservedAtom, ctx: RuleContext): PolicyRule<R>;
  /** New rules for atoms sharing one extend key (more than one when a schema limit is reached). */
  render(atoms: readonly ObservedAtom[], ctx: RuleContext): PolicyRule<R>[];
  /** One or more rules allowing exactly the union of `rules` (all share a contract key). */
  contract(rules: readonly PolicyRule<R>[], ctx: RuleContext): PolicyRule<R>[];
  /**
   * The rules that replace one of ours when the configuration demands a change (e.g. Allow ->
   * Pass within the namespace, splitting the namespace out of a merged rule); `[rule]` otherwise.
   */
  reconcile(rule: PolicyRule<R>, ctx: RuleContext): PolicyRule<R>[];
  /** The rule can only allow traffic (it never denies or passes it on). */
  allowsOnly(rule: PolicyRule<R>): boolean;
  /** The keys ownRuleKeys would hold for these rules (Kubernetes), or null. */
  ownRuleKeys(policy: PolicyDocument): ReadonlySet<string> | null;
  /** Notes to attach to a rule for atoms it already covers (e.g. domains behind a public rule). */
  annotate(rule: PolicyRule<R>, covered: readonly ObservedAtom[], ctx: RuleContext): PolicyRule<R>;
  describe(rule: PolicyRule<R>, ctx: RuleContext): RuleSummary;
  /** Where this flavour cannot express an atom exactly, what it wrote instead. */
  approximation(atom: ObservedAtom): string | null;
}
