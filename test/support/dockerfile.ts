// What a Docker build would make of the Dockerfile, without Docker: its stages and instructions,
// the build context as .dockerignore filters it, and the final stage's files laid out in a
// directory (a production `npm install` emulated from package-lock.json with hard links into the
// repository's node_modules, so no network is needed; a build stage's `npm run build` run for real
// on a copy of its inputs).

import { copyFile, link, lstat, mkdir, readdir, readFile, readlink, symlink } from 'node:fs/promises';
import { basename, dirname, join, posix, relative, sep } from 'node:path';

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly image: string;
  readonly name: string | null;
  readonly instructions: readonly Instruction[];
}

/** The stages of a Dockerfile: line continuations joined, comments dropped. */
export function parseDockerfile(text: string): Stage[] {
  const stages: { image: string; name: string | null; instructions: Instruction[] }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let logical = lines[i]!;
    if (/^\s*(#|$)/.test(logical)) continue;
    while (logical.endsWith('\\') && i + 1 < lines.length) {
      i++;
      if (/^\s*#/.test(lines[i]!)) continue; // comments inside a continued instruction are dropped
      logical = `${logical.slice(0, -1)} ${lines[i]!.trim()}`;
    }
    const m = /^\s*(\w+)\s+(.*)$/.exec(logical);
    if (m === null) throw new Error(`Dockerfile line ${start + 1}: not an instruction: ${logical}`);
    const instruction = { keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start + 1 };
    if (instruction.keyword === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (from === null) throw new Error(`Dockerfile line ${start + 1}: cannot read FROM ${instruction.args}`);
      stages.push({ image: from[1]!, name: from[2] ?? null, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`Dockerfile line ${start + 1}: ${instruction.keyword} before FROM`);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

export const instructionsOf = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);

/** Words of a shell-form argument list, with double or single quotes removed (also inside a word: key="a value"). */
function words(text: string): string[] {
  return [...text.matchAll(/(?:"(?:[^"\\]|\\.)*"|'[^']*'|\\.|[^\s"'\\])+/g)].map((m) =>
    m[0].replace(
      /"((?:[^"\\]|\\.)*)"|'([^']*)'|\\(.)/g,
      (_, double: string | undefined, single: string | undefined, escaped: string | undefined) =>
        double?.replace(/\\(.)/g, '$1') ?? single ?? escaped!,
    ),
  );
}

/** ENV or LABEL instructions of a stage, in order (key=value pairs, or the old `ENV key value`). */
function pairsOf(stage: Stage, keyword: 'ENV' | 'LABEL'): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const { args } of instructionsOf(stage, keyword)) {
    const parts = words(args);
    if (!parts[0]!.includes('=')) pairs.set(parts[0]!, args.slice(parts[0]!.length).trim());
    else for (const part of parts) pairs.set(part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1));
  }
  return pairs;
}

export const envOf = (stage: Stage): Map<string, string> => pairsOf(stage, 'ENV');
export const labelsOf = (stage: Stage): Map<string, string> => pairsOf(stage, 'LABEL');

/** The exec form (a JSON array) of CMD, ENTRYPOINT or HEALTHCHECK's CMD; null for the shell form. */
export function execForm(args: string): string[] | null {
  if (!args.startsWith('[')) return null;
  const value: unknown = JSON.parse(args);
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`not an exec form: ${args}`);
  return value;
}

export interface Copy {
  readonly from: string | null;
  readonly sources: readonly string[];
  readonly dest: string;
}

export function copiesOf(stage: Stage): Copy[] {
  return instructionsOf(stage, 'COPY').map(({ args, line }) => {
    const parts = words(args);
    const flags = parts.filter((p) => p.startsWith('--'));
    const rest = parts.filter((p) => !p.startsWith('--'));
    const unknown = flags.filter((f) => !/^--(from|chown|chmod|link)(=|$)/.test(f));
    if (unknown.length > 0 || rest.length < 2) throw new Error(`Dockerfile line ${line}: cannot read COPY ${args}`);
    const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length) ?? null;
    return { from, sources: rest.slice(0, -1), dest: rest.at(-1)! };
  });
}

