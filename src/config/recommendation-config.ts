// The recommendation scope: the keys of Calico Enterprise's PolicyRecommendationScope (same names,
// same duration syntax), plus the output flavour. Validated at the boundary: an unknown key or a
// bad value is an error naming its path, never silently ignored.

import { z } from 'zod';
import { isDnsLabel, isDnsSubdomain } from '../calico/names.ts';
import {
  type CalicoRelease,
  CalicoReleaseError,
  CURRENT_CALICO_RELEASE,
  calicoReleaseOfVersion,
  parseCalicoRelease,
} from '../calico/release.ts';
import { parseSelector, type Selector, SelectorSyntaxError } from '../calico/selector.ts';
import { WORKLOAD_KINDS, type WorkloadKind } from '../engine/model.ts';
import { ConfigError, configIssues, inOurWords } from './config-error.ts';
import { parseConfigYaml } from './config-yaml.ts';
import { formatDuration, parseDuration } from './duration.ts';

export { ConfigError } from './config-error.ts';

export type Flavor = 'calico' | 'calico-enterprise' | 'kubernetes' | 'cilium';
export const FLAVORS: readonly Flavor[] = ['calico', 'calico-enterprise', 'kubernetes', 'cilium'];

interface NamespaceSpec {
  readonly recStatus: 'Enabled' | 'Disabled';
  readonly selector: Selector;
  readonly intraNamespacePassThroughTraffic: boolean;
  readonly tierName: string;
}

/** One entry of `microsegmentation.select.workloads`: `<ns>/<name>` (any kind) or `<ns>/<Kind>/<name>`. */
export interface WorkloadSelection {
  readonly namespace: string;
  readonly kind: WorkloadKind | null;
  readonly name: string;
}

/**
 * Microsegmentation (Calico Enterprise's deployment-level recommendations): one staged policy per
 * selected workload in its own tier, and the selected workloads' namespaces pass traffic within
 * the namespace to that tier (intraNamespacePassThroughTraffic, automatically).
 */
interface MicrosegmentationSpec {
  readonly enabled: boolean;
  readonly tierName: string;
  /** A workload is selected when any of these selects it. */
  readonly select: {
    /** Every workload of these namespaces. */
    readonly namespaces: readonly string[];
    readonly workloads: readonly WorkloadSelection[];
    /**
     * A Calico selector over the workloads' stable pod labels (plus `projectcalico.org/namespace`),
     * in the namespaces `namespaceSpec.selector` selects.
     */
    readonly selector: Selector | null;
  };
  /** One pull request per workload, or one per namespace for all its workloads (the App). */
  readonly pullRequests: 'per-workload' | 'per-namespace';
}

export type IpFamily = 'IPv4' | 'IPv6';

export interface RecommendationConfig {
  readonly flavor: Flavor;
  /**
   * The cluster's Calico release, when the configuration names it (the cluster's
   * ClusterInformation, when readable, wins); otherwise CURRENT_CALICO_RELEASE (calico/release.ts) applies.
   */
  readonly calicoVersion: CalicoRelease | null;
  /**
   * The cluster's IP families, when the configuration names them (the cluster's IP pools, when
   * readable, win); otherwise IPv4. Flow records often carry no addresses: a public destination is
   * then IPv4 in a single-stack IPv4 cluster, and either family in a dual-stack one.
   */
  readonly ipFamilies: readonly IpFamily[] | null;
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
  readonly microsegmentation: MicrosegmentationSpec;
}

/** Calico's documented default selector: no system namespaces (plus OpenShift's). */
const DEFAULT_NAMESPACE_SELECTOR =
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

const tierName = (fallback: string) =>
  z.string().refine(isDnsLabel, 'must be a tier name: lowercase letters, digits and "-", at most 63 characters').default(fallback);

const WORKLOAD_ENTRY = new RegExp(`^([^/]+)/(?:(${WORKLOAD_KINDS.join('|')})/)?([^/]+)$`);

/** `<ns>/<name>` or `<ns>/<Kind>/<name>`, or null. */
export function parseWorkloadSelection(text: string): WorkloadSelection | null {
  const match = WORKLOAD_ENTRY.exec(text);
  if (match === null || !isDnsLabel(match[1]!) || !isDnsSubdomain(match[3]!)) return null;
  return { namespace: match[1]!, kind: (match[2] as WorkloadKind | undefined) ?? null, name: match[3]! };
}

export const WORKLOAD_SELECTION_SYNTAX = `<namespace>/<name> or <namespace>/<Kind>/<name> (Kind: ${WORKLOAD_KINDS.join(', ')})`;

