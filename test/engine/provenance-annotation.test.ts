// The kubernetes flavour keeps rule provenance in one policy annotation. Kubernetes and Calico
// refuse a policy whose annotations take more than 256 KiB (apimachinery's
// ValidateAnnotationsSize; libcalico-go lib/validator/v3/validator.go validateObjectMetaAnnotations,
// every release), counted once more when Calico stores the metadata through the
// crd.projectcalico.org/v1 backend (libcalico-go lib/backend/k8s/resources/resources.go). Whatever
// the number of rules and peers, what we write must still be accepted.

import { describe, expect, test } from '@jest/globals';
import { parse, stringify } from 'yaml';
import { ANNOTATIONS_SIZE_LIMIT, annotationsError, v1StoredAnnotationBytes } from '../../src/calico/names.ts';
import { kubernetesFlavor } from '../../src/engine/flavors/kubernetes.ts';
import { readRuleRecord, ruleKey, writeRuleRecord } from '../../src/engine/flavors/provenance-annotation.ts';
import { ANNOTATIONS } from '../../src/engine/provenance.ts';
import { policySetFromTree } from '../../src/simulate/policy-set.ts';
import { validateCalicoObject } from '../support/crd-validator.ts';
import { config, ingress, policyOf, run, wep } from '../support/engine.ts';

const ns = (i: number) => `team-${String(i).padStart(5, '0')}-services`;

describe('the kubernetes flavour provenance annotation', () => {
  test('a rule naming 4,000 namespaces is recorded under a short key, and Calico accepts the policy', async () => {
    // Its key would list every namespace (over 300 KB). Built directly: merging that many peers
    // through a run is slow (each atom re-reads the growing rule).
    const { tree } = await run([ingress('shop', wep(ns(0)), { port: 8080 })], { config: config({ flavor: 'kubernetes' }) });
    const path = [...tree.keys()].find((p) => p.endsWith('/shop.yaml'))!;
    const written = parse(tree.get(path)!);
    const from = Array.from({ length: 4_000 }, (_, i) => ({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns(i) } },
    }));
    const grown = { ...written, spec: { ...written.spec, ingress: [{ ...written.spec.ingress[0], from }] } };
    const policy = kubernetesFlavor().finish(grown, written, '2026-12-06T00:00:00Z') as any;
    const record = JSON.parse(policy.metadata.annotations[ANNOTATIONS.rules]);
    expect(Object.keys(record)).toEqual([expect.stringMatching(/^ingress sha256:[0-9a-f]{20}$/)]);
    expect(annotationsError(policy.metadata.annotations)).toBeNull();
    expect(validateCalicoObject(policy)).toEqual([]);
    // The simulator's reader applies Calico's storage check too (policy-set.ts checkV1Storage).
    const reread = policySetFromTree(new Map([[path, stringify(policy, { version: '1.1' })]]));
    expect(reread.warnings).toEqual([]);
    expect(reread.policies).toHaveLength(1);
  });

  test('the rule stays ours on the next run: more traffic extends it rather than adding a rule beside it', async () => {
    const cfg = config({ flavor: 'kubernetes', maxRules: 1 });
    const first = await run(
      Array.from({ length: 300 }, (_, i) => ingress('shop', wep(ns(i)), { port: 8080 })),
      { config: cfg },
    );
    const second = await run([ingress('shop', wep(ns(300)), { port: 8080 })], { config: cfg, tree: first.tree });
    const policy = policyOf(second.tree, 'shop');
    expect(policy.spec.ingress).toHaveLength(1);
    expect(policy.spec.ingress[0].from).toHaveLength(301);
    expect(Object.keys(JSON.parse(policy.metadata.annotations[ANNOTATIONS.rules]))).toHaveLength(1);
  });

  test('a record written with long keys (before they were shortened) is read under the short key', () => {
    const peers = Array.from({ length: 20 }, (_, i) => ({ category: 'Namespace' as const, namespace: ns(i) }));
    const long = `ingress ${peers.map((p) => `namespace:${p.namespace}`).join(', ')}`;
    expect(long.length).toBeGreaterThan(200);
    const annotations = { [ANNOTATIONS.rules]: JSON.stringify({ [long]: { category: 'Namespace', firstAdded: 'x' } }) };
    expect(Object.keys(readRuleRecord(annotations))).toEqual([ruleKey('ingress', peers)]);
    expect(ruleKey('ingress', peers.slice(0, 2))).toBe(`ingress namespace:${ns(0)}, namespace:${ns(1)}`);
  });

  test('entries that cannot fit are left out (their rules become people’s), never an invalid policy', () => {
    const entries = Object.fromEntries(
      Array.from({ length: 6_000 }, (_, i) => [`egress namespace:${ns(i)}`, { category: 'Namespace', firstAdded: '2026-12-06T00:00:00Z' }]),
    );
    const meta = { name: 'allow-observed', labels: { 'app.kubernetes.io/managed-by': 'policy-recommender' } };
    const others = { 'example.com/owner': 'platform' };
    const written = writeRuleRecord(others, entries, meta);
    expect(written['example.com/owner']).toBe('platform');
    const kept = Object.keys(JSON.parse(written[ANNOTATIONS.rules]!));
    expect(kept.length).toBeGreaterThan(1_000);
    expect(kept.length).toBeLessThan(6_000);
    expect(kept).toEqual(Object.keys(entries).sort().slice(0, kept.length));
    expect(annotationsError(written)).toBeNull();
    expect(v1StoredAnnotationBytes({ ...meta, annotations: written })).toBeLessThanOrEqual(ANNOTATIONS_SIZE_LIMIT);
    // A small record stays indented, for people reading the file.
    const small = writeRuleRecord({}, { 'egress namespace:kube-system': { category: 'Namespace' } }, meta);
    expect(small[ANNOTATIONS.rules]).toContain('\n  "egress namespace:kube-system"');
    expect(writeRuleRecord({ [ANNOTATIONS.rules]: '{}', a: 'b' }, {}, meta)).toEqual({ a: 'b' });
  });
});
