// `npm start`: Probot's server with the app. Without APP_ID and PRIVATE_KEY it starts Probot's
// setup flow (create the GitHub App from app.yml), with /healthz, /readyz and /metrics beside it
// (ops/setup-mode.ts). With several replicas in a cluster
// (POLICY_RECOMMENDER_LEASE=<namespace>/<name>), only the holder of that Lease runs schedules and
// collects the flows of Goldmane clusters (without a Lease, the one replica does both), and every
// run holds its repository's Lease (`<name>-run-<digest>`), so runs on two replicas never overlap.

import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ProbotOctokit, run } from 'probot';
import { openClusterContext } from '../cluster/cluster-context.ts';
import { LeaderElector } from '../cluster/leader-election.ts';
import { leaseRunLock, type RunLock } from '../cluster/run-lock.ts';
import { ConfigError } from '../config/config-error.ts';
import { clusterConnection, loadDeploymentConfig } from '../config/deployment-config.ts';
import { loadScheduleDefaults } from '../config/schedule-defaults.ts';
import { openGoldmaneSource } from '../flows/sources/goldmane/goldmane-source.ts';
import { openHubbleSource } from '../flows/sources/hubble/hubble-source.ts';
import { openFlowSource } from '../flows/sources/open-flow-source.ts';
import { CILIUM_TEMPLATE_DIR, loadTree, TEMPLATE_DIR } from '../tree/fs-tree.ts';
import { packageVersion } from '../util/package-version.ts';
import { policyRecommenderApp } from './app.ts';
import { type CollectedCluster, FlowCollectors } from './collect/collector.ts';
import { githubMetricsPlugin } from './ops/github-metrics.ts';
import { openInstrumented } from './ops/instrumented-flow-source.ts';
import { AppMetrics } from './ops/metrics.ts';
import { serveSetupFlow } from './ops/setup-mode.ts';
import { probotSetupMode, webhookSecretProblem } from './ops/webhook-edge.ts';

// Deliveries signed with Probot's public default secret are never accepted: no secret, no start.
const secretProblem = webhookSecretProblem(process.env, process.cwd());
if (secretProblem !== null) {
  console.error(secretProblem);
  process.exit(1);
}

// Outside production, Probot's run starts its setup flow without credentials (lib/run.js); in
// production it refuses to start, as before.
if (process.env['NODE_ENV'] !== 'production' && probotSetupMode(process.env, process.cwd())) {
  await serveSetupFlow({ metrics: new AppMetrics({ processMetrics: true }) });
} else {
  await serveApp();
}

async function serveApp(): Promise<void> {
  const ROOT = new URL('../../', import.meta.url);

  const deployment = await loadDeploymentConfig().catch((e: unknown) => {
    // A broken deployment configuration is the operator's to fix: one line naming every key, no stack.
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.message);
    process.exit(1);
  });
  const scheduleDefaults = await loadScheduleDefaults(fileURLToPath(new URL('app.yml', ROOT)));
  const template = await loadTree(TEMPLATE_DIR);
  // A repository of flavour cilium starts from the Cilium template (its CiliumClusterwideNetworkPolicy default deny).
  const ciliumTemplate = await loadTree(CILIUM_TEMPLATE_DIR);
  const metrics = new AppMetrics({ processMetrics: true });

  // Goldmane keeps about an hour of flows: its clusters' flows are collected continuously, and runs
  // read them from the collector, however far apart they are.
  const collectorMemory = process.env['POLICY_RECOMMENDER_COLLECTOR_MEMORY'];
  if (collectorMemory !== undefined && !/^[1-9]\d{0,5}$/.test(collectorMemory)) {
    console.error(`POLICY_RECOMMENDER_COLLECTOR_MEMORY: must be a number of MiB (1 to 999999), got "${collectorMemory}"`);
    process.exit(1);
  }
  const collectors = new FlowCollectors({
    clusters: new Map(
      Object.entries(deployment.clusters).flatMap(([cluster, { flows }]): [string, CollectedCluster][] =>
        flows.source === 'goldmane'
          ? [[cluster, { open: () => openGoldmaneSource(flows.goldmane), kind: 'goldmane', calicoEdition: 'open-source' }]]
          : // Hubble keeps minutes of flows per node: collected continuously too (not Calico: no edition).
            flows.source === 'hubble'
            ? [[cluster, { open: () => openHubbleSource(flows.hubble), kind: 'hubble' }]]
            : [],
      ),
    ),
    ...(collectorMemory !== undefined ? { maxBytes: Number(collectorMemory) * 1024 * 1024 } : {}),
    metrics,
    log: { info: (m) => console.log(m), warn: (m) => console.warn(m), error: (m) => console.error(m) },
  });

  let isLeader = () => true;
  let stopScheduledWork: () => void = () => undefined;
  let runLock: RunLock | undefined;
  const lease = process.env['POLICY_RECOMMENDER_LEASE'];
  if (lease) {
    // Needs get, create and update on leases.coordination.k8s.io in that namespace (deploy/ grants it).
    const [namespace, name = 'policy-recommender'] = lease.split('/') as [string, string | undefined];
    const identity = process.env['POD_NAME'] ?? hostname();
    // A run of a repository, wherever a webhook asked for it, holds that repository's Lease.
    runLock = leaseRunLock({
      cluster: { inCluster: true },
      namespace,
      prefix: name,
      identity,
      onError: (e) => console.error(`run lock: ${e.message}`),
    });
    const elector = new LeaderElector({
      cluster: { inCluster: true },
      namespace,
      name,
      identity,
      callbacks: {
        onStartedLeading: () => collectors.start('this replica started holding the Lease'),
        onStoppedLeading: async () => {
          stopScheduledWork();
          await collectors.stop();
        },
      },
      onError: (e) => console.error(`leader election: ${e.message}`),
    });
    await elector.start();
    isLeader = () => elector.isLeader;
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void elector.stop().finally(() => process.exit(0)));
  } else {
    collectors.start('the App started');
  }

  let ready = false;

  const { app, scheduler } = policyRecommenderApp({
    scheduleDefaults,
    collectors,
    openFlowSource: (cluster) =>
      openInstrumented(
        () => openFlowSource(deployment, cluster),
        { cluster, source: clusterConnection(deployment, cluster)?.flows.source ?? 'none' },
        metrics,
      ),
    clusterContext: (cluster) => {
      const access = clusterConnection(deployment, cluster)?.kubernetes;
      return access ? openClusterContext(access) : null;
    },
    template,
    ciliumTemplate,
    engineVersion: packageVersion(),
    scheduleOnLoad: true,
    isLeader: () => isLeader(),
    ...(runLock ? { runLock } : {}),
    metrics,
    notReady: () => (ready ? null : 'starting'),
  });

  await run(app, { Octokit: ProbotOctokit.plugin(githubMetricsPlugin(metrics)) });
  ready = true;
  // Losing the lease stops scheduled runs in progress, promptly, between two of their steps.
  stopScheduledWork = () => scheduler().abortScheduled();
}
