// The units of one cluster a run decides about, as the App sees them: the lifecycle's decisions
// (plan/lifecycle/lifecycle.ts, pure) with what GitHub holds about each unit around them (its open
// PR, the state the PR carries, whether a person asked to have it proposed again).

import { planLifecycle } from '../../plan/lifecycle/lifecycle.ts';
import type { LifecycleInput, OpenUnit } from '../../plan/lifecycle/unit.ts';
import { keyId, type ProposalKey } from '../../plan/lifecycle/unit-key.ts';
import type { TreeFiles } from '../../tree/tree.ts';
import type { PullRequestInfo } from '../github/repository.ts';
import { decodeState, REBASE_LABEL } from '../state/pull-request-state.ts';
import type { UnitFacts } from './decide.ts';

export interface ClusterUnitsInput extends Omit<LifecycleInput, 'open'> {
  /** The bot's open PRs of this cluster. */
  readonly openPullRequests: readonly { readonly key: ProposalKey; readonly pr: PullRequestInfo }[];
  /** Units people asked to have proposed again (key ids). */
  readonly recreate: ReadonlySet<string>;
}

export interface ClusterUnits {
  readonly facts: UnitFacts[];
  /** Acceptance records to keep, by record id. */
  readonly accepted: ReturnType<typeof planLifecycle>['accepted'];
  /** Per key id: what the dashboard says beside the unit's state. */
  readonly notes: Map<string, string>;
  /** For the cluster's dashboard section. */
  readonly warnings: readonly string[];
}

export function clusterUnits(input: ClusterUnitsInput): ClusterUnits {
  const { openPullRequests, recreate, ...rest } = input;
  const prs = new Map(openPullRequests.map(({ key, pr }) => [keyId(key), pr]));
  const open = new Map<string, OpenUnit>(
    openPullRequests.map(({ key, pr }) => {
      const memory = memoryOf(pr);
      return [keyId(key), memory === undefined ? { key } : { key, memory }];
    }),
  );
  const lifecycle = planLifecycle({ ...rest, open });
  const facts = lifecycle.units.map((unit): UnitFacts => {
    const pr = prs.get(keyId(unit.key)) ?? null;
    return {
      ...unit,
      cluster: input.cluster,
      openPullRequest: pr,
      state: pr ? decodeState(pr.body) : null,
      recreate: recreate.has(keyId(unit.key)),
    };
  });
  return { facts, accepted: lifecycle.accepted, notes: lifecycle.notes, warnings: lifecycle.warnings };
}

/** The open PR's policy files, relative to the cluster path (the engine's memory), unless a rebase was asked for. */
function memoryOf(pr: PullRequestInfo): TreeFiles | undefined {
  if (pr.labels.includes(REBASE_LABEL)) return undefined;
  const state = decodeState(pr.body);
  return state === null || Object.keys(state.memory).length === 0 ? undefined : new Map(Object.entries(state.memory));
}
