// The deployment's own configuration: how to reach each cluster's flow logs and Kubernetes API,
// with credentials. It is read from a file the operator mounts (POLICY_RECOMMENDER_DEPLOYMENT);
// a repository only ever *names* a cluster, so it can never make the bot connect to a host of
// its choosing. Secrets are referenced as files (mounted Kubernetes Secrets), never inlined.

import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { isDnsLabel } from '../calico/names.ts';
import { isPlainObject, own } from '../util/plain.ts';
import { ConfigError, configIssues, inOurWords } from './config-error.ts';
import { parseConfigYaml } from './config-yaml.ts';
import { parseDuration } from './duration.ts';

const DEPLOYMENT_CONFIG_ENV = 'POLICY_RECOMMENDER_DEPLOYMENT';

const seconds = (fallback: string) =>
  z
    .string()
    .prefault(fallback)
    .transform((text, ctx) => {
      const value = parseDuration(text);
      if (value === null || value <= 0) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration (use e.g. 30s, 2m)` });
        return z.NEVER;
      }
      return value;
    });

const filePath = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/'), 'must be an absolute path to a mounted file');

const goldmane = z.strictObject({
  /** host:port, e.g. goldmane.calico-system.svc:7443. */
  address: z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/, 'must be host:port'),
  /** Mutual TLS, as the Tigera operator issues it: CA bundle, client certificate and key. */
  caFile: filePath,
  certFile: filePath,
  keyFile: filePath,
  /** TLS server name to verify, when it differs from the address's host. */
  serverName: z.string().optional(),
  /** Deadline of each call. */
  timeout: seconds('30s'),
});

const hubble = z
  .strictObject({
    /** host:port of Hubble Relay, e.g. hubble-relay.kube-system.svc:443 (its service port; 4245 on the pod). */
    address: z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/, 'must be host:port'),
    /** TLS: the CA bundle that signed Relay's server certificate. */
    caFile: filePath.optional(),
    /** Mutual TLS (Relay's `tls.server.mtls`): client certificate and key, together. */
    certFile: filePath.optional(),
    keyFile: filePath.optional(),
    /** TLS server name to verify, when it differs from the address's host (e.g. *.hubble-relay.cilium.io). */
    serverName: z.string().optional(),
    /** Plain text, without TLS: only when asked for, and never together with TLS files. */
    plaintext: z.literal(true).optional(),
    /** Deadline of a one-off read (a run reading Relay directly). */
    timeout: seconds('30s'),
  })
  .refine((c) => (c.plaintext === true) !== (c.caFile !== undefined), {
    message: 'give caFile (TLS), or plaintext: true to connect without TLS',
  })
  .refine((c) => (c.certFile === undefined) === (c.keyFile === undefined), { message: 'certFile and keyFile go together' })
  .refine((c) => c.plaintext !== true || (c.certFile === undefined && c.serverName === undefined), {
    message: 'plaintext: true takes no certFile, keyFile or serverName',
  });

const elasticsearch = z
  .strictObject({
    /** e.g. https://tigera-secure-es-http.tigera-elasticsearch.svc:9200 (credentials go in files, not here). */
    node: z
      .url({ protocol: /^https?$/ })
      .refine(
        (u) => new URL(u).username === '' && new URL(u).password === '',
        'must not contain credentials: use apiKeyFile or passwordFile',
      ),
    /** Calico Enterprise's flow index pattern for this cluster, e.g. tigera_secure_ee_flows.prod.* */
    index: z.string().regex(/^[a-z0-9][a-z0-9_.*-]*$/, 'must be an index name or pattern (lowercase, digits, _ . - *)'),
    /** Buckets per page of the composite aggregation. */
    pageSize: z.number().int().min(100).max(10_000).optional(),
    apiKeyFile: filePath.optional(),
    username: z.string().optional(),
    passwordFile: filePath.optional(),
    caFile: filePath.optional(),
    timeout: seconds('60s'),
  })
  .refine((c) => (c.apiKeyFile === undefined) !== (c.username === undefined && c.passwordFile === undefined), {
    message: 'give either apiKeyFile, or username and passwordFile',
  })
  .refine((c) => (c.username === undefined) === (c.passwordFile === undefined), { message: 'username and passwordFile go together' });

const flows = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('goldmane'), goldmane }),
  z.strictObject({ source: z.literal('elasticsearch'), elasticsearch }),
  z.strictObject({ source: z.literal('hubble'), hubble }),
  z.strictObject({ source: z.literal('file'), file: z.strictObject({ paths: z.array(filePath).min(1) }) }),
]);

const kubernetes = z.union([
  z.strictObject({ inCluster: z.literal(true) }),
  z.strictObject({ kubeconfig: filePath, context: z.string().optional() }),
]);

const cluster = z.strictObject({ flows, kubernetes: kubernetes.optional() });

const schema = z.strictObject({
  clusters: z.record(z.string().refine(isDnsLabel, 'cluster names are DNS labels'), cluster),
});

export type DeploymentConfig = z.infer<typeof schema>;
export type ClusterConnection = z.infer<typeof cluster>;
export type GoldmaneConfig = z.infer<typeof goldmane>;
export type ElasticsearchConfig = z.infer<typeof elasticsearch>;
export type HubbleConfig = z.infer<typeof hubble>;
export type KubernetesAccess = z.infer<typeof kubernetes>;

export function validateDeploymentConfig(value: unknown, source: string): DeploymentConfig {
  const result = schema.safeParse(value, { error: inOurWords });
  // zod leaves a record's `__proto__` key out without a word: it is a name that is not a DNS label.
  const clusters = isPlainObject(value) ? value['clusters'] : undefined;
  const proto =
    isPlainObject(clusters) && Object.hasOwn(clusters, '__proto__')
      ? [{ path: 'clusters.__proto__', message: 'cluster names are DNS labels' }]
      : [];
  if (result.success && proto.length === 0) return result.data;
  throw new ConfigError(source, [...proto, ...(result.success ? [] : configIssues(result.error, schema))]);
}

/** Reads the file named by POLICY_RECOMMENDER_DEPLOYMENT; no file means no clusters. */
export async function loadDeploymentConfig(env: NodeJS.ProcessEnv = process.env): Promise<DeploymentConfig> {
  const path = env[DEPLOYMENT_CONFIG_ENV];
  if (path === undefined || path === '') return { clusters: {} };
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new ConfigError(path, [{ path: '', message: e.code === 'ENOENT' ? 'no such file' : e.message }]);
  });
  const value = parseConfigYaml(text, path);
  return validateDeploymentConfig(value ?? {}, path);
}

/** The connection of a cluster the deployment names (own keys only: `constructor` is a name like any other). */
export function clusterConnection(deployment: DeploymentConfig, cluster: string): ClusterConnection | undefined {
  return own(deployment.clusters, cluster);
}
