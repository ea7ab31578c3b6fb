// Renders one scenario flow, as seen by one end, into a Hubble jsonpb line: a GetFlowsResponse as
// `hubble observe -o jsonpb` prints it and Hubble's exporter writes it (observer.proto, flow.proto,
// Cilium v1.19.4; protojson with proto field names, fields in declaration order, as
// hubble/pkg/printer/printer_test.go's jsonpb case shows them). Everything constant for a (flow,
// reporter) pair is serialised once; each line fills in the time, uuid, IPs, ports and pod.
//
// How a Calico scenario becomes Cilium's view of the same traffic:
// - the reporter is the direction Hubble observed it in (src: EGRESS, dst: INGRESS);
// - a workload is a pod with an identity, `k8s:` labels as Cilium keeps them (its default label
//   filter, pkg/labelsfilter/filter.go, drops pod-template-hash, controller-revision-hash,
//   pod-template-generation and io.kubernetes/kubernetes.io labels) plus the namespace labels
//   Cilium adds, a pod name from a few replicas, and `workloads` [{name, kind}];
// - a host endpoint is the node (reserved identity host, 1); a network or network set is the
//   world (reserved identity 2, or a CIDR identity with its `cidr:` label for a network set):
//   Cilium has no network sets, so what Calico names by set Hubble names by address;
// - allowed is FORWARDED, denied DROPPED (POLICY_DENIED); a policy hit that allows is the policy
//   in `egress_allowed_by` / `ingress_allowed_by`; a staged policy (Calico only) is not written;
// - Calico's protocols without a Layer4 in flow.proto (GRE ...) are written without `l4`.

import { parsePolicyHit } from '../flows/policy-hit.ts';
import type { Random } from './random.ts';
import { hashString, k8sSuffix } from './random.ts';
import type { RecordShape } from './record.ts';
import { type Endpoint, type FlowTemplate, helmLabels, podNameAggr, type Reporter, type Workload } from './scenario.ts';

const q = JSON.stringify;

/** Labels Cilium's default label filter leaves out (pkg/labelsfilter/filter.go defaultLabelPrefixCfg, v1.19.4). */
const FILTERED =
  /^(pod-template-hash|controller-revision-hash|pod-template-generation|controller-uid)=|^(io\.kubernetes|kubernetes\.io|k8s\.io)/;
/** Pods per workload the lines spread over. */
const REPLICAS = 3;

/** Can a Calico scenario flow be said in Hubble's terms with the same meaning to the engine? */
export function hubbleExpressible(t: FlowTemplate): boolean {
  if (t.source.type === 'ns' || t.dest.type === 'ns') return false;
  if (t.trace.kind === 'staged') return false;
  return layer4Name(t.proto) !== null;
}

function layer4Name(proto: string): 'TCP' | 'UDP' | 'SCTP' | 'ICMPv4' | 'ICMPv6' | null {
  switch (proto.toLowerCase()) {
    case 'tcp':
    case '6':
      return 'TCP';
    case 'udp':
    case '17':
      return 'UDP';
    case 'sctp':
    case '132':
      return 'SCTP';
    case 'icmp':
    case '1':
      return 'ICMPv4';
    case 'icmpv6':
    case 'icmp6':
    case '58':
      return 'ICMPv6';
    default:
      return null;
  }
}

/** A workload's pod labels as Cilium's identity keeps them, with the labels Cilium adds. */
function ciliumPodLabels(w: Workload, shape: RecordShape): string[] {
  const keys = new Set(w.labels.map((l) => l.slice(0, l.indexOf('='))));
  const own = shape === 'full' ? [...w.labels, ...helmLabels(w).filter((l) => !keys.has(l.slice(0, l.indexOf('='))))] : [...w.labels];
  return [
    ...own.filter((l) => !FILTERED.test(l)).map((l) => `k8s:${l}`),
    `k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=${w.namespace}`,
    'k8s:io.cilium.k8s.policy.cluster=default',
    `k8s:io.cilium.k8s.policy.serviceaccount=${w.name}`,
    `k8s:io.kubernetes.pod.namespace=${w.namespace}`,
  ].sort();
}

