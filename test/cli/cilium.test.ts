// `recommend --flavor cilium` (issue 16 point 2) on Hubble lines (`flows:generate --format hubble`,
// as `hubble observe -o jsonpb` prints them) and on Calico flow logs: CiliumNetworkPolicies per
// namespace (and per workload with --microsegment), the Cilium template's clusterwide default deny,
// every object accepted by src/cilium/parse-policy.ts, the tree built by `kubectl kustomize` as Flux
// builds a directory without a kustomization (test/support/kustomize.ts fluxBuild), and a second
// run over the same flows changes nothing.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { parseCiliumPolicy } from '../../src/cilium/parse-policy.ts';
import { parseTime } from '../../src/engine/provenance.ts';
import { writeFlowFile } from '../../src/generator/generate.ts';
import { cli, filesIn } from '../support/cli.ts';
import { fluxBuild, kubectlAvailable } from '../support/kustomize.ts';

const END = '2026-11-22T12:00:00Z';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'policy-recommender-cilium-'));
  const options = { scenario: 'multi-namespace', records: 4000, endTime: parseTime(END)!, seed: 5 };
  await writeFlowFile(join(dir, 'hubble.jsonl'), { ...options, format: 'hubble' });
  await writeFlowFile(join(dir, 'calico.jsonl'), options);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function objects(out: string): Promise<{ path: string; value: Record<string, unknown> }[]> {
  const list: { path: string; value: Record<string, unknown> }[] = [];
  for (const path of await filesIn(out)) {
    for (const doc of parseAllDocuments(await readFile(join(out, path), 'utf8'))) list.push({ path, value: doc.toJS() });
  }
  return list;
}

describe.each(['hubble', 'calico'])('recommend --flavor cilium on %s lines', (format) => {
  test.each([
    ['namespace isolation', []],
    ['microsegmentation', ['--microsegment', 'orders']],
  ])('%s: Cilium policies Cilium accepts, built by kubectl kustomize; a second run changes nothing', async (_what, extra) => {
    const out = join(dir, `${format}-${extra.length}`);
    const args = [
      'recommend',
      '--flows',
      join(dir, `${format}.jsonl`),
      '--out',
      out,
      '--now',
      END,
      '--flavor',
      'cilium',
      ...(extra as string[]),
    ];
    const first = await cli(...args);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const written = await objects(out);
    expect(written.length).toBeGreaterThan(5);
    const kinds = new Set<string>();
    for (const { path, value } of written) {
      const parsed = parseCiliumPolicy(value);
      expect([path, parsed.ok ? [] : parsed.issues]).toEqual([path, []]);
      kinds.add(`${String(value['kind'])}`);
    }
    // No Calico object (no tiers, no staged policies) in a Cilium tree.
    expect([...kinds].sort()).toEqual(['CiliumClusterwideNetworkPolicy', 'CiliumNetworkPolicy']);
    expect(written.filter((o) => o.path === 'default-deny.yaml').map((o) => o.value['kind'])).toEqual(['CiliumClusterwideNetworkPolicy']);
    if (extra.length > 0) expect(written.some((o) => o.path.startsWith('appsec/orders/'))).toBe(true);

    if (kubectlAvailable()) {
      const build = fluxBuild(out);
      expect(build.stderr).toBe('');
      expect(build.objects.length).toBe(written.length);
    }

    const second = await cli(...args);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^No changes: .* is up to date\.$/m);
  });
});
