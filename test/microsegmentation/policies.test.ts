// Per-workload policies: what they select, their rules at workload granularity for every category,
// memory across runs exactly like namespace policies, the namespace's Pass for traffic within it,
// maxRules, selection, tiers and flavours.

import { beforeAll, describe, expect, test } from '@jest/globals';
import { isDnsSubdomain } from '../../src/calico/names.ts';
import { ConfigError, validateRecommendationConfig } from '../../src/config/recommendation-config.ts';
import {
  isOwnWorkloadPolicyHit,
  isWorkloadPolicyName,
  isWorkloadPolicyNameOf,
  workloadPolicyName,
  workloadPolicyPath,
} from '../../src/engine/naming.ts';
import { formatTime } from '../../src/engine/provenance.ts';
import type { FlowRecord } from '../../src/flows/record.ts';
import {
  bare,
  config,
  deploymentPods,
  flow,
  HOUR,
  hit,
  loadTemplate,
  NOW,
  net,
  networkSet,
  policyOf,
  pub,
  pvt,
  run,
  statefulSetPods,
  wep,
  yamlOf,
} from '../support/engine.ts';

beforeAll(async () => {
  await loadTemplate();
});

const segmented = (extra: Record<string, unknown> = {}, select: Record<string, unknown> = { namespaces: ['shop'] }) =>
  config({ ...extra, microsegmentation: { enabled: true, select } });

const web = deploymentPods('shop', 'web', { app: 'web', tier: 'frontend' });
const db = statefulSetPods('shop', 'db', { app: 'db' });
const api = deploymentPods('pay', 'api', { app: 'api' });
const dns = deploymentPods('kube-system', 'coredns', { 'k8s-app': 'kube-dns' });
const WEB = 'appsec/shop/deployment-web.yaml';
const DB = 'appsec/shop/statefulset-db.yaml';

/** Egress from web, reported by web. */
const fromWeb = (dest: FlowRecord['dest'], o: Parameters<typeof flow>[2] = {}) => flow(web, dest, { reporter: 'src', ...o });

