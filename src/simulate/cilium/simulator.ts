// Decides flow records with Cilium policies, at the end that reported each record (a Hubble flow's
// traffic direction: egress at the source, ingress at the destination), in the simulator's own
// terms (evaluate.ts Verdict) so the report and the command line serve both CNIs.

import type { CiliumPolicy } from '../../cilium/types.ts';
import type { Decision, FlowFacts, Verdict, VerdictKind } from '../evaluate.ts';
import { evaluateCiliumFlow, type LegVerdict, type PolicyRef } from './evaluate.ts';
import type { CiliumOptions } from './flow.ts';
import { ciliumFlowOf } from './from-record.ts';

const MAX_CACHED = 100_000;
const VERDICTS: Readonly<Record<LegVerdict['verdict'], VerdictKind>> = { allowed: 'allowed', denied: 'denied', unknown: 'indeterminate' };

function ciliumPolicyLabel(policy: PolicyRef): string {
  if (policy.namespace === null) return `${policy.name} (clusterwide)`;
  return policy.kind === 'NetworkPolicy' ? `${policy.namespace}/${policy.name} (NetworkPolicy)` : `${policy.namespace}/${policy.name}`;
}

export class CiliumSimulator {
  readonly #cache = new Map<string, Verdict>();

  readonly policies: readonly CiliumPolicy[];
  readonly #options: CiliumOptions;

  constructor(policies: readonly CiliumPolicy[], options: CiliumOptions = {}) {
    this.policies = policies;
    this.#options = options;
  }

  evaluate(record: FlowFacts): Verdict {
    const flow = ciliumFlowOf(record);
    const key = JSON.stringify(flow);
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const direction = flow.direction === 'egress' ? 'egress' : 'ingress';
    const leg = evaluateCiliumFlow(this.policies, flow, this.#options).legs[0];
    const verdict: Verdict =
      leg === undefined
        ? {
            verdict: 'allowed',
            direction,
            decisions: [
              { by: 'cilium', action: 'Allow', policies: [], reason: `the ${endName(direction)} is no Cilium endpoint: no policy applies` },
            ],
            unknowns: [],
          }
        : {
            verdict: VERDICTS[leg.verdict],
            direction,
            decisions: leg.verdict === 'unknown' ? [] : [decisionOf(leg)],
            unknowns: leg.verdict === 'unknown' ? leg.reasons.slice(0, 8) : [],
          };
    if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
    this.#cache.set(key, verdict);
    return verdict;
  }
}

function endName(direction: 'egress' | 'ingress'): string {
  return direction === 'egress' ? 'source' : 'destination';
}

function decisionOf(leg: LegVerdict): Decision {
  return {
    by: 'cilium',
    action: leg.verdict === 'allowed' ? 'Allow' : 'Deny',
    policies: leg.decidedBy.map(ciliumPolicyLabel),
    reason: leg.reasons[0] ?? '',
  };
}
