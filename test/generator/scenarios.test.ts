import { describe, expect, test } from '@jest/globals';
import { generateFlowLines } from '../../src/generator/generate.ts';
import { learnableEdges } from '../../src/generator/scenario.ts';
import { buildScenario } from '../../src/generator/scenarios/index.ts';

describe('yaobank', () => {
  test('the edges a recommender should learn', () => {
    const edges = learnableEdges(buildScenario('yaobank')).map((e) => {
      const extra = e.domains ? ` domains=${e.domains.join(',')}` : '';
      return `${e.namespace} ${e.direction} ${e.peer} ${e.proto}/${e.port}${extra}`;
    });
    expect(edges.sort()).toEqual(
      [
        'yaobank ingress pub tcp/80',
        'yaobank egress namespace yaobank tcp/8080',
        'yaobank ingress namespace yaobank tcp/8080',
        'yaobank egress namespace yaobank tcp/2379',
        'yaobank ingress namespace yaobank tcp/2379',
        'yaobank egress namespace kube-system udp/53',
        'yaobank egress namespace kube-system tcp/53',
        'yaobank egress pub tcp/443 domains=api.stripe.com',
        'yaobank egress pub tcp/443 domains=www.example.com',
        'yaobank egress pub tcp/443',
      ].sort(),
    );
  });

  test('the noise is there: denied, higher tier, host endpoint, no policies', () => {
    const lines = [...generateFlowLines({ scenario: 'yaobank', records: 2000, endTime: 1795348800 })].map(
      (l) => JSON.parse(l.toString()) as Record<string, unknown>,
    );
    const policies = (r: Record<string, unknown>) => JSON.stringify(r['policies'] ?? null);
    expect(lines.some((r) => r['action'] === 'deny' && policies(r).includes('security.block-public-db'))).toBe(true);
    expect(lines.some((r) => policies(r).includes('platform.allow-prometheus'))).toBe(true);
    expect(lines.some((r) => r['source_type'] === 'hep' && r['reporter'] === 'dst')).toBe(true);
    expect(lines.some((r) => !('policies' in r))).toBe(true);
  });
});

describe('multi-namespace', () => {
  test('has every remote category and protocol kind', () => {
    const s = buildScenario('multi-namespace');
    const f = s.flows;
    expect(new Set(s.workloads.map((w) => w.namespace)).size).toBe(12 + 3); // + kube-system, monitoring, calico-system
    expect(f.some((t) => t.dest.type === 'ns' && t.dest.namespace === '-')).toBe(true);
    expect(f.some((t) => t.dest.type === 'ns' && t.dest.namespace !== '-')).toBe(true);
    expect(f.some((t) => t.dest.type === 'net' && t.dest.name === 'pvt')).toBe(true);
    expect(f.some((t) => t.dest.type === 'net' && t.dest.name === 'pub' && t.service)).toBe(true);
    expect(f.some((t) => t.dest.type === 'net' && t.domains)).toBe(true);
    expect(f.some((t) => t.source.type === 'net' && t.source.name === 'pvt')).toBe(true);
    expect(f.some((t) => t.source.type === 'net' && t.source.name === 'pub' && t.action === 'allow')).toBe(true);
    expect(f.some((t) => t.proto === 'icmp' && t.port === null)).toBe(true);
    expect(f.some((t) => /^\d+$/.test(t.proto))).toBe(true);
    expect(f.some((t) => t.trace.kind === 'staged')).toBe(true);
    expect(f.some((t) => t.action === 'deny')).toBe(true);
  });

  test.each([1, 2, 3, 12, 40])('builds with %i namespaces, each with 2-5 workloads', (n) => {
    const s = buildScenario('multi-namespace', { namespaces: n });
    const perNs = new Map<string, number>();
    for (const w of s.workloads) perNs.set(w.namespace, (perNs.get(w.namespace) ?? 0) + 1);
    const apps = [...perNs].filter(([ns]) => !['kube-system', 'calico-system', 'monitoring'].includes(ns));
    expect(apps).toHaveLength(n);
    for (const [, count] of apps) expect(count).toBeGreaterThanOrEqual(2);
    for (const [, count] of apps) expect(count).toBeLessThanOrEqual(5);
    expect(learnableEdges(s).length).toBeGreaterThan(0);
  });

  test('namespace names go on as team-NN beyond the named list', () => {
    const names = new Set(buildScenario('multi-namespace', { namespaces: 12 }).workloads.map((w) => w.namespace));
    expect(names.has('payments')).toBe(true);
    expect(names.has('team-12')).toBe(true);
  });
});

describe('scale', () => {
  test.each([
    { namespaces: 7, workloads: 30, flows: 301 },
    { namespaces: 50, workloads: 200, flows: 5_000 },
  ])('exactly the namespaces, workloads and distinct flows asked for: %o', (size) => {
    const s = buildScenario('scale', size);
    const apps = s.workloads.filter((w) => w.namespace.startsWith('tenant-'));
    expect(new Set(apps.map((w) => w.namespace)).size).toBe(size.namespaces);
    expect(apps).toHaveLength(size.workloads);
    expect(s.flows.reduce((n, f) => n + f.reporters.length, 0)).toBe(size.flows);
    // Written once each, the records are all different flows (their 5-tuple and reporter).
    const lines = [...generateFlowLines({ scenario: 'scale', ...size, records: size.flows, endTime: 1_795_000_200 })].map((l) =>
      JSON.parse(l.toString()),
    );
    const key = (r: Record<string, unknown>) =>
      [
        r['reporter'],
        r['source_namespace'],
        r['source_name_aggr'],
        r['dest_namespace'],
        r['dest_name_aggr'],
        r['dest_ip'],
        r['proto'],
        r['dest_port'],
        JSON.stringify(r['dest_domains'] ?? null),
      ].join(' ');
    expect(new Set(lines.map(key)).size).toBe(size.flows);
  });

  test('sizes it cannot make are refused', () => {
    expect(() => buildScenario('scale', { namespaces: 10, workloads: 5, flows: 100 })).toThrow(RangeError);
    expect(() => buildScenario('scale', { namespaces: 10, workloads: 20, flows: 39 })).toThrow(RangeError);
  });
});