describe('a workload policy', () => {
  const records = [
    fromWeb(db, { port: 5432 }),
    flow(web, db, { reporter: 'dst', port: 5432 }),
    fromWeb(api, { port: 8000 }),
    fromWeb(dns, { protocol: 'UDP', port: 53 }),
    fromWeb(wep('legacy', 'old-*', ['app=old']), { port: 9000 }),
    fromWeb(networkSet('feeds', null, null, ['feed=intel']), { port: 443 }),
    fromWeb(networkSet('partners', 'shop', null, ['role=partner']), { port: 443 }),
    fromWeb(pvt, { port: 5432 }),
    fromWeb(pub, { port: 443, domains: ['api.stripe.com'] }),
    fromWeb(pub, { port: 443, service: { name: 'carrier', namespace: 'shop' } }),
    fromWeb(net('10.1.2.3'), { protocol: 'ICMP', port: null }),
    flow(pub, web, { reporter: 'dst', port: 80 }),
  ];

  test("selects its workload's pods by their stable labels, in tier appsec, named after its kind and name", async () => {
    const plan = await run(records, { config: segmented({ flavor: 'calico-enterprise' }) });
    const policy = yamlOf(plan.tree, WEB);
    expect(policy.kind).toBe('StagedNetworkPolicy');
    expect(policy.metadata).toEqual({
      name: 'deployment-web-recommendation',
      namespace: 'shop',
      labels: { 'app.kubernetes.io/managed-by': 'policy-recommender', 'policy-recommender.io/layer': 'microsegmentation' },
      annotations: { 'policy-recommender.io/workload': 'Deployment/web', 'policy-recommender.io/last-updated': formatTime(NOW) },
    });
    expect(policy.spec).toMatchObject({
      stagedAction: 'Set',
      tier: 'appsec',
      selector: "app == 'web' && tier == 'frontend'",
      types: ['Ingress', 'Egress'],
    });
    expect(yamlOf(plan.tree, DB).spec).toMatchObject({ selector: "app == 'db'", types: ['Ingress'] });
    expect(plan.workloads.map((w) => [w.key, w.path, w.outcome, w.status])).toEqual([
      ['shop/Deployment/web', WEB, 'created', 'Learning'],
      ['shop/StatefulSet/db', DB, 'created', 'Learning'],
    ]);
  });

  test("rules for every category, with peers at workload granularity, in the namespace engine's order", async () => {
    const plan = await run(records, { config: segmented({ flavor: 'calico-enterprise' }), calicoEdition: 'enterprise' });
    const spec = yamlOf(plan.tree, WEB).spec;
    const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
    expect(bare(spec.egress)).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { domains: ['api.stripe.com'], ports: [443] } },
      // Calico rejects ports next to services.
      { action: 'Allow', protocol: 'TCP', destination: { services: { name: 'carrier', namespace: 'shop' } } },
      // A workload in the same namespace: its selector alone.
      { action: 'Allow', protocol: 'TCP', destination: { selector: "app == 'db'", ports: [5432] } },
      // In another namespace: its selector and its namespace.
      {
        action: 'Allow',
        protocol: 'TCP',
        destination: { selector: "app == 'api'", namespaceSelector: "projectcalico.org/name == 'pay'", ports: [8000] },
      },
      // A peer whose workload is not known: its namespace (broader, and reported).
      { action: 'Allow', protocol: 'TCP', destination: { namespaceSelector: "projectcalico.org/name == 'legacy'", ports: [9000] } },
      {
        action: 'Allow',
        protocol: 'UDP',
        destination: { selector: "k8s-app == 'kube-dns'", namespaceSelector: "projectcalico.org/name == 'kube-system'", ports: [53] },
      },
      // Network sets by their own labels; one in the policy's namespace needs no namespaceSelector.
      { action: 'Allow', protocol: 'TCP', destination: { selector: "feed == 'intel'", namespaceSelector: 'global()', ports: [443] } },
      { action: 'Allow', protocol: 'TCP', destination: { selector: "role == 'partner'", ports: [443] } },
      { action: 'Allow', protocol: 'ICMP', destination: { nets: PRIVATE } },
      { action: 'Allow', protocol: 'TCP', destination: { nets: PRIVATE, ports: [5432] } },
    ]);
    expect(bare(spec.ingress)).toEqual([{ action: 'Allow', protocol: 'TCP', source: { notNets: PRIVATE }, destination: { ports: [80] } }]);
    expect(bare(yamlOf(plan.tree, DB).spec.ingress)).toEqual([
      { action: 'Allow', protocol: 'TCP', source: { selector: "app == 'web' && tier == 'frontend'" }, destination: { ports: [5432] } },
    ]);
    const annotations = spec.egress.map((r: any) => r.metadata.annotations['policy-recommender.io/peer']);
    expect(annotations.slice(2, 6)).toEqual([
      'pods:shop/app=db',
      'pods:pay/app=api',
      'namespace:legacy',
      'pods:kube-system/k8s-app=kube-dns',
    ]);
    const report = plan.workloads.find((w) => w.key === 'shop/Deployment/web')!;
    expect(report.selector).toBe("app == 'web' && tier == 'frontend'");
    expect(report.rules.filter((r) => r.direction === 'egress').map((r) => r.category)).toEqual([
      'Domains',
      'Service',
      'Namespace',
      'Namespace',
      'Namespace',
      'Namespace',
      'NetworkSet',
      'NetworkSet',
      'Private',
      'Private',
    ]);
    expect(report.rules.every((r) => r.flows === 1 && r.changed)).toBe(true);
    expect(report.warnings.map((w) => w.code)).toEqual(['broader-peer']);
  });

  test('open-source Calico: domains become the public port, noted and reported', async () => {
    const plan = await run(records, { config: segmented() });
    const rule = yamlOf(plan.tree, WEB).spec.egress.at(-1);
    expect(bare([rule])).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { notNets: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], ports: [443] } },
    ]);
    expect(rule.metadata.annotations['policy-recommender.io/domains']).toBe('api.stripe.com');
    expect(plan.workloads[0]!.warnings.map((w) => w.code)).toContain('approximation');
  });

  test('a workload without stable labels gets no policy: it cannot be selected safely', async () => {
    const bareCache = wep('shop', 'cache-*', ['controller-revision-hash=cache-1']);
    const plan = await run([fromWeb(bareCache, { port: 6379 }), flow(web, bareCache, { reporter: 'dst', port: 6379 })], {
      config: segmented(),
    });
    const cache = plan.workloads.find((w) => w.key === 'shop/StatefulSet/cache')!;
    expect(cache).toMatchObject({ outcome: 'skipped', selector: null, path: 'appsec/shop/statefulset-cache.yaml' });
    expect(cache.warnings.map((w) => w.code)).toEqual(['workload-unselectable']);
    expect(plan.tree.has('appsec/shop/statefulset-cache.yaml')).toBe(false);
    // web's rule to it allows the namespace, and its traffic within the namespace reaches no policy.
    expect(bare(yamlOf(plan.tree, WEB).spec.egress)).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { namespaceSelector: "projectcalico.org/name == 'shop'", ports: [6379] } },
    ]);
    expect(plan.namespaces[0]!.warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/no policy selects StatefulSet cache \(no stable labels\)/),
    ]);
  });
});

