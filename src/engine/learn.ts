// Which flow records teach the engine something, and what. Follows Calico's engine: only allowed
// flows that no other policy decided; egress from the source's report, ingress from the
// destination's; the remote end decides the rule category.
//
// Two layers learn from the same records. Namespace isolation learns when the profile decided, or
// one of our own staged policies (seen through: it must not stop us learning what it does not
// allow yet) while the profile decided the enforced verdict. Microsegmentation (per-workload
// policies, when configured) also learns what our own namespace-isolation policy allowed or passed,
// staged or enforced, and what our own microsegmentation policy allowed: those are the two layers
// composing, not another policy's decision. Our own policies are the namespace's isolation policy,
// the namespace's microsegmentation policies (by their names, see naming.ts) and the template's
// staged global default deny (the catch-all that makes recommendations necessary: its staged hit
// means that no policy allowed the flow yet, exactly like the profile).

import { isIPv6 } from 'node:net';
import { isPrivateIp } from '../calico/nets.ts';
import { protocolHasPorts } from '../calico/protocol.ts';
import type { IpFamily } from '../config/recommendation-config.ts';
import { type FlowEndpoint, type FlowRecord, isStagedHit, type PolicyHit, type PolicyTrace } from '../flows/record.ts';
import { overlapsWindow, type TimeWindow } from '../flows/source.ts';
import {
  type Direction,
  type Peer,
  type PeerEntity,
  SAW_NO_IP,
  SAW_PRIVATE_IP,
  SAW_PRIVATE_IPV6,
  SAW_PUBLIC_IP,
  SAW_PUBLIC_IPV6,
} from './model.ts';
import { isOwnPolicyHit, isOwnWorkloadPolicyHit, isTemplateDefaultDenyHit } from './naming.ts';
import { ownLabels } from './network-sets.ts';
import { parseLabels } from './workloads.ts';

export interface LearnContext {
  readonly window: TimeWindow;
  /**
   * The cluster's IP families: a public destination whose address the record does not give is
   * public in each of them (one IPv4 and one IPv6 peer in a dual-stack cluster). Default IPv4.
   */
  readonly ipFamilies?: readonly IpFamily[];
  /** Domains under `.svc.<clusterDomain>` are cluster-internal names, never domain rules. */
  readonly clusterDomain: string;
  /** Our recommendations' tier: hits by our own staged policy are seen through (see decidedByProfile). */
  readonly tierName: string;
  /** Microsegmentation's tier, when it is on: records are also judged for per-workload policies. */
  readonly workloadTierName?: string;
  /**
   * The cilium flavour: a remote end the source names as one of Cilium's in-cluster entities
   * (FlowEndpoint.entity: a node, the API server ...) is learned as that entity, which its
   * policies can name (toEntities); otherwise nodes are host endpoints, not learned.
   */
  readonly entities?: boolean;
  /**
   * False when the flavour cannot allow a service's pods by the service: Kubernetes policy cannot
   * name a service (k8s.io/api networking/v1 NetworkPolicyPeer: podSelector, namespaceSelector,
   * ipBlock). A workload a record reaches through a service without naming the pod is then learned
   * as the pod's namespace, where it is; as the service, the flavour could only allow it at public
   * addresses, which a pod's never are. Default true: Calico's `services` match selects the
   * service's endpoints, and so does Cilium's toServices from 1.17 (the agent turns a service with
   * a selector into generated toEndpoints: pkg/policy/api/selector.go EndpointSelector.Generated,
   * rule_validation.go countNonGeneratedEndpoints, in the Cilium 1.17.0-pre that cilium-cli v0.18.0
   * vendors; the cilium flavour writes toServices with toPorts, which 1.16 refuses anyway).
   */
  readonly serviceEndpoints?: boolean;
}

