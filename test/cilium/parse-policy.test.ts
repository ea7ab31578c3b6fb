// The boundary for Cilium policies: what Cilium's CRD schema and pkg/policy/api/rule_validation.go
// (Rule.Sanitize) reject is rejected here with its location. Sources: Cilium v1.16.0 (cilium/cilium-cli
// v0.16.14's vendor tree) and main (v0.19.7's), files named per case.

import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { parseCiliumPolicy } from '../../src/cilium/parse-policy.ts';
import { FACTS } from '../simulate/cilium/facts.ts';
import { policies } from '../simulate/cilium/support.ts';
import { HOSTILE_NAMES } from '../support/hostile-values.ts';

const cnp = (spec: unknown, metadata: Record<string, unknown> = { name: 'p', namespace: 'shop' }) => ({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata,
  spec,
});
const ccnp = (spec: unknown) => ({ apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'p' }, spec });

function issues(input: unknown): { path: string; message: string }[] {
  const parsed = parseCiliumPolicy(input);
  if (parsed.ok) throw new Error('expected a rejection');
  return [...parsed.issues];
}

function expectIssue(input: unknown, path: string, message: RegExp): void {
  expect(issues(input)).toEqual(expect.arrayContaining([expect.objectContaining({ path, message: expect.stringMatching(message) })]));
}

describe('valid policies', () => {
  test('every policy of the facts parses', () => {
    for (const fact of FACTS) expect(() => policies(fact.policies)).not.toThrow();
  });

  test('typed: selectors with sources, ports normalised, empty lists kept apart from omitted ones', () => {
    const parsed = parseCiliumPolicy(
      cnp({
        endpointSelector: { matchLabels: { 'k8s:app': 'web' } },
        egress: [
          { toEndpoints: [], toPorts: [{ ports: [{ port: 'HTTP' }, { port: '8000', endPort: 8080, protocol: 'TCP' }] }] },
          { toFQDNs: [{ matchPattern: '*.example.com' }] },
          { toCIDRSet: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }] },
        ],
        enableDefaultDeny: { ingress: false },
      }),
    );
    expect(parsed).toEqual({
      ok: true,
      policy: {
        kind: 'CiliumNetworkPolicy',
        name: 'p',
        namespace: 'shop',
        rules: [
          {
            endpointSelector: {
              requirements: [{ key: { source: 'k8s', key: 'app' }, operator: 'In', values: ['web'], fromMatchLabels: true }],
            },
            egress: [
              {
                endpoints: [],
                toPorts: [
                  {
                    ports: [
                      { port: 'http', endPort: null, protocol: 'ANY' },
                      { port: 8000, endPort: 8080, protocol: 'TCP' },
                    ],
                  },
                ],
              },
              { fqdns: [{ matchPattern: '*.example.com' }] },
              { cidrSet: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }] },
            ],
            enableDefaultDeny: { ingress: false },
          },
        ],
      },
    });
  });

  test('specs are rules too; a CCNP has no namespace; ICMP names resolve (pkg/policy/api/icmp.go)', () => {
    const parsed = parseCiliumPolicy({
      ...ccnp(undefined),
      specs: [
        { endpointSelector: {}, ingress: [{ fromEntities: ['cluster'] }] },
        { nodeSelector: {}, ingress: [{ icmps: [{ fields: [{ type: 'EchoRequest' }, { family: 'IPv6', type: 'EchoRequest' }] }] }] },
      ],
    });
    expect(parsed.ok && parsed.policy.namespace).toBeNull();
    expect(parsed.ok && parsed.policy.rules[1]!.ingress![0]!.icmps).toEqual([
      { family: 'IPv4', type: 8 },
      { family: 'IPv6', type: 128 },
    ]);
  });

  test('a CNP without namespace takes the one it is applied to', () => {
    const parsed = parseCiliumPolicy(cnp({ endpointSelector: {}, ingress: [{}] }, { name: 'p' }), { defaultNamespace: 'app' });
    expect(parsed.ok && parsed.policy.namespace).toBe('app');
    expectIssue(cnp({ endpointSelector: {}, ingress: [{}] }, { name: 'p' }), 'metadata.namespace', /required/);
  });
});

