// The Calico releases whose rules the simulator (and, later, the engine) follows where releases
// differ. `main` is projectcalico/calico's main branch.

export const CALICO_VERSIONS = ['3.30', '3.31', '3.32', '3.33', 'main'] as const;
export type CalicoVersion = (typeof CALICO_VERSIONS)[number];

/**
 * The newest released Calico: v3.32.1 (tagged June 2026). release-v3.33 is branched but has no
 * v3.33.0 tag yet (August 2026).
 */
export const CURRENT_CALICO_VERSION: CalicoVersion = '3.32';

export function isCalicoVersion(value: unknown): value is CalicoVersion {
  return typeof value === 'string' && (CALICO_VERSIONS as readonly string[]).includes(value);
}

/** Is `version` the release `min` or a later one? */
export function calicoAtLeast(version: CalicoVersion, min: CalicoVersion): boolean {
  return CALICO_VERSIONS.indexOf(version) >= CALICO_VERSIONS.indexOf(min);
}
