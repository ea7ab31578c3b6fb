import { Client } from '@elastic/elasticsearch';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import nock from 'nock';
import { readFlows } from '../../../src/flows/read-flows.ts';
import { openElasticsearchSource } from '../../../src/flows/sources/elasticsearch/elasticsearch-source.ts';
import { planRecommendations } from '../../../src/plan/plan.ts';
import { bare, config, loadTemplate, policyOf } from '../../support/engine.ts';
import { bucket, bucketKey, esConfig, lastPage, NODE, PRODUCT, page, profile, T0, traceKey } from './es-fixtures.ts';
import { interceptSearch } from './es-nock.ts';

beforeAll(() => {
  if (!nock.isActive()) nock.activate();
  nock.disableNetConnect();
});
afterAll(() => {
  // Un-patch: another test file in the same worker must not find this file's interceptor installed.
  nock.enableNetConnect();
  nock.restore();
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

const NOW = T0 + 3600;
// Flow logs in Elasticsearch are Calico Enterprise's, whose policies can name domains.
const ENTERPRISE = config({ flavor: 'calico-enterprise' });
const both = (...hits: string[]) => traceKey({ all: hits, pending: hits, enforced: hits });

describe('Elasticsearch buckets through readFlows and planRecommendations', () => {
  test('a few buckets become the expected rules; a flow decided in a higher tier teaches nothing', async () => {
    const buckets = [
      // Egress to a public domain: a Domains rule.
      bucket(bucketKey('shop', { dest_domains: 'api.stripe.com', policies: both(profile('shop')) }), { flows: 12 }),
      // DNS to kube-system: a Namespace rule.
      bucket(
        bucketKey('shop', {
          dest_type: 'wep',
          dest_namespace: 'kube-system',
          dest_name_aggr: 'coredns-5d78c9869d-*',
          proto: 'udp',
          dest_port: 53,
        }),
        { flows: 40 },
      ),
      // A higher tier passed, then the profile decided: still learned (the whole trace is read).
      bucket(
        bucketKey('shop', {
          dest_name_aggr: 'pvt',
          dest_port: 5432,
          policies: both('0|security|security.pass-all|pass|-1', `1|__PROFILE__|__PROFILE__.kns.shop|allow|0`),
        }),
      ),
      // Allowed by a security-tier policy: decided by another policy, so no rule.
      bucket(bucketKey('shop', { dest_port: 25, policies: both('0|security|security.allow-smtp-relay|allow|1') }), { flows: 3 }),
      // Ingress from the frontend namespace, reported by the destination.
      bucket(
        bucketKey('shop', {
          reporter: 'dst',
          source_namespace: 'frontend',
          source_name_aggr: 'web-*',
          dest_type: 'wep',
          dest_namespace: 'shop',
          dest_name_aggr: 'checkout-*',
          dest_port: 8080,
        }),
      ),
    ];
    interceptSearch().scope.reply(200, page(buckets), PRODUCT);
    interceptSearch().scope.reply(200, lastPage(), PRODUCT);

    const source = await openElasticsearchSource(esConfig(), { client: new Client({ node: NODE, maxRetries: 0 }), retry: { attempts: 1 } });
    const flows = await readFlows(source, ENTERPRISE, NOW);
    expect(flows.source).toBe(`elasticsearch ${NODE} index tigera_secure_ee_flows.prod-eu.*`);
    expect(flows.inputsRead).toBe(5);
    expect(flows.skipped.total).toBe(0);
    expect(flows.observations.recordsLearned).toBe(4);
    expect(flows.observations.notLearned).toEqual({ 'decided by another policy': 1 });

    const plan = planRecommendations({
      tree: new Map(),
      template: await loadTemplate(),
      observations: flows.observations.byNamespace,
      config: ENTERPRISE,
      now: NOW,
    });
    const tree = new Map(plan.changes);
    const policy = policyOf(tree, 'shop');
    expect(policy.kind).toBe('StagedNetworkPolicy');
    expect(policy.spec.types).toEqual(['Ingress', 'Egress']);
    expect(bare(policy.spec.egress)).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { domains: ['api.stripe.com'], ports: [443] } },
      {
        action: 'Allow',
        protocol: 'UDP',
        destination: { namespaceSelector: "projectcalico.org/name == 'kube-system'", ports: [53] },
      },
      { action: 'Allow', protocol: 'TCP', destination: { nets: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], ports: [5432] } },
    ]);
    expect(bare(policy.spec.ingress)).toEqual([
      {
        action: 'Allow',
        protocol: 'TCP',
        source: { namespaceSelector: "projectcalico.org/name == 'frontend'" },
        destination: { ports: [8080] },
      },
    ]);
  });
});
