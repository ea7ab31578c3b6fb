// Golden files (release-please's __snapshots__ habit): what people read, rendered from fixed data
// and compared byte for byte with a file committed beside the test, so that a change to it is a
// reviewed diff. `UPDATE_GOLDEN=1` rewrites them; under CI a missing one fails instead of being
// written, so a golden file cannot be skipped by forgetting to commit it.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from '@jest/globals';

/** Compares `rendered` with the golden file at `url` (written first when missing, or with UPDATE_GOLDEN=1). */
export function expectGolden(url: URL, rendered: string): void {
  const path = fileURLToPath(url);
  if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(path)) {
    if (process.env['CI'] === 'true' && process.env['UPDATE_GOLDEN'] !== '1')
      throw new Error(`${path} is missing: run with UPDATE_GOLDEN=1 and commit it`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, rendered);
  }
  expect(rendered).toBe(readFileSync(path, 'utf8'));
}
