// Validates Calico `projectcalico.org/v3` objects the way a cluster would: the CRDs' OpenAPI
// schemas (vendored in test/fixtures/calico-crds) compiled with ajv, plus, by hand,
// what ajv cannot run: the CRDs' `x-kubernetes-validations` CEL rules, Calico's own validator rules
// (shared/reference/calico.md section 3), ObjectMeta, and our naming scheme (`<tier>.<name>`).
//
// Schema emulation of the API server:
// - unknown fields are errors (kubectl's default `--validate=strict`, i.e. server-side strict field
//   validation): every object schema with `properties` and no `additionalProperties` gets
//   `additionalProperties: false`. Calico Enterprise's `destination.domains` is such a field.
// - `x-kubernetes-list-type: set` rejects duplicates, `map` rejects duplicate keys.
// - `x-kubernetes-int-or-string` is left to the schema's own `anyOf: [integer, string]`.
//
// Independent of src/ on purpose: this is the oracle the recommender's output is judged by.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { readdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Calico's v3 CRDs, vendored so that a clone's tests are self-contained (see the README there). */
export const CRD_DIR = join(REPO_ROOT, 'test', 'fixtures', 'calico-crds');
/** The team's shared copy, when present beside the checkout: the vendored copy must match it. */
export const SHARED_CRD_DIR = join(REPO_ROOT, '..', 'shared', 'calico-crds');

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// Name syntax (Kubernetes apimachinery)

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

export const isDnsLabel = (s: string): boolean => s.length <= 63 && DNS_LABEL.test(s);
export const isDnsSubdomain = (s: string): boolean => s.length <= 253 && DNS_SUBDOMAIN.test(s);

/** A label or annotation key: optional DNS-subdomain prefix and `/`, then a name of up to 63 characters. */
export function isQualifiedName(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1]!;
  if (parts.length === 2 && !(parts[0]!.length > 0 && isDnsSubdomain(parts[0]!))) return false;
  return name.length > 0 && name.length <= 63 && QUALIFIED_NAME_PART.test(name);
}

export const isLabelValue = (s: string): boolean => s.length <= 63 && LABEL_VALUE.test(s);

/** A CIDR (`addr/prefix`) with a valid prefix length and no host bits set. */
export function isCanonicalCidr(text: string): boolean {
  return isCidr(text, true);
}

/** A CIDR (`addr/prefix`) with a valid prefix length; `canonical`: no host bits set either. */
export function isCidr(text: string, canonical = false): boolean {
  const slash = text.indexOf('/');
  if (slash === -1) return false;
  const addr = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return false;
  const version = isIP(addr);
  if (version === 0) return false;
  const bits = version === 4 ? 32 : 128;
  const prefix = Number(prefixText);
  if (prefix > bits) return false;
  if (!canonical) return true;
  const value = version === 4 ? ipv4ToBigInt(addr) : ipv6ToBigInt(addr);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  return (value & hostMask) === 0n;
}

/** What Calico accepts in `nets`: a CIDR (host bits are masked off) or a bare IP address. */
function isCalicoNet(text: string): boolean {
  return isIP(text) !== 0 || isCidr(text);
}

