import { describe, expect, test } from '@jest/globals';
import { dashboardRequests, decodeDashboardState, renderDashboard } from '../../src/app/render/dashboard.ts';
import { code, text } from '../../src/app/render/markdown.ts';
import { trafficGraph } from '../../src/app/render/mermaid.ts';
import { MAX_BODY, type PullRequestContent, renderPullRequestBody } from '../../src/app/render/pull-request-body.ts';
import { decodeMarker, encodeMarker, replaceMarker } from '../../src/app/state/marker.ts';
import { decodeState, encodeState, type PullRequestState } from '../../src/app/state/pull-request-state.ts';
import type { EndpointObservation } from '../../src/engine/model.ts';
import type { RuleReport } from '../../src/engine/report.ts';
import { branchName, parseBranch } from '../../src/plan/lifecycle/unit-key.ts';

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

function rule(i: number, peer = `namespace:ns-${i}`, remote = `pods of namespace ns-${i}`): RuleReport {
  return {
    action: 'Allow',
    category: 'Namespace',
    peers: [peer],
    remote,
    protocol: 'TCP',
    ports: [String(8000 + i)],
    firstAdded: null,
    direction: 'egress',
    changed: true,
    flows: i,
    firstSeen: 1,
    lastSeen: 2,
  };
}

function content(rules: RuleReport[], warnings: string[] = []): PullRequestContent {
  return {
    cluster: 'prod',
    namespace: 'shop',
    flavor: 'calico',
    status: 'Learning',
    lastUpdated: '2026-11-22T12:00:00Z',
    stabilizationPeriod: 86400,
    update: false,
    rules,
    evidence: {},
    warnings: warnings.map((message) => ({ code: 'approximation', message })),
    files: [{ path: 'clusters/prod/namespace-isolation/shop.yaml', added: true }],
    skippedLines: 3,
    state,
  };
}

