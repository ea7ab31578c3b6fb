// Regression (from a review): "never widen silently".
import { beforeAll, describe, expect, test } from '@jest/globals';
import { config, egress, loadTemplate, policyOf, pvt, run, wep } from '../support/engine.ts';

beforeAll(async () => {
  await loadTemplate();
});

describe('never widen silently (calico flavours)', () => {
  test.each(['calico', 'calico-enterprise'])(
    '%s: a TCP flow without dest_port becomes an all-ports rule, and that is reported',
    async (flavor) => {
      const result = await run([egress('shop', wep('db'), { port: null })], { config: config({ flavor }) });
      const rule = policyOf(result.tree, 'shop').spec.egress[0];
      expect(rule.protocol).toBe('TCP');
      expect(rule.destination.ports).toBeUndefined(); // every TCP port to namespace db
      // The kubernetes flavour reports exactly this ("allowed on every port: the flow logs did not report one").
      const warnings = result.namespaces.flatMap((n) => n.warnings).map((w) => w.message);
      expect(warnings.some((m) => /every port|all ports|any port/.test(m))).toBe(true);
    },
  );
});

describe('the remote end decides the category (reference section 2: Domains are for `pub`)', () => {
  test('calico: private egress known by a DNS name stays a Private rule, not a rule to any address', async () => {
    const result = await run([egress('shop', pvt, { port: 5432, domains: ['db.corp.example'] })]);
    const rule = policyOf(result.tree, 'shop').spec.egress[0];
    expect(rule.destination.nets).toEqual(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']);
  });
});
