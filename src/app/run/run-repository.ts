// One run for one repository: read its configuration and the state GitHub holds (default branch,
// the bot's pull requests, the dashboard), read each cluster's flows, decide per namespace, carry
// the decisions out, and rewrite the dashboard. Everything it needs to resume is in GitHub, so a
// crash or restart at any point loses nothing: the next run observes and converges.

import { namespaceContext, namespaceInventory, type ClusterContext } from '../../cluster/cluster-context.ts';
import { ConfigError, type ConfigIssue } from '../../config/config-error.ts';
import { mergeObservations } from '../../engine/aggregate.ts';
import type { ObservedAtom } from '../../engine/model.ts';
import { formatTime } from '../../engine/provenance.ts';
import type { FlowSource } from '../../flows/source.ts';
import { namespacesWithPolicies, type NamespaceContext } from '../../pipeline/plan.ts';
import { readFlows, type FlowReading } from '../../pipeline/run.ts';
import { isKustomizationPath } from '../../repo/kustomize.ts';
import { isYamlPath } from '../../repo/inventory.ts';
import type { TreeFiles } from '../../repo/tree.ts';
import { validateRepositoryConfig, type ClusterEntry, type RepositoryConfig, type ScheduleDefaults } from '../config/repository-config.ts';
import type { PullRequestInfo, Repository } from '../github/repository.ts';
import {
  DASHBOARD_LABEL,
  DASHBOARD_MARKER,
  DASHBOARD_TITLE,
  dashboardRequests,
  decodeDashboardState,
  renderDashboard,
  type DashboardCluster,
  type DashboardMemory,
  type DashboardNamespace,
} from '../render/dashboard.ts';
import { branchName, decodeState, parseBranch, RECOMMENDATION_LABEL, REBASE_LABEL } from '../state/pull-request-state.ts';
import { apply } from './apply.ts';
import { decide, lagging, needsHistory, type Decision, type NamespaceFacts } from './decide.ts';
import { recommendNamespace } from './namespace-recommendation.ts';

/** Flows read in the previous run's last minutes are read again: nothing falls between runs. */
export const FLOW_WINDOW_OVERLAP = 15 * 60;

export interface RunDependencies {
  readonly repository: Repository;
  /** The repository's configuration as Probot's loader returns it (`_extends` followed). */
  readonly readConfig: () => Promise<unknown>;
  readonly scheduleDefaults: ScheduleDefaults;
  /** How a cluster's flows are reached: the deployment's configuration, never the repository's. */
  readonly openFlowSource: (cluster: string) => Promise<FlowSource>;
  readonly clusterContext?: (cluster: string) => ClusterContext | null;
  readonly template: TreeFiles;
  readonly engineVersion: string;
  /** Unix seconds. */
  readonly now: () => number;
  readonly log: { info(msg: string): void; warn(msg: string): void };
}

export interface RunResult {
  readonly outcome: 'done' | 'config-error';
  readonly decisions: readonly Decision[];
  /** How many of each action were carried out (those that failed are in `errors`). */
  readonly applied: Readonly<Partial<Record<Decision['action']['kind'], number>>>;
  readonly errors: readonly string[];
  readonly dashboard: number;
}

/**
 * `signal` stops the run between two namespaces (a scheduled run on a replica that lost the
 * leadership): whatever was done is consistent, and the next run converges.
 */
