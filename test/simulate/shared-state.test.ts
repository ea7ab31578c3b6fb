// The simulator's shared state is invisible: one Simulator deciding many flows (its endpoint and
// verdict caches keyed by ids, equal verdicts shared) gives each flow the verdict a fresh Simulator
// gives it alone, and the report (rows keyed by ids of their ends and decisions, sorted by ranks)
// folds and orders rows as a report keyed and sorted by their text does. Differential, over
// generated policies (Allow, Deny, Pass and Log rules; ports, port ranges, named ports, notPorts,
// ICMP, notProtocol, nets and notNets, selectors, notSelector, namespace selectors, service
// accounts) and flows that repeat, so that caches hit.

import { describe, expect, test } from '@jest/globals';
import { compareStrings } from '../../src/engine/model.ts';
import type { FlowEnd } from '../../src/simulate/endpoint.ts';
import { decisionKey, type FlowFacts, Simulator, type Verdict } from '../../src/simulate/evaluate.ts';
import type { PolicyView } from '../../src/simulate/policy-set.ts';
import { type EndRef, type FlowRow, SimulationReport } from '../../src/simulate/report.ts';
import { docs, hep, net, networkSet, policySet, pub, pvt, tier, wep } from '../support/simulate.ts';

/** A small seeded generator (mulberry32): the same cases on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Pick = <T>(items: readonly T[]) => T;

const NAMESPACES = ['shop', 'pay', 'ops'];
const ACTIONS = ['Allow', 'Allow', 'Deny', 'Pass', 'Log'];
const SELECTORS = ["app == 'web'", "app == 'db'", 'has(tier)', 'all()', "tier in {'front', 'back'}"];

function entity(pick: Pick, chance: (p: number) => boolean, destination: boolean, withPorts: boolean): string {
  const parts: string[] = [];
  if (chance(0.4)) parts.push(`selector: "${pick(SELECTORS)}"`);
  if (chance(0.15)) parts.push(`notSelector: "${pick(SELECTORS)}"`);
  if (chance(0.25)) parts.push(`namespaceSelector: "${pick(["team == 'a'", 'all()', "projectcalico.org/name == 'pay'"])}"`);
  if (chance(0.15)) parts.push(`nets: [${pick(['10.0.0.0/8', '192.168.1.0/24', '0.0.0.0/0', 'fd00::/8'])}]`);
  if (chance(0.1)) parts.push(`notNets: [${pick(['10.0.0.0/8', '172.16.0.0/12'])}]`);
  if (withPorts && destination && chance(0.5)) parts.push(`ports: [${pick(['80', '443, 8080', "'8000:8100'", 'http', '53'])}]`);
  if (withPorts && destination && chance(0.15)) parts.push(`notPorts: [${pick(['80', "'1:1024'"])}]`);
  if (withPorts && !destination && chance(0.05)) parts.push('ports: [1234]');
  if (chance(0.05)) parts.push('serviceAccounts: {names: [builder]}');
  return `{${parts.join(', ')}}`;
}

function rule(pick: Pick, chance: (p: number) => boolean): string {
  const parts = [`action: ${pick(ACTIONS)}`];
  const protocol = chance(0.7) ? pick(['TCP', 'TCP', 'UDP', 'ICMP']) : null;
  if (protocol !== null) parts.push(`protocol: ${protocol}`);
  else if (chance(0.2)) parts.push('notProtocol: UDP');
  if (protocol === 'ICMP' && chance(0.5)) parts.push(chance(0.5) ? 'icmp: {type: 8}' : 'notICMP: {type: 3}');
  const ports = protocol === 'TCP' || protocol === 'UDP';
  parts.push(`source: ${entity(pick, chance, false, ports)}`, `destination: ${entity(pick, chance, true, ports)}`);
  return `{${parts.join(', ')}}`;
}

function policies(seed: number): string {
  const next = random(seed);
  const pick: Pick = (items) => items[Math.floor(next() * items.length)]!;
  const chance = (p: number) => next() < p;
  const rules = (n: number) => Array.from({ length: n }, () => rule(pick, chance));
  const out = [tier('security', 100, 'Pass'), tier('apps', 200)];
  for (let i = 0; i < 14; i++) {
    const namespaced = chance(0.6);
    const tierName = pick(['security', 'apps', 'default']);
    const name = tierName === 'default' ? `p${i}` : `${tierName}.p${i}`;
    const staged = chance(0.3);
    const kind = `${staged ? 'Staged' : ''}${namespaced ? '' : 'Global'}NetworkPolicy`;
    out.push(
      [
        'apiVersion: projectcalico.org/v3',
        `kind: ${kind}`,
        `metadata: {name: ${name}${namespaced ? `, namespace: ${pick(NAMESPACES)}` : ''}}`,
        'spec:',
        `  tier: ${tierName}`,
        ...(chance(0.8) ? [`  order: ${Math.floor(next() * 5) * 10}`] : []),
        `  selector: "${pick(SELECTORS)}"`,
        '  types: [Ingress, Egress]',
        `  ingress: [${rules(Math.floor(next() * 5)).join(', ')}]`,
        `  egress: [${rules(Math.floor(next() * 5)).join(', ')}]`,
      ].join('\n'),
    );
  }
  return docs(...out);
}

function flows(seed: number, n: number): (FlowFacts & { numFlows: number })[] {
  const next = random(seed);
  const pick: Pick = (items) => items[Math.floor(next() * items.length)]!;
  const ends: FlowEnd[] = [
    wep('shop', 'web-*', ['app=web', 'tier=front']),
    wep('shop', 'db-*', ['app=db', 'tier=back']),
    wep('shop', 'web-*', ['app=web']), // the same name as an end above, other labels
    wep('pay', 'api-*', ['app=api']),
    wep('pay', 'api-*', []),
    wep('ops', 'builder-*', ['app=builder', 'projectcalico.org/serviceaccount=builder']),
    pub,
    pvt,
    net('10.1.2.3'),
    net('192.168.1.7'),
    networkSet('office', null, null, ['zone=office']),
    hep('node-1'),
  ];
  return Array.from({ length: n }, () => {
    const protocol = pick(['TCP', 'TCP', 'UDP', 'ICMP'] as const);
    return {
      reporter: pick(['src', 'dst'] as const),
      source: pick(ends),
      dest: pick(ends),
      protocol,
      destPort: protocol === 'ICMP' ? null : pick([80, 443, 53, 8050, 1234, null]),
      destService: next() < 0.1 ? { name: 'web', namespace: 'shop' } : null,
      destDomains: next() < 0.05 ? ['api.example.com'] : [],
      numFlows: 1 + Math.floor(next() * 3),
    };
  });
}

// The report as it was before its rows were keyed by ids: keyed and sorted by their text.
const VERDICTS = ['denied', 'indeterminate', 'allowed'];
const refKey = (e: EndRef) => `${e.type} ${e.namespace ?? ''}/${e.name}`;
const ref = (e: FlowEnd): EndRef => ({ type: e.type, namespace: e.namespace, name: e.name });

function referenceRows(decided: readonly [FlowFacts & { numFlows: number }, Verdict][]): FlowRow[] {
  const rows = new Map<string, FlowRow & { records: number; flows: number; unknowns: readonly string[] }>();
  for (const [flow, verdict] of decided) {
    const egress = verdict.direction === 'egress';
    const endpoint = ref(egress ? flow.source : flow.dest);
    const peer = ref(egress ? flow.dest : flow.source);
    const service = flow.destService === null ? null : `${flow.destService.namespace ?? '-'}/${flow.destService.name}`;
    const key = `${verdict.direction}|${refKey(endpoint)}|${refKey(peer)}|${service ?? ''}|${flow.protocol}|${flow.destPort ?? ''}|${verdict.verdict}|${verdict.decisions.map(decisionKey).join(';')}`;
    const row = rows.get(key);
    if (row === undefined) {
      const { verdict: v, direction, decisions, unknowns } = verdict;
      rows.set(key, {
        verdict: v,
        direction,
        endpoint,
        peer,
        service,
        protocol: flow.protocol,
        port: flow.destPort,
        decisions,
        unknowns,
        records: 1,
        flows: flow.numFlows,
      });
    } else {
      row.records++;
      row.flows += flow.numFlows;
      if (verdict.unknowns.length > 0) row.unknowns = [...new Set([...row.unknowns, ...verdict.unknowns])].slice(0, 8);
    }
  }
  return [...rows.values()].sort(
    (a, b) =>
      VERDICTS.indexOf(a.verdict) - VERDICTS.indexOf(b.verdict) ||
      compareStrings(refKey(a.endpoint), refKey(b.endpoint)) ||
      compareStrings(a.direction, b.direction) ||
      compareStrings(refKey(a.peer), refKey(b.peer)) ||
      compareStrings(String(a.protocol), String(b.protocol)) ||
      (a.port ?? -1) - (b.port ?? -1) ||
      compareStrings(a.decisions.map(decisionKey).join(';'), b.decisions.map(decisionKey).join(';')),
  );
}

describe.each([1, 2, 3, 4, 5])('generated policies and flows, seed %i', (seed) => {
  const set = policySet(policies(seed), new Map([['pay', { team: 'a' }]]));
  const input = flows(seed * 7919, 800);

  test.each<PolicyView>(['staged', 'enforced'])('one Simulator for every flow decides each as a fresh one does (%s)', (view) => {
    expect(set.policies.length).toBeGreaterThan(8); // the generated policies are valid, most of them
    const shared = new Simulator(set, view);
    const verdicts = input.map((flow) => shared.evaluate(flow));
    expect(verdicts).toEqual(input.map((flow) => new Simulator(set, view).evaluate(flow)));
    // The flows reach more than one kind of verdict, so the comparison covers them.
    expect(new Set(verdicts.map((v) => v.verdict)).size).toBeGreaterThan(1);
  });

  test('the report folds and orders rows as a report keyed by their text does', () => {
    const simulator = new Simulator(set, 'staged');
    const report = new SimulationReport();
    const decided = input.map((flow): [FlowFacts & { numFlows: number }, Verdict] => [flow, simulator.evaluate(flow)]);
    for (const [flow, verdict] of decided) report.add(flow, verdict);
    const rows = report.rows();
    expect(rows).toEqual(referenceRows(decided));
    expect(rows.length).toBeLessThan(input.length); // flows repeat: rows fold them
  });
});
