// Bounded memoisation for hot validation paths: flow logs repeat the same few names millions of
// times. The cache is cleared when full, so memory stays bounded whatever the input.

export function memoize<T>(compute: (key: string) => T, maxEntries = 10_000): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let value = cache.get(key);
    if (value === undefined && !cache.has(key)) {
      value = compute(key);
      if (cache.size >= maxEntries) cache.clear();
      cache.set(key, value);
    }
    return value as T;
  };
}
