// Workloads: inferred offline from flow endpoints (aggregated names and churn labels), or from the
// cluster's API; and which workload a flow endpoint belongs to (labels first, then the name),
// ambiguity reported, never guessed.

import { beforeAll, describe, expect, test } from '@jest/globals';
import { KubernetesClusterContext } from '../../src/cluster/cluster-context.ts';
import type { EndpointRef } from '../../src/engine/model.ts';
import { inferIdentity, inferWorkloads, type Workload, WorkloadIndex } from '../../src/engine/workloads.ts';
import { config, deploymentPods, flow, loadTemplate, pub, run, statefulSetPods, wep } from '../support/engine.ts';
import { KubeApiServer } from '../support/kube-api-server.ts';

const ref = (namespace: string, name: string, labels: string[] = []): EndpointRef => ({ namespace, name, labels: [...labels].sort() });
const segmented = (select: Record<string, unknown> = { namespaces: ['shop'] }) => config({ microsegmentation: { enabled: true, select } });

describe('offline inference from flow endpoints', () => {
  test('the controller is told by its churn labels, the name by the pod-name prefix', () => {
    expect(inferIdentity(ref('shop', 'web-7d9f8b6c5d-*', ['app=web', 'pod-template-hash=7d9f8b6c5d']))).toEqual({
      kind: 'Deployment',
      name: 'web',
    });
    expect(inferIdentity(ref('shop', 'db-*', ['app=db', 'controller-revision-hash=db-6c8d7f9b4']))).toEqual({
      kind: 'StatefulSet',
      name: 'db',
    });
    expect(inferIdentity(ref('shop', 'agent-*', ['app=agent', 'controller-revision-hash=6c8d7f9b4', 'pod-template-generation=3']))).toEqual(
      { kind: 'DaemonSet', name: 'agent' },
    );
    expect(inferIdentity(ref('shop', 'migrate-*', ['app=migrate', 'job-name=migrate', 'controller-uid=a1']))).toEqual({
      kind: 'Job',
      name: 'migrate',
    });
    expect(inferIdentity(ref('shop', 'backup-29391230-*', ['app=backup', 'job-name=backup-29391230']))).toEqual({
      kind: 'CronJob',
      name: 'backup',
    });
    // A pod name rather than an aggregated prefix.
    expect(inferIdentity(ref('shop', 'web-7d9f8b6c5d-x2b4q', ['app=web', 'pod-template-hash=7d9f8b6c5d']))).toEqual({
      kind: 'Deployment',
      name: 'web',
    });
    // No labels at all: a replica-set hash in the name still tells a Deployment.
    expect(inferIdentity(ref('shop', 'web-7d9f8b6c5d-*'))).toEqual({ kind: 'Deployment', name: 'web' });
  });

  test('what cannot be told is said, not guessed', () => {
    expect(inferIdentity(ref('shop', 'cache-*', ['app=cache']))).toMatch(/kind cannot be told/);
    expect(inferIdentity(ref('shop', 'cache-*'))).toMatch(/kind cannot be told/);
    expect(inferIdentity(ref('shop', '-', ['app=x']))).toMatch(/does not name the pod/);
    expect(inferIdentity(ref('shop', 'web-abc-*', ['pod-template-hash=zzz']))).toMatch(/does not fit/);
    expect(inferIdentity(ref('shop', 'a..b-*', ['controller-revision-hash=a..b-1']))).toMatch(/not a valid workload name/);
  });

  test('stable labels: common to every record that carries labels, churn labels removed', () => {
    const workloads = inferWorkloads([
      ref('shop', 'web-7d9f8b6c5d-*', ['app=web', 'tier=frontend', 'track=a', 'pod-template-hash=7d9f8b6c5d']),
      ref('shop', 'web-5c6b7d8f9g-*', ['app=web', 'tier=frontend', 'track=b', 'pod-template-hash=5c6b7d8f9g']),
      // Labels missing (a source without labels): says nothing about them.
      ref('shop', 'web-5c6b7d8f9g-*'),
      ref('shop', 'db-*', ['app=db', 'controller-revision-hash=db-1', 'statefulset.kubernetes.io/pod-name=db-0']),
      // Each of a CronJob's runs has its own job-name: not a stable label.
      ref('ops', 'backup-29391230-*', ['app=backup', 'job-name=backup-29391230', 'controller-uid=u1']),
    ]);
    expect(workloads).toEqual([
      { kind: 'CronJob', namespace: 'ops', name: 'backup', labels: { app: 'backup' } },
      { kind: 'Deployment', namespace: 'shop', name: 'web', labels: { app: 'web', tier: 'frontend' } },
      { kind: 'StatefulSet', namespace: 'shop', name: 'db', labels: { app: 'db' } },
    ]);
  });
});

