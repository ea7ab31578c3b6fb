// Which Kubernetes objects a policies tree defines, and where: objects are judged by kind,
// namespace and name wherever they are defined, so people may organise files as they like.

import { z } from 'zod';
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

/**
 * What names an object wherever it is defined: its apiVersion, kind, name and namespace. A
 * document without them (a string name, a mapping as metadata) is no object we look up; a
 * namespace that is not a string names no namespace. Read only: nothing is written from it.
 */
const objectHead = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.object({ name: z.string(), namespace: z.string().optional().catch(undefined) }),
});
type ObjectHead = z.infer<typeof objectHead>;

/** A document's head, or null when it has none. */
export function parseObjectHead(value: unknown): ObjectHead | null {
  const parsed = objectHead.safeParse(value);
  return parsed.success ? parsed.data : null;
}

export function isYamlPath(path: string): boolean {
  return /\.ya?ml$/.test(path);
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
      const head = parseObjectHead(doc.toJS());
      if (head === null) return;
      const { apiVersion, kind, metadata } = head;
      objects.push({ apiVersion, kind, name: metadata.name, namespace: metadata.namespace ?? null, path, index });
    });
  }
  return { objects, unreadable };
}

export function findObject(inventory: Inventory, kind: string, namespace: string | null, name: string): ObjectRef[] {
  return inventory.objects.filter((o) => o.kind === kind && o.namespace === namespace && o.name === name);
}
