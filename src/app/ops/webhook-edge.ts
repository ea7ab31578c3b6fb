// The webhook endpoint where it meets the internet. Probot's server hands every request to the
// @octokit/webhooks node middleware first (probot 14.3.2 lib/server/server.js `start()` puts
// `probot.getNodeMiddleware()` in front of every added handler), and that middleware buffers the
// whole body before it checks the signature (@octokit/webhooks 14.2.0
// dist-src/middleware/node/get-payload.js), then hands a mismatch, payload included, to Probot's
// error handler, which logs it whole (probot lib/helpers/get-error-handler.js). So the edge sits in
// front of that middleware, wrapping what `getNodeMiddleware` returns:
//
// - a body over GitHub's own maximum is refused (413, connection closed) before it is buffered:
//   by its Content-Length, or by counting the bytes of a chunked body as they arrive; and the
//   bodies held at once, all deliveries together, are bounded (503, connection closed);
// - the signature is checked here, on the bytes read; a delivery without the right one is
//   answered 400 and logged as one short line (delivery id, event, reason), never its payload;
// - a delivery id handled (or being handled) already is answered 200 without being handled
//   again: GitHub's redelivery keeps the id (github/docs content/webhooks/using-webhooks/
//   best-practices-for-using-webhooks.md, "Use the X-GitHub-Delivery header"). A delivery that
//   failed is forgotten, so that its redelivery is handled.
// Everything else (path, method, content type, the other headers, JSON, the handlers) stays the
// middleware's: it receives the body read here as `request.body`, a string, which its
// get-payload.js uses as is.

import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import type { Probot } from 'probot';

/**
 * GitHub caps webhook payloads at 25 MB and does not deliver larger ones (github/docs
 * content/webhooks/webhook-events-and-payloads.md: "Payloads are capped at 25 MB"). Read as MiB,
 * the larger reading, so that no delivery GitHub sends is refused.
 */
export const MAX_WEBHOOK_BODY_BYTES = 25 * 1024 * 1024;

/**
 * Bytes of bodies held at once, all deliveries in progress together (four at the maximum): a
 * request that would pass it is answered 503 and closed, so that concurrent large posts cannot
 * take the process over its memory limit.
 */
export const MAX_BUFFERED_BYTES = 4 * MAX_WEBHOOK_BODY_BYTES;

/** How many delivery ids are remembered (the oldest is forgotten first): about 50 bytes each. */
const REMEMBERED_DELIVERIES = 10_000;

interface EdgeLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface WebhookEdgeOptions {
  readonly log: EdgeLog;
  readonly maxBodyBytes?: number;
  readonly maxBufferedBytes?: number;
  readonly rememberedDeliveries?: number;
}

type Middleware = (request: IncomingMessage, response: ServerResponse, next?: () => void) => Promise<boolean>;

const JSON_CONTENT = /^\s*(application\/json)\s*(?:;|$)/u;

