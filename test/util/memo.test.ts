// memoize's two caps (entries and bytes): each holds, and reaching it changes no result, only
// how often the function is computed.

import { expect, test } from '@jest/globals';
import { memoize } from '../../src/util/memo.ts';

function counted(): { calls: string[]; compute: (key: string) => number } {
  const calls: string[] = [];
  const compute = (key: string): number => {
    calls.push(key);
    return key.length;
  };
  return { calls, compute };
}

test('a repeated key is computed once', () => {
  const { calls, compute } = counted();
  const memo = memoize(compute);
  expect([memo('a'), memo('a'), memo('bb')]).toEqual([1, 1, 2]);
  expect(calls).toEqual(['a', 'bb']);
});

test('the byte cap: past it the cache is dropped, and a key bigger than the cap is never kept', () => {
  const { calls, compute } = counted();
  // Entries of 500-character keys cost 1,064 bytes: one fits in 2,000, two do not.
  const memo = memoize(compute, 10_000, 2000);
  const a = 'a'.repeat(500);
  const b = 'b'.repeat(500);
  expect([memo(a), memo(a), memo(b), memo(b), memo(a)]).toEqual([500, 500, 500, 500, 500]);
  expect(calls).toEqual([a, b, a]);
  const huge = 'h'.repeat(5000);
  expect([memo(huge), memo(huge)]).toEqual([5000, 5000]);
  expect(calls.slice(3)).toEqual([huge, huge]);
  // The huge key did not drop what was cached.
  memo(a);
  expect(calls).toHaveLength(5);
});

test('the entry cap: past it the cache is dropped', () => {
  const { calls, compute } = counted();
  const memo = memoize(compute, 2);
  for (const key of ['x', 'y', 'x', 'z', 'x']) memo(key);
  expect(calls).toEqual(['x', 'y', 'z', 'x']);
});
