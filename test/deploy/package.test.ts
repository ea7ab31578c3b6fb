// The package as a person installs it: `npm pack` (which builds dist/ through the prepack
// script), then `npm install -g` of the tarball into an empty prefix, which takes the production
// dependencies only, from the npm registry or the local npm cache (--prefer-offline). The command
// it installs then runs from another directory on Node 24 (this process's Node, the `node`
// devDependency), with the same results as the sources; on a Node older than engines.node it
// stops with one line.

import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SAMPLE_FLOWS, SAMPLE_NOW } from '../../src/cli/demo.ts';
import { cli, filesIn } from '../support/cli.ts';
import { envWithout, npmCli } from '../support/npm.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  engines: { node: string };
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const NPM = npmCli();
const NODE_DIR = dirname(process.execPath);
const [MIN_MAJOR, MIN_MINOR] = (/^>=(\d+)\.(\d+)$/.exec(pkg.engines.node) ?? []).slice(1).map(Number);

/** A Node on PATH older than engines.node (the machine's own, here 20), if there is one. */
function olderNode(): { path: string; version: string } | null {
  const found = spawnSync('sh', ['-c', 'which -a node'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((p) => p !== '');
  for (const path of found) {
    const version = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
    const [major, minor] = version.split('.').map(Number);
    if (major !== undefined && minor !== undefined && (major < MIN_MAJOR! || (major === MIN_MAJOR && minor < MIN_MINOR!)))
      return { path, version };
  }
  return null;
}
const OLD_NODE = olderNode();

if (NPM === null) test.skip('npm is missing here: the package is not packed nor installed', () => {});
const testWithNpm = NPM !== null ? test : test.skip;

/** Lines of npm's output that say the registry could not be reached. */
const NETWORK_ERROR = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENOTCACHED)\b/;

function npm(args: string[], cwd: string, timeout: number): SpawnSyncReturns<string> {
  // Node 24 first on PATH: npm's scripts (the prepack build) and its engines checks see it.
  return spawnSync(process.execPath, [NPM!, ...args], {
    cwd,
    env: envWithout(`${NODE_DIR}:${join(ROOT, 'node_modules', '.bin')}:/usr/bin:/bin`, {
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
    }),
    encoding: 'utf8',
    timeout,
    maxBuffer: 64 * 1024 * 1024,
  });
}

describe('the packed and installed package', () => {
  let work: string;
  let prefix: string;
  let elsewhere: string;
  let packed: string[];
  let installed: string;

  /** The installed command, from `elsewhere`, with `node` on PATH the given one (Node 24 by default). */
  const run = (args: string[], nodeDir = NODE_DIR): SpawnSyncReturns<string> =>
    spawnSync(join(prefix, 'bin', 'policy-recommender'), args, {
      cwd: elsewhere,
      env: envWithout(`${join(prefix, 'bin')}:${nodeDir}:/usr/bin:/bin`, { TMPDIR: join(work, 'tmp') }),
      encoding: 'utf8',
      timeout: 120_000,
    });

  beforeAll(async () => {
    if (NPM === null) return;
    work = await mkdtemp(join(tmpdir(), 'package-'));
    prefix = join(work, 'prefix');
    elsewhere = join(work, 'elsewhere');
    await mkdir(elsewhere);
    await mkdir(join(work, 'tmp'));

    const pack = npm(['pack', '--json', '--pack-destination', work], ROOT, 300_000);
    if (pack.status !== 0) throw new Error(`npm pack failed (${pack.status ?? pack.signal}):\n${pack.stderr}`);
    const report = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')).trim()) as { filename: string; files: { path: string }[] }[];
    packed = report[0]!.files.map((f) => f.path).sort();
    const tarball = join(work, report[0]!.filename);

    // --engine-strict: npm refuses any package whose engines.node this Node does not satisfy.
    const install = npm(['install', '-g', '--prefix', prefix, '--prefer-offline', '--engine-strict', tarball], work, 600_000);
    if (install.status !== 0) {
      const output = `${install.stdout}\n${install.stderr}`;
      if (NETWORK_ERROR.test(output)) {
        throw new Error(
          `installing the tarball needs its dependencies from the npm registry (or the local npm cache), and npm could not reach the registry: ` +
            `this test cannot run without it.\n${output
              .split('\n')
              .filter((l) => NETWORK_ERROR.test(l))
              .slice(0, 3)
              .join('\n')}`,
        );
      }
      throw new Error(`npm install -g ${tarball} failed (${install.status ?? install.signal}):\n${output}`);
    }
    installed = join(prefix, 'lib', 'node_modules', pkg.name);
  }, 900_000);

  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  testWithNpm(
    'the tarball holds the build, its declarations and source maps, and the files the CLI and App read; no sources, no tests',
    () => {
      for (const file of [
        pkg.bin['policy-recommender']!,
        'dist/cli/main.js',
        'dist/cli/main.d.ts',
        'dist/cli/main.js.map',
        'dist/app/main.js',
        'dist/flows/sources/goldmane/goldmane.proto',
        'app.yml',
        'package.json',
      ]) {
        expect(packed).toContain(file);
      }
      expect(packed.filter((p) => p.startsWith('samples/flows/')).length).toBeGreaterThan(0);
      expect(packed.filter((p) => p.startsWith('policies-template/clusters/example/')).length).toBeGreaterThan(0);
      expect(packed.filter((p) => /^(src|test|bench|scripts|deploy)\//.test(p) || (p.endsWith('.ts') && !p.endsWith('.d.ts')))).toEqual([]);
    },
  );

  testWithNpm('installs the production dependencies only: none of the devDependencies that only development needs', async () => {
    const present = (name: string) =>
      existsSync(join(installed, 'node_modules', name)) || existsSync(join(prefix, 'lib', 'node_modules', name));
    expect(Object.keys(pkg.dependencies).filter((d) => !present(d))).toEqual([]);
    const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    // Our devDependencies that no production package needs (some, such as pino, are both).
    const devOnly = Object.keys(pkg.devDependencies).filter((d) => lock.packages[`node_modules/${d}`]?.dev === true);
    expect(devOnly).toEqual(expect.arrayContaining(['node', 'typescript', 'jest']));
    expect(devOnly.filter(present)).toEqual([]);
  });

  testWithNpm('engines.node is a version every installed dependency accepts (npm’s own semver decides)', async () => {
    const semver = createRequire(NPM!)('semver') as { satisfies: (version: string, range: string) => boolean };
    const minimum = `${MIN_MAJOR}.${MIN_MINOR}.0`;
    const refusing: string[] = [];
    const manifests = (await readdir(join(installed, 'node_modules'), { recursive: true }))
      .map(String)
      .filter((p) => /(^|\/)package\.json$/.test(p));
    for (const manifest of manifests) {
      const { name, engines } = JSON.parse(await readFile(join(installed, 'node_modules', manifest), 'utf8')) as {
        name?: string;
        engines?: { node?: unknown };
      };
      // Only packages' own manifests (not test fixtures inside them) name themselves and their directory.
      if (name === undefined || !manifest.endsWith(`${name}/package.json`) || typeof engines?.node !== 'string') continue;
      if (!semver.satisfies(minimum, engines.node)) refusing.push(`${manifest}: ${engines.node}`);
    }
    expect(manifests.length).toBeGreaterThan(100);
    expect(refusing).toEqual([]);
  });

  testWithNpm('`policy-recommender --version` prints the package’s version, from any directory', () => {
    const result = run(['--version']);
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
      status: 0,
      stdout: `${pkg.version}\n`,
      stderr: '',
    });
  });

  testWithNpm('`policy-recommender demo` runs on the bundled samples', async () => {
    const result = run(['demo']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const out = /into (\S+)\n/.exec(result.stdout)?.[1];
    expect(out?.startsWith(join(work, 'tmp', 'policy-recommender-demo-'))).toBe(true);
    expect(result.stdout).toContain(join(installed, 'samples', 'flows'));
    expect(result.stdout).toContain('Second run on the same flows: no file changed');
    expect(await filesIn(out!)).toContain('namespace-isolation/yaobank.yaml');
  });

  testWithNpm('`recommend` and `simulate` write and print what the sources do, from the same flows', async () => {
    const [fromSource, fromPackage] = [join(work, 'from-source'), join(work, 'from-package')];
    const args = (out: string) => ['recommend', '--flows', SAMPLE_FLOWS, '--out', out, '--now', SAMPLE_NOW];
    const source = await cli(...args(fromSource));
    expect(source.code).toBe(0);
    const recommend = run(args(fromPackage));
    expect({
      status: recommend.status,
      stdout: recommend.stdout.replaceAll(fromPackage, fromSource).trimEnd(),
      stderr: recommend.stderr.trimEnd(),
    }).toEqual({
      status: 0,
      stdout: source.stdout.trimEnd(),
      stderr: source.stderr.trimEnd(),
    });
    const files = await filesIn(fromSource);
    expect(files.length).toBeGreaterThan(3);
    expect(await filesIn(fromPackage)).toEqual(files);
    for (const file of files)
      expect([file, await readFile(join(fromPackage, file), 'utf8')]).toEqual([file, await readFile(join(fromSource, file), 'utf8')]);

    const simulateArgs = ['simulate', '--flows', SAMPLE_FLOWS, '--policies', fromSource, '--now', SAMPLE_NOW, '--json'];
    const simulate = run(simulateArgs);
    const simulatedFromSource = await cli(...simulateArgs);
    expect({ status: simulate.status, stderr: simulate.stderr.trimEnd() }).toEqual({
      status: 0,
      stderr: simulatedFromSource.stderr.trimEnd(),
    });
    expect(JSON.parse(simulate.stdout)).toEqual(JSON.parse(simulatedFromSource.stdout));
  });

  testWithNpm('its exports are the built CLI and App, with their declarations', () => {
    const script =
      "const cli = await import('policy-recommender'); const app = await import('policy-recommender/app');" +
      "const { createRequire } = await import('node:module'); const version = createRequire(import.meta.url)('policy-recommender/package.json').version;" +
      'console.log(JSON.stringify([typeof cli.main, typeof cli.runCommandLine, typeof app.policyRecommenderApp, version]))';
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(prefix, 'lib'), encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual(['function', 'function', 'function', pkg.version]);
    expect(existsSync(join(installed, 'dist', 'app', 'app.d.ts'))).toBe(true);
  });

  (NPM !== null && OLD_NODE !== null ? test : test.skip)(
    `on an older Node (${OLD_NODE?.version ?? 'none here'}) the command stops with one line naming the version it needs`,
    () => {
      const result = run(['--version'], dirname(OLD_NODE!.path));
      expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
        status: 1,
        stdout: '',
        stderr: `policy-recommender: needs Node.js ${MIN_MAJOR}.${MIN_MINOR} or newer; this is Node.js ${OLD_NODE!.version}\n`,
      });
    },
  );
});
