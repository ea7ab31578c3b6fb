// Which policies Calico would evaluate, in which order: Tiers, Calico NetworkPolicy and
// GlobalNetworkPolicy, their staged forms, Kubernetes NetworkPolicy (as Calico converts it),
// NetworkSet / GlobalNetworkSet and Namespace labels, from parsed objects. Every object is
// validated as Calico's API server would; an invalid one is reported with its file and skipped.
// Pure: the objects come from a tree the caller loaded.

import { isDnsLabel, isDnsSubdomain, isLabelKey, isLabelValue } from '../calico/names.ts';
import { parseCidr, type Cidr } from '../calico/nets.ts';
import { isPortNumber, portRange } from '../calico/ports.ts';
import { parseProtocol, protocolHasPorts, type Protocol } from '../calico/protocol.ts';
import { parseSelector, type Labels, type PartialLabels, type SelectorNode } from '../calico/selector.ts';
import type { PortMatch, RuleAction } from '../calico/types.ts';
import { CALICO_API_VERSION, KUBERNETES_NETWORKING_API_VERSION } from '../calico/types.ts';
import { compareStrings } from '../engine/model.ts';
import type { TreeFiles } from '../repo/tree.ts';
import { isYamlPath } from '../repo/inventory.ts';
import { isPlainObject, type PlainObject } from '../util/plain.ts';
import { parseYamlFile, YamlError } from '../yaml/document.ts';
import { kubernetesPolicyAsCalico } from './kubernetes-policy.ts';
import type { NetworkSetFacts } from '../engine/network-sets.ts';
import type { IpFamily } from '../config/recommendation-config.ts';
import type { Family as IpVersion } from './endpoint.ts';

export type Direction = 'ingress' | 'egress';
export type PolicyView = 'enforced' | 'staged';

export const DEFAULT_TIER = 'default';
/** The `default` tier's order when the tree does not define it (Calico's CRD requires exactly this). */
export const DEFAULT_TIER_ORDER = 1_000_000;
/** Calico gives every Kubernetes NetworkPolicy this order in the default tier. */
export const KUBERNETES_POLICY_ORDER = 1000;

export const POLICY_KINDS = [
  'NetworkPolicy',
  'GlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'KubernetesNetworkPolicy',
] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

export interface CompiledEntity {
  readonly selector: SelectorNode | null;
  readonly notSelector: SelectorNode | null;
  readonly namespaceSelector: SelectorNode | null;
  readonly nets: readonly Cidr[] | null;
  readonly notNets: readonly Cidr[] | null;
  readonly ports: readonly PortMatch[] | null;
  readonly notPorts: readonly PortMatch[] | null;
  /** The namespace defaults to the policy's. */
  readonly services: { readonly name: string; readonly namespace: string } | null;
  readonly serviceAccounts: { readonly names: readonly string[] | null; readonly selector: SelectorNode | null } | null;
  /** Lowercase, without a trailing dot; `*` matches one or more labels (Calico Enterprise). */
  readonly domains: readonly string[] | null;
}

export interface CompiledRule {
  /** The rule's index in the policy's list as written (for Kubernetes policies, the Kubernetes rule's). */
  readonly index: number;
  readonly action: RuleAction;
  readonly protocol: Protocol | null;
  readonly notProtocol: Protocol | null;
  readonly ipVersion: 4 | 6 | null;
  readonly icmp: boolean;
  readonly notICMP: boolean;
  readonly http: boolean;
  readonly source: CompiledEntity;
  readonly destination: CompiledEntity;
}

export interface CompiledPolicy {
  readonly kind: PolicyKind;
  /** metadata.name */
  readonly name: string;
  readonly namespace: string | null;
  /** As Calico names it in a tier: `<tier>.<name>` (the name already carries the prefix up to Calico 3.31). */
  readonly calicoName: string;
  readonly tier: string;
  readonly order: number | null;
  readonly staged: boolean;
  readonly stagedAction: 'Set' | 'Delete' | 'Learn' | 'Ignore' | null;
  readonly path: string;
  readonly selector: SelectorNode;
  /** GlobalNetworkPolicy only: the namespaces (by their labels) whose endpoints it applies to. */
  readonly namespaceSelector: SelectorNode | null;
  readonly serviceAccountSelector: SelectorNode | null;
  /** `preDNAT` or `doNotTrack`: such policies only ever apply to host endpoints. */
  readonly hostOnly: boolean;
  /** Null when the policy's types leave the direction out. */
  readonly ingress: readonly CompiledRule[] | null;
  readonly egress: readonly CompiledRule[] | null;
}

