// checkProposal: the flows a proposed tree would deny, from records or from observations.

import { describe, expect, test } from '@jest/globals';
import { FlowAggregator } from '../../src/engine/aggregate.ts';
import { checkProposal, flowsOfObservations } from '../../src/simulate/would-deny.ts';
import { wep as engineWep, HOUR, NOW, egress as record } from '../support/engine.ts';
import { egress, ingress, pub, pvt, wep } from '../support/simulate.ts';

const TREE = new Map([
  [
    'tiers.yaml',
    'apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: namespace-isolation}\nspec: {order: 300, defaultAction: Deny}',
  ],
  [
    'namespace-isolation/shop.yaml',
    [
      'apiVersion: projectcalico.org/v3',
      'kind: StagedNetworkPolicy',
      'metadata: {name: namespace-isolation.shop-recommendation, namespace: shop}',
      'spec:',
      '  stagedAction: Set',
      '  tier: namespace-isolation',
      "  selector: projectcalico.org/namespace == 'shop'",
      '  types: [Ingress, Egress]',
      '  ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]',
      "  egress: [{action: Allow, protocol: TCP, destination: {namespaceSelector: projectcalico.org/name == 'db', ports: [5432]}}, {action: Allow, protocol: TCP, destination: {nets: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16], ports: [443]}}]",
    ].join('\n'),
  ],
  ['bad.yaml', 'apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: bad}\nspec: {selector: "a ="}'],
]);

describe('checkProposal', () => {
  test('from records: denied and indeterminate flows, with the skipped objects', () => {
    const web = wep('shop', 'web-*', ['app=web']);
    const result = checkProposal({
      tree: TREE,
      flows: [
        egress(web, wep('db', 'pg-*'), { port: 5432 }),
        egress(web, wep('db', 'pg-*'), { port: 6432 }),
        { ...egress(web, pub, { port: 443 }), numFlows: 7 },
        ingress(pub, web, { port: 80 }),
        egress(web, wep('other', 'x-*'), { port: 443 }),
      ],
    });
    expect(result.denied.map((r) => [r.peer.name, r.port, r.flows])).toEqual([
      ['pub', 443, 7],
      ['pg-*', 6432, 1],
    ]);
    // A pod's address is aggregated away: is it in the private ranges?
    expect(result.indeterminate.map((r) => [r.peer.namespace, r.port, r.unknowns])).toEqual([
      [
        'other',
        443,
        [
          'shop/namespace-isolation.shop-recommendation egress[1]: destination.nets: the pod IP (aggregated away in the flow log) is not known',
        ],
      ],
    ]);
    expect(result.totals.byVerdict.allowed.rows).toBe(2);
    expect(result.warnings.map((w) => w.path)).toEqual(['bad.yaml']);
    // Enforced only, nothing is proposed yet: nothing denied.
    expect(checkProposal({ tree: TREE, flows: [egress(web, pub, { port: 443 })], view: 'enforced' }).denied).toEqual([]);
  });

  test('a view that applies only the named staged policies: every other staged policy is left out', () => {
    const web = wep('shop', 'web-*', ['app=web']);
    const deny =
      'apiVersion: projectcalico.org/v3\nkind: StagedGlobalNetworkPolicy\nmetadata: {name: default-deny}\nspec: {tier: default, selector: all(), types: [Ingress, Egress]}';
    const tree = new Map([...TREE, ['global-default-deny.yaml', deny]]);
    const flows = [egress(web, wep('other', 'x-*'), { port: 8080 })];
    // Not in shop's policy: denied by the tier's default action once shop's policy is applied.
    expect(
      checkProposal({ tree, flows, view: { staged: [{ namespace: 'shop', name: 'namespace-isolation.shop-recommendation' }] } }).denied,
    ).toHaveLength(1);
    // A pod of another namespace, its own policy staged only: the staged default deny is not applied.
    const other = [egress(wep('other', 'x-*'), wep('shop', 'web-*'), { port: 80 })];
    expect(
      checkProposal({ tree, flows: other, view: { staged: [{ namespace: 'shop', name: 'namespace-isolation.shop-recommendation' }] } })
        .denied,
    ).toEqual([]);
    // Every staged policy applied, the default deny among them: denied.
    expect(checkProposal({ tree, flows: other, view: 'staged' }).denied).toHaveLength(1);
  });

  test("from the engine's observations: each atom stands for a flow of the namespace", () => {
    const aggregator = new FlowAggregator({
      window: { from: NOW - 24 * HOUR, to: NOW },
      clusterDomain: 'cluster.local',
      tierName: 'namespace-isolation',
    });
    aggregator.add(record('shop', engineWep('db'), { port: 5432 }));
    aggregator.add(record('shop', pvt, { port: 443 }));
    aggregator.add(record('shop', pvt, { port: 8443 }));
    const flows = flowsOfObservations(aggregator.result().byNamespace);
    expect(flows.map((f) => [f.reporter, f.dest.type, f.dest.name, f.destPort])).toEqual([
      ['src', 'wep', '*', 5432],
      ['src', 'net', 'pvt', 443],
      ['src', 'net', 'pvt', 8443],
    ]);
    const result = checkProposal({ tree: TREE, flows });
    expect(result.denied.map((r) => [r.peer.name, r.port])).toEqual([['pvt', 8443]]);
    expect(result.indeterminate).toEqual([]);
  });
});
