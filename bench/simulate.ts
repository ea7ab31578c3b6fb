// Simulation bench: `node bench/simulate.ts [records] [--runs N]` (default 1,000,000 records, 2 runs).
//
// Setup, not timed: the multi-namespace scenario's flow file (the generator the file bench uses),
// and the recommender run on it into a temporary policies directory with microsegmentation on for
// every workload (`select.selector: all()`), so the policy set is the largest the recommender
// makes of the scenario: the template's tiers and staged global default deny, a staged policy per
// namespace in tier namespace-isolation and a staged policy per workload in tier appsec.
// Each measurement runs in a child process of its own, so its peak RSS is its own:
// - ours: what `policy-recommender simulate --flows <file> --policies <dir>` does, minus printing
//   (simulateDirectory, default configuration, staged view): load the directory, read the file
//   with the file source through readFlows, decide every record with the Simulator and fold it
//   into the report, then the report's rows and totals;
// - baseline: the same read without the simulation: the file source through readFlows (whose
//   aggregation the simulate command runs too), no policies, no evaluation, no report.
// The ratio is therefore what evaluating and reporting cost on top of reading. Runs alternate and
// medians and spread are reported (bench/support.ts); only the work is timed, after the modules are loaded.
// Every record is evaluated, not only those the recommender learned from, so some are denied:
// flows the scenario's own policies decided (its platform tier is not in the directory), flows its
// staged quarantine denies, and host-endpoint peers, which the recommender skips as Calico's does.
//
// Flow x policy evaluations per second: records x the policies in force in the staged view, over
// ours' median time. A nominal figure: the Simulator caches verdicts by everything a verdict depends
// on, so a record whose flow was decided before costs a key and a lookup, not a policy walk. The
// policies the evaluator may look at for a record are fewer than all: those of the reporting
// endpoint's namespace and the global ones with rules in the flow's direction, in every tier (it
// stops at the tier that decides). Their average per record is reported too, computed after the
// runs from the report's rows, so the evaluator does no counting.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EvaluationPlan } from '../src/simulate/policy-set.ts';
import type { Direction } from '../src/simulate/policy-terms.ts';
import type { FlowRow } from '../src/simulate/report.ts';
import {
  type Comparison,
  compareWithBaseline,
  count,
  generateFlowFile,
  measureInChild,
  measureMode,
  parseStandaloneArgs,
  printStandaloneResult,
  round,
  runMain,
  type Work,
  withTempDir,
} from './support.ts';

const SELF = fileURLToPath(import.meta.url);
const SCENARIO = 'multi-namespace';
export const SIMULATE_DEFAULT_RECORDS = 1_000_000;
const DEFAULT_RUNS = 2;
/** Every workload of every namespace the default scope selects gets a per-workload policy. */
const MICROSEGMENT_SELECTOR = 'all()';

export interface SimulateResult extends Comparison {
  readonly scenario: string;
  readonly fileMb: number;
  /** Policies in force in the staged view: the multiplier of evaluationsPerSec. */
  readonly policies: number;
  /** Policies in force by tier, in evaluation order. */
  readonly policiesByTier: Readonly<Record<string, number>>;
  /** records x policies / ours' median seconds. */
  readonly evaluationsPerSec: number;
  /** Average per record of the policies indexed for its reporting endpoint and direction, over all tiers. */
  readonly candidatePoliciesPerRecord: number;
  /** records x candidatePoliciesPerRecord / ours' median seconds. */
  readonly candidateEvaluationsPerSec: number;
  /** Rows of the simulation report: distinct (direction, endpoint, peer, service, protocol, port, verdict, decisions). */
  readonly reportRows: number;
  readonly verdicts: { readonly allowed: number; readonly denied: number; readonly indeterminate: number };
}

