// Labels and annotations under this project's own prefix: why each rule exists and when things
// changed. They are the engine's memory across runs, so their names are part of the file format.

const PREFIX = 'policy-recommender.io';

export const LABELS = {
  /** Standard Kubernetes label; marks objects (and so files) this project owns. */
  managedBy: 'app.kubernetes.io/managed-by',
  /** Which layer the object belongs to (see Layer). */
  layer: `${PREFIX}/layer`,
} as const;

/** Namespace isolation (one policy per namespace) or microsegmentation (one per workload). */
export type Layer = 'namespace-isolation' | 'microsegmentation';

export const MANAGED_BY = 'policy-recommender';

export const ANNOTATIONS = {
  /** Policy: RFC 3339 time its rules last changed; drives the Learning/Stabilizing/Stable status. */
  lastUpdated: `${PREFIX}/last-updated`,
  /** Policy (microsegmentation): the workload it protects, `<Kind>/<name>`, in the policy's namespace. */
  workload: `${PREFIX}/workload`,
  /** Rule: its category (Domains, Service, Namespace, NetworkSet, Private, Public). */
  category: `${PREFIX}/category`,
  /** Rule: its peer(s), e.g. `namespace:kube-system`, comma-separated when merged. */
  peer: `${PREFIX}/peer`,
  /** Rule: RFC 3339 time it was first added. */
  firstAdded: `${PREFIX}/first-added`,
  /** Rule (open-source Calico): domains seen behind a public rule, comma-separated. */
  domains: `${PREFIX}/domains`,
  /** Policy (Kubernetes flavour, whose rules cannot carry annotations): JSON provenance per rule. */
  rules: `${PREFIX}/rules`,
} as const;

/** Domain lists in annotations stop growing here (annotations are size-limited). */
export const MAX_NOTED_DOMAINS = 50;

/** Time as written in annotations: RFC 3339, UTC, whole seconds. */
export function formatTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function parseTime(text: unknown): number | null {
  if (typeof text !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}
