// `policies-template/` is a whole policies repository: a cluster's tree (also the engine's
// template), the App's repository configuration, and the Argo CD and Flux objects that apply each
// tree with its tiers first. Every kustomization in it must build; the Argo CD and Flux objects
// must say what the README says they do; the engine must only ever see the cluster's tree.

import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parse as parseYaml, stringify } from 'yaml';
import { validateRepositoryConfig } from '../../src/config/repository-config.ts';
import { loadScheduleDefaults } from '../../src/config/schedule-defaults.ts';
import { loadTree, TEMPLATE_DIR } from '../../src/tree/fs-tree.ts';
import { builtObjects, fluxBuild, kubectlAvailable, kustomizationDirs } from '../support/kustomize.ts';
import {
  isKustomization,
  makeTempDir,
  objectId,
  parseManifests,
  planFromFlows,
  removeDir,
  TEMPLATE_OBJECTS,
  writeScenarioFlows,
} from '../support/recommend-run.ts';

type Obj = Record<string, unknown>;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REPO = join(ROOT, 'policies-template');
const CLUSTER_PATH = 'clusters/example';

const KUBECTL = kubectlAvailable();
const testWithKubectl = KUBECTL ? test : test.skip;
if (!KUBECTL) test.skip('kubectl is not on PATH: `kubectl kustomize` builds are not checked (install kubectl to run them)', () => {});
const JQ = spawnSync('jq', ['--version']).status === 0;
const testWithJq = JQ ? test : test.skip;
if (!JQ) test.skip('jq is not on PATH: the Argo CD ignoreDifferences expressions are not evaluated (install jq to run them)', () => {});

/** The objects Flux builds for a path (its kustomization generated when it has none). */
function fluxObjects(dir: string, patches: readonly unknown[] = []): Obj[] {
  const built = fluxBuild(dir, patches);
  if (!built.ok) throw new Error(`Flux's build of ${dir} failed: ${built.stderr}`);
  return [...built.objects];
}
const ids = (objects: readonly Obj[]): string[] => objects.map(objectId).sort();
const at = (value: unknown, ...path: string[]): unknown => path.reduce<unknown>((v, k) => (v as Obj | undefined)?.[k], value);

async function objectsOf(dir: string): Promise<Obj[]> {
  return parseManifests(await loadTree(dir))
    .map((o) => o.value)
    .filter((v) => !isKustomization(v));
}

describe('the repository layout', () => {
  test('the engine’s template is the example cluster’s tree, and only that', async () => {
    expect(relative(REPO, TEMPLATE_DIR).split(sep).join('/')).toBe(CLUSTER_PATH);
    const template = await loadTree(TEMPLATE_DIR);
    // No kustomization: the tree is built as a directory (Flux generates its kustomization, Argo CD
    // reads it with directory.recurse), so PRs never edit a shared list.
    expect([...template.keys()].sort()).toEqual(['global-default-deny.yaml', 'tiers.yaml']);
    expect(ids(await objectsOf(TEMPLATE_DIR))).toEqual([...TEMPLATE_OBJECTS].sort());
  });

  testWithKubectl('every kustomization in it builds, each with the objects it is there for', () => {
    const expected: Record<string, string[]> = {
      argocd: ['Application argocd/network-policies-example'],
      flux: [
        'GitRepository flux-system/network-policies',
        'Kustomization flux-system/network-policies-example',
        'Kustomization flux-system/network-policies-example-tiers',
      ],
    };
    const found: Record<string, string[]> = {};
    for (const dir of kustomizationDirs(REPO)) found[relative(REPO, dir).split(sep).join('/')] = ids(builtObjects(dir));
    expect(found).toEqual(expected);
    // The cluster's tree, as Flux builds a path without a kustomization.
    expect(ids(fluxObjects(join(REPO, CLUSTER_PATH)))).toEqual([...TEMPLATE_OBJECTS].sort());
  });

  test('in the tree Argo CD reads (every manifest, directory.recurse) every tier is in an earlier sync wave than every other object', async () => {
    const wave = (o: Obj): number => Number(at(o, 'metadata', 'annotations', 'argocd.argoproj.io/sync-wave') ?? 0);
    const objects = await objectsOf(TEMPLATE_DIR);
    const tiers = objects.filter((o) => o['kind'] === 'Tier');
    const others = objects.filter((o) => o['kind'] !== 'Tier');
    expect(tiers.length).toBeGreaterThan(0);
    expect(Math.max(...tiers.map(wave))).toBeLessThan(Math.min(...others.map(wave)));
  });
});

