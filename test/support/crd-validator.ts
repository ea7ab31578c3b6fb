// Validates Calico `projectcalico.org/v3` objects the way a cluster of a given Calico release would,
// whichever way that release is installed. Upstream is the oracle; every rule below names the
// upstream file it comes from, in projectcalico/calico (read on release-v3.30 39d0ca80,
// release-v3.31 3cdeae8f, release-v3.32 de60d98e, release-v3.33 6609dea5, main 87c15906):
//
// - the CRD schemas, compiled with ajv (vendored in test/fixtures/calico-crds: `api/config/crd/` of
//   main and 3.33 at the top, `api/config/crd/` of 3.32 and `libcalico-go/config/crd/` of
//   3.30/3.31 under releases/). Up to 3.31 `projectcalico.org/v3` is served by the Calico API server
//   and stored as `crd.projectcalico.org/v1`, so those CRDs give the shape; from 3.32 the v3 CRDs can
//   be served natively by the kube-apiserver and carry `x-kubernetes-validations` (CEL) rules and,
//   from 3.33, size limits. Unknown fields are errors (kubectl's default strict field validation).
// - by hand, what ajv cannot run: the CRDs' CEL rules, and libcalico-go's validator
//   (`libcalico-go/lib/validator/v3/validator.go` with the `validate:` tags of
//   `api/pkg/apis/projectcalico/v3/*.go` and `api/pkg/lib/numorstring`), which the Calico API server
//   and every libcalico-go client run on every write. A cluster whose v3 CRDs are served natively
//   (3.32+) does not run that validator at admission, but Calico's own clients and the Calico API
//   server of the other installation mode do: an object valid "on a release" passes both.
// - with scope 'cluster' (the default), also what libcalico-go's clientv3 adds
//   (`names.ValidateTieredPolicyName` on 3.30/3.31, `libcalico-go/lib/names/policy.go`) and what
//   storing through the `crd.projectcalico.org/v1` backend adds
//   (`libcalico-go/lib/backend/k8s/resources/resources.go`: the v3 metadata is copied into one
//   annotation, so it must fit in Kubernetes' 256 KiB annotation limit a second time).
//
// Independent of src/ on purpose: this is the oracle the recommender and the simulator are judged by.

import { readdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { globalNamespaceSelectorError, selectorSyntaxError } from './calico-selector-syntax.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Calico's v3 CRDs (main, identical to release-v3.33), vendored so that a clone's tests are self-contained. */
export const CRD_DIR = join(REPO_ROOT, 'test', 'fixtures', 'calico-crds');
/** The team's shared copy, when present beside the checkout: the vendored copy must match it. */
export const SHARED_CRD_DIR = join(REPO_ROOT, '..', 'shared', 'calico-crds');

// ---------------------------------------------------------------------------------------------
// Calico releases

/** The releases we support; `main` is projectcalico/calico's main branch (August 2026). */
export const CALICO_VERSIONS = ['3.30', '3.31', '3.32', '3.33', 'main'] as const;
export type CalicoVersion = (typeof CALICO_VERSIONS)[number];
/**
 * The release assumed when none is named: 3.33, as src/calico/release.ts. The mirror read in
 * August 2026 had release-v3.33 branched but untagged (newest tags v3.32.1, v3.34.0-0.dev); 3.33's
 * rules are the strictest (its CRD limits), so output valid for it is valid for the others too.
 */
const CURRENT_CALICO_VERSION: CalicoVersion = '3.33';

const rank = (v: CalicoVersion): number => CALICO_VERSIONS.indexOf(v);
const since = (v: CalicoVersion, min: CalicoVersion): boolean => rank(v) >= rank(min);

/** Where each release's CRDs are vendored. */
function crdDirOf(version: CalicoVersion): string {
  return version === '3.33' || version === 'main' ? CRD_DIR : join(CRD_DIR, 'releases', `v${version}`);
}

export interface CalicoValidationOptions {
  /** The release whose rules apply; default CURRENT_CALICO_VERSION. */
  readonly calicoVersion?: CalicoVersion;
  /**
   * 'cluster' (default): everything a cluster of that release refuses. 'validator': only
   * libcalico-go's `validator.Validate()` (with the CRD rules, as upstream's validator_test.go runs it
   * from 3.32), i.e. exactly what upstream's validator tests exercise.
   */
  readonly scope?: 'cluster' | 'validator';
}

interface Ctx {
  readonly version: CalicoVersion;
  readonly cluster: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// Name syntax (Kubernetes apimachinery `util/validation`)

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

export const isDnsLabel = (s: string): boolean => s.length <= 63 && DNS_LABEL.test(s);
export const isDnsSubdomain = (s: string): boolean => s.length <= 253 && DNS_SUBDOMAIN.test(s);

/** IsQualifiedName: optional DNS-subdomain prefix and `/`, then a name of up to 63 characters. */
export function isQualifiedName(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1]!;
  if (parts.length === 2 && !(parts[0]!.length > 0 && isDnsSubdomain(parts[0]!))) return false;
  return name.length > 0 && name.length <= 63 && QUALIFIED_NAME_PART.test(name);
}

export const isLabelValue = (s: string): boolean => s.length <= 63 && LABEL_VALUE.test(s);

/** IsValidPortName: 1-15 of [-a-z0-9], at least one letter, no leading, trailing or double `-`. */
function isValidPortName(s: string): boolean {
  return (
    s.length >= 1 &&
    s.length <= 15 &&
    /^[-a-z0-9]+$/.test(s) &&
    /[a-z]/.test(s) &&
    !s.includes('--') &&
    !s.startsWith('-') &&
    !s.endsWith('-')
  );
}

/**
 * Calico's `nameRegex` (validator.go): the DNS-subdomain pattern without its length limit, used by
 * the `name` tag (spec.tier, services.name, services.namespace).
 */
const CALICO_NAME = DNS_SUBDOMAIN;
/** NetworkPolicy and StagedNetworkPolicy names: at most one dot, or `knp.default.` / `ossg.default.` (validator.go, every release). */
const NETWORK_POLICY_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)?|((?:knp|ossg)\.default\.([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)))$/;
/** GlobalNetworkPolicy and StagedGlobalNetworkPolicy names: at most one dot (validator.go, every release). */
const GLOBAL_NETWORK_POLICY_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

