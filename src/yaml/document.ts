// YAML in and out, with the `yaml` package's Document API so that a person's comments, key order
// and styles survive our updates. Files are read and written as YAML 1.1, the dialect Kubernetes
// tooling (sigs.k8s.io/yaml) uses: strings like `yes`, `on` or `0777` are quoted on output and
// read the way kubectl would read them.

import {
  Document,
  isMap,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  type ParsedNode,
  parse,
  parseAllDocuments,
  parseDocument,
  Scalar,
  type ScalarTag,
  type Tags,
  visit,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { stringTag } from 'yaml/util';
import { deepEqual, isPlainObject } from '../util/plain.ts';

/**
 * YAML 1.1 as Kubernetes reads it: go-yaml never resolved base-60 numbers, so `20:21` (a port
 * range a person wrote unquoted) is the string kubectl, Argo CD and Flux see, not 1221; and a
 * timestamp (`reviewed: 2026-01-01`) is the text as written, never a date (go-yaml v2's
 * decode.go sets a timestamp-like value as a string "for backward compatibility", and an
 * annotation or label value is a string in Kubernetes' types).
 */
const withoutBase60 = (tags: Tags): Tags =>
  tags.filter((tag) => (typeof tag === 'string' ? tag !== 'intTime' && tag !== 'floatTime' : !('format' in tag && tag.format === 'TIME')));
const TIMESTAMP_TAG = 'tag:yaml.org,2002:timestamp';
const kubernetesTags = (tags: Tags): Tags =>
  withoutBase60(tags).filter((tag) => (typeof tag === 'string' ? tag !== 'timestamp' : tag.tag !== TIMESTAMP_TAG));

/**
 * Folded block scalars (`>`) as a person wrote them: their value and their lines, without the
 * block's indentation. We write with lineWidth 0 (selectors and nets never folded), which would
 * join a folded text into one line; an unchanged one is written back on its own lines instead.
 */
const foldedLines = new WeakMap<Scalar, { readonly value: string; readonly lines: readonly string[] }>();

/**
 * The YAML string tag, writing an unchanged folded scalar on the lines it was read from, and
 * quoting a string that another reader would take for something else: YAML 1.2, which kustomize
 * reads (kyaml, on go-yaml v3), where `0o7` is the number 7 (a namespace name in 1.1); and, in
 * what we write, a timestamp of YAML 1.1, a date to most readers but Kubernetes'.
 */
const keepFoldedLines: ScalarTag = {
  ...stringTag,
  stringify(item, ctx, onComment, onChompKeep) {
    const out = stringTag.stringify!(item, ctx, onComment, onChompKeep);
    if (typeof item.value === 'string' && out === item.value && /^[-+.0-9]/.test(out)) {
      // A value still as a person wrote it keeps its timestamp look; ours are quoted, as always.
      const asWritten = item instanceof Scalar && item.source === item.value;
      if (!readsAsString(out, '1.2') || (!asWritten && !readsAsString(out, '1.1'))) return JSON.stringify(out);
    }
    const kept = item instanceof Scalar ? foldedLines.get(item) : undefined;
    if (kept === undefined || item.value !== kept.value || !out.startsWith('>')) return out;
    const headerEnd = out.indexOf('\n');
    const indent = /^ */.exec(out.slice(headerEnd + 1).replace(/^\n+/, ''))![0];
    const candidate = `${out.slice(0, headerEnd)}\n${kept.lines.map((line) => (line === '' ? '' : indent + line)).join('\n')}`;
    // Written back only if it reads as the same text (one parse per folded scalar: they are few).
    const check = parseDocument(indent === '' ? candidate : `k: ${candidate}`, { version: '1.1' }).toJS() as unknown;
    const value = indent === '' ? check : (check as { k?: unknown } | null)?.k;
    return value === kept.value ? candidate : out;
  },
};

/** Whether a plain scalar reads as a string in YAML 1.2, or in YAML 1.1 as we read it but with timestamps. */
function readsAsString(plain: string, version: '1.1' | '1.2'): boolean {
  try {
    return typeof parse(plain, version === '1.2' ? { version } : { version, customTags: withoutBase60 }) === 'string';
  } catch {
    return true;
  }
}

const customTags = (tags: Tags): Tags => kubernetesTags(tags).map((tag) => (tag === stringTag ? keepFoldedLines : tag));
const PARSE = { version: '1.1', customTags, maxAliasCount: 10, uniqueKeys: true } as const;
const STRINGIFY = { lineWidth: 0, flowCollectionPadding: false } as const;

export type YamlDocument = Document.Parsed<ParsedNode, true>;

export class YamlError extends Error {
  override readonly name = 'YamlError';
}

/** All documents of a file; throws YamlError (with a line number) when any is invalid. */
export function parseYamlFile(text: string, path: string): YamlDocument[] {
  const docs = parseAllDocuments(text, PARSE);
  if (!Array.isArray(docs)) return []; // an empty stream
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const line = error.linePos?.[0]?.line;
      throw new YamlError(`${path}${line ? `:${line}` : ''}: not valid YAML: ${error.message.split('\n')[0]}`);
    }
    // Aliases are only expanded (and their count limited) when converting to data: do it now,
    // so that an alias bomb is a YAML error here rather than an exception anywhere later.
    try {
      doc.toJS();
    } catch (e) {
      throw new YamlError(`${path}: not usable YAML: ${(e as Error).message}`);
    }
    if (text.includes('>')) rememberFoldedLines(doc, text);
  }
  return docs as YamlDocument[];
}

