// No secret reaches a log line, a pull request, a comment or the dashboard: the App's private key,
// installation tokens, Elasticsearch passwords and API keys, Goldmane's client key. The App runs at
// trace level into a captured log while its flow sources fail in the ways that carry credentials
// closest to a message (authentication refused, TLS handshakes, unreachable hosts).

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import nock from 'nock';
import type { FlowSource } from '../../src/flows/source.ts';
import { openElasticsearchSource } from '../../src/flows/sources/elasticsearch/elasticsearch-source.ts';
import { openGoldmaneSource } from '../../src/flows/sources/goldmane/goldmane-source.ts';
import { capturedLog } from '../support/captured-log.ts';
import { freePort } from '../support/free-port.ts';
import { goldmaneConfig, tlsFile } from '../support/goldmane-server.ts';
import { useNock } from '../support/nock-scope.ts';
import { AppHarness, HOUR } from './support/app-harness.ts';

useNock();
// The fake GitHub is nock; the flow sources' peers are real servers on 127.0.0.1.
beforeAll(() => nock.enableNetConnect('127.0.0.1'));

const ES_PASSWORD = 'es-pass-7c1f0b2d9e';
const ES_API_KEY = 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==';

let h: AppHarness;
let dir: string;
let server: Server | undefined;
afterEach(async () => {
  await h.stop();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** An Elasticsearch that refuses every request as unauthenticated, the way Elasticsearch does. */
async function refusingElasticsearch(): Promise<string> {
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(401, {
      'content-type': 'application/json',
      'www-authenticate': 'Basic realm="security" charset="UTF-8"',
      'x-elastic-product': 'Elasticsearch',
    });
    res.end(
      JSON.stringify({
        error: {
          root_cause: [
            { type: 'security_exception', reason: 'unable to authenticate user [policy-recommender] for REST request [/_search]' },
          ],
          type: 'security_exception',
          reason: 'unable to authenticate user [policy-recommender] for REST request [/_search]',
        },
        status: 401,
      }),
    );
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Everything the App wrote that people or log collectors see. */
function visible(h: AppHarness, log: string): string {
  const repo = h.repo;
  const threads = [...repo.pullRequests({}), ...repo.issues({})];
  return [log, ...threads.map((t) => `${t.title}\n${t.body}`), ...threads.flatMap((t) => repo.comments(t.number).map((c) => c.body))].join(
    '\n',
  );
}

async function expectNoSecrets(h: AppHarness, log: string, secrets: readonly string[]): Promise<void> {
  const privateKey = h.privateKey.split('\n').filter((l) => l.length > 20);
  const everything = visible(h, log);
  for (const secret of [...secrets, ...privateKey, ...h.github.issuedTokens()]) {
    expect(secret.length).toBeGreaterThan(8);
    if (everything.includes(secret)) throw new Error(`a secret appears in what the App wrote: ${secret.slice(0, 6)}…`);
  }
}

describe('secrets stay out of logs and GitHub', () => {
  test('Elasticsearch basic auth and API key refused: the dashboard says so, no credential anywhere', async () => {
    dir = await mkdtemp(join(tmpdir(), 'secrets-'));
    await writeFile(join(dir, 'password'), `${ES_PASSWORD}\n`);
    await writeFile(join(dir, 'api-key'), ES_API_KEY);
    const node = await refusingElasticsearch();
    const { log, text } = capturedLog();
    let useKey = false;
    const open = async (): Promise<FlowSource> =>
      openElasticsearchSource(
        useKey
          ? { node, index: 'tigera_secure_ee_flows.prod.*', apiKeyFile: join(dir, 'api-key'), timeout: 5 }
          : {
              node,
              index: 'tigera_secure_ee_flows.prod.*',
              username: 'policy-recommender',
              passwordFile: join(dir, 'password'),
              timeout: 5,
            },
        { retry: { attempts: 1 } },
      );
    h = await AppHarness.start({ log, openFlowSource: open });
    await h.see({ namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432 });
    await h.run('basic auth');
    useKey = true;
    h.now += HOUR;
    await h.run('api key');
    // The dashboard says reading failed; why (the 401, with the node's address) is in the App's log.
    expect(h.dashboard()).toMatch(/\*\*Error:\*\* its flows could not be read from Calico Enterprise/);
    expect(h.dashboard()).not.toContain(new URL(node).host);
    expect(text()).toMatch(/cluster prod: reading its flows failed: .*401/);
    // The log did see the runs (so the check below is not vacuous).
    expect(text()).toContain('run of acme/policies');
    await expectNoSecrets(h, text(), [ES_PASSWORD, ES_API_KEY, Buffer.from(`policy-recommender:${ES_PASSWORD}`).toString('base64')]);
  });

  test('Goldmane unreachable with a client certificate: no part of the client key anywhere', async () => {
    dir = await mkdtemp(join(tmpdir(), 'secrets-'));
    const port = await freePort();
    const { log, text } = capturedLog();
    h = await AppHarness.start({
      log,
      openFlowSource: async () => openGoldmaneSource(goldmaneConfig(`127.0.0.1:${port}`, { timeout: 2 }), { retries: 1, backoffMs: 10 }),
    });
    await h.run('goldmane down');
    expect(h.dashboard()).toMatch(/\*\*Error:\*\*/);
    expect(text()).toContain('run of acme/policies');
    const clientKey = (await readFile(tlsFile('client-key.pem'), 'utf8')).split('\n').filter((l) => l.length > 20);
    await expectNoSecrets(h, text(), clientKey);
  });

  test('a run that opens PRs, logged at trace level: no installation token or private key anywhere', async () => {
    dir = await mkdtemp(join(tmpdir(), 'secrets-'));
    const { log, text } = capturedLog();
    h = await AppHarness.start({ log });
    await h.see({ namespace: 'shop', direction: 'egress', peer: 'ns:db', port: 5432 });
    await h.run('files');
    expect(h.repo.pullRequests({ state: 'open' })).toHaveLength(1);
    expect(h.github.issuedTokens().length).toBeGreaterThan(0);
    // Octokit logged its requests (so the check below is not vacuous).
    expect(text()).toContain('POST https://api.github.com/repos/acme/policies/pulls');
    await expectNoSecrets(h, text(), []);
  });
});
