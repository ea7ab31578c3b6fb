// The container image, without a Docker engine. The Dockerfile's properties are read from it; its
// final stage is laid out in a temporary directory (the build context through .dockerignore, and
// a production install with every dev-only package of the lockfile left out); and the image's
// command runs there: `npm start` with the image's environment, as the image's user when these
// tests run as root, against a stand-in GitHub on 127.0.0.1. It must serve /healthz, /readyz and
// /metrics, pass its own HEALTHCHECK, and stop on SIGTERM with the signal reaching node itself.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, chown, copyFile, mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { PROTO_FILE } from '../../src/flows/sources/goldmane/wire.ts';
import { TEMPLATE_DIR } from '../../src/tree/fs-tree.ts';
import {
  copiesOf,
  envOf,
  execForm,
  instructionsOf,
  isIgnored,
  type Layout,
  labelsOf,
  layOutFinalStage,
  parseDockerfile,
  parseDockerignore,
  type Stage,
} from '../support/dockerfile.ts';
import { freePort } from '../support/free-port.ts';
import { envWithout, npmCli } from '../support/npm.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const stages: Stage[] = parseDockerfile(await readFile(join(ROOT, 'Dockerfile'), 'utf8'));
const final = stages.at(-1)!;
const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  engines: { node: string };
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};

const one = (keyword: string): string => {
  const found = instructionsOf(final, keyword);
  if (found.length !== 1) throw new Error(`the final stage has ${found.length} ${keyword} instructions`);
  return found[0]!.args;
};
/** HEALTHCHECK's command, without its options. */
const healthcheckCommand = (): string[] | null => execForm(one('HEALTHCHECK').replace(/^(--\S+\s+)*CMD\s+/, ''));

