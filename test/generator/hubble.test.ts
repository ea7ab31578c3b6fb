// The scenarios as Hubble jsonpb lines (src/generator/hubble.ts, `flows:generate --format hubble`):
// the same scenario through Calico lines and through Hubble lines teaches the engine the same
// thing wherever Hubble can say it (hubbleExpressible: no network sets, which Cilium does not have,
// no staged policies, which it does not have either, and protocols flow.proto's Layer4 has).

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { FlowAggregator, type Observations } from '../../src/engine/aggregate.ts';
import type { LearnContext } from '../../src/engine/learn.ts';
import { parseCalicoFlowLog } from '../../src/flows/calico-flow-log.ts';
import type { FlowRecord } from '../../src/flows/record.ts';
import { FileFlowSource } from '../../src/flows/sources/file-source.ts';
import { parseHubbleLine } from '../../src/flows/sources/hubble/jsonpb-line.ts';
import { generateFlowEntries, writeFlowFile } from '../../src/generator/generate.ts';
import { hubbleExpressible, hubbleRender } from '../../src/generator/hubble.ts';
import { createRandom } from '../../src/generator/random.ts';
import { compileFlows } from '../../src/generator/record.ts';
import { buildScenario } from '../../src/generator/scenarios/index.ts';
import { cli, filesIn } from '../support/cli.ts';

const END = 1_795_000_200;
const WINDOW = { from: END - 7 * 86400, to: END + 3600 };
const CONTEXT: LearnContext = { window: WINDOW, clusterDomain: 'cluster.local', tierName: 'namespace-isolation' };

function record(r: ReturnType<typeof parseCalicoFlowLog>): FlowRecord {
  if (!r.ok) throw new Error(r.reason);
  return r.record;
}

/** What the engine learned, without what differs by design: counts and times (a Hubble event is one moment of one flow). */
function learned(o: Observations): unknown {
  return [...o.byNamespace].map(([ns, atoms]) => [
    ns,
    atoms.map((a) => ({ atom: a.atom, remoteIps: a.evidence.remoteIps, domains: a.domains })),
  ]);
}

describe.each(['yaobank', 'multi-namespace', 'realistic'])('scenario %s', (name) => {
  test('Calico lines and Hubble lines of every flow Hubble can express teach the same', () => {
    const scenario = buildScenario(name, {});
    const flows = compileFlows(scenario).filter((f) => hubbleExpressible(f.template));
    expect(flows.length).toBeGreaterThan(0);
    const calico = new FlowAggregator(CONTEXT);
    const hubble = new FlowAggregator(CONTEXT);
    const rng = createRandom(7);
    let hubbleSkipped = 0;
    for (const f of flows) {
      const toHubble = hubbleRender(f.template, f.reporter, scenario.nodes, 'compact');
      // The realistic scenario's 20,000 distinct flows once each; the others three times.
      for (let i = 0; i < (name === 'realistic' ? 1 : 3); i++) {
        const start = END - 3600 + 300 * i;
        calico.add(record(parseCalicoFlowLog(f.render(rng, start, start + 300))));
        const h = parseHubbleLine(toHubble(rng, start, start + 300));
        if (h.ok) hubble.add(h.record);
        else {
          // Only drops: Hubble's DROPPED teaches nothing, as Calico's deny does.
          expect(f.template.action).toBe('deny');
          expect(h.reason).toBe('verdict DROPPED (dropped: it did not flow)');
          hubbleSkipped++;
        }
      }
    }
    const c = calico.result();
    const h = hubble.result();
    expect(learned(h)).toEqual(learned(c));
    expect(c.byNamespace.size).toBeGreaterThan(0);
    // Every record Calico did not learn from for another policy is not learned from Hubble's either.
    expect(h.notLearned['decided by another policy'] ?? 0).toBe(c.notLearned['decided by another policy'] ?? 0);
    expect(h.notLearned['host endpoint'] ?? 0).toBe(c.notLearned['host endpoint'] ?? 0);
    expect(hubbleSkipped).toBe(c.notLearned.denied ?? 0);
  });
});

