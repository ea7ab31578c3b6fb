// The engine's "does this rule decide this traffic?" (PolicyFlavor.matches), answered by the one
// rule interpreter (src/simulate/match-rule.ts) over what the engine knows of an atom
// (src/engine/flavors/rule-decides.ts). Each conservative choice is an input to the interpreter;
// the answer must never be a false "yes". Where the interpreter answers differently from the
// engine's former matcher (calico-match.ts), the case says which upstream source decides it.

import { describe, expect, test } from '@jest/globals';
import type { IpFamily } from '../../src/config/recommendation-config.ts';
import { calicoFlavor } from '../../src/engine/flavors/calico.ts';
import type { RuleContext } from '../../src/engine/flavors/flavor.ts';
import { kubernetesFlavor } from '../../src/engine/flavors/kubernetes.ts';
import type { Direction, ObservedAtom, Peer } from '../../src/engine/model.ts';
import { type NetworkSetFacts, networkSetDirectory } from '../../src/engine/network-sets.ts';

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
const nameLabels = (ns: string) => ({ 'kubernetes.io/metadata.name': ns, 'projectcalico.org/name': ns });

function context(direction: Direction, options: { labels?: Record<string, Record<string, string>>; complete?: boolean } = {}): RuleContext {
  return {
    namespace: 'shop',
    direction,
    now: '2026-01-01T00:00:00Z',
    intraNamespacePass: false,
    ownRuleKeys: null,
    namespaceLabels: (ns) => ({ ...nameLabels(ns), ...options.labels?.[ns] }),
    namespaceLabelsComplete: options.complete ?? false,
  };
}

function observed(direction: Direction, peer: Peer, port: number | null = 443, protocol: 'TCP' | 'UDP' | 'ICMP' = 'TCP'): ObservedAtom {
  return { atom: { direction, peer, protocol, port }, evidence: { flows: 1, firstSeen: 0, lastSeen: 0, remoteIps: 0 } };
}

interface Options {
  readonly ipFamilies?: readonly IpFamily[];
  readonly sets?: readonly NetworkSetFacts[];
  readonly enterprise?: boolean;
}

/** Does the Calico rule decide the atom, in a policy of namespace shop? */
function decides(rule: unknown, atom: ObservedAtom, ctx = context(atom.atom.direction), options: Options = {}): boolean {
  const flavor = calicoFlavor({
    enterprise: options.enterprise ?? false,
    ipFamilies: options.ipFamilies ?? ['IPv4'],
    networkSets: networkSetDirectory(options.sets ?? []),
  });
  return flavor.matches(flavor.parse(rule), atom, ctx);
}

const db: Peer = { category: 'Namespace', namespace: 'db' };
const pub: Peer = { category: 'Public' };
const allow = (destination: object, extra: object = {}) => ({ action: 'Allow', protocol: 'TCP', destination, ...extra });

describe("the policy's own end: a pod of its namespace whose labels are unknown", () => {
  test('no selector, all(), or a namespaceSelector of its own namespace select every pod of it', () => {
    expect(decides(allow({}), observed('egress', db))).toBe(true);
    expect(decides(allow({}, { source: { selector: 'all()' } }), observed('egress', db))).toBe(true);
    expect(decides(allow({}, { source: { namespaceSelector: "projectcalico.org/name == 'shop'" } }), observed('egress', db))).toBe(true);
    expect(decides(allow({}, { source: { namespaceSelector: "projectcalico.org/name == 'other'" } }), observed('egress', db))).toBe(false);
  });

  test('a selector on pod labels does not (it may select some pods only), nor does notSelector or a source port', () => {
    expect(decides(allow({}, { source: { selector: "app == 'web'" } }), observed('egress', db))).toBe(false);
    expect(decides(allow({}, { source: { notSelector: "app == 'web'" } }), observed('egress', db))).toBe(false);
    expect(decides(allow({}, { source: { ports: [1234] } }), observed('egress', db))).toBe(false);
    expect(decides(allow({}, { source: { serviceAccounts: { names: ['api'] } } }), observed('egress', db))).toBe(false);
  });

  test('labels Calico gives every pod are known (differs from calico-match.ts, which knew none)', () => {
    // libcalico-go/lib/backend/k8s/conversion/workload_endpoint_default.go (release-v3.31): every
    // workload endpoint carries projectcalico.org/namespace and projectcalico.org/orchestrator.
    const rule = allow({}, { source: { selector: "projectcalico.org/namespace == 'shop'" } });
    expect(decides(rule, observed('egress', db))).toBe(true);
    expect(decides(allow({}, { source: { selector: "projectcalico.org/namespace == 'db'" } }), observed('egress', db))).toBe(false);
  });

  test('on ingress the own end is the destination: its ports are the traffic port', () => {
    const rule = { action: 'Allow', protocol: 'TCP', destination: { ports: [443] } };
    expect(decides(rule, observed('ingress', db, 443))).toBe(true);
    expect(decides(rule, observed('ingress', db, 80))).toBe(false);
    expect(decides(rule, observed('ingress', db, null))).toBe(false);
    // A named port may be any number: never certain (felix resolves it per pod).
    expect(decides({ action: 'Allow', protocol: 'TCP', destination: { ports: ['https'] } }, observed('ingress', db, 443))).toBe(false);
    expect(decides({ action: 'Allow', protocol: 'TCP', destination: { notPorts: ['metrics'] } }, observed('ingress', db, 9090))).toBe(
      false,
    );
  });
});

