// What is known of the network sets flows reached: their own labels and their nets, from the
// cluster (complete), from the policies tree (complete), or from flow records (labels only, as
// the record carried them). Rules select a network set by its own labels, the only labels Calico
// gives it (see src/calico/labels.ts); where they are unknown, a rule can only approximate it.

import { NAMESPACE_LABEL } from '../calico/labels.ts';
import { formatCidr, networkSetNet } from '../calico/nets.ts';
import type { Labels } from '../calico/selector.ts';

export interface NetworkSetFacts {
  readonly name: string;
  /** Null for a GlobalNetworkSet. */
  readonly namespace: string | null;
  /** Its own labels (without the `projectcalico.org/namespace` Calico adds), or null when unknown. */
  readonly labels: Labels | null;
  /** Its CIDRs, or null when unknown. */
  readonly nets: readonly string[] | null;
}

export interface NetworkSetDirectory {
  get(namespace: string | null, name: string): NetworkSetFacts | undefined;
}

export const NO_NETWORK_SETS: NetworkSetDirectory = { get: () => undefined };

/**
 * One directory of several sources, the first that knows a set winning field by field: list the
 * complete sources (cluster, tree) before the partial ones (records).
 */
export function networkSetDirectory(...sources: readonly (readonly NetworkSetFacts[])[]): NetworkSetDirectory {
  const byKey = new Map<string, NetworkSetFacts>();
  for (const source of sources) {
    for (const set of source) {
      const key = setKey(set.namespace, set.name);
      const known = byKey.get(key);
      byKey.set(key, known === undefined ? set : { ...known, labels: known.labels ?? set.labels, nets: known.nets ?? set.nets });
    }
  }
  return { get: (namespace, name) => byKey.get(setKey(namespace, name)) };
}

/**
 * A set's nets as rules write them, or null when unknown or empty: each in its masked form (a set
 * may list an address, or a CIDR with host bits, which a rule's `nets` and a NetworkPolicy's
 * `ipBlock.cidr` refuse), once, in the set's order; entries Felix cannot parse are left out, as
 * the syncer leaves them out of the set Felix sees (libcalico-go/lib/backend/syncersv1/updateprocessors/
 * networksetprocessor.go, ParseCIDROrIP then `continue`, release-v3.31).
 */
export function knownNets(sets: NetworkSetDirectory, namespace: string | null, name: string): string[] | null {
  const listed = sets.get(namespace, name)?.nets ?? [];
  const nets = [...new Set(listed.map(networkSetNet).flatMap((cidr) => (cidr === null ? [] : [formatCidr(cidr)])))];
  return nets.length > 0 ? nets : null;
}

/** A set's own labels from a label map as Calico holds it (the namespace label removed). */
export function ownLabels(labels: Labels): Labels {
  const { [NAMESPACE_LABEL]: _namespace, ...own } = labels;
  return own;
}

function setKey(namespace: string | null, name: string): string {
  return `${namespace ?? ''}/${name}`;
}
