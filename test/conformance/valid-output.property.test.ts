// Nothing we write is invalid, whatever the input (issue 11 point 9; issue 16 point 2 for Cilium). For any flow-log lines our
// boundary accepts (src/flows/calico-flow-log.ts), any network sets the cluster boundary accepts
// (src/cluster/calico-objects.ts) and any configuration, every object a run writes, on a fresh tree
// and again on the tree it wrote (the engine's memory), and the same object enforced, is one the
// cluster accepts: Calico objects by the oracle of the release the run was configured for
// (test/support/crd-validator.ts: the CRDs, their CEL rules and libcalico-go's validator, including
// 3.33's limits on rules, nets, ports and selector length), Kubernetes NetworkPolicies by
// test/support/kubernetes-validator.ts, Cilium policies (flavour cilium) by src/cilium/parse-policy.ts.
// The inputs lean on the edges: port 0, long label keys and
// values, dotted and 63-character names, many labels, network sets of hundreds of nets, every
// protocol form Felix writes, IPv4 and IPv6.

import { beforeAll, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { parseCiliumPolicy } from '../../src/cilium/parse-policy.ts';
import { networkSetFrom } from '../../src/cluster/calico-objects.ts';
import { ENFORCED_KINDS, enforcePolicyInFile, type StagedKind } from '../../src/engine/enforce.ts';
import type { NetworkSetFacts } from '../../src/engine/network-sets.ts';
import { parseCalicoFlowLog } from '../../src/flows/calico-flow-log.ts';
import type { FlowRecord } from '../../src/flows/record.ts';
import { CALICO_VERSIONS, type CalicoVersion, validateCalicoObject } from '../support/crd-validator.ts';
import { config, HOUR, loadTemplate, NOW, run } from '../support/engine.ts';
import { validateKubernetesNetworkPolicy } from '../support/kubernetes-validator.ts';

beforeAll(async () => {
  await loadTemplate();
});

type Obj = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Inputs

const alnum = 'abcdefghijklmnopqrstuvwxyz0123456789';
const lowerChar = fc.constantFrom(...alnum.split(''));
/** A DNS label, short or up to the 63-character limit. */
const dnsLabel = fc.oneof(
  fc.constantFrom('shop', 'pay', 'kube-system', 'default', 'a'),
  fc
    .tuple(lowerChar, fc.array(fc.constantFrom(...`${alnum}-`.split('')), { maxLength: 61 }), lowerChar)
    .map(([a, mid, z]) => `${a}${mid.join('')}${z}`),
);
/** A DNS subdomain (dots allowed), as workload and network-set names may be. */
const dnsSubdomain = fc.array(dnsLabel, { minLength: 1, maxLength: 4 }).map(
  (parts) =>
    parts
      .join('.')
      .slice(0, 253)
      .replace(/[-.]+$/, '') || 'x',
);
const labelName = fc
  .tuple(
    fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.split('')),
    fc.array(fc.constantFrom(...'abcxyzAZ09-_.'.split('')), { maxLength: 61 }),
    lowerChar,
  )
  .map(([a, mid, z]) => `${a}${mid.join('')}${z}`);
