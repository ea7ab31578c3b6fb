// The fast path (FlowLogParser) against its reference (parseCalicoFlowLog), line by line and
// through the file source and readFlows: the same records, skip reasons, counts and observations
// for generated lines of every scenario and trace form, the generator's damage kinds, hostile
// values in every field and hostile variations of the values the fast path reads itself. Each
// variation is fed after valid lines of its flow, so it meets a warm cache: the fast path's
// own checks are what is tested, not the reference it falls back to.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { DEFAULT_CONFIG } from '../../src/config/recommendation-config.ts';
import { NOT_JSON, parseCalicoFlowLog } from '../../src/flows/calico-flow-log.ts';
import { FlowLogParser, type FlowLogParserOptions } from '../../src/flows/flow-log-parser.ts';
import { readFlows } from '../../src/flows/read-flows.ts';
import { FileFlowSource } from '../../src/flows/sources/file-source.ts';
import {
  damageKinds,
  type GenerateOptions,
  generateFlowEntries,
  PROFILE_NAMES,
  PROFILES,
  scenarioNames,
  writeFlowFile,
} from '../../src/generator/generate.ts';
import { HOSTILE_NAMES } from '../support/hostile-values.ts';
import { ABRIDGED_EXAMPLE, readRecords, withTempDir } from './fixtures.ts';

const END = 1795348800; // 2026-11-22T12:00:00Z

/** The generated lines as text (damaged ones that are not valid UTF-8 are the line reader's business). */
function generatedLines(options: Omit<GenerateOptions, 'endTime'>): string[] {
  const out: string[] = [];
  for (const { line } of generateFlowEntries({ endTime: END, ...options })) if (typeof line === 'string' && line !== '') out.push(line);
  return out;
}

/** Every line through one parser, each compared with the reference; the parser's stats at the end. */
function expectSameAsReference(lines: readonly string[], options: FlowLogParserOptions = {}): FlowLogParser {
  const parser = new FlowLogParser(options);
  for (const line of lines) {
    const fast = parser.parse(line);
    const reference = parseCalicoFlowLog(line);
    if (!isDeepStrictEqual(fast, reference)) expect({ line, fast }).toEqual({ line, fast: reference });
  }
  return parser;
}

describe('generated lines: the fast path reads them as the reference does', () => {
  test.each(
    scenarioNames.flatMap((scenario) =>
      (['3.31', '3.32'] as const).flatMap((form) => (['compact', 'full'] as const).map((shape) => [scenario, form, shape] as const)),
    ),
  )('scenario %s, trace form %s, %s records', (scenario, traceForm, shape) => {
    const lines = generatedLines({ scenario, records: 2000, traceForm, shape });
    const parser = expectSameAsReference(lines);
    // The fast path did the work: only a flow's first line goes to the reference.
    // (The scale and realistic scenarios write each of their thousands of flows once before repeating any.)
    if (scenario === 'yaobank' || scenario === 'multi-namespace') expect(parser.stats.fast).toBeGreaterThan(lines.length * 0.8);
  });

  test.each(PROFILE_NAMES.map((profile) => [profile]))('the bench profile %s', (profile) => {
    // The realistic profile's ~20,000 flows (each once in the first 20,000 records) are more than
    // the default cache holds: once it is full, the reference reads every line.
    const lines = generatedLines({ ...PROFILES[profile], records: profile === 'realistic' ? 30000 : 10000 });
    const parser = expectSameAsReference(lines);
    if (profile === 'present') expect(parser.stats.fast).toBeGreaterThan(lines.length * 0.95);
    else expect(parser.stats.uncached).toBeGreaterThan(0);
  });

  test.each(damageKinds.map((kind) => [kind]))('damage kind %s, among valid lines of the same flows', (kind) => {
    // Every line damaged, then the same with valid lines around them (warm cache).
    const damaged = generatedLines({ scenario: 'multi-namespace', records: 400, damagedRatio: 1 }).filter(
      (_, i) => i % damageKinds.length === damageKinds.indexOf(kind),
    );
    const valid = generatedLines({ scenario: 'multi-namespace', records: 2000 });
    expectSameAsReference([...valid, ...damaged.flatMap((line, i) => [line, valid[i % valid.length]!])]);
  });
});

/** A generated valid line with `key`'s value text replaced (the key must be there). */
function withValue(line: string, key: string, text: string): string {
  const at = line.indexOf(`"${key}":`);
  if (at < 0) throw new Error(`no ${key} in ${line}`);
  const from = at + key.length + 3;
  // The old value's text: whatever JSON.stringify of the parsed value gives back (generated lines are compact).
  const value = (JSON.parse(line) as Record<string, unknown>)[key];
  const old = JSON.stringify(value);
  if (line.slice(from, from + old.length) !== old) throw new Error(`unexpected text of ${key}`);
  return line.slice(0, from) + text + line.slice(from + old.length);
}

