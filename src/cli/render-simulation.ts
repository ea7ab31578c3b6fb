// The CLI's account of a simulation: what was read and against which policies, each distinct flow
// with its verdict and what decided it, why undecided flows could not be decided, and totals.

import { protocolName } from '../calico/protocol.ts';
import { formatTime } from '../engine/provenance.ts';
import { type Decision, policyLabel } from '../simulate/evaluate.ts';
import type { EndRef, FlowRow } from '../simulate/report.ts';
import type { DirectorySimulation } from './simulate-directory.ts';
import { describeSkipped, describeUnlearnable, readingWarnings } from './summary.ts';
import { formatTable, tableLines } from './table.ts';

const number = new Intl.NumberFormat('en-US');

function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${number.format(n)} ${n === 1 ? singular : plural}`;
}

function describeDecision(d: Decision): string {
  switch (d.by) {
    case 'rule':
      return `${policyLabel(d.policy)}${d.policy.staged ? ' (staged)' : ''} ${d.direction}[${d.rule}] ${d.action}`;
    case 'tier-default':
      return `tier ${d.tier} default action Deny`;
    case 'profile':
      return `profile ${d.profile} Allow`;
    case 'no-profile':
      return 'no profile: Deny';
    case 'cilium':
      return d.policies.length > 0 ? `${d.policies.join(', ')} ${d.action}` : `${d.reason}: ${d.action}`;
  }
}

function describeEnd(end: EndRef): string {
  switch (end.type) {
    case 'wep':
      return `${end.namespace}/${end.name}`;
    case 'ns':
      return end.namespace === null ? `globalnetworkset ${end.name}` : `networkset ${end.namespace}/${end.name}`;
    case 'hep':
      return `hep ${end.name}`;
    case 'net':
      return end.name;
  }
}

function describePeer(row: FlowRow): string {
  return row.service === null ? describeEnd(row.peer) : `${describeEnd(row.peer)} (service ${row.service})`;
}

export function renderSimulation(sim: DirectorySimulation): string {
  return Array.from(simulationLines(sim)).join('\n');
}

/**
 * The lines of renderSimulation, one at a time: the table has a row per distinct flow (a million
 * and more), and the whole text at once cost gigabytes (its cells, its lines, then the text).
 */
export function* simulationLines(sim: DirectorySimulation): Generator<string> {
  const { flows, policies, totals } = sim;
  let lines: string[] = [];
  const view =
    policies.cni === 'cilium'
      ? 'as Cilium enforces them, at the end that reported each flow'
      : policies.view === 'staged'
        ? 'staged policies applied as if enforced'
        : 'enforced policies only';
  const kind = policies.cni === 'cilium' ? 'Cilium policy' : 'policy';
  lines.push(
    `Simulated ${count(sim.simulated, 'flow record')} from ${flows.source} (window ${formatTime(flows.window.from)} to ${formatTime(flows.window.to)}) ` +
      `against ${count(policies.count, kind, `${kind.replace(/y$/, '')}ies`)} in ${policies.dir}, ${view}.`,
  );
  if (flows.skipped.total > 0) lines.push(describeSkipped(flows.skipped));
  if (flows.unlearnable.total > 0) lines.push(describeUnlearnable(flows.unlearnable));
  if (policies.warnings.length > 0) {
    lines.push('', `Skipped objects (${policies.warnings.length}):`);
    for (const w of policies.warnings) lines.push(`  ${w.path}: ${w.object === null ? '' : `${w.object}: `}${w.message}`);
  }

  lines.push('');
  if (sim.rows.length === 0) lines.push('No flow records in the window.');
  else {
    yield* lines;
    lines = [];
    yield* tableLines(['VERDICT', 'DIRECTION', 'ENDPOINT', 'PEER', 'PROTO', 'PORT', 'FLOWS', 'DECIDED BY'], sim.rows, (row) => [
      row.verdict,
      row.direction,
      describeEnd(row.endpoint),
      describePeer(row),
      protocolName(row.protocol),
      row.port === null ? '-' : String(row.port),
      number.format(row.flows),
      row.decisions.map(describeDecision).join(row.verdict === 'indeterminate' ? ' | ' : ' or ') || '-',
    ]);
  }

  const reasons = new Map<string, number>();
  for (const row of sim.rows) if (row.verdict === 'indeterminate') for (const r of row.unknowns) reasons.set(r, (reasons.get(r) ?? 0) + 1);
  if (reasons.size > 0) {
    lines.push('', 'Why some flows are indeterminate (what the flow logs cannot tell):');
    for (const [reason, rows] of [...reasons].sort((a, b) => b[1] - a[1])) lines.push(`  ${reason} (${count(rows, 'distinct flow')})`);
  }

  const warnings = readingWarnings(flows);
  if (warnings.length > 0) lines.push('', `Warnings (${warnings.length}):`, ...warnings.map((w) => `  ${w}`));

  const { allowed, denied, indeterminate } = totals.byVerdict;
  lines.push(
    '',
    `Totals: ${count(totals.all.rows, 'distinct flow')} (${count(totals.all.records, 'record')}, ${count(totals.all.flows, 'flow')}): ` +
      `${number.format(allowed.rows)} allowed (${count(allowed.flows, 'flow')}), ${number.format(denied.rows)} denied (${count(denied.flows, 'flow')}), ` +
      `${number.format(indeterminate.rows)} indeterminate (${count(indeterminate.flows, 'flow')}).`,
  );
  if (totals.byDecider.length > 0) {
    lines.push('By what decided (flows):');
    lines.push(
      ...formatTable([
        ['  DECIDED BY', 'ALLOWED', 'DENIED'],
        ...totals.byDecider.map((t) => [`  ${t.decider}${t.staged ? ' (staged)' : ''}`, number.format(t.allowed), number.format(t.denied)]),
      ]),
    );
  }
  yield* lines;
}

/** The same as one JSON document. */
export function simulationJson(sim: DirectorySimulation): string {
  return JSON.stringify(
    {
      source: sim.flows.source,
      inputsRead: sim.flows.inputsRead,
      skipped: sim.flows.skipped,
      unlearnable: sim.flows.unlearnable,
      window: { from: formatTime(sim.flows.window.from), to: formatTime(sim.flows.window.to) },
      records: sim.simulated,
      policies: sim.policies,
      flows: sim.rows,
      totals: sim.totals,
    },
    null,
    2,
  );
}
