// Deterministic generator of Calico flow-log files, or of the same scenarios as Hubble jsonpb lines
// (`format: 'hubble'`, hubble.ts). Records are laid out in 5-minute flush windows
// across the span, oldest first; damaged lines sit at evenly spaced, deterministic positions.
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { TraceForm } from '../flows/policy-hit.ts';
import { type DamageKind, damageKinds, damageLine } from './damage.ts';
import { hubbleRender } from './hubble.ts';
import { createRandom, hashString } from './random.ts';
import { type CompiledFlow, compileFlows, RECORD_SHAPES, type RecordShape } from './record.ts';
import type { FlowTemplate, Scenario } from './scenario.ts';
import { buildScenario } from './scenarios/index.ts';

export { type DamageKind, damageKinds } from './damage.ts';
export { RECORD_SHAPES, type RecordShape } from './record.ts';
export { describeScenarios, scenarioNames } from './scenarios/index.ts';

export interface GenerateOptions {
  scenario: string;
  /**
   * Non-blank lines to write, damaged ones included. Every scenario flow (per reporter) appears once
   * the undamaged records reach their number: 31 for yaobank, 378 for multi-namespace at 12.
   */
  records: number;
  seed?: number;
  /** Unix seconds: the newest record ends here. */
  endTime: number;
  /** Records start within [endTime - span, endTime]; default 6h. */
  spanSeconds?: number;
  /** Fraction of damaged lines, 0..1; default 0. */
  damagedRatio?: number;
  /** Application namespaces of the multi-namespace and scale scenarios. */
  namespaces?: number;
  /** Workloads of the scale scenario, over all its namespaces. */
  workloads?: number;
  /** Distinct flows of the scale scenario (written once each when `records` is at least this). */
  flows?: number;
  /**
   * How policy traces name policies: as Felix up to 3.31 (and Calico Enterprise) writes them,
   * `<tier>.<name>`, `<ns>/<tier>.staged:<name>` ... (the default), or as 3.32 and later write
   * them, `gnp:<name>`, `snp:<ns>/<name>` ... (felix/calc/policy_lookup_cache.go setFlowLogPolicyName).
   */
  traceForm?: TraceForm;
  /** What each record carries (record.ts): `compact` (the default, byte for byte as before) or `full`. */
  shape?: RecordShape;
  /** Calico flow-log lines (the default) or Hubble jsonpb lines (GetFlowsResponse, hubble.ts). */
  format?: FlowFormat;
  /** Compress the file with gzip (as a path ending in `.gz` does). */
  gzip?: boolean;
}

export type FlowFormat = 'calico' | 'hubble';
export const FLOW_FORMATS: readonly FlowFormat[] = ['calico', 'hubble'];

/**
 * The bench's two cardinality profiles (issue 14), shared by `flows:generate --profile` and
 * `npm run bench`: both write records of the full shape (every field of a Calico Enterprise flow
 * log, Helm's labels, two policy-trace entries).
 * - `present`: the multi-namespace scenario at its 12 namespaces (378 distinct flows);
 * - `realistic`: the realistic scenario, 200 namespaces and about 20,000 distinct flows.
 */
export const PROFILES = {
  present: { scenario: 'multi-namespace', shape: 'full' },
  realistic: { scenario: 'realistic', shape: 'full' },
} as const satisfies Record<string, Pick<GenerateOptions, 'scenario' | 'shape'>>;
export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES: readonly ProfileName[] = ['present', 'realistic'];

export function isProfileName(name: string): name is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(name);
}

export interface FlowEntry {
  /** The line without its newline; empty for a blank line. */
  readonly line: string | Buffer;
  /** Set for damaged lines; blank lines are neither records nor damaged. */
  readonly damage: DamageKind | null;
}

export const DEFAULT_SPAN_SECONDS = 6 * 3600;
const FLUSH_SECONDS = 300; // Felix's default flow-log flush interval

/** How many of `records` lines are damaged at `ratio`. */
function damagedCount(records: number, ratio: number): number {
  return Math.round(records * ratio);
}