export interface Lesson {
  readonly namespace: string;
  readonly direction: Direction;
  /** One peer, or one per domain for egress known by domain name. */
  readonly peers: readonly Peer[];
  readonly port: number | null;
  readonly remoteIps: number;
  /** Namespace isolation learns from it. */
  readonly forNamespace: boolean;
  /** Microsegmentation learns from it (only with LearnContext.workloadTierName). */
  readonly forWorkload: boolean;
  /** The reporting end (a workload) and the remote end, for microsegmentation. */
  readonly local: FlowEndpoint;
  readonly remote: FlowEndpoint;
}

export type NotLearned =
  | 'denied'
  | 'outside the lookback window'
  | 'decided by another policy'
  | 'host endpoint'
  | 'reported by the remote end';

export function learn(record: FlowRecord, ctx: LearnContext): Lesson | NotLearned {
  if (record.action !== 'allow') return 'denied';
  if (!overlapsWindow(record, ctx.window)) return 'outside the lookback window';

  const egress = record.reporter === 'src';
  const local = egress ? record.source : record.dest;
  const remote = egress ? record.dest : record.source;
  const entity = ctx.entities === true ? peerEntity(remote) : null;
  if (local.type === 'hep' || (remote.type === 'hep' && entity === null)) return 'host endpoint';
  // A record reported by a non-workload end says nothing about a namespace's own traffic.
  if (local.type !== 'wep' || local.namespace === null) return 'reported by the remote end';
  const namespace = local.namespace;

  let forNamespace = true;
  let forWorkload = ctx.workloadTierName !== undefined;
  // Most records: the profile decided, and nothing else needs looking at.
  const primary = record.policies === null ? null : primaryHit(record.policies);
  if (record.policies !== null && primary !== null && !isProfile(primary)) {
    const ownIsolation = (hit: PolicyHit) => isOwnPolicyHit(hit, ctx.tierName, namespace);
    const ownSegment = (hit: PolicyHit) =>
      ctx.workloadTierName !== undefined && isOwnWorkloadPolicyHit(hit, ctx.workloadTierName, namespace);
    const own = (hit: PolicyHit) => ownIsolation(hit) || ownSegment(hit) || isTemplateDefaultDenyHit(hit);
    forNamespace = decidedByProfile(record.policies, own);
    // Microsegmentation: our namespace isolation allowing (or passing) and our own per-workload
    // policy allowing are the layers composing, also in the enforced verdict.
    const composing = (hit: PolicyHit) => (hit.action === 'allow' || hit.action === 'pass') && (ownIsolation(hit) || ownSegment(hit));
    forWorkload &&= forNamespace || decidedByProfile(record.policies, own, composing);
  }
  if (!forNamespace && !forWorkload) return 'decided by another policy';

  return {
    namespace,
    direction: egress ? 'egress' : 'ingress',
    peers: entity !== null ? [{ category: 'Entity', entity }] : classifyRemote(record, remote, egress, ctx),
    port: protocolHasPorts(record.protocol) ? record.destPort : null,
    remoteIps: remoteIps(remote.ip),
    forNamespace,
    forWorkload,
    local,
    remote,
  };
}

/**
 * True when the namespace profile made the final decision, i.e. no policy acted on the flow.
 * The trace looked at is `pending_policies` (it includes staged policies), else `all_policies`,
 * else `enforced_policies`; records without any trace count as undecided. When the deciding hit is
 * our own recommendation (`isOwn`), the enforced trace tells whether anything *else* decided: our
 * policy must not stop us from learning traffic it does not yet allow. The enforced verdict must
 * be the profile's, or a hit `ownEnforced` accepts.
 */
export function decidedByProfile(
  trace: PolicyTrace | null,
  isOwn: (hit: PolicyHit) => boolean,
  ownEnforced: (hit: PolicyHit) => boolean = () => false,
): boolean {
  if (trace === null) return true;
  const primary = primaryHit(trace);
  if (primary === null) return true;
  if (isProfile(primary)) return true;
  if (!isOwn(primary)) return false;
  // What was enforced: enforced_policies, else all_policies without staged hits (older Calico
  // Enterprise releases list staged hits there too).
  const enforced = finalHit(trace.enforced) ?? finalHit(trace.all?.filter((h) => !isStagedHit(h)) ?? null);
  return enforced === null || isProfile(enforced) || ownEnforced(enforced);
}

