// Port matches in Calico rules: a number, a range "lo:hi", or a named port.

import type { PortMatch } from './types.ts';

export interface PortRange {
  readonly lo: number;
  readonly hi: number;
}

/**
 * What a rule matches port 0 by. Felix reports flows to destination port 0 (a TCP or UDP packet may
 * carry it), but `ports` cannot name it (validatePort, libcalico-go/lib/validator/v3/validator.go:
 * 1-65535); `notPorts` of every other port matches port 0 and nothing else.
 */
export const EVERY_PORT_BUT_ZERO = '1:65535';

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

/**
 * An IANA service name as Kubernetes' IsValidPortName checks it, which Calico applies to named
 * ports (`validatePortName`, libcalico-go/lib/validator/v3/validator.go): 1-15 of [-a-z0-9], at
 * least one letter, no leading, trailing or doubled `-`.
 */
function isPortName(s: string): boolean {
  return (
    s.length >= 1 &&
    s.length <= 15 &&
    /^[-a-z0-9]+$/.test(s) &&
    /[a-z]/.test(s) &&
    !s.includes('--') &&
    !s.startsWith('-') &&
    !s.endsWith('-')
  );
}

/**
 * A rule's port as Calico decodes it (api/pkg/lib/numorstring/port.go: a number is a uint16; a
 * string of digits is a port, `<digits>:<digits>` a range with min <= max, anything else a name of
 * [a-zA-Z0-9_.-]{1,128}) and then validates it (validatePort: numbers from 1; validatePortName),
 * the same on every release. Returns the match in canonical form (a number, `lo:hi`, or the
 * name), or the reason Calico refuses it.
 */
export function calicoPortMatch(p: unknown): { match: PortMatch } | { error: string } {
  const inU16 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 65535;
  const fromOne = (lo: number, hi: number) => (lo < 1 || hi < 1 ? { error: 'port numbers start at 1' } : null);
  if (typeof p === 'number') {
    if (!inU16(p)) return { error: 'not a port number (0-65535)' };
    return fromOne(p, p) ?? { match: p };
  }
  if (typeof p !== 'string') return { error: 'neither a number nor a string' };
  if (/^\d+$/.test(p)) {
    const n = Number(p);
    if (!inU16(n)) return { error: 'not a port number (0-65535)' };
    return fromOne(n, n) ?? { match: n };
  }
  const range = /^(\d+):(\d+)$/.exec(p);
  if (range) {
    const [lo, hi] = [Number(range[1]), Number(range[2])];
    if (!inU16(lo) || !inU16(hi)) return { error: 'a range of port numbers (0-65535)' };
    if (lo > hi) return { error: 'the range starts after it ends' };
    return fromOne(lo, hi) ?? { match: lo === hi ? lo : `${lo}:${hi}` };
  }
  if (!/^[a-zA-Z0-9_.-]{1,128}$/.test(p) || !isPortName(p))
    return { error: 'a port name is 1-15 lowercase letters, digits and "-", with a letter' };
  return { match: p };
}

/** Is a port match (as calicoPortMatch returns it) a named port? */
export function isNamedPortMatch(match: PortMatch): boolean {
  return typeof match === 'string' && !/^\d+(:\d+)?$/.test(match);
}
