// ensureAllReachable (repo/kustomize.ts) writes each kustomization once for many files, and must
// decide exactly as adding the files one at a time did, including where the order of the walk
// decides: a directory whose files two kustomizations list one by one gets a new file listed by
// the one the walk meets first.

import { describe, expect, test } from '@jest/globals';
import { parse } from 'yaml';
import { ensureAllReachable, ensureReachable } from '../../src/tree/kustomize.ts';
import { TreeOverlay } from '../../src/tree/tree.ts';

const K = 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n';
const resources = (tree: TreeOverlay, path: string): unknown => (parse(tree.get(path)!) as { resources: unknown }).resources;

function tree(rootResources: readonly string[]): TreeOverlay {
  return new TreeOverlay(
    new Map([
      ['kustomization.yaml', `${K}resources:\n${rootResources.map((r) => `  - ${r}\n`).join('')}`],
      ['p/kustomization.yaml', `${K}resources:\n  - q/y.yaml\n`],
      ['p/q/x.yaml', 'a: 1\n'],
      ['p/q/y.yaml', 'a: 2\n'],
      ['p/q/z.yaml', 'a: 3\n'],
      ['p/q/w.yaml', 'a: 4\n'],
    ]),
  );
}

describe('files made reachable together, as one at a time', () => {
  test.each([
    ['p is walked first: p lists the new files', ['p', 'p/q/x.yaml'], 'p/kustomization.yaml'],
    ['the root lists p/q/x.yaml first: the root lists the new files', ['p/q/x.yaml', 'p'], 'kustomization.yaml'],
  ])('%s', (_name, root, lister) => {
    const together = tree(root);
    ensureAllReachable(together, ['p/q/z.yaml', 'p/q/w.yaml']);
    const oneByOne = tree(root);
    for (const file of ['p/q/z.yaml', 'p/q/w.yaml']) ensureReachable(oneByOne, file);
    expect(together.changes()).toEqual(oneByOne.changes());
    expect([...together.changes().keys()]).toEqual([lister]);
    expect(resources(together, lister)).toEqual(
      lister === 'kustomization.yaml' ? [...root, 'p/q/z.yaml', 'p/q/w.yaml'] : ['q/w.yaml', 'q/y.yaml', 'q/z.yaml'],
    );
  });

  test('a thousand files into one sorted list: one sorted list, written once', () => {
    const t = new TreeOverlay(
      new Map([
        ['kustomization.yaml', `${K}resources:\n  - ns\n`],
        ['ns/kustomization.yaml', `${K}resources: []\n`],
      ]),
    );
    const files = Array.from({ length: 1000 }, (_, i) => `ns/tenant-${String(999 - i).padStart(4, '0')}.yaml`);
    for (const f of files) t.set(f, 'a: 1\n');
    ensureAllReachable(t, files);
    expect(resources(t, 'ns/kustomization.yaml')).toEqual(files.map((f) => f.slice(3)).sort());
  });
});
