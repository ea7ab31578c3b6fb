// What the recommender writes must be accepted by a cluster: every Calico object validates against
// Calico's v3 CRDs (vendored in test/fixtures/calico-crds) plus the CEL and validator rules ajv cannot run, and the
// `kubernetes` flavour writes well-formed networking.k8s.io/v1 NetworkPolicies.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import type { Flavor } from '../../src/config/recommendation-config.ts';
import { enforcePolicyInFile } from '../../src/engine/enforce.ts';
import type { Plan } from '../../src/plan/plan.ts';
import { loadTree, TEMPLATE_DIR } from '../../src/tree/fs-tree.ts';
import {
  CALICO_VERSIONS,
  type CalicoVersion,
  CRD_DIR,
  calicoKinds,
  SHARED_CRD_DIR,
  validateCalicoObject,
} from '../support/crd-validator.ts';
import { validateKubernetesNetworkPolicy } from '../support/kubernetes-validator.ts';
import {
  ALL_FLAVORS,
  isCalico,
  isKustomization,
  type ManifestObject,
  makeTempDir,
  namespacePolicyId,
  objectId,
  parseManifests,
  planFromFlows,
  removeDir,
  SCENARIOS,
  type ScenarioName,
  TEMPLATE_OBJECTS,
  writeScenarioFlows,
} from '../support/recommend-run.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The one failure Calico Enterprise output may have against open-source CRDs. */
const DOMAINS_UNKNOWN = /^\/spec\/egress\/\d+\/destination: unknown field "domains"$/;

const where = (o: ManifestObject): string => `${o.path}#${o.index} ${objectId(o.value)}`;

/** Errors on any supported Calico release, each prefixed with the release. */
const onEveryRelease = (value: Obj): string[] => onReleases(CALICO_VERSIONS)(value);
const onReleases =
  (versions: readonly CalicoVersion[]) =>
  (value: Obj): string[] =>
    versions.flatMap((version) => validateCalicoObject(value, { calicoVersion: version }).map((e) => `${version} ${e}`));
/**
 * Output is named for the cluster's release (src/engine/naming.ts): planned for 3.31, it must hold
 * on 3.30 and 3.31 (the `<tier>.` prefix); planned for the default release, on 3.32 and later.
 */
const GENERATIONS: readonly { planned: CalicoVersion | undefined; validOn: readonly CalicoVersion[] }[] = [
  { planned: '3.31', validOn: ['3.30', '3.31'] },
  { planned: undefined, validOn: ['3.32', '3.33', 'main'] },
];
const DOMAINS_UNKNOWN_ANY_RELEASE = new RegExp(`^\\S+ ${DOMAINS_UNKNOWN.source.slice(1)}`);

/** path#index id -> errors, only for objects with errors (so a failure shows what is wrong where). */
function errorsByObject(objects: readonly ManifestObject[], validate: (value: Obj) => string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const o of objects) {
    const errors = validate(o.value);
    if (errors.length > 0) out[where(o)] = errors;
  }
  return out;
}

function rulesOf(value: Obj): { direction: 'ingress' | 'egress'; rule: Obj }[] {
  const spec = value['spec'];
  if (!isObj(spec)) return [];
  return (['ingress', 'egress'] as const).flatMap((direction) => {
    const rules = spec[direction];
    return Array.isArray(rules) ? rules.filter(isObj).map((rule) => ({ direction, rule })) : [];
  });
}

/** A deep copy without any `domains` field in rule sources and destinations. */
function withoutDomains(value: Obj): Obj {
  const copy = structuredClone(value);
  for (const { rule } of rulesOf(copy)) {
    for (const side of ['source', 'destination']) {
      const entity = rule[side];
      if (isObj(entity)) delete entity['domains'];
    }
  }
  return copy;
}

