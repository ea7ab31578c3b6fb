// The real App in Probot against the fake GitHub, with a clock, a flow-log file and (optionally)
// the cluster's namespaces under the test's control, for lifecycle tests over many runs.

import { createHmac, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, jest } from '@jest/globals';
import Bottleneck from 'bottleneck';
import { type Logger, pino } from 'pino';
import { Probot, ProbotOctokit, Server } from 'probot';
import { policyRecommenderApp } from '../../../src/app/app.ts';
import type { FlowCollectors } from '../../../src/app/collect/collector.ts';
import { githubMetricsPlugin } from '../../../src/app/ops/github-metrics.ts';
import { openInstrumented } from '../../../src/app/ops/instrumented-flow-source.ts';
import type { AppMetrics } from '../../../src/app/ops/metrics.ts';
import { DASHBOARD_LABEL } from '../../../src/app/render/dashboard.ts';
import type { Scheduler } from '../../../src/app/scheduler.ts';
import type { ClusterContext, ClusterNamespace } from '../../../src/cluster/cluster-context.ts';
import type { RunLock } from '../../../src/cluster/run-lock.ts';
import { CONFIG_PATH } from '../../../src/config/repository-config.ts';
import { SkipReport } from '../../../src/flows/skip-report.ts';
import { type FlowSource, withChanges } from '../../../src/flows/source.ts';
import { FileFlowSource } from '../../../src/flows/sources/file-source.ts';
import { CILIUM_TEMPLATE_DIR, loadTree, TEMPLATE_DIR } from '../../../src/tree/fs-tree.ts';
import { FakeGitHub, type FakeRepository, type WebhookEvent } from '../../support/fake-github.ts';
import { flowLine, type LineOptions } from '../../support/flow-lines.ts';
import { freePort } from '../../support/free-port.ts';

/** Probot replaces a class's throttle options; the function form keeps throttling off. */
const AppOctokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  retry: { enabled: false },
  throttle: { ...(options['throttle'] as object | undefined), enabled: false },
}));

/**
 * Probot's retry and throttling plugins as in production (5xx retried 3 times, secondary rate
 * limits waited out as `retry-after` says), with their clocks made fast: a retry-after second
 * or a backoff step is a millisecond, and writes are not spaced a second apart.
 */
const RetryingOctokit = ProbotOctokit.defaults((options: Record<string, unknown>) => {
  const group = (maxConcurrent: number | null) => new Bottleneck.Group({ maxConcurrent, minTime: 0 });
  return {
    ...options,
    retry: { retryAfterBaseValue: 1 },
    throttle: {
      ...(options['throttle'] as object | undefined),
      retryAfterBaseValue: 1,
      global: group(10),
      auth: group(1),
      search: group(1),
      write: group(1),
      notifications: group(1),
    },
  };
});

/** 2026-11-22T12:00:00Z */
export const T0 = 1795348800;
export const HOUR = 3600;

let privateKey: string | undefined;

export const CONFIG = [
  'clusters:',
  '  - name: prod',
  '    path: clusters/prod',
  'schedule: "0 * * * *"',
  'stabilizationPeriod: 3h',
  'pullRequests:',
  '  hourlyLimit: 0',
  '  concurrentLimit: 0',
].join('\n');

/** The source, claiming to keep only `retention` seconds of history. */
function withRetention(source: FlowSource, retention: number): FlowSource {
  return withChanges(source, { retention });
}