describe('rejected as Cilium rejects them', () => {
  test.each([
    // rule_validation.go Rule.Sanitize (v1.16.0 and main)
    ['no selector', cnp({ ingress: [{}] }), 'spec.endpointSelector', /one of endpointSelector or nodeSelector/],
    ['both selectors', ccnp({ endpointSelector: {}, nodeSelector: {}, ingress: [{}] }), 'spec.nodeSelector', /cannot have both/],
    // cnp_types.go (v1.16.0): "rule cannot have NodeSelector"
    ['CNP with nodeSelector', cnp({ nodeSelector: {}, ingress: [{}] }), 'spec.nodeSelector', /only a clusterwide/],
    // [MAIN] rule_validation.go:44
    ['no section', cnp({ endpointSelector: {} }), 'spec.ingress', /at least one of ingress/],
    // [MAIN] CRD: spec or specs must be provided
    [
      'no spec',
      { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'p', namespace: 'a' } },
      'spec',
      /spec or specs/,
    ],
    // IngressCommonRule.sanitize / EgressCommonRule.sanitize: one L3 kind per rule
    [
      'two peer kinds',
      cnp({ endpointSelector: {}, egress: [{ toEndpoints: [{}], toCIDR: ['10.0.0.0/8'] }] }),
      'spec.egress.0.toCIDR',
      /combining toEndpoints and toCIDR/,
    ],
    [
      'FQDN with endpoints',
      cnp({ endpointSelector: {}, egress: [{ toEndpoints: [{}], toFQDNs: [{ matchName: 'a.com' }] }] }),
      'spec.egress.0.toFQDNs',
      /combining/,
    ],
    // errUnsupportedICMPWithToPorts
    [
      'icmps with toPorts',
      cnp({ endpointSelector: {}, ingress: [{ icmps: [{ fields: [{ type: 8 }] }], toPorts: [{ ports: [{ port: '80' }] }] }] }),
      'spec.ingress.0.icmps',
      /without toPorts/,
    ],
    // PortRule.sanitize
    [
      'DNS on ingress',
      cnp({ endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '53' }], rules: { dns: [{ matchPattern: '*' }] } }] }] }),
      'spec.ingress.0.toPorts.0.rules.dns',
      /not allowed on ingress/,
    ],
    [
      'HTTP on UDP',
      cnp({ endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'UDP' }], rules: { http: [{}] } }] }] }),
      'spec.egress.0.toPorts.0.ports.0.protocol',
      /only apply to TCP/,
    ],
    [
      'L7 on port 0',
      cnp({ endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ port: '0', protocol: 'TCP' }], rules: { http: [{}] } }] }] }),
      'spec.egress.0.toPorts.0.ports',
      /port is 0/,
    ],
    [
      'DNS without port',
      cnp({ endpointSelector: {}, egress: [{ toPorts: [{ rules: { dns: [{ matchPattern: '*' }] } }] }] }),
      'spec.egress.0.toPorts.0.ports',
      /need a port/,
    ],
    [
      'two L7 types',
      cnp({
        endpointSelector: {},
        egress: [{ toPorts: [{ ports: [{ port: '53' }], rules: { dns: [{ matchPattern: '*' }], http: [{}] } }] }],
      }),
      'spec.egress.0.toPorts.0.rules',
      /multiple L7/,
    ],
    [
      '41 ports (maxPorts = 40)',
      cnp({ endpointSelector: {}, egress: [{ toPorts: [{ ports: Array.from({ length: 41 }, (_, i) => ({ port: String(i + 1) })) }] }] }),
      'spec.egress.0.toPorts.0.ports',
      /max is 40/,
    ],
    // [MAIN] rule_validation.go: "DNS rules do not support port ranges"
    [
      'DNS port range',
      cnp({
        endpointSelector: {},
        egress: [{ toPorts: [{ ports: [{ port: '53', endPort: 54 }], rules: { dns: [{ matchPattern: '*' }] } }] }],
      }),
      'spec.egress.0.toPorts.0.ports.0.endPort',
      /port ranges/,
    ],
    // CRD port pattern and iana.IsSvcName
    [
      'port 65536',
      cnp({ endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ port: '65536' }] }] }] }),
      'spec.egress.0.toPorts.0.ports.0.port',
      /not a port/,
    ],
    [
      'octal-looking port',
      cnp({ endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ port: '080' }] }] }] }),
      'spec.egress.0.toPorts.0.ports.0.port',
      /not a port/,
    ],
    [
      'port name of 16 characters',
      cnp({ endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ port: 'abcdefghijklmnop' }] }] }] }),
      'spec.egress.0.toPorts.0.ports.0.port',
      /not a port/,
    ],
    [
      'protocol ICMP in ports',
      cnp({ endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'ICMP' }] }] }] }),
      'spec.egress.0.toPorts.0.ports.0.protocol',
      /must be one of/,
    ],
    // entity.go CRD enum: world-ipv4/6 are in the Go map only
    [
      'entity world-ipv4',
      cnp({ endpointSelector: {}, egress: [{ toEntities: ['world-ipv4'] }] }),
      'spec.egress.0.toEntities.0',
      /must be one of/,
    ],
    // cidr.go / rule_validation.go CIDRRule.sanitize
    [
      'CIDR without prefix length',
      cnp({ endpointSelector: {}, egress: [{ toCIDR: ['10.0.0.1'] }] }),
      'spec.egress.0.toCIDR.0',
      /not a CIDR/,
    ],
    [
      'except outside cidr',
      cnp({ endpointSelector: {}, egress: [{ toCIDRSet: [{ cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] }] }] }),
      'spec.egress.0.toCIDRSet.0.except.0',
      /does not contain/,
    ],
    [
      'except of the other family',
      cnp({ endpointSelector: {}, egress: [{ toCIDRSet: [{ cidr: '10.0.0.0/8', except: ['fd00::/8'] }] }] }),
      'spec.egress.0.toCIDRSet.0.except.0',
      /does not contain/,
    ],
    [
      'cidr and cidrGroupRef',
      cnp({ endpointSelector: {}, egress: [{ toCIDRSet: [{ cidr: '10.0.0.0/8', cidrGroupRef: 'g' }] }] }),
      'spec.egress.0.toCIDRSet.0',
      /more than one/,
    ],
    // fqdn.go FQDNSelector.sanitize
    [
      'matchName and matchPattern',
      cnp({ endpointSelector: {}, egress: [{ toFQDNs: [{ matchName: 'a.com', matchPattern: '*.a.com' }] }] }),
      'spec.egress.0.toFQDNs.0',
      /only one of/,
    ],
    [
      'matchName with a star',
      cnp({ endpointSelector: {}, egress: [{ toFQDNs: [{ matchName: '*.a.com' }] }] }),
      'spec.egress.0.toFQDNs.0.matchName',
      /only letters/,
    ],
    [
      'matchPattern with a bracket',
      cnp({ endpointSelector: {}, egress: [{ toFQDNs: [{ matchPattern: '[a].com' }] }] }),
      'spec.egress.0.toFQDNs.0.matchPattern',
      /required/,
    ],
    [
      'matchName over 255',
      cnp({ endpointSelector: {}, egress: [{ toFQDNs: [{ matchName: `${'a'.repeat(256)}.com` }] }] }),
      'spec.egress.0.toFQDNs.0.matchName',
      /at most 255/,
    ],
    // Label selectors: CRD value pattern and maxLength 63; LabelSelector requirement rules
    [
      'label value of 64',
      cnp({ endpointSelector: { matchLabels: { app: 'x'.repeat(64) } }, ingress: [{}] }),
      'spec.endpointSelector.matchLabels.app',
      /label value/,
    ],
    [
      'In without values',
      cnp({ endpointSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] }, ingress: [{}] }),
      'spec.endpointSelector.matchExpressions.0.values',
      /at least one value/,
    ],
    [
      'bad operator',
      cnp({ endpointSelector: { matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] }, ingress: [{}] }),
      'spec.endpointSelector.matchExpressions.0.operator',
      /must be one of/,
    ],
    // strict objects: a misspelt field would silently do nothing in Cilium (the API server prunes it)
    [
      'unknown field',
      cnp({ endpointSelector: {}, ingress: [{ fromEndpoint: [{}] }] }),
      'spec.ingress.0.fromEndpoint',
      /unknown key \(did you mean fromEndpoints\?\)/,
    ],
    [
      'deny with L7',
      cnp({ endpointSelector: {}, egressDeny: [{ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{}] } }] }] }),
      'spec.egressDeny.0.toPorts.0.rules',
      /unknown key/,
    ],
    [
      'deny with toFQDNs',
      cnp({ endpointSelector: {}, egressDeny: [{ toFQDNs: [{ matchName: 'a.com' }] }] }),
      'spec.egressDeny.0.toFQDNs',
      /unknown key/,
    ],
    ['apiVersion v1', { ...cnp({ endpointSelector: {}, ingress: [{}] }), apiVersion: 'cilium.io/v1' }, 'apiVersion', /cilium.io\/v2/],
  ] as const)('%s', (_name, input, path, message) => {
    expectIssue(input, path, message);
  });
});