/** The delivery ids seen lately: handled, or being handled now. */
export class RecentDeliveries {
  readonly #ids = new Map<string, 'handling' | 'handled'>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** True if `id` is new (it is now being handled); false if it was seen. */
  claim(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.set(id, 'handling');
    while (this.#ids.size > this.#capacity) this.#ids.delete(this.#ids.keys().next().value!);
    return true;
  }

  handled(id: string): void {
    if (this.#ids.has(id)) this.#ids.set(id, 'handled');
  }

  /** A delivery that failed: its redelivery is handled again. */
  forget(id: string): void {
    this.#ids.delete(id);
  }

  get size(): number {
    return this.#ids.size;
  }
}

/**
 * Puts the edge in front of the webhook middleware Probot's server will ask this Probot for.
 * Call it while the app loads (before the server starts).
 */
export function guardWebhookEndpoint(probot: Probot, options: WebhookEdgeOptions): RecentDeliveries {
  const deliveries = new RecentDeliveries(options.rememberedDeliveries ?? REMEMBERED_DELIVERIES);
  const maxBytes = options.maxBodyBytes ?? MAX_WEBHOOK_BODY_BYTES;
  const held = { bytes: 0, max: options.maxBufferedBytes ?? MAX_BUFFERED_BYTES };
  const log = options.log;
  const original = probot.getNodeMiddleware.bind(probot);
  // A handler failing after the middleware answered "still processing" (202): forget it too.
  probot.onError((error) => {
    const id = (error as { event?: { id?: unknown } }).event?.id;
    if (typeof id === 'string') deliveries.forget(id);
  });
  probot.getNodeMiddleware = async (middlewareOptions = {}) => {
    const path = normalizePath(middlewareOptions.path ?? probot.webhookPath);
    // The middleware logs a failed delivery's error, whose `event` carries the whole payload:
    // one line instead (the handler's error itself is logged by Probot's error handler).
    const inner = (await original({
      ...middlewareOptions,
      log: {
        debug: (message: string) => probot.log.debug(message),
        info: (message: string) => probot.log.info(message),
        warn: (message: string) => probot.log.warn(message),
        error: (error: unknown) => probot.log.error(failureLine(error)),
      } as unknown as NonNullable<typeof middlewareOptions.log>,
    })) as Middleware;
    return (async (request: IncomingMessage, response: ServerResponse, next?: () => void): Promise<boolean> => {
      if (request.method !== 'POST' || pathOf(request) !== path) return inner(request, response, next);
      const id = header(request, 'x-github-delivery');
      const event = header(request, 'x-github-event');
      const signature = header(request, 'x-hub-signature-256');
      const contentType = header(request, 'content-type');
      // Without these the middleware answers (415, 400) without reading the body.
      if (
        id === undefined ||
        event === undefined ||
        signature === undefined ||
        contentType === undefined ||
        !JSON_CONTENT.test(contentType)
      ) {
        return inner(request, response, next);
      }
      const refuse = (status: number, reason: string, close: boolean): true => {
        log.warn(`webhook delivery ${printable(id)} (${printable(event)}) refused: ${reason}`);
        const answer = JSON.stringify({ error: reason });
        response.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(answer),
          ...(close ? { connection: 'close' } : {}),
        });
        response.end(answer);
        return true;
      };
      const declared = request.headers['content-length'];
      if (declared !== undefined && Number(declared) > maxBytes)
        return refuse(413, `body of ${declared} bytes is over GitHub's maximum of ${maxBytes}`, true);
      const read = await readBody(request, maxBytes, held);
      try {
        if (read.body === 'too large') return refuse(413, `body is over GitHub's maximum of ${maxBytes} bytes`, true);
        if (read.body === 'busy') return refuse(503, `bodies of deliveries in progress would pass ${held.max} bytes`, true);
        if (read.body === 'aborted') return true;
        // Decoded as the middleware decodes (get-payload.js: TextDecoder, not fatal), and signed as
        // @octokit/webhooks checks it (verify-and-receive.js; no additional secrets with Probot).
        const payload = new TextDecoder('utf-8', { fatal: false }).decode(read.body);
        const genuine = await probot.webhooks.verify(payload, signature).catch(() => false);
        if (!genuine) return refuse(400, 'signature does not match event payload and secret', false);
        if (!deliveries.claim(id)) {
          log.info(`webhook delivery ${printable(id)} (${printable(event)}) received again: already handled`);
          response.writeHead(200, { 'content-type': 'text/plain' }).end('already handled\n');
          return true;
        }
        (request as IncomingMessage & { body?: string }).body = payload;
        try {
          const answered = await inner(request, response, next);
          if (response.statusCode >= 200 && response.statusCode < 300) deliveries.handled(id);
          else deliveries.forget(id);
          return answered;
        } catch (e) {
          deliveries.forget(id);
          throw e;
        }
      } finally {
        held.bytes -= read.held;
      }
    }) as Awaited<ReturnType<Probot['getNodeMiddleware']>>;
  };
  return deliveries;
}

/**
 * The body, counted as it arrives; 'too large' as soon as it passes `max` bytes, 'busy' as soon
 * as the bodies held together would pass `held.max` (then what came so far is dropped and nothing
 * more is kept), 'aborted' if the client went away. `held` counts what the body holds until the
 * caller gives it back (subtracting the `held` returned).
 */
function readBody(
  request: IncomingMessage,
  max: number,
  held: { bytes: number; max: number },
): Promise<{ body: Buffer | 'too large' | 'busy' | 'aborted'; held: number }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      // Dropped when refused; what else arrives flows to no listener (discarded) until the
      // connection, answered with Connection: close, is closed.
      if (size + chunk.length > max) return done('too large');
      if (held.bytes + chunk.length > held.max) return done('busy');
      size += chunk.length;
      held.bytes += chunk.length;
      chunks.push(chunk);
    };
    const done = (body: Buffer | 'too large' | 'busy' | 'aborted') => {
      request.off('data', onData).off('end', onEnd).off('error', onAborted).off('close', onAborted);
      if (typeof body === 'string') {
        chunks.length = 0;
        held.bytes -= size;
        return resolve({ body, held: 0 });
      }
      resolve({ body, held: size });
    };
    const onEnd = () => done(Buffer.concat(chunks, size));
    const onAborted = () => done('aborted');
    request.on('data', onData).on('end', onEnd).on('error', onAborted).on('close', onAborted);
  });
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** The request's path as the middleware compares it (create-middleware.js, trailing slashes off). */
function pathOf(request: IncomingMessage): string | null {
  try {
    return new URL(normalizePath(request.url ?? '/'), 'http://localhost').pathname;
  } catch {
    return null;
  }
}

