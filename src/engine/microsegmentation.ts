// Microsegmentation's view of the observations: what each workload learned, with its peers at
// workload granularity, and which workloads the configuration selects. Pure.
//
// Each endpoint observation (see aggregate.ts) is attributed to the workload of its reporting end
// (see workloads.ts); an endpoint that is ambiguous or unmatched teaches no workload and is counted.
// A remote workload endpoint becomes the pods of its workload (`selector` of its stable labels, plus
// its namespace when another); when its workload or its labels are not known, the rule allows the
// remote namespace, which is broader, and says so.

import { MAX_SELECTOR_CHARS } from '../calico/limits.ts';
import { type Labels, selectorOfLabels } from '../calico/selector.ts';
import type { RecommendationConfig, WorkloadSelection } from '../config/recommendation-config.ts';
import { mergeObservations } from './aggregate.ts';
import type { EndpointObservation, EndpointRef, ObservedAtom } from './model.ts';
import { inferWorkloads, type Workload, WorkloadIndex, workloadKey } from './workloads.ts';

export interface UnattributedEndpoint {
  readonly namespace: string;
  /** The endpoint's aggregated name as the flow log writes it. */
  readonly name: string;
  readonly reason: 'ambiguous' | 'unmatched';
  /** Why, e.g. the candidate workloads. */
  readonly detail: string;
  /** Flows of the lessons it reported. */
  readonly flows: number;
}

/** An endpoint that sent or received traffic within its own namespace, and its workload if known. */
interface IntraNamespaceEndpoint {
  readonly endpoint: EndpointRef;
  readonly workload: Workload | null;
}

export interface WorkloadLearning {
  /** Where the workloads come from: the cluster's API, or inferred from the flow records. */
  readonly source: 'cluster' | 'flows';
  readonly index: WorkloadIndex;
  /** Workload key -> its observed atoms (peers at workload granularity), sorted. */
  readonly observed: ReadonlyMap<string, readonly ObservedAtom[]>;
  /** Workload key -> remote endpoints whose rule allows their whole namespace, and why. */
  readonly broader: ReadonlyMap<string, readonly string[]>;
  /** Reporting endpoints whose traffic no workload learned, sorted. */
  readonly unattributed: readonly UnattributedEndpoint[];
  /** Namespace -> endpoints with traffic within the namespace. */
  readonly intraNamespace: ReadonlyMap<string, readonly IntraNamespaceEndpoint[]>;
}

/**
 * Attributes endpoint observations to workloads: the cluster's (`cluster`), or, without cluster
 * access, workloads inferred from the endpoints themselves.
 */
export function learnWorkloads(endpoints: readonly EndpointObservation[], cluster?: readonly Workload[]): WorkloadLearning {
  const index = new WorkloadIndex(
    cluster ?? inferWorkloads(endpoints.flatMap((o) => (o.remote === null ? [o.local] : [o.local, o.remote]))),
  );
  const observed = new Map<string, ObservedAtom[]>();
  const broader = new Map<string, Set<string>>();
  const unattributed = new Map<string, { entry: Omit<UnattributedEndpoint, 'flows'>; flows: number }>();
  const intra = new Map<string, Map<EndpointRef, IntraNamespaceEndpoint>>();

  for (const o of endpoints) {
    const attribution = index.attribute(o.local);
    const workload = 'workload' in attribution ? attribution.workload : null;
    if (o.remote !== null && o.remote.namespace === o.local.namespace) {
      let list = intra.get(o.local.namespace);
      if (list === undefined) intra.set(o.local.namespace, (list = new Map()));
      list.set(o.local, { endpoint: o.local, workload });
    }
    if (workload === null) {
      const key = `${o.local.namespace}/${o.local.name}/${o.local.labels.join(',')}`;
      const known = unattributed.get(key);
      if (known !== undefined) known.flows += o.evidence.flows;
      else {
        const detail =
          'candidates' in attribution
            ? `it fits ${attribution.candidates.map(workloadKey).join(', ')}`
            : 'detail' in attribution
              ? attribution.detail
              : '';
        const reason = 'candidates' in attribution ? 'ambiguous' : 'unmatched';
        unattributed.set(key, { entry: { namespace: o.local.namespace, name: o.local.name, reason, detail }, flows: o.evidence.flows });
      }
      continue;
    }
    const key = workloadKey(workload);
    let atom = o.atom;
    if (o.remote !== null && atom.peer.category === 'Namespace') {
      const pods = remotePods(index, o.remote);
      if (typeof pods === 'string') {
        let notes = broader.get(key);
        if (notes === undefined) broader.set(key, (notes = new Set()));
        notes.add(`${o.remote.namespace}/${o.remote.name} (${pods})`);
      } else atom = { ...atom, peer: { category: 'Namespace', namespace: o.remote.namespace, pods } };
    }
    const list = observed.get(key);
    const item: ObservedAtom = { atom, evidence: { ...o.evidence } };
    if (list === undefined) observed.set(key, [item]);
    else list.push(item);
  }

  const sortedKeys = <T>(map: Map<string, T>) => [...map.keys()].sort();
  return {
    source: cluster === undefined ? 'flows' : 'cluster',
    index,
    observed: new Map(sortedKeys(observed).map((k) => [k, mergeObservations(observed.get(k)!, [])])),
    broader: new Map(sortedKeys(broader).map((k) => [k, [...broader.get(k)!].sort()])),
    unattributed: sortedKeys(unattributed).map((k) => ({ ...unattributed.get(k)!.entry, flows: unattributed.get(k)!.flows })),
    intraNamespace: new Map(sortedKeys(intra).map((ns) => [ns, [...intra.get(ns)!.values()]])),
  };
}

