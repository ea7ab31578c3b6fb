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
function kustomizationIn(tree: TreeOverlay, dir: string): string | null {
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

type Field = 'resources' | 'components';

/** The target of a kustomization entry, or null when it points outside the tree. */
function entryTarget(dir: string, entry: string): string | null {
  const target = posix.normalize(posix.join(dir, entry)).replace(/\/$/, '');
  return isSafeTreePath(target) ? target : null;
}

/**
 * A tree's kustomizations while files are made part of its build: each is parsed once, entries
 * added to it are kept in memory and written once (flush), and what the root (or a directory's
 * own kustomization) builds is kept up to date as entries are added rather than walked again for
 * every file. Planning a cluster writes one file per namespace or workload, all listed by the same
 * kustomization in the kustomize layout: parsing, aligning and printing that list again for each
 * file made a run grow with the square of the namespaces (issue 14). The result is the one adding
 * the files one at a time gives (addResource's rule: in sorted place if sorted, else at the end).
 */
class Kustomizations {
  readonly #tree: TreeOverlay;
  /** Kustomization path -> its value, with the entries added so far appended to its lists. */
  readonly #values = new Map<string, Record<string, unknown>>();
  /** Kustomization path -> the entries added to each list, in the order they were added. */
  readonly #added = new Map<string, Map<Field, { readonly sorted: boolean; readonly entries: string[]; readonly present: Set<unknown> }>>();
  /** Root directory -> what it builds. */
  readonly #reaches = new Map<string, LiveReach>();

  constructor(tree: TreeOverlay) {
    this.#tree = tree;
  }

  get tree(): TreeOverlay {
    return this.#tree;
  }

  read(path: string): Record<string, unknown> {
    let value = this.#values.get(path);
    if (value === undefined) {
      const [doc] = parseYamlFileOrThrow(this.#tree, path);
      const parsed: unknown = doc?.toJS() ?? {};
      if (!isPlainObject(parsed)) throw new KustomizationError(`${path}: a kustomization must be a YAML mapping`);
      this.#values.set(path, (value = parsed));
    }
    return value;
  }

  /** Local entries of a kustomization: resources (and the deprecated bases), and components. */
  entries(path: string): { resources: string[]; components: string[] } {
    const value = this.read(path);
    return localEntries(value['resources'], value['bases'], value['components']);
  }

  isComponent(path: string): boolean {
    return this.read(path)['kind'] === 'Component';
  }

  /** What `root` builds, kept up to date as entries are added; its order is not the build's. */
  reach(root: string): LiveReach {
    let reach = this.#reaches.get(root);
    if (reach === undefined) this.#reaches.set(root, (reach = new LiveReach(this, root)));
    return reach;
  }

  /** What `root` builds, walked in the order of the lists as they will be written. */
  orderedReach(root: string): Reach {
    const reach: Reach = { files: new Set(), dirs: new Set(), listedBy: new Map() };
    const visit = (dir: string): void => {
      const kustomization = kustomizationIn(this.#tree, dir);
      if (kustomization === null || reach.dirs.has(dir)) return;
      reach.dirs.add(dir);
      const value = this.read(kustomization);
      const listOf = (field: Field, list: unknown): unknown => (Array.isArray(list) ? this.#finalList(kustomization, field, list) : list);
      const { resources, components } = localEntries(
        listOf('resources', this.#original(kustomization, 'resources', value)),
        value['bases'],
        listOf('components', this.#original(kustomization, 'components', value)),
      );
      for (const entry of components) {
        const target = entryTarget(dir, entry);
        if (target !== null) visit(target);
      }
      for (const entry of resources) {
        const target = entryTarget(dir, entry);
        if (target === null) continue;
        if (kustomizationIn(this.#tree, target) !== null) visit(target);
        else if (this.#tree.has(target) && (dir === '' || target.startsWith(`${dir}/`))) {
          reach.files.add(target);
          reach.listedBy.set(target, kustomization);
        }
      }
    };
    visit(root);
    return reach;
  }

  /** Adds one entry to `resources` (or `components`), as addResource says. */
  add(path: string, entry: string, field: Field = 'resources'): void {
    const value = this.read(path);
    const list = value[field] ?? [];
    if (!Array.isArray(list)) throw new KustomizationError(`${path}: ${field} must be a list`);
    let fields = this.#added.get(path);
    if (fields === undefined) this.#added.set(path, (fields = new Map()));
    let added = fields.get(field);
    if (added === undefined) {
      const sorted = list.every((r, i) => i === 0 || String(list[i - 1]) <= String(r));
      fields.set(field, (added = { sorted, entries: [], present: new Set(list) }));
      value[field] = [...list];
    }
    if (added.present.has(entry)) return;
    added.present.add(entry);
    added.entries.push(entry);
    (value[field] as unknown[]).push(entry);
    const dir = dirOf(path);
    for (const reach of this.#reaches.values()) reach.added(dir, path, entry, field);
  }

  create(path: string, resources: readonly string[]): void {
    createKustomization(this.#tree, path, resources);
    this.#values.delete(path);
    this.#added.delete(path);
    for (const reach of this.#reaches.values()) reach.created(dirOf(path));
  }

  /** Writes every kustomization that got entries: one parse, one patch and one print each. */
  flush(): void {
    for (const [path, fields] of this.#added) {
      const docs = parseYamlFileOrThrow(this.#tree, path);
      const doc = docs[0];
      if (doc === undefined) throw new KustomizationError(`${path}: a kustomization must be a YAML mapping`);
      for (const [field, added] of fields) {
        const value = doc.toJS() as Record<string, unknown>;
        const list = (value[field] ?? []) as unknown[];
        patchDocument(doc, { ...value, [field]: mergeEntries(list, added.entries, added.sorted) });
      }
      this.#tree.set(path, stringifyDocuments(docs, this.#tree.get(path)));
    }
    this.#added.clear();
    this.#values.clear();
    this.#reaches.clear();
  }

  /** A list as the file has it (the value read, without the entries added since). */
  #original(path: string, field: Field, value: Record<string, unknown>): unknown {
    const list = value[field];
    const added = this.#added.get(path)?.get(field);
    return added === undefined || !Array.isArray(list) ? list : list.slice(0, list.length - added.entries.length);
  }

  #finalList(path: string, field: Field, original: readonly unknown[]): unknown[] {
    const added = this.#added.get(path)?.get(field);
    return added === undefined ? [...original] : mergeEntries(original, added.entries, added.sorted);
  }
}

function localEntries(resources: unknown, bases: unknown, components: unknown): { resources: string[]; components: string[] } {
  const local = (...lists: unknown[]) =>
    lists.flatMap((list) => (Array.isArray(list) ? list : [])).filter((e): e is string => typeof e === 'string' && !e.includes('://'));
  return { resources: local(resources, bases), components: local(components) };
}

/**
 * A list with entries added one at a time by addResource's rule: each before the first entry that
 * sorts after it when the list is sorted (a sorted list stays sorted, so this is a merge), else
 * at the end. `added` holds no entry of `list` and no duplicates.
 */
function mergeEntries(list: readonly unknown[], added: readonly string[], sorted: boolean): unknown[] {
  if (!sorted) return [...list, ...added];
  const fresh = [...added].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: unknown[] = [];
  let j = 0;
  for (const item of list) {
    const text = String(item);
    while (j < fresh.length && text > fresh[j]!) out.push(fresh[j++]);
    out.push(item);
  }
  while (j < fresh.length) out.push(fresh[j++]);
  return out;
}

/**
 * The files and kustomization directories a root builds, updated as entries are added and
 * kustomizations created; instead of the order of the walk it keeps, per directory, the
 * kustomizations that list its files one by one (all the order was needed for).
 */
class LiveReach {
  readonly files = new Set<string>();
  readonly dirs = new Set<string>();
  readonly #listers = new Map<string, Set<string>>();
  /** Targets of entries of built kustomizations that were no kustomization's directory when walked. */
  readonly #pending = new Set<string>();
  readonly #kustomizations: Kustomizations;
  readonly #root: string;

  constructor(kustomizations: Kustomizations, root: string) {
    this.#kustomizations = kustomizations;
    this.#root = root;
    this.#visit(root);
  }

  /**
   * The kustomization that lists files of `dir` one by one, if any: the lister of the first such
   * file the walk meets, when several kustomizations do.
   */
  listerOf(dir: string): string | undefined {
    const listers = this.#listers.get(dir);
    if (listers === undefined || listers.size === 0) return undefined;
    if (listers.size === 1) return listers.values().next().value;
    const { listedBy } = this.#kustomizations.orderedReach(this.#root);
    for (const [file, lister] of listedBy) if (dirOf(file) === dir) return lister;
    return undefined;
  }

  added(dir: string, kustomization: string, entry: string, field: Field): void {
    if (this.dirs.has(dir)) this.#entry(dir, kustomization, entry, field);
  }

  created(dir: string): void {
    if (this.#pending.delete(dir)) this.#visit(dir);
  }

  #visit(dir: string): void {
    const tree = this.#kustomizations.tree;
    const kustomization = kustomizationIn(tree, dir);
    if (kustomization === null) {
      this.#pending.add(dir);
      return;
    }
    if (this.dirs.has(dir)) return;
    this.dirs.add(dir);
    const { resources, components } = this.#kustomizations.entries(kustomization);
    for (const entry of components) this.#entry(dir, kustomization, entry, 'components');
    for (const entry of resources) this.#entry(dir, kustomization, entry, 'resources');
  }

  #entry(dir: string, kustomization: string, entry: string, field: Field): void {
    if (entry.includes('://')) return;
    const target = entryTarget(dir, entry);
    if (target === null) return;
    const tree = this.#kustomizations.tree;
    if (field === 'components' || kustomizationIn(tree, target) !== null) this.#visit(target);
    else {
      // Until a kustomization is created there, a directory entry builds nothing.
      if (!tree.has(target)) this.#pending.add(target);
      else if (dir === '' || target.startsWith(`${dir}/`)) {
        this.files.add(target);
        let listers = this.#listers.get(dirOf(target));
        if (listers === undefined) this.#listers.set(dirOf(target), (listers = new Set()));
        listers.add(kustomization);
      }
    }
  }
}

function parseYamlFileOrThrow(tree: TreeOverlay, path: string) {
  try {
    return parseYamlFile(tree.get(path)!, path);
  } catch (e) {
    throw new KustomizationError(`cannot update ${path}: ${(e as Error).message}`);
  }
}

type TreeLayout = 'directory' | 'kustomize';

/** A tree with a root kustomization is built from it; one without is built as a directory. */
function treeLayout(tree: TreeOverlay): TreeLayout {
  return kustomizationIn(tree, '') === null ? 'directory' : 'kustomize';
}

/**
 * Makes `file` part of the tree's build. In the kustomize layout: reachable from the root
 * kustomization, creating or extending kustomizations. In the directory layout every YAML file is
 * built already, unless a directory above it has its own kustomization (Flux then builds that
 * directory from its kustomization): the file is listed there.
 */
export function ensureReachable(tree: TreeOverlay, file: string): void {
  ensureAllReachable(tree, [file]);
}

/** ensureReachable for each of `files`, in order, each kustomization written once. */
export function ensureAllReachable(tree: TreeOverlay, files: Iterable<string>): void {
  const kustomizations = new Kustomizations(tree);
  for (const file of files) ensureOne(kustomizations, file);
  kustomizations.flush();
}

function ensureOne(k: Kustomizations, file: string): void {
  const tree = k.tree;
  if (treeLayout(tree) === 'directory') {
    for (let dir = dirOf(file); dir !== ''; dir = dirOf(dir)) {
      const own = kustomizationIn(tree, dir);
      if (own === null) continue;
      if (!k.reach(dir).files.has(file)) k.add(own, posix.relative(dir, file));
      return;
    }
    return;
  }
  if (k.reach('').files.has(file)) return;
  const dir = dirOf(file);
  const own = kustomizationIn(tree, dir);
  if (own !== null) {
    k.add(own, posix.basename(file));
    ensureDirReachable(k, dir);
    return;
  }
  if (dir === '') {
    k.create('kustomization.yaml', [file]);
    return;
  }
  // A kustomization higher up that lists this directory's files one by one gets this one too.
  const lister = k.reach('').listerOf(dir);
  if (lister !== undefined) {
    k.add(lister, posix.relative(dirOf(lister), file));
    return;
  }
  k.create(`${dir}/kustomization.yaml`, [posix.basename(file)]);
  ensureDirReachable(k, dir);
}

function ensureDirReachable(k: Kustomizations, dir: string): void {
  const tree = k.tree;
  if (dir === '') {
    if (kustomizationIn(tree, '') === null) k.create('kustomization.yaml', []);
    return;
  }
  if (k.reach('').dirs.has(dir)) return;
  const parent = dirOf(dir);
  const parentKustomization = kustomizationIn(tree, parent);
  // A kustomize Component can only be listed under `components`.
  const own = kustomizationIn(tree, dir);
  const field = own !== null && k.isComponent(own) ? 'components' : 'resources';
  if (parentKustomization !== null) k.add(parentKustomization, posix.basename(dir), field);
  else k.create(parent === '' ? 'kustomization.yaml' : `${parent}/kustomization.yaml`, [posix.basename(dir)]);
  ensureDirReachable(k, parent);
}

function dirOf(path: string): string {
  const dir = posix.dirname(path);
  return dir === '.' ? '' : dir;
}

function createKustomization(tree: TreeOverlay, path: string, resources: readonly string[]): void {
  const comment = ' Created by policy-recommender, which lists the files it writes here. Edit freely.';
  tree.set(path, renderNewFile({ ...KUSTOMIZATION_HEADER, resources: [...resources].sort() }, comment));
}
