// The deployment-wide default schedule, kept in app.yml where Probot's setup flow cannot send it
// to GitHub: in a comment block `# policy-recommender:` followed by indented, commented YAML.
// Environment variables override it.

import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config-error.ts';
import { type ScheduleDefaults, validateRepositoryConfig } from './repository-config.ts';

export const FALLBACK_DEFAULTS: ScheduleDefaults = { schedule: '0 */2 * * *', timezone: 'Etc/UTC' };

/** The YAML in the `# policy-recommender:` comment block of app.yml. */
export function defaultsFromManifest(text: string): Record<string, unknown> {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => /^#\s*policy-recommender:\s*$/.test(l));
  if (start === -1) return {};
  const body: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = /^#(\s+\S.*)$/.exec(line);
    if (m === null) break;
    body.push(m[1]!);
  }
  const value: unknown = parseYaml(body.join('\n'));
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export async function loadScheduleDefaults(appYmlPath: string, env: NodeJS.ProcessEnv = process.env): Promise<ScheduleDefaults> {
  const text = await readFile(appYmlPath, 'utf8').catch(() => '');
  const fromFile = defaultsFromManifest(text);
  const schedule = env['POLICY_RECOMMENDER_SCHEDULE'] || fromFile['schedule'] || FALLBACK_DEFAULTS.schedule;
  const timezone = env['POLICY_RECOMMENDER_TIMEZONE'] || fromFile['timezone'] || FALLBACK_DEFAULTS.timezone;
  // Validated the way a repository's schedule is, so a bad default fails at start-up.
  try {
    validateRepositoryConfig({ schedule, timezone, clusters: [{ name: 'check', path: '' }] }, FALLBACK_DEFAULTS, 'the default schedule');
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`the default schedule (${appYmlPath} or environment)`, e.issues);
    throw e;
  }
  return { schedule: String(schedule), timezone: String(timezone) };
}
