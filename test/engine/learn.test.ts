import { describe, expect, test } from '@jest/globals';
import { decidedByProfile, type LearnContext, learn } from '../../src/engine/learn.ts';
import { SAW_NO_IP, SAW_PRIVATE_IP, SAW_PUBLIC_IP } from '../../src/engine/model.ts';
import type { PolicyHit } from '../../src/flows/record.ts';
import { egress, flow, HOUR, hep, hit, ingress, NOW, net, networkSet, pub, pvt, wep } from '../support/engine.ts';

const ctx: LearnContext = { window: { from: NOW - 24 * HOUR, to: NOW }, clusterDomain: 'cluster.local', tierName: 'namespace-isolation' };

describe('which records are learned', () => {
  test('allowed egress reported by the source teaches the source namespace an egress rule', () => {
    const record = egress('shop', wep('db'));
    expect(learn(record, ctx)).toEqual({
      namespace: 'shop',
      direction: 'egress',
      peers: [{ category: 'Namespace', namespace: 'db' }],
      port: 443,
      remoteIps: SAW_NO_IP,
      forNamespace: true,
      // Microsegmentation is off in this context.
      forWorkload: false,
      local: record.source,
      remote: record.dest,
    });
  });

  test('the same connection reported by the destination teaches the destination namespace an ingress rule', () => {
    const lesson = learn(flow(wep('shop'), wep('db'), { reporter: 'dst', port: 5432 }), ctx);
    expect(lesson).toMatchObject({
      namespace: 'db',
      direction: 'ingress',
      peers: [{ category: 'Namespace', namespace: 'shop' }],
      port: 5432,
    });
  });

  test('denied flows are never learned', () => {
    expect(learn(egress('shop', pub, { action: 'deny' }), ctx)).toBe('denied');
  });

  test('host endpoints on either side are skipped', () => {
    expect(learn(flow(hep(), wep('shop'), { reporter: 'dst' }), ctx)).toBe('host endpoint');
    expect(learn(flow(wep('shop'), hep(), { reporter: 'src' }), ctx)).toBe('host endpoint');
  });

  test('a record reported by a non-workload end teaches nothing', () => {
    expect(learn(flow(pub, wep('shop'), { reporter: 'src' }), ctx)).toBe('reported by the remote end');
    expect(learn(flow(networkSet('feeds', 'shop'), wep('shop'), { reporter: 'src' }), ctx)).toBe('reported by the remote end');
  });

  test('only flows overlapping the lookback window count', () => {
    expect(learn(egress('shop', pub, { start: NOW - 25 * HOUR, end: NOW - 24 * HOUR - 1 }), ctx)).toBe('outside the lookback window');
    expect(learn(egress('shop', pub, { start: NOW + 1, end: NOW + 300 }), ctx)).toBe('outside the lookback window');
    // A flow that straddles the window's start still counts.
    expect(typeof learn(egress('shop', pub, { start: NOW - 25 * HOUR, end: NOW - 24 * HOUR }), ctx)).toBe('object');
  });
});

describe('the deciding policy hit', () => {
  const profile = hit('0|__PROFILE__|__PROFILE__.kns.shop|allow|0');
  const security = hit('0|security|security.allow-scrape|allow|0');
  const pass = hit('0|security|security.pass-all|pass|0');
  const ownStaged = hit('1|namespace-isolation|shop/namespace-isolation.staged:shop-recommendation|deny|-1');
  const otherStaged = hit('1|security|security.staged:quarantine|deny|0');
  const notOwn = () => false;
  const own = (h: PolicyHit) => h === ownStaged;

  test('records without a policy trace are learned', () => {
    expect(decidedByProfile(null, notOwn)).toBe(true);
    expect(decidedByProfile({ all: [], pending: null, enforced: null }, notOwn)).toBe(true);
  });

  test('the profile as the final hit means no policy decided', () => {
    expect(decidedByProfile({ all: [pass, { ...profile, index: 1 }], pending: null, enforced: null }, notOwn)).toBe(true);
  });

  test('a policy in another tier decided', () => {
    expect(decidedByProfile({ all: [security], pending: null, enforced: null }, notOwn)).toBe(false);
    expect(learn(egress('shop', pub, { policies: { all: [security], pending: [security], enforced: [security] } }), ctx)).toBe(
      'decided by another policy',
    );
  });

  test('pending_policies (with staged policies) wins over all_policies', () => {
    expect(decidedByProfile({ all: [profile], pending: [{ ...pass }, otherStaged], enforced: null }, notOwn)).toBe(false);
    expect(decidedByProfile({ all: [security], pending: [profile], enforced: null }, notOwn)).toBe(true);
  });

  test('enforced_policies is the last fallback', () => {
    expect(decidedByProfile({ all: null, pending: null, enforced: [security] }, notOwn)).toBe(false);
    expect(decidedByProfile({ all: null, pending: null, enforced: [profile] }, notOwn)).toBe(true);
  });

  test('our own staged recommendation is seen through: what it would deny is still learned', () => {
    expect(decidedByProfile({ all: [profile], pending: [pass, ownStaged], enforced: [profile] }, own)).toBe(true);
    // ...unless something else decided the enforced verdict.
    expect(decidedByProfile({ all: [security], pending: [ownStaged], enforced: null }, own)).toBe(false);
  });

  test('seeing through our own staged policy ignores staged hits listed in all_policies', () => {
    const stagedInAll = { all: [profile, { ...ownStaged, index: 1 }], pending: [ownStaged], enforced: null };
    expect(decidedByProfile(stagedInAll, own)).toBe(true);
    expect(decidedByProfile({ ...stagedInAll, enforced: [security] }, own)).toBe(false);
  });

  test('our own policy is recognised by tier, namespace and name in the trace', () => {
    const trace = (policy: string) => ({ all: [profile], pending: [hit(`0|namespace-isolation|${policy}|deny|-1`)], enforced: null });
    const record = (policy: string) => egress('shop', pub, { policies: trace(policy) });
    expect(typeof learn(record('shop/namespace-isolation.staged:shop-recommendation'), ctx)).toBe('object');
    expect(typeof learn(record('shop/staged:namespace-isolation.shop-recommendation'), ctx)).toBe('object');
    expect(typeof learn(record('shop/namespace-isolation.staged:namespace-isolation.shop-recommendation'), ctx)).toBe('object');
    // Another namespace's recommendation, or another policy in the tier, is not ours.
    expect(learn(record('other/namespace-isolation.staged:other-recommendation'), ctx)).toBe('decided by another policy');
    expect(learn(record('shop/namespace-isolation.staged:hand-written'), ctx)).toBe('decided by another policy');
  });
});

