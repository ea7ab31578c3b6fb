// Shared steps for conformance tests: generate flow logs, run the recommender on them, and read
// the YAML objects a run wrote.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { CalicoRelease } from '../../src/calico/release.ts';
import { type DirectoryRun, recommendIntoDirectory } from '../../src/cli/recommend-directory.ts';
import { type Flavor, type RecommendationConfig, validateRecommendationConfig } from '../../src/config/recommendation-config.ts';
import { readFlows } from '../../src/flows/read-flows.ts';
import { FileFlowSource } from '../../src/flows/sources/file-source.ts';
import { writeFlowFile } from '../../src/generator/generate.ts';
import { type Plan, planRecommendations } from '../../src/plan/plan.ts';
import { loadTree, TEMPLATE_DIR } from '../../src/tree/fs-tree.ts';

/** 2026-11-22T12:00:00Z: the newest generated record ends here, and every run's `now`. */
export const END_TIME = 1795348800;
export const SCENARIOS = ['yaobank', 'multi-namespace'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
export const ALL_FLAVORS: readonly Flavor[] = ['calico', 'calico-enterprise', 'kubernetes'];

/** Well above the number that makes every scenario flow appear (31 and 378). */
const RECORDS: Record<ScenarioName, number> = { yaobank: 1500, 'multi-namespace': 4000 };

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `${prefix}-`));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

/** Writes the scenario's flow log into `dir` and returns its path. */
export async function writeScenarioFlows(dir: string, scenario: ScenarioName): Promise<string> {
  const path = join(dir, `${scenario}.log`);
  await writeFlowFile(path, { scenario, records: RECORDS[scenario], endTime: END_TIME, seed: 1 });
  return path;
}

function configFor(flavor: Flavor, calicoVersion?: CalicoRelease): RecommendationConfig {
  return validateRecommendationConfig(calicoVersion === undefined ? { flavor } : { flavor, calicoVersion });
}

/** Plans a run over `flowPaths` against `tree` (empty: a fresh policies directory), for a Calico release if given. */
export async function planFromFlows(
  flowPaths: readonly string[],
  flavor: Flavor,
  tree: ReadonlyMap<string, string> = new Map(),
  calicoVersion?: CalicoRelease,
): Promise<Plan> {
  const config = configFor(flavor, calicoVersion);
  const flows = await readFlows(await FileFlowSource.open(flowPaths), config, END_TIME);
  return planRecommendations({
    tree,
    template: await loadTree(TEMPLATE_DIR),
    observations: flows.observations.byNamespace,
    config,
    now: END_TIME,
  });
}

/** Runs the recommender into `outDir` as the CLI does (writing the changes). */
export async function runIntoDirectory(flowPaths: readonly string[], flavor: Flavor, outDir: string): Promise<DirectoryRun> {
  return recommendIntoDirectory({
    source: await FileFlowSource.open(flowPaths),
    outDir,
    config: configFor(flavor),
    now: END_TIME,
    dryRun: false,
  });
}

export interface ManifestObject {
  readonly path: string;
  /** Position of the document in its file. */
  readonly index: number;
  readonly value: Record<string, unknown>;
}

export const isKustomizationPath = (path: string): boolean => /(^|\/)(kustomization\.ya?ml|Kustomization)$/.test(path);

/** Every YAML document of `files` (path -> text) as plain values; YAML errors are thrown. */
export function parseManifests(files: ReadonlyMap<string, string>): ManifestObject[] {
  const objects: ManifestObject[] = [];
  for (const [path, text] of files) {
    parseAllDocuments(text).forEach((doc, index) => {
      if (doc.errors.length > 0) throw new Error(`${path}: document ${index}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) return; // an empty document
      if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${path}: document ${index} is not a mapping`);
      objects.push({ path, index, value: value as Record<string, unknown> });
    });
  }
  return objects;
}

/** `Kind namespace/name` (namespace empty for cluster-scoped objects). */
export function objectId(value: Record<string, unknown>): string {
  const metadata = (value['metadata'] ?? {}) as Record<string, unknown>;
  const ns = typeof metadata['namespace'] === 'string' ? metadata['namespace'] : '';
  return `${String(value['kind'])} ${ns}/${String(metadata['name'])}`;
}

export const isKustomization = (value: Record<string, unknown>): boolean =>
  typeof value['apiVersion'] === 'string' && value['apiVersion'].startsWith('kustomize.config.k8s.io/');

export const isCalico = (value: Record<string, unknown>): boolean =>
  typeof value['apiVersion'] === 'string' && value['apiVersion'].startsWith('projectcalico.org/');

/** The objects the template (`policies-template/clusters/example/`) defines, for the expectations of runs. */
export const TEMPLATE_OBJECTS = [
  'Tier /security',
  'Tier /platform',
  'Tier /namespace-isolation',
  'Tier /appsec',
  'StagedGlobalNetworkPolicy /default-deny',
] as const;

/** The per-namespace policy a flavour writes for `namespace`. */
export function namespacePolicyId(flavor: Flavor, namespace: string): string {
  return flavor === 'kubernetes'
    ? `StagedKubernetesNetworkPolicy ${namespace}/${namespace}-recommendation`
    : `StagedNetworkPolicy ${namespace}/${namespace}-recommendation`;
}
