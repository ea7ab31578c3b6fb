// What a rule's remote side allows, in words people read in PRs, summaries and graphs: never
// narrower than what the rule matches (a Private rule matches pods and nodes in those ranges too;
// a Public one every address Calico reports as public).

import { PRIVATE_NETS, PRIVATE_NETS_V6 } from '../../calico/nets.ts';
import { selectorOfLabels } from '../../calico/selector.ts';
import type { Peer } from '../model.ts';

export function describePeer(peer: Peer): string {
  switch (peer.category) {
    case 'Domains':
      return `domain ${peer.domain}`;
    case 'Service':
      return `service ${peer.namespace}/${peer.name}`;
    case 'Namespace':
      return peer.pods === undefined
        ? `pods of namespace ${peer.namespace}`
        : `pods of namespace ${peer.namespace} with ${selectorOfLabels(peer.pods)}`;
    case 'NetworkSet':
      return peer.namespace === null ? `global network set ${peer.name}` : `network set ${peer.namespace}/${peer.name}`;
    case 'Entity':
      return `Cilium's ${peer.entity} entity`;
    case 'Nets':
      return `any address in ${listNets(peer.nets)}`;
    case 'Private':
      return peer.ipv6
        ? `any unique-local IPv6 address (${PRIVATE_NETS_V6.join(', ')}), pods and nodes included`
        : `any private IPv4 address (${PRIVATE_NETS.join(', ')}), pods and nodes included`;
    case 'Public':
      // felix/collector/types/endpoint/endpoint.go getSubnetType: what Calico reports as `pub`.
      return peer.ipv6
        ? 'any IPv6 address (Calico reports every IPv6 address outside the cluster as public)'
        : `any public IPv4 address (outside ${PRIVATE_NETS.join(', ')})`;
  }
}

/** Several peers of one rule (merged peers, or a rule's domains). */
export function describePeers(peers: readonly Peer[]): string {
  if (peers.length > 0 && peers.every((p) => p.category === 'Domains'))
    return `domains ${peers.map((p) => (p as { domain: string }).domain).join(', ')}`;
  return peers.map(describePeer).join('; ');
}

/** The addresses an entity's nets / notNets allow: `10.0.0.0/8`, `any address outside 10.0.0.0/8`, `any address`. */
export function describeNets(entity: { readonly nets?: unknown; readonly notNets?: unknown }): string {
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const nets = list(entity.nets);
  const notNets = list(entity.notNets);
  const within = nets.length > 0 ? listNets(nets) : 'any address';
  return notNets.length > 0 ? `${within} outside ${listNets(notNets)}` : within;
}

const LISTED_NETS = 10;

/** A list of nets for people: the first ten, then how many more (a network set may hold thousands). */
function listNets(nets: readonly string[]): string {
  return nets.length <= LISTED_NETS ? nets.join(', ') : `${nets.slice(0, LISTED_NETS).join(', ')} and ${nets.length - LISTED_NETS} more`;
}

/** What a rule written for a network set's nets allows (the PR warning of every flavour that writes them). */
export function setAddresses(nets: readonly string[]): string {
  return `the addresses of the set (${listNets(nets)})`;
}
