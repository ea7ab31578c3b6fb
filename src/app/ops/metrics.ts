// What an operator watches, as Prometheus metrics: runs and their outcome and duration, flow
// records read and skipped, pull requests opened/updated/closed, GitHub requests and the rate
// limit left, flow-source errors. One registry per app instance (tests make their own). Labels
// stay bounded: clusters come from the deployment's configuration, never from a repository.

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const PREFIX = 'policy_recommender_';

export type RunOutcome = 'done' | 'config-error' | 'failed' | 'aborted';
export type PullRequestAction = 'opened' | 'updated' | 'refreshed' | 'closed' | 'notified';

export class AppMetrics {
  readonly registry = new Registry();
  readonly runs = new Counter({
    name: `${PREFIX}runs_total`,
    help: 'Runs of a repository, by outcome (done, config-error, failed, aborted)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly runDuration = new Histogram({
    name: `${PREFIX}run_duration_seconds`,
    help: 'Duration of a run of a repository',
    labelNames: ['outcome'] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600],
    registers: [this.registry],
  });
  readonly flowInputsRead = new Counter({
    name: `${PREFIX}flow_inputs_read_total`,
    help: 'Flow-log lines, Goldmane flows or Elasticsearch buckets read, valid or not',
    labelNames: ['cluster', 'source'] as const,
    registers: [this.registry],
  });
  readonly flowInputsUnlearnable = new Counter({
    name: `${PREFIX}flow_inputs_unlearnable_total`,
    help: "Flow inputs that are well formed but carry nothing to learn (a forwarding node's report, protocol 0, ...)",
    labelNames: ['cluster', 'source'] as const,
    registers: [this.registry],
  });

  readonly flowInputsSkipped = new Counter({
    name: `${PREFIX}flow_inputs_skipped_total`,
    help: 'Flow inputs skipped as malformed',
    labelNames: ['cluster', 'source'] as const,
    registers: [this.registry],
  });
  readonly flowSourceErrors = new Counter({
    name: `${PREFIX}flow_source_errors_total`,
    help: 'Flow-source reads that failed (Goldmane, Elasticsearch, files): that cluster was not updated in that run',
    labelNames: ['cluster', 'source'] as const,
    registers: [this.registry],
  });
  readonly collectorConnected = new Gauge({
    name: `${PREFIX}collector_connected`,
    help: 'Whether the flow collector of a cluster follows its Goldmane now (1) or not (0: reconnecting, or this replica does not hold the Lease)',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });
  readonly collectorFlows = new Gauge({
    name: `${PREFIX}collector_flows`,
    help: 'Distinct flows the flow collector of a cluster holds',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });
  readonly collectorBytes = new Gauge({
    name: `${PREFIX}collector_bytes`,
    help: 'Estimated memory the flow collector of a cluster holds (its cap applies to this estimate)',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });
  readonly collectorLostSeconds = new Counter({
    name: `${PREFIX}collector_lost_seconds_total`,
    help: 'Seconds of history the flow collector of a cluster lost while collecting: unreachable (Goldmane could not be followed for longer than it keeps), memory-cap (dropped to stay within the cap)',
    labelNames: ['cluster', 'cause'] as const,
    registers: [this.registry],
  });
  readonly pullRequests = new Counter({
    name: `${PREFIX}pull_requests_total`,
    help: 'Changes made to recommendation pull requests, by action',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });
  readonly repositoriesScheduled = new Gauge({
    name: `${PREFIX}repositories_scheduled`,
    help: 'Repositories with a schedule here (installed and configured); 0 until the installations are listed at start-up',
    registers: [this.registry],
  });
  readonly githubRequests = new Counter({
    name: `${PREFIX}github_requests_total`,
    help: 'Requests to the GitHub API, by HTTP status (or "error" without a response)',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly githubRateLimitRemaining = new Gauge({
    name: `${PREFIX}github_rate_limit_remaining`,
    help: 'Requests left in the current rate-limit window, as of the last GitHub response, by resource (core, graphql ...)',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    // Process metrics (memory, CPU, event-loop lag) are global to the process: only the server's registry has them.
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }
}
