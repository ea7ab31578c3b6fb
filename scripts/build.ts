// `npm run build`: src/ compiled to JavaScript in dist/ (or the directory given), with source maps
// (holding their sources, which the package does not ship) and type declarations, by the
// TypeScript compiler with tsconfig.build.json; then the files of src/ that are not TypeScript
// (the Goldmane .proto) copied beside the modules that read them. dist/ is emptied first, so
// nothing compiled from a deleted source survives.

import { spawnSync } from 'node:child_process';
import { cp, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const out = resolve(process.argv[2] ?? join(ROOT, 'dist'));
// typescript's package.json "bin" (its exports do not include bin/tsc).
const tsc = join(dirname(fileURLToPath(import.meta.resolve('typescript/package.json'))), 'bin', 'tsc');

await rm(out, { recursive: true, force: true });
const compiled = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' });
if (compiled.status !== 0) {
  console.error(`build: tsc ${compiled.signal ?? `exited ${compiled.status}`}`);
  process.exit(1);
}
await cp(join(ROOT, 'src'), out, { recursive: true, filter: (source) => !source.endsWith('.ts') });
