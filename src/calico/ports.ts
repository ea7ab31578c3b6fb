// Port matches in Calico rules: a number, a range "lo:hi", or a named port.

import type { PortMatch } from './types.ts';

export interface PortRange {
  readonly lo: number;
  readonly hi: number;
}

export function isPortNumber(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535;
}

/** A numeric port or range; null for named ports and anything malformed. */
export function portRange(match: unknown): PortRange | null {
  if (isPortNumber(match)) return { lo: match, hi: match };
  if (typeof match !== 'string') return null;
  const m = /^(\d{1,5})(?::(\d{1,5}))?$/.exec(match);
  if (!m) return null;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return isPortNumber(lo) && isPortNumber(hi) && lo <= hi ? { lo, hi } : null;
}

export function portMatchCovers(match: unknown, port: number): boolean {
  const range = portRange(match);
  return range !== null && range.lo <= port && port <= range.hi;
}

/** Numbers and ranges by their start, then named ports alphabetically. */
export function comparePortMatches(a: PortMatch, b: PortMatch): number {
  const ra = portRange(a);
  const rb = portRange(b);
  if (ra && rb) return ra.lo - rb.lo || ra.hi - rb.hi;
  if (ra) return -1;
  if (rb) return 1;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/** Lexicographic comparison of two sorted port lists (used to order rules). */
export function comparePortLists(a: readonly PortMatch[], b: readonly PortMatch[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = comparePortMatches(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}
