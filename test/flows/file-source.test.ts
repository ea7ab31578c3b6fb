import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from '@jest/globals';
import { DEFAULT_CONFIG } from '../../src/config/recommendation-config.ts';
import { readFlows } from '../../src/flows/read-flows.ts';
import type { FlowRecord } from '../../src/flows/record.ts';
import { FlowSourceError } from '../../src/flows/source.ts';
import { FileFlowSource } from '../../src/flows/sources/file-source.ts';
import { damageKinds, type FlowEntry, type GenerateOptions, generateFlowEntries, writeFlowFile } from '../../src/generator/generate.ts';
import { chunked, exampleAt, readRecords, withTempDir } from './fixtures.ts';

const END = 1795348800; // 2026-11-22T12:00:00Z
const OVERSIZE_64K = 'oversize line (more than 65536 bytes)';

const lines = (...ls: string[]): string => ls.map((l) => `${l}\n`).join('');
const startTimes = (records: readonly FlowRecord[]): number[] => records.map((r) => r.startTime);

async function readAll(
  paths: string[],
  options: Parameters<typeof FileFlowSource.open>[1] = {},
): Promise<{ source: FileFlowSource; records: FlowRecord[] }> {
  const source = await FileFlowSource.open(paths, options);
  const records = await readRecords(source, { from: 0, to: END });
  return { source, records };
}

/** Rejects with a FlowSourceError; returns its message. */
async function flowSourceError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FlowSourceError);
  expect((error as Error).name).toBe('FlowSourceError');
  return (error as Error).message;
}

async function* bytes(...chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield c;
}

/** The reason a reader must give for a generated damaged line, worked out from the line itself. */
function expectedReason(entry: FlowEntry): string {
  const text = typeof entry.line === 'string' ? entry.line : null;
  const json = (): Record<string, unknown> => JSON.parse(text!) as Record<string, unknown>;
  switch (entry.damage) {
    case 'not-json':
    case 'truncated':
      return 'not JSON';
    case 'invalid-utf8':
      return 'invalid UTF-8';
    case 'oversize':
      return OVERSIZE_64K;
    case 'not-object':
      return 'not a JSON object';
    case 'hostile-namespace':
      return 'invalid source_namespace';
    case 'missing-field': {
      const o = json();
      const missing = ['start_time', 'action', 'reporter', 'proto', 'source_type'].filter((f) => !(f in o));
      expect(missing).toHaveLength(1);
      return `missing field ${missing[0]}`;
    }
    case 'wrong-type': {
      const o = json();
      const wrong = [
        typeof o['start_time'] === 'string' && 'start_time',
        typeof o['dest_port'] === 'string' && 'dest_port',
        typeof o['reporter'] === 'number' && 'reporter',
        typeof o['num_flows'] === 'string' && 'num_flows',
        typeof o['source_labels'] === 'string' && 'source_labels',
      ].filter((f): f is string => f !== false);
      expect(wrong).toHaveLength(1);
      return `invalid ${wrong[0]}`;
    }
    case null:
      throw new Error('not a damaged line');
  }
}

interface Truth {
  /** Non-blank lines. */
  readonly inputs: number;
  readonly valid: number;
  readonly byReason: Record<string, number>;
  /** The first five skipped lines: 1-based line number and reason. */
  readonly firstSkipped: { lineNo: number; reason: string }[];
  readonly wrongTypeReasons: Set<string>;
  readonly missingFieldReasons: Set<string>;
}

function groundTruth(opts: GenerateOptions): Truth {
  const byReason: Record<string, number> = {};
  const firstSkipped: { lineNo: number; reason: string }[] = [];
  const wrongTypeReasons = new Set<string>();
  const missingFieldReasons = new Set<string>();
  let inputs = 0;
  let valid = 0;
  let lineNo = 0;
  for (const entry of generateFlowEntries(opts)) {
    lineNo++;
    if (entry.line.length === 0) continue;
    inputs++;
    if (entry.damage === null) {
      valid++;
      continue;
    }
    const reason = expectedReason(entry);
    if (entry.damage === 'wrong-type') wrongTypeReasons.add(reason);
    if (entry.damage === 'missing-field') missingFieldReasons.add(reason);
    byReason[reason] = (byReason[reason] ?? 0) + 1;
    if (firstSkipped.length < 5) firstSkipped.push({ lineNo, reason });
  }
  return { inputs, valid, byReason, firstSkipped, wrongTypeReasons, missingFieldReasons };
}