describe('recommend never writes the repository’s Argo CD, Flux or App configuration into a cluster’s tree', () => {
  let workDir: string | undefined;
  let changes: ReadonlyMap<string, string> = new Map();

  beforeAll(async () => {
    workDir = await makeTempDir('policies-template');
    const plan = await planFromFlows([await writeScenarioFlows(workDir, 'multi-namespace')], 'calico');
    changes = plan.changes;
  });
  afterAll(() => removeDir(workDir));

  test('a run into an empty tree writes the template’s files and namespace policies only', () => {
    const paths = [...changes.keys()];
    expect(
      paths.filter((p) => !/^(tiers|global-default-deny|kustomization)\.yaml$|^namespace-isolation\/[a-z0-9-]+\.yaml$/.test(p)),
    ).toEqual([]);
    const apiVersions = new Set(parseManifests(changes).map((o) => String(o.value['apiVersion'])));
    expect([...apiVersions].filter((v) => !/^(projectcalico\.org|kustomize\.config\.k8s\.io)\//.test(v))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Argo CD

describe('argocd/', () => {
  let app: Obj;
  beforeAll(async () => {
    const objects = await objectsOf(join(REPO, 'argocd'));
    expect(ids(objects)).toEqual(['Application argocd/network-policies-example']);
    app = objects[0]!;
  });

  test('an Application syncing the cluster’s tree automatically, with the options the README names', () => {
    expect(app['apiVersion']).toBe('argoproj.io/v1alpha1');
    expect(at(app, 'spec', 'source', 'path')).toBe(CLUSTER_PATH);
    expect(at(app, 'spec', 'source', 'targetRevision')).toBe('main');
    expect(at(app, 'spec', 'destination', 'server')).toBe('https://kubernetes.default.svc');
    expect(at(app, 'spec', 'syncPolicy', 'automated')).toEqual({ prune: true, selfHeal: true });
    expect(at(app, 'spec', 'syncPolicy', 'syncOptions')).toContain('SkipDryRunOnMissingResource=true');
    // A directory source, recursively (argo-cd reposerver/repository/repository.go getPotentiallyValidManifests:
    // without `recurse` only the path's own files are read, not namespace-isolation/ or appsec/).
    expect(at(app, 'spec', 'source', 'directory')).toEqual({ recurse: true });
  });

  test('ignoreDifferences covers every Calico kind the tree and recommendations use, and only Calico’s group', () => {
    const entries = at(app, 'spec', 'ignoreDifferences') as Obj[];
    expect(entries.every((e) => e['group'] === 'projectcalico.org' && Array.isArray(e['jqPathExpressions']))).toBe(true);
    expect(entries.map((e) => e['kind'])).toEqual(
      expect.arrayContaining([
        'Tier',
        'NetworkPolicy',
        'GlobalNetworkPolicy',
        'StagedNetworkPolicy',
        'StagedGlobalNetworkPolicy',
        'StagedKubernetesNetworkPolicy',
      ]),
    );
  });

  // What Calico's API server (or its v3 CRDs' defaults) fills in on an object it stores.
  function calicoDefaults(git: Obj): Obj {
    const live = structuredClone(git) as { kind: string; metadata: { labels?: Record<string, string> }; spec: Obj };
    const spec = live.spec;
    if (live.kind === 'Tier') {
      spec['defaultAction'] ??= 'Deny';
      return live;
    }
    if (live.kind.startsWith('Staged')) spec['stagedAction'] ??= 'Set';
    if (live.kind === 'StagedKubernetesNetworkPolicy') return live;
    spec['tier'] ??= 'default';
    if (!Array.isArray(spec['types']) || spec['types'].length === 0) {
      const ingress = ((spec['ingress'] as unknown[] | undefined) ?? []).length > 0;
      const egress = ((spec['egress'] as unknown[] | undefined) ?? []).length > 0;
      spec['types'] = !egress ? ['Ingress'] : !ingress ? ['Egress'] : ['Ingress', 'Egress'];
    }
    live.metadata.labels = { ...live.metadata.labels, 'projectcalico.org/tier': String(spec['tier']) };
    return live;
  }

  /** What Argo CD compares: the object with every expression of its kind deleted, in order. */
  function normalise(object: Obj): unknown {
    const entry = (at(app, 'spec', 'ignoreDifferences') as Obj[]).find((e) => e['kind'] === object['kind']);
    const program = ((entry?.['jqPathExpressions'] as string[] | undefined) ?? []).map((e) => `del(${e})`).join(' | ') || '.';
    const run = spawnSync('jq', ['-cS', program], { input: JSON.stringify(object), encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`jq failed on ${objectId(object)}: ${run.stderr}`);
    return JSON.parse(run.stdout);
  }

  /** The same object as a person might write it, leaving out every field Calico fills in. */
  function minimal(object: Obj): Obj {
    const copy = structuredClone(object) as { metadata: { labels?: Obj }; spec: Obj };
    const spec = copy.spec;
    if (spec['tier'] === 'default') delete spec['tier'];
    if (spec['stagedAction'] === 'Set') delete spec['stagedAction'];
    if (spec['defaultAction'] === 'Deny') delete spec['defaultAction'];
    delete spec['types'];
    delete copy.metadata.labels;
    return copy;
  }

  let samples: Obj[] = [];
  let workDir: string | undefined;
  beforeAll(async () => {
    workDir = await makeTempDir('argocd');
    const plan = await planFromFlows([await writeScenarioFlows(workDir, 'multi-namespace')], 'calico');
    const recommended = parseManifests(plan.changes)
      .map((o) => o.value)
      .filter((v) => v['kind'] === 'StagedNetworkPolicy');
    const egressOnly = { ...recommended[0]!, spec: { ...(recommended[0]!['spec'] as Obj), ingress: [] } };
    const kinds = ['NetworkPolicy', 'GlobalNetworkPolicy', 'StagedKubernetesNetworkPolicy'].map((kind) => ({
      apiVersion: 'projectcalico.org/v3',
      kind,
      metadata: { name: `a-${kind.toLowerCase()}`, ...(kind.includes('Global') ? {} : { namespace: 'shop' }) },
      spec: kind === 'StagedKubernetesNetworkPolicy' ? { podSelector: {}, stagedAction: 'Set' } : { ingress: [{ action: 'Allow' }] },
    }));
    samples = [...(await objectsOf(TEMPLATE_DIR)), ...recommended.slice(0, 3), egressOnly, ...kinds];
  });
  afterAll(() => removeDir(workDir));

  testWithJq('what Calico fills in is no drift, whether the file spells it out or leaves it out', () => {
    const drift = samples.flatMap((object) =>
      [object, minimal(object)]
        .filter((git) => JSON.stringify(normalise(git)) !== JSON.stringify(normalise(calicoDefaults(git))))
        .map((git) => objectId(git)),
    );
    expect(drift).toEqual([]);
    expect(samples.map((s) => s['kind'])).toEqual(
      expect.arrayContaining([
        'Tier',
        'StagedGlobalNetworkPolicy',
        'StagedNetworkPolicy',
        'NetworkPolicy',
        'GlobalNetworkPolicy',
        'StagedKubernetesNetworkPolicy',
      ]),
    );
  });

  testWithJq('a real difference in those fields still shows, in either direction', () => {
    const changed = (object: Obj, edit: (spec: Obj) => void): Obj => {
      const copy = structuredClone(object);
      edit(copy['spec'] as Obj);
      return copy;
    };
    const shows = (git: Obj, live: Obj): boolean => JSON.stringify(normalise(git)) !== JSON.stringify(normalise(live));
    const policy = samples.find((s) => s['kind'] === 'StagedNetworkPolicy')!;
    const tier = samples.find((s) => s['kind'] === 'Tier' && at(s, 'spec', 'defaultAction') === 'Deny')!;
    const cases: [string, Obj, Obj][] = [
      ['a tier moved in Git', changed(policy, (s) => (s['tier'] = 'default')), calicoDefaults(policy)],
      ['a tier moved in the cluster', policy, changed(calicoDefaults(policy), (s) => (s['tier'] = 'default'))],
      ['types narrowed in the cluster', policy, changed(calicoDefaults(policy), (s) => (s['types'] = ['Ingress']))],
      ['types set in Git against the rules', changed(policy, (s) => (s['types'] = ['Egress'])), calicoDefaults(minimal(policy))],
      ['a staged policy ignored in Git', changed(policy, (s) => (s['stagedAction'] = 'Ignore')), calicoDefaults(policy)],
      [
        'a staged policy set in Git, ignored in the cluster',
        policy,
        changed(calicoDefaults(policy), (s) => (s['stagedAction'] = 'Ignore')),
      ],
      ['a tier’s default action changed in the cluster', tier, changed(tier, (s) => (s['defaultAction'] = 'Pass'))],
      ['a tier’s default action changed in Git', changed(tier, (s) => (s['defaultAction'] = 'Pass')), tier],
    ];
    expect(cases.filter(([, git, live]) => !shows(git, live)).map(([name]) => name)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Flux

describe('flux/', () => {
  let objects: Obj[];
  let source: Obj;
  let tiers: Obj;
  let policies: Obj;
  beforeAll(async () => {
    objects = await objectsOf(join(REPO, 'flux'));
    source = objects.find((o) => o['kind'] === 'GitRepository')!;
    tiers = objects.find((o) => at(o, 'metadata', 'name') === 'network-policies-example-tiers')!;
    policies = objects.find((o) => at(o, 'metadata', 'name') === 'network-policies-example')!;
  });

  test('a GitRepository and two Kustomizations of the cluster’s tree, policies depending on tiers', () => {
    expect(source).toMatchObject({ apiVersion: 'source.toolkit.fluxcd.io/v1', spec: { ref: { branch: 'main' } } });
    expect(at(source, 'spec', 'url')).toEqual(expect.stringMatching(/^https:\/\//));
    for (const k of [tiers, policies]) {
      expect(k).toMatchObject({
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { namespace: 'flux-system' },
        spec: { path: `./${CLUSTER_PATH}`, sourceRef: { kind: 'GitRepository', name: at(source, 'metadata', 'name') } },
      });
    }
    expect(at(policies, 'spec', 'dependsOn')).toEqual([{ name: at(tiers, 'metadata', 'name') }]);
    expect(at(tiers, 'spec', 'dependsOn')).toBeUndefined();
    expect(at(policies, 'spec', 'prune')).toBe(true);
  });

  /** Builds `resourceDir` with the patches of a Flux Kustomization, as kustomize-controller does (fluxBuild). */
  async function buildWithPatches(_workDir: string, _name: string, resourceDir: string, kustomization: Obj): Promise<string[]> {
    return ids(fluxObjects(resourceDir, at(kustomization, 'spec', 'patches') as unknown[]));
  }

  let workDir: string | undefined;
  beforeAll(async () => {
    workDir = await makeTempDir('flux');
  });
  afterAll(() => removeDir(workDir));

  testWithKubectl('the two builds split the tree: the tiers, then everything else', async () => {
    const all = ids(fluxObjects(TEMPLATE_DIR));
    const tierIds = await buildWithPatches(workDir!, 'tiers', TEMPLATE_DIR, tiers);
    const policyIds = await buildWithPatches(workDir!, 'policies', TEMPLATE_DIR, policies);
    expect(tierIds).toEqual(all.filter((id) => id.startsWith('Tier ')));
    expect(policyIds).toEqual(all.filter((id) => !id.startsWith('Tier ')));
  });

  testWithKubectl('the split is by kind, exactly Tier, whatever other kinds a tree holds', async () => {
    const kinds = [
      'Tier',
      'Tie',
      'Tiers',
      'ATier',
      'Tiar',
      'Teer',
      'Xier',
      'tier',
      'T',
      'NetworkPolicy',
      'StagedNetworkPolicy',
      'GlobalNetworkSet',
      'Kustomization',
    ];
    const dir = join(workDir!, 'kinds');
    await mkdir(dir, { recursive: true });
    const docs = kinds.map((kind) =>
      stringify({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name: `x-${kind.toLowerCase()}` } }),
    );
    await writeFile(join(dir, 'objects.yaml'), docs.join('---\n'));
    await writeFile(join(dir, 'kustomization.yaml'), stringify({ resources: ['objects.yaml'] }));
    const all = ids(builtObjects(dir));
    expect(all).toHaveLength(kinds.length);
    expect(await buildWithPatches(workDir!, 'kinds-tiers', dir, tiers)).toEqual(['Tier /x-tier']);
    expect(await buildWithPatches(workDir!, 'kinds-policies', dir, policies)).toEqual(all.filter((id) => id !== 'Tier /x-tier'));
  });
});

// ---------------------------------------------------------------------------------------------
// .github/policy-recommender.yml

describe('.github/policy-recommender.yml', () => {
  const path = join(REPO, '.github', 'policy-recommender.yml');
  let text: string;
  let defaults: Awaited<ReturnType<typeof loadScheduleDefaults>>;
  beforeAll(async () => {
    text = await readFile(path, 'utf8');
    defaults = await loadScheduleDefaults(join(ROOT, 'app.yml'), {});
  });

  /** The file with every commented-out key (`# key: value`) put back. */
  const uncommented = (): string => text.replace(/^(\s*)# ([A-Za-z]+: .*)$/gm, '$1$2');

  test('validates, naming the example cluster’s tree', () => {
    const config = validateRepositoryConfig(parseYaml(text), defaults, path);
    expect(config.clusters).toEqual([{ name: 'example', path: CLUSTER_PATH }]);
  });

  test('with its optional keys uncommented, it still validates', () => {
    expect(uncommented()).not.toBe(text);
    expect(() => validateRepositoryConfig(parseYaml(uncommented()), defaults, path)).not.toThrow();
  });

  test('shows every key the configuration has', () => {
    const config = validateRepositoryConfig(parseYaml(uncommented()), defaults, path);
    const { recommendation, ...app } = config;
    const { namespaceSpec, ...scope } = recommendation;
    const keys = [
      ...Object.keys(app),
      ...Object.keys(app.pullRequests).map((k) => `pullRequests.${k}`),
      ...Object.keys(scope),
      ...Object.keys(namespaceSpec).map((k) => `namespaceSpec.${k}`),
    ];
    const written = (value: unknown, prefix = ''): string[] =>
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...written(v, `${prefix}${k}.`)])
        : [];
    const shown = written(parseYaml(uncommented()));
    expect(keys.filter((k) => !shown.includes(k))).toEqual([]);
  });

  test('every key is explained by a comment just above it (or shares its sibling’s)', () => {
    const lines = uncommented().split('\n');
    const indent = (line: string): number => /^\s*/.exec(line)![0].length;
    const unexplained = lines
      .map((line, i) => ({ line, i }))
      .filter(({ line }) => /^\s*(- )?[A-Za-z]+:/.test(line))
      .filter(({ line, i }) => {
        // A key holding a mapping or a list is explained by what it holds.
        const next = lines.slice(i + 1).find((l) => l.trim() !== '' && !/^\s*#/.test(l)) ?? '';
        const container = /:\s*$/.test(line) && indent(next) > indent(line);
        return !container && !/^\s*#/.test(lines[i - 1] ?? '') && !/^\s*(- )?[A-Za-z]+:/.test(lines[i - 1] ?? '');
      })
      .map(({ line }) => line.trim());
    expect(unexplained).toEqual([]);
  });
});
