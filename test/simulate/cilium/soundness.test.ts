// The cilium flavour against the Cilium evaluator (differential/soundness): for the generated
// scenarios as Hubble flows (`flows:generate --format hubble`) and as Calico flow logs, every flow
// the recommendation was built from is certainly allowed by the policies written (the leg it
// taught: egress at its source, ingress at its destination), with and without microsegmentation,
// the template's clusterwide default deny included; and traffic from or to a namespace never seen
// is denied. The evaluator is three-valued: `unknown` counts as a failure here.

import { describe, expect, test } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { parseCiliumPolicy } from '../../../src/cilium/parse-policy.ts';
import type { CiliumPolicy } from '../../../src/cilium/types.ts';
import type { RecommendationConfig } from '../../../src/config/recommendation-config.ts';
import { learn } from '../../../src/engine/learn.ts';
import { parseCalicoFlowLog } from '../../../src/flows/calico-flow-log.ts';
import { learnContext } from '../../../src/flows/read-flows.ts';
import type { FlowEndpoint, FlowRecord } from '../../../src/flows/record.ts';
import { parseHubbleLine } from '../../../src/flows/sources/hubble/jsonpb-line.ts';
import { hubbleExpressible, hubbleRender } from '../../../src/generator/hubble.ts';
import { createRandom } from '../../../src/generator/random.ts';
import { compileFlows } from '../../../src/generator/record.ts';
import { buildScenario } from '../../../src/generator/scenarios/index.ts';
import { evaluateCiliumFlow } from '../../../src/simulate/cilium/evaluate.ts';
import type { CiliumFlow, CiliumPeer } from '../../../src/simulate/cilium/flow.ts';
import { config, HOUR, NOW, run } from '../../support/engine.ts';

/** A record's end as the evaluator sees it: a pod with its labels, a node, the API server, or an address. */
function peerOf(e: FlowEndpoint): CiliumPeer {
  if (e.type === 'wep' && e.namespace !== null) {
    return {
      kind: 'pod',
      namespace: e.namespace,
      labels: e.labels.map((text) => {
        const eq = text.indexOf('=');
        return { source: 'k8s', key: text.slice(0, eq), value: text.slice(eq + 1) };
      }),
      ip: e.ip,
    };
  }
  if (e.entity !== undefined && e.entity !== 'world') return { kind: 'entity', entity: e.entity, ip: e.ip };
  if (e.type === 'hep') return { kind: 'entity', entity: e.name === 'remote-node' ? 'remote-node' : 'host', ip: e.ip };
  return { kind: 'ip', ip: e.ip ?? (e.name === 'pvt' ? '10.99.0.1' : '192.0.2.99') };
}

function flowOf(r: FlowRecord): CiliumFlow {
  return {
    source: peerOf(r.source),
    destination: peerOf(r.dest),
    protocol: r.protocol,
    destPort: r.destPort,
    destNames: r.destDomains.length > 0 ? r.destDomains : null,
    direction: r.reporter === 'src' ? 'egress' : 'ingress',
  };
}

/** Does an egress rule of the source's policies name the record's service (and namespace) on its port? */
function namesService(policies: readonly CiliumPolicy[], r: FlowRecord): boolean {
  const service = r.destService!;
  return policies.some(
    (p) =>
      p.namespace === r.source.namespace &&
      p.rules.some((rule) =>
        (rule.egress ?? []).some(
          (e) =>
            (e.services ?? []).some(
              (s) => 'k8sService' in s && s.k8sService.serviceName === service.name && s.k8sService.namespace === service.namespace,
            ) && (e.toPorts ?? []).some((pr) => pr.ports.some((pp) => pp.port === r.destPort && pp.protocol === r.protocol)),
        ),
      ),
  );
}

function ciliumPolicies(tree: ReadonlyMap<string, string>): CiliumPolicy[] {
  return [...tree].flatMap(([path, text]) =>
    parseAllDocuments(text).map((doc) => {
      const parsed = parseCiliumPolicy(doc.toJS());
      if (!parsed.ok) throw new Error(`${path}: ${JSON.stringify(parsed.issues)}`);
      return parsed.policy;
    }),
  );
}