interface Checked {
  readonly span: number;
  readonly ratio: number;
  readonly seed: number;
}

function validate(opts: GenerateOptions): Checked {
  const span = opts.spanSeconds ?? DEFAULT_SPAN_SECONDS;
  const ratio = opts.damagedRatio ?? 0;
  const seed = opts.seed ?? 1;
  if (!Number.isSafeInteger(opts.records) || opts.records < 0)
    throw new RangeError(`records must be a non-negative integer, got ${opts.records}`);
  if (!Number.isSafeInteger(opts.endTime) || opts.endTime <= 0)
    throw new RangeError(`endTime must be positive unix seconds, got ${opts.endTime}`);
  if (!Number.isSafeInteger(span) || span <= 0 || span > opts.endTime)
    throw new RangeError(`spanSeconds must be a positive integer not reaching before 1970, got ${span}`);
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`damagedRatio must be in [0, 1], got ${ratio}`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  if (opts.traceForm !== undefined && opts.traceForm !== '3.31' && opts.traceForm !== '3.32')
    throw new RangeError(`traceForm must be 3.31 or 3.32, got ${String(opts.traceForm)}`);
  if (opts.shape !== undefined && !RECORD_SHAPES.includes(opts.shape))
    throw new RangeError(`shape must be ${RECORD_SHAPES.join(' or ')}, got ${String(opts.shape)}`);
  if (opts.format !== undefined && !FLOW_FORMATS.includes(opts.format))
    throw new RangeError(`format must be ${FLOW_FORMATS.join(' or ')}, got ${String(opts.format)}`);
  // The damage kinds (damage.ts) are made of Calico's fields.
  if (opts.format === 'hubble' && ratio > 0) throw new RangeError('damaged lines are written for the calico format only');
  return { span, ratio, seed };
}

/** Weighted choice by binary search over cumulative weights. */
function weightedPicker(flows: readonly CompiledFlow[]): (u: number) => CompiledFlow {
  const cumulative: number[] = [];
  let total = 0;
  for (const f of flows) cumulative.push((total += f.weight));
  return (u) => {
    const x = u * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    return flows[lo] as CompiledFlow;
  };
}

/** Every line with its damage kind: the ground truth for readers' tests. Options are checked eagerly. */
export function generateFlowEntries(opts: GenerateOptions): Generator<FlowEntry> {
  const checked = validate(opts);
  const scenario = buildScenario(opts.scenario, {
    ...(opts.namespaces === undefined ? {} : { namespaces: opts.namespaces }),
    ...(opts.workloads === undefined ? {} : { workloads: opts.workloads }),
    ...(opts.flows === undefined ? {} : { flows: opts.flows }),
  });
  return entries(opts, scenario, checked);
}

