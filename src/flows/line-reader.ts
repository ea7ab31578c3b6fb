// Splits a byte stream into lines without ever holding more than one line (bounded by
// maxLineBytes) plus one chunk in memory. Text is checked for valid UTF-8 before decoding, so a
// damaged line is reported instead of being silently mangled into U+FFFD. The common case, a
// chunk of valid UTF-8, is checked and decoded once per chunk, not once per line. Lines are
// pushed to a sink as they are found, so whatever the sink makes of them dies young (cheap GC).

import { isUtf8 } from 'node:buffer';

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

export interface LineSink {
  line(text: string, lineNo: number): void;
  /** A line that could not be read: its reason and number. */
  bad(reason: string, lineNo: number): void;
}

/**
 * Reads every line into the sink. Blank lines are dropped silently (but counted in line
 * numbers); a trailing `\r` is removed (CRLF files). Resolves with the number of lines, blank
 * ones included (what the line numbers of a following part of the same file start after).
 */
export async function readLines(chunks: AsyncIterable<Buffer>, sink: LineSink, maxLineBytes = DEFAULT_MAX_LINE_BYTES): Promise<number> {
  const oversize = `oversize line (more than ${maxLineBytes} bytes)`;
  let carry: Buffer | null = null;
  /** The current line is already known to be too long and is being skipped. */
  let skipping = false;
  let lineNo = 0;

  const takeText = (text: string): void => {
    lineNo++;
    const line = text.endsWith('\r') ? text.slice(0, -1) : text;
    // UTF-8 needs at most 3 bytes per UTF-16 unit: count bytes only when it could matter.
    if (line.length > maxLineBytes || (line.length * 3 > maxLineBytes && Buffer.byteLength(line) > maxLineBytes)) {
      sink.bad(oversize, lineNo);
    } else if (line.trim() !== '') sink.line(line, lineNo);
  };

  const takeBytes = (bytes: Buffer): void => {
    if (isUtf8(bytes)) takeText(bytes.toString('utf8'));
    else sink.bad(bytes.length > maxLineBytes + 1 ? oversize : 'invalid UTF-8', ++lineNo);
  };

  for await (const chunk of chunks) {
    let start = 0;
    if (skipping) {
      const nl = chunk.indexOf(10);
      if (nl === -1) continue;
      sink.bad(oversize, ++lineNo);
      skipping = false;
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last >= start && carry !== null) {
      // Finish the line the previous chunk started; only that line is copied.
      const nl = chunk.indexOf(10, start);
      takeBytes(Buffer.concat([carry, chunk.subarray(start, nl)]));
      carry = null;
      start = nl + 1;
    }
    if (last >= start) {
      const region = chunk.subarray(start, last);
      if (isUtf8(region)) {
        const text = region.toString('utf8');
        for (let from = 0; ; ) {
          const nl = text.indexOf('\n', from);
          takeText(nl === -1 ? text.slice(from) : text.slice(from, nl));
          if (nl === -1) break;
          from = nl + 1;
        }
      } else {
        for (let from = 0; ; ) {
          const nl = region.indexOf(10, from);
          takeBytes(nl === -1 ? region.subarray(from) : region.subarray(from, nl));
          if (nl === -1) break;
          from = nl + 1;
        }
      }
      start = last + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      carry = carry ? Buffer.concat([carry, rest]) : Buffer.from(rest);
      // Past the limit (plus a possible \r) we only need to know the line is too long.
      if (carry.length > maxLineBytes + 1) {
        carry = null;
        skipping = true;
      }
    }
  }
  if (skipping) sink.bad(oversize, ++lineNo);
  else if (carry !== null) takeBytes(carry);
  return lineNo;
}
