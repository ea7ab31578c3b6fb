// What Calico cannot be told directly, written the way it accepts (issue 11 point 9):
// - port 0: Felix reports flows to it, `ports` cannot name it (validatePort,
//   libcalico-go/lib/validator/v3/validator.go: 1-65535); `notPorts: ['1:65535']` matches it alone;
//   a Kubernetes NetworkPolicyPort cannot name it either (ValidateNetworkPolicyPort, kubernetes
//   pkg/apis/networking/validation/validation.go);
// - the limits of the 3.33 CRDs (api/config/crd/projectcalico.org_networkpolicies.yaml): 256 nets
//   to an entity rule, selectors of at most 1024 characters, 1024 rules to a direction.
// The simulator (src/simulate, from Felix's rule matching) confirms what the written rules allow.

import { beforeAll, describe, expect, test } from '@jest/globals';
import { enforcePolicyInFile } from '../../src/engine/enforce.ts';
import { policySetFromTree } from '../../src/simulate/policy-set.ts';
import {
  bare,
  config,
  deploymentPods,
  egress,
  flow,
  ingress,
  loadTemplate,
  NOW,
  net,
  networkSet,
  policyOf,
  pub,
  run,
  wep,
  yamlOf,
} from '../support/engine.ts';
import { decide, egress as egressFacts } from '../support/simulate.ts';

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

beforeAll(async () => {
  await loadTemplate();
});

/** The verdict on an egress flow from shop's pods to 8.8.8.8 with the namespace's policy enforced (engine/enforce.ts). */
function enforcedVerdict(tree: ReadonlyMap<string, string>, port: number): string {
  const path = 'namespace-isolation/shop.yaml';
  const enforced = enforcePolicyInFile(tree.get(path)!, path, {
    kind: 'StagedNetworkPolicy',
    namespace: 'shop',
    name: 'shop-recommendation',
  })!;
  const set = policySetFromTree(new Map([...tree, [path, enforced]]), {});
  return decide(set, egressFacts(wep('shop', 'app-1'), net('8.8.8.8'), { port }), 'enforced');
}

describe('port 0', () => {
  test('calico: a rule of its own, `notPorts` of every other port; other ports stay in their own rule', async () => {
    const { tree, namespaces } = await run([
      egress('shop', pub, { port: 0 }),
      egress('shop', pub, { port: 443 }),
      ingress('shop', pub, { port: 0, protocol: 'UDP' }),
    ]);
    const spec = policyOf(tree, 'shop').spec;
    expect(bare(spec.egress)).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { notNets: PRIVATE, notPorts: ['1:65535'] } },
      { action: 'Allow', protocol: 'TCP', destination: { notNets: PRIVATE, ports: [443] } },
    ]);
    expect(bare(spec.ingress)).toEqual([
      { action: 'Allow', protocol: 'UDP', source: { notNets: PRIVATE }, destination: { notPorts: ['1:65535'] } },
    ]);
    // Described as what it allows: port 0.
    const egressRules = namespaces[0]!.rules.filter((r) => r.direction === 'egress');
    expect(egressRules.map((r) => r.ports)).toEqual([['0'], ['443']]);
    expect(namespaces[0]!.warnings).toEqual([]);
  });

  test("calico: read back as the engine's memory, it is neither duplicated nor extended; a new port extends the other rule", async () => {
    const first = await run([egress('shop', pub, { port: 0 }), egress('shop', pub, { port: 443 })]);
    const again = await run([egress('shop', pub, { port: 0 })], { tree: first.tree, now: NOW + 3600 });
    expect(again.changes.size).toBe(0);
    const more = await run([egress('shop', pub, { port: 80 }), egress('shop', pub, { port: 0 })], { tree: first.tree, now: NOW + 3600 });
    expect(bare(policyOf(more.tree, 'shop').spec.egress)).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { notNets: PRIVATE, notPorts: ['1:65535'] } },
      { action: 'Allow', protocol: 'TCP', destination: { notNets: PRIVATE, ports: [80, 443] } },
    ]);
  });

  test('calico: the rule allows port 0 and nothing else (simulated with the policy enforced)', async () => {
    const { tree } = await run([egress('shop', pub, { port: 0 })]);
    expect(enforcedVerdict(tree, 0)).toMatch(/^allowed: rule shop\/.*egress\[0\]/);
    expect(enforcedVerdict(tree, 1)).toMatch(/^denied/);
    expect(enforcedVerdict(tree, 65535)).toMatch(/^denied/);
  });

  test('calico: `ports: [0, ...]` written by an earlier release (refused by Calico) is split, the rest of the rule kept', async () => {
    const first = await run([egress('shop', pub, { port: 443 })]);
    const legacy = first.tree.get('namespace-isolation/shop.yaml')!.replace(/ports:\n(\s+)- 443/, 'ports:\n$1- 0\n$1- 443');
    expect(legacy).toContain('- 0\n');
    const next = await run([], { tree: new Map([...first.tree, ['namespace-isolation/shop.yaml', legacy]]), now: NOW + 3600 });
    const egressRules = yamlOf(next.tree, 'namespace-isolation/shop.yaml').spec.egress;
    expect(bare(egressRules)).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { notNets: PRIVATE, notPorts: ['1:65535'] } },
      { action: 'Allow', protocol: 'TCP', destination: { notNets: PRIVATE, ports: [443] } },
    ]);
    // Provenance is the rule's own: nothing new was learned.
    expect(egressRules[0].metadata).toEqual(egressRules[1].metadata);
  });

  test('kubernetes: every port of the protocol (a NetworkPolicy cannot name port 0), and a warning says so', async () => {
    const { tree, namespaces } = await run([egress('shop', net('8.8.8.8'), { port: 0 })], { config: config({ flavor: 'kubernetes' }) });
    expect(policyOf(tree, 'shop').spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: PRIVATE } }], ports: [{ protocol: 'TCP' }] },
    ]);
    expect(namespaces[0]!.warnings.map((w) => w.message)).toEqual([
      'TCP to public on port 0 is allowed on every port: Kubernetes policy cannot name port 0',
    ]);
  });
});