/** The pods of a workload: names as their controller makes them, and their addresses. */
function pods(w: Workload): { name: string; ip: string }[] {
  return Array.from({ length: REPLICAS }, (_, i) => {
    const prefix = podNameAggr(w).slice(0, -1);
    const name = w.controller === 'StatefulSet' ? `${prefix}${i}` : `${prefix}${k8sSuffix(`${w.namespace}/${w.name}/pod-${i}`, 5)}`;
    const h = hashString(`${w.namespace}/${name}`);
    return { name, ip: `10.${(h >>> 16) & 0xff}.${(h >>> 8) & 0xff}.${(h & 0xfe) + 1}` };
  });
}

/** The endpoint object for one line (a pod picked among the replicas), and its address. */
type EndRender = (rng: Random) => { json: string; ip: string | null };

/** A workload's pods as endpoint objects, made once per workload and shape. */
const podEndpoints = {
  compact: new WeakMap<Workload, { json: string; ip: string }[]>(),
  full: new WeakMap<Workload, { json: string; ip: string }[]>(),
};

function workloadEndpoints(w: Workload, shape: RecordShape): { json: string; ip: string }[] {
  let replicas = podEndpoints[shape].get(w);
  if (replicas === undefined) {
    const identity = 256 + (hashString(`${w.namespace}/${w.name}/identity`) % 65000);
    const fixed = `"identity":${identity},"namespace":${q(w.namespace)},"labels":${q(ciliumPodLabels(w, shape))}`;
    const workloads = `"workloads":[{"name":${q(w.name)},"kind":${q(w.controller)}}]`;
    replicas = pods(w).map((p, i) => ({
      json: `{"ID":${100 + ((hashString(p.name) + i) % 3900)},${fixed},"pod_name":${q(p.name)},${workloads}}`,
      ip: p.ip,
    }));
    podEndpoints[shape].set(w, replicas);
  }
  return replicas;
}

function endRender(e: Endpoint, shape: RecordShape): EndRender {
  switch (e.type) {
    case 'wep': {
      const replicas = workloadEndpoints(e.workload, shape);
      return (rng) => replicas[rng.int(replicas.length)]!;
    }
    case 'hep': {
      const json = '{"identity":1,"labels":["reserved:host"]}';
      return (rng) => ({ json, ip: e.ips[rng.int(e.ips.length)] ?? null });
    }
    case 'ns': {
      const identity = (1 << 24) + (hashString(e.name) % 65000);
      const byIp = e.ips.map((ip) => ({
        json: `{"identity":${identity},"labels":${q([`cidr:${ip}/${ip.includes(':') ? 128 : 32}`, 'reserved:world'])}}`,
        ip,
      }));
      return (rng) => byIp[rng.int(byIp.length)]!;
    }
    case 'net': {
      const json = '{"identity":2,"labels":["reserved:world"]}';
      return (rng) => ({ json, ip: e.ips[rng.int(e.ips.length)] ?? null });
    }
  }
}

/** flow.proto Policy entries for a trace hit that allowed the flow; null when none did. */
function allowedBy(t: FlowTemplate): string | null {
  if (t.trace.kind !== 'hit') return null;
  const hit = parsePolicyHit(t.trace.hit);
  if (hit === null || hit.action !== 'allow') return null;
  const kind = hit.namespace === null ? 'CiliumClusterwideNetworkPolicy' : 'CiliumNetworkPolicy';
  const labels = [`k8s:io.cilium.k8s.policy.derived-from=${kind}`, `k8s:io.cilium.k8s.policy.name=${hit.name}`];
  if (hit.namespace !== null) labels.push(`k8s:io.cilium.k8s.policy.namespace=${hit.namespace}`);
  return `[{"name":${q(hit.name)},${hit.namespace !== null ? `"namespace":${q(hit.namespace)},` : ''}"labels":${q(labels)},"revision":"1","kind":"${kind}"}]`;
}