describe('selection', () => {
  const records = [fromWeb(db, { port: 5432 }), fromWeb(api, { port: 8000 }), flow(web, api, { reporter: 'dst', port: 8000 })];
  const keys = async (select: Record<string, unknown>) =>
    (await run(records, { config: segmented({}, select) })).workloads.map((w) => w.key);

  test('a namespace, a workload with or without its kind, or a selector over pod labels', async () => {
    expect(await keys({ namespaces: ['pay'] })).toEqual(['pay/Deployment/api']);
    expect(await keys({ workloads: ['shop/web'] })).toEqual(['shop/Deployment/web']);
    expect(await keys({ workloads: ['shop/Deployment/web', 'pay/StatefulSet/api'] })).toEqual(['shop/Deployment/web']);
    expect(await keys({ selector: "tier == 'frontend' || app == 'api'" })).toEqual(['pay/Deployment/api', 'shop/Deployment/web']);
    expect(await keys({ selector: "projectcalico.org/namespace == 'pay'" })).toEqual(['pay/Deployment/api']);
  });

  test('a selector respects namespaceSpec.selector (all() leaves system namespaces alone)', async () => {
    const plan = await run([...records, flow(dns, pvt, { reporter: 'src', protocol: 'UDP', port: 53 })], {
      config: segmented({}, { selector: 'all()' }),
    });
    expect(plan.workloads.map((w) => w.key)).toEqual(['pay/Deployment/api', 'shop/Deployment/web']);
    expect(plan.microsegmentation!.namespaces).toEqual(['pay', 'shop']);
  });

  test('a workload no longer selected keeps its policy untouched, reported as skipped', async () => {
    const first = await run(records, { config: segmented() });
    const second = await run([...records, fromWeb(db, { port: 5433 })], {
      tree: first.tree,
      now: NOW + HOUR,
      config: segmented({}, { namespaces: ['pay'] }),
    });
    expect(second.changes.has(WEB)).toBe(false);
    expect(second.workloads.find((w) => w.key === 'shop/Deployment/web')).toMatchObject({
      outcome: 'skipped',
      status: 'Stable',
      rules: [],
    });
  });

  test('a custom tier is defined from the appsec tier of the template, and names the policies', async () => {
    const cfg = config({ microsegmentation: { enabled: true, tierName: 'micro', select: { namespaces: ['shop'] } } });
    const plan = await run(records, { config: cfg });
    expect(yamlOf(plan.tree, WEB).metadata.name).toBe('deployment-web-recommendation');
    const tiers = plan.tree.get('tiers.yaml')!;
    expect(tiers).toMatch(/name: micro\n[\s\S]*order: 400/);
  });
});

