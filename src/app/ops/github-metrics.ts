// An Octokit plugin that counts GitHub requests by status and records the rate limit left, from
// every response (errors included). Installed on the Octokit class Probot uses, so every
// installation's client reports without the app code knowing.

import type { ProbotOctokit } from 'probot';
import type { AppMetrics } from './metrics.ts';

interface ResponseLike {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string | number | undefined>>;
}

export function githubMetricsPlugin(metrics: AppMetrics): (octokit: Pick<InstanceType<typeof ProbotOctokit>, 'hook'>) => void {
  const record = (response: ResponseLike | undefined, fallback: string): void => {
    metrics.githubRequests.inc({ status: response?.status === undefined ? fallback : String(response.status) });
    const remaining = Number(response?.headers?.['x-ratelimit-remaining']);
    const resource = response?.headers?.['x-ratelimit-resource'];
    if (Number.isFinite(remaining))
      metrics.githubRateLimitRemaining.set({ resource: typeof resource === 'string' ? resource : 'core' }, remaining);
  };
  return (octokit) => {
    octokit.hook.after('request', (response) => record(response as ResponseLike, 'error'));
    octokit.hook.error('request', (error) => {
      const e = error as { status?: number; response?: ResponseLike };
      record(e.response ?? (typeof e.status === 'number' ? { status: e.status } : undefined), 'error');
      throw error;
    });
  };
}
