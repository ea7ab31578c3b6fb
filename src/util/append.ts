// Appending one list to another without spreading it into a call: `target.push(...items)` and
// `Math.max(...items)` put every item on the stack, and throw "Maximum call stack size exceeded"
// once a list reaches about a hundred thousand items (a simulation's distinct flows, a cluster's
// namespaces).

/** Appends `items` to `target`, in order; returns `target`. */
export function appendAll<T>(target: T[], items: Iterable<T>): T[] {
  for (const item of items) target.push(item);
  return target;
}

/** The largest of `values`; `empty` when there are none. */
export function maxOf(values: Iterable<number>, empty = -Infinity): number {
  let max = empty;
  for (const v of values) if (v > max || Number.isNaN(v)) max = v;
  return max;
}

/** The smallest of `values`; `empty` when there are none. */
export function minOf(values: Iterable<number>, empty = Infinity): number {
  let min = empty;
  for (const v of values) if (v < min || Number.isNaN(v)) min = v;
  return min;
}