describe('hostile input', () => {
  test.each(HOSTILE_NAMES.filter((n) => !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n)))('namespace %j is rejected', (name) => {
    expectIssue(cnp({ endpointSelector: {}, ingress: [{}] }, { name: 'p', namespace: name }), 'metadata.namespace', /DNS label/);
  });

  test.each(HOSTILE_NAMES.filter((n) => !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(n)))('policy name %j is rejected', (name) => {
    expectIssue(cnp({ endpointSelector: {}, ingress: [{}] }, { name, namespace: 'a' }), 'metadata.name', /DNS subdomain/);
  });

  test.each(HOSTILE_NAMES.filter((n) => !/^([A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(n) || n.length > 63))(
    'label value %j is rejected',
    (value) => {
      expectIssue(
        cnp({ endpointSelector: { matchLabels: { app: value } }, ingress: [{}] }),
        'spec.endpointSelector.matchLabels.app',
        /label value/,
      );
    },
  );

  // `a/b` is a qualified name (prefix a, name b), as Kubernetes label keys are.
  test.each(HOSTILE_NAMES.filter((n) => n !== 'a/b' && !/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(n)))(
    'label key %j is rejected',
    (key) => {
      expect(parseCiliumPolicy(cnp({ endpointSelector: { matchLabels: { [`k8s:${key}`]: 'x' } }, ingress: [{}] })).ok).toBe(false);
    },
  );

  test.each(HOSTILE_NAMES)('FQDN %j is rejected unless it is a DNS pattern', (name) => {
    const parsed = parseCiliumPolicy(cnp({ endpointSelector: {}, egress: [{ toFQDNs: [{ matchPattern: name }] }] }));
    expect(parsed.ok).toBe(/^([-a-zA-Z0-9_*]+[.]?)+$/.test(name) && name.length <= 255);
  });

  test('arbitrary JSON never throws, and is either a policy or located issues', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const parsed = parseCiliumPolicy(value);
        if (!parsed.ok) expect(parsed.issues.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });

  test('arbitrary values inside a policy never throw', () => {
    const any = fc.jsonValue({ maxDepth: 4 });
    fc.assert(
      fc.property(any, any, any, (a, b, c) => {
        for (const spec of [
          { endpointSelector: a, ingress: [b] },
          { endpointSelector: {}, egress: [{ toPorts: [{ ports: [a], rules: b }] }] },
          { endpointSelector: {}, egress: [{ toCIDRSet: [a], toFQDNs: b }], egressDeny: c },
          { endpointSelector: { matchExpressions: [a] }, ingress: [{ fromEndpoints: [b], icmps: [c] }] },
        ])
          parseCiliumPolicy(cnp(spec));
      }),
      { numRuns: 200 },
    );
  });
});