/** The stable labels of a remote endpoint's workload, or why the rule must allow its namespace. */
function remotePods(index: WorkloadIndex, remote: EndpointRef): Labels | string {
  const attribution = index.attribute(remote);
  if ('candidates' in attribution) return `ambiguous: ${attribution.candidates.map(workloadKey).join(', ')}`;
  if ('detail' in attribution) return attribution.detail;
  const why = unselectable(attribution.workload.labels);
  return why === null ? attribution.workload.labels : `${workloadKey(attribution.workload)}: ${why}`;
}

/**
 * Why no Calico selector selects exactly the pods with these stable labels (a workload's), or null
 * when `selectorOfLabels` does: no labels, or a selector longer than Calico accepts (limits.ts).
 */
export function unselectable(labels: Labels): string | null {
  if (Object.keys(labels).length === 0) return 'no stable labels are known for its pods';
  const length = selectorOfLabels(labels).length;
  return length > MAX_SELECTOR_CHARS
    ? `a selector of its pods' stable labels would take ${length} characters, more than the ${MAX_SELECTOR_CHARS} Calico accepts`
    : null;
}

/**
 * Does the configuration select this workload for microsegmentation? Its namespace is listed, or
 * the workload is, or the selector matches its labels in a namespace `namespaceSpec.selector`
 * selects (so that `all()` leaves system namespaces alone).
 */
export function selectsWorkload(
  config: RecommendationConfig,
  workload: Workload,
  namespaceLabels: (ns: string) => Record<string, string>,
): boolean {
  const m = config.microsegmentation;
  if (!m.enabled) return false;
  return (
    asSet(m.select.namespaces).has(workload.namespace) ||
    m.select.workloads.some((s) => isSelectedWorkload(s, workload)) ||
    selectorSelects(config, workload, namespaceLabels)
  );
}

/** A configuration's list as a set, made once per list: the list may name thousands of namespaces. */
const sets = new WeakMap<readonly string[], ReadonlySet<string>>();
function asSet(list: readonly string[]): ReadonlySet<string> {
  let set = sets.get(list);
  if (set === undefined) sets.set(list, (set = new Set(list)));
  return set;
}

const isSelectedWorkload = (s: WorkloadSelection, w: Workload): boolean =>
  s.namespace === w.namespace && s.name === w.name && (s.kind === null || s.kind === w.kind);

function selectorSelects(
  config: RecommendationConfig,
  workload: Workload,
  namespaceLabels: (ns: string) => Record<string, string>,
): boolean {
  const selector = config.microsegmentation.select.selector;
  return (
    selector !== null &&
    config.namespaceSpec.selector.matches(namespaceLabels(workload.namespace)) &&
    selector.matches({ ...workload.labels, 'projectcalico.org/namespace': workload.namespace })
  );
}

/**
 * The entries of `microsegmentation.select` that select none of the known workloads: a typo, a
 * workload not deployed (or, without the cluster's API, not seen in the flows) yet. Each as the
 * configuration names it.
 */
export function unmatchedSelections(
  config: RecommendationConfig,
  known: readonly Workload[],
  namespaceLabels: (ns: string) => Record<string, string>,
): string[] {
  const { select } = config.microsegmentation;
  if (!config.microsegmentation.enabled) return [];
  const namespaces = new Set(known.map((w) => w.namespace));
  // `<ns>/<name>` for a selection of any kind, `<ns>/<Kind>/<name>` for one of a kind.
  const named = new Set(known.flatMap((w) => [`${w.namespace}/${w.name}`, workloadKey(w)]));
  return [
    ...select.namespaces.filter((ns) => !namespaces.has(ns)).map((ns) => `namespace ${ns}`),
    ...select.workloads
      .filter(
        (s) =>
          !named.has(s.kind === null ? `${s.namespace}/${s.name}` : workloadKey({ namespace: s.namespace, kind: s.kind, name: s.name })),
      )
      .map((s) => `workload ${s.namespace}/${s.kind === null ? '' : `${s.kind}/`}${s.name}`),
    ...(select.selector !== null && !known.some((w) => selectorSelects(config, w, namespaceLabels))
      ? [`selector ${select.selector.source}`]
      : []),
  ];
}
