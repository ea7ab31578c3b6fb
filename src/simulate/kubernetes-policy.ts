// A Kubernetes NetworkPolicy (networking.k8s.io/v1), or Calico's StagedKubernetesNetworkPolicy,
// in the form Calico gives it: libcalico-go's lib/backend/k8s/conversion/conversion.go
// K8sNetworkPolicyToCalico (release-v3.30 .. v3.33, main; the rule conversion is the same in all
// of them) makes a namespaced policy in the `default` tier at order 1000, applying to the pods its
// podSelector picks (`projectcalico.org/orchestrator == 'k8s'`), with Allow rules only. What the
// tier's default Deny then does is Kubernetes' own semantics: once any policy selects a pod for a
// direction, only what some policy's rule allows gets through.
// test/conformance/kubernetes-conversion.test.ts holds upstream's own cases.
//
// The key Felix knows the policy by differs per release: up to 3.31 the name
// `<ns>/knp.default.<name>` in tier default (names.K8sNetworkPolicyNamePrefix; staged:
// `<ns>/staged:knp.default.<name>`), from 3.32 {name, namespace, kind KubernetesNetworkPolicy /
// StagedKubernetesNetworkPolicy} (model.PolicyKey). `calicoName` below is neither: it is the
// simulator's own label and sort key, which policy-set.ts orders by.

import { isLabelKey, isLabelValue } from '../calico/names.ts';
import { formatSelector, type SelectorNode } from '../calico/selector.ts';
import { hasOnlyKeys, isPlainObject, type PlainObject } from '../util/plain.ts';
import { type Direction, KUBERNETES_POLICY_ORDER, PolicyValidationError } from './policy-terms.ts';

export interface ConvertedPolicy {
  /** A Calico NetworkPolicy (or StagedNetworkPolicy) object. */
  readonly value: PlainObject;
  /** Index of the Kubernetes rule each converted rule came from, per direction. */
  readonly ruleIndex: { readonly ingress: readonly number[]; readonly egress: readonly number[] };
  /** `default.knp.default.<name>`: the simulator's label, not the name Felix uses (see above). */
  readonly calicoName: string;
}

const ORCHESTRATOR: SelectorNode = { op: '==', key: 'projectcalico.org/orchestrator', value: 'k8s' };
const PROTOCOLS: readonly string[] = ['TCP', 'UDP', 'SCTP'];
const SPEC_KEYS: readonly string[] = ['podSelector', 'ingress', 'egress', 'policyTypes'];

function invalid(message: string): never {
  throw new PolicyValidationError(message);
}

export function kubernetesPolicyAsCalico(value: PlainObject, staged: boolean): ConvertedPolicy {
  const metadata = isPlainObject(value['metadata']) ? value['metadata'] : invalid('metadata must be a mapping');
  const spec = isPlainObject(value['spec']) ? value['spec'] : invalid('spec must be a mapping');
  const stagedAction = staged ? (spec['stagedAction'] ?? 'Set') : undefined;
  if (stagedAction === 'Delete' && SPEC_KEYS.some((k) => !isZero(spec[k]))) {
    // validator.go validateStagedKubernetesNetworkPolicy (3.30 .. main).
    invalid('spec fields should all be zero-value if stagedAction is Delete');
  }
  const podSelector = spec['podSelector'] ?? {};
  const selector = labelSelector(podSelector, 'spec.podSelector', true);

  const ingress = rulesOf(spec, 'ingress');
  const egress = rulesOf(spec, 'egress');
  const types = policyTypes(spec['policyTypes'], egress.length > 0, staged);

  const converted: Record<Direction, PlainObject[]> = { ingress: [], egress: [] };
  const ruleIndex: Record<Direction, number[]> = { ingress: [], egress: [] };
  for (const direction of ['ingress', 'egress'] as const) {
    const list = direction === 'ingress' ? ingress : egress;
    list.forEach((rule, i) => {
      for (const r of convertRule(rule, direction, `spec.${direction}[${i}]`, staged)) {
        converted[direction].push(r);
        ruleIndex[direction].push(i);
      }
    });
  }

  const name = metadata['name'];
  const calicoSpec: PlainObject = {
    tier: 'default',
    order: KUBERNETES_POLICY_ORDER,
    selector,
    types,
    ingress: converted.ingress,
    egress: converted.egress,
  };
  if (stagedAction !== undefined) calicoSpec['stagedAction'] = stagedAction;
  return {
    value: { apiVersion: 'projectcalico.org/v3', kind: staged ? 'StagedNetworkPolicy' : 'NetworkPolicy', metadata, spec: calicoSpec },
    ruleIndex,
    calicoName: `default.knp.default.${String(name)}`,
  };
}

