// The boundary for Cilium policies: an untyped YAML object becomes a CiliumPolicy (types.ts) or a
// list of located problems. What is rejected is what Cilium's CRD schema (the kubebuilder markers
// of pkg/policy/api/*.go) or its validation (pkg/policy/api/rule_validation.go, Rule.Sanitize)
// rejects, read in the Cilium trees cilium/cilium-cli vendors at v0.16.14 (= Cilium v1.16.0) and
// v0.19.7 (main, 1.20-dev); where they differ, the stricter rule is named with its release.

import { z } from 'zod';
import { isDnsLabel, isDnsSubdomain, isLabelKey, isLabelValue } from '../calico/names.ts';
import { cidrContains, parseCidr } from '../calico/nets.ts';
import { type ConfigIssue, configIssues, inOurWords } from '../config/config-error.ts';
import { parseSelectorKey } from './labels.ts';
import {
  type CidrRule,
  type CiliumPolicy,
  ENTITIES,
  type EndpointSelector,
  type FqdnSelector,
  type IcmpField,
  L4_PROTOCOLS,
  type PeerRule,
  type PortProtocol,
  type PortRule,
  type Requirement,
  type Rule,
  type ServiceRef,
} from './types.ts';

export type ParsedPolicy =
  | { readonly ok: true; readonly policy: CiliumPolicy }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** `maxPorts` and `maxICMPFields` (rule_validation.go, v1.16.0 and main; CRD MaxItems=40). */
const MAX_PORTS = 40;
const MAX_ICMP_FIELDS = 40;
/** FQDN selectors: CRD MaxLength=255 and the patterns of pkg/policy/api/fqdn.go (v1.16.0 and main). */
const MATCH_NAME = /^([-a-zA-Z0-9_]+[.]?)+$/;
const MATCH_PATTERN = /^([-a-zA-Z0-9_*]+[.]?)+$/;
/** pkg/iana/svcname.go IsSvcName (v1.16.0 and main): 1-15 characters, a letter, no doubled `-`. */
const SVC_NAME = /^([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$/;
/** CIDRGroupRef: CRD MaxLength=253 and a DNS-1123 subdomain (pkg/policy/api/cidr.go). */
const MAX_TEXT = 1024;

/** ICMP type names (pkg/policy/api/icmp.go icmpIpv4TypeNameToCode / icmpIpv6TypeNameToCode, v1.16.0 and main). */
const ICMP_V4: Readonly<Record<string, number>> = {
  EchoReply: 0,
  DestinationUnreachable: 3,
  Redirect: 5,
  Echo: 8,
  EchoRequest: 8,
  RouterAdvertisement: 9,
  RouterSelection: 10,
  TimeExceeded: 11,
  ParameterProblem: 12,
  Timestamp: 13,
  TimestampReply: 14,
  Photuris: 40,
  ExtendedEchoRequest: 42,
  ExtendedEchoReply: 43,
};
const ICMP_V6: Readonly<Record<string, number>> = {
  DestinationUnreachable: 1,
  PacketTooBig: 2,
  TimeExceeded: 3,
  ParameterProblem: 4,
  EchoRequest: 128,
  EchoReply: 129,
  MulticastListenerQuery: 130,
  MulticastListenerReport: 131,
  MulticastListenerDone: 132,
  RouterSolicitation: 133,
  RouterAdvertisement: 134,
  NeighborSolicitation: 135,
  NeighborAdvertisement: 136,
  RedirectMessage: 137,
  RouterRenumbering: 138,
  ICMPNodeInformationQuery: 139,
  ICMPNodeInformationResponse: 140,
  InverseNeighborDiscoverySolicitation: 141,
  InverseNeighborDiscoveryAdvertisement: 142,
  HomeAgentAddressDiscoveryRequest: 144,
  HomeAgentAddressDiscoveryReply: 145,
  MobilePrefixSolicitation: 146,
  MobilePrefixAdvertisement: 147,
  DuplicateAddressRequestCodeSuffix: 157,
  DuplicateAddressConfirmationCodeSuffix: 158,
  ExtendedEchoRequest: 160,
  ExtendedEchoReply: 161,
};

const text = z.string().max(MAX_TEXT);

/** A selector key: `[source:]key`, the key a Kubernetes qualified name (reserved keys may be empty-valued). */
const selectorKey = z
  .string()
  .max(MAX_TEXT)
  .refine((k) => {
    const { key } = parseSelectorKey(k);
    return isLabelKey(key);
  }, 'not a label key ([source:]name, the name a Kubernetes qualified name)');

const labelValue = z
  .string()
  .refine(isLabelValue, 'not a label value (at most 63 of letters, digits, "-", "_", ".", alphanumeric at both ends)');

const labelSelectorSchema = z.strictObject({
  matchLabels: z.record(selectorKey, labelValue).optional(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: selectorKey,
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(labelValue).max(MAX_TEXT).optional(),
      }),
    )
    .max(MAX_TEXT)
    .optional(),
});

