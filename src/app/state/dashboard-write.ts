// What a dashboard write replaced, so that a person's decision it overwrote can be restored.
// GitHub's issue update takes no precondition (issues/update in @octokit/openapi's
// api.github.com.json: no If-Match, no expected body), so a box a person ticks or unticks between
// a run's re-read of the dashboard and its write is overwritten. But GitHub's `issues.edited`
// webhook for that very write carries "the previous version of the body" (`changes.body.from`,
// webhook-issues-edited in @octokit/openapi-webhooks-types): each write records a digest of the
// body it was based on, the boxes it served, and a digest of itself, so whichever replica receives
// that webhook can tell that the edit is the bot's write as it wrote it (any other edit changes the
// body) and a person's overwritten decision from the bot's own, and put it back. Nothing is held in a
// replica's memory: the decision is on GitHub (in the delivery, which GitHub keeps and can
// redeliver if handling it fails).

import { createHash } from 'node:crypto';
import { dashboardBoxes } from '../render/dashboard.ts';
import { decodeMarker, replaceMarker, withoutMarker } from './marker.ts';

const WRITE_KIND = 'write';

export interface DashboardWriteRecord {
  /** The digest (bodyDigest) of the dashboard body the write was based on: its re-read. */
  readonly basedOn: string;
  /** The boxes (dashboardBoxes' keys) the write unticked because it served them. */
  readonly took: readonly string[];
  /** The digest of the body written, apart from this record (selfDigest). */
  readonly self: string;
}

function bodyDigest(body: string): string {
  return createHash('sha256').update(body).digest('base64url').slice(0, 22);
}

/**
 * The write record of a body exactly as the bot wrote it, or null: none, or the body was edited
 * since (its digest apart from the record is not the one recorded).
 */
export function writeRecordOf(body: string): DashboardWriteRecord | null {
  const value = decodeMarker(body, WRITE_KIND) as Partial<DashboardWriteRecord> | null;
  if (typeof value?.basedOn !== 'string' || !Array.isArray(value.took) || typeof value.self !== 'string') return null;
  if (value.self !== selfDigest(body)) return null;
  return { basedOn: value.basedOn, took: value.took.filter((b): b is string => typeof b === 'string'), self: value.self };
}

/** `body` (a dashboard) with its write record set, for a write based on the body `basedOn`. */
export function withWriteRecord(body: string, basedOn: string, took: readonly string[]): string {
  const record = { basedOn: bodyDigest(basedOn), took, self: '' };
  const self = selfDigest(replaceMarker(body, WRITE_KIND, record));
  return replaceMarker(body, WRITE_KIND, { ...record, self });
}

/** The digest of a body without its write record (the last one). */
function selfDigest(body: string): string {
  return bodyDigest(withoutMarker(body, WRITE_KIND));
}

/**
 * The boxes a dashboard write (`to`, as the bot wrote it) overwrote, with the state a person had
 * set (ticked or not): none when the body it replaced (`from`) is the one it was based on, since
 * then nothing happened in between. Otherwise every box both show whose state the write changed,
 * apart from those it served.
 */
export function overwrittenBoxes(from: string, to: string): ReadonlyMap<string, boolean> {
  const record = writeRecordOf(to);
  const overwritten = new Map<string, boolean>();
  if (record === null || bodyDigest(from) === record.basedOn) return overwritten;
  const before = dashboardBoxes(from);
  const took = new Set(record.took);
  for (const [box, ticked] of dashboardBoxes(to)) {
    const person = before.get(box);
    if (person !== undefined && person !== ticked && !took.has(box)) overwritten.set(box, person);
  }
  return overwritten;
}
