// An accepted staged policy's probation: what enforcing it would have denied of the traffic observed
// since it was merged, and how long it has been quiet (enforcement waits for enforceAfter of quiet).

import { formatDuration } from '../../config/duration.ts';
import { formatTime } from '../../engine/provenance.ts';
import type { StagedRef } from '../../simulate/policy-set.ts';
import { contentHash } from '../../util/content-hash.ts';
import { own } from '../../util/plain.ts';
import { proposalQuestion } from './recommendation-change.ts';
import { simulate } from './simulation.ts';
import type { AcceptanceRecord, LifecycleInput } from './unit.ts';
import type { CheckedFlow } from './unit-flows.ts';

/** Since when accepted policies have denied nothing: their acceptance, or their last would-be denial. */
export function quietSince(record: AcceptanceRecord): number {
  return Math.max(record.since, record.lastDenied ?? 0);
}

/**
 * The acceptance record of accepted policy files after this run: restarted by a new merge (the
 * files changed), with the flows of this run that enforcing them would deny, every other policy
 * as the default branch has it (other staged policies not applied).
 */
export function acceptance(
  input: LifecycleInput,
  id: string,
  files: ReadonlyMap<string, string>,
  flows: readonly CheckedFlow[],
  refs: readonly StagedRef[],
): AcceptanceRecord {
  const hash = contentHash(files);
  const previous = own(input.accepted, id);
  // A new record is dated at the merge that brought the files, when that merge is newer than what
  // the last record knew (otherwise the change was someone's commit, seen now).
  const merge = input.merges?.get(id);
  const merged = merge !== undefined && merge.mergedAt <= input.now && merge.mergedAt > (previous?.since ?? -1) ? merge : undefined;
  const record: AcceptanceRecord =
    previous?.hash === hash ? previous : { hash, since: merged?.mergedAt ?? input.now, denied: 0, ...(merged ? { pr: merged.pr } : {}) };
  if (flows.length === 0) return record;
  const { check } = simulate(
    input.tree,
    flows.map((f) => f.flow),
    input.facts,
    proposalQuestion(refs, 'The accepted policies are evaluated'),
    input.config.flavor,
  );
  // Only traffic since the merge, and not already counted (runs read a little of the last window again).
  const after = Math.max(record.since, record.lastDenied ?? 0);
  let denied = 0;
  let last = record.lastDenied;
  flows.forEach(({ lastSeen }, i) => {
    if (check.verdicts[i] !== 'denied' || lastSeen <= after) return;
    denied++;
    last = Math.max(last ?? 0, lastSeen);
  });
  return denied === 0 ? record : { ...record, denied: record.denied + denied, lastDenied: last! };
}

export function acceptanceNote(record: AcceptanceRecord, quietSince: number, enforceAfter: number): string {
  const denied =
    record.denied === 0
      ? `${record.pr === undefined ? 'accepted' : 'merged'} ${formatTime(record.since)}; would have denied nothing since`
      : `${record.pr === undefined ? 'accepted' : 'merged'} ${formatTime(record.since)}; would have denied ${record.denied} observed ${record.denied === 1 ? 'flow' : 'flows'} since, the last at ${formatTime(record.lastDenied!)}`;
  return `${denied}; enforcement is proposed after ${formatDuration(enforceAfter)} without a would-be denial, at ${formatTime(quietSince + enforceAfter)} at the earliest`;
}

/** Why accepted policies are not ready for enforcement (quiet for less than enforceAfter): a would-be denial, or a change that restarted the clock. */
export function waiting(what: string, record: AcceptanceRecord, enforceAfter: number): string {
  return record.lastDenied === undefined
    ? `${what} changed on the default branch at ${formatTime(record.since)}: enforcement is proposed once nothing would have been denied for ${formatDuration(enforceAfter)} since`
    : `${what} would have denied observed traffic at ${formatTime(record.lastDenied)}`;
}