export async function benchSimulate(records: number, options: { runs?: number } = {}): Promise<SimulateResult> {
  if (!Number.isSafeInteger(records) || records < 1) throw new RangeError(`records must be a positive integer, got ${records}`);
  const runs = options.runs ?? DEFAULT_RUNS;
  return withTempDir(async (dir) => {
    const file = join(dir, `flows-${records}.jsonl`);
    const policiesDir = join(dir, 'policies');
    const { now, fileMb } = await generateFlowFile(file, SCENARIO, records);
    const { plan, byTier } = await recommendPolicies(file, policiesDir, now);
    console.log(
      `  ${plan.policyCount} policies in force (staged view): ${Object.entries(byTier)
        .map(([tier, n]) => `${tier} ${n}`)
        .join(', ')}`,
    );

    const comparison = await compareWithBaseline(
      records,
      runs,
      (mode) => measureInChild([SELF, '--measure', mode, file, policiesDir, String(now)], `simulate ${mode} worker`),
      (m) => {
        if (m.details['skipped'] !== 0) throw new Error(`${m.mode} skipped ${String(m.details['skipped'])} of ${records} valid records`);
        if (m.mode === 'baseline') return;
        if (m.details['simulated'] !== records) throw new Error(`ours simulated ${String(m.details['simulated'])} of ${records} records`);
        if (m.details['policies'] !== plan.policyCount)
          throw new Error(`ours evaluated ${String(m.details['policies'])} policies, the directory has ${plan.policyCount}`);
      },
    );
    const { details } = comparison;
    // The median run's time, as recordsPerSec (bench/support.ts compareWithBaseline).
    const seconds = comparison.ours.wallMs.median / 1000;
    const candidates = candidatesPerRecord(plan, details['recordsByEndpoint'] as Record<string, number>, records);
    const result: SimulateResult = {
      ...comparison,
      scenario: SCENARIO,
      fileMb: round(fileMb, 1),
      policies: plan.policyCount,
      policiesByTier: byTier,
      evaluationsPerSec: Math.round((records * plan.policyCount) / seconds),
      candidatePoliciesPerRecord: round(candidates, 2),
      candidateEvaluationsPerSec: Math.round((records * candidates) / seconds),
      reportRows: details['rows'] as number,
      verdicts: details['verdicts'] as SimulateResult['verdicts'],
    };
    console.log(
      `  simulate: ${count(result.recordsPerSec)} records/s x ${result.policies} policies in force = ${count(result.evaluationsPerSec)} flow x policy evaluations/s ` +
        `(nominal: verdicts are cached per distinct flow); ${result.candidatePoliciesPerRecord} policies indexed per record's endpoint on average = ` +
        `${count(result.candidateEvaluationsPerSec)}/s; ${count(result.reportRows)} report rows; records ${count(result.verdicts.allowed)} allowed, ` +
        `${count(result.verdicts.denied)} denied, ${count(result.verdicts.indeterminate)} indeterminate`,
    );
    return result;
  });
}

/**
 * Setup: `policy-recommender recommend` with every workload microsegmented, into `outDir`; the
 * set's staged plan and its policies in force by tier, in evaluation order.
 */
