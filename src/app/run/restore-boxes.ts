// Puts back on the dashboard a person's tick or untick that a run's write overwrote (which ones:
// state/dashboard-write.ts, from the webhook of that write, recorded for the next run:
// run/inbox.ts). Only boxes nobody changed since that write are set: a later choice, or a later
// run serving the box, stands. Pure: the run reads the dashboard and writes it, under its lock.

import { dashboardBoxes, withDashboardBoxes } from '../render/dashboard.ts';
import { overwrittenBoxes, withWriteRecord } from '../state/dashboard-write.ts';

/**
 * The dashboard `current` with the boxes the write `from` -> `to` overwrote put back, or null
 * when there is nothing to put back (nothing was overwritten, or each such box changed since).
 */
export function restoreOverwrittenBoxes(
  from: string,
  to: string,
  current: string,
): { readonly body: string; readonly restored: ReadonlyMap<string, boolean> } | null {
  const overwritten = overwrittenBoxes(from, to);
  if (overwritten.size === 0) return null;
  const now = dashboardBoxes(current);
  const written = dashboardBoxes(to);
  const restored = new Map([...overwritten].filter(([box]) => now.get(box) === written.get(box)));
  if (restored.size === 0) return null;
  // A write of its own, with its record: its webhook tells that it overwrote nothing.
  return { body: withWriteRecord(withDashboardBoxes(current, restored), current, []), restored };
}
