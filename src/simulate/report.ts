// The simulation's account: identical flows (direction, endpoint, peer, protocol, port) with the
// same verdict folded into one row with their counts, and totals by verdict and by what decided.

import type { Protocol } from '../calico/protocol.ts';
import { compareStrings } from '../engine/model.ts';
import type { EndpointType } from '../flows/record.ts';
import type { FlowEnd } from './endpoint.ts';
import { type Decision, decisionKey, type FlowFacts, policyLabel, type Verdict, type VerdictKind } from './evaluate.ts';
import type { Direction } from './policy-terms.ts';

export interface EndRef {
  readonly type: EndpointType;
  readonly namespace: string | null;
  readonly name: string;
}

export interface FlowRow {
  readonly verdict: VerdictKind;
  readonly direction: Direction;
  /** The reporting endpoint, whose policy decides. */
  readonly endpoint: EndRef;
  readonly peer: EndRef;
  /** `namespace/name` of the service the flow was addressed to, if any. */
  readonly service: string | null;
  readonly protocol: Protocol;
  readonly port: number | null;
  readonly decisions: readonly Decision[];
  readonly unknowns: readonly string[];
  /** Flow-log records folded into this row, and the flows they count (num_flows). */
  readonly records: number;
  readonly flows: number;
}

interface Count {
  rows: number;
  records: number;
  flows: number;
}

interface DeciderTotal {
  /** `<ns>/<tier>.<name>`, `tier <name> default action`, `profile <name>`, `no profile`. */
  readonly decider: string;
  readonly staged: boolean;
  readonly allowed: number;
  readonly denied: number;
}

export interface Totals {
  readonly all: Count;
  readonly byVerdict: Readonly<Record<VerdictKind, Count>>;
  /** Flows of decided rows by their (first) deciding policy, tier default or profile; most flows first. */
  readonly byDecider: readonly DeciderTotal[];
}

const VERDICTS: readonly VerdictKind[] = ['denied', 'indeterminate', 'allowed'];

export function deciderLabel(d: Decision): string {
  switch (d.by) {
    case 'rule':
      return policyLabel(d.policy);
    case 'tier-default':
      return `tier ${d.tier} default action`;
    case 'profile':
      return `profile ${d.profile}`;
    case 'no-profile':
      return 'no profile';
    case 'cilium':
      return d.policies.length > 0 ? d.policies.join(', ') : d.reason;
  }
}

function ref(end: FlowEnd): EndRef {
  return { type: end.type, namespace: end.namespace, name: end.name };
}

function refKey(end: EndRef): string {
  return `${end.type} ${end.namespace ?? ''}/${end.name}`;
}

interface MutableRow extends Omit<FlowRow, 'records' | 'flows' | 'unknowns'> {
  records: number;
  flows: number;
  unknowns: readonly string[];
}

export class SimulationReport {
  readonly #rows = new Map<string, MutableRow>();

  add(flow: FlowFacts & { readonly numFlows?: number }, verdict: Verdict): void {
    const egress = verdict.direction === 'egress';
    const endpoint = ref(egress ? flow.source : flow.dest);
    const peer = ref(egress ? flow.dest : flow.source);
    const service = flow.destService === null ? null : `${flow.destService.namespace ?? '-'}/${flow.destService.name}`;
    const decided = verdict.decisions.map(decisionKey).join(';');
    const key = `${verdict.direction}|${refKey(endpoint)}|${refKey(peer)}|${service ?? ''}|${flow.protocol}|${flow.destPort ?? ''}|${verdict.verdict}|${decided}`;
    const flows = flow.numFlows ?? 1;
    const row = this.#rows.get(key);
    if (row !== undefined) {
      row.records++;
      row.flows += flows;
      if (verdict.unknowns.length > 0) row.unknowns = [...new Set([...row.unknowns, ...verdict.unknowns])].slice(0, 8);
      return;
    }
    this.#rows.set(key, {
      verdict: verdict.verdict,
      direction: verdict.direction,
      endpoint,
      peer,
      service,
      protocol: flow.protocol,
      port: flow.destPort,
      decisions: verdict.decisions,
      unknowns: verdict.unknowns,
      records: 1,
      flows,
    });
  }

  /** Denied first, then indeterminate, then allowed; then by endpoint, direction, peer, protocol, port. */
  rows(): FlowRow[] {
    return [...this.#rows.values()].sort(
      (a, b) =>
        VERDICTS.indexOf(a.verdict) - VERDICTS.indexOf(b.verdict) ||
        compareStrings(refKey(a.endpoint), refKey(b.endpoint)) ||
        compareStrings(a.direction, b.direction) ||
        compareStrings(refKey(a.peer), refKey(b.peer)) ||
        compareStrings(String(a.protocol), String(b.protocol)) ||
        (a.port ?? -1) - (b.port ?? -1) ||
        compareStrings(a.decisions.map(decisionKey).join(';'), b.decisions.map(decisionKey).join(';')),
    );
  }

  totals(): Totals {
    const zero = (): Count => ({ rows: 0, records: 0, flows: 0 });
    const all = zero();
    const byVerdict: Record<VerdictKind, Count> = { allowed: zero(), denied: zero(), indeterminate: zero() };
    const byDecider = new Map<string, { decider: string; staged: boolean; allowed: number; denied: number }>();
    for (const row of this.#rows.values()) {
      for (const count of [all, byVerdict[row.verdict]]) {
        count.rows++;
        count.records += row.records;
        count.flows += row.flows;
      }
      const first = row.decisions[0];
      if (row.verdict === 'indeterminate' || first === undefined) continue;
      const decider = deciderLabel(first);
      let total = byDecider.get(decider);
      if (total === undefined)
        byDecider.set(decider, (total = { decider, staged: first.by === 'rule' && first.policy.staged, allowed: 0, denied: 0 }));
      if (row.verdict === 'allowed') total.allowed += row.flows;
      else total.denied += row.flows;
    }
    const deciders = [...byDecider.values()].sort(
      (a, b) => b.allowed + b.denied - (a.allowed + a.denied) || compareStrings(a.decider, b.decider),
    );
    return { all, byVerdict, byDecider: deciders };
  }
}