function ipv4ToBigInt(addr: string): bigint {
  return addr.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6ToBigInt(addr: string): bigint {
  let text = addr;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4ToBigInt(v4[1]!);
    text = `${text.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const hextets = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return hextets.reduce((acc, h) => (acc << 16n) | BigInt(parseInt(h, 16)), 0n);
}

// ---------------------------------------------------------------------------------------------
// The CRDs

interface KindSchema {
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespaced: boolean;
  readonly validate: ValidateFunction;
}

const K8S_KEYWORDS = [
  'x-kubernetes-validations',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
];

function createAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true, verbose: true });
  for (const keyword of K8S_KEYWORDS) ajv.addKeyword({ keyword });
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-type',
    type: 'array',
    schemaType: 'string',
    validate: (listType: string, data: unknown[], parentSchema?: Obj) => {
      if (listType === 'set') return new Set(data.map((d) => JSON.stringify(d))).size === data.length;
      if (listType === 'map') {
        const keys = (parentSchema?.['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [];
        const ids = data.map((d) => JSON.stringify(keys.map((k) => (isObj(d) ? d[k] : undefined))));
        return new Set(ids).size === ids.length;
      }
      return true; // atomic
    },
  });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/);
  return ajv;
}

/** A copy of a structural schema in which unknown fields are errors (strict field validation). */
export function strictSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (!isObj(schema)) return schema;
  const out: Obj = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'description') continue;
    if (key === 'properties' && isObj(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, strictSchema(sub)]));
    } else if (key === 'items' || key === 'additionalProperties' || key === 'not') {
      out[key] = strictSchema(value);
    } else if (key === 'anyOf' || key === 'allOf' || key === 'oneOf') {
      out[key] = (value as unknown[]).map(strictSchema);
    } else {
      out[key] = value;
    }
  }
  if (isObj(out['properties']) && !('additionalProperties' in out) && out['x-kubernetes-preserve-unknown-fields'] !== true) {
    out['additionalProperties'] = false;
  }
  return out;
}

let loaded: Map<string, KindSchema> | null = null;

/** The CRDs by kind, compiled once. */
export function calicoKinds(): ReadonlyMap<string, KindSchema> {
  if (loaded !== null) return loaded;
  let files: string[];
  try {
    files = readdirSync(CRD_DIR).filter((f) => /\.ya?ml$/.test(f));
  } catch (e) {
    throw new Error(`Calico CRDs not found at ${CRD_DIR}: ${(e as Error).message}`);
  }
  const ajv = createAjv();
  const kinds = new Map<string, KindSchema>();
  for (const file of files.sort()) {
    const crd = parseYaml(readFileSync(join(CRD_DIR, file), 'utf8')) as Obj;
    const spec = crd['spec'] as Obj;
    const names = spec['names'] as Obj;
    const versions = spec['versions'] as Obj[];
    const version = versions.find((v) => v['storage'] === true) ?? versions[0]!;
    const schema = (version['schema'] as Obj)['openAPIV3Schema'];
    kinds.set(names['kind'] as string, {
      kind: names['kind'] as string,
      apiVersion: `${spec['group'] as string}/${version['name'] as string}`,
      namespaced: spec['scope'] === 'Namespaced',
      validate: ajv.compile(strictSchema(schema) as Obj),
    });
  }
  if (kinds.size === 0) throw new Error(`no CRDs in ${CRD_DIR}`);
  loaded = kinds;
  return kinds;
}

function formatAjvError(e: ErrorObject): string {
  const at = e.instancePath === '' ? '/' : e.instancePath;
  switch (e.keyword) {
    case 'additionalProperties':
      return `${at}: unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
    case 'x-kubernetes-list-type':
      return `${at}: duplicate entries in a list of type ${String(e.schema)}`;
    case 'enum':
      return `${at}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${at}: ${e.message ?? e.keyword}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The validator

const POLICY_KINDS = new Set(['NetworkPolicy', 'GlobalNetworkPolicy', 'StagedNetworkPolicy', 'StagedGlobalNetworkPolicy']);
const GLOBAL_POLICY_KINDS = new Set(['GlobalNetworkPolicy', 'StagedGlobalNetworkPolicy']);
const PROTOCOL_NAMES = new Set(['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite']);
const PORT_PROTOCOLS = new Set<unknown>(['TCP', 'UDP', 'SCTP', 6, 17, 132]);
const ICMP_PROTOCOLS = new Set<unknown>(['ICMP', 'ICMPv6', 1, 58]);
const NAMED_PORT = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?=[a-z0-9]))*$/;
const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'labels',
  'annotations',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'ownerReferences',
  'finalizers',
  'managedFields',
  'selfLink',
]);

/** Errors for one `projectcalico.org/v3` object; empty when the API server and Calico would accept it. */
export function validateCalicoObject(obj: unknown): string[] {
  if (!isObj(obj)) return ['/: must be an object'];
  const kind = obj['kind'];
  const schema = typeof kind === 'string' ? calicoKinds().get(kind) : undefined;
  if (schema === undefined) return [`/kind: not a Calico kind with a CRD here: ${JSON.stringify(kind)}`];

  const errors: string[] = [];
  if (obj['apiVersion'] !== schema.apiVersion) errors.push(`/apiVersion: must be ${schema.apiVersion}, got ${JSON.stringify(obj['apiVersion'])}`);
  if (!schema.validate(obj)) errors.push(...(schema.validate.errors ?? []).map(formatAjvError));
  errors.push(...checkMetadata(obj['metadata'], schema));

  const spec = obj['spec'];
  const name = isObj(obj['metadata']) ? obj['metadata']['name'] : undefined;
  if (isObj(spec)) {
    if (kind === 'Tier') errors.push(...checkTier(typeof name === 'string' ? name : '', spec));
    if (kind === 'NetworkSet' || kind === 'GlobalNetworkSet') errors.push(...checkNets(spec['nets'], '/spec/nets'));
    if (POLICY_KINDS.has(kind as string)) errors.push(...checkPolicy(kind as string, typeof name === 'string' ? name : '', spec));
  }
  return [...new Set(errors)];
}

function checkMetadata(metadata: unknown, schema: KindSchema): string[] {
  if (!isObj(metadata)) return []; // the schema reports it
  const errors: string[] = [];
  for (const key of Object.keys(metadata)) if (!OBJECT_META_FIELDS.has(key)) errors.push(`/metadata: unknown field "${key}"`);
  const { name, namespace, labels, annotations } = metadata;
  if (typeof name !== 'string') errors.push('/metadata/name: required');
  else if (!isDnsSubdomain(name)) errors.push(`/metadata/name: "${name}" is not a valid DNS subdomain (lowercase alphanumerics, "-" and ".", at most 253 characters)`);
  if (schema.namespaced) {
    if (namespace !== undefined && (typeof namespace !== 'string' || !isDnsLabel(namespace))) {
      errors.push(`/metadata/namespace: ${JSON.stringify(namespace)} is not a valid namespace name`);
    }
  } else if (namespace !== undefined) {
    errors.push(`/metadata/namespace: not allowed on the cluster-scoped kind ${schema.kind}`);
  }
  if (labels !== undefined) {
    if (!isObj(labels)) errors.push('/metadata/labels: must be a map of strings');
    else {
      for (const [key, value] of Object.entries(labels)) {
        if (!isQualifiedName(key)) errors.push(`/metadata/labels: invalid label key "${key}"`);
        if (typeof value !== 'string' || !isLabelValue(value)) errors.push(`/metadata/labels/${key}: invalid label value ${JSON.stringify(value)}`);
      }
    }
  }
  if (annotations !== undefined) {
    if (!isObj(annotations)) errors.push('/metadata/annotations: must be a map of strings');
    else {
      for (const [key, value] of Object.entries(annotations)) {
        if (!isQualifiedName(key)) errors.push(`/metadata/annotations: invalid annotation key "${key}"`);
        if (typeof value !== 'string') errors.push(`/metadata/annotations/${key}: must be a string`);
      }
    }
  }
  return errors;
}

/** The Tier CRD's CEL rules, and tier names usable as a `<tier>.` prefix. */
function checkTier(name: string, spec: Obj): string[] {
  const errors: string[] = [];
  if (name !== '' && !isDnsLabel(name)) errors.push(`/metadata/name: tier name "${name}" must be a DNS label (no dots)`);
  const fixed: Record<string, { action: string; order: number }> = {
    default: { action: 'Deny', order: 1000000 },
    'kube-admin': { action: 'Pass', order: 1000 },
    'kube-baseline': { action: 'Pass', order: 10000000 },
  };
  const rule = fixed[name];
  if (rule !== undefined) {
    if (spec['defaultAction'] !== rule.action) errors.push(`/spec/defaultAction: the '${name}' tier must have default action '${rule.action}'`);
    if (spec['order'] !== rule.order) errors.push(`/spec/order: ${name} tier order must be ${rule.order}`);
  }
  return errors;
}

function checkNets(nets: unknown, at: string): string[] {
  if (!Array.isArray(nets)) return [];
  return nets.flatMap((n, i) => (typeof n === 'string' && isCalicoNet(n) ? [] : [`${at}/${i}: ${JSON.stringify(n)} is not an IP address or CIDR`]));
}

const hasGlobal = (v: unknown): boolean => typeof v === 'string' && v.includes('global(');
const nonEmpty = (v: unknown): boolean => v !== undefined && v !== null && !(typeof v === 'string' && v === '') && !(Array.isArray(v) && v.length === 0);

function checkPolicy(kind: string, name: string, spec: Obj): string[] {
  const errors: string[] = [];
  const tier = typeof spec['tier'] === 'string' && spec['tier'] !== '' ? spec['tier'] : 'default';
  if (!isDnsLabel(tier)) errors.push(`/spec/tier: "${tier}" is not a valid tier name`);
  if (tier !== 'default' && !(name.startsWith(`${tier}.`) && name.length > tier.length + 1)) {
    errors.push(`/metadata/name: "${name}" is in tier "${tier}" and must be named "${tier}.<name>"`);
  }

  // .spec CEL rules: global() only in an EntityRule's namespaceSelector.
  const globalFields = GLOBAL_POLICY_KINDS.has(kind) ? ['selector', 'serviceAccountSelector', 'namespaceSelector'] : ['selector', 'serviceAccountSelector'];
  for (const field of globalFields) {
    if (hasGlobal(spec[field])) errors.push(`/spec/${field}: global() can only be used in an EntityRule namespaceSelector`);
  }
  if (GLOBAL_POLICY_KINDS.has(kind)) {
    const preDNAT = spec['preDNAT'] === true;
    const doNotTrack = spec['doNotTrack'] === true;
    if (preDNAT && doNotTrack) errors.push('/spec: preDNAT and doNotTrack cannot both be true');
    if (preDNAT && Array.isArray(spec['egress']) && spec['egress'].length > 0) errors.push('/spec: preDNAT policy cannot have any egress rules');
    if (preDNAT && Array.isArray(spec['types']) && spec['types'].includes('Egress')) errors.push("/spec: preDNAT policy cannot have 'Egress' type");
    if ((preDNAT || doNotTrack) && spec['applyOnForward'] !== true) errors.push('/spec: applyOnForward must be true if either preDNAT or doNotTrack is true');
  }

  // Rules in a direction the policy's types leave out would be ignored.
  const types = Array.isArray(spec['types']) ? spec['types'] : null;
  for (const [direction, type] of [['ingress', 'Ingress'], ['egress', 'Egress']] as const) {
    const rules = spec[direction];
    if (!Array.isArray(rules)) continue;
    if (types !== null && rules.length > 0 && !types.includes(type)) errors.push(`/spec/types: has ${direction} rules but does not include ${type}`);
    rules.forEach((rule, i) => errors.push(...checkRule(rule, direction, `/spec/${direction}/${i}`)));
  }
  return errors;
}

function checkRule(rule: unknown, direction: 'ingress' | 'egress', at: string): string[] {
  if (!isObj(rule)) return [];
  const errors: string[] = [];
  const { action, protocol, notProtocol, ipVersion, icmp, notICMP, http } = rule;
  const source = isObj(rule['source']) ? rule['source'] : null;
  const destination = isObj(rule['destination']) ? rule['destination'] : null;

  for (const [field, value] of [['protocol', protocol], ['notProtocol', notProtocol]] as const) {
    if (value === undefined) continue;
    const ok = typeof value === 'number' ? Number.isInteger(value) && value >= 1 && value <= 255 : typeof value === 'string' && PROTOCOL_NAMES.has(value);
    if (!ok) errors.push(`${at}/${field}: ${JSON.stringify(value)} is not a protocol (TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or 1-255)`);
  }

  // CEL: HTTP
  if (http !== undefined && protocol !== undefined && protocol !== 'TCP' && protocol !== 6) errors.push(`${at}: rules with HTTP match must have protocol TCP or unset`);
  if (http !== undefined && action !== 'Allow') errors.push(`${at}: HTTP match is only valid on Allow rules`);

  // CEL: ICMP
  for (const [field, value] of [['icmp', icmp], ['notICMP', notICMP]] as const) {
    if (value === undefined) continue;
    if (!ICMP_PROTOCOLS.has(protocol)) errors.push(`${at}/${field}: ICMP fields require protocol to be ICMP or ICMPv6`);
    if (isObj(value) && value['code'] !== undefined && value['type'] === undefined) errors.push(`${at}/${field}: ICMP code specified without an ICMP type`);
  }
  for (const [field, value] of [['protocol', protocol], ['notProtocol', notProtocol]] as const) {
    if ((value === 'ICMP' || value === 1) && ipVersion !== undefined && ipVersion !== 4) errors.push(`${at}/${field}: protocol ICMP requires ipVersion 4`);
    if ((value === 'ICMPv6' || value === 58) && ipVersion !== undefined && ipVersion !== 6) errors.push(`${at}/${field}: protocol ICMPv6 requires ipVersion 6`);
  }

  // CEL: destination services exclude ports.
  if (destination !== null && destination['services'] !== undefined && (nonEmpty(destination['ports']) || nonEmpty(destination['notPorts']))) {
    errors.push(`${at}: ports and notPorts cannot be specified with services`);
  }

  for (const [side, entity] of [['source', source], ['destination', destination]] as const) {
    if (entity === null) continue;
    const where = `${at}/${side}`;
    errors.push(...checkEntity(entity, where));

    // Calico validator: ports only with a protocol that has ports.
    for (const field of ['ports', 'notPorts'] as const) {
      const ports = entity[field];
      if (!Array.isArray(ports) || ports.length === 0) continue;
      if (!PORT_PROTOCOLS.has(protocol)) errors.push(`${where}/${field}: ports are only valid with protocol TCP, UDP or SCTP (protocol is ${JSON.stringify(protocol ?? null)})`);
      ports.forEach((p, i) => {
        if (!isCalicoPort(p)) errors.push(`${where}/${field}/${i}: ${JSON.stringify(p)} is not a port, port range or port name`);
      });
    }

    // Calico validator: which side may name services.
    if (entity['services'] !== undefined) {
      if (direction === 'egress' && side === 'source') errors.push(`${where}/services: services cannot be used in the source of an egress rule`);
      if (direction === 'ingress' && side === 'destination') errors.push(`${where}/services: services cannot be used in the destination of an ingress rule`);
    }

    // Calico Enterprise validator: domains.
    if (entity['domains'] !== undefined) {
      if (nonEmpty(entity['nets']) || nonEmpty(entity['notNets'])) errors.push(`${where}/domains: domains cannot be combined with nets`);
      if (action !== 'Allow') errors.push(`${where}/domains: domains are only valid on Allow rules`);
      if (direction !== 'egress' || side !== 'destination') errors.push(`${where}/domains: domains are only valid in an egress rule's destination`);
    }
  }
  return errors;
}