// Values for the keys whose values the fast path reads or skips itself.
const ODD_VALUES = [
  'null',
  'true',
  'false',
  '0',
  '-0',
  '-1',
  '007',
  '1.5',
  '1e3',
  '1E+3',
  '1.0',
  '99999999999',
  '100000000000',
  '100000000001',
  '9007199254740991',
  '9007199254740993',
  '123456789012345678901234567890',
  '""',
  '"yesterday"',
  '"10.0.0.1"',
  '"10.0.0.256"',
  '"::1"',
  '"fe80::1%eth0"',
  '"2001:db8::1"',
  '" 10.0.0.1"',
  '"10.0.0.1\\u0000"',
  '"10.0.0.\\u0031"',
  '"a\\"b"',
  '"tab\there"',
  '[]',
  '{}',
  '[1]',
  '{"a":1}',
  'nul',
  '1 ',
  ' 1',
  '01',
  '-',
  '"unterminated',
  '1,"extra":2',
  '1,"start_time":5',
  '1,"num_flows":"x"',
  '[1,2]',
  '[1,"x",null,true]',
  '["10.0.0.1"]',
  '[1 ,2]',
  '[[1]]',
  '[1,]',
  '[,1]',
  '[',
  '[{"start_time":1}]',
];

const SLOT_KEYS = [
  'start_time',
  'end_time',
  'source_ip',
  'dest_ip',
  'num_flows',
  'source_port',
  'source_name',
  'dest_name',
  'bytes_in',
  'packets_out',
  'process_id',
  'host',
  'tcp_mean_mss',
  'nat_outgoing_ports',
  'original_source_ips',
  '@timestamp',
] as const;