function normalizePath(path: string): string {
  return path.replace(/\/+$/, '') || '/';
}

/** A header value fit for one log line: printable ASCII, at most 100 characters. */
function printable(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 100 ? `${clean.slice(0, 100)}...` : clean;
}

/** One line for a delivery the middleware failed: its id, event and the errors' messages. */
function failureLine(error: unknown): string {
  const event = (error as { event?: { id?: unknown; name?: unknown } }).event;
  const errors = error instanceof AggregateError ? error.errors : [error];
  const messages = errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  const id = typeof event?.id === 'string' ? printable(event.id) : 'unknown';
  const name = typeof event?.name === 'string' ? printable(event.name) : 'unknown';
  return `webhook delivery ${id} (${name}) failed: ${messages.slice(0, 500)}`;
}

/**
 * Why the App must not start with this environment, or null. Without a webhook secret Probot
 * verifies deliveries with its public default, "development" (probot 14.3.2 lib/probot.js,
 * `options.secret || defaultWebhookSecret`): anyone could sign one. The environment is the
 * process's with `.env` applied over it, as Probot's `run` does (lib/helpers/apply-env.js and
 * load-env.js). Probot's setup mode (no APP_ID, or no private key: lib/run.js) creates the App
 * and writes its secret to `.env`; it needs none yet.
 */
export function webhookSecretProblem(processEnv: NodeJS.ProcessEnv, cwd: string): string | null {
  if (probotSetupMode(processEnv, cwd)) return null;
  const env = { ...processEnv, ...dotEnv(cwd) };
  const secret = env['WEBHOOK_SECRET'];
  if (secret === undefined || secret.trim() === '') {
    return 'WEBHOOK_SECRET is missing or empty: set it to the GitHub App\'s webhook secret (without it, deliveries signed with Probot\'s public default "development" would be accepted)';
  }
  if (secret === 'development')
    return 'WEBHOOK_SECRET is "development", Probot\'s public default: set it to the GitHub App\'s own webhook secret';
  return null;
}

/**
 * Whether Probot's `run` starts its setup flow (create the GitHub App) rather than the App: no
 * APP_ID or no private key (probot 14.3.2 lib/run.js, `!appId || !privateKey`; the key as
 * @probot/get-private-key finds it: PRIVATE_KEY, PRIVATE_KEY_PATH or one *.pem in the cwd), with
 * `.env` applied over the process's environment as `run` does.
 */
export function probotSetupMode(processEnv: NodeJS.ProcessEnv, cwd: string): boolean {
  const env = { ...processEnv, ...dotEnv(cwd) };
  const privateKey = Boolean(env['PRIVATE_KEY']) || Boolean(env['PRIVATE_KEY_PATH']) || readdirSync(cwd).some((f) => f.endsWith('.pem'));
  return !Number(env['APP_ID']) || !privateKey;
}

function dotEnv(cwd: string): Record<string, string> {
  try {
    return parseEnv(readFileSync(join(cwd, '.env'), 'utf8')) as Record<string, string>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
}

/**
 * A handler's error as it reaches Probot's log, without the delivery's payload. @octokit/webhooks
 * attaches the whole event to every error a handler throws (event-handler/receive.js,
 * `Object.assign(error, { event })`) and Probot logs each such error with it
 * (helpers/get-error-handler.js): a genuine delivery's payload in the log at every failure. Here
 * `event` is an accessor that keeps only the delivery's id and name, and serializes to nothing.
 */
class HandlerError extends Error {
  override readonly name = 'HandlerError';
  /** `<event name> <delivery id>`, for the log. */
  delivery = '';

  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    if (cause instanceof Error && cause.stack !== undefined) this.stack = cause.stack;
  }

  get event(): undefined {
    return undefined;
  }

  set event(event: { id?: unknown; name?: unknown } | undefined) {
    this.delivery = `${String(event?.name ?? '')} ${String(event?.id ?? '')}`.trim();
  }
}

/** `handler`, its errors turned into HandlerErrors (see there). */
export function withoutPayloadInErrors<C>(handler: (context: C) => Promise<void>): (context: C) => Promise<void> {
  return async (context) => {
    try {
      await handler(context);
    } catch (e) {
      throw e instanceof HandlerError ? e : new HandlerError(e);
    }
  };
}
