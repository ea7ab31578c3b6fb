// Calico's own objects as the Kubernetes API serves them, read into plain validated values: the
// ClusterInformation (which Calico release runs), NetworkSets and GlobalNetworkSets (their labels
// and nets), IPPools (which IP families the cluster uses). Pure: no I/O.
//
// Calico serves them in two API groups, with one difference that matters here:
// - `projectcalico.org/v3`: Calico's API server (an aggregated API; 3.30 and later), or from 3.32 the
//   native v3 CRDs. Labels are the object's own `metadata.labels`.
// - `crd.projectcalico.org/v1`: the CRDs Calico stores them in (unless the cluster runs the native v3
//   CRDs). The same `spec` (libcalico-go/lib/backend/k8s/resources/{clusterinfo,networkset,
//   globalnetworkset,ippool}.go decode the v1 objects into the v3 types, release-v3.30 to HEAD), but
//   libcalico-go writes the v3 metadata as JSON into the annotation `projectcalico.org/metadata`
//   and keeps on the v1 object only the labels whose key contains `projectcalico.org/` or
//   `operator.tigera.io/`. Reading merges the v1 object's labels with the annotation's, the
//   annotation winning, and an object whose annotation does not parse is skipped
//   (libcalico-go/lib/backend/k8s/resources/resources.go ConvertCalicoResourceToK8sResource /
//   ConvertK8sResourceToCalicoResource and list_pager.go pagedList, release-v3.30 and release-v3.33).

import { isDnsLabel, isDnsSubdomain } from '../calico/names.ts';
import { formatCidr, parseCidr } from '../calico/nets.ts';
import { type CalicoVersionReading, calicoReleaseOfVersion } from '../calico/release.ts';
import { at, validLabels } from './items.ts';

type CalicoApiGroup = 'projectcalico.org' | 'crd.projectcalico.org';

export interface CalicoApi {
  readonly group: CalicoApiGroup;
  readonly version: 'v3' | 'v1';
}

/** In the order they are tried: the API Calico documents first, then the CRDs that store it. */
export const CALICO_APIS: readonly CalicoApi[] = [
  { group: 'projectcalico.org', version: 'v3' },
  { group: 'crd.projectcalico.org', version: 'v1' },
];

export interface ClusterNetworkSet {
  readonly name: string;
  /** null for a GlobalNetworkSet. */
  readonly namespace: string | null;
  /**
   * The set's own labels. Felix adds `projectcalico.org/namespace` (the set's namespace) to a
   * namespaced set's labels and nothing else to either kind
   * (libcalico-go/lib/backend/syncersv1/updateprocessors/{networkset,globalnetworkset}processor.go,
   * release-v3.30 to HEAD); that label is left out here even when the object carries it, since
   * Felix overwrites it.
   */
  readonly labels: Readonly<Record<string, string>>;
  /** Masked CIDRs (a bare address becomes /32 or /128), in their order, without repeats. */
  readonly nets: readonly string[];
}

export interface ClusterIpPool {
  readonly name: string;
  /** The masked CIDR. */
  readonly cidr: string;
  /** No new addresses from this pool; those already assigned stay. */
  readonly disabled: boolean;
}

const NAMESPACE_LABEL = 'projectcalico.org/namespace';
const METADATA_ANNOTATION = 'projectcalico.org/metadata';
const ENTERPRISE_VERSION = /^v?\d{1,6}\.\d{1,6}\.\d{1,6}[0-9A-Za-z.+-]{0,64}$/;

/** A network set, or the reason the object is not one. `invalidNets`: indexes of nets Felix ignores. */
export function networkSetFrom(
  item: unknown,
  api: CalicoApi,
  global: boolean,
): { readonly set: ClusterNetworkSet; readonly invalidNets: readonly number[] } | { readonly invalid: string } {
  const name = at(item, 'metadata', 'name');
  const namespace = global ? null : at(item, 'metadata', 'namespace');
  if (typeof name !== 'string' || !isDnsSubdomain(name)) return { invalid: 'invalid name' };
  if (namespace !== null && (typeof namespace !== 'string' || !isDnsLabel(namespace))) return { invalid: 'invalid namespace' };
  const raw = rawLabels(item, api);
  if ('invalid' in raw) return raw;
  const labels = validLabels(raw.labels, global ? new Set() : new Set([NAMESPACE_LABEL]));
  if (typeof labels === 'string') return { invalid: labels };
  const listed = at(item, 'spec', 'nets');
  if (listed !== undefined && listed !== null && !Array.isArray(listed)) return { invalid: 'spec.nets is not a list' };
  // Felix skips a net it cannot parse and keeps the rest of the set (networksetprocessor.go).
  const nets = new Set<string>();
  const invalidNets: number[] = [];
  ((listed as unknown[] | null | undefined) ?? []).forEach((entry, index) => {
    const net = typeof entry === 'string' ? canonicalNet(entry, true) : null;
    if (net === null) invalidNets.push(index);
    else nets.add(net);
  });
  return { set: { name, namespace, labels, nets: [...nets] }, invalidNets };
}

