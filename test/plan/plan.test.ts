import { beforeAll, describe, expect, test } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { enforcePolicyInFile } from '../../src/engine/enforce.ts';
import { config, egress, HOUR, kustomizeLayoutTree, loadTemplate, NOW, pub, run, wep, yamlOf } from '../support/engine.ts';

const objects = (tree: ReadonlyMap<string, string>) =>
  [...tree.values()].flatMap((text) =>
    (parseAllDocuments(text) as unknown as { toJS(): any }[])
      .map((d) => d.toJS())
      .filter((o) => o?.metadata?.name)
      .map((o) => `${o.kind}/${o.metadata.name}`),
  );

let template: Map<string, string>;
beforeAll(async () => {
  template = await loadTemplate();
});

describe('the policies tree', () => {
  test('a fresh directory gets the template files and the policies, and no kustomization (the directory layout)', async () => {
    const result = await run([egress('shop', wep('db'), { port: 5432 }), egress('db', pub)]);
    expect([...result.changes.keys()]).toEqual([
      'global-default-deny.yaml',
      'namespace-isolation/db.yaml',
      'namespace-isolation/shop.yaml',
      'tiers.yaml',
    ]);
    expect(result.tree.get('tiers.yaml')).toBe(template.get('tiers.yaml')); // copied as is, comments included
    expect(result.clusterWide).toEqual(['global-default-deny.yaml', 'tiers.yaml']);
  });

  test('a tree of the kustomize layout keeps it: each file it writes is listed', async () => {
    const legacy = await kustomizeLayoutTree();
    const result = await run([egress('shop', wep('db'), { port: 5432 }), egress('db', pub)], { tree: legacy });
    expect([...result.changes.keys()]).toEqual([
      'namespace-isolation/db.yaml',
      'namespace-isolation/kustomization.yaml',
      'namespace-isolation/shop.yaml',
    ]);
    expect(yamlOf(result.tree, 'namespace-isolation/kustomization.yaml').resources).toEqual(['db.yaml', 'shop.yaml']);
    expect(result.tree.get('namespace-isolation/kustomization.yaml')).toContain('# One staged namespace-isolation policy per namespace');
  });

  test('nothing to learn and nothing there: nothing is written', async () => {
    expect((await run([])).changes.size).toBe(0);
  });

  test('objects the tree already defines, wherever, are not added again; the rest of the template is', async () => {
    const mine = new Map([
      ['kustomization.yaml', 'resources:\n  - platform\n'],
      ['platform/kustomization.yaml', 'resources:\n  - tiers.yaml\n'],
      ['platform/tiers.yaml', 'apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: namespace-isolation\nspec:\n  order: 50\n'],
    ]);
    const result = await run([egress('shop', pub)], { tree: mine });
    expect(result.tree.get('platform/tiers.yaml')).toBe(mine.get('platform/tiers.yaml'));
    const tiers = objects(result.tree).filter((o) => o.startsWith('Tier/'));
    expect(tiers.sort()).toEqual(['Tier/appsec', 'Tier/namespace-isolation', 'Tier/platform', 'Tier/security']);
    // tiers.yaml now holds only the three missing tiers, and everything is listed from the root.
    expect(objects(new Map([['t', result.tree.get('tiers.yaml')!]]))).toEqual(['Tier/security', 'Tier/platform', 'Tier/appsec']);
    // The person's list was sorted (one entry), so entries are inserted in sorted order.
    expect(yamlOf(result.tree, 'kustomization.yaml').resources).toEqual([
      'global-default-deny.yaml',
      'namespace-isolation',
      'platform',
      'tiers.yaml',
    ]);
  });

  test("additions to a person's kustomization keep their comments and order", async () => {
    const mine = new Map([['kustomization.yaml', '# cluster prod-eu\nresources:\n  - zeta.yaml # keep last\n  - alpha.yaml\n']]);
    const result = await run([egress('shop', pub)], { tree: mine });
    const text = result.tree.get('kustomization.yaml')!;
    expect(text).toContain('# cluster prod-eu');
    expect(text).toContain('- zeta.yaml # keep last');
    expect(yamlOf(result.tree, 'kustomization.yaml').resources.slice(0, 2)).toEqual(['zeta.yaml', 'alpha.yaml']);
  });

  test('a custom tier name gets its tier, defined once, modelled on namespace-isolation', async () => {
    const result = await run([egress('shop', pub)], { config: config({ namespaceSpec: { tierName: 'isolation' } }) });
    const tiers = (parseAllDocuments(result.tree.get('tiers.yaml')!) as unknown as { toJS(): any }[]).map((d) => d.toJS());
    expect(tiers.map((t) => t.metadata.name)).toEqual(['security', 'platform', 'namespace-isolation', 'appsec', 'isolation']);
    expect(tiers[4].spec).toEqual({ order: 300, defaultAction: 'Deny' });
    const second = await run([egress('shop', pub)], {
      tree: result.tree,
      config: config({ namespaceSpec: { tierName: 'isolation' } }),
      now: NOW + 60,
    });
    expect(second.changes.size).toBe(0);
  });

  test('the kubernetes flavour adds no tiers or default deny: only its staged Kubernetes policies', async () => {
    const result = await run([egress('shop', pub)], { config: config({ flavor: 'kubernetes' }) });
    expect(objects(result.tree)).toEqual(['StagedKubernetesNetworkPolicy/shop-recommendation']);
    expect([...result.tree.keys()]).toEqual(['namespace-isolation/shop.yaml']);
    expect(result.tree.get('namespace-isolation/shop.yaml')).toContain(
      'While its kind is StagedKubernetesNetworkPolicy, Calico reports what it would deny without denying anything; its enforce PR changes only the kind, to NetworkPolicy of networking.k8s.io/v1',
    );
  });

  test("the kubernetes flavour's policy enforced (its enforce PR merged): nothing more is proposed for it", async () => {
    const first = await run([egress('shop', pub, { port: 443 })], { config: config({ flavor: 'kubernetes' }) });
    const path = 'namespace-isolation/shop.yaml';
    const enforced = enforcePolicyInFile(first.tree.get(path)!, path, {
      kind: 'StagedKubernetesNetworkPolicy',
      namespace: 'shop',
      name: 'shop-recommendation',
    })!;
    expect(yamlOf(new Map([[path, enforced]]), path)).toMatchObject({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      spec: { podSelector: {}, policyTypes: ['Egress'] },
    });
    expect(enforced).not.toContain('stagedAction');
    const second = await run([egress('shop', pub, { port: 8443 })], {
      config: config({ flavor: 'kubernetes' }),
      tree: new Map([...first.tree, [path, enforced]]),
      now: NOW + HOUR,
    });
    expect(second.namespaces[0]!.warnings.map((w) => w.code)).toEqual(['enforced']);
    expect(second.changes.size).toBe(0);
  });

  test('a template file name already taken by a person gets a sibling name', async () => {
    const mine = new Map([['tiers.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata: {}\n']]);
    const result = await run([egress('shop', pub)], { tree: mine });
    expect(result.tree.get('tiers.yaml')).toBe(mine.get('tiers.yaml'));
    expect(objects(new Map([['t', result.tree.get('tiers.policy-recommender.yaml')!]]))).toHaveLength(4);
  });

  test('a tier defined twice in the tree is reported', async () => {
    const tier = 'apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: security\nspec: {}\n';
    const result = await run([egress('shop', pub)], {
      tree: new Map([
        ['a.yaml', tier],
        ['b.yaml', tier],
      ]),
    });
    expect(result.warnings.map((w) => w.code)).toEqual(['duplicate-object']);
    expect(result.warnings[0]!.message).toMatch(/Tier security is defined 2 times \(a\.yaml, b\.yaml\)/);
  });
});
