// How a failed Kubernetes API call is reported: one error type, whose message says what was being
// done and, for a 403, exactly which permission is missing (verb, resource, API group, scope), so
// an operator can fix the RBAC rule without reading logs.
//
// @kubernetes/client-node v2 reports an HTTP error as an ApiException whose `code` is the status
// and whose `body` is the response *text* (not the parsed Status object; for a 401 it is
// undefined), and whose message embeds the body and every response header. We parse the Status
// ourselves and never pass that message on.

import { ApiException } from '@kubernetes/client-node';

/** One RBAC permission: `list deployments.apps (cluster-wide)`. */
export interface Permission {
  readonly verb: string;
  /** Plural resource name, as in an RBAC rule. */
  readonly resource: string;
  /** API group; '' is the core group. */
  readonly group: string;
  /** Undefined for a cluster-wide request. */
  readonly namespace?: string;
}

export function describePermission(p: Permission): string {
  const resource = p.group === '' ? p.resource : `${p.resource}.${p.group}`;
  const scope = p.namespace === undefined ? 'cluster-wide' : `in namespace ${p.namespace}`;
  return `${p.verb} ${resource} (${scope})`;
}

export interface ClusterAccessErrorDetails {
  /** HTTP status; undefined when no response came back (connection refused, timeout). */
  readonly status?: number;
  /** The Status object's `reason` (Forbidden, Expired, Conflict, InternalError, ...). */
  readonly reason?: string;
  /** What the call needed; set on every error from an API call. */
  readonly permission?: Permission;
  /** Set for 403: the permissions found missing (several when several lists were refused). */
  readonly missing?: readonly Permission[];
  readonly cause?: unknown;
}

/** The cluster could not be read (or the Lease written): missing permission, API error, no connection. */
export class ClusterAccessError extends Error {
  override readonly name = 'ClusterAccessError';
  readonly status: number | undefined;
  readonly reason: string | undefined;
  readonly permission: Permission | undefined;
  readonly missing: readonly Permission[];

  constructor(message: string, details: ClusterAccessErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.reason = details.reason;
    this.permission = details.permission;
    this.missing = details.missing ?? [];
  }
}

/** The parts of a Kubernetes `Status` body we use. */
export interface ApiStatus {
  readonly code: number;
  readonly reason: string | undefined;
  readonly message: string | undefined;
  /**
   * `details.name`: the object a 404 is about. A 404 without it means the resource itself is not
   * served (the API server's "the server could not find the requested resource").
   */
  readonly name: string | undefined;
}

/** The HTTP status and Status body of an API error, or null when the error is not an HTTP response. */
export function apiStatusOf(error: unknown): ApiStatus | null {
  // Duck-typed as well: errors can cross realms (test VMs) or module copies.
  if (!(error instanceof ApiException) && !(isObject(error) && 'body' in error && 'headers' in error)) return null;
  const code = (error as ApiException<unknown>).code;
  if (typeof code !== 'number') return null;
  let body: unknown = (error as ApiException<unknown>).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = undefined;
    }
  }
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? clean(v) : undefined);
  const details = typeof record['details'] === 'object' && record['details'] !== null ? (record['details'] as Record<string, unknown>) : {};
  return { code, reason: text(record['reason']) ?? defaultReason(code), message: text(record['message']), name: text(details['name']) };
}

/** Wraps any failure of the call that `permission` describes. */
export function accessError(error: unknown, permission: Permission): ClusterAccessError {
  if (error instanceof ClusterAccessError) return error;
  const status = apiStatusOf(error);
  if (status !== null) {
    const said = status.message === undefined ? '' : `: ${status.message}`;
    if (status.code === 403) {
      return new ClusterAccessError(`missing permission: ${describePermission(permission)} (HTTP 403 ${status.reason}${said})`, {
        status: 403,
        reason: status.reason,
        permission,
        missing: [permission],
        cause: error,
      });
    }
    return new ClusterAccessError(`cannot ${describePermission(permission)}: HTTP ${status.code} ${status.reason}${said}`, {
      status: status.code,
      reason: status.reason,
      permission,
      cause: error,
    });
  }
  return new ClusterAccessError(`cannot ${describePermission(permission)}: ${transportMessage(error)}`, { permission, cause: error });
}

/** Several refused lists become one error naming every missing permission. */
export function missingPermissions(errors: readonly ClusterAccessError[]): ClusterAccessError {
  const missing = errors.flatMap((e) => e.missing);
  if (missing.length === 1) return errors[0]!;
  return new ClusterAccessError(`missing permissions: ${missing.map(describePermission).join(', ')}`, {
    status: 403,
    reason: 'Forbidden',
    missing,
    cause: errors[0],
  });
}

function transportMessage(error: unknown): string {
  // Not `instanceof Error`: socket errors come from Node's own realm.
  if (!isObject(error) || typeof error['message'] !== 'string') return clean(String(error));
  if (error['name'] === 'AbortError' || error['name'] === 'TimeoutError') return 'the request timed out';
  // undici: TypeError('fetch failed') with the socket error (or an AggregateError of them) as its cause.
  let cause = error['cause'];
  if (isObject(cause) && Array.isArray(cause['errors']) && isObject(cause['errors'][0])) cause = cause['errors'][0];
  if (isObject(cause) && typeof cause['message'] === 'string') {
    const code = typeof cause['code'] === 'string' ? `${cause['code']}: ` : '';
    return `${clean(error['message'])} (${code}${clean(cause['message']).replace(`${String(cause['code'])} `, '')})`;
  }
  return clean(error['message']);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function defaultReason(code: number): string {
  switch (code) {
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 409:
      return 'Conflict';
    case 410:
      return 'Expired';
    case 429:
      return 'TooManyRequests';
    case 503:
      // Also what the API server answers for an aggregated API (Calico's) whose server is down.
      return 'ServiceUnavailable';
    default:
      return code >= 500 ? 'InternalError' : 'Unknown';
  }
}

/** Server text goes into our messages: one line, no control characters, bounded length. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
