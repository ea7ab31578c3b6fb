// The operator's HTTP endpoints, served beside the webhooks (Probot's server, same port):
// /healthz (the process serves), /readyz (the app is loaded and can take webhooks), /metrics
// (Prometheus text format). A Probot handler: returns false for every other path.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppMetrics } from './metrics.ts';

export interface Endpoints {
  readonly metrics: AppMetrics;
  /** Why the app is not ready, or null when it is. */
  readonly notReady: () => string | null;
}

export function opsHandler(endpoints: Endpoints): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/healthz' && path !== '/readyz' && path !== '/metrics') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
      return true;
    }
    if (path === '/healthz') {
      reply(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    } else if (path === '/readyz') {
      const reason = endpoints.notReady();
      reply(res, reason === null ? 200 : 503, 'text/plain; charset=utf-8', `${reason ?? 'ready'}\n`);
    } else {
      const { registry } = endpoints.metrics;
      reply(res, 200, registry.contentType, await registry.metrics());
    }
    return true;
  };
}

function reply(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
