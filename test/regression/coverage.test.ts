// Regression (from a review): the first-match coverage check answering "covered" when it cannot know.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { bare, egress, HOUR, ingress, loadTemplate, NOW, networkSet, policyOf, pub, run, wep } from '../support/engine.ts';

const PATH = 'namespace-isolation/shop.yaml';

beforeAll(async () => {
  await loadTemplate();
});

describe('rule coverage (engine/flavors/rule-decides.ts): never a false "yes"', () => {
  test('an ingress rule restricted to a source port does not cover traffic from other source ports', async () => {
    // A person's ingress rule: allow TCP from anywhere, but only from source port 53 (e.g. DNS replies).
    const first = await run([ingress('shop', pub, { port: 443 })]);
    const edited = first.tree
      .get(PATH)!
      .replace('  ingress:\n', '  ingress:\n    - action: Allow\n      protocol: TCP\n      source:\n        ports: [53]\n');
    const tree = new Map(first.tree).set(PATH, edited);
    // New traffic: TCP 8080 from the internet, from arbitrary (ephemeral) source ports.
    const second = await run([ingress('shop', pub, { port: 8080 })], { tree, now: NOW + HOUR });
    const rules = bare(policyOf(second.tree, 'shop').spec.ingress);
    // Some rule other than the source-port one must now allow TCP 8080.
    const allows8080 = rules.some((r) => r.source?.ports === undefined && (r.destination?.ports ?? []).includes(8080));
    expect(allows8080).toBe(true);
  });

  test('an Allow rule with a named notPort cannot be known to cover a numeric port', async () => {
    // A person's rule: allow TCP to namespace db on every port except the named port "metrics".
    const first = await run([egress('shop', wep('db'), { port: 5432 })]);
    const edited = first.tree
      .get(PATH)!
      .replace(
        '  egress:\n',
        "  egress:\n    - action: Allow\n      protocol: TCP\n      destination:\n        namespaceSelector: projectcalico.org/name == 'db'\n        notPorts: [metrics]\n",
      );
    const tree = new Map(first.tree).set(PATH, edited);
    // Port 9090 may well be the "metrics" port: the rule cannot be known to allow it.
    const second = await run([egress('shop', wep('db'), { port: 9090 })], { tree, now: NOW + HOUR });
    const rules = bare(policyOf(second.tree, 'shop').spec.egress);
    expect(rules.some((r) => (r.destination?.ports ?? []).includes(9090))).toBe(true);
  });

  test('namespaceSelector all() does not cover a GlobalNetworkSet (it selects namespaced endpoints only)', async () => {
    const first = await run([egress('shop', pub, { port: 443 })]);
    // A person's rule for network sets labelled feed=intel in any namespace.
    const edited = first.tree
      .get(PATH)!
      .replace(
        '  egress:\n',
        "  egress:\n    - action: Allow\n      protocol: TCP\n      destination:\n        selector: feed == 'intel'\n        namespaceSelector: all()\n",
      );
    const tree = new Map(first.tree).set(PATH, edited);
    // Traffic to the *global* network set "feeds": all() namespaces do not include non-namespaced sets.
    const second = await run([egress('shop', networkSet('feeds', null, null, ['feed=intel']), { port: 8443 })], { tree, now: NOW + HOUR });
    const rules = bare(policyOf(second.tree, 'shop').spec.egress);
    expect(rules.some((r) => r.destination?.namespaceSelector === 'global()')).toBe(true);
  });

  test("a network-set selector on projectcalico.org/namespace is evaluated with the set's namespace", async () => {
    const first = await run([egress('shop', pub, { port: 443 })]);
    // A person's rule: what is labelled role=blocklist in every namespace except "quarantine".
    const edited = first.tree
      .get(PATH)!
      .replace(
        '  egress:\n',
        "  egress:\n    - action: Allow\n      protocol: TCP\n      destination:\n        selector: role == 'blocklist' && projectcalico.org/namespace != 'quarantine'\n        namespaceSelector: all()\n",
      );
    const tree = new Map(first.tree).set(PATH, edited);
    // Traffic to the network set "bad" of namespace quarantine is not allowed by that rule.
    const second = await run([egress('shop', networkSet('bad', 'quarantine', null, ['role=blocklist']), { port: 8443 })], {
      tree,
      now: NOW + HOUR,
    });
    const rules = bare(policyOf(second.tree, 'shop').spec.egress);
    expect(rules.some((r) => r.destination?.namespaceSelector === "projectcalico.org/name == 'quarantine'")).toBe(true);
  });
});
