import { beforeAll, describe, expect, test } from '@jest/globals';
import { formatTime } from '../../src/engine/provenance.ts';
import { recommendationStatus } from '../../src/engine/status.ts';
import { bare, config, egress, HOUR, ingress, loadTemplate, NOW, policyOf, pub, run, wep } from '../support/engine.ts';

const PATH = 'namespace-isolation/shop.yaml';
const day1 = [
  egress('shop', wep('kube-system'), { protocol: 'UDP', port: 53 }),
  egress('shop', wep('db'), { port: 5432 }),
  ingress('shop', pub, { port: 443 }),
];

beforeAll(async () => {
  await loadTemplate();
});

describe('the previous recommendation is the engine memory', () => {
  test('a run with nothing new changes no byte and writes no file', async () => {
    const first = await run(day1);
    expect(first.changes.size).toBeGreaterThan(0);
    const second = await run(day1, { tree: first.tree, now: NOW + 6 * HOUR });
    expect(second.changes.size).toBe(0);
    expect(second.namespaces.map((n) => n.outcome)).toEqual(['unchanged']);
    // Fewer flows later: rules only accumulate, nothing is removed.
    const third = await run([egress('shop', wep('db'), { port: 5432, start: NOW + 5 * HOUR })], { tree: first.tree, now: NOW + 6 * HOUR });
    expect(third.changes.size).toBe(0);
    expect(policyOf(third.tree, 'shop').spec.egress).toHaveLength(2);
  });

  test('new traffic extends the matching rule in place; lastUpdated moves, first-added stays, other rules untouched', async () => {
    const first = await run(day1);
    const later = NOW + 2 * HOUR;
    const second = await run([egress('shop', wep('db'), { port: 6379, start: later - 600 })], { tree: first.tree, now: later });
    expect([...second.changes.keys()]).toEqual([PATH]);
    const before = policyOf(first.tree, 'shop');
    const after = policyOf(second.tree, 'shop');
    expect(after.metadata.annotations['policy-recommender.io/last-updated']).toBe(formatTime(later));
    const dbRule = after.spec.egress.find((r: any) => r.destination.namespaceSelector === "projectcalico.org/name == 'db'");
    expect(dbRule.destination.ports).toEqual([5432, 6379]);
    expect(dbRule.metadata.annotations['policy-recommender.io/first-added']).toBe(formatTime(NOW));
    expect(after.spec.ingress).toEqual(before.spec.ingress);
    expect(second.namespaces[0]!.rules.filter((r) => r.changed).map((r) => r.peers)).toEqual([['namespace:db']]);
  });

  test('a new peer becomes a new rule at its sorted place', async () => {
    const first = await run(day1);
    const second = await run([egress('shop', wep('cache'), { port: 6379 })], { tree: first.tree, now: NOW + HOUR });
    const peers = policyOf(second.tree, 'shop').spec.egress.map((r: any) => r.metadata.annotations['policy-recommender.io/peer']);
    expect(peers).toEqual(['namespace:db', 'namespace:cache', 'namespace:kube-system']); // TCP 5432 < TCP 6379 < UDP 53
  });

  test('identical inputs give byte-identical files, whatever the order of the records', async () => {
    const records = [...day1, egress('shop', wep('cache'), { port: 6379 }), egress('shop', pub, { domains: ['a.io'], port: 443 })];
    const a = await run(records);
    const b = await run([...records].reverse());
    expect([...b.changes]).toEqual([...a.changes]);
  });

  test('the status is derived from lastUpdated, never written', async () => {
    const cfg = config({ interval: '10m', stabilizationPeriod: '2h' });
    const first = await run(day1, { config: cfg });
    expect(first.namespaces[0]!.status).toBe('Learning');
    const at = async (now: number) => (await run(day1, { tree: first.tree, now, config: cfg })).namespaces[0]!;
    expect((await at(NOW + 20 * 60)).status).toBe('Learning'); // exactly 2 intervals
    expect((await at(NOW + 21 * 60)).status).toBe('Stabilizing');
    const stable = await at(NOW + 2 * HOUR + 1);
    expect(stable.status).toBe('Stable');
    expect(stable.outcome).toBe('unchanged');
    expect(first.tree.get(PATH)).not.toMatch(/Learning|Stable/);
  });

  test("a person's unquoted last-updated (a YAML 1.1 timestamp) still drives the status", async () => {
    const cfg = config({ interval: '10m', stabilizationPeriod: '2h' });
    const first = await run(day1, { config: cfg });
    const unquoted = first.tree.get(PATH)!.replace(/last-updated: "([^"]+)"/, 'last-updated: $1');
    expect(unquoted).not.toBe(first.tree.get(PATH));
    const later = await run(day1, { tree: new Map(first.tree).set(PATH, unquoted), now: NOW + 3 * HOUR, config: cfg });
    expect(later.namespaces[0]).toMatchObject({ status: 'Stable', lastUpdated: formatTime(NOW) });
  });

  test('recommendationStatus boundaries', () => {
    expect(recommendationStatus(null, 100, 10, 60, true)).toBe('Learning');
    expect(recommendationStatus(0, 20, 10, 60, true)).toBe('Learning');
    expect(recommendationStatus(0, 21, 10, 60, true)).toBe('Stabilizing');
    expect(recommendationStatus(0, 60, 10, 60, true)).toBe('Stabilizing');
    expect(recommendationStatus(0, 61, 10, 60, true)).toBe('Stable');
  });

  test('a policy whose window held none of its flows is not Stable on time alone', () => {
    expect(recommendationStatus(0, 61, 10, 60, false)).toBe('Stabilizing');
    expect(recommendationStatus(0, 10_000, 10, 60, false)).toBe('Stabilizing');
    expect(recommendationStatus(0, 20, 10, 60, false)).toBe('Learning');
  });

  test('a namespace with no flows in a later window stays Stabilizing; its traffic seen again, Stable', async () => {
    const cfg = config({ interval: '10m', stabilizationPeriod: '2h' });
    const first = await run(day1, { config: cfg });
    const quiet = await run([], { tree: first.tree, now: NOW + 3 * HOUR, config: cfg });
    expect(quiet.namespaces[0]).toMatchObject({ status: 'Stabilizing', outcome: 'unchanged', lastUpdated: formatTime(NOW) });
    const seen = await run(day1, { tree: first.tree, now: NOW + 3 * HOUR, config: cfg });
    expect(seen.namespaces[0]).toMatchObject({ status: 'Stable', outcome: 'unchanged' });
  });
});

