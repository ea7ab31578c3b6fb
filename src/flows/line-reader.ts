// Splits a byte stream into lines without ever holding more than one line (bounded by
// maxLineBytes) plus one chunk in memory. Text is checked for valid UTF-8 before decoding, so a
// damaged line is reported instead of being silently mangled into U+FFFD. The common case, a
// chunk of valid UTF-8, is checked and decoded once per chunk, not once per line. Lines are
// pushed to a sink as they are found, so whatever the sink makes of them dies young (cheap GC).

import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;
/**
 * Bytes decoded into one string at most (whole lines; a longer line is decoded alone). Node makes
 * a string of about 1 MB or more an external one, outside the heap's young generation: a reader
 * allocates so little between collections that hundreds of dead ones (and their MB) pile up
 * before the collector frees them. Smaller strings live and die in the young generation.
 */
export const DECODE_BYTES = 64 * 1024;
/** The read size of readFileChunks. */
export const READ_CHUNK = 1 << 20;

/** Why a line longer than the limit is skipped. */
export function oversizeReason(maxLineBytes: number): string {
  return `oversize line (more than ${maxLineBytes} bytes)`;
}

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
export async function readLines(
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  sink: LineSink,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): Promise<number> {
  const oversize = oversizeReason(maxLineBytes);
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

  /** Whole lines without their last line end. */
  const takeRegion = (region: Buffer): void => {
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
    // Whole lines, DECODE_BYTES at a time (or one longer line): each piece ends at a line end.
    while (start <= last) {
      const end = last - start <= DECODE_BYTES ? last : nextLineEnd(chunk, start + DECODE_BYTES, last);
      takeRegion(chunk.subarray(start, end));
      start = end + 1;
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

/** The first line end at or after `from` (at most `last`, itself a line end). */
function nextLineEnd(chunk: Buffer, from: number, last: number): number {
  const nl = chunk.indexOf(10, from);
  return nl === -1 || nl > last ? last : nl;
}

/**
 * The bytes [start, end) of a file (to its end by default), in chunks of up to `chunkBytes` read
 * into two buffers reused in turn: a Buffer per read, like a read stream's, is freed only when the
 * collector next runs, and a reader on the fast path allocates so little between collections that
 * hundreds of MB of them pile up. The next chunk is read (on libuv's thread pool) while the caller
 * parses this one, as a read stream reads ahead; a read into a buffer starts only when the caller
 * asks for the chunk after the one that buffer held, so a chunk is valid until the next one is
 * asked for: readLines keeps nothing of a chunk (it copies the unfinished line it carries over).
 * A short read is not taken for the end (files under /proc and some mounts read short mid-file):
 * the file ends where a read returns nothing, or at `end`.
 */
export async function* readFileChunks(
  path: string,
  start = 0,
  end = Number.POSITIVE_INFINITY,
  chunkBytes = READ_CHUNK,
): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r');
  let pending: { readonly at: number; readonly length: number; readonly done: Promise<number> } | null = null;
  try {
    let [buffer, next] = [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)];
    const readInto = (into: Buffer, at: number): typeof pending => {
      if (at >= end) return null;
      const length = Math.min(chunkBytes, end - at);
      const done = handle.read(into, 0, length, at).then(({ bytesRead }) => bytesRead);
      // Read ahead, it may fail before the caller asks for it: that is reported when it does.
      done.catch(() => {});
      return { at, length, done };
    };
    pending = readInto(buffer, start);
    while (pending !== null) {
      const { at, done } = pending;
      pending = null;
      const bytesRead = await done;
      if (bytesRead === 0) break;
      pending = readInto(next, at + bytesRead);
      yield buffer.subarray(0, bytesRead);
      [buffer, next] = [next, buffer];
    }
  } finally {
    // A read still under way must end before its handle closes (the caller stopped early).
    await pending?.done.catch(() => 0);
    await handle.close();
  }
}

/** What LineBatcher hands on: whole lines, or a line too long to keep. */
export type LineBatch =
  /** Whole lines (the last without its line end only at the stream's end), numbered from `firstLine`; `lines` of them. */
  | { readonly kind: 'lines'; readonly bytes: Buffer; readonly firstLine: number; readonly lines: number }
  /** Line `lineNo` is longer than maxLineBytes (+ a `\r`): readLines reports it so (oversizeReason). */
  | { readonly kind: 'oversize'; readonly lineNo: number };

/**
 * Cuts a byte stream into batches of whole lines of about `batchBytes` each, numbered as readLines
 * numbers them, for readers on other threads (a stream that cannot be split by offsets: gzip).
 * readLines over each batch, its line numbers offset by the batch's first, reads what it reads
 * over the whole stream: batches end at line ends, and a line too long for readLines is not
 * copied whole (it could be of any length) but said to be oversize, as readLines would say.
 * Each batch is a copy in memory of its own (it can be handed to another thread).
 */
export class LineBatcher {
  readonly #batchBytes: number;
  readonly #maxLineBytes: number;
  #parts: Buffer[] = [];
  #bytes = 0;
  /** Bytes at the end of #parts after its last line end: the unfinished line. */
  #tail = 0;
  #nextLine = 1;
  #skipping = false;

  constructor(batchBytes: number, maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    this.#batchBytes = batchBytes;
    this.#maxLineBytes = maxLineBytes;
  }

  /**
   * The batches `chunk` completes. The chunk is kept until a batch is cut (copied then): its caller
   * must not reuse it. zlib's output is never reused: each chunk is a slice of its output buffer at
   * an advancing offset, and a full buffer is replaced, not rewritten (nodejs/node lib/zlib.js,
   * processCallback).
   */
  push(chunk: Buffer): LineBatch[] {
    const out: LineBatch[] = [];
    let piece = chunk;
    if (this.#skipping) {
      const nl = chunk.indexOf(10);
      if (nl === -1) return out;
      out.push({ kind: 'oversize', lineNo: this.#nextLine++ });
      this.#skipping = false;
      piece = chunk.subarray(nl + 1);
    }
    if (piece.length === 0) return out;
    const last = piece.lastIndexOf(10);
    this.#tail = last === -1 ? this.#tail + piece.length : piece.length - last - 1;
    this.#parts.push(piece);
    this.#bytes += piece.length;
    // As readLines: an unfinished line past the limit (plus a possible \r) is only known to be too long.
    if (this.#tail > this.#maxLineBytes + 1) {
      this.#cut(this.#bytes - this.#tail, out);
      this.#parts = [];
      this.#bytes = 0;
      this.#tail = 0;
      this.#skipping = true;
    } else if (this.#bytes >= this.#batchBytes) this.#cut(this.#bytes - this.#tail, out);
    return out;
  }

  /** The rest of the stream, once it ended. */
  end(): LineBatch[] {
    const out: LineBatch[] = [];
    if (this.#skipping) out.push({ kind: 'oversize', lineNo: this.#nextLine++ });
    else this.#cut(this.#bytes, out);
    this.#parts = [];
    this.#bytes = 0;
    this.#tail = 0;
    return out;
  }

  /** Hands on the first `bytes` of #parts as a batch (none when 0) and keeps the rest. */
  #cut(bytes: number, out: LineBatch[]): void {
    if (bytes === 0) return;
    // A memory of its own, never the shared pool's: the batch's can be handed to another thread.
    const batch = Buffer.allocUnsafeSlow(bytes);
    let filled = 0;
    let rest: Buffer[] = [];
    for (const [i, part] of this.#parts.entries()) {
      const take = Math.min(part.length, bytes - filled);
      part.copy(batch, filled, 0, take);
      filled += take;
      if (filled === bytes) {
        rest = [...(take < part.length ? [part.subarray(take)] : []), ...this.#parts.slice(i + 1)];
        break;
      }
    }
    let lines = 0;
    for (let at = batch.indexOf(10); at !== -1; at = batch.indexOf(10, at + 1)) lines++;
    if (batch[bytes - 1] !== 10) lines++;
    out.push({ kind: 'lines', bytes: batch, firstLine: this.#nextLine, lines });
    this.#nextLine += lines;
    this.#parts = rest;
    this.#bytes -= bytes;
  }
}
