import { isUtf8 } from 'node:buffer';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import {
  DECODE_BYTES,
  DEFAULT_MAX_LINE_BYTES,
  LineBatcher,
  oversizeReason,
  readFileChunks,
  readLines,
} from '../../src/flows/line-reader.ts';
import { chunked, withTempDir } from './fixtures.ts';

type LineEvent = { line: string; lineNo: number } | { bad: string; lineNo: number };

async function* of(...chunks: (string | Buffer)[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
}

async function read(chunks: AsyncIterable<Buffer>, max?: number): Promise<LineEvent[]> {
  const events: LineEvent[] = [];
  await readLines(
    chunks,
    { line: (line, lineNo) => events.push({ line, lineNo }), bad: (bad, lineNo) => events.push({ bad, lineNo }) },
    max,
  );
  return events;
}
const oversize = (max: number, lineNo: number): LineEvent => ({ bad: `oversize line (more than ${max} bytes)`, lineNo });

describe('line splitting', () => {
  test('LF lines, one chunk', async () => {
    expect(await read(of('a\nbb\nccc\n'))).toEqual([
      { line: 'a', lineNo: 1 },
      { line: 'bb', lineNo: 2 },
      { line: 'ccc', lineNo: 3 },
    ]);
  });

  test('CRLF lines: the \\r is removed, also when it ends a chunk', async () => {
    expect(await read(of('a\r\nbb\r', '\nccc\r\n'))).toEqual([
      { line: 'a', lineNo: 1 },
      { line: 'bb', lineNo: 2 },
      { line: 'ccc', lineNo: 3 },
    ]);
    // Only one trailing \r goes; an inner \r stays.
    expect(await read(of('x\ry\r\r\n'))).toEqual([{ line: 'x\ry\r', lineNo: 1 }]);
  });

  test('blank and whitespace-only lines are dropped but still counted', async () => {
    expect(await read(of('\n\na\n\r\n   \n\t\r\nb\n\n'))).toEqual([
      { line: 'a', lineNo: 3 },
      { line: 'b', lineNo: 7 },
    ]);
  });

  test('the last line without a newline is read', async () => {
    expect(await read(of('a\nlast'))).toEqual([
      { line: 'a', lineNo: 1 },
      { line: 'last', lineNo: 2 },
    ]);
    expect(await read(of('a\nla', 's', 't'))).toEqual([
      { line: 'a', lineNo: 1 },
      { line: 'last', lineNo: 2 },
    ]);
    expect(await read(of('only\r'))).toEqual([{ line: 'only', lineNo: 1 }]);
  });

  test('empty input, empty chunks, and nothing but newlines give nothing', async () => {
    expect(await read(of())).toEqual([]);
    expect(await read(of('', Buffer.alloc(0), ''))).toEqual([]);
    expect(await read(of('\n\n\r\n'))).toEqual([]);
  });

  test('a line split over many chunks, and empty chunks in between', async () => {
    expect(await read(of('{"a"', '', ':', '1}', '\n{"b":2}\n'))).toEqual([
      { line: '{"a":1}', lineNo: 1 },
      { line: '{"b":2}', lineNo: 2 },
    ]);
  });

  test('one byte per chunk gives the same lines as one chunk', async () => {
    const text = Buffer.from('first\r\n\nsecond €\n  \nthird 😀 line\nlast');
    const whole = await read(of(text));
    expect(whole).toEqual([
      { line: 'first', lineNo: 1 },
      { line: 'second €', lineNo: 3 },
      { line: 'third 😀 line', lineNo: 5 },
      { line: 'last', lineNo: 6 },
    ]);
    expect(await read(chunked(text, [1]))).toEqual(whole);
    expect(await read(chunked(text, [3, 7, 2]))).toEqual(whole);
  });

  test('lines reach the sink as soon as their chunk completes them', async () => {
    const seen: string[] = [];
    async function* chunks(): AsyncGenerator<Buffer> {
      yield Buffer.from('a\nb\nc');
      seen.push('after chunk 1');
      yield Buffer.from('c\n');
      seen.push('after chunk 2');
      yield Buffer.from('dd');
      yield Buffer.from('d\ne\n');
      seen.push('after chunk 4');
    }
    await readLines(chunks(), { line: (line) => seen.push(line), bad: (reason) => seen.push(reason) });
    expect(seen).toEqual(['a', 'b', 'after chunk 1', 'cc', 'after chunk 2', 'ddd', 'e', 'after chunk 4']);
  });
});

describe('UTF-8', () => {
  test('a multi-byte character split across two chunks decodes correctly', async () => {
    const euro = Buffer.from('€'); // e2 82 ac
    expect(euro).toHaveLength(3);
    expect(
      await read(of(Buffer.concat([Buffer.from('price '), euro.subarray(0, 2)]), Buffer.concat([euro.subarray(2), Buffer.from(' 5\n')]))),
    ).toEqual([{ line: 'price € 5', lineNo: 1 }]);
  });

  test('a four-byte character split over three chunks decodes correctly', async () => {
    const smile = Buffer.from('😀');
    expect(smile).toHaveLength(4);
    expect(
      await read(
        of(Buffer.from('{"n":"'), smile.subarray(0, 1), smile.subarray(1, 3), Buffer.concat([smile.subarray(3), Buffer.from('"}')])),
      ),
    ).toEqual([{ line: '{"n":"😀"}', lineNo: 1 }]);
  });

  test.each<[string, number[]]>([
    ['lone 0xff', [0xff]],
    ['bad continuation', [0xc3, 0x28]],
    ['surrogate half', [0xed, 0xa0, 0x80]],
    ['truncated sequence', [0xe2, 0x82]],
    ['overlong encoding', [0xc0, 0xaf]],
  ])('invalid UTF-8 (%s) is reported with its line number, never decoded', async (_name, bytes) => {
    const damaged = Buffer.concat([Buffer.from('{"source_name_aggr":"'), Buffer.from(bytes), Buffer.from('x"}')]);
    const input = Buffer.concat([Buffer.from('ok1\n\n'), damaged, Buffer.from('\nok2\n')]);
    const expected: LineEvent[] = [
      { line: 'ok1', lineNo: 1 },
      { bad: 'invalid UTF-8', lineNo: 3 },
      { line: 'ok2', lineNo: 4 },
    ];
    expect(await read(of(input))).toEqual(expected);
    expect(await read(chunked(input, [1]))).toEqual(expected);
  });

  test('a truncated multi-byte character at the end of the input is invalid UTF-8', async () => {
    expect(await read(of(Buffer.from('ok\nabc'), Buffer.from([0xe2, 0x82])))).toEqual([
      { line: 'ok', lineNo: 1 },
      { bad: 'invalid UTF-8', lineNo: 2 },
    ]);
  });
});

describe('oversize lines', () => {
  const MAX = 100;

  test('the default limit is 64 KiB', () => {
    expect(DEFAULT_MAX_LINE_BYTES).toBe(64 * 1024);
  });

  test('a line of exactly maxLineBytes is read; one byte more is oversize', async () => {
    const exact = 'x'.repeat(MAX);
    expect(await read(of(`${exact}\n`), MAX)).toEqual([{ line: exact, lineNo: 1 }]);
    expect(await read(chunked(Buffer.from(`${exact}\n`), [7]), MAX)).toEqual([{ line: exact, lineNo: 1 }]);
    expect(await read(of(`${exact}y\nnext\n`), MAX)).toEqual([oversize(MAX, 1), { line: 'next', lineNo: 2 }]);
    expect(await read(chunked(Buffer.from(`${exact}y\nnext\n`), [7]), MAX)).toEqual([oversize(MAX, 1), { line: 'next', lineNo: 2 }]);
  });

  test('an oversize line spread over many chunks is reported once; the next line is read correctly', async () => {
    const input = Buffer.from(`before\n${'z'.repeat(MAX * 10)}\n{"after":true}\n\nlast\n`);
    for (const sizes of [[13], [1], [MAX - 1], [MAX + 1], [3, MAX * 5]]) {
      expect(await read(chunked(input, sizes), MAX)).toEqual([
        { line: 'before', lineNo: 1 },
        oversize(MAX, 2),
        { line: '{"after":true}', lineNo: 3 },
        { line: 'last', lineNo: 5 },
      ]);
    }
  });

  test('the tail of an oversize line in the same chunk as the next line does not leak into it', async () => {
    const events = await read(of('a'.repeat(60), 'b'.repeat(60), `${'c'.repeat(60)}\nnext\n`), MAX);
    expect(events).toEqual([oversize(MAX, 1), { line: 'next', lineNo: 2 }]);
  });

  test('an oversize line at EOF (no newline) is reported once with its line number', async () => {
    const input = Buffer.from(`one\ntwo\n${'q'.repeat(MAX * 7 + 3)}`);
    for (const sizes of [[1], [10], [MAX], [input.length]]) {
      expect(await read(chunked(input, sizes), MAX)).toEqual([{ line: 'one', lineNo: 1 }, { line: 'two', lineNo: 2 }, oversize(MAX, 3)]);
    }
  });

  test('two oversize lines in a row each get their own report', async () => {
    const input = Buffer.from(`${'a'.repeat(250)}\n${'b'.repeat(250)}\nok\n`);
    expect(await read(chunked(input, [33]), MAX)).toEqual([oversize(MAX, 1), oversize(MAX, 2), { line: 'ok', lineNo: 3 }]);
  });

  test('a 50 MB line streamed in 64 KB chunks is reported without being held in memory', async () => {
    const CHUNK = 64 * 1024;
    const TOTAL = 50 * 1024 * 1024;
    const block = Buffer.alloc(CHUNK, 0x61);
    let baseline = 0;
    let peak = 0;
    let sent = 0;
    async function* huge(): AsyncGenerator<Buffer> {
      yield Buffer.from('{"first":1}\n');
      baseline = process.memoryUsage().arrayBuffers;
      while (sent < TOTAL) {
        // The reader must copy what it keeps: the same block is reused for every chunk.
        yield block;
        sent += CHUNK;
        if ((sent / CHUNK) % 16 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      }
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      yield Buffer.from('\n{"after":2}\n');
    }
    const events = await read(huge());
    expect(sent).toBe(TOTAL);
    expect(events).toEqual([{ line: '{"first":1}', lineNo: 1 }, oversize(DEFAULT_MAX_LINE_BYTES, 2), { line: '{"after":2}', lineNo: 3 }]);
    // Holding the line would add 50 MB; the reader may keep about one line cap plus a chunk.
    expect(peak - baseline).toBeLessThan(8 * 1024 * 1024);
  });
});

describe('large chunks are decoded DECODE_BYTES of whole lines at a time', () => {
  /** Lines of every kind, about 600 KB: short and long ones, multi-byte characters, CRLF, blanks, invalid UTF-8, one longer than DECODE_BYTES. */
  function mixedLines(): Buffer {
    const parts: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      if (i % 97 === 0) parts.push(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
      else if (i % 89 === 0) parts.push(Buffer.from(''));
      else if (i === 1500) parts.push(Buffer.from(`{"long":"${'€'.repeat(DECODE_BYTES / 2)}"}`));
      else parts.push(Buffer.from(`{"n":${i},"text":"${'ab😀c€'.repeat(i % 50)}"}${i % 7 === 0 ? '\r' : ''}`));
      parts.push(Buffer.from('\n'));
    }
    return Buffer.concat(parts);
  }

  /** The lines as a byte-by-byte reading gives them: split at every \n, each decoded alone. */
  function expected(data: Buffer, max: number): LineEvent[] {
    const events: LineEvent[] = [];
    let from = 0;
    for (let lineNo = 1; from < data.length; lineNo++) {
      const nl = data.indexOf(10, from);
      const bytes = data.subarray(from, nl === -1 ? data.length : nl);
      from = nl === -1 ? data.length : nl + 1;
      const text = bytes.toString('utf8').replace(/\r$/, '');
      if (!isUtf8(bytes)) events.push({ bad: 'invalid UTF-8', lineNo });
      else if (Buffer.byteLength(text) > max) events.push(oversize(max, lineNo));
      else if (text.trim() !== '') events.push({ line: text, lineNo });
    }
    return events;
  }

  test('one large chunk, and chunks of other sizes, give every line as a byte-by-byte reading does', async () => {
    const data = mixedLines();
    expect(data.length).toBeGreaterThan(8 * DECODE_BYTES);
    const max = 4 * DECODE_BYTES;
    const want = expected(data, max);
    expect(want.some((e) => 'bad' in e)).toBe(true);
    expect(want.some((e) => 'line' in e && e.line.length > DECODE_BYTES / 2)).toBe(true);
    expect(await read(of(data), max)).toEqual(want);
    expect(await read(chunked(data, [DECODE_BYTES + 1, 3 * DECODE_BYTES, 1000]), max)).toEqual(want);
  });

  test('readFileChunks: a file and byte ranges of it, read into two reused buffers, give the same lines', async () => {
    const data = mixedLines();
    await withTempDir(async (dir) => {
      const file = join(dir, 'lines.jsonl');
      await writeFile(file, data);
      const max = 4 * DECODE_BYTES;
      // A small buffer: most lines span chunks, so the unfinished line must be copied before the buffer is reused.
      expect(await read(readFileChunks(file, 0, Number.POSITIVE_INFINITY, 4096), max)).toEqual(expected(data, max));
      const cut = data.indexOf(10, data.length >> 1) + 1;
      const chunks: Buffer[] = [];
      for await (const chunk of readFileChunks(file, cut, data.length - 5, 1000)) chunks.push(Buffer.from(chunk));
      expect(Buffer.concat(chunks)).toEqual(data.subarray(cut, data.length - 5));
    });
  });

  // Files under /proc report size 0 and read short mid-file: a short read is not the end.
  (existsSync('/proc/self/smaps') ? test : test.skip)(
    'readFileChunks reads a file that reads short to its end (/proc/self/smaps)',
    async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of readFileChunks('/proc/self/smaps', 0, Number.POSITIVE_INFINITY, 1 << 20)) chunks.push(Buffer.from(chunk));
      const text = Buffer.concat(chunks).toString('utf8');
      // Each mapping's entry starts with its address range and ends with its VmFlags line.
      const mappings = text.split('\n').filter((line) => /^[0-9a-f]+-[0-9a-f]+ /.test(line)).length;
      expect(chunks.length).toBeGreaterThan(1);
      expect(mappings).toBeGreaterThan(10);
      expect(text.split('\n').filter((line) => line.startsWith('VmFlags:')).length).toBe(mappings);
      expect(text.endsWith('\n')).toBe(true);
    },
  );

  test('readFileChunks reads the next chunk ahead, never into the chunk the caller holds; stopping early closes the file', async () => {
    const data = mixedLines();
    await withTempDir(async (dir) => {
      const file = join(dir, 'lines.jsonl');
      await writeFile(file, data);
      const seen: Buffer[] = [];
      for await (const chunk of readFileChunks(file, 0, Number.POSITIVE_INFINITY, 1000)) {
        const copy = Buffer.from(chunk);
        // Time for the read ahead to land: it must land in the other buffer.
        await new Promise((resolve) => setTimeout(resolve, 2));
        expect(chunk.equals(copy)).toBe(true);
        seen.push(copy);
      }
      expect(Buffer.concat(seen)).toEqual(data);
      // A reader that stops after one chunk: the read under way ends before the file is closed, and nothing throws.
      for await (const chunk of readFileChunks(file, 0, Number.POSITIVE_INFINITY, 1000)) {
        expect(chunk.length).toBe(1000);
        break;
      }
      // A range that ends inside a chunk, and an empty one.
      const parts: Buffer[] = [];
      for await (const chunk of readFileChunks(file, 10, 2510, 1000)) parts.push(Buffer.from(chunk));
      expect(parts.map((p) => p.length)).toEqual([1000, 1000, 500]);
      expect(Buffer.concat(parts)).toEqual(data.subarray(10, 2510));
      for await (const _ of readFileChunks(file, 50, 50, 1000)) throw new Error('an empty range has no chunks');
    });
  });
});

