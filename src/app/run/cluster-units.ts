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
  /** Per open PR (by number): the `/policy-recommender rebase` comments on it webhooks recorded (run/inbox.ts). */
  readonly rebaseCommands?: ReadonlyMap<number, readonly number[]>;
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
  const { openPullRequests, recreate, rebaseCommands = new Map<number, readonly number[]>(), ...rest } = input;
  // Commands a rebuild served already (a redelivery, another replica's run) are not served again.
  const commands = new Map(
    openPullRequests.map(({ pr }) => {
      const served = decodeState(pr.body)?.rebaseCommands ?? [];
      return [pr.number, (rebaseCommands.get(pr.number) ?? []).filter((id) => !served.includes(id))];
    }),
  );
  const prs = new Map(openPullRequests.map(({ key, pr }) => [keyId(key), pr]));
  const open = new Map<string, OpenUnit>(
    openPullRequests.map(({ key, pr }) => {
      const proposed = proposedOf(pr);
      const memory = (commands.get(pr.number)?.length ?? 0) > 0 || pr.labels.includes(REBASE_LABEL) ? undefined : proposed;
      const quietSince = decodeState(pr.body)?.quietSince;
      return [
        keyId(key),
        {
          key,
          ...(memory === undefined ? {} : { memory }),
          ...(proposed === undefined ? {} : { proposed }),
          ...(quietSince === undefined ? {} : { quietSince }),
        },
      ];
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
      ...(pr !== null && (commands.get(pr.number)?.length ?? 0) > 0 ? { rebaseCommands: commands.get(pr.number)! } : {}),
    };
  });
  return { facts, accepted: lifecycle.accepted, notes: lifecycle.notes, warnings: lifecycle.warnings };
}

/**
 * The open PR's policy files, relative to the cluster path: the engine's memory, unless a rebase
 * was asked for (the label; a command, above), when they are only what the PR proposed.
 */
function proposedOf(pr: PullRequestInfo): TreeFiles | undefined {
  const state = decodeState(pr.body);
  return state === null || Object.keys(state.memory).length === 0 ? undefined : new Map(Object.entries(state.memory));
}
