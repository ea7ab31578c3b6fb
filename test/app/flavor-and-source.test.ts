// The flavour must fit where the flows come from (issue 11, point 8; issue 16: Hubble means Cilium,
// Goldmane and Elasticsearch mean Calico; flow-log files do not tell): domain rules exist only in
// Calico Enterprise, so calico-enterprise with Goldmane (open-source Calico's flow API; its source
// says so, test/flows/goldmane/goldmane-source.test.ts) is a configuration error for that cluster,
// shown on the dashboard, and nothing is proposed from it. Goldmane's gRPC cannot run beside the
// harness's nock, so the harness's file source stands in, telling the edition Goldmane tells.

import { afterEach, describe, expect, test } from '@jest/globals';
import { type CalicoEdition, type FlowSource, withChanges } from '../../src/flows/source.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, CONFIG } from './support/app-harness.ts';

useNock();

let h: AppHarness;
afterEach(async () => {
  expect(h.github.unexpected()).toEqual([]);
  await h.stop();
});

/** The harness's flow file, read by a source that tells which Calico wrote it. */
const telling =
  (edition: CalicoEdition) =>
  (source: FlowSource): FlowSource =>
    withChanges(source, { calicoEdition: edition });

const shop = { namespace: 'shop', direction: 'egress', peer: 'pub', port: 443 } as const;

describe('flavor calico-enterprise', () => {
  test('with flows from open-source Calico: a configuration error for the cluster, and no pull request', async () => {
    h = await AppHarness.start({ config: `${CONFIG}\nflavor: calico-enterprise`, wrapFlowSource: telling('open-source') });
    await h.see(shop);
    await h.run('open source');
    expect(h.dashboard().replaceAll('\\', '')).toContain(
      '**Error:** flavor calico-enterprise writes domain rules, which only Calico Enterprise has, but cluster prod reads its flows from Goldmane (open-source Calico): set flavor calico',
    );
    expect(h.repo.pullRequests({ state: 'open' })).toEqual([]);
  });

  test('with flows from Calico Enterprise (its Elasticsearch index): a pull request, no error', async () => {
    h = await AppHarness.start({ config: `${CONFIG}\nflavor: calico-enterprise`, wrapFlowSource: telling('enterprise') });
    await h.see(shop);
    await h.run('enterprise');
    expect(h.dashboard()).not.toContain('**Error:**');
    expect(h.repo.pullRequests({ state: 'open' })).toHaveLength(1);
    expect(h.errors).toEqual([]);
  });
});

describe('flows from Hubble (a Cilium cluster)', () => {
  test('with a Calico flavour: a configuration error for the cluster (Cilium never enforces Calico policies), and no pull request', async () => {
    h = await AppHarness.start({ wrapFlowSource: (source) => withChanges(source, { kind: 'hubble' }) });
    await h.see(shop);
    await h.run('hubble');
    expect(h.dashboard().replaceAll('\\', '')).toContain(
      "**Error:** cluster prod reads its flows from Hubble (a Cilium cluster), where flavor calico's policies are never enforced: set flavor cilium",
    );
    expect(h.repo.pullRequests({ state: 'open' })).toEqual([]);
  });

  test('with flavor cilium: a draft CiliumNetworkPolicy pull request, no error (test/app/cilium-staging.test.ts follows it)', async () => {
    h = await AppHarness.start({
      config: `${CONFIG}\nflavor: cilium`,
      clusterTree: 'empty',
      wrapFlowSource: (source) => withChanges(source, { kind: 'hubble' }),
    });
    await h.see(shop);
    await h.run('hubble');
    expect(h.dashboard()).not.toContain('**Error:**');
    const open = h.repo.pullRequests({ state: 'open' });
    expect(open.map((p) => [p.title, p.draft])).toEqual([['Network policy for namespace shop (cluster prod)', true]]);
    expect(h.repo.file(open[0]!.head, 'clusters/prod/namespace-isolation/shop.yaml')).toContain('kind: CiliumNetworkPolicy');
  });
});

describe('flavor cilium with flows from Calico (the source tells)', () => {
  test.each([
    ['Goldmane', 'goldmane'],
    ["Calico Enterprise's Elasticsearch flow logs", 'elasticsearch'],
  ] as const)('from %s: a configuration error for the cluster, and no pull request', async (name, kind) => {
    h = await AppHarness.start({ config: `${CONFIG}\nflavor: cilium`, wrapFlowSource: (source) => withChanges(source, { kind }) });
    await h.see(shop);
    await h.run('calico');
    expect(h.dashboard().replaceAll('\\', '')).toContain(
      `**Error:** flavor cilium writes CiliumNetworkPolicies, but cluster prod reads its flows from ${name} (a Calico cluster), where they are never enforced`,
    );
    expect(h.repo.pullRequests({ state: 'open' })).toEqual([]);
  });

  test('from flow-log files (Calico lines or Hubble lines: the kind does not tell): proposed', async () => {
    h = await AppHarness.start({ config: `${CONFIG}\nflavor: cilium`, clusterTree: 'empty' });
    await h.see(shop);
    await h.run('files');
    expect(h.dashboard()).not.toContain('**Error:**');
    expect(h.repo.pullRequests({ state: 'open' })).toHaveLength(1);
  });
});

describe("a cluster's own flavor (clusters[].flavor)", () => {
  test('a Cilium cluster in a Calico repository: Hubble flows, a CiliumNetworkPolicy PR', async () => {
    const config = CONFIG.replace('    path: clusters/prod', '    path: clusters/prod\n    flavor: cilium');
    h = await AppHarness.start({ config, clusterTree: 'empty', wrapFlowSource: (source) => withChanges(source, { kind: 'hubble' }) });
    await h.see(shop);
    await h.run('cluster flavor');
    expect(h.dashboard()).not.toContain('**Error:**');
    const [pr] = h.repo.pullRequests({ state: 'open' });
    expect(h.repo.file(pr!.head, 'clusters/prod/namespace-isolation/shop.yaml')).toContain('kind: CiliumNetworkPolicy');
    expect(pr!.body).toContain('Cilium has no staged policies');
  });
});
