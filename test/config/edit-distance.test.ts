import { describe, expect, test } from '@jest/globals';
import { closest, editDistance } from '../../src/util/edit-distance.ts';

describe('did you mean', () => {
  test('edit distance counts insertions, deletions, substitutions and swapped neighbours', () => {
    expect(editDistance('', '')).toBe(0);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('tierNmae', 'tierName')).toBe(1);
    expect(editDistance('flavour', 'flavor')).toBe(1);
  });

  test('the closest candidate, ignoring case, within a third of the word', () => {
    expect(closest('maxrules', ['maxRules', 'interval'])).toBe('maxRules');
    expect(closest('schedul', ['schedule', 'timezone'])).toBe('schedule');
    expect(closest('zzz', ['flavor', 'maxRules'])).toBeNull();
    expect(closest('ab', ['xy'])).toBeNull();
    expect(closest('flavor', ['flavor'])).toBeNull();
    expect(closest('tier', ['selector', 'tierName'])).toBe('tierName');
    expect(closest('ti', ['tierName'])).toBeNull();
  });
});
