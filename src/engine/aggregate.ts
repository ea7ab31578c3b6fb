// Folds flow records into observed atoms per namespace, and (microsegmentation) per reporting
// endpoint. Memory is bounded by the number of distinct atoms (namespace x direction x peer x
// protocol x port; with microsegmentation also x local and remote endpoint), never by the number
// of records.

import { isDnsSubdomain } from '../calico/names.ts';
import { protocolHasPorts } from '../calico/protocol.ts';
import type { FlowEndpoint, FlowRecord } from '../flows/record.ts';
import { AtomIndex } from './atom-index.ts';
import { type LearnContext, learn, type NotLearned } from './learn.ts';
import {
  type Atom,
  atomKey,
  compareAtoms,
  compareStrings,
  type EndpointObservation,
  type EndpointRef,
  type Evidence,
  endpointKey,
  type HostEndpointObservation,
  mergeEvidence,
  type ObservedAtom,
  WORKLOAD_KINDS,
  type WorkloadKind,
} from './model.ts';

export interface Observations {
  /** Namespace -> its observed atoms, sorted (compareAtoms). Namespaces sorted by name. */
  readonly byNamespace: ReadonlyMap<string, readonly ObservedAtom[]>;
  /**
   * Microsegmentation (LearnContext.workloadTierName): atoms by reporting endpoint, with the remote
   * workload endpoint; sorted by local endpoint, atom, remote endpoint. Empty otherwise.
   */
  readonly endpoints: readonly EndpointObservation[];
  /** Allowed traffic between a namespace's workloads and host endpoints (not learned), sorted. */
  readonly hostEndpoints: readonly HostEndpointObservation[];
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

/** Microsegmentation observations of several runs as one (evidence summed per endpoint pair and atom). */
export function mergeEndpointObservations(list: readonly EndpointObservation[]): EndpointObservation[] {
  const byKey = new Map<string, EndpointObservation & { evidence: Evidence }>();
  for (const o of list) {
    const key = `${endpointKey(o.local)}#${o.remote === null ? '' : endpointKey(o.remote)}#${atomKey(o.atom)}`;
    const known = byKey.get(key);
    if (known === undefined) byKey.set(key, { ...o, evidence: { ...o.evidence } });
    else mergeEvidence(known.evidence, o.evidence);
  }
  return [...byKey.values()];
}

/**
 * An aggregator's state as one thread hands it to another (structured-clonable): what
 * FlowAggregator.merge folds into another aggregator. Keys that cannot be recomputed from the
 * observations (host endpoints are keyed by the record's own label order and port) travel with them.
 */
export interface AggregatorState {
  readonly seen: number;
  readonly learned: number;
  readonly notLearned: readonly (readonly [NotLearned, number])[];
  readonly namespaces: readonly (readonly [string, readonly ObservedAtom[]])[];
  readonly endpoints: readonly EndpointObservation[];
  readonly hostEndpoints: readonly (readonly [string, HostEndpointObservation])[];
}

export class FlowAggregator {
  readonly #ctx: LearnContext;
  readonly #namespaces = new Map<string, AtomIndex>();
  readonly #notLearned = new Map<NotLearned, number>();
  readonly #endpoints = new Map<string, EndpointObservation & { evidence: Evidence }>();
  /** One EndpointRef (and its key) per distinct endpoint as records write it: they repeat them millions of times. */
  readonly #refs = new Map<string, { ref: EndpointRef; id: number }>();
  readonly #byKey = new Map<string, { ref: EndpointRef; id: number }>();
  readonly #hostEndpoints = new Map<string, HostEndpointObservation & { evidence: Evidence }>();
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
      if (lesson === 'host endpoint') this.#hostEndpoint(record);
      return;
    }
    this.#learned++;
    let atoms = this.#namespaces.get(lesson.namespace);
    if (lesson.forNamespace && atoms === undefined) this.#namespaces.set(lesson.namespace, (atoms = new AtomIndex()));
    const local = lesson.forWorkload ? this.#ref(lesson.local) : null;
    const remote = lesson.forWorkload && lesson.remote.type === 'wep' && lesson.remote.namespace !== null ? this.#ref(lesson.remote) : null;
    const { direction, port } = lesson;
    const protocol = record.protocol;
    for (const peer of lesson.peers) {
      if (atoms !== undefined && lesson.forNamespace) {
        const known = atoms.get(direction, peer, protocol, port);
        if (known === undefined) atoms.add({ atom: { direction, peer, protocol, port }, evidence: evidenceOf(record, lesson.remoteIps) });
        else addEvidence(known.evidence, record, lesson.remoteIps);
      }
      if (local !== null) {
        const atom: Atom = { direction, peer, protocol, port };
        const endpointAtom = `${local.id}#${remote === null ? '' : remote.id}#${atomKey(atom)}`;
        const known = this.#endpoints.get(endpointAtom);
        if (known === undefined)
          this.#endpoints.set(endpointAtom, {
            atom,
            evidence: evidenceOf(record, lesson.remoteIps),
            local: local.ref,
            remote: remote?.ref ?? null,
          });
        else addEvidence(known.evidence, record, lesson.remoteIps);
      }
    }
  }

  #ref(endpoint: FlowEndpoint): { ref: EndpointRef; id: number } {
    const workload = ownerOf(endpoint);
    const raw = `${endpoint.namespace}/${endpoint.name}/${endpoint.labels.join(',')}${workload === undefined ? '' : `/${workload.kind}/${workload.name}`}`;
    let known = this.#refs.get(raw);
    if (known === undefined) {
      const ref: EndpointRef = {
        namespace: endpoint.namespace!,
        name: endpoint.name,
        labels: [...endpoint.labels].sort(compareStrings),
        ...(workload === undefined ? {} : { workload }),
      };
      // The same endpoint with its labels in another order is the same endpoint.
      const key = endpointKey(ref);
      const same = this.#byKey.get(key);
      this.#refs.set(raw, (known = same ?? { ref, id: this.#byKey.size }));
      if (same === undefined) this.#byKey.set(key, known);
    }
    return known;
  }

  /** Allowed traffic a namespace's workload reported with a host endpoint at the other end. */
  #hostEndpoint(record: FlowRecord): void {
    const egress = record.reporter === 'src';
    const local = egress ? record.source : record.dest;
    const remote = egress ? record.dest : record.source;
    if (local.type !== 'wep' || local.namespace === null || remote.type !== 'hep') return;
    const ref = this.#ref(local).ref;
    const key = `${endpointKey(ref)}#${egress}#${remote.name}#${remote.labels.join(',')}#${record.protocol}#${record.destPort ?? '*'}`;
    const known = this.#hostEndpoints.get(key);
    if (known !== undefined) return addEvidence(known.evidence, record, 0);
    this.#hostEndpoints.set(key, {
      direction: egress ? 'egress' : 'ingress',
      local: ref,
      host: { name: remote.name, labels: [...remote.labels].sort(compareStrings) },
      protocol: record.protocol,
      port: protocolHasPorts(record.protocol) ? record.destPort : null,
      evidence: evidenceOf(record, 0),
    });
  }

  /** The learning context records are judged in (another thread's aggregator needs the same). */
  get context(): LearnContext {
    return this.#ctx;
  }

  /** What merge needs to fold this aggregator into another one (a reader thread's into the main one). */
  state(): AggregatorState {
    return {
      seen: this.#seen,
      learned: this.#learned,
      notLearned: [...this.#notLearned],
      namespaces: [...this.#namespaces].map(([namespace, atoms]) => [namespace, [...atoms.values()]] as const),
      endpoints: [...this.#endpoints.values()],
      hostEndpoints: [...this.#hostEndpoints],
    };
  }

  /**
   * Folds in another aggregator's state: the same result as if this one had added that one's
   * records too, in any order (evidence is summed, its times are a minimum and a maximum, its
   * IP flags a union; results are sorted).
   */
  merge(state: AggregatorState): void {
    this.#seen += state.seen;
    this.#learned += state.learned;
    for (const [reason, n] of state.notLearned) this.#notLearned.set(reason, (this.#notLearned.get(reason) ?? 0) + n);
    for (const [namespace, list] of state.namespaces) {
      let atoms = this.#namespaces.get(namespace);
      if (atoms === undefined) this.#namespaces.set(namespace, (atoms = new AtomIndex()));
      for (const o of list) atoms.fold(o);
    }
    for (const o of state.endpoints) {
      const key = `${this.#refId(o.local)}#${o.remote === null ? '' : this.#refId(o.remote)}#${atomKey(o.atom)}`;
      mergeInto(this.#endpoints, key, o);
    }
    for (const [key, o] of state.hostEndpoints) mergeInto(this.#hostEndpoints, key, o);
  }

  /** The id of an endpoint as an observation names it (labels sorted). */
  #refId(ref: EndpointRef): number {
    const key = endpointKey(ref);
    let known = this.#byKey.get(key);
    if (known === undefined) this.#byKey.set(key, (known = { ref, id: this.#byKey.size }));
    return known.id;
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
    const endpoints = [...this.#endpoints.values()].sort(
      (a, b) =>
        compareStrings(endpointKey(a.local), endpointKey(b.local)) ||
        compareAtoms(a.atom, b.atom) ||
        compareStrings(a.remote === null ? '' : endpointKey(a.remote), b.remote === null ? '' : endpointKey(b.remote)),
    );
    const hostEndpoints = [...this.#hostEndpoints.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, o]) => o);
    return { byNamespace, endpoints, hostEndpoints, recordsSeen: this.#seen, recordsLearned: this.#learned, notLearned };
  }
}

/** Adds `o`'s evidence to the entry at `key`, or enters a copy of `o`. */
function mergeInto<T extends { readonly evidence: Evidence }>(map: Map<string, T>, key: string, o: T): void {
  const known = map.get(key);
  if (known === undefined) map.set(key, { ...o, evidence: { ...o.evidence } });
  else mergeEvidence(known.evidence, o.evidence);
}

function evidenceOf(record: FlowRecord, remoteIps: number): Evidence {
  return { flows: record.numFlows, firstSeen: record.startTime, lastSeen: record.endTime, remoteIps };
}

function addEvidence(e: Evidence, record: FlowRecord, remoteIps: number): void {
  e.flows += record.numFlows;
  if (record.startTime < e.firstSeen) e.firstSeen = record.startTime;
  if (record.endTime > e.lastSeen) e.lastSeen = record.endTime;
  e.remoteIps |= remoteIps;
}

/** The pods' controller as the source names it, when it is a workload kind with a valid name. */
function ownerOf(endpoint: FlowEndpoint): EndpointRef['workload'] {
  const owner = endpoint.workload;
  if (owner === undefined || !(WORKLOAD_KINDS as readonly string[]).includes(owner.kind) || !isDnsSubdomain(owner.name)) return undefined;
  return { kind: owner.kind as WorkloadKind, name: owner.name };
}
