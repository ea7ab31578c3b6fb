// Enforcing an accepted staged policy rewrites its file in place: the same object as the kind
// Calico enforces, without stagedAction, everything else (and people's comments) unchanged.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { enforcePolicyInFile } from '../../src/engine/enforce.ts';
import { TEMPLATE_DIR } from '../../src/tree/fs-tree.ts';
import { validateCalicoObject } from '../support/crd-validator.ts';
import { egress, NOW, pub, run, wep } from '../support/engine.ts';

const RECOMMENDATION = `# Recommended by policy-recommender from observed flows: every rule allows traffic that was seen.
# Staged: Calico reports what it would deny without denying anything. Comments and edits survive updates.

apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata:
  name: shop-recommendation
  namespace: shop
  labels:
    app.kubernetes.io/managed-by: policy-recommender
spec:
  stagedAction: Set
  tier: namespace-isolation
  selector: projectcalico.org/namespace == 'shop'
  types:
    - Egress
  egress:
    # Our database; ask the DBA team before changing. (a person's comment)
    - action: Allow
      protocol: TCP
      destination:
        namespaceSelector: projectcalico.org/name == 'db'
        ports:
          - 5432
`;

const target = { kind: 'StagedNetworkPolicy', namespace: 'shop', name: 'shop-recommendation' } as const;
const data = (text: string) => parseAllDocuments(text).map((d) => (d as { toJS(): unknown }).toJS() as Record<string, unknown>);

describe('enforcing a staged policy', () => {
  test('a StagedNetworkPolicy becomes a NetworkPolicy with the same metadata and spec, comments kept', () => {
    const out = enforcePolicyInFile(RECOMMENDATION, 'shop.yaml', target)!;
    const [before] = data(RECOMMENDATION) as [{ metadata: unknown; spec: Record<string, unknown> }];
    const [after] = data(out) as [{ kind: string; metadata: unknown; spec: Record<string, unknown> }];
    expect(after.kind).toBe('NetworkPolicy');
    expect(after.metadata).toEqual(before.metadata);
    const { stagedAction, ...spec } = before.spec;
    expect(stagedAction).toBe('Set');
    expect(after.spec).toEqual(spec);
    expect(out).toContain("# Our database; ask the DBA team before changing. (a person's comment)");
    expect(out).not.toContain('Staged: Calico reports');
    expect(out).toContain('Enforced: Calico denies what these rules do not allow');
    expect(validateCalicoObject(after)).toEqual([]);
    // Only the kind, stagedAction and our note changed: a review sees three lines.
    const changed = out.split('\n').filter((l) => !RECOMMENDATION.split('\n').includes(l));
    expect(changed).toEqual([
      '# Enforced: Calico denies what these rules do not allow (it was staged until it had denied nothing for a while). Comments and edits survive updates.',
      'kind: NetworkPolicy',
    ]);
  });

  test("the template's staged global default deny becomes a GlobalNetworkPolicy", async () => {
    const text = await readFile(join(TEMPLATE_DIR, 'global-default-deny.yaml'), 'utf8');
    const out = enforcePolicyInFile(text, 'global-default-deny.yaml', {
      kind: 'StagedGlobalNetworkPolicy',
      namespace: null,
      name: 'default-deny',
    })!;
    const [after] = data(out) as [{ kind: string; spec: Record<string, unknown> }];
    expect(after.kind).toBe('GlobalNetworkPolicy');
    expect(after.spec['stagedAction']).toBeUndefined();
    expect(after.spec['tier']).toBe('default');
    expect(out.startsWith('# Enforced: Calico denies what these rules do not allow')).toBe(true);
    expect(out).toContain('# A default deny for every workload outside the system namespaces');
    expect(validateCalicoObject(after)).toEqual([]);
  });

  test('another policy of the file, a Delete, or a missing policy: nothing to enforce', () => {
    expect(enforcePolicyInFile(RECOMMENDATION, 'shop.yaml', { ...target, name: 'other' })).toBeNull();
    expect(enforcePolicyInFile(RECOMMENDATION, 'shop.yaml', { ...target, namespace: 'db' })).toBeNull();
    expect(enforcePolicyInFile(RECOMMENDATION.replace('stagedAction: Set', 'stagedAction: Delete'), 'shop.yaml', target)).toBeNull();
  });

  test('other documents of a multi-document file stay as they were', () => {
    const other = `---\n# kept\napiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata:\n  name: feeds\n  namespace: shop\nspec:\n  nets: [192.0.2.0/24]\n`;
    const out = enforcePolicyInFile(RECOMMENDATION + other, 'shop.yaml', target)!;
    expect(out.endsWith(other)).toBe(true);
  });
});

describe('after enforcement', () => {
  test('the engine recommends nothing more for an enforced namespace: no staged policy beside it', async () => {
    const first = await run([egress('shop', wep('db'), { port: 5432 })]);
    const path = 'namespace-isolation/shop.yaml';
    const tree = new Map(first.tree);
    tree.set(path, enforcePolicyInFile(tree.get(path)!, path, target)!);
    const later = await run(
      [egress('shop', wep('db'), { port: 5432, start: NOW + 3600 }), egress('shop', pub, { port: 443, start: NOW + 3600 })],
      { tree, now: NOW + 7200 },
    );
    expect(later.changes.size).toBe(0);
    expect(later.namespaces).toMatchObject([{ namespace: 'shop', outcome: 'skipped', warnings: [{ code: 'enforced' }] }]);
  });
});
