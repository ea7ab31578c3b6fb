// The Calico flavours: open-source Calico (`calico`, no domain rules) and Calico Enterprise
// (`calico-enterprise`, domain rules). Rules are rendered the way Calico's own engine renders
// them (see ../../../README.md, "How rules are built"), with provenance in rule annotations,
// except where that engine's rule would allow more than its label says: a Public rule allows
// exactly what Felix reports as public (`notNets` of the private ranges, not "any address"), and a
// network set is selected by its own labels (calico-network-sets.ts).

import { NAME_LABEL } from '../../calico/labels.ts';
import { MAX_PORTS, MAX_RULES_PER_DIRECTION, MAX_SELECTOR_CHARS } from '../../calico/limits.ts';
import { ALL_IPV6, PRIVATE_NETS, PRIVATE_NETS_V6 } from '../../calico/nets.ts';
import { comparePortMatches, EVERY_PORT_BUT_ZERO, portRange } from '../../calico/ports.ts';
import { type Protocol, protocolHasPorts, protocolName, protocolNumber } from '../../calico/protocol.ts';
import { type CalicoRelease, CURRENT_CALICO_RELEASE } from '../../calico/release.ts';
import { type Labels, selectorEquals, selectorIn, selectorOfLabelSets, selectorOfLabels } from '../../calico/selector.ts';
import {
  CALICO_API_VERSION,
  type CalicoRule,
  type EntityRule,
  type PortMatch,
  parseCalicoRule,
  type StagedNetworkPolicy,
} from '../../calico/types.ts';
import type { IpFamily } from '../../config/recommendation-config.ts';
import type { CalicoEdition } from '../../flows/source.ts';
import { compileCalicoRule } from '../../simulate/policy-set.ts';
import { chunk } from '../../util/chunk.ts';
import { isPlainObject, type PlainObject } from '../../util/plain.ts';
import { stagedNote } from '../enforce.ts';
import { publicPeers } from '../learn.ts';
import {
  type Category,
  categoryRank,
  compareStrings,
  type Evidence,
  mergeEvidence,
  type ObservedAtom,
  type Peer,
  peerKey,
  SAW_NO_IP,
} from '../model.ts';
import { namespacePolicyName, workloadPolicyName } from '../naming.ts';
import { type NetworkSetDirectory, NO_NETWORK_SETS } from '../network-sets.ts';
import { ANNOTATIONS, MAX_NOTED_DOMAINS } from '../provenance.ts';
import { labelRemote, setLabels, setTarget } from './calico-network-sets.ts';
import { type CalicoShape, readCalicoShape, ruleEnds } from './calico-shape.ts';
import { describeNets, describePeer, describePeers } from './describe-peer.ts';
import {
  madeRule,
  NEW_FILE_ORIGIN,
  type PolicyFlavor,
  type PolicyRule,
  type RuleContext,
  type RuleIdentity,
  type RuleSummary,
} from './flavor.ts';
import { ruleInterpreter } from './rule-decides.ts';

export interface CalicoFlavorOptions {
  /** Calico Enterprise: domain rules. */
  readonly enterprise: boolean;
  /** Where a flow record gives no address, public traffic is public in each of these. */
  readonly ipFamilies?: readonly IpFamily[];
  /** What is known of network sets (labels, nets), to select them. */
  readonly networkSets?: NetworkSetDirectory;
  /** The cluster's Calico release: how new policies are named. */
  readonly release?: CalicoRelease;
  /** Which Calico the flows came from, when known (domain rules exist only in Calico Enterprise). */
  readonly edition?: CalicoEdition;
}

