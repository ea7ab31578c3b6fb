// How the flavours without network sets (kubernetes, cilium) reach a Calico network set: by the
// set's own nets when they are known (the cluster context or the policies tree; flows carry no
// nets), as a Nets peer, written as one NetworkPolicy `ipBlock` or one Cilium CIDR-set entry per
// net; otherwise by the classes of the addresses the set was seen at. Both are approximations
// (neither kind can name a set, so a later change of the set is not followed), and the PR says
// exactly what the rules allow.

import { ALL_IPV6, formatCidr, PRIVATE_NETS, PRIVATE_NETS_V6, ruleNet } from '../../calico/nets.ts';
import type { IpFamily } from '../../config/recommendation-config.ts';
import { type Peer, peerKey, SAW_NO_IP, SAW_PRIVATE_IP, SAW_PRIVATE_IPV6, SAW_PUBLIC_IP, SAW_PUBLIC_IPV6 } from '../model.ts';
import { knownNets, type NetworkSetDirectory } from '../network-sets.ts';
import { setAddresses } from './describe-peer.ts';

type NetworkSetPeer = Extract<Peer, { category: 'NetworkSet' }>;

/** The peers a set's rules are written for, and what they allow, in words. */
export interface SetAddressTarget {
  readonly peers: readonly Peer[];
  readonly allows: string;
}

/** The set's nets when known (one Nets peer), else the classes of the addresses it was seen at (`seen`: SAW_* bits). */
export function setAddressTarget(
  peer: NetworkSetPeer,
  seen: number,
  sets: NetworkSetDirectory,
  families: readonly IpFamily[],
): SetAddressTarget {
  const nets = knownNets(sets, peer.namespace, peer.name);
  if (nets !== null) return { peers: [netsPeer(nets)], allows: setAddresses(nets) };
  const peers = setAddressPeers(seen, families);
  return { peers, allows: peers.map(describeAddressPeer).join(' and ') };
}

/**
 * The peer for these nets: an address class when they are exactly its nets (so that a rule is
 * read back as what it was written for, whichever of the two it came from), else a Nets peer.
 */
function netsPeer(nets: readonly string[]): Peer {
  const same = (list: readonly string[]) => list.length === nets.length && list.every((n) => nets.includes(n));
  if (same(PRIVATE_NETS)) return { category: 'Private' };
  if (same(PRIVATE_NETS_V6)) return { category: 'Private', ipv6: true };
  if (same([ALL_IPV6])) return { category: 'Public', ipv6: true };
  return { category: 'Nets', nets };
}

/**
 * The Nets peer a rule's CIDRs (read back from a written rule) stand for; null when one is not a
 * masked CIDR in the form we write (knownNets), so a person's other CIDRs are not taken for ours.
 */
export function readNetsPeer(cidrs: readonly (string | null)[]): Peer | null {
  if (cidrs.length === 0) return null;
  const masked = (text: string | null) => {
    const net = text === null ? null : ruleNet(text);
    return net !== null && 'cidr' in net && formatCidr(net.cidr) === text;
  };
  return cidrs.every(masked) ? { category: 'Nets', nets: cidrs as string[] } : null;
}

/** The address peers standing for a network set seen at these addresses (SAW_* bits). */
function setAddressPeers(seen: number, families: readonly IpFamily[]): Peer[] {
  const peers: Peer[] = [];
  const unknown = (seen & SAW_NO_IP) !== 0 || seen === 0;
  if (unknown || seen & SAW_PRIVATE_IP) peers.push({ category: 'Private' });
  if (unknown || seen & SAW_PUBLIC_IP) peers.push({ category: 'Public' });
  if ((unknown && families.includes('IPv6')) || seen & SAW_PUBLIC_IPV6) peers.push({ category: 'Public', ipv6: true });
  else if (seen & SAW_PRIVATE_IPV6) peers.push({ category: 'Private', ipv6: true });
  return peers;
}

/** An address peer in the words of the PR warnings of these flavours. */
export function describeAddressPeer(peer: Peer): string {
  if (peer.category === 'Private') return peer.ipv6 ? `${PRIVATE_NETS_V6.join(', ')}` : `the private ranges (${PRIVATE_NETS.join(', ')})`;
  if (peer.category === 'Public') return peer.ipv6 ? 'any IPv6 address' : `any public IPv4 address (outside ${PRIVATE_NETS.join(', ')})`;
  return peerKey(peer);
}