/** The per-namespace policies a plan must have written. */
function expectedPolicies(plan: Plan, flavor: Flavor): string[] {
  return plan.namespaces
    .filter((r) => r.outcome === 'created')
    .map((r) => namespacePolicyId(flavor, r.namespace))
    .sort();
}

test('the Calico CRDs are loaded for every kind we validate', () => {
  const kinds = calicoKinds();
  for (const kind of [
    'Tier',
    'StagedNetworkPolicy',
    'StagedGlobalNetworkPolicy',
    'NetworkPolicy',
    'GlobalNetworkPolicy',
    'NetworkSet',
    'GlobalNetworkSet',
  ]) {
    expect({ kind, loaded: kinds.has(kind), from: CRD_DIR }).toEqual({ kind, loaded: true, from: CRD_DIR });
    expect(kinds.get(kind)!.apiVersion).toBe('projectcalico.org/v3');
  }
});

test.each(CALICO_VERSIONS.map((v) => [v]))('the CRDs of Calico %s are vendored for every kind we validate', (version) => {
  const kinds = calicoKinds(version);
  const expected = [
    'GlobalNetworkPolicy',
    'GlobalNetworkSet',
    'NetworkPolicy',
    'NetworkSet',
    'StagedGlobalNetworkPolicy',
    'StagedKubernetesNetworkPolicy',
    'StagedNetworkPolicy',
    'Tier',
  ];
  expect([...kinds.keys()].sort()).toEqual(expected);
  // Up to 3.31 projectcalico.org/v3 is stored as crd.projectcalico.org/v1, whose CRDs give the shape.
  const groups = new Set([...kinds.values()].map((k) => k.apiVersion));
  expect([...groups]).toEqual([version === '3.30' || version === '3.31' ? 'crd.projectcalico.org/v1' : 'projectcalico.org/v3']);
});

(existsSync(SHARED_CRD_DIR) ? test : test.skip)('the vendored CRDs are identical to the shared copy beside the checkout', () => {
  const yaml = (dir: string) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
  expect(yaml(CRD_DIR)).toEqual(yaml(SHARED_CRD_DIR));
  for (const file of yaml(SHARED_CRD_DIR)) {
    expect({ file, same: readFileSync(join(CRD_DIR, file), 'utf8') === readFileSync(join(SHARED_CRD_DIR, file), 'utf8') }).toEqual({
      file,
      same: true,
    });
  }
});

