// Kubernetes / Calico name syntax. Every name that reaches a file path, a selector or YAML passes
// one of these checks at the boundary, so nothing downstream needs to escape it.

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const HOSTNAME_LABEL = /^[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?$/;

/** RFC 1123 label: namespaces, services, tiers. */
export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && DNS_LABEL.test(value);
}

/** RFC 1123 subdomain: most object names (network sets, policies). */
export function isDnsSubdomain(value: string): boolean {
  return value.length <= 253 && DNS_SUBDOMAIN.test(value);
}

/** A Kubernetes label key: optional DNS-subdomain prefix and `/`, then a name of up to 63 characters. */
export function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (slash !== -1 && !isDnsSubdomain(key.slice(0, slash))) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}

export function isLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE.test(value);
}

/**
 * A DNS name as Calico domain rules accept it: lowercase labels, an optional leading `*.` wildcard.
 * Returns the normalised form (lowercase, no trailing dot) or null.
 */
export function normaliseDomain(raw: string): string | null {
  let name = raw.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length === 0 || name.length > 253) return null;
  const labels = name.split('.');
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (i === 0 && label === '*' && labels.length > 1) continue;
    if (label.length > 63 || !HOSTNAME_LABEL.test(label)) return null;
  }
  return name;
}

/**
 * Calico's `nameRegex` (libcalico-go/lib/validator/v3/validator.go, the `name` tag of `spec.tier`
 * and `services.name`/`namespace`): the DNS-subdomain pattern, without its length limit.
 */
export function isCalicoName(value: string): boolean {
  return DNS_SUBDOMAIN.test(value);
}

/**
 * Why Calico's validator refuses a policy name, or null (validator.go, every release):
 * NetworkPolicy and StagedNetworkPolicy names are DNS labels joined by at most one dot, or
 * `knp.default.` / `ossg.default.` and a DNS subdomain; GlobalNetworkPolicy and
 * StagedGlobalNetworkPolicy names, DNS labels joined by at most one dot. At most 253 characters.
 */
export function calicoPolicyNameError(scope: 'namespaced' | 'global', name: string): string | null {
  const label = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
  const pattern =
    scope === 'global'
      ? new RegExp(`^(${label}\\.)?${label}$`)
      : new RegExp(`^((${label})(\\.${label})?|((?:knp|ossg)\\.default\\.(${label}(\\.${label})*)))$`);
  if (name.length > 253) return 'is longer than 253 characters';
  return pattern.test(name) ? null : 'is not a valid policy name (lowercase DNS labels joined by at most one ".")';
}

/**
 * Up to Calico 3.31, clientv3 refuses a policy whose name does not carry its tier
 * (names.ValidateTieredPolicyName, libcalico-go/lib/names/policy.go): names starting knp.default.,
 * kanp.adminnetworkpolicy., kbanp.baselineadminnetworkpolicy. or ossg. pass; in the default tier a
 * name has no dot or starts with `default.`; in another tier it starts with `<tier>.`.
 */
export function tieredPolicyNameError(name: string, tier: string): string | null {
  if (['knp.default.', 'kanp.adminnetworkpolicy.', 'kbanp.baselineadminnetworkpolicy.', 'ossg.'].some((p) => name.startsWith(p)))
    return null;
  if (tier === 'default' ? !name.includes('.') || name.startsWith('default.') : name.startsWith(`${tier}.`)) return null;
  return `must be named "${tier}.<name>" in tier ${tier} (Calico up to 3.31)`;
}

/** Kubernetes' and Calico's limit on the keys and values of an object's annotations (validateObjectMetaAnnotations). */
export const ANNOTATIONS_SIZE_LIMIT = 256 * 1024;

/**
 * Why Calico refuses a map of annotations, or null (validateObjectMetaAnnotations, every release;
 * also applied to a rule's metadata): keys are qualified names (checked lowercased), values
 * strings, at most 256 KiB of UTF-8 keys and values.
 */
export function annotationsError(annotations: Readonly<Record<string, unknown>>): string | null {
  let size = 0;
  for (const [key, value] of Object.entries(annotations)) {
    if (!isLabelKey(key.toLowerCase())) return `annotation key ${JSON.stringify(key)} is not a qualified name`;
    if (typeof value !== 'string') return `annotation ${JSON.stringify(key)} is not a string`;
    size += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  return size > ANNOTATIONS_SIZE_LIMIT ? `annotations take ${size} bytes, more than ${ANNOTATIONS_SIZE_LIMIT}` : null;
}

/** The length of `s` as Go's encoding/json writes it, quotes included (HTML-safe escaping). */
function goJsonStringLength(s: string): number {
  let n = 2;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\' || ch === '\n' || ch === '\r' || ch === '\t' || ch === '\b' || ch === '\f') n += 2;
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029 || (c >= 0xd800 && c <= 0xdfff)) n += 6;
    else n += Buffer.byteLength(ch);
  }
  return n;
}

function goJsonMapLength(m: Readonly<Record<string, string>>): number {
  const entries = Object.entries(m);
  return 2 + entries.reduce((acc, [k, v]) => acc + goJsonStringLength(k) + 1 + goJsonStringLength(v), 0) + Math.max(0, entries.length - 1);
}

/**
 * The least number of annotation bytes an object takes once Calico stores it through the
 * crd.projectcalico.org/v1 backend (libcalico-go/lib/backend/k8s/resources/resources.go, every
 * release): the v3 metadata as JSON in `projectcalico.org/metadata` (the name only for policies;
 * a creationTimestamp), plus the annotations whose key contains projectcalico.org/ or
 * operator.tigera.io/, kept beside it. The kube-apiserver refuses more than ANNOTATIONS_SIZE_LIMIT.
 */
export function v1StoredAnnotationBytes(meta: {
  readonly name: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}): number {
  let json = 2 + '"creationTimestamp":'.length + 22;
  if (meta.name !== null) json += '"name":'.length + goJsonStringLength(meta.name) + 1;
  if (Object.keys(meta.labels).length > 0) json += 1 + '"labels":'.length + goJsonMapLength(meta.labels);
  if (Object.keys(meta.annotations).length > 0) json += 1 + '"annotations":'.length + goJsonMapLength(meta.annotations);
  const kept = Object.entries(meta.annotations).filter(([k]) => k.includes('projectcalico.org/') || k.includes('operator.tigera.io/'));
  return (
    Buffer.byteLength('projectcalico.org/metadata') +
    json +
    kept.reduce((acc, [k, v]) => acc + Buffer.byteLength(k) + Buffer.byteLength(v), 0)
  );
}
