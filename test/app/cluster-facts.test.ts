// What the App learns from the cluster's API besides namespaces, through a real Kubernetes API server
// on 127.0.0.1 serving Calico's projectcalico.org/v3 objects: the ClusterInformation's release names
// new policies (the `<tier>.` prefix up to 3.31, libcalico-go/lib/names/policy.go), the IP pools the
// families public traffic is allowed in, the network sets what rules select them by.

import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import nock from 'nock';
import { parse } from 'yaml';
import { KubernetesClusterContext } from '../../src/cluster/cluster-context.ts';
import { branchName } from '../../src/plan/lifecycle/unit-key.ts';
import { KubeApiServer } from '../support/kube-api-server.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, CONFIG } from './support/app-harness.ts';

useNock();

let server: KubeApiServer;
beforeAll(async () => {
  server = await KubeApiServer.start();
  // GitHub stays behind nock; the API server is a real peer on 127.0.0.1.
  nock.enableNetConnect('127.0.0.1');
});
afterAll(async () => {
  await server.close();
});

let h: AppHarness;
afterEach(async () => {
  expect(h.errors).toEqual([]);
  server.reset();
  await h.stop();
});

const SHOP = 'clusters/prod/namespace-isolation/shop.yaml';
const meta = (name: string, extra: Record<string, unknown> = {}) => ({ name, uid: `uid-${name}`, resourceVersion: '1', ...extra });

function cluster(calicoVersion: string, pools: readonly string[]): void {
  server.serveCalico('projectcalico.org', 'aggregated');
  server.setItems('namespaces', [{ metadata: meta('shop', { labels: { 'kubernetes.io/metadata.name': 'shop' } }) }]);
  server.setCalicoItems('projectcalico.org', 'clusterinformations', [
    { apiVersion: 'projectcalico.org/v3', kind: 'ClusterInformation', metadata: meta('default'), spec: { calicoVersion } },
  ]);
  server.setCalicoItems(
    'projectcalico.org',
    'ippools',
    pools.map((cidr, i) => ({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: meta(`pool-${i}`), spec: { cidr } })),
  );
  server.setCalicoItems('projectcalico.org', 'globalnetworksets', [
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkSet',
      metadata: meta('feeds', { labels: { feed: 'threat-intel' } }),
      spec: { nets: ['198.51.100.0/24'] },
    },
  ]);
  server.setCalicoItems('projectcalico.org', 'networksets', []);
}

const start = () => AppHarness.start({ config: CONFIG, clusterContext: () => new KubernetesClusterContext(server.kubeConfig()) });

describe('the cluster as its API describes it', () => {
  test('Calico 3.31, IPv4 and IPv6 pools: tier-prefixed names, public traffic in both families, network sets by their labels', async () => {
    cluster('v3.31.2', ['192.168.0.0/16', 'fd00:10:244::/64']);
    h = await start();
    await h.see(
      { namespace: 'shop', direction: 'egress', peer: 'pub', port: 443 },
      { namespace: 'shop', direction: 'egress', peer: 'ns-set:feeds', port: 8443 },
    );
    await h.run('first');
    const policy = parse(h.repo.file(branchName('prod', 'shop'), SHOP)!) as {
      metadata: { name: string };
      spec: { egress: { destination: Record<string, unknown> }[] };
    };
    expect(policy.metadata.name).toBe('namespace-isolation.shop-recommendation');
    expect(policy.spec.egress.map((r) => r.destination)).toEqual([
      { selector: "feed == 'threat-intel'", namespaceSelector: 'global()', ports: [8443] },
      { notNets: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], ports: [443] },
      { nets: ['::/0'], ports: [443] },
    ]);
    // The configuration said nothing, so nothing disagrees: no warning.
    expect(h.dashboard()).not.toContain('**Warning:**');
  });

  test('Calico 3.32: names without the tier prefix; a configured release that disagrees is a warning, and the cluster wins', async () => {
    cluster('v3.32.1', ['10.244.0.0/16']);
    h = await AppHarness.start({
      config: `${CONFIG}\ncalicoVersion: "3.31"`,
      clusterContext: () => new KubernetesClusterContext(server.kubeConfig()),
    });
    await h.see({ namespace: 'shop', direction: 'egress', peer: 'pub', port: 443 });
    await h.run('first');
    expect((parse(h.repo.file(branchName('prod', 'shop'), SHOP)!) as { metadata: { name: string } }).metadata.name).toBe(
      'shop-recommendation',
    );
    expect(h.dashboard().replaceAll('\\', '')).toContain(
      "calicoVersion says 3.31, but the cluster runs Calico 3.32: the cluster's release is followed",
    );
  });
  test('kubernetes flavour: a network set known by its nets only is allowed at exactly those nets (ipBlocks), and the PR says so', async () => {
    cluster('v3.32.1', ['10.244.0.0/16']);
    // No labels, nets with host bits and a bare address: written in their masked form.
    server.setCalicoItems('projectcalico.org', 'globalnetworksets', [
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkSet',
        metadata: meta('vendors'),
        spec: { nets: ['203.0.113.9/24', '2001:db8::1'] },
      },
    ]);
    h = await AppHarness.start({
      config: `${CONFIG}\nflavor: kubernetes`,
      clusterContext: () => new KubernetesClusterContext(server.kubeConfig()),
    });
    await h.see({ namespace: 'shop', direction: 'egress', peer: 'ns-set:vendors', port: 8443 });
    await h.run('first');
    const branch = branchName('prod', 'shop');
    const policy = parse(h.repo.file(branch, SHOP)!) as { spec: { egress: unknown[] } };
    expect(policy.spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: '203.0.113.0/24' } }, { ipBlock: { cidr: '2001:db8::1/128' } }], ports: [{ protocol: 'TCP', port: 8443 }] },
    ]);
    expect(h.repo.pullRequestFor(branch)!.body.replaceAll('\\', '')).toContain(
      'globalnetworkset:vendors (TCP 8443) is allowed to the addresses of the set (203.0.113.0/24, 2001:db8::1/128): Kubernetes policy cannot select a network set',
    );
  });
});
