// The changes that made planning linear in the size of the cluster (issue 14, point 4: one pass
// over the kustomizations instead of one per written file, indexes instead of scans) must not
// change a single byte of what a run writes or reports. A generated cluster of the scale scenario,
// planned in every layout, with and without microsegmentation, fresh and over its own earlier
// output with more traffic: the hashes are those of the planner before those changes (commit
// 0cbc327), so any difference in any file or report fails here.

import { createHash } from 'node:crypto';
import { describe, expect, test } from '@jest/globals';
import { validateRecommendationConfig } from '../../src/config/recommendation-config.ts';
import { readFlows } from '../../src/flows/read-flows.ts';
import { FileFlowSource } from '../../src/flows/sources/file-source.ts';
import { generateFlowLines } from '../../src/generator/generate.ts';
import { type Plan, planRecommendations } from '../../src/plan/plan.ts';
import { KUSTOMIZE_LAYOUT, loadTemplate } from '../support/engine.ts';

const END = 1_795_000_200; // a flush boundary
const HOUR = 3600;

async function* linesOf(size: { namespaces: number; workloads: number; flows: number }): AsyncGenerator<Buffer> {
  for (const line of generateFlowLines({ scenario: 'scale', ...size, records: size.flows, endTime: END, spanSeconds: HOUR }))
    yield Buffer.concat([line, Buffer.from('\n')]);
}

const SMALL = { namespaces: 40, workloads: 160, flows: 1_600 };
// The same cluster with more traffic: every policy of the first run gets rules added.
const MORE = { namespaces: 40, workloads: 160, flows: 3_200 };

async function plan(
  size: typeof SMALL,
  tree: ReadonlyMap<string, string>,
  configText: Record<string, unknown>,
  now: number,
): Promise<{ plan: Plan; tree: Map<string, string> }> {
  const config = validateRecommendationConfig(configText);
  const source = await FileFlowSource.open(['-'], { stdin: linesOf(size) });
  const flows = await readFlows(source, config, now);
  const result = planRecommendations({
    tree,
    template: await loadTemplate(),
    observations: flows.observations.byNamespace,
    endpoints: flows.observations.endpoints,
    config,
    now,
  });
  return { plan: result, tree: new Map([...tree, ...result.changes]) };
}

function digest(plan: Plan): string {
  const hash = createHash('sha256');
  for (const [path, text] of plan.changes) hash.update(`${path}\0${text}\0`);
  const { changes: _changes, ...reports } = plan;
  hash.update(JSON.stringify(reports));
  return hash.digest('hex').slice(0, 16);
}

const MICRO = { microsegmentation: { enabled: true, select: { selector: 'all()' } } };
/** A person's kustomization whose list is not sorted: additions go at its end. */
const UNSORTED: ReadonlyMap<string, string> = new Map([
  ...KUSTOMIZE_LAYOUT,
  [
    'namespace-isolation/kustomization.yaml',
    'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - zz-mine.yaml # keep\n  - aa-mine.yaml\n',
  ],
  ['namespace-isolation/zz-mine.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: zz\n'],
  ['namespace-isolation/aa-mine.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aa\n'],
]);

describe('planning a generated cluster writes exactly what it wrote before planning was made linear', () => {
  test.each([
    ['directory layout', new Map<string, string>(), {}, ['0853029adb2c325a', 'a6bebbcdf7e2d7ce']],
    ['kustomize layout', KUSTOMIZE_LAYOUT, {}, ['3f57ae76f5c5753e', 'a6bebbcdf7e2d7ce']],
    ['kustomize layout, an unsorted list of a person', UNSORTED, {}, ['5ef7ea25f8eb8215', 'a6bebbcdf7e2d7ce']],
    ['directory layout, microsegmentation', new Map<string, string>(), MICRO, ['0758f254961c2cb8', '3090e902449536d4']],
    ['kustomize layout, microsegmentation', KUSTOMIZE_LAYOUT, MICRO, ['3355a9a5d6d00f80', '3090e902449536d4']],
  ] as const)(
    '%s: a fresh tree, then a run over it with more traffic',
    async (_name, start, configText, expected) => {
      const base = new Map([...(start.size > 0 ? await loadTemplate() : []), ...start]);
      const first = await plan(SMALL, base, configText, END);
      const second = await plan(MORE, first.tree, configText, END + 2 * HOUR);
      expect(first.plan.changes.size).toBeGreaterThan(SMALL.namespaces);
      expect(second.plan.changes.size).toBeGreaterThan(0);
      expect([digest(first.plan), digest(second.plan)]).toEqual(expected);
    },
    60_000,
  );
});