/** Records the lines of the document's folded scalars (see keepFoldedLines). */
function rememberFoldedLines(doc: Document, text: string): void {
  visit(doc, {
    Scalar(_key, node) {
      if (node.type !== Scalar.BLOCK_FOLDED || !node.range || typeof node.value !== 'string') return;
      const [header = '', ...body] = text.slice(node.range[0], node.range[1]).replace(/\r/g, '').split('\n');
      // An explicit indentation or a kept chomping (`>2`, `>+`) is left to the library.
      if (/[0-9+]/.test(header.split('#')[0]!)) return;
      while (body.length > 0 && body.at(-1)!.trim() === '') body.pop();
      const depth = Math.min(...body.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length));
      if (body.length === 0 || !Number.isFinite(depth)) return;
      foldedLines.set(node, { value: node.value, lines: body.map((l) => (l.trim() === '' ? '' : l.slice(depth))) });
    },
  });
}

/**
 * A multi-document file; documents are always separated by `---`, whatever they were parsed
 * with. Given the file's original text, its style (list indentation, indent width, CRLF line
 * ends) is kept, so that lines nobody changed stay as they were.
 */
export function stringifyDocuments(docs: readonly Document[], original?: string): string {
  const style = original === undefined ? { indentSeq: true, indent: 2, crlf: false } : detectStyle(original);
  const text = docs
    .map((d, i) => {
      const out = d.toString({ ...STRINGIFY, indentSeq: style.indentSeq, indent: style.indent });
      return i > 0 && !out.startsWith('---') ? `---\n${out}` : out;
    })
    .join('');
  return style.crlf ? text.replace(/\r?\n/g, '\r\n') : text;
}

/** How a YAML file is laid out: lists indented under their key or not, indent width, line ends. */
function detectStyle(text: string): { indentSeq: boolean; indent: number; crlf: boolean } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  let indentSeq: boolean | null = null;
  let indent: number | null = null;
  for (let i = 0; i + 1 < lines.length && (indentSeq === null || indent === null); i++) {
    // A key whose value starts on the next line.
    const key = /^( *)(?:- )?[^\s#][^:]*:\s*(?:#.*)?$/.exec(lines[i]!);
    if (key === null) continue;
    const base = key[0].startsWith(`${key[1]}- `) ? key[1]!.length + 2 : key[1]!.length;
    const next = /^( *)(- |-$)?/.exec(lines[i + 1]!)!;
    const depth = next[1]!.length;
    if (next[2] !== undefined) indentSeq ??= depth > base;
    else if (depth > base) indent ??= depth - base;
  }
  return { indentSeq: indentSeq ?? true, indent: indent ?? 2, crlf: text.includes('\r\n') };
}

/** A new document for a plain value, rendered the way updated documents are. */
function newDocument(value: unknown): Document {
  return new Document(value, { version: '1.1', customTags });
}

/** The text of a new file holding `value`, with an optional comment at the top. */
export function renderNewFile(value: unknown, headerComment?: string): string {
  const doc = newDocument(value);
  if (headerComment !== undefined) doc.commentBefore = headerComment;
  return doc.toString(STRINGIFY);
}

/**
 * Edits `doc` in place until its value equals `desired`, touching as little as possible: equal
 * subtrees are left alone (comments, styles and key order kept), changed scalars keep their
 * comments, and list items are aligned so that an inserted rule does not disturb its neighbours.
 */
