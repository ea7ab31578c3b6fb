// When Goldmane stays UNAVAILABLE, gRPC's own message rarely says why ("Failed to connect"). One
// plain TLS connection with the same credentials tells the usual causes apart: nothing listening,
// a server certificate we do not trust or that does not name the server, or a server that drops
// us right after the handshake because it does not accept our client certificate (TLS 1.3
// servers may reject the client certificate only after the client considers the handshake done).

import { checkServerIdentity, connect, type PeerCertificate, type SecureContext } from 'node:tls';

export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
  /** The name the server certificate must carry. */
  readonly serverName: string;
  readonly secureContext: SecureContext;
  /** What should be listening, for the messages; default Goldmane. */
  readonly peer?: string;
}

/** `host:port` or `[v6]:port`, as the deployment config accepts them. */
export function splitAddress(address: string): { host: string; port: number } | null {
  const m = /^\[([0-9A-Fa-f:]+)\]:(\d{1,5})$/.exec(address) ?? /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(address);
  if (m === null) return null;
  const port = Number(m[2]);
  return port > 0 && port <= 65535 ? { host: m[1]!, port } : null;
}

/** A short diagnosis, or null when the TLS connection works (the problem is elsewhere). */
export function probeTls(target: ProbeTarget, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    let settled = false;
    let secured = false;
    const done = (result: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const isIp = /^[\d.]+$|:/.test(target.serverName);
    const socket = connect({
      host: target.host,
      port: target.port,
      // SNI takes host names only; an IP is still checked against the certificate's IP SANs.
      ...(isIp ? {} : { servername: target.serverName }),
      checkServerIdentity: (_host, cert) => checkIdentity(target.serverName, cert),
      secureContext: target.secureContext,
      ALPNProtocols: ['h2'],
    });
    const timer = setTimeout(() => done(secured ? null : 'TLS check: no TLS handshake within the deadline'), timeoutMs);
    socket.on('secureConnect', () => {
      secured = true;
    });
    // An HTTP/2 server speaks first (its SETTINGS frame): data means the server accepted us.
    socket.on('data', () => done(null));
    socket.on('error', (e: NodeJS.ErrnoException) => done(describe(e, target.peer ?? 'Goldmane')));
    socket.on('close', () =>
      done(
        secured
          ? 'TLS check: the server closed the connection right after the handshake: it does not accept the client certificate (certFile, keyFile)'
          : 'TLS check: the connection closed during the TLS handshake',
      ),
    );
  });
}

function checkIdentity(serverName: string, cert: PeerCertificate): Error | undefined {
  return checkServerIdentity(serverName, cert);
}

function describe(e: NodeJS.ErrnoException, peer: string): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return `TLS check: connection refused (is ${peer} running at this address?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'TLS check: the host name does not resolve';
    case 'ETIMEDOUT':
      return 'TLS check: connection timed out';
    case 'ECONNRESET':
      return 'TLS check: the server reset the connection (it may not accept the client certificate: certFile, keyFile)';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return 'TLS check: the server certificate does not name the server (set serverName to a name it carries)';
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
      return 'TLS check: the server certificate is not signed by the CA in caFile';
    case 'CERT_HAS_EXPIRED':
      return 'TLS check: the server certificate has expired';
    default: {
      // OpenSSL alerts ("tlsv13 alert certificate required", "sslv3 alert bad certificate") name no secrets.
      const text = (e.message ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 200);
      const alert =
        /alert (certificate required|bad certificate|unknown ca|certificate unknown|certificate expired|certificate revoked|handshake failure)/i.exec(
          text,
        );
      if (alert) return `TLS check: the server refused the client certificate (${alert[0]}; certFile, keyFile)`;
      return `TLS check: ${e.code ?? 'error'}: ${text}`;
    }
  }
}
