// The README's configuration examples are what people copy: they must stay valid as the schemas move.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { validateDeploymentConfig } from '../src/config/deployment-config.ts';
import { validateRepositoryConfig } from '../src/config/repository-config.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** The first ```yaml block after the given heading. */
function exampleAfter(heading: string): unknown {
  const at = readme.indexOf(heading);
  expect(at).toBeGreaterThanOrEqual(0);
  const block = /```yaml\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(block).not.toBeNull();
  return parse(block![1]!);
}

describe('README examples', () => {
  it('the deployment configuration example is valid, with one cluster per flow source', () => {
    const config = validateDeploymentConfig(exampleAfter('### Tell it where the flows are'), 'README.md');
    expect(
      Object.values(config.clusters)
        .map((c) => c.flows.source)
        .sort(),
    ).toEqual(['elasticsearch', 'file', 'goldmane']);
  });

  it('the repository configuration example is valid and gets the documented defaults', () => {
    const config = validateRepositoryConfig(exampleAfter('### Configure a repository'), { schedule: '0 */2 * * *', timezone: 'Etc/UTC' });
    expect(config.clusters).toEqual([{ name: 'prod', path: 'clusters/prod' }]);
    expect(config.pullRequests).toEqual({ concurrentLimit: 10, hourlyLimit: 2, labels: [] });
    expect(config.afterMerge).toBe('propose-updates');
    expect(config.recommendation.initialLookback).toBe(24 * 3600);
  });
});
