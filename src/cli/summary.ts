// The CLI's account of a run, rendered from the run's data: what was read, what each namespace's
// policy now allows and why, what was written, and every warning.

import type { NamespaceReport, RuleReport, Warning } from '../engine/report.ts';
import { formatTime } from '../engine/provenance.ts';
import type { SkipSummary } from '../flows/skip-report.ts';
import type { DirectoryRun } from '../pipeline/run.ts';
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
  lines.push('');

  if (plan.namespaces.length === 0) lines.push('No namespace has traffic to learn from.');
  else lines.push(...namespaceTable(plan.namespaces));
  if (plan.notSelected.length > 0) {
    lines.push('', `Not selected by namespaceSpec.selector: ${plan.notSelected.join(', ')}.`);
  }
  for (const ns of plan.namespaces) {
    if (ns.rules.length === 0) continue;
    lines.push('', `${ns.namespace} (${ns.path}):`);
    for (const rule of ns.rules) lines.push(`  ${describeRule(rule)}`);
  }

  const warnings: Warning[] = [...plan.warnings, ...plan.namespaces.flatMap((n) => n.warnings)];
  if (warnings.length > 0) {
    lines.push('', `Warnings (${warnings.length}):`);
    for (const w of warnings) lines.push(`  ${w.namespace ? `${w.namespace}: ` : ''}${w.message}`);
  }

  lines.push('');
  const changed = [...plan.changes.keys()];
  if (changed.length === 0) lines.push(`No changes: ${outDir} is up to date.`);
  else if (dryRun) lines.push(`Dry run: ${changed.length} files would change in ${outDir}; nothing was written.`);
  else lines.push(`Wrote ${changed.length} files to ${outDir}: ${changed.join(', ')}.`);
  return lines.join('\n');
}

/** The malformed lines a reading skipped, by reason, with the first locations. */
export function describeSkipped(skipped: SkipSummary): string {
  const reasons = Object.entries(skipped.byReason).map(([reason, n]) => `${number.format(n)} ${reason}`).join(', ');
  const first = skipped.examples.map((e) => `${e.location} (${e.reason})`).join(', ');
  return `  Skipped ${number.format(skipped.total)} malformed lines: ${reasons}. First: ${first}.`;
}

function namespaceTable(reports: readonly NamespaceReport[]): string[] {
  const rows = [
    ['NAMESPACE', 'STATUS', 'OUTCOME', 'INGRESS', 'EGRESS', 'LAST UPDATED'],
    ...reports.map((r) => [
      r.namespace,
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
    rule.flows > 0 ? `${number.format(rule.flows)} ${rule.flows === 1 ? 'flow' : 'flows'}, ${formatTime(rule.firstSeen!)} .. ${formatTime(rule.lastSeen!)}` : 'no flows in this window';
  return `${rule.direction.padEnd(7)} ${rule.action.padEnd(5)} ${rule.protocol}${ports} ${way} ${rule.peers.join(', ')}  [${rule.category}; ${evidence}]${rule.changed ? ' (new)' : ''}`;
}
