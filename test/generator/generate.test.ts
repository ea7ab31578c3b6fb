import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, test } from '@jest/globals';
import { parseCalicoFlowLog } from '../../src/flows/calico-flow-log.ts';
import { MAX_LINE_BYTES } from '../../src/generator/damage.ts';
import {
  type DamageKind,
  damageKinds,
  type GenerateOptions,
  generateFlowEntries,
  generateFlowLines,
  scenarioNames,
  writeFlowFile,
} from '../../src/generator/generate.ts';
import { flowProblems } from './flow-shape.ts';

const END = 1795348800; // 2026-11-22T12:00:00Z
const base = (scenario: string, records: number, extra: Partial<GenerateOptions> = {}): GenerateOptions => ({
  scenario,
  records,
  endTime: END,
  ...extra,
});
const bytesOf = (opts: GenerateOptions): Buffer => Buffer.concat([...generateFlowLines(opts)].flatMap((l) => [l, Buffer.from('\n')]));

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'flowgen-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe.each(scenarioNames.map((s) => [s]))('scenario %s', (scenario) => {
  test('same options give identical bytes; another seed gives other bytes', () => {
    const opts = base(scenario, 3000, { damagedRatio: 0.02, seed: 7 });
    const a = bytesOf(opts);
    expect(bytesOf(opts).equals(a)).toBe(true);
    expect(bytesOf({ ...opts, seed: 8 }).equals(a)).toBe(false);
  });

  test('record and damaged counts are exact', () => {
    for (const [records, ratio] of [
      [10_000, 0.013],
      [997, 0.5],
      [5, 0],
      [0, 0.1],
      [40, 1],
    ] as const) {
      const entries = [...generateFlowEntries(base(scenario, records, { damagedRatio: ratio }))];
      const nonBlank = entries.filter((e) => e.line.length > 0);
      expect(nonBlank).toHaveLength(records);
      expect(entries.filter((e) => e.damage !== null)).toHaveLength(Math.round(records * ratio));
      expect(entries.filter((e) => e.line.length === 0).every((e) => e.damage === null)).toBe(true);
    }
  });

  test('undamaged lines are well-formed flow logs inside [end - span, end]', () => {
    const span = 2 * 3600;
    for (const e of generateFlowEntries(base(scenario, 20_000, { damagedRatio: 0.01, spanSeconds: span }))) {
      if (e.damage !== null || e.line.length === 0) continue;
      const r = JSON.parse(e.line.toString()) as Record<string, number>;
      expect(flowProblems(r)).toEqual([]);
      expect(r['start_time']).toBeGreaterThanOrEqual(END - span);
      expect(r['end_time']).toBeLessThanOrEqual(END);
      expect(Buffer.byteLength(e.line)).toBeLessThan(2000);
    }
  });

  test('distinct aggregated flows do not grow with the record count', () => {
    const distinct = (records: number): string[] => {
      const set = new Set<string>();
      for (const line of generateFlowLines(base(scenario, records, { seed: 3 }))) {
        const r = JSON.parse(line.toString()) as Record<string, unknown>;
        const key = [
          'source_namespace',
          'source_name_aggr',
          'dest_namespace',
          'dest_name_aggr',
          'proto',
          'dest_port',
          'reporter',
          'action',
        ];
        set.add(JSON.stringify(key.map((k) => r[k])));
      }
      return [...set].sort();
    };
    const small = distinct(20_000);
    expect(small.length).toBeGreaterThan(10);
    expect(distinct(100_000)).toEqual(small);
  });

  test('every damage kind occurs and is really damaged', () => {
    const seen = new Map<DamageKind, number>();
    const strict = new TextDecoder('utf-8', { fatal: true });
    for (const e of generateFlowEntries(base(scenario, 8000, { damagedRatio: 0.02 }))) {
      if (e.damage === null) continue;
      seen.set(e.damage, (seen.get(e.damage) ?? 0) + 1);
      const buf = typeof e.line === 'string' ? Buffer.from(e.line) : e.line;
      const parsed = ((): { ok: true; value: unknown } | { ok: false } => {
        try {
          return { ok: true, value: JSON.parse(buf.toString()) };
        } catch {
          return { ok: false };
        }
      })();
      switch (e.damage) {
        case 'not-json':
        case 'truncated':
          expect(parsed.ok).toBe(false);
          break;
        case 'wrong-type':
        case 'missing-field':
          expect(parsed.ok && flowProblems(parsed.value).length > 0).toBe(true);
          break;
        case 'invalid-utf8':
          expect(() => strict.decode(buf)).toThrow();
          break;
        case 'oversize':
          expect(buf.length).toBeGreaterThan(MAX_LINE_BYTES);
          break;
        case 'not-object':
          expect(parsed.ok && (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value))).toBe(true);
          break;
        case 'hostile-namespace':
          expect(parsed.ok && flowProblems(parsed.value).some((p) => p.startsWith('bad source_namespace'))).toBe(true);
          break;
      }
    }
    expect([...seen.keys()].sort()).toEqual([...damageKinds].sort());
  });
});

