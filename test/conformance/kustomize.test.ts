// Argo CD and Flux build a policies directory: with its kustomization when it has one, else as a
// directory (Flux generates the kustomization: support/kustomize.ts fluxBuild). Whatever the
// recommender writes, into an empty directory (no kustomization: the directory layout) or into a
// person's own kustomize layout, must build with `kubectl kustomize` and list
// exactly the expected objects (each once), leave the person's files alone apart from resource
// entries it adds to their kustomizations, and a second run on the same flows must change nothing.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import type { DirectoryRun } from '../../src/cli/recommend-directory.ts';
import type { Flavor } from '../../src/config/recommendation-config.ts';
import { loadTree, TEMPLATE_DIR } from '../../src/tree/fs-tree.ts';
import { fluxBuild, type KustomizeBuild, kubectlAvailable } from '../support/kustomize.ts';
import {
  ALL_FLAVORS,
  isKustomization,
  isKustomizationPath,
  makeTempDir,
  namespacePolicyId,
  objectId,
  parseManifests,
  removeDir,
  runIntoDirectory,
  SCENARIOS,
  TEMPLATE_OBJECTS,
  writeScenarioFlows,
} from '../support/recommend-run.ts';

// kubectl is installed here and in CI; without it only the builds are skipped, with a message.
const KUBECTL = kubectlAvailable();
const testWithKubectl = KUBECTL ? test : test.skip;
const NO_BUILD: KustomizeBuild = { ok: false, status: null, stderr: 'kubectl is not on PATH', objects: [] };
if (!KUBECTL) {
  test.skip('kubectl is not on PATH: `kubectl kustomize` builds are not checked (install kubectl to run them)', () => {});
}
// As Flux builds a path: its kustomization, or one generated listing every manifest (the directory layout).
const build = (dir: string): KustomizeBuild => (KUBECTL ? fluxBuild(dir) : NO_BUILD);

const ids = (objects: readonly Record<string, unknown>[]): string[] => objects.map(objectId).sort();

/** Passes with the build; on failure shows kustomize's message. */
function expectBuilt(build: KustomizeBuild): void {
  expect({ ok: build.ok, error: build.ok ? '' : build.stderr }).toEqual({ ok: true, error: '' });
}

/** Objects the run wrote per-namespace policies for. */
function policiesOf(run: DirectoryRun, flavor: Flavor): string[] {
  return run.plan.namespaces.filter((r) => r.outcome !== 'skipped').map((r) => namespacePolicyId(flavor, r.namespace));
}

const templateObjectsFor = (flavor: Flavor): string[] => (flavor === 'kubernetes' ? [] : [...TEMPLATE_OBJECTS]);

/** Resource objects (not kustomizations) in every YAML file of a directory. */
async function objectsInDirectory(dir: string): Promise<string[]> {
  return ids(
    parseManifests(await loadTree(dir))
      .map((o) => o.value)
      .filter((v) => !isKustomization(v)),
  );
}

let workDir: string | undefined;
let flowPaths: string[] = [];

beforeAll(async () => {
  workDir = await makeTempDir('kustomize');
  const flowsDir = join(workDir, 'flows');
  await mkdir(flowsDir);
  flowPaths = await Promise.all(SCENARIOS.map((s) => writeScenarioFlows(flowsDir, s)));
});
afterAll(() => removeDir(workDir));

describe('the template, policies-template/clusters/example/', () => {
  testWithKubectl('builds, with the tiers and the staged default deny', () => {
    const built = build(TEMPLATE_DIR);
    expectBuilt(built);
    expect(ids(built.objects)).toEqual([...TEMPLATE_OBJECTS].sort());
  });
});

