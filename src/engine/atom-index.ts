// One namespace's observed atoms, found by their parts. The aggregator looks an atom up for every
// flow record it learns from; keyed by atomKey's text, each lookup built that text anew, then
// flattened and hashed it: most of aggregation's time on a file of many distinct flows
// (bench/line-costs.ts). Here an atom is found by a number (direction, protocol, port and the
// kind of its peer) and its peer's identity within that kind, which for the common peers is a
// string the record already holds. Two atoms share a place here exactly when they share an
// atomKey (test/engine/atom-index.test.ts), for the atoms the engine makes: protocols as
// parseProtocol gives them (a number only where Calico has no name for it, so 6 is always 'TCP')
// and ports 0-65535 (65536 is this index's "no port").

import { protocolNumber } from '../calico/protocol.ts';
import { type Atom, type Direction, mergeEvidence, type ObservedAtom, type Peer, peerKey } from './model.ts';

/** The kinds of peer identity: a category, Namespace split by whether it names pods. */
const KIND = {
  Domains: 0,
  Service: 1,
  Namespace: 2,
  Pods: 3,
  NetworkSet: 4,
  Entity: 5,
  Nets: 6,
  Private: 7,
  Public: 8,
} as const;
const KINDS = 9;

function kindOf(peer: Peer): number {
  return peer.category === 'Namespace' && peer.pods !== undefined ? KIND.Pods : KIND[peer.category];
}

/**
 * The peer's identity within its kind: peerKey's text without its category prefix where the
 * rest is one field (a namespace, a domain, an entity), so that nothing is built; peerKey itself
 * where it joins several.
 */
function identityOf(peer: Peer): string {
  switch (peer.category) {
    case 'Domains':
      return peer.domain;
    case 'Namespace':
      return peer.pods === undefined ? peer.namespace : peerKey(peer);
    case 'Entity':
      return peer.entity;
    case 'Private':
    case 'Public':
      return peer.ipv6 ? 'ipv6' : '';
    default:
      return peerKey(peer);
  }
}

/** Direction, protocol (1-255), port (0-65535, or none) and kind, as one small integer. */
function codeOf(direction: Direction, peer: Peer, protocol: Atom['protocol'], port: number | null): number {
  const portCode = port === null ? 65536 : port;
  return ((portCode * 256 + protocolNumber(protocol)) * 2 + (direction === 'egress' ? 1 : 0)) * KINDS + kindOf(peer);
}

export class AtomIndex {
  readonly #byCode = new Map<number, Map<string, ObservedAtom>>();

  get(direction: Direction, peer: Peer, protocol: Atom['protocol'], port: number | null): ObservedAtom | undefined {
    return this.#byCode.get(codeOf(direction, peer, protocol, port))?.get(identityOf(peer));
  }

  /** Enters `o` (no atom with its key may be here yet). */
  add(o: ObservedAtom): void {
    const { direction, peer, protocol, port } = o.atom;
    const code = codeOf(direction, peer, protocol, port);
    let byIdentity = this.#byCode.get(code);
    if (byIdentity === undefined) this.#byCode.set(code, (byIdentity = new Map()));
    byIdentity.set(identityOf(peer), o);
  }

  /** Adds `o`'s evidence to the atom with its key, or enters a copy of `o` (another aggregator's). */
  fold(o: ObservedAtom): void {
    const known = this.get(o.atom.direction, o.atom.peer, o.atom.protocol, o.atom.port);
    if (known === undefined) this.add({ ...o, evidence: { ...o.evidence } });
    else mergeEvidence(known.evidence, o.evidence);
  }

  *values(): Generator<ObservedAtom> {
    for (const byIdentity of this.#byCode.values()) yield* byIdentity.values();
  }
}