/** The scenario's flows as records, in the format asked for, twice each over the last hours. */
function records(name: string, format: 'hubble' | 'calico'): FlowRecord[] {
  const scenario = buildScenario(name, {});
  const rng = createRandom(11);
  const out: FlowRecord[] = [];
  for (const f of compileFlows(scenario)) {
    if (format === 'hubble' && !hubbleExpressible(f.template)) continue;
    const toHubble = format === 'hubble' ? hubbleRender(f.template, f.reporter, scenario.nodes, 'compact') : null;
    for (let i = 0; i < 2; i++) {
      const start = NOW - 2 * HOUR + 300 * i;
      const parsed =
        toHubble !== null ? parseHubbleLine(toHubble(rng, start, start + 300)) : parseCalicoFlowLog(f.render(rng, start, start + 300));
      if (parsed.ok) out.push(parsed.record);
    }
  }
  return out;
}

function learnedFrom(list: readonly FlowRecord[], cfg: RecommendationConfig): FlowRecord[] {
  const ctx = learnContext(cfg, { from: NOW - cfg.initialLookback, to: NOW });
  return list.filter((r) => {
    const lesson = learn(r, ctx);
    return typeof lesson !== 'string' && (lesson.forNamespace || lesson.forWorkload);
  });
}

const cases = [
  ['yaobank', 'hubble'],
  ['multi-namespace', 'hubble'],
  ['scale', 'hubble'],
  ['yaobank', 'calico'],
  ['multi-namespace', 'calico'],
] as const;

describe.each(cases)('scenario %s as %s flows', (name, format) => {
  const list = records(name, format);

  test.each([false, true])('every learned flow is allowed by what was written (microsegmentation %s)', async (segmented) => {
    const cfg = config({
      flavor: 'cilium',
      ...(segmented ? { microsegmentation: { enabled: true, select: { selector: 'all()' } } } : {}),
    });
    const plan = await run(list, { config: cfg });
    const policies = ciliumPolicies(plan.tree);
    expect(policies.filter((p) => p.kind === 'CiliumNetworkPolicy').length).toBeGreaterThan(0);
    const learned = learnedFrom(list, cfg);
    expect(learned.length).toBeGreaterThan(0);
    // Hubble names nodes and the API server (entities): some learned flows have one at the remote end.
    const entities = new Set(learned.flatMap((r) => [r.source.entity, r.dest.entity].filter((e) => e !== undefined && e !== 'world')));
    if (format === 'hubble' && name !== 'scale') expect(entities.size).toBeGreaterThan(0);
    let byServiceName = 0;
    const refused = learned.flatMap((r) => {
      const v = evaluateCiliumFlow(policies, flowOf(r));
      if (v.verdict === 'allowed') return [];
      // toServices: the evaluator does not know which endpoints back a service (no service
      // catalogue), so it cannot be certain; the rule must name the record's service exactly.
      const reasons = v.legs.flatMap((l) => l.reasons);
      const service = r.destService;
      if (v.verdict === 'unknown' && service !== null && reasons.some((x) => x.includes('toServices')) && namesService(policies, r)) {
        byServiceName++;
        return [];
      }
      return [`${v.verdict}: ${JSON.stringify(flowOf(r))}: ${reasons.join('; ')}`];
    });
    expect(refused).toEqual([]);
    // Nearly every flow is certain; those to services are few.
    expect(byServiceName).toBeLessThan(learned.length / 10);

    // Never seen: a namespace that sent or received nothing is allowed nothing by our policies.
    const ours = new Set(plan.namespaces.filter((n) => n.outcome !== 'skipped').map((n) => n.namespace));
    const namespaces = [...new Set(learned.map((r) => (r.reporter === 'src' ? r.source : r.dest).namespace!))].filter((ns) => ours.has(ns));
    expect(namespaces.length).toBeGreaterThan(0);
    const stranger: CiliumPeer = { kind: 'pod', namespace: 'never-seen', labels: [], ip: null };
    for (const ns of namespaces) {
      const local: CiliumPeer = { kind: 'pod', namespace: ns, labels: [], ip: null };
      for (const port of [80, 443, 8080]) {
        const ingress = evaluateCiliumFlow(policies, {
          source: stranger,
          destination: local,
          protocol: 'TCP',
          destPort: port,
          destNames: null,
          direction: 'ingress',
        });
        expect([ns, ingress.verdict]).toEqual([ns, 'denied']);
      }
    }
  });
});
