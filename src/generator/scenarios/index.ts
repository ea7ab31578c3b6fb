// Scenario registry: the names the CLI and `generateFlowLines` accept.
import type { Scenario } from '../scenario.ts';
import { DEFAULT_NAMESPACES, multiNamespaceScenario } from './multi-namespace.ts';
import { yaobankScenario } from './yaobank.ts';

export interface ScenarioParams {
  /** Application namespaces (multi-namespace only). */
  readonly namespaces?: number;
}

const builders: Readonly<Record<string, (p: ScenarioParams) => Scenario>> = {
  yaobank: () => yaobankScenario(),
  'multi-namespace': (p) => multiNamespaceScenario(p.namespaces ?? DEFAULT_NAMESPACES),
};

export const scenarioNames: readonly string[] = Object.freeze(Object.keys(builders));

export function buildScenario(name: string, params: ScenarioParams = {}): Scenario {
  const build = Object.hasOwn(builders, name) ? builders[name] : undefined;
  if (!build) throw new RangeError(`unknown scenario "${name}" (known: ${scenarioNames.join(', ')})`);
  return build(params);
}