const portProtocolSchema = z.strictObject({
  port: z.union([z.string().max(64), z.number()]).optional(),
  endPort: z.number().int().min(0).max(65535).optional(),
  protocol: z.enum(L4_PROTOCOLS).optional(),
});

const fqdnSchema = z.strictObject({ matchName: z.string().max(255).optional(), matchPattern: z.string().max(255).optional() });

const l7Schema = z.strictObject({
  http: z
    .array(
      z.strictObject({
        method: text.optional(),
        path: text.optional(),
        host: text.optional(),
        headers: z.array(text).optional(),
        headerMatches: z.array(z.unknown()).optional(),
      }),
    )
    .optional(),
  kafka: z.array(z.record(z.string(), z.unknown())).optional(),
  dns: z.array(fqdnSchema).optional(),
  l7proto: text.optional(),
  l7: z.array(z.record(z.string(), z.string())).optional(),
});

const portRuleSchema = z.strictObject({
  ports: z.array(portProtocolSchema).optional(),
  rules: l7Schema.optional(),
  serverNames: z.array(text).optional(),
  terminatingTLS: z.unknown().optional(),
  originatingTLS: z.unknown().optional(),
  listener: z.unknown().optional(),
});

const portDenyRuleSchema = z.strictObject({ ports: z.array(portProtocolSchema).optional() });

const icmpSchema = z.strictObject({
  fields: z
    .array(z.strictObject({ family: z.enum(['IPv4', 'IPv6']).optional(), type: z.union([z.number(), z.string().max(64)]) }))
    .optional(),
});

const cidrRuleSchema = z.strictObject({
  cidr: z.string().max(64).optional(),
  except: z.array(z.string().max(64)).optional(),
  cidrGroupRef: z.string().max(253).optional(),
  cidrGroupSelector: labelSelectorSchema.optional(),
});

const serviceSchema = z.strictObject({
  k8sService: z.strictObject({ serviceName: text.optional(), namespace: text.optional() }).optional(),
  k8sServiceSelector: z.strictObject({ selector: labelSelectorSchema, namespace: text.optional() }).optional(),
});

const selectors = z.array(labelSelectorSchema).max(MAX_TEXT);
const cidrs = z.array(z.string().max(64)).max(MAX_TEXT);
const entities = z.array(z.enum(ENTITIES)).max(MAX_TEXT);

const ingressCommon = {
  fromEndpoints: selectors.optional(),
  fromRequires: selectors.optional(),
  fromCIDR: cidrs.optional(),
  fromCIDRSet: z.array(cidrRuleSchema).optional(),
  fromEntities: entities.optional(),
  fromNodes: selectors.optional(),
  fromGroups: z.array(z.unknown()).optional(),
  icmps: z.array(icmpSchema).optional(),
};
const egressCommon = {
  toEndpoints: selectors.optional(),
  toRequires: selectors.optional(),
  toCIDR: cidrs.optional(),
  toCIDRSet: z.array(cidrRuleSchema).optional(),
  toEntities: entities.optional(),
  toServices: z.array(serviceSchema).optional(),
  toNodes: selectors.optional(),
  toGroups: z.array(z.unknown()).optional(),
  icmps: z.array(icmpSchema).optional(),
};
const authentication = z.strictObject({ mode: z.enum(['disabled', 'required', 'test-always-fail']) });

