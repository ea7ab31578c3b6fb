// A hub namespace (one namespace and thousands of peer namespaces, issue 14) made merging
// quadratic: every atom was tried on every rule, and every new rule was inserted by a scan.
// merge-rules.ts now asks only the rules an atom's match keys allow (PolicyFlavor.matchKeys,
// rule-decides.ts) and places the new rules at once (insertSorted). Neither may change a result:
// - match keys are a necessary condition of `matches`: wherever a rule decides an atom, on the
//   rules and atoms of a generated hub and of the multi-namespace scenario, their keys meet;
// - merging with the keys gives the rules that trying every rule gives (the flavour without
//   matchKeys), from an empty policy and from the policies of a smaller hub;
// - placing the new rules at once gives the order that inserting them one by one gave.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { type Flavor, validateRecommendationConfig } from '../../src/config/recommendation-config.ts';
import { calicoFlavor } from '../../src/engine/flavors/calico.ts';
import type { PolicyFlavor, PolicyRule, RuleContext, RuleIdentity } from '../../src/engine/flavors/flavor.ts';
import { kubernetesFlavor } from '../../src/engine/flavors/kubernetes.ts';
import { compareSortKeys, firstMatch, insertSorted, mergeDirection } from '../../src/engine/merge-rules.ts';
import { DIRECTIONS, type Direction, type ObservedAtom } from '../../src/engine/model.ts';
import { readFlows } from '../../src/flows/read-flows.ts';
import { FileFlowSource } from '../../src/flows/sources/file-source.ts';
import { writeFlowFile } from '../../src/generator/generate.ts';
import { HUB_NAMESPACE } from '../../src/generator/scenarios/hub.ts';
import { loadTree } from '../../src/tree/fs-tree.ts';
import { parseYamlFile } from '../../src/yaml/document.ts';
import { END_TIME, makeTempDir, removeDir, runIntoDirectory, writeScenarioFlows } from '../support/recommend-run.ts';

const NOW = new Date(END_TIME * 1000).toISOString();
let dir: string;
let smallHub: string;
let largeHub: string;
let multi: string;

beforeAll(async () => {
  dir = await makeTempDir('policy-recommender-merge-lookup');
  smallHub = `${dir}/hub-30.jsonl`;
  largeHub = `${dir}/hub-45.jsonl`;
  // Every scenario flow (3 per peer namespace, 2 reporters each but DNS's) appears at these sizes.
  await writeFlowFile(smallHub, { scenario: 'hub', namespaces: 30, records: 1500, endTime: END_TIME, seed: 1 });
  await writeFlowFile(largeHub, { scenario: 'hub', namespaces: 45, records: 2500, endTime: END_TIME, seed: 2 });
  multi = await writeScenarioFlows(dir, 'multi-namespace');
});

afterAll(async () => {
  await removeDir(dir);
});

const FLAVORS: Record<'calico' | 'kubernetes', () => PolicyFlavor> = {
  calico: () => calicoFlavor({ enterprise: false }),
  kubernetes: () => kubernetesFlavor(),
};

const nameLabels = (ns: string): Record<string, string> => ({ 'kubernetes.io/metadata.name': ns, 'projectcalico.org/name': ns });
/** Cluster context: every label known, a team label beside the names. */
const clusterLabels = (ns: string): Record<string, string> => ({ ...nameLabels(ns), team: ns.startsWith('peer-') ? 'peers' : ns });

function contextOf(namespace: string, direction: Direction, complete: boolean): RuleContext {
  return {
    namespace,
    direction,
    now: NOW,
    intraNamespacePass: false,
    ownRuleKeys: null,
    namespaceLabels: complete ? clusterLabels : nameLabels,
    namespaceLabelsComplete: complete,
  };
}

/** Every rule of every policy in a policies directory, per direction (as written). */
async function rulesIn(out: string): Promise<Map<string, Record<Direction, unknown[]>>> {
  const byFile = new Map<string, Record<Direction, unknown[]>>();
  for (const [path, text] of await loadTree(out)) {
    if (!path.endsWith('.yaml')) continue;
    for (const doc of parseYamlFile(text, path)) {
      const spec = (doc.toJS() as { spec?: Partial<Record<Direction, unknown[]>> } | null)?.spec;
      if (spec !== undefined) byFile.set(path, { ingress: spec.ingress ?? [], egress: spec.egress ?? [] });
    }
  }
  return byFile;
}

async function atomsOf(flavor: PolicyFlavor, flavorName: Flavor, paths: readonly string[]): Promise<Map<string, ObservedAtom[]>> {
  const config = validateRecommendationConfig({ flavor: flavorName });
  const flows = await readFlows(await FileFlowSource.open(paths), config, END_TIME);
  const atoms = new Map<string, ObservedAtom[]>();
  for (const [namespace, observed] of flows.observations.byNamespace)
    atoms.set(
      namespace,
      observed.flatMap((o) => flavor.adapt(o)),
    );
  return atoms;
}

const meet = (a: readonly string[] | null, b: readonly string[] | null): boolean =>
  a === null || b === null || a.some((k) => b.includes(k));

