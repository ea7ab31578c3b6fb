// Regression (from a review): a person's Deny rule must never be shadowed by rules the engine adds afterwards.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { config, egress, HOUR, loadTemplate, NOW, policyOf, pub, pvt, run, wep } from '../support/engine.ts';

const PATH = 'namespace-isolation/shop.yaml';
const DENY = '    # Never to the payments network.\n    - action: Deny\n      destination:\n        nets: [10.1.0.0/16]\n';

beforeAll(async () => {
  await loadTemplate();
});

const denyIndex = (rules: any[]) => rules.findIndex((r) => r.action === 'Deny');
const firstAllowing = (rules: any[], port: number) =>
  rules.findIndex((r) => r.action === 'Allow' && (r.destination?.ports ?? []).includes(port) && r.destination?.nets !== undefined);

describe("a person's Deny appended after the bot's rules", () => {
  test('a new rule is not inserted in front of it', async () => {
    const first = await run([egress('shop', pub, { port: 443 })]);
    // The person appends a Deny at the end of egress.
    const tree = new Map(first.tree).set(PATH, `${first.tree.get(PATH)!}${DENY}`);
    expect(policyOf(tree, 'shop').spec.egress.map((r: any) => r.action)).toEqual(['Allow', 'Deny']);
    // Later the namespace talks to some private address on TCP 5432 (not in 10.1.0.0/16).
    const second = await run([egress('shop', pvt, { port: 5432 })], { tree, now: NOW + HOUR });
    const rules = policyOf(second.tree, 'shop').spec.egress;
    // The new Private rule (all of RFC 1918, port 5432) must not come before the Deny of 10.1.0.0/16,
    // otherwise 10.1.x.x:5432, which the person denied and nobody observed, becomes allowed.
    expect(firstAllowing(rules, 5432)).toBeGreaterThan(denyIndex(rules));
  });

  test('an existing rule in front of it is not extended with new ports', async () => {
    const first = await run([egress('shop', pvt, { port: 5432 })]);
    const tree = new Map(first.tree).set(PATH, `${first.tree.get(PATH)!}${DENY}`);
    const second = await run([egress('shop', pvt, { port: 6379 })], { tree, now: NOW + HOUR });
    const rules = policyOf(second.tree, 'shop').spec.egress;
    expect(firstAllowing(rules, 6379)).toBeGreaterThan(denyIndex(rules));
  });
});

describe("maxRules contraction around a person's Deny", () => {
  test('merging peers does not move an Allow in front of a Deny that sat between them', async () => {
    const cfg = config({ maxRules: 2 });
    const first = await run([egress('shop', wep('a'), { port: 80 })], { config: cfg });
    // The person denies b's admin pods, after the bot's rule.
    const deny =
      "    - action: Deny\n      protocol: TCP\n      destination:\n        namespaceSelector: projectcalico.org/name == 'b'\n        selector: app == 'admin'\n";
    const tree = new Map(first.tree).set(PATH, `${first.tree.get(PATH)!}${deny}`);
    // Other pods of b are reached on port 80: a rule for b is added after the Deny, then the
    // direction is over maxRules (3 > 2) and rules with the same ports are merged.
    const second = await run([egress('shop', wep('b'), { port: 80 })], { tree, now: NOW + HOUR, config: cfg });
    const rules = policyOf(second.tree, 'shop').spec.egress;
    const allowsB = rules.findIndex((r: any) => r.action === 'Allow' && /'b'/.test(r.destination?.namespaceSelector ?? ''));
    expect(allowsB).toBeGreaterThan(denyIndex(rules));
  });
});
