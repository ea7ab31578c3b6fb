// Builders for flow records and an in-memory run of the planner, for engine tests.

import { parseAllDocuments } from 'yaml';
import type { Protocol } from '../../src/calico/protocol.ts';
import { parseCiliumPolicy } from '../../src/cilium/parse-policy.ts';
import type { CiliumPolicy } from '../../src/cilium/types.ts';
import { type RecommendationConfig, validateRecommendationConfig } from '../../src/config/recommendation-config.ts';
import { FlowAggregator } from '../../src/engine/aggregate.ts';
import type { NetworkSetFacts } from '../../src/engine/network-sets.ts';
import type { Workload } from '../../src/engine/workloads.ts';
import { parsePolicyHit } from '../../src/flows/policy-hit.ts';
import { learnContext } from '../../src/flows/read-flows.ts';
import type { FlowEndpoint, FlowRecord, PolicyHit, PolicyTrace } from '../../src/flows/record.ts';
import type { CalicoEdition } from '../../src/flows/source.ts';
import { type Plan, planRecommendations } from '../../src/plan/plan.ts';
import { CILIUM_TEMPLATE_DIR, loadTree, TEMPLATE_DIR } from '../../src/tree/fs-tree.ts';

export const NOW = 1_795_000_000; // 2026-11-18T...
export const HOUR = 3600;

export function wep(namespace: string, name = 'app-*', labels: string[] = []): FlowEndpoint {
  return { type: 'wep', name, namespace, labels, ip: null };
}

/** The aggregated pods of a Deployment, as Calico writes them: `<name>-<hash>-*` with pod-template-hash. */
export function deploymentPods(namespace: string, name: string, labels: Record<string, string>, hash = '7d9f8b6c5d'): FlowEndpoint {
  return wep(namespace, `${name}-${hash}-*`, [...Object.entries(labels).map(([k, v]) => `${k}=${v}`), `pod-template-hash=${hash}`]);
}

/** The aggregated pods of a StatefulSet: `<name>-*` with controller-revision-hash `<name>-<hash>`. */
export function statefulSetPods(namespace: string, name: string, labels: Record<string, string>): FlowEndpoint {
  return wep(namespace, `${name}-*`, [
    ...Object.entries(labels).map(([k, v]) => `${k}=${v}`),
    `controller-revision-hash=${name}-6c8d7f9b4`,
  ]);
}
export const pub: FlowEndpoint = { type: 'net', name: 'pub', namespace: null, labels: [], ip: null };
export const pvt: FlowEndpoint = { type: 'net', name: 'pvt', namespace: null, labels: [], ip: null };
export function net(ip: string, name = '-'): FlowEndpoint {
  return { type: 'net', name, namespace: null, labels: [], ip };
}
/** A network set as a flow record names it; `labels` as the record carries them (`k=v`), none by default. */
export function networkSet(name: string, namespace: string | null = null, ip: string | null = null, labels: string[] = []): FlowEndpoint {
  return { type: 'ns', name, namespace, labels, ip };
}
export function hep(name = 'node-1'): FlowEndpoint {
  return { type: 'hep', name, namespace: null, labels: [], ip: null };
}

/** A flow-log policy-trace entry, parsed as the file source parses it. */
export function hit(text: string): PolicyHit {
  const parsed = parsePolicyHit(text);
  if (parsed === null) throw new Error(`not a policy-trace entry: ${text}`);
  return parsed;
}

function profileTrace(namespace: string): PolicyTrace {
  // Built, not parsed: tests give namespaces a flow log could not hold.
  const hits: PolicyHit[] = [
    { index: 0, tier: '__PROFILE__', kind: 'Profile', namespace: null, name: `kns.${namespace}`, action: 'allow', ruleIndex: 0 },
  ];
  return { all: hits, pending: hits, enforced: hits };
}

export interface FlowOptions {
  reporter?: 'src' | 'dst';
  protocol?: Protocol;
  port?: number | null;
  action?: 'allow' | 'deny';
  policies?: PolicyTrace | null;
  domains?: string[];
  service?: { name: string; namespace: string | null };
  flows?: number;
  start?: number;
  end?: number;
}

export function flow(source: FlowEndpoint, dest: FlowEndpoint, o: FlowOptions = {}): FlowRecord {
  const reporter = o.reporter ?? (source.type === 'wep' ? 'src' : 'dst');
  const local = reporter === 'src' ? source : dest;
  const start = o.start ?? NOW - HOUR;
  return {
    startTime: start,
    endTime: o.end ?? start + 300,
    source,
    dest,
    destPort: o.port === undefined ? 443 : o.port,
    destService: o.service ? { ...o.service, portName: null, port: null } : null,
    destDomains: o.domains ?? [],
    protocol: o.protocol ?? 'TCP',
    action: o.action ?? 'allow',
    reporter,
    policies: o.policies === undefined ? profileTrace(local.namespace ?? '-') : o.policies,
    numFlows: o.flows ?? 1,
  };
}

