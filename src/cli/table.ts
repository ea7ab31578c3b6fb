// Plain-text tables for the CLI: columns padded to their widest cell, two spaces apart.

import { maxOf } from '../util/append.ts';

export function formatTable(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => maxOf(rows.map((row) => row[i]!.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}