describe('flows:generate --format hubble', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('writes GetFlowsResponse lines the file source reads without a malformed one, gzip too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hubble-gen-'));
    dirs.push(dir);
    const plain = join(dir, 'flows.jsonl');
    const gz = join(dir, 'flows-gz.jsonl');
    const options = { scenario: 'multi-namespace', records: 3000, endTime: END, format: 'hubble' as const };
    await writeFlowFile(plain, options);
    await writeFlowFile(gz, { ...options, gzip: true });
    const counts = [];
    for (const path of [plain, gz]) {
      const source = await FileFlowSource.open([path]);
      let records = 0;
      await source.read(WINDOW, () => records++);
      expect(source.inputsRead).toBe(3000);
      expect(source.skipped.total).toBe(0);
      counts.push({ records, unlearnable: source.unlearnable.summary().byReason });
    }
    expect(counts[1]).toEqual(counts[0]);
    // Denied flows are drops; GRE has no Layer4 in flow.proto.
    expect(Object.keys(counts[0]!.unlearnable).sort()).toEqual([
      'no L4 protocol (l4 missing)',
      'verdict DROPPED (dropped: it did not flow)',
    ]);
  });

  test('the lines are GetFlowsResponse objects in protojson form, and the same for the same seed', () => {
    const lines = [...generateFlowEntries({ scenario: 'yaobank', records: 50, endTime: END, format: 'hubble', seed: 3 })].map(
      (e) => e.line as string,
    );
    const again = [...generateFlowEntries({ scenario: 'yaobank', records: 50, endTime: END, format: 'hubble', seed: 3 })].map(
      (e) => e.line as string,
    );
    expect(again).toEqual(lines);
    for (const line of lines) {
      expect(line).toMatch(
        /^\{"flow":\{"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z","uuid":"[0-9a-f-]{36}","verdict":"(FORWARDED|DROPPED)"/,
      );
      const o = JSON.parse(line) as { flow: { time: string }; node_name: string; time: string };
      expect(o.time).toBe(o.flow.time);
    }
  });

  // Cilium's default label filter (pkg/labelsfilter/filter.go) drops pod-template-hash and the
  // other controller labels workload inference reads; the flow's `workloads` names the controller.
  test('recommend --microsegment writes the same per-workload policies from Hubble lines as from Calico lines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hubble-micro-'));
    dirs.push(dir);
    const outputs = [];
    for (const format of ['calico', 'hubble'] as const) {
      const flows = join(dir, `${format}.jsonl`);
      await writeFlowFile(flows, { scenario: 'yaobank', records: 2000, endTime: END, format, seed: 5 });
      const out = join(dir, `out-${format}`);
      const run = await cli(
        'recommend',
        '--flows',
        flows,
        '--out',
        out,
        '--microsegment',
        'yaobank',
        '--now',
        new Date(END * 1000).toISOString(),
      );
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const files = await filesIn(out);
      outputs.push(new Map(await Promise.all(files.map(async (f) => [f, await readFile(join(out, f), 'utf8')] as const))));
    }
    expect([...outputs[1]!.keys()].filter((f) => f.startsWith('appsec/'))).toEqual([
      'appsec/yaobank/deployment-customer.yaml',
      'appsec/yaobank/deployment-database.yaml',
      'appsec/yaobank/deployment-summary.yaml',
    ]);
    expect(outputs[1]).toEqual(outputs[0]);
  });

  test('damaged lines are for the calico format only', () => {
    expect(() => generateFlowEntries({ scenario: 'yaobank', records: 10, endTime: END, format: 'hubble', damagedRatio: 0.1 })).toThrow(
      'damaged lines are written for the calico format only',
    );
  });
});
