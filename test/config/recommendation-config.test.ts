import { describe, expect, test } from '@jest/globals';
import { formatDuration, parseDuration } from '../../src/config/duration.ts';
import { ConfigError, DEFAULT_CONFIG, parseRecommendationConfig } from '../../src/config/recommendation-config.ts';
import { configIssues } from '../support/cli.ts';

const issues = configIssues;

describe('recommendation config', () => {
  test("defaults are Calico's documented PolicyRecommendationScope defaults", () => {
    expect(DEFAULT_CONFIG).toMatchObject({
      flavor: 'calico',
      interval: 150,
      initialLookback: 86400,
      stabilizationPeriod: 600,
      maxRules: 20,
      clusterDomain: 'cluster.local',
      namespaceSpec: { recStatus: 'Enabled', intraNamespacePassThroughTraffic: false, tierName: 'namespace-isolation' },
    });
    const selector = DEFAULT_CONFIG.namespaceSpec.selector;
    for (const ns of ['kube-system', 'calico-system', 'tigera-operator', 'openshift-dns']) {
      expect(selector.matches({ 'kubernetes.io/metadata.name': ns })).toBe(false);
    }
    expect(selector.matches({ 'kubernetes.io/metadata.name': 'shop' })).toBe(true);
  });

  test('every key is read with the same names as Calico', () => {
    const config = parseRecommendationConfig(
      [
        'flavor: calico-enterprise',
        'interval: 5m',
        'initialLookback: 7d',
        'stabilizationPeriod: 1h30m',
        'maxRules: 40',
        'clusterDomain: corp.internal',
        'namespaceSpec:',
        '  recStatus: Disabled',
        "  selector: team == 'payments'",
        '  intraNamespacePassThroughTraffic: true',
        '  tierName: isolation',
      ].join('\n'),
      'scope.yml',
    );
    expect(config).toMatchObject({
      flavor: 'calico-enterprise',
      interval: 300,
      initialLookback: 7 * 86400,
      stabilizationPeriod: 5400,
      maxRules: 40,
      clusterDomain: 'corp.internal',
      namespaceSpec: { recStatus: 'Disabled', intraNamespacePassThroughTraffic: true, tierName: 'isolation' },
    });
    expect(config.namespaceSpec.selector.matches({ team: 'payments' })).toBe(true);
  });

  test('an empty file means the defaults', () => {
    expect(parseRecommendationConfig('', 'empty.yml')).toMatchObject({ flavor: 'calico', maxRules: 20 });
    expect(parseRecommendationConfig('# nothing yet\n', 'empty.yml')).toMatchObject({ flavor: 'calico' });
  });

  test('bad values and unknown keys name their key path', () => {
    expect(issues({ flavour: 'calico' })).toEqual(['flavour: unknown key (did you mean flavor?)']);
    expect(issues({ namespaceSpec: { tier: 'x' } })).toEqual(['namespaceSpec.tier: unknown key (did you mean tierName?)']);
    expect(issues({ flavor: 'antrea' })[0]).toMatch(/^flavor: /);
    expect(issues({ flavor: 'cilium' })).toEqual([]);
    expect(issues({ maxRules: 0 })[0]).toMatch(/^maxRules: /);
    expect(issues({ maxRules: '20' })[0]).toMatch(/^maxRules: /);
    expect(issues({ interval: '5 minutes' })).toEqual(['interval: "5 minutes" is not a duration (use e.g. 2m30s, 24h, 7d)']);
    expect(issues({ interval: 300 })[0]).toMatch(/^interval: must be a duration/);
    expect(issues({ interval: '10s' })).toEqual(['interval: must be at least 30s']);
    expect(issues({ interval: '2h', initialLookback: '1h', stabilizationPeriod: '3h' })).toEqual([
      'initialLookback: must not be shorter than interval',
    ]);
    expect(issues({ stabilizationPeriod: '1m' })).toEqual(['stabilizationPeriod: must not be shorter than interval']);
    expect(issues({ namespaceSpec: { tierName: 'Bad_Tier' } })[0]).toMatch(/^namespaceSpec\.tierName: must be a tier name/);
    expect(issues({ namespaceSpec: { selector: "team == 'x" } })[0]).toMatch(/^namespaceSpec\.selector: invalid selector: .*position/);
    expect(issues({ namespaceSpec: { recStatus: 'On' } })[0]).toMatch(/^namespaceSpec\.recStatus: /);
    expect(issues({ clusterDomain: '../etc' })[0]).toMatch(/^clusterDomain: /);
  });

  test('every problem at once, in our words, with "did you mean" for a misspelt key or value', () => {
    expect(
      issues({
        maxrules: 5,
        namespaceSpec: { tierNmae: 'x', recStatus: 'enabled', intraNamespacePassThroughTraffic: 'yes' },
        microsegmentation: { select: { namespace: ['a'] } },
        flavor: 'calcio',
        maxRules: 2.5,
        ipFamilies: [],
        calicoVersion: true,
        clusterDomain: null,
        zzz: 1,
      }),
    ).toEqual([
      'flavor: must be one of calico, calico-enterprise, kubernetes, cilium (did you mean calico?)',
      'calicoVersion: must be text or a number',
      'ipFamilies: name at least one family: IPv4, IPv6',
      'maxRules: must be a whole number, not a number',
      'clusterDomain: must be text, not null',
      'namespaceSpec.recStatus: must be one of Enabled, Disabled (did you mean Enabled?)',
      'namespaceSpec.intraNamespacePassThroughTraffic: must be true or false, not text',
      'namespaceSpec.tierNmae: unknown key (did you mean tierName?)',
      'microsegmentation.select.namespace: unknown key (did you mean namespaces?)',
      'maxrules: unknown key (did you mean maxRules?)',
      'zzz: unknown key',
    ]);
    expect(issues({ maxRules: 0 })).toEqual(['maxRules: must be at least 1']);
    expect(issues({ maxRules: 1001 })).toEqual(['maxRules: must be at most 1000']);
    expect(issues({ maxRules: '20' })).toEqual(['maxRules: must be a number, not text']);
  });

  test('a file that is not YAML, or not a mapping, is one clear error', () => {
    expect(() => parseRecommendationConfig('flavor: [calico\n', 'bad.yml')).toThrow(
      /invalid configuration in bad.yml: not valid YAML at line \d/,
    );
    expect(() => parseRecommendationConfig('- calico\n', 'list.yml')).toThrow(
      'invalid configuration in list.yml: must be a YAML mapping of keys',
    );
    expect(() => parseRecommendationConfig('a: &x [*x]\n', 'alias.yml')).toThrow(ConfigError);
  });
});

describe('durations', () => {
  test('Go syntax plus days', () => {
    expect(parseDuration('2m30s')).toBe(150);
    expect(parseDuration('1.5h')).toBe(5400);
    expect(parseDuration('7d')).toBe(604800);
    expect(parseDuration('500ms')).toBe(0.5);
    for (const bad of ['', '5', 'm', '5 m', '-5m', '5mm', '1h-', '1e3s']) expect(parseDuration(bad)).toBeNull();
  });

  test('formatting is the shortest exact form', () => {
    expect(formatDuration(150)).toBe('2m30s');
    expect(formatDuration(86400)).toBe('24h');
    expect(formatDuration(0)).toBe('0s');
  });
});
