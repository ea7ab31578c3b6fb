// The webhook endpoint refuses bodies over GitHub's maximum before buffering them, through real
// HTTP written by hand on a socket: the App in Probot's own server on 127.0.0.1, as `npm start`
// runs it. No GitHub here (and no nock: its interceptors hold a request until it is complete).
// GitHub caps payloads at 25 MB (github/docs content/webhooks/webhook-events-and-payloads.md).

import { createHmac, generateKeyPairSync } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, test } from '@jest/globals';
import { type ApplicationFunction, Probot, Server } from 'probot';
import { guardWebhookEndpoint, MAX_BUFFERED_BYTES, MAX_WEBHOOK_BODY_BYTES } from '../../src/app/ops/webhook-edge.ts';
import { capturedLog } from '../support/captured-log.ts';
import { freePort } from '../support/free-port.ts';
import { appWithoutFlows, editedIssuePayload } from './support/bare-app.ts';

const SECRET = 'webhook-secret-0b7e42aa';

let server: Server | undefined;
let http: HttpServer | undefined;
afterEach(async () => {
  // Uploads a failed test left waiting would keep the server from closing.
  http?.closeAllConnections();
  await server?.stop();
  server = undefined;
  http = undefined;
});

/** Deliveries the App's handlers received (event name and delivery id). */
let handled: string[] = [];

/**
 * Probot's server with the App on 127.0.0.1, or with only the edge (`limits`: smaller ones, for
 * what would otherwise take hundreds of megabytes).
 */
async function serve(limits?: { maxBodyBytes: number; maxBufferedBytes: number }): Promise<{ url: string; text: () => string }> {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const { log, text } = capturedLog('info');
  const port = await freePort();
  server = new Server({ Probot: Probot.defaults({ appId: 1, privateKey, secret: SECRET }), log, host: '127.0.0.1', port });
  const { app: theApp } = appWithoutFlows();
  const edgeOnly: ApplicationFunction = (probot) =>
    void guardWebhookEndpoint(probot, { log: { info: (m) => probot.log.info(m), warn: (m) => probot.log.warn(m) }, ...limits });
  handled = [];
  await server.load((probot, options) => {
    probot.onAny((event) => void handled.push(`${event.name} ${event.id}`));
    return (limits ? edgeOnly : theApp)(probot, options);
  });
  http = await server.start();
  return { url: `http://127.0.0.1:${port}/api/github/webhooks`, text };
}

/** An `issues.edited` payload about an issue that is not the dashboard: handled without any request. */
const EDITED = JSON.stringify(editedIssuePayload());

const sign = (body: string | Buffer) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;

interface RawAnswer {
  status: number;
  connection: string | undefined;
  body: string;
}

/**
 * A POST written by hand on a socket (nock's interceptors hold an http.request's body until it
 * ends): `contentLength` declared (or chunked when null), then `send` bytes of `body` (repeated);
 * the request is ended only if `end`. Resolves with the server's answer once it closes the
 * connection, or 'closed' if it closed it without one.
 */
function rawPost(
  url: string,
  options: {
    contentLength: number | null;
    body: Buffer;
    send: number;
    end: boolean;
    signature?: string;
    id?: string;
    event?: string;
    /** Stop after this many bytes until `until` resolves, then go on. */
    pause?: { after: number; until: Promise<void> };
  },
): Promise<RawAnswer | 'closed'> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    const finish = () => {
      const text = Buffer.concat(received).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return resolve('closed');
      const [statusLine, ...headerLines] = text.slice(0, split).split('\r\n');
      const headers = new Map(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      let body = text.slice(split + 4);
      if (headers.get('transfer-encoding') === 'chunked') body = body.replace(/^[0-9a-f]+\r\n([\s\S]*?)\r\n0\r\n\r\n$/, '$1');
      resolve({ status: Number(statusLine!.split(' ')[1]), connection: headers.get('connection'), body });
    };
    socket.on('close', finish);
    // Writing after the server closed: the answer (if any) was received first.
    socket.on('error', () => undefined);
    const head = [
      `POST ${pathname} HTTP/1.1`,
      `host: ${hostname}:${port}`,
      'content-type: application/json',
      `x-github-event: ${options.event ?? 'issues'}`,
      `x-github-delivery: ${options.id ?? 'raw-delivery'}`,
      `x-hub-signature-256: ${options.signature ?? 'sha256=00'}`,
      options.contentLength === null ? 'transfer-encoding: chunked' : `content-length: ${options.contentLength}`,
      options.end ? 'connection: close' : 'connection: keep-alive',
    ];
    socket.write(`${head.join('\r\n')}\r\n\r\n`, 'latin1');
    void (async () => {
      let sent = 0;
      while (sent < options.send && !socket.destroyed) {
        if (options.pause && sent === options.pause.after) await options.pause.until;
        const offset = sent % options.body.length;
        const stop = options.pause && sent < options.pause.after ? options.pause.after : options.send;
        const chunk = options.body.subarray(offset, offset + Math.min(options.body.length - offset, stop - sent));
        sent += chunk.length;
        const framed =
          options.contentLength === null
            ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])
            : chunk;
        if (!socket.write(framed)) await new Promise((r) => socket.once('drain', r));
      }
      if (options.end && options.contentLength === null) socket.write('0\r\n\r\n');
    })().catch(reject);
  });
}