export function patchDocument(doc: Document, desired: unknown): void {
  doc.contents = patchNode(doc, doc.contents as Node | null, desired) as typeof doc.contents;
}

function patchNode(doc: Document, node: Node | null, desired: unknown): Node {
  if (node !== null && deepEqual(node.toJSON(), desired)) return node;
  if (isPlainObject(desired) && isMap(node)) {
    patchMap(doc, node, desired);
    return node;
  }
  if (Array.isArray(desired) && isSeq(node)) {
    patchSeq(doc, node, desired);
    return node;
  }
  if (isScalar(node) && !isPlainObject(desired) && !Array.isArray(desired) && typeof node.value === typeof desired) {
    node.value = desired;
    return node;
  }
  const fresh = doc.createNode(desired) as Node;
  if (node !== null) {
    fresh.comment = node.comment;
    fresh.commentBefore = node.commentBefore;
  }
  return fresh;
}

function patchMap(doc: Document, node: YAMLMap, desired: Record<string, unknown>): void {
  node.items = node.items.filter((pair) => Object.hasOwn(desired, keyOf(pair)));
  for (const [key, value] of Object.entries(desired)) {
    const pair = node.items.find((p) => keyOf(p) === key);
    if (pair) pair.value = patchNode(doc, pair.value as Node | null, value);
    else node.items.push(doc.createPair(key, value) as Pair<unknown, unknown>);
  }
}

function keyOf(pair: Pair): string {
  return isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
}

/**
 * Aligns old items with desired values (maximising similarity, order kept), patches aligned
 * pairs, deletes unaligned old items and inserts new ones where they belong.
 */
function patchSeq(doc: Document, node: YAMLSeq, desired: readonly unknown[]): void {
  const old = node.items as Node[];
  const oldValues = old.map((n) => (n === null ? null : ((n as Node).toJSON() as unknown)));
  const pairs = align(oldValues, desired);
  const items: Node[] = [];
  for (let d = 0; d < desired.length; d++) {
    const match = pairs.get(d);
    if (match === undefined) {
      items.push(doc.createNode(desired[d]) as Node);
      continue;
    }
    items.push(patchNode(doc, old[match] ?? null, desired[d]));
  }
  node.items = items;
}

/** desired index -> old index, by weighted longest common subsequence. */
function align(old: readonly unknown[], desired: readonly unknown[]): Map<number, number> {
  return alignInsertions(old, desired) ?? alignBySimilarity(old, desired);
}

/**
 * The alignment when only scalars were inserted into a list of distinct scalars (a kustomization's
 * resources gaining files): equal values are the only similar ones, each old value is in `desired`
 * once and in order, so matching them is the one best alignment, found in linear time instead of
 * the quadratic table (whose size alone is too much for a list of thousands). Null otherwise.
 */
function alignInsertions(old: readonly unknown[], desired: readonly unknown[]): Map<number, number> | null {
  const scalar = (v: unknown) => v === null || (typeof v !== 'object' && typeof v !== 'function');
  if (!old.every(scalar) || !desired.every(scalar) || new Set(desired).size !== desired.length) return null;
  const pairs = new Map<number, number>();
  let i = 0;
  for (let j = 0; j < desired.length && i < old.length; j++) {
    if (desired[j] === old[i]) pairs.set(j, i++);
  }
  return i === old.length ? pairs : null;
}

function alignBySimilarity(old: readonly unknown[], desired: readonly unknown[]): Map<number, number> {
  const n = old.length;
  const m = desired.length;
  const score: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  const sim = (i: number, j: number) => similarity(old[i], desired[j]);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const s = sim(i, j);
      score[i]![j] = Math.max(score[i + 1]![j]!, score[i]![j + 1]!, s > 0 ? s + score[i + 1]![j + 1]! : 0);
    }
  }
  const pairs = new Map<number, number>();
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    const s = sim(i, j);
    if (s > 0 && score[i]![j] === s + score[i + 1]![j + 1]!) {
      pairs.set(j, i);
      i++;
      j++;
    } else if (score[i + 1]![j]! >= score[i]![j + 1]!) i++;
    else j++;
  }
  return pairs;
}

/** 1000 for equal values; for mappings, the share of equal entries; 0 for unrelated values. */
function similarity(a: unknown, b: unknown): number {
  if (deepEqual(a, b)) return 1000;
  if (!isPlainObject(a) || !isPlainObject(b)) return 0;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  let same = 0;
  for (const k of keys) if (deepEqual(a[k], b[k])) same++;
  return Math.floor((999 * same) / keys.size);
}
