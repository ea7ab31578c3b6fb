// The machine's npm, run by the tests' own Node (24, from the `node` devDependency), as a person
// with Node 24 would run it; and an environment for it that a surrounding `npm test` leaves alone.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';

/** npm-cli.js of the `npm` on PATH, when it runs with this Node; null when there is none. */
export function npmCli(): string | null {
  const which = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' });
  if (which.status !== 0) return null;
  const cli = join(dirname(spawnSync('realpath', [which.stdout.trim()], { encoding: 'utf8' }).stdout.trim()), 'npm-cli.js');
  return spawnSync(process.execPath, [cli, '--version']).status === 0 ? cli : null;
}

/**
 * This process's environment with `PATH` replaced and without the npm_* variables that `npm test`
 * sets for its script (npm_config_prefix, npm_package_*...): a child npm would take them as its
 * own configuration.
 */
export function envWithout(path: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return { ...env, PATH: path, ...extra };
}
