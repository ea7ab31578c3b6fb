// Goldmane Flow -> FlowRecord. Pure: the validation boundary for Goldmane input, as
// calico-flow-log.ts is for files. Every name is checked against Kubernetes name syntax, every
// enum against the wire contract, every int64 against its range; anything else rejects the flow
// with a fixed reason (never the offending value, so nothing hostile is ever rendered).
//
// Goldmane carries no IPs and no domains: endpoints get `ip: null`, records `destDomains: []`.
// Its policy hits are structured and stay so (src/flows/policy-hit.ts describes the model): the
// kind from the wire enum, the name without `staged:` and the `<tier>.` / `knp.default.` prefix
// Calico up to 3.31 may put in front of it; a profile's name (`kns.<ns>`) in tier __PROFILE__; an
// EndOfTier hit as the triggering policy with the hit's tier and action and rule index -1. A kind
// this project does not model is `Other`, another policy deciding, never a rejected flow: 7 and 8
// (AdminNetworkPolicy, BaselineAdminNetworkPolicy) of 3.30/3.31, any value a later release adds.

import { parseProtocol } from '../../../calico/protocol.ts';
import { memoize } from '../../../util/memo.ts';
import { bareName, PROFILE_TIER } from '../../policy-hit.ts';
import type {
  DestinationService,
  EndpointType,
  FlowEndpoint,
  FlowRecord,
  PolicyHit,
  PolicyHitAction,
  PolicyHitKind,
  PolicyTrace,
} from '../../record.ts';
import {
  isProtocolZero,
  MAX_HITS,
  MAX_LABELS,
  MAX_NAME,
  MAX_TIME,
  NO_STRINGS,
  type NotRead,
  PROTOCOL_ZERO,
  validDnsLabel,
  validEndpointName,
  validLabel,
  validSubdomain,
} from '../../validation.ts';
import { Action, type Int64, PolicyKind, Reporter, EndpointType as WireEndpointType, type WireFlow, type WirePolicyHit } from './wire.ts';

export type ToRecordResult = { ok: true; record: FlowRecord } | NotRead;

/** Aborts one flow with a reason; never escapes goldmaneFlowToRecord. */
class Reject {
  readonly reason: string;
  /** Well formed, but nothing can be learned from it (counted apart from malformed flows). */
  readonly nothingToLearn: boolean;
  constructor(reason: string, nothingToLearn = false) {
    this.reason = reason;
    this.nothingToLearn = nothingToLearn;
  }
}

/** `<253-char prefix>/<63-char name>=<63-char value>`. */
const MAX_LABEL_TEXT = 253 + 1 + 63 + 1 + 63;
const MAX_INDEX = 9999;
const MAX_RULE_INDEX = 999_999;

const ENDPOINT_TYPES: (EndpointType | undefined)[] = [];
ENDPOINT_TYPES[WireEndpointType.WorkloadEndpoint] = 'wep';
ENDPOINT_TYPES[WireEndpointType.HostEndpoint] = 'hep';
ENDPOINT_TYPES[WireEndpointType.NetworkSet] = 'ns';
ENDPOINT_TYPES[WireEndpointType.Network] = 'net';

const HIT_ACTIONS: (PolicyHitAction | undefined)[] = [];
HIT_ACTIONS[Action.Allow] = 'allow';
HIT_ACTIONS[Action.Deny] = 'deny';
HIT_ACTIONS[Action.Pass] = 'pass';

const validProtocol = memoize(parseProtocol);

/** One Goldmane Flow (a FlowResult's `flow`) as a FlowRecord, or why it was rejected. */
export function goldmaneFlowToRecord(flow: WireFlow | null | undefined): ToRecordResult {
  try {
    return { ok: true, record: toRecord(flow) };
  } catch (e) {
    if (e instanceof Reject)
      return e.nothingToLearn ? { ok: false, reason: e.reason, nothingToLearn: true } : { ok: false, reason: e.reason };
    throw e;
  }
}

