// Renders one scenario flow, as seen by one reporter, into Calico Enterprise flow-log JSON lines.
// Everything constant for a (flow, reporter) pair is serialised once; each record only fills in
// times, IPs, ports and counters, which keeps the generator well above 150k lines/s.
import { parsePolicyHit, policyHitEntry, type TraceForm } from '../flows/policy-hit.ts';
import type { Random } from './random.ts';
import {
  type Endpoint,
  type FlowTemplate,
  helmLabels,
  podLabels,
  podNameAggr,
  type Reporter,
  type Scenario,
  type Workload,
} from './scenario.ts';

/**
 * What a record carries. `compact`: the fields the scenarios were written with (about 41, a
 * workload's own labels, one policy-trace entry), kept byte for byte for the golden tests. `full`:
 * every field of Calico Enterprise's flow logs ("Flow log data types", tigera/docs
 * calico-enterprise/observability/elastic/flow/datatypes.mdx: 56 with `dest_domains`), Helm's 8
 * labels on every pod, and two policy-trace entries, as a real cluster's lines are.
 */
export type RecordShape = 'compact' | 'full';
export const RECORD_SHAPES: readonly RecordShape[] = ['compact', 'full'];

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
export function compileFlows(scenario: Scenario, traceForm: TraceForm = '3.31', shape: RecordShape = 'compact'): CompiledFlow[] {
  const out: CompiledFlow[] = [];
  // A compiled flow holds about a kilobyte of serialised fields: the first COMPILED_AHEAD are
  // compiled now and kept, any further ones (the scale scenario's millions of distinct flows) when
  // rendered, in a cache of that many, so memory stays bounded whatever the scenario's size.
  const later = new Map<number, CompiledFlow>();
  for (const t of scenario.flows) {
    if (!(t.weight > 0)) throw new RangeError('flow template weight must be > 0');
    for (const r of t.reporters) {
      if (out.length < COMPILED_AHEAD) {
        out.push(compileFlow(t, r, scenario.nodes, traceForm, shape));
        continue;
      }
      const index = out.length;
      const compiled = (): CompiledFlow => {
        let flow = later.get(index);
        if (flow === undefined) {
          if (later.size >= COMPILED_AHEAD) later.clear();
          later.set(index, (flow = compileFlow(t, r, scenario.nodes, traceForm, shape)));
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

/** A pod's labels in a record of `shape`: the workload's own, then (full) Helm's that it lacks by key, then the churn labels. */
export function recordPodLabels(w: Workload, shape: RecordShape): readonly string[] {
  if (shape === 'compact') return podLabels(w);
  const keys = new Set(w.labels.map((l) => l.slice(0, l.indexOf('='))));
  const helm = helmLabels(w).filter((l) => !keys.has(l.slice(0, l.indexOf('='))));
  const own = podLabels(w);
  return [...own.slice(0, w.labels.length), ...helm, ...own.slice(w.labels.length)];
}

function endFields(e: Endpoint, shape: RecordShape): EndFields {
  switch (e.type) {
    case 'wep': {
      // Pod-prefix aggregation (Calico's default for allowed flows): no IP, no pod name.
      const w = e.workload;
      return { ips: null, name: '-', aggr: podNameAggr(w), namespace: w.namespace, labels: `{"labels":${q(recordPodLabels(w, shape))}}` };
    }
    case 'hep':
      return { ips: e.ips, name: '-', aggr: e.name, namespace: '-', labels: `{"labels":${q(e.labels)}}` };
    case 'ns':
      return { ips: e.ips, name: '-', aggr: e.name, namespace: e.namespace, labels: `{"labels":${q(e.labels)}}` };
    case 'net':
      return { ips: e.ips, name: '-', aggr: e.name, namespace: '-', labels: 'null' };
  }
}

/**
 * The first entry of a full record's traces: a cluster-wide tier ahead of the scenario's tiers whose
 * policy selects every workload and passes its traffic on (a "pass" rule: felix RuleID.ActionString,
 * policy_lookup_cache.go, release-v3.31). It decides nothing, so what is learned stays the same.
 */
const PASS_ENTRY = '0|baseline|baseline.pass-to-application-tiers|pass|0';

/** A scenario entry (`0|...`, the 3.31 form) moved to the given position in the trace. */
function atIndex(entry: string, index: number): string {
  return `${index}${entry.slice(entry.indexOf('|'))}`;
}

/** A record's policy trace as 3.31 flow-log entries (the scenarios' form), or null when it carries none. */
export interface TraceEntries {
  readonly all: readonly string[];
  readonly enforced: readonly string[];
  readonly pending: readonly string[];
}

/** The trace of `t` as `reporter`'s end writes it, in a record of `shape`. */
export function traceEntries(t: FlowTemplate, reporter: Reporter, shape: RecordShape): TraceEntries | null {
  const local = reporter === 'src' ? t.source : t.dest;
  // The profile in the trace is the reporting endpoint's: its namespace's, or the hosts' default.
  const profile =
    local.type === 'wep'
      ? `0|__PROFILE__|__PROFILE__.kns.${local.workload.namespace}|allow|0`
      : '0|__PROFILE__|__PROFILE__.projectcalico-default-allow|allow|0';
  const entries = (entry: string): readonly string[] => (shape === 'full' ? [PASS_ENTRY, atIndex(entry, 1)] : [entry]);
  const trace = (all: string, pending: string): TraceEntries => ({ all: entries(all), enforced: entries(all), pending: entries(pending) });
  switch (t.trace.kind) {
    case 'profile':
      return trace(profile, profile);
    case 'hit':
      return trace(t.trace.hit, t.trace.hit);
    case 'staged':
      return trace(profile, t.trace.pending);
    case 'absent':
      return null;
  }
}

function policiesJson(t: FlowTemplate, reporter: Reporter, form: TraceForm, shape: RecordShape): string {
  const trace = traceEntries(t, reporter, shape);
  if (trace === null) return '';
  const list = (entries: readonly string[]): string => entries.map((e) => q(traceEntry(e, form))).join(',');
  return `"policies":{"all_policies":[${list(trace.all)}],"enforced_policies":[${list(trace.enforced)}],"pending_policies":[${list(trace.pending)}]},`;
}

interface Counters {
  readonly flows: number;
  readonly started: number;
  readonly completed: number;
  readonly packetsIn: number;
  readonly bytesIn: number;
  readonly packetsOut: number;
  readonly bytesOut: number;
}

/** One window's connection, packet and byte counts, as seen by `reporter`. */
function drawCounters(rng: Random, reporter: Reporter, denied: boolean, small: boolean): Counters {
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
  return reporter === 'src'
    ? { flows, started, completed, packetsIn: respPk, bytesIn: respB, packetsOut: reqPk, bytesOut: reqB }
    : { flows, started, completed, packetsIn: reqPk, bytesIn: reqB, packetsOut: respPk, bytesOut: respB };
}

/** The parts of a line fixed for one (flow, reporter): serialised once. */
interface FixedParts {
  readonly srcIps: readonly string[] | null;
  readonly dstIps: readonly string[] | null;
  /** Networks are not aggregated by pod prefix, so their ephemeral source ports survive. */
  readonly keepSrcPort: boolean;
  /** `"source_name":...` up to `"source_namespace":...` (no separators around). */
  readonly srcNames: string;
  /** `"source_type":...` and `"source_labels":...`. */
  readonly srcTypeLabels: string;
  /** `"dest_name":...` to the policy trace included, ending in a comma. */
  readonly destToTrace: string;
  readonly hosts: readonly string[];
  readonly reporter: Reporter;
  readonly local: Endpoint;
  readonly isTcp: boolean;
  readonly denied: boolean;
  /** DNS answers, pings, signalling: few small packets. */
  readonly small: boolean;
}

function fixedParts(t: FlowTemplate, reporter: Reporter, nodes: readonly string[], traceForm: TraceForm, shape: RecordShape): FixedParts {
  const src = endFields(t.source, shape);
  const dst = endFields(t.dest, shape);
  const local = reporter === 'src' ? t.source : t.dest;
  const quotedIps = (ips: readonly string[] | null): readonly string[] | null => (ips && ips.length > 0 ? ips.map((ip) => q(ip)) : null);
  const svc = t.service;
  // The compact shape leaves `dest_domains` out when there are none; the full one writes it always.
  const domains = t.domains ? `"dest_domains":${q(t.domains)},` : shape === 'full' ? '"dest_domains":[],' : '';
  return {
    srcIps: quotedIps(src.ips),
    dstIps: quotedIps(dst.ips),
    keepSrcPort: t.source.type === 'net',
    srcNames: `"source_name":${q(src.name)},"source_name_aggr":${q(src.aggr)},"source_namespace":${q(src.namespace)}`,
    srcTypeLabels: `"source_type":"${t.source.type}","source_labels":${src.labels}`,
    destToTrace:
      `"dest_name":${q(dst.name)},"dest_name_aggr":${q(dst.aggr)},"dest_namespace":${q(dst.namespace)},"dest_port":${t.port === null ? 'null' : t.port},` +
      `"dest_type":"${t.dest.type}","dest_labels":${dst.labels},` +
      `"dest_service_namespace":${q(svc?.namespace ?? '-')},"dest_service_name":${q(svc?.name ?? '-')},` +
      `"dest_service_port":${q(svc?.portName ?? '-')},"dest_service_port_num":${svc ? svc.port : 'null'},` +
      domains +
      `"proto":${q(t.proto)},"action":"${t.action}","reporter":"${reporter}",` +
      policiesJson(t, reporter, traceForm, shape),
    hosts: (local.type === 'hep' ? [local.node] : nodes).map((h) => q(h)),
    reporter,
    local,
    isTcp: t.proto === 'tcp',
    denied: t.action === 'deny',
    small: t.proto !== 'tcp',
  };
}

function compileFlow(
  t: FlowTemplate,
  reporter: Reporter,
  nodes: readonly string[],
  traceForm: TraceForm,
  shape: RecordShape,
): CompiledFlow {
  const f = fixedParts(t, reporter, nodes, traceForm, shape);
  const render = shape === 'full' ? fullRender(f, t) : compactRender(f);
  return { template: t, reporter, weight: t.weight, render };
}

function compactRender(f: FixedParts): CompiledFlow['render'] {
  const afterSrcIp = `,${f.srcNames},"source_port":`;
  const afterSrcPort = `,${f.srcTypeLabels},"dest_ip":`;
  const afterDstIp = `,${f.destToTrace}"bytes_in":`;
  const process = f.local.type === 'wep' ? q(f.local.workload.process) : null;
  // A few of Felix's TCP socket stats (Felix writes ~11 and more process fields; a few keep lines near real sizes).
  const tcpZero = ',"tcp_mean_smooth_rtt":0,"tcp_mean_mss":0,"tcp_total_retransmissions":0';
  return (rng, start, end) => {
    const sip = f.srcIps ? (f.srcIps[rng.int(f.srcIps.length)] as string) : 'null';
    const sport = f.keepSrcPort ? 32768 + rng.int(28232) : 'null';
    const dip = f.dstIps ? (f.dstIps[rng.int(f.dstIps.length)] as string) : 'null';
    const c = drawCounters(rng, f.reporter, f.denied, f.small);
    const proc = process
      ? `"process_name":${process},"num_process_names":1,"process_id":"${1000 + rng.int(64000)}","num_process_ids":1`
      : '"process_name":"-","num_process_names":0,"process_id":"-","num_process_ids":0';
    let tcp = tcpZero;
    if (f.isTcp && !f.denied) {
      const rtt = 80 + rng.int(4000);
      const retrans = rng.next() < 0.9 ? 0 : 1 + rng.int(5);
      tcp = `,"tcp_mean_smooth_rtt":${rtt},"tcp_mean_mss":${rng.next() < 0.5 ? 1398 : 1448},"tcp_total_retransmissions":${retrans}`;
    }
    const host = f.hosts[rng.int(f.hosts.length)] as string;
    return (
      `{"start_time":${start},"end_time":${end},"source_ip":${sip}${afterSrcIp}${sport}${afterSrcPort}${dip}${afterDstIp}` +
      `${c.bytesIn},"bytes_out":${c.bytesOut},"num_flows":${c.flows},"num_flows_started":${c.started},"num_flows_completed":${c.completed},` +
      `"packets_in":${c.packetsIn},"packets_out":${c.packetsOut},"http_requests_allowed_in":0,"http_requests_denied_in":0,${proc}` +
      `${tcp},"host":${host}}`
    );
  };
}

/** The arguments a workload's main process runs with (`process_args`), fixed per workload. */
function processArgs(w: Workload): readonly string[] {
  const port = w.ports[0]?.port ?? 8080;
  return [`--config=/etc/${w.name}/config.yaml`, `--listen=0.0.0.0:${port}`, '--log-level=info', `--metrics-port=${9100 + (port % 100)}`];
}

/**
 * Every field of the "Flow log data types" table, in Felix's order: the compact shape's, plus
 * `nat_outgoing_ports` (the SNAT source port when a pod's traffic leaves the cluster), `process_args`
 * and `num_process_args`, `original_source_ips` and `num_original_source_ips`, all eleven `tcp_*`
 * socket stats, and `@timestamp` (the end time in milliseconds).
 */
function fullRender(f: FixedParts, t: FlowTemplate): CompiledFlow['render'] {
  const afterSrcIp = `,${f.srcNames},"nat_outgoing_ports":`;
  const afterNat = ',"source_port":';
  const afterSrcPort = `,${f.srcTypeLabels},"dest_ip":`;
  const afterDstIp = `,${f.destToTrace}"bytes_in":`;
  const w = f.local.type === 'wep' ? f.local.workload : null;
  const process = w ? q(w.process) : null;
  const args = w ? `"process_args":${q(processArgs(w))},"num_process_args":1` : '"process_args":[],"num_process_args":0';
  const natted = f.reporter === 'src' && f.local.type === 'wep' && t.dest.type === 'net' && t.dest.name === 'pub';
  const tcpZero =
    ',"tcp_mean_send_congestion_window":0,"tcp_min_send_congestion_window":0,"tcp_mean_smooth_rtt":0,"tcp_max_smooth_rtt":0,' +
    '"tcp_mean_min_rtt":0,"tcp_max_min_rtt":0,"tcp_mean_mss":0,"tcp_min_mss":0,"tcp_total_retransmissions":0,"tcp_lost_packets":0,' +
    '"tcp_unrecovered_to":0';
  return (rng, start, end) => {
    const sip = f.srcIps ? (f.srcIps[rng.int(f.srcIps.length)] as string) : 'null';
    const nat = natted ? `[${32768 + rng.int(28232)}]` : '[]';
    const sport = f.keepSrcPort ? 32768 + rng.int(28232) : 'null';
    const dip = f.dstIps ? (f.dstIps[rng.int(f.dstIps.length)] as string) : 'null';
    const c = drawCounters(rng, f.reporter, f.denied, f.small);
    const proc = process
      ? `"process_name":${process},"num_process_names":1,"process_id":"${1000 + rng.int(64000)}","num_process_ids":1,${args}`
      : `"process_name":"-","num_process_names":0,"process_id":"-","num_process_ids":0,${args}`;
    let tcp = tcpZero;
    if (f.isTcp && !f.denied) {
      const cwnd = 10 + rng.int(200);
      const minRtt = 40 + rng.int(2000);
      const rtt = minRtt + rng.int(2000);
      const retrans = rng.next() < 0.9 ? 0 : 1 + rng.int(5);
      const mss = rng.next() < 0.5 ? 1398 : 1448;
      tcp =
        `,"tcp_mean_send_congestion_window":${cwnd},"tcp_min_send_congestion_window":${Math.min(cwnd, 10)},` +
        `"tcp_mean_smooth_rtt":${rtt},"tcp_max_smooth_rtt":${rtt + rng.int(3000)},"tcp_mean_min_rtt":${minRtt},"tcp_max_min_rtt":${minRtt + rng.int(200)},` +
        `"tcp_mean_mss":${mss},"tcp_min_mss":${Math.min(mss, 1398)},"tcp_total_retransmissions":${retrans},` +
        `"tcp_lost_packets":${retrans > 0 ? rng.int(retrans + 1) : 0},"tcp_unrecovered_to":0`;
    }
    const host = f.hosts[rng.int(f.hosts.length)] as string;
    return (
      `{"start_time":${start},"end_time":${end},"source_ip":${sip}${afterSrcIp}${nat}${afterNat}${sport}${afterSrcPort}${dip}${afterDstIp}` +
      `${c.bytesIn},"bytes_out":${c.bytesOut},"num_flows":${c.flows},"num_flows_started":${c.started},"num_flows_completed":${c.completed},` +
      `"packets_in":${c.packetsIn},"packets_out":${c.packetsOut},"http_requests_allowed_in":0,"http_requests_denied_in":0,${proc},` +
      `"original_source_ips":null,"num_original_source_ips":0${tcp},"host":${host},"@timestamp":${end * 1000}}`
    );
  };
}
