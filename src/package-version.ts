// The version in package.json, one directory up from this module both where it is written
// (src/) and where it is built (dist/), and in the installed package.

import { readFile } from 'node:fs/promises';

export const PACKAGE_VERSION = (JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
