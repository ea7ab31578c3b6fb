// Hostile input: every value is rejected or safely encoded. YAML stays valid and parses back to
// the same data, no path escapes the tree, nothing crashes.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { recommendIntoDirectory } from '../../src/cli/recommend-directory.ts';
import { parseCalicoFlowLog } from '../../src/flows/calico-flow-log.ts';
import { FileFlowSource } from '../../src/flows/sources/file-source.ts';
import { isSafeTreePath } from '../../src/tree/tree.ts';
import { config, egress, kustomizeLayoutTree, loadTemplate, NOW, networkSet, pub, run, wep } from '../support/engine.ts';
import { HOSTILE_NAMES } from '../support/hostile-values.ts';

const base = {
  start_time: NOW - 600,
  end_time: NOW - 300,
  source_name_aggr: 'web-5d7f9c-*',
  source_namespace: 'shop',
  source_type: 'wep',
  dest_name_aggr: 'db-7c9f-*',
  dest_namespace: 'db',
  dest_type: 'wep',
  dest_port: 5432,
  proto: 'tcp',
  action: 'allow',
  reporter: 'src',
};
const line = (overrides: Record<string, unknown>) => JSON.stringify({ ...base, ...overrides });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'policy-recommender-hostile-'));
  await loadTemplate();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('hostile values in flow records are rejected at the boundary', () => {
  test.each(HOSTILE_NAMES)('namespace %j', (name) => {
    for (const field of ['source_namespace', 'dest_namespace']) {
      const result = parseCalicoFlowLog(line({ [field]: name }));
      // Empty means "not namespaced" in flow logs; a workload without a namespace is then rejected.
      expect(result).toEqual({
        ok: false,
        reason: name === '' ? `missing ${field.replace('_namespace', '')}_namespace for a workload` : `invalid ${field}`,
      });
    }
  });

  // Object names may have 253 characters: 64 x's is a valid network set name.
  test.each(HOSTILE_NAMES.filter((n) => n !== '' && n !== '*' && n.length < 64))('network set name %j', (name) => {
    expect(parseCalicoFlowLog(line({ dest_type: 'ns', dest_name_aggr: name, dest_namespace: '-' }))).toEqual({
      ok: false,
      reason: 'invalid dest_name_aggr',
    });
  });

  test.each(HOSTILE_NAMES.filter((n) => n !== ''))('service name %j', (name) => {
    expect(parseCalicoFlowLog(line({ dest_type: 'net', dest_name_aggr: 'pub', dest_namespace: '-', dest_service_name: name }))).toEqual({
      ok: false,
      reason: 'invalid dest_service_name',
    });
  });

  test.each(['evil.com\n- 0.0.0.0/0', "a.com' || 'b", 'a..b', '-x.com', 'x'.repeat(254), 'a.com/path', 'a.com:443', '<b>.com', '*.*.com'])(
    'domain %j',
    (domain) => {
      expect(parseCalicoFlowLog(line({ dest_type: 'net', dest_name_aggr: 'pub', dest_namespace: '-', dest_domains: [domain] }))).toEqual({
        ok: false,
        reason: 'invalid dest_domains entry',
      });
    },
  );

  test('numbers out of range and deeply nested or huge values', () => {
    expect(parseCalicoFlowLog(line({ dest_port: 1e300 }))).toEqual({ ok: false, reason: 'invalid dest_port' });
    expect(parseCalicoFlowLog(line({ start_time: -1 }))).toEqual({ ok: false, reason: 'invalid start_time' });
    expect(parseCalicoFlowLog(line({ num_flows: Number.MAX_SAFE_INTEGER * 4 }))).toEqual({ ok: false, reason: 'invalid num_flows' });
    expect(parseCalicoFlowLog(line({ policies: { all_policies: Array(1000).fill('0|a|b|allow|0') } }))).toEqual({
      ok: false,
      reason: 'invalid policies',
    });
    const nested = `${'['.repeat(5000)}"x"${']'.repeat(5000)}`;
    expect(parseCalicoFlowLog(line({ source_labels: 'PLACEHOLDER' }).replace('"PLACEHOLDER"', nested))).toMatchObject({ ok: false });
    expect(parseCalicoFlowLog(line({ source_labels: { labels: ['a=b', ['nested']] } }))).toEqual({
      ok: false,
      reason: 'invalid source_labels',
    });
    expect(parseCalicoFlowLog(line({ proto: '__proto__' }))).toEqual({ ok: false, reason: 'invalid proto' });
    expect(parseCalicoFlowLog('{"__proto__": {"action": "allow"}}')).toMatchObject({ ok: false });
  });
});

