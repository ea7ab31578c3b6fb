// Which flow records teach the engine something, and what. Follows Calico's engine: only allowed
// flows that no other policy decided; egress from the source's report, ingress from the
// destination's; the remote end decides the rule category.

import { isPrivateIp } from '../calico/nets.ts';
import { protocolHasPorts } from '../calico/protocol.ts';
import type { FlowEndpoint, FlowRecord, PolicyHit, PolicyTrace } from '../flows/record.ts';
import { overlapsWindow, type TimeWindow } from '../flows/source.ts';
import { isIPv6 } from 'node:net';
import { SAW_NO_IP, SAW_PRIVATE_IP, SAW_PRIVATE_IPV6, SAW_PUBLIC_IP, type Direction, type Peer } from './model.ts';
import { isOwnPolicyInTrace } from './naming.ts';

export interface LearnContext {
  readonly window: TimeWindow;
  /** Domains under `.svc.<clusterDomain>` are cluster-internal names, never domain rules. */
  readonly clusterDomain: string;
  /** Our recommendations' tier: hits by our own staged policy are seen through (see decidedByProfile). */
  readonly tierName: string;
}

export interface Lesson {
  readonly namespace: string;
  readonly direction: Direction;
  /** One peer, or one per domain for egress known by domain name. */
  readonly peers: readonly Peer[];
  readonly port: number | null;
  readonly remoteIps: number;
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
  if (local.type === 'hep' || remote.type === 'hep') return 'host endpoint';
  // A record reported by a non-workload end says nothing about a namespace's own traffic.
  if (local.type !== 'wep' || local.namespace === null) return 'reported by the remote end';
  const namespace = local.namespace;

  if (record.policies !== null && !decidedByProfile(record.policies, (hit) => isOwnPolicyInTrace(hit.policy, ctx.tierName, namespace))) {
    return 'decided by another policy';
  }

  return {
    namespace,
    direction: egress ? 'egress' : 'ingress',
    peers: classifyRemote(record, remote, egress, ctx.clusterDomain),
    port: protocolHasPorts(record.protocol) ? record.destPort : null,
    remoteIps: remoteIps(remote.ip),
  };
}

/**
 * True when the namespace profile made the final decision, i.e. no policy acted on the flow.
 * The trace looked at is `pending_policies` (it includes staged policies), else `all_policies`,
 * else `enforced_policies`; records without any trace count as undecided. When the deciding hit is
 * our own staged recommendation, the enforced trace tells whether anything *else* decided: our
 * policy must not stop us from learning traffic it does not yet allow.
 */
export function decidedByProfile(trace: PolicyTrace | null, isOwn: (hit: PolicyHit) => boolean): boolean {
  if (trace === null) return true;
  const primary = finalHit(trace.pending) ?? finalHit(trace.all) ?? finalHit(trace.enforced);
  if (primary === null) return true;
  if (isProfile(primary)) return true;
  if (!isOwn(primary)) return false;
  // What was enforced: enforced_policies, else all_policies without staged hits (older Calico
  // Enterprise releases list staged hits there too).
  const enforced = finalHit(trace.enforced) ?? finalHit(trace.all?.filter((h) => !h.policy.includes('staged:')) ?? null);
  return enforced === null || isProfile(enforced);
}

function remoteIps(ip: string | null): number {
  if (ip === null) return SAW_NO_IP;
  if (!isPrivateIp(ip)) return SAW_PUBLIC_IP;
  return isIPv6(ip) ? SAW_PRIVATE_IPV6 : SAW_PRIVATE_IP;
}

function finalHit(hits: readonly PolicyHit[] | null): PolicyHit | null {
  if (hits === null || hits.length === 0) return null;
  let last = hits[0]!;
  for (const hit of hits) if (hit.index >= last.index) last = hit;
  return last;
}

function isProfile(hit: PolicyHit): boolean {
  return hit.tier === '__PROFILE__';
}

function classifyRemote(record: FlowRecord, remote: FlowEndpoint, egress: boolean, clusterDomain: string): Peer[] {
  switch (remote.type) {
    case 'ns':
      return [{ category: 'NetworkSet', name: remote.name, namespace: remote.namespace }];
    case 'wep':
      if (egress && remote.name === '-' && record.destService?.namespace) {
        return [{ category: 'Service', name: record.destService.name, namespace: record.destService.namespace }];
      }
      return [{ category: 'Namespace', namespace: remote.namespace! }];
    default: {
      const isPrivate = remote.name === 'pvt' || (remote.name !== 'pub' && remote.ip !== null && isPrivateIp(remote.ip));
      // Domains and services name public destinations only (a private address stays Private).
      if (egress && !isPrivate) {
        const internal = `.svc.${clusterDomain}`;
        const domains = record.destDomains.filter((d) => !d.endsWith(internal));
        if (domains.length > 0) return [...new Set(domains)].map((domain) => ({ category: 'Domains', domain }));
        if (record.destService?.namespace) {
          return [{ category: 'Service', name: record.destService.name, namespace: record.destService.namespace }];
        }
      }
      if (!isPrivate) return [{ category: 'Public' }];
      return [remote.ip !== null && isIPv6(remote.ip) ? { category: 'Private', ipv6: true } : { category: 'Private' }];
    }
  }
}
