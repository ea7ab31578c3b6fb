// Recognises the rule shapes the Calico flavours render, whoever wrote them, so that a person's
// rule of the same shape is extended instead of duplicated, and our own rules are read back as
// the engine's memory.

import { isDnsLabel, isDnsSubdomain, isLabelKey, isLabelValue } from '../../calico/names.ts';
import { PRIVATE_NETS, PRIVATE_NETS_V6 } from '../../calico/nets.ts';
import { parseProtocol, type Protocol } from '../../calico/protocol.ts';
import { equalityValues, labelsOfSelector, parseSelector, type SelectorNode } from '../../calico/selector.ts';
import type { PortMatch } from '../../calico/types.ts';
import { hasOnlyKeys, isPlainObject, type PlainObject } from '../../util/plain.ts';
import type { Category, Direction, Peer } from '../model.ts';

export const NAME_LABEL = 'projectcalico.org/name';
export const KIND_LABEL = 'projectcalico.org/kind';
export const NETWORK_SET_KIND = 'NetworkSet';

export interface CalicoShape {
  readonly action: 'Allow' | 'Pass';
  /** Null when the rule matches any protocol. */
  readonly protocol: Protocol | null;
  readonly category: Category;
  /** One peer, or several when peers were merged (or the domains of a Domains rule). */
  readonly peers: readonly Peer[];
  readonly ports: readonly PortMatch[];
  readonly annotations: Readonly<Record<string, string>>;
}

/** The two ends of a rule from the protected namespace's point of view. */
export function ruleEnds(rule: PlainObject, direction: Direction): { local: unknown; remote: unknown } {
  return direction === 'egress'
    ? { local: rule['source'], remote: rule['destination'] }
    : { local: rule['destination'], remote: rule['source'] };
}

export function readCalicoShape(rule: unknown, direction: Direction, namespace: string): CalicoShape | null {
  if (!isPlainObject(rule) || !hasOnlyKeys(rule, ['action', 'protocol', 'source', 'destination', 'metadata'])) return null;
  const action = rule['action'];
  if (action !== 'Allow' && action !== 'Pass') return null;
  let protocol: Protocol | null = null;
  if (rule['protocol'] !== undefined) {
    protocol = parseProtocol(rule['protocol']);
    if (protocol === null) return null;
  }
  const destination = rule['destination'] ?? {};
  if (!isPlainObject(destination)) return null;
  const ports = destination['ports'] ?? [];
  if (!Array.isArray(ports) || !ports.every((p) => typeof p === 'number' || typeof p === 'string')) return null;

  const { local, remote } = ruleEnds(rule, direction);
  // The local end must be the whole namespace: nothing but destination ports on ingress.
  if (local !== undefined && !(isPlainObject(local) && hasOnlyKeys(local, direction === 'ingress' ? ['ports'] : []))) return null;
  const remoteEntity = remote ?? {};
  if (!isPlainObject(remoteEntity)) return null;
  const { ports: _ports, ...remoteMatch } = remoteEntity;
  const peers = readRemote(direction === 'egress' ? remoteMatch : remoteEntity, direction, namespace);
  if (peers === null) return null;

  const metadata = rule['metadata'];
  const raw = isPlainObject(metadata) && isPlainObject(metadata['annotations']) ? metadata['annotations'] : {};
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') annotations[k] = v;
  return { action, protocol, category: peers[0]!.category, peers, ports: ports as PortMatch[], annotations };
}

