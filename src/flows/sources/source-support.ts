// Small helpers the network flow sources (Goldmane, Hubble Relay) share: waiting, yielding, and
// wording errors about what they read and were told.

import * as grpc from '@grpc/grpc-js';
import { FlowSourceError } from '../source.ts';

/** Lets timers and I/O run between batches of a long synchronous decode. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** A peer's or the system's message on one line, control characters blanked (it goes into logs and pages). */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

/** Why a credentials file could not be read, in words. */
export function describeFsError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return e.code ?? 'unreadable';
  }
}

/** A gRPC call's failure (as @grpc/grpc-js raises it), not one of our own errors. */
export function isServiceError(e: unknown): e is grpc.ServiceError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'number' && !(e instanceof FlowSourceError);
}

/** `NAME: details`, on one line and bounded (details come from the server or the TLS stack). */
export function describeStatus(e: unknown): string {
  const error = e as Partial<grpc.ServiceError>;
  const code = typeof error.code === 'number' ? error.code : grpc.status.UNKNOWN;
  const name = grpc.status[code] ?? `status ${code}`;
  const details = oneLine(error.details ?? error.message ?? '')
    .replace(/\s*Resolution note:\s*$/, '')
    .slice(0, 500);
  return details ? `${name}: ${details}` : name;
}

/**
 * A gRPC channel's options for a flow API: replies up to `maxMessageBytes`, no retries of
 * grpc-js's own (each source retries explicitly, with backoffDelay), and the TLS name to expect
 * when it differs from the address's host.
 */
export function grpcChannelOptions(
  maxMessageBytes: number,
  serverName: string | undefined,
  extra: grpc.ChannelOptions = {},
): grpc.ChannelOptions {
  const options: grpc.ChannelOptions = { 'grpc.max_receive_message_length': maxMessageBytes, 'grpc.enable_retries': 0, ...extra };
  if (serverName !== undefined && serverName !== '') {
    options['grpc.ssl_target_name_override'] = serverName;
    options['grpc.default_authority'] = serverName;
  }
  return options;
}

/** Full jitter over the upper half: between 50% and 100% of min(max, base * 2^attempt). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
