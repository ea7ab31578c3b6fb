// Hidden, machine-readable state in PR bodies and the dashboard issue: an HTML comment holding
// gzip-compressed, base64-encoded JSON. Git and GitHub are the bot's only database; these
// markers let a run recognise its own work without fetching branches.

import { gunzipSync, gzipSync } from 'node:zlib';

const MARKER_PREFIX = '<!-- policy-recommender:';
const MAX_DECODED = 4 * 1024 * 1024;

export function encodeMarker(kind: string, value: unknown): string {
  const payload = gzipSync(Buffer.from(JSON.stringify(value), 'utf8')).toString('base64');
  return `${MARKER_PREFIX}${kind} ${payload} -->`;
}

/** `body` with its (last) marker of that kind replaced (or appended when it has none). */
export function replaceMarker(body: string, kind: string, value: unknown): string {
  const marker = encodeMarker(kind, value);
  const span = markerSpan(body, kind);
  return span === null ? `${body.trimEnd()}\n\n${marker}\n` : `${body.slice(0, span.start)}${marker}${body.slice(span.end)}`;
}

/** `body` without its (last) marker of that kind. */
export function withoutMarker(body: string, kind: string): string {
  const span = markerSpan(body, kind);
  return span === null ? body : body.slice(0, span.start) + body.slice(span.end);
}

/** Where the last marker of that kind is in `body`, or null. */
function markerSpan(body: string, kind: string): { start: number; end: number } | null {
  const start = body.lastIndexOf(`${MARKER_PREFIX}${kind} `);
  const end = start === -1 ? -1 : body.indexOf(' -->', start);
  return end === -1 ? null : { start, end: end + 4 };
}

/**
 * The value of the last marker of that kind (the bot writes it at the end; anything earlier came
 * from elsewhere), or null when absent or unreadable.
 */
export function decodeMarker(body: string | null | undefined, kind: string): unknown {
  if (!body) return null;
  const start = body.lastIndexOf(`${MARKER_PREFIX}${kind} `);
  if (start === -1) return null;
  const from = start + MARKER_PREFIX.length + kind.length + 1;
  const end = body.indexOf(' -->', from);
  if (end === -1) return null;
  const payload = body.slice(from, end);
  if (!/^[A-Za-z0-9+/=]*$/.test(payload)) return null;
  try {
    return JSON.parse(gunzipSync(Buffer.from(payload, 'base64'), { maxOutputLength: MAX_DECODED }).toString('utf8'));
  } catch {
    return null;
  }
}
