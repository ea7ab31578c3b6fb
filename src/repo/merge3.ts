// A three-way merge of text by lines, as git merges a pull request into its base branch: each
// side's changes against the common ancestor are hunks of ancestor lines replaced; hunks of the two
// sides that overlap or touch (no unchanged line between them, two insertions at the same place
// included) conflict unless both sides made the same change. Pure; run/mergeability.ts asks it
// whether a PR still merges cleanly into a default branch that moved since the PR's commit.

interface Hunk {
  /** Ancestor lines [start, end) replaced by `lines`. */
  readonly start: number;
  readonly end: number;
  readonly lines: readonly string[];
}

/** Lines compared beyond this (ancestor × side) are not diffed: the merge counts as conflicting. */
const MAX_CELLS = 4_000_000;

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
  if (a === null || c === null) return { clean: false, text: null };
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
    out.push(...b.slice(at, next.start), ...next.lines);
    at = next.end;
  }
  out.push(...b.slice(at));
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

/** The hunks turning `from` into `to`, from a longest common subsequence of lines. */
function hunks(from: readonly string[], to: readonly string[]): Hunk[] | null {
  // Common head and tail first: edits to policy files and kustomizations are local.
  let head = 0;
  while (head < from.length && head < to.length && from[head] === to[head]) head++;
  let tail = 0;
  while (tail < from.length - head && tail < to.length - head && from[from.length - 1 - tail] === to[to.length - 1 - tail]) tail++;
  const f = from.slice(head, from.length - tail);
  const t = to.slice(head, to.length - tail);
  if ((f.length + 1) * (t.length + 1) > MAX_CELLS) return null;
  const width = t.length + 1;
  const lcs = new Uint32Array((f.length + 1) * width);
  for (let x = f.length - 1; x >= 0; x--) {
    for (let y = t.length - 1; y >= 0; y--) {
      lcs[x * width + y] = f[x] === t[y] ? lcs[(x + 1) * width + y + 1]! + 1 : Math.max(lcs[(x + 1) * width + y]!, lcs[x * width + y + 1]!);
    }
  }
  const out: Hunk[] = [];
  let x = 0;
  let y = 0;
  let open: { start: number; lines: string[] } | null = null;
  const close = () => {
    if (open !== null) out.push({ start: head + open.start, end: head + x, lines: open.lines });
    open = null;
  };
  while (x < f.length || y < t.length) {
    if (x < f.length && y < t.length && f[x] === t[y]) {
      close();
      x++;
      y++;
    } else if (y < t.length && (x >= f.length || lcs[x * width + y + 1]! >= lcs[(x + 1) * width + y]!)) {
      open ??= { start: x, lines: [] };
      open.lines.push(t[y]!);
      y++;
    } else {
      open ??= { start: x, lines: [] };
      x++;
    }
  }
  close();
  return out;
}
