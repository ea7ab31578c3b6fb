// Which records teach a workload's policy: allowed flows reported by the workload's side that no
// other policy decided, where our own policies (namespace isolation, staged or enforced, allowing or
// passing; our own microsegmentation policies; the template's staged default deny) do not count
// as another policy's decision.

import { describe, expect, test } from '@jest/globals';
import { type LearnContext, learn } from '../../src/engine/learn.ts';
import type { PolicyTrace } from '../../src/flows/record.ts';
import { deploymentPods, egress, flow, HOUR, hit, NOW, pub } from '../support/engine.ts';

const base: LearnContext = { window: { from: NOW - 24 * HOUR, to: NOW }, clusterDomain: 'cluster.local', tierName: 'namespace-isolation' };
const ctx: LearnContext = { ...base, workloadTierName: 'appsec' };

const web = deploymentPods('shop', 'web', { app: 'web' });
const db = deploymentPods('shop', 'db', { app: 'db' });
const profile = hit('0|__PROFILE__|__PROFILE__.kns.shop|allow|0');

/** web -> db within the namespace, reported by web, with this trace. */
const record = (policies: PolicyTrace | null) => flow(web, db, { reporter: 'src', port: 5432, policies });
const layers = (policies: PolicyTrace | null, c = ctx) => {
  const lesson = learn(record(policies), c);
  return typeof lesson === 'string' ? lesson : { namespace: lesson.forNamespace, workload: lesson.forWorkload };
};

const isolationPass = hit('0|namespace-isolation|shop/namespace-isolation.staged:shop-recommendation|pass|2');
const isolationDeny = hit('0|namespace-isolation|shop/namespace-isolation.staged:shop-recommendation|deny|-1');
const isolationAllowEnforced = hit('0|namespace-isolation|shop/namespace-isolation.shop-recommendation|allow|0');
const isolationPassEnforced = hit('0|namespace-isolation|shop/namespace-isolation.shop-recommendation|pass|0');
const appsecDeny = hit('1|appsec|shop/appsec.staged:deployment-web-recommendation|deny|-1');
const appsecAllowEnforced = hit('1|appsec|shop/appsec.deployment-web-recommendation|allow|0');
const defaultDeny = hit('1|default|default.staged:default-deny|deny|-1');
const security = hit('0|security|security.allow-db|allow|0');

describe('the workload layer', () => {
  test('profile-decided flows and flows without a trace teach both layers', () => {
    expect(layers({ all: [profile], pending: [profile], enforced: [profile] })).toEqual({ namespace: true, workload: true });
    expect(layers(null)).toEqual({ namespace: true, workload: true });
  });

  test('without microsegmentation only the namespace layer learns', () => {
    expect(layers({ all: [profile], pending: [profile], enforced: [profile] }, base)).toEqual({ namespace: true, workload: false });
  });

  test('the lesson names the reporting endpoint and the remote workload endpoint', () => {
    const lesson = learn(record(null), ctx);
    expect(lesson).toMatchObject({ direction: 'egress', local: web, remote: db, peers: [{ category: 'Namespace', namespace: 'shop' }] });
    const ingress = learn(flow(web, db, { reporter: 'dst', port: 5432 }), ctx);
    expect(ingress).toMatchObject({ direction: 'ingress', local: db, remote: web });
  });

  test('our staged namespace isolation passing, then our staged per-workload policy denying, is seen through', () => {
    const trace = { all: [profile], pending: [isolationPass, appsecDeny], enforced: [profile] };
    expect(layers(trace)).toEqual({ namespace: true, workload: true });
  });

  test('our staged namespace isolation not allowing yet is seen through by both layers', () => {
    expect(layers({ all: [profile], pending: [isolationDeny], enforced: [profile] })).toEqual({ namespace: true, workload: true });
  });

  test('our enforced namespace isolation allowing or passing is the layers composing: microsegmentation still learns', () => {
    // The namespace layer has nothing to learn from what its enforced policy decided.
    expect(layers({ all: [isolationAllowEnforced], pending: [isolationAllowEnforced], enforced: [isolationAllowEnforced] })).toEqual({
      namespace: false,
      workload: true,
    });
    expect(
      layers({ all: [isolationPassEnforced], pending: [isolationPassEnforced, appsecDeny], enforced: [isolationPassEnforced] }),
    ).toEqual({
      namespace: false,
      workload: true,
    });
    // Our enforced per-workload policy allowing: already learned, and harmless to learn again.
    expect(
      layers({
        all: [isolationPassEnforced, appsecAllowEnforced],
        pending: [isolationPassEnforced, appsecAllowEnforced],
        enforced: [isolationPassEnforced, appsecAllowEnforced],
      }),
    ).toEqual({
      namespace: false,
      workload: true,
    });
  });

  test("the template's staged global default deny is no decision: nothing allowed the flow yet", () => {
    expect(layers({ all: [profile], pending: [isolationPass, defaultDeny], enforced: [profile] })).toEqual({
      namespace: true,
      workload: true,
    });
    expect(layers({ all: [profile], pending: [defaultDeny], enforced: [profile] }, base)).toEqual({ namespace: true, workload: false });
  });

  test('a flow a security-tier policy decided is not learned by either layer', () => {
    expect(layers({ all: [security], pending: [security], enforced: [security] })).toBe('decided by another policy');
    // ...even when our staged policies would see it through: the enforced verdict was theirs.
    expect(layers({ all: [security], pending: [isolationPass, appsecDeny], enforced: [security] })).toBe('decided by another policy');
  });

  test("a person's policy in the appsec tier, or another namespace's policy, is not ours", () => {
    const hand = hit('1|appsec|shop/appsec.staged:allow-web|allow|0');
    expect(layers({ all: [profile], pending: [isolationPass, hand], enforced: [profile] })).toBe('decided by another policy');
    const other = hit('1|appsec|other/appsec.staged:deployment-web-recommendation|deny|-1');
    expect(layers({ all: [profile], pending: [isolationPass, other], enforced: [profile] })).toBe('decided by another policy');
    // An enforced allow by a person's appsec policy is theirs.
    const handEnforced = hit('1|appsec|shop/appsec.allow-web|allow|0');
    expect(
      layers({
        all: [isolationPassEnforced, handEnforced],
        pending: [isolationPassEnforced, appsecDeny],
        enforced: [isolationPassEnforced, handEnforced],
      }),
    ).toBe('decided by another policy');
  });

  test('our per-workload policies are recognised in every form Calico prints them', () => {
    for (const name of [
      'shop/appsec.staged:deployment-web-recommendation',
      'shop/staged:appsec.deployment-web-recommendation',
      'shop/appsec.staged:appsec.statefulset-db-recommendation',
      'shop/appsec.staged:cronjob-backup-recommendation',
    ]) {
      expect(layers({ all: [profile], pending: [isolationPass, hit(`1|appsec|${name}|deny|-1`)], enforced: [profile] })).toEqual({
        namespace: true,
        workload: true,
      });
    }
    // The tier is ours only as configured.
    expect(
      layers({ all: [profile], pending: [isolationPass, appsecDeny], enforced: [profile] }, { ...ctx, workloadTierName: 'micro' }),
    ).toBe('decided by another policy');
  });

  test('denied flows and flows reported by the remote end teach no workload', () => {
    expect(learn(flow(web, db, { reporter: 'src', action: 'deny' }), ctx)).toBe('denied');
    expect(learn(flow(pub, web, { reporter: 'src' }), ctx)).toBe('reported by the remote end');
    expect(learn(egress('shop', pub), ctx)).toMatchObject({ forWorkload: true });
  });
});
