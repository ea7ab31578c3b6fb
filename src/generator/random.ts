// Small seeded PRNG (mulberry32): fast, good enough for synthetic data, and identical on every
// platform, so the same options always produce the same bytes.

export interface Random {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform integer in [min, max] (inclusive). */
  range(min: number, max: number): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
}

export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    range: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError('pick from an empty array');
      return items[Math.floor(next() * items.length)] as T;
    },
  };
}

/** FNV-1a over a string: stable per-name values (pod-template hashes, seeds) that do not depend on order. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

// Kubernetes' SafeEncodeString alphabet (no vowels, no confusable digits), as in pod-template-hash.
const K8S_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A Kubernetes-style random suffix derived from a name, e.g. `6b687c8dcb`-like hashes. */
export function k8sSuffix(name: string, length: number): string {
  const rng = createRandom(hashString(name));
  let out = '';
  for (let i = 0; i < length; i++) out += K8S_ALPHABET[rng.int(K8S_ALPHABET.length)];
  return out;
}
