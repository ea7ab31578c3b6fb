// Regression (from a review): intraNamespacePassThroughTraffic must take effect on the policy's rules.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { config, egress, HOUR, loadTemplate, NOW, policyOf, run, wep } from '../support/engine.ts';

beforeAll(async () => {
  await loadTemplate();
});

describe('intraNamespacePassThroughTraffic after maxRules merged peers', () => {
  test('traffic within the namespace is passed to the next tier, not allowed by a merged rule', async () => {
    const records = [
      egress('shop', wep('shop'), { port: 8080 }),
      egress('shop', wep('a'), { port: 8080 }),
      egress('shop', wep('b'), { port: 8080 }),
    ];
    // Over maxRules: the three Namespace rules (same protocol and port) are merged into one.
    const first = await run(records, { config: config({ maxRules: 2 }) });
    expect(policyOf(first.tree, 'shop').spec.egress).toHaveLength(1);
    // Microsegmentation is turned on.
    const second = await run(records, {
      tree: first.tree,
      now: NOW + HOUR,
      config: config({ maxRules: 2, namespaceSpec: { intraNamespacePassThroughTraffic: true } }),
    });
    const rules = policyOf(second.tree, 'shop').spec.egress;
    // The first rule that matches shop -> shop TCP 8080 must be a Pass.
    const decides = rules.find((r: any) => /'shop'/.test(r.destination?.namespaceSelector ?? ''));
    expect(decides?.action).toBe('Pass');
  });
});
