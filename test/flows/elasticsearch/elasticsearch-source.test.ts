import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import nock from 'nock';
import type { FlowRecord } from '../../../src/flows/record.ts';
import { FlowSourceError } from '../../../src/flows/source.ts';
import { type ElasticsearchSourceOptions, openElasticsearchSource } from '../../../src/flows/sources/elasticsearch/elasticsearch-source.ts';
import { DOMAINS_FIELD, TRACE_FIELD } from '../../../src/flows/sources/elasticsearch/query.ts';
import { readRecords } from '../fixtures.ts';
import { Bodies, bucket, bucketKey, esConfig, INDEX, lastPage, NODE, PRODUCT, page, profile, T0, traceKey } from './es-fixtures.ts';
import { interceptSearch } from './es-nock.ts';

const WINDOW = { from: T0 - 86_400, to: T0 + 3600 };
const API_KEY = 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==';
const PASSWORD = 's3cr3t-Pa55';

let secrets: string;
beforeAll(async () => {
  if (!nock.isActive()) nock.activate();
  nock.disableNetConnect();
  secrets = await mkdtemp(join(tmpdir(), 'es-source-secrets-'));
  const files = {
    'api-key': `${API_KEY}\n`,
    'id-key': 'VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw\n',
    password: `${PASSWORD}\n`,
    empty: '\n',
  };
  for (const [name, content] of Object.entries(files)) await writeFile(join(secrets, name), content);
});
afterAll(async () => {
  // Un-patch: another test file in the same worker must not find this file's interceptor installed.
  nock.enableNetConnect();
  nock.restore();
  await rm(secrets, { recursive: true, force: true });
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

const sleeps: number[] = [];
const fakeSleep = async (ms: number): Promise<void> => {
  sleeps.push(ms);
};

function open(options: ElasticsearchSourceOptions = {}, config = esConfig({ apiKeyFile: join(secrets, 'api-key') })) {
  sleeps.length = 0;
  return openElasticsearchSource(config, { sleep: fakeSleep, ...options });
}

/** Rejects with a FlowSourceError; returns its message. */
async function flowSourceError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FlowSourceError);
  return (error as Error).message;
}

