// One run for one repository: read its configuration and the state GitHub holds (default branch,
// the bot's pull requests, the dashboard), read each cluster's flows, decide per namespace, carry
// the decisions out, and rewrite the dashboard. Everything it needs to resume is in GitHub, so a
// crash or restart at any point loses nothing: the next run observes and converges.

import { namespaceContext, namespaceInventory, type ClusterContext } from '../../cluster/cluster-context.ts';
import { ConfigError, type ConfigIssue } from '../../config/config-error.ts';
import { mergeEndpointObservations, mergeObservations } from '../../engine/aggregate.ts';
import { clusterFacts } from './cluster-facts.ts';
import type { EndpointObservation, ObservedAtom } from '../../engine/model.ts';
import { formatTime } from '../../engine/provenance.ts';
import type { FlowCoverage, FlowSource, MissingFlows } from '../../flows/source.ts';
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
import { branchOf, keyId, namespaceOfKey, parseBranch, type ProposalKey } from '../state/proposal-key.ts';
import { decodeState, RECOMMENDATION_LABEL } from '../state/pull-request-state.ts';
import { apply } from './apply.ts';
import { mergeability } from './mergeability.ts';
import { clusterUnits, type AcceptanceRecord } from './cluster-units.ts';
import { decide, lagging as lags, needsHistory, type Decision, type UnitFacts } from './decide.ts';

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
  const facts: UnitFacts[] = [];
  const clusters = new Map<string, DashboardCluster>();
  const flowsReadUntil = { ...memory.flowsReadUntil };
  const skippedByCluster = new Map<string, number>();
  const observedBy = new Map<string, readonly ObservedAtom[]>();
  const endpointsBy = new Map<string, readonly EndpointObservation[]>();
  const pending: Record<string, readonly ObservedAtom[]> = {};
  const pendingEndpoints: Record<string, readonly EndpointObservation[]> = {};
  const accepted: Record<string, Record<string, AcceptanceRecord>> = {};
  const notes = new Map<string, string>();

  for (const entry of config.clusters) {
    try {
      const result = await observeCluster(entry, deps, config, head.treeSha, openPullRequests, requests.recreate, memory, now);
      facts.push(...result.facts);
      clusters.set(entry.name, result.dashboard);
      skippedByCluster.set(entry.name, result.reading.skipped.total);
      if (result.readPoint !== undefined) flowsReadUntil[entry.name] = result.readPoint;
      for (const [key, atoms] of result.observed) observedBy.set(key, atoms);
      for (const [key, list] of result.endpoints) endpointsBy.set(key, list);
      accepted[entry.name] = result.accepted;
      for (const [key, note] of result.notes) notes.set(key, note);
    } catch (e) {
      // This cluster's pull requests are left alone: nothing is decided on a partial picture.
      clusters.set(entry.name, { name: entry.name, path: entry.path, namespaces: [], errors: [(e as Error).message], warnings: [] });
      for (const [key, atoms] of Object.entries(memory.pending)) if (key.startsWith(`${entry.name}/`)) pending[key] = atoms;
      for (const [key, list] of Object.entries(memory.pendingEndpoints)) if (key.startsWith(`${entry.name}/`)) pendingEndpoints[key] = list;
      if (memory.accepted[entry.name]) accepted[entry.name] = memory.accepted[entry.name]!;
    }
  }

  const candidates = facts.filter(needsHistory);
  const history = candidates.length > 0 ? await repo.latestPullRequests(candidates.map((f) => branchOf(f.key))) : new Map();
  const noted = new Set(memory.dismissed);
  const withHistory = facts.map((f) => ({
    ...(needsHistory(f) ? { ...f, latest: history.get(branchOf(f.key)) ?? null } : f),
    dismissalNoted: noted.has(keyId(f.key)),
  }));
  const hourAgo = new Date((now - 3600) * 1000).toISOString();
  // The bootstrap PRs (cluster-wide files) are not counted against the PR limits.
  const recommendations = openPullRequests.filter((pr) => parseBranch(pr.branch)?.kind !== 'bootstrap');
  // The default branch moved since a PR's commit (a merge): does it still merge cleanly?
  const clean = await mergeability(repo, head, withHistory, (name) => config.clusters.find((c) => c.name === name)?.path);
  const checked = withHistory.map((f) => (clean.has(keyId(f.key)) ? { ...f, mergeable: clean.get(keyId(f.key))! } : f));
  const decisions = decide(
    checked,
    {
      concurrent: config.pullRequests.concurrentLimit,
      hourly: config.pullRequests.hourlyLimit,
      open: recommendations.length,
      openedLastHour: recommendations.filter((pr) => pr.createdAt >= hourAgo).length,
    },
    config.afterMerge,
  );

  const errors: string[] = [];
  const applied: Partial<Record<Decision['action']['kind'], number>> = {};
  const failed = new Set<string>();
  for (const decision of decisions) {
    signal?.throwIfAborted();
    const { cluster, namespace, key } = decision.facts;
    const outcome = await apply(decision, {
      repository: repo,
      head,
      engineVersion: deps.engineVersion,
      flavor: config.recommendation.flavor,
      stabilizationPeriod: config.recommendation.stabilizationPeriod,
      extraLabels: config.pullRequests.labels,
      skippedLines: skippedByCluster.get(cluster) ?? 0,
      enforceAfter: config.enforceAfter,
    });
    if (outcome.error) {
      errors.push(outcome.error);
      failed.add(keyId(key));
    }
    else if (decision.action.kind !== 'none') applied[decision.action.kind] = (applied[decision.action.kind] ?? 0) + 1;
    // What no pull request holds after this run is kept for the next (flows are read once).
    const held = !outcome.error && decision.action.kind !== 'notify-edited' && decision.dashboard !== 'Awaiting PR limits' && decision.dashboard !== 'Edited';
    if (!held && decision.facts.change !== null && namespace !== null) {
      if (key.kind === 'namespace') {
        const observed = observedBy.get(`${cluster}/${namespace}`) ?? [];
        if (observed.length > 0) pending[`${cluster}/${namespace}`] = observed;
      } else if (key.kind === 'workloads') {
        const list = endpointsBy.get(`${cluster}/${namespace}`) ?? [];
        if (list.length > 0) pendingEndpoints[`${cluster}/${namespace}`] = list;
      }
    }
    const note = outcome.error ?? notes.get(keyId(key));
    const row: DashboardNamespace = {
      namespace: namespace ?? '',
      unit: unitName(key),
      state: outcome.error ? 'Error' : decision.dashboard,
      lastUpdated: decision.facts.change?.lastUpdated ?? null,
      ...(outcome.pr ? { pr: { number: outcome.pr.number, url: outcome.pr.url } } : {}),
      ...(note ? { note } : {}),
    };
    const section = clusters.get(cluster);
    if (section) clusters.set(cluster, { ...section, namespaces: [...section.namespaces, row] });
  }

  // Dismissed units stay on the dashboard (with their box to propose them again) while nothing
  // new is seen for them; reopening a PR or ticking its box takes them off the list.
  const dismissed = new Set([...noted].filter((id) => !requests.recreate.has(id)));
  for (const decision of decisions) {
    const id = keyId(decision.facts.key);
    if (decision.dashboard === 'Dismissed' && !failed.has(id)) dismissed.add(id);
    else if (decision.facts.openPullRequest !== null || decision.action.kind === 'open') dismissed.delete(id);
  }
  const listed = new Set(decisions.map((d) => keyId(d.facts.key)));
  for (const id of dismissed) {
    const key = parseBranch(`policy-recommender/${id}`);
    const section = key === null ? undefined : clusters.get(key.cluster);
    if (key === null || section === undefined || listed.has(id) || section.errors.length > 0) continue;
    clusters.set(key.cluster, {
      ...section,
      namespaces: [...section.namespaces, { namespace: namespaceOfKey(key) ?? '', unit: unitName(key), state: 'Dismissed', lastUpdated: null }],
    });
  }

  signal?.throwIfAborted();
  const number = await writeDashboard(repo, dashboard, {
    lastRun: { at: formatTime(now), durationMs: Date.now() - started, trigger },
    configErrors: [],
    clusters: config.clusters.map((c) => clusters.get(c.name)!),
    state: { v: 1, flowsReadUntil, pending, pendingEndpoints, accepted, dismissed: [...dismissed].sort() },
  });
  deps.log.info(`run of ${repo.owner}/${repo.name} (${trigger}): ${decisions.filter((d) => d.action.kind !== 'none').length} actions, ${errors.length} errors`);
  return { outcome: 'done', decisions, applied, errors, dashboard: number };
}

