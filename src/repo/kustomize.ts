// Keeps every file we write reachable from the tree's root kustomization, so that `kubectl
// kustomize <dir>` (what Argo CD and Flux run) builds it. Kustomizations are only ever extended
// by resource entries, with the Document API, so people's comments and ordering survive.

import { posix } from 'node:path';
import { isPlainObject } from '../util/plain.ts';
import { parseYamlFile, patchDocument, renderNewFile, stringifyDocuments } from '../yaml/document.ts';
import { isSafeTreePath, type TreeOverlay } from './tree.ts';

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const KUSTOMIZATION_HEADER = {
  apiVersion: 'kustomize.config.k8s.io/v1beta1',
  kind: 'Kustomization',
};

export class KustomizationError extends Error {
  override readonly name = 'KustomizationError';
}

export function isKustomizationPath(path: string): boolean {
  return KUSTOMIZATION_FILES.includes(posix.basename(path));
}

/** The kustomization file of a directory ('' is the root), if any. */
export function kustomizationIn(tree: TreeOverlay, dir: string): string | null {
  for (const name of KUSTOMIZATION_FILES) {
    const path = dir === '' ? name : `${dir}/${name}`;
    if (tree.has(path)) return path;
  }
  return null;
}

interface Reach {
  readonly files: Set<string>;
  readonly dirs: Set<string>;
  /** File -> the kustomization that lists it directly. */
  readonly listedBy: Map<string, string>;
}

/** Files and kustomization directories the root kustomization builds (remote bases ignored). */
export function reachable(tree: TreeOverlay): Reach {
  const reach: Reach = { files: new Set(), dirs: new Set(), listedBy: new Map() };
  const visit = (dir: string): void => {
    const kustomization = kustomizationIn(tree, dir);
    if (kustomization === null || reach.dirs.has(dir)) return;
    reach.dirs.add(dir);
    for (const entry of resourceEntries(tree, kustomization)) {
      const target = posix.normalize(posix.join(dir, entry)).replace(/\/$/, '');
      if (!isSafeTreePath(target)) continue;
      if (kustomizationIn(tree, target) !== null) visit(target);
      // kustomize's default load restrictor: a file must be in or below the kustomization's directory.
      else if (tree.has(target) && (dir === '' || target.startsWith(`${dir}/`))) {
        reach.files.add(target);
        reach.listedBy.set(target, kustomization);
      }
    }
  };
  visit('');
  return reach;
}

function resourceEntries(tree: TreeOverlay, path: string): string[] {
  const value = readKustomization(tree, path);
  const entries = [value['resources'], value['bases']].flatMap((list) => (Array.isArray(list) ? list : []));
  return entries.filter((e): e is string => typeof e === 'string' && !e.includes('://'));
}

function readKustomization(tree: TreeOverlay, path: string): Record<string, unknown> {
  const [doc] = parseYamlFileOrThrow(tree, path);
  const value: unknown = doc?.toJS() ?? {};
  if (!isPlainObject(value)) throw new KustomizationError(`${path}: a kustomization must be a YAML mapping`);
  return value;
}

function parseYamlFileOrThrow(tree: TreeOverlay, path: string) {
  try {
    return parseYamlFile(tree.get(path)!, path);
  } catch (e) {
    throw new KustomizationError(`cannot update ${path}: ${(e as Error).message}`);
  }
}

/** Makes `file` reachable from the root kustomization, creating or extending kustomizations. */
export function ensureReachable(tree: TreeOverlay, file: string): void {
  if (reachable(tree).files.has(file)) return;
  const dir = dirOf(file);
  const own = kustomizationIn(tree, dir);
  if (own !== null) {
    addResource(tree, own, posix.basename(file));
    ensureDirReachable(tree, dir);
    return;
  }
  if (dir === '') {
    createKustomization(tree, 'kustomization.yaml', [file]);
    return;
  }
  // A kustomization higher up that lists this directory's files one by one gets this one too.
  const reach = reachable(tree);
  const sibling = [...reach.listedBy.entries()].find(([f]) => dirOf(f) === dir);
  if (sibling !== undefined) {
    const lister = sibling[1];
    addResource(tree, lister, posix.relative(dirOf(lister), file));
    return;
  }
  createKustomization(tree, `${dir}/kustomization.yaml`, [posix.basename(file)]);
  ensureDirReachable(tree, dir);
}

function ensureDirReachable(tree: TreeOverlay, dir: string): void {
  if (dir === '') {
    if (kustomizationIn(tree, '') === null) createKustomization(tree, 'kustomization.yaml', []);
    return;
  }
  if (reachable(tree).dirs.has(dir)) return;
  const parent = dirOf(dir);
  const parentKustomization = kustomizationIn(tree, parent);
  if (parentKustomization !== null) addResource(tree, parentKustomization, posix.basename(dir));
  else createKustomization(tree, parent === '' ? 'kustomization.yaml' : `${parent}/kustomization.yaml`, [posix.basename(dir)]);
  ensureDirReachable(tree, parent);
}

function dirOf(path: string): string {
  const dir = posix.dirname(path);
  return dir === '.' ? '' : dir;
}

/** Adds one entry to `resources`: in sorted place if the list is sorted, else at the end. */
export function addResource(tree: TreeOverlay, path: string, entry: string): void {
  const docs = parseYamlFileOrThrow(tree, path);
  const doc = docs[0];
  const value: unknown = doc?.toJS() ?? {};
  if (doc === undefined || !isPlainObject(value)) throw new KustomizationError(`${path}: a kustomization must be a YAML mapping`);
  const resources = value['resources'] ?? [];
  if (!Array.isArray(resources)) throw new KustomizationError(`${path}: resources must be a list`);
  if (resources.includes(entry)) return;
  const sorted = resources.every((r, i) => i === 0 || String(resources[i - 1]) <= String(r));
  const at = sorted ? resources.findIndex((r) => String(r) > entry) : -1;
  const next = at === -1 ? [...resources, entry] : [...resources.slice(0, at), entry, ...resources.slice(at)];
  patchDocument(doc, { ...value, resources: next });
  tree.set(path, stringifyDocuments(docs));
}

/** Removes `resources` entries naming files or directories that do not exist in the tree. */
export function dropMissingResources(tree: TreeOverlay, path: string): void {
  const docs = parseYamlFileOrThrow(tree, path);
  const doc = docs[0];
  const value: unknown = doc?.toJS();
  if (doc === undefined || !isPlainObject(value) || !Array.isArray(value['resources'])) return;
  const dir = dirOf(path);
  const exists = (entry: unknown) => {
    if (typeof entry !== 'string' || entry.includes('://')) return true;
    const target = posix.normalize(posix.join(dir, entry)).replace(/\/$/, '');
    return tree.has(target) || kustomizationIn(tree, target) !== null;
  };
  const kept = value['resources'].filter(exists);
  if (kept.length === value['resources'].length) return;
  patchDocument(doc, { ...value, resources: kept });
  tree.set(path, stringifyDocuments(docs));
}

function createKustomization(tree: TreeOverlay, path: string, resources: string[]): void {
  const comment = ' Created by policy-recommender, which lists the files it writes here. Edit freely.';
  tree.set(path, renderNewFile({ ...KUSTOMIZATION_HEADER, resources: [...resources].sort() }, comment));
}