describe('hostile input never escapes the output directory, never breaks YAML', () => {
  test('a flow file full of hostile lines writes only valid files inside --out', async () => {
    const lines = [
      ...HOSTILE_NAMES.map((name) => line({ source_namespace: name })),
      ...HOSTILE_NAMES.map((name) => line({ dest_type: 'ns', dest_name_aggr: name, dest_namespace: name })),
      Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]).toString('latin1'),
      line({}),
    ];
    const stdin = Readable.from([Buffer.from(lines.join('\n'), 'latin1')]);
    const out = join(dir, 'out');
    const result = await recommendIntoDirectory({
      source: await FileFlowSource.open(['-'], { stdin }),
      outDir: out,
      config: config(),
      now: NOW,
      dryRun: false,
    });
    expect(result.flows.skipped.total).toBe(lines.length - 1);
    const written = (await readdir(out, { recursive: true })).sort();
    expect(written).toEqual(['global-default-deny.yaml', 'namespace-isolation', 'namespace-isolation/shop.yaml', 'tiers.yaml']);
    const entries = await readdir(dir);
    expect(entries.sort()).toEqual(['out']);
  });

  test('names that are valid but YAML-special are quoted and read back as strings (as kubectl reads YAML 1.1)', async () => {
    const special = ['yes', 'no', 'on', 'off', 'y', 'n', 'true', 'null', '0777', '1e3', '123', '0x1f', '1-2'];
    const result = await run(
      special.flatMap((ns) => [egress(ns, wep(special[0]!)), egress(ns, networkSet(ns, ns, null, [`set=${ns}`]), { port: 8443 })]),
      {
        config: config({ namespaceSpec: { selector: 'all()' } }),
      },
    );
    for (const ns of special) {
      const text = result.tree.get(`namespace-isolation/${ns}.yaml`)!;
      const policy = (parseAllDocuments(text, { version: '1.1' })[0] as any).toJS();
      expect(policy.metadata.namespace).toBe(ns);
      expect(policy.spec.selector).toBe(`projectcalico.org/namespace == '${ns}'`);
      expect(policy.spec.egress.some((r: any) => r.destination.selector === `set == '${ns}'`)).toBe(true);
    }
    // The directory layout: no list; each name its own file (Flux and Argo CD build every file).
    expect([...result.tree.keys()].filter((p) => p.startsWith('namespace-isolation/')).sort()).toEqual(
      special.map((ns) => `namespace-isolation/${ns}.yaml`).sort(),
    );
    // In the kustomize layout the names are listed, as strings.
    const listed = await run(
      special.map((ns) => egress(ns, pub)),
      { tree: await kustomizeLayoutTree(), config: config({ namespaceSpec: { selector: 'all()' } }) },
    );
    const resources = (parseAllDocuments(listed.tree.get('namespace-isolation/kustomization.yaml')!, { version: '1.1' })[0] as any).toJS()
      .resources;
    expect(resources).toEqual(special.map((ns) => `${ns}.yaml`).sort());
  });

  test('an alias bomb or a broken kustomization in the tree is an error or a warning, not a crash', async () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from(
        { length: 12 },
        (_, i) =>
          `${'b'.repeat(i + 1)}: &${'b'.repeat(i + 1)} [${Array(10)
            .fill(i === 0 ? '*a' : `*${'b'.repeat(i)}`)
            .join(', ')}]`,
      ),
    ].join('\n');
    const withBomb = await run([egress('shop', pub)], { tree: new Map([['namespace-isolation/shop.yaml', bomb]]) });
    expect(withBomb.namespaces[0]!.warnings[0]!.code).toBe('invalid-policy-file');
    expect(withBomb.changes.has('namespace-isolation/shop.yaml')).toBe(false);

    const escaping = new Map([['kustomization.yaml', 'resources:\n  - ../../../etc/passwd\n  - /etc/shadow\n']]);
    const result = await run([egress('shop', pub)], { tree: escaping });
    for (const path of result.changes.keys()) expect(isSafeTreePath(path)).toBe(true);
    await expect(run([egress('shop', pub)], { tree: new Map([['kustomization.yaml', 'resources: [unclosed\n']]) })).rejects.toThrow(
      /cannot update kustomization\.yaml: .*not valid YAML/,
    );
  });

  test('property: arbitrary strings in every name field never crash and never produce an unsafe path or invalid YAML', async () => {
    const name = fc.oneof(
      fc.constantFrom(...HOSTILE_NAMES, 'shop', 'db', '-', 'pub', 'pvt'),
      fc.string({ maxLength: 80 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
    );
    const record = fc.record({
      source_namespace: name,
      dest_namespace: name,
      dest_name_aggr: name,
      dest_type: fc.constantFrom('wep', 'ns', 'net', 'hep', 'x'),
      dest_domains: fc.option(fc.array(name, { maxLength: 3 })),
      dest_service_name: fc.option(name),
      proto: fc.oneof(fc.constantFrom('tcp', 'udp', 'icmp', '132'), name, fc.integer()),
      dest_port: fc.oneof(fc.integer({ min: -5, max: 70000 }), fc.constant(null)),
      reporter: fc.constantFrom('src', 'dst'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 8 }), async (records) => {
        const parsed = records.map((r) => parseCalicoFlowLog(line(r as Record<string, unknown>)));
        const accepted = parsed.flatMap((p) => (p.ok ? [p.record] : []));
        const result = await run(accepted, { config: config({ flavor: 'calico-enterprise', namespaceSpec: { selector: 'all()' } }) });
        for (const [path, text] of result.changes) {
          expect(isSafeTreePath(path)).toBe(true);
          for (const doc of parseAllDocuments(text, { version: '1.1' }) as any[]) expect(doc.errors).toEqual([]);
        }
      }),
      { numRuns: 150 },
    );
  });
});
