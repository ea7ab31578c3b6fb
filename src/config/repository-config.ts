// `.github/policy-recommender.yml` in a policies repository: when to run, which clusters and
// where their policies live, PR limits, what happens after a merge, and the recommendation scope
// keys (the same names as Calico's PolicyRecommendationScope, validated by the engine's schema).
// A repository only *names* clusters; how to reach them is the deployment's configuration.

import cron from 'node-cron';
import { z } from 'zod';
import { isDnsLabel } from '../calico/names.ts';
import { isSafeTreePath } from '../tree/tree.ts';
import { ConfigError, type ConfigIssue, configIssues, inOurWords } from './config-error.ts';
import { parseDuration } from './duration.ts';
import {
  FLAVORS,
  type Flavor,
  microsegmentationIssues,
  type RecommendationConfig,
  validateRecommendationConfig,
} from './recommendation-config.ts';

export const CONFIG_PATH = '.github/policy-recommender.yml';

export interface ClusterEntry {
  readonly name: string;
  /** Directory of this cluster's policies tree in the repository ('' = the root). */
  readonly path: string;
  /** This cluster's flavour, when it differs from the repository's `flavor` (a Cilium cluster beside Calico ones). */
  readonly flavor?: Flavor;
}

export interface RepositoryConfig {
  /** Cron expression (minute hour day month weekday, optionally seconds first). */
  readonly schedule: string;
  readonly timezone: string;
  readonly clusters: readonly ClusterEntry[];
  readonly pullRequests: { readonly concurrentLimit: number; readonly hourlyLimit: number; readonly labels: readonly string[] };
  readonly afterMerge: 'propose-updates' | 'stop';
  /** Seconds an accepted staged policy must deny nothing before its enforcement is proposed. */
  readonly enforceAfter: number;
  readonly recommendation: RecommendationConfig;
}

/** The deployment-wide default schedule (from app.yml). */
export interface ScheduleDefaults {
  readonly schedule: string;
  readonly timezone: string;
}

const APP_KEYS = ['schedule', 'timezone', 'clusters', 'pullRequests', 'afterMerge', 'enforceAfter'] as const;
const DEFAULT_ENFORCE_AFTER = '7d';
const MIN_DEFAULT_PERIOD = 24 * 3600;

const cronExpression = z.string().superRefine((text, ctx) => {
  const result = cron.validateDetailed(text);
  if (!result.valid) {
    ctx.addIssue({ code: 'custom', message: `not a cron expression: ${result.errors.map((e) => `${e.field}: ${e.message}`).join(', ')}` });
  }
});

const timezone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'not an IANA time zone such as Europe/Berlin or UTC');

const label = z
  .string()
  .min(1)
  .max(50)
  .regex(/^[^,\n\r]+$/, 'a label cannot contain commas or line breaks');

