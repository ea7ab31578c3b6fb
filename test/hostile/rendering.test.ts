// Hostile input, generated, into everything the App renders on GitHub and everything it reads
// back: arbitrary strings (any Unicode, control characters, Markdown, HTML, the bot's own hidden
// markers) in every field of PR bodies and the dashboard, arbitrary configuration files, and the
// names branches are made of. Properties:
// - Markdown is inert: no link, image, autolink, mention, issue reference, raw HTML or line break
//   comes from a value; tables keep their columns;
// - the bot's hidden state reads back exactly, whatever the visible part holds (one marker of
//   each kind, no box a value can tick);
// - a configuration is valid or a ConfigError, never a crash, and its errors render inert;
// - branch names are valid git ref names and read back to their cluster and namespace.
// `npm test` runs each property a few hundred times; `npm run reliability` many more.

import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { type DashboardContent, dashboardRequests, decodeDashboardState, renderDashboard } from '../../src/app/render/dashboard.ts';
import { code, text } from '../../src/app/render/markdown.ts';
import { type PullRequestContent, renderPullRequestBody } from '../../src/app/render/pull-request-body.ts';
import { decodeState, type PullRequestState } from '../../src/app/state/pull-request-state.ts';
import { isDnsLabel } from '../../src/calico/names.ts';
import { ConfigError } from '../../src/config/config-error.ts';
import { validateRepositoryConfig } from '../../src/config/repository-config.ts';
import { WORKLOAD_KINDS } from '../../src/engine/model.ts';
import { branchName, branchOf, type ProposalKey, parseBranch } from '../../src/plan/lifecycle/unit-key.ts';
import { report, sized } from '../reliability/size.ts';

const RUNS = sized(150, 3000);
let cases = 0;
let properties = 0;
let failures = 0;
afterAll(() => report({ suite: 'hostile input (rendering, config, branch names)', scenarios: properties, fuzzCases: cases, failures }));

/** A property that counts as failed unless it gets to its end. */
const property = (name: string, body: () => void) =>
  test(name, () => {
    properties++;
    failures++;
    body();
    failures--;
  });

const counted = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  arb.map((v) => {
    cases++;
    return v;
  });