describe('attribution of an endpoint to a workload', () => {
  const web: Workload = { kind: 'Deployment', namespace: 'shop', name: 'web', labels: { app: 'web' } };
  const canary: Workload = { kind: 'Deployment', namespace: 'shop', name: 'web-canary', labels: { app: 'web', track: 'canary' } };
  const bare: Workload = { kind: 'StatefulSet', namespace: 'shop', name: 'cache', labels: {} };
  const index = new WorkloadIndex([web, canary, bare, { ...web, namespace: 'other' }]);

  test("a workload's stable labels within the endpoint's labels, in its namespace", () => {
    expect(index.attribute(ref('shop', 'web-7d9f8b6c5d-*', ['app=web', 'pod-template-hash=7d9f8b6c5d']))).toEqual({ workload: web });
    expect(index.attribute(ref('other', 'web-7d9f8b6c5d-*', ['app=web']))).toEqual({ workload: { ...web, namespace: 'other' } });
  });

  test("several workloads' labels fit: the pod-name prefix decides", () => {
    expect(index.attribute(ref('shop', 'web-canary-5c6b7d8f9g-*', ['app=web', 'track=canary', 'pod-template-hash=5c6b7d8f9g']))).toEqual({
      workload: canary,
    });
  });

  test('several fit and the name does not decide: ambiguous, with the candidates', () => {
    const result = index.attribute(ref('shop', 'debug-*', ['app=web', 'track=canary']));
    expect(result).toEqual({ reason: 'ambiguous', candidates: [web, canary] });
  });

  test('without labels the name decides (also for a workload without stable labels)', () => {
    expect(index.attribute(ref('shop', 'cache-*'))).toEqual({ workload: bare });
    expect(index.attribute(ref('shop', 'web-7d9f8b6c5d-*'))).toEqual({ workload: web });
    expect(index.attribute(ref('shop', 'unknown-*'))).toMatchObject({ reason: 'unmatched' });
  });

  test('a label key named like a built-in object property (constructor, toString) is a label like any other', () => {
    // Both are valid Kubernetes label keys (a qualified name); the flow's labels lack it (thinned by aggregation).
    const api: Workload = { kind: 'Deployment', namespace: 'shop', name: 'api', labels: { app: 'api', constructor: 'v1', toString: 'x' } };
    const withBuiltins = new WorkloadIndex([api]);
    expect(withBuiltins.attribute(ref('shop', 'api-7d9f8b6c5d-*', ['app=api']))).toEqual({ workload: api });
    expect(withBuiltins.attribute(ref('shop', 'api-7d9f8b6c5d-*', ['app=api', 'constructor=v1', 'toString=x']))).toEqual({ workload: api });
    expect(withBuiltins.attribute(ref('shop', 'api-7d9f8b6c5d-*', ['app=api', 'constructor=v2']))).toMatchObject({ reason: 'unmatched' });
  });

  test('labels that fit nothing: the name decides only where no label contradicts it', () => {
    expect(index.attribute(ref('shop', 'web-7d9f8b6c5d-*', ['tier=x']))).toEqual({ workload: web });
    expect(index.attribute(ref('shop', 'web-7d9f8b6c5d-*', ['app=api']))).toMatchObject({ reason: 'unmatched' });
  });
});