describe('a remote namespace: pod labels unknown but for a workload stable labels; namespace labels as the context knows them', () => {
  test('namespace names are known; other namespace labels only with cluster context', () => {
    expect(decides(allow({ namespaceSelector: "projectcalico.org/name == 'db'" }), observed('egress', db))).toBe(true);
    expect(decides(allow({ namespaceSelector: "projectcalico.org/name in {'a', 'db'}" }), observed('egress', db))).toBe(true);
    expect(decides(allow({ namespaceSelector: "projectcalico.org/name == 'other'" }), observed('egress', db))).toBe(false);
    const team = allow({ namespaceSelector: "team == 'data'" });
    expect(decides(team, observed('egress', db))).toBe(false);
    expect(decides(team, observed('egress', db), context('egress', { labels: { db: { team: 'other' } } }))).toBe(false);
    expect(decides(team, observed('egress', db), context('egress', { labels: { db: { team: 'data' } }, complete: true }))).toBe(true);
    // With complete labels, an absent label is certain.
    const noTeam = allow({ namespaceSelector: '!has(team)' });
    expect(decides(noTeam, observed('egress', db))).toBe(false);
    expect(decides(noTeam, observed('egress', db), context('egress', { complete: true }))).toBe(true);
  });

  test("a pod selector decides a workload's pods on its stable labels only, never a whole namespace", () => {
    const web: Peer = { category: 'Namespace', namespace: 'db', pods: { app: 'web', tier: 'front' } };
    const scoped = (selector: string) => allow({ selector, namespaceSelector: "projectcalico.org/name == 'db'" });
    expect(decides(scoped("app == 'web'"), observed('egress', web))).toBe(true);
    expect(decides(scoped("app == 'web' && tier == 'front'"), observed('egress', web))).toBe(true);
    expect(decides(scoped("app == 'web' && version == '2'"), observed('egress', web))).toBe(false);
    expect(decides(scoped("app == 'api'"), observed('egress', web))).toBe(false);
    expect(decides(scoped("app == 'web'"), observed('egress', db))).toBe(false);
    expect(decides(scoped('all()'), observed('egress', db))).toBe(true);
    // Without a namespaceSelector a selector stays in the policy's namespace.
    expect(decides(allow({ selector: "app == 'web'" }), observed('egress', web))).toBe(false);
    expect(decides(allow({ selector: "app == 'web'" }), observed('egress', { ...web, namespace: 'shop' }))).toBe(true);
  });

  test('a pod address is unknown: nets decide only when they hold every address of the family', () => {
    // Differs from calico-match.ts (no nets ever decided a pod): 0.0.0.0/0 holds every IPv4 pod
    // address (felix/rules/policy.go FilterRuleToIPVersion renders the rule for IPv4 only).
    expect(decides(allow({ nets: ['0.0.0.0/0'] }), observed('egress', db))).toBe(true);
    expect(decides(allow({ nets: ['10.0.0.0/8'] }), observed('egress', db))).toBe(false);
    expect(decides(allow({ notNets: PRIVATE }), observed('egress', db))).toBe(false);
  });
});

