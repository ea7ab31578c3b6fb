// The package's version, from its package.json: two levels up from this file, in the sources
// (src/util/) and in a build (dist/util/) alike. The CLI's --version and the App's engine version.

import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
