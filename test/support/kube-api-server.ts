// A Kubernetes API server on 127.0.0.1, speaking the shapes the bot uses: cluster-wide lists of
// namespaces, deployments, statefulsets, daemonsets, jobs and cronjobs with `limit` / `continue`,
// and Lease get / create / update with resourceVersion checks. Errors are `Status` objects as the
// real API server writes them (403 Forbidden, 404 NotFound, 409 Conflict / AlreadyExists,
// 410 Expired, 401 Unauthorized, 500 InternalError). Every request is recorded.
//
// Calico's objects (clusterinformations, networksets, globalnetworksets, ippools) in its two API
// groups, each served as a cluster may serve it (see CalicoServing): projectcalico.org/v3 through
// Calico's aggregated API server or native v3 CRDs, crd.projectcalico.org/v1 through CRDs, either
// one not at all. As in a real API server, authorization comes first: a refused request is a 403
// whether or not the group is served.

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

export type CalicoGroup = 'projectcalico.org' | 'crd.projectcalico.org';
export type CalicoResource = 'clusterinformations' | 'networksets' | 'globalnetworksets' | 'ippools';

/**
 * How the cluster serves one Calico API group:
 * - `aggregated`: Calico's API server (projectcalico.org/v3, 3.30+). It ignores `limit` and
 *   `continue` and answers a list in one page (apiserver/pkg/storage/calico/resource.go List,
 *   release-v3.33).
 * - `crds`: CustomResourceDefinitions (crd.projectcalico.org/v1; projectcalico.org/v3 from 3.32),
 *   paged like every list.
 * - `absent`: not served: 404 "the server could not find the requested resource", no details.
 * - `unavailable`: an aggregated API whose server is down: 503.
 */
export type CalicoServing = 'aggregated' | 'crds' | 'absent' | 'unavailable';

const CALICO_KINDS: Record<CalicoResource, string> = {
  clusterinformations: 'ClusterInformation',
  networksets: 'NetworkSet',
  globalnetworksets: 'GlobalNetworkSet',
  ippools: 'IPPool',
};
const CALICO = /^\/apis\/(projectcalico\.org\/v3|crd\.projectcalico\.org\/v1)\/([a-z]+)(?:\/([^/]+))?$/;

