// Goldmane end to end: the yaobank scenario as Goldmane would report it, served over mutual TLS,
// read by the Goldmane source into readFlows + planRecommendations, gives the yaobank policy.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { DEFAULT_CONFIG } from '../../../src/config/recommendation-config.ts';
import { type FlowReading, readFlows } from '../../../src/flows/read-flows.ts';
import { openGoldmaneSource } from '../../../src/flows/sources/goldmane/goldmane-source.ts';
import { buildScenario } from '../../../src/generator/scenarios/index.ts';
import { type Plan, planRecommendations } from '../../../src/plan/plan.ts';
import { bare, loadTemplate, yamlOf } from '../../support/engine.ts';
import {
  ACTION,
  ENDPOINT,
  GoldmaneTestServer,
  goldmaneConfig,
  KIND,
  REPORTER,
  scenarioGoldmaneFlows,
  type TestFlow,
} from '../../support/goldmane-server.ts';

const NOW = 1_795_348_800;

/**
 * Egress from customer to a private address on TCP 5000 that only our own staged recommendation
 * (its end of tier) would deny: Goldmane reports it as an EndOfTier hit in pending_policies. The
 * engine must see through its own policy and learn it.
 */
const ownStagedOnly: TestFlow = {
  Key: {
    source_name: 'customer-zrpxhqsjxr-*',
    source_namespace: 'yaobank',
    source_type: ENDPOINT.wep,
    dest_name: 'pvt',
    dest_type: ENDPOINT.net,
    dest_port: 5000,
    proto: 'tcp',
    reporter: REPORTER.src,
    action: ACTION.allow,
    policies: {
      enforced_policies: [{ kind: KIND.Profile, name: 'kns.yaobank', action: ACTION.allow }],
      pending_policies: [
        {
          kind: KIND.EndOfTier,
          tier: 'namespace-isolation',
          action: ACTION.deny,
          rule_index: -1,
          trigger: { kind: KIND.StagedNetworkPolicy, namespace: 'yaobank', tier: 'namespace-isolation', name: 'yaobank-recommendation' },
        },
      ],
    },
  },
  source_labels: ['app=customer'],
  num_connections_started: 4,
};

let server: GoldmaneTestServer;
let reading: FlowReading;
let plan: Plan;

beforeAll(async () => {
  const distinct = scenarioGoldmaneFlows(buildScenario('yaobank')).map((f) => f.flow);
  // Each distinct flow in two 15-second buckets of the last half hour, as Goldmane keeps them.
  const flows: TestFlow[] = [];
  for (const [bucket, start] of [NOW - 1800, NOW - 900].entries()) {
    for (const [i, f] of [...distinct, ownStagedOnly].entries()) {
      flows.push({
        ...f,
        start_time: start + i * 15,
        end_time: start + i * 15 + 15,
        num_connections_started: (f.num_connections_started ?? 1) + bucket,
      });
    }
  }
  // Older than the lookback, and not yet started: the window keeps both out.
  flows.push({
    ...distinct[0]!,
    start_time: NOW - DEFAULT_CONFIG.initialLookback - 60,
    end_time: NOW - DEFAULT_CONFIG.initialLookback - 45,
  });
  flows.push({ ...distinct[0]!, start_time: NOW, end_time: NOW + 15 });
  server = await GoldmaneTestServer.start({ flows, now: () => NOW });
  const source = await openGoldmaneSource(goldmaneConfig(server.address));
  reading = await readFlows(source, DEFAULT_CONFIG, NOW);
  plan = planRecommendations({
    tree: new Map(),
    template: await loadTemplate(),
    observations: reading.observations.byNamespace,
    config: DEFAULT_CONFIG,
    now: NOW,
  });
});

afterAll(async () => {
  await server.close();
});

