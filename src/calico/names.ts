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
