import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import type { ConfigError } from '../../src/config/config-error.ts';
import { loadDeploymentConfig, validateDeploymentConfig } from '../../src/config/deployment-config.ts';

const issues = (value: unknown) => {
  try {
    validateDeploymentConfig(value, 'deployment.yml');
    return [];
  } catch (e) {
    return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
};

describe('deployment configuration', () => {
  test('each cluster names its flow source and Kubernetes access, with secrets as files', () => {
    const config = validateDeploymentConfig(
      {
        clusters: {
          'prod-eu': {
            flows: {
              source: 'goldmane',
              goldmane: {
                address: 'goldmane.calico-system.svc:7443',
                caFile: '/certs/ca.crt',
                certFile: '/certs/tls.crt',
                keyFile: '/certs/tls.key',
              },
            },
            kubernetes: { inCluster: true },
          },
          legacy: {
            flows: {
              source: 'elasticsearch',
              elasticsearch: { node: 'https://es:9200', index: 'tigera_secure_ee_flows.legacy.*', apiKeyFile: '/s/key' },
            },
            kubernetes: { kubeconfig: '/k/config', context: 'legacy' },
          },
          lab: { flows: { source: 'file', file: { paths: ['/var/log/calico/flowlogs'] } } },
        },
      },
      'deployment.yml',
    );
    expect(config.clusters['prod-eu']!.flows).toMatchObject({ source: 'goldmane', goldmane: { timeout: 30 } });
    expect(config.clusters['legacy']!.flows).toMatchObject({ source: 'elasticsearch', elasticsearch: { timeout: 60 } });
  });

  test('bad values name their path', () => {
    expect(issues({ clusters: { Prod: { flows: { source: 'file', file: { paths: ['/x'] } } } } })[0]).toMatch(
      /^clusters\.Prod: cluster names are DNS labels/,
    );
    expect(issues({ clusters: { a: { flows: { source: 'hubble' } } } })[0]).toMatch(/^clusters\.a\.flows/);
    expect(issues({ clusters: { a: { flows: { source: 'file', file: { paths: ['relative/x'] } } } } })).toEqual([
      'clusters.a.flows.file.paths.0: must be an absolute path to a mounted file',
    ]);
    expect(
      issues({
        clusters: {
          a: {
            flows: {
              source: 'elasticsearch',
              elasticsearch: { node: 'https://es', index: 'x', apiKeyFile: '/k', username: 'u', passwordFile: '/p' },
            },
          },
        },
      }),
    ).toEqual(['clusters.a.flows.elasticsearch: give either apiKeyFile, or username and passwordFile']);
    expect(issues({ clusters: {}, extra: 1 })).toEqual(['extra: unknown key']);
    expect(
      issues({
        clusters: { a: { flows: { source: 'goldmane', goldmane: { address: 'x', caFile: '/a', certFile: '/b', keyFile: '/c' } } } },
      }),
    ).toEqual(['clusters.a.flows.goldmane.address: must be host:port']);
  });

  test('read from the file named by POLICY_RECOMMENDER_DEPLOYMENT; none means no clusters', async () => {
    expect(await loadDeploymentConfig({})).toEqual({ clusters: {} });
    const dir = await mkdtemp(join(tmpdir(), 'deployment-'));
    const file = join(dir, 'deployment.yml');
    await writeFile(file, 'clusters:\n  lab:\n    flows:\n      source: file\n      file:\n        paths: [/tmp/flows]\n');
    expect(Object.keys((await loadDeploymentConfig({ POLICY_RECOMMENDER_DEPLOYMENT: file })).clusters)).toEqual(['lab']);
    await expect(loadDeploymentConfig({ POLICY_RECOMMENDER_DEPLOYMENT: join(dir, 'nope.yml') })).rejects.toThrow(/nope\.yml: no such file/);
  });
});
