// Would an existing Calico rule decide traffic of an observed atom? Used so that traffic a policy
// already handles (by any rule, ours or a person's) is never added again. The answer must never
// be a false "yes": where a rule depends on something the engine cannot know (pod labels, pod IPs,
// HTTP paths, labels of namespaces without cluster context, the labels of a network set nobody
// told us), the answer is "no", and at worst a redundant rule is proposed.
//
// IP families follow Felix (felix/rules/policy.go FilterRuleToIPVersion): a rule applies to a
// family only if its ipVersion allows it and each of its nets/notNets lists that is set has a CIDR
// of that family; the lists then match with that family's CIDRs only. A rule decides an atom only
// if it does so in every family the atom's traffic may have.

import { NAMESPACE_LABEL } from '../../calico/labels.ts';
import { ALL_IPV4, ALL_IPV6, type Cidr, cidrContains, isIPv6Cidr, PRIVATE_NETS, PRIVATE_NETS_V6, parseCidr } from '../../calico/nets.ts';
import { portMatchCovers, portRange } from '../../calico/ports.ts';
import { parseProtocol } from '../../calico/protocol.ts';
import { selectorKeys } from '../../calico/selector.ts';
import type { IpFamily } from '../../config/recommendation-config.ts';
import { isPlainObject, type PlainObject } from '../../util/plain.ts';
import type { ObservedAtom, Peer } from '../model.ts';
import type { NetworkSetDirectory } from '../network-sets.ts';
import { setLabels } from './calico-network-sets.ts';
import { parsed, parsedSelector, ruleEnds } from './calico-shape.ts';
import type { RuleContext } from './flavor.ts';

type Family = 4 | 6;

const DECIDING_ACTIONS: ReadonlySet<unknown> = new Set(['Allow', 'Deny', 'Pass']);
/** Rule fields that narrow a match in ways flow aggregates cannot tell. */
const UNKNOWABLE_RULE_FIELDS = ['http', 'icmp', 'notICMP'];
const NET_FIELDS = ['nets', 'notNets'] as const;

export interface CalicoMatchOptions {
  readonly ipFamilies: readonly IpFamily[];
  readonly networkSets: NetworkSetDirectory;
}

export function calicoRuleMatcher(options: CalicoMatchOptions): (rule: unknown, observed: ObservedAtom, ctx: RuleContext) => boolean {
  const clusterFamilies: Family[] = options.ipFamilies.map((f) => (f === 'IPv6' ? 6 : 4));
  return (rule, observed, ctx) => {
    if (!isPlainObject(rule) || !DECIDING_ACTIONS.has(rule['action'])) return false;
    if (UNKNOWABLE_RULE_FIELDS.some((f) => rule[f] !== undefined)) return false;
    const { atom } = observed;
    if (rule['protocol'] !== undefined && parseProtocol(rule['protocol']) !== atom.protocol) return false;
    if (rule['notProtocol'] !== undefined && parseProtocol(rule['notProtocol']) === atom.protocol) return false;

    const destination = rule['destination'] ?? {};
    if (!isPlainObject(destination) || !portsMatch(destination, atom.port)) return false;

    const { local, remote } = ruleEnds(rule, ctx.direction);
    if (!localMatchesWholeNamespace(local ?? {}, ctx)) return false;
    return familiesOf(atom.peer, clusterFamilies).every(
      (family) => appliesTo(rule, family) && remoteMatches(remote ?? {}, atom.peer, family, ctx, options.networkSets),
    );
  };
}

/** The families the atom's traffic may have: its address's, or any of the cluster's. */
function familiesOf(peer: Peer, cluster: readonly Family[]): Family[] {
  if (peer.category === 'Public' || peer.category === 'Private') return [peer.ipv6 ? 6 : 4];
  return [...cluster];
}

/** Felix renders the rule for this family (FilterRuleToIPVersion). */
function appliesTo(rule: PlainObject, family: Family): boolean {
  const version = rule['ipVersion'];
  if (version !== undefined && version !== family) return false;
  for (const side of ['source', 'destination']) {
    const entity = rule[side];
    if (!isPlainObject(entity)) continue;
    for (const field of NET_FIELDS) {
      const list = entity[field];
      if (Array.isArray(list) && list.length > 0 && !list.some((n) => typeof n === 'string' && isIPv6Cidr(n) === (family === 6)))
        return false;
    }
  }
  return true;
}