describe('FileFlowSource', () => {
  test('a single file: records in order, counts, description', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'flows.log');
      await writeFile(file, lines(exampleAt(1000), exampleAt(2000), '', exampleAt(3000)));
      const { source, records } = await readAll([file]);
      expect(startTimes(records)).toEqual([1000, 2000, 3000]);
      expect(records[0]!.source.name).toBe('access-6b687c8dcb-*');
      expect(source.inputsRead).toBe(3);
      expect(source.skipped.summary()).toEqual({ total: 0, byReason: {}, examples: [] });
      expect(source.description).toBe(`1 file (${file})`);
      expect(source.files).toEqual([file]);
    }));

  test('an empty file and a file of blank lines yield nothing', () =>
    withTempDir(async (dir) => {
      await writeFile(join(dir, 'empty.log'), '');
      await writeFile(join(dir, 'blank.log'), '\n\r\n  \n');
      const { source, records } = await readAll([join(dir, 'empty.log'), join(dir, 'blank.log')]);
      expect(records).toEqual([]);
      expect(source.inputsRead).toBe(0);
      expect(source.skipped.total).toBe(0);
    }));

  test('a directory is read recursively: *.log, *.json, *.jsonl and .gz forms only, in sorted order', () =>
    withTempDir(async (dir) => {
      // [relative path, start time of its one record]; written in reverse so creation order is not sorted order.
      const included: [string, number][] = [
        ['a.json', 1],
        ['a.jsonl', 2],
        ['b.log', 3],
        ['dir.log/inner.log', 4],
        ['sub/c.json.gz', 5],
        ['sub/deeper/d.jsonl.gz', 6],
        ['sub/e.log', 7],
        ['z.log.gz', 8],
      ];
      const excluded: [string, number][] = [
        ['notes.txt', 101],
        ['cfg.yaml', 102],
        ['flows.log.txt', 103],
        ['flows.log.bak', 104],
        ['archive.gz', 105],
        ['notes.txt.gz', 106],
        ['sub/values.yaml', 107],
        ['sub/README', 108],
        ['FLOWS.LOG', 109],
        ['flows.log.gz.part', 110],
      ];
      for (const [rel, start] of [...included, ...excluded].reverse()) {
        const path = join(dir, rel);
        await mkdir(join(path, '..'), { recursive: true });
        const text = lines(exampleAt(start));
        await writeFile(path, rel.endsWith('.gz') ? gzipSync(text) : text);
      }
      const { source, records } = await readAll([dir]);
      expect(startTimes(records)).toEqual(included.map(([, start]) => start));
      expect(source.files).toEqual(included.map(([rel]) => join(dir, rel)));
      expect(source.inputsRead).toBe(included.length);
      expect(source.skipped.total).toBe(0);
      expect(source.description).toBe(`8 files (${join(dir, 'a.json')}, ${join(dir, 'a.jsonl')}, ${join(dir, 'b.log')}, and 5 more)`);
    }));

  test('several paths are read in the order given; a symlinked flow file in a directory is followed', () =>
    withTempDir(async (dir) => {
      await mkdir(join(dir, 'logs'));
      await writeFile(join(dir, 'late.log'), lines(exampleAt(30)));
      await writeFile(join(dir, 'logs', 'b.log'), lines(exampleAt(20)));
      await writeFile(join(dir, 'target.data'), lines(exampleAt(10)));
      await symlink(join(dir, 'target.data'), join(dir, 'logs', 'a.log'));
      const { records } = await readAll([join(dir, 'late.log'), join(dir, 'logs')]);
      expect(startTimes(records)).toEqual([30, 10, 20]);
    }));

  test('gzip is detected by its magic bytes, whatever the name', () =>
    withTempDir(async (dir) => {
      const text = lines(exampleAt(1), exampleAt(2));
      await writeFile(join(dir, 'misnamed.log'), gzipSync(text));
      await writeFile(join(dir, 'plain.log.gz'), text);
      const misnamed = await readAll([join(dir, 'misnamed.log')]);
      expect(startTimes(misnamed.records)).toEqual([1, 2]);
      expect(misnamed.source.skipped.total).toBe(0);
      const plain = await readAll([join(dir, 'plain.log.gz')]);
      expect(startTimes(plain.records)).toEqual([1, 2]);
    }));

  test('a large gzipped file (many decompressed chunks) loses no line', () =>
    withTempDir(async (dir) => {
      const n = 20_000;
      const text = Array.from({ length: n }, (_, i) => `${exampleAt(i)}\n`).join('');
      await writeFile(join(dir, 'big.jsonl.gz'), gzipSync(text));
      const { source, records } = await readAll([join(dir, 'big.jsonl.gz')]);
      expect(records.length).toBe(n);
      expect(startTimes(records).every((t, i) => t === i)).toBe(true);
      expect(source.inputsRead).toBe(n);
    }));

  describe('stdin', () => {
    const text = lines(exampleAt(7), 'garbage', exampleAt(8));

    test('`-` reads the stdin option, skip locations say <stdin>', async () => {
      const { source, records } = await readAll(['-'], { stdin: chunked(Buffer.from(text), [50]) });
      expect(startTimes(records)).toEqual([7, 8]);
      expect(source.inputsRead).toBe(3);
      expect(source.skipped.summary()).toEqual({
        total: 1,
        byReason: { 'not JSON': 1 },
        examples: [{ location: '<stdin>:2', reason: 'not JSON' }],
      });
      expect(source.description).toBe('1 file (<stdin>)');
    });

    test('gzipped stdin', async () => {
      const gz = gzipSync(text);
      const { source, records } = await readAll(['-'], { stdin: chunked(gz, [gz.length]) });
      expect(startTimes(records)).toEqual([7, 8]);
      expect(source.skipped.summary().examples).toEqual([{ location: '<stdin>:2', reason: 'not JSON' }]);
    });

    test('gzipped stdin in small chunks', async () => {
      const gz = gzipSync(text);
      const { records } = await readAll(['-'], { stdin: chunked(gz, [16]) });
      expect(startTimes(records)).toEqual([7, 8]);
    });

    test('gzipped stdin whose first chunk holds a single byte is still recognised', async () => {
      const gz = gzipSync(text);
      const { records } = await readAll(['-'], { stdin: chunked(gz, [1]) });
      expect(startTimes(records)).toEqual([7, 8]);
    });

    test('stdin together with files, in the order given', () =>
      withTempDir(async (dir) => {
        await writeFile(join(dir, 'a.log'), lines(exampleAt(1)));
        await writeFile(join(dir, 'b.log'), lines(exampleAt(2)));
        const { source, records } = await readAll([join(dir, 'a.log'), '-', join(dir, 'b.log')], { stdin: bytes(Buffer.from(text)) });
        expect(startTimes(records)).toEqual([1, 7, 8, 2]);
        expect(source.description).toBe(`3 files (${join(dir, 'a.log')}, <stdin>, ${join(dir, 'b.log')})`);
      }));

    test('empty stdin yields nothing', async () => {
      const { source, records } = await readAll(['-'], { stdin: bytes() });
      expect(records).toEqual([]);
      expect(source.inputsRead).toBe(0);
    });
  });

  describe('skipped lines', () => {
    test('locations are file:line (blank lines counted), reasons are the parser and reader reasons', () =>
      withTempDir(async (dir) => {
        const file = join(dir, 'mixed.log');
        const content = Buffer.concat([
          Buffer.from(lines(exampleAt(1), '', 'not json at all', '[1,2]', exampleAt(2, { source_namespace: '../../etc' }))),
          Buffer.from([0x7b, 0xff, 0x7d, 0x0a]), // {\xff}
          Buffer.from(lines(`{"pad":"${'x'.repeat(1200)}"}`, exampleAt(3, { proto: undefined }), exampleAt(4))),
        ]);
        await writeFile(file, content);
        const { source, records } = await readAll([file], { maxLineBytes: 1000 });
        expect(startTimes(records)).toEqual([1, 4]);
        expect(source.inputsRead).toBe(8);
        expect(source.skipped.summary()).toEqual({
          total: 6,
          byReason: {
            'invalid UTF-8': 1,
            'invalid source_namespace': 1,
            'missing field proto': 1,
            'not JSON': 1,
            'not a JSON object': 1,
            'oversize line (more than 1000 bytes)': 1,
          },
          examples: [
            { location: `${file}:3`, reason: 'not JSON' },
            { location: `${file}:4`, reason: 'not a JSON object' },
            { location: `${file}:5`, reason: 'invalid source_namespace' },
            { location: `${file}:6`, reason: 'invalid UTF-8' },
            { location: `${file}:7`, reason: 'oversize line (more than 1000 bytes)' },
          ],
        });
      }));

    test('line numbers restart in each file', () =>
      withTempDir(async (dir) => {
        await writeFile(join(dir, 'a.log'), lines(exampleAt(1), 'bad'));
        await writeFile(join(dir, 'b.log'), lines('bad', exampleAt(2)));
        const { source } = await readAll([dir]);
        expect(source.skipped.summary().examples).toEqual([
          { location: `${join(dir, 'a.log')}:2`, reason: 'not JSON' },
          { location: `${join(dir, 'b.log')}:1`, reason: 'not JSON' },
        ]);
      }));

    test.each([
      ['plain', 'yaobank.log'],
      ['gzipped', 'yaobank.jsonl.gz'],
    ])('a generated corpus with every damage kind (%s): each damaged line skipped with its reason', (_kind, name) =>
      withTempDir(async (dir) => {
        const opts: GenerateOptions = { scenario: 'yaobank', records: 2000, damagedRatio: 0.05, seed: 11, endTime: END };
        const file = join(dir, name);
        const written = await writeFlowFile(file, opts);
        expect(written).toEqual({ records: 2000, damaged: 100 });
        const truth = groundTruth(opts);
        // The corpus really holds every kind and every flavour of the two multi-flavour kinds.
        const kinds = new Set([...generateFlowEntries(opts)].map((e) => e.damage).filter((d) => d !== null));
        expect([...kinds].sort()).toEqual([...damageKinds].sort());
        expect([...truth.wrongTypeReasons].sort()).toEqual([
          'invalid dest_port',
          'invalid num_flows',
          'invalid reporter',
          'invalid source_labels',
          'invalid start_time',
        ]);
        expect(truth.missingFieldReasons.size).toBe(5);

        const { source, records } = await readAll([file]);
        expect(source.inputsRead).toBe(truth.inputs);
        expect(source.inputsRead).toBe(2000);
        const summary = source.skipped.summary();
        expect(summary.byReason).toEqual(truth.byReason);
        expect(summary.total).toBe(100);
        expect(records.length).toBe(truth.valid);
        expect(records.length).toBe(1900);
        expect(summary.examples).toEqual(truth.firstSkipped.map(({ lineNo, reason }) => ({ location: `${file}:${lineNo}`, reason })));
      }),
    );
  });

  describe('errors', () => {
    test('no paths', async () => {
      expect(await flowSourceError(FileFlowSource.open([]))).toBe('no flow log paths given');
    });

    test('a missing path fails at open, naming the path, before anything is read', () =>
      withTempDir(async (dir) => {
        await writeFile(join(dir, 'good.log'), lines(exampleAt(1)));
        const missing = join(dir, 'nope', 'flows.log');
        let stdinPulled = false;
        async function* stdin(): AsyncGenerator<Buffer> {
          stdinPulled = true;
          yield Buffer.from(lines(exampleAt(2)));
        }
        const message = await flowSourceError(FileFlowSource.open(['-', join(dir, 'good.log'), missing], { stdin: stdin() }));
        expect(message).toContain(missing);
        expect(message).toContain('no such file or directory');
        expect(message).toBe(`cannot read ${missing}: no such file or directory`);
        expect(stdinPulled).toBe(false);
      }));

    test('a path that is neither a file nor a directory', async () => {
      expect(await flowSourceError(FileFlowSource.open(['/dev/null']))).toBe('cannot read /dev/null: not a file or directory');
    });

    const isRoot = process.getuid?.() === 0;
    (isRoot ? test.skip : test)('an unreadable file (chmod 000) is a FlowSourceError naming it', () =>
      withTempDir(async (dir) => {
        const file = join(dir, 'secret.log');
        await writeFile(file, lines(exampleAt(1)));
        await chmod(file, 0o000);
        try {
          const message = await flowSourceError(FileFlowSource.open([file]).then((s) => readRecords(s, { from: 0, to: END })));
          expect(message).toBe(`cannot read ${file}: permission denied`);
        } finally {
          await chmod(file, 0o600);
        }
      }),
    );

    (isRoot ? test.skip : test)('an unreadable subdirectory fails at open', () =>
      withTempDir(async (dir) => {
        const sub = join(dir, 'locked');
        await mkdir(sub);
        await writeFile(join(sub, 'a.log'), lines(exampleAt(1)));
        await chmod(sub, 0o000);
        try {
          const message = await flowSourceError(FileFlowSource.open([dir]));
          expect(message).toContain('permission denied');
        } finally {
          await chmod(sub, 0o700);
        }
      }),
    );

    test.each([
      ['truncated', (gz: Buffer) => gz.subarray(0, Math.floor(gz.length / 2))],
      ['header only', (gz: Buffer) => gz.subarray(0, 10)],
      ['magic only', (gz: Buffer) => gz.subarray(0, 2)],
      [
        'corrupted body',
        (gz: Buffer) => {
          const bad = Buffer.from(gz);
          for (let i = 12; i < bad.length - 8; i += 3) bad[i] = bad[i]! ^ 0x5a;
          return bad;
        },
      ],
      [
        'bad checksum',
        (gz: Buffer) => {
          const bad = Buffer.from(gz);
          bad[bad.length - 6] = bad[bad.length - 6]! ^ 0xff;
          return bad;
        },
      ],
    ])('a corrupt .gz (%s) is a FlowSourceError naming the file', (_name, damage) =>
      withTempDir(async (dir) => {
        const text = Array.from({ length: 200 }, (_, i) => `${exampleAt(i)}\n`).join('');
        const file = join(dir, 'flows.log.gz');
        await writeFile(file, damage(gzipSync(text)));
        const source = await FileFlowSource.open([file]);
        const message = await flowSourceError(readRecords(source, { from: 0, to: END }));
        expect(message).toContain(file);
        expect(message).toMatch(new RegExp(`^cannot read ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: corrupt gzip data \\(.+\\)$`));
      }),
    );

    test('corrupt gzipped stdin is a FlowSourceError naming <stdin>', async () => {
      const gz = gzipSync(lines(exampleAt(1), exampleAt(2)));
      const source = await FileFlowSource.open(['-'], { stdin: bytes(gz.subarray(0, gz.length - 12)) });
      const message = await flowSourceError(readRecords(source, { from: 0, to: END }));
      expect(message).toMatch(/^cannot read <stdin>: corrupt gzip data/);
    });

    test('an empty directory yields no records', () =>
      withTempDir(async (dir) => {
        await mkdir(join(dir, 'empty', 'nested'), { recursive: true });
        await writeFile(join(dir, 'empty', 'nested', 'README.txt'), 'not a flow log\n');
        const { source, records } = await readAll([join(dir, 'empty')]);
        expect(records).toEqual([]);
        expect(source.files).toEqual([]);
        expect(source.inputsRead).toBe(0);
        expect(source.skipped.total).toBe(0);
        expect(source.description).toBe('0 files ()');
      }));
  });
});

