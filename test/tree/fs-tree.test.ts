// writeTree: every file or none, never through a link or over something that is not a file, with
// each directory prepared once however many files it receives.

import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from '@jest/globals';
import { loadTree, TreeWriteError, writeTree } from '../../src/tree/fs-tree.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fs-tree-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('writes many files into many directories, replacing what was there, and leaves no temporary file', async () => {
  const out = join(dir, 'out');
  await mkdir(join(out, 'ns-1'), { recursive: true });
  await writeFile(join(out, 'ns-1', 'a.yaml'), 'old\n');
  const changes = new Map<string, string>();
  for (let n = 0; n < 50; n++) for (let w = 0; w < 4; w++) changes.set(`ns-${n}/${'abcd'[w]}.yaml`, `ns ${n} file ${w}\n`);
  changes.set('kustomization.yaml', 'resources: []\n');
  await writeTree(out, changes);
  expect(Object.fromEntries(await loadTree(out))).toEqual(Object.fromEntries(changes));
  const everything = await readdir(out, { recursive: true });
  expect(everything.filter((f) => f.includes('.tmp'))).toEqual([]);
  expect(await readFile(join(out, 'ns-1', 'a.yaml'), 'utf8')).toBe('ns 1 file 0\n');
});

test('refuses a target that is not a regular file (a directory, a symbolic link), and writes nothing', async () => {
  const out = join(dir, 'out');
  await mkdir(join(out, 'ns', 'b.yaml'), { recursive: true });
  const write = () =>
    writeTree(
      out,
      new Map([
        ['ns/a.yaml', 'a\n'],
        ['other/c.yaml', 'c\n'],
        ['ns/b.yaml', 'b\n'],
      ]),
    );
  await expect(write()).rejects.toThrow(new TreeWriteError('refusing to write ns/b.yaml: not a regular file'));
  await rm(join(out, 'ns', 'b.yaml'), { recursive: true });
  await symlink(join(dir, 'elsewhere.yaml'), join(out, 'ns', 'b.yaml'));
  await expect(write()).rejects.toThrow(new TreeWriteError('refusing to write ns/b.yaml: not a regular file'));
  // Directories may have been made; no file was.
  expect((await readdir(out, { recursive: true })).filter((f) => f.includes('.')).sort()).toEqual(['ns/b.yaml']);
  await expect(readdir(dir)).resolves.not.toContain('elsewhere.yaml');
});

test('refuses a path outside the tree before writing anything', async () => {
  const out = join(dir, 'out');
  await expect(
    writeTree(
      out,
      new Map([
        ['a.yaml', 'a\n'],
        ['../escape.yaml', 'x\n'],
      ]),
    ),
  ).rejects.toThrow(/not a path inside the tree/);
  await expect(readdir(dir)).resolves.toEqual([]);
});
