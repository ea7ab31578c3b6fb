// Does an existing rule decide traffic of an observed atom? Used so that traffic a policy already
// handles (by any rule, ours or a person's) is never added again. There is one interpreter of
// rules, the simulator's (src/simulate/match-rule.ts, three-valued): a flavour compiles its rule
// with the simulator's compiler and this module asks it about a flow made of what the engine knows
// of the atom. What the engine cannot know is unknown there, never guessed:
// - the policy's own end is a pod of its namespace whose labels (but those Calico assigns) are
//   unknown, so only a selector that selects every pod of the namespace decides;
// - a remote pod's labels are unknown, but for a workload's stable labels (microsegmentation) and
//   those Calico assigns; namespace labels are the context's, complete only with cluster context;
// - a network set has its own labels (when known) and the namespace label, and its nets when the
//   directory knows them; the nets a flavour without network sets writes for one are some address
//   in them that no selector matches;
// - private and public peers lie in Felix's address classes, domains and services in `pub` (the
//   flow the simulator makes of an observation, would-deny.ts peerEnd); HTTP, ICMP types and
//   source ports are unknown.
// The rule decides the atom only when the answer is a certain "yes" in every IP family the atom's
// traffic may have (its addresses', else the cluster's: flowInFamilies); "unknown" counts as no
// (at worst a redundant rule is proposed). Log rules never decide.

import { parseCidr } from '../../calico/nets.ts';
import type { SelectorNode } from '../../calico/selector.ts';
import type { IpFamily } from '../../config/recommendation-config.ts';
import {
  type Address,
  type Endpoint,
  endpointOf,
  type Family,
  type NetworkSetSource,
  networkEndpoint,
  networkSetEndpoint,
  workloadEndpoint,
} from '../../simulate/endpoint.ts';
import { type FlowContext, flowInFamilies, type NamespaceLabelSource, type RuleOwner, ruleMatches } from '../../simulate/match-rule.ts';
import type { CompiledEntity, CompiledRule } from '../../simulate/policy-set.ts';
import { type Direction, PolicyValidationError } from '../../simulate/policy-terms.ts';
import { peerEnd } from '../../simulate/would-deny.ts';
import { appendAll } from '../../util/append.ts';
import type { ObservedAtom, Peer } from '../model.ts';
import type { NetworkSetDirectory } from '../network-sets.ts';
import { setLabels } from './calico-network-sets.ts';
import type { MatchKeys, PolicyRule, RuleContext } from './flavor.ts';

/**
 * A flavour's rule (as written) as the Calico rules it stands for (one for a Calico rule, those
 * Calico converts a Kubernetes rule to): the simulator's typed form, compiled from what was written
 * because a person's rule Calico accepts decides traffic whatever the flavour's type makes of it;
 * throws PolicyValidationError where Calico would refuse the rule.
 */
type RuleCompiler = (rule: unknown, direction: Direction, namespace: string) => readonly CompiledRule[];

export interface RuleInterpreterOptions {
  readonly compile: RuleCompiler;
  /** The cluster's IP families: traffic whose peer has no address may be of any of them. */
  readonly ipFamilies: readonly IpFamily[];
  readonly networkSets: NetworkSetDirectory;
}

const DECIDING_ACTIONS: ReadonlySet<string> = new Set(['Allow', 'Deny', 'Pass']);
const POD_IP: Address = { kind: 'unknown', what: 'the pod IP' };

/** The flows an atom may be, one per IP family, in one rule context. */
interface AtomFlows {
  readonly flows: readonly FlowContext[];
  /** Its match keys, when first asked for. */
  keys?: readonly string[] | null;
}

/** What every rule of one context is asked with: its policy's namespace and the namespace labels. */
interface PerContext {
  readonly owner: RuleOwner;
  readonly labels: NamespaceLabelSource;
  readonly atoms: WeakMap<ObservedAtom, AtomFlows>;
}

/** PolicyFlavor.matches and the keys it needs (PolicyFlavor.matchKeys), for a flavour to spread in. */
export interface RuleInterpreter {
  matches(rule: PolicyRule<unknown>, observed: ObservedAtom, ctx: RuleContext): boolean;
  readonly matchKeys: MatchKeys<unknown>;
}

