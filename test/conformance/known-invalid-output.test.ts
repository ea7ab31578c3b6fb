// Inputs that once made the recommender write what a Calico cluster refuses (issue 11 points 3 and
// 9), one reproducer each, judged by the oracle (test/support/crd-validator.ts): a run configured for
// each supported release writes only what that release accepts. The property-based test
// (valid-output.property.test.ts) covers the general case; these pin the cases found by hand.

import { beforeAll, expect, test } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import type { FlowRecord } from '../../src/flows/record.ts';
import { CALICO_VERSIONS, validateCalicoObject } from '../support/crd-validator.ts';
import { config, deploymentPods, egress, flow, loadTemplate, net, run, wep } from '../support/engine.ts';

beforeAll(async () => {
  await loadTemplate();
});

/** `<release> <path> <name>: <error>` for every Calico object a run configured for each release writes that the release refuses. */
async function refused(records: readonly FlowRecord[], overrides: Record<string, unknown> = {}): Promise<string[]> {
  const out: string[] = [];
  for (const version of CALICO_VERSIONS) {
    const result = await run(records, { config: config({ ...overrides, calicoVersion: version }) });
    for (const [path, text] of result.changes) {
      for (const doc of parseAllDocuments(text)) {
        const obj = doc.toJS() as Record<string, unknown>;
        if (typeof obj['apiVersion'] !== 'string' || !obj['apiVersion'].startsWith('projectcalico.org/')) continue;
        const name = (obj['metadata'] as Record<string, unknown>)['name'];
        out.push(...validateCalicoObject(obj, { calicoVersion: version }).map((e) => `${version} ${path} ${String(name)}: ${e}`));
      }
    }
  }
  return out;
}

const microsegmentation = { microsegmentation: { enabled: true, select: { selector: 'all()' } } };

test('a flow to destination port 0 (TCP) gives no `port: 0` (validatePort: ports start at 1)', async () => {
  // Once: /spec/egress/0/destination/ports/0: 0 ... (port number must be between 1 and 65535), on every release.
  expect(await refused([egress('shop', net('8.8.8.8'), { port: 0 }), egress('shop', net('8.8.8.8'), { port: 443 })])).toEqual([]);
});

test('a flow to destination port 0 (UDP) gives no `port: 0`', async () => {
  expect(await refused([egress('shop', net('8.8.8.8'), { port: 0, protocol: 'UDP' })])).toEqual([]);
});

test('a workload named web.v2 gets a policy name with at most one dot (validator.go networkPolicyNameRegex)', async () => {
  // Once: appsec.deployment-web.v2-recommendation, refused on every release.
  const web = deploymentPods('shop', 'web.v2', { app: 'web' });
  expect(await refused([flow(wep('shop', 'api-*', ['app=api']), web, { reporter: 'dst', port: 8080 })], microsegmentation)).toEqual([]);
});

test('a workload with many long labels gets a selector of at most 1024 characters (Calico 3.33 CRDs)', async () => {
  // Once: /spec/selector: must NOT have more than 1024 characters, on 3.33 and main. Now no policy (and a warning, see
  // test/microsegmentation/policies.test.ts).
  const labels = Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`example.com/label-${i}`, `${'v'.repeat(60)}${i}`]));
  const web = deploymentPods('shop', 'web', labels);
  expect(await refused([flow(wep('shop', 'api-*', ['app=api']), web, { reporter: 'dst', port: 8080 })], microsegmentation)).toEqual([]);
});
