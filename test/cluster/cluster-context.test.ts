import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import {
  ClusterAccessError,
  type ClusterNamespace,
  KubernetesClusterContext,
  namespaceContext,
  namespaceInventory,
  openClusterContext,
} from '../../src/cluster/cluster-context.ts';
import { FlowAggregator } from '../../src/engine/aggregate.ts';
import { planRecommendations } from '../../src/plan/plan.ts';
import { config, egress, loadTemplate, NOW, pub } from '../support/engine.ts';
import { KubeApiServer, type ListResource } from '../support/kube-api-server.ts';

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

const context = (options: { pageSize?: number; maxListAttempts?: number } = {}) =>
  new KubernetesClusterContext(server.kubeConfig(), options);

const ns = (name: string, labels: Record<string, unknown> = {}) => ({
  metadata: { name, uid: `uid-${name}`, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
});
const podTemplate = (labels: Record<string, unknown>) => ({
  metadata: { labels },
  spec: { containers: [{ name: 'app', image: 'app:1' }] },
});
const workload = (namespace: string, name: string, labels: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  metadata: { namespace, name, uid: `uid-${namespace}-${name}`, ...extra },
  spec: { selector: { matchLabels: { app: name } }, template: podTemplate(labels) },
});
const cronJob = (namespace: string, name: string, labels: Record<string, unknown>) => ({
  metadata: { namespace, name, uid: `uid-cron-${name}` },
  spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: podTemplate(labels) } } },
});
const ownedBy = (cron: string) => ({
  ownerReferences: [
    { apiVersion: 'batch/v1', kind: 'CronJob', name: cron, uid: `uid-cron-${cron}`, controller: true, blockOwnerDeletion: true },
  ],
});

const continues = (_resource: ListResource, path: string) => server.requestsTo(path).map((r) => r.query['continue'] ?? null);
const PATHS: Record<Exclude<ListResource, 'namespaces'>, string> = {
  deployments: '/apis/apps/v1/deployments',
  statefulsets: '/apis/apps/v1/statefulsets',
  daemonsets: '/apis/apps/v1/daemonsets',
  jobs: '/apis/batch/v1/jobs',
  cronjobs: '/apis/batch/v1/cronjobs',
};

async function rejection(promise: Promise<unknown>): Promise<ClusterAccessError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(ClusterAccessError);
    return e as ClusterAccessError;
  }
  throw new Error('expected a rejection');
}