describe.each(scenarioNames.map((s) => [s]))('trace forms, scenario %s', (scenario) => {
  const opts = base(scenario, 4000, { damagedRatio: 0.01, seed: 5 });
  /** The undamaged lines (damaged ones derive from their base line's length, which the form changes). */
  const lines = (extra: Partial<GenerateOptions>) =>
    [...generateFlowEntries({ ...opts, ...extra })].filter((e) => e.damage === null && e.line.length > 0).map((e) => e.line.toString());
  const entriesOf = (text: string[]) =>
    text.flatMap((l) => (l.includes('"policies":') ? [l.slice(l.indexOf('"policies":'), l.indexOf('"bytes_in"'))] : []));

  test('the default is the 3.31 form, byte for byte', () => {
    expect(bytesOf({ ...opts, traceForm: '3.31' }).equals(bytesOf(opts))).toBe(true);
  });

  test('3.32 names policies by kind (felix/calc/policy_lookup_cache.go setFlowLogPolicyName, HEAD); nothing else changes', () => {
    const older = lines({});
    const newer = lines({ traceForm: '3.32' });
    expect(newer).toHaveLength(older.length);
    const entries = entriesOf(newer).join('\n');
    expect(entries).toMatch(/\|__PROFILE__\|pro:kns\./);
    expect(entries).not.toMatch(/__PROFILE__\./);
    expect(entries).not.toMatch(/staged:/);
    // Lines differ only in their policy traces, and read as the same records.
    for (let i = 0; i < older.length; i++) {
      const [a, b] = [older[i]!, newer[i]!];
      if (!a.includes('"policies":')) expect(b).toBe(a);
      if (a === b) continue;
      const withoutTrace = (l: string) => l.replace(/"policies":\{[^}]*\},/, '');
      expect(withoutTrace(b)).toBe(withoutTrace(a));
      expect(parseCalicoFlowLog(b)).toEqual(parseCalicoFlowLog(a));
    }
  });
});

test('the 3.32 form covers every kind of hit the scenarios write', () => {
  const text = [...generateFlowLines(base('multi-namespace', 2000, { traceForm: '3.32' }))].map((l) => l.toString()).join('\n');
  for (const form of [
    '|security|gnp:default-deny|deny|-1',
    '|platform|gnp:allow-prometheus|allow|0',
    '|security|sgnp:quarantine|deny|0',
    '|__PROFILE__|pro:kns.',
  ]) {
    expect(text).toContain(form);
  }
});

test('writeFlowFile writes the generated lines, plain and gzip', async () => {
  await withTempDir(async (dir) => {
    const opts = base('multi-namespace', 5000, { damagedRatio: 0.01, namespaces: 5 });
    const expected = bytesOf(opts);
    expect(await writeFlowFile(join(dir, 'f.jsonl'), opts)).toEqual({ records: 5000, damaged: 50 });
    expect((await readFile(join(dir, 'f.jsonl'))).equals(expected)).toBe(true);
    expect(await writeFlowFile(join(dir, 'f.jsonl.gz'), opts)).toEqual({ records: 5000, damaged: 50 });
    expect(gunzipSync(await readFile(join(dir, 'f.jsonl.gz'))).equals(expected)).toBe(true);
  });
});

