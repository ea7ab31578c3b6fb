// For the App: which observed flows would a proposed policy tree deny? Takes flow records, or the
// engine's observations (atoms per namespace, turned back into the flows they stand for), and the
// tree as it would be after the proposal (the default branch's files with the planned changes
// laid over them). Pure.

import {
  type EndpointObservation,
  type EndpointRef,
  type HostEndpointObservation,
  type ObservedAtom,
  type Peer,
  SAW_PRIVATE_IP,
  SAW_PRIVATE_IPV6,
  SAW_PUBLIC_IP,
  SAW_PUBLIC_IPV6,
} from '../engine/model.ts';
import type { TreeFiles } from '../tree/tree.ts';
import { ciliumPolicySetFromTree } from './cilium/policy-set.ts';
import { CiliumSimulator } from './cilium/simulator.ts';
import type { FlowEnd } from './endpoint.ts';
import { type FlowFacts, Simulator, type VerdictKind } from './evaluate.ts';
import { type PolicySetOptions, type PolicyView, type PolicyWarning, policySetFromTree } from './policy-set.ts';
import { type FlowRow, SimulationReport, type Totals } from './report.ts';

export type SimulatedFlow = FlowFacts & { readonly numFlows?: number };

export interface ProposalCheck {
  /** Flows every way of evaluating denies. */
  readonly denied: readonly FlowRow[];
  /** Flows the records cannot decide (see each row's unknowns). */
  readonly indeterminate: readonly FlowRow[];
  readonly totals: Totals;
  /** Objects of the tree that were skipped, with their files. */
  readonly warnings: readonly PolicyWarning[];
  /** The verdict of each input flow, in input order. */
  readonly verdicts: readonly VerdictKind[];
}

export interface ProposalInput {
  readonly tree: TreeFiles;
  readonly flows: Iterable<SimulatedFlow>;
  /** The cluster as known: its release, IP families, network sets and namespace labels. */
  readonly cluster?: PolicySetOptions;
  /** Default `staged`: staged policies evaluated as if enforced. */
  readonly view?: PolicyView;
  /**
   * Whose policies decide: Calico's (default: Calico's and Kubernetes' objects of the tree, with
   * `view`), or Cilium's (the tree's CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies,
   * simulate/cilium/: Cilium has no staged policies, so every one is enforced and `view` is moot).
   */
  readonly cni?: 'calico' | 'cilium';
}

/** The one question asked of either evaluator: a flow's verdict, and the tree's objects it skipped. */
function evaluatorOf(input: ProposalInput): { evaluate: Simulator['evaluate']; warnings: readonly PolicyWarning[] } {
  if (input.cni === 'cilium') {
    const set = ciliumPolicySetFromTree(input.tree);
    const simulator = new CiliumSimulator(set?.policies ?? []);
    return { evaluate: (flow) => simulator.evaluate(flow), warnings: set?.warnings ?? [] };
  }
  const set = policySetFromTree(input.tree, input.cluster ?? {});
  const simulator = new Simulator(set, input.view ?? 'staged');
  return { evaluate: (flow) => simulator.evaluate(flow), warnings: set.warnings };
}

export function checkProposal(input: ProposalInput): ProposalCheck {
  const simulator = evaluatorOf(input);
  const report = new SimulationReport();
  const verdicts: VerdictKind[] = [];
  for (const flow of input.flows) {
    const verdict = simulator.evaluate(flow);
    report.add(flow, verdict);
    verdicts.push(verdict.verdict);
  }
  const rows = report.rows();
  return {
    verdicts,
    denied: rows.filter((r) => r.verdict === 'denied'),
    indeterminate: rows.filter((r) => r.verdict === 'indeterminate'),
    totals: report.totals(),
    warnings: simulator.warnings,
  };
}

/**
 * The flows observations stand for: a workload of the namespace (labels unknown) and the peer the
 * atom names. Policies that select pods by their own labels are then undecidable, by design.
 */
export function flowsOfObservations(byNamespace: ReadonlyMap<string, readonly ObservedAtom[]>): SimulatedFlow[] {
  const flows: SimulatedFlow[] = [];
  for (const [namespace, atoms] of byNamespace) {
    const local: FlowEnd = { type: 'wep', name: '*', namespace, labels: [], ip: null };
    for (const { atom, evidence } of atoms) {
      const { end, destService, destDomains } = peerEnd(atom.peer, evidence.remoteIps);
      const egress = atom.direction === 'egress';
      flows.push({
        reporter: egress ? 'src' : 'dst',
        source: egress ? local : end,
        dest: egress ? end : local,
        protocol: atom.protocol,
        destPort: atom.port,
        destService,
        destDomains,
        numFlows: evidence.flows,
      });
    }
  }
  return flows;
}

