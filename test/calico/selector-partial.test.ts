import { describe, expect, test } from '@jest/globals';
import { matchesPartially, type PartialLabels, parseSelector } from '../../src/calico/selector.ts';

// The labels a flow log reports for aggregated pods: `app` is known, anything else may be set.
const aggregated: PartialLabels = { labels: { app: 'web' }, known: (key) => key === 'app' };
const complete: PartialLabels = { labels: { app: 'web' }, known: () => true };

function truth(selector: string, labels: PartialLabels = aggregated, global = false) {
  return matchesPartially(parseSelector(selector).ast, labels, { global });
}

describe('selectors over labels that may be incomplete', () => {
  test('comparisons on a label the record carries are decided', () => {
    expect(truth("app == 'web'")).toBe(true);
    expect(truth("app == 'db'")).toBe(false);
    expect(truth("app in {'db', 'web'}")).toBe(true);
    expect(truth("app not in {'web'}")).toBe(false);
    expect(truth('has(app)')).toBe(true);
    expect(truth("app starts with 'w'")).toBe(true);
  });

  test('a label the record may lack makes a comparison unknown, whatever the operator', () => {
    for (const s of ["tier == 'x'", "tier != 'x'", 'has(tier)', '!has(tier)', "tier in {'x'}", "tier not in {'x'}", "tier contains 'x'"]) {
      expect(truth(s)).toBe('unknown');
    }
  });

  test('with complete labels an absent label is absent', () => {
    expect(truth('has(tier)', complete)).toBe(false);
    expect(truth("tier != 'x'", complete)).toBe(true);
    expect(truth("tier not in {'x'}", complete)).toBe(true);
  });

  test('Kleene logic: false decides an &&, true decides an ||, ! keeps unknown', () => {
    expect(truth("app == 'db' && tier == 'x'")).toBe(false);
    expect(truth("app == 'web' && tier == 'x'")).toBe('unknown');
    expect(truth("app == 'web' || tier == 'x'")).toBe(true);
    expect(truth("app == 'db' || tier == 'x'")).toBe('unknown');
    expect(truth("!(tier == 'x')")).toBe('unknown');
    expect(truth("!(app == 'db')")).toBe(true);
  });

  test('all() and global() need no labels', () => {
    expect(truth('all()')).toBe(true);
    expect(truth('all()', aggregated, true)).toBe(false);
    expect(truth('global()')).toBe(false);
    expect(truth('global()', aggregated, true)).toBe(true);
  });

  test('agrees with the boolean evaluator when every label is known', () => {
    const labels = { app: 'web', tier: 'front' };
    for (const s of [
      "app == 'web' && tier != 'back'",
      "!has(x) || app in {'a'}",
      "tier ends with 'nt'",
      "x not in {'a'} && !(app contains 'e')",
    ]) {
      const selector = parseSelector(s);
      expect(matchesPartially(selector.ast, { labels, known: () => true })).toBe(selector.matches(labels));
    }
  });
});