describe('in a run', () => {
  beforeAll(async () => {
    await loadTemplate();
  });

  test('ambiguous and unmatched endpoints are counted and reported, and teach no workload', async () => {
    const web = deploymentPods('shop', 'web', { app: 'web' });
    const records = [
      flow(web, wep('shop', 'mystery-*', ['app=mystery']), { reporter: 'src', port: 80 }),
      flow(wep('shop', 'mystery-*', ['app=mystery']), web, { reporter: 'src', port: 8080, flows: 3 }),
      flow(wep('shop', 'mystery-*', ['app=mystery']), web, { reporter: 'dst', port: 8080, flows: 3 }),
    ];
    const plan = await run(records, { config: segmented() });
    expect(plan.microsegmentation!.unattributed).toEqual([
      { namespace: 'shop', name: 'mystery-*', reason: 'unmatched', detail: 'its labels fit no workload', flows: 3 },
    ]);
    const report = plan.workloads.find((w) => w.key === 'shop/Deployment/web')!;
    // web's peer has no known workload: its rules allow the namespace, and say so.
    expect(report.rules.map((r) => `${r.direction} ${r.peers.join(',')}`)).toEqual(['ingress namespace:shop', 'egress namespace:shop']);
    expect(report.warnings.filter((w) => w.code === 'broader-peer').map((w) => w.message)).toEqual([
      "rules allow the whole namespace of peers whose workload's labels are not known: shop/mystery-* (its labels fit no workload)",
    ]);
    // The unattributed endpoint's traffic within the microsegmented namespace reaches no policy.
    expect(plan.namespaces[0]!.warnings.find((w) => w.code === 'not-microsegmented')?.message).toMatch(
      /no policy selects mystery-\* \(its workload is not known\)/,
    );
  });

  test('an endpoint several workloads select, whose name decides nothing, is reported as ambiguous', async () => {
    const cluster: Workload[] = [
      { kind: 'Deployment', namespace: 'shop', name: 'web', labels: { app: 'web' } },
      { kind: 'Deployment', namespace: 'shop', name: 'web-canary', labels: { app: 'web', track: 'canary' } },
    ];
    const debug = wep('shop', 'debug-*', ['app=web', 'track=canary']);
    const plan = await run([flow(debug, pub, { reporter: 'src', port: 443, flows: 2 })], { config: segmented(), workloads: cluster });
    expect(plan.microsegmentation!.unattributed).toEqual([
      {
        namespace: 'shop',
        name: 'debug-*',
        reason: 'ambiguous',
        detail: 'it fits shop/Deployment/web, shop/Deployment/web-canary',
        flows: 2,
      },
    ]);
    expect(plan.workloads).toEqual([]);
  });

  test("the cluster's workloads, when given, decide instead of inference", async () => {
    const records = [
      flow(deploymentPods('shop', 'web', { app: 'web', tier: 'frontend' }), statefulSetPods('shop', 'db', { app: 'db' }), {
        reporter: 'src',
        port: 5432,
      }),
    ];
    // Offline: both inferred from the flow.
    const offline = await run(records, { config: segmented() });
    expect(offline.microsegmentation).toMatchObject({ source: 'flows', workloadsKnown: 2 });
    expect(offline.workloads.map((w) => [w.key, w.selector])).toEqual([['shop/Deployment/web', "app == 'web' && tier == 'frontend'"]]);

    // The cluster knows better: the Deployment's pod template has only app=web; the StatefulSet's has a label the flow log lacks.
    const cluster: Workload[] = [
      { kind: 'Deployment', namespace: 'shop', name: 'web', labels: { app: 'web' } },
      { kind: 'StatefulSet', namespace: 'shop', name: 'db', labels: { app: 'db', role: 'primary' } },
    ];
    const online = await run(records, { config: segmented(), workloads: cluster });
    expect(online.microsegmentation).toMatchObject({ source: 'cluster', workloadsKnown: 2 });
    const web = online.workloads.find((w) => w.key === 'shop/Deployment/web')!;
    expect(web.selector).toBe("app == 'web'");
    // db's flow labels lack role=primary (aggregation thinned them): the name decides, nothing contradicts.
    expect(web.rules.map((r) => r.peers)).toEqual([['pods:shop/app=db,role=primary']]);
  });

  test('a select entry that selects no known workload is reported, as the configuration names it', async () => {
    const records = [flow(deploymentPods('shop', 'web', { app: 'web' }), pub, { reporter: 'src', port: 443 })];
    const select = {
      namespaces: ['shop', 'shpo'],
      workloads: ['shop/web', 'shop/StatefulSet/web', 'shop/api'],
      selector: "app == 'nothing'",
    };
    const offline = await run(records, { config: segmented(select) });
    expect(offline.microsegmentation!.unmatched).toEqual([
      'namespace shpo',
      'workload shop/StatefulSet/web',
      'workload shop/api',
      "selector app == 'nothing'",
    ]);
    // Known from the cluster: api exists there (no traffic yet), so only the typos remain.
    const cluster: Workload[] = [
      { kind: 'Deployment', namespace: 'shop', name: 'web', labels: { app: 'web' } },
      { kind: 'Deployment', namespace: 'shop', name: 'api', labels: { app: 'nothing' } },
    ];
    const online = await run(records, { config: segmented(select), workloads: cluster });
    expect(online.microsegmentation!.unmatched).toEqual(['namespace shpo', 'workload shop/StatefulSet/web']);
    // Everything matched: nothing reported.
    expect((await run(records, { config: segmented({ workloads: ['shop/web'] }) })).microsegmentation!.unmatched).toEqual([]);
  });

  test('workloads from the Kubernetes API server, end to end', async () => {
    const server = await KubeApiServer.start();
    try {
      const template = (labels: Record<string, string>) => ({
        metadata: { labels },
        spec: { containers: [{ name: 'app', image: 'app:1' }] },
      });
      server.setItems('deployments', [
        { metadata: { namespace: 'shop', name: 'web', uid: 'u1' }, spec: { template: template({ app: 'web', 'pod-template-hash': 'x' }) } },
        { metadata: { namespace: 'shop', name: 'api', uid: 'u2' }, spec: { template: template({ app: 'api' }) } },
      ]);
      const workloads = await new KubernetesClusterContext(server.kubeConfig()).workloads();
      const records = [
        flow(wep('shop', 'web-7d9f8b6c5d-*', ['app=web']), wep('shop', 'api-5c6b7d8f9g-*', ['app=api']), { reporter: 'src', port: 8000 }),
      ];
      const plan = await run(records, { config: segmented(), workloads });
      expect(plan.workloads.map((w) => [w.key, w.selector, w.rules.map((r) => r.peers.join())])).toEqual([
        ['shop/Deployment/web', "app == 'web'", ['pods:shop/app=api']],
      ]);
    } finally {
      await server.close();
    }
  });
});
