// The Probot app: schedules a run per configured repository, hears what people do on its pull
// requests and dashboard, and hands every run to run-repository.ts. Webhook handlers only enqueue:
// each records what its event alone can tell (run/inbox.ts) and asks for a run; the run observes
// the whole state under the run lock and converges. It keeps no other state: schedules are
// rebuilt from the repositories' configuration at start-up and on changes.

import type { ApplicationFunction, Context, Probot } from 'probot';
import type { ClusterContext } from '../cluster/cluster-context.ts';
import type { RunLock } from '../cluster/run-lock.ts';
import { type LoadedConfig, loadRepositoryConfig } from '../config/load-repository-config.ts';
import type { ScheduleDefaults } from '../config/repository-config.ts';
import type { FlowSource } from '../flows/source.ts';
import { parseBranch } from '../plan/lifecycle/unit-key.ts';
import type { TreeFiles } from '../tree/tree.ts';
import type { FlowCollectors } from './collect/collector.ts';
import { githubConfigReader, visibilityOf } from './github/github-config-reader.ts';
import { GitHubRepository, type Octokit } from './github/github-repository.ts';
import { PullRequestViews } from './github/pull-request-views.ts';
import { opsHandler } from './ops/endpoints.ts';
import type { AppMetrics, PullRequestAction, RunOutcome } from './ops/metrics.ts';
import { guardWebhookEndpoint, withoutPayloadInErrors } from './ops/webhook-edge.ts';
import { pushTrigger } from './push-trigger.ts';
import { DASHBOARD_LABEL, DASHBOARD_MARKER, dashboardRequests } from './render/dashboard.ts';
import type { Decision } from './run/decide.ts';
import { Inbox, type InboxRecord } from './run/inbox.ts';
import { type RunResult, runRepository } from './run/run-repository.ts';
import { type RepositoryKey, Scheduler, type Settle } from './scheduler.ts';
import { overwrittenBoxes } from './state/dashboard-write.ts';
import { isDismissal, REBASE_LABEL, RECOMMENDATION_LABEL } from './state/pull-request-state.ts';

export interface AppOptions {
  readonly scheduleDefaults: ScheduleDefaults;
  /** How each cluster's flows are reached (from the deployment configuration). */
  readonly openFlowSource: (cluster: string) => Promise<FlowSource>;
  /**
   * The clusters whose flows are collected continuously (Goldmane's): runs read them from their
   * collector while this replica collects (collect/collector.ts).
   */
  readonly collectors?: FlowCollectors;
  readonly clusterContext?: (cluster: string) => ClusterContext | null;
  readonly template: TreeFiles;
  /** The template of repositories whose flavour is cilium (policies-template/clusters/example-cilium/). */
  readonly ciliumTemplate?: TreeFiles;
  readonly engineVersion: string;
  readonly now?: () => number;
  /** Schedule every installed, configured repository when the app loads (off in tests). */
  readonly scheduleOnLoad: boolean;
  /** Scheduled runs happen only where this is true (the leader, with several replicas). */
  readonly isLeader?: () => boolean;
  /** With several replicas: a run of a repository holds it, so runs on different replicas never overlap. */
  readonly runLock?: RunLock;
  /** Served with /healthz, /readyz and /metrics beside the webhooks. */
  readonly metrics?: AppMetrics;
  /** Why the server cannot take webhooks yet (for /readyz), or null. */
  readonly notReady?: () => string | null;
  /** When a burst of pushes has settled (default: SETTLE_MS after the first; scheduler.ts). */
  readonly settle?: Settle;
  /** How long to wait before listing the installations again after attempt `n` failed (default: listingRetryDelay). */
  readonly listingRetryDelay?: (attempt: number) => number;
}

/** 1 s, doubling, at most 5 minutes: GitHub unreachable at start-up delays schedules, never drops them. */
export function listingRetryDelay(attempt: number): number {
  return Math.min(1000 * 2 ** attempt, 300_000);
}

