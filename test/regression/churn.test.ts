// Regression (from a review): a run with nothing new must change no byte, and must not undo a person's edits.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { egress, HOUR, loadTemplate, NOW, pub, run, wep } from '../support/engine.ts';

const PATH = 'namespace-isolation/shop.yaml';

beforeAll(async () => {
  await loadTemplate();
});

describe('nothing new, no change', () => {
  test("a person's empty `ingress:` key (null) is left alone when nothing new was seen", async () => {
    const records = [egress('shop', pub, { port: 443 })];
    const first = await run(records);
    // A person prepares an ingress section to fill in later.
    const edited = first.tree.get(PATH)!.replace('  egress:\n', '  ingress:\n  egress:\n');
    const tree = new Map(first.tree).set(PATH, edited);
    const second = await run(records, { tree, now: NOW + HOUR });
    expect([...second.changes.keys()]).toEqual([]);
  });

  test('a person who removed Egress from `types` (to stop enforcing egress for now) is not overruled when nothing new was seen', async () => {
    const records = [egress('shop', pub, { port: 443 }), egress('shop', pub, { port: 80, protocol: 'UDP' })];
    const first = await run([...records, ...[]]);
    const text = first.tree.get(PATH)!;
    expect(text).toContain('    - Egress\n');
    const edited = text.replace('  types:\n    - Egress\n', '  types:\n    - Ingress\n');
    const tree = new Map(first.tree).set(PATH, edited);
    const second = await run(records, { tree, now: NOW + HOUR });
    expect([...second.changes.keys()]).toEqual([]);
  });
});

describe("a person's rule is never rewritten (README, 'Memory across runs')", () => {
  test("new traffic to the peer of a person's hand-written rule does not edit that rule", async () => {
    const first = await run([egress('shop', pub, { port: 443 })]);
    const mine =
      "    # Hand-written by the db team: the primary only.\n    - action: Allow\n      protocol: TCP\n      destination:\n        namespaceSelector: projectcalico.org/name == 'db'\n        ports: [5432]\n";
    const tree = new Map(first.tree).set(PATH, first.tree.get(PATH)!.replace('  egress:\n', `  egress:\n${mine}`));
    const second = await run([egress('shop', wep('db'), { port: 6379 })], { tree, now: NOW + HOUR });
    const text = second.tree.get(PATH)!;
    expect(text).toContain(mine);
  });
});
