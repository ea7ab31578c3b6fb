// What a PR's policies would do to the flows observed, for its body: the observed flows run
// through the policies tree as the PR would leave it, with the denied and undecidable ones
// listed, with Calico's semantics or, for the cilium flavour, Cilium's (one checkProposal for both). Each PR asks its own question (a view): what its policies would deny once enforced,
// with every other policy as the cluster has it now. Pure.

import { protocolName } from '../../calico/protocol.ts';
import type { Flavor } from '../../config/recommendation-config.ts';
import type { PolicySetOptions, PolicyView } from '../../simulate/policy-set.ts';
import { deciderLabel, type FlowRow } from '../../simulate/report.ts';
import { checkProposal, type ProposalCheck, type SimulatedFlow } from '../../simulate/would-deny.ts';
import type { TreeFiles } from '../../tree/tree.ts';
import type { SimulatedFlowRow, SimulationSummary } from './unit.ts';

/** A PR's question: which policies are applied, and how the PR body says it. */
export interface SimulationQuestion {
  /** Calico's policy view; Cilium has no staged policies, so for the cilium flavour every policy of the tree applies. */
  readonly view: PolicyView;
  /** One sentence for the PR body: what was applied. */
  readonly asked: string;
}

export function simulate(
  tree: TreeFiles,
  flows: readonly SimulatedFlow[],
  cluster: PolicySetOptions,
  question: SimulationQuestion,
  flavor: Flavor,
): { summary: SimulationSummary; check: ProposalCheck } {
  const check = checkProposal({ tree, flows, cluster, view: question.view, cni: flavor === 'cilium' ? 'cilium' : 'calico' });
  return {
    check,
    summary: {
      flows: check.totals.all.rows,
      records: check.totals.all.flows,
      asked: question.asked,
      denied: check.denied.map((row) => summaryRow(row, row.decisions.map(deciderLabel).join(', '))),
      indeterminate: check.indeterminate.map((row) => summaryRow(row, row.unknowns.join('; '))),
    },
  };
}

function summaryRow(row: FlowRow, reason: string): SimulatedFlowRow {
  // The learner never learns traffic with a host endpoint: say so where such a flow is listed.
  const learned = row.peer.type !== 'hep';
  const end = (e: FlowRow['endpoint']) => (e.namespace === null ? e.name : `${e.namespace}/${e.name}`);
  const peer = row.peer.type === 'hep' ? `host endpoint ${end(row.peer)}` : end(row.peer);
  return {
    direction: row.direction,
    endpoint: end(row.endpoint),
    peer: row.service === null ? peer : `${peer} (service ${row.service})`,
    protocol: protocolName(row.protocol),
    port: row.port,
    flows: row.flows,
    reason: learned ? reason : `not learned (a host endpoint has no stable peer a rule could name); ${reason}`,
  };
}