export function calicoFlavor({
  enterprise,
  ipFamilies = ['IPv4'],
  networkSets = NO_NETWORK_SETS,
  release = CURRENT_CALICO_RELEASE,
  edition,
}: CalicoFlavorOptions): PolicyFlavor<CalicoRule> {
  // A direction's rules are read again for every observed atom; the engine never mutates a rule
  // (extend, annotate and reconcile return new objects), so each is read once per context.
  const shapes = new WeakMap<PolicyRule<CalicoRule>, Map<string, CalicoShape | null>>();
  const read = (rule: PolicyRule<CalicoRule>, ctx: RuleContext): CalicoShape | null => {
    if (rule.typed === null) return null;
    const key = `${ctx.direction}/${ctx.namespace}`;
    let byContext = shapes.get(rule);
    if (byContext === undefined) shapes.set(rule, (byContext = new Map()));
    let shape = byContext.get(key);
    if (shape === undefined) byContext.set(key, (shape = readCalicoShape(rule.typed, ctx.direction, ctx.namespace)));
    return shape;
  };

  /**
   * Our rules written by earlier releases of this project that allow something other than their
   * label says, in the form this release writes (null when the rule is current):
   * - a Public rule with ports only allowed any address, pods and private networks included: it
   *   becomes one rule per IP family for what Felix reports as public;
   * - a network-set rule selecting `projectcalico.org/name` and `projectcalico.org/kind` never
   *   matched on open-source Calico (nothing gives a set those labels): it selects the set the way
   *   Calico matches it;
   * - a network set approximated by addresses is selected by its labels once they are known.
   */
  const migrate = (rule: PolicyRule<CalicoRule>, ctx: RuleContext): CalicoRule[] | null => {
    const shape = read(rule, ctx);
    if (shape === null || shape.protocol === null || shape.form === 'current') return null;
    const firstAdded = shape.annotations[ANNOTATIONS.firstAdded] ?? ctx.now;
    const rebuild = (peers: readonly Peer[], remote: EntityRule) =>
      ruleObject(shape.action, shape.protocol!, ctx, remote, [...shape.ports], provenance(shape.category, peers, firstAdded, noted(shape)));
    if (shape.category === 'Public') return publicPeers(ipFamilies).map((peer) => rebuild([peer], remoteFor([peer], ctx.namespace)!));
    if (shape.category !== 'NetworkSet') return null;
    const out: CalicoRule[] = [];
    for (const peer of shape.peers) {
      if (peer.category !== 'NetworkSet') return null;
      const target = setTarget(peer, UNKNOWN_ADDRESSES, networkSets, ctx.namespace);
      // Still unknown: an approximation stays as it is (it allows what was seen).
      if (shape.form === 'approximated' && target.by !== 'labels') return null;
      for (const remote of target.by === 'labels' ? [target.remote] : target.remotes) out.push(rebuild([peer], remote));
    }
    return out;
  };

  return {
    name: enterprise ? 'calico-enterprise' : 'calico',
    kind: 'StagedNetworkPolicy',
    staged: true,
    enforced: { apiVersion: CALICO_API_VERSION, kind: 'NetworkPolicy' },
    newFileComment: `${NEW_FILE_ORIGIN}\n${stagedNote('StagedNetworkPolicy')} Comments and edits survive updates.`,
    typesKey: 'types',
    maxRulesPerDirection: MAX_RULES_PER_DIRECTION,

    skeleton({ namespace, workload }, tier, metadata) {
      const name =
        workload === undefined ? namespacePolicyName(this.name, tier, namespace, release) : workloadPolicyName(tier, workload, release);
      // A workload's pods are selected by its stable labels; the policy's namespace bounds them.
      const selector =
        workload === undefined ? selectorEquals('projectcalico.org/namespace', namespace) : selectorOfLabels(workload.labels);
      const policy: StagedNetworkPolicy = {
        apiVersion: CALICO_API_VERSION,
        kind: 'StagedNetworkPolicy',
        metadata: { name, namespace, ...metadata },
        // Set: merging the file is accepting the recommendation (Learn would mean "engine-owned").
        spec: { stagedAction: 'Set', tier, selector },
      };
      return policy;
    },

    finish: (policy) => policy,

    parse: (raw) => ({ raw, typed: parseCalicoRule(raw) }),

    adapt(observed) {
      if (enterprise || observed.atom.peer.category !== 'Domains') return [observed];
      // Traffic known by a domain name went to a public address, of a family the record may not say.
      const domain = observed.atom.peer.domain;
      return publicPeers(ipFamilies).map((peer) => ({ ...observed, atom: { ...observed.atom, peer }, domains: [domain] }));
    },

    approximation(observed) {
      const { atom } = observed;
      const notes: string[] = [];
      if (atom.port === null && protocolHasPorts(atom.protocol)) {
        notes.push(`${protocolName(atom.protocol)} to ${peerKey(atom.peer)} is allowed on every port: the flow logs did not report one`);
      }
      if (enterprise && atom.peer.category === 'Domains' && edition === undefined) {
        // The flows cannot tell which Calico wrote them: say what open-source Calico would make of it.
        notes.push(
          `egress to ${atom.peer.domain} (${protocolName(atom.protocol)}${atom.port === null ? '' : ` ${atom.port}`}) is a domain rule, which only Calico Enterprise has: ` +
            `open-source Calico drops the domains field (or its API server refuses the policy), which would allow that port to any address`,
        );
      }
      if (!enterprise && atom.peer.category === 'Domains') {
        notes.push(
          `egress to ${atom.peer.domain} (${protocolName(atom.protocol)}${atom.port === null ? '' : ` ${atom.port}`}) is allowed to ` +
            `${publicPeers(ipFamilies).map(describePeer).join(' and ')} on that port: open-source Calico has no domain rules`,
        );
      }
      if (atom.peer.category === 'NetworkSet') {
        const target = setTarget(atom.peer, observed.evidence, networkSets, '');
        if (target.by !== 'labels') {
          notes.push(
            `${peerKey(atom.peer)} (${protocolName(atom.protocol)}${atom.port === null ? '' : ` ${atom.port}`}) is allowed to ${target.allows}: ` +
              `${target.why}, and Calico selects a network set only by its own labels`,
          );
        }
      }
      return notes.length > 0 ? notes.join('; ') : null;
    },

    ...ruleInterpreter({
      compile: (rule, direction, namespace) => [compileCalicoRule(rule, direction, namespace, release)],
      ipFamilies,
      networkSets,
    }),

    identify(rule, ctx): RuleIdentity | null {
      const shape = read(rule, ctx);
      if (shape === null) return null;
      const ours = shape.annotations[ANNOTATIONS.category] !== undefined;
      return {
        category: shape.category,
        peers: shape.peers,
        extendKey: shapeExtendKey(shape),
        contractKey: contractKey(shape),
        sortKey: sortKey(shape.category, shape.protocol, shape.ports, shape.peers),
        ours,
      };
    },

    extendKey(observed, ctx) {
      const { atom } = observed;
      const action = actionFor(atom.peer, ctx);
      return atom.peer.category === 'Domains'
        ? `${action}|Domains|${atom.protocol}|${atom.port ?? '*'}`
        : `${action}|${peerKey(atom.peer)}|${atom.protocol}`;
    },

    canExtend(rule, observed, ctx) {
      const shape = read(rule, ctx);
      if (shape === null) return false;
      if (observed.atom.peer.category === 'Domains') return true;
      // Port 0 has a rule of its own (ruleObject): `ports` cannot name it.
      const port = observed.atom.port;
      return port !== null && port !== 0 && shape.ports.length > 0 && !isPortZero(shape.ports) && shape.ports.length < MAX_PORTS;
    },

    extend(rule, observed) {
      // Only our shapes are extended (identify, canExtend): the rule has the type.
      const copy = structuredClone(rule.typed!);
      const { atom } = observed;
      const destination = (copy.destination ??= {});
      if (atom.peer.category === 'Domains') {
        destination.domains = sortedUnique([...destination.domains!, atom.peer.domain]);
      } else if (atom.port !== null) {
        destination.ports = insertPort(destination.ports ?? [], atom.port);
      }
      return madeRule(noteDomains(copy, observed.domains ?? []));
    },

    render(atoms, ctx) {
      const first = atoms[0]!.atom;
      const action = actionFor(first.peer, ctx);
      const note = atoms.flatMap((o) => o.domains ?? []);
      const annotations = (peers: readonly Peer[]) => provenance(first.peer.category, peers, ctx.now, note);
      const portRules = (remote: EntityRule): PolicyRule<CalicoRule>[] => {
        if (atoms.some((o) => o.atom.port === null))
          return [madeRule(ruleObject(action, first.protocol, ctx, remote, [], annotations([first.peer])))];
        return portGroups(sortedUniquePorts(atoms.map((o) => o.atom.port!))).map((part) =>
          madeRule(ruleObject(action, first.protocol, ctx, remote, part, annotations([first.peer]))),
        );
      };
      switch (first.peer.category) {
        case 'Domains': {
          const peers = atoms.map((o) => o.atom.peer);
          const ports = first.port === null ? [] : [first.port];
          return [madeRule(ruleObject(action, first.protocol, ctx, remoteFor(peers, ctx.namespace)!, ports, annotations(peers)))];
        }
        case 'Service':
          // Calico rejects ports next to destination services: the service defines them.
          return [
            madeRule(ruleObject(action, first.protocol, ctx, remoteFor([first.peer], ctx.namespace)!, [], annotations([first.peer]))),
          ];
        case 'NetworkSet': {
          const evidence = mergedEvidence(atoms);
          const target = setTarget(first.peer, evidence, networkSets, ctx.namespace);
          return target.by === 'labels' ? portRules(target.remote) : target.remotes.flatMap(portRules);
        }
        default:
          return portRules(remoteFor([first.peer], ctx.namespace)!);
      }
    },

    contract(rules, ctx) {
      const shapes = rules.map((r) => read(r, ctx)!);
      const first = shapes[0]!;
      const peers = uniquePeers(shapes.flatMap((s) => s.peers));
      const firstAdded = shapes.map((s) => s.annotations[ANNOTATIONS.firstAdded] ?? ctx.now).sort()[0]!;
      const remote = (part: readonly Peer[]) => remoteFor(part, ctx.namespace, networkSets);
      if (remote(peers) === null) return [...rules];
      return chunkBySelector(peers, remote).map((part) =>
        madeRule(
          ruleObject(first.action, first.protocol!, ctx, remote(part)!, [...first.ports], provenance(first.category, part, firstAdded, [])),
        ),
      );
    },

    reconcile(rule, ctx) {
      const pieces = rule.typed === null ? null : splitPortZero(rule.typed);
      if (pieces !== null) return pieces.flatMap((piece) => this.reconcile(madeRule(piece), ctx));
      const migrated = migrate(rule, ctx);
      if (migrated !== null) return migrated.map(madeRule);
      const shape = read(rule, ctx);
      if (shape === null || shape.category !== 'Namespace' || shape.protocol === null) return [rule];
      const own = shape.peers.find((p) => p.category === 'Namespace' && p.pods === undefined && p.namespace === ctx.namespace);
      if (own === undefined) return [rule];
      const wanted = actionFor(own, ctx);
      if (shape.action === wanted) return [rule];
      if (shape.peers.length === 1) return [madeRule({ ...rule.typed!, action: wanted })];
      // A merged rule that also covers the namespace itself: the namespace gets its own rule, in
      // front, with the action the configuration wants.
      const firstAdded = shape.annotations[ANNOTATIONS.firstAdded] ?? ctx.now;
      const others = shape.peers.filter((p) => p !== own);
      return (
        [
          ruleObject(
            wanted,
            shape.protocol,
            ctx,
            remoteFor([own], ctx.namespace)!,
            [...shape.ports],
            provenance('Namespace', [own], firstAdded, []),
          ),
          ruleObject(
            shape.action,
            shape.protocol,
            ctx,
            remoteFor(others, ctx.namespace)!,
            [...shape.ports],
            provenance('Namespace', others, firstAdded, []),
          ),
        ] satisfies CalicoRule[]
      ).map(madeRule);
    },

    // A person's rule without the type is read as written: Calico may still apply it (rule-decides.ts).
    allowsOnly: (rule) => (rule.typed?.action ?? writtenAction(rule.raw)) === 'Allow',
    ownRuleKeys: () => null,

    annotate(rule, covered, ctx) {
      const domains = covered.flatMap((o) => o.domains ?? []);
      const shape = read(rule, ctx);
      if (domains.length === 0 || shape?.category !== 'Public' || shape.annotations[ANNOTATIONS.category] === undefined) return rule;
      return madeRule(noteDomains(structuredClone(rule.typed!), domains));
    },

    describe(rule, ctx): RuleSummary {
      const shape = read(rule, ctx);
      if (shape === null) return customSummary(rule.raw);
      return {
        action: shape.action,
        category: shape.category,
        peers: shape.peers.map(peerKey),
        remote: describeRemote(shape, ruleEnds(rule.typed!, ctx.direction).remote ?? {}),
        protocol: shape.protocol === null ? 'any' : String(shape.protocol),
        ports: shape.ports.map(String),
        firstAdded: shape.annotations[ANNOTATIONS.firstAdded] ?? null,
      };
    },
  };
}