// ---------------------------------------------------------------------------------------------
// IP networks as Go parses them (net.ParseCIDR, net.ParseIP; libcalico-go/lib/net)

interface GoNet {
  readonly version: 4 | 6;
  readonly width: 32 | 128;
  readonly addr: bigint;
  readonly prefix: number;
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

/** net.ParseIP: IPv4 (no leading zeros) or IPv6, no zone. libcalico-go calls an IPv4-mapped IPv6 address version 4 (`IP.To4() != nil`). */
function parseGoIp(text: string): { version: 4 | 6; width: 32 | 128; addr: bigint } | null {
  if (text.includes('%')) return null;
  const family = isIP(text);
  if (family === 4) return { version: 4, width: 32, addr: ipv4ToBigInt(text) };
  if (family !== 6) return null;
  const addr = ipv6ToBigInt(text);
  return { version: addr >> 32n === 0xffffn ? 4 : 6, width: 128, addr };
}

/** net.ParseCIDR: `addr/prefix`, the prefix in decimal (leading zeros allowed) and at most the address width. */
function parseGoCidr(text: string): GoNet | null {
  const slash = text.indexOf('/');
  if (slash === -1) return null;
  const ip = parseGoIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (ip === null || !/^[0-9]+$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  return prefix <= ip.width ? { ...ip, prefix } : null;
}

const isMasked = (n: GoNet): boolean => (n.addr & ((1n << BigInt(n.width - n.prefix)) - 1n)) === 0n;

/** A CIDR (`addr/prefix`) with a valid prefix length; `canonical`: no host bits set either. */
function isCidr(text: string, canonical = false): boolean {
  const n = parseGoCidr(text);
  return n !== null && (!canonical || isMasked(n));
}

/** A CIDR (`addr/prefix`) with a valid prefix length and no host bits set. */
export function isCanonicalCidr(text: string): boolean {
  return isCidr(text, true);
}

/** The `cidr` tag (network sets): ParseCIDROrIP, a CIDR (host bits allowed) or a bare address. */
const isCidrOrIp = (text: string): boolean => parseGoCidr(text) !== null || parseGoIp(text) !== null;

// ---------------------------------------------------------------------------------------------
// Sizes as Go counts them

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

/** The length of `s` as encoding/json writes it, quotes included (HTML-safe escaping, Go 1.22+). */
function goJsonStringLength(s: string): number {
  let n = 2;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\' || ch === '\n' || ch === '\r' || ch === '\t' || ch === '\b' || ch === '\f') n += 2;
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) n += 6;
    else if (c >= 0xd800 && c <= 0xdfff)
      n += 6; // a lone surrogate becomes \ufffd
    else n += utf8Length(ch);
  }
  return n;
}

/** json.Marshal of a map[string]string: `{"k":"v",...}`. */
function goJsonMapLength(m: Record<string, string>): number {
  const entries = Object.entries(m);
  return 2 + entries.reduce((acc, [k, v]) => acc + goJsonStringLength(k) + 1 + goJsonStringLength(v), 0) + Math.max(0, entries.length - 1);
}

/** apimachinery's TotalAnnotationSizeLimitB, also Calico's totalAnnotationSizeLimitB (validator.go). */
const ANNOTATIONS_LIMIT = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// The CRDs

