// The folder layout is the architecture (README "Project layout"): front ends (app/, cli/) over the
// pipeline (flows/ in, plan/ out), over the pure core; adapters at the edges. Biome's
// noImportCycles keeps out circles; this keeps out arrows from a lower layer to a higher one,
// type-only imports included (an arrow is an arrow), by reading every import of src/.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Folders of the pure core: no I/O beyond the loaders the README names, and none of the layers above. */
const CORE = ['engine', 'simulate', 'tree', 'yaml', 'calico', 'cilium', 'config', 'util'];
/** The flow records themselves, which the core learns from and decides (types and their helpers). */
const RECORD_MODEL = ['flows/record.ts', 'flows/source.ts'];

/** What each layer must not import (a folder, or a folder/sub-folder), by the importing file's folder. */
const FORBIDDEN: ReadonlyArray<readonly [layer: readonly string[], forbidden: readonly string[]]> = [
  [CORE, ['app', 'cli', 'plan', 'cluster', 'generator', 'flows']],
  [['plan'], ['app', 'cli', 'cluster', 'generator', 'flows/sources']],
  [['flows'], ['app', 'cli', 'plan', 'cluster', 'generator']],
  [
    ['cluster', 'generator'],
    ['app', 'cli'],
  ],
];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every module a file names: static imports and re-exports (type-only too) and dynamic imports. */
function importsOf(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+'([^']+)'/g)) specs.push(m[1]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+'([^']+)'/g)) specs.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) specs.push(m[1]!);
  return specs;
}

const within = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`);

interface Arrow {
  readonly from: string;
  readonly to: string;
}

function arrows(): Arrow[] {
  const out: Arrow[] = [];
  for (const file of filesUnder(SRC)) {
    const from = relative(SRC, file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      out.push({ from, to: relative(SRC, resolve(dirname(file), spec)) });
    }
  }
  return out;
}

describe('layers', () => {
  const all = arrows();

  test('the reader of imports finds them (a check that finds nothing proves nothing)', () => {
    expect(importsOf("import type { A } from './a.ts';\nexport { b } from '../b.ts';\nconst c = await import('./c.ts');")).toEqual([
      './a.ts',
      '../b.ts',
      './c.ts',
    ]);
    expect(all.length).toBeGreaterThan(500);
    expect(all).toContainEqual({ from: 'cli/main.ts', to: 'cli/simulate-directory.ts' });
  });

  test.each(FORBIDDEN)('%j imports nothing of %j', (layer, forbidden) => {
    const wrong = all.filter(
      (a) =>
        layer.some((l) => within(a.from, l)) &&
        forbidden.some((f) => within(a.to, f)) &&
        !(RECORD_MODEL.includes(a.to) && !layer.includes('flows')),
    );
    expect(wrong.map((a) => `${a.from} -> ${a.to}`)).toEqual([]);
  });

  test('src/ never imports tests, benchmarks or scripts', () => {
    expect(all.filter((a) => a.to.startsWith('..')).map((a) => `${a.from} -> ${a.to}`)).toEqual([]);
  });
});
