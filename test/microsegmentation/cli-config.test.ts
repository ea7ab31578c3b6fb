// The configuration keys (validated with their key paths, shared by the CLI's --config and the
// App's .github/policy-recommender.yml) and `policy-recommender recommend` with microsegmentation.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { DEFAULT_CONFIG, parseRecommendationConfig } from '../../src/config/recommendation-config.ts';
import { parseTime } from '../../src/engine/provenance.ts';
import { writeFlowFile } from '../../src/generator/generate.ts';
import { cli, configIssues, filesIn } from '../support/cli.ts';

const issues = configIssues;

describe('microsegmentation configuration', () => {
  test('off by default, tier appsec, one pull request per namespace', () => {
    expect(DEFAULT_CONFIG.microsegmentation).toEqual({
      enabled: false,
      tierName: 'appsec',
      select: { namespaces: [], workloads: [], selector: null },
      pullRequests: 'per-namespace',
    });
  });

  test('every key is read', () => {
    const config = parseRecommendationConfig(
      [
        'microsegmentation:',
        '  enabled: true',
        '  tierName: micro',
        '  select:',
        '    namespaces: [shop]',
        '    workloads: [pay/api, pay/StatefulSet/db]',
        "    selector: tier == 'frontend'",
        '  pullRequests: per-workload',
      ].join('\n'),
      'test.yml',
    );
    const m = config.microsegmentation;
    expect(m).toMatchObject({
      enabled: true,
      tierName: 'micro',
      select: {
        namespaces: ['shop'],
        workloads: [
          { namespace: 'pay', kind: null, name: 'api' },
          { namespace: 'pay', kind: 'StatefulSet', name: 'db' },
        ],
      },
      pullRequests: 'per-workload',
    });
    expect(m.select.selector!.matches({ tier: 'frontend' })).toBe(true);
  });

  test('bad values and unknown keys are reported with their key paths', () => {
    expect(
      issues({
        microsegmentation: {
          enabled: 'yes',
          tierName: 'Not A Tier',
          select: { namespaces: ['../etc'], workloads: ['shop', 'shop/Pod/web', 'a/b/c/d'], selector: 'app ==', extra: 1 },
          pullRequests: 'per-pod',
        },
      }),
    ).toEqual([
      'microsegmentation.enabled: must be true or false, not text',
      'microsegmentation.tierName: must be a tier name: lowercase letters, digits and "-", at most 63 characters',
      'microsegmentation.select.namespaces.0: must be a namespace name',
      'microsegmentation.select.workloads.0: "shop" is not <namespace>/<name> or <namespace>/<Kind>/<name> (Kind: Deployment, StatefulSet, DaemonSet, CronJob, Job)',
      'microsegmentation.select.workloads.1: "shop/Pod/web" is not <namespace>/<name> or <namespace>/<Kind>/<name> (Kind: Deployment, StatefulSet, DaemonSet, CronJob, Job)',
      'microsegmentation.select.workloads.2: "a/b/c/d" is not <namespace>/<name> or <namespace>/<Kind>/<name> (Kind: Deployment, StatefulSet, DaemonSet, CronJob, Job)',
      expect.stringMatching(/^microsegmentation\.select\.selector: invalid selector: /),
      'microsegmentation.select.extra: unknown key',
      'microsegmentation.pullRequests: must be one of per-workload, per-namespace',
    ]);
  });

  test('on, it needs a selection, its own tier, and a flavour with tiers', () => {
    expect(issues({ microsegmentation: { enabled: true } })).toEqual([
      'microsegmentation.select: select workloads: namespaces, workloads or a selector',
    ]);
    expect(issues({ microsegmentation: { tierName: 'namespace-isolation' } })).toEqual([
      'microsegmentation.tierName: must differ from namespaceSpec.tierName: the two layers are two tiers',
    ]);
    expect(issues({ flavor: 'kubernetes', microsegmentation: { enabled: true, select: { namespaces: ['shop'] } } })).toEqual([
      'microsegmentation.enabled: the kubernetes flavour has no tiers and no Pass, so per-workload policies cannot narrow the namespace policies: use flavor calico or calico-enterprise',
    ]);
    // Off, the kubernetes flavour does not care.
    expect(issues({ flavor: 'kubernetes', microsegmentation: { select: { namespaces: ['shop'] } } })).toEqual([]);
  });
});

