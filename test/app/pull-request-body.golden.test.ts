// What reviewers read, as golden files (release-please's __snapshots__ habit): the body of a
// namespace's recommendation PR in each flavour, rendered from a real engine run over traffic of
// every category, so that a change to what a PR says about its rules shows up as a diff of
// test/app/__golden__/*.md. `UPDATE_GOLDEN=1 npm test -- test/app/pull-request-body.golden` rewrites them.

import { beforeAll, expect, test } from '@jest/globals';
import { MAX_BODY, RULES_TABLE_WIDTH, renderPullRequestBody, ruleId } from '../../src/app/render/pull-request-body.ts';
import type { RuleEvidence } from '../../src/app/state/pull-request-state.ts';
import type { Flavor } from '../../src/config/recommendation-config.ts';
import type { RuleReport } from '../../src/engine/report.ts';
import type { FlowRecord } from '../../src/flows/record.ts';
import { config, egress, ingress, loadTemplate, net, networkSet, pub, pvt, run, wep } from '../support/engine.ts';
import { expectGolden } from '../support/golden.ts';

beforeAll(async () => {
  await loadTemplate();
});

/** Traffic of every category: pods (the namespace's own among them), DNS, a domain, public IPv4 and IPv6, private, port 0, network sets known and unknown. */
const TRAFFIC = [
  egress('shop', wep('kube-system', 'coredns-*', ['k8s-app=kube-dns']), { protocol: 'UDP', port: 53 }),
  egress('shop', wep('pay', 'api-*'), { port: 8000 }),
  egress('shop', pub, { port: 443, domains: ['api.stripe.com'] }),
  egress('shop', net('2001:db8::5', 'pub'), { port: 443 }),
  egress('shop', pvt, { port: 5432 }),
  egress('shop', pub, { port: 0 }),
  egress('shop', networkSet('partners', 'shop', null, ['role=partner']), { port: 443 }),
  egress('shop', networkSet('feed', null, '52.1.2.3'), { port: 443 }),
  ingress('shop', pub, { port: 8080 }),
  ingress('shop', wep('shop', 'web-*'), { port: 8080 }),
  egress('shop', wep('shop', 'api-*'), { port: 8080 }),
];

const plans = new Map<string, ReturnType<typeof run>>();
/** The engine's plan for the traffic (one run per flavour and traffic: the large ones take seconds). */
function planOf(flavor: Flavor, traffic: readonly FlowRecord[]): ReturnType<typeof run> {
  const key = `${flavor} ${traffic === TRAFFIC ? 'every category' : traffic.length}`;
  if (!plans.has(key)) plans.set(key, run(traffic, { config: config({ flavor }) }));
  return plans.get(key)!;
}

async function body(flavor: Flavor, traffic: readonly FlowRecord[] = TRAFFIC, budget = MAX_BODY): Promise<string> {
  const plan = await planOf(flavor, traffic);
  const ns = plan.namespaces.find((n) => n.namespace === 'shop')!;
  return renderPullRequestBody(
    {
      cluster: 'prod',
      namespace: 'shop',
      flavor,
      status: 'Learning',
      lastUpdated: ns.lastUpdated,
      stabilizationPeriod: 600,
      update: false,
      rules: ns.rules,
      // The evidence a first PR records: each rule's flows of this run (apply.ts).
      evidence: Object.fromEntries(
        ns.rules.filter((r) => r.firstSeen !== null).map((r): [string, RuleEvidence] => [ruleId(r), [r.flows, r.firstSeen!, r.lastSeen!]]),
      ),
      warnings: ns.warnings,
      files: [{ path: `clusters/prod/${ns.path}`, added: true }],
      skippedLines: 0,
      state: {
        v: 1,
        cluster: 'prod',
        namespace: 'shop',
        engine: '0.1.0',
        hash: 'golden',
        commit: 'c0ffee',
        memory: {},
        evidence: {},
        notified: [],
      },
    },
    budget,
  );
}

test.each(['calico', 'calico-enterprise', 'kubernetes'] as const)('the %s flavour: a namespace recommendation PR', async (flavor) => {
  expectGolden(new URL(`./__golden__/pr-body-${flavor}.md`, import.meta.url), `${await body(flavor)}\n`);
});

/** shop talks to many namespaces, each on its own port: one rule per namespace, more than a body holds in full. */
const BUSY = Array.from({ length: 600 }, (_, i) =>
  egress('shop', wep(`backend-${String(i).padStart(3, '0')}`, 'api-*'), { port: 10000 + i }),
);

