// A three-way merge of text by lines, conservative against git's: each side's change against the
// common ancestor is the region between their common head and tail; two sides' regions that
// overlap or touch (no unchanged line between them, two insertions at the same place included)
// conflict unless both sides made the same change. What it merges cleanly, git merges cleanly to
// the same text (tested against `git merge-file`); it may call conflicting what git would merge
// (several changes far apart in one file), and then the PR is rebuilt, which is safe. Pure;
// run/mergeability.ts asks it whether a PR still merges cleanly into a default branch that moved
// since the PR's commit.

import { appendAll } from '../util/append.ts';

interface Hunk {
  /** Ancestor lines [start, end) replaced by `lines`. */
  readonly start: number;
  readonly end: number;
  readonly lines: readonly string[];
}

export interface MergeResult {
  readonly clean: boolean;
  /** The merged text when clean. */
  readonly text: string | null;
}

/** Merges `ours` and `theirs`, both edited from `base` (null: the file does not exist on that side). */
export function mergeText(base: string | null, ours: string | null, theirs: string | null): MergeResult {
  if (ours === theirs) return { clean: true, text: ours };
  if (base === ours) return { clean: true, text: theirs };
  if (base === theirs) return { clean: true, text: ours };
  // Deleted on one side and changed on the other, or added differently on both: git conflicts.
  if (base === null || ours === null || theirs === null) return { clean: false, text: null };
  const [b, o, t] = [lines(base), lines(ours), lines(theirs)];
  const a = hunks(b, o);
  const c = hunks(b, t);
  const out: string[] = [];
  let at = 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < c.length) {
    const next = i < a.length && (j >= c.length || a[i]!.start <= c[j]!.start) ? a[i]! : c[j]!;
    const other = next === a[i] ? c[j] : a[i];
    if (other !== undefined && touches(next, other)) {
      if (!(next.start === other.start && next.end === other.end && same(next.lines, other.lines))) return { clean: false, text: null };
      i++;
      j++;
    } else if (next === a[i]) i++;
    else j++;
    appendAll(appendAll(out, b.slice(at, next.start)), next.lines);
    at = next.end;
  }
  appendAll(out, b.slice(at));
  return { clean: true, text: out.join('') };
}

function touches(x: Hunk, y: Hunk): boolean {
  return x.start <= y.end && y.start <= x.end;
}

function same(x: readonly string[], y: readonly string[]): boolean {
  return x.length === y.length && x.every((l, k) => l === y[k]);
}

/** Lines with their line ends, so that a missing final newline is a change like any other. */
function lines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * The change turning `from` into `to`, as one hunk: the lines between their common head and tail,
 * widened over every neighbouring line that repeats one of the changed lines. Deliberately coarse:
 * where lines repeat, how a diff aligns them is a choice (git's and an LCS's can differ). git trims
 * the same common head and tail (xdiff's xdl_trim_ends) but then slides each group of changed lines
 * up or down while the line beyond it equals the group's line at the other end (xdiff's
 * xdl_change_compact), so a group can leave the trimmed region, but only across lines equal to
 * changed ones. Within the widened region git's hunks lie; two sides' regions with an unchanged line
 * between them merge cleanly in git too.
 */
function hunks(from: readonly string[], to: readonly string[]): Hunk[] {
  let head = 0;
  while (head < from.length && head < to.length && from[head] === to[head]) head++;
  let tail = 0;
  while (tail < from.length - head && tail < to.length - head && from[from.length - 1 - tail] === to[to.length - 1 - tail]) tail++;
  if (head === from.length && head === to.length) return [];
  const changed = new Set([...from.slice(head, from.length - tail), ...to.slice(head, to.length - tail)]);
  let start = head;
  while (start > 0 && changed.has(from[start - 1]!)) start--;
  let end = from.length - tail;
  while (end < from.length && changed.has(from[end]!)) end++;
  // The region's new lines: the unchanged lines it widened over, around the side's own change.
  const lines = [...from.slice(start, head), ...to.slice(head, to.length - tail), ...from.slice(from.length - tail, end)];
  return [{ start, end, lines }];
}