/** An IP pool, or the reason the object is not one. */
export function ipPoolFrom(item: unknown): ClusterIpPool | string {
  const name = at(item, 'metadata', 'name');
  if (typeof name !== 'string' || !isDnsSubdomain(name)) return 'invalid name';
  // A pool's CIDR always has a prefix length (libcalico-go/lib/clientv3/ippool.go parses it with
  // net.ParseCIDR, release-v3.33).
  const text = at(item, 'spec', 'cidr');
  const cidr = typeof text === 'string' ? canonicalNet(text, false) : null;
  if (cidr === null) return 'invalid spec.cidr';
  const disabled = at(item, 'spec', 'disabled') ?? false;
  if (typeof disabled !== 'boolean') return 'invalid spec.disabled';
  return { name, cidr, disabled };
}

/** The IP families of the pools (disabled ones too: the addresses they assigned stay in use). */
export function ipFamilies(pools: readonly ClusterIpPool[]): { readonly ipv4: boolean; readonly ipv6: boolean } {
  const versions = new Set(pools.map((p) => parseCidr(p.cidr)?.version));
  return { ipv4: versions.has(4), ipv6: versions.has(6) };
}

/**
 * The release the ClusterInformation `default` names in `spec.calicoVersion` (see
 * src/calico/release.ts for what that field holds), or why it names none.
 */
export function calicoReleaseFrom(clusterInformation: unknown): CalicoVersionReading {
  const version = at(clusterInformation, 'spec', 'calicoVersion');
  const enterprise = [at(clusterInformation, 'spec', 'calicoEnterpriseVersion'), at(clusterInformation, 'spec', 'cnxVersion')].find(
    (v): v is string => typeof v === 'string' && v !== '',
  );
  // Enterprise's own version is only quoted when it looks like one (it is server text).
  const product = enterprise === undefined ? '' : `Calico Enterprise${ENTERPRISE_VERSION.test(enterprise) ? ` ${enterprise}` : ''}: `;
  if (typeof version !== 'string' || version === '') {
    return {
      release: null,
      reason: `${product}the ClusterInformation default has no spec.calicoVersion (calico/node records it when it starts)`,
    };
  }
  const reading = calicoReleaseOfVersion(version);
  return reading.release === null ? { release: null, reason: `${product}${reading.reason}` } : reading;
}

/**
 * The labels Calico reads for the object, not validated yet: its own (v3); merged with those of the
 * `projectcalico.org/metadata` annotation (v1).
 */
function rawLabels(item: unknown, api: CalicoApi): { readonly labels: unknown } | { readonly invalid: string } {
  const own = at(item, 'metadata', 'labels');
  if (api.version === 'v3') return { labels: own };
  const annotation = at(item, 'metadata', 'annotations', METADATA_ANNOTATION);
  if (annotation === undefined) return { labels: own };
  let stored: unknown;
  try {
    stored = typeof annotation === 'string' ? JSON.parse(annotation) : undefined;
  } catch {
    stored = undefined;
  }
  if (!isMap(stored)) return { invalid: `unreadable ${METADATA_ANNOTATION} annotation` };
  const storedLabels = at(stored, 'labels');
  if (storedLabels === undefined || storedLabels === null) return { labels: own };
  if (own === undefined || own === null) return { labels: storedLabels };
  return isMap(own) && isMap(storedLabels) ? { labels: { ...own, ...storedLabels } } : { invalid: 'labels are not a map' };
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The masked form of a CIDR (or of a bare address, when allowed), or null when it is not one. */
function canonicalNet(text: string, bareAddress: boolean): string | null {
  if (!bareAddress && !text.includes('/')) return null;
  // Node's isIP accepts an IPv6 zone (`fe80::1%eth0`), Go's net.ParseIP / ParseCIDR do not.
  if (text.includes('%')) return null;
  const cidr = parseCidr(text);
  return cidr === null ? null : formatCidr(cidr);
}
