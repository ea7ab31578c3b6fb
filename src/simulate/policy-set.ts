// Which policies Calico would evaluate, in which order: Tiers, Calico NetworkPolicy and
// GlobalNetworkPolicy, their staged forms, Kubernetes NetworkPolicy (as Calico converts it),
// NetworkSet / GlobalNetworkSet and Namespace labels, from parsed objects. Every object is
// validated as Calico's API server would; an invalid one is reported with its file and skipped.
// Pure: the objects come from a tree the caller loaded.

import { MAX_NETS, MAX_PORTS, MAX_RULES_PER_DIRECTION, MAX_SELECTOR_CHARS } from '../calico/limits.ts';
import {
  ANNOTATIONS_SIZE_LIMIT,
  annotationsError,
  calicoPolicyNameError,
  isCalicoName,
  isDnsLabel,
  isDnsSubdomain,
  isLabelKey,
  isLabelValue,
  tieredPolicyNameError,
  v1StoredAnnotationBytes,
} from '../calico/names.ts';
import { type Cidr, calicoNetVersion, networkSetNet, parseCidr, ruleNet } from '../calico/nets.ts';
import { calicoPortMatch, isNamedPortMatch } from '../calico/ports.ts';
import { type Protocol, protocolHasPorts, ruleProtocol } from '../calico/protocol.ts';
import { type CalicoRelease, CURRENT_CALICO_RELEASE, calicoReleaseAtLeast } from '../calico/release.ts';
import { type Labels, MAX_LABEL_LENGTH, type PartialLabels, parseSelector, type SelectorNode, selectorKeys } from '../calico/selector.ts';
import type { PortMatch, RuleAction, StagedAction } from '../calico/types.ts';
import { CALICO_API_VERSION, ENTITY_FIELDS, KUBERNETES_NETWORKING_API_VERSION, RULE_ACTIONS, RULE_FIELDS } from '../calico/types.ts';
import type { IpFamily } from '../config/recommendation-config.ts';
import { compareStrings } from '../engine/model.ts';
import type { NetworkSetFacts } from '../engine/network-sets.ts';
import { isYamlPath } from '../tree/inventory.ts';
import type { TreeFiles } from '../tree/tree.ts';
import { isPlainObject, type PlainObject } from '../util/plain.ts';
import { parseYamlFile, YamlError } from '../yaml/document.ts';
import type { Family as IpVersion } from './endpoint.ts';
import { kubernetesPolicyAsCalico, kubernetesRuleAsCalico } from './kubernetes-policy.ts';
import { type Direction, PolicyValidationError } from './policy-terms.ts';

/**
 * Which staged policies take effect: none (`enforced`, the cluster as it enforces today), all
 * (`staged`, every staged policy as if enforced), or the named ones only (everything else as it is
 * now): the question a PR asks of its own policies.
 */
export type PolicyView = 'enforced' | 'staged' | { readonly staged: readonly StagedRef[] };

/** A staged policy by namespace (null: global) and name. */
export interface StagedRef {
  readonly namespace: string | null;
  readonly name: string;
}

function viewKey(view: PolicyView): string {
  return typeof view === 'string' ? view : JSON.stringify(view.staged.map((r) => `${r.namespace ?? ''}/${r.name}`).sort());
}

const DEFAULT_TIER = 'default';
/** The `default` tier's order when the tree does not define it (Calico's CRD requires exactly this). */
const DEFAULT_TIER_ORDER = 1_000_000;

const POLICY_KINDS = [
  'NetworkPolicy',
  'GlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'KubernetesNetworkPolicy',
] as const;
type PolicyKind = (typeof POLICY_KINDS)[number];

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
  readonly stagedAction: StagedAction | null;
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

interface TierInfo {
  readonly name: string;
  readonly order: number | null;
  readonly defaultAction: 'Deny' | 'Pass';
}

