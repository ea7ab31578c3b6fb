// Which Kubernetes objects a policies tree defines, and where: objects are judged by kind,
// namespace and name wherever they are defined, so people may organise files as they like.

import { isPlainObject } from '../util/plain.ts';
import { parseYamlFile, YamlError } from '../yaml/document.ts';
import type { TreeOverlay } from './tree.ts';

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string | null;
  readonly name: string;
  readonly path: string;
  /** Index of the document within the file. */
  readonly index: number;
}

export interface Inventory {
  readonly objects: readonly ObjectRef[];
  /** Files that are not valid YAML: never touched, reported. */
  readonly unreadable: ReadonlyMap<string, string>;
}

export function isYamlPath(path: string): boolean {
  return /\.ya?ml$/.test(path);
}

export function objectId(kind: string, namespace: string | null, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

export function buildInventory(tree: TreeOverlay): Inventory {
  const objects: ObjectRef[] = [];
  const unreadable = new Map<string, string>();
  for (const path of tree.paths()) {
    if (!isYamlPath(path)) continue;
    let docs;
    try {
      docs = parseYamlFile(tree.get(path)!, path);
    } catch (e) {
      if (!(e instanceof YamlError)) throw e;
      unreadable.set(path, e.message);
      continue;
    }
    docs.forEach((doc, index) => {
      const value: unknown = doc.toJS();
      if (!isPlainObject(value) || !isPlainObject(value['metadata'])) return;
      const { apiVersion, kind } = value;
      const { name, namespace } = value['metadata'];
      if (typeof apiVersion !== 'string' || typeof kind !== 'string' || typeof name !== 'string') return;
      objects.push({ apiVersion, kind, name, namespace: typeof namespace === 'string' ? namespace : null, path, index });
    });
  }
  return { objects, unreadable };
}

export function findObject(inventory: Inventory, kind: string, namespace: string | null, name: string): ObjectRef[] {
  return inventory.objects.filter((o) => o.kind === kind && o.namespace === namespace && o.name === name);
}
