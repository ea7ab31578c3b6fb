// The fake GitHub's merge (test/support/fake-merge.ts): what tests rely on when they say a PR
// "conflicts". Per file as git's tree merge does, per line with git merge-file.

import { describe, expect, test } from '@jest/globals';
import { mergeTrees } from '../support/fake-merge.ts';

const blobs = new Map([
  ['list0', 'resources:\n  - a.yaml\n  - m.yaml\n'],
  ['listA', 'resources:\n  - 0.yaml\n  - a.yaml\n  - m.yaml\n'],
  ['listZ', 'resources:\n  - a.yaml\n  - m.yaml\n  - z.yaml\n'],
  ['listY', 'resources:\n  - a.yaml\n  - m.yaml\n  - y.yaml\n'],
  ['x', 'x\n'],
  ['y', 'y\n'],
]);
const text = (id: string) => blobs.get(id)!;
const side = (entries: Record<string, string>) => new Map(Object.entries(entries));

describe('the fake GitHub merges as git does', () => {
  test('files each side added or changed alone merge; the same file added alike on both sides too', () => {
    const merge = mergeTrees(side({}), side({ 'a.yaml': 'x', 'same.yaml': 'y' }), side({ 'b.yaml': 'x', 'same.yaml': 'y' }), text);
    expect(merge).toEqual({ conflicts: [], changes: new Map([['b.yaml', 'x\n']]) });
  });

  test('one list, entries at distant places: merged line by line; at the same place: a conflict', () => {
    expect(mergeTrees(side({ k: 'list0' }), side({ k: 'listZ' }), side({ k: 'listA' }), text)).toEqual({
      conflicts: [],
      changes: new Map([['k', 'resources:\n  - 0.yaml\n  - a.yaml\n  - m.yaml\n  - z.yaml\n']]),
    });
    expect(mergeTrees(side({ k: 'list0' }), side({ k: 'listZ' }), side({ k: 'listY' }), text).conflicts).toEqual(['k']);
  });

  test('deleted on one side and changed on the other, or added differently on both: a conflict', () => {
    expect(mergeTrees(side({ f: 'x' }), side({}), side({ f: 'y' }), text).conflicts).toEqual(['f']);
    expect(mergeTrees(side({}), side({ f: 'x' }), side({ f: 'y' }), text).conflicts).toEqual(['f']);
  });
});