export function ruleInterpreter(options: RuleInterpreterOptions): RuleInterpreter {
  const clusterFamilies: Family[] = options.ipFamilies.map((f) => (f === 'IPv6' ? 6 : 4));
  // Rules are read again for every atom and never mutated (changes make new objects): each is
  // compiled once per context; null when Calico would refuse it.
  const compiled = new WeakMap<PolicyRule<unknown>, Map<string, readonly CompiledRule[] | null>>();
  const compiledOf = (rule: PolicyRule<unknown>, ctx: RuleContext): readonly CompiledRule[] | null => {
    const key = `${ctx.direction}/${ctx.namespace}`;
    let byContext = compiled.get(rule);
    if (byContext === undefined) compiled.set(rule, (byContext = new Map()));
    let rules = byContext.get(key);
    if (rules === undefined) {
      rules = compileOrNull(options.compile, rule.raw, ctx)?.filter((r) => DECIDING_ACTIONS.has(r.action)) ?? null;
      byContext.set(key, rules);
    }
    return rules;
  };
  const contexts = new WeakMap<RuleContext, PerContext>();
  const flowsOf = (observed: ObservedAtom, ctx: RuleContext) => {
    let known = contexts.get(ctx);
    if (known === undefined) {
      known = { owner: { namespace: ctx.namespace }, labels: namespaceLabelSource(ctx), atoms: new WeakMap() };
      contexts.set(ctx, known);
    }
    let atom = known.atoms.get(observed);
    if (atom === undefined) known.atoms.set(observed, (atom = atomFlows(observed, ctx, clusterFamilies, options.networkSets)));
    return { owner: known.owner, labels: known.labels, flows: atom.flows, atom };
  };
  const ruleKeys = new WeakMap<readonly CompiledRule[], readonly string[] | null>();

  return {
    matches: (rule, observed, ctx) => {
      const rules = compiledOf(rule, ctx);
      if (rules === null || rules.length === 0) return false;
      const { owner, labels, flows } = flowsOf(observed, ctx);
      return flows.every((flow) => rules.some((r) => ruleMatches(r, owner, flow, labels).truth === true));
    },
    matchKeys: {
      rule: (rule, ctx) => {
        const rules = compiledOf(rule, ctx);
        // A rule Calico refuses, or one that cannot decide, matches nothing.
        if (rules === null || rules.length === 0) return [];
        let keys = ruleKeys.get(rules);
        if (keys === undefined) ruleKeys.set(rules, (keys = compiledRuleKeys(rules, ctx)));
        return keys;
      },
      atom: (observed, ctx) => {
        const { labels, flows, atom } = flowsOf(observed, ctx);
        if (atom.keys === undefined) atom.keys = remoteKeys(flows, ctx.direction, labels);
        return atom.keys;
      },
    },
  };
}

// Match keys (PolicyFlavor.matchKeys): where a rule's remote end (source of an ingress rule,
// destination of an egress one) can be, as selectorsMatch (simulate/match-rule.ts) reads it:
// - `ns <name>`: a selector without a namespaceSelector stays in the policy's namespace;
// - `label <key> <value>`: a namespaceSelector that needs a label of the remote end's namespace
//   (`==`, `in`, or such a term in an `&&`; `||` when each side needs one) is true only where the
//   namespace has it (a namespace-less end is evaluated on no labels: false).
// Anything else may match any end: null.

function compiledRuleKeys(rules: readonly CompiledRule[], ctx: RuleContext): readonly string[] | null {
  const keys: string[] = [];
  for (const rule of rules) {
    const entity = ctx.direction === 'ingress' ? rule.source : rule.destination;
    const of = entityKeys(entity, ctx.namespace);
    if (of === null) return null;
    appendAll(keys, of);
  }
  return [...new Set(keys)];
}

function entityKeys(entity: CompiledEntity, namespace: string): readonly string[] | null {
  if (entity.selector === null && entity.notSelector === null && entity.namespaceSelector === null) return null;
  if (entity.namespaceSelector === null) return [namespaceKey(namespace)];
  return neededLabels(entity.namespaceSelector);
}