describe('network sets: their own labels and the namespace label; nets from the directory', () => {
  const feeds: Peer = { category: 'NetworkSet', name: 'feeds', namespace: 'shop' };
  const known: NetworkSetFacts = { name: 'feeds', namespace: 'shop', labels: { feed: 'intel' }, nets: ['203.0.113.0/24'] };

  test('selected by its known labels, in its namespace', () => {
    const rule = allow({ selector: "feed == 'intel'" });
    expect(decides(rule, observed('egress', feeds), undefined, { sets: [known] })).toBe(true);
    expect(decides(allow({ selector: "feed == 'other'" }), observed('egress', feeds), undefined, { sets: [known] })).toBe(false);
    expect(decides(rule, observed('egress', { ...feeds, labels: { feed: 'intel' } }))).toBe(true);
    expect(
      decides(allow({ selector: "projectcalico.org/namespace == 'shop' && feed == 'intel'" }), observed('egress', feeds), undefined, {
        sets: [known],
      }),
    ).toBe(true);
  });

  test('a set whose labels are unknown is decided by no label selector', () => {
    expect(decides(allow({ selector: "feed == 'intel'" }), observed('egress', feeds))).toBe(false);
    expect(decides(allow({ selector: '!has(feed)' }), observed('egress', feeds))).toBe(false);
  });

  test('all() selects it all the same (differs from calico-match.ts, which answered no for an unknown set)', () => {
    // A rule selector in a namespaced policy selects the endpoints and network sets of its
    // namespace (libcalico-go/lib/backend/syncersv1/updateprocessors/rules.go, release-v3.31, adds
    // the namespace to the selector); all() needs no label of the set.
    expect(decides(allow({ selector: 'all()' }), observed('egress', feeds))).toBe(true);
  });

  test('a global set: only global() selects it, all() namespaces do not', () => {
    const global: Peer = { category: 'NetworkSet', name: 'feeds', namespace: null };
    const sets = [{ ...known, namespace: null }];
    expect(
      decides(allow({ selector: "feed == 'intel'", namespaceSelector: 'global()' }), observed('egress', global), undefined, { sets }),
    ).toBe(true);
    expect(
      decides(allow({ selector: "feed == 'intel'", namespaceSelector: 'all()' }), observed('egress', global), undefined, { sets }),
    ).toBe(false);
    expect(decides(allow({ selector: "feed == 'intel'" }), observed('egress', global), undefined, { sets })).toBe(false);
  });

  test('nets decide a set whose nets the directory knows', () => {
    expect(decides(allow({ nets: ['203.0.0.0/8'] }), observed('egress', feeds), undefined, { sets: [known] })).toBe(true);
    expect(decides(allow({ nets: ['198.51.100.0/24'] }), observed('egress', feeds), undefined, { sets: [known] })).toBe(false);
    expect(decides(allow({ nets: ['203.0.0.0/8'] }), observed('egress', feeds))).toBe(false);
  });
});