describe('readFlows end to end', () => {
  /** What the engine should learn from a generated yaobank record, from the raw JSON alone. */
  function expectedOutcome(o: Record<string, unknown>): string {
    if (o['action'] !== 'allow') return 'denied';
    if (o['source_type'] === 'hep' || o['dest_type'] === 'hep') return 'host endpoint';
    const local = o['reporter'] === 'src' ? 'source' : 'dest';
    if (o[`${local}_type`] !== 'wep') return 'reported by the remote end';
    const trace = o['policies'] as Record<string, string[]> | undefined;
    const hits = trace?.['pending_policies'] ?? trace?.['all_policies'] ?? trace?.['enforced_policies'];
    if (hits !== undefined && hits.length > 0) {
      const last = hits[hits.length - 1]!;
      if (last.split('|')[1] !== '__PROFILE__') return 'decided by another policy';
    }
    return 'learned';
  }

  test('a generated yaobank file gives the expected recordsSeen / recordsLearned / skipped', () =>
    withTempDir(async (dir) => {
      // 30 damaged lines: every damage kind, and (unlike the corpus test above) no line whose
      // damage the parser is known to miss, so this checks the pipeline's counting on its own.
      const opts: GenerateOptions = { scenario: 'yaobank', records: 3000, damagedRatio: 0.01, seed: 5, endTime: END };
      const file = join(dir, 'yaobank.log.gz');
      await writeFlowFile(file, opts);
      // Ground truth from the generator's own entries, independent of the reader and the engine.
      const outcomes: Record<string, number> = {};
      let valid = 0;
      for (const entry of generateFlowEntries(opts)) {
        if (entry.damage !== null || entry.line.length === 0) continue;
        valid++;
        const outcome = expectedOutcome(JSON.parse(entry.line as string) as Record<string, unknown>);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
      expect(valid).toBe(2970);
      const { learned = 0, ...notLearned } = outcomes;
      expect(learned).toBeGreaterThan(1000);
      expect(Object.keys(notLearned).sort()).toEqual(['decided by another policy', 'denied', 'host endpoint']);

      const source = await FileFlowSource.open([file]);
      const reading = await readFlows(source, DEFAULT_CONFIG, END);
      expect(reading.source).toBe(`1 file (${file})`);
      expect(reading.inputsRead).toBe(3000);
      expect(reading.skipped.total).toBe(30);
      expect(reading.window).toEqual({ from: END - DEFAULT_CONFIG.initialLookback, to: END });
      expect(reading.observations.recordsSeen).toBe(2970);
      expect(reading.observations.recordsLearned).toBe(learned);
      expect(reading.observations.notLearned).toEqual(notLearned);
      expect([...reading.observations.byNamespace.keys()]).toEqual(['kube-system', 'yaobank']);
      // The file on disk is gzip: the reader decompressed it.
      expect((await readFile(file)).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    }));
});