function neededLabels(node: SelectorNode): readonly string[] | null {
  switch (node.op) {
    case '==':
      return [labelKey(node.key, node.value)];
    case 'in':
      return node.values.map((v) => labelKey(node.key, v));
    case 'and':
      for (const expr of node.exprs) {
        const keys = neededLabels(expr);
        if (keys !== null) return keys;
      }
      return null;
    case 'or': {
      const keys: string[] = [];
      for (const expr of node.exprs) {
        const of = neededLabels(expr);
        if (of === null) return null;
        appendAll(keys, of);
      }
      return keys;
    }
    default:
      return null;
  }
}

/** The keys of the remote end of every flow of an atom (null, any rule, unless all have the same end). */
function remoteKeys(flows: readonly FlowContext[], direction: Direction, source: NamespaceLabelSource): readonly string[] | null {
  const ends = new Set(flows.map((f) => (direction === 'ingress' ? f.source : f.dest)));
  if (ends.size !== 1) return null;
  const [end] = ends as Set<Endpoint>;
  if (end!.namespace === null) return [];
  const { labels } = source.namespaceLabels(end!.namespace);
  // Own properties, as the selector reads labels (calico/selector.ts labelValue).
  return [namespaceKey(end!.namespace), ...Object.getOwnPropertyNames(labels).map((k) => labelKey(k, labels[k]!))];
}

const namespaceKey = (namespace: string): string => `ns ${namespace}`;
const labelKey = (key: string, value: string): string => `label ${JSON.stringify([key, value])}`;

function compileOrNull(compile: RuleCompiler, rule: unknown, ctx: RuleContext): readonly CompiledRule[] | null {
  try {
    return compile(rule, ctx.direction, ctx.namespace);
  } catch (e) {
    if (e instanceof PolicyValidationError) return null;
    throw e;
  }
}

/** Namespace labels as the context knows them: every label with cluster context, else the names only. */
function namespaceLabelSource(ctx: RuleContext): NamespaceLabelSource {
  return {
    namespaceLabels: (namespace) => {
      const labels = ctx.namespaceLabels(namespace);
      return { labels, known: ctx.namespaceLabelsComplete ? () => true : (key) => Object.hasOwn(labels, key) };
    },
  };
}

function atomFlows(observed: ObservedAtom, ctx: RuleContext, cluster: readonly Family[], networkSets: NetworkSetDirectory): AtomFlows {
  const { atom } = observed;
  const local = workloadEndpoint(ctx.namespace, '-', {}, POD_IP);
  // The flow the simulator makes of an observation (would-deny.ts), addresses seen left out: only
  // what holds for all the atom's traffic.
  const { end, destService, destDomains } = peerEnd(atom.peer, 0);
  const remote = remoteEndpoint(atom.peer, networkSets) ?? endpointOf(end, NO_SETS);
  const egress = ctx.direction === 'egress';
  const facts = { protocol: atom.protocol, destPort: atom.port, destService, destDomains };
  return { flows: egress ? flowInFamilies(local, remote, facts, cluster) : flowInFamilies(remote, local, facts, cluster) };
}

const NO_SETS: NetworkSetSource = { networkSet: () => undefined };

/**
 * Pods of a namespace (with a workload's stable labels) and network sets as the engine knows them;
 * null for the peers that are addresses (Felix's classes, as endpointOf reads them).
 */
function remoteEndpoint(peer: Peer, networkSets: NetworkSetDirectory): Endpoint | null {
  switch (peer.category) {
    case 'Namespace':
      return workloadEndpoint(peer.namespace, '-', peer.pods ?? {}, POD_IP);
    case 'NetworkSet': {
      const nets = (networkSets.get(peer.namespace, peer.name)?.nets ?? []).map((n) => parseCidr(n)).filter((c) => c !== null);
      const address: Address =
        nets.length > 0
          ? { kind: 'within', ranges: nets, what: `an address of network set ${peer.name}` }
          : { kind: 'unknown', what: `the addresses of network set ${peer.name}` };
      return networkSetEndpoint(peer.name, peer.namespace, setLabels(peer, networkSets), address);
    }
    case 'Nets': {
      // A network set's nets (set-addresses.ts): some address in them, no endpoint a selector matches.
      const ranges = peer.nets.map((n) => parseCidr(n)).filter((c) => c !== null);
      return networkEndpoint('nets', { kind: 'within', ranges, what: `an address in ${peer.nets.join(', ')}` });
    }
    default:
      return null;
  }
}
