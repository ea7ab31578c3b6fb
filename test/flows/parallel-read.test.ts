// The file source's parallel read (FileFlowSource.aggregate: a plain file split into byte ranges
// at line ends, worker threads each reading one into an aggregator of their own, merged in file
// order) against one thread with the reference parser: the same observations, counts, skip
// reasons and first examples with their line numbers, for generated files of every scenario and
// both bench profiles (damaged lines among them), lines damaged exactly where a range boundary
// falls, hostile lines; and gzip files, inflated on one thread and read in batches of whole lines
// by several (damaged, oversize and hostile lines among the batches). Each test also checks that
// the ranges or batches were read on worker threads, so that a silent fall-back to one thread
// cannot pass for the parallel path.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from '@jest/globals';
import { DEFAULT_CONFIG, type RecommendationConfig } from '../../src/config/recommendation-config.ts';
import { readFlows } from '../../src/flows/read-flows.ts';
import { withChanges } from '../../src/flows/source.ts';
import { FileFlowSource, type FileSourceOptions, READ_THREADS_ENV } from '../../src/flows/sources/file-source.ts';
import { type GenerateOptions, generateFlowEntries, PROFILES } from '../../src/generator/generate.ts';
import { HOSTILE_NAMES } from '../support/hostile-values.ts';
import { withTempDir } from './fixtures.ts';

const END = 1795348800; // 2026-11-22T12:00:00Z

/** Microsegmentation on, so that the per-endpoint observations are compared too. */
const CONFIG: RecommendationConfig = { ...DEFAULT_CONFIG, microsegmentation: { ...DEFAULT_CONFIG.microsegmentation, enabled: true } };

/** A generated file's bytes, damaged lines (not valid UTF-8 ones too) and blank lines included. */
function generatedFile(options: Omit<GenerateOptions, 'endTime'>): Buffer {
  const parts: Buffer[] = [];
  for (const { line } of generateFlowEntries({ endTime: END, ...options }))
    parts.push(typeof line === 'string' ? Buffer.from(line) : line, Buffer.from('\n'));
  return Buffer.concat(parts);
}

/** What readFlows makes of `file` with these options, and how many ranges worker threads read. */
async function reading(file: string, options: FileSourceOptions) {
  const source = await FileFlowSource.open([file], options);
  const flows = await readFlows(source, CONFIG, END);
  return { flows, workerRanges: source.workerRanges, bytesRead: source.bytesRead };
}

/** The parallel read of `file` equals one thread's reference read; returns the ranges read on workers. */
async function expectSameAsOneThread(file: string, options: FileSourceOptions): Promise<number> {
  const reference = await reading(file, { threads: 1, parser: 'reference' });
  expect(reference.workerRanges).toBe(0);
  const parallel = await reading(file, options);
  expect(parallel.flows).toStrictEqual(reference.flows);
  expect(parallel.bytesRead).toBe(reference.bytesRead);
  return parallel.workerRanges;
}

describe('a file read by several threads gives what one thread gives', () => {
  test.each([
    ['multi-namespace', 'compact', 0.05, 2],
    ['multi-namespace', 'full', 0.05, 3],
    ['yaobank', 'full', 0.2, 4],
    ['scale', 'compact', 0.02, 3],
    ['realistic', 'full', 0.01, 2],
  ] as const)('scenario %s, %s records, %d damaged, %d threads', async (scenario, shape, damagedRatio, threads) => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'flows.jsonl');
      const bytes = generatedFile({ scenario, shape, records: 3000, damagedRatio });
      await writeFile(file, bytes);
      const minRangeBytes = Math.floor(bytes.length / (threads + 1));
      for (const parser of ['fast', 'reference'] as const)
        expect(await expectSameAsOneThread(file, { threads, minRangeBytes, parser })).toBe(threads);
    });
  });

  test.each(Object.keys(PROFILES).map((profile) => [profile as keyof typeof PROFILES]))('the bench profile %s', async (profile) => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'flows.jsonl');
      const bytes = generatedFile({ ...PROFILES[profile], records: 4000 });
      await writeFile(file, bytes);
      expect(await expectSameAsOneThread(file, { threads: 2, minRangeBytes: Math.floor(bytes.length / 3) })).toBe(2);
    });
  });

  // Hubble's jsonpb lines among Calico's: recognised per line on every thread (hubble/jsonpb-line.ts).
  test('Hubble lines and Calico lines interleaved, 3 threads', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'mixed.jsonl');
      const calico = generatedFile({ scenario: 'multi-namespace', records: 1500, seed: 1 }).toString('utf8').split('\n');
      const hubble = generatedFile({ scenario: 'multi-namespace', records: 1500, seed: 2, format: 'hubble' }).toString('utf8').split('\n');
      const lines = calico.flatMap((line, i) => [line, hubble[i] ?? '']);
      const bytes = Buffer.from(`${lines.join('\n')}\n`);
      await writeFile(file, bytes);
      expect(await expectSameAsOneThread(file, { threads: 3, minRangeBytes: Math.floor(bytes.length / 4) })).toBe(3);
      const { flows } = await reading(file, { threads: 3, minRangeBytes: Math.floor(bytes.length / 4) });
      expect(flows.skipped.total).toBe(0);
    });
  });

  test('hostile lines on both sides of the boundary', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'hostile.jsonl');
      const valid = generatedFile({ scenario: 'multi-namespace', records: 300 }).toString('utf8').trimEnd().split('\n');
      const o = JSON.parse(valid[0]!) as Record<string, unknown>;
      const hostile = HOSTILE_NAMES.flatMap((name) => [
        JSON.stringify({ ...o, source_namespace: name }),
        JSON.stringify({ ...o, dest_name_aggr: name }),
      ]);
      const text = [...valid, ...hostile, ...valid, ...hostile].join('\n');
      await writeFile(file, text);
      expect(await expectSameAsOneThread(file, { threads: 4, minRangeBytes: Math.floor(text.length / 5) })).toBe(4);
    });
  });
});

