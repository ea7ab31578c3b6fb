// Bounded memoisation for hot validation paths: flow logs repeat the same few names millions of
// times. The cache is cleared when full, by entries or by bytes (keys can be as long as a line),
// so memory stays bounded whatever the input; a key too big for the cache is never kept.

/** Estimated bytes of an entry: its key (two bytes a character at most) and the map's share. */
const entryBytes = (key: string): number => 2 * key.length + 64;

const MEMO_MAX_ENTRIES = 10_000;
const MEMO_MAX_BYTES = 4 * 1024 * 1024;

export function memoize<T>(compute: (key: string) => T, maxEntries = MEMO_MAX_ENTRIES, maxBytes = MEMO_MAX_BYTES): (key: string) => T {
  const cache = new Map<string, T>();
  let bytes = 0;
  return (key) => {
    let value = cache.get(key);
    if (value === undefined && !cache.has(key)) {
      value = compute(key);
      const size = entryBytes(key);
      if (size > maxBytes) return value;
      if (cache.size >= maxEntries || bytes + size > maxBytes) {
        cache.clear();
        bytes = 0;
      }
      cache.set(key, value);
      bytes += size;
    }
    return value as T;
  };
}
