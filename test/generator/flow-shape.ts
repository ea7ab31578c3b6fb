// Test helper: the shape every undamaged generated record must have (Calico Enterprise flow log).

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isCount = (v: unknown): boolean => isInt(v) && v >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isPort = (v: unknown): boolean => v === null || (isInt(v) && v >= 0 && v <= 65535);
const isLabels = (v: unknown): boolean =>
  v === null ||
  (typeof v === 'object' && Array.isArray((v as { labels?: unknown }).labels) && (v as { labels: unknown[] }).labels.every(isStr));
const POLICY_HIT = /^\d+\|[^|]+\|[^|]+\|(allow|deny|pass)\|-?\d+$/;
const NAMESPACE = /^(-|[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$/;
const TYPES = ['wep', 'hep', 'ns', 'net'];

/** Problems with a parsed record; empty when it is a well-formed flow log. */
export function flowProblems(r: unknown): string[] {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return ['not an object'];
  const o = r as Record<string, unknown>;
  const p: string[] = [];
  const need = (field: string, ok: (v: unknown) => boolean): void => {
    if (!(field in o)) p.push(`missing ${field}`);
    else if (!ok(o[field])) p.push(`bad ${field}: ${JSON.stringify(o[field])?.slice(0, 80)}`);
  };
  need('start_time', isInt);
  need('end_time', (v) => isInt(v) && v >= (o['start_time'] as number));
  for (const end of ['source', 'dest']) {
    need(`${end}_ip`, (v) => v === null || isStr(v));
    need(`${end}_name`, isStr);
    need(`${end}_name_aggr`, (v) => isStr(v) && v.length > 0);
    need(`${end}_namespace`, (v) => isStr(v) && NAMESPACE.test(v));
    need(`${end}_type`, (v) => TYPES.includes(v as string));
    need(`${end}_labels`, isLabels);
  }
  need('source_port', isPort);
  need('dest_port', isPort);
  need('dest_service_namespace', isStr);
  need('dest_service_name', isStr);
  need('dest_service_port', isStr);
  need('dest_service_port_num', isPort);
  if ('dest_domains' in o) need('dest_domains', (v) => Array.isArray(v) && v.every(isStr));
  need('proto', (v) => isStr(v) && /^(tcp|udp|icmp|\d+)$/.test(v));
  need('action', (v) => v === 'allow' || v === 'deny');
  need('reporter', (v) => v === 'src' || v === 'dst');
  if ('policies' in o) {
    need('policies', (v) => {
      if (typeof v !== 'object' || v === null) return false;
      const pol = v as Record<string, unknown>;
      return ['all_policies', 'enforced_policies', 'pending_policies'].every(
        (k) =>
          Array.isArray(pol[k]) && (pol[k] as unknown[]).length > 0 && (pol[k] as unknown[]).every((h) => isStr(h) && POLICY_HIT.test(h)),
      );
    });
  }
  for (const c of ['num_flows', 'num_flows_started', 'num_flows_completed', 'bytes_in', 'bytes_out', 'packets_in', 'packets_out'])
    need(c, isCount);
  return p;
}
