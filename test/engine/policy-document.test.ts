// A policy document is typed once, where the plan reads it from the tree (engine/policy-document.ts):
// what the engine reads has its type, everything else is kept as written, and a document the
// engine cannot update is reported with the field that is wrong, never rewritten.

import { beforeAll, describe, expect, test } from '@jest/globals';
import { PolicyShapeError, parsePolicyDocument, viewPolicy } from '../../src/engine/policy-document.ts';
import { ANNOTATIONS, formatTime } from '../../src/engine/provenance.ts';
import { config, egress, HOUR, loadTemplate, NOW, policyOf, run, wep } from '../support/engine.ts';

const PATH = 'namespace-isolation/shop.yaml';
const day1 = [egress('shop', wep('db'), { port: 5432 })];

beforeAll(async () => {
  await loadTemplate();
});

/** `text` with `extra` lines inserted after the line `after` (which must be there once). */
function insertAfter(text: string, after: string, extra: string): string {
  expect(text.split('\n').filter((l) => l === after)).toHaveLength(1);
  return text.replace(`${after}\n`, `${after}\n${extra}`);
}

/** A person's additions: fields the engine does not know, at the top, in metadata and in spec, with comments. */
function withUnknownFields(text: string, specLine: string): string {
  let out = `${text.trimEnd()}\nstatus:\n  observedGeneration: 3 # not ours\n`;
  out = insertAfter(out, 'metadata:', '  # owned by the platform team\n  finalizers: [example.com/keep]\n  ownerReferences: []\n');
  out = insertAfter(out, 'spec:', '  futureField: {enabled: true} # a later release\n');
  return insertAfter(out, specLine, '  performanceHints: [AssumeNeededOnEveryNode]\n');
}

describe('parsePolicyDocument', () => {
  const valid = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'StagedNetworkPolicy',
    metadata: { name: 'shop', namespace: 'shop', uid: 'x', annotations: { a: 'b' } },
    spec: { tier: 'namespace-isolation', futureField: 1, egress: [{ action: 'Allow' }] },
    status: {},
  };

  test('a valid document is carried as it is: the same object, unknown fields and their order kept', () => {
    const parsed = parsePolicyDocument(valid);
    expect(parsed).toBe(valid);
    expect(Object.keys(parsed.spec)).toEqual(['tier', 'futureField', 'egress']);
    // The typed fields are the document's own.
    expect(parsed.spec.egress).toBe(valid.spec.egress);
    expect(parsed.metadata.annotations).toBe(valid.metadata.annotations);
  });

  test('a person’s empty `ingress:`, `annotations:` and `labels:` (null) are documents the engine updates', () => {
    const doc = { ...valid, metadata: { name: 'shop', annotations: null, labels: null }, spec: { ingress: null } };
    expect(parsePolicyDocument(doc)).toBe(doc);
  });

  // The messages the engine gave before the document was typed (engine/policy.ts checkShape), for
  // the same documents, and the first problem of several as before (spec, then metadata).
  test.each([
    [{ metadata: { name: 'shop' } }, 'spec is not a mapping'],
    [{ spec: 'allow', metadata: { name: 'shop' } }, 'spec is not a mapping'],
    [{ spec: { ingress: 'all' }, metadata: { name: 'shop' } }, 'spec.ingress is not a list'],
    [{ spec: { egress: { action: 'Allow' } }, metadata: 4 }, 'spec.egress is not a list'],
    [{ spec: { types: 'Egress' }, metadata: { name: 'shop' } }, 'spec.types is not a list'],
    [{ spec: { policyTypes: null }, metadata: { name: 'shop' } }, 'spec.policyTypes is not a list'],
    [{ spec: {}, metadata: ['shop'] }, 'metadata is not a mapping'],
    // Fields read only since documents are typed: ObjectMeta's Labels and Annotations are
    // map[string]string (k8s.io/apimachinery/pkg/apis/meta/v1/types.go, cilium/cilium-cli v0.19.7's vendor tree).
    [{ spec: {}, metadata: { name: 'shop', annotations: 'x' } }, 'metadata.annotations is not a mapping'],
    [
      { spec: {}, metadata: { name: 'shop', labels: { 'app.kubernetes.io/name': 1 } } },
      'metadata.labels["app.kubernetes.io/name"] is not a string',
    ],
  ])('%j: %s', (doc, message) => {
    const value = { apiVersion: 'projectcalico.org/v3', kind: 'StagedNetworkPolicy', ...doc };
    expect(() => parsePolicyDocument(value)).toThrow(new PolicyShapeError(message));
  });
});

