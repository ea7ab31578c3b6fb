// How a cluster's tree is built, and keeping every file we write in the build.
//
// Two layouts (treeLayout):
// - `directory` (the default, no kustomization.yaml at the tree's root): nothing lists the files,
//   so pull requests that each add their own file never touch the same lines. Flux's
//   kustomize-controller generates a kustomization for such a path (fluxcd/pkg
//   kustomize/kustomize_generator.go, findOrGenerateKustomization + scanManifests: every .yaml/.yml
//   file below the path, walked in lexical order, as `./<path>` resources; a sub-directory that has
//   its own kustomization is listed as a directory and not descended into; called from
//   fluxcd/kustomize-controller internal/controller/kustomization_controller.go `generate`), and
//   Argo CD builds it as a directory source with `directory.recurse: true` (argoproj/argo-cd
//   reposerver/repository/repository.go findManifests/getPotentiallyValidManifests: every
//   .yaml/.yml/.json file, recursively; util/app/discovery/discovery.go: a kustomization file at
//   the path's root would make it a kustomize source instead).
// - `kustomize` (a root kustomization, the layout earlier releases created): every file we write
//   is made reachable from it. Kustomizations are only ever extended by resource entries, with the
//   Document API, so people's comments and ordering survive. PRs of this layout share the lists
//   they extend; the run after a merge brings those that then conflict up to date.

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
  return reachableFrom(tree, '');
}

function reachableFrom(tree: TreeOverlay, root: string): Reach {
  const reach: Reach = { files: new Set(), dirs: new Set(), listedBy: new Map() };
  const visit = (dir: string): void => {
    const kustomization = kustomizationIn(tree, dir);
    if (kustomization === null || reach.dirs.has(dir)) return;
    reach.dirs.add(dir);
    const { resources, components } = entries(tree, kustomization);
    for (const entry of components) {
      const target = posix.normalize(posix.join(dir, entry)).replace(/\/$/, '');
      if (isSafeTreePath(target)) visit(target);
    }
    for (const entry of resources) {
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
  visit(root);
  return reach;
}

/** Local entries of a kustomization: resources (and the deprecated bases), and components. */
function entries(tree: TreeOverlay, path: string): { resources: string[]; components: string[] } {
  const value = readKustomization(tree, path);
  const local = (...lists: unknown[]) =>
    lists.flatMap((list) => (Array.isArray(list) ? list : [])).filter((e): e is string => typeof e === 'string' && !e.includes('://'));
  return { resources: local(value['resources'], value['bases']), components: local(value['components']) };
}

function isComponent(tree: TreeOverlay, path: string): boolean {
  return readKustomization(tree, path)['kind'] === 'Component';
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

export type TreeLayout = 'directory' | 'kustomize';

/** A tree with a root kustomization is built from it; one without is built as a directory. */
export function treeLayout(tree: TreeOverlay): TreeLayout {
  return kustomizationIn(tree, '') === null ? 'directory' : 'kustomize';
}

/**
 * Makes `file` part of the tree's build. In the kustomize layout: reachable from the root
 * kustomization, creating or extending kustomizations. In the directory layout every YAML file is
 * built already, unless a directory above it has its own kustomization (Flux then builds that
 * directory from its kustomization): the file is listed there.
 */
export function ensureReachable(tree: TreeOverlay, file: string): void {
  if (treeLayout(tree) === 'directory') {
    for (let dir = dirOf(file); dir !== ''; dir = dirOf(dir)) {
      const own = kustomizationIn(tree, dir);
      if (own === null) continue;
      if (!reachableFrom(tree, dir).files.has(file)) addResource(tree, own, posix.relative(dir, file));
      return;
    }
    return;
  }
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
  // A kustomize Component can only be listed under `components`.
  const own = kustomizationIn(tree, dir);
  const field = own !== null && isComponent(tree, own) ? 'components' : 'resources';
  if (parentKustomization !== null) addResource(tree, parentKustomization, posix.basename(dir), field);
  else createKustomization(tree, parent === '' ? 'kustomization.yaml' : `${parent}/kustomization.yaml`, [posix.basename(dir)]);
  ensureDirReachable(tree, parent);
}

export function dirOf(path: string): string {
  const dir = posix.dirname(path);
  return dir === '.' ? '' : dir;
}

/** Adds one entry to `resources` (or `components`): in sorted place if the list is sorted, else at the end. */
export function addResource(tree: TreeOverlay, path: string, entry: string, field: 'resources' | 'components' = 'resources'): void {
  const docs = parseYamlFileOrThrow(tree, path);
  const doc = docs[0];
  const value: unknown = doc?.toJS() ?? {};
  if (doc === undefined || !isPlainObject(value)) throw new KustomizationError(`${path}: a kustomization must be a YAML mapping`);
  const list = value[field] ?? [];
  if (!Array.isArray(list)) throw new KustomizationError(`${path}: ${field} must be a list`);
  if (list.includes(entry)) return;
  const sorted = list.every((r, i) => i === 0 || String(list[i - 1]) <= String(r));
  const at = sorted ? list.findIndex((r) => String(r) > entry) : -1;
  const next = at === -1 ? [...list, entry] : [...list.slice(0, at), entry, ...list.slice(at)];
  patchDocument(doc, { ...value, [field]: next });
  tree.set(path, stringifyDocuments(docs, tree.get(path)));
}

function createKustomization(tree: TreeOverlay, path: string, resources: string[]): void {
  const comment = ' Created by policy-recommender, which lists the files it writes here. Edit freely.';
  tree.set(path, renderNewFile({ ...KUSTOMIZATION_HEADER, resources: [...resources].sort() }, comment));
}
