// One run for one repository: read its configuration and the state GitHub holds (default branch,
// the bot's pull requests, the dashboard), read each cluster's flows, decide per namespace, carry
// the decisions out, and rewrite the dashboard. Everything it needs to resume is in GitHub, so a
// crash or restart at any point loses nothing: the next run observes and converges.

import { type ClusterContext, namespaceContext, namespaceInventory } from '../../cluster/cluster-context.ts';
import type { LoadedConfig } from '../../config/load-repository-config.ts';
import type { ClusterEntry, RepositoryConfig } from '../../config/repository-config.ts';
import { mergeEndpointObservations, mergeObservations } from '../../engine/aggregate.ts';
import type { EndpointObservation, ObservedAtom } from '../../engine/model.ts';
import { formatTime } from '../../engine/provenance.ts';
import { type FlowReading, readFlows } from '../../flows/read-flows.ts';
import { type FlowCoverage, type FlowSource, FlowSourceError, type FlowSourceKind, type MissingFlows } from '../../flows/source.ts';
import { acceptedUnits } from '../../plan/lifecycle/tree-policies.ts';
import type { AcceptanceRecord, AcceptedMerge } from '../../plan/lifecycle/unit.ts';
import { branchOf, keyId, namespaceOfKey, type ProposalKey, parseBranch } from '../../plan/lifecycle/unit-key.ts';
import { type NamespaceContext, namespacesWithPolicies } from '../../plan/plan.ts';
import { isYamlPath } from '../../tree/inventory.ts';
import { isKustomizationPath } from '../../tree/kustomize.ts';
import type { TreeFiles } from '../../tree/tree.ts';
import { appendAll } from '../../util/append.ts';
import { own } from '../../util/plain.ts';
import type { FoundIssue, IssueInfo, PullRequestInfo, PullRequestListing, Repository } from '../github/repository.ts';
import {
  DASHBOARD_LABEL,
  DASHBOARD_MARKER,
  DASHBOARD_TITLE,
  type DashboardCluster,
  type DashboardContent,
  type DashboardMemory,
  type DashboardNamespace,
  dashboardDigest,
  dashboardRequests,
  decodeDashboardState,
  keptClusterSections,
  RUN_NOW,
  renderDashboard,
  sourceKindName,
  untickedRecreateBoxes,
} from '../render/dashboard.ts';
import { mergeDashboardMemory } from '../state/dashboard-memory.ts';
import { withWriteRecord } from '../state/dashboard-write.ts';
import { decodeState, RECOMMENDATION_LABEL } from '../state/pull-request-state.ts';
import { apply, tidyClosed } from './apply.ts';
import { clusterFacts } from './cluster-facts.ts';
import { clusterUnits } from './cluster-units.ts';
import { type ClosedDecision, type Decision, decide, decideClosed, lagging as lags, needsHistory, type UnitFacts } from './decide.ts';
import type { InboxRecord } from './inbox.ts';
import { mergeability } from './mergeability.ts';
import { restoreOverwrittenBoxes } from './restore-boxes.ts';

/** Flows read in the previous run's last minutes are read again: nothing falls between runs. */
export const FLOW_WINDOW_OVERLAP = 15 * 60;

export interface RunDependencies {
  readonly repository: Repository;
  /** The repository's configuration, validated, or its problems (config/load-repository-config.ts). */
  readonly config: Exclude<LoadedConfig, { kind: 'absent' }>;
  /** How a cluster's flows are reached: the deployment's configuration, never the repository's. */
  readonly openFlowSource: (cluster: string) => Promise<FlowSource>;
  readonly clusterContext?: (cluster: string) => ClusterContext | null;
  readonly template: TreeFiles;
  /** The template for the cilium flavour (policies-template/clusters/example-cilium/); a cilium cluster's run fails without it. */
  readonly ciliumTemplate?: TreeFiles;
  readonly engineVersion: string;
  /** Unix seconds. */
  readonly now: () => number;
  readonly log: { info(msg: string): void; warn(msg: string): void };
  /** What webhooks recorded since the last run (run/inbox.ts): hints, checked against what GitHub shows. */
  readonly recorded?: readonly InboxRecord[];
}

export interface RunResult {
  readonly outcome: 'done' | 'config-error';
  readonly decisions: readonly Decision[];
  /** How many of each action were carried out (those that failed are in `errors`). */
  readonly applied: Readonly<Partial<Record<Decision['action']['kind'], number>>>;
  readonly errors: readonly string[];
  readonly dashboard: number;
  /** The records this run served (the others wait for a run that can: one with a valid configuration). */
  readonly served: readonly InboxRecord[];
}

/**
 * `signal` stops the run between two namespaces (a scheduled run on a replica that lost the
 * leadership): whatever was done is consistent, and the next run converges.
 */