export interface TierInfo {
  readonly name: string;
  readonly order: number | null;
  readonly defaultAction: 'Deny' | 'Pass';
}

export interface NetworkSetInfo {
  readonly name: string;
  readonly namespace: string | null;
  readonly labels: Labels;
  readonly nets: readonly Cidr[];
}

export interface PolicyWarning {
  readonly path: string;
  /** `Kind namespace/name`, or null for a file-level problem. */
  readonly object: string | null;
  readonly message: string;
}

/** A document of a policies tree. */
export interface SourcedObject {
  readonly path: string;
  readonly value: unknown;
}

export interface PlannedTier extends TierInfo {
  /** The policies that may apply to an endpoint of `namespace` (null: not namespaced) for a direction, in order. */
  policiesFor(namespace: string | null, direction: Direction): readonly CompiledPolicy[];
}

export interface EvaluationPlan {
  readonly view: PolicyView;
  readonly tiers: readonly PlannedTier[];
  readonly policyCount: number;
}

export interface PolicySet {
  readonly warnings: readonly PolicyWarning[];
  /** The cluster's IP families (PolicySetOptions.ipFamilies). */
  readonly ipFamilies: readonly IpVersion[];
  /** Every valid policy object, enforced or staged. */
  readonly policies: readonly CompiledPolicy[];
  plan(view: PolicyView): EvaluationPlan;
  namespaceLabels(namespace: string): PartialLabels;
  networkSet(namespace: string | null, name: string): NetworkSetInfo | undefined;
}

export interface PolicySetOptions {
  /** Complete label sets of namespaces, when the caller knows them (cluster context). */
  readonly namespaces?: ReadonlyMap<string, Labels>;
  /** Network sets as the cluster has them (the tree's own are read from it; the tree's win). */
  readonly networkSets?: readonly NetworkSetFacts[];
  /** The cluster's IP families: a flow whose record gives no address may be of any of them. Default IPv4. */
  readonly ipFamilies?: readonly IpFamily[];
}

export class PolicyValidationError extends Error {
  override readonly name = 'PolicyValidationError';
}

const NAMESPACE_NAME_LABELS = ['projectcalico.org/name', 'kubernetes.io/metadata.name'] as const;

// ---------------------------------------------------------------------------------------------
// Reading a tree

/** Every document of the tree's YAML files; files that are not valid YAML become warnings. */
export function objectsOfTree(tree: TreeFiles): { objects: SourcedObject[]; warnings: PolicyWarning[] } {
  const objects: SourcedObject[] = [];
  const warnings: PolicyWarning[] = [];
  for (const path of [...tree.keys()].sort(compareStrings)) {
    if (!isYamlPath(path)) continue;
    try {
      for (const doc of parseYamlFile(tree.get(path)!, path)) objects.push({ path, value: doc.toJS() });
    } catch (e) {
      if (!(e instanceof YamlError)) throw e;
      warnings.push({ path, object: null, message: e.message });
    }
  }
  return { objects, warnings };
}

export function policySetFromTree(tree: TreeFiles, options: PolicySetOptions = {}): PolicySet {
  const { objects, warnings } = objectsOfTree(tree);
  return buildPolicySet(objects, options, warnings);
}

// ---------------------------------------------------------------------------------------------
// Building the set

