// The CLI's account of a run, rendered from the run's data: what was read, what each namespace's
// (and, with microsegmentation, each workload's) policy now allows and why, what was written, and
// every warning.

import { protocolName } from '../calico/protocol.ts';
import { formatTime } from '../engine/provenance.ts';
import type { NamespaceReport, RuleReport, Warning, WorkloadReport } from '../engine/report.ts';
import type { FlowReading } from '../flows/read-flows.ts';
import type { SkipSummary } from '../flows/skip-report.ts';
import { describeUnmatched } from '../plan/plan-workloads.ts';
import { appendAll } from '../util/append.ts';
import type { DirectoryRun } from './recommend-directory.ts';
import { formatTable } from './table.ts';

const number = new Intl.NumberFormat('en-US');

export function renderSummary(run: DirectoryRun, outDir: string, dryRun: boolean): string {
  const { flows, plan } = run;
  const lines: string[] = [];
  const obs = flows.observations;
  lines.push(
    `Read ${number.format(flows.inputsRead)} lines from ${flows.source}: ${number.format(obs.recordsSeen)} flow records, ` +
      `${number.format(obs.recordsLearned)} learned from (window ${formatTime(flows.window.from)} to ${formatTime(flows.window.to)}).`,
  );
  const notLearned = Object.entries(obs.notLearned);
  if (notLearned.length > 0) {
    lines.push(`  Not learned: ${notLearned.map(([reason, n]) => `${number.format(n)} ${reason}`).join(', ')}.`);
  }
  if (flows.skipped.total > 0) lines.push(describeSkipped(flows.skipped));
  if (flows.unlearnable.total > 0) lines.push(describeUnlearnable(flows.unlearnable));
  lines.push('');

  if (plan.namespaces.length === 0) lines.push('No namespace has traffic to learn from.');
  else appendAll(lines, namespaceTable(plan.namespaces));
  const quiet = plan.namespaces.filter((n) => n.outcome !== 'skipped' && n.rules.every((r) => r.flows === 0)).map((n) => n.namespace);
  if (quiet.length > 0) {
    lines.push('', `No flows in this window: ${quiet.join(', ')} (not Stable however long unchanged: nothing watched them).`);
  }
  if (plan.notSelected.length > 0) {
    lines.push('', `Not selected by namespaceSpec.selector: ${plan.notSelected.join(', ')}.`);
  }
  for (const ns of plan.namespaces) {
    if (ns.rules.length === 0) continue;
    lines.push('', `${ns.namespace} (${ns.path}):`);
    for (const rule of ns.rules) lines.push(`  ${describeRule(rule)}`);
  }
  appendAll(lines, microsegmentationLines(run));

  const warnings: Warning[] = [
    ...plan.warnings,
    ...plan.namespaces.flatMap((n) => n.warnings),
    ...plan.workloads.flatMap((w) => w.warnings),
  ];
  const reading = readingWarnings(flows);
  if (warnings.length + reading.length > 0) {
    lines.push('', `Warnings (${warnings.length + reading.length}):`);
    for (const w of reading) lines.push(`  ${w}`);
    for (const w of warnings) lines.push(`  ${w.workload ? `${w.workload}: ` : w.namespace ? `${w.namespace}: ` : ''}${w.message}`);
  }

  lines.push('');
  const changed = [...plan.changes.keys()];
  if (changed.length === 0) lines.push(`No changes: ${outDir} is up to date.`);
  else if (dryRun) lines.push(`Dry run: ${changed.length} files would change in ${outDir}; nothing was written.`);
  else {
    // Ten names at most: at thousands of namespaces the whole list is one line of hundreds of KB.
    const named = changed.length > 10 ? `${changed.slice(0, 10).join(', ')} and ${changed.length - 10} more` : changed.join(', ');
    lines.push(`Wrote ${changed.length} files to ${outDir}: ${named}.`);
  }
  return lines.join('\n');
}

/**
 * What about the input a person should act on, though the run could go on: malformed lines (a
 * run where every line is malformed fails instead: flows/read-flows.ts unusableReading), and flow
 * records none of which fell in the window (a wrong --now, or logs older than initialLookback).
 */
