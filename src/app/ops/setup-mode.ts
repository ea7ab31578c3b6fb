// Probot's setup flow (`npm start` without APP_ID and PRIVATE_KEY: create the GitHub App from
// app.yml), served with the operator's endpoints. Probot's `run` serves the setup flow alone
// (probot 14.3.2 lib/run.js: a Server holding only setupAppFactory's handler), so /healthz,
// /readyz and /metrics would answer 404 and a probe could not tell a server waiting to be
// registered from a dead one. This starts the same server the same way, with two differences:
// the endpoints answer (ready: no, and why), and the manifest the setup page sends to GitHub
// points the webhook at the App's webhook path instead of `/`.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Logger, Probot, Server } from 'probot';
import { opsHandler } from './endpoints.ts';
import type { AppMetrics } from './metrics.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
type Env = Record<string, string>;

/** The parts of Probot's own modules its `run` uses for the setup flow (not in its package exports). */
interface ProbotInternals {
  readonly applyEnv: () => void;
  readonly readEnvOptions: () => {
    readonly port: number;
    readonly host?: string | undefined;
    readonly webhookPath?: string | undefined;
    readonly webhookProxy?: string | undefined;
    readonly logLevel?: string | undefined;
    readonly logFormat?: string | undefined;
    readonly logLevelInString?: boolean | undefined;
    readonly logMessageKey?: string | undefined;
    readonly sentryDsn?: string | undefined;
  };
  readonly getLog: (options: Record<string, unknown>) => Promise<Logger>;
  readonly updateEnv: (env: Env) => Env;
  readonly setupAppFactory: (options: { host: string; port: number; log: Logger; updateEnv: (env: Env) => Env }) => () => Promise<Handler>;
}

async function probotInternals(): Promise<ProbotInternals> {
  // probot's package.json exports only its entry (lib/index.js); its modules sit beside it.
  const lib = new URL('./', import.meta.resolve('probot'));
  const load = async <T>(path: string): Promise<T> => (await import(new URL(path, lib).href)) as T;
  return {
    ...(await load<Pick<ProbotInternals, 'applyEnv'>>('helpers/apply-env.js')),
    ...(await load<Pick<ProbotInternals, 'readEnvOptions'>>('bin/read-env-options.js')),
    ...(await load<Pick<ProbotInternals, 'getLog'>>('helpers/get-log.js')),
    ...(await load<Pick<ProbotInternals, 'updateEnv'>>('helpers/update-env.js')),
    ...(await load<Pick<ProbotInternals, 'setupAppFactory'>>('apps/setup.js')),
  };
}

/** Probot's default webhook path (lib/server/server.js `defaultWebhookPath`, @octokit/webhooks' default). */
const DEFAULT_WEBHOOK_PATH = '/api/github/webhooks';

/** Why /readyz says not ready while the setup flow runs. */
function setupModeReason(registered: boolean): string {
  return registered
    ? 'setup mode: the GitHub App is registered and its credentials written to .env; restart the server to run it'
    : 'setup mode: the GitHub App is not registered yet (no APP_ID and PRIVATE_KEY); open this server in a browser to register it';
}

/**
 * Starts Probot's setup flow as `run` does (lib/run.js, the `!appId || !privateKey` branch outside
 * production), with /healthz, /readyz (503, the reason) and /metrics beside it.
 */
export async function serveSetupFlow(options: { readonly metrics: AppMetrics }): Promise<Server> {
  const probot = await probotInternals();
  probot.applyEnv();
  const env = probot.readEnvOptions();
  const log = await probot.getLog({
    level: env.logLevel,
    logFormat: env.logFormat,
    logLevelInString: env.logLevelInString,
    logMessageKey: env.logMessageKey,
    sentryDsn: env.sentryDsn,
  });
  const webhookPath = env.webhookPath ?? DEFAULT_WEBHOOK_PATH;
  const server = new Server({
    host: env.host ?? 'localhost',
    port: env.port,
    webhookPath,
    ...(env.webhookProxy ? { webhookProxy: env.webhookProxy } : {}),
    log,
    // As run does: the setup flow never uses this Probot, but its constructor wants credentials (probot #1512).
    Probot: Probot.defaults({ appId: 1, privateKey: 'dummy value for setup, see #1512', log }),
  });
  let registered = false;
  await server.load((_app, { addHandler }) => {
    addHandler(opsHandler({ metrics: options.metrics, notReady: () => setupModeReason(registered) }));
  });
  const setupApp = probot.setupAppFactory({
    host: server.host,
    port: server.port,
    log: log.child({ name: 'setup' }),
    // The flow writes the new App's credentials here (manifest conversion, or the import form).
    updateEnv: (values) => {
      const written = probot.updateEnv(values);
      if (values['APP_ID']) registered = true;
      return written;
    },
  });
  await server.loadHandlerFactory(async () => manifestWebhookAt(webhookPath, await setupApp()));
  await server.start();
  return server;
}

/**
 * The setup page's handler, with the manifest's webhook URL on `webhookPath`. Probot's manifest
 * (lib/manifest-creation.js getManifest) sets `hook_attributes.url` to `${baseUrl}/`, where the
 * server serves no webhook, and `redirect_url` to `${baseUrl}/probot/setup`; the page carries it
 * in the single-quoted `value` of the button that posts it (lib/views/setup.js). Only that exact
 * shape is rewritten: a smee channel (WEBHOOK_PROXY_URL) or a URL from app.yml stays as it is.
 */
function manifestWebhookAt(webhookPath: string, setupHandler: Handler): Handler {
  return (req, res) => {
    if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/probot') {
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      res.end = ((chunk?: unknown, ...rest: unknown[]) =>
        end(typeof chunk === 'string' ? withWebhookPath(chunk, webhookPath) : chunk, ...rest)) as ServerResponse['end'];
    }
    return setupHandler(req, res);
  };
}

const MANIFEST_ATTRIBUTE = /( name="manifest" id="manifest" value=')([^']*)(')/;

/** The setup page with its manifest's webhook URL moved from `${baseUrl}/` to `${baseUrl}${webhookPath}`. */
export function withWebhookPath(page: string, webhookPath: string): string {
  const match = MANIFEST_ATTRIBUTE.exec(page);
  if (match === null) return page;
  let manifest: { hook_attributes?: { url?: unknown }; redirect_url?: unknown };
  try {
    manifest = JSON.parse(match[2]!) as typeof manifest;
  } catch {
    return page;
  }
  const redirect = manifest.redirect_url;
  if (typeof redirect !== 'string' || !redirect.endsWith('/probot/setup')) return page;
  const baseUrl = redirect.slice(0, -'/probot/setup'.length);
  if (manifest.hook_attributes?.url !== `${baseUrl}/`) return page;
  manifest.hook_attributes.url = `${baseUrl}${webhookPath}`;
  // JSON inside a single-quoted attribute: an apostrophe (only ever inside a string) as its escape.
  const value = JSON.stringify(manifest).replaceAll("'", '\\u0027');
  return page.replace(MANIFEST_ATTRIBUTE, (_all, before: string, _old, after: string) => `${before}${value}${after}`);
}