export function buildPolicySet(objects: readonly SourcedObject[], options: PolicySetOptions = {}, initialWarnings: readonly PolicyWarning[] = []): PolicySet {
  const warnings: PolicyWarning[] = [...initialWarnings];
  const tiers = new Map<string, TierInfo>();
  const policies: CompiledPolicy[] = [];
  const networkSets = new Map<string, NetworkSetInfo>();
  const namespaceLabels = new Map<string, Labels>(options.namespaces ?? []);
  const seen = new Map<string, string>();

  const candidates: { object: SourcedObject; kind: PolicyKind; id: string }[] = [];
  for (const object of objects) {
    const value = object.value;
    if (!isPlainObject(value) || typeof value['kind'] !== 'string') continue;
    const kind = value['kind'];
    const apiVersion = value['apiVersion'];
    const metadata = isPlainObject(value['metadata']) ? value['metadata'] : {};
    const name = typeof metadata['name'] === 'string' ? metadata['name'] : '?';
    const namespace = typeof metadata['namespace'] === 'string' ? metadata['namespace'] : null;
    const id = `${kind} ${namespace ?? ''}/${name}`;
    const warn = (message: string) => warnings.push({ path: object.path, object: id, message });

    const family = kindFamily(kind, apiVersion);
    if (family === null) continue;
    if (family === 'wrong-api') {
      warn(`apiVersion ${JSON.stringify(apiVersion)} is not ${CALICO_API_VERSION}: skipped`);
      continue;
    }
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      warn(`defined again (first in ${earlier}): this one is skipped`);
      continue;
    }
    seen.set(id, object.path);
    try {
      switch (family) {
        case 'Tier': {
          const tier = readTier(value);
          tiers.set(tier.name, tier);
          break;
        }
        case 'NetworkSet':
        case 'GlobalNetworkSet': {
          const set = readNetworkSet(value, family === 'GlobalNetworkSet');
          networkSets.set(networkSetKey(set.namespace, set.name), set);
          break;
        }
        case 'Namespace': {
          const ns = readNamespace(value);
          // Labels the caller gave win: they come from the cluster.
          if (!namespaceLabels.has(ns.name)) namespaceLabels.set(ns.name, ns.labels);
          break;
        }
        default:
          candidates.push({ object, kind: family, id });
      }
    } catch (e) {
      if (!(e instanceof PolicyValidationError)) throw e;
      warn(e.message);
    }
  }

  if (!tiers.has(DEFAULT_TIER)) tiers.set(DEFAULT_TIER, { name: DEFAULT_TIER, order: DEFAULT_TIER_ORDER, defaultAction: 'Deny' });
  for (const { object, kind, id } of candidates) {
    try {
      const policy = compilePolicy(object.value as PlainObject, kind, object.path);
      if (!tiers.has(policy.tier)) throw new PolicyValidationError(`tier ${policy.tier} does not exist (Calico refuses policies in a missing tier): skipped`);
      policies.push(policy);
    } catch (e) {
      if (!(e instanceof PolicyValidationError)) throw e;
      warnings.push({ path: object.path, object: id, message: e.message });
    }
  }

  for (const known of options.networkSets ?? []) {
    const key = networkSetKey(known.namespace, known.name);
    if (networkSets.has(key)) continue;
    const nets = (known.nets ?? []).map((n) => parseCidr(n)).filter((c): c is Cidr => c !== null);
    networkSets.set(key, { name: known.name, namespace: known.namespace, labels: known.labels ?? {}, nets });
  }

  const plans = new Map<PolicyView, EvaluationPlan>();
  return {
    ipFamilies: (options.ipFamilies ?? ['IPv4']).map((f): IpVersion => (f === 'IPv6' ? 6 : 4)),
    // In tree order; a file's own warnings in document order.
    warnings: warnings.sort((a, b) => compareStrings(a.path, b.path)),
    policies,
    plan: (view) => {
      let plan = plans.get(view);
      if (plan === undefined) plans.set(view, (plan = makePlan(view, [...tiers.values()], policies)));
      return plan;
    },
    namespaceLabels: (namespace) => {
      const labels = namespaceLabels.get(namespace);
      if (labels !== undefined) return { labels: withNamespaceNames(labels, namespace), known: () => true };
      const names = withNamespaceNames({}, namespace);
      return { labels: names, known: (key) => Object.hasOwn(names, key) };
    },
    networkSet: (namespace, name) => networkSets.get(networkSetKey(namespace, name)),
  };
}

function withNamespaceNames(labels: Labels, namespace: string): Labels {
  const out: Record<string, string> = { ...labels };
  for (const key of NAMESPACE_NAME_LABELS) out[key] = namespace;
  return out;
}

