// How a Calico rule reaches a network set. Calico matches a set only through a selector over its
// own labels (plus `projectcalico.org/namespace` for a NetworkSet): nothing gives a set a name or a
// kind label in open-source Calico (src/calico/labels.ts). So a set is selected by its own labels
// when they are known; otherwise a rule can only approximate it, by the set's nets when those are
// known, else by the addresses the flows were seen at. Every approximation says what it allows.

import { NAME_LABEL } from '../../calico/labels.ts';
import { MAX_NETS, MAX_SELECTOR_CHARS } from '../../calico/limits.ts';
import { ALL_IPV4, ALL_IPV6, isIPv6Cidr, PRIVATE_NETS, PRIVATE_NETS_V6 } from '../../calico/nets.ts';
import { type Labels, selectorEquals, selectorOfLabelSets, selectorOfLabels } from '../../calico/selector.ts';
import type { EntityRule } from '../../calico/types.ts';
import { chunk } from '../../util/chunk.ts';
import { type Evidence, type Peer, SAW_NO_IP, SAW_PRIVATE_IP, SAW_PRIVATE_IPV6, SAW_PUBLIC_IP, SAW_PUBLIC_IPV6 } from '../model.ts';
import { knownNets, type NetworkSetDirectory } from '../network-sets.ts';
import { setAddresses } from './describe-peer.ts';

type NetworkSetPeer = Extract<Peer, { category: 'NetworkSet' }>;

/** How rules reach one set: exactly by its labels, or approximately (one rule per remote entity), and why. */
export type SetTarget = { readonly by: 'labels'; readonly labels: Labels; readonly remote: EntityRule } | SetApproximation;

interface SetApproximation {
  readonly by: 'nets' | 'addresses';
  readonly remotes: readonly EntityRule[];
  /** What the rules allow, in words. */
  readonly allows: string;
  /** Why the set is not selected by its labels. */
  readonly why: string;
}

/** The set's own labels, from the directory (complete) or the flow record; null when unknown or empty. */
function knownLabels(peer: NetworkSetPeer, sets: NetworkSetDirectory): Labels | null {
  const known = sets.get(peer.namespace, peer.name);
  const labels = known?.labels ?? peer.labels ?? null;
  return labels !== null && Object.keys(labels).length > 0 ? labels : null;
}

/** The labels a rule selects the set by; null when unknown, or when their selector would be longer than Calico accepts. */
export function setLabels(peer: NetworkSetPeer, sets: NetworkSetDirectory): Labels | null {
  const labels = knownLabels(peer, sets);
  return labels !== null && selectorOfLabels(labels).length <= MAX_SELECTOR_CHARS ? labels : null;
}

/** The namespace part of a rule selecting sets of `namespace` (null: global) in a policy of `policyNamespace`. */
function setNamespaceSelector(namespace: string | null, policyNamespace: string): string | undefined {
  if (namespace === null) return 'global()';
  return namespace === policyNamespace ? undefined : selectorEquals(NAME_LABEL, namespace);
}

/** The remote entity selecting every set of `labelSets` (all in one namespace scope). */
export function labelRemote(labelSets: readonly Labels[], namespace: string | null, policyNamespace: string): EntityRule {
  const selector = selectorOfLabelSets(labelSets);
  const namespaceSelector = setNamespaceSelector(namespace, policyNamespace);
  return namespaceSelector === undefined ? { selector } : { selector, namespaceSelector };
}

export function setTarget(peer: NetworkSetPeer, evidence: Evidence, sets: NetworkSetDirectory, policyNamespace: string): SetTarget {
  const labels = setLabels(peer, sets);
  if (labels !== null) return { by: 'labels', labels, remote: labelRemote([labels], peer.namespace, policyNamespace) };
  const why =
    knownLabels(peer, sets) === null
      ? 'its labels are not known'
      : `a selector of its labels would be longer than the ${MAX_SELECTOR_CHARS} characters Calico accepts`;
  const nets = knownNets(sets, peer.namespace, peer.name);
  if (nets !== null) {
    const v4 = nets.filter((n) => !isIPv6Cidr(n));
    const v6 = nets.filter(isIPv6Cidr);
    // Calico's validator refuses IPv4 and IPv6 nets in one rule; the CRDs hold MAX_NETS to a rule.
    const remotes = [v4, v6].flatMap((list) => chunk(list, MAX_NETS)).map((part) => ({ nets: part }));
    return { by: 'nets', remotes, allows: setAddresses(nets), why };
  }
  return { ...addressTarget(evidence.remoteIps), why };
}

/** The least an address rule can allow for what was seen: the classes of the observed addresses. */
function addressTarget(seen: number): Omit<SetApproximation, 'why'> {
  if (seen & SAW_NO_IP || seen === 0) return { by: 'addresses', remotes: [{}], allows: 'any address (the flow logs did not give one)' };
  const remotes: EntityRule[] = [];
  const allows: string[] = [];
  const v4Private = (seen & SAW_PRIVATE_IP) !== 0;
  const v4Public = (seen & SAW_PUBLIC_IP) !== 0;
  if (v4Private && v4Public) {
    remotes.push({ nets: [ALL_IPV4] });
    allows.push('any IPv4 address');
  } else if (v4Private) {
    remotes.push({ nets: [...PRIVATE_NETS] });
    allows.push(`any private IPv4 address (${PRIVATE_NETS.join(', ')})`);
  } else if (v4Public) {
    remotes.push({ notNets: [...PRIVATE_NETS] });
    allows.push(`any public IPv4 address (outside ${PRIVATE_NETS.join(', ')})`);
  }
  if (seen & SAW_PUBLIC_IPV6) {
    remotes.push({ nets: [ALL_IPV6] });
    allows.push('any IPv6 address');
  } else if (seen & SAW_PRIVATE_IPV6) {
    remotes.push({ nets: [...PRIVATE_NETS_V6] });
    allows.push(`any unique-local IPv6 address (${PRIVATE_NETS_V6.join(', ')})`);
  }
  return { by: 'addresses', remotes, allows: allows.join(' and ') };
}