const SERVICE_ACCOUNT = 'system:serviceaccount:policy-recommender:policy-recommender';

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
  readonly #calicoItems = new Map<string, unknown[]>();
  readonly #calicoServing = new Map<CalicoGroup, CalicoServing>();
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
    this.#calicoItems.clear();
    this.#calicoServing.clear();
    this.#beforeLeaseWrite = undefined;
  }

  /** How `group` is served (until reset(); both are `absent` at first: a cluster without Calico). */
  serveCalico(group: CalicoGroup, serving: CalicoServing): void {
    if (serving === 'aggregated' && group !== 'projectcalico.org')
      throw new Error('only projectcalico.org is served by an aggregated API server');
    this.#calicoServing.set(group, serving);
  }

  /** The Calico objects `group` serves for `resource`, in order (as stored: tests can send invalid ones). */
  setCalicoItems(group: CalicoGroup, resource: CalicoResource, items: readonly unknown[]): void {
    this.#calicoItems.set(`${resource}.${group}`, [...items]);
  }

  /** The objects a list returns, in order (as stored, so tests can send invalid ones). */
  setItems(resource: ListResource, items: readonly unknown[]): void {
    this.#items.set(resource, [...items]);
  }

  /**
   * The continue token this server hands out for `resource` (a ListResource, or a Calico resource
   * qualified by its group: `networksets.crd.projectcalico.org`) when the next page starts at `offset`.
   */
  continueToken(resource: ListResource | `${CalicoResource}.${CalicoGroup}`, offset: number): string {
    return this.#token(resource, offset);
  }

  #token(key: string, offset: number): string {
    return Buffer.from(JSON.stringify({ resource: key, offset })).toString('base64url');
  }

  /** The next `times` requests with this continue token get 410 Expired. */
  expireContinueToken(token: string, times = 1): void {
    this.#expired.set(token, times);
  }

  /**
   * `verb` on `resource` (e.g. 'list', 'deployments') is refused with 403 Forbidden. Calico
   * resources are qualified by their group: 'networksets.projectcalico.org'.
   */
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
      if (typeof payload === 'string') res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(payload);
      else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };

    if (request.token === undefined || !this.#tokens.has(request.token)) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
    const failure = this.#failures.get(request.token);
    if (failure !== undefined && failure.remaining > 0 && (failure.path === undefined || failure.path.test(request.path))) {
      failure.remaining--;
      return send(failure.status, status(failure.status, failure.status >= 500 ? 'InternalError' : 'BadRequest', 'injected failure'));
    }

    const list = (Object.keys(LISTS) as ListResource[]).find((r) => LISTS[r].path === request.path);
    if (list !== undefined && request.method === 'GET') {
      const { group, kind, apiVersion } = LISTS[list];
      return this.#list(
        { key: list, resource: list, group, kind, apiVersion, items: this.#items.get(list) ?? [], paged: true },
        request,
        send,
      );
    }
    const calico = CALICO.exec(request.path);
    if (calico !== null && request.method === 'GET') return this.#calicoCall(calico[1]!, calico[2]!, calico[3], request, send);
    const lease = LEASES.exec(request.path);
    if (lease !== null)
      return this.#leaseCall(
        decodeURIComponent(lease[1]!),
        lease[2] === undefined ? undefined : decodeURIComponent(lease[2]),
        request,
        send,
      );
    return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
  }

  #calicoCall(
    groupVersion: string,
    resource: string,
    name: string | undefined,
    request: RecordedRequest,
    send: (status: number, payload: unknown) => void,
  ): void {
    const group = groupVersion.slice(0, groupVersion.indexOf('/')) as CalicoGroup;
    const verb = name === undefined ? 'list' : 'get';
    const qualified = `${resource}.${group}`;
    if (this.#forbidden.has(`${verb} ${qualified}`)) {
      const object = name === undefined ? qualified : `${qualified} "${name}"`;
      return send(
        403,
        status(
          403,
          'Forbidden',
          `${object} is forbidden: User "${SERVICE_ACCOUNT}" cannot ${verb} resource "${resource}" in API group "${group}" at the cluster scope`,
          {
            ...(name === undefined ? {} : { name }),
            group,
            kind: resource,
          },
        ),
      );
    }
    const serving = this.#calicoServing.get(group) ?? 'absent';
    const kind = CALICO_KINDS[resource as CalicoResource];
    if (serving === 'absent' || kind === undefined)
      return send(404, status(404, 'NotFound', 'the server could not find the requested resource', {}));
    // The aggregator's own plain-text answer when the APIService's server is down.
    if (serving === 'unavailable') return send(503, 'service unavailable\n');
    const items = this.#calicoItems.get(qualified) ?? [];
    if (name !== undefined) {
      const found = items.find((item) => isRecord(item) && isRecord(item['metadata']) && item['metadata']['name'] === name);
      if (found === undefined)
        return send(404, status(404, 'NotFound', `${qualified} "${name}" not found`, { name, group, kind: resource }));
      return send(200, found);
    }
    this.#list(
      { key: qualified, resource, group, kind: `${kind}List`, apiVersion: groupVersion, items, paged: serving === 'crds' },
      request,
      send,
    );
  }

  #list(
    list: { key: string; resource: string; group: string; kind: string; apiVersion: string; items: readonly unknown[]; paged: boolean },
    request: RecordedRequest,
    send: (status: number, payload: unknown) => void,
  ): void {
    const { key, resource, group, kind, apiVersion, items } = list;
    const qualified = group === '' ? resource : `${resource}.${group}`;
    if (this.#forbidden.has(`list ${key}`)) {
      return send(
        403,
        status(
          403,
          'Forbidden',
          `${qualified} is forbidden: User "${SERVICE_ACCOUNT}" cannot list resource "${resource}" in API group "${group}" at the cluster scope`,
          {
            group,
            kind: resource,
          },
        ),
      );
    }
    if (!list.paged) return send(200, { kind, apiVersion, metadata: { resourceVersion: String(this.#revision) }, items });
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
      if (decoded.resource !== key || typeof decoded.offset !== 'number') {
        return send(400, status(400, 'BadRequest', `invalid continue token`));
      }
      offset = decoded.offset;
    }
    const limit = request.query['limit'] === undefined ? Infinity : Number(request.query['limit']);
    const page = items.slice(offset, offset + limit);
    const next = offset + page.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(this.#revision) };
    if (next < items.length) {
      metadata['continue'] = this.#token(key, next);
      metadata['remainingItemCount'] = items.length - next;
    }
    send(200, { kind, apiVersion, metadata, items: page });
  }

  #leaseCall(
    namespace: string,
    name: string | undefined,
    request: RecordedRequest,
    send: (status: number, payload: unknown) => void,
  ): void {
    const verb = request.method === 'GET' ? 'get' : request.method === 'POST' ? 'create' : request.method === 'PUT' ? 'update' : 'other';
    if (verb === 'other' || (name === undefined) !== (verb === 'create')) {
      return send(405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
    }
    const objectName =
      name ?? (isRecord(request.body) && isRecord(request.body['metadata']) ? String(request.body['metadata']['name'] ?? '') : '');
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
      send(
        404,
        status(404, 'NotFound', `leases.coordination.k8s.io "${objectName}" not found`, {
          name: objectName,
          group: 'coordination.k8s.io',
          kind: 'leases',
        }),
      );
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
      return send(
        400,
        status(
          400,
          'BadRequest',
          `the name of the object (${String(body['metadata']['name'])}) does not match the name on the URL (${objectName})`,
        ),
      );
    }
    const existing = this.#leases.get(key);
    if (verb === 'create') {
      if (existing !== undefined) {
        return send(
          409,
          status(409, 'AlreadyExists', `leases.coordination.k8s.io "${objectName}" already exists`, {
            name: objectName,
            group: 'coordination.k8s.io',
            kind: 'leases',
          }),
        );
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

/**
 * A projectcalico.org/v3 object as libcalico-go stores it in its crd.projectcalico.org/v1 CRD
 * (libcalico-go/lib/backend/k8s/resources/resources.go ConvertCalicoResourceToK8sResource,
 * release-v3.30 and release-v3.33): the v3 metadata but its name, namespace, resourceVersion and
 * uid goes as JSON into the annotation `projectcalico.org/metadata`; only labels and annotations
 * whose key contains `projectcalico.org/` or `operator.tigera.io/` stay on the object itself.
 */
export function calicoV1Object(v3: { metadata: Record<string, unknown>; [key: string]: unknown }): Record<string, unknown> {
  const ours = (map: unknown) =>
    isRecord(map)
      ? Object.fromEntries(Object.entries(map).filter(([k]) => k.includes('projectcalico.org/') || k.includes('operator.tigera.io/')))
      : {};
  const { name, namespace, resourceVersion, uid, ...stored } = v3.metadata;
  const labels = ours(v3.metadata['labels']);
  const metadata: Record<string, unknown> = {
    name,
    ...(namespace === undefined ? {} : { namespace }),
    ...(resourceVersion === undefined ? {} : { resourceVersion }),
    ...(Object.keys(labels).length === 0 ? {} : { labels }),
    annotations: { ...ours(v3.metadata['annotations']), 'projectcalico.org/metadata': JSON.stringify(stored) },
  };
  return { ...v3, apiVersion: 'crd.projectcalico.org/v1', metadata };
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
