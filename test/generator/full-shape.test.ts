// The full record shape and the bench's profiles (issue 14, point 1): records with every field of
// Calico Enterprise's flow logs ("Flow log data types", tigera/docs calico-enterprise/observability/
// elastic/flow/datatypes.mdx, as listed in test/conformance/flow-log-shapes.test.ts), Helm's labels
// and two policy-trace entries, which change nothing the recommender learns.

import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import { parseCalicoFlowLog } from '../../src/flows/calico-flow-log.ts';
import { type GenerateOptions, generateFlowLines, PROFILES, writeFlowFile } from '../../src/generator/generate.ts';
import { buildScenario } from '../../src/generator/scenarios/index.ts';
import { END_TIME, makeTempDir, planFromFlows, removeDir } from '../support/recommend-run.ts';
import { flowProblems } from './flow-shape.ts';

/** The data types table's fields (dest_domains written as [] when there are none). */
const DOCUMENTED_FIELDS = [
  'start_time',
  'end_time',
  'source_ip',
  'source_name',
  'source_name_aggr',
  'source_namespace',
  'nat_outgoing_ports',
  'source_port',
  'source_type',
  'source_labels',
  'dest_ip',
  'dest_name',
  'dest_name_aggr',
  'dest_namespace',
  'dest_port',
  'dest_type',
  'dest_labels',
  'dest_service_namespace',
  'dest_service_name',
  'dest_service_port',
  'dest_service_port_num',
  'dest_domains',
  'proto',
  'action',
  'reporter',
  'policies',
  'bytes_in',
  'bytes_out',
  'num_flows',
  'num_flows_started',
  'num_flows_completed',
  'packets_in',
  'packets_out',
  'http_requests_allowed_in',
  'http_requests_denied_in',
  'process_name',
  'num_process_names',
  'process_id',
  'num_process_ids',
  'process_args',
  'num_process_args',
  'original_source_ips',
  'num_original_source_ips',
  'tcp_mean_send_congestion_window',
  'tcp_min_send_congestion_window',
  'tcp_mean_smooth_rtt',
  'tcp_max_smooth_rtt',
  'tcp_mean_min_rtt',
  'tcp_max_min_rtt',
  'tcp_mean_mss',
  'tcp_min_mss',
  'tcp_total_retransmissions',
  'tcp_lost_packets',
  'tcp_unrecovered_to',
  'host',
  '@timestamp',
];

const opts = (scenario: string, records: number, extra: Partial<GenerateOptions> = {}): GenerateOptions => ({
  scenario,
  records,
  endTime: END_TIME,
  seed: 1,
  ...extra,
});
const records = (o: GenerateOptions): Record<string, unknown>[] =>
  [...generateFlowLines(o)].map((l) => JSON.parse(l.toString()) as Record<string, unknown>);
const HELM_KEYS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/component',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/managed-by',
  'app.kubernetes.io/version',
  'helm.sh/chart',
  'app',
];

