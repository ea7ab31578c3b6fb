// What the recommender writes today that a Calico cluster refuses (issue 11 points 3 and 9), one
// reproducer each, judged by the oracle (test/support/crd-validator.ts) on every supported release.
// These are defects of the engine (src/engine), left to its owner: each test is `test.failing`, so
// Jest reports it as failed the day the engine writes a valid object. Then make it an ordinary test.

import { beforeAll, expect, test } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import type { FlowRecord } from '../../src/flows/record.ts';
import type { RecommendationConfig } from '../../src/config/recommendation-config.ts';
import { CALICO_VERSIONS, validateCalicoObject } from '../support/crd-validator.ts';
import { config, deploymentPods, egress, flow, loadTemplate, net, run, wep } from '../support/engine.ts';

beforeAll(async () => {
  await loadTemplate();
});

/** `<release> <path> <name>: <error>` for every Calico object the run writes that some release refuses. */
async function refused(records: readonly FlowRecord[], cfg?: RecommendationConfig): Promise<string[]> {
  const result = await run(records, cfg === undefined ? {} : { config: cfg });
  const out: string[] = [];
  for (const [path, text] of result.changes) {
    for (const doc of parseAllDocuments(text)) {
      const obj = doc.toJS() as Record<string, unknown>;
      if (typeof obj['apiVersion'] !== 'string' || !obj['apiVersion'].startsWith('projectcalico.org/')) continue;
      const name = (obj['metadata'] as Record<string, unknown>)['name'];
      for (const version of CALICO_VERSIONS) out.push(...validateCalicoObject(obj, { calicoVersion: version }).map((e) => `${version} ${path} ${String(name)}: ${e}`));
    }
  }
  return out;
}

const microsegmentation = () => config({ microsegmentation: { enabled: true, select: { selector: 'all()' } } });

test.failing('a flow to destination port 0 (TCP) gives no `port: 0` (validatePort: ports start at 1)', async () => {
  // Today: /spec/egress/0/destination/ports/0: 0 ... (port number must be between 1 and 65535), on every release.
  expect(await refused([egress('shop', net('8.8.8.8'), { port: 0 })])).toEqual([]);
});

test.failing('a flow to destination port 0 (UDP) gives no `port: 0`', async () => {
  expect(await refused([egress('shop', net('8.8.8.8'), { port: 0, protocol: 'UDP' })])).toEqual([]);
});

test.failing('a workload named web.v2 gets a policy name with at most one dot (validator.go networkPolicyNameRegex)', async () => {
  // Today: appsec.deployment-web.v2-recommendation, refused on every release.
  const web = deploymentPods('shop', 'web.v2', { app: 'web' });
  expect(await refused([flow(wep('shop', 'api-*', ['app=api']), web, { reporter: 'dst', port: 8080 })], microsegmentation())).toEqual([]);
});

test.failing('a workload with many long labels gets a selector of at most 1024 characters (Calico 3.33 CRDs)', async () => {
  // Today: /spec/selector: must NOT have more than 1024 characters, on 3.33 and main.
  const labels = Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`example.com/label-${i}`, `${'v'.repeat(60)}${i}`]));
  const web = deploymentPods('shop', 'web', labels);
  expect(await refused([flow(wep('shop', 'api-*', ['app=api']), web, { reporter: 'dst', port: 8080 })], microsegmentation())).toEqual([]);
});