describe('hostile values where the fast path reads or skips values itself', () => {
  const valid = [
    ...generatedLines({ scenario: 'multi-namespace', records: 300 }),
    ...generatedLines({ scenario: 'multi-namespace', records: 300, shape: 'full' }),
  ];
  const withIps = valid.filter((l) => !l.includes('"source_ip":null') || !l.includes('"dest_ip":null'));

  test.each(SLOT_KEYS.map((key) => [key]))('every odd value of %s, on a warm cache', (key) => {
    const lines: string[] = [];
    for (const [i, value] of ODD_VALUES.entries()) {
      const base = (i % 2 === 0 && withIps.length > 0 ? withIps : valid)[i % 50]!;
      if (!base.includes(`"${key}":`)) continue;
      lines.push(base, withValue(base, key, value), base);
    }
    expect(lines.length).toBeGreaterThan(0);
    expectSameAsReference([...valid, ...lines]);
  });

  test('times in the wrong order, and times equal', () => {
    const base = valid[0]!;
    const start = (JSON.parse(base) as { start_time: number }).start_time;
    expectSameAsReference([
      base,
      withValue(withValue(base, 'start_time', String(start + 1000)), 'end_time', String(start + 999)),
      withValue(withValue(base, 'start_time', String(start)), 'end_time', String(start)),
      withValue(base, 'end_time', '0'),
      withValue(base, 'start_time', '0'),
    ]);
  });

  test('keys twice, keys inside strings and nested objects, whitespace, escapes, __proto__', () => {
    const base = valid[1]!;
    const body = base.slice(1, -1);
    expectSameAsReference([
      base,
      `{${body},"start_time":1}`,
      `{"start_time":1,${body}}`,
      `{${body},"num_flows":3}`,
      `{"num_flows":3,${body}}`,
      `{${body},"bytes_in":1}`,
      `{"bytes_in":{"start_time":1},${body}}`,
      `{"x":"\\"start_time\\":1",${body}}`,
      `{"a\\"start_time":1,${body}}`,
      `{"nested":{"start_time":1,"num_flows":5},${body}}`,
      `{"__proto__":{"start_time":1},${body}}`,
      `{${body.replaceAll(',"', ', "')}}`,
      `{${body.replaceAll(':', ' : ')}}`,
      `{${body}} `,
      ` {${body}}`,
      `{${body}}x`,
      `{${body}`,
      `{${body}}}`,
      `[{${body}}]`,
      `{${body.replace('"source_name_aggr"', '"source_name_\\u0061ggr"')}}`,
      `{${body.replace('"start_time"', '"start_tim\\u0065"')}}`,
      ABRIDGED_EXAMPLE,
      ABRIDGED_EXAMPLE.replace('"source_ip":"192.168.47.9"', '"source_ip":"192.168.47.9","source_ip":null'),
      ABRIDGED_EXAMPLE.replace('"num_flows":1', '"num_flows":1,"num_flows":2'),
    ]);
  });

  test('hostile names in every name field, each after a valid line of the same flow', () => {
    const base = valid[2]!;
    const o = JSON.parse(base) as Record<string, unknown>;
    const lines = [base];
    for (const field of [
      'source_namespace',
      'dest_namespace',
      'source_name_aggr',
      'dest_name_aggr',
      'dest_service_name',
      'dest_service_port',
      'proto',
      'reporter',
      'action',
    ]) {
      for (const name of HOSTILE_NAMES) lines.push(JSON.stringify({ ...o, [field]: name }), base);
    }
    expectSameAsReference(lines);
  });

  test('property: arbitrary values in any field of a generated line', () => {
    const keys = Object.keys(JSON.parse(valid[0]!) as object);
    const value = fc.oneof(
      fc.constantFrom(...HOSTILE_NAMES, null, true, 0, -1, 1.5, 1e21, '10.0.0.1', '::1', '-', ''),
      fc.string({ maxLength: 20 }),
      fc.integer(),
      fc.double(),
      fc.jsonValue({ maxDepth: 2 }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: valid.length - 1 }),
        fc.array(fc.tuple(fc.constantFrom(...keys), value), { maxLength: 4 }),
        (i, changes) => {
          const base = valid[i]!;
          const o = JSON.parse(base) as Record<string, unknown>;
          for (const [k, v] of changes) o[k] = v;
          expectSameAsReference([base, JSON.stringify(o), base]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('paths that branch where segments are short, long, and share their first characters', () => {
  test('siblings of every length after one slot, each met again with other slot values', () => {
    // After `"source_ip":<slot>` the paths go on with segments of 2 to about 300 characters; many
    // share their first characters (a key of the children is at most the first 96), some are a
    // prefix of another, one differs only in its last character.
    const base = ABRIDGED_EXAMPLE;
    const at = base.indexOf(',"source_name":');
    const variants = [
      '',
      ',"a":1',
      ',"a":12',
      ',"a":1,"b":2',
      `,"pad":"${'x'.repeat(40)}"`,
      `,"pad":"${'x'.repeat(94)}"`,
      `,"pad":"${'x'.repeat(95)}"`,
      `,"pad":"${'x'.repeat(96)}"`,
      `,"pad":"${'x'.repeat(300)}"`,
      `,"pad":"${'x'.repeat(299)}y"`,
      `,"pad":"${'x'.repeat(300)}","more":true`,
    ].map((extra) => base.slice(0, at) + extra + base.slice(at));
    const other = (line: string, i: number) =>
      line.replace('"start_time":1597166083', `"start_time":${1597166000 + i}`).replace('"192.168.47.9"', `"10.0.0.${i % 250}"`);
    const lines: string[] = [];
    for (let round = 0; round < 3; round++)
      for (const [i, line] of variants.entries()) {
        lines.push(line, other(line, i + round));
        // A near miss of each: the segment one character short, and one character changed.
        lines.push(line.replace(',"a":1', ',"a":'), line.replace('"x"', '"y"').replace('xy"', 'xz"'));
      }
    const parser = expectSameAsReference(lines);
    // Only each path's first line went to the reference (and every line that is no JSON: never
    // cached): every sibling was found again.
    const template = (line: string) => line.replace(/"start_time":\d+/, '"start_time":0').replace(/"source_ip":"[^"]*"/, '"source_ip":""');
    const json = lines.filter((line) => {
      const verdict = parseCalicoFlowLog(line);
      return verdict.ok || verdict.reason !== NOT_JSON;
    });
    expect(parser.stats.reference).toBe(new Set(json.map(template)).size + lines.length - json.length);
  });
});

describe('the file source and readFlows, fast against reference', () => {
  test.each([
    ['multi-namespace', 0.05, 'flows.jsonl'],
    ['yaobank', 0.2, 'flows.jsonl.gz'],
    ['scale', 0.02, 'flows.log'],
  ] as const)('scenario %s, %d damaged, %s', async (scenario, damagedRatio, name) => {
    await withTempDir(async (dir) => {
      const file = join(dir, name);
      await writeFlowFile(file, { scenario, records: 4000, damagedRatio, endTime: END });
      const read = async (parser: 'fast' | 'reference') => {
        const source = await FileFlowSource.open([file], { parser });
        const records = await readRecords(source, { from: 0, to: END });
        return { records, skipped: source.skipped.summary(), unlearnable: source.unlearnable.summary(), inputsRead: source.inputsRead };
      };
      const fast = await read('fast');
      expect(fast.records.length).toBeGreaterThan(0);
      expect(fast).toStrictEqual(await read('reference'));
      const reading = async (parser: 'fast' | 'reference') => readFlows(await FileFlowSource.open([file], { parser }), DEFAULT_CONFIG, END);
      expect(await reading('fast')).toStrictEqual(await reading('reference'));
    });
  });

  test('hostile lines in a file', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'hostile.jsonl');
      const valid = generatedLines({ scenario: 'multi-namespace', records: 200 });
      const o = JSON.parse(valid[0]!) as Record<string, unknown>;
      const hostile = HOSTILE_NAMES.flatMap((name) => [
        JSON.stringify({ ...o, source_namespace: name }),
        JSON.stringify({ ...o, dest_name_aggr: name }),
      ]);
      await writeFile(file, [...valid, ...hostile, ...valid].join('\n'));
      const read = async (parser: 'fast' | 'reference') => {
        const source = await FileFlowSource.open([file], { parser });
        const records = await readRecords(source, { from: 0, to: END });
        return { records, skipped: source.skipped.summary(), unlearnable: source.unlearnable.summary(), inputsRead: source.inputsRead };
      };
      expect(await read('fast')).toStrictEqual(await read('reference'));
    });
  });
});

describe('byte caps', () => {
  test('the path cache and the IP cache stay within their caps, and exceeding them changes no result', () => {
    // Flows of three scenarios, damaged lines among them, and a flow seen from 600 addresses.
    const lines = [
      ...generatedLines({ scenario: 'yaobank', records: 1500 }),
      ...generatedLines({ scenario: 'multi-namespace', records: 1500 }),
      ...generatedLines({ scenario: 'scale', records: 1500, flows: 1000 }),
      ...generatedLines({ scenario: 'multi-namespace', records: 1000, damagedRatio: 0.1 }),
      ...Array.from({ length: 600 }, (_, i) => ABRIDGED_EXAMPLE.replace('"192.168.47.9"', `"10.${i % 7}.${i >> 3}.${i % 251}"`)),
    ];
    const cacheBytes = 2 * 1024 * 1024;
    const ipCacheBytes = 2048;
    const parser = new FlowLogParser({ cacheBytes, ipCacheBytes });
    let maxBytes = 0;
    let maxIpBytes = 0;
    for (const line of lines) {
      const fast = parser.parse(line);
      if (!isDeepStrictEqual(fast, parseCalicoFlowLog(line))) expect({ line, fast }).toEqual({ line, fast: parseCalicoFlowLog(line) });
      maxBytes = Math.max(maxBytes, parser.stats.cacheBytes);
      maxIpBytes = Math.max(maxIpBytes, parser.stats.ipCacheBytes);
    }
    // The cap was reached (flows left uncached) and held.
    expect(parser.stats.uncached).toBeGreaterThan(0);
    expect(maxBytes).toBeLessThanOrEqual(cacheBytes);
    expect(maxIpBytes).toBeLessThanOrEqual(ipCacheBytes);
    expect(parser.stats.fast).toBeGreaterThan(0);
  });

  test('the IP cache stays within its cap, and dropping it changes no result', () => {
    const lines = Array.from({ length: 600 }, (_, i) => ABRIDGED_EXAMPLE.replace('"192.168.47.9"', `"10.${i % 7}.${i >> 3}.${i % 251}"`));
    const ipCacheBytes = 2048;
    const parser = new FlowLogParser({ ipCacheBytes });
    let maxIpBytes = 0;
    for (const line of lines) {
      const fast = parser.parse(line);
      if (!isDeepStrictEqual(fast, parseCalicoFlowLog(line))) expect({ line, fast }).toEqual({ line, fast: parseCalicoFlowLog(line) });
      maxIpBytes = Math.max(maxIpBytes, parser.stats.ipCacheBytes);
    }
    expect(maxIpBytes).toBeLessThanOrEqual(ipCacheBytes);
    expect(maxIpBytes).toBeGreaterThan(ipCacheBytes / 2);
    expect(parser.stats.fast).toBeGreaterThan(lines.length / 2);
  });

  test('a cap too small for any path: every line goes to the reference, with the same results', () => {
    const lines = generatedLines({ scenario: 'yaobank', records: 300 });
    const parser = expectSameAsReference(lines, { cacheBytes: 100 });
    expect(parser.stats.fast).toBe(0);
    expect(parser.stats.cacheBytes).toBe(0);
  });
});
