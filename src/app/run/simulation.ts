// What a PR's policies would do to the flows observed, for its body: the observed flows run
// through the policies tree as the PR would leave it (staged policies as if enforced), with the
// denied and undecidable ones listed. Pure.

import type { Labels } from '../../calico/selector.ts';
import type { TreeFiles } from '../../repo/tree.ts';
import { deciderLabel, type FlowRow } from '../../simulate/report.ts';
import { checkProposal, type ProposalCheck, type SimulatedFlow } from '../../simulate/would-deny.ts';
import type { SimulatedFlowRow, SimulationSummary } from './decide.ts';

export function simulate(tree: TreeFiles, flows: readonly SimulatedFlow[], namespaces?: ReadonlyMap<string, Labels>): { summary: SimulationSummary; check: ProposalCheck } {
  const check = checkProposal({ tree, flows, ...(namespaces ? { namespaces } : {}) });
  return {
    check,
    summary: {
      flows: check.totals.all.rows,
      records: check.totals.all.flows,
      denied: check.denied.map((row) => summaryRow(row, row.decisions.map(deciderLabel).join(', '))),
      indeterminate: check.indeterminate.map((row) => summaryRow(row, row.unknowns.join('; '))),
    },
  };
}

function summaryRow(row: FlowRow, reason: string): SimulatedFlowRow {
  const end = (e: FlowRow['endpoint']) => (e.namespace === null ? e.name : `${e.namespace}/${e.name}`);
  return {
    direction: row.direction,
    endpoint: end(row.endpoint),
    peer: row.service === null ? end(row.peer) : `${end(row.peer)} (service ${row.service})`,
    protocol: String(row.protocol),
    port: row.port,
    flows: row.flows,
    reason,
  };
}
