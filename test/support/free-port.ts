// A TCP port on 127.0.0.1 that was free a moment ago, for servers that cannot listen on port 0
// (Probot's server treats 0 as "use the default 3000"; a child process must be told its port).

import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
      .once('error', reject)
      .listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
  });
}