describe('namespaces', () => {
  test('are read page by page with limit and continue, and come back sorted with their labels', async () => {
    const names = ['shop', 'billing', 'web', 'db', 'auth', 'cache', 'queue'];
    server.setItems(
      'namespaces',
      names.map((n) => ns(n, { team: n === 'web' ? 'frontend' : 'backend' })),
    );
    const result = await context({ pageSize: 3 }).namespaces();
    expect(result.map((n) => n.name)).toEqual([...names].sort());
    expect(result.find((n) => n.name === 'web')!.labels).toEqual({ 'kubernetes.io/metadata.name': 'web', team: 'frontend' });
    const requests = server.requestsTo('/api/v1/namespaces');
    expect(requests.map((r) => r.query['limit'])).toEqual(['3', '3', '3']);
    expect(requests.map((r) => r.query['continue'] ?? null)).toEqual([
      null,
      server.continueToken('namespaces', 3),
      server.continueToken('namespaces', 6),
    ]);
    expect(requests.every((r) => r.method === 'GET' && r.token === KubeApiServer.TOKEN)).toBe(true);
  });

  test('an expired continue token (410) restarts the list from the beginning, without duplicates', async () => {
    server.setItems(
      'namespaces',
      ['a', 'b', 'c', 'd', 'e'].map((n) => ns(n)),
    );
    const expired = server.continueToken('namespaces', 4);
    server.expireContinueToken(expired);
    const ctx = context({ pageSize: 2 });
    expect((await ctx.namespaces()).map((n) => n.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    const second = server.continueToken('namespaces', 2);
    expect(continues('namespaces', '/api/v1/namespaces')).toEqual([null, second, expired, null, second, expired]);
    expect(server.requestsTo('/api/v1/namespaces').map((r) => r.status)).toEqual([200, 200, 410, 200, 200, 200]);
    expect(ctx.skipped.namespaces.total).toBe(0);
  });

  test('a continue token that keeps expiring gives up after the bounded attempts', async () => {
    server.setItems(
      'namespaces',
      ['a', 'b', 'c'].map((n) => ns(n)),
    );
    server.expireContinueToken(server.continueToken('namespaces', 2), 10);
    const error = await rejection(context({ pageSize: 2, maxListAttempts: 3 }).namespaces());
    expect(error.status).toBe(410);
    expect(error.reason).toBe('Expired');
    expect(error.message).toMatch(/^cannot list namespaces \(cluster-wide\): the continue token expired \(HTTP 410 Expired\) 3 times/);
    expect(server.requestsTo('/api/v1/namespaces')).toHaveLength(6);
  });

  test('a 403 names the missing permission', async () => {
    server.forbid('list', 'namespaces');
    const error = await rejection(context().namespaces());
    expect(error.message).toMatch(
      /^missing permission: list namespaces \(cluster-wide\) \(HTTP 403 Forbidden: namespaces is forbidden: User ".*" cannot list resource "namespaces" in API group "" at the cluster scope\)$/,
    );
    expect(error.status).toBe(403);
    expect(error.missing).toEqual([{ verb: 'list', resource: 'namespaces', group: '' }]);
  });

  test('invalid items are skipped and counted; the rest is kept', async () => {
    server.setItems('namespaces', [
      ns('shop', { team: 'payments' }),
      null,
      'not an object',
      { metadata: { name: '../../etc' } },
      { metadata: { name: 'UPPER' } },
      { metadata: { name: 'x'.repeat(64) } },
      { metadata: {} },
      ns('numbers', { replicas: 3 }),
      ns('long-value', { team: 'v'.repeat(64) }),
      ns('bad-key', { 'team name': 'x' }),
      ns('injection', { team: 'a\nb: c' }),
      ns('web'),
      ns('shop'),
    ]);
    const ctx = context({ pageSize: 4 });
    expect((await ctx.namespaces()).map((n) => n.name)).toEqual(['shop', 'web']);
    const summary = ctx.skipped.namespaces.summary();
    expect(summary.total).toBe(11);
    expect(summary.byReason).toEqual({
      'invalid label key': 1,
      'invalid namespace name': 6,
      'invalid value of label replicas': 1,
      'invalid value of label team': 2,
      'listed twice': 1,
    });
    expect(summary.examples[0]).toEqual({ location: 'namespaces[1]', reason: 'invalid namespace name' });
    // A name that failed validation never reaches a location either.
    expect(JSON.stringify(summary)).not.toContain('etc');
  });

  test('the inventory tells which namespaces exist, and a partial listing retires nothing', async () => {
    server.setItems('namespaces', [ns('shop'), ns('web')]);
    const ctx = context();
    const listed = await ctx.namespaces();
    const inventory = namespaceInventory(listed, ctx.skipped.namespaces);
    expect(inventory.exists('shop')).toBe(true);
    expect(inventory.exists('gone')).toBe(false);
    expect(inventory.deleted(['web', 'gone', 'old', 'gone'])).toEqual(['gone', 'old']);

    server.setItems('namespaces', [ns('shop'), ns('web', { bad: 'x'.repeat(100) })]);
    const partial = await ctx.namespaces();
    expect(partial.map((n) => n.name)).toEqual(['shop']);
    expect(namespaceInventory(partial, ctx.skipped.namespaces).deleted(['web', 'gone'])).toEqual([]);
  });
});

describe('workloads', () => {
  test('every kind is read page by page, cluster-wide', async () => {
    const kinds = Object.keys(PATHS) as (keyof typeof PATHS)[];
    for (const kind of kinds) {
      server.setItems(
        kind,
        ['a', 'b', 'c', 'd', 'e'].map((n) =>
          kind === 'cronjobs' ? cronJob('shop', `${kind}-${n}`, { app: n }) : workload('shop', `${kind}-${n}`, { app: n }),
        ),
      );
    }
    const result = await context({ pageSize: 2 }).workloads();
    for (const kind of kinds) {
      expect(continues(kind, PATHS[kind])).toEqual([null, server.continueToken(kind, 2), server.continueToken(kind, 4)]);
      expect(server.requestsTo(PATHS[kind]).every((r) => r.query['limit'] === '2')).toBe(true);
    }
    expect(result).toHaveLength(25);
    expect(result.filter((w) => w.kind === 'StatefulSet').map((w) => w.name)).toEqual([
      'statefulsets-a',
      'statefulsets-b',
      'statefulsets-c',
      'statefulsets-d',
      'statefulsets-e',
    ]);
    expect(result.find((w) => w.name === 'cronjobs-c')).toEqual({
      kind: 'CronJob',
      namespace: 'shop',
      name: 'cronjobs-c',
      labels: { app: 'c' },
    });
    // Nothing but GETs: the cluster context never writes.
    expect(server.requests.every((r) => r.method === 'GET')).toBe(true);
  });

  test('a 410 restarts only the list whose token expired', async () => {
    server.setItems(
      'daemonsets',
      ['a', 'b', 'c'].map((n) => workload('kube-system', n, { app: n })),
    );
    server.setItems(
      'deployments',
      ['a', 'b', 'c'].map((n) => workload('shop', n, { app: n })),
    );
    server.expireContinueToken(server.continueToken('daemonsets', 2));
    const result = await context({ pageSize: 2 }).workloads();
    expect(result.map((w) => `${w.kind}/${w.name}`)).toEqual([
      'DaemonSet/a',
      'DaemonSet/b',
      'DaemonSet/c',
      'Deployment/a',
      'Deployment/b',
      'Deployment/c',
    ]);
    expect(server.requestsTo(PATHS.daemonsets).map((r) => r.status)).toEqual([200, 410, 200, 200]);
    expect(server.requestsTo(PATHS.deployments).map((r) => r.status)).toEqual([200, 200]);
  });

  test('churn labels are removed from pod-template labels', async () => {
    server.setItems('deployments', [workload('shop', 'web', { app: 'web', tier: 'frontend', 'pod-template-hash': '7d9f8c6b5' })]);
    server.setItems('statefulsets', [workload('shop', 'db', { app: 'db', 'controller-revision-hash': 'db-6c8d7f9b4' })]);
    server.setItems('daemonsets', [
      workload('kube-system', 'agent', { app: 'agent', 'controller-revision-hash': 'x1', 'pod-template-generation': '4' }),
    ]);
    server.setItems('jobs', [
      workload('shop', 'migrate', {
        'batch.kubernetes.io/controller-uid': 'a1b2',
        'controller-uid': 'a1b2',
        'batch.kubernetes.io/job-name': 'migrate',
        'job-name': 'migrate',
        app: 'migrate',
      }),
    ]);
    const result = await context().workloads();
    expect(result).toEqual([
      { kind: 'DaemonSet', namespace: 'kube-system', name: 'agent', labels: { app: 'agent' } },
      { kind: 'Deployment', namespace: 'shop', name: 'web', labels: { app: 'web', tier: 'frontend' } },
      {
        kind: 'Job',
        namespace: 'shop',
        name: 'migrate',
        labels: { 'batch.kubernetes.io/job-name': 'migrate', 'job-name': 'migrate', app: 'migrate' },
      },
      { kind: 'StatefulSet', namespace: 'shop', name: 'db', labels: { app: 'db' } },
    ]);
  });

  test('Jobs created by a CronJob are represented by the CronJob; standalone Jobs stay', async () => {
    server.setItems('cronjobs', [cronJob('ops', 'backup', { app: 'backup' })]);
    server.setItems('jobs', [
      workload('ops', 'backup-29391230', { app: 'backup', 'job-name': 'backup-29391230' }, ownedBy('backup')),
      workload('ops', 'backup-29391290', { app: 'backup', 'job-name': 'backup-29391290' }, ownedBy('backup')),
      workload('ops', 'reindex', { app: 'reindex' }),
    ]);
    const ctx = context();
    expect((await ctx.workloads()).map((w) => `${w.kind}/${w.namespace}/${w.name}`)).toEqual(['CronJob/ops/backup', 'Job/ops/reindex']);
    expect(ctx.skipped.workloads.total).toBe(0);
  });

  test('invalid items are skipped and counted', async () => {
    server.setItems('deployments', [
      workload('shop', 'web', { app: 'web' }),
      workload('../etc', 'web', { app: 'web' }),
      workload('shop', 'a/b', { app: 'x' }),
      workload('shop', 'newline', { app: 'x\ny' }),
      workload('shop', 'number', { app: 7 }),
      null,
    ]);
    server.setItems('cronjobs', [{ metadata: { namespace: 'ops', name: 'no-template' }, spec: {} }]);
    const ctx = context();
    expect((await ctx.workloads()).map((w) => `${w.kind}/${w.name}`)).toEqual(['CronJob/no-template', 'Deployment/web']);
    expect(ctx.skipped.workloads.summary()).toMatchObject({
      total: 5,
      byReason: { 'invalid namespace or name': 3, 'invalid value of label app': 2 },
    });
    expect(ctx.skipped.workloads.summary().examples.map((e) => e.location)).toEqual([
      'deployments.apps[1]',
      'deployments.apps[2]',
      'deployments.apps shop/newline',
      'deployments.apps shop/number',
      'deployments.apps[5]',
    ]);
  });

  test('a 403 names the permission: verb, resource and API group', async () => {
    server.forbid('list', 'deployments');
    const error = await rejection(context().workloads());
    expect(error.message).toMatch(
      /^missing permission: list deployments\.apps \(cluster-wide\) \(HTTP 403 Forbidden: deployments\.apps is forbidden: User "system:serviceaccount:policy-recommender:policy-recommender" cannot list resource "deployments" in API group "apps" at the cluster scope\)$/,
    );
    expect(error.missing).toEqual([{ verb: 'list', resource: 'deployments', group: 'apps' }]);
  });

  test('several refused lists are named in one error', async () => {
    const fresh = await KubeApiServer.start();
    try {
      fresh.forbid('list', 'cronjobs');
      fresh.forbid('list', 'deployments');
      const error = await rejection(new KubernetesClusterContext(fresh.kubeConfig()).workloads());
      expect(error.message).toBe('missing permissions: list deployments.apps (cluster-wide), list cronjobs.batch (cluster-wide)');
      expect(error.status).toBe(403);
    } finally {
      await fresh.close();
    }
  });

  test('other API errors carry their status and reason', async () => {
    server.failRequests(KubeApiServer.TOKEN, 500, { path: /statefulsets/, times: 1 });
    const error = await rejection(context().workloads());
    expect(error.message).toBe('cannot list statefulsets.apps (cluster-wide): HTTP 500 InternalError: injected failure');
    expect([error.status, error.reason]).toEqual([500, 'InternalError']);
    expect(error.missing).toEqual([]);
  });
});

describe('connecting', () => {
  test('a rejected token is a 401', async () => {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'test', server: server.url, skipTLSVerify: true }],
      users: [{ name: 'intruder', token: 'not-a-known-token' }],
      contexts: [{ name: 'test', cluster: 'test', user: 'intruder' }],
      currentContext: 'test',
    });
    const error = await rejection(new KubernetesClusterContext(config).namespaces());
    expect(error.message).toBe('cannot list namespaces (cluster-wide): HTTP 401 Unauthorized');
    expect(error.status).toBe(401);
  });

  test('no server listening is an error without a status', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'gone', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'bot', token: 't' }],
      contexts: [{ name: 'gone', cluster: 'gone', user: 'bot' }],
      currentContext: 'gone',
    });
    const error = await rejection(new KubernetesClusterContext(config).namespaces());
    expect(error.status).toBeUndefined();
    expect(error.message).toMatch(/^cannot list namespaces \(cluster-wide\): .*ECONNREFUSED/);
  });

  describe('from the deployment configuration', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'kubeconfig-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    test('a kubeconfig file and a context', async () => {
      const file = join(dir, 'config');
      await writeFile(
        file,
        [
          'apiVersion: v1',
          'kind: Config',
          'current-context: elsewhere',
          'clusters:',
          '  - name: test',
          `    cluster: { server: "${server.url}", insecure-skip-tls-verify: true }`,
          '  - name: elsewhere',
          '    cluster: { server: "http://127.0.0.1:1", insecure-skip-tls-verify: true }',
          'users:',
          `  - name: bot`,
          `    user: { token: ${KubeApiServer.TOKEN} }`,
          'contexts:',
          '  - name: test',
          '    context: { cluster: test, user: bot }',
          '  - name: elsewhere',
          '    context: { cluster: elsewhere, user: bot }',
        ].join('\n'),
      );
      server.setItems('namespaces', [ns('shop')]);
      expect((await openClusterContext({ kubeconfig: file, context: 'test' }).namespaces()).map((n) => n.name)).toEqual(['shop']);
      expect(() => openClusterContext({ kubeconfig: file, context: 'prod' })).toThrow(
        new ClusterAccessError(`kubeconfig ${file} has no context "prod"`),
      );
      expect(() => openClusterContext({ kubeconfig: join(dir, 'missing') })).toThrow(/cannot read kubeconfig .*missing: no such file/);
    });

    test('in-cluster access outside a pod is reported', () => {
      const saved = process.env['KUBERNETES_SERVICE_HOST'];
      delete process.env['KUBERNETES_SERVICE_HOST'];
      try {
        expect(() => openClusterContext({ inCluster: true })).toThrow(/not running in a pod/);
      } finally {
        if (saved !== undefined) process.env['KUBERNETES_SERVICE_HOST'] = saved;
      }
    });
  });
});