function readRemote(remote: PlainObject, direction: Direction, namespace: string): Peer[] | null {
  const keys = Object.keys(remote).sort().join(',');
  switch (keys) {
    case '':
      return [{ category: 'Public' }];
    case 'nets': {
      const nets = remote['nets'];
      const same = (list: readonly string[]) => Array.isArray(nets) && nets.length === list.length && list.every((n) => nets.includes(n));
      if (same(PRIVATE_NETS)) return [{ category: 'Private' }];
      return same(PRIVATE_NETS_V6) ? [{ category: 'Private', ipv6: true }] : null;
    }
    case 'namespaceSelector': {
      const names = selectorValues(remote['namespaceSelector'], NAME_LABEL);
      return names && names.every(isDnsLabel) ? names.map((n) => ({ category: 'Namespace', namespace: n })) : null;
    }
    case 'selector':
    case 'namespaceSelector,selector':
      return readNetworkSets(remote, namespace) ?? readPods(remote, namespace);
    case 'services': {
      const services = remote['services'];
      if (direction !== 'egress' || !isPlainObject(services) || !hasOnlyKeys(services, ['name', 'namespace'])) return null;
      const { name, namespace: ns = namespace } = services;
      return typeof name === 'string' && isDnsLabel(name) && typeof ns === 'string' && isDnsLabel(ns)
        ? [{ category: 'Service', name, namespace: ns }]
        : null;
    }
    case 'domains': {
      const domains = remote['domains'];
      if (direction !== 'egress' || !Array.isArray(domains) || domains.length === 0) return null;
      return domains.every((d) => typeof d === 'string') ? domains.map((domain: string) => ({ category: 'Domains', domain })) : null;
    }
    default:
      return null;
  }
}

/** `projectcalico.org/name in {...} && projectcalico.org/kind == 'NetworkSet'`, global or namespaced. */
function readNetworkSets(remote: PlainObject, namespace: string): Peer[] | null {
  const selector = parsed(remote['selector']);
  if (selector === null || selector.op !== 'and' || selector.exprs.length !== 2) return null;
  let names: readonly string[] | null = null;
  let isNetworkSet = false;
  for (const expr of selector.exprs) {
    const kind = equalityValues(expr, KIND_LABEL);
    if (kind && kind.length === 1 && kind[0] === NETWORK_SET_KIND) isNetworkSet = true;
    else names = equalityValues(expr, NAME_LABEL) ?? names;
  }
  if (!isNetworkSet || names === null || !names.every(isDnsSubdomain)) return null;

  let setNamespace: string | null = namespace;
  if (remote['namespaceSelector'] !== undefined) {
    const nsSelector = parsed(remote['namespaceSelector']);
    if (nsSelector?.op === 'global') setNamespace = null;
    else {
      const ns = nsSelector && equalityValues(nsSelector, NAME_LABEL);
      if (!ns || ns.length !== 1 || !isDnsLabel(ns[0]!)) return null;
      setNamespace = ns[0]!;
    }
  }
  return names.map((name) => ({ category: 'NetworkSet', name, namespace: setNamespace }));
}

/**
 * Pods of workloads by their labels (microsegmentation): `selector: app == 'web' && tier == 'x'`
 * (the policy's namespace), with `namespaceSelector: projectcalico.org/name == '<ns>'` for another
 * namespace; merged peers are `(...) || (...)`.
 */
function readPods(remote: PlainObject, namespace: string): Peer[] | null {
  const selector = parsed(remote['selector']);
  if (selector === null) return null;
  const sets = (selector.op === 'or' ? selector.exprs : [selector]).map(labelsOfSelector);
  const valid = (labels: Record<string, string> | null): labels is Record<string, string> =>
    labels !== null && Object.entries(labels).every(([k, v]) => isLabelKey(k) && !k.startsWith('projectcalico.org/') && isLabelValue(v));
  if (!sets.every(valid)) return null;
  let podNamespace = namespace;
  if (remote['namespaceSelector'] !== undefined) {
    const ns = selectorValues(remote['namespaceSelector'], NAME_LABEL);
    if (!ns || ns.length !== 1 || !isDnsLabel(ns[0]!)) return null;
    podNamespace = ns[0]!;
  }
  return sets.map((pods) => ({ category: 'Namespace', namespace: podNamespace, pods }));
}

function selectorValues(text: unknown, key: string): readonly string[] | null {
  const ast = parsed(text);
  return ast === null ? null : equalityValues(ast, key);
}

export function parsed(text: unknown): SelectorNode | null {
  if (typeof text !== 'string') return null;
  try {
    return parseSelector(text).ast;
  } catch {
    return null;
  }
}