const ruleSchema = z.strictObject({
  endpointSelector: labelSelectorSchema.optional(),
  nodeSelector: labelSelectorSchema.optional(),
  ingress: z
    .array(z.strictObject({ ...ingressCommon, toPorts: z.array(portRuleSchema).optional(), authentication: authentication.optional() }))
    .optional(),
  ingressDeny: z.array(z.strictObject({ ...ingressCommon, toPorts: z.array(portDenyRuleSchema).optional() })).optional(),
  egress: z
    .array(
      z.strictObject({
        ...egressCommon,
        toFQDNs: z.array(fqdnSchema).optional(),
        toPorts: z.array(portRuleSchema).optional(),
        authentication: authentication.optional(),
      }),
    )
    .optional(),
  egressDeny: z.array(z.strictObject({ ...egressCommon, toPorts: z.array(portDenyRuleSchema).optional() })).optional(),
  enableDefaultDeny: z.strictObject({ ingress: z.boolean().optional(), egress: z.boolean().optional() }).optional(),
  description: text.optional(),
  labels: z.array(z.unknown()).optional(),
  log: z.strictObject({ value: z.string().max(32) }).optional(),
});

const documentSchema = z.object({
  apiVersion: z.literal('cilium.io/v2'),
  kind: z.enum(['CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy']),
  metadata: z.object({
    name: z.string().refine(isDnsSubdomain, 'a policy name is a DNS subdomain (lowercase letters, digits, "-", ".")'),
    namespace: z.string().refine(isDnsLabel, 'a namespace is a DNS label (lowercase letters, digits, "-")').optional(),
  }),
  spec: ruleSchema.optional(),
  specs: z.array(ruleSchema).max(MAX_TEXT).optional(),
});

type RawSelector = z.infer<typeof labelSelectorSchema>;
type RawRule = z.infer<typeof ruleSchema>;
type RawPortProtocol = z.infer<typeof portProtocolSchema>;
type RawPeerRule = NonNullable<RawRule['ingress']>[number] &
  NonNullable<RawRule['egress']>[number] & { toPorts?: z.infer<typeof portRuleSchema>[] };

export interface ParseOptions {
  /** The namespace a CiliumNetworkPolicy without metadata.namespace is applied to (as `kubectl apply -n`); none = required. */
  readonly defaultNamespace?: string;
}

/** Validates one YAML object as a CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy. */
export function parseCiliumPolicy(input: unknown, options: ParseOptions = {}): ParsedPolicy {
  const parsed = documentSchema.safeParse(input, { error: inOurWords });
  if (!parsed.success) return { ok: false, issues: configIssues(parsed.error, documentSchema) };
  const doc = parsed.data;
  const issues: ConfigIssue[] = [];
  const clusterwide = doc.kind === 'CiliumClusterwideNetworkPolicy';
  const namespace = clusterwide ? null : (doc.metadata.namespace ?? options.defaultNamespace ?? null);
  if (!clusterwide && namespace === null)
    issues.push({ path: 'metadata.namespace', message: 'required: a CiliumNetworkPolicy is namespaced' });
  // [MAIN] CRD x-kubernetes-validations "spec or specs must be provided".
  if (doc.spec === undefined && (doc.specs === undefined || doc.specs.length === 0))
    issues.push({ path: 'spec', message: 'spec or specs must be provided' });
  const raw: [string, RawRule][] = [
    ...(doc.spec === undefined ? [] : [['spec', doc.spec] as [string, RawRule]]),
    ...(doc.specs ?? []).map((r, i): [string, RawRule] => [`specs.${i}`, r]),
  ];
  const rules = raw.map(([path, r]) => rule(r, path, clusterwide, issues));
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, policy: { kind: doc.kind, name: doc.metadata.name, namespace, rules } };
}

