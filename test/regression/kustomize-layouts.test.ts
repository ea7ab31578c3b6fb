// Regression (from a review): kustomization handling on realistic layouts must keep `kubectl kustomize <dir>` building.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { egress, HOUR, loadTemplate, NOW, pub, run } from '../support/engine.ts';
import { fluxBuild, kubectlAvailable } from '../support/kustomize.ts';
import { makeTempDir, removeDir } from '../support/recommend-run.ts';

let work: string | undefined;
let n = 0;
beforeAll(async () => {
  await loadTemplate();
  work = await makeTempDir('review-kustomize');
});
afterAll(() => removeDir(work));

async function build(tree: ReadonlyMap<string, string>) {
  const dir = join(work!, `t${n++}`);
  for (const [path, text] of tree) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  const built = fluxBuild(dir);
  return { ok: built.ok, error: built.stderr.replace(/^E\d+ [^\]]*\] /, '') };
}

const withKubectl = kubectlAvailable() ? test : test.skip;

describe('kustomize layouts', () => {
  withKubectl('the namespace policies are a kustomize Component listed under `components:`', async () => {
    const first = await run([egress('billing', pub)]);
    const tree = new Map(first.tree)
      .set(
        'kustomization.yaml',
        'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - tiers.yaml\n  - global-default-deny.yaml\ncomponents:\n  - namespace-isolation\n',
      )
      .set(
        'namespace-isolation/kustomization.yaml',
        'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - billing.yaml\n',
      );
    expect(await build(tree)).toEqual({ ok: true, error: '' });
    const second = await run([egress('shop', pub)], { tree, now: NOW + HOUR });
    expect(second.tree.get('namespace-isolation/kustomization.yaml')).toContain('shop.yaml');
    expect(await build(second.tree)).toEqual({ ok: true, error: '' });
  });

  withKubectl('a directory whose kustomization is named kustomization.yml, in a tree without a root kustomization', async () => {
    // A person keeps the policies of one namespace folder with a `.yml` kustomization and has not
    // yet written a root kustomization.
    const tree = new Map([
      [
        'namespace-isolation/kustomization.yml',
        'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - notes.yaml\n',
      ],
      [
        'namespace-isolation/notes.yaml',
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n  namespace: default\ndata:\n  a: b\n',
      ],
    ]);
    const result = await run([egress('shop', pub)], { tree });
    expect(await build(result.tree)).toEqual({ ok: true, error: '' });
  });
});

describe('a directory of plain manifests without a kustomization (the directory layout)', () => {
  withKubectl('the build still holds the tier the recommended policies name', async () => {
    // The person's cluster directory: tiers in their own file, no kustomization yet.
    const tiers = ['security', 'platform', 'namespace-isolation', 'appsec']
      .map((name, i) => `apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: ${name}\nspec:\n  order: ${(i + 1) * 100}\n`)
      .join('---\n');
    const tree = new Map([['cluster-tiers.yaml', tiers]]);
    const result = await run([egress('shop', pub)], { tree });
    const dir = join(work!, `t${n++}`);
    for (const [path, text] of result.tree) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    // No kustomization is added: Flux generates one for the path (fluxBuild), Argo CD reads the directory.
    expect([...result.tree.keys()].filter((p) => p.includes('kustomization'))).toEqual([]);
    const built = fluxBuild(dir);
    expect(built.ok).toBe(true);
    const ids = built.objects.map((o: any) => `${o.kind}/${o.metadata.name}`);
    expect(ids).toContain('StagedNetworkPolicy/shop-recommendation');
    // The policy names tier namespace-isolation: the build that Argo CD / Flux apply must define it.
    expect(ids).toContain('Tier/namespace-isolation');
  });
});
