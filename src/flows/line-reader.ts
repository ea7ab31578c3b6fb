// Splits a byte stream into lines without ever holding more than one line (bounded by
// maxLineBytes) plus one chunk in memory. Lines are checked for valid UTF-8 before decoding, so
// a damaged line is reported instead of being silently mangled into U+FFFD.

import { isUtf8 } from 'node:buffer';

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

export type LineEvent = { line: string; lineNo: number } | { bad: string; lineNo: number };

/**
 * Yields one batch of events per input chunk. Blank lines are dropped silently; a trailing `\r`
 * is removed (CRLF files).
 */
export async function* readLines(
  chunks: AsyncIterable<Buffer>,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<LineEvent[]> {
  let carry: Buffer | null = null;
  let oversize = false;
  let lineNo = 0;

  const take = (bytes: Buffer, out: LineEvent[]): void => {
    lineNo++;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 13) end--;
    if (oversize || end > maxLineBytes) {
      oversize = false;
      out.push({ bad: `oversize line (more than ${maxLineBytes} bytes)`, lineNo });
      return;
    }
    if (end === 0) return;
    const body = end === bytes.length ? bytes : bytes.subarray(0, end);
    if (!isUtf8(body)) {
      out.push({ bad: 'invalid UTF-8', lineNo });
      return;
    }
    const line = body.toString('utf8');
    if (line.trim() === '') return;
    out.push({ line, lineNo });
  };

  for await (const chunk of chunks) {
    const out: LineEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) {
        if (start < chunk.length && !oversize) {
          const rest = chunk.subarray(start);
          carry = carry ? Buffer.concat([carry, rest]) : Buffer.from(rest);
          // Past the limit (and a possible \r) we only need to know the line is too long, not keep it.
          if (carry.length > maxLineBytes + 1) {
            oversize = true;
            carry = null;
          }
        }
        break;
      }
      const piece = chunk.subarray(start, nl);
      const line: Buffer = carry ? Buffer.concat([carry, piece]) : piece;
      carry = null;
      take(line, out);
      start = nl + 1;
    }
    if (out.length > 0) yield out;
  }
  if (carry !== null || oversize) {
    const out: LineEvent[] = [];
    take(carry ?? Buffer.alloc(0), out);
    if (out.length > 0) yield out;
  }
}
