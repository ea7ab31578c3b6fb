// A hand-written structural check of the `networking.k8s.io/v1` NetworkPolicy objects the
// `kubernetes` flavour writes: one namespace-wide policy (`podSelector: {}`) whose peers are
// namespaces or IP blocks. Stricter than the API server where our output should be (every port
// names its protocol; a port, when given, is a number), never looser. A NetworkPolicyPort without
// `port` matches every port of its protocol (networking/v1 NetworkPolicyPort; ports are 1-65535 and
// endPort needs a numeric port: ValidateNetworkPolicyPort, kubernetes
// pkg/apis/networking/validation/validation.go).

import { isCanonicalCidr, isDnsLabel, isDnsSubdomain, isLabelValue, isQualifiedName } from './crd-validator.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const extraKeys = (value: Obj, allowed: readonly string[], at: string): string[] =>
  Object.keys(value)
    .filter((k) => !allowed.includes(k))
    .map((k) => `${at}: unexpected field "${k}"`);

/** Errors for one Kubernetes NetworkPolicy as the `kubernetes` flavour writes it; empty when fine. */
export function validateKubernetesNetworkPolicy(obj: unknown): string[] {
  if (!isObj(obj)) return ['/: must be an object'];
  const errors: string[] = [];
  if (obj['apiVersion'] !== 'networking.k8s.io/v1')
    errors.push(`/apiVersion: must be networking.k8s.io/v1, got ${JSON.stringify(obj['apiVersion'])}`);
  if (obj['kind'] !== 'NetworkPolicy') errors.push(`/kind: must be NetworkPolicy, got ${JSON.stringify(obj['kind'])}`);
  errors.push(...extraKeys(obj, ['apiVersion', 'kind', 'metadata', 'spec'], '/'));

  const metadata = obj['metadata'];
  if (!isObj(metadata)) errors.push('/metadata: required');
  else {
    const { name, namespace, labels, annotations } = metadata;
    if (typeof name !== 'string' || !isDnsSubdomain(name))
      errors.push(`/metadata/name: ${JSON.stringify(name)} is not a valid DNS subdomain`);
    if (typeof namespace !== 'string' || !isDnsLabel(namespace))
      errors.push(`/metadata/namespace: ${JSON.stringify(namespace)} is not a namespace name`);
    if (labels !== undefined) errors.push(...checkStringMap(labels, '/metadata/labels', true));
    if (annotations !== undefined) errors.push(...checkStringMap(annotations, '/metadata/annotations', false));
  }

  const spec = obj['spec'];
  if (!isObj(spec)) return [...errors, '/spec: required'];
  errors.push(...extraKeys(spec, ['podSelector', 'policyTypes', 'ingress', 'egress'], '/spec'));
  if (!isObj(spec['podSelector']) || Object.keys(spec['podSelector']).length !== 0) {
    errors.push(`/spec/podSelector: must be {} (the whole namespace), got ${JSON.stringify(spec['podSelector'])}`);
  }
  const types = spec['policyTypes'];
  if (!Array.isArray(types) || types.length === 0) errors.push('/spec/policyTypes: must be a non-empty list');
  else {
    if (!types.every((t) => t === 'Ingress' || t === 'Egress'))
      errors.push(`/spec/policyTypes: must be a subset of [Ingress, Egress], got ${JSON.stringify(types)}`);
    if (new Set(types).size !== types.length) errors.push(`/spec/policyTypes: duplicate entries ${JSON.stringify(types)}`);
  }
  for (const [direction, type, peersKey] of [
    ['ingress', 'Ingress', 'from'],
    ['egress', 'Egress', 'to'],
  ] as const) {
    const rules = spec[direction];
    if (rules === undefined) continue;
    const at = `/spec/${direction}`;
    if (!Array.isArray(rules)) {
      errors.push(`${at}: must be a list`);
      continue;
    }
    if (rules.length > 0 && !(Array.isArray(types) && types.includes(type)))
      errors.push(`/spec/policyTypes: has ${direction} rules but does not include ${type}`);
    rules.forEach((rule, i) => errors.push(...checkRule(rule, peersKey, `${at}/${i}`)));
  }
  return errors;
}

function checkStringMap(value: unknown, at: string, labels: boolean): string[] {
  if (!isObj(value)) return [`${at}: must be a map of strings`];
  return Object.entries(value).flatMap(([k, v]) => [
    ...(isQualifiedName(k) ? [] : [`${at}: invalid key "${k}"`]),
    ...(typeof v === 'string' && (!labels || isLabelValue(v)) ? [] : [`${at}/${k}: invalid value ${JSON.stringify(v)}`]),
  ]);
}

