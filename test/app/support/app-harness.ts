// The real App in Probot against the fake GitHub, with a clock, a flow-log file and (optionally)
// the cluster's namespaces under the test's control, for lifecycle tests over many runs.

import { jest } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Probot, ProbotOctokit } from 'probot';
import { policyRecommenderApp } from '../../../src/app/app.ts';
import { CONFIG_PATH } from '../../../src/app/config/repository-config.ts';
import type { Scheduler } from '../../../src/app/scheduler.ts';
import { DASHBOARD_LABEL } from '../../../src/app/render/dashboard.ts';
import type { ClusterContext, ClusterNamespace } from '../../../src/cluster/cluster-context.ts';
import { SkipReport } from '../../../src/flows/skip-report.ts';
import { FileFlowSource } from '../../../src/flows/sources/file-source.ts';
import { TEMPLATE_DIR } from '../../../src/pipeline/run.ts';
import { loadTree } from '../../../src/repo/fs-tree.ts';
import { githubMetricsPlugin } from '../../../src/app/ops/github-metrics.ts';
import { openInstrumented } from '../../../src/app/ops/instrumented-flow-source.ts';
import type { AppMetrics } from '../../../src/app/ops/metrics.ts';
import type { FlowSource } from '../../../src/flows/source.ts';
import { FakeGitHub, type FakeRepository } from '../../support/fake-github.ts';
import { flowLine, type LineOptions } from '../../support/flow-lines.ts';

/** Probot replaces a class's throttle options; the function form keeps throttling off. */
const AppOctokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  retry: { enabled: false },
  throttle: { ...(options['throttle'] as object | undefined), enabled: false },
}));

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
  return {
    retention,
    get description() {
      return source.description;
    },
    get skipped() {
      return source.skipped;
    },
    get inputsRead() {
      return source.inputsRead;
    },
    read: (window, onRecord) => source.read(window, onRecord),
  };
}

export class AppHarness {
  now = T0;
  readonly github: FakeGitHub;
  readonly repo: FakeRepository;
  readonly errors: unknown[] = [];
  /** Namespaces the cluster has; undefined = no cluster access configured. */
  namespaces: string[] | undefined;
  #lines: string[] = [];
  #dir = '';
  #probot!: Probot;
  #scheduler!: Scheduler;

  private constructor(files: Record<string, string>) {
    this.github = new FakeGitHub({ now: () => this.now }).start();
    this.repo = this.github.addRepository({ owner: 'acme', name: 'policies', installationId: 7, files });
  }

  static async start(
    options: {
      config?: string;
      files?: Record<string, string>;
      /** Metrics the app records into, as `npm start` wires them (GitHub requests, flow sources). */
      metrics?: AppMetrics;
      /** Replaces the flow-log file the harness writes. */
      openFlowSource?: (cluster: string) => Promise<FlowSource>;
      /** The app's logger (default: fatal only); errors and warnings are recorded either way. */
      log?: Logger;
      /** Seconds of history the harness's flow file pretends to keep, as Goldmane keeps an hour. */
      flowRetention?: number;
    } = {},
  ): Promise<AppHarness> {
    const h = new AppHarness({ 'README.md': '# Policies\n', [CONFIG_PATH]: options.config ?? CONFIG, ...options.files });
    h.#dir = await mkdtemp(join(tmpdir(), 'app-harness-'));
    privateKey ??= generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
    const metrics = options.metrics;
    const Octokit = metrics ? AppOctokit.plugin(githubMetricsPlugin(metrics)) : AppOctokit;
    h.#probot = new Probot({ appId: 1, privateKey, Octokit, ...(options.log ? { log: options.log } : { logLevel: 'fatal' as const }) });
    const openFile = async (): Promise<FlowSource> => {
      const source = await FileFlowSource.open([join(h.#dir, 'flows.log')]);
      return options.flowRetention === undefined ? source : withRetention(source, options.flowRetention);
    };
    const open = options.openFlowSource ?? openFile;
    const { app, scheduler } = policyRecommenderApp({
      scheduleDefaults: { schedule: '0 */2 * * *', timezone: 'UTC' },
      openFlowSource: metrics ? (cluster) => openInstrumented(() => open(cluster), { cluster, source: 'file' }, metrics) : open,
      clusterContext: () => (h.namespaces === undefined ? null : h.#context()),
      template: await loadTree(TEMPLATE_DIR),
      engineVersion: 'test',
      now: () => h.now,
      scheduleOnLoad: false,
      ...(metrics ? { metrics } : {}),
    });
    // No HTTP server here: the ops endpoints are tested through a real one elsewhere.
    await h.#probot.load(app, { cwd: process.cwd(), addHandler: () => undefined });
    for (const level of ['error', 'warn'] as const) {
      const write = h.#probot.log[level].bind(h.#probot.log) as (...args: unknown[]) => void;
      jest.spyOn(h.#probot.log, level).mockImplementation((...args: unknown[]) => {
        h.errors.push([level, ...args]);
        if (options.log) write(...args);
      });
    }
    h.#scheduler = scheduler();
    await h.#writeFlows();
    return h;
  }

  #context(): ClusterContext {
    const namespaces: ClusterNamespace[] = (this.namespaces ?? []).map((name) => ({ name, labels: { 'kubernetes.io/metadata.name': name } }));
    return { namespaces: async () => namespaces, workloads: async () => [], skipped: { namespaces: new SkipReport(), workloads: new SkipReport() } };
  }

  /** Traffic seen at the current time (one record each). */
  async see(...flows: Omit<LineOptions, 'at'>[]): Promise<void> {
    this.#lines.push(...flows.map((f) => flowLine({ ...f, at: this.now - 600 })));
    await this.#writeFlows();
  }

  async #writeFlows(): Promise<void> {
    await writeFile(join(this.#dir, 'flows.log'), this.#lines.map((l) => `${l}\n`).join(''));
  }

  async run(trigger = 'test'): Promise<void> {
    await this.#scheduler.request(this.repo.key(), trigger);
  }

  /** Delivers the webhooks GitHub would have sent (people's actions and the App's own). */
  async deliver(): Promise<void> {
    await this.github.deliver(this.#probot);
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
      .filter((r) => r.method !== 'GET' && !(r.path === '/graphql' && !/^(markPullRequestReadyForReview|convertPullRequestToDraft)$/.test(r.graphql ?? '')))
      .filter((r) => !r.path.endsWith('/access_tokens'))
      .map((r) => `${r.method} ${r.path}${r.graphql ? ` ${r.graphql}` : ''}`);
  }

  async stop(): Promise<void> {
    await this.#scheduler.stop();
    this.github.stop();
    await rm(this.#dir, { recursive: true, force: true });
  }
}