export async function runRepository(deps: RunDependencies, trigger: string, signal?: AbortSignal): Promise<RunResult> {
  const started = Date.now();
  const repo = deps.repository;
  // The oldest dashboard is the one kept; any other (there should be none) is merged into it.
  const found = await findDashboards(repo, deps.log);
  const recorded = deps.recorded ?? [];
  // A person's tick or untick a write overwrote goes back first, under this run's lock, so this run serves it.
  const writes = recorded.filter((r) => r.kind === 'dashboard-write');
  for (const write of writes) {
    const i = found.findIndex((d) => d.number === write.issue);
    const restored = i < 0 ? null : restoreOverwrittenBoxes(write.from, write.to, found[i]!.body);
    if (restored === null) continue;
    await repo.updateIssue(write.issue, restored.body);
    found[i] = { ...found[i]!, body: restored.body };
    deps.log.info(
      `${repo.owner}/${repo.name}: the dashboard #${write.issue}: put back ${[...restored.restored.keys()].join(', ')}, which a write of the bot overwrote`,
    );
  }
  const [dashboard = null, ...extras] = found;
  const memory =
    extras.length === 0
      ? decodeDashboardState(dashboard?.body ?? null)
      : mergeDashboardMemory([dashboard!, ...extras].map((d) => decodeDashboardState(d.body)));
  const requests = servedRequests([dashboard, ...extras], memory);
  const dashboardWrite = { repo, existing: dashboard, extras, memory, requests };

  const noted = new Set(memory.dismissed);
  if (deps.config.kind === 'invalid') {
    // Nothing is decided; the namespaces stay as the last valid run showed them, and so does the
    // memory. Closed PRs are tidied after all the same: that needs no configuration.
    const closed = await tidyAfterClosed(repo, await repo.pullRequests(RECOMMENDATION_LABEL), recorded, noted, [], deps.log);
    const number = await writeDashboard(dashboardWrite, false, {
      lastRun: { at: formatTime(deps.now()), durationMs: Date.now() - started, trigger },
      configErrors: deps.config.issues,
      clusters: [],
      keptClusters: keptClusterSections(dashboard?.body ?? null),
      state: memory,
    });
    return {
      outcome: 'config-error',
      decisions: [],
      applied: {},
      errors: [],
      dashboard: number,
      served: recorded.filter((r) => r.kind !== 'rebase' && !closed.failed.has(r)),
    };
  }
  const config = deps.config.config;

  const now = deps.now();
  const head = await repo.head();
  const listing = await repo.pullRequests(RECOMMENDATION_LABEL);
  const openPullRequests = listing.open;
  const errors: string[] = [];
  const closed = await tidyAfterClosed(repo, listing, recorded, noted, errors, deps.log);
  const rebaseCommands = new Map<number, number[]>();
  for (const r of recorded) if (r.kind === 'rebase') rebaseCommands.set(r.pr, [...(rebaseCommands.get(r.pr) ?? []), r.comment]);
  const facts: UnitFacts[] = [];
  const clusters = new Map<string, DashboardCluster>();
  const flowsReadUntil = { ...memory.flowsReadUntil };
  /** A cluster's read point must be written now (see observeCluster), even if nothing else changed. */
  let readPointDue = false;
  const skippedByCluster = new Map<string, number>();
  const observedBy = new Map<string, readonly ObservedAtom[]>();
  const endpointsBy = new Map<string, readonly EndpointObservation[]>();
  const pending: Record<string, readonly ObservedAtom[]> = {};
  const pendingEndpoints: Record<string, readonly EndpointObservation[]> = {};
  const heldFiles: Record<string, Readonly<Record<string, string>>> = {};
  const accepted: Record<string, Record<string, AcceptanceRecord>> = {};
  const notes = new Map<string, string>();

  for (const entry of config.clusters) {
    try {
      const result = await observeCluster(
        entry,
        deps,
        config,
        head.treeSha,
        { openPullRequests, rebaseCommands, tidied: closed.decided, noted },
        requests,
        memory,
        now,
      );
      appendAll(facts, result.facts);
      clusters.set(entry.name, result.dashboard);
      skippedByCluster.set(entry.name, result.reading.skipped.total);
      if (result.readPoint !== undefined) flowsReadUntil[entry.name] = result.readPoint;
      readPointDue ||= result.readPointDue;
      for (const [key, atoms] of result.observed) observedBy.set(key, atoms);
      for (const [key, list] of result.endpoints) endpointsBy.set(key, list);
      accepted[entry.name] = result.accepted;
      for (const [key, note] of result.notes) notes.set(key, note);
    } catch (e) {
      // This cluster's pull requests are left alone: nothing is decided on a partial picture.
      clusters.set(entry.name, { name: entry.name, path: entry.path, namespaces: [], errors: [(e as Error).message], warnings: [] });
      for (const [key, atoms] of Object.entries(memory.pending)) if (key.startsWith(`${entry.name}/`)) pending[key] = atoms;
      for (const [key, list] of Object.entries(memory.pendingEndpoints)) if (key.startsWith(`${entry.name}/`)) pendingEndpoints[key] = list;
      for (const [id, files] of Object.entries(memory.held ?? {})) if (id.startsWith(`${entry.name}/`)) heldFiles[id] = files;
      const kept = own(memory.accepted, entry.name);
      if (kept) accepted[entry.name] = kept;
    }
  }

  const candidates = facts.filter(needsHistory);
  const history = candidates.length > 0 ? await repo.latestPullRequests(candidates.map((f) => branchOf(f.key))) : new Map();
  const withHistory = facts.map((f) => {
    const latest = needsHistory(f) ? (history.get(branchOf(f.key)) ?? null) : undefined;
    return {
      ...(latest === undefined ? f : { ...f, latest }),
      // Tidied after by this run already, or tried and failed (tidyAfterClosed): one code path, one try.
      dismissalNoted: noted.has(keyId(f.key)) || (latest != null && closed.decided.has(latest.number)),
    };
  });
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

  const applied: Partial<Record<Decision['action']['kind'], number>> = {};
  // A unit whose closed PR could not be tidied after is not noted as dismissed: the next run tries again.
  const failed = new Set<string>(closed.failedUnits);
  for (const decision of decisions) {
    signal?.throwIfAborted();
    const { cluster, namespace, key } = decision.facts;
    const outcome = await apply(decision, {
      repository: repo,
      head,
      engineVersion: deps.engineVersion,
      flavor: recommendationFor(
        config,
        config.clusters.find((c) => c.name === cluster),
      ).flavor,
      stabilizationPeriod: config.recommendation.stabilizationPeriod,
      extraLabels: config.pullRequests.labels,
      skippedLines: skippedByCluster.get(cluster) ?? 0,
      enforceAfter: config.enforceAfter,
    });
    if (outcome.error) {
      errors.push(outcome.error);
      failed.add(keyId(key));
    } else if (decision.action.kind !== 'none') applied[decision.action.kind] = (applied[decision.action.kind] ?? 0) + 1;
    // What no pull request holds after this run is kept for the next (flows are read once), a
    // dismissed unit's too: ticking its box proposes it from what was seen.
    const held =
      !outcome.error &&
      decision.action.kind !== 'notify-edited' &&
      decision.dashboard !== 'Awaiting PR limits' &&
      decision.dashboard !== 'Edited' &&
      decision.dashboard !== 'Dismissed';
    if (!held && decision.facts.change !== null && namespace !== null) {
      if (key.kind === 'namespace') {
        const observed = observedBy.get(`${cluster}/${namespace}`) ?? [];
        if (observed.length > 0) pending[`${cluster}/${namespace}`] = observed;
      } else if (key.kind === 'workloads') {
        const list = endpointsBy.get(`${cluster}/${namespace}`) ?? [];
        if (list.length > 0) pendingEndpoints[`${cluster}/${namespace}`] = list;
      }
      // Its policy files too, while no PR holds them: the next run proposes from them, so its
      // rules keep the time they really changed (a fresh proposal would date them at the run).
      const files = decision.facts.change.memory;
      if (
        decision.facts.openPullRequest === null &&
        (key.kind === 'namespace' || key.kind === 'workloads') &&
        Object.keys(files).length > 0
      )
        heldFiles[keyId(key)] = files;
    }
    const note = outcome.error ?? ([decision.note, notes.get(keyId(key))].filter((n) => n !== undefined).join('; ') || undefined);
    // An accepted unit's row links the PR whose merge accepted it.
    const mergedPr = decision.dashboard === 'Accepted' && !outcome.pr ? accepted[cluster]?.[acceptanceId(key)]?.pr : undefined;
    const row: DashboardNamespace = {
      namespace: namespace ?? '',
      unit: unitName(key),
      state: outcome.error ? 'Error' : decision.dashboard,
      lastUpdated: decision.facts.change?.lastUpdated ?? null,
      ...(outcome.pr
        ? { pr: { number: outcome.pr.number, url: outcome.pr.url } }
        : mergedPr !== undefined
          ? { pr: { number: mergedPr } }
          : {}),
      ...(note ? { note } : {}),
    };
    const section = clusters.get(cluster);
    if (section) clusters.set(cluster, { ...section, namespaces: [...section.namespaces, row] });
  }

  // Dismissed units stay on the dashboard (with their box to propose them again) while nothing
  // new is seen for them; reopening a PR or ticking its box takes them off the list. A ticked box
  // is served once its unit is proposed again; until then (no traffic to propose it from, PR
  // limits, a failed write) the request is remembered, and its box stays ticked.
  const served = new Set(
    decisions
      .filter((d) => !failed.has(keyId(d.facts.key)) && (d.facts.openPullRequest !== null || d.action.kind === 'open'))
      .map((d) => keyId(d.facts.key)),
  );
  const unserved = [...requests.recreate].filter((id) => noted.has(id) && !served.has(id)).sort();
  const dismissed = new Set(noted);
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
      namespaces: [
        ...section.namespaces,
        { namespace: namespaceOfKey(key) ?? '', unit: unitName(key), state: 'Dismissed', lastUpdated: null },
      ],
    });
  }

  signal?.throwIfAborted();
  const number = await writeDashboard(dashboardWrite, readPointDue, {
    lastRun: { at: formatTime(now), durationMs: Date.now() - started, trigger },
    configErrors: [],
    clusters: config.clusters.map((c) => clusters.get(c.name)!),
    state: {
      v: 1,
      flowsReadUntil,
      pending,
      pendingEndpoints,
      accepted,
      dismissed: [...dismissed].sort(),
      ...(Object.keys(heldFiles).length > 0 ? { held: heldFiles } : {}),
      ...(unserved.length > 0 ? { recreate: unserved } : {}),
    },
  });
  deps.log.info(
    `run of ${repo.owner}/${repo.name} (${trigger}): ${decisions.filter((d) => d.action.kind !== 'none').length} actions, ${errors.length} errors`,
  );
  return { outcome: 'done', decisions, applied, errors, dashboard: number, served: recorded.filter((r) => !closed.failed.has(r)) };
}

