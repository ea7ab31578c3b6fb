// How the fake GitHub merges a pull request into its base branch, and so whether it is mergeable:
// a three-way merge of the base branch's head and the PR's head from their merge base, file by
// file, and within a file changed on both sides line by line with git itself (`git merge-file`,
// the merge git and GitHub use for text). GitHub computes `mergeable` asynchronously in a job; the
// fake answers as if the job had finished. Kept apart from fake-github.ts so the two change
// independently.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One side's files: path -> blob id (equal ids, equal content). */
export type Side = ReadonlyMap<string, string>;

export interface TreeMerge {
  /** Paths that conflict (empty: mergeable). */
  readonly conflicts: readonly string[];
  /** The changes to apply to `ours` to get the merge (null deletes), when clean. */
  readonly changes: ReadonlyMap<string, string | null>;
}

/**
 * Merges `theirs` into `ours` from `base`. A file changed on
 * one side only takes that side; changed identically on both, either; changed differently, git's
 * line merge, which conflicts when the changes overlap or touch; deleted on one side and changed
 * on the other, a conflict.
 */
export function mergeTrees(base: Side, ours: Side, theirs: Side, text: (blob: string) => string): TreeMerge {
  const conflicts: string[] = [];
  const changes = new Map<string, string | null>();
  const paths = new Set([...base.keys(), ...theirs.keys()]);
  for (const path of [...paths].sort()) {
    const [b, o, t] = [base.get(path) ?? null, ours.get(path) ?? null, theirs.get(path) ?? null];
    if (b === t || o === t) continue;
    if (b === o) {
      changes.set(path, t === null ? null : text(t));
      continue;
    }
    if (b === null || o === null || t === null) {
      conflicts.push(path);
      continue;
    }
    const merged = gitMergeFile(text(b), text(o), text(t));
    if (merged === null) conflicts.push(path);
    else changes.set(path, merged);
  }
  return { conflicts, changes: conflicts.length === 0 ? changes : new Map() };
}

/** `git merge-file -p ours base theirs`: the merged text, or null on a conflict. */
export function gitMergeFile(base: string, ours: string, theirs: string): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'fake-merge-'));
  try {
    const [o, b, t] = ['ours', 'base', 'theirs'].map((name) => join(dir, name)) as [string, string, string];
    writeFileSync(o, ours);
    writeFileSync(b, base);
    writeFileSync(t, theirs);
    const run = spawnSync('git', ['merge-file', '--quiet', o, b, t], { encoding: 'utf8' });
    if (run.error !== undefined || run.status === null || run.status < 0)
      throw new Error(`git merge-file failed: ${run.error ?? run.stderr}`);
    return run.status === 0 ? readFileSync(o, 'utf8') : null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
