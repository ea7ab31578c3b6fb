// Scenario registry: the names the CLI and `generateFlowLines` accept.
import { parseProtocol, protocolName } from '../../calico/protocol.ts';
import type { Endpoint, Scenario } from '../scenario.ts';
import { hubScenario } from './hub.ts';
import { DEFAULT_NAMESPACES, multiNamespaceScenario } from './multi-namespace.ts';
import { REALISTIC_NAMESPACES, realisticScenario } from './realistic.ts';
import { scaleScenario } from './scale.ts';
import { yaobankScenario } from './yaobank.ts';

export interface ScenarioParams {
  /** Application namespaces (multi-namespace, realistic and scale; hub: the namespaces that call the hub). */
  readonly namespaces?: number;
  /** Workloads over all namespaces (scale only). */
  readonly workloads?: number;
  /** Distinct flows (scale only). */
  readonly flows?: number;
}

/** The scale scenario's size when none is given: a small cluster (every scenario's tests run on it). */
const SCALE_DEFAULTS = { namespaces: 10, workloads: 40, flows: 400 } as const;

/** The hub scenario's peer namespaces when none is given. */
const HUB_DEFAULT_PEERS = 20;

const builders: Readonly<Record<string, (p: ScenarioParams) => Scenario>> = {
  yaobank: () => yaobankScenario(),
  'multi-namespace': (p) => multiNamespaceScenario(p.namespaces ?? DEFAULT_NAMESPACES),
  realistic: (p) => realisticScenario(p.namespaces ?? REALISTIC_NAMESPACES),
  scale: (p) =>
    scaleScenario({
      namespaces: p.namespaces ?? SCALE_DEFAULTS.namespaces,
      workloads: p.workloads ?? SCALE_DEFAULTS.workloads,
      flows: p.flows ?? SCALE_DEFAULTS.flows,
    }),
  hub: (p) => hubScenario(p.namespaces ?? HUB_DEFAULT_PEERS),
};

export const scenarioNames: readonly string[] = Object.freeze(Object.keys(builders));

/** What each scenario is, in a sentence; the rest of its description is counted from its data. */
const ABOUT: Readonly<Record<string, string>> = {
  yaobank: 'the yaobank demo app (customer -> summary -> database) and the noise a real cluster adds',
  hub: `one namespace that ${HUB_DEFAULT_PEERS} peer namespaces (--namespaces changes it) call and that calls each of them back`,
  'multi-namespace': `${DEFAULT_NAMESPACES} application namespaces (--namespaces changes it) of 2-5 workloads calling each other, with every peer kind the recommender knows`,
  realistic: `a large cluster's cardinality: multi-namespace at ${REALISTIC_NAMESPACES} namespaces (--namespaces changes it), each also running eight Helm-installed microservices, about 20,000 distinct flows with skewed traffic`,
};

/** `--scenario list`: each scenario's name, what it is, and what its flows contain (counted from the scenario itself). */
export function describeScenarios(): string[] {
  return scenarioNames.map((name) => {
    const s = buildScenario(name);
    const namespaces = [...new Set(s.workloads.map((w) => w.namespace))].sort();
    const protocols = [...new Set(s.flows.map((f) => parseProtocol(f.proto)).filter((p) => p !== null))].map(protocolName);
    const kinds = new Set(s.flows.flatMap((f) => [f.source, f.dest]).map(endpointKind));
    if (s.flows.some((f) => f.domains !== undefined)) kinds.add('domains');
    if (s.flows.some((f) => f.service !== undefined)) kinds.add('services');
    const count = (p: (f: Scenario['flows'][number]) => boolean) => s.flows.filter(p).length;
    const noise = [
      [count((f) => f.action === 'deny'), 'denied'],
      [count((f) => f.action === 'allow' && f.trace.kind === 'hit'), 'decided by another policy'],
      [count((f) => f.trace.kind === 'staged'), 'that a staged policy would decide otherwise'],
    ] as const;
    const untraced = count((f) => f.trace.kind === 'absent');
    const skipped = noise.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`);
    return (
      `${name}: ${ABOUT[name] ?? 'a generated cluster'}. ` +
      `${s.workloads.length} workloads in ${namespaces.length} namespaces (${namespaces.slice(0, 6).join(', ')}${namespaces.length > 6 ? ', ...' : ''}) on ${s.nodes.length} nodes; ` +
      `${s.flows.length} distinct flows over ${protocols.join(', ')}; peers: ${[...kinds].join(', ')}` +
      `${skipped.length > 0 ? `; not to be learned: ${skipped.join(', ')}` : ''}` +
      `${untraced > 0 ? `; ${untraced} without a policy trace (an older Felix)` : ''}.`
    );
  });
}

function endpointKind(e: Endpoint): string {
  switch (e.type) {
    case 'wep':
      return 'pods';
    case 'hep':
      return 'host endpoints';
    case 'ns':
      return e.namespace === '-' ? 'global network sets' : 'network sets';
    case 'net':
      return e.name === 'pub' ? 'public addresses' : 'private addresses';
  }
}

export function buildScenario(name: string, params: ScenarioParams = {}): Scenario {
  const build = Object.hasOwn(builders, name) ? builders[name] : undefined;
  if (!build) throw new RangeError(`unknown scenario "${name}" (known: ${scenarioNames.join(', ')})`);
  return build(params);
}