/**
 * Tidies after the bot's pull requests closed or merged since the last run (decide.ts
 * decideClosed, apply.ts tidyClosed): those the listing of what was updated since saw, and those
 * webhooks recorded that it did not (a cold listing: a new process or replica), looked up by
 * branch in one request. Returns the pull requests tidied, and the records of those whose tidying
 * failed (their webhook's delivery fails, for GitHub to show); a failure is the run's error, and
 * the next run tries again (each step is idempotent).
 */
async function tidyAfterClosed(
  repo: Repository,
  listing: PullRequestListing,
  recorded: readonly InboxRecord[],
  noted: ReadonlySet<string>,
  errors: string[],
  log: RunDependencies['log'],
): Promise<{ tidied: Set<number>; decided: Set<number>; failedUnits: Set<string>; failed: Set<InboxRecord> }> {
  const closed = [...listing.closed];
  const seen = new Set([...listing.open, ...listing.closed].map((pr) => pr.branch));
  const unseen = [...new Set(recorded.flatMap((r) => (r.kind === 'closed' && !seen.has(r.branch) ? [r.branch] : [])))];
  if (unseen.length > 0) {
    for (const pr of (await repo.latestPullRequests(unseen)).values())
      if (pr !== null && pr.state !== 'open' && pr.labels.includes(RECOMMENDATION_LABEL)) closed.push(pr);
  }
  const decisions = decideClosed(closed, listing.open, noted);
  const tidied = await tidy(repo, decisions, errors, log);
  const failures = decisions.filter((d) => !tidied.has(d.pr.number));
  const failedBranches = new Set(failures.map((d) => d.pr.branch));
  return {
    tidied,
    decided: new Set(decisions.map((d) => d.pr.number)),
    failedUnits: new Set(failures.map((d) => keyId(d.key))),
    failed: new Set(recorded.filter((r) => r.kind === 'closed' && failedBranches.has(r.branch))),
  };
}