describe('memory across runs', () => {
  const day1 = [fromWeb(db, { port: 5432 }), fromWeb(api, { port: 8000 })];

  test('a run with nothing new changes no byte; new traffic extends our rule, first-added stays', async () => {
    const first = await run(day1, { config: segmented() });
    const again = await run(day1, { tree: first.tree, now: NOW + HOUR, config: segmented() });
    expect(again.changes.size).toBe(0);
    expect(again.workloads.map((w) => w.outcome)).toEqual(['unchanged']);

    const later = NOW + 2 * HOUR;
    const second = await run([fromWeb(db, { port: 5433, start: later - 600 })], { tree: first.tree, now: later, config: segmented() });
    // The namespace policy's Pass rule gets the new port too.
    expect([...second.changes.keys()]).toEqual([WEB, 'namespace-isolation/shop.yaml']);
    const policy = yamlOf(second.tree, WEB);
    expect(policy.metadata.annotations['policy-recommender.io/last-updated']).toBe(formatTime(later));
    expect(policy.spec.egress[0].destination.ports).toEqual([5432, 5433]);
    expect(policy.spec.egress[0].metadata.annotations['policy-recommender.io/first-added']).toBe(formatTime(NOW));
    expect(second.workloads[0]!.rules.filter((r) => r.changed).map((r) => r.peers)).toEqual([['pods:shop/app=db']]);
  });

  test("people's comments, rules and selector are kept; nothing is placed before their Deny", async () => {
    const first = await run(day1, { config: segmented() });
    const edited = first.tree
      .get(WEB)!
      .replace('spec:\n', '# Reviewed by the payments team.\nspec:\n')
      .replace("selector: app == 'web' && tier == 'frontend'", "selector: app == 'web' # narrowed by hand")
      .replace(
        '  egress:\n',
        '  egress:\n    # No SMTP, ever.\n    - action: Deny\n      protocol: TCP\n      destination:\n        ports: [25]\n',
      );
    const tree = new Map(first.tree).set(WEB, edited);
    const second = await run([...day1, fromWeb(pvt, { port: 6379 })], { tree, now: NOW + HOUR, config: segmented() });
    const text = second.tree.get(WEB)!;
    expect(text).toContain('# Reviewed by the payments team.');
    expect(text).toContain('# No SMTP, ever.');
    expect(text).toContain("selector: app == 'web' # narrowed by hand");
    const egress = yamlOf(second.tree, WEB).spec.egress;
    expect(egress.map((r: any) => `${r.action} ${r.metadata?.annotations['policy-recommender.io/peer'] ?? 'person'}`)).toEqual([
      'Deny person',
      'Allow pods:shop/app=db',
      'Allow pods:pay/app=api',
      'Allow private',
    ]);
    // The person's selector still selects the workload's pods: no warning.
    expect(second.workloads[0]!.warnings).toEqual([]);
  });

  test('a selector that no longer selects the workload is left alone, and reported', async () => {
    const first = await run(day1, { config: segmented() });
    const tree = new Map(first.tree).set(
      WEB,
      first.tree.get(WEB)!.replace("selector: app == 'web' && tier == 'frontend'", "selector: app == 'website'"),
    );
    const second = await run(day1, { tree, now: NOW + HOUR, config: segmented() });
    expect(second.changes.has(WEB)).toBe(false);
    expect(second.workloads[0]!.warnings.map((w) => w.code)).toEqual(['selector-mismatch']);
  });

  test('the status is derived from last-updated, as for namespaces', async () => {
    const cfg = config({
      interval: '10m',
      stabilizationPeriod: '2h',
      microsegmentation: { enabled: true, select: { namespaces: ['shop'] } },
    });
    const first = await run(day1, { config: cfg });
    const at = async (now: number) => (await run(day1, { tree: first.tree, now, config: cfg })).workloads[0]!.status;
    expect(await at(NOW + 21 * 60)).toBe('Stabilizing');
    expect(await at(NOW + 2 * HOUR + 1)).toBe('Stable');
  });

  test('identical inputs give byte-identical files, whatever the order of the records', async () => {
    const records = [
      ...day1,
      fromWeb(dns, { protocol: 'UDP', port: 53 }),
      flow(web, db, { reporter: 'dst', port: 5432 }),
      fromWeb(pub, { port: 443 }),
    ];
    const a = await run(records, { config: segmented() });
    const b = await run([...records].reverse(), { config: segmented() });
    expect([...b.changes]).toEqual([...a.changes]);
  });
});

