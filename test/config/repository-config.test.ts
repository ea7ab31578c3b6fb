import { describe, expect, test } from '@jest/globals';
import type { ConfigError } from '../../src/config/config-error.ts';
import { schedulePeriod, validateRepositoryConfig } from '../../src/config/repository-config.ts';

const defaults = { schedule: '0 */2 * * *', timezone: 'Etc/UTC' };
const issues = (value: unknown) => {
  try {
    validateRepositoryConfig(value, defaults);
    return [];
  } catch (e) {
    return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
};

describe('repository configuration', () => {
  test('defaults, and Calico scope keys read by the engine schema', () => {
    const config = validateRepositoryConfig(
      { clusters: [{ name: 'prod', path: '/clusters/prod/' }], maxRules: 30, namespaceSpec: { tierName: 'iso' } },
      defaults,
    );
    expect(config).toMatchObject({
      schedule: '0 */2 * * *',
      timezone: 'Etc/UTC',
      clusters: [{ name: 'prod', path: 'clusters/prod' }],
      pullRequests: { concurrentLimit: 10, hourlyLimit: 2, labels: [] },
      afterMerge: 'propose-updates',
      recommendation: {
        maxRules: 30,
        interval: 7200,
        initialLookback: 86400,
        stabilizationPeriod: 86400,
        namespaceSpec: { tierName: 'iso' },
      },
    });
  });

  test('flavor cilium is accepted by the App (issue 16 point 3: the bot stages Cilium policies itself, in its pull requests)', () => {
    expect(issues({ clusters: [{ name: 'prod', path: 'clusters/prod' }], flavor: 'cilium' })).toEqual([]);
    expect(
      validateRepositoryConfig({ clusters: [{ name: 'prod', path: 'clusters/prod' }], flavor: 'cilium' }, defaults).recommendation.flavor,
    ).toBe('cilium');
    expect(issues({ clusters: [{ name: 'prod', path: 'clusters/prod' }], flavor: 'kubernetes' })).toEqual([]);
  });

  test("a cluster's own flavor overrides the repository's for it, and must suit microsegmentation too", () => {
    const clusters = [
      { name: 'prod', path: 'clusters/prod' },
      { name: 'mesh', path: 'clusters/mesh', flavor: 'cilium' },
    ];
    const config = validateRepositoryConfig({ clusters }, defaults);
    expect(config.clusters).toEqual(clusters);
    expect(config.recommendation.flavor).toBe('calico');
    expect(issues({ clusters: [{ name: 'prod', path: 'p', flavor: 'weave' }] })).toEqual([
      'clusters.0.flavor: must be one of calico, calico-enterprise, kubernetes, cilium',
    ]);
    expect(
      issues({
        clusters: [{ name: 'prod', path: 'p', flavor: 'kubernetes' }],
        microsegmentation: { enabled: true, select: { namespaces: ['shop'] } },
      }),
    ).toEqual([
      'clusters.0.flavor: kubernetes: the kubernetes flavour has no tiers and no Pass, so per-workload policies cannot narrow the namespace policies: use flavor calico or calico-enterprise',
    ]);
  });

  test("afterMerge stop cannot go with Cilium's microsegmentation: a merged namespace policy must be narrowed by an update", () => {
    const microsegmentation = { enabled: true, select: { namespaces: ['shop'] } };
    const message =
      "afterMerge: stop cannot go with flavor cilium and microsegmentation: Cilium's allows add up, so a merged namespace policy must be updated to leave out the workloads whose own policies were merged, or their narrowing has no effect";
    const prod = { name: 'prod', path: 'clusters/prod' };
    expect(issues({ clusters: [prod], flavor: 'cilium', microsegmentation, afterMerge: 'stop' })).toEqual([message]);
    expect(issues({ clusters: [{ ...prod, flavor: 'cilium' }], microsegmentation, afterMerge: 'stop' })).toEqual([message]);
    expect(issues({ clusters: [prod], flavor: 'cilium', afterMerge: 'stop' })).toEqual([]);
    expect(issues({ clusters: [prod], flavor: 'cilium', microsegmentation })).toEqual([]);
    expect(issues({ clusters: [prod], microsegmentation, afterMerge: 'stop' })).toEqual([]);
  });

  test('the interval follows the schedule, and the periods scale with it', () => {
    expect(schedulePeriod('0 9 * * 1-5', 'Europe/Berlin')).toBe(86400);
    const weekly = validateRepositoryConfig({ schedule: '0 6 * * 1', clusters: [{ name: 'c', path: '' }] }, defaults).recommendation;
    expect(weekly).toMatchObject({ interval: 604800, initialLookback: 604800, stabilizationPeriod: 3 * 604800 });
  });

  test('every problem is reported with its key path, app keys and scope keys alike', () => {
    expect(
      issues({
        clusters: [{ name: 'Prod', path: '../x' }],
        schedule: 'hourly',
        timezone: 'Mars/Olympus',
        pullRequests: { hourlyLimit: -1, extra: 1 },
        afterMerge: 'maybe',
        flavour: 'calico',
      }),
    ).toEqual([
      expect.stringMatching(/^schedule: not a cron expression/),
      'timezone: not an IANA time zone such as Europe/Berlin or UTC',
      'clusters.0.name: a cluster name is a DNS label (lowercase letters, digits, "-")',
      'clusters.0.path: must be a relative path inside the repository',
      expect.stringMatching(/^pullRequests\.hourlyLimit: /),
      'pullRequests.extra: unknown key',
      expect.stringMatching(/^afterMerge: /),
      'flavour: unknown key (did you mean flavor?)',
    ]);
    // A misspelt key of the repository's own is found among them too, though the scope's schema reports it.
    expect(
      issues({ clusters: [{ name: 'a', path: '' }], schedul: '0 * * * *', pullRequests: { concurentLimit: 1 }, enforceAfter: 7 }),
    ).toEqual([
      'pullRequests.concurentLimit: unknown key (did you mean concurrentLimit?)',
      'enforceAfter: must be a duration such as 7d or 36h',
      'schedul: unknown key (did you mean schedule?)',
    ]);
    expect(issues({})).toEqual([expect.stringMatching(/^clusters: /)]);
    expect(
      issues({
        clusters: [
          { name: 'a', path: 'x' },
          { name: 'a', path: 'y' },
        ],
      }),
    ).toEqual(['clusters: each cluster is named once']);
    expect(issues('just text')).toEqual([': must be a YAML mapping of keys']);
  });
});
