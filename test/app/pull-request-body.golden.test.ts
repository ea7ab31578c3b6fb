// What reviewers read, as golden files (release-please's __snapshots__ habit): the body of a
// namespace's recommendation PR in each flavour, rendered from a real engine run over traffic of
// every category, so that a change to what a PR says about its rules shows up as a diff of
// test/app/__golden__/*.md. `UPDATE_GOLDEN=1 npm test -- test/app/pull-request-body.golden` rewrites them.

import { beforeAll, expect, test } from '@jest/globals';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderPullRequestBody } from '../../src/app/render/pull-request-body.ts';
import type { Flavor } from '../../src/config/recommendation-config.ts';
import { config, egress, ingress, loadTemplate, net, networkSet, pub, pvt, run, wep } from '../support/engine.ts';

beforeAll(async () => {
  await loadTemplate();
});

const GOLDEN = (name: string) => fileURLToPath(new URL(`./__golden__/${name}`, import.meta.url));

/** Traffic of every category: pods, DNS, a domain, public IPv4 and IPv6, private, port 0, network sets known and unknown. */
const TRAFFIC = [
  egress('shop', wep('kube-system', 'coredns-*', ['k8s-app=kube-dns']), { protocol: 'UDP', port: 53 }),
  egress('shop', wep('pay', 'api-*'), { port: 8000 }),
  egress('shop', pub, { port: 443, domains: ['api.stripe.com'] }),
  egress('shop', net('2001:db8::5', 'pub'), { port: 443 }),
  egress('shop', pvt, { port: 5432 }),
  egress('shop', pub, { port: 0 }),
  egress('shop', networkSet('partners', 'shop', null, ['role=partner']), { port: 443 }),
  egress('shop', networkSet('feed', null, '52.1.2.3'), { port: 443 }),
  ingress('shop', pub, { port: 8080 }),
];

async function body(flavor: Flavor): Promise<string> {
  const plan = await run(TRAFFIC, { config: config({ flavor }) });
  const ns = plan.namespaces.find((n) => n.namespace === 'shop')!;
  return renderPullRequestBody({
    cluster: 'prod',
    namespace: 'shop',
    flavor,
    status: 'Learning',
    lastUpdated: ns.lastUpdated,
    stabilizationPeriod: 600,
    update: false,
    rules: ns.rules,
    evidence: {},
    warnings: ns.warnings,
    files: [{ path: `clusters/prod/${ns.path}`, added: true }],
    skippedLines: 0,
    state: { v: 1, cluster: 'prod', namespace: 'shop', engine: '0.1.0', hash: 'golden', commit: 'c0ffee', memory: {}, evidence: {}, notified: [] },
  });
}

test.each(['calico', 'calico-enterprise', 'kubernetes'] as const)('the %s flavour: a namespace recommendation PR', async (flavor) => {
  const path = GOLDEN(`pr-body-${flavor}.md`);
  const rendered = `${await body(flavor)}\n`;
  if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(path)) {
    if (process.env['CI'] === 'true' && process.env['UPDATE_GOLDEN'] !== '1') throw new Error(`${path} is missing: run with UPDATE_GOLDEN=1 and commit it`);
    writeFileSync(path, rendered);
  }
  expect(rendered).toBe(readFileSync(path, 'utf8'));
});