describe('rule categories of the remote end', () => {
  const peers = (record: Parameters<typeof learn>[0]) => {
    const lesson = learn(record, ctx);
    if (typeof lesson === 'string') throw new Error(lesson);
    return lesson.peers;
  };

  test('Domains: public egress with domains, one peer per domain, cluster-internal names dropped', () => {
    expect(peers(egress('shop', pub, { domains: ['api.stripe.com', 'checkout.stripe.com', 'api.stripe.com'] }))).toEqual([
      { category: 'Domains', domain: 'api.stripe.com' },
      { category: 'Domains', domain: 'checkout.stripe.com' },
    ]);
    expect(peers(egress('shop', pub, { domains: ['gw.shop.svc.cluster.local', 'example.com'] }))).toEqual([
      { category: 'Domains', domain: 'example.com' },
    ]);
    // Only cluster-internal names: not a domain rule.
    expect(peers(egress('shop', pub, { domains: ['gw.shop.svc.cluster.local'] }))).toEqual([{ category: 'Public' }]);
    expect(peers(egress('shop', pub, { domains: ['gw.shop.svc.corp.internal'] }))).toEqual([
      { category: 'Domains', domain: 'gw.shop.svc.corp.internal' },
    ]);
    expect(
      learn(egress('shop', pub, { domains: ['gw.shop.svc.corp.internal'] }), { ...ctx, clusterDomain: 'corp.internal' }),
    ).toMatchObject({
      peers: [{ category: 'Public' }],
    });
  });

  test('Service: public egress through a named service', () => {
    expect(peers(egress('shop', pub, { service: { name: 'carrier-api', namespace: 'shop' } }))).toEqual([
      { category: 'Service', name: 'carrier-api', namespace: 'shop' },
    ]);
    // Domains take precedence, as in Calico's engine.
    expect(peers(egress('shop', pub, { service: { name: 'carrier-api', namespace: 'shop' }, domains: ['x.io'] }))).toEqual([
      { category: 'Domains', domain: 'x.io' },
    ]);
  });

  test('Namespace: any workload, including the namespace itself', () => {
    expect(peers(egress('shop', wep('shop')))).toEqual([{ category: 'Namespace', namespace: 'shop' }]);
    expect(peers(ingress('shop', wep('monitoring')))).toEqual([{ category: 'Namespace', namespace: 'monitoring' }]);
  });

  test('NetworkSet: global and namespaced', () => {
    expect(peers(egress('shop', networkSet('threat-feed')))).toEqual([{ category: 'NetworkSet', name: 'threat-feed', namespace: null }]);
    expect(peers(ingress('shop', networkSet('partners', 'shop')))).toEqual([
      { category: 'NetworkSet', name: 'partners', namespace: 'shop' },
    ]);
  });

  test('Private and Public networks, by name or, when unnamed, by address', () => {
    expect(peers(egress('shop', pvt))).toEqual([{ category: 'Private' }]);
    expect(peers(ingress('shop', pub))).toEqual([{ category: 'Public' }]);
    expect(peers(egress('shop', net('10.1.2.3')))).toEqual([{ category: 'Private' }]);
    expect(peers(egress('shop', net('8.8.8.8')))).toEqual([{ category: 'Public' }]);
  });

  test('remote addresses are remembered as private, public or unknown', () => {
    expect(learn(egress('shop', net('10.1.2.3', 'pvt')), ctx)).toMatchObject({ remoteIps: SAW_PRIVATE_IP });
    expect(learn(egress('shop', net('1.1.1.1', 'pub')), ctx)).toMatchObject({ remoteIps: SAW_PUBLIC_IP });
  });

  test('ports only for protocols that have them', () => {
    expect(learn(egress('shop', pvt, { protocol: 'ICMP', port: 0 }), ctx)).toMatchObject({ port: null });
    expect(learn(egress('shop', pvt, { protocol: 47, port: null }), ctx)).toMatchObject({ port: null });
    expect(learn(egress('shop', pvt, { protocol: 'SCTP', port: 3868 }), ctx)).toMatchObject({ port: 3868 });
  });
});
