// Differential: the engine asks the one interpreter with less knowledge than the simulator has of
// the same observations (flowsOfObservations: the addresses seen, the policies tree's network
// sets and namespaces). A certain answer must survive more knowledge: wherever the engine's
// matches says a rule decides an atom, the simulator, evaluating that rule on the flow the atom
// stands for, must find it a certain match in every IP family. Over the demo's recommendations,
// for every rule of every namespace policy and every observed atom of its namespace.

import { afterAll, describe, expect, test } from '@jest/globals';
import { SAMPLE_FLOWS, SAMPLE_NOW } from '../../src/cli/demo.ts';
import { recommendIntoDirectory } from '../../src/cli/recommend-directory.ts';
import { type Flavor, validateRecommendationConfig } from '../../src/config/recommendation-config.ts';
import { calicoFlavor } from '../../src/engine/flavors/calico.ts';
import type { PolicyFlavor, RuleContext } from '../../src/engine/flavors/flavor.ts';
import { kubernetesFlavor } from '../../src/engine/flavors/kubernetes.ts';
import { DIRECTIONS } from '../../src/engine/model.ts';
import { parseTime } from '../../src/engine/provenance.ts';
import { FileFlowSource } from '../../src/flows/sources/file-source.ts';
import { endpointOf } from '../../src/simulate/endpoint.ts';
import { flowInFamilies, ruleMatches } from '../../src/simulate/match-rule.ts';
import { policySetFromTree } from '../../src/simulate/policy-set.ts';
import { flowsOfObservations } from '../../src/simulate/would-deny.ts';
import { loadTree } from '../../src/tree/fs-tree.ts';
import { parseYamlFile } from '../../src/yaml/document.ts';
import { makeTempDir, removeDir } from '../support/recommend-run.ts';

const NOW = parseTime(SAMPLE_NOW)!;
const dirs: string[] = [];

afterAll(async () => {
  for (const dir of dirs) await removeDir(dir);
});

const FLAVORS: Record<'calico' | 'kubernetes', () => PolicyFlavor> = {
  calico: () => calicoFlavor({ enterprise: false }),
  kubernetes: () => kubernetesFlavor(),
};

describe.each(Object.keys(FLAVORS) as ('calico' | 'kubernetes')[])('%s', (flavorName) => {
  test("the engine's 'decides' is the simulator's certain match", async () => {
    const config = validateRecommendationConfig({ flavor: flavorName as Flavor });
    const out = await makeTempDir(`policy-recommender-differential-${flavorName}`);
    dirs.push(out);
    const run = await recommendIntoDirectory({
      source: await FileFlowSource.open([SAMPLE_FLOWS]),
      outDir: out,
      config,
      now: NOW,
      dryRun: false,
    });
    const tree = await loadTree(out);
    const set = policySetFromTree(tree);
    expect(set.warnings).toEqual([]);
    const flavor = FLAVORS[flavorName]();
    const nameLabels = (ns: string) => ({ 'kubernetes.io/metadata.name': ns, 'projectcalico.org/name': ns });

    let decided = 0;
    let compared = 0;
    for (const [namespace, observed] of run.flows.observations.byNamespace) {
      const policy = set.policies.find((p) => p.namespace === namespace && p.kind === flavor.kind);
      if (policy === undefined) continue;
      const raw = parseYamlFile(tree.get(policy.path)!, policy.path)[0]!.toJS() as { spec: Record<string, unknown[] | undefined> };
      const atoms = observed.flatMap((o) => flavor.adapt(o));
      for (const direction of DIRECTIONS) {
        const ctx: RuleContext = {
          namespace,
          direction,
          now: SAMPLE_NOW,
          intraNamespacePass: false,
          ownRuleKeys: null,
          namespaceLabels: nameLabels,
          namespaceLabelsComplete: false,
        };
        const compiled = policy[direction] ?? [];
        for (const [index, written] of (raw.spec[direction] ?? []).entries()) {
          const rule = flavor.parse(written);
          for (const atom of atoms.filter((o) => o.atom.direction === direction)) {
            compared++;
            if (!flavor.matches(rule, atom, ctx)) continue;
            decided++;
            const [flow] = flowsOfObservations(new Map([[namespace, [atom]]]));
            const source = endpointOf(flow!.source, set);
            const dest = endpointOf(flow!.dest, set);
            const forms = compiled.filter((r) => r.index === index);
            for (const inFamily of flowInFamilies(source, dest, flow!, set.ipFamilies)) {
              const certain = forms.some((r) => ruleMatches(r, policy, inFamily, set).truth === true);
              if (!certain) throw new Error(`${namespace} ${direction}[${index}] decides ${JSON.stringify(atom.atom)} for the engine only`);
            }
          }
        }
      }
    }
    // The comparison is not empty: every atom is decided by the rule written for it, at least.
    expect(decided).toBeGreaterThan(100);
    expect(compared).toBeGreaterThan(decided);
  }, 120_000);
});