interface KindSchema {
  readonly kind: string;
  /** As the CRD names it: `projectcalico.org/v3`, or `crd.projectcalico.org/v1` for 3.30/3.31. */
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
function strictSchema(schema: unknown): unknown {
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

const loaded = new Map<string, Map<string, KindSchema>>();

/** The CRDs of a release by kind, compiled once; default: the top-level vendored CRDs (main). */
export function calicoKinds(version: CalicoVersion = 'main'): ReadonlyMap<string, KindSchema> {
  const dir = crdDirOf(version);
  const cached = loaded.get(dir);
  if (cached !== undefined) return cached;
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  } catch (e) {
    throw new Error(`Calico CRDs not found at ${dir}: ${(e as Error).message}`);
  }
  const ajv = createAjv();
  const kinds = new Map<string, KindSchema>();
  for (const file of files.sort()) {
    const crd = parseYaml(readFileSync(join(dir, file), 'utf8')) as Obj;
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
  if (kinds.size === 0) throw new Error(`no CRDs in ${dir}`);
  loaded.set(dir, kinds);
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

const CALICO_API_VERSION = 'projectcalico.org/v3';
const POLICY_KINDS = new Set(['NetworkPolicy', 'GlobalNetworkPolicy', 'StagedNetworkPolicy', 'StagedGlobalNetworkPolicy']);
const GLOBAL_POLICY_KINDS = new Set(['GlobalNetworkPolicy', 'StagedGlobalNetworkPolicy']);
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

/** Errors for one `projectcalico.org/v3` object; empty when a cluster of that release accepts it. */
export function validateCalicoObject(obj: unknown, options: CalicoValidationOptions = {}): string[] {
  const ctx: Ctx = { version: options.calicoVersion ?? CURRENT_CALICO_VERSION, cluster: (options.scope ?? 'cluster') === 'cluster' };
  if (!isObj(obj)) return ['/: must be an object'];
  const kind = obj['kind'];
  const schema = typeof kind === 'string' ? calicoKinds(ctx.version).get(kind) : undefined;
  if (schema === undefined) return [`/kind: not a Calico kind with a CRD here: ${JSON.stringify(kind)}`];

  const errors: string[] = [];
  if (obj['apiVersion'] !== CALICO_API_VERSION)
    errors.push(`/apiVersion: must be ${CALICO_API_VERSION}, got ${JSON.stringify(obj['apiVersion'])}`);
  if (!schema.validate(obj)) errors.push(...(schema.validate.errors ?? []).map(formatAjvError));
  errors.push(...checkMetadata(obj['metadata'], schema));

  const metadata = isObj(obj['metadata']) ? obj['metadata'] : {};
  const name = typeof metadata['name'] === 'string' ? metadata['name'] : '';
  const spec = isObj(obj['spec']) ? obj['spec'] : {};
  if (kind === 'Tier') errors.push(...checkTier(name, spec, ctx));
  if (kind === 'NetworkSet' || kind === 'GlobalNetworkSet') errors.push(...checkNetworkSet(metadata, spec));
  if (kind === 'StagedKubernetesNetworkPolicy')
    errors.push(...checkStagedDelete(spec, ['stagedAction'], 'Spec fields should all be zero-value if stagedAction is Delete'));
  if (POLICY_KINDS.has(kind as string)) errors.push(...checkPolicy(kind as string, name, spec, ctx));
  if (ctx.cluster) errors.push(...checkV1Storage(kind as string, metadata, spec, ctx));
  return [...new Set(errors)];
}

/** ObjectMeta: validateObjectMeta, validateObjectMetaLabels and validateObjectMetaAnnotations (validator.go, every release). */
function checkMetadata(metadata: unknown, schema: KindSchema): string[] {
  if (!isObj(metadata)) return []; // the schema reports it
  const errors: string[] = [];
  for (const key of Object.keys(metadata)) if (!OBJECT_META_FIELDS.has(key)) errors.push(`/metadata: unknown field "${key}"`);
  const { name, namespace, labels, annotations } = metadata;
  if (typeof name !== 'string') errors.push('/metadata/name: required');
  else if (!isDnsSubdomain(name))
    errors.push(`/metadata/name: "${name}" is not a valid DNS subdomain (lowercase alphanumerics, "-" and ".", at most 253 characters)`);
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
        if (typeof value !== 'string' || !isLabelValue(value))
          errors.push(`/metadata/labels/${key}: invalid label value ${JSON.stringify(value)}`);
      }
    }
  }
  if (annotations !== undefined) errors.push(...checkAnnotations(annotations, '/metadata/annotations'));
  return errors;
}

/** validateObjectMetaAnnotations: keys are qualified names (checked lowercased), at most 256 KiB of keys and values in all. */
function checkAnnotations(annotations: unknown, at: string): string[] {
  if (!isObj(annotations)) return [`${at}: must be a map of strings`];
  const errors: string[] = [];
  let size = 0;
  for (const [key, value] of Object.entries(annotations)) {
    if (!isQualifiedName(key.toLowerCase())) errors.push(`${at}: invalid annotation key "${key}"`);
    if (typeof value !== 'string') errors.push(`${at}/${key}: must be a string`);
    size += utf8Length(key) + (typeof value === 'string' ? utf8Length(value) : 0);
  }
  if (size > ANNOTATIONS_LIMIT) errors.push(`${at}: total size of annotations is too large by ${size - ANNOTATIONS_LIMIT} bytes`);
  return errors;
}

/**
 * Tiers: validateTier (validator.go) and the Tier CRD's CEL rules (3.32+, `api/pkg/apis/projectcalico/v3/tier.go`).
 * The reserved tiers and their order are per release: 3.30/3.31 `default`, `adminnetworkpolicy`,
 * `baselineadminnetworkpolicy` (order only); 3.32+ `default`, `kube-admin`, `kube-baseline` (order and default action).
 */
function checkTier(name: string, spec: Obj, ctx: Ctx): string[] {
  const errors: string[] = [];
  if (name !== '' && !isDnsLabel(name))
    errors.push(`/metadata/name: tier name "${name}" must be a DNS label of at most 63 characters (no dots)`);
  const reserved: Record<string, { order: number; action: string | null }> = since(ctx.version, '3.32')
    ? {
        default: { order: 1_000_000, action: 'Deny' },
        'kube-admin': { order: 1000, action: 'Pass' },
        'kube-baseline': { order: 10_000_000, action: 'Pass' },
      }
    : {
        default: { order: 1_000_000, action: null },
        adminnetworkpolicy: { order: 1000, action: null },
        baselineadminnetworkpolicy: { order: 10_000_000, action: null },
      };
  const rule = Object.hasOwn(reserved, name) ? reserved[name]! : undefined;
  if (rule !== undefined) {
    // From 3.32 the CRD defaults defaultAction to Deny before its CEL rules run.
    const action = spec['defaultAction'] ?? 'Deny';
    if (rule.action !== null && action !== rule.action)
      errors.push(`/spec/defaultAction: the '${name}' tier must have default action '${rule.action}'`);
    if (spec['order'] !== rule.order) errors.push(`/spec/order: ${name} tier order must be ${rule.order}`);
  }
  return errors;
}