describe('viewPolicy (what reports read of any policy)', () => {
  test('a field without its type reads as absent, the others as written', () => {
    const when = new Date('2026-11-18T00:00:00Z');
    expect(
      viewPolicy({
        metadata: { annotations: { [ANNOTATIONS.lastUpdated]: when } },
        spec: { selector: 3, endpointSelector: { matchLabels: { 'k8s:app': 'web' } }, egress: 'x' },
      }),
    ).toEqual({
      metadata: { annotations: { [ANNOTATIONS.lastUpdated]: when } },
      spec: { endpointSelector: { matchLabels: { 'k8s:app': 'web' } } },
    });
    expect(viewPolicy({ metadata: 'x', spec: [] })).toEqual({});
    expect(viewPolicy(['not', 'a', 'mapping'])).toBeNull();
  });
});

describe('a policy in the tree', () => {
  test('with fields the engine does not know: nothing new changes no byte; new traffic changes only the rules and lastUpdated', async () => {
    const first = await run(day1);
    const theirs = withUnknownFields(first.tree.get(PATH)!, '  tier: namespace-isolation');
    const tree = new Map(first.tree).set(PATH, theirs);

    const same = await run(day1, { tree, now: NOW + HOUR });
    expect(same.changes.has(PATH)).toBe(false);
    expect(same.namespaces[0]!.outcome).toBe('unchanged');

    const later = await run([egress('shop', wep('cache'), { port: 6379 })], { tree, now: NOW + 2 * HOUR });
    expect(later.namespaces[0]!.outcome).toBe('updated');
    // Byte for byte what the same update of the file without them writes, with the person's lines where they were.
    const plain = await run([egress('shop', wep('cache'), { port: 6379 })], { tree: first.tree, now: NOW + 2 * HOUR });
    expect(later.tree.get(PATH)).toBe(withUnknownFields(plain.tree.get(PATH)!, '  tier: namespace-isolation'));
    expect(plain.tree.get(PATH)).not.toBe(first.tree.get(PATH));
  });

  test.each(['kubernetes', 'cilium'] as const)(
    'of the %s flavour, with unknown fields: the rule record is written beside them',
    async (flavor) => {
      const cfg = config({ flavor });
      const first = await run(day1, { config: cfg });
      const theirs = withUnknownFields(first.tree.get(PATH)!, flavor === 'cilium' ? '  endpointSelector: {}' : '  stagedAction: Set');
      const tree = new Map(first.tree).set(PATH, theirs);
      expect((await run(day1, { config: cfg, tree, now: NOW + HOUR })).changes.has(PATH)).toBe(false);
      const later = await run([egress('shop', wep('cache'), { port: 6379 })], { config: cfg, tree, now: NOW + 2 * HOUR });
      const policy = policyOf(later.tree, 'shop');
      expect(policy.metadata.finalizers).toEqual(['example.com/keep']);
      expect(policy.spec.futureField).toEqual({ enabled: true });
      expect(policy.status).toEqual({ observedGeneration: 3 });
      expect(Object.keys(JSON.parse(policy.metadata.annotations[ANNOTATIONS.rules]))).toHaveLength(2);
    },
  );

  test('that is malformed is reported with the field, as before, and left as it is', async () => {
    const first = await run(day1);
    const odd = first.tree.get(PATH)!.replace('  types:\n    - Egress\n', '  types: Egress\n');
    expect(odd).not.toBe(first.tree.get(PATH));
    const second = await run([egress('shop', wep('cache'), { port: 6379 })], { tree: new Map(first.tree).set(PATH, odd), now: NOW + HOUR });
    expect(second.changes.has(PATH)).toBe(false);
    expect(second.namespaces[0]!.warnings).toEqual([
      expect.objectContaining({ code: 'invalid-policy-file', message: `${PATH}: cannot update the policy: spec.types is not a list` }),
    ]);
  });

  test('whose annotations a person emptied (`annotations:`) gets lastUpdated, the engine reading the typed field', async () => {
    const first = await run(day1);
    const text = first.tree.get(PATH)!;
    const emptied = text.replace(/ {2}annotations:\n(?: {4}.*\n)+/, '  annotations:\n');
    expect(emptied).not.toBe(text);
    const second = await run([egress('shop', wep('cache'), { port: 6379 })], {
      tree: new Map(first.tree).set(PATH, emptied),
      now: NOW + HOUR,
    });
    expect(policyOf(second.tree, 'shop').metadata.annotations).toEqual({ [ANNOTATIONS.lastUpdated]: formatTime(NOW + HOUR) });
  });
});
