// `--dry-run`: what would change, as one unified diff (git's a/ b/ convention).

import { createTwoFilesPatch } from 'diff';

export function renderDiff(before: ReadonlyMap<string, string>, changes: ReadonlyMap<string, string>): string {
  return [...changes]
    .map(([path, after]) => {
      const old = before.get(path);
      return createTwoFilesPatch(old === undefined ? '/dev/null' : `a/${path}`, `b/${path}`, old ?? '', after, '', '', { context: 3 })
        .split('\n')
        .slice(1) // the "====" separator line
        .join('\n');
    })
    .join('');
}
