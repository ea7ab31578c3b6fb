// repo/merge3.ts decides whether a PR still merges cleanly after the default branch moved; git
// decides on GitHub. Checked against git itself (`git merge-file`, test/support/fake-merge.ts):
// wherever ours says clean, git merges cleanly to the same text, so a PR we leave alone is never
// one GitHub would refuse to merge. (Ours may call conflicting what git merges cleanly: that PR is
// rebuilt, which is safe.) Lines from a small alphabet, so that repeated lines (where diffs may
// align differently) are common; a finer, LCS-based version of merge3 failed this property on
// ["e\na\n", "e\n", "a\ne\n"], and one that ignored git's sliding of changes (CI, seed 2005803305)
// on ["c\na\n", "c\na\na\n", "a\nc\na\na\n"]; both kept below.

import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { mergeText } from '../../src/tree/merge3.ts';
import { gitMergeFile } from '../support/fake-merge.ts';

const kustomization = (...entries: string[]) =>
  `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${entries.map((e) => `  - ${e}\n`).join('')}`;

describe('three-way merge of lines', () => {
  test('entries added at distant places of a list merge; at the same place they conflict', () => {
    const base = kustomization('billing.yaml', 'payments.yaml');
    const api = kustomization('api.yaml', 'billing.yaml', 'payments.yaml');
    const shop = kustomization('billing.yaml', 'payments.yaml', 'shop.yaml');
    const web = kustomization('billing.yaml', 'payments.yaml', 'web.yaml');
    expect(mergeText(base, shop, api)).toEqual({
      clean: true,
      text: kustomization('api.yaml', 'billing.yaml', 'payments.yaml', 'shop.yaml'),
    });
    expect(gitMergeFile(base, shop, api)).toBe(kustomization('api.yaml', 'billing.yaml', 'payments.yaml', 'shop.yaml'));
    expect(mergeText(base, shop, web).clean).toBe(false);
    expect(gitMergeFile(base, shop, web)).toBeNull();
  });

  test('files: the same change on both sides is clean; a delete against a change, or two different additions, conflict', () => {
    expect(mergeText(null, 'a\n', 'a\n')).toEqual({ clean: true, text: 'a\n' });
    expect(mergeText('a\n', null, 'b\n').clean).toBe(false);
    expect(mergeText(null, 'a\n', 'b\n').clean).toBe(false);
    expect(mergeText('a\n', 'a\n', null)).toEqual({ clean: true, text: null });
  });

  test('a line moved on one side and a neighbour deleted on the other: a conflict, as in git', () => {
    expect(mergeText('e\na\n', 'e\n', 'a\ne\n').clean).toBe(false);
    expect(gitMergeFile('e\na\n', 'e\n', 'a\ne\n')).toBeNull();
  });

  test('a line added twice where it repeats: git slides the addition past the equal line, so it conflicts here', () => {
    // git aligns theirs' second "a" with ours' (xdiff's xdl_change_compact moves it down past the
    // equal line) and takes it once; the changed regions here must therefore not be called apart.
    expect(gitMergeFile('c\na\n', 'c\na\na\n', 'a\nc\na\na\n')).toBe('a\nc\na\na\n');
    expect(mergeText('c\na\n', 'c\na\na\n', 'a\nc\na\na\n').clean).toBe(false);
  });

  test('whatever it merges cleanly, git merges cleanly to the same text', () => {
    const line = fc.constantFrom('a\n', 'b\n', 'c\n', 'd\n', 'e\n');
    const text = fc.array(line, { maxLength: 8 }).map((l) => l.join(''));
    fc.assert(
      fc.property(text, text, text, (base, ours, theirs) => {
        const merged = mergeText(base, ours, theirs);
        if (!merged.clean) return;
        expect(gitMergeFile(base, ours, theirs)).toBe(merged.text);
      }),
      { numRuns: 2000 },
    );
  });

  test('edits of one text, as PRs make them: whatever it merges cleanly, git merges the same', () => {
    const line = fc.constantFrom('a\n', 'b\n', 'c\n', 'd\n');
    const edit = (base: string[]) =>
      fc.array(fc.tuple(fc.nat(12), fc.nat(2), fc.array(line, { maxLength: 2 })), { maxLength: 2 }).map((edits) => {
        const text = [...base];
        for (const [at, removed, added] of edits) text.splice(Math.min(at, text.length), removed, ...added);
        return text.join('');
      });
    const sides = fc.array(line, { maxLength: 10 }).chain((base) => fc.tuple(fc.constant(base.join('')), edit(base), edit(base)));
    fc.assert(
      fc.property(sides, ([base, ours, theirs]) => {
        const merged = mergeText(base, ours, theirs);
        if (!merged.clean) return;
        expect(gitMergeFile(base, ours, theirs)).toBe(merged.text);
      }),
      { numRuns: 1000 },
    );
  });
});
