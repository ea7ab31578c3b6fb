// WEBHOOK_PROXY_URL, for a trial without a public address: Probot's server follows a smee.io
// channel with smee-client (a dependency: Probot's lib/helpers/webhook-proxy.js imports it, and
// only warns without it) and posts each delivery to the App's webhook path. Here the channel is
// a server-sent-events stream on 127.0.0.1 that sends what smee.io sends: one JSON message per
// delivery, its headers as keys and the payload as `body` (smee-client index.js #onmessage).

import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals';
import nock from 'nock';
import { DASHBOARD_LABEL } from '../../src/app/render/dashboard.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, stopClean } from './support/app-harness.ts';

useNock();
beforeAll(() => nock.enableNetConnect('127.0.0.1'));
afterAll(() => nock.disableNetConnect());

let h: AppHarness | undefined;
afterEach(async () => {
  await stopClean(h);
  h = undefined;
});

test('a delivery sent through the smee channel reaches the App: a /policy-recommender run comment runs', async () => {
  const listeners: ServerResponse[] = [];
  const channel = createServer((req, res) => {
    if (req.url !== '/channel') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': connected\n\n');
    listeners.push(res);
  });
  await new Promise<void>((resolve) => channel.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(channel.address() as AddressInfo).port}/channel`;
    h = await AppHarness.start({ webhookSecret: 'a secret', webhookProxy: url });
    await h.see({ namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432 });
    await h.run('first');
    expect(listeners).toHaveLength(1);

    const dashboard = h.repo.issues({ label: DASHBOARD_LABEL })[0]!;
    h.github.takeEvents();
    h.repo.comment(dashboard.number, '/policy-recommender run');
    const [event] = h.github.takeEvents().filter((e) => e.name === 'issue_comment');
    h.github.resetRequests();
    const message = { ...h.deliveryHeaders(event!), body: event!.payload };
    listeners[0]!.write(`data: ${JSON.stringify(message)}\n\n`);

    // The comment asks for a run: it reads the dashboard.
    const harness = h;
    const deadline = Date.now() + 10_000;
    while (!harness.github.requests().some((r) => r.method === 'GET' && r.path === '/repos/acme/policies/issues')) {
      if (Date.now() > deadline) throw new Error('no run after the delivery through the channel');
      await new Promise((r) => setTimeout(r, 20));
    }
    await harness.run('after');
  } finally {
    for (const res of listeners) res.end();
    await new Promise((resolve) => channel.close(resolve));
  }
});