/** Egress from a namespace's workload to `dest`, reported by the source. */
export function egress(namespace: string, dest: FlowEndpoint, o: FlowOptions = {}): FlowRecord {
  return flow(wep(namespace), dest, { ...o, reporter: 'src' });
}

/** Ingress to a namespace's workload from `source`, reported by the destination. */
export function ingress(namespace: string, source: FlowEndpoint, o: FlowOptions = {}): FlowRecord {
  return flow(source, wep(namespace), { ...o, reporter: 'dst' });
}

let template: Map<string, string> | undefined;

export async function loadTemplate(): Promise<Map<string, string>> {
  return (template ??= await loadTree(TEMPLATE_DIR));
}

let ciliumTemplate: Map<string, string> | undefined;

/** The template of a Cilium cluster's tree (what the command line uses with --flavor cilium). */
async function loadCiliumTemplate(): Promise<Map<string, string>> {
  return (ciliumTemplate ??= await loadTree(CILIUM_TEMPLATE_DIR));
}

export function config(overrides: Record<string, unknown> = {}): RecommendationConfig {
  return validateRecommendationConfig(overrides);
}

export interface RunOptions {
  tree?: ReadonlyMap<string, string>;
  config?: RecommendationConfig;
  now?: number;
  /** The cluster's workloads (microsegmentation); inferred from the flows when left out. */
  workloads?: readonly Workload[];
  /** Which Calico the flows came from, as a source tells (files: not given). */
  calicoEdition?: CalicoEdition;
  /** Network sets as the cluster has them (ClusterContext.networkSets()). */
  networkSets?: readonly NetworkSetFacts[];
}

/** Aggregates records and plans against a tree, as one run of the bot would. */
export async function run(records: readonly FlowRecord[], options: RunOptions = {}): Promise<Plan & { tree: Map<string, string> }> {
  const cfg = options.config ?? config();
  const now = options.now ?? NOW;
  const aggregator = new FlowAggregator(learnContext(cfg, { from: now - cfg.initialLookback, to: now }));
  aggregator.addAll(records);
  const base = new Map(options.tree ?? []);
  const observations = aggregator.result();
  const plan = planRecommendations({
    tree: base,
    template: cfg.flavor === 'cilium' ? await loadCiliumTemplate() : await loadTemplate(),
    observations: observations.byNamespace,
    endpoints: observations.endpoints,
    ...(options.workloads ? { workloads: options.workloads } : {}),
    ...(options.calicoEdition ? { calicoEdition: options.calicoEdition } : {}),
    ...(options.networkSets ? { networkSets: options.networkSets } : {}),
    config: cfg,
    now,
    // Like the command line, every record of the lookback window is read.
    observationsCoverLookback: true,
  });
  const tree = new Map([...base, ...plan.changes]);
  return { ...plan, tree };
}

/** The single document of a file in a tree, as plain data. */
export function yamlOf(tree: ReadonlyMap<string, string>, path: string): any {
  const text = tree.get(path);
  if (text === undefined) throw new Error(`no file ${path}; files: ${[...tree.keys()].join(', ')}`);
  const docs = parseAllDocuments(text, { version: '1.1' }) as unknown as { toJS(): unknown }[];
  return docs[0]!.toJS();
}

export function policyOf(tree: ReadonlyMap<string, string>, namespace: string): any {
  return yamlOf(tree, `namespace-isolation/${namespace}.yaml`);
}

/** Rules without their provenance annotations, for compact assertions. */
export function bare(rules: readonly any[] | undefined): any[] {
  return (rules ?? []).map(({ metadata: _m, ...rest }) => rest);
}

/**
 * The kustomizations of the template of earlier releases: a tree that uses them is in the
 * kustomize layout (repo/kustomize.ts), and keeps it. With the template's other files it is what a
 * repository made from that template holds.
 */
export const KUSTOMIZE_LAYOUT: ReadonlyMap<string, string> = new Map([
  [
    'kustomization.yaml',
    'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - tiers.yaml\n  - global-default-deny.yaml\n  - namespace-isolation\n',
  ],
  [
    'namespace-isolation/kustomization.yaml',
    '# One staged namespace-isolation policy per namespace, proposed by policy-recommender.\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n',
  ],
]);

/** A tree of the kustomize layout, as the earlier releases' template made it. */
export async function kustomizeLayoutTree(): Promise<Map<string, string>> {
  return new Map([...(await loadTemplate()), ...KUSTOMIZE_LAYOUT]);
}

/** The Cilium policies of a written tree's YAML files; a Cilium document Cilium would refuse throws. */
export function ciliumPoliciesOf(files: ReadonlyMap<string, string>): CiliumPolicy[] {
  const out: CiliumPolicy[] = [];
  for (const [path, text] of files) {
    if (!path.endsWith('.yaml')) continue;
    for (const doc of parseAllDocuments(text)) {
      const parsed = parseCiliumPolicy(doc.toJS());
      if (parsed.ok) out.push(parsed.policy);
      else if ((doc.toJS() as { kind?: string }).kind?.startsWith('Cilium')) throw new Error(`${path}: ${JSON.stringify(parsed.issues)}`);
    }
  }
  return out;
}