/** The metric label of each action a run carries out. */
const PULL_REQUEST_ACTIONS: Readonly<Record<Exclude<Decision['action']['kind'], 'none'>, PullRequestAction>> = {
  open: 'opened',
  update: 'updated',
  resume: 'updated',
  refresh: 'refreshed',
  close: 'closed',
  'notify-edited': 'notified',
  'note-dismissal': 'notified',
};

const COMMAND = /^\s*\/policy-recommender\s+(run|rebase)\b/m;

/** Runs `run` and records its outcome, duration and the pull-request changes it made. */
async function measured(metrics: AppMetrics, run: () => Promise<RunResult>, signal: AbortSignal): Promise<void> {
  const started = performance.now();
  let outcome: RunOutcome = 'failed';
  try {
    const result = await run();
    outcome = result.outcome;
    for (const [kind, n] of Object.entries(result.applied)) {
      if (kind !== 'none' && n) metrics.pullRequests.inc({ action: PULL_REQUEST_ACTIONS[kind as keyof typeof PULL_REQUEST_ACTIONS] }, n);
    }
  } catch (e) {
    if (signal.aborted) outcome = 'aborted';
    throw e;
  } finally {
    metrics.runs.inc({ outcome });
    metrics.runDuration.observe({ outcome }, (performance.now() - started) / 1000);
  }
}