describe("the namespace's isolation policy passes traffic within the namespace", () => {
  const records = [fromWeb(db, { port: 5432 }), flow(web, db, { reporter: 'dst', port: 5432 }), fromWeb(api, { port: 8000 })];
  const PERSON = [
    '    - action: Allow',
    '      protocol: TCP',
    '      destination:',
    "        namespaceSelector: projectcalico.org/name == 'shop'",
    '        ports: [9999]',
    '',
  ].join('\n');

  test("our existing Allow becomes Pass (reported as a change); a person's rule stays Allow", async () => {
    const first = await run(records);
    const ns = policyOf(first.tree, 'shop');
    expect(ns.spec.egress.map((r: any) => r.action)).toEqual(['Allow', 'Allow']);
    const path = 'namespace-isolation/shop.yaml';
    const tree = new Map(first.tree).set(path, first.tree.get(path)!.replace('  egress:\n', `  egress:\n${PERSON}`));

    const second = await run(records, { tree, now: NOW + HOUR, config: segmented() });
    const egress = policyOf(second.tree, 'shop').spec.egress;
    expect(egress.map((r: any) => `${r.action} ${r.metadata?.annotations['policy-recommender.io/peer'] ?? 'person'}`)).toEqual([
      'Allow person',
      'Pass namespace:shop',
      'Allow namespace:pay',
    ]);
    expect(policyOf(second.tree, 'shop').spec.ingress.map((r: any) => r.action)).toEqual(['Pass']);
    const report = second.namespaces[0]!;
    expect(report.outcome).toBe('updated');
    expect(report.lastUpdated).toBe(formatTime(NOW + HOUR));
    expect(report.rules.filter((r) => r.changed).map((r) => `${r.direction} ${r.action} ${r.peers}`)).toEqual([
      'ingress Pass namespace:shop',
      'egress Pass namespace:shop',
    ]);
    expect(report.warnings.map((w) => [w.code, w.message])).toEqual([
      [
        'pass-through',
        'ingress: our rule for traffic within the namespace now passes it to the next tier (Pass instead of Allow), where per-workload policies decide',
      ],
      [
        'pass-through',
        'egress: our rule for traffic within the namespace now passes it to the next tier (Pass instead of Allow), where per-workload policies decide',
      ],
    ]);

    // Stable from then on.
    const third = await run(records, { tree: second.tree, now: NOW + 2 * HOUR, config: segmented() });
    expect(third.changes.size).toBe(0);
    // Microsegmentation turned off: our rule allows again, and says so.
    const fourth = await run(records, { tree: second.tree, now: NOW + 3 * HOUR });
    expect(policyOf(fourth.tree, 'shop').spec.egress.map((r: any) => r.action)).toEqual(['Allow', 'Allow', 'Allow']);
    expect(fourth.namespaces[0]!.warnings.map((w) => w.code)).toEqual(['pass-through', 'pass-through']);
  });

  test('only namespaces with selected workloads pass; namespaceSpec.intraNamespacePassThroughTraffic still works alone', async () => {
    const plan = await run([...records, flow(api, api, { reporter: 'src', port: 8000 })], {
      config: segmented({}, { workloads: ['shop/web'] }),
    });
    expect(plan.microsegmentation!.namespaces).toEqual(['shop']);
    expect(policyOf(plan.tree, 'pay').spec.egress.map((r: any) => r.action)).toEqual(['Allow']);
    // db is not selected: its traffic within the namespace is passed to a tier without a policy for it.
    expect(plan.namespaces.find((n) => n.namespace === 'shop')!.warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(
        /^traffic within the namespace is passed to tier appsec, where no policy selects StatefulSet db \(not selected\)/,
      ),
    ]);
    const manual = await run(records, { config: config({ namespaceSpec: { intraNamespacePassThroughTraffic: true } }) });
    expect(policyOf(manual.tree, 'shop').spec.egress.map((r: any) => r.action)).toEqual(['Pass', 'Allow']);
    expect(manual.workloads).toEqual([]);
    expect(manual.microsegmentation).toBeNull();
  });
});