/** Traffic within the namespace is passed to the next tier (appsec) when microsegmentation is on. */
function actionFor(peer: Peer, ctx: RuleContext): 'Allow' | 'Pass' {
  return ctx.intraNamespacePass && peer.category === 'Namespace' && peer.pods === undefined && peer.namespace === ctx.namespace
    ? 'Pass'
    : 'Allow';
}

function shapeExtendKey(shape: CalicoShape): string | null {
  if (shape.protocol === null) return null;
  if (shape.category === 'Domains') {
    return shape.ports.length === 1 && portRange(shape.ports[0]) !== null
      ? `${shape.action}|Domains|${shape.protocol}|${shape.ports[0]}`
      : null;
  }
  return shape.peers.length === 1 ? `${shape.action}|${peerKey(shape.peers[0]!)}|${shape.protocol}` : null;
}

function contractKey(shape: CalicoShape): string | null {
  if (shape.protocol === null) return null;
  const ports = shape.ports.map(String).join(',');
  if (shape.category === 'Namespace') {
    // Pods of workloads merge only within one namespace: `ns in {a, b} && (x || y)` would widen.
    const first = shape.peers[0] as { namespace: string; pods?: Labels };
    return first.pods === undefined
      ? `${shape.action}|Namespace|${shape.protocol}|${ports}`
      : `${shape.action}|Pods|${first.namespace}|${shape.protocol}|${ports}`;
  }
  if (shape.category === 'NetworkSet') {
    const scope = (shape.peers[0] as { namespace: string | null }).namespace ?? '(global)';
    return `${shape.action}|NetworkSet|${scope}|${shape.protocol}|${ports}`;
  }
  return null;
}

