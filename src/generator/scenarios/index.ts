// Scenario registry: the names the CLI and `generateFlowLines` accept.
import type { Scenario } from '../scenario.ts';
import { DEFAULT_NAMESPACES, multiNamespaceScenario } from './multi-namespace.ts';
import { scaleScenario } from './scale.ts';
import { yaobankScenario } from './yaobank.ts';

export interface ScenarioParams {
  /** Application namespaces (multi-namespace and scale). */
  readonly namespaces?: number;
  /** Workloads over all namespaces (scale only). */
  readonly workloads?: number;
  /** Distinct flows (scale only). */
  readonly flows?: number;
}

/** The scale scenario's size when none is given: a small cluster (every scenario's tests run on it). */
const SCALE_DEFAULTS = { namespaces: 10, workloads: 40, flows: 400 } as const;

const builders: Readonly<Record<string, (p: ScenarioParams) => Scenario>> = {
  yaobank: () => yaobankScenario(),
  'multi-namespace': (p) => multiNamespaceScenario(p.namespaces ?? DEFAULT_NAMESPACES),
  scale: (p) =>
    scaleScenario({
      namespaces: p.namespaces ?? SCALE_DEFAULTS.namespaces,
      workloads: p.workloads ?? SCALE_DEFAULTS.workloads,
      flows: p.flows ?? SCALE_DEFAULTS.flows,
    }),
};

export const scenarioNames: readonly string[] = Object.freeze(Object.keys(builders));

export function buildScenario(name: string, params: ScenarioParams = {}): Scenario {
  const build = Object.hasOwn(builders, name) ? builders[name] : undefined;
  if (!build) throw new RangeError(`unknown scenario "${name}" (known: ${scenarioNames.join(', ')})`);
  return build(params);
}