describe.each(ALL_FLAVORS.map((f) => [f]))('a %s run into an empty directory', (flavor: Flavor) => {
  let outDir: string;
  let run: DirectoryRun;
  let built: KustomizeBuild;

  beforeAll(async () => {
    outDir = join(workDir!, `empty-${flavor}`);
    run = await runIntoDirectory(flowPaths, flavor, outDir);
    built = build(outDir);
  });

  test('writes a policy for every namespace of both scenarios', () => {
    const namespaces = run.plan.namespaces.filter((r) => r.outcome === 'created').map((r) => r.namespace);
    expect(namespaces).toEqual(expect.arrayContaining(['yaobank', 'payments', 'orders']));
    expect(run.plan.warnings).toEqual([]);
  });

  test('the directory holds exactly the policies and, for Calico flavours, the template objects', async () => {
    // Every resource file, reachable or not: what kustomize must then list.
    expect(await objectsInDirectory(outDir)).toEqual([...policiesOf(run, flavor), ...templateObjectsFor(flavor)].sort());
  });

  testWithKubectl('kubectl kustomize builds it and lists exactly those objects', () => {
    expectBuilt(built);
    expect(ids(built.objects)).toEqual([...policiesOf(run, flavor), ...templateObjectsFor(flavor)].sort());
  });

  test('no kustomization lists itself or a file that does not exist', async () => {
    const tree = await loadTree(outDir);
    const problems: string[] = [];
    for (const [path, text] of tree) {
      if (!isKustomizationPath(path)) continue;
      const dir = dirname(path) === '.' ? '' : `${dirname(path)}/`;
      const resources = ((parseYaml(text) as Record<string, unknown>)['resources'] ?? []) as string[];
      for (const entry of resources) {
        const target = `${dir}${entry}`.replace(/\/$/, '');
        if (isKustomizationPath(target)) problems.push(`${path} lists the kustomization ${entry}`);
        else if (!tree.has(target) && ![...tree.keys()].some((p) => p.startsWith(`${target}/`)))
          problems.push(`${path} lists ${entry}, which does not exist`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('a second run on the same flows changes nothing', async () => {
    const again = await runIntoDirectory(flowPaths, flavor, outDir);
    expect([...again.plan.changes.keys()]).toEqual([]);
  });
});

// A person's own layout: a root kustomization listing `policies/`, which has its own kustomization,
// a hand-written NetworkPolicy and the `namespace-isolation` tier (with their own order).
const PERSON_FILES: ReadonlyMap<string, string> = new Map([
  [
    'kustomization.yaml',
    [
      '# Everything Argo CD applies to the prod cluster.',
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      '  - policies/ # hand-written, reviewed by the platform team',
      '',
    ].join('\n'),
  ],
  [
    'policies/kustomization.yaml',
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      '# Tiers first, so that Argo CD creates them before the policies that name them.',
      'resources:',
      '  - tiers.yaml',
      '  - allow-dns.yaml',
      '',
    ].join('\n'),
  ],
  [
    'policies/tiers.yaml',
    [
      '# Our own isolation tier, evaluated before the platform tier on purpose.',
      'apiVersion: projectcalico.org/v3',
      'kind: Tier',
      'metadata:',
      '  name: namespace-isolation',
      'spec:',
      '  order: 150',
      '  defaultAction: Deny',
      '',
    ].join('\n'),
  ],
  [
    'policies/allow-dns.yaml',
    [
      '# Every pod in yaobank may resolve names.',
      'apiVersion: networking.k8s.io/v1',
      'kind: NetworkPolicy',
      'metadata:',
      '  name: allow-dns',
      '  namespace: yaobank',
      'spec:',
      '  podSelector: {}',
      '  policyTypes: [Egress]',
      '  egress:',
      '    - to:',
      '        - namespaceSelector:',
      '            matchLabels:',
      '              kubernetes.io/metadata.name: kube-system',
      '      ports:',
      '        - {protocol: UDP, port: 53}',
      '        - {protocol: TCP, port: 53}',
      '',
    ].join('\n'),
  ],
]);
const PERSON_OBJECTS = ['Tier /namespace-isolation', 'NetworkPolicy yaobank/allow-dns'];

/**
 * Problems with `after` as an edit of the kustomization `before`: only entries may be added to
 * `resources`; every original line survives byte for byte and in order, comments included.
 */
function resourceAdditionProblems(before: string, after: string): string[] {
  const problems: string[] = [];
  const b = parseYaml(before) as Record<string, unknown>;
  const a = parseYaml(after) as Record<string, unknown>;
  const bResources = (b['resources'] ?? []) as string[];
  const aResources = (a['resources'] ?? []) as string[];
  const added = aResources.filter((r) => !bResources.includes(r));
  if (
    !isDeepStrictEqual(
      aResources.filter((r) => bResources.includes(r)),
      bResources,
    )
  ) {
    problems.push(`original resources removed or reordered: ${JSON.stringify(bResources)} -> ${JSON.stringify(aResources)}`);
  }
  const { resources: _a, ...aRest } = a;
  const { resources: _b, ...bRest } = b;
  if (!isDeepStrictEqual(aRest, bRest)) problems.push('fields other than resources changed');

  const beforeLines = before.split('\n');
  let next = 0;
  for (const line of after.split('\n')) {
    if (next < beforeLines.length && line === beforeLines[next]) {
      next++;
      continue;
    }
    const item = /^\s*-\s+(?:"([^"]*)"|'([^']*)'|([^\s#]+))\s*$/.exec(line);
    const entry = item ? (item[1] ?? item[2] ?? item[3]) : undefined;
    if (entry === undefined || !added.includes(entry)) problems.push(`unexpected line ${JSON.stringify(line)}`);
  }
  if (next < beforeLines.length) problems.push(`original line ${next + 1} lost or changed: ${JSON.stringify(beforeLines[next])}`);
  return problems;
}

describe.each(ALL_FLAVORS.map((f) => [f]))("a %s run into a person's own layout", (flavor: Flavor) => {
  let outDir: string;
  let run: DirectoryRun;
  let builtBefore: KustomizeBuild;
  let built: KustomizeBuild;

  beforeAll(async () => {
    outDir = join(workDir!, `person-${flavor}`);
    for (const [path, text] of PERSON_FILES) {
      await mkdir(dirname(join(outDir, path)), { recursive: true });
      await writeFile(join(outDir, path), text);
    }
    builtBefore = build(outDir);
    run = await runIntoDirectory(flowPaths, flavor, outDir);
    built = build(outDir);
  });

  testWithKubectl('the layout builds before the run', () => {
    expectBuilt(builtBefore);
    expect(ids(builtBefore.objects)).toEqual([...PERSON_OBJECTS].sort());
  });

  /** The person's objects, the policies, and the template objects the layout lacked. */
  const expected = (): string[] =>
    [...PERSON_OBJECTS, ...policiesOf(run, flavor), ...templateObjectsFor(flavor).filter((id) => !PERSON_OBJECTS.includes(id))].sort();

  test("the directory holds the person's objects, the policies and only the missing template objects", async () => {
    expect(await objectsInDirectory(outDir)).toEqual(expected());
  });

  testWithKubectl('it still builds, and lists exactly those objects', () => {
    expectBuilt(built);
    expect(ids(built.objects)).toEqual(expected());
  });

  test('the namespace-isolation tier is defined once: the person’s', async () => {
    const tiers = parseManifests(await loadTree(outDir)).filter((o) => objectId(o.value) === 'Tier /namespace-isolation');
    expect(tiers.map((t) => t.path)).toEqual(['policies/tiers.yaml']);
    expect(run.plan.warnings.filter((w) => w.code === 'duplicate-object')).toEqual([]);
  });

  testWithKubectl('the build holds the namespace-isolation tier once, with the person’s order', () => {
    const tiers = built.objects.filter((o) => objectId(o) === 'Tier /namespace-isolation');
    expect(tiers.map((t) => (t['spec'] as Record<string, unknown>)['order'])).toEqual([150]);
  });

  test("the person's files are byte-identical, except resource entries added to kustomizations", async () => {
    const problems: Record<string, string[]> = {};
    for (const [path, before] of PERSON_FILES) {
      const after = await readFile(join(outDir, path), 'utf8');
      const found = isKustomizationPath(path) ? resourceAdditionProblems(before, after) : after === before ? [] : ['content changed'];
      if (found.length > 0) problems[path] = found;
    }
    expect(problems).toEqual({});
  });

  test('a second run on the same flows changes nothing', async () => {
    const again = await runIntoDirectory(flowPaths, flavor, outDir);
    expect([...again.plan.changes.keys()]).toEqual([]);
  });
});

describe('resourceAdditionProblems (the helper above)', () => {
  const before = ['kind: Kustomization', '# keep me', 'resources:', '  - a.yaml # mine', ''].join('\n');
  test('accepts appended entries', () => {
    expect(
      resourceAdditionProblems(
        before,
        ['kind: Kustomization', '# keep me', 'resources:', '  - a.yaml # mine', '  - b.yaml', ''].join('\n'),
      ),
    ).toEqual([]);
  });
  test.each([
    ['a lost comment', ['kind: Kustomization', 'resources:', '  - a.yaml # mine', '  - b.yaml', '']],
    ['a reformatted list', ['kind: Kustomization', '# keep me', 'resources: [a.yaml, b.yaml]', '']],
    ['a removed entry', ['kind: Kustomization', '# keep me', 'resources:', '  - b.yaml', '']],
    ['another field', ['kind: Kustomization', '# keep me', 'namespace: x', 'resources:', '  - a.yaml # mine', '']],
  ])('rejects %s', (_name, lines) => {
    expect(resourceAdditionProblems(before, lines.join('\n'))).not.toEqual([]);
  });
});