/**
 * One rule of a Kubernetes policy as the Calico rules it converts to (staged: as in a
 * StagedKubernetesNetworkPolicy, where a peer may be empty); throws PolicyValidationError where
 * the rule is not valid.
 */
export function kubernetesRuleAsCalico(rule: unknown, direction: Direction, staged: boolean): PlainObject[] {
  return convertRule(
    isPlainObject(rule) ? rule : invalid(`the ${direction} rule must be a mapping`),
    direction,
    `${direction} rule`,
    staged,
  );
}

function isZero(v: unknown): boolean {
  return v === undefined || v === null || (isPlainObject(v) && Object.values(v).every(isZero));
}

/**
 * The policy's types, always in the order Ingress, Egress. Without policyTypes, the Kubernetes API
 * server defaults a NetworkPolicy to Ingress, plus Egress when it has egress rules
 * (SetDefaults_NetworkPolicySpec). Nothing defaults a StagedKubernetesNetworkPolicy (neither
 * clientv3 nor the CRD), and K8sNetworkPolicyToCalico then makes it Ingress only: its egress rules
 * are ignored.
 */
function policyTypes(raw: unknown, hasEgressRules: boolean, staged: boolean): string[] {
  if (raw !== undefined && raw !== null && !Array.isArray(raw)) invalid('spec.policyTypes must be a list');
  const given = raw ?? [];
  if (!given.every((t) => t === 'Ingress' || t === 'Egress')) invalid('spec.policyTypes may only hold Ingress and Egress');
  if (given.length === 0) return !staged && hasEgressRules ? ['Ingress', 'Egress'] : ['Ingress'];
  return ['Ingress', 'Egress'].filter((t) => given.includes(t));
}

function rulesOf(spec: PlainObject, direction: Direction): PlainObject[] {
  const list = spec[direction];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) invalid(`spec.${direction} must be a list`);
  return list.map((r, i) => (isPlainObject(r) ? r : invalid(`spec.${direction}[${i}] must be a mapping`)));
}

type PortMatch = number | string;

/**
 * Calico's k8sRuleToCalico: one rule per protocol (sorted by name) and peer, each with all the
 * ports of that protocol (SimplifyPorts merges adjacent numbers into ranges); a port entry without
 * a number allows the whole protocol; no ports at all is one rule without a protocol. One
 * deliberate difference: ipBlock peers without `except` share one rule with all their CIDRs (at
 * the first one's place). It allows exactly what the separate rules allow, and lets an address
 * known only by its range (a `pvt` network) be found in their union rather than undecided
 * against each CIDR alone.
 */
function convertRule(rule: PlainObject, direction: Direction, where: string, staged: boolean): PlainObject[] {
  const peersKey = direction === 'ingress' ? 'from' : 'to';
  if (!hasOnlyKeys(rule, [peersKey, 'ports'])) invalid(`${where} may only hold ${peersKey} and ports`);
  const peers = listAt(rule[peersKey], `${where}.${peersKey}`).map((peer, ei) => convertPeer(peer, `${where}.${peersKey}[${ei}]`, staged));
  const entities = mergePlainNets(peers);
  const ports = listAt(rule['ports'], `${where}.ports`).map((port, pi) => convertPort(port, `${where}.ports[${pi}]`));

  // Protocol -> its ports; null: every port of the protocol.
  const byProtocol = new Map<string, PortMatch[] | null>();
  for (const port of ports) {
    const known = byProtocol.get(port.protocol);
    if (port.port === null) byProtocol.set(port.protocol, null);
    else if (known !== null) byProtocol.set(port.protocol, [...(known ?? []), port.port]);
  }
  const protocolRules: { protocol?: string; ports?: PortMatch[] }[] =
    ports.length === 0
      ? [{}]
      : [...byProtocol.keys()].sort().map((protocol) => {
          const list = byProtocol.get(protocol) ?? null;
          return list === null ? { protocol } : { protocol, ports: simplifyPorts(list) };
        });

  const out: PlainObject[] = [];
  for (const { protocol, ports: portList } of protocolRules) {
    for (const peerFields of entities.length === 0 ? [{}] : entities) {
      const calico: PlainObject = { action: 'Allow' };
      if (protocol !== undefined) calico['protocol'] = protocol;
      const destinationPorts = portList === undefined ? {} : { ports: portList };
      if (direction === 'ingress') {
        calico['source'] = peerFields;
        calico['destination'] = destinationPorts;
      } else {
        calico['destination'] = { ...peerFields, ...destinationPorts };
      }
      out.push(calico);
    }
  }
  return out;
}