describe.each([['yaobank'], ['multi-namespace'], ['scale']])('full shape, scenario %s', (scenario) => {
  const full = records(opts(scenario, 3000, { shape: 'full' }));

  test('every documented field, in well-formed records of real sizes', () => {
    expect(DOCUMENTED_FIELDS).toHaveLength(56);
    for (const r of full) {
      expect(Object.keys(r).sort()).toEqual([...DOCUMENTED_FIELDS].filter((f) => f !== 'policies' || 'policies' in r).sort());
      expect(flowProblems(r)).toEqual([]);
      expect(r['@timestamp']).toBe((r['end_time'] as number) * 1000);
    }
    const bytes = full.reduce((n, r) => n + JSON.stringify(r).length, 0) / full.length;
    expect(bytes).toBeGreaterThan(1800);
    expect(bytes).toBeLessThan(3000);
  });

  test("Helm's labels on every pod, and two policy-trace entries: a tier's pass, then what decided", () => {
    for (const r of full) {
      for (const end of ['source', 'dest']) {
        if (r[`${end}_type`] !== 'wep') continue;
        const keys = (r[`${end}_labels`] as { labels: string[] }).labels.map((l) => l.slice(0, l.indexOf('=')));
        expect(keys).toEqual(expect.arrayContaining(HELM_KEYS));
        expect(new Set(keys).size).toBe(keys.length);
      }
      const policies = r['policies'] as Record<string, string[]> | undefined;
      if (policies === undefined) continue;
      for (const list of Object.values(policies)) {
        expect(list).toHaveLength(2);
        expect(list[0]).toBe('0|baseline|baseline.pass-to-application-tiers|pass|0');
        expect(list[1]).toMatch(/^1\|/);
      }
    }
  });

  test('the same distinct flows as the compact shape, each read to the same final verdict', () => {
    const key = (r: Record<string, unknown>) =>
      JSON.stringify(
        ['source_namespace', 'source_name_aggr', 'dest_namespace', 'dest_name_aggr', 'proto', 'dest_port', 'reporter', 'action'].map(
          (k) => r[k],
        ),
      );
    const finalHits = (rs: Record<string, unknown>[]) => {
      const out = new Map<string, string>();
      for (const r of rs) {
        const parsed = parseCalicoFlowLog(JSON.stringify(r));
        if (!parsed.ok) throw new Error(parsed.reason);
        const pending = parsed.record.policies?.pending ?? [];
        const { index: _index, ...last } = pending.at(-1) ?? { index: 0 };
        out.set(key(r), JSON.stringify(last));
      }
      return out;
    };
    const compact = finalHits(records(opts(scenario, 3000)));
    expect(finalHits(full)).toEqual(compact);
  });
});

test('the full shape changes nothing the recommender proposes (multi-namespace, every flavor but one is enough)', async () => {
  const dir = await makeTempDir('full-shape');
  try {
    const [compact, full] = [join(dir, 'compact.jsonl'), join(dir, 'full.jsonl.gz')];
    await writeFlowFile(compact, opts('multi-namespace', 4000));
    await writeFlowFile(full, opts('multi-namespace', 4000, { shape: 'full' }));
    const files = async (path: string) => [...(await planFromFlows([path], 'calico')).changes.entries()].sort();
    expect(await files(full)).toEqual(await files(compact));
  } finally {
    await removeDir(dir);
  }
});

describe('profiles', () => {
  test('present: the multi-namespace scenario (378 distinct flows); realistic: 200 namespaces, about 20,000', () => {
    const distinct = (scenario: string) => buildScenario(scenario).flows.reduce((n, f) => n + f.reporters.length, 0);
    expect(PROFILES.present).toEqual({ scenario: 'multi-namespace', shape: 'full' });
    expect(distinct(PROFILES.present.scenario)).toBe(378);
    const realistic = buildScenario(PROFILES.realistic.scenario);
    const namespaces = new Set(realistic.workloads.map((w) => w.namespace).filter((ns) => !/^(kube-|calico-|monitoring$)/.test(ns)));
    expect(namespaces.size).toBe(200);
    expect(distinct(PROFILES.realistic.scenario)).toBeGreaterThan(18_000);
    expect(distinct(PROFILES.realistic.scenario)).toBeLessThan(22_000);
  });

  test('flows:generate --profile writes what the bench generates; --profile excludes --scenario', async () => {
    const dir = await makeTempDir('profile-cli');
    try {
      const cli = fileURLToPath(new URL('../../src/generator/cli.ts', import.meta.url));
      const out = join(dir, 'flows.jsonl');
      const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8' });
      const ok = run(['--profile', 'realistic', '--records', '500', '--out', out, '--end', String(END_TIME), '--seed', '1']);
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      const expected = Buffer.concat(
        [...generateFlowLines(opts('realistic', 500, { shape: 'full' }))].flatMap((l) => [l, Buffer.from('\n')]),
      );
      expect((await readFile(out)).equals(expected)).toBe(true);
      const both = run(['--profile', 'present', '--scenario', 'yaobank', '--records', '5', '--out', out]);
      expect(both.status).toBe(2);
      expect(both.stderr).toMatch(/--profile and --scenario exclude each other/);
      expect(run(['--profile', 'huge', '--records', '5', '--out', out]).status).toBe(2);
      expect(run(['--scenario', 'yaobank', '--shape', 'wide', '--records', '5', '--out', out]).status).toBe(2);
    } finally {
      await removeDir(dir);
    }
  });
});