describe('people win', () => {
  test("a person's comments, key order and own rules survive an update", async () => {
    const first = await run(day1);
    const edited = first.tree
      .get(PATH)!
      .replace('spec:\n', 'spec:\n  # Reviewed by the payments team, 2026-11-20.\n')
      .replace(
        '  egress:\n',
        [
          '  egress:',
          '    # Break-glass access for the on-call bastion; keep until Q1.',
          '    - action: Allow',
          '      protocol: TCP',
          '      destination:',
          "        selector: app == 'bastion'",
          "        namespaceSelector: projectcalico.org/name == 'ops'",
          '        ports: [22]',
          '',
        ].join('\n'),
      )
      .replace('    policy-recommender.io/last-updated', '    team: payments # who owns it\n    policy-recommender.io/last-updated');
    const tree = new Map(first.tree).set(PATH, edited);
    const second = await run([egress('shop', wep('db'), { port: 6379 })], { tree, now: NOW + HOUR });
    const text = second.tree.get(PATH)!;
    expect(text).toContain('# Reviewed by the payments team, 2026-11-20.');
    expect(text).toContain('# Break-glass access for the on-call bastion; keep until Q1.');
    expect(text).toContain('team: payments # who owns it');
    expect(text).toContain('ports: [22]');
    expect(text.indexOf('team: payments')).toBeLessThan(text.indexOf('policy-recommender.io/last-updated'));
    const egressRules = policyOf(second.tree, 'shop').spec.egress;
    expect(egressRules[0].destination.selector).toBe("app == 'bastion'");
    expect(
      egressRules.find((r: any) => r.metadata?.annotations?.['policy-recommender.io/peer'] === 'namespace:db').destination.ports,
    ).toEqual([5432, 6379]);
  });

  test("traffic a person's rule already decides adds nothing (wider ports, any-namespace, or a deny)", async () => {
    const first = await run(day1);
    const widen = (text: string) => text.replace(/ports:\n\s+- 5432/, 'ports:\n          - "5000:7000"');
    const tree = new Map(first.tree).set(PATH, widen(first.tree.get(PATH)!));
    const second = await run([egress('shop', wep('db'), { port: 6379 })], { tree, now: NOW + HOUR });
    expect(second.changes.size).toBe(0);

    const denyAll = first.tree
      .get(PATH)!
      .replace('  egress:\n', '  egress:\n    - action: Deny\n      protocol: TCP\n      destination:\n        namespaceSelector: all()\n');
    const third = await run([egress('shop', wep('billing'), { port: 8080 })], {
      tree: new Map(first.tree).set(PATH, denyAll),
      now: NOW + HOUR,
    });
    expect(third.changes.size).toBe(0);
  });

  test("a person's narrower rule does not count: a selector on pod labels cannot be known to cover the namespace", async () => {
    const first = await run([ingress('shop', pub, { port: 443 })]);
    const narrowed = first.tree
      .get(PATH)!
      .replace(
        '  ingress:\n',
        "  ingress:\n    - action: Allow\n      protocol: TCP\n      source:\n        selector: app == 'web'\n        namespaceSelector: projectcalico.org/name == 'web'\n",
      );
    const second = await run([ingress('shop', wep('web'), { port: 80 })], {
      tree: new Map(first.tree).set(PATH, narrowed),
      now: NOW + HOUR,
    });
    expect(bare(policyOf(second.tree, 'shop').spec.ingress).map((r) => r.source?.namespaceSelector)).toEqual([
      "projectcalico.org/name == 'web'",
      "projectcalico.org/name == 'web'",
      undefined,
    ]);
  });

  test("a person's added port on a bot rule is kept and becomes memory", async () => {
    const first = await run(day1);
    const edited = first.tree.get(PATH)!.replace(/ports:\n(\s+)- 5432/, 'ports:\n$1- 5432\n$1- 5433');
    const second = await run(day1, { tree: new Map(first.tree).set(PATH, edited), now: NOW + HOUR });
    expect(second.changes.size).toBe(0);
  });

  test('a policy moved to another file is updated there, not duplicated', async () => {
    const first = await run(day1);
    const tree = new Map(first.tree);
    tree.set('teams/payments/shop-policy.yaml', tree.get(PATH)!);
    tree.delete(PATH);
    // The default layout builds the directory as it is: moving the file is all it takes.
    const second = await run([egress('shop', wep('db'), { port: 6379 })], { tree, now: NOW + HOUR });
    expect([...second.changes.keys()]).toEqual(['teams/payments/shop-policy.yaml']);
    expect(second.namespaces[0]!.path).toBe('teams/payments/shop-policy.yaml');
  });

  test('a file of someone else at the policy path is left alone and reported', async () => {
    const theirs = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n  namespace: shop\n';
    const result = await run(day1, { tree: new Map([[PATH, theirs]]) });
    expect(result.tree.get(PATH)).toBe(theirs);
    expect(result.namespaces[0]!.outcome).toBe('skipped');
    expect(result.namespaces[0]!.warnings[0]!.code).toBe('file-conflict');
  });

  test('an unreadable policy file is never overwritten', async () => {
    const first = await run(day1);
    const broken = `${first.tree.get(PATH)!}\n  oops: [unclosed\n`;
    const second = await run([egress('shop', wep('db'), { port: 6379 })], { tree: new Map(first.tree).set(PATH, broken), now: NOW + HOUR });
    expect(second.changes.has(PATH)).toBe(false);
    expect(second.namespaces[0]!.warnings.map((w) => w.code)).toEqual(['invalid-policy-file']);
  });

  test('a policy whose rules are not a list is reported, not rewritten', async () => {
    const first = await run(day1);
    const odd = first.tree.get(PATH)!.replace(/ {2}egress:\n[\s\S]*$/, '  egress: allow-everything\n');
    const second = await run([egress('shop', wep('db'), { port: 6379 })], { tree: new Map(first.tree).set(PATH, odd), now: NOW + HOUR });
    expect(second.changes.has(PATH)).toBe(false);
    expect(second.namespaces[0]!.warnings[0]!.message).toMatch(/spec\.egress is not a list/);
  });

  test("turning on intra-namespace pass-through changes our own rule, not a person's", async () => {
    const first = await run([egress('shop', wep('shop'), { port: 8080 })]);
    const second = await run([], {
      tree: first.tree,
      now: NOW + HOUR,
      config: config({ namespaceSpec: { intraNamespacePassThroughTraffic: true } }),
    });
    expect(policyOf(second.tree, 'shop').spec.egress[0].action).toBe('Pass');
    expect(second.namespaces[0]!.lastUpdated).toBe(formatTime(NOW + HOUR));
  });
});
