// The product's core promise: the recommender's policies, applied, allow every flow it learned
// from. Runs `recommend` on the bundled samples into a temporary directory, then simulates the
// same flows against what it wrote, with staged policies applied as if enforced.

import { afterAll, describe, expect, test } from '@jest/globals';
import { SAMPLE_FLOWS, SAMPLE_NOW } from '../../src/cli/demo.ts';
import { recommendIntoDirectory } from '../../src/cli/recommend-directory.ts';
import { simulateDirectory } from '../../src/cli/simulate-directory.ts';
import { type Flavor, validateRecommendationConfig } from '../../src/config/recommendation-config.ts';
import { learn } from '../../src/engine/learn.ts';
import { parseTime } from '../../src/engine/provenance.ts';
import { lookbackWindow } from '../../src/flows/read-flows.ts';
import type { FlowRecord } from '../../src/flows/record.ts';
import { FileFlowSource } from '../../src/flows/sources/file-source.ts';
import { Simulator, type Verdict } from '../../src/simulate/evaluate.ts';
import { policySetFromTree } from '../../src/simulate/policy-set.ts';
import { checkProposal, flowsOfObservations } from '../../src/simulate/would-deny.ts';
import { loadTree } from '../../src/tree/fs-tree.ts';
import { makeTempDir, removeDir } from '../support/recommend-run.ts';

const NOW = parseTime(SAMPLE_NOW)!;
const dirs: string[] = [];

afterAll(async () => {
  for (const dir of dirs) await removeDir(dir);
});

describe.each(['calico', 'calico-enterprise', 'kubernetes'] as Flavor[])('recommend, then simulate (%s)', (flavor) => {
  test('every flow the recommender learned from is allowed by what it wrote', async () => {
    const config = validateRecommendationConfig({ flavor });
    const out = await makeTempDir(`policy-recommender-e2e-${flavor}`);
    dirs.push(out);
    const run = await recommendIntoDirectory({
      source: await FileFlowSource.open([SAMPLE_FLOWS]),
      outDir: out,
      config,
      now: NOW,
      dryRun: false,
    });
    expect(run.flows.observations.recordsLearned).toBe(7684);

    const set = policySetFromTree(await loadTree(out));
    expect(set.warnings).toEqual([]);
    const simulator = new Simulator(set, 'staged');
    const window = lookbackWindow(config, NOW);
    const ctx = { window, clusterDomain: config.clusterDomain, tierName: config.namespaceSpec.tierName };
    const verdicts = { allowed: 0, denied: 0, indeterminate: 0 };
    const notAllowed: { record: FlowRecord; verdict: Verdict }[] = [];
    await (await FileFlowSource.open([SAMPLE_FLOWS])).read(window, (record) => {
      if (typeof learn(record, ctx) === 'string') return;
      const verdict = simulator.evaluate(record);
      verdicts[verdict.verdict]++;
      if (verdict.verdict !== 'allowed') notAllowed.push({ record, verdict });
    });
    expect(notAllowed.slice(0, 3)).toEqual([]);
    expect(verdicts).toEqual({ allowed: 7684, denied: 0, indeterminate: 0 });

    // The App's question on the same run: what would the proposal deny of what was observed?
    const proposal = checkProposal({ tree: await loadTree(out), flows: flowsOfObservations(run.flows.observations.byNamespace) });
    expect(proposal.denied).toEqual([]);
    expect(proposal.indeterminate).toEqual([]);
  });
});

test('simulate on the demo run denies only what the recommender did not learn from', async () => {
  const config = validateRecommendationConfig({});
  const out = await makeTempDir('policy-recommender-e2e-cli');
  dirs.push(out);
  await recommendIntoDirectory({ source: await FileFlowSource.open([SAMPLE_FLOWS]), outDir: out, config, now: NOW, dryRun: false });
  const sim = await simulateDirectory({
    source: await FileFlowSource.open([SAMPLE_FLOWS]),
    policiesDir: out,
    config,
    now: NOW,
    view: 'staged',
  });
  expect(sim.simulated).toBe(8586);
  expect(sim.policies.warnings).toEqual([]);
  expect(sim.totals.byVerdict.indeterminate.rows).toBe(0);

  // Why the learner skipped each distinct flow (direction, endpoint, peer, port).
  const key = (
    direction: string,
    local: { namespace: string | null; name: string },
    remote: { type: string; namespace: string | null; name: string },
    port: number | null,
  ) => `${direction} ${local.namespace}/${local.name} ${remote.type} ${remote.namespace}/${remote.name} ${port}`;
  const window = lookbackWindow(config, NOW);
  const ctx = { window, clusterDomain: config.clusterDomain, tierName: config.namespaceSpec.tierName };
  const reasons = new Map<string, Set<string>>();
  await (await FileFlowSource.open([SAMPLE_FLOWS])).read(window, (r) => {
    const egress = r.reporter === 'src';
    const k = key(egress ? 'egress' : 'ingress', egress ? r.source : r.dest, egress ? r.dest : r.source, r.destPort);
    const lesson = learn(r, ctx);
    let set = reasons.get(k);
    if (set === undefined) reasons.set(k, (set = new Set()));
    set.add(typeof lesson === 'string' ? lesson : 'learned');
  });
  // What is denied, the recommender did not learn from: Prometheus scrapes and quarantined or
  // blocked flows other policies decide in the cluster (those policies are not in this tree), and
  // host-endpoint traffic.
  const why: Record<string, number> = {};
  for (const row of sim.rows.filter((r) => r.verdict === 'denied')) {
    for (const reason of reasons.get(key(row.direction, row.endpoint, row.peer, row.port)) ?? ['not in the flows'])
      why[reason] = (why[reason] ?? 0) + 1;
  }
  // Host-endpoint peers (node addresses, private) are outside what Public rules allow: denied, as Calico would.
  expect(why).toEqual({ 'decided by another policy': 107, denied: 4, 'host endpoint': 12 });
});