const workloadSelection = z.string().transform((text, ctx): WorkloadSelection => {
  const selection = parseWorkloadSelection(text);
  if (selection === null) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not ${WORKLOAD_SELECTION_SYNTAX}` });
    return z.NEVER;
  }
  return selection;
});

const microsegmentation = z
  .strictObject({
    enabled: z.boolean().default(false),
    tierName: tierName('appsec'),
    select: z
      .strictObject({
        namespaces: z.array(z.string().refine(isDnsLabel, 'must be a namespace name')).default([]),
        workloads: z.array(workloadSelection).default([]),
        selector: selector.nullable().default(null),
      })
      .prefault({}),
    pullRequests: z.enum(['per-workload', 'per-namespace']).default('per-namespace'),
  })
  .prefault({});

// `3.31`; a version as ClusterInformation writes it (`v3.31.2`); and YAML's reading of an unquoted
// 3.30, the number 3.3: two decimals give the release back.
const calicoVersion = z.union([z.string(), z.number()]).transform((raw, ctx): CalicoRelease => {
  const text = typeof raw === 'number' ? raw.toFixed(2) : raw;
  try {
    return parseCalicoRelease(text);
  } catch (e) {
    if (!(e instanceof CalicoReleaseError)) throw e;
    const reading = calicoReleaseOfVersion(text);
    if (reading.release !== null) return reading.release;
    ctx.addIssue({ code: 'custom', message: e.message });
    return z.NEVER;
  }
});

const schema = z
  .strictObject({
    flavor: z.enum(FLAVORS as [Flavor, ...Flavor[]]).default('calico'),
    calicoVersion: calicoVersion.nullable().default(null),
    ipFamilies: z
      .array(z.enum(['IPv4', 'IPv6']))
      .min(1, 'name at least one family: IPv4, IPv6')
      .refine((list) => new Set(list).size === list.length, 'name each family once')
      .transform((list) => [...list].sort() as IpFamily[])
      .nullable()
      .default(null),
    interval: duration.prefault('2m30s'),
    initialLookback: duration.prefault('24h'),
    stabilizationPeriod: duration.prefault('10m'),
    maxRules: z.number().int().min(1).max(1000).default(20),
    clusterDomain: z.string().refine(isDnsSubdomain, 'must be a DNS name such as cluster.local').default('cluster.local'),
    namespaceSpec: z
      .strictObject({
        recStatus: z.enum(['Enabled', 'Disabled']).default('Enabled'),
        selector: selector.prefault(DEFAULT_NAMESPACE_SELECTOR),
        intraNamespacePassThroughTraffic: z.boolean().default(false),
        tierName: tierName('namespace-isolation'),
      })
      .prefault({}),
    microsegmentation,
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
    for (const issue of microsegmentationIssues(c)) ctx.addIssue({ code: 'custom', ...issue });
  });

/**
 * What makes a microsegmentation configuration unusable; also checked where a flavour is chosen
 * after the file was read (the command line's --flavor).
 */
export function microsegmentationIssues(
  c: Pick<RecommendationConfig, 'flavor' | 'namespaceSpec' | 'microsegmentation'>,
): { path: string[]; message: string }[] {
  const m = c.microsegmentation;
  const issues: { path: string[]; message: string }[] = [];
  if (m.tierName === c.namespaceSpec.tierName) {
    issues.push({
      path: ['microsegmentation', 'tierName'],
      message: 'must differ from namespaceSpec.tierName: the two layers are two tiers',
    });
  }
  if (!m.enabled) return issues;
  if (c.flavor === 'kubernetes') {
    // Kubernetes NetworkPolicies only ever add allows: a per-workload policy cannot narrow what the
    // namespace's policy allows, and there is no Pass to hand traffic on to it.
    issues.push({
      path: ['microsegmentation', 'enabled'],
      message:
        'the kubernetes flavour has no tiers and no Pass, so per-workload policies cannot narrow the namespace policies: use flavor calico or calico-enterprise',
    });
  }
  if (m.select.namespaces.length === 0 && m.select.workloads.length === 0 && m.select.selector === null) {
    issues.push({ path: ['microsegmentation', 'select'], message: 'select workloads: namespaces, workloads or a selector' });
  }
  return issues;
}

/**
 * Validates an already-parsed value (YAML, Probot config, or overrides). `alsoKnown`: keys of the
 * same document another schema validates (a repository's), for "did you mean".
 */
export function validateRecommendationConfig(
  value: unknown,
  source = 'configuration',
  alsoKnown: readonly string[] = [],
): RecommendationConfig {
  const result = schema.safeParse(value ?? {}, { error: inOurWords });
  if (result.success) return result.data;
  throw new ConfigError(source, configIssues(result.error, schema, alsoKnown));
}

export function parseRecommendationConfig(text: string, source: string): RecommendationConfig {
  const value = parseConfigYaml(text, source);
  if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
    throw new ConfigError(source, [{ path: '', message: 'must be a YAML mapping of keys' }]);
  }
  return validateRecommendationConfig(value, source);
}

export const DEFAULT_CONFIG: RecommendationConfig = validateRecommendationConfig({});

/** The IP families the engine and the simulator assume: the configured ones, else IPv4. */
export function ipFamiliesOf(config: Pick<RecommendationConfig, 'ipFamilies'>): readonly IpFamily[] {
  return config.ipFamilies ?? ['IPv4'];
}

/** The Calico release the engine and the simulator follow: the configured one, else the current one. */
export function calicoReleaseOf(config: Pick<RecommendationConfig, 'calicoVersion'>): CalicoRelease {
  return config.calicoVersion ?? CURRENT_CALICO_RELEASE;
}
