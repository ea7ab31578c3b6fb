// A policies tree as text files keyed by POSIX path relative to its root, with the changes a run
// plans layered on top. Pure: loading from disk or from Git happens elsewhere.

import { posix } from 'node:path';

export type TreeFiles = ReadonlyMap<string, string>;

export class TreeOverlay {
  readonly #base: TreeFiles;
  readonly #changes = new Map<string, string>();

  constructor(base: TreeFiles) {
    this.#base = base;
  }

  get(path: string): string | undefined {
    return this.#changes.get(path) ?? this.#base.get(path);
  }

  has(path: string): boolean {
    return this.#changes.has(path) || this.#base.has(path);
  }

  /** Records new content; a write that restores the original text is no change at all. */
  set(path: string, text: string): void {
    if (this.#base.get(path) === text) this.#changes.delete(path);
    else this.#changes.set(path, text);
  }

  paths(): string[] {
    return [...new Set([...this.#base.keys(), ...this.#changes.keys()])].sort();
  }

  /** Changed or new files, sorted by path. */
  changes(): Map<string, string> {
    return new Map([...this.#changes.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  isNew(path: string): boolean {
    return !this.#base.has(path);
  }
}

/** A tree path is relative, POSIX, normalised, and cannot climb out of the tree. */
export function isSafeTreePath(path: string): boolean {
  if (path === '' || path.includes('\\') || path.includes('\0') || posix.isAbsolute(path)) return false;
  const normal = posix.normalize(path);
  return normal === path && !normal.startsWith('../') && normal !== '..';
}
