// Cilium label selectors over source-prefixed keys, from pkg/labels/labels.go (parseSource,
// GetExtendedKeyFrom), pkg/labels/array.go (LabelArray.Has: "["k8s.foo=bar"].Has("any.foo") => true,
// ["any.foo=bar"].Has("k8s.foo") => false"), both Cilium v1.16.0 (cilium/cilium-cli v0.16.14's
// vendor tree), and pkg/policy/types/requirements.go of main (cilium-cli v0.19.7: `case
// selection.NotIn, selection.NotEquals: return !exists || !r.HasValue(val)`).

import { describe, expect, test } from '@jest/globals';
import { describeSelector, type Label, parseIdentityLabel, parseSelectorKey, selectorMatches } from '../../src/cilium/labels.ts';
import type { EndpointSelector } from '../../src/cilium/types.ts';

const labels = (...texts: string[]): Label[] => texts.map((t) => parseIdentityLabel(t)!);

function sel(
  matchLabels: Record<string, string>,
  expressions: [string, 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', string[]][] = [],
): EndpointSelector {
  return {
    requirements: [
      ...Object.entries(matchLabels).map(([k, v]) => ({
        key: parseSelectorKey(k),
        operator: 'In' as const,
        values: [v],
        fromMatchLabels: true,
      })),
      ...expressions.map(([k, operator, values]) => ({ key: parseSelectorKey(k), operator, values, fromMatchLabels: false })),
    ],
  };
}

describe('selector keys (pkg/labels/labels.go parseSource, GetExtendedKeyFrom)', () => {
  test('no source means any; `$` means reserved; text before the first colon is the source', () => {
    expect(parseSelectorKey('app')).toEqual({ source: 'any', key: 'app' });
    expect(parseSelectorKey('k8s:app')).toEqual({ source: 'k8s', key: 'app' });
    expect(parseSelectorKey('$host')).toEqual({ source: 'reserved', key: 'host' });
    expect(parseSelectorKey('reserved:host')).toEqual({ source: 'reserved', key: 'host' });
    expect(parseSelectorKey('k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name')).toEqual({
      source: 'k8s',
      key: 'io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name',
    });
  });

  test('identity labels as Hubble prints them', () => {
    expect(parseIdentityLabel('k8s:app=web')).toEqual({ source: 'k8s', key: 'app', value: 'web' });
    expect(parseIdentityLabel('reserved:world')).toEqual({ source: 'reserved', key: 'world', value: '' });
    expect(parseIdentityLabel('k8s:a=b=c')).toEqual({ source: 'k8s', key: 'a', value: 'b=c' });
    expect(parseIdentityLabel('app=web')).toBeNull();
  });
});

describe('matching (pkg/labels/array.go Has/Get)', () => {
  test('an any: key matches a label of every source; a sourced key only its source', () => {
    expect(selectorMatches(sel({ foo: 'bar' }), labels('k8s:foo=bar'))).toBe(true);
    expect(selectorMatches(sel({ 'k8s:foo': 'bar' }), labels('any:foo=bar'))).toBe(false);
    expect(selectorMatches(sel({ 'k8s:foo': 'bar' }), labels('k8s:foo=bar'))).toBe(true);
    expect(selectorMatches(sel({ 'container:foo': 'bar' }), labels('k8s:foo=bar'))).toBe(false);
  });

  test('the empty selector matches everything, even unknown labels', () => {
    expect(selectorMatches(sel({}), labels())).toBe(true);
    expect(selectorMatches(sel({}), null)).toBe(true);
  });

  test('NotIn and DoesNotExist match an absent key (requirements.go)', () => {
    expect(selectorMatches(sel({}, [['env', 'NotIn', ['prod']]]), labels('k8s:app=web'))).toBe(true);
    expect(selectorMatches(sel({}, [['env', 'NotIn', ['prod']]]), labels('k8s:env=prod'))).toBe(false);
    expect(selectorMatches(sel({}, [['env', 'DoesNotExist', []]]), labels('k8s:app=web'))).toBe(true);
    expect(selectorMatches(sel({}, [['env', 'Exists', []]]), labels('k8s:app=web'))).toBe(false);
    expect(selectorMatches(sel({}, [['env', 'In', ['a', 'b']]]), labels('k8s:env=b'))).toBe(true);
  });

  test('requirements are ANDed', () => {
    const s = sel({ app: 'web' }, [['env', 'In', ['prod']]]);
    expect(selectorMatches(s, labels('k8s:app=web', 'k8s:env=prod'))).toBe(true);
    expect(selectorMatches(s, labels('k8s:app=web', 'k8s:env=dev'))).toBe(false);
  });

  test('unknown labels answer unknown; known-incomplete labels only where a label may be missing', () => {
    expect(selectorMatches(sel({ app: 'web' }), null)).toBe('unknown');
    expect(selectorMatches(sel({ app: 'web' }), labels('k8s:app=web'), false)).toBe(true);
    expect(selectorMatches(sel({ app: 'web' }), labels('k8s:app=db'), false)).toBe(false);
    expect(selectorMatches(sel({ app: 'web' }), labels('k8s:env=x'), false)).toBe('unknown');
    expect(selectorMatches(sel({}, [['app', 'DoesNotExist', []]]), labels(), false)).toBe('unknown');
  });

  test('an any: key finding labels of two sources that disagree is unknown (Get returns the first in Cilium order)', () => {
    expect(selectorMatches(sel({ app: 'web' }), labels('k8s:app=web', 'container:app=db'))).toBe('unknown');
    expect(selectorMatches(sel({ app: 'web' }), labels('k8s:app=web', 'container:app=web'))).toBe(true);
  });

  test('selectors are described with their sources', () => {
    expect(describeSelector(sel({ app: 'web' }, [['env', 'NotIn', ['a', 'b']]]))).toBe('{any:app=web, any:env NotIn (a, b)}');
    expect(describeSelector(sel({}))).toBe('{}');
  });
});
