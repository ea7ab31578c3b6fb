// src/calico/release.ts: the releases we follow, the configured value, and the release a version
// string recorded by Calico belongs to. The version strings are facts, each from where it is named.

import { describe, expect, test } from '@jest/globals';
import {
  CALICO_RELEASES,
  type CalicoRelease,
  CalicoReleaseError,
  CURRENT_CALICO_RELEASE,
  calicoReleaseAtLeast,
  calicoReleaseOfVersion,
  parseCalicoRelease,
} from '../../src/calico/release.ts';

describe('parseCalicoRelease (a configured value)', () => {
  test.each(['3.30', '3.31', '3.32', '3.33', 'main'])('%s is a release', (value) => {
    expect(parseCalicoRelease(value)).toBe(value);
  });

  test.each([
    ['3.29', 'must be one of "3.30", "3.31", "3.32", "3.33", "main", not "3.29"'],
    ['v3.31', 'must be one of "3.30", "3.31", "3.32", "3.33", "main", not "v3.31"'],
    ['3.31.2', 'must be one of "3.30", "3.31", "3.32", "3.33", "main", not "3.31.2"'],
    ['', 'must be one of "3.30", "3.31", "3.32", "3.33", "main", not ""'],
    ['ma\nin', 'must be one of "3.30", "3.31", "3.32", "3.33", "main", not "ma?in"'],
    [null, 'must be one of "3.30", "3.31", "3.32", "3.33", "main"'],
    [{ release: '3.31' }, 'must be one of "3.30", "3.31", "3.32", "3.33", "main"'],
    // YAML reads an unquoted 3.30 as 3.3.
    [3.3, 'must be one of "3.30", "3.31", "3.32", "3.33", "main" written as a quoted string (YAML reads 3.3 as a number; write "3.3")'],
    [3.31, 'must be one of "3.30", "3.31", "3.32", "3.33", "main" written as a quoted string (YAML reads 3.31 as a number; write "3.31")'],
  ])('%p is refused: %s', (value, message) => {
    expect(() => parseCalicoRelease(value)).toThrow(new CalicoReleaseError(message));
  });

  test('the current release is 3.33, one of the releases', () => {
    expect(CURRENT_CALICO_RELEASE).toBe('3.33');
    expect(CALICO_RELEASES).toContain(CURRENT_CALICO_RELEASE);
  });
});

test('releases are ordered, main last', () => {
  expect(calicoReleaseAtLeast('3.32', '3.32')).toBe(true);
  expect(calicoReleaseAtLeast('3.33', '3.32')).toBe(true);
  expect(calicoReleaseAtLeast('main', '3.32')).toBe(true);
  expect(calicoReleaseAtLeast('3.31', '3.32')).toBe(false);
  expect(calicoReleaseAtLeast('3.30', 'main')).toBe(false);
  expect(calicoReleaseAtLeast('3.30', '3.30')).toBe(true);
});

describe('calicoReleaseOfVersion (spec.calicoVersion)', () => {
  const cases: [string, CalicoRelease, string][] = [
    // Release tags (`git tag` of projectcalico/calico): what a release build records.
    ['v3.30.0', '3.30', 'tag v3.30.0'],
    ['v3.30.7', '3.30', 'tag v3.30.7'],
    ['v3.31.2', '3.31', 'tag v3.31.2'],
    ['v3.32.1', '3.32', 'tag v3.32.1'],
    // `git describe --tags --dirty --always --abbrev=12` (lib.Makefile GIT_DESCRIPTION) of builds between tags.
    ['v3.32.1-125-gde60d98e97', '3.32', 'git describe of release-v3.32, August 2026'],
    ['v3.33.0-0.dev-1478-g6609dea547', '3.33', 'git describe of release-v3.33 before v3.33.0'],
    ['v3.34.0-0.dev-67-g87c15906f2', 'main', 'git describe of master (HEAD), August 2026'],
    ['v3.34.0-0.dev', 'main', 'tag v3.34.0-0.dev: where master starts 3.34'],
    ['v3.31.2-dirty', '3.31', 'git describe --dirty of a modified checkout'],
    // A pre-release form the release tooling knows (release/internal/version/version_test.go, release-v3.33).
    ['v3.31.0-1.0', '3.31', 'an early-preview version'],
    // calicoctl compares versions without the leading v (calicoctl/commands/common/version_mismatch.go).
    ['3.31.2', '3.31', 'without the v'],
    ['v3.40.1', 'main', 'a minor release newer than 3.33'],
    ['v4.0.0', 'main', 'a major release newer than 3'],
  ];
  test.each(cases)('%s is %s (%s)', (version, release) => {
    expect(calicoReleaseOfVersion(version)).toEqual({ release });
  });

  const older: [string, string][] = [
    ['v3.29.7', 'tag v3.29.7'],
    ['v3.29.0-0.dev-424-gfd40f1838223', 'release/internal/version/version_test.go TestVersionStream, release-v3.33'],
    ['v3.28.0-1.0-0.dev-424-gfd40f1838223', 'release/internal/version/version_test.go TestVersionStream, release-v3.33'],
    // Calico Enterprise's own version (calicoq version's sample output, docs.tigera.io Calico
    // Enterprise 3.22): not an open-source release, and never what spec.calicoVersion holds.
    ['v3.22.0-2.0-calient-0.dev-1530-g7bc5f3aad496', 'Calico Enterprise 3.22 build'],
    ['v2.6.12', 'Calico 2'],
  ];
  test.each(older)('%s is older than 3.30 (%s)', (version) => {
    const reading = calicoReleaseOfVersion(version);
    expect(reading).toEqual({ release: null, reason: `Calico ${version} is older than 3.30, the oldest release supported` });
  });

  const unreadable: [string, string][] = [
    ['<unknown>', 'GIT_DESCRIPTION outside a git checkout (lib.Makefile)'],
    ['87c15906f2ab', 'git describe --always where no tag is reachable'],
    ['', 'nothing recorded'],
    ['v3.31', 'no patch number'],
    ['v3.31.2 ', 'trailing space'],
    ['v3.31.2\nv3.30.0', 'two lines'],
    [`v3.31.2-${'x'.repeat(200)}`, 'longer than any version'],
  ];
  test.each(unreadable)('%p is not a version (%s)', (version) => {
    const reading = calicoReleaseOfVersion(version);
    expect(reading.release).toBeNull();
    expect(reading).toHaveProperty(
      'reason',
      expect.stringMatching(/^".*" is not a Calico version \(vMAJOR\.MINOR\.PATCH, as calico\/node's build records it\)$/),
    );
    // Server text in a message stays one bounded line.
    expect((reading as { reason: string }).reason).not.toContain('\n');
    expect((reading as { reason: string }).reason.length).toBeLessThan(200);
  });
});
