// Small edits made to a YAML file's text itself, so that every other byte stays as the person
// (or we) wrote it: re-stringifying a document through the Document API keeps comments and key
// order, but not every layout (a folded `>-` scalar comes out on one line). Used where a change
// must be exactly what it says (an enforce PR changes a kind and drops stagedAction, nothing
// else). Each edit is checked by parsing the result: when the text cannot be edited that simply
// (flow style, a value over several lines), the answer is null and the caller re-stringifies.

import { type Document, isMap, isScalar, type Scalar } from 'yaml';
import { deepEqual } from '../util/plain.ts';
import { parseYamlFile } from './document.ts';

export type InPlaceEdit =
  /** A scalar's new value, written plain (callers give identifiers and API versions only). */
  | { readonly set: readonly string[]; readonly value: string }
  /** A key and its one-line value removed, with their line. */
  | { readonly delete: readonly string[] };

interface Splice {
  readonly from: number;
  readonly to: number;
  readonly text: string;
}

const PLAIN_SAFE = /^[A-Za-z][A-Za-z0-9./-]*$/;

function spliceOf(text: string, doc: Document, edit: InPlaceEdit): Splice | null {
  if ('set' in edit) {
    const node = doc.getIn(edit.set, true);
    if (!isScalar(node) || node.range === undefined || node.range === null || !PLAIN_SAFE.test(edit.value)) return null;
    if ((node as Scalar).type !== 'PLAIN' && (node as Scalar).type !== 'QUOTE_DOUBLE' && (node as Scalar).type !== 'QUOTE_SINGLE')
      return null;
    return { from: node.range[0], to: node.range[1], text: edit.value };
  }
  const parent = edit.delete.length === 1 ? doc.contents : doc.getIn(edit.delete.slice(0, -1), true);
  if (!isMap(parent) || parent.flow === true) return null;
  const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === edit.delete[edit.delete.length - 1]);
  if (pair === undefined || !isScalar(pair.key) || !isScalar(pair.value)) return null;
  const keyStart = pair.key.range?.[0];
  const valueEnd = pair.value.range?.[1];
  if (keyStart === undefined || valueEnd === undefined) return null;
  const lineStart = text.lastIndexOf('\n', keyStart - 1) + 1;
  const newline = text.indexOf('\n', valueEnd);
  const lineEnd = newline === -1 ? text.length : newline + 1;
  // Only a line that holds this pair alone (and perhaps its trailing comment).
  if (!/^[ \t]*$/.test(text.slice(lineStart, keyStart)) || !/^[ \t]*(#[^\n]*)?\r?\n?$/.test(text.slice(valueEnd, lineEnd))) return null;
  return { from: lineStart, to: lineEnd, text: '' };
}

/**
 * `text` with the edits made to document `index` of it, or null when they cannot be made in place
 * (the result is checked: every document must read as `expected` does).
 */
export function editInPlace(
  text: string,
  path: string,
  index: number,
  edits: readonly InPlaceEdit[],
  expected: readonly Document[],
): string | null {
  const docs = parseYamlFile(text, path);
  const doc = docs[index];
  if (doc === undefined) return null;
  const splices: Splice[] = [];
  for (const edit of edits) {
    const splice = spliceOf(text, doc, edit);
    if (splice === null) return null;
    splices.push(splice);
  }
  let out = text;
  for (const s of splices.sort((a, b) => b.from - a.from)) out = out.slice(0, s.from) + s.text + out.slice(s.to);
  const reread = parseYamlFile(out, path);
  if (reread.length !== expected.length) return null;
  return reread.every((d, i) => deepEqual(d.toJS(), expected[i]!.toJS())) ? out : null;
}