export function policyRecommenderApp(options: AppOptions): { app: ApplicationFunction; scheduler: () => Scheduler } {
  let scheduler: Scheduler | undefined;
  /** Why the installed repositories are not scheduled yet (for /readyz), or null. */
  let schedulesPending: string | null = options.scheduleOnLoad ? 'schedules not loaded: listing the installations' : null;

  const collectors = options.collectors;
  /** Each repository's open pull requests as this process last read them: runs read only what changed since (github/pull-request-views.ts). */
  const pullRequestViews = new PullRequestViews();
  /** What webhooks recorded for each repository's next run. */
  const inbox = new Inbox();
  const app: ApplicationFunction = (probot: Probot, { addHandler }) => {
    const log = probot.log;
    if (collectors) collectors.log = { info: (m) => log.info(m), warn: (m) => log.warn(m), error: (m) => log.error(m) };
    // Ready once loaded and the installed repositories' schedules are set (scheduleOnLoad).
    if (options.metrics) addHandler(opsHandler({ metrics: options.metrics, notReady: () => options.notReady?.() ?? schedulesPending }));
    // Bodies over GitHub's maximum, unsigned deliveries and redeliveries stop there (ops/webhook-edge.ts).
    guardWebhookEndpoint(probot, { log: { info: (m) => log.info(m), warn: (m) => log.warn(m) } });
    // Every handler below: a failure is logged without the delivery's payload (HandlerError).
    const on = ((events: Parameters<Probot['on']>[0], handler: (context: Context) => Promise<void>) =>
      probot.on(events, withoutPayloadInErrors(handler))) as unknown as Probot['on'];
    /** Each repository's clusters' paths, from the last time its configuration was read (push-trigger.ts). */
    const clusterPaths = new Map<string, readonly string[]>();
    /** Repositories whose configuration changed since their schedule was set: their next run resets it. */
    const configChanged = new Set<string>();
    const runFor = (key: RepositoryKey, trigger: string, signal: AbortSignal): Promise<void> =>
      options.runLock
        ? options.runLock.hold(repositoryId(key), signal, (held) => runOnce(key, trigger, held))
        : runOnce(key, trigger, signal);
    const runOnce = async (key: RepositoryKey, trigger: string, signal: AbortSignal): Promise<void> => {
      const octokit = (await probot.auth(key.installationId)) as Octokit;
      const { data } = await octokit.rest.repos.get({ owner: key.owner, repo: key.repo });
      const reader = githubConfigReader(octokit, new Map([[`${key.owner}/${key.repo}`.toLowerCase(), visibilityOf(data)]]));
      const loaded = await loadRepositoryConfig(reader, key, options.scheduleDefaults);
      adopt(key, loaded, configChanged.delete(repositoryId(key)));
      const id = repositoryId(key);
      const recorded = inbox.peek(id);
      // Not configured: not onboarded, nothing to do (and no dashboard to litter the repository).
      if (loaded.kind === 'absent') return inbox.forget(id, recorded);
      const run = async () => {
        const result = await runRepository(
          {
            repository: new GitHubRepository(
              octokit,
              {
                owner: key.owner,
                name: key.repo,
                defaultBranch: data.default_branch,
                nodeId: data.node_id,
              },
              { pullRequestViews },
            ),
            config: loaded,
            openFlowSource: collectors
              ? (cluster) => collectors.openFlowSource(cluster, () => options.openFlowSource(cluster))
              : options.openFlowSource,
            ...(options.clusterContext ? { clusterContext: options.clusterContext } : {}),
            template: options.template,
            ...(options.ciliumTemplate ? { ciliumTemplate: options.ciliumTemplate } : {}),
            engineVersion: options.engineVersion,
            now: options.now ?? (() => Math.floor(Date.now() / 1000)),
            log: { info: (m) => log.info(m), warn: (m) => log.warn(m) },
            recorded,
          },
          trigger,
          signal,
        );
        inbox.forget(id, result.served);
        return result;
      };
      await (options.metrics ? measured(options.metrics, run, signal) : run());
    };
    scheduler = new Scheduler({
      run: runFor,
      ...(options.isLeader ? { mayRunScheduled: options.isLeader } : {}),
      onError: (key, e) => log.error({ err: e }, `run of ${key.owner}/${key.repo} failed`),
      ...(options.settle ? { settle: options.settle } : {}),
    });
    const sched = scheduler;
    const scheduledCount = (): void => options.metrics?.repositoriesScheduled.set(sched.scheduled().length);

    /**
     * Takes in a configuration just read: remembers its clusters' paths and, when `reschedule`,
     * sets the repository's schedule from it (unconfigured repositories are not scheduled).
     */
    const adopt = (key: RepositoryKey, loaded: LoadedConfig, reschedule: boolean): void => {
      // Until an invalid configuration is fixed (a push of it), no push elsewhere asks for a run.
      clusterPaths.set(repositoryId(key), loaded.kind === 'valid' ? loaded.config.clusters.map((c) => c.path) : []);
      if (!reschedule) return;
      if (loaded.kind === 'absent') {
        sched.unschedule(key);
        return scheduledCount();
      }
      // An invalid configuration is reported by runs on the default schedule.
      let schedule = options.scheduleDefaults;
      if (loaded.kind === 'valid') {
        const config = loaded.config;
        schedule = { schedule: config.schedule, timezone: config.timezone };
        // Its runs read this far back: the collectors keep at least that much.
        for (const cluster of config.clusters) collectors?.keep(cluster.name, config.recommendation.initialLookback);
      }
      sched.schedule(key, schedule.schedule, schedule.timezone);
      scheduledCount();
    };

    /** Reads a repository's schedule; unconfigured repositories are not scheduled. */
    const scheduleRepository = async (octokit: Octokit, key: RepositoryKey): Promise<void> => {
      adopt(key, await loadRepositoryConfig(githubConfigReader(octokit), key, options.scheduleDefaults), true);
    };

    const keyOf = (context: Context): RepositoryKey => {
      const { installation, repository } = context.payload as {
        installation?: { id: number };
        repository: { owner: { login: string }; name: string };
      };
      return { installationId: installation!.id, owner: repository.owner.login, repo: repository.name };
    };

    /**
     * Records what an event told for the repository's next run, asks for that run and waits for
     * it. A record the run could not serve (it failed; a rebase command while the configuration
     * is invalid) fails the delivery, which GitHub shows as failed, to redeliver; the record
     * waits for the next run meanwhile.
     */
    const enqueue = async (context: Context, record: InboxRecord, trigger: string): Promise<void> => {
      const key = keyOf(context);
      inbox.record(repositoryId(key), record);
      await sched.request(key, trigger);
      if (inbox.holds(repositoryId(key), record))
        throw new Error(`the run for ${trigger} did not serve it (it failed, or the configuration is invalid): the next run serves it`);
    };

    // Closed or merged: the run tidies after it (decide.ts decideClosed): a dismissal is said once,
    // a merge loses its status labels, the branch goes. Its listing of what was updated since sees
    // the close; the record covers a listing that cannot (a new process, another replica).
    // A close the bot made itself (as obsolete: its body says so) deleted its branch in the same
    // step, and a run that stopped in between leaves it to the next run's listing: no run is
    // asked for. (The event carries the PR's `body` and `merged`: webhook-pull-request-closed in
    // @octokit/openapi-webhooks-types.)
    on('pull_request.closed', async (context) => {
      const pr = context.payload.pull_request;
      if (parseBranch(pr.head.ref) === null || !pr.labels.some((l) => l.name === RECOMMENDATION_LABEL)) return;
      if (!pr.merged && !isDismissal({ state: 'closed', body: pr.body ?? '' })) return;
      await enqueue(context, { kind: 'closed', branch: pr.head.ref }, `pull request #${pr.number} ${pr.merged ? 'merged' : 'closed'}`);
    });

    on(['pull_request.reopened', 'pull_request.labeled'], async (context) => {
      const pr = context.payload.pull_request;
      if (parseBranch(pr.head.ref) === null) return;
      const labelled = context.payload.action === 'labeled' ? context.payload.label?.name === REBASE_LABEL : true;
      if (labelled) await sched.request(keyOf(context), `pull request #${pr.number} ${context.payload.action}`);
    });

    on('issue_comment.created', async (context) => {
      const { comment, issue } = context.payload;
      if (comment.user?.type === 'Bot') return;
      const command = COMMAND.exec(comment.body)?.[1];
      if (command === undefined) return;
      const ours = issue.labels?.some((l) => l.name === RECOMMENDATION_LABEL || l.name === DASHBOARD_LABEL) ?? false;
      if (!ours) return;
      if (command === 'rebase' && issue.pull_request) {
        // The run regenerates the PR, as the rebase label has it do, once per command (the PR's state records it).
        await enqueue(context, { kind: 'rebase', pr: issue.number, comment: comment.id }, `rebase command on #${issue.number}`);
        return;
      }
      await sched.request(keyOf(context), `comment on #${issue.number}`);
    });

    on('issues.edited', async (context) => {
      const { issue, changes } = context.payload;
      const body = issue.body ?? '';
      if (!body.includes(DASHBOARD_MARKER)) return;
      // The bot's own write: it may have overwritten a box a person ticked or unticked between its
      // re-read and its write (GitHub's issue update has no compare-and-swap); only this webhook
      // says what it replaced (`changes.body.from`), so that is recorded, and the next run puts the
      // choice back under the run lock (run/restore-boxes.ts) and serves it.
      const from = changes.body?.from;
      if (context.payload.sender?.type === 'Bot') {
        if (from === undefined || overwrittenBoxes(from, body).size === 0) return;
        await enqueue(context, { kind: 'dashboard-write', issue: issue.number, from, to: body }, 'dashboard (a box changed during a run)');
        return;
      }
      if (!issue.labels?.some((l) => l.name === DASHBOARD_LABEL)) return;
      const requests = dashboardRequests(body);
      if (requests.run || requests.recreate.size > 0) await sched.request(keyOf(context), 'dashboard');
    });

    // A person closing the dashboard or removing its label: the run put back at once what holds
    // the bot's memory (run-repository.ts findDashboards), rather than at the next scheduled run.
    on(['issues.closed', 'issues.unlabeled'], async (context) => {
      const { issue } = context.payload;
      if (context.payload.sender?.type === 'Bot' || !(issue.body ?? '').includes(DASHBOARD_MARKER)) return;
      if (context.payload.action === 'unlabeled' && context.payload.label?.name !== DASHBOARD_LABEL) return;
      await sched.request(keyOf(context), `dashboard ${context.payload.action}`);
    });

    // No request here: a burst of pushes asks for one run once it has settled (scheduler.ts),
    // which reads the configuration once and, if it changed, resets the schedule from it.
    on('push', async (context) => {
      const key = keyOf(context);
      const trigger = pushTrigger(context.payload, clusterPaths.get(repositoryId(key)));
      if (trigger === null) return;
      if (trigger.kind === 'configuration') configChanged.add(repositoryId(key));
      sched.requestSettled(key, trigger.reason);
    });

    on(['installation.created', 'installation_repositories.added'], async (context) => {
      const installationId = context.payload.installation.id;
      const repositories = context.payload.action === 'created' ? (context.payload.repositories ?? []) : context.payload.repositories_added;
      for (const r of repositories) {
        const [owner, repo] = r.full_name.split('/') as [string, string];
        await scheduleRepository(context.octokit as Octokit, { installationId, owner, repo });
      }
    });

    on(['installation.deleted', 'installation_repositories.removed'], async (context) => {
      const installationId = context.payload.installation.id;
      const repositories =
        context.payload.action === 'deleted' ? (context.payload.repositories ?? []) : context.payload.repositories_removed;
      for (const r of repositories) {
        const [owner, repo] = r.full_name.split('/') as [string, string];
        sched.unschedule({ installationId, owner, repo });
      }
      scheduledCount();
    });

    if (options.scheduleOnLoad) void scheduleInstalled();

    /** Lists every installation's repositories and schedules them, until it succeeds once. */
    async function scheduleInstalled(): Promise<void> {
      for (let attempt = 0; ; attempt++) {
        try {
          const appOctokit = (await probot.auth()) as Octokit;
          for await (const { data: installations } of appOctokit.paginate.iterator(appOctokit.rest.apps.listInstallations, {
            per_page: 100,
          })) {
            for (const installation of installations) {
              const octokit = (await probot.auth(installation.id)) as Octokit;
              const repositories = await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
              for (const r of repositories) {
                const key = { installationId: installation.id, owner: r.owner.login, repo: r.name };
                await scheduleRepository(octokit, key).catch((e: unknown) => {
                  // Its configuration could not be read now: scheduled by default, its first run reads it and sets its schedule.
                  log.warn({ err: e }, `cannot read the configuration of ${r.full_name}: scheduled by default until a run reads it`);
                  configChanged.add(repositoryId(key));
                  sched.schedule(key, options.scheduleDefaults.schedule, options.scheduleDefaults.timezone);
                  scheduledCount();
                });
              }
            }
          }
          schedulesPending = null;
          log.info(`schedules loaded: ${sched.scheduled().length} repositories scheduled`);
          return;
        } catch (e) {
          const delay = (options.listingRetryDelay ?? listingRetryDelay)(attempt);
          schedulesPending = `schedules not loaded: listing the installations failed (${e instanceof Error ? e.message : String(e)}); trying again in ${Math.round(delay / 1000)} s`;
          log.warn({ err: e }, schedulesPending);
          await new Promise((resolve) => setTimeout(resolve, delay).unref());
        }
      }
    }
  };

  return {
    app,
    scheduler: () => {
      if (scheduler === undefined) throw new Error('the app is not loaded');
      return scheduler;
    },
  };
}

function repositoryId(key: RepositoryKey): string {
  return `${key.installationId}/${key.owner}/${key.repo}`;
}