/** Network sets: the `cidr` tag (a CIDR or an address, host bits allowed) and no `projectcalico.org/namespace` label (validateNetworkSet, validateGlobalNetworkSet). */
function checkNetworkSet(metadata: Obj, spec: Obj): string[] {
  const errors: string[] = [];
  const nets = spec['nets'];
  if (Array.isArray(nets)) {
    nets.forEach((n, i) => {
      if (typeof n !== 'string' || !isCidrOrIp(n)) errors.push(`/spec/nets/${i}: ${JSON.stringify(n)} is not an IP address or CIDR`);
    });
  }
  if (isObj(metadata['labels']) && Object.hasOwn(metadata['labels'], 'projectcalico.org/namespace')) {
    errors.push('/metadata/labels: projectcalico.org/namespace is not a valid label name');
  }
  return errors;
}

/**
 * stagedAction Delete: every spec field except `keep` must be the zero value (validateStaged*Policy:
 * reflect.DeepEqual with an empty spec, so an empty list counts as set; an empty struct, such as a
 * StagedKubernetesNetworkPolicy's `podSelector: {}`, does not).
 */
function checkStagedDelete(spec: Obj, keep: readonly string[], message: string): string[] {
  if (spec['stagedAction'] !== 'Delete') return [];
  const zero = (v: unknown) => v === undefined || v === null || v === '' || v === false || (isObj(v) && Object.keys(v).length === 0);
  const set = Object.entries(spec).filter(([key, value]) => !keep.includes(key) && !zero(value));
  return set.length === 0 ? [] : [`/spec: ${message} (${set.map(([k]) => k).join(', ')} set)`];
}

const hasText = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
const nonEmptyList = (v: unknown): boolean => Array.isArray(v) && v.length > 0;
/** The policy-level global() check: Go's strings.Contains(s, "global()") up to 3.32, the CRD's CEL contains('global(') from 3.33. */
const policyGlobal = (v: unknown, ctx: Ctx): boolean =>
  typeof v === 'string' && v.includes(since(ctx.version, '3.33') ? 'global(' : 'global()');

function checkSelector(value: unknown, at: string): string[] {
  if (typeof value !== 'string') return [];
  const error = selectorSyntaxError(value);
  return error === null ? [] : [`${at}: invalid selector ${JSON.stringify(value)}: ${error}`];
}

/** The four policy kinds: validate(Staged)(Global)NetworkPolicy and their specs (validator.go), the CRDs' CEL rules, clientv3. */
function checkPolicy(kind: string, name: string, spec: Obj, ctx: Ctx): string[] {
  const errors: string[] = [];
  const global = GLOBAL_POLICY_KINDS.has(kind);
  const staged = kind.startsWith('Staged');

  if (name !== '' && !(global ? GLOBAL_NETWORK_POLICY_NAME : NETWORK_POLICY_NAME).test(name)) {
    errors.push(
      global
        ? `/metadata/name: "${name}" is not a valid ${kind} name (DNS labels with at most one ".")`
        : `/metadata/name: "${name}" is not a valid ${kind} name (DNS labels with at most one ".", or knp.default./ossg.default. and a DNS subdomain)`,
    );
  }

  const tierRaw = spec['tier'];
  const tier = typeof tierRaw === 'string' && tierRaw !== '' ? tierRaw : 'default';
  if (!CALICO_NAME.test(tier)) errors.push(`/spec/tier: "${tier}" is not a valid name`);
  else if (ctx.cluster && !isDnsLabel(tier))
    errors.push(`/spec/tier: "${tier}" cannot name a tier (tier names are DNS labels of at most 63 characters)`);

  if (ctx.cluster && !since(ctx.version, '3.32')) errors.push(...checkTieredName(kind, name, tier));

  // Selectors: the `selector` tag, and global() outside an EntityRule's namespaceSelector.
  const selectorFields = global ? ['selector', 'serviceAccountSelector', 'namespaceSelector'] : ['selector', 'serviceAccountSelector'];
  for (const field of selectorFields) {
    errors.push(...checkSelector(spec[field], `/spec/${field}`));
    if (policyGlobal(spec[field], ctx)) errors.push(`/spec/${field}: global() can only be used in an EntityRule namespaceSelector`);
  }

  // types: the policyType tag and no repeats (the CRDs check both from 3.32).
  const types = spec['types'];
  if (Array.isArray(types)) {
    types.forEach((t, i) => {
      if (t !== 'Ingress' && t !== 'Egress') errors.push(`/spec/types/${i}: must be Ingress or Egress`);
    });
    const seen = new Set<unknown>();
    for (const t of types) {
      if (seen.has(t)) errors.push(`/spec/types: '${String(t)}' type specified more than once`);
      seen.add(t);
    }
  }

  // performanceHints: `unique,dive,oneof=AssumeNeededOnEveryNode`.
  const hints = spec['performanceHints'];
  if (Array.isArray(hints)) {
    if (new Set(hints).size !== hints.length) errors.push('/spec/performanceHints: duplicate entries');
    hints.forEach((h, i) => {
      if (h !== 'AssumeNeededOnEveryNode') errors.push(`/spec/performanceHints/${i}: must be AssumeNeededOnEveryNode`);
    });
  }

  if (staged) {
    const action = spec['stagedAction'];
    if (action !== undefined && action !== 'Set' && action !== 'Delete' && action !== 'Learn' && action !== 'Ignore') {
      errors.push('/spec/stagedAction: must be one of "Set", "Delete", "Learn", "Ignore"');
    }
    // clientv3 clears types of a Delete before validating (libcalico-go/lib/clientv3/staged*policy.go).
    const keep = ctx.cluster ? ['stagedAction', 'tier', 'types'] : ['stagedAction', 'tier'];
    const deleteErrors = checkStagedDelete(spec, keep, 'Spec fields, except Tier, should all be zero-value if stagedAction is Delete');
    if (deleteErrors.length > 0) return [...errors, ...deleteErrors];
  }

  if (global) {
    const preDNAT = spec['preDNAT'] === true;
    const doNotTrack = spec['doNotTrack'] === true;
    if (preDNAT && doNotTrack) errors.push('/spec: preDNAT and doNotTrack cannot both be true');
    if (preDNAT && nonEmptyList(spec['egress'])) errors.push('/spec: preDNAT policy cannot have any egress rules');
    if (preDNAT && Array.isArray(types) && types.includes('Egress')) errors.push("/spec: preDNAT policy cannot have 'Egress' type");
    if ((preDNAT || doNotTrack) && spec['applyOnForward'] !== true)
      errors.push('/spec: applyOnForward must be true if either preDNAT or doNotTrack is true');
  }

  for (const direction of ['ingress', 'egress'] as const) {
    const rules = spec[direction];
    if (!Array.isArray(rules)) continue;
    rules.forEach((rule, i) => {
      if (isObj(rule)) errors.push(...checkRule(rule, direction, global, `/spec/${direction}/${i}`, ctx));
    });
  }
  return errors;
}

