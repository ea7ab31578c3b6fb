// Builders for simulator tests: a policy set from YAML text, flows from the engine tests' endpoint
// builders, and verdicts in one line (`allowed: rule ns/tier.name egress[0]`).

import type { Protocol } from '../../src/calico/protocol.ts';
import type { Labels } from '../../src/calico/selector.ts';
import type { FlowEnd } from '../../src/simulate/endpoint.ts';
import { decisionKey, type FlowFacts, Simulator, type Verdict } from '../../src/simulate/evaluate.ts';
import { type PolicySet, type PolicyView, policySetFromTree } from '../../src/simulate/policy-set.ts';

export { hep, net, networkSet, pub, pvt, wep } from './engine.ts';

/** A policy set from one YAML file's text (several documents allowed). */
export function policySet(yaml: string, namespaces?: ReadonlyMap<string, Labels>): PolicySet {
  return policySetFromTree(new Map([['policies.yaml', yaml]]), namespaces === undefined ? {} : { namespaces });
}

export interface FlowOptions {
  readonly protocol?: Protocol;
  readonly port?: number | null;
  readonly service?: { name: string; namespace: string | null };
  readonly domains?: readonly string[];
}

export function egress(source: FlowEnd, dest: FlowEnd, o: FlowOptions = {}): FlowFacts {
  return flow('src', source, dest, o);
}

export function ingress(source: FlowEnd, dest: FlowEnd, o: FlowOptions = {}): FlowFacts {
  return flow('dst', source, dest, o);
}

function flow(reporter: 'src' | 'dst', source: FlowEnd, dest: FlowEnd, o: FlowOptions): FlowFacts {
  return {
    reporter,
    source,
    dest,
    protocol: o.protocol ?? 'TCP',
    destPort: o.port === undefined ? 80 : o.port,
    destService: o.service ?? null,
    destDomains: o.domains ?? [],
  };
}

export function evaluate(set: PolicySet | string, facts: FlowFacts, view: PolicyView = 'staged'): Verdict {
  return new Simulator(typeof set === 'string' ? policySet(set) : set, view).evaluate(facts);
}

/** `allowed: rule a/t.p egress[0]`, candidates joined by ` | `. */
export function oneLine(verdict: Verdict): string {
  return `${verdict.verdict}: ${verdict.decisions.map(decisionKey).join(' | ')}`;
}

export function decide(set: PolicySet | string, facts: FlowFacts, view: PolicyView = 'staged'): string {
  return oneLine(evaluate(set, facts, view));
}

/** A Tier document. */
export function tier(name: string, order: number | null, defaultAction: 'Deny' | 'Pass' = 'Deny'): string {
  return [
    'apiVersion: projectcalico.org/v3',
    'kind: Tier',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    ...(order === null ? [] : [`  order: ${order}`]),
    `  defaultAction: ${defaultAction}`,
  ].join('\n');
}

/** Documents joined into one file. */
export function docs(...parts: string[]): string {
  return parts.join('\n---\n');
}