describe('LineBatcher: batches of whole lines that readLines reads as it reads the whole stream', () => {
  type Event = readonly [kind: 'line' | 'bad', text: string, lineNo: number];

  async function whole(chunks: readonly Buffer[], maxLineBytes: number): Promise<{ events: Event[]; lines: number }> {
    const events: Event[] = [];
    const lines = await readLines(
      (async function* () {
        yield* chunks;
      })(),
      { line: (text, n) => void events.push(['line', text, n]), bad: (reason, n) => void events.push(['bad', reason, n]) },
      maxLineBytes,
    );
    return { events, lines };
  }

  /** Each batch through readLines of its own, its line numbers offset; oversize lines as readLines says them. */
  async function batched(chunks: readonly Buffer[], batchBytes: number, maxLineBytes: number): Promise<{ events: Event[]; lines: number }> {
    const batcher = new LineBatcher(batchBytes, maxLineBytes);
    const batches = [...chunks.flatMap((c) => batcher.push(Buffer.from(c))), ...batcher.end()];
    const events: Event[] = [];
    let lines = 0;
    for (const batch of batches) {
      if (batch.kind === 'oversize') {
        events.push(['bad', oversizeReason(maxLineBytes), batch.lineNo]);
        lines = batch.lineNo;
        continue;
      }
      // Whole lines only, in a memory of its own.
      expect(batch.bytes.byteOffset).toBe(0);
      expect(batch.bytes.buffer.byteLength).toBe(batch.bytes.length);
      expect(batch.firstLine).toBe(lines + 1);
      const offset = batch.firstLine - 1;
      const counted = await readLines(
        (async function* () {
          yield batch.bytes;
        })(),
        {
          line: (text, n) => void events.push(['line', text, n + offset]),
          bad: (reason, n) => void events.push(['bad', reason, n + offset]),
        },
        maxLineBytes,
      );
      expect(counted).toBe(batch.lines);
      lines = offset + counted;
    }
    return { events, lines };
  }

  const piece = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom('', ' ', '\r', '{"a":1}\r', 'é€😀', 'x'.repeat(40), 'y'.repeat(70)),
    fc.uint8Array({ minLength: 1, maxLength: 6 }).map((b) => Buffer.from(b).toString('latin1')),
  );

  test('any text, lines of any length, cut into any chunks and batches', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(piece, fc.boolean()), { maxLength: 30 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 8, max: 64 }),
        async (lines, newlineAtEnd, cuts, batchBytes, maxLineBytes) => {
          // Some pieces are raw bytes (invalid UTF-8 among them), the rest UTF-8 text.
          const text = Buffer.concat(
            lines.map(([p, raw], i) =>
              Buffer.concat([
                raw ? Buffer.from(p, 'latin1') : Buffer.from(p),
                Buffer.from(i < lines.length - 1 || newlineAtEnd ? '\n' : ''),
              ]),
            ),
          );
          const chunks: Buffer[] = [];
          for (let at = 0, i = 0; at < text.length; i++) {
            const size = cuts[i % cuts.length]!;
            chunks.push(text.subarray(at, at + size));
            at += size;
          }
          expect(await batched(chunks, batchBytes, maxLineBytes)).toEqual(await whole(chunks, maxLineBytes));
        },
      ),
      { numRuns: 1500 },
    );
  });

  test('a line of exactly maxLineBytes and a \\r, split over chunks, is read (one byte more is oversize)', async () => {
    for (const line of ['0123456789\r', '0123456789ab']) {
      const chunks = [Buffer.from('{}\n012'), Buffer.from(line.slice(3)), Buffer.from('\n{}')];
      const read = await batched(chunks, 4, 10);
      expect(read).toEqual(await whole(chunks, 10));
      expect(read.events[1]![0]).toBe(line.endsWith('\r') ? 'line' : 'bad');
    }
  });

  test('a line longer than any batch is never held whole: it is said to be oversize where it ends', () => {
    const batcher = new LineBatcher(1024, 100);
    const out = [
      ...batcher.push(Buffer.from('{"a":1}\nbegin')),
      ...Array.from({ length: 1000 }, () => batcher.push(Buffer.alloc(1 << 20, 120))).flat(),
    ];
    // The whole line before it went on at once; the long one is dropped as it comes.
    expect(out).toEqual([{ kind: 'lines', bytes: Buffer.from('{"a":1}\n'), firstLine: 1, lines: 1 }]);
    expect([...batcher.push(Buffer.from('end\n{"b":2}')), ...batcher.end()]).toEqual([
      { kind: 'oversize', lineNo: 2 },
      { kind: 'lines', bytes: Buffer.from('{"b":2}'), firstLine: 3, lines: 1 },
    ]);
  });
});