/**
 * Up to 3.31, clientv3 refuses a policy name without its tier's prefix: names.ValidateTieredPolicyName
 * (libcalico-go/lib/names/policy.go). Names starting knp.default., kanp.adminnetworkpolicy.,
 * kbanp.baselineadminnetworkpolicy. or ossg. pass; in the default tier a name either has no dot or
 * starts with `default.`; in another tier it starts with `<tier>.`. clientv3 also refuses to create a
 * StagedNetworkPolicy named knp.default.* (libcalico-go/lib/clientv3/stagednetworkpolicy.go).
 */
function checkTieredName(kind: string, name: string, tier: string): string[] {
  if (name === '') return [];
  if (kind === 'StagedNetworkPolicy' && name.startsWith('knp.default.'))
    return [`/metadata/name: a StagedNetworkPolicy cannot be named knp.default.*`];
  if (['knp.default.', 'kanp.adminnetworkpolicy.', 'kbanp.baselineadminnetworkpolicy.', 'ossg.'].some((p) => name.startsWith(p))) return [];
  if (tier === 'default' ? !name.includes('.') || name.startsWith('default.') : name.startsWith(`${tier}.`)) return [];
  return [`/metadata/name: "${name}" is in tier "${tier}" and must be named "${tier}.<name>" (Calico up to 3.31)`];
}