interface ClusterObservation {
  readonly facts: UnitFacts[];
  readonly dashboard: DashboardCluster;
  readonly reading: FlowReading;
  /** Up to when the cluster's flows are read after this run (flowsReadUntil); undefined: not yet. */
  readonly readPoint: number | undefined;
  /** `cluster/namespace` -> this run's observations plus those carried over. */
  readonly observed: Map<string, readonly ObservedAtom[]>;
  /** `cluster/namespace` -> this run's microsegmentation observations plus those carried over. */
  readonly endpoints: Map<string, readonly EndpointObservation[]>;
  readonly accepted: Record<string, AcceptanceRecord>;
  readonly notes: Map<string, string>;
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
  // The cluster first: its release and IP families decide how flows are learned and policies named.
  const context = deps.clusterContext?.(entry.name) ?? null;
  const clusterNamespaces = context ? await context.namespaces() : null;
  const facts = await clusterFacts(context, config.recommendation, clusterNamespaces);
  const scope = facts.config;
  const prefix = entry.path === '' ? '' : `${entry.path}/`;
  const entries = (await repo.listFiles(treeSha, entry.path)).filter((e) => isYamlPath(e.path) || isKustomizationPath(e.path));
  const blobs = await repo.readBlobs(entries.map((e) => e.sha));
  const tree = new Map(entries.filter((e) => blobs.has(e.sha)).map((e) => [e.path.slice(prefix.length), blobs.get(e.sha)!]));