describe.each(SCENARIOS.map((s) => [s]))('scenario %s', (scenario: ScenarioName) => {
  let dir: string | undefined;
  const objects = new Map<Flavor, ManifestObject[]>();
  const plans = new Map<Flavor, Plan>();

  beforeAll(async () => {
    dir = await makeTempDir('crd-schema');
    const flows = await writeScenarioFlows(dir, scenario);
    for (const flavor of ALL_FLAVORS) {
      const plan = await planFromFlows([flows], flavor);
      plans.set(flavor, plan);
      objects.set(flavor, parseManifests(plan.changes));
    }
  });
  afterAll(() => removeDir(dir));

  const resources = (flavor: Flavor) => objects.get(flavor)!.filter((o) => !isKustomization(o.value));
  const plannedFor = async (flavor: Flavor, release: CalicoVersion) =>
    parseManifests((await planFromFlows([await writeScenarioFlows(dir!, scenario)], flavor, new Map(), release)).changes).filter(
      (o) => !isKustomization(o.value),
    );

  test.each([['calico'], ['calico-enterprise']] as [Flavor][])(
    '%s: writes one staged policy per namespace and the template objects',
    (flavor) => {
      const plan = plans.get(flavor)!;
      expect(plan.changes.size).toBeGreaterThan(0);
      const policies = expectedPolicies(plan, flavor);
      expect(policies.length).toBeGreaterThan(0);
      expect(
        resources(flavor)
          .map((o) => objectId(o.value))
          .sort(),
      ).toEqual([...policies, ...TEMPLATE_OBJECTS].sort());
      expect(
        resources(flavor)
          .filter((o) => !isCalico(o.value))
          .map(where),
      ).toEqual([]);
    },
  );

  test.each(GENERATIONS.map((g) => [g.validOn.join(', '), g] as const))(
    'calico: every object validates against the CRDs and Calico rules of Calico %s',
    async (_releases, { planned, validOn }) => {
      const calico = planned === undefined ? resources('calico') : await plannedFor('calico', planned);
      expect(calico.length).toBeGreaterThan(0);
      expect(errorsByObject(calico, onReleases(validOn))).toEqual({});
    },
  );

  test.each(GENERATIONS.map((g) => [g.validOn.join(', '), g] as const))(
    'calico-enterprise: only the Enterprise-only destination.domains field fails on Calico %s',
    async (_releases, { planned, validOn }) => {
      const enterprise = planned === undefined ? resources('calico-enterprise') : await plannedFor('calico-enterprise', planned);
      const unexpected = errorsByObject(enterprise, (v) => onReleases(validOn)(v).filter((e) => !DOMAINS_UNKNOWN_ANY_RELEASE.test(e)));
      expect(unexpected).toEqual({});
      // The open-source CRDs do reject the field (strict field validation is on) ...
      expect(enterprise.some((o) => validateCalicoObject(o.value).some((e) => DOMAINS_UNKNOWN.test(e)))).toBe(true);
      // ... and it is the only thing they reject.
      expect(errorsByObject(enterprise, (v) => onReleases(validOn)(withoutDomains(v)))).toEqual({});
    },
  );

  test('calico: the types of every policy include each direction it has rules for (Calico ignores the others)', () => {
    const ignored = resources('calico').flatMap((o) => {
      const types = isObj(o.value['spec']) ? o.value['spec']['types'] : undefined;
      return Array.isArray(types)
        ? rulesOf(o.value)
            .filter(({ direction }) => !types.includes(direction === 'ingress' ? 'Ingress' : 'Egress'))
            .map(() => where(o))
        : [];
    });
    expect(ignored).toEqual([]);
  });

  test('calico-enterprise: domain rules are egress Allow rules without nets', () => {
    const domainRules = resources('calico-enterprise').flatMap((o) =>
      rulesOf(o.value)
        .filter(({ rule }) => isObj(rule['destination']) && rule['destination']['domains'] !== undefined)
        .map(({ direction, rule }) => ({ at: where(o), direction, rule })),
    );
    expect(domainRules.length).toBeGreaterThan(0);
    for (const { at, direction, rule } of domainRules) {
      const destination = rule['destination'] as Obj;
      const domains = destination['domains'];
      expect({ at, direction, action: rule['action'], nets: destination['nets'], notNets: destination['notNets'] }).toEqual({
        at,
        direction: 'egress',
        action: 'Allow',
        nets: undefined,
        notNets: undefined,
      });
      expect(Array.isArray(domains) && domains.length > 0 && domains.every((d) => typeof d === 'string' && d.length > 0)).toBe(true);
    }
    // Nothing in a source, nor in ingress rules.
    const misplaced = resources('calico-enterprise').flatMap((o) =>
      rulesOf(o.value)
        .filter(
          ({ direction, rule }) =>
            (isObj(rule['source']) && 'domains' in rule['source']) ||
            (direction === 'ingress' && isObj(rule['destination']) && 'domains' in rule['destination']),
        )
        .map(() => where(o)),
    );
    expect(misplaced).toEqual([]);
  });

  test('calico: no rule carries domains', () => {
    const withDomains = resources('calico').filter((o) =>
      rulesOf(o.value).some(({ rule }) => isObj(rule['destination']) && 'domains' in rule['destination']),
    );
    expect(withDomains.map(where)).toEqual([]);
  });

  test('kubernetes: one StagedKubernetesNetworkPolicy per namespace, valid for Calico, and a well-formed networking.k8s.io/v1 NetworkPolicy once enforced', () => {
    const plan = plans.get('kubernetes')!;
    const k8s = resources('kubernetes');
    expect(k8s.map((o) => objectId(o.value)).sort()).toEqual(expectedPolicies(plan, 'kubernetes'));
    expect(k8s.length).toBeGreaterThan(0);
    expect(errorsByObject(k8s, onEveryRelease)).toEqual({});
    // What the enforce PR makes of each (engine/enforce.ts): the Kubernetes object, same spec.
    const enforced = k8s.map((o) => {
      const { name, namespace } = o.value['metadata'] as { name: string; namespace: string };
      const text = enforcePolicyInFile(plan.changes.get(o.path)!, o.path, { kind: 'StagedKubernetesNetworkPolicy', namespace, name })!;
      return { ...o, value: parseYaml(text) as Obj };
    });
    expect(errorsByObject(enforced, validateKubernetesNetworkPolicy)).toEqual({});
  });

  test('every written document is a Kustomization or an object of the flavour', () => {
    for (const flavor of ALL_FLAVORS) {
      const odd = objects.get(flavor)!.filter((o) => !isKustomization(o.value) && !isCalico(o.value));
      expect({ flavor, odd: odd.map(where) }).toEqual({ flavor, odd: [] });
    }
  });
});

