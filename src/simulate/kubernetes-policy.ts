// A Kubernetes NetworkPolicy (networking.k8s.io/v1), or Calico's StagedKubernetesNetworkPolicy,
// in the form Calico gives it: a namespaced policy `knp.default.<name>` in the `default` tier,
// order 1000, applying to the pods its podSelector picks (`projectcalico.org/orchestrator ==
// 'k8s'`), with one Allow rule per peer and port of each Kubernetes rule. What the tier's default
// Deny then does is Kubernetes' own semantics: once any policy selects a pod for a direction,
// only what some policy's rule allows gets through.

import { isLabelKey, isLabelValue } from '../calico/names.ts';
import { formatSelector, type SelectorNode } from '../calico/selector.ts';
import { hasOnlyKeys, isPlainObject, type PlainObject } from '../util/plain.ts';
import { KUBERNETES_POLICY_ORDER, PolicyValidationError, type Direction } from './policy-set.ts';

export interface ConvertedPolicy {
  /** A Calico NetworkPolicy (or StagedNetworkPolicy) object. */
  readonly value: PlainObject;
  /** Index of the Kubernetes rule each converted rule came from, per direction. */
  readonly ruleIndex: { readonly ingress: readonly number[]; readonly egress: readonly number[] };
  /** `default.knp.default.<name>`. */
  readonly calicoName: string;
}

const ORCHESTRATOR: SelectorNode = { op: '==', key: 'projectcalico.org/orchestrator', value: 'k8s' };
const PROTOCOLS: readonly string[] = ['TCP', 'UDP', 'SCTP'];

function invalid(message: string): never {
  throw new PolicyValidationError(message);
}

