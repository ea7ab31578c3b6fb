// Regression (from a review): IPv6 addresses the flow logs report must be allowed by the rules learned from them.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { cidrContains, parseCidr } from '../../src/calico/nets.ts';
import { config, egress, loadTemplate, net, policyOf, run } from '../support/engine.ts';

beforeAll(async () => {
  await loadTemplate();
});

const allowsAddress = (nets: string[] | undefined, ip: string) =>
  nets === undefined || nets.some((n) => cidrContains(parseCidr(n)!, parseCidr(ip)!));

describe('a private IPv6 peer (Calico reports it as pvt)', () => {
  test('calico: the Private rule allows the observed IPv6 address', async () => {
    const result = await run([egress('shop', net('fd00:10::5', 'pvt'), { port: 5432 })]);
    const rule = policyOf(result.tree, 'shop').spec.egress[0];
    expect(allowsAddress(rule.destination?.nets, 'fd00:10::5')).toBe(true);
  });

  test('kubernetes: the ipBlocks allow the observed IPv6 address', async () => {
    const result = await run([egress('shop', net('fd00:10::5', 'pvt'), { port: 5432 })], { config: config({ flavor: 'kubernetes' }) });
    const rule = policyOf(result.tree, 'shop').spec.egress[0];
    const cidrs = rule.to?.map((p: any) => p.ipBlock?.cidr);
    expect(allowsAddress(cidrs, 'fd00:10::5')).toBe(true);
  });
});

describe('IPv6 zones', () => {
  // Go's net.ParseCIDR (libcalico-go lib/net/ipnet.go ParseCIDR, every release) refuses a zone;
  // Node's isIP accepts it, so nets with one were once read as the address without it.
  test.each(['fe80::1%eth0', 'fe80::1%eth0/64', 'fe80::%1/10'])('%s is not a net Calico accepts', (text) => {
    expect(parseCidr(text)).toBeNull();
  });
  test('the same address without its zone is', () => {
    expect(parseCidr('fe80::1/64')).toEqual({ version: 6, bits: 0xfe80n << 112n, prefix: 64 });
  });
});