/** An EntityRule's CEL rules, and its nets. */
function checkEntity(entity: Obj, at: string): string[] {
  const errors: string[] = [];
  for (const field of ['selector', 'notSelector'] as const) {
    if (hasGlobal(entity[field])) errors.push(`${at}/${field}: global() can only be used in an EntityRule namespaceSelector`);
  }
  const sa = entity['serviceAccounts'];
  if (isObj(sa) && hasGlobal(sa['selector'])) errors.push(`${at}/serviceAccounts/selector: global() can only be used in an EntityRule namespaceSelector`);
  const services = entity['services'];
  if (services !== undefined) {
    if (nonEmpty(entity['namespaceSelector'])) errors.push(`${at}: cannot specify NamespaceSelector and Services on the same rule`);
    if (entity['serviceAccounts'] !== undefined) errors.push(`${at}: cannot specify ServiceAccounts and Services on the same rule`);
    if (nonEmpty(entity['selector']) || nonEmpty(entity['notSelector'])) errors.push(`${at}: cannot specify Selector/NotSelector and Services on the same rule`);
    if (nonEmpty(entity['nets']) || nonEmpty(entity['notNets'])) errors.push(`${at}: cannot specify Nets/NotNets and Services on the same rule`);
    if (!isObj(services) || typeof services['name'] !== 'string' || services['name'] === '') errors.push(`${at}/services: services must specify a service name`);
  }
  errors.push(...checkNets(entity['nets'], `${at}/nets`), ...checkNets(entity['notNets'], `${at}/notNets`));
  return errors;
}

/** 0-65535, `"80"`, `"1000:2000"` (ascending) or an IANA-style port name. */
function isCalicoPort(p: unknown): boolean {
  const inRange = (n: number) => Number.isInteger(n) && n >= 0 && n <= 65535;
  if (typeof p === 'number') return inRange(p);
  if (typeof p !== 'string') return false;
  const range = /^(\d+)(?::(\d+))?$/.exec(p);
  if (range) {
    const lo = Number(range[1]);
    const hi = range[2] === undefined ? lo : Number(range[2]);
    return inRange(lo) && inRange(hi) && lo <= hi;
  }
  return p.length <= 15 && NAMED_PORT.test(p);
}