describe('the template, policies-template/clusters/example/', () => {
  test('its objects validate against the CRDs', async () => {
    const objects = parseManifests(await loadTree(TEMPLATE_DIR)).filter((o) => !isKustomization(o.value));
    expect(objects.map((o) => objectId(o.value)).sort()).toEqual([...TEMPLATE_OBJECTS].sort());
    expect(errorsByObject(objects, onEveryRelease)).toEqual({});
  });
});

// ---------------------------------------------------------------------------------------------
// The validators must reject what a cluster rejects, or the tests above prove nothing.

function validPolicy(): Obj {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'StagedNetworkPolicy',
    metadata: {
      name: 'namespace-isolation.shop-recommendation',
      namespace: 'shop',
      labels: { 'app.kubernetes.io/managed-by': 'policy-recommender' },
      annotations: { 'policy-recommender.io/last-updated': '2026-11-22T12:00:00Z' },
    },
    spec: {
      stagedAction: 'Set',
      tier: 'namespace-isolation',
      selector: "projectcalico.org/namespace == 'shop'",
      types: ['Ingress', 'Egress'],
      ingress: [
        {
          action: 'Allow',
          protocol: 'TCP',
          source: { namespaceSelector: "projectcalico.org/name == 'shop'" },
          destination: { ports: [8080, 'http', '9000:9100'] },
          metadata: { annotations: { 'policy-recommender.io/category': 'Namespace' } },
        },
        { action: 'Allow', protocol: 'TCP', http: { methods: ['GET'] }, destination: { ports: [80] } },
      ],
      egress: [
        { action: 'Allow', protocol: 'UDP', destination: { namespaceSelector: "projectcalico.org/name == 'kube-system'", ports: [53] } },
        { action: 'Allow', protocol: 'TCP', destination: { services: { name: 'carrier-api', namespace: 'shop' } } },
        { action: 'Allow', protocol: 'ICMP', icmp: { type: 8, code: 0 }, destination: { nets: ['10.0.0.0/8', '192.168.1.7/32'] } },
        {
          action: 'Allow',
          protocol: 'TCP',
          destination: {
            selector: "projectcalico.org/name == 'corp' && projectcalico.org/kind == 'NetworkSet'",
            namespaceSelector: 'global()',
            ports: [443],
          },
        },
        { action: 'Allow', protocol: 47, destination: { nets: ['172.16.0.0/12'] } },
      ],
    },
  };
}