export async function runRepository(deps: RunDependencies, trigger: string, signal?: AbortSignal): Promise<RunResult> {
  const started = Date.now();
  const repo = deps.repository;
  const dashboard = await repo.findIssue(DASHBOARD_LABEL, DASHBOARD_MARKER);
  const memory = decodeDashboardState(dashboard?.body ?? null);
  const requests = dashboardRequests(dashboard?.body ?? null);

  let config: RepositoryConfig;
  try {
    config = validateRepositoryConfig(await deps.readConfig(), deps.scheduleDefaults);
  } catch (e) {
    const issues: ConfigIssue[] = e instanceof ConfigError ? [...e.issues] : [{ path: '', message: `cannot read the configuration: ${(e as Error).message}` }];
    const number = await writeDashboard(repo, dashboard, {
      lastRun: { at: formatTime(deps.now()), durationMs: Date.now() - started, trigger },
      configErrors: issues,
      clusters: [],
      state: memory,
    });
    return { outcome: 'config-error', decisions: [], applied: {}, errors: [], dashboard: number };
  }

  const now = deps.now();
  const head = await repo.head();
  const openPullRequests = await repo.openPullRequests(RECOMMENDATION_LABEL);
  const facts: NamespaceFacts[] = [];
  const clusters = new Map<string, DashboardCluster>();
  const flowsReadUntil = { ...memory.flowsReadUntil };
  const skippedByCluster = new Map<string, number>();
  const observedBy = new Map<string, readonly ObservedAtom[]>();
  const pending: Record<string, readonly ObservedAtom[]> = {};

  for (const entry of config.clusters) {
    try {
      const result = await observeCluster(entry, deps, config, head.treeSha, openPullRequests, requests.recreate, memory, now);
      facts.push(...result.facts);
      clusters.set(entry.name, result.dashboard);
      skippedByCluster.set(entry.name, result.reading.skipped.total);
      flowsReadUntil[entry.name] = result.reading.window.to;
      for (const [key, atoms] of result.observed) observedBy.set(key, atoms);
    } catch (e) {
      // This cluster's pull requests are left alone: nothing is decided on a partial picture.
      clusters.set(entry.name, { name: entry.name, path: entry.path, namespaces: [], errors: [(e as Error).message], warnings: [] });
      for (const [key, atoms] of Object.entries(memory.pending)) if (key.startsWith(`${entry.name}/`)) pending[key] = atoms;
    }
  }

  const candidates = facts.filter(needsHistory);
  const history = candidates.length > 0 ? await repo.latestPullRequests(candidates.map((f) => branchName(f.cluster, f.namespace))) : new Map();
  const withHistory = facts.map((f) => (needsHistory(f) ? { ...f, latest: history.get(branchName(f.cluster, f.namespace)) ?? null } : f));
  const hourAgo = new Date((now - 3600) * 1000).toISOString();
  const decisions = decide(
    withHistory,
    {
      concurrent: config.pullRequests.concurrentLimit,
      hourly: config.pullRequests.hourlyLimit,
      open: openPullRequests.length,
      openedLastHour: openPullRequests.filter((pr) => pr.createdAt >= hourAgo).length,
    },
    config.afterMerge,
  );

  const errors: string[] = [];
  const applied: Partial<Record<Decision['action']['kind'], number>> = {};
  for (const decision of decisions) {
    signal?.throwIfAborted();
    const { cluster, namespace } = decision.facts;
    const outcome = await apply(decision, {
      repository: repo,
      head,
      engineVersion: deps.engineVersion,
      flavor: config.recommendation.flavor,
      stabilizationPeriod: config.recommendation.stabilizationPeriod,
      extraLabels: config.pullRequests.labels,
      skippedLines: skippedByCluster.get(cluster) ?? 0,
    });
    if (outcome.error) errors.push(outcome.error);
    else if (decision.action.kind !== 'none') applied[decision.action.kind] = (applied[decision.action.kind] ?? 0) + 1;
    // What no pull request holds after this run is kept for the next (flows are read once).
    const held = !outcome.error && decision.action.kind !== 'notify-edited' && decision.dashboard !== 'Awaiting PR limits' && decision.dashboard !== 'Edited';
    const observed = observedBy.get(`${cluster}/${namespace}`) ?? [];
    if (!held && decision.facts.recommendation !== null && observed.length > 0) pending[`${cluster}/${namespace}`] = observed;
    const row: DashboardNamespace = {
      namespace,
      state: outcome.error ? 'Error' : decision.dashboard,
      lastUpdated: decision.facts.recommendation?.report.lastUpdated ?? null,
      ...(outcome.pr ? { pr: { number: outcome.pr.number, url: outcome.pr.url } } : {}),
      ...(outcome.error ? { note: outcome.error } : {}),
    };
    const section = clusters.get(cluster);
    if (section) clusters.set(cluster, { ...section, namespaces: [...section.namespaces, row] });
  }

  signal?.throwIfAborted();
  const number = await writeDashboard(repo, dashboard, {
    lastRun: { at: formatTime(now), durationMs: Date.now() - started, trigger },
    configErrors: [],
    clusters: config.clusters.map((c) => clusters.get(c.name)!),
    state: { v: 1, flowsReadUntil, pending },
  });
  deps.log.info(`run of ${repo.owner}/${repo.name} (${trigger}): ${decisions.filter((d) => d.action.kind !== 'none').length} actions, ${errors.length} errors`);
  return { outcome: 'done', decisions, applied, errors, dashboard: number };
}

interface ClusterObservation {
  readonly facts: NamespaceFacts[];
  readonly dashboard: DashboardCluster;
  readonly reading: FlowReading;
  /** `cluster/namespace` -> this run's observations plus those carried over. */
  readonly observed: Map<string, readonly ObservedAtom[]>;
}