const labelKey = fc.oneof(
  fc.constantFrom('app', 'tier', 'version', 'app.kubernetes.io/name', 'k8s-app'),
  labelName,
  fc.tuple(dnsSubdomain, labelName).map(([prefix, name]) => `${prefix}/${name}`),
);
const labelValue = fc.oneof(fc.constantFrom('', 'web', 'db', 'v1.2'), labelName);
const longName = fc.stringMatching(/^[a-z][a-z0-9]{40,61}[a-z]$/);
const labelList = (min: number, max: number, key: fc.Arbitrary<string>, value: fc.Arbitrary<string>) =>
  fc
    .uniqueArray(fc.tuple(key, value), { minLength: min, maxLength: max, selector: ([k]) => k })
    .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`));
/** Few labels, or many long ones (a selector of them is longer than Calico accepts). */
const labels = fc.oneof(
  { weight: 4, arbitrary: labelList(0, 6, labelKey, labelValue) },
  {
    weight: 1,
    arbitrary: labelList(
      8,
      20,
      longName.map((name) => `example.com/${name}`),
      longName,
    ),
  },
);

const ipv4 = fc.oneof(fc.constantFrom('10.0.0.7', '192.168.1.1', '172.16.5.4', '8.8.8.8', '1.1.1.1'), fc.ipV4());
const ipv6 = fc.oneof(fc.constantFrom('fd00::1', '2001:db8::1', '::1'), fc.ipV6());
const ip = fc.oneof(ipv4, ipv6);

interface EndpointFields {
  type: string;
  namespace: string;
  name_aggr: string;
  ip: string | null;
  labels: readonly string[];
}

/** The aggregated pods of a Deployment or a DaemonSet, with the labels their controller adds, or of anything else. */
const workloadPods = fc
  .record({
    name: dnsSubdomain,
    hash: fc.stringMatching(/^[a-z0-9]{5,10}$/),
    kind: fc.constantFrom('Deployment', 'DaemonSet', 'other'),
    labels,
  })
  .map(({ name, hash, kind, labels }) =>
    kind === 'Deployment'
      ? { name_aggr: `${name}-${hash}-*`, labels: [...labels, `pod-template-hash=${hash}`] }
      : kind === 'DaemonSet'
        ? { name_aggr: `${name}-*`, labels: [...labels, `controller-revision-hash=${hash}`] }
        : { name_aggr: `${name}-*`, labels },
  );

const endpoint = (
  namespaces: readonly string[],
  sets: readonly { name: string; namespace: string | null }[],
): fc.Arbitrary<EndpointFields> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .record({ type: fc.constant('wep'), namespace: fc.constantFrom(...namespaces), pods: workloadPods, ip: fc.option(ip) })
        .map(({ pods, ...rest }) => ({ ...rest, ...pods })),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        type: fc.constant('net'),
        namespace: fc.constant('-'),
        name_aggr: fc.constantFrom('pub', 'pvt', '-'),
        ip: fc.option(ip),
        labels: fc.constant([]),
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({
          type: fc.constant('ns'),
          set:
            sets.length > 0
              ? fc.oneof(fc.constantFrom(...sets), fc.record({ name: dnsSubdomain, namespace: fc.option(dnsLabel) }))
              : fc.record({ name: dnsSubdomain, namespace: fc.option(dnsLabel) }),
          ip: fc.option(ip),
          labels,
        })
        .map(({ set, ...rest }) => ({ ...rest, namespace: set.namespace ?? '-', name_aggr: set.name })),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        type: fc.constant('hep'),
        namespace: fc.constant('-'),
        name_aggr: dnsLabel,
        ip: fc.option(ip),
        labels: fc.constant([]),
      }),
    },
  );

const protocol = fc.oneof(
  fc.constantFrom('tcp', 'udp', 'sctp', 'icmp', 'icmp6', 'ipip', 'esp', 'TCP', '6', '17'),
  fc.integer({ min: 1, max: 255 }),
);
const port = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 0, 53, 80, 443, 5432, 65535) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 65535 }) },
  { weight: 1, arbitrary: fc.constant(null) },
);
const domain = fc.oneof(
  fc.constantFrom('api.stripe.com', 'example.org'),
  fc.array(dnsLabel, { minLength: 2, maxLength: 4 }).map((p) =>
    p
      .join('.')
      .slice(0, 253)
      .replace(/[-.]+$/, ''),
  ),
);

/** One flow-log line (the Enterprise JSON format) as a plain object. */
const flowLine = (namespaces: readonly string[], sets: readonly { name: string; namespace: string | null }[]) =>
  fc
    .record({
      source: endpoint(namespaces, sets),
      dest: endpoint(namespaces, sets),
      reporter: fc.constantFrom('src', 'dst'),
      action: fc.constantFrom('allow', 'deny'),
      proto: protocol,
      dest_port: port,
      ago: fc.integer({ min: 60, max: 20 * HOUR }),
      num_flows: fc.integer({ min: 1, max: 1000 }),
      domains: fc.option(fc.array(domain, { minLength: 1, maxLength: 3 })),
      service: fc.option(
        fc.record({
          name: dnsLabel,
          namespace: fc.constantFrom(...namespaces),
          port: fc.oneof(dnsLabel, fc.constant('*')),
          num: fc.integer({ min: 0, max: 65535 }),
        }),
      ),
      trace: fc.constantFrom('profile', 'none', 'other'),
    })
    .map((f) => {
      const reporting = (f.reporter === 'src' ? f.source : f.dest).namespace;
      const all =
        f.trace === 'none'
          ? null
          : f.trace === 'other'
            ? ['0|platform|platform.allow-all|allow|0']
            : [`0|__PROFILE__|__PROFILE__.kns.${reporting}|${f.action}|0`];
      const side = (prefix: 'source' | 'dest', e: EndpointFields) => ({
        [`${prefix}_type`]: e.type,
        [`${prefix}_namespace`]: e.namespace,
        [`${prefix}_name_aggr`]: e.name_aggr,
        [`${prefix}_name`]: '-',
        [`${prefix}_ip`]: e.ip,
        ...(e.labels.length > 0 ? { [`${prefix}_labels`]: { labels: e.labels } } : {}),
      });
      return {
        start_time: NOW - f.ago,
        end_time: NOW - f.ago + 300,
        ...side('source', f.source),
        ...side('dest', f.dest),
        proto: f.proto,
        dest_port: f.dest_port,
        action: f.action,
        reporter: f.reporter,
        num_flows: f.num_flows,
        ...(f.domains === null ? {} : { dest_domains: f.domains }),
        ...(f.service === null
          ? {}
          : {
              dest_service_name: f.service.name,
              dest_service_namespace: f.service.namespace,
              dest_service_port: f.service.port,
              dest_service_port_num: f.service.num,
            }),
        ...(all === null ? {} : { policies: { all_policies: all, enforced_policies: all, pending_policies: all } }),
      };
    });

/** A NetworkSet or GlobalNetworkSet as the cluster's API returns it. */
const clusterSet = fc.record({
  name: dnsSubdomain,
  namespace: fc.option(dnsLabel),
  // No labels: a rule can only approximate the set by its nets.
  labels: fc.oneof(fc.constant({}), fc.dictionary(labelKey, labelValue, { maxKeys: 20 })),
  nets: fc.oneof(
    fc.array(
      fc.oneof(
        ipv4.map((a) => `${a}/32`),
        ipv6.map((a) => `${a}/128`),
        fc.constantFrom('10.0.0.0/8', '2001:db8::/32', 'not-a-net'),
      ),
      { maxLength: 8 },
    ),
    // Threat feeds: hundreds of nets, more than a rule holds.
    fc.integer({ min: 200, max: 600 }).map((n) => Array.from({ length: n }, (_, i) => `198.${(i >> 8) & 255}.${i & 255}.0/24`)),
  ),
});

const flavor = fc.constantFrom('calico', 'calico-enterprise', 'kubernetes', 'cilium');

const scenario = fc
  .record({
    namespaces: fc.uniqueArray(dnsLabel, { minLength: 1, maxLength: 4 }),
    sets: fc.uniqueArray(clusterSet, { maxLength: 4, selector: (s) => `${s.namespace ?? ''}/${s.name}` }),
    flavor,
    calicoVersion: fc.constantFrom(...CALICO_VERSIONS),
    ipFamilies: fc.constantFrom(null, ['IPv4'], ['IPv6'], ['IPv4', 'IPv6']),
    maxRules: fc.integer({ min: 1, max: 20 }),
    microsegmentation: fc.boolean(),
  })
  .chain((s) => {
    const setRefs = s.sets.map(({ name, namespace }) => ({ name, namespace }));
    const lines = fc.array(flowLine(s.namespaces, setRefs), { minLength: 1, maxLength: 25 });
    return fc.record({ first: lines, second: lines }).map((runs) => ({ ...s, ...runs }));
  });

// ---------------------------------------------------------------------------------------------
// Boundaries and oracle

function accepted(lines: readonly Obj[]): FlowRecord[] {
  return lines.flatMap((line) => {
    const parsed = parseCalicoFlowLog(JSON.stringify(line));
    return parsed.ok ? [parsed.record] : [];
  });
}

function clusterSets(
  sets: readonly { name: string; namespace: string | null; labels: Record<string, string>; nets: string[] }[],
): NetworkSetFacts[] {
  return sets.flatMap((s) => {
    const global = s.namespace === null;
    const item = {
      apiVersion: 'projectcalico.org/v3',
      kind: global ? 'GlobalNetworkSet' : 'NetworkSet',
      metadata: { name: s.name, ...(global ? {} : { namespace: s.namespace }), labels: s.labels },
      spec: { nets: s.nets },
    };
    const read = networkSetFrom(item, { group: 'projectcalico.org', version: 'v3' }, global);
    return 'set' in read ? [{ name: read.set.name, namespace: read.set.namespace, labels: read.set.labels, nets: read.set.nets }] : [];
  });
}

/** Calico Enterprise's domain rules are not in open-source Calico's CRDs: the one difference allowed. */
const DOMAINS_UNKNOWN = /^\/spec\/egress\/\d+\/destination: unknown field "domains"$/;

/** `<path> <kind> <name>: <error>` for each object of the text a cluster of `version` refuses. */
function refusedIn(path: string, text: string, version: CalicoVersion, enterprise: boolean): string[] {
  const out: string[] = [];
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as Obj | null;
    if (obj === null || typeof obj !== 'object') continue;
    const apiVersion = obj['apiVersion'];
    const errors =
      typeof apiVersion === 'string' && apiVersion.startsWith('projectcalico.org/')
        ? validateCalicoObject(obj, { calicoVersion: version }).filter((e) => !(enterprise && DOMAINS_UNKNOWN.test(e)))
        : apiVersion === 'networking.k8s.io/v1'
          ? validateKubernetesNetworkPolicy(obj)
          : apiVersion === 'cilium.io/v2'
            ? ciliumIssues(obj)
            : [];
    const name = (obj['metadata'] as Obj | undefined)?.['name'];
    out.push(...errors.map((e) => `${path} ${String(obj['kind'])} ${String(name)}: ${e}`));
  }
  return out;
}

/** What Cilium's CRD and validation refuse in a Cilium policy (src/cilium/parse-policy.ts, v1.16.0 and main). */
function ciliumIssues(obj: Obj): string[] {
  const parsed = parseCiliumPolicy(obj);
  return parsed.ok ? [] : parsed.issues.map((i) => `${i.path}: ${i.message}`);
}

/** Every staged policy of the text, enforced as its enforce PR would (engine/enforce.ts). */
function enforcedForms(path: string, text: string): string[] {
  const out: string[] = [];
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as Obj | null;
    const kind = obj?.['kind'];
    if (typeof kind !== 'string' || !(kind in ENFORCED_KINDS)) continue;
    const metadata = obj!['metadata'] as Obj;
    const enforced = enforcePolicyInFile(text, path, {
      kind: kind as StagedKind,
      name: String(metadata['name']),
      namespace: (metadata['namespace'] as string | undefined) ?? null,
    });
    if (enforced !== null) out.push(enforced);
  }
  return out;
}

test('every object written for any accepted input validates on the release the run was configured for, staged and enforced', async () => {
  let policiesChecked = 0;
  let ciliumChecked = 0;
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const enterprise = s.flavor === 'calico-enterprise';
      const cfg = config({
        flavor: s.flavor,
        calicoVersion: s.calicoVersion,
        ipFamilies: s.ipFamilies,
        maxRules: s.maxRules,
        ...(s.microsegmentation && s.flavor !== 'kubernetes'
          ? { microsegmentation: { enabled: true, select: { selector: 'all()' } } }
          : {}),
      });
      const networkSets = clusterSets(s.sets);
      const first = await run(accepted(s.first), { config: cfg, networkSets });
      const second = await run(accepted(s.second), { config: cfg, networkSets, tree: first.tree, now: NOW + HOUR });
      const refused: string[] = [];
      for (const changes of [first.changes, second.changes]) {
        for (const [path, text] of changes) {
          refused.push(...refusedIn(path, text, s.calicoVersion, enterprise));
          if (text.includes('apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy')) ciliumChecked++;
          for (const enforced of enforcedForms(path, text)) {
            policiesChecked++;
            refused.push(...refusedIn(`${path} (enforced)`, enforced, s.calicoVersion, enterprise).map((e) => `enforced: ${e}`));
          }
        }
      }
      expect(refused).toEqual([]);
    }),
    // Shrinking a failure can take many minutes: past the limit the smallest failing case so far is reported.
    { numRuns: Number(process.env['PROPERTY_RUNS'] ?? 150), interruptAfterTimeLimit: 90_000 },
  );
  // The inputs reach the engine: policies were written and checked, not only skipped lines.
  expect(policiesChecked).toBeGreaterThan(100);
  expect(ciliumChecked).toBeGreaterThan(20);
}, 180_000);