async function recommendPolicies(
  file: string,
  outDir: string,
  now: number,
): Promise<{ plan: EvaluationPlan; byTier: Record<string, number> }> {
  const [
    { FileFlowSource },
    { recommendIntoDirectory },
    { validateRecommendationConfig },
    { loadTree },
    { effectivePolicies, policySetFromTree },
  ] = await Promise.all([
    import('../src/flows/sources/file-source.ts'),
    import('../src/cli/recommend-directory.ts'),
    import('../src/config/recommendation-config.ts'),
    import('../src/tree/fs-tree.ts'),
    import('../src/simulate/policy-set.ts'),
  ]);
  const config = validateRecommendationConfig(
    { microsegmentation: { enabled: true, select: { selector: MICROSEGMENT_SELECTOR } } },
    'the simulate bench',
  );
  const started = performance.now();
  const run = await recommendIntoDirectory({ source: await FileFlowSource.open([file]), outDir, config, now, dryRun: false });
  console.log(
    `recommended into a policies directory (microsegmentation: selector ${MICROSEGMENT_SELECTOR}): ${run.plan.changes.size} files, ` +
      `${run.plan.namespaces.length} namespaces, ${run.plan.workloads.length} workloads, in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const set = policySetFromTree(await loadTree(outDir));
  if (set.warnings.length > 0)
    throw new Error(`the recommended policies do not load: ${set.warnings.map((w) => `${w.path}: ${w.message}`).join('; ')}`);
  const plan = set.plan('staged');
  const inForce = effectivePolicies('staged', set.policies);
  const byTier = Object.fromEntries(plan.tiers.map((tier) => [tier.name, inForce.filter((p) => p.tier === tier.name).length]));
  return { plan, byTier };
}

/** Records by the reporting endpoint's direction, type and namespace: `egress|wep|payments`. */
function recordsByEndpoint(rows: readonly FlowRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const row of rows) {
    const key = `${row.direction}|${row.endpoint.type}|${row.endpoint.namespace ?? ''}`;
    out[key] = (out[key] ?? 0) + row.records;
  }
  return out;
}

/** What the evaluator's index offers per record: policies for the endpoint's namespace and direction, over all tiers. */
function candidatesPerRecord(plan: EvaluationPlan, byEndpoint: Readonly<Record<string, number>>, records: number): number {
  let total = 0;
  for (const [key, n] of Object.entries(byEndpoint)) {
    const [direction, type, namespace] = key.split('|') as [Direction, string, string];
    // The evaluator decides network and network-set ends without policies (Calico applies none there).
    if (type !== 'wep' && type !== 'hep') continue;
    const indexed = plan.tiers.reduce((sum, tier) => sum + tier.policiesFor(type === 'wep' ? namespace : null, direction).length, 0);
    total += n * indexed;
  }
  return total / records;
}

// ---------------------------------------------------------------- child: one measurement

async function ours(file: string, policiesDir: string, now: number): Promise<Work> {
  const [{ FileFlowSource }, { simulateDirectory }, { DEFAULT_CONFIG }] = await Promise.all([
    import('../src/flows/sources/file-source.ts'),
    import('../src/cli/simulate-directory.ts'),
    import('../src/config/recommendation-config.ts'),
  ]);
  return async () => {
    const source = await FileFlowSource.open([file]);
    const sim = await simulateDirectory({ source, policiesDir, config: DEFAULT_CONFIG, now, view: 'staged' });
    const { byVerdict } = sim.totals;
    return {
      records: sim.flows.inputsRead,
      details: {
        skipped: sim.flows.skipped.total,
        simulated: sim.simulated,
        policies: sim.policies.count,
        rows: sim.rows.length,
        verdicts: { allowed: byVerdict.allowed.records, denied: byVerdict.denied.records, indeterminate: byVerdict.indeterminate.records },
        recordsByEndpoint: recordsByEndpoint(sim.rows),
      },
    };
  };
}

async function baseline(file: string, now: number): Promise<Work> {
  const [{ FileFlowSource }, { readFlows }, { DEFAULT_CONFIG }] = await Promise.all([
    import('../src/flows/sources/file-source.ts'),
    import('../src/flows/read-flows.ts'),
    import('../src/config/recommendation-config.ts'),
  ]);
  return async () => {
    const flows = await readFlows(await FileFlowSource.open([file]), DEFAULT_CONFIG, now);
    return { records: flows.inputsRead, details: { skipped: flows.skipped.total, recordsLearned: flows.observations.recordsLearned } };
  };
}

function measure(argv: readonly string[]): Promise<void> {
  const [mode, file = '', policiesDir = '', now] = argv;
  return measureMode(
    mode,
    { ours: () => ours(file, policiesDir, Number(now)), baseline: () => baseline(file, Number(now)) },
    'simulate.ts --measure baseline|ours <file> <policies dir> <now>',
  );
}

// ---------------------------------------------------------------- command line

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--measure') return measure(argv.slice(1));
  const { records, runs } = parseStandaloneArgs(argv, { records: SIMULATE_DEFAULT_RECORDS, runs: DEFAULT_RUNS });
  console.log(
    `simulate bench: ${count(records)} records of the ${SCENARIO} scenario against the recommender's policies for them, ${runs} alternating runs per mode`,
  );
  printStandaloneResult({ bench: 'simulate', runsPerMode: runs }, await benchSimulate(records, { runs }));
}

if (process.argv[1] === SELF) runMain('simulate bench', () => main(process.argv.slice(2)));
