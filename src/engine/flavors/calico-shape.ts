// Recognises the rule shapes the Calico flavours render, whoever wrote them, so that a person's
// rule of the same shape is extended instead of duplicated, and our own rules are read back as
// the engine's memory. Reads typed rules (CalicoRule, parsed at the boundary).

import { NAME_LABEL } from '../../calico/labels.ts';
import { isDnsLabel, isDnsSubdomain, isLabelKey, isLabelValue } from '../../calico/names.ts';
import { ALL_IPV6, PRIVATE_NETS, PRIVATE_NETS_V6 } from '../../calico/nets.ts';
import { EVERY_PORT_BUT_ZERO } from '../../calico/ports.ts';
import { type Protocol, parseProtocol } from '../../calico/protocol.ts';
import { equalityValues, labelsOfSelector, parseSelector, type Selector, type SelectorNode } from '../../calico/selector.ts';
import type { CalicoRule, EntityRule, PortMatch } from '../../calico/types.ts';
import { memoize } from '../../util/memo.ts';
import { hasOnlyKeys } from '../../util/plain.ts';
import type { Category, Direction, Peer } from '../model.ts';
import { ANNOTATIONS } from '../provenance.ts';

/**
 * What earlier releases of this project selected network sets by: labels open-source Calico never
 * gives a set, so such a rule never matched (kept to recognise and migrate those rules).
 */
const LEGACY_KIND_LABEL = 'projectcalico.org/kind';
const LEGACY_NETWORK_SET_KIND = 'NetworkSet';

/**
 * `current`: the form this release renders; `legacy`: the form of an earlier release that allows
 * other traffic than its label says (a Public rule with ports only; a network set by name and
 * kind labels); `approximated`: a network set reached by addresses (its labels unknown, or too many to select by).
 */
type ShapeForm = 'current' | 'legacy' | 'approximated';

export interface CalicoShape {
  readonly action: 'Allow' | 'Pass';
  /** Null when the rule matches any protocol. */
  readonly protocol: Protocol | null;
  readonly category: Category;
  /** One peer, or several when peers were merged (or the domains of a Domains rule). */
  readonly peers: readonly Peer[];
  readonly ports: readonly PortMatch[];
  readonly annotations: Readonly<Record<string, string>>;
  readonly form: ShapeForm;
}

/** The two ends of a rule from the protected namespace's point of view. */
export function ruleEnds(rule: CalicoRule, direction: Direction): { local: EntityRule | undefined; remote: EntityRule | undefined } {
  return direction === 'egress' ? { local: rule.source, remote: rule.destination } : { local: rule.destination, remote: rule.source };
}

export function readCalicoShape(rule: CalicoRule, direction: Direction, namespace: string): CalicoShape | null {
  const { action, notProtocol, ipVersion, icmp, notICMP, http } = rule;
  if (notProtocol !== undefined || ipVersion !== undefined || icmp !== undefined || notICMP !== undefined || http !== undefined)
    return null;
  if (action !== 'Allow' && action !== 'Pass') return null;
  let protocol: Protocol | null = null;
  if (rule.protocol !== undefined) {
    protocol = parseProtocol(rule.protocol);
    if (protocol === null) return null;
  }
  const ports = destinationPorts(rule.destination ?? {});
  if (ports === null) return null;

  const { local, remote } = ruleEnds(rule, direction);
  // The local end must be the whole namespace: nothing but destination ports on ingress.
  if (local !== undefined && !hasOnlyKeys(local, direction === 'ingress' ? ['ports', 'notPorts'] : [])) return null;
  const { ports: _ports, notPorts: _notPorts, ...remoteMatch } = remote ?? {};
  const match = direction === 'egress' ? remoteMatch : (remote ?? {});

  const annotations = rule.metadata?.annotations ?? {};
  // Our network-set rules say which sets they reach: the selector (labels) or nets cannot.
  const sets = annotations[ANNOTATIONS.category] === 'NetworkSet' ? annotatedNetworkSets(annotations[ANNOTATIONS.peer], match) : null;
  if (sets !== null) return { action, protocol, category: 'NetworkSet', peers: sets.peers, ports, annotations, form: sets.form };
  const read = readRemote(match, direction, namespace);
  if (read === null) return null;
  const { peers, form } = read;
  return { action, protocol, category: peers[0]!.category, peers, ports, annotations, form };
}

/**
 * The destination ports a rule we render matches: `ports`, or port 0 alone as `notPorts` of every
 * other port (EVERY_PORT_BUT_ZERO); null for anything else.
 */
function destinationPorts({ ports, notPorts }: EntityRule): readonly PortMatch[] | null {
  if (notPorts !== undefined) {
    return ports === undefined && notPorts.length === 1 && notPorts[0] === EVERY_PORT_BUT_ZERO ? [0] : null;
  }
  return ports ?? [];
}

/** Network-set peers named by our `peer` annotation, when the remote side has a shape we render for them. */
function annotatedNetworkSets(annotation: string | undefined, remote: EntityRule): { peers: Peer[]; form: ShapeForm } | null {
  if (annotation === undefined) return null;
  const peers: Peer[] = [];
  for (const key of annotation.split(', ')) {
    const global = /^globalnetworkset:(.+)$/.exec(key);
    const namespaced = /^networkset:([^/]+)\/(.+)$/.exec(key);
    if (global !== null && isDnsSubdomain(global[1]!)) peers.push({ category: 'NetworkSet', name: global[1]!, namespace: null });
    else if (namespaced !== null && isDnsLabel(namespaced[1]!) && isDnsSubdomain(namespaced[2]!)) {
      peers.push({ category: 'NetworkSet', name: namespaced[2]!, namespace: namespaced[1]! });
    } else return null;
  }
  if (peers.length === 0) return null;
  const keys = Object.keys(remote).sort().join(',');
  switch (keys) {
    case 'selector':
    case 'namespaceSelector,selector': {
      const selector = parsed(remote.selector);
      if (selector === null) return null;
      return { peers, form: isLegacyNetworkSetSelector(selector) ? 'legacy' : 'current' };
    }
    case '':
    case 'nets':
    case 'notNets':
      return { peers, form: 'approximated' };
    default:
      return null;
  }
}

