// A policies tree on disk. Reading never follows symbolic links; writing creates every file
// beside its target and renames it into place only after all of them are written, and refuses
// any path that would resolve outside the tree's root.

import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, realpath } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSafeTreePath, type TreeFiles } from './tree.ts';

/**
 * The per-cluster tree every output starts from: `policies-template/` is a whole policies repository
 * (Argo CD and Flux wiring, the repository configuration); only its example cluster's tree is a template.
 */
export const TEMPLATE_DIR = fileURLToPath(new URL('../../policies-template/clusters/example/', import.meta.url));
/** The template of a cluster whose CNI is Cilium (flavour `cilium`): its clusterwide default deny. */
export const CILIUM_TEMPLATE_DIR = fileURLToPath(new URL('../../policies-template/clusters/example-cilium/', import.meta.url));

/** Files a policies tree is made of. */
const TREE_FILE = /(\.ya?ml|^Kustomization)$/;
const MAX_FILE_BYTES = 4 * 1024 * 1024;

export class TreeWriteError extends Error {
  override readonly name = 'TreeWriteError';
}

/** YAML files below `root` (dot-directories such as .git are skipped); empty if root is absent. */
export async function loadTree(root: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const info = await lstat(root).catch(() => null);
  if (info === null) return files;
  if (!info.isDirectory()) throw new TreeWriteError(`${root} is not a directory`);
  const walk = async (dir: string): Promise<void> => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && TREE_FILE.test(entry.name)) {
        const path = relative(root, full).split(sep).join('/');
        if ((await lstat(full)).size <= MAX_FILE_BYTES) files.set(path, await readFile(full, 'utf8'));
      }
    }
  };
  await walk(root);
  return files;
}

/**
 * Writes all changes or none: temporary files first, then renames. Each directory is created,
 * resolved and listed once, not once per file. Synchronous system calls: a microsegmented cluster
 * writes tens of thousands of small files, and through libuv's thread pool each file cost five
 * hand-overs (open, write, close, rename; the thread pool's futex and epoll waits were most of the
 * system time) where it costs four plain system calls here. Only the command line writes trees,
 * after its reading is done, so nothing waits on the event loop meanwhile.
 */
export async function writeTree(root: string, changes: TreeFiles): Promise<void> {
  if (changes.size === 0) return;
  for (const path of changes.keys())
    if (!isSafeTreePath(path)) throw new TreeWriteError(`refusing to write ${JSON.stringify(path)}: not a path inside the tree`);
  await mkdir(root, { recursive: true });
  const realRoot = await realpath(root);
  const byDirectory = new Map<string, { path: string; name: string; text: string }[]>();
  for (const [path, text] of changes) {
    const target = resolve(realRoot, path);
    const files = byDirectory.get(dirname(target)) ?? [];
    if (files.length === 0) byDirectory.set(dirname(target), files);
    files.push({ path, name: basename(target), text });
  }
  const writes: { realDir: string; name: string; text: string }[] = [];
  const staged: { temp: string; target: string }[] = [];
  try {
    for (const [dir, files] of byDirectory) {
      mkdirSync(dir, { recursive: true });
      // A symbolic link on the way could lead outside the tree.
      const realDir = realpathSync(dir);
      if (realDir !== realRoot && !realDir.startsWith(realRoot + sep)) {
        throw new TreeWriteError(`refusing to write ${files[0]!.path}: its directory resolves outside ${root}`);
      }
      const entries = new Map(readdirSync(realDir, { withFileTypes: true }).map((e) => [e.name, e]));
      for (const file of files) {
        const existing = entries.get(file.name);
        if (existing !== undefined && !existing.isFile()) throw new TreeWriteError(`refusing to write ${file.path}: not a regular file`);
        writes.push({ realDir, name: file.name, text: file.text });
      }
    }
    for (const { realDir, name, text } of writes) {
      const temp = join(realDir, `.${randomBytes(6).toString('hex')}.policy-recommender.tmp`);
      writeFileSync(temp, text, { flag: 'wx' });
      staged.push({ temp, target: join(realDir, name) });
    }
  } catch (e) {
    for (const { temp } of staged) rmSync(temp, { force: true });
    throw e instanceof TreeWriteError ? e : new TreeWriteError(`cannot write to ${root}: ${(e as Error).message}`);
  }
  for (const { temp, target } of staged) renameSync(temp, target);
}