function portsMatch(destination: PlainObject, port: number | null): boolean {
  const ports = destination['ports'];
  const notPorts = destination['notPorts'];
  // A named port (or anything not numeric) in notPorts may be the very port: cannot tell.
  if (
    Array.isArray(notPorts) &&
    notPorts.length > 0 &&
    (port === null || notPorts.some((p) => portRange(p) === null || portMatchCovers(p, port)))
  ) {
    return false;
  }
  if (!Array.isArray(ports) || ports.length === 0) return ports === undefined || Array.isArray(ports);
  return port !== null && ports.some((p) => portMatchCovers(p, port));
}

/** The rule's own-side match must select every pod of the namespace. */
function localMatchesWholeNamespace(local: unknown, ctx: RuleContext): boolean {
  if (!isPlainObject(local)) return false;
  for (const [key, value] of Object.entries(local)) {
    if (ctx.direction === 'ingress' && (key === 'ports' || key === 'notPorts')) continue;
    if (key === 'selector' && parsed(value)?.op === 'all') continue;
    if (key === 'namespaceSelector' && namespaceSelected(value, ctx.namespace, ctx)) continue;
    return false;
  }
  return true;
}

function remoteMatches(remote: unknown, peer: Peer, family: Family, ctx: RuleContext, networkSets: NetworkSetDirectory): boolean {
  if (!isPlainObject(remote)) return false;
  // On egress the remote end is the destination, whose ports were checked; on ingress it is the
  // source, and source ports are not known per atom.
  if (ctx.direction === 'ingress' && (remote['ports'] !== undefined || remote['notPorts'] !== undefined)) return false;
  const { ports: _p, notPorts: _np, ...entity } = remote;
  if (entity['notSelector'] !== undefined || entity['serviceAccounts'] !== undefined) return false;
  if (entity['services'] !== undefined) return serviceMatches(entity['services'], peer, ctx);
  if (entity['domains'] !== undefined && !domainsMatch(entity['domains'], peer)) return false;
  const nets = familyNets(entity['nets'], family);
  const notNets = familyNets(entity['notNets'], family);
  if (nets !== null && !addressesWithin(peer, family, nets, networkSets)) return false;
  if (notNets !== null && !addressesOutside(peer, family, notNets, networkSets)) return false;

  const selector = entity['selector'];
  const namespaceSelector = entity['namespaceSelector'];
  if (selector === undefined && namespaceSelector === undefined) return true;
  switch (peer.category) {
    case 'Namespace':
      // Pod labels are unknown at namespace level: only `all()` certainly selects every pod. A
      // workload's pods (microsegmentation) are selected when the selector decides on their
      // stable labels alone.
      if (selector !== undefined && parsed(selector)?.op !== 'all') {
        if (peer.pods === undefined || !selectorDecides(selector, new Set(Object.keys(peer.pods)), peer.pods, false)) return false;
      }
      return namespaceSelector === undefined ? peer.namespace === ctx.namespace : namespaceSelected(namespaceSelector, peer.namespace, ctx);
    case 'NetworkSet': {
      // A set has its own labels and, when namespaced, the namespace label: nothing else.
      const own = setLabels(peer, networkSets);
      if (own === null) return false;
      const labels: Record<string, string> = peer.namespace === null ? { ...own } : { ...own, [NAMESPACE_LABEL]: peer.namespace };
      if (selector !== undefined && !selectorDecides(selector, null, labels, false)) return false;
      // Calico reads all() in a namespaceSelector as "any namespace": only global() selects global sets.
      if (peer.namespace === null) return namespaceSelector !== undefined && parsed(namespaceSelector)?.op === 'global';
      return namespaceSelector === undefined ? peer.namespace === ctx.namespace : namespaceSelected(namespaceSelector, peer.namespace, ctx);
    }
    default:
      // Selectors match endpoints and network sets, never arbitrary addresses or domains.
      return false;
  }
}

