// Two dashboards' memories made one, when a repository has ended up with two dashboard issues (a
// person copied one, or an older version opened a second one): whatever either remembers is kept,
// so merging loses nothing that keeping either alone would keep.

import { mergeEndpointObservations, mergeObservations } from '../../engine/aggregate.ts';
import type { EndpointObservation, ObservedAtom } from '../../engine/model.ts';
import type { AcceptanceRecord } from '../../plan/lifecycle/unit.ts';
import type { DashboardMemory } from '../render/dashboard.ts';

export function mergeDashboardMemory(memories: readonly DashboardMemory[]): DashboardMemory {
  const flowsReadUntil: Record<string, number> = {};
  const pending: Record<string, readonly ObservedAtom[]> = {};
  const pendingEndpoints: Record<string, readonly EndpointObservation[]> = {};
  const accepted: Record<string, Record<string, AcceptanceRecord>> = {};
  const dismissed = new Set<string>();
  const recreate = new Set<string>();
  for (const m of memories) {
    // The earlier read point: flows after it are read again (the evidence counts each flow once),
    // where the later one would skip what only the other dashboard's runs had not read.
    for (const [cluster, until] of Object.entries(m.flowsReadUntil))
      flowsReadUntil[cluster] = Math.min(flowsReadUntil[cluster] ?? until, until);
    for (const [key, atoms] of Object.entries(m.pending)) pending[key] = mergeObservations(pending[key] ?? [], atoms);
    for (const [key, list] of Object.entries(m.pendingEndpoints))
      pendingEndpoints[key] = mergeEndpointObservations([...(pendingEndpoints[key] ?? []), ...list]);
    for (const [cluster, records] of Object.entries(m.accepted)) {
      const kept = (accepted[cluster] ??= {});
      for (const [unit, record] of Object.entries(records))
        kept[unit] = kept[unit] === undefined ? record : mergeAcceptance(kept[unit], record);
    }
    for (const id of m.dismissed) dismissed.add(id);
    for (const id of m.recreate ?? []) recreate.add(id);
  }
  return {
    v: 1,
    flowsReadUntil,
    pending,
    pendingEndpoints,
    accepted,
    dismissed: [...dismissed].sort(),
    ...(recreate.size > 0 ? { recreate: [...recreate].sort() } : {}),
  };
}

/**
 * One accepted policy's enforcement clock: for the same merged policy, the earliest start and
 * every denial either saw (the latest, the most counted), so the clock never runs ahead of what
 * was observed. For different policies, the later start: a newer merge restarted the clock.
 */
function mergeAcceptance(a: AcceptanceRecord, b: AcceptanceRecord): AcceptanceRecord {
  if (a.hash !== b.hash) return a.since >= b.since ? a : b;
  const lastDenied = Math.max(a.lastDenied ?? -1, b.lastDenied ?? -1);
  // The same merge: its PR, as whichever run first saw it found it.
  const pr = a.pr ?? b.pr;
  return {
    hash: a.hash,
    since: Math.min(a.since, b.since),
    denied: Math.max(a.denied, b.denied),
    ...(lastDenied >= 0 ? { lastDenied } : {}),
    ...(pr !== undefined ? { pr } : {}),
  };
}