function networkSetKey(namespace: string | null, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

type Family = PolicyKind | 'Tier' | 'NetworkSet' | 'GlobalNetworkSet' | 'Namespace' | 'wrong-api' | null;

function kindFamily(kind: string, apiVersion: unknown): Family {
  if (kind === 'NetworkPolicy' && apiVersion === KUBERNETES_NETWORKING_API_VERSION) return 'KubernetesNetworkPolicy';
  if (kind === 'Namespace' && apiVersion === 'v1') return 'Namespace';
  const calicoKinds: readonly string[] = ['Tier', 'NetworkSet', 'GlobalNetworkSet', ...POLICY_KINDS];
  if (!calicoKinds.includes(kind) || kind === 'KubernetesNetworkPolicy') return null;
  if (apiVersion !== CALICO_API_VERSION) {
    // Someone else's kind of the same name (another API group) is none of our business.
    return typeof apiVersion === 'string' && apiVersion.includes('projectcalico.org') ? 'wrong-api' : null;
  }
  return kind as Family;
}

// ---------------------------------------------------------------------------------------------
// Evaluation plans

function compareOrder(a: number | null, b: number | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a - b;
}

/** Felix's key for ordering policies of equal order: the namespace-qualified Calico name. */
function sortName(policy: CompiledPolicy): string {
  return policy.namespace === null ? policy.calicoName : `${policy.namespace}/${policy.calicoName}`;
}

function comparePolicies(a: CompiledPolicy, b: CompiledPolicy): number {
  return compareOrder(a.order, b.order) || compareStrings(sortName(a), sortName(b));
}

/** Policies of one identity: a staged policy stands in for the enforced one of the same name. */
function identity(policy: CompiledPolicy): string {
  const family = policy.kind.includes('Kubernetes') ? 'k8s' : policy.namespace === null ? 'global' : 'namespaced';
  return `${family}/${policy.namespace ?? ''}/${policy.name}`;
}

/** The policies in force in a view: enforced ones, with the staged ones applied in the staged view. */
export function effectivePolicies(view: PolicyView, policies: readonly CompiledPolicy[]): CompiledPolicy[] {
  const byIdentity = new Map<string, CompiledPolicy>();
  for (const p of policies) if (!p.staged) byIdentity.set(identity(p), p);
  if (view === 'staged') {
    for (const p of policies) {
      if (!p.staged) continue;
      if (p.stagedAction === 'Delete') byIdentity.delete(identity(p));
      else if (p.stagedAction !== 'Ignore') byIdentity.set(identity(p), p);
    }
  }
  return [...byIdentity.values()];
}

function makePlan(view: PolicyView, tierInfos: readonly TierInfo[], all: readonly CompiledPolicy[]): EvaluationPlan {
  const effective = effectivePolicies(view, all);
  const ordered = [...tierInfos].sort((a, b) => compareOrder(a.order, b.order) || compareStrings(a.name, b.name));
  const tiers: PlannedTier[] = [];
  for (const info of ordered) {
    const inTier = effective.filter((p) => p.tier === info.name).sort(comparePolicies);
    if (inTier.length === 0) continue;
    tiers.push(plannedTier(info, inTier));
  }
  return { view, tiers, policyCount: effective.length };
}

function plannedTier(info: TierInfo, policies: readonly CompiledPolicy[]): PlannedTier {
  const global = policies.filter((p) => p.namespace === null);
  const byNamespace = new Map<string, CompiledPolicy[]>();
  for (const p of policies) {
    if (p.namespace === null) continue;
    let list = byNamespace.get(p.namespace);
    if (list === undefined) byNamespace.set(p.namespace, (list = []));
    list.push(p);
  }
  const cache = new Map<string, readonly CompiledPolicy[]>();
  return {
    ...info,
    policiesFor(namespace, direction) {
      const key = `${direction}/${namespace ?? ''}`;
      let list = cache.get(key);
      if (list === undefined) {
        const local = namespace === null ? [] : (byNamespace.get(namespace) ?? []);
        list = [...global, ...local].filter((p) => p[direction] !== null).sort(comparePolicies);
        cache.set(key, list);
      }
      return list;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Validation helpers

function invalid(message: string): never {
  throw new PolicyValidationError(message);
}

function optionalString(o: PlainObject, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') invalid(`${where}${key} must be a string`);
  return v;
}

function optionalList(o: PlainObject, key: string, where: string): unknown[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) invalid(`${where}${key} must be a list`);
  return v;
}

function metadataOf(value: PlainObject, namespaced: boolean): { name: string; namespace: string | null; labels: Labels } {
  const metadata = value['metadata'];
  if (!isPlainObject(metadata)) invalid('metadata must be a mapping');
  const name = metadata['name'];
  if (typeof name !== 'string' || !isDnsSubdomain(name)) invalid(`metadata.name ${JSON.stringify(name)} is not a valid name`);
  const namespace = metadata['namespace'];
  if (namespaced) {
    if (typeof namespace !== 'string' || !isDnsLabel(namespace)) {
      invalid(namespace === undefined ? 'metadata.namespace is missing (the tree must say where a namespaced object goes)' : 'metadata.namespace is not a valid namespace');
    }
  } else if (namespace !== undefined && namespace !== null) {
    invalid('metadata.namespace is set on a cluster-scoped object');
  }
  return { name, namespace: namespaced ? (namespace as string) : null, labels: readLabels(metadata['labels']) };
}

function readLabels(value: unknown): Labels {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) invalid('metadata.labels must be a mapping');
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (!isLabelKey(k) || typeof v !== 'string' || !isLabelValue(v)) invalid(`label ${JSON.stringify(k)} is not a valid label`);
    labels[k] = v;
  }
  return labels;
}

function specOf(value: PlainObject): PlainObject {
  const spec = value['spec'] ?? {};
  if (!isPlainObject(spec)) invalid('spec must be a mapping');
  return spec;
}

function selectorAt(text: unknown, where: string, options: { allowGlobal?: boolean } = {}): SelectorNode | null {
  if (text === undefined || text === null) return null;
  if (typeof text !== 'string') invalid(`${where} must be a string`);
  if (text.length > 1024) invalid(`${where} is longer than 1024 characters`);
  let ast: SelectorNode;
  try {
    ast = parseSelector(text).ast;
  } catch (e) {
    return invalid(`${where}: ${(e as Error).message}`);
  }
  if (!options.allowGlobal && text.includes('global(')) invalid(`${where}: global() can only be used in a namespaceSelector`);
  return ast;
}

// ---------------------------------------------------------------------------------------------
// Tiers, network sets, namespaces

function readTier(value: PlainObject): TierInfo {
  const { name } = metadataOf(value, false);
  const spec = specOf(value);
  const order = spec['order'];
  if (order !== undefined && order !== null && (typeof order !== 'number' || !Number.isFinite(order))) invalid('spec.order must be a number');
  const defaultAction = spec['defaultAction'] ?? 'Deny';
  if (defaultAction !== 'Deny' && defaultAction !== 'Pass') invalid('spec.defaultAction must be Deny or Pass');
  if (name === DEFAULT_TIER && (defaultAction !== 'Deny' || order !== DEFAULT_TIER_ORDER)) {
    invalid(`the default tier must have order ${DEFAULT_TIER_ORDER} and defaultAction Deny`);
  }
  return { name, order: typeof order === 'number' ? order : null, defaultAction };
}

function readNetworkSet(value: PlainObject, global: boolean): NetworkSetInfo {
  const { name, namespace, labels } = metadataOf(value, !global);
  const spec = specOf(value);
  const nets = (optionalList(spec, 'nets', 'spec.') ?? []).map((n) => cidrAt(n, 'spec.nets'));
  return { name, namespace, labels, nets };
}

/**
 * A NetworkSet or GlobalNetworkSet object of a tree as the engine needs it (its own labels and
 * nets as written), or null when it is not one or Calico would refuse it.
 */
export function networkSetFacts(value: unknown): NetworkSetFacts | null {
  if (!isPlainObject(value) || value['apiVersion'] !== CALICO_API_VERSION) return null;
  const kind = value['kind'];
  if (kind !== 'NetworkSet' && kind !== 'GlobalNetworkSet') return null;
  try {
    const { name, namespace, labels } = readNetworkSet(value, kind === 'GlobalNetworkSet');
    const nets = (specOf(value)['nets'] ?? []) as string[];
    return { name, namespace, labels, nets: [...nets] };
  } catch (e) {
    if (e instanceof PolicyValidationError) return null;
    throw e;
  }
}

function readNamespace(value: PlainObject): { name: string; labels: Labels } {
  const { name, labels } = metadataOf(value, false);
  if (!isDnsLabel(name)) invalid('metadata.name is not a valid namespace name');
  return { name, labels };
}

function cidrAt(text: unknown, where: string): Cidr {
  const cidr = typeof text === 'string' ? parseCidr(text) : null;
  if (cidr === null) invalid(`${where}: ${JSON.stringify(text)} is not an IP network`);
  return cidr;
}

// ---------------------------------------------------------------------------------------------
// Policies

const STAGED_ACTIONS: readonly string[] = ['Set', 'Delete', 'Learn', 'Ignore'];

function compilePolicy(value: PlainObject, kind: PolicyKind, path: string): CompiledPolicy {
  if (kind === 'KubernetesNetworkPolicy' || kind === 'StagedKubernetesNetworkPolicy') {
    const converted = kubernetesPolicyAsCalico(value, kind === 'StagedKubernetesNetworkPolicy');
    return compileCalico(converted.value, kind, path, converted.ruleIndex, converted.calicoName);
  }
  return compileCalico(value, kind, path, null, null);
}

/**
 * A Calico policy (or a Kubernetes one converted to Calico's form). `ruleIndex` maps a converted
 * rule back to the Kubernetes rule it came from.
 */
function compileCalico(
  value: PlainObject,
  kind: PolicyKind,
  path: string,
  ruleIndex: { ingress: readonly number[]; egress: readonly number[] } | null,
  fixedName: string | null,
): CompiledPolicy {
  const global = kind === 'GlobalNetworkPolicy' || kind === 'StagedGlobalNetworkPolicy';
  const staged = kind.startsWith('Staged');
  const { name, namespace } = metadataOf(value, !global);
  const spec = specOf(value);

  const tier = optionalString(spec, 'tier', 'spec.') ?? DEFAULT_TIER;
  if (!isDnsLabel(tier)) invalid(`spec.tier ${JSON.stringify(tier)} is not a valid tier name`);
  const order = spec['order'];
  if (order !== undefined && order !== null && (typeof order !== 'number' || !Number.isFinite(order))) invalid('spec.order must be a number');

  let stagedAction: CompiledPolicy['stagedAction'] = null;
  if (staged) {
    const raw = spec['stagedAction'] ?? 'Set';
    if (typeof raw !== 'string' || !STAGED_ACTIONS.includes(raw)) invalid(`spec.stagedAction must be one of ${STAGED_ACTIONS.join(', ')}`);
    stagedAction = raw as CompiledPolicy['stagedAction'];
  } else if (spec['stagedAction'] !== undefined) {
    invalid('spec.stagedAction is only valid on staged policies');
  }

  const selector = selectorAt(spec['selector'], 'spec.selector') ?? { op: 'all' };
  const namespaceSelector = global ? selectorAt(spec['namespaceSelector'], 'spec.namespaceSelector') : null;
  const serviceAccountSelector = selectorAt(spec['serviceAccountSelector'], 'spec.serviceAccountSelector');
  const hostOnly = spec['preDNAT'] === true || spec['doNotTrack'] === true;

  const ingressRaw = optionalList(spec, 'ingress', 'spec.') ?? [];
  const egressRaw = optionalList(spec, 'egress', 'spec.') ?? [];
  const types = readTypes(spec, ingressRaw.length > 0, egressRaw.length > 0, stagedAction);
  const policyNamespace = namespace;
  const compileRules = (raw: unknown[], direction: Direction): CompiledRule[] =>
    raw.map((rule, i) => compileRule(rule, `spec.${direction}[${i}]`, ruleIndex?.[direction][i] ?? i, direction, policyNamespace, global));

  return {
    kind,
    name,
    namespace,
    calicoName: fixedName ?? (name.startsWith(`${tier}.`) ? name : `${tier}.${name}`),
    tier,
    order: typeof order === 'number' ? order : null,
    staged,
    stagedAction,
    path,
    selector,
    namespaceSelector,
    serviceAccountSelector,
    hostOnly,
    ingress: types.has('Ingress') ? compileRules(ingressRaw, 'ingress') : null,
    egress: types.has('Egress') ? compileRules(egressRaw, 'egress') : null,
  };
}

/** Calico's defaulting: Ingress unless there are only egress rules; Egress when there are egress rules. */
function readTypes(spec: PlainObject, hasIngress: boolean, hasEgress: boolean, stagedAction: CompiledPolicy['stagedAction']): Set<string> {
  const raw = optionalList(spec, 'types', 'spec.');
  if (raw !== undefined && raw.length > 0) {
    if (!raw.every((t) => t === 'Ingress' || t === 'Egress')) invalid('spec.types may only hold Ingress and Egress');
    return new Set(raw as string[]);
  }
  if (stagedAction === 'Delete') return new Set();
  const types = new Set<string>();
  if (hasIngress || !hasEgress) types.add('Ingress');
  if (hasEgress) types.add('Egress');
  return types;
}

const RULE_ACTIONS: readonly string[] = ['Allow', 'Deny', 'Log', 'Pass'];
const RULE_KEYS: readonly string[] = ['action', 'protocol', 'notProtocol', 'ipVersion', 'icmp', 'notICMP', 'http', 'source', 'destination', 'metadata'];
const ENTITY_KEYS: readonly string[] = ['nets', 'notNets', 'selector', 'notSelector', 'namespaceSelector', 'ports', 'notPorts', 'services', 'serviceAccounts', 'domains'];

function compileRule(raw: unknown, where: string, index: number, direction: Direction, namespace: string | null, global: boolean): CompiledRule {
  if (!isPlainObject(raw)) invalid(`${where} must be a mapping`);
  const unknownKey = Object.keys(raw).find((k) => !RULE_KEYS.includes(k));
  if (unknownKey !== undefined) invalid(`${where}.${unknownKey} is not a rule field`);
  const action = raw['action'];
  if (typeof action !== 'string' || !RULE_ACTIONS.includes(action)) invalid(`${where}.action must be one of ${RULE_ACTIONS.join(', ')}`);
  const protocol = protocolAt(raw['protocol'], `${where}.protocol`);
  const notProtocol = protocolAt(raw['notProtocol'], `${where}.notProtocol`);
  const ipVersion = raw['ipVersion'];
  if (ipVersion !== undefined && ipVersion !== null && ipVersion !== 4 && ipVersion !== 6) invalid(`${where}.ipVersion must be 4 or 6`);
  const icmp = raw['icmp'] !== undefined && raw['icmp'] !== null;
  const notICMP = raw['notICMP'] !== undefined && raw['notICMP'] !== null;
  if (icmp && protocol !== 'ICMP' && protocol !== 'ICMPv6') invalid(`${where}.icmp requires protocol ICMP or ICMPv6`);
  const http = raw['http'] !== undefined && raw['http'] !== null;
  if (http && (action !== 'Allow' || (protocol !== null && protocol !== 'TCP'))) invalid(`${where}.http is only valid on Allow rules for TCP`);

  const source = compileEntity(raw['source'], `${where}.source`, 'source', direction, namespace, global);
  const destination = compileEntity(raw['destination'], `${where}.destination`, 'destination', direction, namespace, global);
  for (const [entity, name] of [[source, 'source'], [destination, 'destination']] as const) {
    if ((entity.ports !== null || entity.notPorts !== null) && (protocol === null || !protocolHasPorts(protocol))) {
      invalid(`${where}.${name}: ports need protocol TCP, UDP or SCTP`);
    }
  }
  if (destination.services !== null && (destination.ports !== null || destination.notPorts !== null)) {
    invalid(`${where}.destination: ports cannot be given with services`);
  }
  if (destination.domains !== null && action !== 'Allow') invalid(`${where}.destination.domains is only valid on Allow rules`);
  return {
    index,
    action: action as RuleAction,
    protocol,
    notProtocol,
    ipVersion: ipVersion === 4 || ipVersion === 6 ? ipVersion : null,
    icmp,
    notICMP,
    http,
    source,
    destination,
  };
}

function protocolAt(raw: unknown, where: string): Protocol | null {
  if (raw === undefined || raw === null) return null;
  const protocol = parseProtocol(raw);
  if (protocol === null) invalid(`${where}: ${JSON.stringify(raw)} is not a protocol`);
  return protocol;
}

const NO_ENTITY: CompiledEntity = {
  selector: null,
  notSelector: null,
  namespaceSelector: null,
  nets: null,
  notNets: null,
  ports: null,
  notPorts: null,
  services: null,
  serviceAccounts: null,
  domains: null,
};

function compileEntity(raw: unknown, where: string, side: 'source' | 'destination', direction: Direction, namespace: string | null, global: boolean): CompiledEntity {
  if (raw === undefined || raw === null) return NO_ENTITY;
  if (!isPlainObject(raw)) invalid(`${where} must be a mapping`);
  const unknownKey = Object.keys(raw).find((k) => !ENTITY_KEYS.includes(k));
  if (unknownKey !== undefined) invalid(`${where}.${unknownKey} is not a field of a rule's ${side}`);
  // Empty lists and strings mean "not given", as in Calico.
  const list = (key: string) => {
    const v = optionalList(raw, key, `${where}.`);
    return v === undefined || v.length === 0 ? null : v;
  };
  const text = (key: string) => {
    const v = optionalString(raw, key, `${where}.`);
    return v === undefined || v === '' ? undefined : v;
  };
  const selector = selectorAt(text('selector'), `${where}.selector`);
  const notSelector = selectorAt(text('notSelector'), `${where}.notSelector`);
  const namespaceSelector = selectorAt(text('namespaceSelector'), `${where}.namespaceSelector`, { allowGlobal: true });
  const nets = list('nets')?.map((n) => cidrAt(n, `${where}.nets`)) ?? null;
  const notNets = list('notNets')?.map((n) => cidrAt(n, `${where}.notNets`)) ?? null;
  const ports = portsAt(list('ports'), `${where}.ports`);
  const notPorts = portsAt(list('notPorts'), `${where}.notPorts`);
  const services = servicesAt(raw['services'], `${where}.services`, namespace);
  const serviceAccounts = serviceAccountsAt(raw['serviceAccounts'], `${where}.serviceAccounts`);
  const domains = list('domains')?.map((d) => domainAt(d, `${where}.domains`)) ?? null;

  if (services !== null) {
    if (selector || notSelector || namespaceSelector || nets || notNets || serviceAccounts) {
      invalid(`${where}: services cannot be combined with selectors, nets or serviceAccounts`);
    }
    const remote = direction === 'egress' ? 'destination' : 'source';
    if (side !== remote) invalid(`${where}.services: services may only name the remote end (a ${direction} rule's ${remote})`);
    if (global && namespace === null && services.namespace === '') invalid(`${where}.services.namespace is required in a global policy`);
  }
  if (domains !== null) {
    if (side !== 'destination' || direction !== 'egress') invalid(`${where}.domains: domains only apply to an egress rule's destination`);
    if (nets !== null) invalid(`${where}: domains cannot be combined with nets`);
  }
  return { selector, notSelector, namespaceSelector, nets, notNets, ports, notPorts, services, serviceAccounts, domains };
}

function portsAt(list: unknown[] | null, where: string): PortMatch[] | null {
  if (list === null) return null;
  return list.map((p) => {
    if (isPortNumber(p) || (typeof p === 'string' && portRange(p) !== null)) return p as PortMatch;
    // A named port: an IANA service name.
    if (typeof p === 'string' && /^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/.test(p) && /[a-z]/.test(p)) return p;
    return invalid(`${where}: ${JSON.stringify(p)} is not a port, a range "from:to" or a port name`);
  });
}

function servicesAt(raw: unknown, where: string, namespace: string | null): CompiledEntity['services'] {
  if (raw === undefined || raw === null) return null;
  if (!isPlainObject(raw)) invalid(`${where} must be a mapping`);
  const name = raw['name'];
  if (typeof name !== 'string' || !isDnsLabel(name)) invalid(`${where}.name must name a Service`);
  const ns = raw['namespace'] ?? namespace ?? '';
  if (typeof ns !== 'string' || (ns !== '' && !isDnsLabel(ns))) invalid(`${where}.namespace is not a valid namespace`);
  return { name, namespace: ns };
}

function serviceAccountsAt(raw: unknown, where: string): CompiledEntity['serviceAccounts'] {
  if (raw === undefined || raw === null) return null;
  if (!isPlainObject(raw)) invalid(`${where} must be a mapping`);
  const names = optionalList(raw, 'names', `${where}.`) ?? null;
  if (names !== null && !names.every((n) => typeof n === 'string')) invalid(`${where}.names must be strings`);
  const selector = selectorAt(raw['selector'], `${where}.selector`);
  return { names: names === null || names.length === 0 ? null : (names as string[]), selector };
}

const DOMAIN_PATTERN = /^(\*|[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?)(\.(\*|[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?))*$/;

function domainAt(raw: unknown, where: string): string {
  if (typeof raw !== 'string') invalid(`${where} must be strings`);
  let domain = raw.toLowerCase();
  if (domain.endsWith('.')) domain = domain.slice(0, -1);
  if (domain.length === 0 || domain.length > 253 || !DOMAIN_PATTERN.test(domain) || (domain.match(/\*/g)?.length ?? 0) > 1) {
    invalid(`${where}: ${JSON.stringify(raw)} is not a domain name (with at most one *)`);
  }
  return domain;
}
