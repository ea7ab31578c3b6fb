// Folds flow records into observed atoms per namespace. Memory is bounded by the number of
// distinct atoms (namespace x direction x peer x protocol x port), never by the number of records.

import type { FlowRecord } from '../flows/record.ts';
import { learn, type LearnContext, type NotLearned } from './learn.ts';
import { atomKey, compareAtoms, mergeEvidence, type Atom, type ObservedAtom } from './model.ts';

export interface Observations {
  /** Namespace -> its observed atoms, sorted (compareAtoms). Namespaces sorted by name. */
  readonly byNamespace: ReadonlyMap<string, readonly ObservedAtom[]>;
  readonly recordsSeen: number;
  readonly recordsLearned: number;
  /** Why the other records taught nothing, by reason (sorted). */
  readonly notLearned: Readonly<Partial<Record<NotLearned, number>>>;
}

/** Two sets of observations of one namespace as one (evidence summed), sorted. */
export function mergeObservations(a: readonly ObservedAtom[], b: readonly ObservedAtom[]): ObservedAtom[] {
  const byKey = new Map<string, ObservedAtom>();
  for (const o of [...a, ...b]) {
    const key = atomKey(o.atom);
    const known = byKey.get(key);
    if (known === undefined) byKey.set(key, { atom: o.atom, evidence: { ...o.evidence } });
    else mergeEvidence(known.evidence, o.evidence);
  }
  return [...byKey.values()].sort((x, y) => compareAtoms(x.atom, y.atom));
}

export class FlowAggregator {
  readonly #ctx: LearnContext;
  readonly #namespaces = new Map<string, Map<string, ObservedAtom>>();
  readonly #notLearned = new Map<NotLearned, number>();
  #seen = 0;
  #learned = 0;

  constructor(ctx: LearnContext) {
    this.#ctx = ctx;
  }

  add(record: FlowRecord): void {
    this.#seen++;
    const lesson = learn(record, this.#ctx);
    if (typeof lesson === 'string') {
      this.#notLearned.set(lesson, (this.#notLearned.get(lesson) ?? 0) + 1);
      return;
    }
    this.#learned++;
    let atoms = this.#namespaces.get(lesson.namespace);
    if (atoms === undefined) this.#namespaces.set(lesson.namespace, (atoms = new Map()));
    for (const peer of lesson.peers) {
      const atom: Atom = { direction: lesson.direction, peer, protocol: record.protocol, port: lesson.port };
      const key = atomKey(atom);
      const known = atoms.get(key);
      if (known === undefined) {
        atoms.set(key, {
          atom,
          evidence: { flows: record.numFlows, firstSeen: record.startTime, lastSeen: record.endTime, remoteIps: lesson.remoteIps },
        });
      } else {
        const e = known.evidence;
        e.flows += record.numFlows;
        if (record.startTime < e.firstSeen) e.firstSeen = record.startTime;
        if (record.endTime > e.lastSeen) e.lastSeen = record.endTime;
        e.remoteIps |= lesson.remoteIps;
      }
    }
  }

  addAll(records: readonly FlowRecord[]): void {
    for (const record of records) this.add(record);
  }

  result(): Observations {
    const byNamespace = new Map<string, readonly ObservedAtom[]>();
    for (const namespace of [...this.#namespaces.keys()].sort()) {
      const atoms = [...this.#namespaces.get(namespace)!.values()].sort((a, b) => compareAtoms(a.atom, b.atom));
      byNamespace.set(namespace, atoms);
    }
    const notLearned: Partial<Record<NotLearned, number>> = {};
    for (const reason of [...this.#notLearned.keys()].sort()) notLearned[reason] = this.#notLearned.get(reason)!;
    return { byNamespace, recordsSeen: this.#seen, recordsLearned: this.#learned, notLearned };
  }
}