describe('policy-recommender recommend with microsegmentation', () => {
  const END = '2026-11-22T12:00:00Z';
  let dir: string;
  let flows: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'policy-recommender-microsegmentation-cli-'));
    flows = join(dir, 'flows.jsonl');
    await writeFlowFile(flows, { scenario: 'yaobank', records: 2000, endTime: parseTime(END)!, seed: 3 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('--microsegment <namespace>: the workload policies, their rules, and the files; a second run changes nothing', async () => {
    const out = join(dir, 'run1');
    const first = await cli('recommend', '--flows', flows, '--out', out, '--now', END, '--microsegment', 'yaobank');
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain('Microsegmentation (tier appsec; 4 workloads known from the flow records; namespaces: yaobank):');
    expect(first.stdout).toMatch(/^ {2}yaobank\/Deployment\/customer\s+Learning\s+created\s+1\s+4\s+2026-11-22T12:00:00Z$/m);
    expect(first.stdout).toContain("yaobank/Deployment/summary (appsec/yaobank/deployment-summary.yaml, selector app == 'summary'):");
    expect(first.stdout).toContain("ingress Allow TCP 8080 from pods of namespace yaobank with app == 'customer' && version == 'v1'");
    expect(first.stdout).toMatch(/egress +Pass +TCP 2379,8080 to pods of namespace yaobank /);
    // The default layout: a directory of manifests, no kustomization (Flux generates one, Argo CD reads it recursively).
    expect(await filesIn(out)).toEqual([
      'appsec/yaobank/deployment-customer.yaml',
      'appsec/yaobank/deployment-database.yaml',
      'appsec/yaobank/deployment-summary.yaml',
      'global-default-deny.yaml',
      'namespace-isolation/yaobank.yaml',
      'tiers.yaml',
    ]);
    const second = await cli('recommend', '--flows', flows, '--out', out, '--now', END, '--microsegment', 'yaobank');
    expect(second.stdout).toContain(`No changes: ${out} is up to date.`);
  });

  test('--config and --microsegment <ns>/<workload> add up; --dry-run writes nothing', async () => {
    const config = join(dir, 'config.yml');
    await writeFile(config, 'microsegmentation:\n  select:\n    workloads: [yaobank/Deployment/database]\n');
    const out = join(dir, 'run2');
    const run = await cli(
      'recommend',
      '--flows',
      flows,
      '--out',
      out,
      '--now',
      END,
      '--config',
      config,
      '--microsegment',
      'yaobank/summary',
      '--dry-run',
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\+\+\+ b\/appsec\/yaobank\/deployment-database\.yaml$/m);
    expect(run.stdout).toMatch(/^\+\+\+ b\/appsec\/yaobank\/deployment-summary\.yaml$/m);
    expect(run.stdout).not.toContain('deployment-customer.yaml');
    // customer is not selected: its traffic within the namespace reaches no per-workload policy.
    expect(run.stdout).toMatch(
      /yaobank: traffic within the namespace is passed to tier appsec, where no policy selects Deployment customer \(not selected\)/,
    );
    expect(await filesIn(out)).toEqual([]);
  });

  test('a selected workload that does not exist is reported by name', async () => {
    const run = await cli(
      'recommend',
      '--flows',
      flows,
      '--out',
      join(dir, 'run3'),
      '--now',
      END,
      '--microsegment',
      'yaobank/sumary',
      'yaobnk',
      '--dry-run',
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      '  microsegmentation.select: no workload known from the flow records matches namespace yaobnk, workload yaobank/sumary (a typo, or not deployed yet?).',
    );
  });

  test('usage errors exit 2: a bad entry, or microsegmentation with the kubernetes flavour', async () => {
    const bad = await cli('recommend', '--flows', flows, '--out', join(dir, 'x'), '--microsegment', 'yaobank/Pod/x');
    expect(bad).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^policy-recommender: --microsegment: "yaobank\/Pod\/x" is not a namespace or <namespace>\/<name>/),
    });
    const k8s = await cli('recommend', '--flows', flows, '--out', join(dir, 'x'), '--microsegment', 'yaobank', '--flavor', 'kubernetes');
    expect(k8s).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^policy-recommender: --microsegment: microsegmentation\.enabled: the kubernetes flavour has no tiers/),
    });
    const config = join(dir, 'on.yml');
    await writeFile(config, 'microsegmentation:\n  enabled: true\n  select:\n    namespaces: [yaobank]\n');
    const viaFlavor = await cli('recommend', '--flows', flows, '--out', join(dir, 'x'), '--config', config, '--flavor', 'kubernetes');
    expect(viaFlavor).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^policy-recommender: --flavor: microsegmentation\.enabled: /),
    });
    expect(await filesIn(join(dir, 'x'))).toEqual([]);
  });
});