function toRecord(flow: WireFlow | null | undefined): FlowRecord {
  if (typeof flow !== 'object' || flow === null) throw new Reject('missing field flow');
  const key = flow.Key;
  if (typeof key !== 'object' || key === null) throw new Reject('missing field Key');
  const startTime = int(flow.start_time, 0, MAX_TIME, 'start_time');
  const endTime = int(flow.end_time, 0, MAX_TIME, 'end_time');
  // List's answer for a flow whose only intervals in the window are cut by the window's end
  // (goldmane/pkg/storage/diachronic_flow.go: Within counts them, GetWindows leaves them out):
  // no time and no statistics. list-window.ts asks for whole intervals, so it only comes from a
  // Goldmane whose AGGREGATION_WINDOW is not 15 s.
  if (startTime === 0 && endTime === 0) throw new Reject('no whole aggregation interval in the window', true);
  if (endTime < startTime) throw new Reject('end_time before start_time');

  const action = key.action === Action.Allow ? 'allow' : key.action === Action.Deny ? 'deny' : null;
  if (action === null) throw enumReject(key.action, 'action');
  const reporter = key.reporter === Reporter.Src ? 'src' : key.reporter === Reporter.Dst ? 'dst' : null;
  if (reporter === null) throw enumReject(key.reporter, 'reporter');
  if (typeof key.proto !== 'string' || key.proto.length === 0) throw new Reject('missing field proto');
  if (isProtocolZero(key.proto)) throw new Reject(PROTOCOL_ZERO, true);
  const protocol = key.proto.length > 8 ? null : validProtocol(key.proto);
  if (protocol === null) throw new Reject('invalid proto');

  const started = int(flow.num_connections_started, 0, Number.MAX_SAFE_INTEGER, 'num_connections_started');
  return {
    startTime,
    endTime,
    source: endpoint(key.source_type, key.source_name, key.source_namespace, flow.source_labels, 'source'),
    dest: endpoint(key.dest_type, key.dest_name, key.dest_namespace, flow.dest_labels, 'dest'),
    // proto3 cannot tell an unset port from 0: both mean "no port" (ICMP and other portless protocols).
    destPort: optionalPort(key.dest_port, 'dest_port'),
    destService: service(key.dest_service_name, key.dest_service_namespace, key.dest_service_port_name, key.dest_service_port),
    destDomains: NO_STRINGS,
    protocol,
    action,
    reporter,
    policies: policies(key.policies),
    // Goldmane counts connections, not flow-log records; a flow with none started (long-lived
    // connections only) still is evidence of one.
    numFlows: Math.max(1, started),
  };
}

function enumReject(value: unknown, field: string): Reject {
  return new Reject(value === 0 || value === undefined || value === null ? `missing field ${field}` : `invalid ${field}`);
}

/** An int64 in [min, max]: Number with our loader options, a decimal string with `longs: String`. */
function int(v: Int64 | null | undefined, min: number, max: number, field: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d{1,20}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new Reject(v === undefined || v === null ? `missing field ${field}` : `invalid ${field}`);
  return n;
}

function optionalPort(v: Int64 | null | undefined, field: string): number | null {
  if (v === undefined || v === null) return null;
  const port = int(v, 0, 65535, field);
  return port === 0 ? null : port;
}

function optionalText(v: unknown, field: string): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw new Reject(`invalid ${field}`);
  return v;
}

function endpoint(
  typeValue: number,
  nameValue: string,
  namespaceValue: string,
  labelsValue: string[],
  side: 'source' | 'dest',
): FlowEndpoint {
  const type = typeof typeValue === 'number' ? ENDPOINT_TYPES[typeValue] : undefined;
  if (type === undefined) throw enumReject(typeValue, `${side}_type`);
  const name = optionalText(nameValue, `${side}_name`);
  if (name === null) throw new Reject(`missing field ${side}_name`);
  if (!validName(type, name)) throw new Reject(`invalid ${side}_name`);
  const namespace = optionalText(namespaceValue, `${side}_namespace`);
  if (namespace !== null && (namespace.length > 63 || !validDnsLabel(namespace))) throw new Reject(`invalid ${side}_namespace`);
  if (type === 'wep' && namespace === null) throw new Reject(`missing ${side}_namespace for a workload`);
  return {
    type,
    name,
    // Host endpoints and networks are not namespaced, whatever the flow says.
    namespace: type === 'wep' || type === 'ns' ? namespace : null,
    labels: labels(labelsValue, `${side}_labels`),
    ip: null,
  };
}

