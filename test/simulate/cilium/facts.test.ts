// Every fact of facts.ts, and the guarantee behind `simulate`: with less known of a flow, the
// evaluator never answers "allowed" where the full record is denied or unknown.

import { describe, expect, test } from '@jest/globals';
import { evaluateCiliumFlow } from '../../../src/simulate/cilium/evaluate.ts';
import type { CiliumFlow, CiliumPeer } from '../../../src/simulate/cilium/flow.ts';
import { FACTS, factFlow, factPolicies } from './facts.ts';

describe('Cilium facts (notes section 11.2)', () => {
  test.each(FACTS.map((f) => [f.id, f.why, f] as const))('fact %s: %s', (_id, _why, fact) => {
    expect(evaluateCiliumFlow(factPolicies(fact), factFlow(fact)).verdict).toBe(fact.expect);
  });
});

/** The same peer with less known: no labels, no address. */
function blur(peer: CiliumPeer): CiliumPeer[] {
  if (peer.kind === 'pod')
    return [
      { ...peer, labels: null },
      { ...peer, ip: null },
    ];
  if (peer.kind === 'entity')
    return [
      { ...peer, labels: null },
      { ...peer, ip: null },
    ];
  return [];
}

function lessKnown(flow: CiliumFlow): CiliumFlow[] {
  return [
    ...blur(flow.source).map((source) => ({ ...flow, source })),
    ...blur(flow.destination).map((destination) => ({ ...flow, destination })),
    { ...flow, protocol: null },
    { ...flow, destPort: null },
    { ...flow, destNames: null },
    { ...flow, icmpType: null },
  ];
}

describe('never "allowed" where a fact says denied or unknown', () => {
  const notAllowed = FACTS.filter((f) => f.expect !== 'allowed');
  test.each(notAllowed.map((f) => [f.id, f] as const))('fact %s with less known of the flow', (_id, fact) => {
    const policies = factPolicies(fact);
    for (const flow of lessKnown(factFlow(fact))) expect(evaluateCiliumFlow(policies, flow).verdict).not.toBe('allowed');
  });

  test.each(FACTS.filter((f) => f.expect === 'allowed').map((f) => [f.id, f] as const))(
    'fact %s: an allowed flow with less known is allowed or unknown, never denied',
    (_id, fact) => {
      const policies = factPolicies(fact);
      for (const flow of lessKnown(factFlow(fact))) expect(evaluateCiliumFlow(policies, flow).verdict).not.toBe('denied');
    },
  );
});
