// toFQDNs and DNS rule name matching, from pkg/fqdn/matchpattern/matchpattern.go and
// pkg/policy/api/fqdn.go (Cilium v1.16.0 and main, in cilium/cilium-cli v0.16.14 and v0.19.7):
// names and patterns are lower-cased and fully qualified (a trailing dot); in a pattern `*` stands
// for `[-a-zA-Z0-9_]*`, so it never crosses a dot; a pattern that is only `*` matches every name.

import type { Truth } from '../calico/selector.ts';
import type { FqdnSelector } from './types.ts';

const DNS_CHARS = '[-a-zA-Z0-9_]';

/** dns.FQDN: lower case, one trailing dot. */
function fqdn(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

function patternRegExp(pattern: string): RegExp {
  const body = fqdn(pattern)
    .split('')
    .map((c) => (c === '.' ? '[.]' : c === '*' ? `${DNS_CHARS}*` : c))
    .join('');
  return new RegExp(`^${body}$`);
}

/**
 * Does the selector match the name (as Hubble writes it, without the trailing dot)? A pattern
 * starting with `**.` means "one or more labels" on main only (absent from matchpattern.go of
 * v1.19.0-pre.3, where `**` is two single-label wildcards): names it matches on one release and
 * not the other answer unknown.
 */
export function fqdnMatches(selector: FqdnSelector, name: string): Truth {
  const target = fqdn(name);
  if ('matchName' in selector) return fqdn(selector.matchName) === target;
  const pattern = selector.matchPattern.trim();
  // 1.16: exactly "*" matches every name; main: every pattern of `^[*]{1,}[.]?$` (dnsWildcardRegex)
  // does, which on 1.16 (and up to 1.19) are single-label wildcards.
  if (pattern === '*') return true;
  if (/^[*]+[.]?$/.test(pattern)) return patternRegExp(pattern).test(target) ? true : 'unknown';
  const older = patternRegExp(pattern).test(target);
  if (!pattern.startsWith('**.')) return older;
  const rest = patternRegExp(pattern.slice(3));
  const labels = target.split('.').slice(0, -1);
  let newer = false;
  for (let i = 1; i < labels.length && !newer; i++) {
    if (labels.slice(0, i).every((l) => /^[-a-zA-Z0-9_]+$/.test(l)) && rest.test(`${labels.slice(i).join('.')}.`)) newer = true;
  }
  return older === newer ? older : 'unknown';
}

/** Does the selector match every name (a DNS rule `matchPattern: "*"`)? */
export function matchesEveryName(selector: FqdnSelector): boolean {
  return 'matchPattern' in selector && selector.matchPattern.trim() === '*';
}