export function kubernetesPolicyAsCalico(value: PlainObject, staged: boolean): ConvertedPolicy {
  const metadata = isPlainObject(value['metadata']) ? value['metadata'] : invalid('metadata must be a mapping');
  const spec = isPlainObject(value['spec']) ? value['spec'] : invalid('spec must be a mapping');
  const podSelector = spec['podSelector'] ?? {};
  const selector = labelSelector(podSelector, 'spec.podSelector', true);

  const ingress = rulesOf(spec, 'ingress');
  const egress = rulesOf(spec, 'egress');
  let types = spec['policyTypes'];
  if (types === undefined || types === null || (Array.isArray(types) && types.length === 0)) {
    // Kubernetes' defaulting: always Ingress, Egress when there are egress rules.
    types = egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  }
  if (!Array.isArray(types) || !types.every((t) => t === 'Ingress' || t === 'Egress')) invalid('spec.policyTypes may only hold Ingress and Egress');

  const converted: Record<Direction, PlainObject[]> = { ingress: [], egress: [] };
  const ruleIndex: Record<Direction, number[]> = { ingress: [], egress: [] };
  for (const direction of ['ingress', 'egress'] as const) {
    const list = direction === 'ingress' ? ingress : egress;
    list.forEach((rule, i) => {
      for (const r of convertRule(rule, direction, `spec.${direction}[${i}]`)) {
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
  if (staged) calicoSpec['stagedAction'] = spec['stagedAction'] ?? 'Set';
  return {
    value: { apiVersion: 'projectcalico.org/v3', kind: staged ? 'StagedNetworkPolicy' : 'NetworkPolicy', metadata, spec: calicoSpec },
    ruleIndex,
    calicoName: `default.knp.default.${String(name)}`,
  };
}

function rulesOf(spec: PlainObject, direction: Direction): PlainObject[] {
  const list = spec[direction];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) invalid(`spec.${direction} must be a list`);
  return list.map((r, i) => (isPlainObject(r) ? r : invalid(`spec.${direction}[${i}] must be a mapping`)));
}

/**
 * One Calico rule per port and peer (an empty or missing list is one "anything"), as Calico
 * converts them, except that ipBlock peers without `except` share one rule with all their CIDRs:
 * the same Allow, and it lets an address known only by its range (a `pvt` network) be found in
 * their union rather than undecided against each CIDR alone.
 */
function convertRule(rule: PlainObject, direction: Direction, where: string): PlainObject[] {
  const peersKey = direction === 'ingress' ? 'from' : 'to';
  if (!hasOnlyKeys(rule, [peersKey, 'ports'])) invalid(`${where} may only hold ${peersKey} and ports`);
  const peers = listAt(rule[peersKey], `${where}.${peersKey}`);
  const ports = listAt(rule['ports'], `${where}.ports`);
  const converted = peers.map((peer, ei) => convertPeer(peer, `${where}.${peersKey}[${ei}]`));
  const plainNets = converted.filter((p) => hasOnlyKeys(p, ['nets']) && p['nets'] !== undefined);
  const entities: PlainObject[] = converted.filter((p) => !plainNets.includes(p));
  if (plainNets.length > 0) entities.unshift({ nets: plainNets.flatMap((p) => p['nets'] as unknown[]) });
  const out: PlainObject[] = [];
  for (const [pi, port] of (ports.length === 0 ? [undefined] : ports).entries()) {
    const portFields = port === undefined ? {} : convertPort(port, `${where}.ports[${pi}]`);
    for (const peerFields of entities.length === 0 ? [{}] : entities) {
      const calico: PlainObject = { action: 'Allow' };
      if (portFields.protocol !== undefined) calico['protocol'] = portFields.protocol;
      const destinationPorts = portFields.ports === undefined ? {} : { ports: portFields.ports };
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

function listAt(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) invalid(`${where} must be a list`);
  return value;
}

function convertPort(port: unknown, where: string): { protocol?: string; ports?: (number | string)[] } {
  if (!isPlainObject(port) || !hasOnlyKeys(port, ['protocol', 'port', 'endPort'])) invalid(`${where} may only hold protocol, port and endPort`);
  const protocol = port['protocol'] ?? 'TCP';
  if (typeof protocol !== 'string' || !PROTOCOLS.includes(protocol)) invalid(`${where}.protocol must be TCP, UDP or SCTP`);
  const number = port['port'];
  const end = port['endPort'];
  if (number === undefined || number === null) {
    if (end !== undefined && end !== null) invalid(`${where}.endPort needs a port`);
    return { protocol };
  }
  if (typeof number === 'string') {
    if (end !== undefined && end !== null) invalid(`${where}.endPort cannot follow a named port`);
    return { protocol, ports: [number] };
  }
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) invalid(`${where}.port must be 1-65535 or a port name`);
  if (end === undefined || end === null) return { protocol, ports: [number] };
  if (typeof end !== 'number' || !Number.isInteger(end) || end < number || end > 65535) invalid(`${where}.endPort must be a port at or above port`);
  return { protocol, ports: [`${number}:${end}`] };
}

function convertPeer(peer: unknown, where: string): PlainObject {
  if (!isPlainObject(peer) || !hasOnlyKeys(peer, ['podSelector', 'namespaceSelector', 'ipBlock']) || Object.keys(peer).length === 0) {
    invalid(`${where} must hold podSelector, namespaceSelector or ipBlock`);
  }
  const block = peer['ipBlock'];
  if (block !== undefined) {
    if (peer['podSelector'] !== undefined || peer['namespaceSelector'] !== undefined) invalid(`${where}: ipBlock cannot be combined with selectors`);
    if (!isPlainObject(block) || typeof block['cidr'] !== 'string') invalid(`${where}.ipBlock.cidr must be a string`);
    const except = listAt(block['except'], `${where}.ipBlock.except`);
    return except.length === 0 ? { nets: [block['cidr']] } : { nets: [block['cidr']], notNets: except };
  }
  const fields: PlainObject = {};
  if (peer['podSelector'] !== undefined) fields['selector'] = labelSelector(peer['podSelector'], `${where}.podSelector`, true);
  if (peer['namespaceSelector'] !== undefined) fields['namespaceSelector'] = labelSelector(peer['namespaceSelector'], `${where}.namespaceSelector`, false);
  return fields;
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
    if (!isLabelKey(key) || typeof v !== 'string' || !isLabelValue(v)) invalid(`${where}.matchLabels: ${JSON.stringify(key)} is not a valid label`);
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