test('bad options are rejected before anything is written', async () => {
  expect(() => generateFlowEntries(base('nope', 10))).toThrow(/unknown scenario/);
  expect(() => generateFlowEntries(base('yaobank', -1))).toThrow(RangeError);
  expect(() => generateFlowEntries(base('yaobank', 10, { damagedRatio: 2 }))).toThrow(RangeError);
  expect(() => generateFlowEntries(base('multi-namespace', 10, { namespaces: 0 }))).toThrow(RangeError);
  expect(() => generateFlowEntries(base('yaobank', 10, { traceForm: '3.33' as never }))).toThrow(/traceForm/);
  await withTempDir(async (dir) => {
    await expect(writeFlowFile(join(dir, 'x.jsonl'), base('yaobank', 10, { spanSeconds: 0 }))).rejects.toThrow(RangeError);
  });
});

describe('cli', () => {
  const cli = fileURLToPath(new URL('../../src/generator/cli.ts', import.meta.url));
  const run = (args: string[], cwd: string) => spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });

  test('writes a file and says so', async () => {
    await withTempDir(async (dir) => {
      const out = join(dir, 'flows.jsonl');
      const r = run(
        ['--scenario', 'yaobank', '--records', '1000', '--out', out, '--end', '2026-11-22T12:00:00Z', '--span', '1h', '--damaged', '0.01'],
        dir,
      );
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toContain('1000 records (10 damaged)');
      const lines = (await readFile(out, 'latin1')).split('\n').filter((l) => l.length > 0);
      expect(lines).toHaveLength(1000);
      const expected = bytesOf(base('yaobank', 1000, { damagedRatio: 0.01, spanSeconds: 3600 }));
      expect((await readFile(out)).equals(expected)).toBe(true);
    });
  });

  test('--trace-form 3.32 writes the 3.32 form', async () => {
    await withTempDir(async (dir) => {
      const out = join(dir, 'flows.jsonl');
      const r = run(
        ['--scenario', 'yaobank', '--records', '200', '--out', out, '--end', '2026-11-22T12:00:00Z', '--trace-form', '3.32'],
        dir,
      );
      expect(r.status).toBe(0);
      expect((await readFile(out)).equals(bytesOf(base('yaobank', 200, { traceForm: '3.32' })))).toBe(true);
    });
  });

  test('lists scenarios, each with what it contains', () => {
    const r = run(['--scenario', 'list'], tmpdir());
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(':')[0])).toEqual([...scenarioNames]);
    // Counted from the scenarios themselves (src/generator/scenarios/).
    expect(lines[0]).toMatch(
      /^yaobank: the yaobank demo app .* 5 workloads in 3 namespaces \(kube-system, monitoring, yaobank\) on 3 nodes; 19 distinct flows over TCP, UDP; peers: .*host endpoints.*; not to be learned: 1 denied, 3 decided by another policy; 2 without a policy trace/,
    );
    expect(lines[1]).toMatch(
      /^multi-namespace: 12 application namespaces .* distinct flows over TCP, UDP, ICMP, SCTP, GRE \(47\); peers: .*network sets/,
    );
  });

  test.each([
    [['--scenario', 'yaobank', '--records', 'ten', '--out', 'x.jsonl']],
    [['--scenario', 'nope', '--records', '10', '--out', 'x.jsonl']],
    [['--scenario', 'yaobank', '--records', '10']],
    [['--scenario', 'yaobank', '--records', '0', '--out', 'x.jsonl']],
    [['--scenario', 'yaobank', '--records', '10', '--out', 'x.jsonl', '--damaged', '1.5']],
    [['--scenario', 'yaobank', '--records', '10', '--out', 'x.jsonl', '--span', 'forever']],
    [['--scenario', 'yaobank', '--records', '10', '--out', 'x.jsonl', '--namespaces', '3']],
    [['--scenario', 'yaobank', '--records', '10', '--out', 'x.jsonl', '--frobnicate']],
    [['--scenario', 'yaobank', '--records', '10', '--out', 'x.jsonl', '--trace-form', 'v3.32']],
  ])('rejects %j with exit code 2 and one line on stderr', async (args) => {
    await withTempDir(async (dir) => {
      const r = run(args, dir);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^policy-recommender: flows:generate: .* \(--help shows usage\)\n$/);
      expect(r.stdout).toBe('');
    });
  });
});
