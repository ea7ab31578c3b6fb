// A hub namespace (one namespace and thousands of peer namespaces, issue 14) made merging
// quadratic: every atom was tried on every rule, and every new rule was inserted by a scan.
// merge-rules.ts now asks only the rules an atom's match keys allow (PolicyFlavor.matchKeys,
// rule-decides.ts) and places the new rules at once (insertSorted). Neither may change a result:
// - match keys are a necessary condition of `matches`: wherever a rule decides an atom, on the
//   rules and atoms of a generated hub and of the multi-namespace scenario (and, for Cilium,
//   rules a person may write with every kind of peer, and atoms of every kind of peer), their
//   keys meet;
// - merging with the keys gives the rules that trying every rule gives (the flavour without
//   matchKeys), from an empty policy and from the policies of a smaller hub;
// - placing the new rules at once gives the order that inserting them one by one gave.
// A key function broken on purpose (each rule's first key dropped) fails both checks, so they can.

import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { type Flavor, validateRecommendationConfig } from '../../src/config/recommendation-config.ts';
import { calicoFlavor } from '../../src/engine/flavors/calico.ts';
import { ciliumFlavor, typed } from '../../src/engine/flavors/cilium.ts';
import type { PolicyFlavor, PolicyRule, RuleContext, RuleIdentity } from '../../src/engine/flavors/flavor.ts';
import { kubernetesFlavor } from '../../src/engine/flavors/kubernetes.ts';
import { compareSortKeys, firstMatch, insertSorted, mergeDirection } from '../../src/engine/merge-rules.ts';
import { DIRECTIONS, type Direction, type ObservedAtom, type Peer } from '../../src/engine/model.ts';
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

type FlavorName = 'calico' | 'kubernetes' | 'cilium';
const FLAVORS: Record<FlavorName, () => PolicyFlavor> = {
  calico: () => calicoFlavor({ enterprise: false }),
  kubernetes: () => kubernetesFlavor(),
  cilium: () => ciliumFlavor(),
};

/**
 * Rules a person may write besides ours, one of each kind of peer the Cilium evaluator reads
 * (src/simulate/cilium/match-rule.ts peerMatches: endpoints with and without a namespace, reserved
 * labels, entities, CIDRs, no peer at all, an empty list; FQDNs and services egress only).
 */
function personsRules(flavorName: FlavorName, direction: Direction): unknown[] {
  if (flavorName !== 'cilium') return [];
  const p = direction === 'ingress' ? 'from' : 'to';
  const tcp8080 = { toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] };
  return [
    { [`${p}Entities`]: ['cluster'] },
    { [`${p}Entities`]: ['all'], ...tcp8080 },
    { [`${p}Entities`]: ['world'] },
    { [`${p}Entities`]: ['host', 'kube-apiserver'] },
    { [`${p}Entities`]: ['cluster-mesh'], ...tcp8080 },
    { [`${p}Endpoints`]: [{}] },
    {
      [`${p}Endpoints`]: [
        { matchExpressions: [{ key: 'k8s:io.kubernetes.pod.namespace', operator: 'In', values: ['orders', HUB_NAMESPACE] }] },
      ],
    },
    { [`${p}Endpoints`]: [{ matchLabels: { 'app.kubernetes.io/component': 'client', 'io.kubernetes.pod.namespace': 'peer-00003' } }] },
    { [`${p}Endpoints`]: [{ matchLabels: { 'k8s:app.kubernetes.io/managed-by': 'Helm' } }], ...tcp8080 },
    { [`${p}Endpoints`]: [{ matchExpressions: [{ key: 'k8s:io.kubernetes.pod.namespace', operator: 'Exists' }] }] },
    { [`${p}Endpoints`]: [{ matchLabels: { 'reserved:host': '' } }] },
    { [`${p}Endpoints`]: [], ...tcp8080 },
    { [`${p}CIDR`]: ['0.0.0.0/0'] },
    { [`${p}CIDRSet`]: [{ cidr: '10.0.0.0/8' }, { cidr: '0.0.0.0/0', except: ['192.168.0.0/16'] }] },
    tcp8080,
    ...(direction === 'egress'
      ? [{ toFQDNs: [{ matchPattern: '*' }] }, { toServices: [{ k8sService: { serviceName: 'kube-dns', namespace: 'kube-system' } }] }]
      : []),
  ];
}

/** Atoms of every kind of peer, for flavours that take each (Cilium). */
function moreAtoms(flavorName: FlavorName, namespace: string): ObservedAtom[] {
  if (flavorName !== 'cilium') return [];
  const peers: Peer[] = [
    { category: 'Service', name: 'kube-dns', namespace: 'kube-system' },
    { category: 'Entity', entity: 'host' },
    { category: 'Entity', entity: 'kube-apiserver' },
    { category: 'Public' },
    { category: 'Private' },
    { category: 'Public', ipv6: true },
    { category: 'Nets', nets: ['10.1.0.0/16'] },
    { category: 'Domains', domain: 'api.example.com' },
    { category: 'Namespace', namespace },
    { category: 'Namespace', namespace: 'peer-00003', pods: { 'app.kubernetes.io/component': 'client' } },
    // A pod of another cluster of a mesh (its cluster label, pkg/k8s/apis/cilium.io/const.go PolicyLabelCluster).
    { category: 'Namespace', namespace: 'remote', pods: { 'io.cilium.k8s.policy.cluster': 'mesh-2' } },
  ];
  const evidence = { flows: 1, firstSeen: END_TIME, lastSeen: END_TIME, remoteIps: 0 };
  return DIRECTIONS.flatMap((direction) =>
    peers.flatMap((peer) =>
      (['TCP', 'ICMP'] as const).map(
        (protocol): ObservedAtom => ({ atom: { direction, peer, protocol, port: protocol === 'TCP' ? 8080 : null }, evidence }),
      ),
    ),
  );
}

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