describe('the limits of the 3.33 CRDs', () => {
  const microsegmentation = config({ microsegmentation: { enabled: true, select: { namespaces: ['shop'] } } });
  const longLabels = Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`example.com/label-${i}`, `${'v'.repeat(60)}${i}`]));

  test('a workload whose stable labels make a selector over 1024 characters gets no policy, and a warning says why', async () => {
    const web = deploymentPods('shop', 'web', longLabels);
    const plan = await run([flow(wep('shop', 'api-*', ['app=api']), web, { reporter: 'dst', port: 8080 })], { config: microsegmentation });
    const report = plan.workloads.find((w) => w.key === 'shop/Deployment/web')!;
    expect(report.outcome).toBe('skipped');
    expect(report.selector).toBeNull();
    expect(report.warnings.map((w) => w.code)).toEqual(['workload-unselectable']);
    expect(report.warnings[0]!.message).toMatch(
      /^a selector of its pods' stable labels would take \d{4} characters, more than the 1024 Calico accepts, so no policy can select them safely; nothing was written$/,
    );
    expect([...plan.changes.keys()].filter((p) => p.startsWith('appsec/'))).toEqual([]);
  });

  test('a peer workload whose selector would be too long is allowed by its namespace, and the warning says why', async () => {
    const web = deploymentPods('shop', 'web', { app: 'web' });
    const big = deploymentPods('pay', 'big', longLabels);
    const plan = await run([flow(web, big, { reporter: 'src', port: 8080 })], { config: microsegmentation });
    const spec = yamlOf(plan.tree, 'appsec/shop/deployment-web.yaml').spec;
    expect(bare(spec.egress)).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { namespaceSelector: "projectcalico.org/name == 'pay'", ports: [8080] } },
    ]);
    const warning = plan.workloads.find((w) => w.key === 'shop/Deployment/web')!.warnings.find((w) => w.code === 'broader-peer')!;
    expect(warning.message).toMatch(
      /pay\/big-7d9f8b6c5d-\* \(pay\/Deployment\/big: a selector of its pods' stable labels would take \d{4} characters/,
    );
  });

  test('a network set of more than 256 nets (labels unknown) is approximated by rules of at most 256 nets each', async () => {
    const nets = Array.from({ length: 600 }, (_, i) => `198.${(i >> 8) & 255}.${i & 255}.0/24`);
    const { tree, namespaces } = await run([egress('shop', networkSet('feed', null, '198.0.1.9'), { port: 443 })], {
      networkSets: [{ name: 'feed', namespace: null, labels: null, nets }],
    });
    const rules = policyOf(tree, 'shop').spec.egress;
    expect(rules.map((r: any) => r.destination.nets.length)).toEqual([256, 256, 88]);
    expect(rules.flatMap((r: any) => r.destination.nets)).toEqual(nets);
    expect(namespaces[0]!.warnings[0]!.message).toMatch(
      /^globalnetworkset:feed \(TCP 443\) is allowed to the addresses of the set \(198\.0\.0\.0\/24, .* and 590 more\): its labels are not known, and Calico selects a network set only by its own labels$/,
    );
  });

  test('a network set whose labels would make a selector over 1024 characters is approximated by its nets, and the warning says why', async () => {
    const { tree, namespaces } = await run([egress('shop', networkSet('feed', null, '198.0.1.9'), { port: 443 })], {
      networkSets: [{ name: 'feed', namespace: null, labels: longLabels, nets: ['198.0.0.0/16'] }],
    });
    expect(bare(policyOf(tree, 'shop').spec.egress)).toEqual([
      { action: 'Allow', protocol: 'TCP', destination: { nets: ['198.0.0.0/16'], ports: [443] } },
    ]);
    expect(namespaces[0]!.warnings[0]!.message).toMatch(/a selector of its labels would be longer than the 1024 characters Calico accepts/);
  });

  test('a direction that would need more than 1024 rules is not written, and the file stays as it was', async () => {
    // 1025 namespaces' pods, each a peer of its own (pods of different namespaces never merge).
    const records = Array.from({ length: 1025 }, (_, i) =>
      flow(deploymentPods('shop', 'web', { app: 'web' }), deploymentPods(`ns-${i}`, 'api', { app: 'api' }), {
        reporter: 'src',
        port: 8080,
      }),
    );
    const plan = await run(records, { config: microsegmentation });
    const report = plan.workloads.find((w) => w.key === 'shop/Deployment/web')!;
    expect(report.outcome).toBe('skipped');
    expect(report.warnings.map((w) => w.code)).toEqual(['policy-too-large']);
    expect(report.warnings[0]!.message).toBe(
      'appsec/shop/deployment-web.yaml: egress would need 1025 rules, more than the 1024 a StagedNetworkPolicy holds in one direction; nothing was written (too many distinct peers, protocols and ports to merge)',
    );
    expect(plan.changes.has('appsec/shop/deployment-web.yaml')).toBe(false);
  });
});