describe('namespace labels in the engine', () => {
  test('the namespace selector is evaluated on the real labels', async () => {
    server.setItems('namespaces', [ns('shop', { team: 'payments' }), ns('billing', { team: 'payments' }), ns('web', { team: 'frontend' })]);
    const namespaces = await context().namespaces();
    const cfg = config({ namespaceSpec: { selector: "team == 'payments'" } });
    const aggregator = new FlowAggregator({
      window: { from: NOW - cfg.initialLookback, to: NOW },
      clusterDomain: cfg.clusterDomain,
      tierName: cfg.namespaceSpec.tierName,
    });
    aggregator.addAll(['shop', 'billing', 'web', 'gone'].map((n) => egress(n, pub)));
    const input = { tree: new Map(), template: await loadTemplate(), observations: aggregator.result().byNamespace, config: cfg, now: NOW };

    const plan = planRecommendations({ ...input, namespaces: namespaceContext(namespaces) });
    expect(plan.namespaces.map((r) => [r.namespace, r.outcome])).toEqual([
      ['billing', 'created'],
      ['shop', 'created'],
    ]);
    expect(plan.notSelected).toEqual(['gone', 'web']);
    // Without the cluster, a namespace's labels are only its name: nothing has a team.
    expect(planRecommendations(input).namespaces).toEqual([]);
  });

  test('every namespace carries the labels derived from its name', () => {
    const namespaces: ClusterNamespace[] = [{ name: 'shop', labels: { team: 'payments' } }];
    const labels = namespaceContext(namespaces);
    expect(labels.labels('shop')).toEqual({ 'kubernetes.io/metadata.name': 'shop', 'projectcalico.org/name': 'shop', team: 'payments' });
    expect(labels.labels('gone')).toBeUndefined();
    labels.labels('shop')!['team'] = 'changed';
    expect(labels.labels('shop')!['team']).toBe('payments');
  });
});