interface NetworkSetInfo {
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
  /**
   * The Calico release whose validation rules apply where releases differ (the `<tier>.` name
   * prefix up to 3.31, named ports without a protocol from 3.32, the 3.33 limits, ...);
   * default CURRENT_CALICO_RELEASE.
   */
  readonly calicoVersion?: CalicoRelease;
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

export function buildPolicySet(
  objects: readonly SourcedObject[],
  options: PolicySetOptions = {},
  initialWarnings: readonly PolicyWarning[] = [],
): PolicySet {
  const warnings: PolicyWarning[] = [...initialWarnings];
  const tiers = new Map<string, TierInfo>();
  const policies: CompiledPolicy[] = [];
  const networkSets = new Map<string, NetworkSetInfo>();
  const namespaceLabels = new Map<string, Labels>(options.namespaces ?? []);
  const seen = new Map<string, string>();
  const version = options.calicoVersion ?? CURRENT_CALICO_RELEASE;

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
          const tier = readTier(value, version);
          tiers.set(tier.name, tier);
          break;
        }
        case 'NetworkSet':
        case 'GlobalNetworkSet': {
          const set = readNetworkSet(value, family === 'GlobalNetworkSet', version);
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
      const policy = compilePolicy(object.value as PlainObject, kind, object.path, version);
      if (!tiers.has(policy.tier))
        throw new PolicyValidationError(`tier ${policy.tier} does not exist (Calico refuses policies in a missing tier): skipped`);
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

  const plans = new Map<string, EvaluationPlan>();
  return {
    ipFamilies: (options.ipFamilies ?? ['IPv4']).map((f): IpVersion => (f === 'IPv6' ? 6 : 4)),
    // In tree order; a file's own warnings in document order.
    warnings: warnings.sort((a, b) => compareStrings(a.path, b.path)),
    policies,
    plan: (view) => {
      let plan = plans.get(viewKey(view));
      if (plan === undefined) plans.set(viewKey(view), (plan = makePlan(view, [...tiers.values()], policies, version)));
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

/**
 * Felix's key for ordering policies of equal order (felix/calc/policy_sorter.go PolKVLess), for
 * the policy as enforced (a staged policy stands in for the enforced one):
 * - up to 3.31 the v1 key's name: `<ns>/<tier>.<name>` (a name without a dot gets `default.`,
 *   libcalico-go/lib/names/policy.go TieredPolicyName), `<ns>/knp.default.<name>` for a
 *   Kubernetes policy (libcalico-go/lib/backend/k8s/conversion/conversion.go, release-v3.31);
 * - from 3.32 `<name>/<namespace>/<kind>` (model.PolicyKey), kinds NetworkPolicy,
 *   GlobalNetworkPolicy and KubernetesNetworkPolicy.
 */
function sortName(policy: CompiledPolicy, release: CalicoRelease): string {
  const kubernetes = policy.kind === 'KubernetesNetworkPolicy' || policy.kind === 'StagedKubernetesNetworkPolicy';
  if (calicoReleaseAtLeast(release, '3.32')) {
    const kind = kubernetes ? 'KubernetesNetworkPolicy' : policy.namespace === null ? 'GlobalNetworkPolicy' : 'NetworkPolicy';
    return `${policy.name}/${policy.namespace ?? ''}/${kind}`;
  }
  const name = kubernetes ? `knp.default.${policy.name}` : policy.name.includes('.') ? policy.name : `default.${policy.name}`;
  return policy.namespace === null ? name : `${policy.namespace}/${name}`;
}

function policyComparator(release: CalicoRelease): (a: CompiledPolicy, b: CompiledPolicy) => number {
  return (a, b) => compareOrder(a.order, b.order) || compareStrings(sortName(a, release), sortName(b, release));
}

/** Policies of one identity: a staged policy stands in for the enforced one of the same name. */
function identity(policy: CompiledPolicy): string {
  const family = policy.kind.includes('Kubernetes') ? 'k8s' : policy.namespace === null ? 'global' : 'namespaced';
  return `${family}/${policy.namespace ?? ''}/${policy.name}`;
}

/** The policies in force in a view: enforced ones, with the staged ones the view applies. */
export function effectivePolicies(view: PolicyView, policies: readonly CompiledPolicy[]): CompiledPolicy[] {
  const byIdentity = new Map<string, CompiledPolicy>();
  for (const p of policies) if (!p.staged) byIdentity.set(identity(p), p);
  if (view !== 'enforced') {
    const applied = (p: CompiledPolicy) => view === 'staged' || view.staged.some((r) => r.namespace === p.namespace && r.name === p.name);
    for (const p of policies) {
      if (!p.staged || !applied(p)) continue;
      if (p.stagedAction === 'Delete') byIdentity.delete(identity(p));
      else if (p.stagedAction !== 'Ignore') byIdentity.set(identity(p), p);
    }
  }
  return [...byIdentity.values()];
}

function makePlan(
  view: PolicyView,
  tierInfos: readonly TierInfo[],
  all: readonly CompiledPolicy[],
  release: CalicoRelease,
): EvaluationPlan {
  const effective = effectivePolicies(view, all);
  const comparePolicies = policyComparator(release);
  const ordered = [...tierInfos].sort((a, b) => compareOrder(a.order, b.order) || compareStrings(a.name, b.name));
  const tiers: PlannedTier[] = [];
  for (const info of ordered) {
    const inTier = effective.filter((p) => p.tier === info.name).sort(comparePolicies);
    if (inTier.length === 0) continue;
    tiers.push(plannedTier(info, inTier, comparePolicies));
  }
  return { view, tiers, policyCount: effective.length };
}

function plannedTier(
  info: TierInfo,
  policies: readonly CompiledPolicy[],
  comparePolicies: (a: CompiledPolicy, b: CompiledPolicy) => number,
): PlannedTier {
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
//
// As Calico validates what it is given (projectcalico/calico, per release): libcalico-go's
// validator (libcalico-go/lib/validator/v3/validator.go with the `validate:` tags of
// api/pkg/apis/projectcalico/v3 and api/pkg/lib/numorstring), the CRDs' rules
// (api/config/crd/, from 3.32), clientv3 (the `<tier>.` name prefix up to 3.31) and what storing
// through the crd.projectcalico.org/v1 backend needs (libcalico-go/lib/backend/k8s/resources/
// resources.go). test/conformance/validator-upstream.test.ts holds upstream's own cases.

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

interface ObjectMeta {
  readonly name: string;
  readonly namespace: string | null;
  readonly labels: Labels;
  readonly annotations: Readonly<Record<string, string>>;
}

function metadataOf(value: PlainObject, namespaced: boolean): ObjectMeta {
  const metadata = value['metadata'];
  if (!isPlainObject(metadata)) invalid('metadata must be a mapping');
  const name = metadata['name'];
  if (typeof name !== 'string' || !isDnsSubdomain(name)) invalid(`metadata.name ${JSON.stringify(name)} is not a valid name`);
  const namespace = metadata['namespace'];
  if (namespaced) {
    if (typeof namespace !== 'string' || !isDnsLabel(namespace)) {
      invalid(
        namespace === undefined
          ? 'metadata.namespace is missing (the tree must say where a namespaced object goes)'
          : 'metadata.namespace is not a valid namespace',
      );
    }
  } else if (namespace !== undefined && namespace !== null) {
    invalid('metadata.namespace is set on a cluster-scoped object');
  }
  return {
    name,
    namespace: namespaced ? (namespace as string) : null,
    labels: readLabels(metadata['labels']),
    annotations: readAnnotations(metadata['annotations'], 'metadata.annotations'),
  };
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

function readAnnotations(value: unknown, where: string): Readonly<Record<string, string>> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) invalid(`${where} must be a mapping`);
  const error = annotationsError(value);
  if (error !== null) invalid(`${where}: ${error}`);
  return value as Record<string, string>;
}

/**
 * What storing through the crd.projectcalico.org/v1 backend adds (resources.go, every release;
 * the backend of the Calico API server): the metadata must fit into one annotation once more, and
 * up to 3.31 a policy without a dot is stored as `default.<name>`, which must fit in 253 characters.
 */
function checkV1Storage(meta: ObjectMeta, policy: { tier: string; version: CalicoRelease } | null): void {
  const labels: Record<string, string> = { ...meta.labels };
  if (policy !== null) {
    // clientv3 labels a policy with its tier: 3.32+ always (api/pkg/defaults), up to 3.31 outside the default tier.
    if (calicoReleaseAtLeast(policy.version, '3.32') || policy.tier !== DEFAULT_TIER) labels['projectcalico.org/tier'] = policy.tier;
    if (!calicoReleaseAtLeast(policy.version, '3.32') && !meta.name.includes('.') && meta.name.length + DEFAULT_TIER.length + 1 > 253) {
      invalid(`metadata.name is stored as default.${meta.name.slice(0, 20)}..., longer than 253 characters (Calico up to 3.31)`);
    }
  }
  const bytes = v1StoredAnnotationBytes({ name: policy === null ? null : meta.name, labels, annotations: meta.annotations });
  if (bytes > ANNOTATIONS_SIZE_LIMIT)
    invalid(
      `metadata: stored by Calico (crd.projectcalico.org/v1), the annotations would take ${bytes} bytes, more than ${ANNOTATIONS_SIZE_LIMIT}`,
    );
}

function specOf(value: PlainObject): PlainObject {
  const spec = value['spec'] ?? {};
  if (!isPlainObject(spec)) invalid('spec must be a mapping');
  return spec;
}

interface SelectorRules {
  readonly version: CalicoRelease;
  /**
   * 'forbidden': global() may not appear (up to 3.32 Go looks for `global()`, from 3.33 the CRDs for
   * `global(`); 'alone': an EntityRule namespaceSelector, where global() is allowed on its own only;
   * 'any': no rule (notSelector, serviceAccounts.selector).
   */
  readonly global: 'forbidden' | 'alone' | 'any';
}

function selectorAt(text: unknown, where: string, rules: SelectorRules): SelectorNode | null {
  if (text === undefined || text === null) return null;
  if (typeof text !== 'string') invalid(`${where} must be a string`);
  if (calicoReleaseAtLeast(rules.version, '3.33') && [...text].length > MAX_SELECTOR_CHARS)
    invalid(`${where} is longer than ${MAX_SELECTOR_CHARS} characters (Calico 3.33)`);
  let ast: SelectorNode;
  try {
    ast = parseSelector(text).ast;
  } catch (e) {
    return invalid(`${where}: ${(e as Error).message}`);
  }
  if ([...selectorKeys(ast)].some((key) => key.length > MAX_LABEL_LENGTH))
    invalid(`${where}: a label name is longer than ${MAX_LABEL_LENGTH} characters`);
  if (rules.global === 'forbidden' && text.includes(calicoReleaseAtLeast(rules.version, '3.33') ? 'global(' : 'global()')) {
    invalid(`${where}: global() can only be used in a rule's namespaceSelector`);
  }
  // validateEntityRule: a namespaceSelector that contains `global(` anywhere (even in a literal) is `global()` alone.
  if (rules.global === 'alone' && text.includes('global(') && !/^[ \t]*global\([ \t]*\)[ \t]*$/.test(text))
    invalid(`${where}: global() cannot be combined with other selectors`);
  return ast;
}

// ---------------------------------------------------------------------------------------------
// Tiers, network sets, namespaces

/** The tiers whose order (and, from 3.32, default action) Calico fixes: validateTier, the Tier CRD's rules. */
function reservedTiers(version: CalicoRelease): Readonly<Record<string, { order: number; action: 'Deny' | 'Pass' | null }>> {
  return calicoReleaseAtLeast(version, '3.32')
    ? {
        [DEFAULT_TIER]: { order: DEFAULT_TIER_ORDER, action: 'Deny' },
        'kube-admin': { order: 1000, action: 'Pass' },
        'kube-baseline': { order: 10_000_000, action: 'Pass' },
      }
    : {
        [DEFAULT_TIER]: { order: DEFAULT_TIER_ORDER, action: null },
        adminnetworkpolicy: { order: 1000, action: null },
        baselineadminnetworkpolicy: { order: 10_000_000, action: null },
      };
}

function readTier(value: PlainObject, version: CalicoRelease): TierInfo {
  const meta = metadataOf(value, false);
  const { name } = meta;
  if (!isDnsLabel(name)) invalid('metadata.name: a tier name is a DNS label of at most 63 characters (no dots)');
  const spec = specOf(value);
  const order = spec['order'];
  if (order !== undefined && order !== null && (typeof order !== 'number' || !Number.isFinite(order)))
    invalid('spec.order must be a number');
  const defaultAction = spec['defaultAction'] ?? 'Deny';
  if (defaultAction !== 'Deny' && defaultAction !== 'Pass') invalid('spec.defaultAction must be Deny or Pass');
  const reserved = reservedTiers(version);
  const rule = Object.hasOwn(reserved, name) ? reserved[name] : undefined;
  if (rule !== undefined && (order !== rule.order || (rule.action !== null && defaultAction !== rule.action))) {
    invalid(`the ${name} tier must have order ${rule.order}${rule.action === null ? '' : ` and defaultAction ${rule.action}`}`);
  }
  checkV1Storage(meta, null);
  return { name, order: typeof order === 'number' ? order : null, defaultAction };
}

function readNetworkSet(value: PlainObject, global: boolean, version: CalicoRelease): NetworkSetInfo {
  const meta = metadataOf(value, !global);
  const { name, namespace, labels } = meta;
  // validate(Global)NetworkSet: the label Calico gives namespaced sets cannot be set by hand.
  if (Object.hasOwn(labels, 'projectcalico.org/namespace')) invalid('label projectcalico.org/namespace is reserved');
  const spec = specOf(value);
  const raw = optionalList(spec, 'nets', 'spec.') ?? [];
  if (calicoReleaseAtLeast(version, '3.32') && new Set(raw).size !== raw.length) invalid('spec.nets lists a network twice');
  const nets = raw.map((n) => networkSetNet(n) ?? invalid(`spec.nets: ${JSON.stringify(n)} is not an IP network`));
  checkV1Storage(meta, null);
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
    const { name, namespace, labels } = readNetworkSet(value, kind === 'GlobalNetworkSet', CURRENT_CALICO_RELEASE);
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

// ---------------------------------------------------------------------------------------------
// Policies

const STAGED_ACTIONS: readonly string[] = ['Set', 'Delete', 'Learn', 'Ignore'];

/** How strictly a policy is checked: Calico's own kinds by Calico's validator; Kubernetes policies only by what Kubernetes and Calico's conversion check. */
interface PolicyChecks {
  readonly version: CalicoRelease;
  readonly calicoKind: boolean;
}

function compilePolicy(value: PlainObject, kind: PolicyKind, path: string, version: CalicoRelease): CompiledPolicy {
  if (kind === 'KubernetesNetworkPolicy' || kind === 'StagedKubernetesNetworkPolicy') {
    if (kind === 'StagedKubernetesNetworkPolicy') {
      checkStagedDelete(specOf(value), ['stagedAction']);
      checkV1Storage(metadataOf(value, true), null);
    }
    const converted = kubernetesPolicyAsCalico(value, kind === 'StagedKubernetesNetworkPolicy');
    return compileCalico(converted.value, kind, path, converted.ruleIndex, converted.calicoName, { version, calicoKind: false });
  }
  return compileCalico(value, kind, path, null, null, { version, calicoKind: true });
}

/**
 * stagedAction Delete: every spec field but `keep` is its zero value (validateStaged*Policy
 * compares with an empty spec, so an empty list counts as set; clientv3 clears `types` first).
 */
function checkStagedDelete(spec: PlainObject, keep: readonly string[]): void {
  if (spec['stagedAction'] !== 'Delete') return;
  const zero = (v: unknown) =>
    v === undefined || v === null || v === '' || v === false || (isPlainObject(v) && Object.keys(v).length === 0);
  const set = Object.keys(spec).filter((k) => !keep.includes(k) && !zero(spec[k]));
  if (set.length > 0) invalid(`spec: with stagedAction Delete only the tier may be given (${set.join(', ')} given)`);
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
  checks: PolicyChecks,
): CompiledPolicy {
  const { version, calicoKind } = checks;
  const global = kind === 'GlobalNetworkPolicy' || kind === 'StagedGlobalNetworkPolicy';
  const staged = kind.startsWith('Staged');
  const meta = metadataOf(value, !global);
  const { name, namespace } = meta;
  const spec = specOf(value);

  const tier = optionalString(spec, 'tier', 'spec.') || DEFAULT_TIER;
  if (!isDnsLabel(tier)) invalid(`spec.tier ${JSON.stringify(tier)} is not a valid tier name`);
  if (calicoKind) {
    const nameError = calicoPolicyNameError(global ? 'global' : 'namespaced', name);
    if (nameError !== null) invalid(`metadata.name ${JSON.stringify(name)} ${nameError}`);
    if (!calicoReleaseAtLeast(version, '3.32')) {
      // clientv3 up to 3.31: names.ValidateTieredPolicyName, and no StagedNetworkPolicy named knp.default.*.
      if (kind === 'StagedNetworkPolicy' && name.startsWith('knp.default.'))
        invalid('metadata.name: a StagedNetworkPolicy cannot be named knp.default.* (Calico up to 3.31)');
      const tierError = tieredPolicyNameError(name, tier);
      if (tierError !== null) invalid(`metadata.name ${JSON.stringify(name)} ${tierError}`);
    }
    checkV1Storage(meta, { tier, version });
  }
  const order = spec['order'];
  if (order !== undefined && order !== null && (typeof order !== 'number' || !Number.isFinite(order)))
    invalid('spec.order must be a number');

  let stagedAction: CompiledPolicy['stagedAction'] = null;
  if (staged) {
    const raw = spec['stagedAction'] ?? 'Set';
    if (typeof raw !== 'string' || !STAGED_ACTIONS.includes(raw)) invalid(`spec.stagedAction must be one of ${STAGED_ACTIONS.join(', ')}`);
    stagedAction = raw as CompiledPolicy['stagedAction'];
    if (calicoKind) checkStagedDelete(spec, ['stagedAction', 'tier', 'types']);
  } else if (spec['stagedAction'] !== undefined) {
    invalid('spec.stagedAction is only valid on staged policies');
  }

  const forbidden: SelectorRules = { version, global: 'forbidden' };
  const selector = selectorAt(spec['selector'], 'spec.selector', forbidden) ?? { op: 'all' };
  const namespaceSelector = global ? selectorAt(spec['namespaceSelector'], 'spec.namespaceSelector', forbidden) : null;
  const serviceAccountSelector = selectorAt(spec['serviceAccountSelector'], 'spec.serviceAccountSelector', forbidden);
  const preDNAT = spec['preDNAT'] === true;
  const doNotTrack = spec['doNotTrack'] === true;
  const hostOnly = preDNAT || doNotTrack;

  const ingressRaw = optionalList(spec, 'ingress', 'spec.') ?? [];
  const egressRaw = optionalList(spec, 'egress', 'spec.') ?? [];
  const types = readTypes(spec, ingressRaw.length > 0, egressRaw.length > 0, stagedAction, version);
  if (calicoKind) {
    if (calicoReleaseAtLeast(version, '3.33') && Math.max(ingressRaw.length, egressRaw.length) > MAX_RULES_PER_DIRECTION)
      invalid(`spec: more than ${MAX_RULES_PER_DIRECTION} rules in one direction (Calico 3.33)`);
    readPerformanceHints(spec);
    if (global) {
      // validateGlobalNetworkPolicySpec (the CRD's rules from 3.32).
      if (preDNAT && doNotTrack) invalid('spec: preDNAT and doNotTrack cannot both be true');
      if (preDNAT && (egressRaw.length > 0 || types.has('Egress')))
        invalid('spec: a preDNAT policy cannot have egress rules or the Egress type');
      if (hostOnly && spec['applyOnForward'] !== true) invalid('spec: applyOnForward must be true with preDNAT or doNotTrack');
    }
  }
  const policyNamespace = namespace;
  const compileRules = (raw: unknown[], direction: Direction): CompiledRule[] =>
    raw.map((rule, i) =>
      compileRule(rule, `spec.${direction}[${i}]`, ruleIndex?.[direction][i] ?? i, direction, policyNamespace, global, checks),
    );
  // Rules of a direction the types leave out are ignored by Calico, but still validated.
  const ingress = compileRules(ingressRaw, 'ingress');
  const egress = compileRules(egressRaw, 'egress');

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
    ingress: types.has('Ingress') ? ingress : null,
    egress: types.has('Egress') ? egress : null,
  };
}

/**
 * Calico's defaulting: Ingress unless there are only egress rules; Egress when there are egress
 * rules. Types are Ingress or Egress, each once; from 3.32 the CRDs refuse an empty list as written.
 */
function readTypes(
  spec: PlainObject,
  hasIngress: boolean,
  hasEgress: boolean,
  stagedAction: CompiledPolicy['stagedAction'],
  version: CalicoRelease,
): Set<string> {
  const raw = optionalList(spec, 'types', 'spec.');
  if (raw !== undefined && raw.length === 0 && calicoReleaseAtLeast(version, '3.32'))
    invalid('spec.types is an empty list (leave it out instead)');
  if (raw !== undefined && raw.length > 0) {
    if (!raw.every((t) => t === 'Ingress' || t === 'Egress')) invalid('spec.types may only hold Ingress and Egress');
    if (new Set(raw).size !== raw.length) invalid('spec.types names a type twice');
    if (stagedAction !== 'Delete') return new Set(raw as string[]);
  }
  if (stagedAction === 'Delete') return new Set();
  const types = new Set<string>();
  if (hasIngress || !hasEgress) types.add('Ingress');
  if (hasEgress) types.add('Egress');
  return types;
}

/** performanceHints: `unique,dive,oneof=AssumeNeededOnEveryNode`. */
function readPerformanceHints(spec: PlainObject): void {
  const hints = optionalList(spec, 'performanceHints', 'spec.') ?? [];
  if (!hints.every((h) => h === 'AssumeNeededOnEveryNode') || new Set(hints).size !== hints.length)
    invalid('spec.performanceHints may only hold AssumeNeededOnEveryNode, once');
}

/**
 * One rule of a namespaced Calico policy, compiled as Calico's validator reads it (the same
 * compiler as whole policies); throws PolicyValidationError where Calico would refuse the rule.
 */
export function compileCalicoRule(raw: unknown, direction: Direction, namespace: string, version: CalicoRelease): CompiledRule {
  return compileRule(raw, `${direction} rule`, 0, direction, namespace, false, { version, calicoKind: true });
}

/**
 * One rule of a Kubernetes NetworkPolicy of `namespace`, as the Calico rules Calico converts it
 * to (kubernetesRuleAsCalico): traffic is allowed when one of them matches.
 */
export function compileKubernetesRule(raw: unknown, direction: Direction, namespace: string): CompiledRule[] {
  return kubernetesRuleAsCalico(raw, direction, true).map((rule) =>
    compileRule(rule, `${direction} rule`, 0, direction, namespace, false, { version: CURRENT_CALICO_RELEASE, calicoKind: false }),
  );
}

function compileRule(
  raw: unknown,
  where: string,
  index: number,
  direction: Direction,
  namespace: string | null,
  global: boolean,
  checks: PolicyChecks,
): CompiledRule {
  const { version } = checks;
  if (!isPlainObject(raw)) invalid(`${where} must be a mapping`);
  const unknownKey = Object.keys(raw).find((k) => !RULE_FIELDS.includes(k));
  if (unknownKey !== undefined) invalid(`${where}.${unknownKey} is not a rule field`);
  const action = raw['action'];
  if (typeof action !== 'string' || !(RULE_ACTIONS as readonly string[]).includes(action))
    invalid(`${where}.action must be one of ${RULE_ACTIONS.join(', ')}`);
  const rawProtocol = raw['protocol'] ?? undefined;
  const rawNotProtocol = raw['notProtocol'] ?? undefined;
  const protocol = protocolAt(rawProtocol, `${where}.protocol`);
  const notProtocol = protocolAt(rawNotProtocol, `${where}.notProtocol`);
  const ipVersion = raw['ipVersion'];
  if (ipVersion !== undefined && ipVersion !== null && ipVersion !== 4 && ipVersion !== 6) invalid(`${where}.ipVersion must be 4 or 6`);
  const since333 = calicoReleaseAtLeast(version, '3.33');

  // ICMP fields: type 0-254, code 0-255, no code without a type. `icmp` needs protocol ICMP or
  // ICMPv6: up to 3.32 written as names (Go compares the values as written), from 3.33 also 1 or 58.
  const icmp = raw['icmp'] !== undefined && raw['icmp'] !== null;
  const notICMP = raw['notICMP'] !== undefined && raw['notICMP'] !== null;
  for (const field of ['icmp', 'notICMP'] as const)
    if (raw[field] !== undefined && raw[field] !== null) icmpFieldsAt(raw[field], `${where}.${field}`);
  if (icmp && !(since333 ? ['ICMP', 'ICMPv6', 1, 58] : ['ICMP', 'ICMPv6']).includes(rawProtocol as string | number))
    invalid(`${where}.icmp requires protocol ICMP or ICMPv6`);
  for (const [field, p] of [
    ['protocol', rawProtocol],
    ['notProtocol', rawNotProtocol],
  ] as const) {
    if ((p === 'ICMP' || (since333 && p === 1)) && ipVersion !== undefined && ipVersion !== null && ipVersion !== 4)
      invalid(`${where}.${field} ICMP requires ipVersion 4`);
    if ((p === 'ICMPv6' || (since333 && p === 58)) && ipVersion !== undefined && ipVersion !== null && ipVersion !== 6)
      invalid(`${where}.${field} ICMPv6 requires ipVersion 6`);
  }

  // HTTP: Allow rules of ingress only, protocol TCP or none (up to 3.32 written TCP; from 3.33 also 6).
  const http = raw['http'] !== undefined && raw['http'] !== null;
  if (http) {
    const tcp = rawProtocol === undefined || rawProtocol === 'TCP' || (since333 && rawProtocol === 6);
    if (action !== 'Allow' || !tcp) invalid(`${where}.http is only valid on Allow rules for TCP`);
    if (checks.calicoKind && direction === 'egress') invalid(`${where}.http is not allowed in egress rules`);
    httpAt(raw['http'], `${where}.http`);
  }
  if (raw['metadata'] !== undefined && raw['metadata'] !== null) {
    const metadata = raw['metadata'];
    if (!isPlainObject(metadata) || !Object.keys(metadata).every((k) => k === 'annotations'))
      invalid(`${where}.metadata may only hold annotations`);
    readAnnotations(metadata['annotations'], `${where}.metadata.annotations`);
  }

  const source = compileEntity(raw['source'], `${where}.source`, 'source', direction, namespace, global, checks);
  const destination = compileEntity(raw['destination'], `${where}.destination`, 'destination', direction, namespace, global, checks);
  for (const [entity, name] of [
    [source, 'source'],
    [destination, 'destination'],
  ] as const) {
    for (const ports of [entity.ports, entity.notPorts]) {
      if (ports === null) continue;
      // Ports need a protocol with ports; from 3.32 named ports may go without a protocol.
      if (protocol === null ? !(calicoReleaseAtLeast(version, '3.32') && ports.every(isNamedPortMatch)) : !protocolHasPorts(protocol)) {
        invalid(
          `${where}.${name}: ports need protocol TCP, UDP or SCTP${calicoReleaseAtLeast(version, '3.32') ? ' (named ports may go without one)' : ''}`,
        );
      }
    }
  }
  if (destination.services !== null && (destination.ports !== null || destination.notPorts !== null)) {
    invalid(`${where}.destination: ports cannot be given with services`);
  }
  if (destination.domains !== null && action !== 'Allow') invalid(`${where}.destination.domains is only valid on Allow rules`);
  if (checks.calicoKind) checkRuleNets(raw, ipVersion === 4 || ipVersion === 6 ? ipVersion : null, where);
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
  const protocol = ruleProtocol(raw);
  if (protocol === null) invalid(`${where}: ${JSON.stringify(raw)} is not a protocol (TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or 1-255)`);
  return protocol;
}

function icmpFieldsAt(raw: unknown, where: string): void {
  if (!isPlainObject(raw) || !Object.keys(raw).every((k) => k === 'type' || k === 'code')) invalid(`${where} may only hold type and code`);
  const { type, code } = raw;
  const inRange = (v: unknown, max: number) =>
    v === undefined || v === null || (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max);
  if (!inRange(type, 254)) invalid(`${where}.type must be 0-254`);
  if (!inRange(code, 255)) invalid(`${where}.code must be 0-255`);
  if ((code ?? null) !== null && (type ?? null) === null) invalid(`${where}: a code needs a type`);
}

/** validateHTTPRule: methods without repeats; each path exactly one of exact and prefix, starting with `/`, without `?`, `#` or a space. */
function httpAt(raw: unknown, where: string): void {
  if (!isPlainObject(raw) || !Object.keys(raw).every((k) => k === 'methods' || k === 'paths'))
    invalid(`${where} may only hold methods and paths`);
  const methods = optionalList(raw, 'methods', `${where}.`) ?? [];
  if (!methods.every((m) => typeof m === 'string') || new Set(methods).size !== methods.length)
    invalid(`${where}.methods must be distinct strings`);
  for (const [i, p] of (optionalList(raw, 'paths', `${where}.`) ?? []).entries()) {
    const at = `${where}.paths[${i}]`;
    if (!isPlainObject(p) || !Object.keys(p).every((k) => k === 'exact' || k === 'prefix')) invalid(`${at} may only hold exact or prefix`);
    const exact = typeof p['exact'] === 'string' ? p['exact'] : '';
    const prefix = typeof p['prefix'] === 'string' ? p['prefix'] : '';
    const path = exact || prefix;
    if ((exact !== '' && prefix !== '') || path === '') invalid(`${at} needs exactly one of exact and prefix`);
    if (!path.startsWith('/') || /[? #]/.test(path)) invalid(`${at}: ${JSON.stringify(path)} must start with / and hold no ?, # or space`);
  }
}

/**
 * validateRule's scanNets: every entry of the rule's nets and notNets is a masked CIDR, all of one
 * IP version (ipVersion's, when given); notNets never 0.0.0.0/0 as written, nor ::/0.
 */
function checkRuleNets(raw: PlainObject, ipVersion: 4 | 6 | null, where: string): void {
  const versions = new Set<4 | 6>();
  for (const side of ['source', 'destination'] as const) {
    const entity = raw[side];
    if (!isPlainObject(entity)) continue;
    for (const field of ['nets', 'notNets'] as const) {
      const list = entity[field];
      if (!Array.isArray(list)) continue;
      for (const n of list) {
        const net = ruleNet(n);
        if ('error' in net) invalid(`${where}.${side}.${field}: ${JSON.stringify(n)}: ${net.error}`);
        const v = calicoNetVersion(net.cidr);
        if (field === 'notNets' && ((v === 4 && n === '0.0.0.0/0') || (net.cidr.version === 6 && net.cidr.prefix === 0)))
          invalid(`${where}.${side}.notNets: ${JSON.stringify(n)} excludes everything`);
        if (ipVersion !== null && v !== ipVersion)
          invalid(`${where}.${side}.${field}: ${JSON.stringify(n)} is not IPv${ipVersion}, the rule's ipVersion`);
        versions.add(v);
      }
    }
  }
  if (versions.size > 1) invalid(`${where}: a rule's nets must all be IPv4 or all IPv6`);
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

function compileEntity(
  raw: unknown,
  where: string,
  side: 'source' | 'destination',
  direction: Direction,
  namespace: string | null,
  global: boolean,
  checks: PolicyChecks,
): CompiledEntity {
  const { version } = checks;
  if (raw === undefined || raw === null) return NO_ENTITY;
  if (!isPlainObject(raw)) invalid(`${where} must be a mapping`);
  const unknownKey = Object.keys(raw).find((k) => !ENTITY_FIELDS.includes(k));
  if (unknownKey !== undefined) invalid(`${where}.${unknownKey} is not a field of a rule's ${side}`);
  // Empty lists and strings mean "not given", as in Calico.
  const list = (key: string) => {
    const v = optionalList(raw, key, `${where}.`);
    if (v !== undefined && checks.calicoKind && calicoReleaseAtLeast(version, '3.33')) {
      const max = key === 'ports' || key === 'notPorts' ? MAX_PORTS : key === 'nets' || key === 'notNets' ? MAX_NETS : Infinity;
      if (v.length > max) invalid(`${where}.${key} holds more than ${max} entries (Calico 3.33)`);
    }
    if (
      v !== undefined &&
      checks.calicoKind &&
      (key === 'nets' || (key === 'notNets' && calicoReleaseAtLeast(version, '3.33'))) &&
      new Set(v).size !== v.length
    ) {
      invalid(`${where}.${key} lists an entry twice`);
    }
    return v === undefined || v.length === 0 ? null : v;
  };
  const text = (key: string) => {
    const v = optionalString(raw, key, `${where}.`);
    return v === undefined || v === '' ? undefined : v;
  };
  const selector = selectorAt(text('selector'), `${where}.selector`, { version, global: 'forbidden' });
  const notSelector = selectorAt(text('notSelector'), `${where}.notSelector`, { version, global: 'any' });
  const namespaceSelector = selectorAt(text('namespaceSelector'), `${where}.namespaceSelector`, { version, global: 'alone' });
  const nets = list('nets')?.map((n) => cidrAt(n, `${where}.nets`)) ?? null;
  const notNets = list('notNets')?.map((n) => cidrAt(n, `${where}.notNets`)) ?? null;
  const ports = portsAt(list('ports'), `${where}.ports`);
  const notPorts = portsAt(list('notPorts'), `${where}.notPorts`);
  const services = servicesAt(raw['services'], `${where}.services`, namespace, version);
  const serviceAccounts = serviceAccountsAt(raw['serviceAccounts'], `${where}.serviceAccounts`, version);
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

function cidrAt(text: unknown, where: string): Cidr {
  const cidr = typeof text === 'string' ? parseCidr(text) : null;
  if (cidr === null) invalid(`${where}: ${JSON.stringify(text)} is not an IP network`);
  return cidr;
}

/** Each port as Calico decodes and validates it, in canonical form (calicoPortMatch). */
function portsAt(list: unknown[] | null, where: string): PortMatch[] | null {
  if (list === null) return null;
  return list.map((p) => {
    const port = calicoPortMatch(p);
    return 'match' in port
      ? port.match
      : invalid(`${where}: ${JSON.stringify(p)} is not a port, a range "from:to" or a port name (${port.error})`);
  });
}

function servicesAt(raw: unknown, where: string, namespace: string | null, version: CalicoRelease): CompiledEntity['services'] {
  if (raw === undefined || raw === null) return null;
  if (!isPlainObject(raw) || !Object.keys(raw).every((k) => k === 'name' || k === 'namespace'))
    invalid(`${where} may only hold name and namespace`);
  // The `name` tag (a DNS subdomain pattern); from 3.33 the CRDs also limit both to 253 characters.
  const valid = (v: unknown) => typeof v === 'string' && isCalicoName(v) && (!calicoReleaseAtLeast(version, '3.33') || v.length <= 253);
  const name = raw['name'];
  if (typeof name !== 'string' || name === '') invalid(`${where}.name must name a Service`);
  if (!valid(name)) invalid(`${where}.name ${JSON.stringify(name)} is not a valid name`);
  const ns = raw['namespace'] || namespace || '';
  if (typeof ns !== 'string' || (ns !== '' && !valid(ns))) invalid(`${where}.namespace is not a valid namespace`);
  return { name, namespace: ns };
}

function serviceAccountsAt(raw: unknown, where: string, version: CalicoRelease): CompiledEntity['serviceAccounts'] {
  if (raw === undefined || raw === null) return null;
  if (!isPlainObject(raw)) invalid(`${where} must be a mapping`);
  const names = optionalList(raw, 'names', `${where}.`) ?? null;
  if (names !== null && !names.every((n) => typeof n === 'string')) invalid(`${where}.names must be strings`);
  if (names !== null && calicoReleaseAtLeast(version, '3.32') && new Set(names).size !== names.length)
    invalid(`${where}.names lists a name twice`);
  const selector = selectorAt(raw['selector'], `${where}.selector`, { version, global: 'any' });
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