describe('a damaged line where a range boundary falls', () => {
  const valid = generatedFile({ scenario: 'multi-namespace', shape: 'full', records: 40 });
  const maxLineBytes = 4096;
  // Each is a line (without its newline) that the split point falls inside.
  const damaged: readonly [string, Buffer][] = [
    ['invalid UTF-8', Buffer.concat([Buffer.from('{"start_time":17953'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"x":1}')])],
    ['truncated JSON', valid.subarray(0, valid.indexOf(10)).subarray(0, 700)],
    ['an oversize line', Buffer.from(`{"pad":"${'x'.repeat(3 * maxLineBytes)}"}`)],
    ['gzip magic bytes at the start of a line', Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.from('not a flow')])],
    ['a CRLF line', Buffer.from(`${valid.subarray(0, valid.indexOf(10)).toString('utf8')}\r`)],
    ['blank lines', Buffer.from('\n\n   \n')],
  ];

  const lineEnds = (bytes: Buffer): number[] => [...bytes.entries()].filter(([, b]) => b === 10).map(([i]) => i + 1);
  const linesOfValid = lineEnds(valid).length;

  /**
   * `valid`, the damaged line, then valid lines: all of `valid` when the split point is to fall
   * inside the damaged line (it ends the first range), or as many as put the split point inside
   * the line before it (it starts the second range).
   */
  function layout(line: Buffer, where: 'ends the first range' | 'starts the second range'): Buffer {
    const head = Buffer.concat([valid, line, Buffer.from('\n')]);
    if (where === 'ends the first range') return Buffer.concat([head, valid]);
    const lastLineStart = lineEnds(valid).at(-2) ?? 0;
    for (const end of [0, ...lineEnds(valid)]) {
      const middle = Math.floor((head.length + end) / 2);
      if (middle >= lastLineStart && middle < valid.length) return Buffer.concat([head, valid.subarray(0, end)]);
    }
    throw new Error('no layout puts the split point in the line before');
  }

  test.each(
    damaged.flatMap(([kind, line]) =>
      (['ends the first range', 'starts the second range'] as const).map((where) => [kind, where, line] as const),
    ),
  )('%s that %s', async (kind, where, line) => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'flows.log');
      const bytes = layout(line, where);
      await writeFile(file, bytes);
      const options = { threads: 2, minRangeBytes: Math.floor(bytes.length / 3), maxLineBytes };
      const reference = await reading(file, { threads: 1, parser: 'reference', maxLineBytes });
      const parallel = await reading(file, options);
      expect(parallel.workerRanges).toBe(2);
      expect(parallel.flows).toStrictEqual(reference.flows);
      // The damaged line is where one thread says it is, whichever thread read it.
      if (kind !== 'blank lines' && kind !== 'a CRLF line')
        expect(parallel.flows.skipped.examples[0]?.location).toBe(`${file}:${linesOfValid + 1}`);
    });
  });

  test('a file without a newline at its end, and ranges of one line', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'flows.jsonl');
      const bytes = valid.subarray(0, valid.length - 1);
      await writeFile(file, bytes);
      // Ranges of a few lines each; the last one ends without a newline.
      const ranges = await expectSameAsOneThread(file, { threads: 12, minRangeBytes: 1 });
      expect(ranges).toBe(12);
    });
  });
});