/** The last WORKDIR of a stage (absolute). */
function workdirOf(stage: Stage): string {
  const dirs = instructionsOf(stage, 'WORKDIR').map((i) => i.args);
  return dirs.reduce((wd, d) => posix.resolve(wd, d), '/');
}

// ---------------------------------------------------------------------------------------------
// .dockerignore

interface IgnoreRule {
  readonly exclude: boolean;
  readonly pattern: RegExp;
}

export function parseDockerignore(text: string): IgnoreRule[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((line) => {
      const exclude = !line.startsWith('!');
      const glob = posix.normalize(line.replace(/^!/, '').trim()).replace(/^\/+|\/+$/g, '');
      const source = glob
        .split(/(\*\*|\*|\?)/)
        .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('');
      return { exclude, pattern: new RegExp(`^${source}$`) };
    });
}

/** Docker's rule: the last pattern matching the path or one of its parent directories decides. */
export function isIgnored(rules: readonly IgnoreRule[], path: string): boolean {
  const parts = path.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) if (candidates.some((c) => rule.pattern.test(c))) ignored = rule.exclude;
  return ignored;
}

// ---------------------------------------------------------------------------------------------
// Laying out the final stage

async function walkFiles(root: string): Promise<string[]> {
  const info = await lstat(root);
  if (!info.isDirectory()) return [root];
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) out.push(...(await walkFiles(join(root, entry.name))));
  return out;
}

/** A hard link where the file system allows it (fast, no copy), else a copy. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const info = await lstat(from);
  if (info.isSymbolicLink()) return symlink(await readlink(from), to);
  await link(from, to).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EXDEV' && e.code !== 'EPERM') throw e;
    await copyFile(from, to);
  });
}

/**
 * What `npm install --omit=dev` puts in node_modules (`destRoot`): every package of the lockfile not marked
 * `dev`, taken from the repository's installed node_modules (hard links: a symbolic link would
 * resolve back into the repository and find dev packages beside it). Optional packages for other
 * platforms are not installed there, nor here. Returns the packages laid out.
 */