function isLegacyNetworkSetSelector(selector: SelectorNode): boolean {
  return selector.op === 'and' && selector.exprs.some((e) => equalityValues(e, LEGACY_KIND_LABEL)?.[0] === LEGACY_NETWORK_SET_KIND);
}

function readRemote(remote: EntityRule, direction: Direction, namespace: string): { peers: Peer[]; form: ShapeForm } | null {
  const current = (peers: Peer[] | null) => (peers === null ? null : { peers, form: 'current' as const });
  const keys = Object.keys(remote).sort().join(',');
  switch (keys) {
    case '':
      // Any address: what earlier releases wrote for public traffic.
      return { peers: [{ category: 'Public' }], form: 'legacy' };
    case 'notNets':
      return current(sameNets(remote.notNets!, PRIVATE_NETS) ? [{ category: 'Public' }] : null);
    case 'nets': {
      const nets = remote.nets!;
      if (sameNets(nets, PRIVATE_NETS)) return current([{ category: 'Private' }]);
      if (sameNets(nets, PRIVATE_NETS_V6)) return current([{ category: 'Private', ipv6: true }]);
      return current(sameNets(nets, [ALL_IPV6]) ? [{ category: 'Public', ipv6: true }] : null);
    }
    case 'namespaceSelector': {
      const names = selectorValues(remote.namespaceSelector, NAME_LABEL);
      return current(names?.every(isDnsLabel) ? names.map((n) => ({ category: 'Namespace', namespace: n })) : null);
    }
    case 'selector':
    case 'namespaceSelector,selector': {
      const legacy = readLegacyNetworkSets(remote, namespace);
      return legacy !== null ? { peers: legacy, form: 'legacy' } : current(readPods(remote, namespace));
    }
    case 'services': {
      if (direction !== 'egress') return null;
      const { name, namespace: ns = namespace } = remote.services!;
      return current(isDnsLabel(name) && isDnsLabel(ns) ? [{ category: 'Service', name, namespace: ns }] : null);
    }
    case 'domains': {
      const domains = remote.domains!;
      if (direction !== 'egress' || domains.length === 0) return null;
      return current(domains.map((domain) => ({ category: 'Domains', domain })));
    }
    default:
      return null;
  }
}

function sameNets(nets: readonly string[], list: readonly string[]): boolean {
  return nets.length === list.length && list.every((n) => nets.includes(n));
}

/** `projectcalico.org/name in {...} && projectcalico.org/kind == 'NetworkSet'`, global or namespaced (earlier releases' form). */
function readLegacyNetworkSets(remote: EntityRule, namespace: string): Peer[] | null {
  const selector = parsed(remote.selector);
  if (selector === null || selector.op !== 'and' || selector.exprs.length !== 2) return null;
  let names: readonly string[] | null = null;
  let isNetworkSet = false;
  for (const expr of selector.exprs) {
    const kind = equalityValues(expr, LEGACY_KIND_LABEL);
    if (kind && kind.length === 1 && kind[0] === LEGACY_NETWORK_SET_KIND) isNetworkSet = true;
    else names = equalityValues(expr, NAME_LABEL) ?? names;
  }
  if (!isNetworkSet || names === null || !names.every(isDnsSubdomain)) return null;

  let setNamespace: string | null = namespace;
  if (remote.namespaceSelector !== undefined) {
    const nsSelector = parsed(remote.namespaceSelector);
    if (nsSelector?.op === 'global') setNamespace = null;
    else {
      const ns = nsSelector && equalityValues(nsSelector, NAME_LABEL);
      if (ns?.length !== 1 || !isDnsLabel(ns[0]!)) return null;
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
function readPods(remote: EntityRule, namespace: string): Peer[] | null {
  const selector = parsed(remote.selector);
  if (selector === null) return null;
  const sets = (selector.op === 'or' ? selector.exprs : [selector]).map(labelsOfSelector);
  const valid = (labels: Record<string, string> | null): labels is Record<string, string> =>
    labels !== null && Object.entries(labels).every(([k, v]) => isLabelKey(k) && !k.startsWith('projectcalico.org/') && isLabelValue(v));
  if (!sets.every(valid)) return null;
  let podNamespace = namespace;
  if (remote.namespaceSelector !== undefined) {
    const ns = selectorValues(remote.namespaceSelector, NAME_LABEL);
    if (ns?.length !== 1 || !isDnsLabel(ns[0]!)) return null;
    podNamespace = ns[0]!;
  }
  return sets.map((pods) => ({ category: 'Namespace', namespace: podNamespace, pods }));
}

function selectorValues(text: string | undefined, key: string): readonly string[] | null {
  const ast = parsed(text);
  return ast === null ? null : equalityValues(ast, key);
}

/** A rule's selector text, parsed; null when it is not a valid selector. */
export function parsed(text: unknown): SelectorNode | null {
  return typeof text === 'string' ? (parsedText(text)?.ast ?? null) : null;
}

/** Rules are read again for every observed atom: each selector text is parsed once (a Selector is frozen). */
const parsedText = memoize((text): Selector | null => {
  try {
    return parseSelector(text);
  } catch {
    return null;
  }
});