describe('the search request', () => {
  test('one size-0 search: allowed flows overlapping the window, grouped by a composite aggregation over what keys a rule', async () => {
    const { scope, bodies } = interceptSearch();
    scope.reply(200, lastPage(), PRODUCT);
    const source = await open({ pageSize: 250 });
    // Calico Enterprise's flow index: domain rules are Calico Enterprise's own.
    expect(source.calicoEdition).toBe('enterprise');
    await readRecords(source, { from: 1_795_000_000, to: 1_795_086_400 });

    expect(bodies.seen).toHaveLength(1);
    const body = bodies.seen[0];
    expect(body.size).toBe(0);
    expect(body.track_total_hits).toBe(false);
    expect(body.query).toEqual({
      bool: {
        filter: [
          { term: { action: 'allow' } },
          { range: { end_time: { gte: 1_795_000_000, format: 'epoch_second' } } },
          { range: { start_time: { lt: 1_795_086_400, format: 'epoch_second' } } },
        ],
      },
    });
    const composite = body.aggs.flows.composite;
    expect(composite.size).toBe(250);
    expect(composite.after).toBeUndefined();
    // Every source keeps documents lacking the field (null key) rather than dropping them.
    expect(composite.sources).toEqual(
      [
        ['reporter', 'reporter'],
        ['source_type', 'source_type'],
        ['source_namespace', 'source_namespace'],
        ['source_name_aggr', 'source_name_aggr'],
        ['dest_type', 'dest_type'],
        ['dest_namespace', 'dest_namespace'],
        ['dest_name_aggr', 'dest_name_aggr'],
        ['proto', 'proto'],
        ['dest_port', 'dest_port'],
        ['dest_service_namespace', 'dest_service_namespace'],
        ['dest_service_name', 'dest_service_name'],
        ['dest_domains', DOMAINS_FIELD],
        ['policies', TRACE_FIELD],
      ].map(([name, field]) => ({ [name!]: { terms: { field, missing_bucket: true } } })),
    );
    expect(body.aggs.flows.aggs).toEqual({
      start_time: { min: { field: 'start_time' } },
      end_time: { max: { field: 'end_time' } },
      num_flows: { sum: { field: 'num_flows', missing: 1 } },
    });
    // The trace and the domains are per-document scripts (keyword runtime fields).
    const runtime = body.runtime_mappings;
    expect(Object.keys(runtime).sort()).toEqual([DOMAINS_FIELD, TRACE_FIELD].sort());
    expect(runtime[TRACE_FIELD].type).toBe('keyword');
    expect(runtime[TRACE_FIELD].script.source).toContain("params['_source']['policies']");
    expect(runtime[TRACE_FIELD].script.params).toEqual({
      lists: ['all_policies', 'pending_policies', 'enforced_policies'],
      tags: ['a', 'p', 'e'],
      listSeparator: '\t',
      entrySeparator: '\n',
      invalid: '!',
    });
    expect(runtime[DOMAINS_FIELD].type).toBe('keyword');
    expect(runtime[DOMAINS_FIELD].script.source).toContain("doc['dest_domains']");
    // Painless string literals cannot hold escapes such as \t or \n: none may appear in the scripts.
    for (const field of [TRACE_FIELD, DOMAINS_FIELD]) expect(runtime[field].script.source).not.toMatch(/\\[tn]/);
    // No raw documents, no source filtering tricks: hits are not asked for at all.
    expect(body).not.toHaveProperty('_source');
    expect(body).not.toHaveProperty('from');
    expect(source.description).toBe(`elasticsearch ${NODE} index ${INDEX}`);
  });

  test('plain JSON media types, so Elasticsearch 7 and 8 accept the request', async () => {
    const { scope } = interceptSearch();
    scope.matchHeader('accept', 'application/json').matchHeader('content-type', 'application/json').reply(200, lastPage(), PRODUCT);
    await readRecords(await open(), WINDOW);
  });
});

describe('paging', () => {
  test('follows after_key page by page until a page comes back empty, sending each after_key back verbatim', async () => {
    const keys = [
      bucketKey('shop', { dest_port: 443 }),
      bucketKey('shop', { dest_port: 8443, dest_domains: null }),
      bucketKey('shop', { dest_port: 9000 }),
      bucketKey('tax', {
        reporter: 'dst',
        source_type: 'wep',
        source_namespace: 'shop',
        dest_type: 'wep',
        dest_namespace: 'tax',
        dest_name_aggr: 'tax-5f-*',
        dest_port: 5000,
      }),
    ];
    const bodies = new Bodies();
    interceptSearch(bodies).scope.reply(200, page([bucket(keys[0]!), bucket(keys[1]!)]), PRODUCT);
    interceptSearch(bodies).scope.reply(200, page([bucket(keys[2]!), bucket(keys[3]!)]), PRODUCT);
    interceptSearch(bodies).scope.reply(200, lastPage(), PRODUCT);
    const source = await open({ pageSize: 2 });
    const records = await readRecords(source, WINDOW);

    expect(records.map((r) => r.destPort)).toEqual([443, 8443, 9000, 5000]);
    expect(bodies.seen.map((b) => b.aggs.flows.composite.after)).toEqual([undefined, keys[1], keys[3]]);
    // The null in the after_key (a missing bucket) goes back as null, not dropped.
    expect(bodies.seen[1].aggs.flows.composite.after).toHaveProperty('dest_domains', null);
    expect(source.inputsRead).toBe(4);
    expect(source.skipped.total).toBe(0);
  });

  test('a page without after_key is the last one', async () => {
    interceptSearch().scope.reply(200, page([bucket(bucketKey('shop'))], { afterKey: null }), PRODUCT);
    expect(await readRecords(await open(), WINDOW)).toHaveLength(1);
  });

  test('an after_key that does not advance is an error, not an endless loop', async () => {
    const key = bucketKey('shop');
    interceptSearch().scope.reply(200, page([bucket(key)]), PRODUCT);
    interceptSearch().scope.reply(200, page([bucket(key)]), PRODUCT);
    expect(await flowSourceError(readRecords(await open(), WINDOW))).toMatch(/did not advance/);
  });
});

