// The Calico releases whose semantics this project follows (policy order ties, the `<tier>.` name
// prefix, ...), and how to tell which one a cluster runs from the version string Calico records.
//
// What the string holds (read upstream):
// - calico/node writes its own build version into the ClusterInformation named `default`
//   (`spec.calicoVersion`): libcalico-go/lib/clientv3/client.go ensureClusterInformation, called from
//   node/pkg/lifecycle/startup/startup.go with `startup.VERSION` (release-v3.30, set from
//   GIT_VERSION in node/Makefile) or `buildinfo.Version` (release-v3.31 and later, set from
//   GIT_DESCRIPTION in lib.Makefile). Both are `git describe --tags --dirty --always --abbrev=12`:
//   `v3.31.2` for a release; `v3.32.1-125-gde60d98e97` for a build after a patch release;
//   `v3.34.0-0.dev-67-g87c15906f2` for a development build (the `vX.Y.0-0.dev` tags mark where
//   master starts the next minor); a `-dirty` suffix; a bare commit hash when no tag is reachable;
//   `<unknown>` outside a git checkout.
// - Calico Enterprise keeps the open-source base version in `spec.calicoVersion` and its own release
//   in `spec.cnxVersion` (tigera/api pkg/apis/projectcalico/v3/clusterinfo.go) and, in newer CRDs,
//   `spec.calicoEnterpriseVersion` (tigera/operator
//   pkg/imports/crds/enterprise/v1.crd.projectcalico.org/crd.projectcalico.org_clusterinformations.yaml);
//   `calicoctl version` prints them as "Cluster Calico Version: v3.25.1" and "Cluster Calico
//   Enterprise Version: v3.17.1". Enterprise releases have early-preview pre-releases such as
//   `v3.22.0-2.0` (release/internal/version/version.go, release-v3.33).
// Pure: no I/O.

/** A supported Calico minor release, or `main` for anything newer than the newest of them. */
export type CalicoRelease = '3.30' | '3.31' | '3.32' | '3.33' | 'main';

/** Oldest first; `main` is newer than every numbered release. */
export const CALICO_RELEASES: readonly CalicoRelease[] = ['3.30', '3.31', '3.32', '3.33', 'main'];

/** The release assumed when nothing says otherwise. */
export const CURRENT_CALICO_RELEASE: CalicoRelease = '3.33';

const OLDEST_MINOR = 30;
const NEWEST_MINOR = 33;

/** A value that is not one of CALICO_RELEASES (the message says which values are). */
export class CalicoReleaseError extends Error {
  override readonly name = 'CalicoReleaseError';
}

/**
 * A configured release: exactly one of `3.30`, `3.31`, `3.32`, `3.33`, `main`, as a string.
 * Throws CalicoReleaseError with a message fit for a configuration error.
 */
export function parseCalicoRelease(value: unknown): CalicoRelease {
  const expected = `one of ${CALICO_RELEASES.map((r) => `"${r}"`).join(', ')}`;
  if (typeof value === 'number') {
    // YAML reads an unquoted 3.30 as the number 3.3: the intended release cannot be told apart.
    throw new CalicoReleaseError(`must be ${expected} written as a quoted string (YAML reads ${value} as a number; write "${value}")`);
  }
  if (typeof value !== 'string') throw new CalicoReleaseError(`must be ${expected}`);
  if (!(CALICO_RELEASES as readonly string[]).includes(value)) {
    throw new CalicoReleaseError(`must be ${expected}, not "${printable(value)}"`);
  }
  return value as CalicoRelease;
}

/** Is `release` the same as or newer than `minimum`? */
export function calicoReleaseAtLeast(release: CalicoRelease, minimum: CalicoRelease): boolean {
  return CALICO_RELEASES.indexOf(release) >= CALICO_RELEASES.indexOf(minimum);
}

/** What a version string says: the release it belongs to, or why it gives none. */
export type CalicoVersionReading = { readonly release: CalicoRelease } | { readonly release: null; readonly reason: string };

// `v<major>.<minor>.<patch>` then, optionally, what git describe or a pre-release adds
// (`-0.dev-67-g87c15906f2`, `-125-gde60d98e97`, `-dirty`, `-2.0`).
const VERSION = /^v?(\d{1,6})\.(\d{1,6})\.(\d{1,6})(?:[-+][0-9A-Za-z.+-]*)?$/;
const MAX_VERSION_LENGTH = 128;

/** The release a Calico version string (as `spec.calicoVersion` holds it) belongs to. */
export function calicoReleaseOfVersion(version: string): CalicoVersionReading {
  const match = version.length <= MAX_VERSION_LENGTH ? VERSION.exec(version) : null;
  if (match === null) {
    return {
      release: null,
      reason: `"${printable(version)}" is not a Calico version (vMAJOR.MINOR.PATCH, as calico/node's build records it)`,
    };
  }
  const major = Number(match[1]);
  const minor = Number(match[2]);
  if (major > 3 || (major === 3 && minor > NEWEST_MINOR)) return { release: 'main' };
  if (major < 3 || minor < OLDEST_MINOR) {
    return { release: null, reason: `Calico ${version} is older than 3.${OLDEST_MINOR}, the oldest release supported` };
  }
  return { release: `3.${minor}` as CalicoRelease };
}

/** A value quoted in a message: bounded, one line, no control characters. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return line.length > 64 ? `${line.slice(0, 61)}...` : line;
}
