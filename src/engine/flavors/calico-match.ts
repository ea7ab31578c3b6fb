// Would an existing Calico rule decide traffic of an observed atom? Used so that traffic a policy
// already handles (by any rule, ours or a person's) is never added again. The answer must never
// be a false "yes": where a rule depends on something the engine cannot know (pod labels, pod IPs,
// HTTP paths, labels of namespaces without cluster context), the answer is "no", and at worst a
// redundant rule is proposed.

import { cidrContains, parseCidr, PRIVATE_NETS, PRIVATE_NETS_V6 } from '../../calico/nets.ts';
import { portMatchCovers, portRange } from '../../calico/ports.ts';
import { parseProtocol } from '../../calico/protocol.ts';
import { selectorKeys, type SelectorNode, parseSelector } from '../../calico/selector.ts';
import { isPlainObject, type PlainObject } from '../../util/plain.ts';
import type { Peer } from '../model.ts';
import type { ObservedAtom } from '../model.ts';
import type { RuleContext } from './flavor.ts';
import { KIND_LABEL, NAME_LABEL, NETWORK_SET_KIND, parsed, ruleEnds } from './calico-shape.ts';

const DECIDING_ACTIONS: ReadonlySet<unknown> = new Set(['Allow', 'Deny', 'Pass']);
/** Rule fields that narrow a match in ways flow aggregates cannot tell. */
const UNKNOWABLE_RULE_FIELDS = ['http', 'icmp', 'notICMP', 'ipVersion'];
const NAMESPACE_LABEL = 'projectcalico.org/namespace';
const NETWORK_SET_LABEL_KEYS: ReadonlySet<string> = new Set([NAME_LABEL, KIND_LABEL, NAMESPACE_LABEL]);

export function calicoRuleMatches(rule: unknown, observed: ObservedAtom, ctx: RuleContext): boolean {
  if (!isPlainObject(rule) || !DECIDING_ACTIONS.has(rule['action'])) return false;
  if (UNKNOWABLE_RULE_FIELDS.some((f) => rule[f] !== undefined)) return false;
  const { atom } = observed;
  if (rule['protocol'] !== undefined && parseProtocol(rule['protocol']) !== atom.protocol) return false;
  if (rule['notProtocol'] !== undefined && parseProtocol(rule['notProtocol']) === atom.protocol) return false;

  const destination = rule['destination'] ?? {};
  if (!isPlainObject(destination) || !portsMatch(destination, atom.port)) return false;

  const { local, remote } = ruleEnds(rule, ctx.direction);
  if (!localMatchesWholeNamespace(local ?? {}, ctx)) return false;
  return remoteMatches(remote ?? {}, atom.peer, ctx);
}

function portsMatch(destination: PlainObject, port: number | null): boolean {
  const ports = destination['ports'];
  const notPorts = destination['notPorts'];
  // A named port (or anything not numeric) in notPorts may be the very port: cannot tell.
  if (Array.isArray(notPorts) && notPorts.length > 0 && (port === null || notPorts.some((p) => portRange(p) === null || portMatchCovers(p, port)))) {
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

function remoteMatches(remote: unknown, peer: Peer, ctx: RuleContext): boolean {
  if (!isPlainObject(remote)) return false;
  // On egress the remote end is the destination, whose ports were checked; on ingress it is the
  // source, and source ports are not known per atom.
  if (ctx.direction === 'ingress' && (remote['ports'] !== undefined || remote['notPorts'] !== undefined)) return false;
  const { ports: _p, notPorts: _np, ...entity } = remote;
  if (entity['notNets'] !== undefined || entity['notSelector'] !== undefined || entity['serviceAccounts'] !== undefined) {
    return false;
  }
  if (entity['services'] !== undefined) return serviceMatches(entity['services'], peer, ctx);
  if (entity['domains'] !== undefined && !domainsMatch(entity['domains'], peer)) return false;
  if (entity['nets'] !== undefined && !netsMatch(entity['nets'], peer)) return false;

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
      const set: Record<string, string> = { [NAME_LABEL]: peer.name, [KIND_LABEL]: NETWORK_SET_KIND };
      if (peer.namespace !== null) set[NAMESPACE_LABEL] = peer.namespace;
      if (selector === undefined || !selectorDecides(selector, NETWORK_SET_LABEL_KEYS, set, false)) return false;
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
  const ast: SelectorNode | null = parsed(text);
  if (ast === null) return false;
  if (known !== null && [...selectorKeys(ast)].some((k) => !known.has(k))) return false;
  return parseSelector(text as string).matches(labels, { global });
}

function serviceMatches(services: unknown, peer: Peer, ctx: RuleContext): boolean {
  if (!isPlainObject(services) || peer.category !== 'Service') return false;
  return services['name'] === peer.name && (services['namespace'] ?? ctx.namespace) === peer.namespace;
}

/** A wildcard is taken to cover one label only (`*.a.com` covers `x.a.com`): never a false "covered". */
function domainsMatch(domains: unknown, peer: Peer): boolean {
  if (!Array.isArray(domains) || peer.category !== 'Domains') return false;
  const parent = peer.domain.slice(peer.domain.indexOf('.') + 1);
  return domains.some((d) => typeof d === 'string' && (d === peer.domain || d === `*.${parent}`));
}

const ANY_V4 = parseCidr('0.0.0.0/0')!;
const ANY_V6 = parseCidr('::/0')!;
const PRIVATE = PRIVATE_NETS.map((n) => parseCidr(n)!);
const PRIVATE_V6 = PRIVATE_NETS_V6.map((n) => parseCidr(n)!);

function netsMatch(nets: unknown, peer: Peer): boolean {
  if (!Array.isArray(nets)) return false;
  const cidrs = nets.map((n) => (typeof n === 'string' ? parseCidr(n) : null)).filter((c) => c !== null);
  const covers = (target: typeof ANY_V4) => cidrs.some((c) => cidrContains(c, target));
  switch (peer.category) {
    case 'Private':
      return (peer.ipv6 ? PRIVATE_V6 : PRIVATE).every(covers);
    case 'Public':
    case 'Domains':
    case 'Service':
      return covers(ANY_V4) && covers(ANY_V6);
    default:
      // Pod and network-set addresses are not known here.
      return false;
  }
}