function mergePlainNets(peers: readonly PlainObject[]): PlainObject[] {
  const plain = peers.filter((p) => hasOnlyKeys(p, ['nets']) && p['nets'] !== undefined);
  if (plain.length <= 1) return [...peers];
  const merged = { nets: plain.flatMap((p) => p['nets'] as unknown[]) };
  return peers.flatMap((p) => (p === plain[0] ? [merged] : plain.includes(p) ? [] : [p]));
}

/**
 * Calico's SimplifyPorts: with more than one numeric port, named ports first (as given), then the
 * numeric ports merged into ascending, non-adjacent ranges; otherwise the list as given.
 */
function simplifyPorts(ports: readonly PortMatch[]): PortMatch[] {
  const ranges: [number, number][] = [];
  const named: PortMatch[] = [];
  let numericCount = 0;
  for (const p of ports) {
    const range = typeof p === 'number' ? [p, p] : /^(\d+):(\d+)$/.exec(p)?.slice(1).map(Number);
    if (range === undefined) named.push(p);
    else {
      ranges.push([range[0]!, range[1]!]);
      numericCount += range[1]! - range[0]! + 1;
    }
  }
  if (numericCount <= 1) return [...ports];
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const [lo, hi] of ranges) {
    const last = merged.at(-1);
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  return [...named, ...merged.map(([lo, hi]) => (lo === hi ? lo : `${lo}:${hi}`))];
}

function listAt(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) invalid(`${where} must be a list`);
  return value;
}

interface ConvertedPort {
  readonly protocol: string;
  /** Null: every port of the protocol. */
  readonly port: PortMatch | null;
}

/**
 * Calico's k8sPortToCalico: TCP by default; `port` as Calico reads it (numorstring.PortFromString:
 * digits are a number, anything else a port name), `endPort` making it a range.
 */
function convertPort(port: unknown, where: string): ConvertedPort {
  if (!isPlainObject(port) || !hasOnlyKeys(port, ['protocol', 'port', 'endPort']))
    invalid(`${where} may only hold protocol, port and endPort`);
  const protocol = port['protocol'] ?? 'TCP';
  if (typeof protocol !== 'string' || !PROTOCOLS.includes(protocol)) invalid(`${where}.protocol must be TCP, UDP or SCTP`);
  const given = port['port'];
  const end = port['endPort'];
  if (given === undefined || given === null) {
    if (end !== undefined && end !== null) invalid(`${where}.endPort needs a port`);
    return { protocol, port: null };
  }
  const number = typeof given === 'string' && /^\d{1,5}$/.test(given) ? Number(given) : given;
  if (typeof number === 'string') {
    if (end !== undefined && end !== null) invalid(`${where}.endPort cannot follow a named port`);
    return { protocol, port: number };
  }
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535)
    invalid(`${where}.port must be 1-65535 or a port name`);
  if (end === undefined || end === null) return { protocol, port: number };
  if (typeof end !== 'number' || !Number.isInteger(end) || end < number || end > 65535)
    invalid(`${where}.endPort must be a port at or above port`);
  return { protocol, port: end === number ? number : `${number}:${end}` };
}

const PEER_KEYS: readonly string[] = ['podSelector', 'namespaceSelector', 'ipBlock'];

