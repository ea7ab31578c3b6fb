// Adds to a policies tree what the template (`policies-template/clusters/example/`) provides and
// the tree lacks. Objects are judged by kind, namespace and name wherever the tree defines them, so
// every tier a recommended policy names ends up defined exactly once. The template has no
// kustomization: a tree is built as a directory unless it has its own (kustomize.ts).

import { posix } from 'node:path';
import type { Flavor } from '../config/recommendation-config.ts';
import type { Warning } from '../engine/report.ts';
import { parseYamlFile, renderNewFile, stringifyDocuments, type YamlDocument } from '../yaml/document.ts';
import { findObject, type Inventory, isYamlPath, parseObjectHead } from './inventory.ts';
import { isKustomizationPath } from './kustomize.ts';
import type { TreeFiles, TreeOverlay } from './tree.ts';

/** A tier the recommended policies name, and the template tier it is modelled on when custom. */
export interface TierRequest {
  readonly name: string;
  readonly model: string;
}
/** Tiers Calico always has, with fixed settings: never written. */
const BUILTIN_TIERS: ReadonlySet<string> = new Set(['default', 'kube-admin', 'kube-baseline']);

export interface TemplateResult {
  /** Object files created from the template (kustomizations not included). */
  readonly written: readonly string[];
  readonly warnings: readonly Warning[];
}

interface TemplateObject {
  readonly doc: YamlDocument;
  readonly kind: string;
  readonly namespace: string | null;
  readonly name: string;
  readonly calico: boolean;
  readonly cilium: boolean;
  /** Not in the template's text (a tier for a custom tier name). */
  readonly synthesised: boolean;
}

export function applyTemplate(
  tree: TreeOverlay,
  template: TreeFiles,
  inventory: Inventory,
  flavor: Flavor,
  tiers: readonly TierRequest[],
): TemplateResult {
  const written: string[] = [];
  const warnings: Warning[] = [];

  for (const [path, text] of [...template].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!isYamlPath(path) || isKustomizationPath(path)) continue;
    const objects = templateObjects(text, path, tiers);
    // Calico's objects for its flavours only; Cilium's (cilium.io) for the cilium flavour only.
    const wanted = objects.filter((o) => (flavor === 'cilium' ? o.cilium : !o.cilium && (flavor !== 'kubernetes' || !o.calico)));
    const missing = wanted.filter((o) => {
      const found = findObject(inventory, o.kind, o.namespace, o.name);
      if (found.length > 1) {
        warnings.push({
          code: 'duplicate-object',
          message: `${o.kind} ${o.name} is defined ${found.length} times (${found.map((f) => f.path).join(', ')}); kustomize will refuse to build`,
        });
      }
      return found.length === 0;
    });
    if (missing.length === 0) continue;
    const target = freePath(tree, path);
    // A wholly missing file is copied as is, comments included.
    const verbatim = missing.length === objects.length && !objects.some((o) => o.synthesised);
    tree.set(target, verbatim ? text : stringifyDocuments(missing.map((o) => o.doc)));
    written.push(target);
  }
  return { written, warnings };
}

/** The objects of one template file; a custom tier name gets a tier modelled on its template tier. */
function templateObjects(text: string, path: string, tiers: readonly TierRequest[]): TemplateObject[] {
  const docs = parseYamlFile(text, `policies-template/clusters/example/${path}`);
  const objects = docs.map(describe).filter((o): o is TemplateObject => o !== null);
  for (const { name, model: modelName } of tiers) {
    const model = objects.find((o) => o.kind === 'Tier' && o.name === modelName);
    if (model && name !== modelName && !BUILTIN_TIERS.has(name) && !objects.some((o) => o.kind === 'Tier' && o.name === name)) {
      const value = model.doc.toJS() as { metadata: { name: string } };
      value.metadata.name = name;
      const [doc] = parseYamlFile(renderNewFile(value), path);
      objects.push({ ...model, doc: doc!, name, synthesised: true });
    }
  }
  return objects;
}

function describe(doc: YamlDocument): TemplateObject | null {
  const head = parseObjectHead(doc.toJS());
  if (head === null) return null;
  const { apiVersion, kind, metadata } = head;
  return {
    doc,
    kind,
    name: metadata.name,
    namespace: metadata.namespace ?? null,
    calico: apiVersion.startsWith('projectcalico.org/'),
    cilium: apiVersion.startsWith('cilium.io/'),
    synthesised: false,
  };
}

/** The template's path, or a sibling name when a file of the person's already sits there. */
function freePath(tree: TreeOverlay, path: string): string {
  if (!tree.has(path)) return path;
  const ext = posix.extname(path);
  for (let i = 1; ; i++) {
    const candidate = `${path.slice(0, -ext.length)}.policy-recommender${i === 1 ? '' : `-${i}`}${ext}`;
    if (!tree.has(candidate)) return candidate;
  }
}
