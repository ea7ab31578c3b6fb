/** One metric's samples in Prometheus text as `labels -> value`, e.g. `{outcome="done"} -> 1`. */
export function metricSamples(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m?.[1] === name) out[m[2] ?? ''] = Number(m[3]);
  }
  return out;
}