describe('the Dockerfile', () => {
  test('builds on Node 24 LTS slim, pinned to the version the tests run on, which engines.node accepts', () => {
    const tags = stages.map((s) => /^node:(\d+\.\d+\.\d+)-[a-z]+-slim$/.exec(s.image)?.[1] ?? s.image);
    expect(tags.every((t) => t === process.versions.node)).toBe(true);
    expect(process.versions.node.split('.')[0]).toBe('24');
    expect(pkg.devDependencies['node']).toMatch(/^\^24\./);
    // engines.node is ">=MAJOR.MINOR" (bin/policy-recommender.cjs reads it so).
    const [major, minor] = (/^>=(\d+)\.(\d+)$/.exec(pkg.engines.node) ?? []).slice(1).map(Number);
    const [imageMajor, imageMinor] = process.versions.node.split('.').map(Number);
    expect(imageMajor! > major! || (imageMajor === major && imageMinor! >= minor!)).toBe(true);
  });

  test('installs production dependencies only, with npm install (never npm ci), in a stage of their own; builds dist/ in another', () => {
    const runs = stages.flatMap((s) => instructionsOf(s, 'RUN').map((r) => r.args));
    expect(runs.filter((r) => /\bnpm ci\b/.test(r))).toEqual([]);
    expect(instructionsOf(final, 'RUN')).toEqual([]);
    const fromStages = copiesOf(final).filter((c) => c.from !== null);
    expect(fromStages.map((c) => [c.sources, c.dest])).toEqual([
      [['/app/node_modules'], './node_modules'],
      [['/app/dist'], './dist'],
    ]);
    const stageOf = (name: string | null) => stages.find((s) => s.name === name)!;
    const [dependencies, build] = fromStages.map((c) => instructionsOf(stageOf(c.from), 'RUN').map((r) => r.args));
    expect(dependencies).toEqual([expect.stringMatching(/^npm install --omit=dev\b/)]);
    expect(build).toEqual([expect.stringMatching(/^npm install\b/), 'npm run build']);
    expect(build![0]).not.toMatch(/--omit/);
  });

  test('runs the build, never the sources: no COPY of src/ into the final stage; `npm start` runs dist/', () => {
    expect(
      copiesOf(final)
        .flatMap((c) => (c.from === null ? c.sources : []))
        .filter((s) => /^(\.\/)?(src|scripts|test)(\/|$)|\.ts$/.test(s)),
    ).toEqual([]);
    expect(pkg.scripts['start']).toMatch(/^node dist\/\S+\.js$/);
  });

  test('carries the Open Containers labels: source (app.yml’s url), version and licence (package.json’s)', async () => {
    const app = parseYaml(await readFile(join(ROOT, 'app.yml'), 'utf8')) as { url: string };
    expect(Object.fromEntries(labelsOf(final))).toMatchObject({
      'org.opencontainers.image.source': app.url,
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.licenses': pkg.license,
    });
  });

  test('runs as a non-root numeric user, the one deploy/ runs the pod as', async () => {
    const user = /^(\d+)(?::(\d+))?$/.exec(one('USER'));
    expect(user).not.toBeNull();
    expect(Number(user![1])).toBeGreaterThan(0);
    const deployment = parseYaml(await readFile(join(ROOT, 'deploy/base/deployment.yaml'), 'utf8')) as {
      spec: { template: { spec: { securityContext: Record<string, number> } } };
    };
    const { runAsUser, runAsGroup } = deployment.spec.template.spec.securityContext;
    expect([runAsUser, runAsGroup]).toEqual([Number(user![1]), Number(user![2] ?? user![1])]);
  });

  test('`npm start` is the command, in exec form, and the script is one command that bash can replace itself with', () => {
    expect(execForm(one('CMD'))).toEqual(['npm', 'start']);
    expect(instructionsOf(final, 'ENTRYPOINT')).toEqual([]);
    expect(pkg.scripts['start']).toMatch(/^node [\w./-]+$/);
  });

  test('its environment: all addresses, npm writing under /tmp only, bash running the script', () => {
    const env = envOf(final);
    expect(Object.fromEntries(env)).toMatchObject({
      NODE_ENV: 'production',
      HOST: '0.0.0.0',
      npm_config_update_notifier: 'false',
      npm_config_script_shell: '/bin/bash',
    });
    expect(env.get('npm_config_cache')).toMatch(/^\/tmp\//);
  });

  test('HEALTHCHECK asks /healthz with node itself', () => {
    const command = healthcheckCommand();
    expect(command?.[0]).toBe('node');
    expect(command?.join(' ')).toContain('/healthz');
  });

  test('.dockerignore keeps the credentials, the history, node_modules, a local dist/ and the tests out of the build', async () => {
    const rules = parseDockerignore(await readFile(join(ROOT, '.dockerignore'), 'utf8'));
    const out = [
      '.env',
      '.git/config',
      'node_modules/probot/package.json',
      'dist/app/main.js',
      'test/app/lifecycle.test.ts',
      'bench/run.ts',
    ];
    expect(out.filter((p) => !isIgnored(rules, p))).toEqual([]);
    expect(['src/app/main.ts', 'package.json', 'tsconfig.build.json', 'scripts/build.ts'].filter((p) => isIgnored(rules, p))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The final stage, laid out and run

const NPM = npmCli();
const BASH = spawnSync('/bin/bash', ['-c', 'true']).status === 0;
const PROC = spawnSync('test', ['-d', '/proc/self']).status === 0;
const RUNNABLE = NPM !== null && BASH && PROC && process.platform === 'linux';
if (!RUNNABLE)
  test.skip('npm, /bin/bash or /proc is missing here: the image’s command is not run (the laid-out files are still checked)', () => {});
const testRunning = RUNNABLE ? test : test.skip;

/** Processes whose parent is `pid`, from /proc. */
async function childrenOf(pid: number): Promise<{ pid: number; argv: string[] }[]> {
  const found: { pid: number; argv: string[] }[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const statText = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(statText.slice(statText.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid !== pid) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').filter((a) => a !== '');
    found.push({ pid: Number(entry), argv });
  }
  return found;
}

/** `pid`'s descendants, nearest first. */
async function descendantsOf(pid: number): Promise<{ pid: number; argv: string[] }[]> {
  const found: { pid: number; argv: string[] }[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    const children = await childrenOf(queue.shift()!);
    found.push(...children);
    queue.push(...children.map((c) => c.pid));
  }
  return found;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Polls `probe` until it gives a value; fails after `ms`, or at once when `gone()` says the process exited. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number, log: () => string, gone = () => false): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline || gone())
      throw new Error(`not ${what} within ${ms} ms${gone() ? ' (the process exited)' : ''}; it wrote:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map((e) => e.toString()).sort();
}

describe('the image’s files', () => {
  let work: string;
  let layout: Layout;
  const inImage = (path: string): string => join(layout.workdir, relative(ROOT, path));

  beforeAll(async () => {
    work = await realpath(await mkdtemp(join(tmpdir(), 'image-')));
    await chmod(work, 0o755);
    // The build stage's `npm run build`, with the machine's npm on Node 24 (the image's Node).
    const npmRun = (args: readonly string[], cwd: string): void => {
      if (NPM === null) throw new Error('npm is missing here: the build stage cannot run');
      const result = spawnSync(process.execPath, [NPM, ...args], {
        cwd,
        env: envWithout(`${dirname(process.execPath)}:/usr/bin:/bin`),
        encoding: 'utf8',
        timeout: 300_000,
      });
      if (result.status !== 0)
        throw new Error(`npm ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
    };
    layout = await layOutFinalStage(stages, ROOT, join(work, 'root'), { scratch: join(work, 'build'), npm: npmRun });
  }, 300_000);

  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  test('hold the production packages and no dev-only one', async () => {
    const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([k, v]) => k !== '' && v.dev === true);
    expect(layout.packages).toEqual(
      expect.arrayContaining(
        Object.keys((JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: object }).dependencies),
      ),
    );
    for (const [key] of devOnly) expect(await stat(join(layout.workdir, key)).catch(() => null)).toBeNull();
    for (const name of ['node', 'typescript', 'jest', 'nock']) expect(layout.packages).not.toContain(name);
  });

  test('hold the built App and no TypeScript but declarations', async () => {
    const entry = pkg.scripts['start']!.split(' ')[1]!;
    expect((await stat(join(layout.workdir, entry))).isFile()).toBe(true);
    const outsidePackages = (await filesBelow(layout.workdir)).filter((f) => !f.startsWith('node_modules/') && f !== 'node_modules');
    expect(outsidePackages.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(outsidePackages.filter((f) => /^(src|scripts|test)(\/|$)/.test(f))).toEqual([]);
  });

  test('hold every file the App reads besides its code: package.json, app.yml, the proto (beside its built module), the template', async () => {
    const built = (source: string): string => join(ROOT, 'dist', relative(join(ROOT, 'src'), source));
    const needed = [
      join(ROOT, 'package.json'),
      join(ROOT, 'app.yml'),
      built(PROTO_FILE),
      ...(await filesBelow(TEMPLATE_DIR)).map((f) => join(TEMPLATE_DIR, f)),
    ];
    const missing = [];
    for (const file of needed) if ((await stat(inImage(file)).catch(() => null)) === null) missing.push(relative(ROOT, file));
    expect(missing).toEqual([]);
  });

  describe('running the image’s command', () => {
    let port: number;
    let npm: ChildProcess;
    let output = '';
    const requests: string[] = [];
    const escaped: string[] = [];
    let github: Server;
    let guard: Server;
    let before: string[];
    let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
    const uid = process.getuid?.() === 0 ? /^(\d+)(?::(\d+))?$/.exec(one('USER')) : null;
    const imageNode = (): string => join(work, 'root', 'usr', 'local', 'bin', 'node');

    beforeAll(async () => {
      if (!RUNNABLE) return;
      // GitHub on 127.0.0.1: at start-up the App lists its installations to schedule them.
      github = createServer((req: IncomingMessage, res) => {
        requests.push(`${req.method} ${req.url}`);
        const json = req.method === 'GET' && req.url?.startsWith('/api/v3/app/installations') ? '[]' : '{"message":"Not Found"}';
        res.writeHead(json === '[]' ? 200 : 404, { 'content-type': 'application/json' }).end(json);
      });
      // Any request that is not for 127.0.0.1 goes to this proxy, which refuses it and tells.
      guard = createServer((req, res) => {
        escaped.push(`${req.method} ${req.url}`);
        res.writeHead(403).end();
      });
      guard.on('connect', (req: IncomingMessage, socket) => {
        escaped.push(`CONNECT ${req.url}`);
        socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      });
      const [githubPort, guardPort] = [await listen(github), await listen(guard)];
      port = await freePort();

      // /tmp is the only writable place, as the emptyDir of deploy/ makes it.
      const fsRoot = join(work, 'root');
      // The image's own Node, where the node image has it: not in the clone, whose directories the
      // image's user may not be allowed to enter (a clone in a 0700 temporary directory).
      await mkdir(join(fsRoot, 'usr', 'local', 'bin'), { recursive: true });
      await copyFile(process.execPath, imageNode());
      await chmod(imageNode(), 0o755);
      const tmp = join(fsRoot, 'tmp');
      const secrets = join(fsRoot, 'etc', 'policy-recommender');
      await mkdir(tmp, { recursive: true });
      await mkdir(join(secrets, 'github'), { recursive: true });
      await mkdir(join(secrets, 'config'), { recursive: true });
      await mkdir(join(fsRoot, 'var', 'log', 'flows'), { recursive: true });
      const { privateKey } = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      });
      await writeFile(join(secrets, 'github', 'private-key.pem'), privateKey, { mode: 0o400 });
      await writeFile(
        join(secrets, 'config', 'deployment.yaml'),
        `clusters:\n  example:\n    flows:\n      source: file\n      file:\n        paths: [${join(fsRoot, 'var', 'log', 'flows')}]\n`,
      );
      if (uid !== null) {
        await chown(tmp, Number(uid[1]), Number(uid[2] ?? uid[1]));
        await chown(join(secrets, 'github', 'private-key.pem'), Number(uid[1]), Number(uid[2] ?? uid[1]));
      }
      before = await filesBelow(layout.workdir);

      const imageEnv = Object.fromEntries([...envOf(final)].map(([k, v]) => [k, v.replace(/^\/tmp(?=\/|$)/, tmp)]));
      const env: NodeJS.ProcessEnv = {
        PATH: `${dirname(imageNode())}:/usr/local/bin:/usr/bin:/bin`,
        HOME: layout.workdir,
        TMPDIR: tmp,
        ...imageEnv,
        HOST: '127.0.0.1', // the image's 0.0.0.0 is checked above; here, loopback only
        PORT: String(port),
        APP_ID: '4242',
        PRIVATE_KEY_PATH: join(secrets, 'github', 'private-key.pem'),
        WEBHOOK_SECRET: 'image-test-secret',
        GHE_HOST: `127.0.0.1:${githubPort}`,
        GHE_PROTOCOL: 'http',
        POLICY_RECOMMENDER_DEPLOYMENT: join(secrets, 'config', 'deployment.yaml'),
        NODE_USE_ENV_PROXY: '1',
        HTTP_PROXY: `http://127.0.0.1:${guardPort}`,
        HTTPS_PROXY: `http://127.0.0.1:${guardPort}`,
        NO_PROXY: '127.0.0.1',
      };
      npm = spawn(imageNode(), [NPM!, 'start'], {
        cwd: layout.workdir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        // A process group of its own, so that whatever it started can be ended with it.
        detached: true,
        ...(uid !== null ? { uid: Number(uid[1]), gid: Number(uid[2] ?? uid[1]) } : {}),
      });
      npm.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      npm.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      exit = new Promise((resolve) => npm.once('exit', (code, signal) => resolve({ code, signal })));
    });

    afterAll(async () => {
      if (!RUNNABLE) return;
      // Everything npm started, even a node that SIGTERM never reached (it keeps npm's group).
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {
        // the group is gone: everything exited
      }
      for (const server of [github, guard]) server.closeAllConnections();
      await Promise.all([github, guard].map((s) => new Promise((r) => s.close(r))));
    });

    const get = async (path: string): Promise<Response> => fetch(`http://127.0.0.1:${port}${path}`);
    const healthcheck = () => {
      const [, ...args] = healthcheckCommand()!;
      return spawnSync(imageNode(), args, { env: { PORT: String(port) }, timeout: 10_000 }).status;
    };
    const entry = pkg.scripts['start']!.split(' ')[1]!;

    testRunning('serves /healthz, then /readyz, and /metrics; its HEALTHCHECK passes', async () => {
      const gone = () => npm.exitCode !== null || npm.signalCode !== null;
      await until(
        '/healthz answered 200',
        async () => ((await get('/healthz')).status === 200 ? true : undefined),
        30_000,
        () => output,
        gone,
      );
      await until(
        '/readyz answered 200',
        async () => ((await get('/readyz')).status === 200 ? true : undefined),
        30_000,
        () => output,
        gone,
      );
      const metrics = await get('/metrics');
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('policy_recommender_');
      expect(healthcheck()).toBe(0);
    });

    testRunning('started up against the stand-in GitHub only, as the image’s user, writing nothing outside /tmp', async () => {
      await until(
        'listing the installations',
        async () => (requests.some((r) => r.startsWith('GET /api/v3/app/installations')) ? true : undefined),
        10_000,
        () => output,
      );
      expect(escaped).toEqual([]);
      expect(await filesBelow(layout.workdir)).toEqual(before);
      expect(output).not.toMatch(/EACCES|EROFS|EPERM/);
      const children = await childrenOf(npm.pid!);
      expect(children.map((c) => c.argv.slice(1))).toEqual([[entry]]);
      if (uid !== null) expect((await stat(`/proc/${children[0]!.pid}`)).uid).toBe(Number(uid[1]));
    });

    testRunning('stops on SIGTERM to npm: node receives it and is gone; the HEALTHCHECK then fails', async () => {
      const node = (await descendantsOf(npm.pid!)).find((p) => p.argv.includes(entry));
      expect(node).toBeDefined();
      npm.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([exit, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 15_000)))]).finally(
        () => clearTimeout(timer),
      );
      expect(result).not.toBe('timeout');
      await until(
        'node gone',
        async () => (alive(node!.pid) ? undefined : true),
        5_000,
        () => output,
      );
      expect(healthcheck()).not.toBe(0);
    });
  });
});