function sortKey(category: Category, protocol: Protocol | null, ports: readonly PortMatch[], peers: readonly Peer[]): (number | string)[] {
  const portText = [...ports]
    .sort(comparePortMatches)
    .map((p) => {
      const r = portRange(p);
      return r ? `${String(r.lo).padStart(5, '0')}:${String(r.hi).padStart(5, '0')}` : `~${String(p)}`;
    })
    .join(',');
  return [categoryRank(category), protocol === null ? 256 : protocolNumber(protocol), portText, peers.map(peerKey).join(',')];
}

/**
 * The remote side of one rule for these peers (all of one category; pods all of one namespace;
 * network sets all of one scope and selected by their labels), in a policy of `namespace`; null
 * when one rule cannot select them all (a network set whose labels are unknown).
 */
function remoteFor(peers: readonly Peer[], namespace: string, networkSets: NetworkSetDirectory = NO_NETWORK_SETS): EntityRule | null {
  const first = peers[0]!;
  switch (first.category) {
    case 'Domains':
      return { domains: sortedUnique(peers.map((p) => (p as { domain: string }).domain)) };
    case 'Service':
      return { services: { name: first.name, namespace: first.namespace } };
    case 'Namespace': {
      if (first.pods === undefined)
        return {
          namespaceSelector: selectorIn(
            NAME_LABEL,
            peers.map((p) => (p as { namespace: string }).namespace),
          ),
        };
      // Pods of workloads: a selector alone means the policy's own namespace.
      const selector = selectorOfLabelSets(peers.map((p) => (p as { pods: Labels }).pods));
      return first.namespace === namespace ? { selector } : { selector, namespaceSelector: selectorEquals(NAME_LABEL, first.namespace) };
    }
    case 'NetworkSet': {
      const labels = peers.map((p) => setLabels(p as Extract<Peer, { category: 'NetworkSet' }>, networkSets));
      if (labels.some((l) => l === null)) return null;
      return labelRemote(labels as Labels[], first.namespace, namespace);
    }
    case 'Private':
      return { nets: [...(first.ipv6 ? PRIVATE_NETS_V6 : PRIVATE_NETS)] };
    case 'Public':
      // What Felix reports as `pub` (felix/collector/types/endpoint/endpoint.go getSubnetType):
      // IPv4 outside RFC 1918, and every IPv6 address. One family per rule (Calico's validator
      // refuses mixed nets; Felix renders a rule only for the family of its nets, rules/policy.go).
      return first.ipv6 ? { nets: [ALL_IPV6] } : { notNets: [...PRIVATE_NETS] };
    case 'Entity':
      // Learned for the cilium flavour only (LearnContext.entities).
      throw new Error(`Calico policies name no Cilium entity (${first.entity})`);
    case 'Nets':
      // The flavours without network sets only: Calico's select a set themselves (calico-network-sets.ts).
      throw new Error('Calico policies reach a network set through setTarget, never as bare nets');
  }
}

