// Calico's own validation cases, per supported release, against our two judges of "what a cluster
// accepts": the test oracle (test/support/crd-validator.ts) and the simulator's validation of the
// objects it reads (src/simulate/policy-set.ts). The cases and where they come from are in
// test/fixtures/upstream/calico-validator-facts.ts; each group names its upstream file and releases.

import { describe, expect, test } from '@jest/globals';
import { buildPolicySet, type SourcedObject } from '../../src/simulate/policy-set.ts';
import { DERIVED_GROUPS, FACT_GROUPS, type FactGroup, type ValidatorFact } from '../fixtures/upstream/calico-validator-facts.ts';
import { type CalicoVersion, validateCalicoObject } from '../support/crd-validator.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const FACT_PATH = 'fact.yaml';

/** What a cluster of `version` decides. */
function clusterVerdict(fact: ValidatorFact, version: CalicoVersion): boolean {
  return fact.cluster?.on.includes(version) ? fact.cluster.valid : fact.valid;
}

/** The tiers a policy needs to exist (Calico refuses a policy in a missing tier). */
function supportingObjects(object: Obj): SourcedObject[] {
  const spec = isObj(object['spec']) ? object['spec'] : {};
  const tier = spec['tier'];
  if (object['kind'] === 'Tier' || typeof tier !== 'string' || tier === 'default') return [];
  return [
    { path: 'tiers.yaml', value: { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: tier }, spec: { order: 100 } } },
  ];
}

/** The simulator's verdict: accepted when it reports nothing about the fact's file. */
function simulatorAccepts(object: Obj, version: CalicoVersion): { accepted: boolean; warnings: string[] } {
  const set = buildPolicySet([...supportingObjects(object), { path: FACT_PATH, value: structuredClone(object) }], {
    calicoVersion: version,
  });
  const other = set.warnings.filter((w) => w.path !== FACT_PATH);
  if (other.length > 0) throw new Error(`supporting objects refused: ${other.map((w) => w.message).join('; ')}`);
  const warnings = set.warnings.filter((w) => w.path === FACT_PATH).map((w) => w.message);
  return { accepted: warnings.length === 0, warnings };
}

const label = (fact: ValidatorFact): string => (fact.name.length > 120 ? `${fact.name.slice(0, 117)}...` : fact.name);

function describeGroup(group: FactGroup): void {
  describe(`${group.title} (${group.source}${group.derived ? ', no upstream test: boundary values of its rule' : ''})`, () => {
    test.each(group.releases.map((v) => [v]))('Calico %s: the oracle agrees', (version) => {
      const mismatches = group.facts.flatMap((fact) => {
        const out: Obj[] = [];
        if (group.scope !== 'cluster') {
          const errors = validateCalicoObject(fact.object, { calicoVersion: version, scope: 'validator' });
          if ((errors.length === 0) !== fact.valid) out.push({ fact: label(fact), scope: 'validator', upstream: fact.valid, errors });
        }
        const expected = clusterVerdict(fact, version);
        const errors = validateCalicoObject(fact.object, { calicoVersion: version });
        if ((errors.length === 0) !== expected) out.push({ fact: label(fact), scope: 'cluster', upstream: expected, errors });
        return out;
      });
      expect(mismatches).toEqual([]);
    });

    test.each(group.releases.map((v) => [v]))('Calico %s: the simulator agrees', (version) => {
      const mismatches = group.facts.flatMap((fact) => {
        const expected = clusterVerdict(fact, version);
        const { accepted, warnings } = simulatorAccepts(fact.object, version);
        return accepted === expected ? [] : [{ fact: label(fact), upstream: expected, warnings }];
      });
      expect(mismatches).toEqual([]);
    });
  });
}

describe('upstream validator cases', () => {
  for (const group of FACT_GROUPS) describeGroup(group);
});

describe('upstream validation rules without an upstream test', () => {
  for (const group of DERIVED_GROUPS) describeGroup(group);
});

test('every fact group names a known release and an upstream file, and no fact group is empty', () => {
  for (const group of [...FACT_GROUPS, ...DERIVED_GROUPS]) {
    expect({
      title: group.title,
      releases: group.releases.length > 0,
      facts: group.facts.length > 0,
      source: /^(libcalico-go|api)\//.test(group.source),
    }).toEqual({
      title: group.title,
      releases: true,
      facts: true,
      source: true,
    });
  }
  // Both verdicts occur, so neither judge can pass by accepting (or refusing) everything.
  const verdicts = new Set(FACT_GROUPS.flatMap((g) => g.facts.map((f) => f.valid)));
  expect([...verdicts].sort()).toEqual([false, true]);
});
