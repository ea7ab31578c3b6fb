// A Kubernetes API server on 127.0.0.1, speaking the shapes the bot uses: cluster-wide lists of
// namespaces, deployments, statefulsets, daemonsets, jobs and cronjobs with `limit` / `continue`,
// and Lease get / create / update with resourceVersion checks. Errors are `Status` objects as the
// real API server writes them (403 Forbidden, 404 NotFound, 409 Conflict / AlreadyExists,
// 410 Expired, 401 Unauthorized, 500 InternalError). Every request is recorded.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export type ListResource = 'namespaces' | 'deployments' | 'statefulsets' | 'daemonsets' | 'jobs' | 'cronjobs';

const LISTS: Record<ListResource, { readonly path: string; readonly group: string; readonly kind: string; readonly apiVersion: string }> = {
  namespaces: { path: '/api/v1/namespaces', group: '', kind: 'NamespaceList', apiVersion: 'v1' },
  deployments: { path: '/apis/apps/v1/deployments', group: 'apps', kind: 'DeploymentList', apiVersion: 'apps/v1' },
  statefulsets: { path: '/apis/apps/v1/statefulsets', group: 'apps', kind: 'StatefulSetList', apiVersion: 'apps/v1' },
  daemonsets: { path: '/apis/apps/v1/daemonsets', group: 'apps', kind: 'DaemonSetList', apiVersion: 'apps/v1' },
  jobs: { path: '/apis/batch/v1/jobs', group: 'batch', kind: 'JobList', apiVersion: 'batch/v1' },
  cronjobs: { path: '/apis/batch/v1/cronjobs', group: 'batch', kind: 'CronJobList', apiVersion: 'batch/v1' },
};

const LEASES = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/;

export const SERVICE_ACCOUNT = 'system:serviceaccount:policy-recommender:policy-recommender';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** The bearer token sent, or undefined. */
  readonly token: string | undefined;
  readonly body: unknown;
  /** 0 while unanswered (see hold()). */
  status: number;
  /** The client closed the connection before an answer (an aborted request). */
  aborted: boolean;
}

export interface LeaseObject {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion: string; uid: string; creationTimestamp: string; [key: string]: unknown };
  spec: Record<string, unknown>;
}

type Failure = { readonly status: number; remaining: number; readonly path?: RegExp };

export class KubeApiServer {
  static readonly TOKEN = 'token-of-the-bot';