describe('retries and failures', () => {
  const rejected = {
    error: {
      root_cause: [{ type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation' }],
      type: 'es_rejected_execution_exception',
      reason: 'rejected execution of coordinating operation',
    },
    status: 429,
  };
  const unavailable = {
    error: {
      root_cause: [],
      type: 'search_phase_execution_exception',
      reason: 'all shards failed',
      phase: 'query',
      grouped: true,
      failed_shards: [],
    },
    status: 503,
  };

  test('a 429 waits as long as retry-after says, then the search is repeated', async () => {
    const bodies = new Bodies();
    interceptSearch(bodies).scope.reply(429, rejected, { 'retry-after': '7' });
    interceptSearch(bodies).scope.reply(200, page([bucket(bucketKey('shop'))]), PRODUCT);
    interceptSearch(bodies).scope.reply(200, lastPage(), PRODUCT);
    const records = await readRecords(await open(), WINDOW);
    expect(sleeps).toEqual([7000]);
    expect(records).toHaveLength(1);
    expect(bodies.seen[0]).toEqual(bodies.seen[1]);
  });

  test('retry-after is bounded, and an HTTP-date form is understood', async () => {
    interceptSearch().scope.reply(429, rejected, { 'retry-after': '3600' });
    interceptSearch().scope.reply(429, rejected, { 'retry-after': new Date(Date.now() + 3_600_000).toUTCString() });
    interceptSearch().scope.reply(200, lastPage(), PRODUCT);
    await readRecords(await open({ retry: { maxDelayMs: 5000 } }), WINDOW);
    expect(sleeps).toEqual([5000, 5000]);
  });

  test('5xx answers are retried with doubling back-off; when attempts run out it is a FlowSourceError', async () => {
    interceptSearch().scope.times(3).reply(503, unavailable);
    const message = await flowSourceError(readRecords(await open({ retry: { attempts: 3, baseDelayMs: 100 } }), WINDOW));
    expect(message).toBe(
      `elasticsearch ${NODE} index ${INDEX}: HTTP 503: search_phase_execution_exception: all shards failed; gave up after 3 attempts`,
    );
    expect(sleeps).toEqual([100, 200]);
  });

  test('a shard failure means a partial picture: a FlowSourceError naming the reason', async () => {
    const shards = {
      total: 5,
      successful: 4,
      skipped: 0,
      failed: 1,
      failures: [
        {
          shard: 2,
          index: 'tigera_secure_ee_flows.prod-eu.fluentd.20261121',
          node: 'nXAtb8YlRJmPgRkO1FvIoQ',
          reason: {
            type: 'circuit_breaking_exception',
            reason: '[parent] Data too large, data for [<agg [flows]>] would be larger than limit',
            durability: 'TRANSIENT',
          },
        },
      ],
    };
    interceptSearch().scope.reply(200, page([bucket(bucketKey('shop'))], { shards }), PRODUCT);
    const records: FlowRecord[] = [];
    const source = await open();
    const message = await flowSourceError(source.read(WINDOW, (r) => records.push(r)));
    expect(message).toBe(
      `elasticsearch ${NODE} index ${INDEX}: 1 of 5 shards failed, so the flows would be incomplete: ` +
        'circuit_breaking_exception: [parent] Data too large, data for [<agg [flows]>] would be larger than limit ' +
        '(index tigera_secure_ee_flows.prod-eu.fluentd.20261121, shard 2)',
    );
    expect(records).toEqual([]); // nothing of the partial page was passed on
  });

  test('a timed-out search is a partial picture too', async () => {
    interceptSearch().scope.reply(200, page([], { timedOut: true, afterKey: null }), PRODUCT);
    expect(await flowSourceError(readRecords(await open(), WINDOW))).toMatch(/timed out, so the flows would be incomplete/);
  });

  test('client errors are not retried and say what is wrong', async () => {
    interceptSearch().scope.reply(404, {
      error: {
        root_cause: [{ type: 'index_not_found_exception', reason: `no such index [${INDEX}]` }],
        type: 'index_not_found_exception',
        reason: `no such index [${INDEX}]`,
      },
      status: 404,
    });
    expect(await flowSourceError(readRecords(await open(), WINDOW))).toBe(
      `elasticsearch ${NODE} index ${INDEX}: no index matches ${INDEX} (HTTP 404): index_not_found_exception: no such index [${INDEX}]`,
    );
    interceptSearch().scope.reply(401, {
      error: { type: 'security_exception', reason: 'unable to authenticate with provided credentials' },
      status: 401,
    });
    expect(await flowSourceError(readRecords(await open(), WINDOW))).toMatch(/authentication failed \(HTTP 401\): security_exception/);
    interceptSearch().scope.reply(400, {
      error: {
        root_cause: [{ type: 'script_exception', reason: 'compile error' }],
        type: 'search_phase_execution_exception',
        reason: 'all shards failed',
        failed_shards: [{ shard: 0, index: 'x', reason: { type: 'script_exception', reason: 'compile error' } }],
      },
      status: 400,
    });
    expect(await flowSourceError(readRecords(await open(), WINDOW))).toMatch(
      /search rejected \(HTTP 400\): search_phase_execution_exception: all shards failed \(script_exception: compile error\)$/,
    );
    expect(sleeps).toEqual([]);
  });

  test('a response without the x-elastic-product header is not Elasticsearch', async () => {
    interceptSearch().scope.reply(200, lastPage());
    expect(await flowSourceError(readRecords(await open(), WINDOW))).toMatch(/did not identify itself as Elasticsearch/);
  });

  test('a request that times out is retried', async () => {
    // A real server that leaves the first request hanging (nock's delays do not reach undici).
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      req.resume();
      if (requests === 1) return;
      res
        .writeHead(200, { 'content-type': 'application/json', ...PRODUCT })
        .end(JSON.stringify(page([bucket(bucketKey('shop'))], { afterKey: null })));
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    nock.enableNetConnect('127.0.0.1');
    try {
      const node = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const source = await open({}, esConfig({ node, apiKeyFile: join(secrets, 'api-key'), timeout: 0.2 }));
      expect(await readRecords(source, WINDOW)).toHaveLength(1);
      expect(requests).toBe(2);
      expect(sleeps).toEqual([1000]);
    } finally {
      nock.disableNetConnect();
      server.closeAllConnections();
      await new Promise((closed) => server.close(closed));
    }
  });

  test('connection failures are retried, then reported', async () => {
    // A real refused connection: nock's simulated errors do not reach undici's request API.
    const server = createServer();
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    const port = (server.address() as AddressInfo).port;
    await new Promise((closed) => server.close(closed));
    nock.enableNetConnect('127.0.0.1');
    try {
      const node = `http://127.0.0.1:${port}`;
      const source = await open({ retry: { attempts: 2, baseDelayMs: 10 } }, esConfig({ node, apiKeyFile: join(secrets, 'api-key') }));
      const message = await flowSourceError(readRecords(source, WINDOW));
      expect(message).toMatch(new RegExp(`^elasticsearch ${node} index .*: ConnectionError: .*ECONNREFUSED.*; gave up after 2 attempts$`));
      expect(sleeps).toEqual([10]);
    } finally {
      nock.disableNetConnect();
    }
  });
});

describe('credentials', () => {
  test('an API key file is sent as an ApiKey authorization (already encoded, or id:key encoded here)', async () => {
    interceptSearch().scope.matchHeader('authorization', `ApiKey ${API_KEY}`).reply(200, lastPage(), PRODUCT);
    await readRecords(await open(), WINDOW);
    const encoded = Buffer.from('VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw').toString('base64');
    interceptSearch().scope.matchHeader('authorization', `ApiKey ${encoded}`).reply(200, lastPage(), PRODUCT);
    await readRecords(await open({}, esConfig({ apiKeyFile: join(secrets, 'id-key') })), WINDOW);
  });

  test('username and password file are sent as basic auth, the Secret trailing newline dropped', async () => {
    const basic = Buffer.from(`recommender:${PASSWORD}`).toString('base64');
    interceptSearch().scope.matchHeader('authorization', `Basic ${basic}`).reply(200, lastPage(), PRODUCT);
    const source = await open({}, esConfig({ username: 'recommender', passwordFile: join(secrets, 'password') }));
    await readRecords(source, WINDOW);
    expect(source.description).not.toContain(PASSWORD);
  });

  test('a missing or empty credential or CA file is a FlowSourceError naming the file, never its contents', async () => {
    const missing = join(secrets, 'nope');
    expect(await flowSourceError(open({}, esConfig({ apiKeyFile: missing })))).toBe(`cannot read API key file ${missing}: no such file`);
    expect(await flowSourceError(open({}, esConfig({ username: 'u', passwordFile: missing })))).toBe(
      `cannot read password file ${missing}: no such file`,
    );
    expect(await flowSourceError(open({}, esConfig({ apiKeyFile: join(secrets, 'api-key'), caFile: missing })))).toBe(
      `cannot read CA file ${missing}: no such file`,
    );
    expect(await flowSourceError(open({}, esConfig({ apiKeyFile: join(secrets, 'empty') })))).toMatch(/^API key file .*empty is empty$/);
    expect(await flowSourceError(open({}, esConfig({ apiKeyFile: secrets })))).toBe(`cannot read API key file ${secrets}: is a directory`);
  });

  test('a CA file makes a server certificate it signed trusted; without it the certificate is refused, without retries', async () => {
    const tls = fileURLToPath(new URL('./tls/', import.meta.url));
    const server = createHttpsServer(
      { cert: await readFile(join(tls, 'server.pem')), key: await readFile(join(tls, 'server-key.pem')) },
      (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json', ...PRODUCT }).end(JSON.stringify(lastPage()));
      },
    );
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    nock.enableNetConnect('127.0.0.1');
    try {
      const node = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const trusting = await open({}, esConfig({ node, apiKeyFile: join(secrets, 'api-key'), caFile: join(tls, 'ca.pem') }));
      expect(await readRecords(trusting, WINDOW)).toEqual([]);
      const untrusting = await open({}, esConfig({ node, apiKeyFile: join(secrets, 'api-key') }));
      expect(await flowSourceError(readRecords(untrusting, WINDOW))).toMatch(
        /^elasticsearch https:\/\/127\.0\.0\.1:\d+ index .*: TLS: unable to verify the first certificate.*is caFile the CA/,
      );
      expect(sleeps).toEqual([]);
    } finally {
      nock.disableNetConnect();
      server.closeAllConnections();
      await new Promise((closed) => server.close(closed));
    }
  });

  test('a node URL carrying credentials is refused without repeating them', async () => {
    const message = await flowSourceError(
      open({}, esConfig({ node: `https://elastic:${PASSWORD}@es.test:9200`, apiKeyFile: join(secrets, 'api-key') })),
    );
    expect(message).toBe(
      'elasticsearch https://es.test:9200: the node URL must not carry credentials; use apiKeyFile, or username and passwordFile',
    );
  });

  test('errors never carry the credentials', async () => {
    interceptSearch().scope.reply(401, {
      error: { type: 'security_exception', reason: 'missing authentication credentials' },
      status: 401,
    });
    const message = await flowSourceError(
      readRecords(await open({}, esConfig({ username: 'recommender', passwordFile: join(secrets, 'password') })), WINDOW),
    );
    expect(message).not.toContain(PASSWORD);
    expect(message).not.toContain(Buffer.from(`recommender:${PASSWORD}`).toString('base64'));
  });
});

describe('buckets to records', () => {
  test('each field of a bucket lands in the FlowRecord', async () => {
    const key = bucketKey('shop', {
      source_name_aggr: 'checkout-6b687c8dcb-*',
      dest_type: 'net',
      dest_name_aggr: 'pub',
      proto: 'tcp',
      dest_port: 443,
      dest_service_namespace: 'payments',
      dest_service_name: 'stripe-proxy',
      dest_domains: 'API.Stripe.com.,*.stripe.network',
      policies: traceKey({
        all: ['0|security|security.allow-egress|pass|-1', `1|__PROFILE__|__PROFILE__.kns.shop|allow|0`],
        pending: [
          '0|security|security.allow-egress|pass|-1',
          '1|namespace-isolation|shop/namespace-isolation.staged:shop-recommendation|allow|2',
        ],
        enforced: [],
      }),
    });
    interceptSearch().scope.reply(
      200,
      page([bucket(key, { start: T0 - 600, end: T0 + 1200, flows: 42, docs: 7 })], { afterKey: null }),
      PRODUCT,
    );
    const [record] = await readRecords(await open(), WINDOW);
    expect(record).toEqual({
      startTime: T0 - 600,
      endTime: T0 + 1200,
      source: { type: 'wep', name: 'checkout-6b687c8dcb-*', namespace: 'shop', labels: [], ip: null },
      dest: { type: 'net', name: 'pub', namespace: null, labels: [], ip: null },
      destPort: 443,
      destService: { name: 'stripe-proxy', namespace: 'payments', portName: null, port: null },
      destDomains: ['api.stripe.com', '*.stripe.network'],
      protocol: 'TCP',
      action: 'allow',
      reporter: 'src',
      policies: {
        all: [
          { index: 0, tier: 'security', kind: 'GlobalNetworkPolicy', namespace: null, name: 'allow-egress', action: 'pass', ruleIndex: -1 },
          { index: 1, tier: '__PROFILE__', kind: 'Profile', namespace: null, name: 'kns.shop', action: 'allow', ruleIndex: 0 },
        ],
        pending: [
          { index: 0, tier: 'security', kind: 'GlobalNetworkPolicy', namespace: null, name: 'allow-egress', action: 'pass', ruleIndex: -1 },
          {
            index: 1,
            tier: 'namespace-isolation',
            kind: 'StagedNetworkPolicy',
            namespace: 'shop',
            name: 'shop-recommendation',
            action: 'allow',
            ruleIndex: 2,
          },
        ],
        enforced: [],
      },
      numFlows: 42,
    } satisfies FlowRecord);
  });

  test('"-" and missing buckets mean none; port 0 (the mapping\'s null_value) means no port; no policies means no trace', async () => {
    const key = bucketKey('shop', {
      reporter: 'dst',
      source_type: 'net',
      source_namespace: '-',
      source_name_aggr: 'pvt',
      dest_type: 'wep',
      dest_namespace: 'shop',
      dest_name_aggr: 'web-*',
      proto: '1',
      dest_port: 0,
      dest_service_namespace: null,
      dest_service_name: null,
      dest_domains: null,
      policies: null,
    });
    const other = bucketKey('shop', { dest_port: null, proto: 'udp', policies: traceKey({ all: [profile('shop')] }) });
    interceptSearch().scope.reply(200, page([bucket(key), bucket(other)], { afterKey: null }), PRODUCT);
    const [icmp, udp] = await readRecords(await open(), WINDOW);
    expect(icmp).toMatchObject({ protocol: 'ICMP', destPort: null, destService: null, destDomains: [], policies: null, reporter: 'dst' });
    expect(icmp!.source).toEqual({ type: 'net', name: 'pvt', namespace: null, labels: [], ip: null });
    expect(udp).toMatchObject({ protocol: 'UDP', destPort: null });
    expect(udp!.policies).toEqual({
      all: [{ index: 0, tier: '__PROFILE__', kind: 'Profile', namespace: null, name: 'kns.shop', action: 'allow', ruleIndex: 0 }],
      pending: null,
      enforced: null,
    });
  });

  test('times come back as epoch milliseconds and are widened to whole seconds', async () => {
    const b = bucket(bucketKey('shop'));
    b['start_time'] = { value: 1_795_340_000_500, value_as_string: '1795340000' };
    b['end_time'] = { value: 1_795_340_300_200, value_as_string: '1795340300' };
    interceptSearch().scope.reply(200, page([b], { afterKey: null }), PRODUCT);
    const [record] = await readRecords(await open(), WINDOW);
    expect([record!.startTime, record!.endTime]).toEqual([1_795_340_000, 1_795_340_301]);
  });

  test('hostile or broken bucket keys are skipped and counted with their place', async () => {
    const good = bucketKey('shop');
    const hostile: [unknown, string][] = [
      [bucket(bucketKey('../../etc')), 'invalid source_namespace'],
      [bucket(bucketKey('shop', { source_name_aggr: 'a"; kubectl delete ns prod' })), 'invalid source_name_aggr'],
      [bucket(bucketKey('shop', { dest_type: 'ns', dest_name_aggr: 'Bad_Set' })), 'invalid dest_name_aggr'],
      [bucket(bucketKey('shop', { proto: 'tcp; rm' })), 'invalid proto'],
      [bucket(bucketKey('shop', { dest_port: 70000 })), 'invalid dest_port'],
      [bucket(bucketKey('shop', { dest_port: '443' })), 'invalid dest_port'],
      [bucket(bucketKey('shop', { reporter: null })), 'missing field reporter'],
      [bucket(bucketKey('shop', { reporter: 'both' })), 'invalid reporter'],
      [bucket(bucketKey('-')), 'missing source_namespace for a workload'],
      [bucket(bucketKey('shop', { dest_service_name: 'svc\nname' })), 'invalid dest_service_name'],
      [bucket(bucketKey('shop', { dest_domains: 'ok.example.com,evil..com' })), 'invalid dest_domains entry'],
      [bucket(bucketKey('shop', { dest_domains: 'x.com/../../' })), 'invalid dest_domains entry'],
      [bucket(bucketKey('shop', { policies: '!' })), 'invalid policies'],
      [bucket(bucketKey('shop', { policies: 'a:0|__PROFILE__|__PROFILE__.kns.shop|allow|0\ta:0|t|x|allow|0' })), 'invalid policies'],
      [bucket(bucketKey('shop', { policies: 'x:0|t|p|allow|0' })), 'invalid policies'],
      [bucket(bucketKey('shop', { policies: traceKey({ all: ['0|Tier!|p|allow|0'] }) })), 'invalid policies entry'],
      [bucket(bucketKey('shop', { policies: traceKey({ all: ['0|t|p|"; drop|0'] }) })), 'invalid policies entry'],
      [bucket(good, { start: null }), 'missing field start_time'],
      [bucket(good, { start: T0 + 10, end: T0 }), 'end_time before start_time'],
      [{ ...bucket(good), num_flows: { value: 1.5 } }, 'invalid num_flows'],
      [{ ...bucket(good), num_flows: undefined }, 'bucket without num_flows'],
      [{ doc_count: 1 }, 'bucket without a key'],
      ['a string', 'not a bucket'],
    ];
    interceptSearch().scope.reply(200, page([bucket(good), ...hostile.map(([b]) => b), bucket(good)], { afterKey: null }), PRODUCT);
    const source = await open();
    const records = await readRecords(source, WINDOW);
    expect(records).toHaveLength(2);
    expect(source.inputsRead).toBe(hostile.length + 2);
    const summary = source.skipped.summary();
    expect(summary.total).toBe(hostile.length);
    const expected: Record<string, number> = {};
    for (const [, reason] of hostile) expected[reason] = (expected[reason] ?? 0) + 1;
    expect(summary.byReason).toEqual(expected);
    expect(summary.examples).toEqual(hostile.slice(0, 5).map(([, reason], i) => ({ location: `elasticsearch bucket ${i + 2}`, reason })));
  });
});
