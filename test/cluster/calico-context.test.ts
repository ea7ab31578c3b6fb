// The cluster context's Calico reads (calicoVersion, networkSets, ipPools) against a Kubernetes API
// server on 127.0.0.1 that serves Calico's two API groups the ways a cluster does: projectcalico.org/v3
// through Calico's aggregated API server (one page, `limit` ignored) or native v3 CRDs (3.32+,
// paged), crd.projectcalico.org/v1 through the CRDs that store the objects, either one not at all.

import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { ClusterAccessError, ipFamilies, KubernetesClusterContext } from '../../src/cluster/cluster-context.ts';
import { type CalicoGroup, type CalicoServing, calicoV1Object, KubeApiServer } from '../support/kube-api-server.ts';

let server: KubeApiServer;
beforeAll(async () => {
  server = await KubeApiServer.start();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.reset();
});

const V3 = '/apis/projectcalico.org/v3';
const V1 = '/apis/crd.projectcalico.org/v1';

const context = (options: { pageSize?: number } = {}) => new KubernetesClusterContext(server.kubeConfig(), options);

function serve(v3: CalicoServing, v1: CalicoServing): void {
  server.serveCalico('projectcalico.org', v3);
  server.serveCalico('crd.projectcalico.org', v1);
}

type Meta = { metadata: Record<string, unknown>; [key: string]: unknown };

// Objects as projectcalico.org/v3 serves them (api/pkg/apis/projectcalico/v3, release-v3.33).
const clusterInformation = (spec: Record<string, unknown>): Meta => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'ClusterInformation',
  metadata: { name: 'default', uid: 'uid-ci', resourceVersion: '812', creationTimestamp: '2026-05-01T10:00:00Z' },
  spec: {
    clusterGUID: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    clusterType: 'typha,kdd,k8s,operator,bgp,kubeadm',
    datastoreReady: true,
    ...spec,
  },
});
const networkSet = (namespace: string, name: string, labels: Record<string, unknown>, nets: unknown): Meta => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'NetworkSet',
  metadata: { namespace, name, uid: `uid-${namespace}-${name}`, resourceVersion: '900', labels },
  spec: { nets },
});
const globalNetworkSet = (name: string, labels: Record<string, unknown>, nets: unknown): Meta => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'GlobalNetworkSet',
  metadata: { name, uid: `uid-${name}`, resourceVersion: '901', labels },
  spec: { nets },
});
const ipPool = (name: string, cidr: unknown, spec: Record<string, unknown> = {}): Meta => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPool',
  metadata: { name, uid: `uid-${name}`, resourceVersion: '700' },
  spec: {
    cidr,
    blockSize: 26,
    ipipMode: 'Never',
    vxlanMode: 'CrossSubnet',
    natOutgoing: true,
    nodeSelector: 'all()',
    allowedUses: ['Workload', 'Tunnel'],
    ...spec,
  },
});

/** The same objects in both groups, each in its own shape. */
function store(
  resource: 'clusterinformations' | 'networksets' | 'globalnetworksets' | 'ippools',
  objects: Meta[],
  groups: CalicoGroup[] = ['projectcalico.org', 'crd.projectcalico.org'],
): void {
  for (const group of groups) server.setCalicoItems(group, resource, group === 'projectcalico.org' ? objects : objects.map(calicoV1Object));
}

async function rejection(promise: Promise<unknown>): Promise<ClusterAccessError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(ClusterAccessError);
    return e as ClusterAccessError;
  }
  throw new Error('expected a rejection');
}

const paths = () => server.requests.map((r) => `${r.path} ${r.status}`);