describe('maxRules', () => {
  const peers = ['a', 'b', 'c'].map((name) => deploymentPods('shop', name, { app: name }));
  const records = [
    ...peers.map((p) => fromWeb(p, { port: 8080 })),
    fromWeb(api, { port: 8080 }),
    fromWeb(deploymentPods('pay', 'worker', { app: 'worker' }), { port: 8080 }),
  ];

  test('pods of one namespace with the same protocol and ports merge into one selector; other namespaces stay apart', async () => {
    const cfg = segmented({ maxRules: 2 });
    const plan = await run(records, { config: cfg });
    const rules = yamlOf(plan.tree, WEB).spec.egress;
    expect(bare(rules)).toEqual([
      {
        action: 'Allow',
        protocol: 'TCP',
        destination: { selector: "app == 'api' || app == 'worker'", namespaceSelector: "projectcalico.org/name == 'pay'", ports: [8080] },
      },
      { action: 'Allow', protocol: 'TCP', destination: { selector: "app == 'a' || app == 'b' || app == 'c'", ports: [8080] } },
    ]);
    expect(rules[1].metadata.annotations['policy-recommender.io/peer']).toBe('pods:shop/app=a, pods:shop/app=b, pods:shop/app=c');
    const web = plan.workloads.find((w) => w.key === 'shop/Deployment/web')!;
    expect(web.warnings.map((w) => w.code)).toEqual(['rules-merged']);
    // Merged rules are read back as the engine's memory: nothing changes on the next run.
    const again = await run(records, { tree: plan.tree, now: NOW + HOUR, config: cfg });
    expect(again.changes.size).toBe(0);
    // A new port for one of the merged peers becomes its own rule: the merged rule is not widened.
    const more = await run([fromWeb(peers[0]!, { port: 9090 })], { tree: plan.tree, now: NOW + HOUR, config: segmented({ maxRules: 3 }) });
    expect(bare(yamlOf(more.tree, WEB).spec.egress).map((r) => r.destination.selector)).toEqual([
      "app == 'api' || app == 'worker'",
      "app == 'a' || app == 'b' || app == 'c'",
      "app == 'a'",
    ]);
  });
});

describe('flavours', () => {
  test('the kubernetes flavour is refused with microsegmentation, naming the key', () => {
    expect(() =>
      validateRecommendationConfig({ flavor: 'kubernetes', microsegmentation: { enabled: true, select: { namespaces: ['shop'] } } }),
    ).toThrow(ConfigError);
    try {
      validateRecommendationConfig({ flavor: 'kubernetes', microsegmentation: { enabled: true, select: { namespaces: ['shop'] } } });
    } catch (e) {
      expect((e as ConfigError).issues.map((i) => i.path)).toEqual(['microsegmentation.enabled']);
    }
  });

  test('forced on the kubernetes flavour, the plan writes no workload policy and says why', async () => {
    const plan = await run([fromWeb(db, { port: 5432 })], { config: { ...segmented(), flavor: 'kubernetes' } });
    expect(plan.workloads).toEqual([]);
    expect(plan.warnings.map((w) => w.code)).toEqual(['microsegmentation-unsupported']);
    expect([...plan.tree.keys()].some((p) => p.startsWith('appsec/'))).toBe(false);
  });
});

