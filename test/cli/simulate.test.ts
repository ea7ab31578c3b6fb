// `policy-recommender simulate` on a small fixture directory (test/fixtures/simulate/).

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import { cli, tableRows } from '../support/cli.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/simulate/', import.meta.url));
const FLOWS = join(FIXTURE, 'flows.jsonl');
const POLICIES = join(FIXTURE, 'policies');
const NOW = '2026-11-22T12:00:00Z';

describe('policy-recommender simulate', () => {
  test('reports every distinct flow with its verdict and what decided, and exits 0 though flows are denied', async () => {
    const { code, stdout, stderr } = await cli('simulate', '--flows', FLOWS, '--policies', POLICIES, '--now', NOW);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain(
      `Simulated 6 flow records from 1 file (${FLOWS}) (window 2026-11-21T12:00:00Z to 2026-11-22T12:00:00Z) against 1 policy in ${POLICIES}, staged policies applied as if enforced.`,
    );
    expect(stdout).toContain(
      "Skipped objects (1):\n  broken.yaml: NetworkPolicy shop/isolation.broken: spec.selector: expected '==' at position 4",
    );
    expect(tableRows(stdout)).toEqual([
      ['denied', 'ingress', 'shop/app-5d7f9c-*', 'pub', 'TCP', '8080', '1', 'tier isolation default action Deny'],
      [
        'indeterminate',
        'egress',
        'shop/app-5d7f9c-*',
        'pub',
        'TCP',
        '443',
        '1',
        'shop/isolation.shop (staged) egress[1] Allow | tier isolation default action Deny',
      ],
      [
        'indeterminate',
        'egress',
        'shop/app-5d7f9c-*',
        'pvt',
        'TCP',
        '80',
        '1',
        'shop/isolation.shop (staged) egress[1] Allow | tier isolation default action Deny',
      ],
      [
        'allowed',
        'egress',
        'shop/app-5d7f9c-*',
        'kube-system/peer-7c9f-*',
        'UDP',
        '53',
        '5',
        'shop/isolation.shop (staged) egress[0] Allow',
      ],
      ['allowed', 'ingress', 'shop/app-5d7f9c-*', 'shop/peer-7c9f-*', 'TCP', '8080', '4', 'shop/isolation.shop (staged) ingress[0] Allow'],
    ]);
    expect(stdout).toContain(
      "  shop/isolation.shop egress[1]: named port 'http' cannot be resolved from a flow (its number is the pod's, not in flow logs) (2 distinct flows)",
    );
    expect(stdout).toContain(
      'Totals: 5 distinct flows (6 records, 12 flows): 2 allowed (9 flows), 1 denied (1 flow), 2 indeterminate (2 flows).',
    );
    expect(stdout).toMatch(/^ {2}shop\/isolation\.shop \(staged\) +9 +0$/m);
    expect(stdout).toMatch(/^ {2}tier isolation default action +0 +1$/m);
  });

  test('--enforced-only leaves the staged policy out', async () => {
    const { code, stdout } = await cli('simulate', '--flows', FLOWS, '--policies', POLICIES, '--now', NOW, '--enforced-only');
    expect(code).toBe(0);
    expect(stdout).toContain('against 0 policies');
    expect(stdout).toContain('enforced policies only');
    expect(tableRows(stdout).map((r) => [r[0], r.at(-1)])).toEqual(Array(5).fill(['allowed', 'profile kns.shop Allow']));
  });

  test('--json prints one document with the same content', async () => {
    const { code, stdout } = await cli('simulate', '--flows', FLOWS, '--policies', POLICIES, '--now', NOW, '--json');
    expect(code).toBe(0);
    const doc = JSON.parse(stdout);
    expect(doc.records).toBe(6);
    expect(doc.window).toEqual({ from: '2026-11-21T12:00:00Z', to: NOW });
    expect(doc.policies).toMatchObject({
      view: 'staged',
      count: 1,
      warnings: [{ path: 'broken.yaml', object: 'NetworkPolicy shop/isolation.broken' }],
    });
    expect(doc.totals.byVerdict).toEqual({
      allowed: { rows: 2, records: 3, flows: 9 },
      denied: { rows: 1, records: 1, flows: 1 },
      indeterminate: { rows: 2, records: 2, flows: 2 },
    });
    expect(doc.flows[0]).toMatchObject({
      verdict: 'denied',
      direction: 'ingress',
      endpoint: { type: 'wep', namespace: 'shop', name: 'app-5d7f9c-*' },
      peer: { type: 'net', namespace: null, name: 'pub' },
      protocol: 'TCP',
      port: 8080,
      decisions: [{ by: 'tier-default', action: 'Deny', tier: 'isolation' }],
    });
    expect(doc.flows[3].decisions[0]).toMatchObject({
      by: 'rule',
      rule: 0,
      direction: 'egress',
      policy: { calicoName: 'isolation.shop', namespace: 'shop', staged: true, path: 'shop.yaml' },
    });
  });

  test('--config sets the lookback window', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'policy-recommender-simulate-'));
    try {
      const config = join(dir, 'scope.yml');
      await writeFile(config, 'initialLookback: 96h\n');
      const { stdout } = await cli('simulate', '--flows', FLOWS, '--policies', POLICIES, '--now', NOW, '--config', config);
      expect(stdout).toContain('Simulated 7 flow records');
      // The three-day-old SMTP flow is in the window now; the named port `http` may be 25.
      expect(tableRows(stdout).map((r) => r.slice(0, 6))).toContainEqual([
        'indeterminate',
        'egress',
        'shop/app-5d7f9c-*',
        'pub',
        'TCP',
        '25',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('an unreadable policies directory exits 1; a bad --now exits 2', async () => {
    const missing = await cli('simulate', '--flows', FLOWS, '--policies', join(FIXTURE, 'nowhere'), '--now', NOW);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`policy-recommender: cannot read ${join(FIXTURE, 'nowhere')}: no such directory`);
    const file = await cli('simulate', '--flows', FLOWS, '--policies', FLOWS, '--now', NOW);
    expect(file.code).toBe(1);
    expect(file.stderr).toContain('not a directory');
    const usage = await cli('simulate', '--flows', FLOWS, '--policies', POLICIES, '--now', 'yesterday');
    expect(usage.code).toBe(2);
    expect((await cli('simulate', '--flows', FLOWS)).code).toBe(2);
  });
});