function* entries(opts: GenerateOptions, scenario: Scenario, { span, ratio, seed }: Checked): Generator<FlowEntry> {
  const flows = compileFlows(scenario, opts.traceForm, opts.shape);
  const hubble = opts.format === 'hubble' ? hubbleRenderers(scenario.nodes, opts.shape ?? 'compact') : null;
  const render = (f: CompiledFlow, start: number, end: number): string =>
    hubble === null ? f.render(rng, start, end) : hubble(f)(rng, start, end);
  const pick = weightedPicker(flows);
  const wepSourced = flows.filter((f) => f.template.source.type === 'wep');
  const rng = createRandom(hashString(`${scenario.name}:${seed}`));

  const R = opts.records;
  const D = damagedCount(R, ratio);
  const V = R - D;
  const K = flows.length;
  const windowLen = Math.min(FLUSH_SECONDS, span);
  const windows = Math.floor(span / windowLen);
  const firstWindow = opts.endTime - windows * windowLen;

  for (let i = 0; i < R; i++) {
    const w = Math.floor((i * windows) / R);
    const windowStart = firstWindow + w * windowLen;
    // Nodes flush a few seconds apart; the window's end is shared.
    const start = windowStart + rng.int(Math.min(4, windowLen));
    const end = windowStart + windowLen;
    const damagedBefore = Math.floor((i * D) / R);
    const damaged = Math.floor(((i + 1) * D) / R) > damagedBefore;
    if (damaged) {
      const kind = damageKinds[damagedBefore % damageKinds.length] as DamageKind;
      const variant = Math.floor(damagedBefore / damageKinds.length);
      const base = kind === 'hostile-namespace' ? (wepSourced[rng.int(wepSourced.length)] ?? pick(rng.next())) : pick(rng.next());
      const line = damageLine(kind, variant, base.render(rng, start, end), rng.next());
      // A writer crash leaves a torn line; the restarted writer begins on a fresh (blank) line.
      if (kind === 'truncated') yield { line: '', damage: null };
      yield { line, damage: kind };
      continue;
    }
    // The v-th valid record. The first record of each of K evenly spaced stretches is the k-th
    // flow, so every flow appears whenever V >= K, and the distinct set never depends on size.
    const v = i - damagedBefore;
    const k = Math.floor((v * K) / V);
    const covering = v === 0 || Math.floor(((v - 1) * K) / V) !== k;
    const f = covering ? (flows[k] as CompiledFlow) : pick(rng.next());
    yield { line: render(f, start, end), damage: null };
  }
}

/** Hubble renderers per (flow, reporter), made when first needed and kept in a bounded cache (the scale scenario has millions). */
function hubbleRenderers(nodes: readonly string[], shape: RecordShape): (f: CompiledFlow) => ReturnType<typeof hubbleRender> {
  const cache = new Map<FlowTemplate, Partial<Record<'src' | 'dst', ReturnType<typeof hubbleRender>>>>();
  return (f) => {
    let byReporter = cache.get(f.template);
    if (byReporter === undefined) {
      if (cache.size >= 50_000) cache.clear();
      cache.set(f.template, (byReporter = {}));
    }
    return (byReporter[f.reporter] ??= hubbleRender(f.template, f.reporter, nodes, shape));
  };
}

/** One Buffer per line, without the trailing newline (Buffers: damaged lines may be invalid UTF-8). */
export function* generateFlowLines(opts: GenerateOptions): Generator<Buffer> {
  for (const e of generateFlowEntries(opts)) yield typeof e.line === 'string' ? Buffer.from(e.line) : e.line;
}

const CHUNK_BYTES = 4 << 20;

/** Lines packed into large Buffers: few stream writes, and no per-line Buffer allocation. */
function* chunks(source: Iterable<FlowEntry>): Generator<Buffer> {
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let used = 0;
  for (const { line } of source) {
    // Worst case 3 UTF-8 bytes per UTF-16 unit, plus the newline.
    const room = typeof line === 'string' ? line.length * 3 + 1 : line.length + 1;
    if (used + room > chunk.length) {
      if (used > 0) yield chunk.subarray(0, used);
      chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, room));
      used = 0;
    }
    used += typeof line === 'string' ? chunk.write(line, used) : line.copy(chunk, used);
    chunk[used++] = 0x0a;
  }
  if (used > 0) yield chunk.subarray(0, used);
}

/** Write the lines to `path` (gzip when it ends in `.gz`); stream backpressure is respected. */
export async function writeFlowFile(path: string, opts: GenerateOptions): Promise<{ records: number; damaged: number }> {
  const { ratio } = validate(opts);
  // Buffers of a few chunks on both sides let generation overlap the file system's writes.
  const source = Readable.from(chunks(generateFlowEntries(opts)), { objectMode: false, highWaterMark: 2 * CHUNK_BYTES });
  const file = createWriteStream(path, { highWaterMark: 2 * CHUNK_BYTES });
  // Level 3: ~1.5x faster than the default 6 for ~40% more bytes; gzip is the bottleneck here.
  if (path.endsWith('.gz') || opts.gzip === true) await pipeline(source, createGzip({ level: 3 }), file);
  else await pipeline(source, file);
  return { records: opts.records, damaged: damagedCount(opts.records, ratio) };
}
