// Puts back on the dashboard a person's tick or untick that a run's write overwrote (which ones:
// state/dashboard-write.ts, from the webhook of that write). Only boxes nobody changed since that
// write are set: a later choice, or a later run serving the box, stands.

import type { Repository } from '../github/repository.ts';
import { dashboardBoxes, withDashboardBoxes } from '../render/dashboard.ts';
import { overwrittenBoxes, withWriteRecord } from '../state/dashboard-write.ts';

/** The boxes put back, with their state; `from` and `to` are an edit's previous and new body. */
export async function restoreOverwrittenBoxes(
  repo: Repository,
  issue: number,
  from: string,
  to: string,
): Promise<ReadonlyMap<string, boolean>> {
  const overwritten = overwrittenBoxes(from, to);
  if (overwritten.size === 0) return overwritten;
  const current = (await repo.readIssue(issue)).body ?? '';
  const now = dashboardBoxes(current);
  const written = dashboardBoxes(to);
  const restore = new Map([...overwritten].filter(([box]) => now.get(box) === written.get(box)));
  if (restore.size === 0) return restore;
  await repo.updateIssue(issue, withWriteRecord(withDashboardBoxes(current, restore), current, []));
  return restore;
}