function namespaceSelected(text: unknown, namespace: string, ctx: RuleContext): boolean {
  const labels = ctx.namespaceLabels(namespace);
  return selectorDecides(text, ctx.namespaceLabelsComplete ? null : new Set(Object.keys(labels)), labels, false);
}

/**
 * Evaluates a selector only when every label it mentions is known (`known` null = all labels are
 * known); otherwise the honest answer is "cannot tell", which counts as no match.
 */
function selectorDecides(text: unknown, known: ReadonlySet<string> | null, labels: Record<string, string>, global: boolean): boolean {
  const selector = parsedSelector(text);
  if (selector === null) return false;
  if (known !== null && [...selectorKeys(selector.ast)].some((k) => !known.has(k))) return false;
  return selector.matches(labels, { global });
}

function serviceMatches(services: unknown, peer: Peer, ctx: RuleContext): boolean {
  if (!isPlainObject(services) || peer.category !== 'Service') return false;
  return services['name'] === peer.name && (services['namespace'] ?? ctx.namespace) === peer.namespace;
}

/** A wildcard is taken to cover one label only (`*.a.com` covers `x.a.com`): never a false "covered". */
function domainsMatch(domains: unknown, peer: Peer): boolean {
  if (!Array.isArray(domains) || peer.category !== 'Domains') return false;
  const parent = peer.domain.slice(peer.domain.indexOf('.') + 1);
  return domains.some((d) => d === peer.domain || d === `*.${parent}`);
}

const PRIVATE_V4 = PRIVATE_NETS.map((n) => parseCidr(n)!);
const PRIVATE_V6 = PRIVATE_NETS_V6.map((n) => parseCidr(n)!);
const ANY: Readonly<Record<Family, Cidr>> = { 4: parseCidr(ALL_IPV4)!, 6: parseCidr(ALL_IPV6)! };

/** The list's CIDRs of one family; null when the list is not set (an unparseable entry: empty, so nothing is certain). */
function familyNets(list: unknown, family: Family): Cidr[] | null {
  if (!Array.isArray(list) || list.length === 0) return null;
  const out: Cidr[] = [];
  for (const text of list) {
    const cidr = typeof text === 'string' ? parseCidr(text) : null;
    if (cidr === null) return [];
    if (cidr.version === family) out.push(cidr);
  }
  return out;
}

/** The ranges the peer's addresses lie in, in one family; null when unknown (pods, unknown sets). */
function peerRanges(peer: Peer, family: Family, networkSets: NetworkSetDirectory): { ranges: Cidr[]; exceptPrivate: boolean } | null {
  switch (peer.category) {
    case 'Private':
      return { ranges: family === 6 ? PRIVATE_V6 : PRIVATE_V4, exceptPrivate: false };
    case 'Public':
    case 'Domains':
    case 'Service':
      // Felix's `pub`: IPv4 outside RFC 1918; every IPv6 address.
      return { ranges: [ANY[family]], exceptPrivate: family === 4 };
    case 'NetworkSet': {
      const nets = networkSets.get(peer.namespace, peer.name)?.nets;
      if (!nets || nets.length === 0) return null;
      return { ranges: nets.map((n) => parseCidr(n)).filter((c): c is Cidr => c !== null && c.version === family), exceptPrivate: false };
    }
    default:
      return null;
  }
}

/** Every address the peer may have in this family is in `nets`. */
function addressesWithin(peer: Peer, family: Family, nets: readonly Cidr[], networkSets: NetworkSetDirectory): boolean {
  const space = peerRanges(peer, family, networkSets);
  if (space === null) return false;
  return space.ranges.every((r) => nets.some((n) => cidrContains(n, r)));
}

/** No address the peer may have in this family is in `notNets`. */
function addressesOutside(peer: Peer, family: Family, notNets: readonly Cidr[], networkSets: NetworkSetDirectory): boolean {
  const space = peerRanges(peer, family, networkSets);
  if (space === null) return false;
  const excluded = (n: Cidr) => space.exceptPrivate && PRIVATE_V4.some((p) => cidrContains(p, n));
  const overlaps = (a: Cidr, b: Cidr) => cidrContains(a, b) || cidrContains(b, a);
  return notNets.every((n) => excluded(n) || !space.ranges.some((r) => overlaps(n, r)));
}
