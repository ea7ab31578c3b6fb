// The README's configuration examples are what people copy: they must stay valid as the schemas move.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { AppMetrics } from '../src/app/ops/metrics.ts';
import { CURRENT_CALICO_RELEASE } from '../src/calico/release.ts';
import { validateDeploymentConfig } from '../src/config/deployment-config.ts';
import { parseDuration } from '../src/config/duration.ts';
import { DEFAULT_CONFIG } from '../src/config/recommendation-config.ts';
import { type ScheduleDefaults, validateRepositoryConfig } from '../src/config/repository-config.ts';
import { defaultsFromManifest } from '../src/config/schedule-defaults.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** The first ```yaml block after the given heading. */
function exampleAfter(heading: string): unknown {
  const at = readme.indexOf(heading);
  expect(at).toBeGreaterThanOrEqual(0);
  const block = /```yaml\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(block).not.toBeNull();
  return parse(block![1]!);
}

describe('README examples', () => {
  it('the deployment configuration example is valid, with one cluster per flow source', () => {
    const config = validateDeploymentConfig(exampleAfter('### Tell it where the flows are'), 'README.md');
    expect(
      Object.values(config.clusters)
        .map((c) => c.flows.source)
        .sort(),
    ).toEqual(['elasticsearch', 'file', 'goldmane', 'hubble']);
  });

  it('the repository configuration example is valid and gets the documented defaults', () => {
    const config = validateRepositoryConfig(exampleAfter('### Configure a repository'), { schedule: '0 */2 * * *', timezone: 'Etc/UTC' });
    expect(config.clusters).toEqual([{ name: 'prod', path: 'clusters/prod' }]);
    expect(config.pullRequests).toEqual({ concurrentLimit: 10, hourlyLimit: 2, labels: [] });
    expect(config.afterMerge).toBe('propose-updates');
    expect(config.recommendation.initialLookback).toBe(24 * 3600);
  });
});

// The README's facts that the code decides: every path it names exists, every link inside it
// lands, and the defaults, metrics and environment variables it lists are the code's.

const ROOT = new URL('../', import.meta.url);
const exists = (path: string) => existsSync(new URL(path, ROOT));

/** The README's text between a heading and the next heading of the same or a higher level. */
function section(heading: string): string {
  const at = readme.indexOf(`\n${heading}\n`);
  expect(at).toBeGreaterThanOrEqual(0);
  const level = /^#+/.exec(heading)![0].length;
  const rest = readme.slice(at + heading.length + 2);
  const end = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return end === -1 ? rest : rest.slice(0, end);
}

/** The rows of the first Markdown table in `text`, as cells (header and separator left out). */
function tableRows(text: string): string[][] {
  const lines = text.split('\n').map((l) => l.trim());
  const start = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
  }
  return rows;
}

/** The texts inside backticks in `text`. */
const codeSpans = (text: string) => [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);

/** GitHub's anchor for a heading: lower case, punctuation (backticks, dots, colons...) dropped, spaces to hyphens. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');

/** The README's text outside fenced code blocks. */
const prose = readme.replace(/^```[\s\S]*?^```/gm, '');

describe('README facts', () => {
  it('every path it names in backticks (src/, test/, deploy/, ...) exists', () => {
    const named = new Set(
      codeSpans(readme).filter(
        (s) => /^(src|test|deploy|policies-template|samples|bin|scripts|bench)\//.test(s) && !/[<>*]|\.\.\./.test(s) && !/\s/.test(s),
      ),
    );
    for (const file of ['app.yml', 'package.json', 'biome.jsonc', 'tsconfig.build.json', 'Dockerfile']) {
      if (readme.includes(`\`${file}\``)) named.add(file);
    }
    expect(named.size).toBeGreaterThan(40);
    expect([...named].filter((p) => !exists(p))).toEqual([]);
  });

  it('every file and folder of the project layout exists where the layout puts it', () => {
    const block = /\n {4}src\/\n([\s\S]*?)\n\n/.exec(section('## Project layout'))![1]!.split('\n');
    const missing: string[] = [];
    let top = 'src';
    let owner = 'src';
    for (const line of block) {
      const indent = /^ */.exec(line)![0].length;
      // The names column: `app/`, `plan.ts`, `microsegmentation.ts, workloads.ts`, `Dockerfile, deploy/`.
      const names = /^[\w./-]+(?:, [\w./-]+)*/.exec(line.trim())?.[0] ?? '';
      if (indent === 4) {
        // A root entry: `bin/`, `scripts/build.ts`, `Dockerfile, deploy/` ...
        for (const name of names.split(', ')) if (!exists(name)) missing.push(name);
        owner = '';
        continue;
      }
      if (indent === 6 || indent === 8) {
        const first = names.split(', ')[0]!;
        const parent = indent === 6 ? 'src' : top;
        if (first.endsWith('/')) {
          owner = `${parent}/${first.slice(0, -1)}`;
          if (indent === 6) top = owner;
          if (!exists(`${owner}/`)) missing.push(`${owner}/`);
        } else {
          owner = parent;
        }
      }
      // Every TypeScript file a line names is in the folder that line describes, or below it.
      if (owner === '') continue;
      const files = [...line.matchAll(/\b[\w-]+\.ts\b/g)].map((m) => m[0]);
      const under = readdirSync(new URL(`${owner}/`, ROOT), { recursive: true }).map((f) => String(f).split('/').pop());
      for (const file of files) if (!under.includes(file)) missing.push(`${owner}/.../${file}`);
    }
    expect(missing).toEqual([]);
  });

  it('every link inside the README lands on a heading, and every relative link on a file', () => {
    const anchors = new Set([...prose.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
    expect(links.filter((l) => l.startsWith('#') && !anchors.has(l.slice(1)))).toEqual([]);
    expect(links.filter((l) => !l.startsWith('#') && !/^https?:/.test(l) && !exists(l))).toEqual([]);
    expect(links.filter((l) => l.startsWith('#')).length).toBeGreaterThan(10);
  });

  it("the Configuration table's defaults are the code's", () => {
    const rows = new Map(tableRows(section('## Configuration')).map(([key = '', value = '']) => [key, value]));
    const d = DEFAULT_CONFIG;
    const sole = (key: string) => {
      const spans = codeSpans(rows.get(`\`${key}\``) ?? '');
      expect(spans).toHaveLength(1);
      return spans[0]!;
    };
    expect(parseDuration(sole('interval'))).toBe(d.interval);
    expect(parseDuration(sole('initialLookback'))).toBe(d.initialLookback);
    expect(parseDuration(sole('stabilizationPeriod'))).toBe(d.stabilizationPeriod);
    expect({
      flavor: sole('flavor'),
      maxRules: Number(sole('maxRules')),
      clusterDomain: sole('clusterDomain'),
      recStatus: sole('namespaceSpec.recStatus'),
      intraNamespacePassThroughTraffic: sole('namespaceSpec.intraNamespacePassThroughTraffic'),
      tierName: sole('namespaceSpec.tierName'),
      microsegmentation: sole('microsegmentation.enabled'),
      microsegmentationTier: sole('microsegmentation.tierName'),
      pullRequests: sole('microsegmentation.pullRequests'),
    }).toEqual({
      flavor: d.flavor,
      maxRules: d.maxRules,
      clusterDomain: d.clusterDomain,
      recStatus: d.namespaceSpec.recStatus,
      intraNamespacePassThroughTraffic: String(d.namespaceSpec.intraNamespacePassThroughTraffic),
      tierName: d.namespaceSpec.tierName,
      microsegmentation: String(d.microsegmentation.enabled),
      microsegmentationTier: d.microsegmentation.tierName,
      pullRequests: d.microsegmentation.pullRequests,
    });
    // Left out, the release and the families are the cluster's, else these.
    expect(d.calicoVersion).toBeNull();
    expect(rows.get('`calicoVersion`')).toBe(`the cluster's, else \`${CURRENT_CALICO_RELEASE}\``);
    expect(d.ipFamilies).toBeNull();
    expect(rows.get('`ipFamilies`')).toBe("the cluster's, else `[IPv4]`");
  });

  it("the repository configuration's defaults are the code's, and the default schedule is app.yml's", () => {
    const manifest = defaultsFromManifest(readFileSync(new URL('app.yml', ROOT), 'utf8'));
    const rows = new Map(
      tableRows(section('### Configure a repository: `.github/policy-recommender.yml`')).map(([k = '', v = '']) => [k, v]),
    );
    expect(rows.get('`schedule`')).toBe(`the deployment's (\`${manifest['schedule']}\`)`);
    expect(rows.get('`timezone`')).toBe(`the deployment's (\`${manifest['timezone']}\`)`);
    const env = tableRows(section('### Install it')).find(([name]) => name!.includes('POLICY_RECOMMENDER_SCHEDULE'))!;
    expect(env[1]).toContain(`otherwise \`${manifest['schedule']}\` in \`${manifest['timezone']}\``);

    const config = validateRepositoryConfig({ clusters: [{ name: 'prod', path: '' }] }, manifest as unknown as ScheduleDefaults);
    const sole = (key: string) => codeSpans(rows.get(`\`${key}\``) ?? '')[0];
    expect({
      concurrentLimit: Number(sole('pullRequests.concurrentLimit')),
      hourlyLimit: Number(sole('pullRequests.hourlyLimit')),
      labels: JSON.parse(sole('pullRequests.labels')!),
      afterMerge: sole('afterMerge'),
      enforceAfter: parseDuration(sole('enforceAfter')!),
    }).toEqual({ ...config.pullRequests, afterMerge: config.afterMerge, enforceAfter: config.enforceAfter });

    // The derived periods, for a schedule whose period is longer than a day and for one shorter.
    expect(rows.get('`initialLookback`')).toBe("the larger of 24h and the schedule's period");
    expect(rows.get('`stabilizationPeriod`')).toBe('the larger of 24h and 3 periods');
    const derived = (schedule: string) => {
      const { recommendation: r } = validateRepositoryConfig(
        { schedule, clusters: [{ name: 'prod', path: '' }] },
        manifest as unknown as ScheduleDefaults,
      );
      return [r.interval, r.initialLookback, r.stabilizationPeriod];
    };
    const day = 24 * 3600;
    expect(derived('0 0 * * 0')).toEqual([7 * day, 7 * day, 21 * day]);
    expect(derived('0 */12 * * *')).toEqual([day / 2, day, 3 * (day / 2)]);
    expect(derived('*/30 * * * *')).toEqual([1800, day, day]);
  });

  it('the metrics table names every metric the App registers, with its labels', () => {
    const table = tableRows(section('### Operating it'));
    const documented = Object.fromEntries(table.map(([name = '', labels = '']) => [codeSpans(name)[0], codeSpans(labels).sort()]));
    const registered = Object.fromEntries(
      new AppMetrics().registry
        .getMetricsAsArray()
        .map((m) => [m.name, [...((m as unknown as { labelNames: readonly string[] }).labelNames ?? [])].sort()]),
    );
    expect(documented).toEqual(registered);
    // Elsewhere (troubleshooting, how a recommendation is built), a metric named is one of those.
    const named = new Set([...readme.matchAll(/\bpolicy_recommender_\w*[a-z]\b(?!\*)/g)].map((m) => m[0]));
    expect([...named].filter((name) => !(name in registered))).toEqual([]);
  });

  it('every POLICY_RECOMMENDER_ variable the README names is read by the code, and the reverse', () => {
    const sources = readdirSync(new URL('src/', ROOT), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(new URL(`src/${f}`, ROOT), 'utf8'))
      .join('\n');
    const inCode = new Set([...sources.matchAll(/'(POLICY_RECOMMENDER_[A-Z_]+)'/g)].map((m) => m[1]!));
    // A test hook: how soon the command line's progress appears (tests draw it at once).
    inCode.delete('POLICY_RECOMMENDER_PROGRESS_AFTER_MS');
    const inReadme = new Set([...readme.matchAll(/\b(POLICY_RECOMMENDER_[A-Z_]+)\b/g)].map((m) => m[1]!));
    expect([...inReadme].sort()).toEqual([...inCode].sort());
  });
});