/** Calico's field order: action, protocol, source, destination, metadata. */
function ruleObject(
  action: 'Allow' | 'Pass',
  protocol: Protocol,
  ctx: RuleContext,
  remote: EntityRule,
  ports: readonly PortMatch[],
  annotations: Record<string, string>,
): CalicoRule {
  const rule: CalicoRule = { action, protocol };
  const portPart = portsEntity(ports);
  if (ctx.direction === 'egress') {
    const destination = { ...remote, ...portPart };
    if (Object.keys(destination).length > 0) rule.destination = destination;
  } else {
    if (Object.keys(remote).length > 0) rule.source = remote;
    if (ports.length > 0) rule.destination = portPart;
  }
  rule.metadata = { annotations };
  return rule;
}

function provenance(category: Category, peers: readonly Peer[], firstAdded: string, domains: readonly string[]): Record<string, string> {
  const annotations: Record<string, string> = {
    [ANNOTATIONS.category]: category,
    [ANNOTATIONS.peer]: category === 'Domains' ? 'domains' : peers.map(peerKey).join(', '),
    [ANNOTATIONS.firstAdded]: firstAdded,
  };
  if (domains.length > 0) annotations[ANNOTATIONS.domains] = sortedUnique(domains).slice(0, MAX_NOTED_DOMAINS).join(', ');
  return annotations;
}