/** Deciding pairs of a rule and an atom whose keys do not meet (at most 5), and how many pairs decided and were left out. */
function keyMisses(
  flavor: PolicyFlavor,
  flavorName: FlavorName,
  files: Map<string, Record<Direction, unknown[]>>,
  atoms: Map<string, ObservedAtom[]>,
): { decided: number; skipped: number; misses: string[] } {
  const keys = flavor.matchKeys!;
  let decided = 0;
  let skipped = 0;
  const misses: string[] = [];
  for (const complete of [false, true])
    for (const [namespace, observed] of atoms)
      for (const direction of DIRECTIONS) {
        const ctx = contextOf(namespace, direction, complete);
        // Every rule of every policy, asked in this namespace's context: most cannot match.
        const rules = [...[...files.values()].flatMap((f) => f[direction]), ...personsRules(flavorName, direction)].map((raw) =>
          flavor.parse(raw),
        );
        for (const atom of [...observed, ...moreAtoms(flavorName, namespace)].filter((o) => o.atom.direction === direction)) {
          const atomKeys = keys.atom(atom, ctx);
          for (const rule of rules) {
            const met = meet(keys.rule(rule, ctx), atomKeys);
            if (!met) skipped++;
            if (!flavor.matches(rule, atom, ctx)) continue;
            decided++;
            if (!met && misses.length < 5)
              misses.push(
                `${namespace} ${direction}: ${JSON.stringify(rule.raw)} decides ${JSON.stringify(atom.atom)} but their keys do not meet`,
              );
          }
        }
      }
  return { decided, skipped, misses };
}

/** Merges of each direction of each namespace where `flavor` and `reference` differ (at most 3), and how many were compared. */
function mergeDifferences(
  flavor: PolicyFlavor,
  reference: PolicyFlavor,
  files: Map<string, Record<Direction, unknown[]>>,
  atoms: Map<string, ObservedAtom[]>,
): { compared: number; differences: string[] } {
  let compared = 0;
  const differences: string[] = [];
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
          const [got, wanted] = [merge(flavor), merge(reference)];
          if (!isDeepStrictEqual(got, wanted) && differences.length < 3)
            differences.push(
              `${namespace} ${direction} (${existing.length} rules, at most ${maxRules}): ${JSON.stringify(got).slice(0, 300)}`,
            );
          compared++;
        }
    }
  }
  return { compared, differences };
}

/** The flavour's match keys with each rule's first key dropped: a rule with one key meets no atom. */
function brokenKeys(flavor: PolicyFlavor): PolicyFlavor {
  const keys = flavor.matchKeys!;
  return { ...flavor, matchKeys: { atom: keys.atom, rule: (rule, ctx) => keys.rule(rule, ctx)?.slice(1) ?? null } };
}

describe.each(Object.keys(FLAVORS) as FlavorName[])('%s', (flavorName) => {
  // What both tests of a flavour read: the policies of a run and the atoms of other flows.
  const keysInput = async () => {
    const out = `${dir}/keys-${flavorName}`;
    await runIntoDirectory([smallHub, multi], flavorName, out);
    return { files: await rulesIn(out), atoms: await atomsOf(FLAVORS[flavorName](), flavorName, [smallHub, multi]) };
  };
  const mergeInput = async () => {
    const out = `${dir}/merge-${flavorName}`;
    await runIntoDirectory([smallHub], flavorName, out);
    const atoms = await atomsOf(FLAVORS[flavorName](), flavorName, [largeHub, multi]);
    // The hub itself, both directions, with and without its earlier policy.
    expect(atoms.get(HUB_NAMESPACE)!.length).toBeGreaterThan(90);
    return { files: await rulesIn(out), atoms };
  };

  test('match keys: a rule decides an atom only where their keys meet', async () => {
    const { files, atoms } = await keysInput();
    const flavor = FLAVORS[flavorName]();
    // A person's rules all read as Cilium reads them (none refused, which would match nothing).
    const refused = DIRECTIONS.flatMap((d) => personsRules(flavorName, d).filter((raw) => typed(raw, d, HUB_NAMESPACE) === null));
    expect(refused).toEqual([]);
    const { decided, skipped, misses } = keyMisses(flavor, flavorName, files, atoms);
    expect(misses).toEqual([]);
    // Not empty, and the keys do leave rules out.
    expect(decided).toBeGreaterThan(1000);
    expect(skipped).toBeGreaterThan(2 * decided);
    // Keys that leave out a rule that decides are found out.
    expect(keyMisses(brokenKeys(flavor), flavorName, files, atoms).misses).not.toEqual([]);
  }, 240_000);

  test('merging with match keys gives what trying every rule gives', async () => {
    const { files, atoms } = await mergeInput();
    const flavor = FLAVORS[flavorName]();
    const everyRule: PolicyFlavor = { ...flavor, matchKeys: undefined };
    const { compared, differences } = mergeDifferences(flavor, everyRule, files, atoms);
    expect(differences).toEqual([]);
    expect(compared).toBeGreaterThan(4 * 2 * 50);
    // Keys that leave out a rule that decides give other rules.
    const hub = new Map([[HUB_NAMESPACE, atoms.get(HUB_NAMESPACE)!]]);
    expect(mergeDifferences(brokenKeys(flavor), everyRule, files, hub).differences).not.toEqual([]);
  }, 240_000);
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
