// Renders one scenario flow, as seen by one reporter, into Calico Enterprise flow-log JSON lines.
// Everything constant for a (flow, reporter) pair is serialised once; each record only fills in
// times, IPs, ports and counters, which keeps the generator well above 150k lines/s.
import { parsePolicyHit, policyHitEntry, type TraceForm } from '../flows/policy-hit.ts';
import type { Random } from './random.ts';
import { type Endpoint, type FlowTemplate, podLabels, podNameAggr, type Reporter, type Scenario } from './scenario.ts';

export interface CompiledFlow {
  readonly template: FlowTemplate;
  readonly reporter: Reporter;
  readonly weight: number;
  /** One record line (no newline) for the window [start, end]. */
  render(rng: Random, start: number, end: number): string;
}

const q = JSON.stringify;

/**
 * Every (template, reporter) pair of the scenario, in scenario order. `traceForm`: how policy-trace
 * entries name policies, as Felix up to 3.31 writes them (the scenarios' own form, the default) or
 * as 3.32 and later write them (`<kind>:[<ns>/]<name>`).
 */
export function compileFlows(scenario: Scenario, traceForm: TraceForm = '3.31'): CompiledFlow[] {
  const out: CompiledFlow[] = [];
  // A compiled flow holds about a kilobyte of serialised fields: the first COMPILED_AHEAD are
  // compiled now and kept, any further ones (the scale scenario's millions of distinct flows) when
  // rendered, in a cache of that many, so memory stays bounded whatever the scenario's size.
  const later = new Map<number, CompiledFlow>();
  for (const t of scenario.flows) {
    if (!(t.weight > 0)) throw new RangeError('flow template weight must be > 0');
    for (const r of t.reporters) {
      if (out.length < COMPILED_AHEAD) {
        out.push(compileFlow(t, r, scenario.nodes, traceForm));
        continue;
      }
      const index = out.length;
      const compiled = (): CompiledFlow => {
        let flow = later.get(index);
        if (flow === undefined) {
          if (later.size >= COMPILED_AHEAD) later.clear();
          later.set(index, (flow = compileFlow(t, r, scenario.nodes, traceForm)));
        }
        return flow;
      };
      out.push({ template: t, reporter: r, weight: t.weight, render: (rng, start, end) => compiled().render(rng, start, end) });
    }
  }
  return out;
}

const COMPILED_AHEAD = 50_000;

/** A scenario's trace entry (written in the 3.31 form) in the form asked for. */
function traceEntry(entry: string, form: TraceForm): string {
  if (form === '3.31') return entry;
  const hit = parsePolicyHit(entry);
  if (hit === null) throw new RangeError(`scenario trace entry ${JSON.stringify(entry)} is not one Felix writes`);
  return policyHitEntry(hit, form);
}

interface EndFields {
  readonly ips: readonly string[] | null;
  readonly name: string;
  readonly aggr: string;
  readonly namespace: string;
  readonly labels: string;
}

function endFields(e: Endpoint): EndFields {
  switch (e.type) {
    case 'wep': {
      // Pod-prefix aggregation (Calico's default for allowed flows): no IP, no pod name.
      const w = e.workload;
      return { ips: null, name: '-', aggr: podNameAggr(w), namespace: w.namespace, labels: `{"labels":${q(podLabels(w))}}` };
    }
    case 'hep':
      return { ips: e.ips, name: '-', aggr: e.name, namespace: '-', labels: `{"labels":${q(e.labels)}}` };
    case 'ns':
      return { ips: e.ips, name: '-', aggr: e.name, namespace: e.namespace, labels: `{"labels":${q(e.labels)}}` };
    case 'net':
      return { ips: e.ips, name: '-', aggr: e.name, namespace: '-', labels: 'null' };
  }
}

function policiesJson(t: FlowTemplate, local: Endpoint, form: TraceForm): string {
  // The profile in the trace is the reporting endpoint's: its namespace's, or the hosts' default.
  const profile =
    local.type === 'wep'
      ? `0|__PROFILE__|__PROFILE__.kns.${local.workload.namespace}|allow|0`
      : '0|__PROFILE__|__PROFILE__.projectcalico-default-allow|allow|0';
  const trace = (all: string, pending: string): string =>
    `"policies":{"all_policies":[${q(traceEntry(all, form))}],"enforced_policies":[${q(traceEntry(all, form))}],"pending_policies":[${q(traceEntry(pending, form))}]},`;
  switch (t.trace.kind) {
    case 'profile':
      return trace(profile, profile);
    case 'hit':
      return trace(t.trace.hit, t.trace.hit);
    case 'staged':
      return trace(profile, t.trace.pending);
    case 'absent':
      return '';
  }
}

