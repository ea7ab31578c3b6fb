// FQDN name matching: pkg/fqdn/matchpattern/matchpattern.go and pkg/policy/api/fqdn.go of Cilium
// v1.16.0 (cilium/cilium-cli v0.16.14's vendor tree) and main (v0.19.7's), and the outcomes of
// Documentation/security/dns.rst (examples/kubernetes-dns/dns-pattern.yaml: "the `*.` in the
// pattern requires one subdomain").

import { describe, expect, test } from '@jest/globals';
import { fqdnMatches, matchesEveryName } from '../../src/cilium/fqdn.ts';

describe('matchName', () => {
  test('the whole name, case-insensitive, trailing dot or not (dns.FQDN lower-cases and qualifies)', () => {
    expect(fqdnMatches({ matchName: 'api.github.com' }, 'api.github.com')).toBe(true);
    expect(fqdnMatches({ matchName: 'API.GitHub.com' }, 'api.github.com')).toBe(true);
    expect(fqdnMatches({ matchName: 'api.github.com.' }, 'api.github.com')).toBe(true);
    expect(fqdnMatches({ matchName: 'api.github.com' }, 'support.github.com')).toBe(false);
    expect(fqdnMatches({ matchName: 'github.com' }, 'api.github.com')).toBe(false);
  });
});

describe('matchPattern', () => {
  test('`*` stands for DNS characters within one label (escapeRegexpCharacters)', () => {
    const p = { matchPattern: '*.github.com' };
    expect(fqdnMatches(p, 'gist.github.com')).toBe(true);
    expect(fqdnMatches(p, 'github.com')).toBe(false);
    expect(fqdnMatches(p, 'a.b.github.com')).toBe(false);
    expect(fqdnMatches({ matchPattern: '*cilium.io' }, 'cilium.io')).toBe(true);
    expect(fqdnMatches({ matchPattern: '*cilium.io' }, 'subcilium.io')).toBe(true);
    expect(fqdnMatches({ matchPattern: '*cilium.io' }, 'www.cilium.io')).toBe(false);
    expect(fqdnMatches({ matchPattern: 'api-*.example.com' }, 'api-v2.example.com')).toBe(true);
  });

  test('patterns are lower-cased before compiling', () => {
    expect(fqdnMatches({ matchPattern: '*.GitHub.COM' }, 'Gist.github.com')).toBe(true);
  });

  test('"*" alone matches every name (ToAnchoredRegexp)', () => {
    expect(fqdnMatches({ matchPattern: '*' }, 'a.b.c.example.org')).toBe(true);
    expect(matchesEveryName({ matchPattern: '*' })).toBe(true);
    expect(matchesEveryName({ matchPattern: '*.com' })).toBe(false);
    expect(matchesEveryName({ matchName: 'x.com' })).toBe(false);
  });

  test('`**` and `*.` match every name on main (dnsWildcardRegex) but one label up to 1.19: unknown where they differ', () => {
    expect(fqdnMatches({ matchPattern: '**' }, 'localhost')).toBe(true);
    expect(fqdnMatches({ matchPattern: '**' }, 'a.example.com')).toBe('unknown');
    expect(fqdnMatches({ matchPattern: '*.' }, 'a.example.com')).toBe('unknown');
  });

  test('`**.` is one or more labels on main only (absent from v1.19.0-pre.3): unknown where releases differ', () => {
    const p = { matchPattern: '**.cilium.io' };
    expect(fqdnMatches(p, 'app.cilium.io')).toBe(true);
    expect(fqdnMatches(p, 'a.b.cilium.io')).toBe('unknown');
    expect(fqdnMatches(p, 'cilium.io')).toBe(false);
  });
});