/** Carries out closed-PR decisions; returns the pull requests tidied. */
async function tidy(
  repo: Repository,
  decisions: readonly ClosedDecision[],
  errors: string[],
  log: RunDependencies['log'],
): Promise<Set<number>> {
  const done = new Set<number>();
  for (const decision of decisions) {
    try {
      await tidyClosed(repo, decision);
      done.add(decision.pr.number);
    } catch (e) {
      const message = `tidying after the closed pull request #${decision.pr.number} failed (the next run tries again): ${(e as Error).message}`;
      errors.push(message);
      log.warn(`${repo.owner}/${repo.name}: ${message}`);
    }
  }
  return done;
}

interface ClusterObservation {
  readonly facts: UnitFacts[];
  readonly dashboard: DashboardCluster;
  readonly reading: FlowReading;
  /** Up to when the cluster's flows are read after this run (flowsReadUntil); undefined: not yet. */
  readonly readPoint: number | undefined;
  /** The read point must be written now, even if nothing else changed (see readPointDue()). */
  readonly readPointDue: boolean;
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
  prs: {
    readonly openPullRequests: readonly PullRequestInfo[];
    /** Per open PR: the rebase commands webhooks recorded (run/inbox.ts). */
    readonly rebaseCommands: ReadonlyMap<number, readonly number[]>;
    /** Closed PRs this run tidied after already (or tried to). */
    readonly tidied: Set<number>;
    /** Dismissals the dashboard noted (unit key ids). */
    readonly noted: ReadonlySet<string>;
  },
  requests: Requests,
  memory: DashboardMemory,
  now: number,
): Promise<ClusterObservation> {
  const { openPullRequests, rebaseCommands } = prs;
  const recreate = requests.recreate;
  const readUntil = own(memory.flowsReadUntil, entry.name);
  const repo = deps.repository;
  // The cluster first: its release and IP families decide how flows are learned and policies named.
  const context = deps.clusterContext?.(entry.name) ?? null;
  const clusterNamespaces = context ? await context.namespaces() : null;
  const facts = await clusterFacts(context, recommendationFor(config, entry), clusterNamespaces);
  const scope = facts.config;
  const prefix = entry.path === '' ? '' : `${entry.path}/`;
  const entries = (await repo.listFiles(treeSha, entry.path)).filter((e) => isYamlPath(e.path) || isKustomizationPath(e.path));
  const blobs = await repo.readBlobs(entries.map((e) => e.sha));
  const tree = new Map(entries.filter((e) => blobs.has(e.sha)).map((e) => [e.path.slice(prefix.length), blobs.get(e.sha)!]));

  const source = await readingFlows(deps, entry.name, undefined, () => deps.openFlowSource(entry.name));
  if (scope.flavor === 'calico-enterprise' && source.calicoEdition === 'open-source') {
    throw new Error(
      `flavor calico-enterprise writes domain rules, which only Calico Enterprise has, but cluster ${entry.name} reads its flows from Goldmane (open-source Calico): set flavor calico (the configuration is wrong for this cluster; nothing was changed)`,
    );
  }
  // Hubble is Cilium's, and Cilium enforces none of Calico's policies (staged Kubernetes ones
  // neither); Goldmane and Elasticsearch are Calico's, whose clusters do not run Cilium. Flow-log
  // files can hold either (the format is recognised per line), so they do not tell.
  if (source.kind === 'hubble' && scope.flavor !== 'cilium') {
    throw new Error(
      `cluster ${entry.name} reads its flows from Hubble (a Cilium cluster), where flavor ${scope.flavor}'s policies are never enforced: set flavor cilium (the configuration is wrong for this cluster; nothing was changed)`,
    );
  }
  if (scope.flavor === 'cilium' && (source.kind === 'goldmane' || source.kind === 'elasticsearch')) {
    throw new Error(
      `flavor cilium writes CiliumNetworkPolicies, but cluster ${entry.name} reads its flows from ${sourceKindName(source.kind)} (a Calico cluster), where they are never enforced: set a Calico flavour (the configuration is wrong for this cluster; nothing was changed)`,
    );
  }
  const lookbackStart = now - scope.initialLookback;
  const from = readUntil === undefined ? lookbackStart : Math.max(lookbackStart, readUntil - FLOW_WINDOW_OVERLAP);
  // A collecting source (Goldmane's collector) is read up to where it holds every flow; the next
  // run reads on from there (less the overlap), so nothing still arriving is skipped.
  const coverage = source.coverage?.(now);
  const to = coverage === undefined ? now : Math.max(from, Math.min(now, coverage.to));
  const reading = await readingFlows(deps, entry.name, source.kind, () => readFlows(source, scope, now, { from, to }));
  logReading(deps, entry.name, reading);
  const warnings: string[] = [...facts.warnings];
  let readPoint: number | undefined = to;
  // The end of the latest interval whose flows this run knows it lacks (Cilium's staging counts quiet time from it).
  let flowsMissingUntil: number | undefined;
  if (coverage !== undefined) {
    if (coverage.keepReadPoint) readPoint = readUntil;
    else {
      // Flows before the previous read were read by it; flows before the lookback do not count.
      const missing = readUntil === undefined ? [] : missingFlows(coverage, Math.max(readUntil, lookbackStart), to);
      for (const m of missing)
        warnings.push(`flows that started between ${formatTime(m.from)} and ${formatTime(m.to)} are missing: ${m.reason}`);
      if (missing.length > 0) flowsMissingUntil = Math.max(...missing.map((m) => m.to));
      if (readUntil !== undefined && readUntil > to) readPoint = readUntil;
    }
  } else if (source.retention !== undefined && readUntil !== undefined && now - readUntil > source.retention) {
    warnings.push(
      `runs are further apart than the flow source keeps flows (${Math.round(source.retention / 60)} minutes): flows between ${formatTime(readUntil)} and ${formatTime(now - source.retention)} were lost; schedule runs more often`,
    );
    flowsMissingUntil = now - source.retention;
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
  for (const [namespace, atoms] of reading.observations.byNamespace)
    observed.set(namespace, mergeObservations(observed.get(namespace) ?? [], atoms));
  const endpoints: EndpointObservation[] = [];
  for (const [key, list] of Object.entries(memory.pendingEndpoints)) if (carried(key) !== null) appendAll(endpoints, list);
  appendAll(endpoints, reading.observations.endpoints);

  const known = [
    ...new Set([...observed.keys(), ...open.flatMap(({ key }) => namespaceOfKey(key) ?? []), ...namespacesWithPolicies(tree, scope)]),
  ];
  // A partial listing (anything skipped) never retires a recommendation.
  const deleted = new Set(clusterNamespaces ? namespaceInventory(clusterNamespaces, context!.skipped.namespaces).deleted(known) : []);
  const merges = await acceptedMerges(repo, entry.name, tree, scope, memory.accepted[entry.name] ?? {}, prs);
  const units = clusterUnits({
    merges,
    ...(memory.held ? { held: memory.held } : {}),
    cluster: entry.name,
    clusterPath: entry.path,
    tree,
    template: templateFor(deps, scope.flavor),
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
    rebaseCommands,
    accepted: own(memory.accepted, entry.name) ?? {},
    enforceAfter: config.enforceAfter,
    ...(flowsMissingUntil === undefined ? {} : { flowsMissingUntil }),
  });

  const byNamespace = (list: Iterable<[string, readonly EndpointObservation[]]>) => list;
  const endpointsByNamespace = new Map<string, EndpointObservation[]>();
  for (const e of endpoints)
    endpointsByNamespace.set(`${entry.name}/${e.local.namespace}`, [
      ...(endpointsByNamespace.get(`${entry.name}/${e.local.namespace}`) ?? []),
      e,
    ]);
  return {
    facts: units.facts,
    reading,
    readPoint,
    readPointDue: readPointDue(readUntil, readPoint, newestFlow(reading), source.retention, scope.initialLookback),
    observed: new Map([...observed].map(([ns, atoms]) => [`${entry.name}/${ns}`, atoms])),
    endpoints: new Map(byNamespace(endpointsByNamespace)),
    accepted: units.accepted,
    notes: units.notes,
    dashboard: {
      name: entry.name,
      path: entry.path,
      source: reading.kind,
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
 * The merges of units newly accepted on the default branch (no acceptance record yet for their
 * files): the latest PR of each unit's branch, when merged. One request, only in a run after a
 * merge. A merged PR this run did not tidy after yet (the listing was cold, and no webhook said)
 * is tidied here, by the same code path: its status labels and its branch go.
 */
async function acceptedMerges(
  repo: Repository,
  cluster: string,
  tree: TreeFiles,
  config: Parameters<typeof acceptedUnits>[2],
  records: Readonly<Record<string, AcceptanceRecord>>,
  prs: { readonly openPullRequests: readonly PullRequestInfo[]; readonly tidied: Set<number>; readonly noted: ReadonlySet<string> },
): Promise<Map<string, AcceptedMerge>> {
  const fresh = [...acceptedUnits(cluster, tree, config)].filter(([id, { hash }]) => records[id]?.hash !== hash);
  const merges = new Map<string, AcceptedMerge>();
  if (fresh.length === 0) return merges;
  const latest = await repo.latestPullRequests(fresh.map(([, { key }]) => branchOf(key)));
  for (const [id, { key }] of fresh) {
    const pr = latest.get(branchOf(key));
    if (pr?.state !== 'merged' || pr.mergedAt === undefined) continue;
    const mergedAt = Math.floor(Date.parse(pr.mergedAt) / 1000);
    if (Number.isFinite(mergedAt)) merges.set(id, { pr: pr.number, mergedAt });
    if (prs.tidied.has(pr.number)) continue;
    // A failure fails the cluster's observation: nothing is decided on it, and the next run tries again.
    for (const decision of decideClosed([pr], prs.openPullRequests, prs.noted)) await tidyClosed(repo, decision);
    prs.tidied.add(pr.number);
  }
  return merges;
}

/**
 * Opening or reading a cluster's flow source. Its errors name paths, hosts and addresses, which
 * are the deployment's business: they go to the App's log, and the dashboard says what failed.
 */
async function readingFlows<T>(
  deps: RunDependencies,
  cluster: string,
  kind: FlowSourceKind | undefined,
  step: () => Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (e) {
    deps.log.warn(`cluster ${cluster}: reading its flows failed: ${(e as Error).message}`);
    const shown = e instanceof FlowSourceError ? e.shown : undefined;
    throw new Error(
      shown ?? `its flows could not be read${kind === undefined ? '' : ` from ${sourceKindName(kind)}`}: the App's log says why`,
    );
  }
}

/** Where a cluster's flows were read from (the source's description names it) and what was skipped where: for the App's log. */
function logReading(deps: RunDependencies, cluster: string, reading: FlowReading): void {
  const skipped = reading.skipped.examples.map((e) => `${e.location} (${e.reason})`).join(', ');
  deps.log.info(
    `cluster ${cluster}: read flows from ${reading.source} between ${formatTime(reading.window.from)} and ${formatTime(reading.window.to)}: ` +
      `${reading.observations.recordsSeen} records${reading.skipped.total > 0 ? `, ${reading.skipped.total} malformed inputs skipped, the first: ${skipped}` : ''}`,
  );
}

/**
 * The flows that started in [since, to) a collecting source does not hold, one warning per
 * interval: before it held everything (collecting started, or memory), and its gaps (outages).
 */
function missingFlows(coverage: FlowCoverage, since: number, to: number): MissingFlows[] {
  const intervals: MissingFlows[] = [];
  if (since < coverage.from) intervals.push({ from: since, to: Math.min(coverage.from, to), reason: coverage.before });
  for (const m of coverage.missing) intervals.push({ ...m, from: Math.max(m.from, since), to: Math.min(m.to, to) });
  return intervals.filter((m) => m.to > m.from);
}

/** The template of a cluster's flavour: a Cilium cluster never gets Calico's tiers and default deny. */
function templateFor(deps: RunDependencies, flavor: RepositoryConfig['recommendation']['flavor']): TreeFiles {
  if (flavor !== 'cilium') return deps.template;
  if (deps.ciliumTemplate === undefined) throw new Error('flavor cilium needs the Cilium policies template, which the App was not given');
  return deps.ciliumTemplate;
}

/** The recommendation settings of a cluster: the repository's, with the cluster's own flavour when it names one. */
function recommendationFor(config: RepositoryConfig, entry: ClusterEntry | undefined): RepositoryConfig['recommendation'] {
  return entry?.flavor === undefined ? config.recommendation : { ...config.recommendation, flavor: entry.flavor };
}

/** The id of a unit's acceptance record (cluster-units.ts): `shop`, `shop.appsec` ... */
function acceptanceId(key: ProposalKey): string {
  return keyId(key).slice(key.cluster.length + 1);
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

/**
 * Words of the dashboard's visible text (its first sentence, render/dashboard.ts) that GitHub's
 * issue search finds it by. Its marker is an HTML comment, and GitHub does not say that search
 * looks into text Markdown hides, so the search looks for visible words and the marker is then
 * checked in each body found.
 */
export const DASHBOARD_SEARCH_TERM = 'policy-recommender';

/**
 * The dashboards, oldest first. The label finds them in one request, so a run that finds its
 * dashboard costs no more. When it finds none, a person may have removed its label or closed
 * it: GitHub's issue search then looks for it in every issue, open or closed. One found that way
 * is put back as the bot keeps it, reopened and labelled, because it holds the bot's memory
 * (enforcement clocks, flow read points, dismissals): as Renovate reopens a closed Dependency
 * Dashboard (renovatebot/renovate lib/modules/platform/github/index.ts, ensureIssue's
 * `shouldReOpen`); what stops the bot is removing its configuration file, not closing the issue.
 * A dashboard already closed as merged into another is not taken again (its memory is old).
 * A failed search fails the run: opening a dashboard then could lose the memory of one that exists.
 */
async function findDashboards(repo: Repository, log: RunDependencies['log']): Promise<FoundIssue[]> {
  const labelled = await repo.findIssues(DASHBOARD_LABEL, DASHBOARD_MARKER);
  if (labelled.length > 0) return labelled;
  let found: FoundIssue[];
  try {
    found = await repo.searchIssues(DASHBOARD_SEARCH_TERM, DASHBOARD_MARKER);
  } catch (e) {
    throw new Error(
      `no issue has the dashboard's label, and searching for the dashboard failed (${(e as Error).message}): no new dashboard is opened, as one a person unlabelled or closed holds the bot's memory; the next run looks again`,
      { cause: e },
    );
  }
  const dashboards: FoundIssue[] = [];
  for (const issue of found) {
    if (issue.state === 'closed' && (await repo.hasComment(issue.number, MERGED_MARKER))) continue;
    dashboards.push(issue);
  }
  const kept = dashboards[0];
  if (kept === undefined) return [];
  if (kept.state === 'closed') {
    await repo.reopenIssue(kept.number);
    log.info(
      `${repo.owner}/${repo.name}: the dashboard #${kept.number} was closed; reopened, as it holds the bot's memory (remove the configuration file to stop the bot)`,
    );
  }
  let labels = kept.labels;
  if (!labels.some((l) => l.toLowerCase() === DASHBOARD_LABEL)) {
    await repo.addLabels(kept.number, [DASHBOARD_LABEL]);
    labels = [...labels, DASHBOARD_LABEL];
    log.info(`${repo.owner}/${repo.name}: the dashboard #${kept.number} had lost its label ${DASHBOARD_LABEL}; labelled again`);
  }
  return [{ ...kept, state: 'open', labels }, ...dashboards.slice(1)];
}

/** GitHub's limit on issue bodies. */
const MAX_BODY = 65_536;
/** In the comment that closes a second dashboard once its memory is merged into the first. */
const MERGED_MARKER = '<!-- policy-recommender:merged-dashboard -->';

interface Requests {
  readonly run: boolean;
  readonly recreate: ReadonlySet<string>;
}

/** What a run's dashboard write needs to know from its start. */
interface DashboardWrite {
  readonly repo: Repository;
  /** The dashboard kept (the oldest), or null: none yet. */
  readonly existing: IssueInfo | null;
  /** Other dashboards, merged into the kept one and closed after it is written. */
  readonly extras: readonly FoundIssue[];
  readonly memory: DashboardMemory;
  /** The requests this run serves: boxes ticked when it started, and those remembered. */
  readonly requests: Requests;
}

/**
 * The requests a run serves: boxes ticked on the dashboards when it started, and those earlier
 * runs could not serve yet. `ticked`: boxes to untick.
 */
function servedRequests(dashboards: readonly (IssueInfo | null)[], memory: DashboardMemory): Requests & { ticked: boolean } {
  const read = dashboards.map((d) => dashboardRequests(d?.body ?? null));
  // A box remembered as ticked that a person unticked since is no longer asked for.
  const unticked = new Set(dashboards.flatMap((d) => [...untickedRecreateBoxes(d?.body ?? null)]));
  const remembered = (memory.recreate ?? []).filter((id) => !unticked.has(id));
  const recreate = new Set([...read.flatMap((r) => [...r.recreate]), ...remembered]);
  return { run: read.some((r) => r.run), recreate, ticked: read.some((r) => r.run || r.recreate.size > 0) };
}

/**
 * Whether a cluster's read point must be written now, though nothing else changed: the first one;
 * once flows past it were read (read again, they would be counted again where a run counts what
 * it read, e.g. a simulation's flows); any, for a source that forgets its flows (its warning about
 * lost flows depends on it); and one that would otherwise lag half the initial lookback (reading
 * more than needed). Otherwise, a run that read no new flow leaves it where it is: the next run
 * reads again from there, and finds nothing more.
 */
function readPointDue(
  stored: number | undefined,
  readPoint: number | undefined,
  newest: number,
  retention: number | undefined,
  lookback: number,
): boolean {
  if (readPoint === undefined) return false;
  if (stored === undefined) return true;
  if (readPoint <= stored) return false;
  return newest >= stored || retention !== undefined || readPoint - stored > lookback / 2;
}

/** When the newest flow a reading learned from was last seen (unix seconds; -Infinity: none). */
function newestFlow(reading: FlowReading): number {
  let newest = -Infinity;
  for (const atoms of reading.observations.byNamespace.values()) for (const o of atoms) newest = Math.max(newest, o.evidence.lastSeen);
  for (const e of reading.observations.endpoints) newest = Math.max(newest, e.evidence.lastSeen);
  return newest;
}

/**
 * Writes the dashboard, and only when what it says changed (not merely the run-by-run facts): an
 * idle run leaves it alone, so GitHub keeps no revision and sends no webhook for it. Right before
 * writing, it is read again, so a box a person ticked or unticked during the run keeps their
 * choice (GitHub's issue update has no compare-and-swap: a choice made between that read and the
 * write is restored from the write's own webhook, state/dashboard-write.ts).
 */
async function writeDashboard(
  w: DashboardWrite & { requests: { ticked?: boolean } },
  readPointDue: boolean,
  content: DashboardContent,
): Promise<number> {
  const { repo, existing } = w;
  let fitted = content;
  // Held units' files and carried observations are the parts that can grow: drop the largest until
  // it fits, files first (without them a held unit's rules are dated at the next run; without its
  // observations they would be lost). Sections kept from the dashboard as it was go before
  // observations: they are only a reminder.
  const held = { ...content.state.held };
  const size = (files: Readonly<Record<string, string>>) => Object.values(files).reduce((n, t) => n + t.length, 0);
  while (renderDashboard(fitted).length > MAX_BODY && Object.keys(held).length > 0) {
    const largest = Object.entries(held).sort(([, a], [, b]) => size(b) - size(a))[0]![0];
    delete held[largest];
    fitted = { ...fitted, state: { ...fitted.state, held: { ...held } } };
  }
  if (renderDashboard(fitted).length > MAX_BODY && fitted.keptClusters) fitted = { ...fitted, keptClusters: null };
  const pending = { ...content.state.pending };
  while (renderDashboard(fitted).length > MAX_BODY && Object.keys(pending).length > 0) {
    const largest = Object.entries(pending).sort(([, a], [, b]) => b.length - a.length)[0]![0];
    delete pending[largest];
    fitted = { ...fitted, state: { ...fitted.state, pending: { ...pending } } };
  }
  const digest = dashboardDigest(fitted);
  fitted = { ...fitted, state: { ...fitted.state, digest } };
  if (existing === null)
    return (await repo.createIssue({ title: DASHBOARD_TITLE, body: renderDashboard(fitted), labels: [DASHBOARD_LABEL] })).number;
  const quiet = !readPointDue && w.extras.length === 0 && !w.requests.ticked && w.memory.digest === digest;
  if (!quiet) {
    const current = await repo.readIssue(existing.number);
    const now = dashboardRequests(current.body);
    // A remembered request whose box a person unticked since the run started is no longer asked for.
    const unticked = untickedRecreateBoxes(current.body);
    const remembered = fitted.state.recreate ?? [];
    if (remembered.some((id) => unticked.has(id))) {
      const { recreate: _r, ...state } = fitted.state;
      const still = remembered.filter((id) => !unticked.has(id));
      fitted = { ...fitted, state: { ...state, ...(still.length > 0 ? { recreate: still } : {}) } };
      fitted = { ...fitted, state: { ...fitted.state, digest: dashboardDigest(fitted) } };
    }
    const during = [...now.recreate].filter((id) => !w.requests.recreate.has(id));
    const ticked = { run: now.run && !w.requests.run, recreate: new Set([...during, ...(fitted.state.recreate ?? [])]) };
    // What it serves is unticked; a person's tick or untick between this read and the write is
    // restored from the webhook of the write (state/dashboard-write.ts).
    const took = [...(w.requests.run ? [RUN_NOW] : []), ...[...w.requests.recreate].filter((id) => !ticked.recreate.has(id))].sort();
    const body = withWriteRecord(renderDashboard({ ...fitted, ticked }), current.body ?? '', took);
    if (current.body !== body) await repo.updateIssue(existing.number, body);
  }
  for (const extra of w.extras) {
    await repo.commentOnce(
      extra.number,
      `A second dashboard: what it remembered is kept in #${existing.number} now, so it is closed.\n\n${MERGED_MARKER}`,
      MERGED_MARKER,
    );
    if (extra.state === 'open') await repo.closeIssue(extra.number);
  }
  return existing.number;
}
