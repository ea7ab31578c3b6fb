// A policies tree on disk. Reading never follows symbolic links; writing creates every file
// beside its target and renames it into place only after all of them are written, and refuses
// any path that would resolve outside the tree's root.

import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSafeTreePath, type TreeFiles } from './tree.ts';

/**
 * The per-cluster tree every output starts from: `policies-template/` is a whole policies repository
 * (Argo CD and Flux wiring, the repository configuration); only its example cluster's tree is a template.
 */
export const TEMPLATE_DIR = fileURLToPath(new URL('../../policies-template/clusters/example/', import.meta.url));

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

/** Writes all changes or none: temporary files first, then renames. */
export async function writeTree(root: string, changes: TreeFiles): Promise<void> {
  if (changes.size === 0) return;
  await mkdir(root, { recursive: true });
  const realRoot = await realpath(root);
  const staged: { temp: string; target: string }[] = [];
  try {
    for (const [path, text] of changes) {
      if (!isSafeTreePath(path)) throw new TreeWriteError(`refusing to write ${JSON.stringify(path)}: not a path inside the tree`);
      const target = resolve(realRoot, path);
      await mkdir(dirname(target), { recursive: true });
      // A symbolic link on the way could lead outside the tree.
      const realDir = await realpath(dirname(target));
      if (realDir !== realRoot && !realDir.startsWith(realRoot + sep)) {
        throw new TreeWriteError(`refusing to write ${path}: its directory resolves outside ${root}`);
      }
      const existing = await lstat(target).catch(() => null);
      if (existing !== null && !existing.isFile()) throw new TreeWriteError(`refusing to write ${path}: not a regular file`);
      const temp = join(realDir, `.${randomBytes(6).toString('hex')}.policy-recommender.tmp`);
      await writeFile(temp, text, { flag: 'wx' });
      staged.push({ temp, target: join(realDir, basename(target)) });
    }
  } catch (e) {
    await Promise.all(staged.map((s) => rm(s.temp, { force: true })));
    throw e instanceof TreeWriteError ? e : new TreeWriteError(`cannot write to ${root}: ${(e as Error).message}`);
  }
  for (const { temp, target } of staged) await rename(temp, target);
}