/** The enforced form of a staged policy: same metadata and spec, without stagedAction. */
function enforced(staged: Obj): Obj {
  const { stagedAction: _dropped, ...rest } = staged['spec'] as Obj;
  return { ...staged, kind: 'NetworkPolicy', spec: rest };
}

type Mutation = (p: Obj) => void;
const spec = (p: Obj) => p['spec'] as Obj;
const egress = (p: Obj, i: number) => (spec(p)['egress'] as Obj[])[i]!;
const ingress = (p: Obj, i: number) => (spec(p)['ingress'] as Obj[])[i]!;
const dest = (rule: Obj) => rule['destination'] as Obj;

describe('validateCalicoObject', () => {
  test('accepts valid objects of every kind', () => {
    const valid: Obj[] = [
      validPolicy(),
      enforced(validPolicy()),
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'StagedGlobalNetworkPolicy',
        metadata: { name: 'default-deny' },
        spec: { stagedAction: 'Set', tier: 'default', selector: 'has(projectcalico.org/namespace)', types: ['Ingress', 'Egress'] },
      },
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkPolicy',
        metadata: { name: 'security.icmpv6' },
        spec: { tier: 'security', order: 10, egress: [{ action: 'Pass', protocol: 'ICMPv6', ipVersion: 6, notICMP: { type: 128 } }] },
      },
      { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'appsec' }, spec: { order: 400, defaultAction: 'Deny' } },
      { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'default' }, spec: { order: 1000000, defaultAction: 'Deny' } },
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'NetworkSet',
        metadata: { name: 'partner-apis', namespace: 'shop' },
        spec: { nets: ['203.0.113.0/24'] },
      },
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkSet',
        metadata: { name: 'corp-saas', labels: { kind: 'saas' } },
        spec: { nets: ['2001:db8::/32'] },
      },
    ];
    for (const value of valid) expect({ id: objectId(value), errors: onEveryRelease(value) }).toEqual({ id: objectId(value), errors: [] });
  });

  test.each<[string, Mutation, RegExp]>([
    [
      'ports with destination services',
      (p) => void (dest(egress(p, 1))['ports'] = [443]),
      /ports and notPorts cannot be specified with services/,
    ],
    [
      'notPorts with destination services',
      (p) => void (dest(egress(p, 1))['notPorts'] = [22]),
      /ports and notPorts cannot be specified with services/,
    ],
    ['ports with protocol ICMP', (p) => void (dest(egress(p, 2))['ports'] = [80]), /ports are only valid with protocol TCP, UDP or SCTP/],
    [
      'numeric ports without a protocol',
      (p) => void delete ingress(p, 0)['protocol'],
      /rules with numeric port or port range must set protocol to TCP or UDP or SCTP/,
    ],
    [
      'global() in an entity selector',
      (p) => void (dest(egress(p, 3))['selector'] = 'global()'),
      /destination\/selector: global\(\) can only be used in an EntityRule namespaceSelector/,
    ],
    ['global() in the policy selector', (p) => void (spec(p)['selector'] = 'global()'), /\/spec\/selector: global\(\) can only be used/],
    ['an unknown spec field', (p) => void (spec(p)['prority'] = 10), /^\/spec: unknown field "prority"$/],
    [
      'an unknown rule field (a typo of domains)',
      (p) => void (dest(egress(p, 0))['domain'] = ['example.com']),
      /\/spec\/egress\/0\/destination: unknown field "domain"/,
    ],
    ['an unknown metadata field', (p) => void ((p['metadata'] as Obj)['label'] = {}), /\/metadata: unknown field "label"/],
    [
      'a name with two dots',
      (p) => void ((p['metadata'] as Obj)['name'] = 'namespace-isolation.web.v2-recommendation'),
      /is not a valid StagedNetworkPolicy name/,
    ],
    [
      'a name that is not a DNS subdomain',
      (p) => void ((p['metadata'] as Obj)['name'] = 'namespace-isolation.Shop_Recommendation'),
      /not a valid DNS subdomain/,
    ],
    ['an invalid label value', (p) => void ((p['metadata'] as Obj)['labels'] = { team: 'a b' }), /invalid label value/],
    ['services with a selector', (p) => void (dest(egress(p, 1))['selector'] = "app == 'api'"), /Selector\/NotSelector and Services/],
    [
      'services with a namespaceSelector',
      (p) => void (dest(egress(p, 1))['namespaceSelector'] = 'all()'),
      /NamespaceSelector and Services/,
    ],
    ['services with nets', (p) => void (dest(egress(p, 1))['nets'] = ['10.0.0.0/8']), /Nets\/NotNets and Services/],
    [
      'services with serviceAccounts',
      (p) => void (dest(egress(p, 1))['serviceAccounts'] = { names: ['api'] }),
      /ServiceAccounts and Services/,
    ],
    [
      'services without a name',
      (p) => void (dest(egress(p, 1))['services'] = { namespace: 'shop' }),
      /services must specify a service name/,
    ],
    [
      'services in an egress rule source',
      (p) => void (egress(p, 0)['source'] = { services: { name: 'web', namespace: 'shop' } }),
      /services cannot be used in the source of an egress rule/,
    ],
    [
      'services in an ingress rule destination',
      (p) => void (ingress(p, 0)['destination'] = { services: { name: 'web', namespace: 'shop' } }),
      /services cannot be used in the destination of an ingress rule/,
    ],
    [
      'ICMP fields without protocol ICMP',
      (p) => void (egress(p, 0)['icmp'] = { type: 8 }),
      /ICMP fields require protocol to be ICMP or ICMPv6/,
    ],
    ['an ICMP code without a type', (p) => void (egress(p, 2)['icmp'] = { code: 0 }), /ICMP code specified without an ICMP type/],
    ['protocol ICMP with ipVersion 6', (p) => void (egress(p, 2)['ipVersion'] = 6), /protocol ICMP requires ipVersion 4/],
    ['HTTP on a Deny rule', (p) => void (ingress(p, 1)['action'] = 'Deny'), /HTTP match is only valid on Allow rules/],
    ['HTTP with protocol UDP', (p) => void (ingress(p, 1)['protocol'] = 'UDP'), /HTTP match must have protocol TCP or unset/],
    ['HTTP in an egress rule', (p) => void (egress(p, 0)['http'] = { methods: ['GET'] }), /HTTP match is not allowed in egress rules/],
    ['port 0', (p) => void (dest(ingress(p, 0))['ports'] = [0]), /port number must be between 1 and 65535/],
    ['a bare address in nets', (p) => void (dest(egress(p, 2))['nets'] = ['192.168.1.7']), /is not a CIDR/],
    ['host bits in nets', (p) => void (dest(egress(p, 2))['nets'] = ['192.168.1.7/24']), /has host bits set/],
    ['IPv4 and IPv6 nets in one rule', (p) => void (dest(egress(p, 2))['nets'] = ['10.0.0.0/8', 'fc00::/7']), /both IPv4 and IPv6/],
    ['an invalid selector', (p) => void (spec(p)['selector'] = "app == 'web' &&"), /\/spec\/selector: invalid selector/],
    [
      'domains with nets (Enterprise)',
      (p) => void (dest(egress(p, 2))['domains'] = ['api.example.com']),
      /domains cannot be combined with nets/,
    ],
    [
      'domains on a Deny rule (Enterprise)',
      (p) => {
        egress(p, 3)['action'] = 'Deny';
        dest(egress(p, 3))['domains'] = ['api.example.com'];
      },
      /domains are only valid on Allow rules/,
    ],
    [
      'an unknown action',
      (p) => void (egress(p, 0)['action'] = 'allow'),
      /\/spec\/egress\/0\/action: must be one of "Allow", "Deny", "Log", "Pass"/,
    ],
    ['a rule without an action', (p) => void delete egress(p, 0)['action'], /must have required property 'action'/],
    ['an unknown stagedAction', (p) => void (spec(p)['stagedAction'] = 'Learning'), /\/spec\/stagedAction: must be one of/],
    ['duplicate types', (p) => void (spec(p)['types'] = ['Ingress', 'Ingress']), /\/spec\/types: duplicate entries in a list of type set/],
    ['a fractional port', (p) => void (dest(egress(p, 0))['ports'] = [53.5]), /destination\/ports\/0: must be integer/],
    ['a port out of range', (p) => void (dest(egress(p, 0))['ports'] = [70000]), /not a port, port range or port name/],
    ['a descending port range', (p) => void (dest(egress(p, 0))['ports'] = ['100:90']), /not a port, port range or port name/],
    ['an unknown protocol name', (p) => void (egress(p, 0)['protocol'] = 'HTTP'), /is not a protocol/],
    ['an invalid net', (p) => void (dest(egress(p, 2))['nets'] = ['10.0.0.0/33']), /is not a CIDR/],
    [
      'the internal API version',
      (p) => void (p['apiVersion'] = 'crd.projectcalico.org/v1'),
      /^\/apiVersion: must be projectcalico.org\/v3/,
    ],
    ['an unknown kind', (p) => void (p['kind'] = 'StagedKubernetesNetworkPolicies'), /^\/kind: not a Calico kind/],
  ])('rejects %s', (_name, mutate, expected) => {
    const policy = validPolicy();
    expect(validateCalicoObject(policy)).toEqual([]);
    mutate(policy);
    const errors = validateCalicoObject(policy);
    expect(errors).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  test.each<[string, string]>([
    ['a wrong tier prefix', 'appsec.shop-recommendation'],
    ['no tier prefix', 'shop-recommendation'],
  ])('rejects %s up to Calico 3.31 only (names.ValidateTieredPolicyName)', (_name, name) => {
    const policy = validPolicy();
    (policy['metadata'] as Obj)['name'] = name;
    for (const version of ['3.30', '3.31'] as const) {
      expect(validateCalicoObject(policy, { calicoVersion: version })).toEqual([
        expect.stringMatching(/must be named "namespace-isolation\.<name>"/),
      ]);
    }
    for (const version of ['3.32', '3.33', 'main'] as const) expect(validateCalicoObject(policy, { calicoVersion: version })).toEqual([]);
  });

  test.each<[string, Obj, RegExp]>([
    [
      'a namespace on a cluster-scoped kind',
      { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'appsec', namespace: 'shop' }, spec: {} },
      /not allowed on the cluster-scoped kind Tier/,
    ],
    [
      'a tier default action other than Pass or Deny',
      { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'appsec' }, spec: { defaultAction: 'Allow' } },
      /\/spec\/defaultAction: must be one of "Pass", "Deny"/,
    ],
    [
      'the default tier with Pass',
      { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'default' }, spec: { order: 1000000, defaultAction: 'Pass' } },
      /the 'default' tier must have default action 'Deny'/,
    ],
    [
      'a dotted tier name',
      { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'team.a' }, spec: {} },
      /must be a DNS label/,
    ],
    [
      'a Tier without spec',
      { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'appsec' } },
      /must have required property 'spec'/,
    ],
    [
      'global() in a global policy namespaceSelector',
      { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'p' }, spec: { namespaceSelector: 'global()' } },
      /\/spec\/namespaceSelector: global\(\) can only be used/,
    ],
    [
      'a preDNAT policy with egress rules',
      {
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkPolicy',
        metadata: { name: 'p' },
        spec: { preDNAT: true, applyOnForward: true, egress: [{ action: 'Allow' }] },
      },
      /preDNAT policy cannot have any egress rules/,
    ],
    [
      'a network set with a bad net',
      { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: 's' }, spec: { nets: ['example.com'] } },
      /is not an IP address or CIDR/,
    ],
    [
      'a network set field typo',
      { apiVersion: 'projectcalico.org/v3', kind: 'NetworkSet', metadata: { name: 's', namespace: 'a' }, spec: { net: ['10.0.0.0/8'] } },
      /unknown field "net"/,
    ],
  ])('rejects %s', (_name, value, expected) => {
    const errors = validateCalicoObject(value);
    expect(errors).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });
});