function compileFlow(t: FlowTemplate, reporter: Reporter, nodes: readonly string[], traceForm: TraceForm): CompiledFlow {
  const src = endFields(t.source);
  const dst = endFields(t.dest);
  const local = reporter === 'src' ? t.source : t.dest;
  const quotedIps = (ips: readonly string[] | null): readonly string[] | null => (ips && ips.length > 0 ? ips.map((ip) => q(ip)) : null);
  const srcIps = quotedIps(src.ips);
  const dstIps = quotedIps(dst.ips);
  // Networks are not aggregated by pod prefix, so their ephemeral source ports survive.
  const keepSrcPort = t.source.type === 'net';
  const svc = t.service;

  const afterSrcIp = `,"source_name":${q(src.name)},"source_name_aggr":${q(src.aggr)},"source_namespace":${q(src.namespace)},"source_port":`;
  const afterSrcPort = `,"source_type":"${t.source.type}","source_labels":${src.labels},"dest_ip":`;
  const afterDstIp =
    `,"dest_name":${q(dst.name)},"dest_name_aggr":${q(dst.aggr)},"dest_namespace":${q(dst.namespace)},"dest_port":${t.port === null ? 'null' : t.port},` +
    `"dest_type":"${t.dest.type}","dest_labels":${dst.labels},` +
    `"dest_service_namespace":${q(svc?.namespace ?? '-')},"dest_service_name":${q(svc?.name ?? '-')},` +
    `"dest_service_port":${q(svc?.portName ?? '-')},"dest_service_port_num":${svc ? svc.port : 'null'},` +
    (t.domains ? `"dest_domains":${q(t.domains)},` : '') +
    `"proto":${q(t.proto)},"action":"${t.action}","reporter":"${reporter}",` +
    policiesJson(t, local, traceForm) +
    '"bytes_in":';

  const hosts = (local.type === 'hep' ? [local.node] : nodes).map((h) => q(h));
  const process = local.type === 'wep' ? q(local.workload.process) : null;
  const isTcp = t.proto === 'tcp';
  const denied = t.action === 'deny';
  const small = t.proto !== 'tcp'; // DNS answers, pings, signalling: few small packets
  // A few of Felix's TCP socket stats (Felix writes ~11 and more process fields; a few keep lines near real sizes).
  const tcpZero = ',"tcp_mean_smooth_rtt":0,"tcp_mean_mss":0,"tcp_total_retransmissions":0';

  return {
    template: t,
    reporter,
    weight: t.weight,
    render(rng, start, end) {
      const sip = srcIps ? (srcIps[rng.int(srcIps.length)] as string) : 'null';
      const sport = keepSrcPort ? 32768 + rng.int(28232) : 'null';
      const dip = dstIps ? (dstIps[rng.int(dstIps.length)] as string) : 'null';
      const flows = rng.next() < 0.7 ? 1 : 2 + rng.int(small ? 40 : 12);
      const started = flows - (rng.next() < 0.1 ? 1 : 0);
      const completed = rng.next() < 0.85 ? started : Math.max(0, started - 1);
      // Request and response sizes of the whole window (requester -> responder and back).
      let reqPk: number;
      let reqB: number;
      let respPk: number;
      let respB: number;
      if (denied) {
        reqPk = flows * (1 + rng.int(3));
        reqB = reqPk * (small ? 64 + rng.int(60) : 60);
        respPk = 0;
        respB = 0;
      } else if (small) {
        reqPk = flows * (1 + rng.int(2));
        reqB = reqPk * (60 + rng.int(60));
        respPk = flows * (1 + rng.int(2));
        respB = respPk * (90 + rng.int(400));
      } else {
        reqPk = flows * (4 + rng.int(40));
        reqB = reqPk * (80 + rng.int(600));
        respPk = flows * (4 + rng.int(60));
        respB = respPk * (200 + rng.int(1200));
      }
      const [pin, bin, pout, bout] = reporter === 'src' ? [respPk, respB, reqPk, reqB] : [reqPk, reqB, respPk, respB];
      const proc = process
        ? `"process_name":${process},"num_process_names":1,"process_id":"${1000 + rng.int(64000)}","num_process_ids":1`
        : '"process_name":"-","num_process_names":0,"process_id":"-","num_process_ids":0';
      let tcp = tcpZero;
      if (isTcp && !denied) {
        const rtt = 80 + rng.int(4000);
        const retrans = rng.next() < 0.9 ? 0 : 1 + rng.int(5);
        tcp = `,"tcp_mean_smooth_rtt":${rtt},"tcp_mean_mss":${rng.next() < 0.5 ? 1398 : 1448},"tcp_total_retransmissions":${retrans}`;
      }
      const host = hosts[rng.int(hosts.length)] as string;
      return (
        `{"start_time":${start},"end_time":${end},"source_ip":${sip}${afterSrcIp}${sport}${afterSrcPort}${dip}${afterDstIp}` +
        `${bin},"bytes_out":${bout},"num_flows":${flows},"num_flows_started":${started},"num_flows_completed":${completed},` +
        `"packets_in":${pin},"packets_out":${pout},"http_requests_allowed_in":0,"http_requests_denied_in":0,${proc}` +
        `${tcp},"host":${host}}`
      );
    },
  };
}