  readonly requests: RecordedRequest[] = [];
  readonly #server: Server;
  readonly #items = new Map<ListResource, unknown[]>();
  readonly #leases = new Map<string, LeaseObject>();
  readonly #tokens = new Set([KubeApiServer.TOKEN]);
  readonly #forbidden = new Set<string>();
  readonly #expired = new Map<string, number>();
  readonly #failures = new Map<string, Failure>();
  readonly #held = new Set<string>();
  #beforeLeaseWrite: ((request: RecordedRequest) => void) | undefined;
  #revision = 1000;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<KubeApiServer> {
    let self: KubeApiServer | undefined;
    const server = createServer((req, res) => {
      void self!.#handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(e));
      });
    });
    self = new KubeApiServer(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** A KubeConfig for this server: plain HTTP (hence skipTLSVerify), a bearer-token user. */
  kubeConfig(token: string = KubeApiServer.TOKEN): KubeConfig {
    this.#tokens.add(token);
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'test', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'bot', token }],
      contexts: [{ name: 'test', cluster: 'test', user: 'bot' }],
      currentContext: 'test',
    });
    return config;
  }

  /** Forgets objects, leases, injected errors and recorded requests (tokens stay valid). */
  reset(): void {
    this.requests.length = 0;
    this.#items.clear();
    this.#leases.clear();
    this.#forbidden.clear();
    this.#expired.clear();
    this.#failures.clear();
    this.#held.clear();
    this.#beforeLeaseWrite = undefined;
  }

  /** The objects a list returns, in order (as stored, so tests can send invalid ones). */
  setItems(resource: ListResource, items: readonly unknown[]): void {
    this.#items.set(resource, [...items]);
  }

  /** The continue token this server hands out for `resource` when the next page starts at `offset`. */
  continueToken(resource: ListResource, offset: number): string {
    return Buffer.from(JSON.stringify({ resource, offset })).toString('base64url');
  }

  /** The next `times` requests with this continue token get 410 Expired. */
  expireContinueToken(token: string, times = 1): void {
    this.#expired.set(token, times);
  }

  /** `verb` on `resource` (e.g. 'list', 'deployments') is refused with 403 Forbidden. */
  forbid(verb: string, resource: string): void {
    this.#forbidden.add(`${verb} ${resource}`);
  }

  /** Requests carrying `token` (and matching `path`, if given) fail with `status`, `times` times (default: until cleared). */
  failRequests(token: string, status: number, options: { times?: number; path?: RegExp } = {}): void {
    this.#failures.set(token, { status, remaining: options.times ?? Infinity, ...(options.path ? { path: options.path } : {}) });
  }

  clearFailures(token: string): void {
    this.#failures.delete(token);
  }

  /** Requests carrying `token` are recorded and never answered (a hung API server), until release(). */
  hold(token: string): void {
    this.#held.add(token);
  }

  release(token: string): void {
    this.#held.delete(token);
  }

  /** Waits (real time, bounded) until a recorded request satisfies `predicate`. */
  async waitFor(predicate: (request: RecordedRequest) => boolean, timeoutMs = 5000): Promise<RecordedRequest> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.requests.find(predicate);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error('no such request arrived');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Runs once, just before the next Lease create or update is applied (to provoke conflicts). */
  beforeNextLeaseWrite(hook: (request: RecordedRequest) => void): void {
    this.#beforeLeaseWrite = hook;
  }

  lease(namespace: string, name: string): LeaseObject | undefined {
    return this.#leases.get(`${namespace}/${name}`);
  }

  /** Writes a lease directly, as another client would; returns it with its new resourceVersion. */
  putLease(namespace: string, name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): LeaseObject {
    const existing = this.#leases.get(`${namespace}/${name}`);
    const lease: LeaseObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        ...metadata,
        uid: existing?.metadata.uid ?? `uid-${this.#revision}`,
        creationTimestamp: existing?.metadata.creationTimestamp ?? new Date(0).toISOString(),
        name,
        namespace,
        resourceVersion: String(++this.#revision),
      },
      spec,
    };
    this.#leases.set(`${namespace}/${name}`, lease);
    return structuredClone(lease);
  }

  /** Requests whose path starts with `prefix` (all when omitted). */
  requestsTo(prefix = '', method?: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(prefix) && (method === undefined || r.method === method));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    const auth = req.headers.authorization;
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      token: auth?.startsWith('Bearer ') ? auth.slice(7) : undefined,
      body,
      status: 0,
      aborted: false,
    };
    this.requests.push(request);
    res.on('close', () => {
      if (!res.writableFinished) request.aborted = true;
    });
    if (request.token !== undefined && this.#held.has(request.token)) return;
    const send = (status: number, payload: unknown) => {
      request.status = status;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };

    if (request.token === undefined || !this.#tokens.has(request.token)) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
    const failure = this.#failures.get(request.token);
    if (failure !== undefined && failure.remaining > 0 && (failure.path === undefined || failure.path.test(request.path))) {
      failure.remaining--;
      return send(failure.status, status(failure.status, failure.status >= 500 ? 'InternalError' : 'BadRequest', 'injected failure'));
    }

    const list = (Object.keys(LISTS) as ListResource[]).find((r) => LISTS[r].path === request.path);
    if (list !== undefined && request.method === 'GET') return this.#list(list, request, send);
    const lease = LEASES.exec(request.path);
    if (lease !== null) return this.#leaseCall(decodeURIComponent(lease[1]!), lease[2] === undefined ? undefined : decodeURIComponent(lease[2]), request, send);
    return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
  }

  #list(resource: ListResource, request: RecordedRequest, send: (status: number, payload: unknown) => void): void {
    const { group, kind, apiVersion } = LISTS[resource];
    const qualified = group === '' ? resource : `${resource}.${group}`;
    if (this.#forbidden.has(`list ${resource}`)) {
      return send(
        403,
        status(403, 'Forbidden', `${qualified} is forbidden: User "${SERVICE_ACCOUNT}" cannot list resource "${resource}" in API group "${group}" at the cluster scope`, {
          group,
          kind: resource,
        }),
      );
    }
    const items = this.#items.get(resource) ?? [];
    let offset = 0;
    const token = request.query['continue'];
    if (token !== undefined && token !== '') {
      const remaining = this.#expired.get(token) ?? 0;
      if (remaining > 0) {
        this.#expired.set(token, remaining - 1);
        const expired = status(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
        return send(410, { ...expired, metadata: { continue: token } });
      }
      let decoded: { resource?: unknown; offset?: unknown };
      try {
        decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as typeof decoded;
      } catch {
        decoded = {};
      }
      if (decoded.resource !== resource || typeof decoded.offset !== 'number') {
        return send(400, status(400, 'BadRequest', `invalid continue token`));
      }
      offset = decoded.offset;
    }
    const limit = request.query['limit'] === undefined ? Infinity : Number(request.query['limit']);
    const page = items.slice(offset, offset + limit);
    const next = offset + page.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(this.#revision) };
    if (next < items.length) {
      metadata['continue'] = this.continueToken(resource, next);
      metadata['remainingItemCount'] = items.length - next;
    }
    send(200, { kind, apiVersion, metadata, items: page });
  }

  #leaseCall(namespace: string, name: string | undefined, request: RecordedRequest, send: (status: number, payload: unknown) => void): void {
    const verb = request.method === 'GET' ? 'get' : request.method === 'POST' ? 'create' : request.method === 'PUT' ? 'update' : 'other';
    if (verb === 'other' || (name === undefined) !== (verb === 'create')) {
      return send(405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
    }
    const objectName = name ?? (isRecord(request.body) && isRecord(request.body['metadata']) ? String(request.body['metadata']['name'] ?? '') : '');
    if (this.#forbidden.has(`${verb} leases`)) {
      return send(
        403,
        status(
          403,
          'Forbidden',
          `leases.coordination.k8s.io "${objectName}" is forbidden: User "${SERVICE_ACCOUNT}" cannot ${verb} resource "leases" in API group "coordination.k8s.io" in the namespace "${namespace}"`,
          { name: objectName, group: 'coordination.k8s.io', kind: 'leases' },
        ),
      );
    }
    const key = `${namespace}/${objectName}`;
    const notFound = () =>
      send(404, status(404, 'NotFound', `leases.coordination.k8s.io "${objectName}" not found`, { name: objectName, group: 'coordination.k8s.io', kind: 'leases' }));
    if (verb === 'get') {
      const lease = this.#leases.get(key);
      return lease === undefined ? notFound() : send(200, lease);
    }

    const hook = this.#beforeLeaseWrite;
    this.#beforeLeaseWrite = undefined;
    hook?.(request);
    const body = request.body;
    if (!isRecord(body) || !isRecord(body['metadata']) || !isRecord(body['spec']) || objectName === '') {
      return send(400, status(400, 'BadRequest', 'the body is not a Lease'));
    }
    if (body['metadata']['name'] !== objectName) {
      return send(400, status(400, 'BadRequest', `the name of the object (${String(body['metadata']['name'])}) does not match the name on the URL (${objectName})`));
    }
    const existing = this.#leases.get(key);
    if (verb === 'create') {
      if (existing !== undefined) {
        return send(409, status(409, 'AlreadyExists', `leases.coordination.k8s.io "${objectName}" already exists`, { name: objectName, group: 'coordination.k8s.io', kind: 'leases' }));
      }
      const created = this.putLease(namespace, objectName, body['spec'], labelsAndAnnotations(body['metadata']));
      return send(201, created);
    }
    if (existing === undefined) return notFound();
    const version = body['metadata']['resourceVersion'];
    if (version !== undefined && version !== existing.metadata.resourceVersion) {
      return send(
        409,
        status(
          409,
          'Conflict',
          `Operation cannot be fulfilled on leases.coordination.k8s.io "${objectName}": the object has been modified; please apply your changes to the latest version and try again`,
          { name: objectName, group: 'coordination.k8s.io', kind: 'leases' },
        ),
      );
    }
    send(200, this.putLease(namespace, objectName, body['spec'], labelsAndAnnotations(body['metadata'])));
  }
}

function status(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

function labelsAndAnnotations(metadata: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  if (metadata['labels'] !== undefined) kept['labels'] = metadata['labels'];
  if (metadata['annotations'] !== undefined) kept['annotations'] = metadata['annotations'];
  return kept;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
