// What a recommendation run found, as data: the CLI summary, PR bodies and the dashboard are all
// rendered from these types.

import type { RuleSummary } from './flavors/flavor.ts';
import type { Direction } from './model.ts';
import type { RecommendationStatus } from './status.ts';

export type WarningCode =
  /** The flavour could not express observed traffic exactly and allowed more. */
  | 'approximation'
  /** A direction still has more rules than maxRules after merging peers. */
  | 'over-max-rules'
  /** Peers sharing protocol and ports were merged into one rule to respect maxRules. */
  | 'rules-merged'
  /** A file at a path the engine wants to write is not ours; nothing was written there. */
  | 'file-conflict'
  /** An existing policy file could not be read or updated. */
  | 'invalid-policy-file'
  /** An object the template provides is defined more than once in the tree. */
  | 'duplicate-object';

export interface Warning {
  readonly code: WarningCode;
  readonly namespace?: string;
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
