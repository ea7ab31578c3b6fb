// `npm run flows:generate -- --scenario yaobank --records 10000 --out flows.jsonl [...]`
import { parseArgs } from 'node:util';
import {
  DEFAULT_SPAN_SECONDS,
  describeScenarios,
  FLOW_FORMATS,
  type FlowFormat,
  type GenerateOptions,
  isProfileName,
  PROFILE_NAMES,
  PROFILES,
  RECORD_SHAPES,
  type RecordShape,
  scenarioNames,
  writeFlowFile,
} from './generate.ts';
import { SCALE_LIMITS } from './scenarios/scale.ts';

const USAGE =
  'usage: flows:generate (--scenario <name|list> | --profile present|realistic) --records <n> --out <file[.gz]> [--seed <int>] ' +
  '[--end <ISO time|unix seconds>] [--span <6h|30m|90s|1d>] [--damaged <0..1>] [--namespaces <n>] [--workloads <n>] [--flows <n>] [--trace-form 3.31|3.32] [--shape compact|full] [--format calico|hubble] [--gzip]\n' +
  '  --format hubble: Hubble jsonpb lines (GetFlowsResponse, as `hubble observe -o jsonpb` prints them) instead of Calico flow-log lines\n' +
  '  --gzip: compress (as an --out ending in .gz does)\n' +
  "  --profile: the bench's record profiles (full-shape records; present: multi-namespace, realistic: 200 namespaces, ~20,000 distinct flows)";

class UsageError extends Error {}

function parseCount(name: string, text: string): number {
  // Digits with optional `_` separators, or a plain exponent form such as 1e6.
  const value = /^\d[\d_]*$/.test(text) ? Number(text.replaceAll('_', '')) : /^\d+(\.\d+)?e\d+$/i.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) throw new UsageError(`--${name} must be a non-negative integer, got "${text}"`);
  return value;
}

function parseSpan(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text);
  const units: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };
  const unit = units[m?.[2] ?? ''] ?? 1;
  const value = m ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new UsageError(`--span must be a positive duration like 6h, 30m or 3600, got "${text}"`);
  return value;
}

function parseEnd(text: string | undefined): number {
  // Default: now, rounded down to a flush boundary, so the sample is recent but reproducible within 5 minutes.
  if (text === undefined) return Math.floor(Date.now() / 1000 / 300) * 300;
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text) / 1000;
  if (!Number.isSafeInteger(value) || value <= 0) throw new UsageError(`--end must be an ISO time or unix seconds, got "${text}"`);
  return value;
}

/** A file of no records is of no use to recommend or simulate, which refuse it: refuse it here. */
function atLeastOne(name: string, n: number): number {
  if (n < 1) throw new UsageError(`--${name} must be at least 1`);
  return n;
}

type Parsed = { help: true } | { list: true } | { out: string; opts: GenerateOptions };