/** The final hit of the trace that includes staged policies: pending_policies, else all_policies, else enforced_policies. */
function primaryHit(trace: PolicyTrace): PolicyHit | null {
  return finalHit(trace.pending) ?? finalHit(trace.all) ?? finalHit(trace.enforced);
}

function remoteIps(ip: string | null): number {
  if (ip === null) return SAW_NO_IP;
  if (isIPv6(ip)) return isPrivateIp(ip) ? SAW_PRIVATE_IPV6 : SAW_PUBLIC_IPV6;
  return isPrivateIp(ip) ? SAW_PRIVATE_IP : SAW_PUBLIC_IP;
}

function finalHit(hits: readonly PolicyHit[] | null): PolicyHit | null {
  if (hits === null || hits.length === 0) return null;
  let last = hits[0]!;
  for (const hit of hits) if (hit.index >= last.index) last = hit;
  return last;
}

function isProfile(hit: PolicyHit): boolean {
  return hit.kind === 'Profile';
}

/**
 * The remote end's peer(s). Addresses follow Felix (felix/collector/types/endpoint/endpoint.go):
 * `pvt` is an IPv4 address in RFC 1918, `pub` any other address without an endpoint, IPv6
 * included. A known address decides by itself; without one, `pub` is public in each of the
 * cluster's families.
 */
function classifyRemote(record: FlowRecord, remote: FlowEndpoint, egress: boolean, ctx: LearnContext): Peer[] {
  switch (remote.type) {
    case 'ns': {
      const labels = ownLabels(parseLabels(remote.labels));
      const set: Peer = { category: 'NetworkSet', name: remote.name, namespace: remote.namespace };
      // An empty list says nothing: the log may just not include labels.
      return [Object.keys(labels).length > 0 ? { ...set, labels } : set];
    }
    case 'wep':
      if (egress && remote.name === '-' && record.destService?.namespace && ctx.serviceEndpoints !== false) {
        return [{ category: 'Service', name: record.destService.name, namespace: record.destService.namespace }];
      }
      return [{ category: 'Namespace', namespace: remote.namespace! }];
    default: {
      const ipv6 = remote.ip !== null && isIPv6(remote.ip);
      // Felix reports IPv6 unique-local addresses as `pub` too; another source may call them private.
      const isPrivate = remote.ip === null ? remote.name === 'pvt' : isPrivateIp(remote.ip) && !(ipv6 && remote.name === 'pub');
      // Domains and services name public destinations only (a private address stays Private).
      if (egress && !isPrivate) {
        const internal = `.svc.${ctx.clusterDomain}`;
        const domains = record.destDomains.filter((d) => !d.endsWith(internal));
        if (domains.length > 0) return [...new Set(domains)].map((domain) => ({ category: 'Domains', domain }));
        if (record.destService?.namespace) {
          return [{ category: 'Service', name: record.destService.name, namespace: record.destService.namespace }];
        }
      }
      if (isPrivate) return [ipv6 ? { category: 'Private', ipv6: true } : { category: 'Private' }];
      if (remote.ip !== null) return [ipv6 ? { category: 'Public', ipv6: true } : { category: 'Public' }];
      return publicPeers(ctx.ipFamilies ?? ['IPv4']);
    }
  }
}

const PEER_ENTITIES: ReadonlySet<string> = new Set<PeerEntity>(['host', 'remote-node', 'kube-apiserver', 'health', 'ingress', 'unmanaged']);

/** The in-cluster entity a remote end is, when the source names one (Hubble: FlowEndpoint.entity). */
function peerEntity(remote: FlowEndpoint): PeerEntity | null {
  return remote.entity !== undefined && PEER_ENTITIES.has(remote.entity) ? (remote.entity as PeerEntity) : null;
}

/** A public peer in each of the cluster's families. */
export function publicPeers(families: readonly IpFamily[]): Peer[] {
  return families.map((f): Peer => (f === 'IPv6' ? { category: 'Public', ipv6: true } : { category: 'Public' }));
}