describe('calicoVersion', () => {
  test("through Calico's API server (projectcalico.org/v3): the release of spec.calicoVersion, nothing asked of the v1 CRDs", async () => {
    serve('aggregated', 'crds');
    store('clusterinformations', [clusterInformation({ calicoVersion: 'v3.31.2' })]);
    const ctx = context();
    expect(await ctx.calicoVersion()).toBe('3.31');
    expect(ctx.calicoVersionWarning).toBeNull();
    expect(paths()).toEqual([`${V3}/clusterinformations/default 200`]);
    expect(server.requests.every((r) => r.method === 'GET' && r.token === KubeApiServer.TOKEN)).toBe(true);
  });

  test('only the v1 CRDs (no Calico API server): read from crd.projectcalico.org/v1 after the 404', async () => {
    serve('absent', 'crds');
    store('clusterinformations', [clusterInformation({ calicoVersion: 'v3.30.4' })], ['crd.projectcalico.org']);
    const ctx = context();
    expect(await ctx.calicoVersion()).toBe('3.30');
    expect(paths()).toEqual([`${V3}/clusterinformations/default 404`, `${V1}/clusterinformations/default 200`]);
  });

  test('native v3 CRDs (3.32+), no v1 CRDs', async () => {
    serve('crds', 'absent');
    store('clusterinformations', [clusterInformation({ calicoVersion: 'v3.33.0-0.dev-1478-g6609dea547' })], ['projectcalico.org']);
    expect(await context().calicoVersion()).toBe('3.33');
  });

  test('a development build newer than 3.33 follows main', async () => {
    serve('crds', 'absent');
    store('clusterinformations', [clusterInformation({ calicoVersion: 'v3.34.0-0.dev-67-g87c15906f2' })], ['projectcalico.org']);
    expect(await context().calicoVersion()).toBe('main');
  });

  test('neither group serves it: null, and the warning asks whether Calico is installed', async () => {
    const ctx = context();
    expect(await ctx.calicoVersion()).toBeNull();
    expect(ctx.calicoVersionWarning).toBe(
      'Calico release unknown: cannot get clusterinformations: neither projectcalico.org/v3 nor crd.projectcalico.org/v1 serves them (is Calico installed?)',
    );
    expect(paths()).toEqual([`${V3}/clusterinformations/default 404`, `${V1}/clusterinformations/default 404`]);
  });

  test('a served group without the ClusterInformation default: null, the v1 CRDs not asked (they would be stale)', async () => {
    serve('crds', 'crds');
    store('clusterinformations', [clusterInformation({ calicoVersion: 'v3.30.0' })], ['crd.projectcalico.org']);
    const ctx = context();
    expect(await ctx.calicoVersion()).toBeNull();
    expect(ctx.calicoVersionWarning).toBe(
      'Calico release unknown: the cluster has no ClusterInformation named default (calico/node creates it when it starts)',
    );
    expect(paths()).toEqual([`${V3}/clusterinformations/default 404`]);
  });

  test('refused in both groups: null, and the warning names both permissions', async () => {
    serve('aggregated', 'crds');
    store('clusterinformations', [clusterInformation({ calicoVersion: 'v3.31.2' })]);
    server.forbid('get', 'clusterinformations.projectcalico.org');
    server.forbid('get', 'clusterinformations.crd.projectcalico.org');
    const ctx = context();
    expect(await ctx.calicoVersion()).toBeNull();
    expect(ctx.calicoVersionWarning).toBe(
      'Calico release unknown: missing permissions: get clusterinformations.projectcalico.org (cluster-wide), get clusterinformations.crd.projectcalico.org (cluster-wide)',
    );
  });

  test('refused in projectcalico.org only: read from the v1 CRDs (RBAC is checked before the group is looked up)', async () => {
    serve('absent', 'crds');
    store('clusterinformations', [clusterInformation({ calicoVersion: 'v3.31.7' })], ['crd.projectcalico.org']);
    server.forbid('get', 'clusterinformations.projectcalico.org');
    expect(await context().calicoVersion()).toBe('3.31');
    expect(paths()).toEqual([`${V3}/clusterinformations/default 403`, `${V1}/clusterinformations/default 200`]);
  });

  test('refused in projectcalico.org and no v1 CRDs: the refusal is what the warning names', async () => {
    serve('crds', 'absent');
    server.forbid('get', 'clusterinformations.projectcalico.org');
    const ctx = context();
    expect(await ctx.calicoVersion()).toBeNull();
    expect(ctx.calicoVersionWarning).toBe(
      'Calico release unknown: missing permission: get clusterinformations.projectcalico.org (cluster-wide) (HTTP 403 Forbidden: clusterinformations.projectcalico.org "default" is forbidden: User "system:serviceaccount:policy-recommender:policy-recommender" cannot get resource "clusterinformations" in API group "projectcalico.org" at the cluster scope)',
    );
  });

  test("Calico's API server down (503): read from the v1 CRDs it stores them in; with none, the 503 is named", async () => {
    serve('unavailable', 'crds');
    store('clusterinformations', [clusterInformation({ calicoVersion: 'v3.31.2' })], ['crd.projectcalico.org']);
    expect(await context().calicoVersion()).toBe('3.31');
    expect(paths()).toEqual([`${V3}/clusterinformations/default 503`, `${V1}/clusterinformations/default 200`]);

    serve('unavailable', 'absent');
    const ctx = context();
    expect(await ctx.calicoVersion()).toBeNull();
    expect(ctx.calicoVersionWarning).toBe(
      'Calico release unknown: cannot get clusterinformations.projectcalico.org (cluster-wide): HTTP 503 ServiceUnavailable',
    );
  });

  test('another error is no reason to ask the other group: null with the error', async () => {
    serve('crds', 'crds');
    store('clusterinformations', [clusterInformation({ calicoVersion: 'v3.31.2' })]);
    server.failRequests(KubeApiServer.TOKEN, 500, { path: /projectcalico\.org\/v3/, times: 1 });
    const ctx = context();
    expect(await ctx.calicoVersion()).toBeNull();
    expect(ctx.calicoVersionWarning).toBe(
      'Calico release unknown: cannot get clusterinformations.projectcalico.org (cluster-wide): HTTP 500 InternalError: injected failure',
    );
    expect(server.requestsTo(V1)).toEqual([]);
    // The warning is the latest call's.
    expect(await ctx.calicoVersion()).toBe('3.31');
    expect(ctx.calicoVersionWarning).toBeNull();
  });

  const readings: [string, Record<string, unknown>, string | null, string | null][] = [
    ['a release', { calicoVersion: 'v3.32.1' }, '3.32', null],
    ['a build after a patch release', { calicoVersion: 'v3.32.1-125-gde60d98e97' }, '3.32', null],
    ['a dirty build', { calicoVersion: 'v3.30.7-dirty' }, '3.30', null],
    ['the dev tag of the next minor', { calicoVersion: 'v3.34.0-0.dev' }, 'main', null],
    ['an older release', { calicoVersion: 'v3.29.4' }, null, 'Calico v3.29.4 is older than 3.30, the oldest release supported'],
    [
      'a build outside git',
      { calicoVersion: '<unknown>' },
      null,
      '"<unknown>" is not a Calico version (vMAJOR.MINOR.PATCH, as calico/node\'s build records it)',
    ],
    [
      'no tag reachable',
      { calicoVersion: '87c15906f2ab' },
      null,
      '"87c15906f2ab" is not a Calico version (vMAJOR.MINOR.PATCH, as calico/node\'s build records it)',
    ],
    // kube-controllers creates the object with an empty version before calico/node runs
    // (kube-controllers/pkg/kubecontrollers/run.go EnsureInitialized(ctx, "", "k8s"), release-v3.33).
    [
      'not recorded yet',
      { calicoVersion: '' },
      null,
      'the ClusterInformation default has no spec.calicoVersion (calico/node records it when it starts)',
    ],
    ['no field', {}, null, 'the ClusterInformation default has no spec.calicoVersion (calico/node records it when it starts)'],
    [
      'not a string',
      { calicoVersion: 3.31 },
      null,
      'the ClusterInformation default has no spec.calicoVersion (calico/node records it when it starts)',
    ],
    // Calico Enterprise: spec.calicoVersion is its open-source base, cnxVersion (and, in newer CRDs,
    // calicoEnterpriseVersion) its own release (tigera/api clusterinfo.go; tigera/operator
    // pkg/imports/crds/enterprise/v1.crd.projectcalico.org/crd.projectcalico.org_clusterinformations.yaml;
    // "Cluster Calico Version: v3.25.1 / Cluster Calico Enterprise Version: v3.17.1" in calicoctl
    // version's output, tigera-cs/Calico-Security-Observability-Troubleshooting-Training).
    [
      'Calico Enterprise on a supported base',
      { calicoVersion: 'v3.31.0', cnxVersion: 'v3.22.0', calicoEnterpriseVersion: 'v3.22.0', variant: 'CalicoEnterprise' },
      '3.31',
      null,
    ],
    [
      'Calico Enterprise on an older base',
      { calicoVersion: 'v3.25.1', cnxVersion: 'v3.17.1', variant: 'TigeraSecureEnterprise' },
      null,
      'Calico Enterprise v3.17.1: Calico v3.25.1 is older than 3.30, the oldest release supported',
    ],
    [
      'Calico Enterprise without its base',
      { cnxVersion: 'v3.22.0-2.0' },
      null,
      'Calico Enterprise v3.22.0-2.0: the ClusterInformation default has no spec.calicoVersion (calico/node records it when it starts)',
    ],
    [
      'Calico Enterprise with an unreadable version',
      { calicoEnterpriseVersion: 'x\ny' },
      null,
      'Calico Enterprise: the ClusterInformation default has no spec.calicoVersion (calico/node records it when it starts)',
    ],
  ];
  test.each(readings)('%s', async (_what, spec, release, warning) => {
    serve('aggregated', 'crds');
    store('clusterinformations', [clusterInformation(spec)]);
    const ctx = context();
    expect(await ctx.calicoVersion()).toBe(release);
    expect(ctx.calicoVersionWarning).toBe(warning === null ? null : `Calico release unknown: ${warning}`);
  });

  test('the v1 shape gives the same reading as the v3 shape', async () => {
    serve('absent', 'crds');
    for (const spec of readings.map(([, s]) => s)) {
      store('clusterinformations', [clusterInformation(spec)]);
      const v1 = context();
      const fromV1 = await v1.calicoVersion();
      serve('aggregated', 'absent');
      const v3 = context();
      expect([fromV1, v1.calicoVersionWarning]).toEqual([await v3.calicoVersion(), v3.calicoVersionWarning]);
      serve('absent', 'crds');
    }
  });
});

