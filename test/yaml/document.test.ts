// What we write back of people's YAML, and how it reads elsewhere.
//
// A person's folded block scalars (`>`, YAML 1.2.2 §8.1.3) keep the lines they were written on
// when we write their file back: we write with lineWidth 0, which would otherwise join them.
import { describe, expect, test } from '@jest/globals';
import { parse } from 'yaml';
import { parseYamlFile, patchDocument, renderNewFile, stringifyDocuments } from '../../src/yaml/document.ts';
import { config, egress, HOUR, NOW, pub, run, wep } from '../support/engine.ts';

const FILE = `apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata:
  name: shop
  annotations:
    # Why this exists.
    example.com/why: >-
      Reviewed by the platform team
      on Monday, and by security

      on Tuesday.
    example.com/clip: >
      one
        more indented
      two
spec:
  order: 100
`;

const roundTrip = (text: string, edit?: (value: any) => void) => {
  const docs = parseYamlFile(text, 'shop.yaml');
  if (edit) {
    const value = docs[0]!.toJS();
    edit(value);
    patchDocument(docs[0]!, value);
  }
  return stringifyDocuments(docs, text);
};

describe('folded scalars written back', () => {
  test('an untouched file is written back byte for byte', () => {
    expect(roundTrip(FILE)).toBe(FILE);
  });

  test('a change elsewhere in the document keeps the folded lines', () => {
    const after = roundTrip(FILE, (v) => {
      v.spec.order = 200;
    });
    expect(after).toBe(FILE.replace('order: 100', 'order: 200'));
    expect(parse(after).metadata.annotations).toEqual(parse(FILE).metadata.annotations);
  });

  test('a folded scalar whose text changed is written by the library, with the new text', () => {
    const after = roundTrip(FILE, (v) => {
      v.metadata.annotations['example.com/why'] = 'Reviewed again.';
    });
    expect(parse(after).metadata.annotations['example.com/why']).toBe('Reviewed again.');
    expect(after).not.toContain('on Monday');
    expect(after).toContain('example.com/clip: >\n      one\n        more indented\n      two\n');
  });

  test('CRLF files, lists, and lists written without indentation keep the lines too', () => {
    const text = 'items:\n- note: >-\n    first\n    second\n  count: 1\n';
    const after = roundTrip(text, (v) => {
      v.items[0].count = 2;
    });
    expect(after).toBe(text.replace('count: 1', 'count: 2'));
    const crlf = FILE.replace(/\n/g, '\r\n');
    expect(roundTrip(crlf, (v) => (v.spec.order = 300))).toBe(crlf.replace('order: 100', 'order: 300'));
  });

  test('explicit indentation and kept chomping are left to the library, and still read the same', () => {
    const text = 'a: >2\n    starts indented\n  next\nb: >+\n  kept\n\nc: 1\n';
    const after = roundTrip(text, (v) => {
      v.c = 2;
    });
    const [before, now] = [parse(text), parse(after)];
    expect(now).toEqual({ ...before, c: 2 });
  });
});

describe('strings read as strings by YAML 1.1 and 1.2 alike', () => {
  // We write YAML 1.1 (what kubectl's sigs.k8s.io/yaml reads), but kustomize reads YAML 1.2
  // (kyaml on go-yaml v3), where `0o7` is an octal number: a valid namespace name would become 7.
  test('a string 1.2 reads as a number is quoted; others stay plain', () => {
    const text = renderNewFile({ a: '0o7', b: '0o8', c: 'web', d: '10.0.0.0/8', e: '1-2' });
    expect(text).toBe('a: "0o7"\nb: 0o8\nc: web\nd: 10.0.0.0/8\ne: 1-2\n');
    expect(parse(text, { version: '1.2' })).toEqual({ a: '0o7', b: '0o8', c: 'web', d: '10.0.0.0/8', e: '1-2' });
    const docs = parseYamlFile('a: x\n', 'x.yaml');
    docs[0]!.set('a', '0o17');
    expect(stringifyDocuments(docs, 'a: x\n')).toBe('a: "0o17"\n');
  });

  test('a namespace called 0o7 is written so that YAML 1.2 reads its name', async () => {
    const { tree } = await run([egress('0o7', pub)]);
    const path = [...tree.keys()].find((p) => p.endsWith('0o7.yaml'))!;
    const policy = parse(tree.get(path)!, { version: '1.2' });
    expect(policy.metadata.namespace).toBe('0o7');
    for (const [file, text] of tree) if (file.endsWith('kustomization.yaml')) expect(text).not.toMatch(/- 0o7\.yaml\b/);
  });
});

describe('timestamps are text, as Kubernetes reads them', () => {
  // go-yaml v2 decode.go: a timestamp-like value decoded into interface{} is set as a string "for
  // backward compatibility"; annotation and label values are strings in Kubernetes' types.
  test('a timestamp is read as the text written, and written back as it was', () => {
    const text = 'a: 2026-01-01\nb: 2001-12-14t21:59:43.10-05:00\n';
    const docs = parseYamlFile(text, 'x.yaml');
    expect(docs[0]!.toJS()).toEqual({ a: '2026-01-01', b: '2001-12-14t21:59:43.10-05:00' });
    expect(stringifyDocuments(docs, text)).toBe(text);
  });

  test("a person's unquoted date annotation leaves the kubernetes flavour's rule record in place", async () => {
    const cfg = config({ flavor: 'kubernetes' });
    const first = await run([egress('shop', wep('db'), { port: 5432 })], { config: cfg });
    const path = 'namespace-isolation/shop.yaml';
    const written = first.tree.get(path)!.replace(/^ {2}annotations:\n/m, '  annotations:\n    example.com/reviewed: 2026-01-01\n');
    const second = await run([egress('shop', wep('db'), { port: 6379 })], {
      config: cfg,
      tree: new Map(first.tree).set(path, written),
      now: NOW + HOUR,
    });
    const after = second.tree.get(path)!;
    expect(after).toContain('    example.com/reviewed: 2026-01-01\n');
    const annotations = parse(after).metadata.annotations;
    expect(Object.keys(JSON.parse(annotations['policy-recommender.io/rules']))).toEqual([expect.stringContaining('egress')]);
    expect(parse(after).spec.egress[0].ports.map((p: { port: number }) => p.port)).toEqual([5432, 6379]);
  });
});
