// The checks every flow source applies at its boundary (files, Goldmane, Elasticsearch), in one
// place so the sources cannot drift apart: whatever becomes a FlowRecord has valid Kubernetes
// names and bounded sizes (policy traces: policy-hit.ts). Flow sources repeat the same names and
// trace entries millions of times, so each distinct value is checked once (bounded memo).

import { isDnsLabel, isDnsSubdomain, isLabelKey, isLabelValue, normaliseDomain } from '../calico/names.ts';
import { memoize } from '../util/memo.ts';
import type { EndpointType } from './record.ts';

export const MAX_NAME = 253;
export const MAX_LABELS = 256;
export const MAX_HITS = 64;
export const MAX_DOMAINS = 64;
/** Above any plausible Unix time in seconds (year 5138). */
export const MAX_TIME = 1e11;
/** Shared by every record without labels or domains: one less allocation per record. */
export const NO_STRINGS: readonly string[] = Object.freeze([]);
export const ENDPOINT_TYPES: ReadonlySet<string> = new Set(['wep', 'hep', 'ns', 'net']);

/**
 * Why an input (a line, a bucket) became no record. `nothingToLearn`: the input is well formed,
 * but no recommendation can be learned from what it describes (absent: the input is malformed).
 */
export interface NotRead {
  readonly ok: false;
  readonly reason: string;
  readonly nothingToLearn?: true;
}

/**
 * `reporter` (docs: "Flow log data types", Calico Enterprise / Cloud): `src` or `dst`, the end
 * whose node wrote the log; `fwd`, a node that forwarded the flow without being either end; and
 * both at once, `dst, fwd` ("Apply policy to forwarded traffic" page). The `src` / `dst` part is
 * what the record is about (its `enforced_policies` are that end's); the forwarding node's
 * `transit_policies` belong to host endpoints, not to the workloads recommendations are for.
 * Null when the value is none of these.
 */
export function parseReporter(value: unknown): 'src' | 'dst' | 'fwd' | null {
  if (value === 'src' || value === 'dst' || value === 'fwd') return value;
  if (typeof value !== 'string' || value.length > 16) return null;
  const parts = value.split(',').map((p) => p.trim());
  const ends = parts.filter((p) => p === 'src' || p === 'dst');
  const forwarded = parts.filter((p) => p === 'fwd');
  if (ends.length + forwarded.length !== parts.length || ends.length > 1 || forwarded.length > 1) return null;
  return ends[0] ?? 'fwd';
}

/** The reason a `fwd` record is skipped. */
export const FORWARDED_ONLY = 'reporter fwd (forwarded through a node that is neither end: no policy of either endpoint decided it there)';

/**
 * Felix names a protocol it has no name for by its number (felix/collector/utils/utils.go
 * ProtoToString, release-v3.30 to HEAD), 0 included; but no Calico rule can match protocol 0
 * (libcalico-go/lib/validator/v3/validator.go validateProtocol, HEAD: "an integer 1-255").
 */
export function isProtocolZero(value: unknown): boolean {
  return value === 0 || value === '0';
}

export const PROTOCOL_ZERO = 'proto 0 (no Calico rule can match IP protocol 0)';

/** Workload names in aggregated logs are pod-name prefixes ending in `*`; `-` when unknown. */
const WORKLOAD_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9*])?$|^\*$|^-$/;
/** Networks (`pub`, `pvt`) and host names: printable ASCII without quotes or separators. */
const OTHER_NAME = /^[A-Za-z0-9][-A-Za-z0-9._*]*$/;

export const validDnsLabel = memoize(isDnsLabel);
export const validSubdomain = memoize(isDnsSubdomain);
const validWorkloadName = memoize((name) => WORKLOAD_NAME.test(name));
const validOtherName = memoize((name) => OTHER_NAME.test(name));

/** A `key=value` Kubernetes label, as flow logs write them. */
export const validLabel = memoize((text) => {
  const eq = text.indexOf('=');
  return eq > 0 && isLabelKey(text.slice(0, eq)) && isLabelValue(text.slice(eq + 1));
});

/** Label lists found valid, by their last entry (a list repeats with every record of its endpoint): whole lists compared, not each label looked up. */
const knownLabelLists = new Map<string, (readonly string[])[]>();
let knownLabelListBytes = 0;
const LABEL_LISTS_MAX_BYTES = 4 * 1024 * 1024;
/** Lists kept per last entry (more are checked label by label). */
const LABEL_LISTS_PER_KEY = 8;

/**
 * Is every entry a string and a valid `key=value` label (validLabel)? A list equal to one found
 * valid before is known without looking its labels up one by one: flow logs repeat an
 * endpoint's list with every record of it. Bounded by bytes (cleared when full).
 */
export function validLabelList(list: readonly unknown[]): boolean {
  const n = list.length;
  if (n === 0) return true;
  const last = list[n - 1];
  if (typeof last !== 'string') return false;
  const known = knownLabelLists.get(last);
  if (known !== undefined) for (const k of known) if (sameStrings(k, list)) return true;
  let bytes = 64;
  for (const l of list) {
    if (typeof l !== 'string' || !validLabel(l)) return false;
    bytes += 2 * l.length + 16;
  }
  if (bytes > LABEL_LISTS_MAX_BYTES) return true;
  if (knownLabelListBytes + bytes > LABEL_LISTS_MAX_BYTES) {
    knownLabelLists.clear();
    knownLabelListBytes = 0;
  }
  const copy = list.slice() as string[];
  const same = knownLabelLists.get(last);
  if (same === undefined) knownLabelLists.set(last, [copy]);
  else if (same.length < LABEL_LISTS_PER_KEY) same.push(copy);
  else return true;
  knownLabelListBytes += bytes;
  return true;
}

function sameStrings(known: readonly string[], list: readonly unknown[]): boolean {
  if (known.length !== list.length) return false;
  for (let i = 0; i < known.length; i++) if (known[i] !== list[i]) return false;
  return true;
}

export function validEndpointName(type: EndpointType, name: string): boolean {
  if (name.length === 0 || name.length > MAX_NAME) return false;
  switch (type) {
    case 'ns':
      return validSubdomain(name);
    case 'wep':
      return validWorkloadName(name);
    default:
      return validOtherName(name);
  }
}

/** Normalised domains (lowercase, no trailing dot), or null when any entry is not a DNS name. */
export function normalisedDomains(list: readonly unknown[]): string[] | null {
  if (list.length > MAX_DOMAINS) return null;
  const out: string[] = [];
  for (const d of list) {
    const name = typeof d === 'string' ? normaliseDomain(d.trim()) : null;
    if (name === null) return null;
    out.push(name);
  }
  return out;
}