describe('networkSets', () => {
  const sets = [
    networkSet('shop', 'payment-providers', { role: 'payments', 'app.kubernetes.io/part-of': 'checkout' }, [
      '198.51.100.0/24',
      '203.0.113.7',
      '2001:DB8:0:0:1::/64',
      '2001:DB8:0:0:1::/80',
      '198.51.100.9/24',
    ]),
    networkSet('billing', 'banks', { role: 'banks' }, ['192.0.2.0/28']),
    globalNetworkSet('monitoring-saas', { vendor: 'metrics' }, ['34.120.0.0/16', '2600:1901::/48']),
    globalNetworkSet('no-nets', {}, undefined),
  ];
  const expected = [
    { name: 'monitoring-saas', namespace: null, labels: { vendor: 'metrics' }, nets: ['34.120.0.0/16', '2600:1901::/48'] },
    { name: 'no-nets', namespace: null, labels: {}, nets: [] },
    { name: 'banks', namespace: 'billing', labels: { role: 'banks' }, nets: ['192.0.2.0/28'] },
    {
      name: 'payment-providers',
      namespace: 'shop',
      labels: { role: 'payments', 'app.kubernetes.io/part-of': 'checkout' },
      // Masked (as Felix masks them: libcalico-go/lib/net ParseCIDROrIP), lowercase, without repeats.
      nets: ['198.51.100.0/24', '203.0.113.7/32', '2001:db8::/64', '2001:db8:0:0:1::/80'],
    },
  ];
  const byKind = (items: Meta[], kind: string) => items.filter((s) => s['kind'] === kind);

  test("through Calico's API server: every set in one page (it ignores limit), global first, nets in masked form", async () => {
    serve('aggregated', 'crds');
    store('networksets', byKind(sets, 'NetworkSet'));
    store('globalnetworksets', byKind(sets, 'GlobalNetworkSet'));
    const ctx = context({ pageSize: 1 });
    expect(await ctx.networkSets()).toEqual(expected);
    expect(ctx.skipped.networkSets.total).toBe(0);
    expect(paths()).toEqual([`${V3}/globalnetworksets 200`, `${V3}/networksets 200`]);
    expect(server.requests.map((r) => r.query['limit'])).toEqual(['1', '1']);
  });

  test('native v3 CRDs page with limit and continue', async () => {
    serve('crds', 'absent');
    const many = ['a', 'b', 'c', 'd', 'e'].map((n) => networkSet('shop', `set-${n}`, { set: n }, [`10.0.0.${n.charCodeAt(0) - 96}`]));
    store('networksets', many, ['projectcalico.org']);
    const ctx = context({ pageSize: 2 });
    expect((await ctx.networkSets()).map((s) => s.name)).toEqual(['set-a', 'set-b', 'set-c', 'set-d', 'set-e']);
    expect(server.requestsTo(`${V3}/networksets`).map((r) => r.query['continue'] ?? null)).toEqual([
      null,
      server.continueToken('networksets.projectcalico.org', 2),
      server.continueToken('networksets.projectcalico.org', 4),
    ]);
  });

  test('only the v1 CRDs: labels come back from the projectcalico.org/metadata annotation, the same sets as through v3', async () => {
    serve('absent', 'crds');
    store('networksets', byKind(sets, 'NetworkSet'), ['crd.projectcalico.org']);
    store('globalnetworksets', byKind(sets, 'GlobalNetworkSet'), ['crd.projectcalico.org']);
    // What libcalico-go leaves on the v1 object itself: no labels of the user's.
    const stored = calicoV1Object(sets[0]!);
    expect(stored['metadata']).not.toHaveProperty('labels');
    const ctx = context({ pageSize: 3 });
    expect(await ctx.networkSets()).toEqual(expected);
    // The two lists run at once: each asks v3, then v1.
    expect(paths().sort()).toEqual([
      `${V1}/globalnetworksets 200`,
      `${V1}/networksets 200`,
      `${V3}/globalnetworksets 404`,
      `${V3}/networksets 404`,
    ]);
    expect(
      server
        .requestsTo('/apis/')
        .map((r) => r.path)
        .filter((p) => p.endsWith('/networksets')),
    ).toEqual([`${V3}/networksets`, `${V1}/networksets`]);
  });

  test('v1 objects: labels on the object and in the annotation merge, the annotation winning; one written before the annotation keeps its own', async () => {
    serve('absent', 'crds');
    server.setCalicoItems('crd.projectcalico.org', 'networksets', [
      {
        apiVersion: 'crd.projectcalico.org/v1',
        kind: 'NetworkSet',
        metadata: {
          namespace: 'shop',
          name: 'merged',
          labels: { 'projectcalico.org/owner': 'ops', role: 'old' },
          annotations: { 'projectcalico.org/metadata': JSON.stringify({ labels: { role: 'new', tier: 'edge' }, creationTimestamp: null }) },
        },
        spec: { nets: ['10.1.0.0/16'] },
      },
      {
        apiVersion: 'crd.projectcalico.org/v1',
        kind: 'NetworkSet',
        metadata: { namespace: 'shop', name: 'plain', labels: { role: 'legacy' } },
        spec: { nets: ['10.2.0.0/16'] },
      },
      {
        apiVersion: 'crd.projectcalico.org/v1',
        kind: 'NetworkSet',
        metadata: { namespace: 'shop', name: 'broken', annotations: { 'projectcalico.org/metadata': '{"labels": ' } },
        spec: { nets: ['10.3.0.0/16'] },
      },
      {
        apiVersion: 'crd.projectcalico.org/v1',
        kind: 'NetworkSet',
        metadata: {
          namespace: 'shop',
          name: 'stored-labels-not-a-map',
          labels: { role: 'x' },
          annotations: { 'projectcalico.org/metadata': '{"labels": "role=y"}' },
        },
        spec: { nets: ['10.4.0.0/16'] },
      },
    ]);
    const ctx = context();
    expect(await ctx.networkSets()).toEqual([
      { name: 'merged', namespace: 'shop', labels: { 'projectcalico.org/owner': 'ops', role: 'new', tier: 'edge' }, nets: ['10.1.0.0/16'] },
      { name: 'plain', namespace: 'shop', labels: { role: 'legacy' }, nets: ['10.2.0.0/16'] },
    ]);
    // libcalico-go skips an object whose annotation does not parse (list_pager.go pagedList).
    expect(ctx.skipped.networkSets.summary().examples).toEqual([
      { location: 'networksets.crd.projectcalico.org[2]', reason: 'unreadable projectcalico.org/metadata annotation' },
      { location: 'networksets.crd.projectcalico.org[3]', reason: 'labels are not a map' },
    ]);
  });

  test('invalid sets are skipped and counted; an invalid net is dropped from its set, as Felix drops it', async () => {
    serve('aggregated', 'absent');
    server.setCalicoItems('projectcalico.org', 'networksets', [
      networkSet('shop', 'good', { role: 'ok' }, [
        '10.0.0.0/8',
        'not-a-net',
        '10.0.0.1/8',
        '300.1.1.1/32',
        17,
        '10.0.0.0/33',
        'fe80::1%eth0',
        '::/0',
      ]),
      networkSet('../etc', 'bad-namespace', {}, []),
      networkSet('shop', 'UPPER', {}, []),
      networkSet('shop', 'x'.repeat(254), {}, []),
      networkSet('shop', 'bad-key', { 'a b': 'c' }, []),
      networkSet('shop', 'bad-value', { role: 'x\ny' }, []),
      networkSet('shop', 'number-value', { replicas: 3 }, []),
      networkSet('shop', 'nets-not-a-list', {}, '10.0.0.0/8'),
      { ...networkSet('shop', 'labels-not-a-map', {}, []), metadata: { namespace: 'shop', name: 'labels-not-a-map', labels: ['a'] } },
      { ...networkSet('shop', 'labels-a-string', {}, []), metadata: { namespace: 'shop', name: 'labels-a-string', labels: 'role=x' } },
      null,
      networkSet('shop', 'good', { role: 'again' }, []),
      // Felix sets projectcalico.org/namespace to the set's namespace (networksetprocessor.go).
      networkSet('shop', 'claims-namespace', { 'projectcalico.org/namespace': 'other', role: 'x' }, []),
    ]);
    server.setCalicoItems('projectcalico.org', 'globalnetworksets', [
      // A global set keeps it: Felix adds nothing to a global set's labels (globalnetworksetprocessor.go).
      globalNetworkSet('global-claims-namespace', { 'projectcalico.org/namespace': 'other' }, ['192.0.2.1']),
    ]);
    const ctx = context();
    expect(await ctx.networkSets()).toEqual([
      { name: 'global-claims-namespace', namespace: null, labels: { 'projectcalico.org/namespace': 'other' }, nets: ['192.0.2.1/32'] },
      { name: 'claims-namespace', namespace: 'shop', labels: { role: 'x' }, nets: [] },
      { name: 'good', namespace: 'shop', labels: { role: 'ok' }, nets: ['10.0.0.0/8', '::/0'] },
    ]);
    const summary = ctx.skipped.networkSets.summary();
    expect(summary.byReason).toEqual({
      'invalid label key': 1,
      'invalid name': 3,
      'invalid namespace': 1,
      'invalid net (Felix ignores it)': 5,
      'invalid value of label replicas': 1,
      'invalid value of label role': 1,
      'labels are not a map': 2,
      'listed twice': 1,
      'spec.nets is not a list': 1,
    });
    expect(summary.total).toBe(16);
    expect(summary.examples.slice(0, 3)).toEqual([
      { location: 'networksets.projectcalico.org shop/good spec.nets[1]', reason: 'invalid net (Felix ignores it)' },
      { location: 'networksets.projectcalico.org shop/good spec.nets[3]', reason: 'invalid net (Felix ignores it)' },
      { location: 'networksets.projectcalico.org shop/good spec.nets[4]', reason: 'invalid net (Felix ignores it)' },
    ]);
    expect(JSON.stringify(summary)).not.toContain('etc');
  });

  test('neither group serves them: an error that asks whether Calico is installed', async () => {
    const error = await rejection(context().networkSets());
    expect(error.message).toBe(
      'cannot list globalnetworksets: neither projectcalico.org/v3 nor crd.projectcalico.org/v1 serves them (is Calico installed?)',
    );
    expect(error.status).toBe(404);
  });

  test('refused in both groups: the error names both permissions', async () => {
    serve('aggregated', 'crds');
    server.forbid('list', 'globalnetworksets.projectcalico.org');
    server.forbid('list', 'globalnetworksets.crd.projectcalico.org');
    const error = await rejection(context().networkSets());
    expect(error.message).toBe(
      'missing permissions: list globalnetworksets.projectcalico.org (cluster-wide), list globalnetworksets.crd.projectcalico.org (cluster-wide)',
    );
    expect(error.status).toBe(403);
    expect(error.missing).toEqual([
      { verb: 'list', resource: 'globalnetworksets', group: 'projectcalico.org' },
      { verb: 'list', resource: 'globalnetworksets', group: 'crd.projectcalico.org' },
    ]);
  });

  test('both kinds refused everywhere: one error names all four permissions', async () => {
    serve('crds', 'crds');
    for (const resource of ['networksets', 'globalnetworksets']) {
      for (const group of ['projectcalico.org', 'crd.projectcalico.org']) server.forbid('list', `${resource}.${group}`);
    }
    const error = await rejection(context().networkSets());
    expect(error.message).toBe(
      'missing permissions: list globalnetworksets.projectcalico.org (cluster-wide), list globalnetworksets.crd.projectcalico.org (cluster-wide), list networksets.projectcalico.org (cluster-wide), list networksets.crd.projectcalico.org (cluster-wide)',
    );
    expect(error.missing).toHaveLength(4);
  });

  test('refused in projectcalico.org, the v1 CRDs readable: read from them', async () => {
    serve('aggregated', 'crds');
    store('networksets', byKind(sets, 'NetworkSet'));
    server.forbid('list', 'networksets.projectcalico.org');
    expect((await context().networkSets()).map((s) => s.name)).toEqual(['banks', 'payment-providers']);
    expect(server.requestsTo(`${V3}/networksets`).map((r) => r.status)).toEqual([403]);
  });

  test('refused in the v1 CRDs where projectcalico.org is not served: that refusal is the error', async () => {
    serve('absent', 'crds');
    server.forbid('list', 'globalnetworksets.crd.projectcalico.org');
    const error = await rejection(context().networkSets());
    expect(error.message).toMatch(
      /^missing permission: list globalnetworksets\.crd\.projectcalico\.org \(cluster-wide\) \(HTTP 403 Forbidden: /,
    );
    expect(error.missing).toEqual([{ verb: 'list', resource: 'globalnetworksets', group: 'crd.projectcalico.org' }]);
  });

  test('an expired continue token restarts the v1 list', async () => {
    serve('absent', 'crds');
    store(
      'networksets',
      ['a', 'b', 'c'].map((n) => networkSet('shop', n, {}, [])),
      ['crd.projectcalico.org'],
    );
    server.expireContinueToken(server.continueToken('networksets.crd.projectcalico.org', 2));
    expect((await context({ pageSize: 2 }).networkSets()).map((s) => s.name)).toEqual(['a', 'b', 'c']);
    expect(server.requestsTo(`${V1}/networksets`).map((r) => r.status)).toEqual([200, 410, 200, 200]);
  });
});

describe('ipPools', () => {
  const pools = [
    ipPool('default-ipv4-ippool', '10.244.0.0/16'),
    ipPool('default-ipv6-ippool', 'fd00:10:244::/56'),
    ipPool('old', '172.16.0.0/16', { disabled: true }),
  ];
  const expected = [
    { name: 'default-ipv4-ippool', cidr: '10.244.0.0/16', disabled: false },
    { name: 'default-ipv6-ippool', cidr: 'fd00:10:244::/56', disabled: false },
    { name: 'old', cidr: '172.16.0.0/16', disabled: true },
  ];

  test.each([
    ["Calico's API server", 'aggregated', 'absent'],
    ['native v3 CRDs', 'crds', 'absent'],
    ['only the v1 CRDs', 'absent', 'crds'],
  ] as [string, CalicoServing, CalicoServing][])('through %s: name, masked CIDR, disabled; which IP families', async (_how, v3, v1) => {
    serve(v3, v1);
    store('ippools', pools);
    const ctx = context({ pageSize: 2 });
    const read = await ctx.ipPools();
    expect(read).toEqual(expected);
    expect(ctx.skipped.ipPools.total).toBe(0);
    expect(ipFamilies(read)).toEqual({ ipv4: true, ipv6: true });
  });

  test('the IP families: one, the other, none; a disabled pool still counts (its addresses stay assigned)', () => {
    expect(ipFamilies([{ name: 'v4', cidr: '10.244.0.0/16', disabled: false }])).toEqual({ ipv4: true, ipv6: false });
    expect(ipFamilies([{ name: 'v6', cidr: 'fd00::/48', disabled: true }])).toEqual({ ipv4: false, ipv6: true });
    expect(ipFamilies([])).toEqual({ ipv4: false, ipv6: false });
  });

  test('invalid pools are skipped and counted', async () => {
    serve('crds', 'absent');
    server.setCalicoItems('projectcalico.org', 'ippools', [
      ipPool('unmasked', '10.244.7.0/16'),
      ipPool('bare-address', '10.245.0.1'),
      ipPool('not-a-cidr', '10.244.0.0/40'),
      ipPool('number', 167772160),
      ipPool('disabled-string', '10.246.0.0/16', { disabled: 'true' }),
      ipPool('Bad_Name', '10.247.0.0/16'),
      ipPool('unmasked', '10.244.0.0/16'),
      'not an object',
    ]);
    const ctx = context();
    expect(await ctx.ipPools()).toEqual([{ name: 'unmasked', cidr: '10.244.0.0/16', disabled: false }]);
    expect(ctx.skipped.ipPools.summary()).toMatchObject({
      total: 7,
      byReason: { 'invalid name': 2, 'invalid spec.cidr': 3, 'invalid spec.disabled': 1, 'listed twice': 1 },
    });
  });

  test('refused: the error names the permission', async () => {
    serve('crds', 'absent');
    server.forbid('list', 'ippools.projectcalico.org');
    const error = await rejection(context().ipPools());
    expect(error.message).toMatch(
      /^missing permission: list ippools\.projectcalico\.org \(cluster-wide\) \(HTTP 403 Forbidden: ippools\.projectcalico\.org is forbidden: /,
    );
    expect(error.missing).toEqual([{ verb: 'list', resource: 'ippools', group: 'projectcalico.org' }]);
  });

  test('nothing but GETs: the cluster context never writes', async () => {
    serve('aggregated', 'crds');
    store('ippools', pools);
    store('clusterinformations', [clusterInformation({ calicoVersion: 'v3.31.2' })]);
    const ctx = context();
    await ctx.ipPools();
    await ctx.networkSets();
    await ctx.calicoVersion();
    expect(server.requests.length).toBeGreaterThan(0);
    expect(server.requests.every((r) => r.method === 'GET')).toBe(true);
  });
});