/**
 * The flows of host-endpoint observations: the workload as the record named it and the host
 * endpoint with its labels. Not learned, but decided by the policies all the same.
 */
export function flowsOfHostEndpoints(observations: readonly HostEndpointObservation[]): SimulatedFlow[] {
  return observations.map(({ direction, local, host, protocol, port, evidence }) => {
    const here: FlowEnd = { type: 'wep', name: local.name, namespace: local.namespace, labels: local.labels, ip: null };
    const there: FlowEnd = { type: 'hep', name: host.name, namespace: null, labels: host.labels, ip: null };
    const egress = direction === 'egress';
    return {
      reporter: egress ? 'src' : 'dst',
      source: egress ? here : there,
      dest: egress ? there : here,
      protocol,
      destPort: port,
      destService: null,
      destDomains: [],
      numFlows: evidence.flows,
    };
  });
}

/**
 * The flows microsegmentation observations stand for: the workload endpoints of both ends as the
 * records named them (aggregated name, the labels common to the aggregated pods), so that
 * per-workload policies, which select by labels, can be evaluated.
 */
export function flowsOfEndpoints(observations: readonly EndpointObservation[]): SimulatedFlow[] {
  const workload = (e: EndpointRef): FlowEnd => ({ type: 'wep', name: e.name, namespace: e.namespace, labels: e.labels, ip: null });
  return observations.map(({ atom, evidence, local, remote }) => {
    const egress = atom.direction === 'egress';
    const here = workload(local);
    const peer = peerEnd(atom.peer, evidence.remoteIps);
    const there = remote === null ? peer.end : workload(remote);
    return {
      reporter: egress ? 'src' : 'dst',
      source: egress ? here : there,
      dest: egress ? there : here,
      protocol: atom.protocol,
      destPort: atom.port,
      destService: peer.destService,
      destDomains: peer.destDomains,
      numFlows: evidence.flows,
    };
  });
}

/** One class of address (IPv4 public or private) when every address seen was of it. */
function addressClass(seen: number): Pick<FlowEnd, 'seenAt' | 'ipVersion'> {
  if (seen === SAW_PUBLIC_IP) return { seenAt: 'pub', ipVersion: 4 };
  if (seen === SAW_PUBLIC_IPV6) return { seenAt: 'pub', ipVersion: 6 };
  if (seen === SAW_PRIVATE_IP) return { seenAt: 'pvt', ipVersion: 4 };
  if (seen === SAW_PRIVATE_IPV6) return { seenAt: 'pvt', ipVersion: 6 };
  return {};
}

/** The flow end a peer stands for; `seen` (SAW_* bits) tells what addresses a network set was seen at. */
export function peerEnd(peer: Peer, seen: number): { end: FlowEnd; destService: FlowFacts['destService']; destDomains: readonly string[] } {
  const network = (name: string, ipVersion?: 4 | 6): FlowEnd => ({
    type: 'net',
    name,
    namespace: null,
    labels: [],
    ip: null,
    ...(ipVersion ? { ipVersion } : {}),
  });
  switch (peer.category) {
    case 'Namespace':
      return { end: { type: 'wep', name: '*', namespace: peer.namespace, labels: [], ip: null }, destService: null, destDomains: [] };
    case 'NetworkSet': {
      // The set's labels as a record carried them: what the recommender selected it by.
      const labels = Object.entries(peer.labels ?? {}).map(([k, v]) => `${k}=${v}`);
      const end: FlowEnd = { type: 'ns', name: peer.name, namespace: peer.namespace, labels, ip: null, ...addressClass(seen) };
      return { end, destService: null, destDomains: [] };
    }
    case 'Nets':
      // Not learned (a flavour's stand-in for a network set): what holds for any address.
      return { end: network('nets'), destService: null, destDomains: [] };
    case 'Private':
      return { end: network('pvt', peer.ipv6 ? 6 : 4), destService: null, destDomains: [] };
    case 'Public':
      return { end: network('pub', peer.ipv6 ? 6 : 4), destService: null, destDomains: [] };
    case 'Domains':
      return { end: network('pub'), destService: null, destDomains: [peer.domain] };
    case 'Service':
      return { end: network('pub'), destService: { name: peer.name, namespace: peer.namespace }, destDomains: [] };
    case 'Entity':
      // A Cilium entity (cilium flavour): a node, as Calico would see it; others as an address.
      // The entity is kept for Cilium's evaluation (simulate/cilium/from-record.ts), which decides by it.
      return peer.entity === 'host' || peer.entity === 'remote-node'
        ? {
            end: { type: 'hep', name: peer.entity, namespace: null, labels: [], ip: null, entity: peer.entity },
            destService: null,
            destDomains: [],
          }
        : { end: { ...network('pvt'), entity: peer.entity }, destService: null, destDomains: [] };
  }
}
