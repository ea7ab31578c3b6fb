// deploy/: the Kubernetes manifests of the App. There is no API server here, so what a cluster
// would check is checked on `kubectl kustomize`'s output: every kustomization builds; RBAC reads
// and never writes, apart from the Lease; the pod meets the restricted Pod Security Standard with a
// read-only root filesystem; every path the App is told about (environment, deployment
// configuration) is a file a volume mounts; the NetworkPolicy lets through what the App talks to.

import { readFileSync } from 'node:fs';
import { posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { type DeploymentConfig, validateDeploymentConfig } from '../../src/config/deployment-config.ts';
import { builtObjects, kubectlAvailable, kustomizationDirs } from '../support/kustomize.ts';

/** A manifest, as parsed: data whose shape the tests check. */
type Obj = Record<string, any>;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const VERSION = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version;
const NAMESPACE = 'policy-recommender';
/** What a run measured at its peak on a million flow records (README, "Benchmark"). */
const MEASURED_PEAK_BYTES = 300e6;

const KUBECTL = kubectlAvailable();
if (!KUBECTL) test.skip('kubectl is not on PATH: deploy/ is not built or checked (install kubectl to run these tests)', () => {});
const describeBuilt = KUBECTL ? describe : describe.skip;

const IMAGES: Record<string, string> = {
  '': `ghcr.io/your-org/policy-recommender:${VERSION}`,
  base: `ghcr.io/your-org/policy-recommender:${VERSION}`,
  'overlays/example': `registry.example.com/platform/policy-recommender:${VERSION}`,
};

const READ_VERBS = new Set(['get', 'list', 'watch']);
const LEASE_VERBS = new Set(['get', 'create', 'update']);

function quantity(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G|m)?$/.exec(text);
  if (m === null) throw new Error(`not a quantity: ${text}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9, m: 1e-3 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

test('deploy/ has a kustomization at its root, the base and the example overlay', () => {
  expect(kustomizationDirs(DEPLOY).map((d) => relative(DEPLOY, d).split(sep).join('/'))).toEqual(Object.keys(IMAGES).sort());
});

describe.each(Object.keys(IMAGES).map((dir) => [dir === '' ? 'deploy/' : `deploy/${dir}/`, dir]))('%s', (_label, dir) => {
  let objects: readonly Obj[];
  let deployment: Obj;
  let pod: Obj;
  let container: Obj;
  let env: Map<string, Obj>;

  const find = (kind: string, name?: string): Obj[] =>
    objects.filter((o) => o['kind'] === kind && (name === undefined || o['metadata']['name'] === name));
  const envValue = (name: string): string => {
    const entry = env.get(name);
    if (entry === undefined || typeof entry['value'] !== 'string') throw new Error(`${name} has no literal value`);
    return entry['value'];
  };
  /** The volume mounted at the deepest mount path that contains `path`, and `path` inside it. */
  const mountOf = (path: string): { volume: Obj; inside: string } | null => {
    const mounts = (container['volumeMounts'] as Obj[]).filter((m) => path.startsWith(`${m['mountPath']}/`));
    const mount = mounts.sort((a, b) => b['mountPath'].length - a['mountPath'].length)[0];
    if (mount === undefined) return null;
    const volume = (pod['volumes'] as Obj[]).find((v) => v['name'] === mount['name']);
    if (volume === undefined) throw new Error(`mount ${mount['name']} has no volume`);
    return { volume, inside: posix.relative(mount['mountPath'], path) };
  };
  /** Where a file path is served from: a Secret's key, a ConfigMap's key, or nothing. */
  const sourceOf = (path: string): string => {
    const mount = mountOf(path);
    if (mount === null) return 'not mounted';
    const { volume, inside } = mount;
    if (volume['secret'] !== undefined) {
      const items = volume['secret']['items'] as Obj[] | undefined;
      const item = items?.find((i) => i['path'] === inside);
      return item === undefined
        ? `no key of Secret ${volume['secret']['secretName']}`
        : `Secret ${volume['secret']['secretName']} key ${item['key']}`;
    }
    if (volume['configMap'] !== undefined) {
      const configMap = find('ConfigMap', volume['configMap']['name'])[0];
      return configMap?.['data']?.[inside] === undefined ? 'no key of the ConfigMap' : `ConfigMap key ${inside}`;
    }
    return `volume ${volume['name']}`;
  };

  beforeAll(() => {
    if (!KUBECTL) return;
    objects = builtObjects(`${DEPLOY}${dir}`) as readonly Obj[];
    deployment = find('Deployment')[0]!;
    pod = deployment['spec']['template']['spec'];
    container = pod['containers'][0];
    env = new Map((container['env'] as Obj[]).map((e) => [e['name'] as string, e]));
  });

  describeBuilt('objects', () => {
    test('one of each, every namespaced one in the namespace it creates', () => {
      expect(objects.map((o) => o['kind']).sort()).toEqual(
        [
          'ClusterRole',
          'ClusterRoleBinding',
          'ConfigMap',
          'Deployment',
          'Namespace',
          'NetworkPolicy',
          'PodDisruptionBudget',
          'Role',
          'RoleBinding',
          'Service',
          'ServiceAccount',
        ].sort(),
      );
      expect(find('Namespace')[0]!['metadata']['name']).toBe(NAMESPACE);
      const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
      expect(
        objects.filter((o) => !clusterScoped.has(o['kind']) && o['metadata']['namespace'] !== NAMESPACE).map((o) => o['kind']),
      ).toEqual([]);
    });

    test('the image is the release of this version', () => {
      expect(pod['containers'].map((c: Obj) => c['image'])).toEqual([IMAGES[dir]]);
    });
  });

  describeBuilt('RBAC', () => {
    test('every rule of every role only reads, except the Lease rules: get, create, update on leases in its namespace', () => {
      const problems: string[] = [];
      for (const role of [...find('ClusterRole'), ...find('Role')]) {
        for (const rule of role['rules'] as Obj[]) {
          const where = `${role['kind']} ${role['metadata']['name']}: ${JSON.stringify(rule)}`;
          const lists = [rule['apiGroups'], rule['resources'], rule['verbs'], rule['resourceNames'] ?? []].flat();
          if (lists.includes('*') || rule['nonResourceURLs'] !== undefined) problems.push(`wildcard or non-resource URL in ${where}`);
          const isLease =
            JSON.stringify(rule['apiGroups']) === '["coordination.k8s.io"]' && JSON.stringify(rule['resources']) === '["leases"]';
          if (isLease) {
            if (role['kind'] !== 'Role' || role['metadata']['namespace'] !== NAMESPACE)
              problems.push(`Lease access outside a Role in ${NAMESPACE}: ${where}`);
            if (!(rule['verbs'] as string[]).every((v) => LEASE_VERBS.has(v)))
              problems.push(`Lease verbs beyond get, create, update: ${where}`);
          } else if (!(rule['verbs'] as string[]).every((v) => READ_VERBS.has(v))) {
            problems.push(`a write: ${where}`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    test('the Leases: get, create and update in its namespace, unnamed, since each repository a run holds has its own (src/cluster/run-lock.ts)', () => {
      const [leaseNamespace] = envValue('POLICY_RECOMMENDER_LEASE').split('/');
      expect(leaseNamespace).toBe(NAMESPACE);
      const rules = find('Role').flatMap((r) => r['rules'] as Obj[]);
      expect(rules).toEqual([{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }]);
    });

    test('the cluster role reads what the App lists: namespaces, workloads, Kubernetes and Calico policies', () => {
      const granted = find('ClusterRole').flatMap((r) =>
        (r['rules'] as Obj[]).flatMap((rule) =>
          (rule['apiGroups'] as string[]).flatMap((g) => (rule['resources'] as string[]).map((res) => `${res}.${g}`.replace(/\.$/, ''))),
        ),
      );
      const calico = [
        'tiers',
        'networkpolicies',
        'globalnetworkpolicies',
        'stagednetworkpolicies',
        'stagedglobalnetworkpolicies',
        'stagedkubernetesnetworkpolicies',
        'networksets',
        'globalnetworksets',
      ];
      expect(granted).toEqual(
        expect.arrayContaining([
          'namespaces',
          ...['deployments', 'statefulsets', 'daemonsets'].map((r) => `${r}.apps`),
          ...['jobs', 'cronjobs'].map((r) => `${r}.batch`),
          'networkpolicies.networking.k8s.io',
          ...calico.map((r) => `${r}.projectcalico.org`),
        ]),
      );
    });

    test("Calico's release, network sets and IP pools: get and list in both of Calico's API groups, the ClusterInformation by name", () => {
      // What src/cluster/cluster-context.ts reads: projectcalico.org/v3, else crd.projectcalico.org/v1.
      const groups = ['projectcalico.org', 'crd.projectcalico.org'];
      const rules = find('ClusterRole').flatMap((r) => r['rules'] as Obj[]);
      const grants = (group: string, resource: string) =>
        rules.filter((rule) => (rule['apiGroups'] as string[]).includes(group) && (rule['resources'] as string[]).includes(resource));
      for (const group of groups) {
        for (const resource of ['networksets', 'globalnetworksets', 'ippools']) {
          expect(grants(group, resource).map((rule) => [rule['verbs'], rule['resourceNames']])).toEqual([[['get', 'list'], undefined]]);
        }
        expect(grants(group, 'clusterinformations').map((rule) => [rule['verbs'], rule['resourceNames']])).toEqual([
          [['get'], ['default']],
        ]);
      }
      // Nothing else of crd.projectcalico.org: the storage of every other Calico object stays unreadable.
      const storage = rules.filter((rule) => (rule['apiGroups'] as string[]).includes('crd.projectcalico.org'));
      expect(new Set(storage.flatMap((rule) => rule['resources'] as string[]))).toEqual(
        new Set(['networksets', 'globalnetworksets', 'ippools', 'clusterinformations']),
      );
    });

    test('both bindings give their role to the service account the pods run as', () => {
      const account = pod['serviceAccountName'];
      expect(find('ServiceAccount', account)).toHaveLength(1);
      for (const binding of [...find('ClusterRoleBinding'), ...find('RoleBinding')]) {
        expect(binding['subjects']).toEqual([{ kind: 'ServiceAccount', name: account, namespace: NAMESPACE }]);
        expect(find(binding['roleRef']['kind'], binding['roleRef']['name'])).toHaveLength(1);
      }
    });
  });

  describeBuilt('the Deployment', () => {
    test('two replicas, POD_NAME from the downward API, listening on all addresses on the probed port', () => {
      expect(deployment['spec']['replicas']).toBe(2);
      expect(env.get('POD_NAME')).toEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
      expect(envValue('HOST')).toBe('0.0.0.0');
      expect(container['ports']).toEqual([{ name: 'http', containerPort: Number(envValue('PORT')) }]);
      expect(container['livenessProbe']['httpGet']).toEqual({ path: '/healthz', port: 'http' });
      expect(container['readinessProbe']['httpGet']).toEqual({ path: '/readyz', port: 'http' });
      expect(container['startupProbe']['httpGet']).toEqual({ path: '/healthz', port: 'http' });
    });

    test('the pod meets the restricted Pod Security Standard, with a read-only root filesystem', () => {
      expect(pod['securityContext']).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod['securityContext']['runAsUser']).toBeGreaterThan(0);
      expect(container['securityContext']).toEqual({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod['hostNetwork'] ?? false).toBe(false);
      const allowed = ['configMap', 'secret', 'emptyDir', 'projected', 'downwardAPI'];
      expect((pod['volumes'] as Obj[]).filter((v) => !allowed.some((k) => v[k] !== undefined)).map((v) => v['name'])).toEqual([]);
      expect(find('Namespace')[0]!['metadata']['labels']['pod-security.kubernetes.io/enforce']).toBe('restricted');
    });

    test('/tmp, the only writable path, is an emptyDir', () => {
      const tmp = mountOf('/tmp/x');
      expect(tmp?.volume['emptyDir']).toBeDefined();
      const writable = (container['volumeMounts'] as Obj[]).filter((m) => m['readOnly'] !== true).map((m) => m['mountPath']);
      expect(writable).toEqual(['/tmp']);
    });

    test('resources fit the measured peak, with the heap limited below the memory limit', () => {
      const { requests, limits } = container['resources'];
      expect(quantity(requests['memory'])).toBeGreaterThan(MEASURED_PEAK_BYTES);
      expect(quantity(limits['memory'])).toBeGreaterThanOrEqual(2 * MEASURED_PEAK_BYTES);
      expect(quantity(requests['cpu'])).toBeGreaterThan(0);
      expect(quantity(limits['cpu'])).toBeGreaterThanOrEqual(1);
      const heap = /--max-old-space-size=(\d+)/.exec(envValue('NODE_OPTIONS'));
      expect(Number(heap?.[1]) * 2 ** 20).toBeLessThan(quantity(limits['memory']));
      expect(Number(heap?.[1]) * 2 ** 20).toBeGreaterThan(MEASURED_PEAK_BYTES);
    });

    test('every mount has its volume and every volume is mounted', () => {
      const mounted = (container['volumeMounts'] as Obj[]).map((m) => m['name']).sort();
      expect((pod['volumes'] as Obj[]).map((v) => v['name']).sort()).toEqual(mounted);
    });

    test('the App’s credentials: the private key is a file of the GitHub Secret, APP_ID and WEBHOOK_SECRET its keys', () => {
      expect(sourceOf(envValue('PRIVATE_KEY_PATH'))).toBe('Secret policy-recommender-github key private-key.pem');
      for (const name of ['APP_ID', 'WEBHOOK_SECRET']) {
        expect(env.get(name)?.['valueFrom']?.['secretKeyRef']?.['name']).toBe('policy-recommender-github');
        expect(env.get(name)?.['valueFrom']?.['secretKeyRef']?.['optional']).toBeUndefined();
      }
      const github = (pod['volumes'] as Obj[]).find((v) => v['secret']?.['secretName'] === 'policy-recommender-github')!;
      expect(github['secret']['optional']).toBeUndefined();
    });

    describe('the deployment configuration', () => {
      let config: DeploymentConfig;
      beforeAll(() => {
        const path = envValue('POLICY_RECOMMENDER_DEPLOYMENT');
        const mount = mountOf(path)!;
        const configMap = find('ConfigMap', mount.volume['configMap']['name'])[0]!;
        config = validateDeploymentConfig(parseYaml(configMap['data'][mount.inside] as string), path);
      });

      test('POLICY_RECOMMENDER_DEPLOYMENT is a key of the mounted ConfigMap, and it validates', () => {
        expect(sourceOf(envValue('POLICY_RECOMMENDER_DEPLOYMENT'))).toMatch(/^ConfigMap key /);
        expect(Object.keys(config.clusters).length).toBeGreaterThan(0);
      });

      test('every file it names is a key of a mounted Secret, and those Secrets are optional', () => {
        const files = Object.values(config.clusters).flatMap((c) => {
          const flows = c.flows;
          const own =
            flows.source === 'goldmane'
              ? [flows.goldmane.caFile, flows.goldmane.certFile, flows.goldmane.keyFile]
              : flows.source === 'elasticsearch'
                ? [flows.elasticsearch.caFile, flows.elasticsearch.passwordFile, flows.elasticsearch.apiKeyFile]
                : flows.source === 'hubble'
                  ? [flows.hubble.caFile, flows.hubble.certFile, flows.hubble.keyFile]
                  : flows.file.paths;
          return [...own, c.kubernetes !== undefined && 'kubeconfig' in c.kubernetes ? c.kubernetes.kubeconfig : undefined].filter(
            (f) => f !== undefined,
          );
        });
        expect(files.length).toBeGreaterThan(0);
        expect(files.map((f) => [f, sourceOf(f)]).filter(([, source]) => !source!.startsWith('Secret '))).toEqual([]);
        const secrets = new Set(files.map((f) => mountOf(f)!.volume));
        expect([...secrets].filter((v) => v['secret']['optional'] !== true).map((v) => v['name'])).toEqual([]);
        expect([...secrets].every((v) => v['secret']['defaultMode'] === 0o440)).toBe(true);
      });

      test('the NetworkPolicy lets the pod reach every flow source it names, on its port', () => {
        const policy = find('NetworkPolicy')[0]!;
        const allowedPorts = (policy['spec']['egress'] as Obj[]).flatMap((r) => (r['ports'] as Obj[]).map((p) => p['port']));
        const ports = Object.values(config.clusters).flatMap((c) =>
          c.flows.source === 'goldmane'
            ? [Number(c.flows.goldmane.address.split(':').pop())]
            : c.flows.source === 'elasticsearch'
              ? [Number(new URL(c.flows.elasticsearch.node).port || 443)]
              : [],
        );
        expect(ports.filter((p) => !allowedPorts.includes(p))).toEqual([]);
      });
    });
  });

  describeBuilt('Service, NetworkPolicy and scraping', () => {
    test('the Service sends port 80 (webhooks) and its metrics port to the pods’ port, selecting them', () => {
      const service = find('Service')[0]!;
      const labels = deployment['spec']['template']['metadata']['labels'];
      expect(Object.entries(service['spec']['selector']).every(([k, v]) => labels[k] === v)).toBe(true);
      expect(service['spec']['ports']).toEqual([
        { name: 'http', port: 80, targetPort: 'http' },
        { name: 'metrics', port: 3000, targetPort: 'http' },
      ]);
    });

    test('Prometheus scrapes each pod on its port, at /metrics', () => {
      expect(deployment['spec']['template']['metadata']['annotations']).toEqual({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(container['ports'][0]['containerPort']),
        'prometheus.io/path': '/metrics',
      });
    });

    test('the NetworkPolicy selects the pods: ingress to port 3000 only; egress only DNS, GitHub, Goldmane, Elasticsearch and the API', () => {
      const policy = find('NetworkPolicy')[0]!;
      const labels = deployment['spec']['template']['metadata']['labels'];
      expect(Object.entries(policy['spec']['podSelector']['matchLabels']).every(([k, v]) => labels[k] === v)).toBe(true);
      expect(policy['spec']['policyTypes']).toEqual(['Ingress', 'Egress']);
      expect(policy['spec']['ingress']).toEqual([{ ports: [{ protocol: 'TCP', port: 3000 }] }]);

      const rules = (policy['spec']['egress'] as Obj[]).map((r) => ({
        ports: (r['ports'] as Obj[])
          .map((p) => `${p['protocol']}/${p['port']}`)
          .sort()
          .join(' '),
        to: (r['to'] as Obj[]).map(
          (t) =>
            t['namespaceSelector']?.['matchLabels']?.['kubernetes.io/metadata.name'] ??
            `${t['ipBlock']['cidr']}${t['ipBlock']['except'] ? ' except private' : ''}`,
        ),
      }));
      expect(rules).toEqual([
        { ports: 'TCP/53 UDP/53', to: ['kube-system'] },
        { ports: 'TCP/443', to: ['0.0.0.0/0 except private', '::/0 except private'] },
        { ports: 'TCP/7443', to: ['calico-system'] },
        { ports: 'TCP/9200', to: ['tigera-elasticsearch'] },
        { ports: 'TCP/443 TCP/6443', to: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] },
      ]);
      const publicRule = (policy['spec']['egress'] as Obj[])[1]!;
      expect(publicRule['to'][0]['ipBlock']['except']).toEqual(expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']));
    });
  });
});