async function observeCluster(
  entry: ClusterEntry,
  deps: RunDependencies,
  config: RepositoryConfig,
  treeSha: string,
  openPullRequests: readonly PullRequestInfo[],
  recreate: ReadonlySet<string>,
  memory: DashboardMemory,
  now: number,
): Promise<ClusterObservation> {
  const readUntil = memory.flowsReadUntil[entry.name];
  const repo = deps.repository;
  const scope = config.recommendation;
  const prefix = entry.path === '' ? '' : `${entry.path}/`;
  const entries = (await repo.listFiles(treeSha, entry.path)).filter((e) => isYamlPath(e.path) || isKustomizationPath(e.path));
  const blobs = await repo.readBlobs(entries.map((e) => e.sha));
  const tree = new Map(entries.filter((e) => blobs.has(e.sha)).map((e) => [e.path.slice(prefix.length), blobs.get(e.sha)!]));

  const source = await deps.openFlowSource(entry.name);
  const lookbackStart = now - scope.initialLookback;
  const from = readUntil === undefined ? lookbackStart : Math.max(lookbackStart, readUntil - FLOW_WINDOW_OVERLAP);
  const reading = await readFlows(source, scope, now, { from, to: now });
  const warnings: string[] = [];
  if (source.retention !== undefined && readUntil !== undefined && now - readUntil > source.retention) {
    warnings.push(
      `runs are further apart than the flow source keeps flows (${Math.round(source.retention / 60)} minutes): flows between ${formatTime(readUntil)} and ${formatTime(now - source.retention)} were lost; schedule runs more often`,
    );
  }

  const context = deps.clusterContext?.(entry.name) ?? null;
  const clusterNamespaces = context ? await context.namespaces() : null;
  const clusterLabels: NamespaceContext | undefined = clusterNamespaces ? namespaceContext(clusterNamespaces) : undefined;
  const labelsOf = (ns: string) => clusterLabels?.labels(ns) ?? { 'kubernetes.io/metadata.name': ns, 'projectcalico.org/name': ns };

  const prs = new Map<string, PullRequestInfo>();
  for (const pr of openPullRequests) {
    const target = parseBranch(pr.branch);
    if (target?.cluster === entry.name) prs.set(target.namespace, pr);
  }
  const accepted = new Set(namespacesWithPolicies(tree, scope));
  const observed = new Map<string, readonly ObservedAtom[]>();
  for (const [key, atoms] of Object.entries(memory.pending)) {
    const [cluster, namespace] = key.split('/') as [string, string];
    // A PR whose branch lags its recorded commit holds them already (the run that kept them
    // recorded its state, then failed to move the branch).
    const pr = prs.get(namespace);
    if (cluster === entry.name && !(pr && lagging(pr, decodeState(pr.body)))) observed.set(namespace, atoms);
  }
  for (const [namespace, atoms] of reading.observations.byNamespace) observed.set(namespace, mergeObservations(observed.get(namespace) ?? [], atoms));
  const namespaces = [...new Set([...observed.keys(), ...prs.keys(), ...accepted])].sort();
  // A partial listing (anything skipped) never retires a recommendation.
  const deleted = new Set(clusterNamespaces ? namespaceInventory(clusterNamespaces, context!.skipped.namespaces).deleted(namespaces) : []);

  const facts = namespaces.map((namespace): NamespaceFacts => {
    const pr = prs.get(namespace) ?? null;
    const state = pr ? decodeState(pr.body) : null;
    const rebase = pr?.labels.includes(REBASE_LABEL) ?? false;
    const memory = state !== null && !rebase && state.policy !== null ? { path: state.policyPath, text: state.policy } : null;
    const gone = deleted.has(namespace)
        ? 'the namespace no longer exists in the cluster'
        : scope.namespaceSpec.recStatus !== 'Enabled' || !scope.namespaceSpec.selector.matches(labelsOf(namespace))
          ? 'the namespace is no longer selected by namespaceSpec'
          : null;
    const recommendation =
      gone === null
        ? recommendNamespace({
            namespace,
            clusterPath: entry.path,
            tree,
            template: deps.template,
            observed: observed.get(namespace) ?? [],
            config: scope,
            now,
            memory,
            ...(clusterLabels ? { namespaces: clusterLabels } : {}),
          })
        : null;
    return {
      cluster: entry.name,
      namespace,
      recommendation: recommendation !== null && recommendation.files.size > 0 ? recommendation : null,
      status: recommendation?.report.status ?? null,
      openPullRequest: pr,
      state,
      gone,
      accepted: accepted.has(namespace),
      recreate: recreate.has(`${entry.name}/${namespace}`),
    };
  });

  return {
    facts,
    reading,
    observed: new Map([...observed].map(([ns, atoms]) => [`${entry.name}/${ns}`, atoms])),
    dashboard: {
      name: entry.name,
      path: entry.path,
      source: reading.source,
      window: { from: formatTime(reading.window.from), to: formatTime(reading.window.to) },
      inputsRead: reading.inputsRead,
      recordsSeen: reading.observations.recordsSeen,
      recordsLearned: reading.observations.recordsLearned,
      skipped: reading.skipped,
      namespaces: [],
      errors: [],
      warnings,
    },
  };
}

/** GitHub's limit on issue bodies. */
const MAX_BODY = 65_536;

async function writeDashboard(repo: Repository, existing: { number: number; body: string } | null, content: Parameters<typeof renderDashboard>[0]): Promise<number> {
  let body = renderDashboard(content);
  // Carried observations are the only part that can grow: drop the largest until it fits.
  const pending = { ...content.state.pending };
  while (body.length > MAX_BODY && Object.keys(pending).length > 0) {
    const largest = Object.entries(pending).sort(([, a], [, b]) => b.length - a.length)[0]![0];
    delete pending[largest];
    body = renderDashboard({ ...content, state: { ...content.state, pending } });
  }
  if (existing === null) return (await repo.createIssue({ title: DASHBOARD_TITLE, body, labels: [DASHBOARD_LABEL] })).number;
  if (existing.body !== body) await repo.updateIssue(existing.number, body);
  return existing.number;
}