describe('yaobank from Goldmane', () => {
  test('what was read and what taught something', () => {
    expect(reading.source).toBe(`goldmane at ${server.address}`);
    // Goldmane keeps one flow per FlowKey over the window (goldmane/pkg/storage/ring_index.go): the
    // 33 flows of each bucket are 30 keys (flows that differ only in IPs or domains, which Goldmane
    // does not carry, are one), each read once with both buckets' counters.
    expect(reading.inputsRead).toBe(30);
    expect(reading.skipped.total).toBe(0);
    expect(reading.window).toEqual({ from: NOW - DEFAULT_CONFIG.initialLookback, to: NOW });
    // One call: the window (whole intervals already) fits one reply.
    expect(server.calls.map((c) => [c.start_time_gte, c.start_time_lt, c.page, c.page_size])).toEqual([
      [NOW - DEFAULT_CONFIG.initialLookback, NOW, 0, 10_000],
    ]);
    // Prometheus (platform tier) 3 flows x 2 reporters, the security tier's deny, two host probes.
    expect(reading.observations.notLearned).toEqual({ 'decided by another policy': 6, denied: 1, 'host endpoint': 2 });
    expect(reading.observations.recordsLearned).toBe(21);
  });

  test('the yaobank namespace gets exactly the rules its profile-allowed traffic needs', () => {
    expect(plan.notSelected).toEqual(['kube-system']);
    const yaobank = plan.namespaces.find((n) => n.namespace === 'yaobank')!;
    expect(yaobank.outcome).toBe('created');
    expect(yaobank.warnings).toEqual([]);
    expect(yaobank.rules.map((r) => [r.direction, r.action, r.category, r.peers.join(','), r.protocol, r.ports.join(',')])).toEqual([
      ['ingress', 'Allow', 'Namespace', 'namespace:yaobank', 'TCP', '2379,8080'],
      ['ingress', 'Allow', 'Public', 'public', 'TCP', '80'],
      ['egress', 'Allow', 'Namespace', 'namespace:kube-system', 'TCP', '53'],
      ['egress', 'Allow', 'Namespace', 'namespace:yaobank', 'TCP', '2379,8080'],
      ['egress', 'Allow', 'Namespace', 'namespace:kube-system', 'UDP', '53'],
      // Learned although our own staged policy would deny it: only the profile enforced.
      ['egress', 'Allow', 'Private', 'private', 'TCP', '5000'],
      // Goldmane has no domains: api.stripe.com, www.example.com and the unnamed IPs are one public 443 rule.
      ['egress', 'Allow', 'Public', 'public', 'TCP', '443'],
    ]);
    const counted = Object.fromEntries(
      yaobank.rules.map((r) => [`${r.direction} ${r.category} ${r.protocol} ${r.ports.join(',')}`, r.flows]),
    );
    expect(counted['egress Private TCP 5000']).toBe(4 + 5);
  });

  test('the policy document', () => {
    const policy = yamlOf(new Map(plan.changes), 'namespace-isolation/yaobank.yaml');
    expect(policy.kind).toBe('StagedNetworkPolicy');
    expect(policy.metadata.name).toBe('yaobank-recommendation');
    expect(policy.spec.selector).toBe("projectcalico.org/namespace == 'yaobank'");
    expect(policy.spec.types).toEqual(['Ingress', 'Egress']);
    expect(bare(policy.spec.ingress)).toEqual([
      {
        action: 'Allow',
        protocol: 'TCP',
        source: { namespaceSelector: "projectcalico.org/name == 'yaobank'" },
        destination: { ports: [2379, 8080] },
      },
      {
        action: 'Allow',
        protocol: 'TCP',
        source: { notNets: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] },
        destination: { ports: [80] },
      },
    ]);
    expect(bare(policy.spec.egress)).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { namespaceSelector: "projectcalico.org/name == 'kube-system'", ports: [53] } },
      { action: 'Allow', protocol: 'TCP', destination: { namespaceSelector: "projectcalico.org/name == 'yaobank'", ports: [2379, 8080] } },
      { action: 'Allow', protocol: 'UDP', destination: { namespaceSelector: "projectcalico.org/name == 'kube-system'", ports: [53] } },
      { action: 'Allow', protocol: 'TCP', destination: { nets: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], ports: [5000] } },
      { action: 'Allow', protocol: 'TCP', destination: { notNets: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], ports: [443] } },
    ]);
  });
});