export function readingWarnings(flows: FlowReading): string[] {
  const warnings: string[] = [];
  if (flows.skipped.total > 0) {
    warnings.push(
      `${number.format(flows.skipped.total)} of ${number.format(flows.inputsRead)} lines were skipped as malformed (see "Skipped" above)`,
    );
  }
  const obs = flows.observations;
  const outside = obs.notLearned['outside the lookback window'] ?? 0;
  if (outside > 0 && obs.recordsLearned === 0) {
    warnings.push(
      `no flow record was learned from: ${number.format(outside)} of the ${number.format(obs.recordsSeen)} fell outside the window ` +
        `${formatTime(flows.window.from)} to ${formatTime(flows.window.to)} (check --now, or initialLookback in --config)`,
    );
  }
  return warnings;
}

/** The malformed lines a reading skipped, by reason, with the first locations. */
export function describeSkipped(skipped: SkipSummary): string {
  const reasons = Object.entries(skipped.byReason)
    .map(([reason, n]) => `${number.format(n)} ${reason}`)
    .join(', ');
  const first = skipped.examples.map((e) => `${e.location} (${e.reason})`).join(', ');
  return `  Skipped ${number.format(skipped.total)} malformed lines: ${reasons}. First: ${first}.`;
}

/** The well-formed inputs that carry nothing to learn, by reason. */
export function describeUnlearnable(unlearnable: SkipSummary): string {
  const reasons = Object.entries(unlearnable.byReason)
    .map(([reason, n]) => `${number.format(n)} ${reason}`)
    .join(', ');
  return `  Nothing to learn from ${number.format(unlearnable.total)} well-formed inputs: ${reasons}.`;
}

/** Microsegmentation: where the workloads came from, their policies and rules, and what no workload learned. */
function microsegmentationLines({ plan }: DirectoryRun): string[] {
  const m = plan.microsegmentation;
  if (m === null) return [];
  const from = m.source === 'cluster' ? 'the cluster' : 'the flow records';
  const lines = [
    '',
    `Microsegmentation (tier ${m.tier}; ${number.format(m.workloadsKnown)} workloads known from ${from}; namespaces: ${m.namespaces.join(', ') || 'none'}):`,
  ];
  if (plan.workloads.length === 0) lines.push('  No selected workload has traffic to learn from.');
  else
    appendAll(
      lines,
      reportTable(plan.workloads, 'WORKLOAD', (w) => (w as WorkloadReport).key).map((line) => `  ${line}`),
    );
  const unattributed = m.unattributed;
  if (unattributed.length > 0) {
    const flows = unattributed.reduce((n, u) => n + u.flows, 0);
    const first = unattributed.slice(0, 5).map((u) => `${u.namespace}/${u.name} (${u.reason}: ${u.detail})`);
    lines.push(
      `  Not attributed to a workload: ${unattributed.length} endpoints, ${number.format(flows)} flows, learned by no workload policy: ${first.join(', ')}${unattributed.length > 5 ? ', ...' : ''}.`,
    );
  }
  const unmatched = describeUnmatched(m);
  if (unmatched !== null) lines.push(`  ${unmatched}.`);
  for (const w of plan.workloads) {
    if (w.rules.length === 0) continue;
    lines.push('', `${w.key} (${w.path}, selector ${w.selector}):`);
    for (const rule of w.rules) lines.push(`  ${describeRule(rule)}`);
  }
  return lines;
}

function namespaceTable(reports: readonly NamespaceReport[]): string[] {
  return reportTable(reports, 'NAMESPACE', (r) => r.namespace);
}

function reportTable(reports: readonly NamespaceReport[], heading: string, name: (r: NamespaceReport) => string): string[] {
  const rows = [
    [heading, 'STATUS', 'OUTCOME', 'INGRESS', 'EGRESS', 'LAST UPDATED'],
    ...reports.map((r) => [
      name(r),
      r.status,
      r.outcome,
      String(r.rules.filter((x) => x.direction === 'ingress').length),
      String(r.rules.filter((x) => x.direction === 'egress').length),
      r.lastUpdated ?? '-',
    ]),
  ];
  return formatTable(rows);
}

export function describeRule(rule: RuleReport): string {
  const ports = rule.ports.length > 0 ? ` ${rule.ports.join(',')}` : '';
  const way = rule.direction === 'ingress' ? 'from' : 'to';
  const evidence =
    rule.flows > 0
      ? `${number.format(rule.flows)} ${rule.flows === 1 ? 'flow' : 'flows'}, ${formatTime(rule.firstSeen!)} .. ${formatTime(rule.lastSeen!)}`
      : 'no flows in this window';
  return `${rule.direction.padEnd(7)} ${rule.action.padEnd(5)} ${protocolName(rule.protocol)}${ports} ${way} ${rule.remote}  [${rule.category}; ${evidence}]${rule.changed ? ' (new)' : ''}`;
}