  const source = await deps.openFlowSource(entry.name);
  if (scope.flavor === 'calico-enterprise' && source.calicoEdition === 'open-source') {
    throw new Error(
      `flavor calico-enterprise writes domain rules, which only Calico Enterprise has, but cluster ${entry.name} reads its flows from Goldmane (open-source Calico): set flavor calico (the configuration is wrong for this cluster; nothing was changed)`,
    );
  }
  const lookbackStart = now - scope.initialLookback;
  const from = readUntil === undefined ? lookbackStart : Math.max(lookbackStart, readUntil - FLOW_WINDOW_OVERLAP);
  // A collecting source (Goldmane's collector) is read up to where it holds every flow; the next
  // run reads on from there (less the overlap), so nothing still arriving is skipped.
  const coverage = source.coverage?.(now);
  const to = coverage === undefined ? now : Math.max(from, Math.min(now, coverage.to));
  const reading = await readFlows(source, scope, now, { from, to });
  const warnings: string[] = [...facts.warnings];
  let readPoint: number | undefined = to;
  if (coverage !== undefined) {
    if (coverage.keepReadPoint) readPoint = readUntil;
    else {
      // Flows before the previous read were read by it; flows before the lookback do not count.
      if (readUntil !== undefined) warnings.push(...missingFlowsWarnings(coverage, Math.max(readUntil, lookbackStart), to));
      if (readUntil !== undefined && readUntil > to) readPoint = readUntil;
    }
  } else if (source.retention !== undefined && readUntil !== undefined && now - readUntil > source.retention) {
    warnings.push(
      `runs are further apart than the flow source keeps flows (${Math.round(source.retention / 60)} minutes): flows between ${formatTime(readUntil)} and ${formatTime(now - source.retention)} were lost; schedule runs more often`,
    );
  }

  const workloads = context && scope.microsegmentation.enabled ? await context.workloads() : undefined;
  const clusterLabels: NamespaceContext | undefined = clusterNamespaces ? namespaceContext(clusterNamespaces) : undefined;

  const open: { key: ProposalKey; pr: PullRequestInfo }[] = [];
  for (const pr of openPullRequests) {
    const key = parseBranch(pr.branch);
    if (key?.cluster === entry.name) open.push({ key, pr });
  }
  // Observations carried over from earlier runs, unless a PR whose branch lags its recorded
  // commit holds them already (the run that kept them recorded its state, then failed to move it).
  const lagging = new Set(open.filter(({ pr }) => lags(pr, decodeState(pr.body))).map(({ key }) => namespaceOfKey(key) ?? ''));
  const carried = (key: string): string | null => {
    const [cluster, namespace] = key.split('/') as [string, string];
    return cluster === entry.name && !lagging.has(namespace) ? namespace : null;
  };
  const observed = new Map<string, readonly ObservedAtom[]>();
  for (const [key, atoms] of Object.entries(memory.pending)) {
    const namespace = carried(key);
    if (namespace !== null) observed.set(namespace, atoms);
  }
  for (const [namespace, atoms] of reading.observations.byNamespace) observed.set(namespace, mergeObservations(observed.get(namespace) ?? [], atoms));
  const endpoints: EndpointObservation[] = [];
  for (const [key, list] of Object.entries(memory.pendingEndpoints)) if (carried(key) !== null) endpoints.push(...list);
  endpoints.push(...reading.observations.endpoints);