/** A Rule: validateRule, validateEntityRule, validateHTTPRule, ICMP fields and numorstring, the Rule and EntityRule CEL rules. */
function checkRule(rule: Obj, direction: 'ingress' | 'egress', global: boolean, at: string, ctx: Ctx): string[] {
  const errors: string[] = [];
  const { action, protocol, notProtocol, ipVersion, icmp, notICMP, http } = rule;
  const source = isObj(rule['source']) ? rule['source'] : {};
  const destination = isObj(rule['destination']) ? rule['destination'] : {};

  // The action tag (up to 3.31 not in the CRD) and the ipVersion tag.
  if (action !== undefined && action !== 'Allow' && action !== 'Deny' && action !== 'Log' && action !== 'Pass')
    errors.push(`${at}/action: must be one of "Allow", "Deny", "Log", "Pass"`);
  if (ipVersion !== undefined && ipVersion !== 4 && ipVersion !== 6) errors.push(`${at}/ipVersion: must be 4 or 6`);

  for (const [field, value] of [
    ['protocol', protocol],
    ['notProtocol', notProtocol],
  ] as const) {
    if (value !== undefined && !isProtocol(value))
      errors.push(`${at}/${field}: ${JSON.stringify(value)} is not a protocol (TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or 1-255)`);
  }

  // Ports need a protocol with ports. 3.30/3.31: any port; 3.32+: without a protocol, named ports only.
  for (const [side, entity] of [
    ['source', source],
    ['destination', destination],
  ] as const) {
    for (const field of ['ports', 'notPorts'] as const) {
      const ports = entity[field];
      if (!Array.isArray(ports)) continue;
      ports.forEach((p, i) => {
        const error = portError(p);
        if (error !== null)
          errors.push(`${at}/${side}/${field}/${i}: ${JSON.stringify(p)} is not a port, port range or port name (${error})`);
      });
      if (ports.length === 0) continue;
      if (protocol === undefined) {
        if (!since(ctx.version, '3.32'))
          errors.push(`${at}/${side}/${field}: ports are only valid with protocol TCP, UDP or SCTP (no protocol)`);
        else if (!ports.every((p) => typeof p === 'string' && !isNumericPort(p)))
          errors.push(`${at}/${side}/${field}: rules with numeric port or port range must set protocol to TCP or UDP or SCTP`);
      } else if (!protocolHasPorts(protocol)) {
        errors.push(
          `${at}/${side}/${field}: ports are only valid with protocol TCP, UDP or SCTP (protocol is ${JSON.stringify(protocol)})`,
        );
      }
    }
  }

  // HTTP: Allow rules only; protocol TCP or unset (Go up to 3.32: the string "TCP"; CEL from 3.32: 'TCP' or 6); never in egress rules.
  if (http !== undefined) {
    if (action !== 'Allow') errors.push(`${at}: HTTP match is only valid on Allow rules`);
    if (protocol !== undefined) {
      const goOk = protocol === 'TCP';
      const celOk = protocol === 'TCP' || protocol === 6;
      if (since(ctx.version, '3.33') ? !celOk : !goOk) errors.push(`${at}: rules with HTTP match must have protocol TCP or unset`);
    }
    if (direction === 'egress') errors.push(`${at}/http: HTTP match is not allowed in egress rules`);
    errors.push(...checkHttp(http, `${at}/http`));
  }

  // ICMP: type 0-254, code 0-255, no code without a type (every release).
  for (const [field, value] of [
    ['icmp', icmp],
    ['notICMP', notICMP],
  ] as const) {
    if (!isObj(value)) continue;
    const { type, code } = value;
    if (type !== undefined && !(Number.isInteger(type) && (type as number) >= 0 && (type as number) <= 254))
      errors.push(`${at}/${field}/type: must be 0-254`);
    if (code !== undefined && !(Number.isInteger(code) && (code as number) >= 0 && (code as number) <= 255))
      errors.push(`${at}/${field}/code: must be 0-255`);
    if (code !== undefined && type === undefined) errors.push(`${at}/${field}: ICMP code specified without an ICMP type`);
  }
  // `icmp` (not notICMP) needs protocol ICMP or ICMPv6: up to 3.32 the strings only (Go compares
  // Protocol values); from 3.33 the CEL rule also takes 1 and 58.
  const icmpProtocols: readonly unknown[] = since(ctx.version, '3.33') ? ['ICMP', 'ICMPv6', 1, 58] : ['ICMP', 'ICMPv6'];
  if (icmp !== undefined && !icmpProtocols.includes(protocol)) errors.push(`${at}/icmp: ICMP fields require protocol to be ICMP or ICMPv6`);
  const icmp4: readonly unknown[] = since(ctx.version, '3.33') ? ['ICMP', 1] : ['ICMP'];
  const icmp6: readonly unknown[] = since(ctx.version, '3.33') ? ['ICMPv6', 58] : ['ICMPv6'];
  for (const [field, value] of [
    ['protocol', protocol],
    ['notProtocol', notProtocol],
  ] as const) {
    if (icmp4.includes(value) && ipVersion !== undefined && ipVersion !== 4)
      errors.push(`${at}/${field}: protocol ICMP requires ipVersion 4`);
    if (icmp6.includes(value) && ipVersion !== undefined && ipVersion !== 6)
      errors.push(`${at}/${field}: protocol ICMPv6 requires ipVersion 6`);
  }

  // Destination services take their ports from the endpoints.
  if (destination['services'] !== undefined && (nonEmptyList(destination['ports']) || nonEmptyList(destination['notPorts']))) {
    errors.push(`${at}: ports and notPorts cannot be specified with services`);
  }

  errors.push(...checkNets(rule, ipVersion, at));

  for (const [side, entity] of [
    ['source', source],
    ['destination', destination],
  ] as const) {
    const where = `${at}/${side}`;
    errors.push(...checkEntity(entity, where, ctx));
    // Which side may name services (validate(Global)NetworkPolicySpec).
    if (entity['services'] !== undefined) {
      if (direction === 'egress' && side === 'source')
        errors.push(`${where}/services: services cannot be used in the source of an egress rule`);
      if (direction === 'ingress' && side === 'destination')
        errors.push(`${where}/services: services cannot be used in the destination of an ingress rule`);
      const services = entity['services'];
      const remote = (direction === 'egress' && side === 'destination') || (direction === 'ingress' && side === 'source');
      if (global && remote && isObj(services) && !hasText(services['namespace']))
        errors.push(`${where}/services/namespace: must specify a namespace in a global policy`);
    }
    // Calico Enterprise's validator on domains (shared/reference/calico.md section 3); open-source CRDs reject the field itself.
    if (entity['domains'] !== undefined) {
      if (nonEmptyList(entity['nets']) || nonEmptyList(entity['notNets']))
        errors.push(`${where}/domains: domains cannot be combined with nets`);
      if (action !== 'Allow') errors.push(`${where}/domains: domains are only valid on Allow rules`);
      if (direction !== 'egress' || side !== 'destination')
        errors.push(`${where}/domains: domains are only valid in an egress rule's destination`);
    }
  }

  const metadata = rule['metadata'];
  if (isObj(metadata) && metadata['annotations'] !== undefined)
    errors.push(...checkAnnotations(metadata['annotations'], `${at}/metadata/annotations`));
  return errors;
}