describe('names and paths', () => {
  // libcalico-go/lib/validator/v3/validator.go networkPolicyNameRegex (every release): at most one
  // dot; libcalico-go/lib/names/policy.go ValidateTieredPolicyName (release-v3.31): `<tier>.` required
  // outside the default tier up to 3.31, gone from 3.32.
  test('`[<tier>.]<kind>-<name>-recommendation` at `appsec/<namespace>/<kind>-<name>.yaml`; dots never reach the name', () => {
    const id = { kind: 'CronJob', namespace: 'ops', name: 'backup' } as const;
    expect(workloadPolicyName('appsec', id, '3.31')).toBe('appsec.cronjob-backup-recommendation');
    expect(workloadPolicyName('appsec', id, '3.32')).toBe('cronjob-backup-recommendation');
    expect(workloadPolicyPath(id)).toBe('appsec/ops/cronjob-backup.yaml');
    const dotted = { kind: 'Deployment', namespace: 'ops', name: 'web.v2' } as const;
    const dashed = { kind: 'Deployment', namespace: 'ops', name: 'web-v2' } as const;
    for (const release of ['3.30', '3.31', '3.32', '3.33', 'main'] as const) {
      const name = workloadPolicyName('appsec', dotted, release);
      expect(name).toMatch(/^(appsec\.)?deployment-web-v2-[0-9a-f]{10}-recommendation$/);
      expect(name.split('.').length - 1).toBeLessThanOrEqual(1);
      expect(name).not.toBe(workloadPolicyName('appsec', dashed, release));
      expect(isWorkloadPolicyName(name, 'appsec')).toBe(true);
      expect(isWorkloadPolicyNameOf(name, 'appsec', dotted)).toBe(true);
      expect(isWorkloadPolicyNameOf(name, 'appsec', dashed)).toBe(false);
    }
    expect(isWorkloadPolicyName('cronjob-backup-recommendation', 'appsec')).toBe(true);
    expect(isWorkloadPolicyName('cronjob-backup-recommendation', 'appsec')).toBe(true);
    expect(isWorkloadPolicyName('appsec.hand-written', 'appsec')).toBe(false);
    expect(isWorkloadPolicyName('shop-recommendation', 'appsec')).toBe(false);
  });

  test('names too long for Kubernetes are shortened with a hash of the workload, still ours and still distinct', () => {
    const long = (suffix: string) => ({ kind: 'StatefulSet', namespace: 'shop', name: `${'a'.repeat(240)}${suffix}` }) as const;
    const [a, b] = [workloadPolicyName('appsec', long('x'), '3.31'), workloadPolicyName('appsec', long('y'), '3.31')];
    expect(a).not.toBe(b);
    for (const name of [a, b]) {
      expect(name.length).toBeLessThanOrEqual(253);
      expect(isDnsSubdomain(name)).toBe(true);
      expect(isWorkloadPolicyName(name, 'appsec')).toBe(true);
      expect(isOwnWorkloadPolicyHit(hit(`0|appsec|shop/${name.replace('appsec.', 'appsec.staged:')}|allow|0`), 'appsec', 'shop')).toBe(
        true,
      );
    }
    expect(workloadPolicyPath(long('x')).split('/').at(-1)!.length).toBeLessThanOrEqual(205);
  });

  test("a file at the policy's path that is not the policy is left alone, and reported", async () => {
    const tree = new Map([[WEB, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n  namespace: shop\n']]);
    const plan = await run([fromWeb(db, { port: 5432 })], { tree, config: segmented() });
    expect(plan.tree.get(WEB)).toBe(tree.get(WEB));
    expect(plan.workloads[0]).toMatchObject({ outcome: 'skipped', warnings: [{ code: 'file-conflict', workload: 'shop/Deployment/web' }] });
  });
});