/** What readFlows makes of `file`, and how many batches of lines worker threads read. */
async function batchesOf(file: string, options: FileSourceOptions) {
  const source = await FileFlowSource.open([file], options);
  const flows = await readFlows(source, CONFIG, END);
  return { flows, workerBatches: source.workerBatches, workerRanges: source.workerRanges, bytesRead: source.bytesRead };
}

describe('a gzip file: inflated on one thread, its lines read by several in batches', () => {
  /** The batched read of a gzip file equals one thread's reference read; returns the batches read on workers. */
  async function expectSameAsOneThreadGzip(file: string, options: FileSourceOptions): Promise<number> {
    const reference = await batchesOf(file, {
      threads: 1,
      parser: 'reference',
      ...(options.maxLineBytes ? { maxLineBytes: options.maxLineBytes } : {}),
    });
    expect(reference.workerBatches).toBe(0);
    const batched = await batchesOf(file, { minRangeBytes: 4, ...options });
    expect(batched.workerRanges).toBe(0);
    expect(batched.flows).toStrictEqual(reference.flows);
    expect(batched.bytesRead).toBe(reference.bytesRead);
    return batched.workerBatches;
  }

  test.each([
    ['multi-namespace', 'full', 0.05, 2],
    ['yaobank', 'full', 0.2, 3],
    ['realistic', 'full', 0.02, 2],
  ] as const)('scenario %s, %s records, %d damaged, %d threads', async (scenario, shape, damagedRatio, threads) => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'flows.jsonl.gz');
      await writeFile(file, gzipSync(generatedFile({ scenario, shape, records: 4000, damagedRatio })));
      // Batches of 1 MB: a few of them.
      for (const parser of ['fast', 'reference'] as const)
        expect(await expectSameAsOneThreadGzip(file, { threads, parser })).toBeGreaterThan(1);
    });
  });

  test('damaged, hostile, blank, CRLF and oversize lines among the batches: the same skips, counted and first examples in line order', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'flows.log.gz');
      const valid = generatedFile({ scenario: 'multi-namespace', shape: 'full', records: 600 }).toString('utf8').trimEnd().split('\n');
      const o = JSON.parse(valid[0]!) as Record<string, unknown>;
      const maxLineBytes = 8192;
      const odd = [
        Buffer.from('{"start_time":17953'),
        Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]),
        Buffer.from(''),
        Buffer.from(`${valid[1]}\r`),
        // Oversize: one within a batch, one longer than a batch (1 MB) spanning batches.
        Buffer.from(`{"pad":"${'x'.repeat(2 * maxLineBytes)}"}`),
        Buffer.from(`{"pad":"${'y'.repeat(3 << 20)}"}`),
        ...HOSTILE_NAMES.map((name) => Buffer.from(JSON.stringify({ ...o, source_namespace: name }))),
        // Well formed, nothing to learn: counted apart (unlearnable).
        Buffer.from(JSON.stringify({ ...o, reporter: 'fwd' })),
        Buffer.from(JSON.stringify({ ...o, proto: 0 })),
      ];
      // The odd lines spread through the valid ones, several times over.
      const lines: Buffer[] = [];
      let next = 0;
      for (let round = 0; round < 3; round++)
        for (const [i, line] of valid.entries()) {
          lines.push(Buffer.from(line));
          if (i % 17 === round) lines.push(odd[next++ % odd.length]!);
        }
      expect(next).toBeGreaterThan(odd.length);
      await writeFile(file, gzipSync(Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]))));
      expect(await expectSameAsOneThreadGzip(file, { threads: 2, maxLineBytes })).toBeGreaterThan(2);
      const { flows } = await batchesOf(file, { threads: 2, minRangeBytes: 4, maxLineBytes });
      expect(flows.skipped.byReason[`oversize line (more than ${maxLineBytes} bytes)`]).toBeGreaterThan(1);
      expect(flows.skipped.examples).toHaveLength(5);
      expect(flows.unlearnable.total).toBeGreaterThan(1);
    });
  });

  test('a file without a newline at its end, of one line, and empty', async () => {
    await withTempDir(async (dir) => {
      for (const [name, text] of [
        ['no-newline.jsonl.gz', generatedFile({ scenario: 'multi-namespace', records: 500 }).toString('utf8').trimEnd()],
        ['one-line.jsonl.gz', generatedFile({ scenario: 'multi-namespace', records: 1 }).toString('utf8')],
        ['empty.jsonl.gz', ''],
      ] as const) {
        const file = join(dir, name);
        await writeFile(file, gzipSync(text));
        expect(await expectSameAsOneThreadGzip(file, { threads: 2 })).toBe(text === '' ? 0 : 1);
      }
    });
  });

  test('corrupt gzip data, found while reader threads read batches, is an error naming the file', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'flows.jsonl.gz');
      const gz = gzipSync(generatedFile({ scenario: 'multi-namespace', shape: 'full', records: 6000 }));
      // Damaged past the first batches: workers are reading when the inflating fails.
      for (let i = Math.floor(gz.length * 0.8); i < gz.length - 8; i += 3) gz[i] = gz[i]! ^ 0x5a;
      await writeFile(file, gz);
      const source = await FileFlowSource.open([file], { threads: 2, minRangeBytes: 4 });
      await expect(readFlows(source, CONFIG, END)).rejects.toThrow(
        new RegExp(`^cannot read ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: corrupt gzip data`),
      );
      expect(source.workerBatches).toBeGreaterThan(0);
    });
  });
});

