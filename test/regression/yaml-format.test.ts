// Regression (from a review): updates must not reformat the untouched parts of people's files.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { parseDocument } from 'yaml';
import { egress, HOUR, loadTemplate, NOW, policyOf, pub, run, wep } from '../support/engine.ts';

beforeAll(async () => {
  await loadTemplate();
});

/** Lines of `before` that are gone from `after` (an update that only adds must remove none). */
const removedLines = (before: string, after: string) => {
  const rest = after.split('\n');
  return before.split('\n').filter((line) => {
    const i = rest.indexOf(line);
    if (i === -1) return true;
    rest.splice(i, 1);
    return false;
  });
};

describe('formatting of untouched parts survives', () => {
  test('adding a resource to a kustomization written by `kustomize edit` (non-indented lists) keeps its other lines', async () => {
    const tiers = (names: string[]) =>
      names.map((n) => `apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: ${n}\nspec:\n  order: 100\n`).join('---\n');
    const root =
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- tiers.yaml\n- global-default-deny.yaml\n- namespace-isolation\n';
    const nsk = 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- billing.yaml\n';
    const first = await run([egress('billing', pub)]);
    const tree = new Map(first.tree)
      .set('kustomization.yaml', root)
      .set('namespace-isolation/kustomization.yaml', nsk)
      .set('tiers.yaml', tiers(['security', 'platform', 'namespace-isolation', 'appsec']));
    const second = await run([egress('shop', pub)], { tree, now: NOW + HOUR });
    const after = second.tree.get('namespace-isolation/kustomization.yaml')!;
    expect(after).toContain('shop.yaml');
    expect(removedLines(nsk, after)).toEqual([]);
  });

  test('extending a rule in a policy a person reformatted (non-indented lists) keeps the other lines', async () => {
    const first = await run([egress('shop', wep('db'), { port: 5432 }), egress('shop', pub, { port: 443 })]);
    const path = 'namespace-isolation/shop.yaml';
    // What `kubectl get -o yaml` / many editors produce: list items at the parent's indentation.
    const compact = parseDocument(first.tree.get(path)!).toString({ indentSeq: false, lineWidth: 0 });
    expect(compact).not.toBe(first.tree.get(path));
    const tree = new Map(first.tree).set(path, compact);
    const second = await run([egress('shop', wep('db'), { port: 6379 })], { tree, now: NOW + HOUR });
    const after = second.tree.get(path)!;
    expect(policyOf(second.tree, 'shop').spec.egress[0].destination.ports).toEqual([5432, 6379]);
    const removed = removedLines(compact, after);
    // Only the last-updated annotation may change.
    expect(removed.filter((l) => !l.includes('last-updated'))).toEqual([]);
  });
});

test('a folded annotation a person wrote keeps its lines when the policy is updated', async () => {
  const first = await run([egress('shop', wep('db'), { port: 5432 })]);
  const path = 'namespace-isolation/shop.yaml';
  const note = '    example.com/why: >-\n      Reviewed by the platform team\n      on Monday.\n';
  const written = first.tree.get(path)!.replace(/^ {2}annotations:\n/m, `  annotations:\n${note}`);
  expect(written).toContain(note);
  const tree = new Map(first.tree).set(path, written);
  const second = await run([egress('shop', wep('db'), { port: 6379 })], { tree, now: NOW + HOUR });
  expect(policyOf(second.tree, 'shop').spec.egress[0].destination.ports).toEqual([5432, 6379]);
  expect(second.tree.get(path)).toContain(note);
});