function validName(type: EndpointType, name: string): boolean {
  // Goldmane names networks only by class; anything else could not be classified safely.
  if (type === 'net') return name === 'pub' || name === 'pvt';
  return validEndpointName(type, name);
}

function labels(v: unknown, field: string): readonly string[] {
  if (v === undefined || v === null) return NO_STRINGS;
  if (!Array.isArray(v) || v.length > MAX_LABELS) throw new Reject(`invalid ${field}`);
  if (v.length === 0) return NO_STRINGS;
  for (const l of v) if (typeof l !== 'string' || l.length > MAX_LABEL_TEXT || !validLabel(l)) throw new Reject(`invalid ${field}`);
  return v as string[];
}

function service(nameValue: string, namespaceValue: string, portNameValue: string, portValue: Int64): DestinationService | null {
  const name = optionalText(nameValue, 'dest_service_name');
  if (name === null) return null;
  if (name.length > 63 || !validDnsLabel(name)) throw new Reject('invalid dest_service_name');
  const namespace = optionalText(namespaceValue, 'dest_service_namespace');
  if (namespace !== null && (namespace.length > 63 || !validDnsLabel(namespace))) throw new Reject('invalid dest_service_namespace');
  // Port names are IANA service names (or numbers as text); both fit a DNS label.
  const portName = optionalText(portNameValue, 'dest_service_port_name');
  if (portName !== null && (portName.length > 63 || !validDnsLabel(portName))) throw new Reject('invalid dest_service_port_name');
  return { name, namespace, portName, port: optionalPort(portValue, 'dest_service_port') };
}

/** `all` is null: Goldmane has no all_policies list. An empty list is no trace (proto3 cannot tell them apart). */
function policies(v: unknown): PolicyTrace | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object') throw new Reject('invalid policies');
  const trace = v as { enforced_policies?: unknown; pending_policies?: unknown };
  const enforced = hits(trace.enforced_policies);
  const pending = hits(trace.pending_policies);
  return enforced === null && pending === null ? null : { all: null, pending, enforced };
}

function hits(v: unknown): PolicyHit[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.length > MAX_HITS) throw new Reject('invalid policies');
  if (v.length === 0) return null;
  return v.map((h) => policyHit(h as WirePolicyHit));
}

function policyHit(h: WirePolicyHit): PolicyHit {
  if (typeof h !== 'object' || h === null) throw new Reject('invalid policy hit');
  const action = typeof h.action === 'number' ? HIT_ACTIONS[h.action] : undefined;
  if (action === undefined) throw new Reject('invalid policy hit action');
  const index = int(h.policy_index, 0, MAX_INDEX, 'policy hit policy_index');
  if (h.kind === PolicyKind.EndOfTier) {
    // The tier's default action: the hit names the tier, its trigger the policy that selected the flow.
    const tier = hitTier(h.tier);
    const trigger = h.trigger;
    if (typeof trigger !== 'object' || trigger === null) throw new Reject('missing policy hit trigger');
    if (trigger.kind === PolicyKind.EndOfTier || trigger.kind === PolicyKind.Profile) throw new Reject('invalid policy hit trigger');
    return { index, tier, ...policyOf(trigger, tier), action, ruleIndex: -1 };
  }
  const ruleIndex = int(h.rule_index, -1, MAX_RULE_INDEX, 'policy hit rule_index');
  if (h.kind === PolicyKind.Profile)
    return { index, tier: PROFILE_TIER, kind: 'Profile', namespace: null, name: profileName(h), action, ruleIndex };
  const tier = hitTier(h.tier);
  return { index, tier, ...policyOf(h, tier), action, ruleIndex };
}

function hitTier(v: unknown): string {
  const tier = optionalText(v, 'policy hit tier');
  if (tier === null) throw new Reject('missing policy hit tier');
  if (tier.length > 63 || !validDnsLabel(tier)) throw new Reject('invalid policy hit tier');
  return tier;
}