export interface HarnessOptions {
  config?: string;
  files?: Record<string, string>;
  /**
   * Each cluster's path (as the configuration names them) to start with: `template` (default) holds the cluster-wide
   * files of policies-template/clusters/example/ (tiers, staged default deny), as a repository set
   * up from the template does (policies-template/README.md); `empty` holds nothing, so the first
   * run also opens the bootstrap PR with them.
   */
  clusterTree?: 'template' | 'empty';
  /** Metrics the app records into, as `npm start` wires them (GitHub requests, flow sources). */
  metrics?: AppMetrics;
  /** Replaces the flow-log file the harness writes. */
  openFlowSource?: (cluster: string) => Promise<FlowSource>;
  /** The app's logger (default: fatal only); errors and warnings are recorded either way. */
  log?: Logger;
  /** Seconds of history the harness's flow file pretends to keep, as Goldmane keeps an hour. */
  flowRetention?: number;
  /** Wraps the harness's file source (e.g. to tell which Calico wrote the flows). */
  wrapFlowSource?: (source: FlowSource) => FlowSource;
  /** The cluster's API (e.g. a real KubernetesClusterContext against a KubeApiServer); default: the harness's namespaces. */
  clusterContext?: () => ClusterContext;
  /** Probot's retry and throttling plugins on, as in production (with fast clocks). Default: off. */
  retries?: boolean;
  /** Clusters whose flows are collected continuously (as `npm start` collects Goldmane's). */
  collectors?: FlowCollectors;
  /**
   * Serve the App with Probot's own HTTP server on 127.0.0.1, verifying deliveries with this
   * secret: `post` delivers webhooks to it (default: no server, `deliver` hands them to Probot).
   */
  webhookSecret?: string;
  /** How `deliver()` delivers webhooks by default: at once, each twice (see FakeGitHub.deliver). */
  deliveries?: { concurrent?: boolean; twice?: boolean };
  /** Each run holds this (as with several replicas and a Lease: src/cluster/run-lock.ts). */
  runLock?: RunLock;
  /** List the installations and schedule their repositories when the App loads, as `npm start` does. */
  scheduleOnLoad?: { readonly retryDelayMs: number };
  /** With `webhookSecret`: Probot's server follows this smee channel (WEBHOOK_PROXY_URL). */
  webhookProxy?: string;
  /** Runs before the App loads (to make GitHub fail its start-up requests). */
  beforeLoad?: (github: FakeGitHub) => void;
}

/** Another replica of the App: see AppHarness.replica(). */
export interface Replica {
  readonly errors: unknown[];
  readonly scheduler: Scheduler;
  /** Traffic only this replica's flow source has (on top of the harness's). */
  see(...flows: Omit<LineOptions, 'at'>[]): Promise<void>;
  run(trigger?: string): Promise<void>;
  /** Hands this replica one webhook delivery (as GitHub would to whichever replica its request reached). */
  receive(event: WebhookEvent): Promise<void>;
}

export class AppHarness {
  now = T0;
  readonly github: FakeGitHub;
  readonly repo: FakeRepository;
  readonly errors: unknown[] = [];
  /** The App's info messages (what the dashboard leaves to the log: where flows were read from). */
  readonly infos: string[] = [];
  /** Namespaces the cluster has; undefined = no cluster access configured. */
  namespaces: string[] | undefined;
  #lines: string[] = [];
  #dir = '';
  #probot!: Probot;
  #scheduler!: Scheduler;
  #replicas = 0;
  #deliveries: { concurrent?: boolean; twice?: boolean } = {};
  readonly #others: Scheduler[] = [];
  #server: Server | undefined;
  /** Runs asked for by bursts of pushes, waiting for `settle()`. */
  readonly #settling: (() => Promise<void>)[] = [];
  #secret = '';
  /** Where the App's server takes webhooks (with `webhookSecret`). */
  webhookUrl = '';

  private constructor(files: Record<string, string>) {
    this.github = new FakeGitHub({ now: () => this.now }).start();
    this.repo = this.github.addRepository({ owner: 'acme', name: 'policies', installationId: 7, files });
  }