function validK8sPolicy(): Obj {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'shop-recommendation', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'policy-recommender' } },
    spec: {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } } }],
          ports: [{ protocol: 'TCP', port: 8080 }],
        },
      ],
      egress: [
        { to: [{ ipBlock: { cidr: '10.0.0.0/8' } }, { ipBlock: { cidr: '2001:db8::/32' } }] },
        {
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'SCTP', port: 3868 },
          ],
        },
      ],
    },
  };
}

describe('validateKubernetesNetworkPolicy', () => {
  test('accepts a valid policy', () => {
    expect(validateKubernetesNetworkPolicy(validK8sPolicy())).toEqual([]);
  });

  test.each<[string, Mutation, RegExp]>([
    ['a pod selector', (p) => void (spec(p)['podSelector'] = { matchLabels: { app: 'web' } }), /podSelector: must be \{\}/],
    ['an unknown policy type', (p) => void (spec(p)['policyTypes'] = ['Ingress', 'Both']), /policyTypes: must be a subset/],
    [
      'egress rules without the Egress type',
      (p) => void (spec(p)['policyTypes'] = ['Ingress']),
      /has egress rules but does not include Egress/,
    ],
    [
      'a port without a protocol',
      (p) => void (((spec(p)['egress'] as Obj[])[1]!['ports'] as Obj[])[0] = { port: 53 }),
      /protocol: must be TCP, UDP or SCTP/,
    ],
    [
      'an ICMP port',
      (p) => void (((spec(p)['egress'] as Obj[])[1]!['ports'] as Obj[])[0] = { protocol: 'ICMP', port: 53 }),
      /protocol: must be TCP, UDP or SCTP/,
    ],
    [
      'port 0',
      (p) => void (((spec(p)['egress'] as Obj[])[1]!['ports'] as Obj[])[0] = { protocol: 'UDP', port: 0 }),
      /port: must be an integer 1-65535/,
    ],
    [
      'a named port',
      (p) => void (((spec(p)['egress'] as Obj[])[1]!['ports'] as Obj[])[0] = { protocol: 'UDP', port: 'dns' }),
      /port: must be an integer 1-65535/,
    ],
    [
      'an invalid CIDR',
      (p) => void (((spec(p)['egress'] as Obj[])[0]!['to'] as Obj[])[0] = { ipBlock: { cidr: '10.0.0.0/40' } }),
      /is not a valid CIDR/,
    ],
    [
      'a CIDR with host bits',
      (p) => void (((spec(p)['egress'] as Obj[])[0]!['to'] as Obj[])[0] = { ipBlock: { cidr: '10.1.2.3/8' } }),
      /is not a valid CIDR/,
    ],
    [
      'a pod selector peer',
      (p) => void (((spec(p)['egress'] as Obj[])[0]!['to'] as Obj[])[0] = { podSelector: {} }),
      /exactly one of namespaceSelector or ipBlock/,
    ],
    ['a Calico-style rule', (p) => void ((spec(p)['egress'] as Obj[])[0]!['action'] = 'Allow'), /unexpected field "action"/],
    ['the wrong API version', (p) => void (p['apiVersion'] = 'projectcalico.org/v3'), /apiVersion: must be networking.k8s.io\/v1/],
  ])('rejects %s', (_name, mutate, expected) => {
    const policy = validK8sPolicy();
    mutate(policy);
    expect(validateKubernetesNetworkPolicy(policy)).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });
});