describe('a body over GitHub’s maximum is refused before it is buffered', () => {
  test('declared by Content-Length: 413 and the connection closed, at once, for three concurrent 100 MB posts', async () => {
    const { url } = await serve();
    const answers = await Promise.all(
      [1, 2, 3].map((i) => rawPost(url, { contentLength: 100 * 1024 * 1024, body: Buffer.from('{'), send: 0, end: false, id: `big-${i}` })),
    );
    // Nothing of the bodies was sent: the answers came from the headers alone.
    for (const answer of answers) {
      expect(answer).toMatchObject({ status: 413, connection: 'close' });
      expect(JSON.parse((answer as RawAnswer).body)).toEqual({
        error: `body of ${100 * 1024 * 1024} bytes is over GitHub's maximum of ${MAX_WEBHOOK_BODY_BYTES}`,
      });
    }
    expect(handled).toEqual([]);
  });

  test('chunked: counted as it arrives, refused at the first byte over 25 MiB without the end of the request; 25 MiB exactly is taken', async () => {
    const { url } = await serve();
    // The client sends one byte more than the maximum and waits: the server must answer anyway.
    const over = await rawPost(url, {
      contentLength: null,
      body: Buffer.alloc(64 * 1024, 0x20),
      send: MAX_WEBHOOK_BODY_BYTES + 1,
      end: false,
    });
    expect(over).toMatchObject({ status: 413, connection: 'close' });
    expect(JSON.parse((over as RawAnswer).body)).toEqual({ error: `body is over GitHub's maximum of ${MAX_WEBHOOK_BODY_BYTES} bytes` });
    expect(handled).toEqual([]);

    // A genuine delivery of exactly the maximum (padded with JSON whitespace), chunked, is handled.
    const body = Buffer.concat([Buffer.from(EDITED), Buffer.alloc(MAX_WEBHOOK_BODY_BYTES - EDITED.length, 0x20)]);
    const exact = await rawPost(url, {
      contentLength: null,
      body,
      send: body.length,
      end: true,
      signature: sign(body),
      id: 'exactly-the-maximum',
    });
    expect(exact).toMatchObject({ status: 200, body: 'ok\n' });
    expect(handled).toEqual(['issues exactly-the-maximum']);
  });
});

describe('bodies held at once are bounded too', () => {
  test('five concurrent uploads near the maximum: those that would pass four maximums are answered 503; the others are read whole; then the memory is free again', async () => {
    // The App's limits are 25 MiB and four times that; the same edge with 64 KiB and four times that.
    expect(MAX_BUFFERED_BYTES).toBe(4 * MAX_WEBHOOK_BODY_BYTES);
    const max = 64 * 1024;
    const { url } = await serve({ maxBodyBytes: max, maxBufferedBytes: 4 * max });
    let go!: () => void;
    const until = new Promise<void>((resolve) => (go = resolve));
    const chunk = Buffer.alloc(4 * 1024, 0x20);
    let refusedOne!: () => void;
    const refused = new Promise<void>((resolve) => (refusedOne = resolve));
    const answers = [1, 2, 3, 4, 5].map((i) =>
      rawPost(url, { contentLength: null, body: chunk, send: max, end: true, id: `upload-${i}`, pause: { after: max - 1, until } }).then(
        (answer) => {
          if (answer !== 'closed' && answer.status === 503) refusedOne();
          return answer;
        },
      ),
    );
    // Five bodies of the maximum less a byte cannot all be held: one is refused while all wait.
    await refused;
    go();
    const statuses = (await Promise.all(answers)).map((a) => (a === 'closed' ? 'closed' : a.status));
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(1);
    // The others were read whole (their signature, a wrong one, was checked).
    expect(statuses.filter((s) => s !== 503).every((s) => s === 400)).toBe(true);
    // Everything they held is given back: a delivery of the maximum is taken.
    const body = Buffer.concat([Buffer.from(EDITED), Buffer.alloc(max - EDITED.length, 0x20)]);
    const after = await rawPost(url, {
      contentLength: null,
      body,
      send: body.length,
      end: true,
      signature: sign(body),
      id: 'after-the-burst',
    });
    expect(after).toMatchObject({ status: 200 });
    expect(handled).toEqual(['issues after-the-burst']);
  });
});

describe('a refused delivery’s line', () => {
  test('header values are cut and made printable in that line', async () => {
    const { url, text } = await serve();
    const body = Buffer.from(EDITED);
    const answer = await rawPost(url, {
      contentLength: body.length,
      body,
      send: body.length,
      end: true,
      id: `id-${'x'.repeat(500)}`,
      event: 'issues\u00e9\u00e9',
    });
    expect(answer).toMatchObject({ status: 400 });
    const line = text()
      .split('\n')
      .find((l) => l.includes('refused'))!;
    const msg = (JSON.parse(line) as { msg: string }).msg;
    expect(msg).toBe(`webhook delivery id-${'x'.repeat(97)}... (issues??) refused: signature does not match event payload and secret`);
  });
});
