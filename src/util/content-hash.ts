// A short, stable hash of a set of files: what a pull request proposes, so a run can tell whether
// the proposal changed without comparing the files themselves.

import { createHash } from 'node:crypto';

export function contentHash(files: ReadonlyMap<string, string>): string {
  const hash = createHash('sha256');
  for (const path of [...files.keys()].sort()) hash.update(`${path}\0${files.get(path)}\0`);
  return hash.digest('hex').slice(0, 20);
}

/** A short, stable hash of one text (for names and keys derived from long inputs). */
export function textHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 20);
}
