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

/** Each item's rank in the order of its text (compareStrings), by what rows hold of it. */
function ranks<T, R>(items: Iterable<T>, text: (item: T) => string, held: (item: T) => R): Map<R, number> {
  const sorted = [...items].sort((a, b) => compareStrings(text(a), text(b)));
  return new Map(sorted.map((item, i) => [held(item), i]));
}

interface MutableRow extends Omit<FlowRow, 'records' | 'flows' | 'unknowns'> {
  records: number;
  flows: number;
  unknowns: readonly string[];
}

/** An end as rows name it, one object per distinct end (rows share it); its id keys the rows. */
interface KnownEnd {
  readonly ref: EndRef;
  readonly key: string;
  readonly id: number;
}

/** A distinct list of decisions (by decisionKey), one per list: rows share it. */
interface KnownDecisions {
  readonly decisions: readonly Decision[];
  readonly key: string;
  readonly id: number;
}

export class SimulationReport {
  // A row per distinct flow, a million and more: rows are keyed by short ids of their ends and
  // decisions, not by the text of them, and share those objects (what a row holds stays live).
  readonly #rows = new Map<string, MutableRow>();
  readonly #ends = new Map<string, KnownEnd>();
  readonly #decisionLists = new Map<string, KnownDecisions>();
  readonly #services = new Map<string, string>();
  /** The decisions of each verdict seen: verdicts are cached per flow, so most records hit. */
  readonly #ofVerdict = new WeakMap<Verdict, KnownDecisions>();

  #end(end: FlowEnd): KnownEnd {
    const key = refKey(end);
    let known = this.#ends.get(key);
    if (known === undefined) this.#ends.set(key, (known = { ref: ref(end), key, id: this.#ends.size }));
    return known;
  }

  /** `namespace/name` of a service, one string per service (rows hold it). */
  #service(service: NonNullable<FlowFacts['destService']>): string {
    const text = `${service.namespace ?? '-'}/${service.name}`;
    let known = this.#services.get(text);
    if (known === undefined) this.#services.set(text, (known = text));
    return known;
  }

  #decisions(verdict: Verdict): KnownDecisions {
    let known = this.#ofVerdict.get(verdict);
    if (known === undefined) {
      const key = verdict.decisions.map(decisionKey).join(';');
      known = this.#decisionLists.get(key);
      if (known === undefined) this.#decisionLists.set(key, (known = { decisions: verdict.decisions, key, id: this.#decisionLists.size }));
      this.#ofVerdict.set(verdict, known);
    }
    return known;
  }

  add(flow: FlowFacts & { readonly numFlows?: number }, verdict: Verdict): void {
    const egress = verdict.direction === 'egress';
    const endpoint = this.#end(egress ? flow.source : flow.dest);
    const peer = this.#end(egress ? flow.dest : flow.source);
    const service = flow.destService === null ? null : this.#service(flow.destService);
    const decided = this.#decisions(verdict);
    // join, not a template: one flat string, where a template's tree of pieces would stay alive with the key.
    const key = [
      verdict.direction,
      endpoint.id,
      peer.id,
      service ?? '',
      flow.protocol,
      flow.destPort ?? '',
      verdict.verdict,
      decided.id,
    ].join('|');
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
      endpoint: endpoint.ref,
      peer: peer.ref,
      service,
      protocol: flow.protocol,
      port: flow.destPort,
      decisions: decided.decisions,
      unknowns: verdict.unknowns,
      records: 1,
      flows,
    });
  }

  /** Denied first, then indeterminate, then allowed; then by endpoint, direction, peer, protocol, port, decisions. */
  rows(): FlowRow[] {
    // Each end and decision list ranked once, by its text: the sort then compares numbers, not
    // texts made anew at each of its n log n comparisons.
    const endRank = ranks(
      this.#ends.values(),
      (e) => e.key,
      (e) => e.ref,
    );
    const decisionRank = ranks(
      this.#decisionLists.values(),
      (d) => d.key,
      (d) => d.decisions,
    );
    const sortable = [...this.#rows.values()].map((row) => ({
      row,
      verdict: VERDICTS.indexOf(row.verdict),
      endpoint: endRank.get(row.endpoint)!,
      peer: endRank.get(row.peer)!,
      decisions: decisionRank.get(row.decisions)!,
    }));
    sortable.sort(
      (a, b) =>
        a.verdict - b.verdict ||
        a.endpoint - b.endpoint ||
        compareStrings(a.row.direction, b.row.direction) ||
        a.peer - b.peer ||
        compareStrings(String(a.row.protocol), String(b.row.protocol)) ||
        (a.row.port ?? -1) - (b.row.port ?? -1) ||
        a.decisions - b.decisions,
    );
    return sortable.map((s) => s.row);
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
