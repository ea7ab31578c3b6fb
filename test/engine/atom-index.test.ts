// The aggregator finds a namespace's atoms by their parts (src/engine/atom-index.ts) instead of by
// atomKey's text, which it no longer builds for every record. The identity must not change: two
// atoms share a place in the index exactly when they share an atomKey, for every kind of peer
// (the categories' fields chosen so that different peers often collide in one field: the same
// text as a namespace, a domain and an entity; a Private and a Public peer; IPv6 or not), every
// protocol (named, and by number) and port (none included). A mutation that drops the kind, the
// direction, a Private peer's or a missing port's own place from the index's number, or keys pods
// by their namespace or IPv6 peers as IPv4 ones, fails it.

import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import type { Protocol } from '../../src/calico/protocol.ts';
import { FlowAggregator } from '../../src/engine/aggregate.ts';
import { AtomIndex } from '../../src/engine/atom-index.ts';
import type { LearnContext } from '../../src/engine/learn.ts';
import { type Atom, atomKey, type ObservedAtom, type Peer, SAW_PRIVATE_IP } from '../../src/engine/model.ts';
import type { FlowRecord } from '../../src/flows/record.ts';

const name = fc.constantFrom('a', 'b', 'private', 'public', 'host', 'ipv6', 'x.example.com');
const labels = fc.dictionary(fc.constantFrom('app', 'tier'), fc.constantFrom('a', 'b'), { maxKeys: 2 });

const peer: fc.Arbitrary<Peer> = fc.oneof(
  fc.record({ category: fc.constant('Domains' as const), domain: name }),
  fc.record({ category: fc.constant('Service' as const), name, namespace: name }),
  fc.record({ category: fc.constant('Namespace' as const), namespace: name }),
  fc.record({ category: fc.constant('Namespace' as const), namespace: name, pods: labels }),
  fc.record({ category: fc.constant('NetworkSet' as const), name, namespace: fc.option(name, { nil: null }) }),
  fc.record({ category: fc.constant('NetworkSet' as const), name, namespace: fc.option(name, { nil: null }), labels }),
  fc.record({
    category: fc.constant('Entity' as const),
    entity: fc.constantFrom('host', 'remote-node', 'kube-apiserver') as fc.Arbitrary<'host'>,
  }),
  fc.record({ category: fc.constant('Nets' as const), nets: fc.array(fc.constantFrom('10.0.0.0/8', 'fd00::/8'), { maxLength: 2 }) }),
  fc.constantFrom<Peer>(
    { category: 'Private' },
    { category: 'Private', ipv6: true },
    { category: 'Public' },
    { category: 'Public', ipv6: true },
  ),
);

const atom: fc.Arbitrary<Atom> = fc.record({
  direction: fc.constantFrom('ingress' as const, 'egress' as const),
  peer,
  protocol: fc.constantFrom<Protocol>('TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite', 4, 50, 255),
  port: fc.option(fc.constantFrom(0, 53, 443, 8080, 65535), { nil: null }),
});

/** Atoms that differ in their peer alone more often: two directions and protocols, three ports (none, and 0, among them). */
const crowded: fc.Arbitrary<Atom> = fc.record({
  direction: fc.constantFrom('ingress' as const, 'egress' as const),
  peer,
  protocol: fc.constantFrom<Protocol>('TCP', 4),
  port: fc.constantFrom(null, 0, 443),
});

const observed = (a: Atom, flows: number): ObservedAtom => ({
  atom: a,
  evidence: { flows, firstSeen: flows, lastSeen: flows, remoteIps: 0 },
});

describe('AtomIndex', () => {
  test('finds an atom exactly where atomKey would', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.array(atom, { minLength: 1, maxLength: 40 }), fc.array(crowded, { minLength: 1, maxLength: 60 })),
        (atoms) => {
          const byKey = new Map<string, ObservedAtom>();
          const index = new AtomIndex();
          for (const [i, a] of atoms.entries()) {
            const known = byKey.get(atomKey(a));
            // Found in the index exactly when atomKey knows it, and the same atom.
            expect(index.get(a.direction, a.peer, a.protocol, a.port)).toBe(known);
            if (known === undefined) {
              const o = observed(a, i);
              byKey.set(atomKey(a), o);
              index.add(o);
            }
          }
          expect([...index.values()]).toHaveLength(byKey.size);
          expect(new Set(index.values())).toEqual(new Set(byKey.values()));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("fold sums another aggregator's evidence into the atom with its key, or enters a copy", () => {
    const a: Atom = { direction: 'egress', peer: { category: 'Namespace', namespace: 'db' }, protocol: 'TCP', port: 5432 };
    const index = new AtomIndex();
    const first = observed(a, 2);
    index.fold(first);
    index.fold(observed({ ...a, peer: { category: 'Namespace', namespace: 'db' } }, 3));
    index.fold(observed({ ...a, port: 5433 }, 1));
    const atoms = [...index.values()];
    expect(atoms.map((o) => [atomKey(o.atom), o.evidence])).toEqual([
      [atomKey(a), { flows: 5, firstSeen: 2, lastSeen: 3, remoteIps: 0 }],
      [atomKey({ ...a, port: 5433 }), { flows: 1, firstSeen: 1, lastSeen: 1, remoteIps: 0 }],
    ]);
    // A copy: the other aggregator's evidence is not changed.
    expect(first.evidence.flows).toBe(2);
  });
});

describe('FlowAggregator, through its index', () => {
  const ctx: LearnContext = { window: { from: 0, to: 2_000_000_000 } } as LearnContext;
  const endpoint = (namespace: string, name: string) => ({ type: 'wep' as const, name, namespace, labels: [], ip: '10.0.0.1' });
  const record = (remote: string, port: number, flows: number, reporter: 'src' | 'dst' = 'src'): FlowRecord => ({
    startTime: 1000 + flows,
    endTime: 1100 + flows,
    source: endpoint('shop', 'web-*'),
    dest: endpoint(remote, 'x-*'),
    destPort: port,
    destService: null,
    destDomains: [],
    protocol: 'TCP',
    action: 'allow',
    reporter,
    policies: null,
    numFlows: flows,
  });

  test('records of one atom are one atom with their evidence summed, split or merged in any way', () => {
    const records = [
      record('db', 5432, 1),
      record('db', 5432, 2),
      record('cache', 6379, 4),
      record('db', 5433, 8),
      record('db', 5432, 16, 'dst'),
    ];
    const whole = new FlowAggregator(ctx);
    whole.addAll(records);
    const observations = whole.result();
    expect(observations.byNamespace.get('shop')!.map((o) => [atomKey(o.atom), o.evidence.flows])).toEqual([
      ['egress namespace:db TCP 5432', 3],
      ['egress namespace:db TCP 5433', 8],
      ['egress namespace:cache TCP 6379', 4],
    ]);
    expect(observations.byNamespace.get('db')!.map((o) => [atomKey(o.atom), o.evidence])).toEqual([
      ['ingress namespace:shop TCP 5432', { flows: 16, firstSeen: 1016, lastSeen: 1116, remoteIps: SAW_PRIVATE_IP }],
    ]);
    const halves = [new FlowAggregator(ctx), new FlowAggregator(ctx)];
    records.forEach((r, i) => halves[i % 2]!.add(r));
    const merged = new FlowAggregator(ctx);
    for (const half of halves) merged.merge(structuredClone(half.state()));
    expect(merged.result()).toEqual(observations);
  });
});
