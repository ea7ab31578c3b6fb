// The recommendation scope: the keys of Calico Enterprise's PolicyRecommendationScope (same names,
// same duration syntax), plus the output flavour. Validated at the boundary: an unknown key or a
// bad value is an error naming its path, never silently ignored.

import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { isDnsLabel, isDnsSubdomain } from '../calico/names.ts';
import { parseSelector, SelectorSyntaxError, type Selector } from '../calico/selector.ts';
import { ConfigError, configIssues } from './config-error.ts';
import { formatDuration, parseDuration } from './duration.ts';

export { ConfigError, type ConfigIssue } from './config-error.ts';

export type Flavor = 'calico' | 'calico-enterprise' | 'kubernetes';
export const FLAVORS: readonly Flavor[] = ['calico', 'calico-enterprise', 'kubernetes'];

export interface NamespaceSpec {
  readonly recStatus: 'Enabled' | 'Disabled';
  readonly selector: Selector;
  readonly intraNamespacePassThroughTraffic: boolean;
  readonly tierName: string;
}

export interface RecommendationConfig {
  readonly flavor: Flavor;
  /** Seconds between recommendation runs (drives the Learning -> Stabilizing status). */
  readonly interval: number;
  /** Seconds of flow history that count. */
  readonly initialLookback: number;
  /** Seconds without rule changes before a recommendation is Stable. */
  readonly stabilizationPeriod: number;
  /** Rules per direction before peers are merged (and, if still over, reported). */
  readonly maxRules: number;
  /** Domains under `.svc.<clusterDomain>` are cluster-internal and never become domain rules. */
  readonly clusterDomain: string;
  readonly namespaceSpec: NamespaceSpec;
}

/** Calico's documented default selector: no system namespaces (plus OpenShift's). */
export const DEFAULT_NAMESPACE_SELECTOR =
  "!(kubernetes.io/metadata.name starts with 'tigera-') && !(kubernetes.io/metadata.name starts with 'calico-') && " +
  "!(kubernetes.io/metadata.name starts with 'kube-') && !(kubernetes.io/metadata.name starts with 'openshift-')";

/** Calico's recommendation engine polls no faster than this. */
const MIN_INTERVAL = 30;

const duration = z.string({ error: 'must be a duration such as 2m30s, 24h or 7d' }).transform((text, ctx) => {
  const seconds = parseDuration(text);
  if (seconds === null || seconds <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration (use e.g. 2m30s, 24h, 7d)` });
    return z.NEVER;
  }
  return seconds;
});

const selector = z.string().transform((text, ctx) => {
  try {
    return parseSelector(text);
  } catch (e) {
    if (!(e instanceof SelectorSyntaxError)) throw e;
    ctx.addIssue({ code: 'custom', message: `invalid selector: ${e.message}` });
    return z.NEVER;
  }
});

const schema = z
  .strictObject({
    flavor: z.enum(FLAVORS as [Flavor, ...Flavor[]]).default('calico'),
    interval: duration.prefault('2m30s'),
    initialLookback: duration.prefault('24h'),
    stabilizationPeriod: duration.prefault('10m'),
    maxRules: z.number().int().min(1).max(1000).default(20),
    clusterDomain: z
      .string()
      .refine(isDnsSubdomain, 'must be a DNS name such as cluster.local')
      .default('cluster.local'),
    namespaceSpec: z
      .strictObject({
        recStatus: z.enum(['Enabled', 'Disabled']).default('Enabled'),
        selector: selector.prefault(DEFAULT_NAMESPACE_SELECTOR),
        intraNamespacePassThroughTraffic: z.boolean().default(false),
        tierName: z
          .string()
          .refine(isDnsLabel, 'must be a tier name: lowercase letters, digits and "-", at most 63 characters')
          .default('namespace-isolation'),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.interval < MIN_INTERVAL) {
      ctx.addIssue({ code: 'custom', path: ['interval'], message: `must be at least ${formatDuration(MIN_INTERVAL)}` });
    }
    if (c.initialLookback < c.interval) {
      ctx.addIssue({ code: 'custom', path: ['initialLookback'], message: 'must not be shorter than interval' });
    }
    if (c.stabilizationPeriod < c.interval) {
      ctx.addIssue({ code: 'custom', path: ['stabilizationPeriod'], message: 'must not be shorter than interval' });
    }
  });

/** Validates an already-parsed value (YAML, Probot config, or overrides). */
export function validateRecommendationConfig(value: unknown, source = 'configuration'): RecommendationConfig {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new ConfigError(source, configIssues(result.error));
}

export function parseRecommendationConfig(text: string, source: string): RecommendationConfig {
  let value: unknown;
  try {
    value = parseYaml(text, { maxAliasCount: 10 });
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const where = e.linePos?.[0] ? ` at line ${e.linePos[0].line}` : '';
      throw new ConfigError(source, [{ path: '', message: `not valid YAML${where}: ${e.message.split('\n')[0]}` }]);
    }
    throw e;
  }
  if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
    throw new ConfigError(source, [{ path: '', message: 'must be a YAML mapping of keys' }]);
  }
  return validateRecommendationConfig(value, source);
}

export const DEFAULT_CONFIG: RecommendationConfig = validateRecommendationConfig({});