async function productionNodeModules(repo: string, destRoot: string): Promise<string[]> {
  const lock = JSON.parse(await readFile(join(repo, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; optional?: boolean; link?: boolean }>;
  };
  const laid: string[] = [];
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key === '' || entry.dev === true) continue;
    if (entry.link === true) throw new Error(`${key}: linked packages are not emulated`);
    const from = join(repo, key);
    const exists = await lstat(from).then(
      () => true,
      () => false,
    );
    if (!exists) {
      if (entry.optional === true) continue;
      throw new Error(`${key} is in package-lock.json but not installed: run npm install`);
    }
    // Nested node_modules are packages of their own in the lockfile.
    for (const entryName of await readdir(from)) {
      if (entryName === 'node_modules') continue;
      for (const file of await walkFiles(join(from, entryName)))
        await linkOrCopy(file, join(destRoot, relative('node_modules', key), relative(from, file)));
    }
    laid.push(key.replace(/^(.*\/)?node_modules\//, ''));
  }
  return laid;
}

export interface Layout {
  /** The final stage's WORKDIR, laid out on disk. */
  readonly workdir: string;
  /** Packages the emulated production install laid out. */
  readonly packages: readonly string[];
}

export interface BuildStages {
  /** Where the stages that build (a `RUN npm run <script>`) are laid out and run. */
  readonly scratch: string;
  /** Runs `npm <args>` in `cwd`, as such a stage's RUN does; throws when it fails. */
  readonly npm: (args: readonly string[], cwd: string) => void;
}

/** A COPY from the build context (filtered by .dockerignore) into `image` paths. */
async function copyFromContext(copy: Copy, context: string, image: (path: string) => string): Promise<void> {
  const ignore = parseDockerignore(await readFile(join(context, '.dockerignore'), 'utf8').catch(() => ''));
  const intoDir = copy.dest.endsWith('/') || copy.sources.length > 1;
  for (const source of copy.sources) {
    const root = join(context, source);
    const files = (await walkFiles(root).catch(() => [])).filter((f) => !isIgnored(ignore, relative(context, f).split(sep).join('/')));
    if (files.length === 0) throw new Error(`COPY ${source}: not in the build context (missing, or excluded by .dockerignore)`);
    const isDir = (await lstat(root)).isDirectory();
    for (const file of files) {
      const target = isDir
        ? join(image(copy.dest), relative(root, file))
        : intoDir
          ? join(image(copy.dest), basename(file))
          : image(copy.dest);
      await mkdir(dirname(target), { recursive: true });
      await copyFile(file, target);
    }
  }
}

const installsProduction = (stage: Stage): boolean =>
  instructionsOf(stage, 'RUN').some((r) => /\bnpm install\b.*--omit=dev\b/.test(r.args));

/**
 * A stage that builds, laid out under `scratch`: its COPYs from the context, its `npm install`
 * (every dependency) as a link to the repository's node_modules, then each `RUN npm run <script>`
 * run for real. Any other RUN is not emulated. Returns the stage's root directory.
 */
async function runBuildStage(stage: Stage, context: string, build: BuildStages): Promise<string> {
  const root = join(build.scratch, stage.name ?? 'stage');
  const image = (path: string): string => join(root, ...posix.resolve(workdirOf(stage), path).split('/'));
  for (const copy of copiesOf(stage)) {
    if (copy.from !== null) throw new Error(`COPY --from=${copy.from} in build stage ${stage.name}: not emulated`);
    await copyFromContext(copy, context, image);
  }
  for (const run of instructionsOf(stage, 'RUN')) {
    const script = /^npm run ([\w:.-]+)$/.exec(run.args)?.[1];
    if (/^npm install\b/.test(run.args) && !/--omit=dev\b/.test(run.args))
      await symlink(join(context, 'node_modules'), image('node_modules'));
    else if (script !== undefined) build.npm(['run', script], image('.'));
    else
      throw new Error(
        `Dockerfile line ${run.line}: RUN ${run.args}: only npm install (every dependency) and npm run <script> are emulated in a build stage`,
      );
  }
  return root;
}

/**
 * Lays out the final stage's WORKDIR under `dest`: its COPYs from the build context (filtered by
 * .dockerignore); from the stage that runs `npm install --omit=dev`, its node_modules; from a
 * stage that builds (see runBuildStage), what its build made.
 */
export async function layOutFinalStage(stages: readonly Stage[], context: string, dest: string, build: BuildStages): Promise<Layout> {
  const final = stages.at(-1)!;
  const image = (path: string): string => join(dest, ...posix.resolve(workdirOf(final), path).split('/'));
  let packages: string[] = [];
  const built = new Map<Stage, string>();
  for (const copy of copiesOf(final)) {
    if (copy.from === null) {
      await copyFromContext(copy, context, image);
      continue;
    }
    const stage = stages.find((s) => s.name === copy.from);
    if (stage === undefined || copy.sources.length !== 1)
      throw new Error(`COPY --from=${copy.from} ${copy.sources.join(' ')}: not one source from a stage of this Dockerfile`);
    const source = copy.sources[0]!;
    if (installsProduction(stage)) {
      if (source !== posix.join(workdirOf(stage), 'node_modules'))
        throw new Error(`COPY --from=${copy.from} ${source}: only the node_modules of a stage running npm install --omit=dev is emulated`);
      packages = await productionNodeModules(context, image(copy.dest));
    } else {
      const root = built.get(stage) ?? (await runBuildStage(stage, context, build));
      built.set(stage, root);
      const from = join(root, ...posix.resolve(workdirOf(stage), source).split('/'));
      const files = await walkFiles(from).catch(() => []);
      if (files.length === 0) throw new Error(`COPY --from=${copy.from} ${source}: the stage made no such file`);
      const isDir = (await lstat(from)).isDirectory();
      for (const file of files) await linkOrCopy(file, isDir ? join(image(copy.dest), relative(from, file)) : image(copy.dest));
    }
  }
  return { workdir: image('.'), packages };
}