function checkRule(rule: unknown, peersKey: 'from' | 'to', at: string): string[] {
  if (!isObj(rule)) return [`${at}: must be an object`];
  const errors = extraKeys(rule, ['ports', peersKey], at);
  const ports = rule['ports'];
  if (ports !== undefined) {
    if (!Array.isArray(ports) || ports.length === 0) errors.push(`${at}/ports: must be a non-empty list when present`);
    else ports.forEach((p, i) => errors.push(...checkPort(p, `${at}/ports/${i}`)));
  }
  const peers = rule[peersKey];
  if (peers !== undefined) {
    if (!Array.isArray(peers) || peers.length === 0) errors.push(`${at}/${peersKey}: must be a non-empty list when present`);
    else peers.forEach((p, i) => errors.push(...checkPeer(p, `${at}/${peersKey}/${i}`)));
  }
  return errors;
}

function checkPort(port: unknown, at: string): string[] {
  if (!isObj(port)) return [`${at}: must be an object`];
  const errors = extraKeys(port, ['protocol', 'port', 'endPort'], at);
  if (!['TCP', 'UDP', 'SCTP'].includes(port['protocol'] as string))
    errors.push(`${at}/protocol: must be TCP, UDP or SCTP, got ${JSON.stringify(port['protocol'])}`);
  const n = port['port'];
  if (n !== undefined && !(typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535))
    errors.push(`${at}/port: must be an integer 1-65535, got ${JSON.stringify(n)}`);
  const end = port['endPort'];
  if (end !== undefined && !(typeof end === 'number' && Number.isInteger(end) && end <= 65535 && typeof n === 'number' && end >= n)) {
    errors.push(`${at}/endPort: must be an integer from port to 65535, got ${JSON.stringify(end)}`);
  }
  return errors;
}

function checkPeer(peer: unknown, at: string): string[] {
  if (!isObj(peer)) return [`${at}: must be an object`];
  const keys = Object.keys(peer);
  if (keys.length !== 1 || !['namespaceSelector', 'ipBlock'].includes(keys[0]!)) {
    return [`${at}: a peer must be exactly one of namespaceSelector or ipBlock, got ${JSON.stringify(keys)}`];
  }
  if (keys[0] === 'ipBlock') {
    const block = peer['ipBlock'];
    if (!isObj(block)) return [`${at}/ipBlock: must be an object`];
    const errors = extraKeys(block, ['cidr', 'except'], `${at}/ipBlock`);
    const cidr = block['cidr'];
    if (typeof cidr !== 'string' || !isCanonicalCidr(cidr)) errors.push(`${at}/ipBlock/cidr: ${JSON.stringify(cidr)} is not a valid CIDR`);
    const except = block['except'];
    if (except !== undefined && (!Array.isArray(except) || !except.every((e) => typeof e === 'string' && isCanonicalCidr(e)))) {
      errors.push(`${at}/ipBlock/except: must be a list of CIDRs`);
    }
    return errors;
  }
  const selector = peer['namespaceSelector'];
  if (!isObj(selector)) return [`${at}/namespaceSelector: must be a label selector`];
  const errors = extraKeys(selector, ['matchLabels', 'matchExpressions'], `${at}/namespaceSelector`);
  if (selector['matchLabels'] !== undefined)
    errors.push(...checkStringMap(selector['matchLabels'], `${at}/namespaceSelector/matchLabels`, true));
  const expressions = selector['matchExpressions'];
  if (expressions !== undefined) {
    if (!Array.isArray(expressions)) errors.push(`${at}/namespaceSelector/matchExpressions: must be a list`);
    else {
      expressions.forEach((e, i) => {
        const where = `${at}/namespaceSelector/matchExpressions/${i}`;
        if (!isObj(e) || typeof e['key'] !== 'string' || !isQualifiedName(e['key'])) errors.push(`${where}/key: invalid`);
        else if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e['operator'] as string)) errors.push(`${where}/operator: invalid`);
        else {
          const values = e['values'];
          const needsValues = e['operator'] === 'In' || e['operator'] === 'NotIn';
          const ok = needsValues
            ? Array.isArray(values) && values.length > 0 && values.every((v) => typeof v === 'string' && isLabelValue(v))
            : values === undefined || (Array.isArray(values) && values.length === 0);
          if (!ok) errors.push(`${where}/values: invalid for operator ${String(e['operator'])}`);
        }
      });
    }
  }
  return errors;
}