/** RFC 3339 with nanoseconds, as protojson writes a Timestamp. */
function rfc3339(seconds: number, nanos: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}.${String(nanos).padStart(9, '0')}Z`;
}

/** A version-4 UUID from the generator's random numbers (reproducible). */
function uuid(rng: Random): string {
  const hex = (digits: number): string => {
    let out = '';
    for (let left = digits; left > 0; left -= 6) {
      const n = Math.min(6, left);
      out += rng
        .int(16 ** n)
        .toString(16)
        .padStart(n, '0');
    }
    return out;
  };
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[rng.int(4)]}${hex(3)}-${hex(12)}`;
}

/** One (flow, reporter) pair's line renderer: a GetFlowsResponse jsonpb line at a moment in [start, end). */
export function hubbleRender(
  t: FlowTemplate,
  reporter: Reporter,
  nodes: readonly string[],
  shape: RecordShape,
): (rng: Random, start: number, end: number) => string {
  const src = endRender(t.source, shape);
  const dst = endRender(t.dest, shape);
  const l4 = layer4Name(t.proto);
  const egress = reporter === 'src';
  const denied = t.action === 'deny';
  const local = egress ? t.source : t.dest;
  const hosts = (local.type === 'hep' ? [local.node] : nodes).map((h) => q(h));
  const allowed = denied ? null : allowedBy(t);
  const beforeNode = '"Type":"L3_L4",';
  const afterNode =
    ',' +
    (t.domains && t.domains.length > 0 ? `"destination_names":${q(t.domains)},` : '') +
    `"event_type":{"type":${denied ? 1 : 4}${denied ? ',"sub_type":133' : ''}},` +
    (t.service ? `"destination_service":{"name":${q(t.service.name)},"namespace":${q(t.service.namespace)}},` : '') +
    `"traffic_direction":"${egress ? 'EGRESS' : 'INGRESS'}",` +
    (denied ? '' : `"trace_observation_point":"${egress ? 'TO_STACK' : 'TO_ENDPOINT'}",`) +
    (denied ? '"drop_reason_desc":"POLICY_DENIED",' : '') +
    `"is_reply":false` +
    (l4 === 'TCP' ? ',"Summary":"TCP Flags: SYN"' : '') +
    (allowed !== null ? `,"${egress ? 'egress_allowed_by' : 'ingress_allowed_by'}":${allowed}` : '');
  const verdict = denied ? '"verdict":"DROPPED","drop_reason":133' : '"verdict":"FORWARDED"';
  return (rng, start, end) => {
    const second = start + rng.int(Math.max(1, end - start));
    const time = q(rfc3339(second, rng.int(1_000_000_000)));
    const s = src(rng);
    const d = dst(rng);
    const ip =
      s.ip !== null && d.ip !== null
        ? `"IP":{"source":${q(s.ip)},"destination":${q(d.ip)},"ipVersion":"${s.ip.includes(':') ? 'IPv6' : 'IPv4'}"},`
        : '';
    let layer4 = '';
    if (l4 === 'TCP' || l4 === 'UDP' || l4 === 'SCTP')
      layer4 = `"l4":{"${l4}":{"source_port":${32768 + rng.int(28232)},"destination_port":${t.port ?? 0}${l4 === 'TCP' ? ',"flags":{"SYN":true}' : ''}}},`;
    else if (l4 === 'ICMPv4') layer4 = '"l4":{"ICMPv4":{"type":8}},';
    else if (l4 === 'ICMPv6') layer4 = '"l4":{"ICMPv6":{"type":128}},';
    const node = hosts[rng.int(hosts.length)]!;
    return (
      `{"flow":{"time":${time},"uuid":"${uuid(rng)}",${verdict},${ip}${layer4}"source":${s.json},"destination":${d.json},` +
      `${beforeNode}"node_name":${node}${afterNode}},"node_name":${node},"time":${time}}`
    );
  };
}