/** Adds domains to a rule's domain note, up to the cap, keeping the note sorted. */
function noteDomains(rule: CalicoRule, domains: readonly string[]): CalicoRule {
  if (domains.length === 0) return rule;
  const metadata = (rule.metadata ??= {});
  const annotations = (metadata.annotations ??= {});
  const current = annotations[ANNOTATIONS.domains]?.split(', ').filter((d) => d !== '') ?? [];
  const fresh = domains.filter((d) => !current.includes(d));
  if (fresh.length === 0 || current.length >= MAX_NOTED_DOMAINS) return rule;
  annotations[ANNOTATIONS.domains] = sortedUnique([...current, ...fresh])
    .slice(0, MAX_NOTED_DOMAINS)
    .join(', ');
  return rule;
}

function insertPort(ports: readonly PortMatch[], port: number): PortMatch[] {
  const at = ports.findIndex((p) => comparePortMatches(p, port) > 0);
  return at === -1 ? [...ports, port] : [...ports.slice(0, at), port, ...ports.slice(at)];
}

function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort(compareStrings);
}

/** The port lists of the rules for these ports: port 0 alone (see portsEntity), the others at most MAX_PORTS to a rule. */
function portGroups(ports: readonly PortMatch[]): PortMatch[][] {
  const zero = ports.some(isZero);
  const others = ports.filter((p) => !isZero(p));
  return [...(zero ? [[0]] : []), ...chunk(others, MAX_PORTS)];
}

const isZero = (p: PortMatch): boolean => p === 0 || p === '0';

function isPortZero(ports: readonly PortMatch[]): boolean {
  return ports.length === 1 && isZero(ports[0]!);
}