test("600 rules: the graph, over Mermaid's 500 edges, is left out with a sentence; the body fits GitHub's limit (65,536 characters), the hidden state stays", async () => {
  const rendered = await body('calico', BUSY);
  expect(rendered.length).toBeLessThanOrEqual(MAX_BODY);
  expect(rendered).not.toContain('```mermaid');
  expect(rendered).toContain("600 edges: more than a graph GitHub can draw (Mermaid's limit is 500).");
  expect(rendered).toMatch(/<!-- policy-recommender:pr [A-Za-z0-9+/=]+ -->\n$/);
  expectGolden(new URL('./__golden__/pr-body-600-rules-no-graph.md', import.meta.url), rendered);
});

test('a budget too small for any rule row: no table, the rules are counted', async () => {
  const rendered = await body('calico', BUSY, 2_000);
  expect(rendered.length).toBeLessThanOrEqual(2_000);
  expectGolden(new URL('./__golden__/pr-body-no-rule-fits.md', import.meta.url), rendered);
});

test('a budget too small for the rules section: the body says the details are in the files', async () => {
  const rendered = await body('calico', BUSY, 1_000);
  expect(rendered.length).toBeLessThanOrEqual(1_000);
  expectGolden(new URL('./__golden__/pr-body-details-do-not-fit.md', import.meta.url), rendered);
});

/** The text GitHub shows of a Markdown table cell: escapes and entities resolved, code spans unwrapped. */
function shown(cell: string): string {
  return cell
    .trim()
    .replace(/\\(.)/g, '$1')
    .replace(/&#8203;/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/`/g, '');
}

/**
 * GitHub's PR conversation column shows about 100 characters of text in a table row before the
 * table scrolls sideways: the widest cell of each column, plus two characters of padding between
 * columns, must fit. And every column has a header.
 */
function rulesTableWidth(rendered: string): number {
  const lines = rendered.slice(rendered.indexOf('### Rules')).split('\n');
  const rows = lines
    .slice(
      2,
      lines.findIndex((l, i) => i > 2 && !l.startsWith('|')),
    )
    .map((l) =>
      l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map(shown),
    );
  const [header, rule, ...data] = rows;
  expect(rule!.every((c) => c === '---')).toBe(true);
  expect(header!.every((c) => c.length > 0)).toBe(true);
  expect(data.length).toBeGreaterThan(5);
  const widths = header!.map((_, i) => Math.max(...[header!, ...data].map((r) => r[i]!.length)));
  return widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
}

test.each(['calico', 'calico-enterprise', 'kubernetes'] as const)(
  "the %s flavour: the rules table fits GitHub's width, with a header on every column",
  async (flavor) => {
    expect(rulesTableWidth(await body(flavor))).toBeLessThanOrEqual(RULES_TABLE_WIDTH);
  },
);

test('the rules table fits with the longest names, many ports, many flows and many rules', () => {
  const namespace = 'n'.repeat(63);
  const rule = (i: number): RuleReport => ({
    action: 'Allow',
    category: 'Namespace',
    peers: [`namespace:${namespace}`],
    remote: `pods of namespace ${namespace}`,
    protocol: 'SCTP',
    ports: Array.from({ length: 1 + (i % 20) }, (_, p) => String(60000 + p)),
    firstAdded: null,
    direction: 'ingress',
    changed: true,
    flows: 1,
    firstSeen: null,
    lastSeen: null,
  });
  const rules = Array.from({ length: 120 }, (_, i) => rule(i));
  const rendered = renderPullRequestBody({
    cluster: 'prod',
    namespace,
    flavor: 'calico',
    status: 'Learning',
    lastUpdated: null,
    stabilizationPeriod: 600,
    update: false,
    rules,
    evidence: Object.fromEntries(rules.map((r) => [ruleId(r), [9_999_999, 0, 1_794_996_700] as const])),
    warnings: [],
    files: [],
    skippedLines: 0,
    state: { v: 1, cluster: 'prod', namespace, engine: '0.1.0', hash: 'x', commit: 'c0ffee', memory: {}, evidence: {}, notified: [] },
  });
  expect(rulesTableWidth(rendered)).toBeLessThanOrEqual(RULES_TABLE_WIDTH);
  // What a cell shortened is said in full under the table.
  expect(rendered).toContain(`\\[1\\] pods of namespace ${namespace}`);
  expect(rendered).toContain(`SCTP ${Array.from({ length: 20 }, (_, p) => 60000 + p).join(', ')}`);
});

test("a namespace's own traffic is a loop in the graph, not an edge to another node", async () => {
  const graph = (await body('calico')).split('```mermaid')[1]!.split('```')[0]!;
  expect(graph).toContain('  ns -->|"TCP 8080"| ns');
  expect(graph).not.toContain('namespace shop")');
});