/** `kns.<ns>` (namespace profile), `ksa.<ns>.<sa>`, `projectcalico-default-allow` ... */
function profileName(h: WirePolicyHit): string {
  const name = optionalText(h.name, 'policy hit name');
  if (name === null) {
    const namespace = hitNamespace(h.namespace);
    if (namespace === null) throw new Reject('missing policy hit name');
    return `kns.${namespace}`;
  }
  if (name.length > MAX_NAME || !validSubdomain(name)) throw new Reject('invalid policy hit name');
  return name;
}

function hitNamespace(v: unknown): string | null {
  const namespace = optionalText(v, 'policy hit namespace');
  if (namespace !== null && (namespace.length > 63 || !validDnsLabel(namespace))) throw new Reject('invalid policy hit namespace');
  return namespace;
}

/** Wire kinds (goldmane/proto/api.proto) -> ours, with whether the kind is namespaced. */
const KINDS = new Map<number, { kind: PolicyHitKind; namespaced: boolean }>([
  [PolicyKind.CalicoNetworkPolicy, { kind: 'NetworkPolicy', namespaced: true }],
  [PolicyKind.StagedNetworkPolicy, { kind: 'StagedNetworkPolicy', namespaced: true }],
  [PolicyKind.GlobalNetworkPolicy, { kind: 'GlobalNetworkPolicy', namespaced: false }],
  [PolicyKind.StagedGlobalNetworkPolicy, { kind: 'StagedGlobalNetworkPolicy', namespaced: false }],
  [PolicyKind.NetworkPolicy, { kind: 'KubernetesNetworkPolicy', namespaced: true }],
  [PolicyKind.StagedKubernetesNetworkPolicy, { kind: 'StagedKubernetesNetworkPolicy', namespaced: true }],
  [PolicyKind.ClusterNetworkPolicy, { kind: 'ClusterNetworkPolicy', namespaced: false }],
]);

/** The policy a (non-profile, non-end-of-tier) hit names; `tier` is already valid. */
function policyOf(h: WirePolicyHit, tier: string): Pick<PolicyHit, 'kind' | 'namespace' | 'name'> {
  const namespace = hitNamespace(h.namespace);
  const name = optionalText(h.name, 'policy hit name');
  if (name === null) throw new Reject('missing policy hit name');
  if (name.length > MAX_NAME + 64) throw new Reject('invalid policy hit name');
  if (h.kind === PolicyKind.Unspecified || h.kind === undefined) throw new Reject('missing policy hit kind');
  const known = typeof h.kind === 'number' ? KINDS.get(h.kind) : undefined;
  // A kind this project does not model (7, 8 of 3.30/3.31; a later release's): never ours, so "another policy".
  if (known === undefined) return { kind: 'Other', namespace, name: checkedName(name) };
  if (known.namespaced && namespace === null) throw new Reject('missing policy hit namespace');
  if (!known.namespaced && namespace !== null) throw new Reject('invalid policy hit namespace');
  // Kubernetes policies never carried a tier in their names, only the legacy `knp.default.` /
  // `kcnp.<tier>.` prefixes (as src/flows/policy-hit.ts reads flow logs): only those are dropped.
  if (known.kind === 'KubernetesNetworkPolicy' || known.kind === 'StagedKubernetesNetworkPolicy')
    return { kind: known.kind, namespace, name: checkedName(stripPrefix(name, 'knp.default')) };
  if (known.kind === 'ClusterNetworkPolicy') return { kind: known.kind, namespace, name: checkedName(stripPrefix(name, `kcnp.${tier}`)) };
  return { kind: known.kind, namespace, name: checkedName(bareName(name, tier)) };
}

function stripPrefix(name: string, prefix: string): string {
  const staged = name.startsWith('staged:') ? name.slice(7) : name;
  return staged.startsWith(`${prefix}.`) && staged.length > prefix.length + 1 ? staged.slice(prefix.length + 1) : staged;
}

/** The policy's own name must be a valid object name. */
function checkedName(name: string): string {
  if (name.length > MAX_NAME || !validSubdomain(name)) throw new Reject('invalid policy hit name');
  return name;
}