describe.each(Object.keys(FLAVORS) as ('calico' | 'kubernetes')[])('%s', (flavorName) => {
  test('match keys: a rule decides an atom only where their keys meet', async () => {
    const out = `${dir}/keys-${flavorName}`;
    await runIntoDirectory([smallHub, multi], flavorName, out);
    const flavor = FLAVORS[flavorName]();
    const keys = flavor.matchKeys!;
    const files = await rulesIn(out);
    const atoms = await atomsOf(flavor, flavorName, [smallHub, multi]);
    let decided = 0;
    let skipped = 0;
    for (const complete of [false, true])
      for (const [namespace, observed] of atoms)
        for (const direction of DIRECTIONS) {
          const ctx = contextOf(namespace, direction, complete);
          // Every rule of every policy, asked in this namespace's context: most cannot match.
          const rules = [...files.values()].flatMap((f) => f[direction].map((raw) => flavor.parse(raw)));
          for (const atom of observed.filter((o) => o.atom.direction === direction)) {
            const atomKeys = keys.atom(atom, ctx);
            for (const rule of rules) {
              const met = meet(keys.rule(rule, ctx), atomKeys);
              if (!met) skipped++;
              if (!flavor.matches(rule, atom, ctx)) continue;
              decided++;
              if (!met)
                throw new Error(
                  `${namespace} ${direction}: ${JSON.stringify(rule.raw)} decides ${JSON.stringify(atom.atom)} but their keys do not meet`,
                );
            }
          }
        }
    // Not empty, and the keys do leave rules out.
    expect(decided).toBeGreaterThan(1000);
    expect(skipped).toBeGreaterThan(2 * decided);
  }, 120_000);

  test('merging with match keys gives what trying every rule gives', async () => {
    const flavor = FLAVORS[flavorName]();
    const everyRule: PolicyFlavor = { ...flavor, matchKeys: undefined };
    const out = `${dir}/merge-${flavorName}`;
    await runIntoDirectory([smallHub], flavorName, out);
    const files = await rulesIn(out);
    const atoms = await atomsOf(flavor, flavorName, [largeHub, multi]);
    let compared = 0;
    for (const [namespace, observed] of atoms) {
      const policy = [...files].find(([path]) => path.endsWith(`/${namespace}.yaml`))?.[1];
      for (const direction of DIRECTIONS) {
        const ctx = contextOf(namespace, direction, false);
        const here = observed.filter((o) => o.atom.direction === direction);
        for (const existing of [[], policy?.[direction] ?? []])
          for (const maxRules of [20, 1000]) {
            const merge = (f: PolicyFlavor) => {
              const parsed = existing.map((raw) => f.parse(raw));
              const m = mergeDirection(f, parsed, here, ctx, maxRules);
              const first = firstMatch(f, m.rules, ctx);
              return { ...m, rules: m.rules.map((r) => r.raw), decidedBy: here.map(first) };
            };
            expect(merge(flavor)).toEqual(merge(everyRule));
            compared++;
          }
      }
    }
    // The hub itself, both directions, with and without its earlier policy.
    expect(atoms.get(HUB_NAMESPACE)!.length).toBeGreaterThan(90);
    expect(compared).toBeGreaterThan(4 * 2 * 50);
  }, 120_000);
});

describe('insertSorted', () => {
  /** The placement it replaces: each rule inserted in turn before the first recognised rule at or after `from` that sorts after it. */
  function oneByOne<R>(
    rules: readonly PolicyRule<R>[],
    added: readonly PolicyRule<R>[],
    from: number,
    identify: (r: PolicyRule<R>) => RuleIdentity | null,
  ): PolicyRule<R>[] {
    const out = [...rules];
    for (const rule of added) {
      const id = identify(rule)!;
      const at = out.findIndex((r, i) => {
        if (i < from) return false;
        const other = identify(r);
        return other !== null && compareSortKeys(other, id) > 0;
      });
      if (at === -1) out.push(rule);
      else out.splice(at, 0, rule);
    }
    return out;
  }

  // Few distinct keys, so that ties and unsorted runs (a person's reordering) are common; each
  // position of one type, as a flavour's keys have (a number and a string do not compare).
  const sortKey = fc
    .tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom('a', 'b', 'c'), fc.boolean())
    .map(([n, s, short]): (number | string)[] => (short ? [n] : [n, s]));
  const rule = (recognised: boolean) =>
    fc.record({ sortKey: recognised ? sortKey : fc.constant(null), name: fc.string({ maxLength: 4 }) }).map(({ sortKey: key, name }) => ({
      rule: { raw: name, typed: null } as PolicyRule<null>,
      id:
        key === null
          ? null
          : ({ category: 'Namespace', peers: [], extendKey: null, contractKey: null, sortKey: key, ours: true } satisfies RuleIdentity),
    }));

  test('places the added rules where inserting them one by one did', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(rule(true), rule(false)), { maxLength: 12 }),
        fc.array(rule(true), { maxLength: 12 }),
        fc.nat(),
        (existing, added, start) => {
          const ids = new Map([...existing, ...added].map(({ rule: r, id }) => [r, id]));
          const identify = (r: PolicyRule<null>) => ids.get(r) ?? null;
          const rules = existing.map((e) => e.rule);
          const from = start % (rules.length + 1);
          const news = added.map((a) => a.rule);
          expect(insertSorted(rules, news, from, identify)).toEqual(oneByOne(rules, news, from, identify));
          // Same objects, not just equal ones.
          expect(insertSorted(rules, news, from, identify).every((r, i) => r === oneByOne(rules, news, from, identify)[i])).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