/** Strings that try every trick, and arbitrary ones. */
const hostile = fc.oneof(
  fc.constantFrom(
    '@octocat',
    'team @acme/security please',
    '#1',
    'fixes #12',
    '[x](https://evil.example)',
    '![img](https://evil.example/x.png)',
    'https://evil.example',
    'www.evil.example',
    '<img src=x onerror=alert(1)>',
    '<script>alert(1)</script>',
    '<!-- policy-recommender:pr H4sIAAAAAAAAA6tWKi1OLVKyUipILSrKL1KqBQBZ4Xq3EgAAAA== -->',
    '<!-- policy-recommender:dashboard H4sIAAAAAAAAA6tWKlOyMtRRSsvJLy8OSk1MCc0rycxRsqpWKijKT1GyMjS3NDU2sbAwMKjVUSpIzUvJzEtXsqqurQUA8a4ByjkAAAA= -->',
    '- [x] <!-- policy-recommender:run --> Run now',
    '- [x] <!-- policy-recommender:recreate prod/web -->',
    '| a | b |',
    '`code` ``` fence',
    'line\nbreak\r\n## heading',
    '\u202eevil\u202c',
    'a\u0000b\u2028c',
    '&#64;octocat',
    '\\@octocat',
    '-->',
  ),
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

/** Removes code spans (CommonMark: a backtick run closed by a run of the same length) and the Mermaid block. */
function outsideCode(markdown: string): string {
  const noFence = markdown.replace(/```mermaid\n[\s\S]*?\n```/g, '');
  let out = '';
  let i = 0;
  while (i < noFence.length) {
    if (noFence[i] === '\\') {
      out += noFence.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (noFence[i] !== '`') {
      out += noFence[i];
      i++;
      continue;
    }
    const run = /^`+/.exec(noFence.slice(i))![0];
    const close = noFence.slice(i + run.length).search(new RegExp(`(?<!\`)${run}(?!\`)`));
    if (close === -1) {
      out += run;
      i += run.length;
    } else {
      out += ' ';
      i += run.length + close + run.length;
    }
  }
  return out;
}

const ALLOWED_TAGS =
  /<\/?(details|summary)>|<!-- policy-recommender:(pr|dashboard) [A-Za-z0-9+/=]* -->|<!-- policy-recommender:run -->|<!-- policy-recommender:recreate [a-z0-9-]+\/[a-z0-9-]+ -->/g;

/** What a value could have made active in a body (the templates themselves make none of these). */
function active(markdown: string): string[] {
  const found: string[] = [];
  // A zero-width space (as the entity text() writes) breaks mentions and references.
  const plain = outsideCode(markdown)
    .replace(ALLOWED_TAGS, '')
    .replace(/&#8203;/g, '\u200b');
  // Within code spans nothing is active; there only the raw marker text would matter.
  if (/<!--/.test(markdown.replace(ALLOWED_TAGS, ''))) found.push('an HTML comment (a hidden marker)');
  if (/</.test(plain)) found.push('raw HTML');
  if (/(?<!\\)\]\s*(?:\(|\[)/.test(plain)) found.push('a link');
  if (/:\/\/|(?<![\\/])www\./i.test(plain)) found.push('an autolink');
  if (/@[A-Za-z0-9]/.test(plain)) found.push('a mention');
  if (/#\d/.test(plain)) found.push('an issue reference');
  if (/\u202e|\u0000/.test(markdown)) found.push('a control character');
  return found;
}

const state: PullRequestState = {
  v: 1,
  cluster: 'prod',
  namespace: 'shop',
  engine: '0.1.0',
  hash: 'abc',
  commit: 'c0ffee',
  memory: { 'namespace-isolation/shop.yaml': 'kind: StagedNetworkPolicy\n' },
  evidence: {},
  notified: [],
};

describe('escaping primitives', () => {
  property('text() is one inert line whatever the value', () => {
    fc.assert(
      fc.property(counted(hostile), (value) => {
        const out = text(value);
        expect(out).not.toMatch(/[\n\r<>]|(?<!\\)`/);
        expect(active(out)).toEqual([]);
        // Every Markdown-special character is escaped.
        expect(out.replace(/\\[\\`*_{}[\]()#+\-.!|~:=/']/g, '').replace(/&(lt|gt|amp|quot|#8203);/g, '')).not.toMatch(
          /[\\`*_{}[\]()#+\-.!|<>~&"':=/]/,
        );
      }),
      { numRuns: RUNS },
    );
  });

  property('code() is one code span (or, holding a comment delimiter, inert text)', () => {
    fc.assert(
      fc.property(counted(hostile), (value) => {
        const out = code(value);
        expect(out).not.toMatch(/[\n\r]/);
        expect(out).not.toContain('<!--');
        if (out.startsWith('`')) expect(out).toMatch(/^`[^`]*`$/);
        expect(active(`x ${out} y`)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('PR bodies and the dashboard', () => {
  const rule = fc.record({
    direction: fc.constantFrom('ingress' as const, 'egress' as const),
    action: fc.constantFrom('Allow' as const, 'Deny' as const, 'Pass' as const),
    category: fc.constantFrom('Namespace', 'Public', 'Domains', 'Custom', 'Private', 'NetworkSet'),
    peers: fc.array(hostile, { minLength: 1, maxLength: 3 }),
    remote: hostile,
    protocol: hostile,
    ports: fc.array(hostile, { maxLength: 3 }),
    changed: fc.boolean(),
    flows: fc.nat(),
    firstSeen: fc.option(fc.integer({ min: 0, max: 2 ** 33 })),
    lastSeen: fc.option(fc.integer({ min: 0, max: 2 ** 33 })),
  });

  const simulatedRow = fc.record({
    direction: fc.constantFrom('ingress' as const, 'egress' as const),
    endpoint: hostile,
    peer: hostile,
    protocol: hostile,
    port: fc.option(fc.integer({ min: 1, max: 65535 })),
    flows: fc.nat(),
    reason: hostile,
  });

  property('a PR body: nothing active comes from a value, and the state reads back exactly', () => {
    fc.assert(
      fc.property(
        counted(
          fc.record({
            cluster: hostile,
            namespace: hostile,
            rules: fc.array(rule, { maxLength: 6 }),
            warnings: fc.array(hostile, { maxLength: 3 }),
            files: fc.array(hostile, { minLength: 1, maxLength: 3 }),
            lastUpdated: fc.option(hostile),
            update: fc.boolean(),
            policy: fc.option(hostile),
            unit: fc.oneof(
              fc.constant({ kind: 'namespace' as const }),
              fc.constant({ kind: 'enforce' as const }),
              fc.constant({ kind: 'enforce-default-deny' as const }),
              fc
                .option(hostile)
                .map((workload) => (workload === null ? { kind: 'workloads' as const } : { kind: 'workloads' as const, workload })),
            ),
            policies: fc.option(
              fc.array(fc.record({ label: hostile, name: hostile, subject: hostile, rules: fc.array(rule, { maxLength: 3 }) }), {
                maxLength: 3,
              }),
            ),
            simulation: fc.option(
              fc.record({
                flows: fc.nat(),
                records: fc.nat(),
                denied: fc.array(simulatedRow, { maxLength: 3 }),
                indeterminate: fc.array(simulatedRow, { maxLength: 3 }),
                quietSince: fc.option(fc.integer({ min: 0, max: 2 ** 33 })),
              }),
            ),
          }),
        ),
        (v) => {
          const content = {
            cluster: v.cluster,
            namespace: v.namespace,
            flavor: 'calico',
            status: 'Learning',
            lastUpdated: v.lastUpdated,
            stabilizationPeriod: 3600,
            update: v.update,
            unit: v.unit,
            rules: v.rules.map((r) => ({ ...r, firstAdded: null })),
            ...(v.policies === null
              ? {}
              : {
                  policies: v.policies.map((p) => ({
                    heading: { label: p.label, name: p.name },
                    subject: p.subject,
                    rules: p.rules.map((r) => ({ ...r, firstAdded: null })),
                    evidencePrefix: p.name,
                  })),
                }),
            ...(v.simulation === null ? {} : { simulation: { ...v.simulation, quietSince: v.simulation.quietSince ?? undefined } }),
            enforceAfter: 86400,
            evidence: {},
            warnings: v.warnings.map((message) => ({ code: 'approximation', message })),
            files: v.files.map((path) => ({ path, added: true })),
            skippedLines: 0,
            state: { ...state, cluster: v.cluster, namespace: v.namespace, memory: v.policy === null ? {} : { [v.cluster]: v.policy } },
          } as unknown as PullRequestContent;
          const body = renderPullRequestBody(content);
          // The title line is text(); everything else from a value is code() or text().
          expect(active(body)).toEqual([]);
          expect(body.match(/<!-- policy-recommender:/g)).toHaveLength(1);
          expect(decodeState(body)).toEqual(content.state);
          // Table rows keep their columns: every row of a table has its header's unescaped pipes.
          const pipes = (l: string) => outsideCode(l).replace(/\\\|/g, '').split('|').length;
          for (const table of body.split(/\n(?!\| )/).filter((block) => block.startsWith('| '))) {
            const rows = table.split('\n').filter((l) => l.startsWith('| '));
            for (const row of rows) expect(pipes(row)).toBe(pipes(rows[0]!));
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  property('the dashboard: nothing active, its state reads back, no box is ticked and no namespace proposed again by a value', () => {
    const ns = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    fc.assert(
      fc.property(
        counted(
          fc.record({
            trigger: hostile,
            configErrors: fc.array(fc.record({ path: hostile, message: hostile }), { maxLength: 3 }),
            source: fc.constantFrom('file', 'goldmane', 'elasticsearch' as const),
            errors: fc.array(hostile, { maxLength: 2 }),
            warnings: fc.array(hostile, { maxLength: 2 }),
            reasons: fc.dictionary(hostile, fc.nat(), { maxKeys: 3 }),
            examples: fc.array(fc.record({ location: hostile, reason: hostile }), { maxLength: 2 }),
            rows: fc.array(fc.record({ namespace: hostile, unit: fc.option(hostile), note: fc.option(hostile), dismissed: fc.boolean() }), {
              maxLength: 4,
            }),
            path: hostile,
            pending: fc.dictionary(
              fc.tuple(ns, ns).map(([a, b]) => `${a}/${b}`),
              fc.constant([]),
              { maxKeys: 2 },
            ),
            until: fc.dictionary(fc.oneof(ns, hostile), fc.integer()),
          }),
        ),
        (v) => {
          const content: DashboardContent = {
            lastRun: { at: '2026-11-22T12:00:00Z', durationMs: 1234, trigger: v.trigger },
            configErrors: v.configErrors,
            clusters: [
              {
                name: 'prod',
                path: v.path,
                source: v.source,
                window: { from: 'a', to: 'b' },
                recordsSeen: 1,
                recordsLearned: 1,
                skipped: { total: 1, byReason: v.reasons, examples: v.examples },
                namespaces: v.rows.map((r) => ({
                  namespace: r.namespace,
                  ...(r.unit !== null ? { unit: r.unit } : {}),
                  state: r.dismissed ? 'Dismissed' : 'Error',
                  lastUpdated: null,
                  ...(r.note !== null ? { note: r.note } : {}),
                })),
                errors: v.errors,
                warnings: v.warnings,
              },
            ],
            state: { v: 1, flowsReadUntil: v.until, pending: {}, pendingEndpoints: {}, accepted: {}, dismissed: [] },
          };
          const body = renderDashboard(content);
          expect(active(body)).toEqual([]);
          // Dismissed rows carry a recreate box only for names that can be namespaces.
          const boxes = [...body.matchAll(/<!-- policy-recommender:recreate prod\/(.*?) -->/g)].map((m) => m[1]);
          expect(boxes).toEqual(
            v.rows
              .filter((r) => r.dismissed && (r.unit === null || r.unit === 'isolation') && isDnsLabel(r.namespace))
              .map((r) => r.namespace),
          );
          expect(body.match(/<!-- policy-recommender:dashboard /g)).toHaveLength(1);
          // Read points come back for cluster names (DNS labels) and times; anything else is dropped.
          const readPoints = Object.fromEntries(Object.entries(v.until).filter(([k, n]) => isDnsLabel(k) && n >= 0));
          expect(decodeDashboardState(body)).toEqual({ ...content.state, flowsReadUntil: readPoints });
          expect(dashboardRequests(body).run).toBe(false);
          expect(dashboardRequests(body).recreate).toEqual(new Set());
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('configuration files', () => {
  property('any value is a valid configuration or a ConfigError with key paths, and its errors render inert', () => {
    const deep = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue(),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(hostile, tie('value'), { maxKeys: 3 }),
      ),
    })).value;
    const field = fc.constantFrom(
      'clusters',
      'schedule',
      'timezone',
      'stabilizationPeriod',
      'pullRequests',
      'maxRules',
      'namespaceSpec',
      'flavor',
      'lookback',
      'afterMerge',
      'recommendation',
      '_extends',
    );
    const config = fc.oneof(
      deep,
      fc.dictionary(
        fc.oneof(field, hostile),
        fc.oneof(deep, hostile, fc.double(), fc.bigInt().map(String), fc.constant(Number.MAX_SAFE_INTEGER * 8)),
        { maxKeys: 6 },
      ),
      fc.record({
        clusters: fc.array(fc.record({ name: hostile, path: hostile }), { maxLength: 3 }),
        schedule: hostile,
        timezone: hostile,
      }),
    );
    fc.assert(
      fc.property(counted(config), (value) => {
        try {
          validateRepositoryConfig(value, { schedule: '0 * * * *', timezone: 'UTC' });
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
          const issues = (e as ConfigError).issues;
          expect(issues.length).toBeGreaterThan(0);
          const body = renderDashboard({
            lastRun: null,
            configErrors: issues,
            clusters: [],
            state: { v: 1, flowsReadUntil: {}, pending: {}, pendingEndpoints: {}, accepted: {}, dismissed: [] },
          });
          expect(active(body)).toEqual([]);
          expect(dashboardRequests(body)).toEqual({ run: false, recreate: new Set() });
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('branch names', () => {
  /** git check-ref-format's rules for a branch name. */
  function validRef(name: string): boolean {
    return (
      !/[\u0000-\u0020\u007f~^:?*[\\]/.test(name) &&
      !/(^|\/)\.|\.\.|\/\/|@\{|\.lock(\/|$)|\/$|\.$/.test(name) &&
      !name.startsWith('/') &&
      !name.startsWith('-') &&
      name !== '@'
    );
  }

  property('every name the App makes a branch of is a valid git ref name and reads back', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
    const subdomain = fc
      .stringMatching(/^[a-z0-9]([a-z0-9.-]{0,80}[a-z0-9])?$/)
      .filter((n) => !n.includes('..') && !n.includes('.-') && !n.includes('-.'));
    const key = fc.oneof(
      fc.record({ kind: fc.constant('namespace' as const), cluster: label, namespace: label }),
      fc.record({ kind: fc.constant('enforce' as const), cluster: label, namespace: label }),
      fc.record({ kind: fc.constant('enforce-default-deny' as const), cluster: label }),
      fc.record({ kind: fc.constant('workloads' as const), cluster: label, namespace: label }),
      fc.record({ kind: fc.constant('enforce-workloads' as const), cluster: label, namespace: label }),
      fc
        .record({ cluster: label, namespace: label, kind: fc.constantFrom(...WORKLOAD_KINDS), name: subdomain, enforce: fc.boolean() })
        .map((w) => ({
          kind: w.enforce ? ('enforce-workloads' as const) : ('workloads' as const),
          cluster: w.cluster,
          namespace: w.namespace,
          workload: `${w.namespace}/${w.kind}/${w.name}`,
        })),
    );
    fc.assert(
      fc.property(counted(key), (k: ProposalKey) => {
        const branch = branchOf(k);
        expect(validRef(branch)).toBe(true);
        expect(parseBranch(branch)).toEqual(k);
      }),
      { numRuns: RUNS },
    );
    // git cannot have a branch `a` and a branch `a/b`: no two units' branches may be so, they are open together.
    fc.assert(
      fc.property(counted(fc.tuple(key, key)), ([a, b]: [ProposalKey, ProposalKey]) => {
        const [x, y] = [branchOf(a), branchOf(b)];
        expect(x.startsWith(`${y}/`) || y.startsWith(`${x}/`)).toBe(false);
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(counted(fc.tuple(label, label)), ([cluster, namespace]) => {
        expect(parseBranch(branchName(cluster, namespace))).toEqual({ kind: 'namespace', cluster, namespace });
      }),
      { numRuns: RUNS },
    );
    // And names that are not Kubernetes names never get that far: a branch is only read back from valid names.
    fc.assert(
      fc.property(counted(fc.tuple(hostile, hostile, hostile)), ([cluster, namespace, rest]) => {
        for (const branch of [
          `policy-recommender/${cluster}/${namespace}`,
          `policy-recommender/${cluster}/${namespace}.appsec.${rest}`,
          `policy-recommender/${cluster}/${namespace}.appsec.${rest}.enforce`,
        ]) {
          const parsed = parseBranch(branch);
          if (parsed === null) continue;
          expect(isDnsLabel(parsed.cluster)).toBe(true);
          if (parsed.kind !== 'enforce-default-deny' && parsed.kind !== 'bootstrap') expect(isDnsLabel(parsed.namespace)).toBe(true);
          if ((parsed.kind === 'workloads' || parsed.kind === 'enforce-workloads') && parsed.workload !== undefined)
            expect(validRef(branchOf(parsed))).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('git agrees with the rules above on a sample', () => {
    const names = [
      'policy-recommender/prod/shop',
      'a..b',
      'a/.b',
      'a.lock',
      'a b',
      'a~b',
      '-a',
      'a//b',
      'a@{b',
      'policy-recommender/p-1/n-2',
    ];
    for (const name of names) {
      let git: boolean;
      try {
        execFileSync('git', ['check-ref-format', '--branch', name], { stdio: 'ignore' });
        git = true;
      } catch {
        git = false;
      }
      expect({ name, valid: validRef(name) }).toEqual({ name, valid: git });
    }
  });
});