/**
 * Calico's k8sPeerToCalicoFields. A peer that is not an ipBlock always selects pods: a missing
 * podSelector is `projectcalico.org/orchestrator == 'k8s'` all the same, so a namespaceSelector
 * alone never matches a network set or a host endpoint. A missing (or null) namespaceSelector
 * means the policy's own namespace; an empty one every namespace (`all()`).
 * The Kubernetes API server rejects a peer with none of the three fields; Calico's validator
 * converts one in a StagedKubernetesNetworkPolicy like any other: the pods of the namespace.
 */
function convertPeer(peer: unknown, where: string, staged: boolean): PlainObject {
  if (!isPlainObject(peer) || !hasOnlyKeys(peer, PEER_KEYS)) invalid(`${where} may only hold podSelector, namespaceSelector or ipBlock`);
  const given = (key: string): boolean => peer[key] !== undefined && peer[key] !== null;
  if (!staged && !PEER_KEYS.some(given)) invalid(`${where} must hold podSelector, namespaceSelector or ipBlock`);
  if (given('ipBlock')) {
    if (given('podSelector') || given('namespaceSelector')) invalid(`${where}: ipBlock cannot be combined with selectors`);
    const block = peer['ipBlock'];
    if (!isPlainObject(block) || !hasOnlyKeys(block, ['cidr', 'except']) || !isCidrText(block['cidr']))
      invalid(`${where}.ipBlock.cidr must be a CIDR`);
    const except = listAt(block['except'], `${where}.ipBlock.except`);
    if (!except.every(isCidrText)) invalid(`${where}.ipBlock.except must be CIDRs`);
    return except.length === 0 ? { nets: [block['cidr']] } : { nets: [block['cidr']], notNets: except };
  }
  const fields: PlainObject = { selector: labelSelector(peer['podSelector'] ?? null, `${where}.podSelector`, true) };
  if (given('namespaceSelector'))
    fields['namespaceSelector'] = labelSelector(peer['namespaceSelector'], `${where}.namespaceSelector`, false);
  return fields;
}

/** An address with a prefix length (Kubernetes' ValidateCIDR); the address itself is checked where the nets are compiled. */
function isCidrText(value: unknown): value is string {
  return typeof value === 'string' && /^[^/]+\/\d{1,3}$/.test(value);
}

/**
 * A Kubernetes LabelSelector as Calico selector text. Pod selectors also require the Kubernetes
 * orchestrator label; an empty namespace selector is every namespace (`all()`).
 */
function labelSelector(value: unknown, where: string, pods: boolean): string {
  if (value === null) value = {};
  if (!isPlainObject(value) || !hasOnlyKeys(value, ['matchLabels', 'matchExpressions'])) invalid(`${where} must be a label selector`);
  const exprs: SelectorNode[] = pods ? [ORCHESTRATOR] : [];
  const matchLabels = value['matchLabels'] ?? {};
  if (!isPlainObject(matchLabels)) invalid(`${where}.matchLabels must be a mapping`);
  for (const key of Object.keys(matchLabels).sort()) {
    const v = matchLabels[key];
    if (!isLabelKey(key) || typeof v !== 'string' || !isLabelValue(v))
      invalid(`${where}.matchLabels: ${JSON.stringify(key)} is not a valid label`);
    exprs.push({ op: '==', key, value: v });
  }
  for (const [i, e] of listAt(value['matchExpressions'], `${where}.matchExpressions`).entries()) {
    const at = `${where}.matchExpressions[${i}]`;
    if (!isPlainObject(e) || typeof e['key'] !== 'string' || !isLabelKey(e['key'])) invalid(`${at}.key must be a label key`);
    const key = e['key'];
    const values = listAt(e['values'], `${at}.values`);
    if (!values.every((v) => typeof v === 'string' && isLabelValue(v))) invalid(`${at}.values must be label values`);
    switch (e['operator']) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) invalid(`${at}: ${String(e['operator'])} needs values`);
        exprs.push({ op: e['operator'] === 'In' ? 'in' : 'not in', key, values: values as string[] });
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) invalid(`${at}: ${String(e['operator'])} takes no values`);
        exprs.push(e['operator'] === 'Exists' ? { op: 'has', key } : { op: 'not', expr: { op: 'has', key } });
        break;
      default:
        invalid(`${at}.operator must be In, NotIn, Exists or DoesNotExist`);
    }
  }
  if (exprs.length === 0) return 'all()';
  return formatSelector(exprs.length === 1 ? exprs[0]! : { op: 'and', exprs });
}
