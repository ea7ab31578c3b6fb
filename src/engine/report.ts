// What a recommendation run found, as data: the CLI summary, PR bodies and the dashboard are all
// rendered from these types.

import type { RuleSummary } from './flavors/flavor.ts';
import type { Direction, WorkloadKind } from './model.ts';
import type { RecommendationStatus } from './status.ts';

type WarningCode =
  /** The flavour could not express observed traffic exactly and allowed more. */
  | 'approximation'
  /** A direction still has more rules than maxRules after merging peers. */
  | 'over-max-rules'
  /** A direction would hold more rules than the policy's kind accepts: nothing was written. */
  | 'policy-too-large'
  /** Peers sharing protocol and ports were merged into one rule to respect maxRules. */
  | 'rules-merged'
  /** A file at a path the engine wants to write is not ours; nothing was written there. */
  | 'file-conflict'
  /** The policy was enforced (turned into a NetworkPolicy): nothing more is recommended for it. */
  | 'enforced'
  /** An existing policy file could not be read or updated. */
  | 'invalid-policy-file'
  /** An object the template provides is defined more than once in the tree. */
  | 'duplicate-object'
  /** Our rule for traffic within the namespace changed between Allow and Pass (microsegmentation). */
  | 'pass-through'
  /** No selector selects exactly a selected workload's pods (no stable labels, or too many): no policy was written. */
  | 'workload-unselectable'
  /** A peer's workload is not known: the rule allows its whole namespace. */
  | 'broader-peer'
  /** Flow endpoints that could not be attributed to one workload (ambiguous or unmatched). */
  | 'unattributed-endpoints'
  /** Intra-namespace traffic is passed to the microsegmentation tier where no policy selects its endpoint. */
  | 'not-microsegmented'
  /** A workload policy's selector no longer selects the workload's pods (its labels changed). */
  | 'selector-mismatch'
  /** Microsegmentation is configured but the flavour cannot express it. */
  | 'microsegmentation-unsupported';

export interface Warning {
  readonly code: WarningCode;
  readonly namespace?: string;
  /** `<namespace>/<Kind>/<name>` for warnings about one workload (microsegmentation). */
  readonly workload?: string;
  readonly message: string;
}

export interface RuleReport extends RuleSummary {
  readonly direction: Direction;
  /** Added or extended by this run. */
  readonly changed: boolean;
  /** Evidence from the flows read in this run (zero when the rule only comes from memory). */
  readonly flows: number;
  readonly firstSeen: number | null;
  readonly lastSeen: number | null;
}

export interface NamespaceReport {
  /** The namespace (of the workload, for a WorkloadReport). */
  readonly namespace: string;
  /** Path of the policy file, relative to the policies tree. */
  readonly path: string;
  readonly status: RecommendationStatus;
  /** RFC 3339; when the rules last changed. */
  readonly lastUpdated: string | null;
  /** created: a new file; updated: rules or notes changed; unchanged: not a byte written. */
  readonly outcome: 'created' | 'updated' | 'unchanged' | 'skipped';
  readonly rules: readonly RuleReport[];
  readonly warnings: readonly Warning[];
}

/** A workload's microsegmentation policy: the same account as a namespace's, plus its workload. */
export interface WorkloadReport extends NamespaceReport {
  readonly workload: { readonly kind: WorkloadKind; readonly name: string };
  /** `<namespace>/<Kind>/<name>`. */
  readonly key: string;
  /** The policy's selector (its pods' stable labels); null when no policy could be written. */
  readonly selector: string | null;
}