function rule(r: RawRule, path: string, clusterwide: boolean, issues: ConfigIssue[]): Rule {
  const at = (sub: string, message: string) => issues.push({ path: `${path}.${sub}`, message });
  // rule_validation.go Rule.Sanitize (v1.16.0 and main).
  if (r.endpointSelector === undefined && r.nodeSelector === undefined)
    at('endpointSelector', 'rule must have one of endpointSelector or nodeSelector');
  if (r.endpointSelector !== undefined && r.nodeSelector !== undefined)
    at('nodeSelector', 'rule cannot have both endpointSelector and nodeSelector');
  // pkg/k8s/apis/cilium.io/v2/cnp_types.go (v1.16.0): "Invalid CiliumNetworkPolicy spec: rule cannot have NodeSelector".
  if (!clusterwide && r.nodeSelector !== undefined)
    at('nodeSelector', 'a CiliumNetworkPolicy cannot have a nodeSelector (only a clusterwide one)');
  // [MAIN] rule_validation.go: "rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny" (1.16 accepted such a rule, without effect).
  if (!r.ingress?.length && !r.ingressDeny?.length && !r.egress?.length && !r.egressDeny?.length)
    at('ingress', 'rule must have at least one of ingress, ingressDeny, egress, egressDeny');
  const peers = (list: readonly RawPeerRule[] | undefined, name: string, ingress: boolean, deny: boolean) =>
    list?.map((p, i) => peerRule(p, `${path}.${name}.${i}`, ingress, deny, issues));
  return {
    ...(r.endpointSelector === undefined ? {} : { endpointSelector: selector(r.endpointSelector, `${path}.endpointSelector`, issues) }),
    ...(r.nodeSelector === undefined ? {} : { nodeSelector: selector(r.nodeSelector, `${path}.nodeSelector`, issues) }),
    ...optional('ingress', peers(r.ingress as RawPeerRule[] | undefined, 'ingress', true, false)),
    ...optional('ingressDeny', peers(r.ingressDeny as RawPeerRule[] | undefined, 'ingressDeny', true, true)),
    ...optional('egress', peers(r.egress as RawPeerRule[] | undefined, 'egress', false, false)),
    ...optional('egressDeny', peers(r.egressDeny as RawPeerRule[] | undefined, 'egressDeny', false, true)),
    enableDefaultDeny: r.enableDefaultDeny ?? {},
    ...optional('description', r.description),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function selector(raw: RawSelector, path: string, issues: ConfigIssue[]): EndpointSelector {
  const requirements: Requirement[] = [];
  for (const [key, value] of Object.entries(raw.matchLabels ?? {}))
    requirements.push({ key: parseSelectorKey(key), operator: 'In', values: [value], fromMatchLabels: true });
  (raw.matchExpressions ?? []).forEach((e, i) => {
    const values = e.values ?? [];
    // Kubernetes' LabelSelector rules (apimachinery ValidateLabelSelectorRequirement), which the
    // selector's conversion to a labels.Selector applies: In/NotIn need values, Exists/DoesNotExist none.
    if ((e.operator === 'In' || e.operator === 'NotIn') && values.length === 0)
      issues.push({ path: `${path}.matchExpressions.${i}.values`, message: `${e.operator} needs at least one value` });
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && values.length > 0)
      issues.push({ path: `${path}.matchExpressions.${i}.values`, message: `${e.operator} takes no values` });
    requirements.push({ key: parseSelectorKey(e.key), operator: e.operator, values, fromMatchLabels: false });
  });
  return { requirements };
}

const L3_INGRESS = ['fromEndpoints', 'fromCIDR', 'fromCIDRSet', 'fromEntities', 'fromNodes', 'fromGroups'] as const;
const L3_EGRESS = ['toEndpoints', 'toCIDR', 'toCIDRSet', 'toEntities', 'toServices', 'toNodes', 'toGroups', 'toFQDNs'] as const;

function peerRule(p: RawPeerRule, path: string, ingress: boolean, deny: boolean, issues: ConfigIssue[]): PeerRule {
  const raw = p as Record<string, unknown[] | undefined>;
  const at = (sub: string, message: string) => issues.push({ path: `${path}.${sub}`, message });
  // IngressCommonRule.sanitize / EgressCommonRule.sanitize: "combining %s and %s is not supported yet".
  const present = (ingress ? L3_INGRESS : L3_EGRESS).filter((k) => (raw[k]?.length ?? 0) > 0);
  if (present.length > 1) at(present[1]!, `combining ${present[0]} and ${present[1]} is not supported: write them as separate rules`);
  const prefix = ingress ? 'from' : 'to';
  const toPorts = p.toPorts;
  const icmps = p.icmps;
  // errUnsupportedICMPWithToPorts (v1.16.0 and main).
  if ((icmps?.length ?? 0) > 0 && (toPorts?.length ?? 0) > 0)
    at('icmps', 'the icmps block may only be present without toPorts: define a separate rule to use toPorts');
  const cidr = (ingress ? p.fromCIDR : p.toCIDR)?.map((c, i) => {
    // CIDR.sanitize ([MAIN] netip.ParsePrefix) and the CRD's pattern: an address with its prefix length.
    if (parseRuleCidr(c) === null) at(`${prefix}CIDR.${i}`, 'not a CIDR (address/prefix length)');
    return c;
  });
  const cidrSet = (ingress ? p.fromCIDRSet : p.toCIDRSet)?.map((c, i) => cidrRule(c, `${path}.${prefix}CIDRSet.${i}`, issues));
  const sel = (list: RawSelector[] | undefined, name: string) => list?.map((s, i) => selector(s, `${path}.${name}.${i}`, issues));
  const icmpFields = icmps?.flatMap((r, i) => {
    const fields = r.fields ?? [];
    if (fields.length > MAX_ICMP_FIELDS) at(`icmps.${i}.fields`, `too many types, the max is ${MAX_ICMP_FIELDS}`);
    return fields.map((f, j) => icmpField(f, `${path}.icmps.${i}.fields.${j}`, issues));
  });
  const ports = toPorts?.map((r, i) => portRule(r, `${path}.toPorts.${i}`, ingress, deny, issues));
  const fqdns = ingress || deny ? undefined : p.toFQDNs?.map((f, i) => fqdn(f, `${path}.toFQDNs.${i}`, issues));
  const services = ingress ? undefined : p.toServices?.map((s, i) => service(s, `${path}.toServices.${i}`, issues));
  return {
    ...optional('cidr', cidr),
    ...optional('cidrSet', cidrSet),
    ...optional('entities', ingress ? p.fromEntities : p.toEntities),
    ...optional('endpoints', sel(ingress ? p.fromEndpoints : p.toEndpoints, `${prefix}Endpoints`)),
    ...optional('requires', sel(ingress ? p.fromRequires : p.toRequires, `${prefix}Requires`)),
    ...optional('nodes', sel(ingress ? p.fromNodes : p.toNodes, `${prefix}Nodes`)),
    ...optional('groups', ingress ? p.fromGroups : p.toGroups),
    ...optional('services', services),
    ...optional('fqdns', fqdns),
    ...optional('toPorts', ports),
    ...optional('icmps', icmpFields),
    ...optional('authentication', p.authentication),
  };
}

/** An address with an explicit prefix length, host bits allowed (Go's netip.ParsePrefix). */
function parseRuleCidr(c: string): ReturnType<typeof parseCidr> {
  return /^[0-9a-fA-F:.]+\/\d{1,3}$/.test(c) ? parseCidr(c) : null;
}

function cidrRule(c: z.infer<typeof cidrRuleSchema>, path: string, issues: ConfigIssue[]): CidrRule {
  const at = (sub: string, message: string) => issues.push({ path: sub === '' ? path : `${path}.${sub}`, message });
  // CIDRRule.sanitize ([MAIN]; cidr and cidrGroupRef in 1.16, cidrGroupSelector from 1.17).
  const set = [c.cidr, c.cidrGroupRef, c.cidrGroupSelector].filter((x) => x !== undefined && x !== '').length;
  if (set === 0) at('', 'one of cidr, cidrGroupRef, or cidrGroupSelector is required');
  if (set > 1) at('', 'more than one of cidr, cidrGroupRef, or cidrGroupSelector may not be set');
  if (c.cidrGroupRef !== undefined) {
    if (!isDnsSubdomain(c.cidrGroupRef)) at('cidrGroupRef', 'a CiliumCIDRGroup name is a DNS subdomain');
    if (c.except?.length) at('except', 'using except together with cidrGroupRef is not supported');
    return { cidrGroupRef: c.cidrGroupRef };
  }
  if (c.cidrGroupSelector !== undefined) return { cidrGroupSelector: selector(c.cidrGroupSelector, `${path}.cidrGroupSelector`, issues) };
  const outer = parseRuleCidr(c.cidr ?? '');
  if (outer === null) at('cidr', 'not a CIDR (address/prefix length)');
  (c.except ?? []).forEach((e, i) => {
    const inner = parseRuleCidr(e);
    if (inner === null) at(`except.${i}`, 'not a CIDR (address/prefix length)');
    // "allow CIDR prefix %s does not contain exclude CIDR prefix %s" (same family included).
    else if (outer !== null && !cidrContains(outer, inner)) at(`except.${i}`, 'the allowed CIDR does not contain this excluded CIDR');
  });
  return { cidr: c.cidr ?? '', except: c.except ?? [] };
}

function fqdn(f: z.infer<typeof fqdnSchema>, path: string, issues: ConfigIssue[]): FqdnSelector {
  // FQDNSelector.sanitize (pkg/policy/api/fqdn.go, v1.16.0 and main).
  if (f.matchName !== undefined && f.matchPattern !== undefined)
    issues.push({ path, message: 'only one of matchName or matchPattern is allowed' });
  if (f.matchName !== undefined) {
    if (!MATCH_NAME.test(f.matchName))
      issues.push({ path: `${path}.matchName`, message: 'only letters, digits, "-", "_" and "." are allowed' });
    return { matchName: f.matchName };
  }
  if (f.matchPattern === undefined || !MATCH_PATTERN.test(f.matchPattern))
    issues.push({
      path: `${path}.matchPattern`,
      message: 'a matchName or a matchPattern of letters, digits, "-", "_", "." and "*" is required',
    });
  return { matchPattern: f.matchPattern ?? '' };
}

function service(s: z.infer<typeof serviceSchema>, path: string, issues: ConfigIssue[]): ServiceRef {
  if (s.k8sService !== undefined)
    return { k8sService: { serviceName: s.k8sService.serviceName ?? '', ...optional('namespace', s.k8sService.namespace) } };
  if (s.k8sServiceSelector !== undefined)
    return {
      k8sServiceSelector: {
        selector: selector(s.k8sServiceSelector.selector, `${path}.k8sServiceSelector.selector`, issues),
        ...optional('namespace', s.k8sServiceSelector.namespace),
      },
    };
  issues.push({ path, message: 'one of k8sService or k8sServiceSelector is required' });
  return { k8sService: { serviceName: '' } };
}

function icmpField(f: { family?: 'IPv4' | 'IPv6' | undefined; type: number | string }, path: string, issues: ConfigIssue[]): IcmpField {
  const family = f.family ?? 'IPv4';
  // CRD pattern: 0-255 or a CamelCase name of the family's table.
  const n =
    typeof f.type === 'number' ? f.type : /^\d{1,3}$/.test(f.type) ? Number(f.type) : (family === 'IPv4' ? ICMP_V4 : ICMP_V6)[f.type];
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > 255) {
    issues.push({ path: `${path}.type`, message: `not an ICMP type of ${family} (0-255 or a name such as EchoRequest)` });
    return { family, type: -1 };
  }
  return { family, type: n };
}