describe("addresses: Felix's classes (pub: IPv4 outside RFC 1918, every IPv6)", () => {
  test('public and private', () => {
    expect(decides(allow({ notNets: PRIVATE }), observed('egress', pub))).toBe(true);
    expect(decides(allow({ notNets: ['10.0.0.0/8'] }), observed('egress', pub))).toBe(true);
    expect(decides(allow({ notNets: ['8.8.8.0/24'] }), observed('egress', pub))).toBe(false);
    expect(decides(allow({ nets: PRIVATE }), observed('egress', { category: 'Private' }))).toBe(true);
    expect(decides(allow({ nets: ['10.0.0.0/8'] }), observed('egress', { category: 'Private' }))).toBe(false);
    expect(decides(allow({ nets: PRIVATE }), observed('egress', pub))).toBe(false);
    expect(decides(allow({ selector: 'all()' }), observed('egress', pub))).toBe(false);
    const pub6: Peer = { category: 'Public', ipv6: true };
    expect(decides(allow({ nets: ['::/0'] }), observed('egress', pub6))).toBe(true);
    expect(decides(allow({ notNets: PRIVATE }), observed('egress', pub6))).toBe(false);
    expect(decides(allow({ notNets: ['fc00::/7'] }), observed('egress', pub6))).toBe(false);
  });

  test('every IP family the traffic may have: a pod peer in a dual-stack cluster', () => {
    const dual = { ipFamilies: ['IPv4', 'IPv6'] as const };
    expect(decides(allow({ namespaceSelector: "projectcalico.org/name == 'db'" }), observed('egress', db), undefined, dual)).toBe(true);
    expect(decides(allow({ nets: ['0.0.0.0/0'] }), observed('egress', db), undefined, dual)).toBe(false);
    expect(decides({ ...allow({}), ipVersion: 4 }, observed('egress', db), undefined, dual)).toBe(false);
    expect(decides({ ...allow({}), ipVersion: 4 }, observed('egress', db))).toBe(true);
  });

  test('services by name and namespace (the policy namespace by default); their address is pub', () => {
    const service: Peer = { category: 'Service', name: 'api', namespace: 'shop' };
    const rule = (services: object) => ({ action: 'Allow', protocol: 'TCP', destination: { services } });
    expect(decides(rule({ name: 'api' }), observed('egress', service))).toBe(true);
    expect(decides(rule({ name: 'api', namespace: 'shop' }), observed('egress', service))).toBe(true);
    expect(decides(rule({ name: 'api', namespace: 'other' }), observed('egress', service))).toBe(false);
    expect(decides(rule({ name: 'web' }), observed('egress', service))).toBe(false);
    expect(decides(allow({ notNets: PRIVATE }), observed('egress', service))).toBe(true);
  });

  test('domains (Calico Enterprise): a wildcard stands for one or more labels (differs from calico-match.ts: one label)', () => {
    // docs.tigera.io/security/domain-based-policy: "With a single asterisk in any part of the
    // domain name, it matches 1 or more path components at that position": *.google.com matches
    // www.ipv6.google.com.
    const domain = (d: string): Peer => ({ category: 'Domains', domain: d });
    const rule = (domains: string[]) => allow({ domains });
    const enterprise = { enterprise: true };
    expect(decides(rule(['api.example.com']), observed('egress', domain('api.example.com')), undefined, enterprise)).toBe(true);
    expect(decides(rule(['example.com']), observed('egress', domain('api.example.com')), undefined, enterprise)).toBe(false);
    expect(decides(rule(['*.example.com']), observed('egress', domain('api.example.com')), undefined, enterprise)).toBe(true);
    expect(decides(rule(['*.example.com']), observed('egress', domain('a.b.example.com')), undefined, enterprise)).toBe(true);
    expect(decides(rule(['*.example.com']), observed('egress', domain('example.com')), undefined, enterprise)).toBe(false);
    expect(decides(allow({ notNets: PRIVATE }), observed('egress', domain('api.example.com')), undefined, enterprise)).toBe(true);
  });
});

describe('what flow logs cannot tell never decides', () => {
  test('Log rules, http, icmp; protocols', () => {
    expect(decides({ action: 'Log' }, observed('egress', db))).toBe(false);
    expect(decides({ action: 'Deny' }, observed('egress', db))).toBe(true);
    expect(decides({ action: 'Pass' }, observed('egress', db))).toBe(true);
    expect(decides({ action: 'Allow', protocol: 'TCP', http: { methods: ['GET'] } }, observed('ingress', db))).toBe(false);
    expect(decides({ action: 'Allow', protocol: 'ICMP', icmp: { type: 8 } }, observed('egress', db, null, 'ICMP'))).toBe(false);
    expect(decides({ action: 'Allow', protocol: 'ICMP' }, observed('egress', db, null, 'ICMP'))).toBe(true);
    expect(decides({ action: 'Allow', protocol: 'UDP' }, observed('egress', db))).toBe(false);
    expect(decides({ action: 'Allow', notProtocol: 'TCP' }, observed('egress', db))).toBe(false);
    expect(decides({ action: 'Allow', notProtocol: 'UDP' }, observed('egress', db))).toBe(true);
  });

  test('a rule Calico would refuse decides nothing', () => {
    // Ports need a protocol with ports (libcalico-go/lib/validator/v3/validator.go validateRule).
    expect(decides({ action: 'Allow', destination: { ports: [443] } }, observed('egress', db))).toBe(false);
    expect(decides({ action: 'Allow', protocol: 'TCP', destination: { bogus: 1 } }, observed('egress', db))).toBe(false);
    expect(decides('not a rule', observed('egress', db))).toBe(false);
  });
});

