// Regression (from a review): namespace names that are valid Kubernetes names but collide with the tree's own files.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { egress, kustomizeLayoutTree, loadTemplate, pub, run, yamlOf } from '../support/engine.ts';

beforeAll(async () => {
  await loadTemplate();
});

describe('a namespace named "kustomization"', () => {
  test('its policy does not become the directory kustomization, and no kustomization entries are written into a policy', async () => {
    // The default layout has no kustomization, and the policy does not become one...
    const plain = await run([egress('kustomization', pub), egress('shop', pub)]);
    expect([...plain.tree.keys()].filter((p) => /(^|\/)(kustomization\.ya?ml|Kustomization)$/.test(p))).toEqual([]);
    // ...nor in the kustomize layout, whose list it is added to.
    const result = await run([egress('kustomization', pub), egress('shop', pub)], { tree: await kustomizeLayoutTree() });
    const kustomization = yamlOf(result.tree, 'namespace-isolation/kustomization.yaml');
    // The directory kustomization must be a Kustomization listing the policies...
    expect(kustomization.kind).toBe('Kustomization');
    // ...and no policy document may carry kustomize's `resources` key.
    for (const [path, text] of result.tree) {
      if (/StagedNetworkPolicy/.test(text))
        expect({ path, hasResources: /^resources:/m.test(text) }).toEqual({ path, hasResources: false });
    }
  });
});
