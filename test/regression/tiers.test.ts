// Regression (from a review): the tier the recommendations use is added only when it makes sense for Calico.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { config, egress, loadTemplate, pub, run } from '../support/engine.ts';

beforeAll(async () => {
  await loadTemplate();
});

describe('namespaceSpec.tierName: default', () => {
  test("no 'default' Tier is written with another order (Calico always has it, at order 1000000, and rejects any other)", async () => {
    const result = await run([egress('shop', pub)], { config: config({ namespaceSpec: { tierName: 'default' } }) });
    const tiers = [...result.tree.values()]
      .flatMap((text) => (parseAllDocuments(text) as unknown as { toJS(): any }[]).map((d) => d.toJS()))
      .filter((o) => o?.kind === 'Tier' && o.metadata?.name === 'default');
    for (const tier of tiers) expect(tier.spec.order).toBe(1000000);
  });
});
