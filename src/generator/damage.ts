// Damaged lines, as real log pipelines produce them (rotation mid-write, buggy shippers, hostile
// tenants). Each kind mutates a valid record so the damage is the only thing wrong with it.

export const damageKinds = [
  'not-json',
  'truncated',
  'wrong-type',
  'missing-field',
  'invalid-utf8',
  'oversize',
  'not-object',
  'hostile-namespace',
] as const;

export type DamageKind = (typeof damageKinds)[number];

/** Lines longer than this are oversize; readers are expected to cap line length here. */
export const MAX_LINE_BYTES = 64 * 1024;

const NOT_JSON = [
  (line: string) => `time="2026-11-22T11:59:58Z" level=warning msg="flow log writer restarted" file="${line.length}"`,
  () => '{start_time: 1597166083, source_namespace: yaobank}',
  () => '{"start_time":1597166083,,"end_time":1597166383}',
  () => 'NaN',
  (line: string) => line.replace(/^\{/, '{{'),
];

const WRONG_TYPE: readonly [RegExp, string][] = [
  [/"start_time":\d+/, '"start_time":"yesterday"'],
  [/"dest_port":(\d+|null)/, '"dest_port":"eighty"'],
  [/"reporter":"(src|dst)"/, '"reporter":1'],
  [/"num_flows":\d+/, '"num_flows":"many"'],
  [/"source_labels":(null|\{"labels":\[[^\]]*\]\})/, '"source_labels":"app=customer"'],
];

// The fields a reader must have to use a record at all.
const MISSING: readonly RegExp[] = [
  /"reporter":"(src|dst)",/,
  /"action":"(allow|deny)",/,
  /"proto":"[^"]*",/,
  /"start_time":\d+,/,
  /"source_type":"[a-z]+",/,
];

const BAD_BYTES: readonly number[][] = [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xc0, 0xaf]];

const NOT_OBJECT = [() => '[]', () => '42', () => '"flow"', () => 'null', () => 'true', (line: string) => `[${line}]`];

// Path traversal, YAML/Markdown injection (the newline and quote survive JSON decoding), shell.
const HOSTILE = ['../../etc', 'yaobank\nmalicious: true', 'pay"ments', '$(touch /tmp/pwned)', '<!-- x -->`y`', 'a'.repeat(300)];

let hugeLabels: string | undefined;
function oversizeLabels(): string {
  // ~80 KB of labels: more than any reader's line cap, like a pod with a label explosion.
  hugeLabels ??= `{"labels":${JSON.stringify(
    Array.from({ length: 1800 }, (_, i) => `example.com/generated-label-${String(i).padStart(4, '0')}=value-${i.toString(36)}`),
  )}}`;
  return hugeLabels;
}

/**
 * Damage `line` (a valid record) in the given way; `variant` cycles through each kind's flavours.
 * `fraction` in [0, 1) picks the truncation point.
 */
export function damageLine(kind: DamageKind, variant: number, line: string, fraction: number): string | Buffer {
  const nth = <T>(list: readonly T[]): T => list[variant % list.length] as T;
  switch (kind) {
    case 'not-json':
      return nth(NOT_JSON)(line);
    case 'truncated':
      // A prefix of an object line can never be valid JSON (its closing brace is gone).
      return line.slice(0, Math.max(1, Math.floor(line.length * (0.2 + 0.75 * fraction))));
    case 'wrong-type': {
      const [pattern, replacement] = nth(WRONG_TYPE);
      return line.replace(pattern, replacement);
    }
    case 'missing-field':
      return line.replace(nth(MISSING), '');
    case 'invalid-utf8': {
      const at = line.indexOf('"source_name_aggr":"') + '"source_name_aggr":"'.length;
      return Buffer.concat([Buffer.from(line.slice(0, at)), Buffer.from(nth(BAD_BYTES)), Buffer.from(line.slice(at))]);
    }
    case 'oversize':
      return line.replace(/"source_labels":(null|\{"labels":\[[^\]]*\]\})/, `"source_labels":${oversizeLabels()}`);
    case 'not-object':
      return nth(NOT_OBJECT)(line);
    case 'hostile-namespace':
      return line.replace(/"source_namespace":"[^"]*"/, `"source_namespace":${JSON.stringify(nth(HOSTILE))}`);
  }
}
