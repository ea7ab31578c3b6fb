// Reading fields of the objects the Kubernetes API returns, which are untrusted input: nothing is
// assumed about their shape, and labels are checked against Kubernetes label syntax here, so
// nothing downstream needs to escape them.

import { isLabelKey, isLabelValue } from '../calico/names.ts';

/** The value at `path`, or undefined when any step is missing or not an object. */
export function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** The labels minus `drop`, or the reason they are invalid. */
export function validLabels(value: unknown, drop: ReadonlySet<string>): Record<string, string> | string {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return 'labels are not a map';
  const labels: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (drop.has(key)) continue;
    if (!isLabelKey(key)) return 'invalid label key';
    if (typeof v !== 'string' || !isLabelValue(v)) return `invalid value of label ${key}`;
    labels[key] = v;
  }
  return labels;
}

/** Code-unit order, the same on every machine (unlike localeCompare). */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
