// Enforcing an accepted staged policy rewrites its file in place: the same object as the kind
// Calico enforces, without stagedAction, everything else (and people's comments) unchanged.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { enforcePolicyInFile } from '../../src/engine/enforce.ts';
import { TEMPLATE_DIR } from '../../src/tree/fs-tree.ts';
import { validateCalicoObject } from '../support/crd-validator.ts';
import { config, egress, NOW, pub, run, wep } from '../support/engine.ts';

const RECOMMENDATION = `# Recommended by policy-recommender from observed flows: every rule allows traffic that was seen.
# While its kind is StagedNetworkPolicy, Calico reports what it would deny without denying anything; its enforce PR changes only the kind, to NetworkPolicy, and Calico then denies what these rules do not allow. Comments and edits survive updates.

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
    expect(validateCalicoObject(after)).toEqual([]);
    // Only the kind and stagedAction changed (issue 11 point 11): a review sees two lines; the
    // header note was written true of both kinds.
    const removed = RECOMMENDATION.split('\n').filter((l) => !out.split('\n').includes(l));
    const added = out.split('\n').filter((l) => !RECOMMENDATION.split('\n').includes(l));
    expect(removed).toEqual(['kind: StagedNetworkPolicy', '  stagedAction: Set']);
    expect(added).toEqual(['kind: NetworkPolicy']);
  });

  test('what the engine writes today is enforced by changing the kind and stagedAction only, in every flavour', async () => {
    for (const flavor of ['calico', 'kubernetes'] as const) {
      const { tree } = await run([egress('shop', wep('db'), { port: 5432 })], { config: config({ flavor }) });
      const path = 'namespace-isolation/shop.yaml';
      const text = tree.get(path)!;
      const kind = flavor === 'calico' ? 'StagedNetworkPolicy' : 'StagedKubernetesNetworkPolicy';
      const out = enforcePolicyInFile(text, path, { kind, namespace: 'shop', name: 'shop-recommendation' })!;
      const removed = text.split('\n').filter((l) => !out.split('\n').includes(l));
      const added = out.split('\n').filter((l) => !text.split('\n').includes(l));
      expect(removed).toEqual(
        flavor === 'calico'
          ? [`kind: ${kind}`, '  stagedAction: Set']
          : ['apiVersion: projectcalico.org/v3', `kind: ${kind}`, '  stagedAction: Set'],
      );
      expect(added).toEqual(flavor === 'calico' ? ['kind: NetworkPolicy'] : ['apiVersion: networking.k8s.io/v1', 'kind: NetworkPolicy']);
    }
  });

  test('a folded selector, CRLF line ends and a trailing comment stay byte for byte; flow style still enforces', () => {
    const folded = RECOMMENDATION.replace(
      "  selector: projectcalico.org/namespace == 'shop'\n",
      "  selector: >-\n    projectcalico.org/namespace == 'shop' &&\n    !has(skip)\n",
    ).replace('  stagedAction: Set\n', '  stagedAction: Set # accepted in #12\n');
    const crlf = folded.replace(/\n/g, '\r\n');
    const out = enforcePolicyInFile(crlf, 'shop.yaml', target)!;
    expect(out).toBe(
      crlf.replace('kind: StagedNetworkPolicy', 'kind: NetworkPolicy').replace('  stagedAction: Set # accepted in #12\r\n', ''),
    );
    // Flow style cannot be edited line by line: the document is written anew, still correct.
    const flow = `apiVersion: projectcalico.org/v3\nkind: StagedNetworkPolicy\nmetadata: {name: shop-recommendation, namespace: shop}\nspec: {stagedAction: Set, tier: namespace-isolation, selector: all(), types: [Egress]}\n`;
    const [after] = data(enforcePolicyInFile(flow, 'shop.yaml', target)!) as [{ kind: string; spec: Record<string, unknown> }];
    expect(after).toMatchObject({ kind: 'NetworkPolicy', spec: { tier: 'namespace-isolation', selector: 'all()', types: ['Egress'] } });
    expect(after.spec['stagedAction']).toBeUndefined();
  });

  test('a file written before the note was true of both kinds gets its "Staged:" note replaced', () => {
    const legacy = RECOMMENDATION.replace(
      /# While its kind is .*\n/,
      '# Staged: Calico reports what it would deny without denying anything. Comments and edits survive updates.\n',
    );
    const out = enforcePolicyInFile(legacy, 'shop.yaml', target)!;
    expect(out).not.toContain('Staged: Calico reports');
    expect(out.split('\n')[1]).toBe(RECOMMENDATION.split('\n')[1]);
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
    expect(out.startsWith('# A default deny for every workload outside the system namespaces')).toBe(true);
    const added = out.split('\n').filter((l) => !text.split('\n').includes(l));
    expect(added).toEqual(['kind: GlobalNetworkPolicy']);
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