  const known = [...new Set([...observed.keys(), ...open.flatMap(({ key }) => namespaceOfKey(key) ?? []), ...namespacesWithPolicies(tree, scope)])];
  // A partial listing (anything skipped) never retires a recommendation.
  const deleted = new Set(clusterNamespaces ? namespaceInventory(clusterNamespaces, context!.skipped.namespaces).deleted(known) : []);
  const units = clusterUnits({
    cluster: entry.name,
    clusterPath: entry.path,
    tree,
    template: deps.template,
    config: scope,
    observations: { byNamespace: observed, endpoints: mergeEndpointObservations(endpoints) },
    fresh: reading.observations,
    now,
    ...(clusterLabels ? { namespaces: clusterLabels } : {}),
    facts: facts.simulation,
    ...(source.calicoEdition ? { calicoEdition: source.calicoEdition } : {}),
    ...(workloads ? { workloads } : {}),
    deleted,
    openPullRequests: open,
    recreate,
    accepted: memory.accepted[entry.name] ?? {},
    enforceAfter: config.enforceAfter,
  });

  const byNamespace = (list: Iterable<[string, readonly EndpointObservation[]]>) => list;
  const endpointsByNamespace = new Map<string, EndpointObservation[]>();
  for (const e of endpoints) endpointsByNamespace.set(`${entry.name}/${e.local.namespace}`, [...(endpointsByNamespace.get(`${entry.name}/${e.local.namespace}`) ?? []), e]);
  return {
    facts: units.facts,
    reading,
    readPoint,
    observed: new Map([...observed].map(([ns, atoms]) => [`${entry.name}/${ns}`, atoms])),
    endpoints: new Map(byNamespace(endpointsByNamespace)),
    accepted: units.accepted,
    notes: units.notes,
    dashboard: {
      name: entry.name,
      path: entry.path,
      source: reading.source,
      window: { from: formatTime(reading.window.from), to: formatTime(reading.window.to) },
      inputsRead: reading.inputsRead,
      recordsSeen: reading.observations.recordsSeen,
      recordsLearned: reading.observations.recordsLearned,
      skipped: reading.skipped,
      unlearnable: reading.unlearnable,
      namespaces: [],
      errors: [],
      warnings: [...warnings, ...units.warnings],
    },
  };
}

/**
 * The flows that started in [since, to) a collecting source does not hold, one warning per
 * interval: before it held everything (collecting started, or memory), and its gaps (outages).
 */
function missingFlowsWarnings(coverage: FlowCoverage, since: number, to: number): string[] {
  const intervals: MissingFlows[] = [];
  if (since < coverage.from) intervals.push({ from: since, to: Math.min(coverage.from, to), reason: coverage.before });
  for (const m of coverage.missing) intervals.push({ ...m, from: Math.max(m.from, since), to: Math.min(m.to, to) });
  return intervals.filter((m) => m.to > m.from).map((m) => `flows that started between ${formatTime(m.from)} and ${formatTime(m.to)} are missing: ${m.reason}`);
}

/** What a dashboard row is about, beside its namespace. */
function unitName(key: ProposalKey): string {
  switch (key.kind) {
    case 'namespace':
      return 'isolation';
    case 'workloads':
      return key.workload === undefined ? 'workloads' : `workload ${key.workload.split('/').slice(1).join('/')}`;
    case 'enforce':
      return 'enforce isolation';
    case 'enforce-workloads':
      return key.workload === undefined ? 'enforce workloads' : `enforce workload ${key.workload.split('/').slice(1).join('/')}`;
    case 'enforce-default-deny':
      return 'enforce default deny';
    case 'bootstrap':
      return 'cluster-wide files';
  }
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