/** validateHTTPRule: methods without duplicates; each path exactly one of exact/prefix, starting with `/`, without `?`, ` ` or `#`. */
function checkHttp(http: unknown, at: string): string[] {
  if (!isObj(http)) return [];
  const errors: string[] = [];
  const methods = http['methods'];
  if (Array.isArray(methods) && new Set(methods).size !== methods.length) errors.push(`${at}/methods: duplicate methods`);
  const paths = http['paths'];
  if (Array.isArray(paths)) {
    paths.forEach((p, i) => {
      if (!isObj(p)) return;
      const exact = typeof p['exact'] === 'string' ? p['exact'] : '';
      const prefix = typeof p['prefix'] === 'string' ? p['prefix'] : '';
      if (exact !== '' && prefix !== '') errors.push(`${at}/paths/${i}: both 'exact' and 'prefix' are set`);
      const v = exact !== '' ? exact : prefix;
      if (v === '') errors.push(`${at}/paths/${i}: either 'exact' or 'prefix' must be set`);
      else if (!v.startsWith('/') || /[? #]/.test(v))
        errors.push(`${at}/paths/${i}: invalid path ${JSON.stringify(v)} (must start with / and not contain ?, space or #)`);
    });
  }
  return errors;
}

/**
 * validateRule's scanNets (every release): every entry of nets and notNets is `addr/prefix`
 * (net.ParseCIDR) with no host bits (the `net` tag); a rule's nets are all of one IP version, that
 * of ipVersion when set; notNets never 0.0.0.0/0 (as written) nor ::/0 (in any form).
 */
function checkNets(rule: Obj, ipVersion: unknown, at: string): string[] {
  const errors: string[] = [];
  let seen4 = false;
  let seen6 = false;
  for (const side of ['source', 'destination'] as const) {
    const entity = isObj(rule[side]) ? rule[side] : {};
    for (const field of ['nets', 'notNets'] as const) {
      const nets = entity[field];
      if (!Array.isArray(nets)) continue;
      let v4 = false;
      let v6 = false;
      nets.forEach((n, i) => {
        const net = typeof n === 'string' ? parseGoCidr(n) : null;
        if (net === null) {
          errors.push(`${at}/${side}/${field}/${i}: ${JSON.stringify(n)} is not a CIDR (addr/prefix)`);
          return;
        }
        if (!isMasked(net)) errors.push(`${at}/${side}/${field}/${i}: ${JSON.stringify(n)} has host bits set (write the network address)`);
        v4 ||= net.version === 4;
        v6 ||= net.version === 6;
        if (field === 'notNets' && ((net.version === 4 && n === '0.0.0.0/0') || (net.version === 6 && net.prefix === 0))) {
          errors.push(`${at}/${side}/${field}/${i}: catch-all CIDR in negation creates logical contradiction (matches no traffic)`);
        }
      });
      if ((ipVersion === 4 || ipVersion === 6) && ((v4 && ipVersion !== 4) || (v6 && ipVersion !== 6)))
        errors.push(`${at}/${side}/${field}: rule IP version doesn't match CIDR version`);
      if ((v4 && seen6) || (v6 && seen4) || (v4 && v6)) errors.push(`${at}/${side}/${field}: rule contains both IPv4 and IPv6 CIDRs`);
      seen4 ||= v4;
      seen6 ||= v6;
    }
  }
  return errors;
}

/** An EntityRule: the selector tags, global() (validateEntityRule; CEL from 3.33), services (Go up to 3.32, CEL from 3.33: same rules). */
function checkEntity(entity: Obj, at: string, ctx: Ctx): string[] {
  const errors: string[] = [];
  for (const field of ['selector', 'notSelector', 'namespaceSelector'] as const)
    errors.push(...checkSelector(entity[field], `${at}/${field}`));
  if (policyGlobal(entity['selector'], ctx)) errors.push(`${at}/selector: global() can only be used in an EntityRule namespaceSelector`);
  if (typeof entity['namespaceSelector'] === 'string') {
    const error = globalNamespaceSelectorError(entity['namespaceSelector']);
    if (error !== null) errors.push(`${at}/namespaceSelector: ${error}`);
  }
  const sa = entity['serviceAccounts'];
  if (isObj(sa)) errors.push(...checkSelector(sa['selector'], `${at}/serviceAccounts/selector`));

  const services = entity['services'];
  if (services !== undefined) {
    if (hasText(entity['namespaceSelector'])) errors.push(`${at}: cannot specify NamespaceSelector and Services on the same rule`);
    if (entity['serviceAccounts'] !== undefined) errors.push(`${at}: cannot specify ServiceAccounts and Services on the same rule`);
    if (hasText(entity['selector']) || hasText(entity['notSelector']))
      errors.push(`${at}: cannot specify Selector/NotSelector and Services on the same rule`);
    if (nonEmptyList(entity['nets']) || nonEmptyList(entity['notNets']))
      errors.push(`${at}: cannot specify Nets/NotNets and Services on the same rule`);
    if (!isObj(services) || !hasText(services['name'])) errors.push(`${at}/services: services must specify a service name`);
    if (isObj(services)) {
      for (const field of ['name', 'namespace'] as const) {
        const v = services[field];
        if (hasText(v) && !CALICO_NAME.test(v as string)) errors.push(`${at}/services/${field}: ${JSON.stringify(v)} is not a valid name`);
      }
    }
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Protocols and ports (api/pkg/lib/numorstring, validator.go validateProtocol and validatePort)

const PROTOCOL_NAMES: readonly unknown[] = ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'];

/**
 * A JSON number decodes into a uint8 (0-255, integers only); a string of digits that ParseUint(.., 8)
 * accepts is a number; other strings are names, matched case-sensitively. Number 0 is invalid.
 */
function protocolNumber(p: unknown): number | null {
  if (typeof p === 'number') return Number.isInteger(p) && p >= 0 && p <= 255 ? p : NaN;
  if (typeof p === 'string' && /^[0-9]+$/.test(p) && Number(p) <= 255) return Number(p);
  return null;
}

function isProtocol(p: unknown): boolean {
  const n = protocolNumber(p);
  if (n !== null) return n >= 1 && n <= 255;
  return PROTOCOL_NAMES.includes(p);
}

/** Protocol.SupportsPorts: 6, 17 and 132, by number or name. */
function protocolHasPorts(p: unknown): boolean {
  const n = protocolNumber(p);
  if (n !== null) return n === 6 || n === 17 || n === 132;
  return p === 'TCP' || p === 'UDP' || p === 'SCTP' || p === 'tcp' || p === 'udp' || p === 'sctp';
}

const isNumericPort = (p: string): boolean => /^\d+$/.test(p) || /^(\d+):(\d+)$/.test(p);

/**
 * Why a port does not decode or validate, or null. A number decodes into a uint16; a string is
 * all digits (a port), `<digits>:<digits>` (a range, min <= max) or a name matching
 * [a-zA-Z0-9_.-]{1,128} (PortFromString); then validatePort: numbers from 1, and a name must be
 * an IANA service name (validatePortName, k8s IsValidPortName).
 */
function portError(p: unknown): string | null {
  const inU16 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 65535;
  if (typeof p === 'number') {
    if (!inU16(p)) return 'not a 16-bit unsigned integer';
    return p < 1 ? 'port number must be between 1 and 65535' : null;
  }
  if (typeof p !== 'string') return 'neither a number nor a string';
  if (/^\d+$/.test(p)) {
    const n = Number(p);
    if (!inU16(n)) return 'invalid port format';
    return n < 1 ? 'port number must be between 1 and 65535' : null;
  }
  const range = /^(\d+):(\d+)$/.exec(p);
  if (range) {
    const [lo, hi] = [Number(range[1]), Number(range[2])];
    if (!inU16(lo) || !inU16(hi)) return 'invalid port number in range';
    if (lo > hi) return 'minimum port number is greater than maximum port number';
    return lo < 1 || hi < 1 ? 'port number must be between 1 and 65535' : null;
  }
  if (!/^[a-zA-Z0-9_.-]{1,128}$/.test(p)) return 'invalid name for named port';
  return isValidPortName(p) ? null : 'a port name is 1-15 lowercase letters, digits and "-", with at least one letter';
}

// ---------------------------------------------------------------------------------------------
// Storage through the crd.projectcalico.org/v1 backend (libcalico-go/lib/backend/k8s/resources/resources.go)

const isOurs = (key: string): boolean => key.includes('projectcalico.org/') || key.includes('operator.tigera.io/');

/**
 * The v1 backend stores the v3 ObjectMeta as JSON in the annotation `projectcalico.org/metadata`
 * (with the name for policies; without namespace, resourceVersion, uid) and keeps the annotations
 * whose key contains projectcalico.org/ or operator.tigera.io/ beside it; the kube-apiserver limits
 * the annotations of the stored object to 256 KiB. Counted here: what is stored for certain (name,
 * creationTimestamp, labels with the `projectcalico.org/tier` label clientv3 adds, annotations); the
 * server adds more (managedFields, generation), so real objects need a margin below this.
 * Up to 3.31 the backend also names a policy without a dot `default.<name>` (names.TieredPolicyName),
 * which must still be at most 253 characters.
 */
function checkV1Storage(kind: string, metadata: Obj, spec: Obj, ctx: Ctx): string[] {
  const errors: string[] = [];
  const name = typeof metadata['name'] === 'string' ? metadata['name'] : '';
  const labels: Record<string, string> = isObj(metadata['labels'])
    ? Object.fromEntries(Object.entries(metadata['labels']).map(([k, v]) => [k, String(v)]))
    : {};
  const annotations: Record<string, string> = isObj(metadata['annotations'])
    ? Object.fromEntries(Object.entries(metadata['annotations']).map(([k, v]) => [k, String(v)]))
    : {};
  const policy = POLICY_KINDS.has(kind);
  if (policy) {
    const tier = typeof spec['tier'] === 'string' && spec['tier'] !== '' ? spec['tier'] : 'default';
    // clientv3 labels a policy with its tier: 3.32+ always (api/pkg/defaults), up to 3.31 outside the default tier.
    if (since(ctx.version, '3.32') || tier !== 'default') labels['projectcalico.org/tier'] = tier;
    if (!since(ctx.version, '3.32') && !name.includes('.') && `default.${name}`.length > 253) {
      errors.push(
        `/metadata/name: stored as "default.${name.slice(0, 20)}..." (${name.length + 8} characters), longer than 253 (Calico up to 3.31)`,
      );
    }
  }
  // {"name":"..","creationTimestamp":"2006-01-02T15:04:05Z","labels":{..},"annotations":{..}}
  let json = 2 + `"creationTimestamp":`.length + 22;
  if (policy && name !== '') json += `"name":`.length + goJsonStringLength(name) + 1;
  if (Object.keys(labels).length > 0) json += 1 + `"labels":`.length + goJsonMapLength(labels);
  if (Object.keys(annotations).length > 0) json += 1 + `"annotations":`.length + goJsonMapLength(annotations);
  const kept = Object.entries(annotations).filter(([k]) => isOurs(k));
  const stored = utf8Length('projectcalico.org/metadata') + json + kept.reduce((acc, [k, v]) => acc + utf8Length(k) + utf8Length(v), 0);
  if (stored > ANNOTATIONS_LIMIT) {
    errors.push(
      `/metadata: stored through the crd.projectcalico.org/v1 backend, the annotations take at least ${stored} bytes, more than ${ANNOTATIONS_LIMIT}`,
    );
  }
  return errors;
}