describe('markdown escaping', () => {
  test('text cannot inject links, mentions, HTML, tables or hidden markers', () => {
    const hostile = '[x](http://evil) @team <!-- policy-recommender:pr x --> <img src=x> | a | `b`\n# heading';
    const escaped = text(hostile);
    // GitHub finds mentions in the rendered text, where a backslash escape is gone: a zero-width space breaks them.
    expect(escaped).not.toMatch(/(?<!\\)\[|@(?!&#8203;)|<|(?<!\\)\||\n/);
    expect(escaped).not.toContain('<!--');
    expect(code('a`b|c\nd')).toBe("`a'b\\|c d`");
  });

  test('mermaid labels cannot break the graph', () => {
    const graph = trafficGraph('namespace shop', [{ direction: 'egress', peer: 'x"]; click p0 "http://evil', traffic: 'TCP 1|2' }]);
    expect(graph).not.toContain('"http');
    expect(graph).toContain('#34;');
  });
});

describe('pull request body', () => {
  test('says what merge and close mean, lists rules with evidence, graphs peers, warns, and hides its state', () => {
    const publicIPv4 = 'any public IPv4 address (outside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)';
    const body = renderPullRequestBody(
      content([rule(1, 'public', publicIPv4), rule(2)], ['egress to api.example.com is allowed to any public address']),
    );
    expect(body).toContain('**Merge** to accept it');
    expect(body).toContain('**Close** to dismiss it');
    expect(body).toContain('**Status: Learning.**');
    // The peer column says what the rule allows, not an identifier: shortened to fit GitHub's width, in full under the table.
    expect(body).toContain(`| 1 | Allow egress TCP 8001 | any public IPv4 address ${text('[1]')} |`);
    expect(body).toContain(`- ${text('[1]')} ${text(publicIPv4)}`);
    expect(body).toContain('("any public IPv4 address (outside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)")');
    expect(body).toContain('```mermaid');
    expect(body).toContain('api\\.example\\.com');
    expect(body).toContain('3 flow log inputs could not be read');
    expect(decodeState(body)).toEqual(state);
  });

  test('protocols are named where they have names: GRE, not 47 (the rule keeps 47: Calico has no name for it)', () => {
    const gre: RuleReport = { ...rule(1), protocol: '47', ports: [] };
    const sctp: RuleReport = { ...rule(2), protocol: 'SCTP', ports: ['3868'] };
    const body = renderPullRequestBody(content([gre, sctp]));
    expect(body).toContain(`| 1 | ${text('Allow egress GRE (47)')} |`);
    expect(body).toContain(`| 2 | ${text('Allow egress SCTP 3868')} |`);
    expect(body).toContain('ns -->|"GRE (47)"|');
    expect(body).not.toMatch(/egress 47\b/);
  });

  test("a graph whose source is over Mermaid's maxTextSize (50,000) is left out with a sentence, even with few edges", () => {
    // Selector-like peers: every character Mermaid's labels escape becomes an entity (#61; ...).
    const long = (i: number) => `pods of namespace ns-${i} with ${Array.from({ length: 40 }, (_, k) => `l${k} == 'v${k}'`).join(' && ')}`;
    const rules = Array.from({ length: 60 }, (_, i) => rule(i, `namespace:ns-${i}`, long(i)));
    const body = renderPullRequestBody(content(rules), 200_000);
    expect(body).not.toContain('```mermaid');
    expect(body).toMatch(/The graph's source is \d+ characters: more than GitHub can draw \(Mermaid's limit is 50000\)\./);
    // A few such rules still draw.
    expect(renderPullRequestBody(content(rules.slice(0, 3)), 200_000)).toContain('```mermaid');
  });

  test("stays under GitHub's limit, shrinking the table and graph but never the state", () => {
    const rules = Array.from({ length: 3000 }, (_, i) => rule(i));
    const body = renderPullRequestBody(content(rules));
    expect(body.length).toBeLessThanOrEqual(MAX_BODY);
    expect(body).toMatch(/more rules in the file/);
    expect(decodeState(body)).toEqual(state);
  });
});

describe('markers and branches', () => {
  test('round trip, replacement, and garbage in', () => {
    const marker = encodeMarker('x', { a: 1 });
    expect(decodeMarker(`text ${marker} more`, 'x')).toEqual({ a: 1 });
    expect(decodeMarker(replaceMarker(`text ${marker} more`, 'x', { a: 2 }), 'x')).toEqual({ a: 2 });
    expect(decodeMarker('<!-- policy-recommender:x !!! -->', 'x')).toBeNull();
    expect(decodeMarker('<!-- policy-recommender:x aGVsbG8= -->', 'x')).toBeNull();
    expect(decodeState('no marker')).toBeNull();
  });

  test('the recorded memory reads back key for key, `__proto__` included (found by the fuzz suite)', () => {
    const memory = JSON.parse('{"__proto__": "a: 1", "constructor": "b: 2", "namespace-isolation/shop.yaml": "c: 3"}') as Record<
      string,
      string
    >;
    const decoded = decodeState(encodeState({ ...state, memory }))!;
    expect(Object.entries(decoded.memory)).toEqual(Object.entries(memory));
    expect(Object.getPrototypeOf(decoded.memory)).toBe(Object.prototype);
  });

  test('branch names', () => {
    expect(branchName('prod', 'shop')).toBe('policy-recommender/prod/shop');
    expect(parseBranch('policy-recommender/prod/shop')).toEqual({ kind: 'namespace', cluster: 'prod', namespace: 'shop' });
    expect(parseBranch('policy-recommender/prod/shop/x')).toBeNull();
    expect(parseBranch('policy-recommender/prod/shop.enforce')).toEqual({ kind: 'enforce', cluster: 'prod', namespace: 'shop' });
    expect(parseBranch('policy-recommender/prod/_cluster/enforce')).toEqual({ kind: 'enforce-default-deny', cluster: 'prod' });
    expect(parseBranch('policy-recommender/prod/shop.appsec')).toEqual({ kind: 'workloads', cluster: 'prod', namespace: 'shop' });
    expect(parseBranch('policy-recommender/prod/shop.appsec.deployment-web_v2')).toEqual({
      kind: 'workloads',
      cluster: 'prod',
      namespace: 'shop',
      workload: 'shop/Deployment/web.v2',
    });
    expect(parseBranch('policy-recommender/prod/shop.appsec.cronjob-backup')).toEqual({
      kind: 'workloads',
      cluster: 'prod',
      namespace: 'shop',
      workload: 'shop/CronJob/backup',
    });
    expect(parseBranch('policy-recommender/prod/shop.appsec.enforce')).toEqual({
      kind: 'enforce-workloads',
      cluster: 'prod',
      namespace: 'shop',
    });
    expect(parseBranch('policy-recommender/prod/shop.appsec.deployment-web.enforce')).toEqual({
      kind: 'enforce-workloads',
      cluster: 'prod',
      namespace: 'shop',
      workload: 'shop/Deployment/web',
    });
    expect(parseBranch('policy-recommender/prod/shop.appsec.pod-x')).toBeNull();
    // Nested names are not ours: git cannot have a branch and another below it.
    expect(parseBranch('policy-recommender/prod/shop/enforce')).toBeNull();
    expect(parseBranch('policy-recommender/prod/shop/appsec')).toBeNull();
    expect(parseBranch('policy-recommender/prod/_cluster')).toBeNull();
    expect(parseBranch('policy-recommender/Prod/shop')).toBeNull();
    expect(parseBranch('feature/x')).toBeNull();
  });
});

describe('dashboard', () => {
  test('renders namespaces, errors and checkboxes; reads ticked boxes and its hidden state back', () => {
    const body = renderDashboard({
      lastRun: { at: '2026-11-22T12:00:00Z', durationMs: 1500, trigger: 'schedule' },
      configErrors: [{ path: 'clusters.0.name', message: 'a cluster name is a DNS label <b>' }],
      clusters: [
        {
          name: 'prod',
          path: 'clusters/prod',
          namespaces: [
            { namespace: 'shop', state: 'Learning', pr: { number: 7, url: 'u' }, lastUpdated: '2026-11-22T12:00:00Z' },
            { namespace: 'old', state: 'Dismissed', lastUpdated: null },
          ],
          errors: [],
          warnings: [],
        },
      ],
      state: { v: 1, flowsReadUntil: { prod: 1234 }, pending: {}, pendingEndpoints: {}, accepted: {}, dismissed: [] },
    });
    expect(body).toContain('`clusters.0.name`: a cluster name is a DNS label &lt;b&gt;');
    expect(body).toMatch(/\| `shop` \| Learning \| #7 \|/);
    expect(decodeDashboardState(body)).toEqual({
      v: 1,
      flowsReadUntil: { prod: 1234 },
      pending: {},
      pendingEndpoints: {},
      accepted: {},
      dismissed: [],
    });
    expect(dashboardRequests(body)).toEqual({ run: false, recreate: new Set() });
    const ticked = body
      .replace('- [ ] <!-- policy-recommender:run -->', '- [x] <!-- policy-recommender:run -->')
      .replace('- [ ] <!-- policy-recommender:recreate prod/old -->', '- [x] <!-- policy-recommender:recreate prod/old -->');
    expect(dashboardRequests(ticked)).toEqual({ run: true, recreate: new Set(['prod/old']) });
  });

  test("held units' files and accepted merges read back; what is not a unit's policy file is dropped", () => {
    const held = JSON.parse(
      '{"prod/shop": {"namespace-isolation/shop.yaml": "a: 1", "../../etc/passwd.yaml": "x", "__proto__": "y", "n.yaml": 3}, "prod/shop.enforce": {"x.yaml": "z"}, "Prod/x": {"x.yaml": "z"}}',
    ) as Record<string, Record<string, string>>;
    const accepted = { prod: { shop: { hash: 'h', since: 10, denied: 0, pr: 12 }, web: { hash: 'h', since: 10, denied: 0, pr: -1 } } };
    const body = `${encodeMarker('dashboard', { v: 1, held, accepted })}\n`;
    const state = decodeDashboardState(body);
    expect(state.held).toEqual({ 'prod/shop': { 'namespace-isolation/shop.yaml': 'a: 1' } });
    expect(state.accepted).toEqual({
      prod: { shop: { hash: 'h', since: 10, denied: 0, pr: 12 }, web: { hash: 'h', since: 10, denied: 0 } },
    });
    expect(decodeDashboardState(`${encodeMarker('dashboard', { v: 1 })}\n`).held).toBeUndefined();
  });

  test('malformed inputs and inputs with nothing to learn are reported apart', () => {
    const summary = (reason: string, n: number) => ({
      total: n,
      byReason: { [reason]: n },
      examples: [{ location: 'flows.log:3', reason }],
    });
    const body = renderDashboard({
      lastRun: { at: '2026-11-22T12:00:00Z', durationMs: 1, trigger: 'schedule' },
      configErrors: [],
      clusters: [
        {
          name: 'prod',
          path: '',
          namespaces: [],
          errors: [],
          warnings: [],
          skipped: summary('not JSON', 2),
          unlearnable: summary('proto 0 (no Calico rule can match IP protocol 0)', 5),
        },
      ],
      state: { v: 1, flowsReadUntil: {}, pending: {}, pendingEndpoints: {}, accepted: {}, dismissed: [] },
    });
    // Where they are (a file path) is the deployment's business: the App's log has it.
    expect(body).toContain("Skipped 2 malformed inputs: 2 not JSON (the App's log says where the first ones are).");
    expect(body).not.toContain('flows.log');
    // Markdown-escaped, as every text from the flow source is.
    expect(body).toContain('Nothing to learn from 5 well-formed inputs: 5 proto 0 \\(no Calico rule can match IP protocol 0\\).');
  });
});

describe('pending endpoint observations keep the workload a source named (Hubble)', () => {
  const observation = (workload: unknown) =>
    ({
      atom: { direction: 'egress', peer: { category: 'Public' }, protocol: 'TCP', port: 443 },
      evidence: { flows: 1, firstSeen: 100, lastSeen: 200, remoteIps: 1 },
      local: { namespace: 'shop', name: 'api-7d9f8-*', labels: ['app=api'], ...(workload === undefined ? {} : { workload }) },
      remote: null,
    }) as unknown as EndpointObservation;
  const bodyWith = (list: EndpointObservation[]) =>
    renderDashboard({
      lastRun: null,
      configErrors: [],
      clusters: [],
      state: { v: 1, flowsReadUntil: {}, pending: {}, pendingEndpoints: { 'prod/shop': list }, accepted: {}, dismissed: [] },
    });

  test('read back as written; one with a kind that is no workload, or a name that is no object name, is dropped', () => {
    const named = observation({ kind: 'Deployment', name: 'api' });
    const inferred = observation(undefined);
    const decoded = decodeDashboardState(
      bodyWith([
        named,
        inferred,
        observation({ kind: 'ReplicaSet', name: 'api-7d9f8' }),
        observation({ kind: 'Deployment', name: 'Bad Name' }),
      ]),
    );
    expect(decoded.pendingEndpoints).toEqual({ 'prod/shop': [named, inferred] });
  });
});