describe('Kubernetes rules: through Calico conversion (simulate/kubernetes-policy.ts) and the same interpreter', () => {
  const k8s = (ipFamilies: readonly IpFamily[] = ['IPv4']) => kubernetesFlavor({ ipFamilies });
  const matches = (rule: unknown, atom: ObservedAtom, ctx = context(atom.atom.direction), families?: readonly IpFamily[]) => {
    const flavor = k8s(families);
    return flavor.matches(flavor.parse(rule), atom, ctx);
  };
  const to = (peers: object[], ports?: object[]) => ({ to: peers, ...(ports ? { ports } : {}) });

  test('a namespaceSelector alone selects every pod of the namespace (podSelector defaults to the orchestrator label)', () => {
    const rule = to([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'db' } } }]);
    expect(matches(rule, observed('egress', db))).toBe(true);
    expect(matches(rule, observed('egress', { category: 'Namespace', namespace: 'other' }))).toBe(false);
    expect(matches(to([{ namespaceSelector: {} }]), observed('egress', db))).toBe(true);
    expect(matches(to([{ podSelector: {} }]), observed('egress', db))).toBe(false);
    expect(matches(to([{ podSelector: {} }]), observed('egress', { category: 'Namespace', namespace: 'shop' }))).toBe(true);
    expect(
      matches(to([{ podSelector: { matchLabels: { app: 'web' } } }]), observed('egress', { category: 'Namespace', namespace: 'shop' })),
    ).toBe(false);
    const team = to([{ namespaceSelector: { matchLabels: { team: 'data' } } }]);
    expect(matches(team, observed('egress', db), context('egress', { labels: { db: { team: 'other' } } }))).toBe(false);
    expect(matches(team, observed('egress', db), context('egress', { labels: { db: { team: 'data' } }, complete: true }))).toBe(true);
  });

  test('ports: protocol, number, range; none at all is every protocol', () => {
    const peer = [{ namespaceSelector: {} }];
    expect(matches(to(peer, [{ protocol: 'TCP', port: 443 }]), observed('egress', db, 443))).toBe(true);
    expect(matches(to(peer, [{ protocol: 'TCP', port: 443 }]), observed('egress', db, 80))).toBe(false);
    expect(matches(to(peer, [{ port: 443 }]), observed('egress', db, 443, 'UDP'))).toBe(false);
    expect(matches(to(peer, [{ protocol: 'TCP', port: 8000, endPort: 9000 }]), observed('egress', db, 8443))).toBe(true);
    expect(matches(to(peer, [{ protocol: 'TCP', port: 'https' }]), observed('egress', db, 443))).toBe(false);
    expect(matches(to(peer, [{ protocol: 'TCP' }]), observed('egress', db, null))).toBe(true);
    expect(matches(to(peer), observed('egress', db, null, 'ICMP'))).toBe(true);
    expect(matches({}, observed('egress', pub))).toBe(true);
  });

  test('ipBlocks: what Felix reports as public or private', () => {
    const publicV4 = to([{ ipBlock: { cidr: '0.0.0.0/0', except: PRIVATE } }]);
    expect(matches(publicV4, observed('egress', pub))).toBe(true);
    expect(matches(publicV4, observed('egress', { category: 'Private' }))).toBe(false);
    expect(matches(publicV4, observed('egress', { category: 'Public', ipv6: true }))).toBe(false);
    expect(matches(to(PRIVATE.map((cidr) => ({ ipBlock: { cidr } }))), observed('egress', { category: 'Private' }))).toBe(true);
    expect(matches(to([{ ipBlock: { cidr: '10.0.0.0/8' } }]), observed('egress', { category: 'Private' }))).toBe(false);
    expect(matches(to([{ ipBlock: { cidr: '0.0.0.0/0', except: ['8.8.8.0/24'] } }]), observed('egress', pub))).toBe(false);
  });
});