function parseOptions(argv: string[]): Parsed {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        scenario: { type: 'string' },
        records: { type: 'string' },
        out: { type: 'string' },
        seed: { type: 'string' },
        end: { type: 'string' },
        span: { type: 'string' },
        damaged: { type: 'string' },
        namespaces: { type: 'string' },
        workloads: { type: 'string' },
        flows: { type: 'string' },
        'trace-form': { type: 'string' },
        profile: { type: 'string' },
        shape: { type: 'string' },
        format: { type: 'string' },
        gzip: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  if (values.help) return { help: true };
  if (values.scenario === 'list') return { list: true };
  let shape: RecordShape | undefined;
  if (values.profile !== undefined) {
    if (values.scenario !== undefined) throw new UsageError('--profile and --scenario exclude each other (a profile names its scenario)');
    if (!isProfileName(values.profile)) throw new UsageError(`unknown profile "${values.profile}" (known: ${PROFILE_NAMES.join(', ')})`);
    ({ scenario: values.scenario, shape } = PROFILES[values.profile]);
  }
  if (values.shape !== undefined) {
    const named = RECORD_SHAPES.find((s) => s === values.shape);
    if (named === undefined) throw new UsageError(`--shape must be ${RECORD_SHAPES.join(' or ')}, got "${values.shape}"`);
    shape = named;
  }
  if (values.scenario === undefined) throw new UsageError('--scenario or --profile is required (--scenario list shows the names)');
  if (!scenarioNames.includes(values.scenario))
    throw new UsageError(`unknown scenario "${values.scenario}" (known: ${scenarioNames.join(', ')})`);
  if (values.records === undefined) throw new UsageError('--records is required');
  if (!values.out) throw new UsageError('--out is required');
  const damaged = values.damaged === undefined ? 0 : Number(values.damaged);
  if (values.damaged !== undefined && (values.damaged.trim() === '' || !(damaged >= 0 && damaged <= 1))) {
    throw new UsageError(`--damaged must be a fraction in [0, 1], got "${values.damaged}"`);
  }
  if (values.format !== undefined && !FLOW_FORMATS.includes(values.format as FlowFormat))
    throw new UsageError(`--format must be ${FLOW_FORMATS.join(' or ')}, got "${values.format}"`);
  if (values.format === 'hubble' && damaged > 0)
    throw new UsageError('--damaged applies to --format calico only (the damage is made of Calico fields)');
  const opts: GenerateOptions = {
    scenario: values.scenario,
    records: atLeastOne('records', parseCount('records', values.records)),
    endTime: parseEnd(values.end),
    spanSeconds: values.span === undefined ? DEFAULT_SPAN_SECONDS : parseSpan(values.span),
    damagedRatio: damaged,
    ...(shape === undefined ? {} : { shape }),
    ...(values.format === undefined ? {} : { format: values.format as FlowFormat }),
    ...(values.gzip ? { gzip: true } : {}),
  };
  if (values.seed !== undefined) {
    if (!/^-?\d+$/.test(values.seed) || !Number.isSafeInteger(Number(values.seed)))
      throw new UsageError(`--seed must be an integer, got "${values.seed}"`);
    opts.seed = Number(values.seed);
  }
  if (values.namespaces !== undefined) {
    if (!['multi-namespace', 'realistic', 'scale', 'hub'].includes(opts.scenario ?? ''))
      throw new UsageError('--namespaces applies only to --scenario multi-namespace, realistic, scale or hub');
    const n = parseCount('namespaces', values.namespaces);
    const max = opts.scenario === 'scale' || opts.scenario === 'hub' ? SCALE_LIMITS.namespaces : 500;
    if (n < 1 || n > max) throw new UsageError(`--namespaces must be in [1, ${max}], got ${n}`);
    opts.namespaces = n;
  }
  for (const name of ['workloads', 'flows'] as const) {
    const text = values[name];
    if (text === undefined) continue;
    if (opts.scenario !== 'scale') throw new UsageError(`--${name} applies only to --scenario scale`);
    const n = parseCount(name, text);
    if (n < 1 || n > SCALE_LIMITS[name]) throw new UsageError(`--${name} must be in [1, ${SCALE_LIMITS[name]}], got ${n}`);
    opts[name] = n;
  }
  const traceForm = values['trace-form'];
  if (traceForm !== undefined) {
    if (traceForm !== '3.31' && traceForm !== '3.32')
      throw new UsageError(`--trace-form must be 3.31 (Calico up to 3.31) or 3.32 (3.32 and later), got "${traceForm}"`);
    opts.traceForm = traceForm;
  }
  if ((opts.spanSeconds ?? 0) > opts.endTime) throw new UsageError('--span reaches before the Unix epoch');
  return { out: values.out, opts };
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    // The command line's one error format (src/cli/main.ts).
    process.stderr.write(`policy-recommender: flows:generate: ${err.message} (--help shows usage)\n`);
    return 2;
  }
  if ('help' in parsed) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if ('list' in parsed) {
    process.stdout.write(`${describeScenarios().join('\n')}\n`);
    return 0;
  }
  const { out, opts } = parsed;
  const started = performance.now();
  let written;
  try {
    written = await writeFlowFile(out, opts);
  } catch (err) {
    process.stderr.write(`policy-recommender: flows:generate: cannot write ${out}: ${(err as Error).message}\n`);
    return 1;
  }
  const { records, damaged } = written;
  const seconds = (performance.now() - started) / 1000;
  const end = new Date(opts.endTime * 1000).toISOString();
  process.stdout.write(
    `wrote ${records} records (${damaged} damaged) of scenario ${opts.scenario} to ${out}, ending ${end}, in ${seconds.toFixed(1)} s\n`,
  );
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
