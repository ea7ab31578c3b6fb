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

/**
 * The lines of a table of `rows`, one at a time: each row's cells are made twice (once for the
 * widths, once for its line) and never all held at once, so a table of a million rows costs the
 * memory of one line. The same lines as formatTable([header, ...rows.map(cells)]).
 */
export function* tableLines<T>(header: readonly string[], rows: readonly T[], cells: (row: T) => readonly string[]): Generator<string> {
  const widths = header.map((h) => h.length);
  for (const row of rows) {
    const line = cells(row);
    for (let i = 0; i < widths.length; i++) if (line[i]!.length > widths[i]!) widths[i] = line[i]!.length;
  }
  const format = (line: readonly string[]): string =>
    line
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  yield format(header);
  for (const row of rows) yield format(cells(row));
}