const appSchema = z.strictObject({
  schedule: cronExpression.optional(),
  timezone: timezone.optional(),
  clusters: z
    .array(
      z.strictObject({
        name: z.string().refine(isDnsLabel, 'a cluster name is a DNS label (lowercase letters, digits, "-")'),
        path: z
          .string()
          .transform((p) => p.replace(/^\.?\/+|\/+$/g, ''))
          .refine((p) => p === '' || isSafeTreePath(p), 'must be a relative path inside the repository'),
        flavor: z.enum(FLAVORS as [Flavor, ...Flavor[]]).optional(),
      }),
    )
    .min(1, 'name at least one cluster')
    .refine((list) => new Set(list.map((c) => c.name)).size === list.length, 'each cluster is named once')
    .refine((list) => new Set(list.map((c) => c.path)).size === list.length, 'each cluster has its own path'),
  pullRequests: z
    .strictObject({
      concurrentLimit: z.number().int().min(0).default(10),
      hourlyLimit: z.number().int().min(0).default(2),
      labels: z.array(label).max(20).default([]),
    })
    .prefault({}),
  afterMerge: z.enum(['propose-updates', 'stop']).default('propose-updates'),
  enforceAfter: z
    .string({ error: 'must be a duration such as 7d or 36h' })
    .default(DEFAULT_ENFORCE_AFTER)
    .transform((text, ctx) => {
      const seconds = parseDuration(text);
      if (seconds === null || seconds < 3600) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration of at least 1h (use e.g. 7d, 36h)` });
        return z.NEVER;
      }
      return seconds;
    }),
});

/**
 * Validates a repository's configuration (the mapping its YAML holds, `_extends` followed). All
 * problems are collected into one ConfigError, each with its key path.
 */
export function validateRepositoryConfig(value: unknown, defaults: ScheduleDefaults, source = CONFIG_PATH): RepositoryConfig {
  return checkRepositoryConfig(value, defaults, source, appSchema);
}

/**
 * The problems of a configuration meant to be extended (`_extends`): the same keys and values,
 * but it need not name clusters (the repositories extending it may).
 */
export function extendedConfigIssues(value: unknown, defaults: ScheduleDefaults): readonly ConfigIssue[] {
  try {
    checkRepositoryConfig(value, defaults, 'an extended configuration', appSchema.partial({ clusters: true }));
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
}

function checkRepositoryConfig(
  value: unknown,
  defaults: ScheduleDefaults,
  source: string,
  schema: typeof appSchema | ReturnType<typeof appSchema.partial<{ clusters: true }>>,
): RepositoryConfig {
  if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
    throw new ConfigError(source, [{ path: '', message: 'must be a YAML mapping of keys' }]);
  }
  const input = (value ?? {}) as Record<string, unknown>;
  // Built with fromEntries: a key such as `__proto__` stays a key (reported as unknown), never a prototype.
  const isAppKey = ([key]: [string, unknown]) => (APP_KEYS as readonly string[]).includes(key);
  const appPart = Object.fromEntries(Object.entries(input).filter(isAppKey));
  const scopePart = Object.fromEntries(Object.entries(input).filter((e) => !isAppKey(e)));

  const issues: ConfigIssue[] = [];
  const app = schema.safeParse(appPart, { error: inOurWords });
  if (!app.success) issues.push(...configIssues(app.error, schema));
  const schedule = app.success ? (app.data.schedule ?? defaults.schedule) : defaults.schedule;
  const tz = app.success ? (app.data.timezone ?? defaults.timezone) : defaults.timezone;

  // Calico's interval is how often recommendations are refreshed: here, the schedule's period.
  const period = schedulePeriod(schedule, tz);
  const base = Math.max(MIN_DEFAULT_PERIOD, period);
  let recommendation: RecommendationConfig | undefined;
  try {
    recommendation = validateRecommendationConfig(
      {
        ...scopePart,
        interval: scopePart['interval'] ?? `${period}s`,
        initialLookback: scopePart['initialLookback'] ?? `${base}s`,
        stabilizationPeriod: scopePart['stabilizationPeriod'] ?? `${Math.max(base, 3 * period)}s`,
      },
      source,
      // A misspelt key of the repository's own (`schedul`) lands here, among the scope's keys.
      [...APP_KEYS, '_extends'],
    );
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    issues.push(...e.issues);
  }
  // A cluster's own flavour must suit the repository's microsegmentation settings too.
  if (app.success && recommendation !== undefined)
    (app.data.clusters ?? []).forEach((cluster, i) => {
      if (cluster.flavor === undefined || cluster.flavor === recommendation.flavor) return;
      for (const issue of microsegmentationIssues({ ...recommendation, flavor: cluster.flavor }))
        issues.push({ path: `clusters.${i}.flavor`, message: `${cluster.flavor}: ${issue.message}` });
    });
  // Cilium's allows add up: a merged namespace policy must be updated to leave out the workloads
  // whose own policies were merged, or their narrowing has no effect (the namespace's rules still
  // allow their pods everything they allowed).
  if (app.success && recommendation?.microsegmentation.enabled && app.data.afterMerge === 'stop') {
    const cilium = [recommendation.flavor, ...(app.data.clusters ?? []).map((c) => c.flavor)].includes('cilium');
    if (cilium)
      issues.push({
        path: 'afterMerge',
        message:
          "stop cannot go with flavor cilium and microsegmentation: Cilium's allows add up, so a merged namespace policy must be updated to leave out the workloads whose own policies were merged, or their narrowing has no effect",
      });
  }
  if (issues.length > 0 || !app.success || recommendation === undefined) throw new ConfigError(source, issues);
  return {
    schedule,
    timezone: tz,
    clusters: (app.data.clusters ?? []).map(({ flavor, ...cluster }) => (flavor === undefined ? cluster : { ...cluster, flavor })),
    pullRequests: app.data.pullRequests,
    afterMerge: app.data.afterMerge,
    enforceAfter: app.data.enforceAfter,
    recommendation,
  };
}

/**
 * Seconds between two runs of a cron schedule: the median gap of the next runs, so that a
 * weekday schedule counts as daily rather than as its weekend gap.
 */
export function schedulePeriod(expression: string, tz: string): number {
  if (!cron.validate(expression)) return MIN_DEFAULT_PERIOD;
  const task = cron.createTask(expression, () => undefined, { timezone: tz });
  try {
    const runs = task.getNextRuns(9);
    const gaps = runs
      .slice(1)
      .map((d, i) => (d.getTime() - runs[i]!.getTime()) / 1000)
      .sort((a, b) => a - b);
    return gaps.length > 0 ? Math.max(1, Math.round(gaps[Math.floor(gaps.length / 2)]!)) : MIN_DEFAULT_PERIOD;
  } finally {
    void task.destroy();
  }
}