  static async start(options: HarnessOptions = {}): Promise<AppHarness> {
    // clusters/prod (the default configuration's) and every other cluster path the configuration
    // names (its `path:` lines, those inside the repository) get the template's files.
    const named = [...(options.config ?? CONFIG).matchAll(/^\s*path:\s*["']?([^"'\s#]+)/gm)].map((m) => m[1]!);
    const paths = [...new Set(['clusters/prod', ...named.filter((p) => p !== '.' && !p.split('/').includes('..') && !p.startsWith('/'))])];
    const template = options.clusterTree === 'empty' ? [] : [...(await loadTree(TEMPLATE_DIR))];
    const cluster = paths.flatMap((dir) => template.map(([path, text]) => [`${dir}/${path}`, text]));
    const h = new AppHarness({
      'README.md': '# Policies\n',
      [CONFIG_PATH]: options.config ?? CONFIG,
      ...Object.fromEntries(cluster),
      ...options.files,
    });
    h.#dir = await mkdtemp(join(tmpdir(), 'app-harness-'));
    h.#deliveries = options.deliveries ?? {};
    const openFile = async (): Promise<FlowSource> => {
      const file = await FileFlowSource.open([join(h.#dir, 'flows.log')]);
      const source = options.wrapFlowSource?.(file) ?? file;
      return options.flowRetention === undefined ? source : withRetention(source, options.flowRetention);
    };
    options.beforeLoad?.(h.github);
    const loaded = await h.#load(options, options.openFlowSource ?? openFile, h.errors);
    h.#probot = loaded.probot;
    h.#scheduler = loaded.scheduler;
    await h.#writeFlows();
    return h;
  }

  /** A Probot with the App loaded against this harness's fake GitHub, clock and cluster. */
  async #load(
    options: HarnessOptions,
    open: (cluster: string) => Promise<FlowSource>,
    errors: unknown[],
  ): Promise<{ probot: Probot; scheduler: Scheduler }> {
    privateKey ??= generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
    const metrics = options.metrics;
    const Base = options.retries ? RetryingOctokit : AppOctokit;
    const Octokit = metrics ? Base.plugin(githubMetricsPlugin(metrics)) : Base;
    let probot = new Probot({ appId: 1, privateKey, Octokit, ...(options.log ? { log: options.log } : { logLevel: 'fatal' as const }) });
    const { app, scheduler } = policyRecommenderApp({
      scheduleDefaults: { schedule: '0 */2 * * *', timezone: 'UTC' },
      openFlowSource: metrics ? (cluster) => openInstrumented(() => open(cluster), { cluster, source: 'file' }, metrics) : open,
      clusterContext: () => options.clusterContext?.() ?? (this.namespaces === undefined ? null : this.#context()),
      template: await loadTree(TEMPLATE_DIR),
      ciliumTemplate: await loadTree(CILIUM_TEMPLATE_DIR),
      engineVersion: 'test',
      now: () => this.now,
      scheduleOnLoad: options.scheduleOnLoad !== undefined,
      ...(options.scheduleOnLoad ? { listingRetryDelay: () => options.scheduleOnLoad!.retryDelayMs } : {}),
      ...(metrics ? { metrics } : {}),
      ...(options.collectors ? { collectors: options.collectors } : {}),
      ...(options.runLock ? { runLock: options.runLock } : {}),
      // A burst of pushes settles when the test says so (settle(), deliver()), not on a clock.
      settle: (start) => {
        this.#settling.push(start);
        return () => this.#settling.splice(this.#settling.indexOf(start) >>> 0, 1);
      },
    });
    if (options.webhookSecret !== undefined) {
      // Probot's server, as `run` starts it (probot lib/run.js: new Server, load, start).
      const port = await freePort();
      const server = new Server({
        Probot: Probot.defaults({ appId: 1, privateKey, Octokit, secret: options.webhookSecret }),
        log: options.log ?? pino({ level: 'silent' }),
        host: '127.0.0.1',
        port,
        ...(options.webhookProxy ? { webhookProxy: options.webhookProxy } : {}),
      });
      await server.load((loaded, appOptions) => {
        probot = loaded;
        return app(loaded, appOptions);
      });
      await server.start();
      this.#server = server;
      this.#secret = options.webhookSecret;
      this.webhookUrl = `http://127.0.0.1:${port}/api/github/webhooks`;
    } else {
      // No HTTP server here: the ops endpoints are tested through a real one elsewhere.
      await probot.load(app, { cwd: process.cwd(), addHandler: () => undefined });
    }
    const info = probot.log.info.bind(probot.log) as (...args: unknown[]) => void;
    jest.spyOn(probot.log, 'info').mockImplementation((...args: unknown[]) => {
      this.infos.push(args.map(String).join(' '));
      if (options.log) info(...args);
    });
    for (const level of ['error', 'warn'] as const) {
      const write = probot.log[level].bind(probot.log) as (...args: unknown[]) => void;
      jest.spyOn(probot.log, level).mockImplementation((...args: unknown[]) => {
        errors.push([level, ...args]);
        if (options.log) write(...args);
      });
    }
    return { probot, scheduler: scheduler() };
  }

  /**
   * A second replica of the App (its own Probot, scheduler and Octokit, no shared Lease) on the
   * same GitHub, cluster and clock, reading the same flows plus those given to its own `see`.
   */
  async replica(options: Pick<HarnessOptions, 'runLock'> = {}): Promise<Replica> {
    const file = join(this.#dir, `replica-${++this.#replicas}.log`);
    await writeFile(file, '');
    const errors: unknown[] = [];
    const { probot, scheduler } = await this.#load(options, () => FileFlowSource.open([join(this.#dir, 'flows.log'), file]), errors);
    this.#others.push(scheduler);
    const lines: string[] = [];
    return {
      errors,
      scheduler,
      see: async (...flows) => {
        lines.push(...flows.map((f) => flowLine({ ...f, at: this.now - this.seenAgo })));
        await writeFile(file, lines.map((l) => `${l}\n`).join(''));
      },
      run: (trigger = 'replica') => scheduler.request(this.repo.key(), trigger),
      receive: (event) => probot.receive(event),
    };
  }

  #context(): ClusterContext {
    const namespaces: ClusterNamespace[] = (this.namespaces ?? []).map((name) => ({
      name,
      labels: { 'kubernetes.io/metadata.name': name },
    }));
    return {
      namespaces: async () => namespaces,
      workloads: async () => [],
      calicoVersion: async () => null,
      calicoVersionWarning: 'the test harness runs no Calico',
      networkSets: async () => [],
      ipPools: async () => [],
      skipped: { namespaces: new SkipReport(), workloads: new SkipReport(), networkSets: new SkipReport(), ipPools: new SkipReport() },
    };
  }

  /** How long before `now` the records `see` writes start (seconds). */
  seenAgo = 600;

  /** Traffic seen at the current time (one record each). */
  async see(...flows: Omit<LineOptions, 'at'>[]): Promise<void> {
    this.#lines.push(...flows.map((f) => flowLine({ ...f, at: this.now - this.seenAgo })));
    await this.#writeFlows();
  }

  async #writeFlows(): Promise<void> {
    await writeFile(join(this.#dir, 'flows.log'), this.#lines.map((l) => `${l}\n`).join(''));
  }

  /** Hands the App one webhook delivery (deliver() hands it all of them). */
  receive(event: WebhookEvent): Promise<void> {
    return this.#probot.receive(event);
  }

  async run(trigger = 'test'): Promise<void> {
    await this.#scheduler.request(this.repo.key(), trigger);
  }

  /**
   * Delivers the webhooks GitHub would have sent (people's actions and the App's own), and the
   * runs bursts of pushes asked for, until nothing is left; with `concurrent` and `twice`, at once
   * and each twice (see FakeGitHub.deliver).
   */
  async deliver(options: { concurrent?: boolean; twice?: boolean } = this.#deliveries): Promise<void> {
    for (let round = 0; round === 0 || this.github.events().length > 0; round++) {
      if (round >= 20) throw new Error('the runs pushes asked for still cause webhooks after 20 rounds');
      await this.github.deliver(this.#probot, options);
      await this.settle();
    }
  }

  /** Starts the runs that bursts of pushes asked for (as when the burst has settled), and waits for them. */
  async settle(): Promise<void> {
    await Promise.all(this.#settling.splice(0).map((start) => start()));
  }

  /**
   * Posts a webhook to the App's server as GitHub does (signed with the harness's secret unless
   * `signature` is given; the delivery id is the event's unless `id` is given).
   */
  async post(event: WebhookEvent, options: { id?: string; signature?: string } = {}): Promise<Response> {
    return fetch(this.webhookUrl, { method: 'POST', headers: this.deliveryHeaders(event, options), body: JSON.stringify(event.payload) });
  }

  /** The headers GitHub sends with a delivery of `event` (signed with the harness's secret unless `signature` is given). */
  deliveryHeaders(event: WebhookEvent, options: { id?: string; signature?: string } = {}): Record<string, string> {
    const body = JSON.stringify(event.payload);
    return {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/test',
      'x-github-event': event.name,
      'x-github-delivery': options.id ?? event.id,
      'x-hub-signature-256': options.signature ?? `sha256=${createHmac('sha256', this.#secret).update(body).digest('hex')}`,
    };
  }

  /** The App's private key (a secret tests check never leaks). */
  get privateKey(): string {
    return privateKey!;
  }

  get scheduler(): Scheduler {
    return this.#scheduler;
  }

  dashboard(): string {
    return this.repo.issues({ label: DASHBOARD_LABEL })[0]?.body ?? '';
  }

  /** Requests that change something (GraphQL mutations included). */
  writes(): string[] {
    return this.github
      .requests()
      .filter(
        (r) =>
          r.method !== 'GET' &&
          !(r.path === '/graphql' && !/^(markPullRequestReadyForReview|convertPullRequestToDraft|updateRefs)$/.test(r.graphql ?? '')),
      )
      .filter((r) => !r.path.endsWith('/access_tokens'))
      .map((r) => `${r.method} ${r.path}${r.graphql ? ` ${r.graphql}` : ''}`);
  }

  async stop(): Promise<void> {
    await this.#server?.stop();
    await Promise.all([this.#scheduler, ...this.#others].map((s) => s.stop()));
    await rm(this.#dir, { recursive: true, force: true });
    this.github.stop(); // last: it throws when a request broke GitHub's description
  }
}

/** After a test: nothing logged as an error or warning, no request the fake GitHub did not expect; then stops the harness. */
export async function stopClean(h: AppHarness | undefined): Promise<void> {
  if (h === undefined) return;
  expect(h.errors).toEqual([]);
  expect(h.github.unexpected()).toEqual([]);
  await h.stop();
}
