// /healthz, /readyz and /metrics, served by Probot's own server beside the webhooks, over real
// HTTP; and the webhooks themselves refuse a delivery without the right signature.

import { createHmac, generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, test } from '@jest/globals';
import { Probot, Server } from 'probot';
import { AppMetrics } from '../../src/app/ops/metrics.ts';
import { capturedLog } from '../support/captured-log.ts';
import { freePort } from '../support/free-port.ts';
import { appWithoutFlows, editedIssuePayload } from './support/bare-app.ts';
import { metricSamples } from './support/metric-samples.ts';

const WEBHOOK_SECRET = 'webhook-secret-3f9a1c77';

describe('HTTP endpoints beside the webhooks', () => {
  let server: Server | undefined;
  let logText = () => '';
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function serve(notReady: () => string | null): Promise<{ url: string; metrics: AppMetrics }> {
    const metrics = new AppMetrics();
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const { log, text } = capturedLog();
    logText = text;
    server = new Server({
      Probot: Probot.defaults({ appId: 1, privateKey, secret: WEBHOOK_SECRET }),
      log,
      host: '127.0.0.1',
      port: await freePort(),
    });
    const { app } = appWithoutFlows({ metrics, notReady });
    await server.load(app);
    const http = await server.start();
    return { url: `http://127.0.0.1:${(http.address() as { port: number }).port}`, metrics };
  }

  test('/healthz answers while the process serves; /readyz says why it is not ready yet', async () => {
    let reason: string | null = 'starting';
    const { url } = await serve(() => reason);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${url}/readyz`);
    expect([notReady.status, await notReady.text()]).toEqual([503, 'starting\n']);
    reason = null;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/healthz`, { method: 'POST' })).status).toBe(405);
    // Probot's own routes and its 404 still work around ours.
    expect((await fetch(`${url}/ping`)).status).toBe(200);
    expect((await fetch(`${url}/nothing-here`)).status).toBe(404);
  });

  test('/metrics is Prometheus text with every metric the operator guide names', async () => {
    const { url, metrics } = await serve(() => null);
    metrics.runs.inc({ outcome: 'done' });
    const response = await fetch(`${url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    for (const name of [
      'policy_recommender_runs_total',
      'policy_recommender_run_duration_seconds',
      'policy_recommender_flow_inputs_read_total',
      'policy_recommender_flow_inputs_skipped_total',
      'policy_recommender_flow_source_errors_total',
      'policy_recommender_pull_requests_total',
      'policy_recommender_github_requests_total',
      'policy_recommender_github_rate_limit_remaining',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(metricSamples(text, 'policy_recommender_runs_total')).toEqual({ '{outcome="done"}': 1 });
  });

  test('a webhook delivery needs the signature made with the webhook secret, which is never logged', async () => {
    const { url } = await serve(() => null);
    // An edit of an issue that is not the dashboard: handled without any GitHub request.
    const body = JSON.stringify(editedIssuePayload());
    const deliver = (signature: string | null) =>
      fetch(`${url}/api/github/webhooks`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'issues',
          'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
          ...(signature === null ? {} : { 'x-hub-signature-256': signature }),
        },
        body,
      });
    const sign = (secret: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    expect((await deliver(null)).status).toBe(400);
    expect((await deliver(sign('not-the-secret'))).status).toBe(400);
    expect((await deliver(sign(WEBHOOK_SECRET))).status).toBe(200);
    expect(logText()).toContain('/api/github/webhooks');
    expect(logText()).not.toContain(WEBHOOK_SECRET);
  });
});
