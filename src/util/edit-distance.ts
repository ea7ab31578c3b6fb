// "Did you mean": the candidate closest to a misspelled word, by edit distance.

/**
 * Edits (insert, delete, substitute, swap two neighbours) between a and b: the optimal string
 * alignment distance, which counts `tierNmae` -> `tierName` as one edit.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate `word` most likely misspells, or null when none is close: case is ignored
 * (`maxrules` means `maxRules`), and at most a third of the word's letters may differ (at least
 * one), so that unrelated short words are not suggested; else a candidate the word begins
 * (`tier` for `tierName`, three letters at least). Ties go to the first candidate.
 */
export function closest(word: string, candidates: readonly string[]): string | null {
  if (word.length > 100) return null;
  const near = closestByEdits(word, candidates);
  if (near !== null || word.length < 3) return near;
  return candidates.find((c) => c !== word && c.toLowerCase().startsWith(word.toLowerCase())) ?? null;
}

function closestByEdits(word: string, candidates: readonly string[]): string | null {
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