describe('what is read on one thread', () => {
  test('a gzip file too small to be worth the threads', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'flows.jsonl.gz');
      const gz = gzipSync(generatedFile({ scenario: 'multi-namespace', records: 3000, damagedRatio: 0.05 }));
      await writeFile(file, gz);
      // Read by workers once its compressed size is a quarter of the least range.
      expect((await batchesOf(file, { threads: 2, minRangeBytes: 4 * gz.length + 4 })).workerBatches).toBe(0);
      expect((await batchesOf(file, { threads: 2, minRangeBytes: 4 * gz.length })).workerBatches).toBeGreaterThan(0);
    });
  });

  test(`${READ_THREADS_ENV}=1 keeps every file on one thread`, async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'flows.jsonl');
      const bytes = generatedFile({ scenario: 'multi-namespace', records: 2000 });
      await writeFile(file, bytes);
      const before = process.env[READ_THREADS_ENV];
      process.env[READ_THREADS_ENV] = '1';
      try {
        expect(await expectSameAsOneThread(file, { minRangeBytes: 1024 })).toBe(0);
        process.env[READ_THREADS_ENV] = '3';
        expect(await expectSameAsOneThread(file, { minRangeBytes: 1024 })).toBe(3);
      } finally {
        if (before === undefined) delete process.env[READ_THREADS_ENV];
        else process.env[READ_THREADS_ENV] = before;
      }
    });
  });

  test('a reader of every record (simulate) reads on one thread, with the same results', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'flows.jsonl');
      const bytes = generatedFile({ scenario: 'multi-namespace', records: 2000 });
      await writeFile(file, bytes);
      const source = await FileFlowSource.open([file], { threads: 2, minRangeBytes: 1024 });
      let records = 0;
      const flows = await readFlows(source, CONFIG, END, undefined, () => records++);
      expect(source.workerRanges).toBe(0);
      expect(records).toBe(flows.observations.recordsSeen);
      expect(flows).toStrictEqual((await reading(file, { threads: 1, parser: 'reference' })).flows);
    });
  });

  test('a wrapper that changes how records are read (the App counts them) is not gone round; one that does not keeps the parallel read', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'flows.jsonl');
      const bytes = generatedFile({ scenario: 'multi-namespace', records: 2000 });
      await writeFile(file, bytes);
      const expected = (await reading(file, { threads: 1, parser: 'reference' })).flows;
      const source = await FileFlowSource.open([file], { threads: 2, minRangeBytes: 1024 });
      let counted = 0;
      const counting = withChanges(source, {
        read: (window, onRecord) =>
          source.read(window, (r) => {
            counted++;
            onRecord(r);
          }),
      });
      expect(counting.aggregate).toBeUndefined();
      const flows = await readFlows(counting, CONFIG, END);
      expect(counted).toBe(flows.observations.recordsSeen);
      expect(source.workerRanges).toBe(0);
      expect(flows).toStrictEqual(expected);
      const fresh = await FileFlowSource.open([file], { threads: 2, minRangeBytes: 1024 });
      const described = withChanges(fresh, { description: 'flows' });
      const again = await readFlows(described, CONFIG, END);
      expect(fresh.workerRanges).toBe(2);
      expect({ ...again, source: expected.source }).toStrictEqual(expected);
    });
  });
});