function portRule(r: z.infer<typeof portRuleSchema>, path: string, ingress: boolean, deny: boolean, issues: ConfigIssue[]): PortRule {
  const at = (sub: string, message: string) => issues.push({ path: `${path}.${sub}`, message });
  const raw = r.ports ?? [];
  // PortRule.sanitize (rule_validation.go, v1.16.0 and main).
  if (raw.length > MAX_PORTS) at('ports', `too many ports, the max is ${MAX_PORTS}`);
  const rules = r.rules;
  const types = rules === undefined ? [] : (['http', 'kafka', 'dns', 'l7proto', 'l7'] as const).filter((k) => rules[k] !== undefined);
  const dns = (rules?.dns?.length ?? 0) > 0;
  const l7 = rules !== undefined && types.some((k) => k !== 'l7proto' && (rules[k] as unknown[]).length > 0);
  const ports = raw.map((pp, i) => portProtocol(pp, `${path}.ports.${i}`, dns, issues));
  if (!deny) {
    if (ingress && dns) at('rules.dns', 'DNS rules are not allowed on ingress');
    if (types.length > 1) at('rules', 'multiple L7 protocol rule types specified in a single rule');
    if (dns && raw.length === 0) at('ports', 'DNS rules need a port (53)');
    if (l7 && !dns)
      ports.forEach((p, i) => {
        if (p.protocol !== 'TCP') at(`ports.${i}.protocol`, `L7 rules can only apply to TCP (not ${p.protocol}) except for DNS rules`);
      });
    if (l7 && ports.some((p) => p.port === 0)) at('ports', 'L7 rules can not be used when a port is 0');
    if ((r.serverNames?.length ?? 0) > 0 && l7 && r.terminatingTLS === undefined)
      at('serverNames', 'serverNames are not allowed with L7 rules without TLS termination');
    if (r.listener !== undefined && ingress) at('listener', 'a listener is not allowed on ingress');
    if (r.listener !== undefined && l7) at('listener', 'a listener is not allowed with L7 rules');
  }
  (rules?.dns ?? []).forEach((f, i) => {
    fqdn(f, `${path}.rules.dns.${i}`, issues);
  });
  if (deny) return { ports };
  const out: PortRule = {
    ports,
    ...optional('rules', rules as PortRule['rules']),
    ...optional('serverNames', r.serverNames),
    ...optional('terminatingTLS', r.terminatingTLS),
    ...optional('originatingTLS', r.originatingTLS),
    ...optional('listener', r.listener),
  };
  return out;
}