/** How a rule's destination names its ports. */
function portsEntity(ports: readonly PortMatch[]): EntityRule {
  if (ports.length === 0) return {};
  return isPortZero(ports) ? { notPorts: [EVERY_PORT_BUT_ZERO] } : { ports: [...ports] };
}

/**
 * Our rules of earlier releases could list port 0 in `ports`, which Calico refuses (validatePort):
 * port 0 gets a rule of its own, the rule otherwise unchanged; null when the rule has no port 0.
 */
function splitPortZero(rule: CalicoRule): CalicoRule[] | null {
  const { ports, ...rest } = rule.destination ?? {};
  if (ports === undefined || !ports.some(isZero)) return null;
  return portGroups(ports).map((group) => ({ ...rule, destination: { ...rest, ...portsEntity(group) } }));
}

function sortedUniquePorts(ports: readonly number[]): number[] {
  return [...new Set(ports)].sort((a, b) => a - b);
}

function uniquePeers(peers: readonly Peer[]): Peer[] {
  const byKey = new Map(peers.map((p) => [peerKey(p), p]));
  return [...byKey.keys()].sort(compareStrings).map((k) => byKey.get(k)!);
}

/** Splits merged peers so that no rendered selector exceeds Calico's 1024-character limit. */
function chunkBySelector(peers: readonly Peer[], remoteOf: (peers: readonly Peer[]) => EntityRule | null): Peer[][] {
  const out: Peer[][] = [];
  let current: Peer[] = [];
  for (const peer of peers) {
    const candidate = [...current, peer];
    const remote = remoteOf(candidate) ?? {};
    const longest = Math.max(...Object.values(remote).map((v) => (typeof v === 'string' ? v.length : 0)));
    if (current.length > 0 && longest > MAX_SELECTOR_CHARS) {
      out.push(current);
      current = [peer];
    } else current = candidate;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Evidence of several atoms as one (the addresses seen by all of them). */
function mergedEvidence(atoms: readonly ObservedAtom[]): Evidence {
  const evidence = { ...atoms[0]!.evidence };
  for (const o of atoms.slice(1)) mergeEvidence(evidence, o.evidence);
  return evidence;
}

/** Nothing known of the addresses: migrating a rule has no observations to go by. */
const UNKNOWN_ADDRESSES: Evidence = { flows: 0, firstSeen: 0, lastSeen: 0, remoteIps: SAW_NO_IP };

/** The domains a rule's note keeps. */
function noted(shape: CalicoShape): string[] {
  return shape.annotations[ANNOTATIONS.domains]?.split(', ').filter((d) => d !== '') ?? [];
}

/** What the remote side of one of our shapes allows (see describe-peer.ts). */
function describeRemote(shape: CalicoShape, entity: EntityRule): string {
  if (shape.category === 'Public' && shape.form === 'legacy') return 'any address (a rule of an earlier release)';
  if (shape.category !== 'NetworkSet') return describePeers(shape.peers);
  const sets = describePeers(shape.peers);
  switch (shape.form) {
    case 'legacy':
      return `${sets}, by name and kind labels Calico does not give network sets: matches none`;
    case 'approximated':
      return `${sets}, approximated (not selected by its labels) by addresses: ${describeNets(entity)}`;
    default: {
      const scope = entity.namespaceSelector !== undefined ? ` in namespaces ${entity.namespaceSelector}` : '';
      return `${sets}, selected by its labels: ${String(entity.selector)}${scope}`;
    }
  }
}

/** The action of a rule as written, whatever its type. */
function writtenAction(raw: unknown): unknown {
  return isPlainObject(raw) ? raw['action'] : undefined;
}

/** A person's rule that is none of our shapes, described as written. */
function customSummary(rule: unknown): RuleSummary {
  const r = (typeof rule === 'object' && rule !== null ? rule : {}) as PlainObject;
  const { action, protocol, metadata: _m, ...match } = r;
  return {
    action: typeof action === 'string' ? action : '?',
    category: 'Custom',
    peers: [JSON.stringify(match)],
    remote: `a rule of its own: ${JSON.stringify(match)}`,
    protocol: protocol === undefined ? 'any' : String(protocol),
    ports: [],
    firstAdded: null,
  };
}