function portProtocol(pp: RawPortProtocol, path: string, dns: boolean, issues: ConfigIssue[]): PortProtocol {
  const at = (sub: string, message: string) => issues.push({ path: `${path}.${sub}`, message });
  const protocol = pp.protocol ?? 'ANY';
  const extended = !['TCP', 'UDP', 'SCTP', 'ANY'].includes(protocol);
  const rawPort = pp.port === undefined ? '' : String(pp.port);
  let port: number | string = 0;
  if (rawPort === '') {
    // "port must be specified", unless an extended IP protocol (main, --enable-extended-ip-protocols).
    if (!extended) at('port', 'required: a port number or name');
  } else if (SVC_NAME.test(rawPort) && rawPort.length <= 15) {
    // iana.IsSvcName first: the name is lower-cased (rule_validation.go PortProtocol.sanitize).
    port = rawPort.toLowerCase();
    if (pp.endPort !== undefined) at('endPort', 'port ranges are not supported with named ports');
  } else if (/^(0|[1-9]\d{0,4})$/.test(rawPort) && Number(rawPort) <= 65535) {
    // Decimal only: Go's strconv.ParseUint(port, 0, 16) reads a leading 0 as octal.
    port = Number(rawPort);
    if (extended && port !== 0) at('port', 'must be empty or 0 for this protocol');
    if (dns && pp.endPort !== undefined && pp.endPort > port) at('endPort', 'DNS rules do not support port ranges');
  } else at('port', 'not a port number (0-65535) or name');
  const endPort = typeof port === 'number' && pp.endPort !== undefined && pp.endPort > port ? pp.endPort : null;
  return { port, endPort, protocol };
}
