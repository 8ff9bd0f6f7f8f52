/** Deterministic randomness for the mesh's tests (src/mesh/): a seeded xorshift32. Not for keys. */

/** A function returning integers in [0, n), the same sequence for the same seed. */
export function seededRandom(seed: number): (n: number) => number {
  let x = (seed >>> 0) || 1;
  return (n: number): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return n <= 1 ? 0 : x % n;
  };
}

/** A `random(n)` byte source (the shape the mesh takes for key generation) from a seed. */
export function seededBytes(seed: number): (n: number) => Uint8Array {
  const next = seededRandom(seed);
  return (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = next(256);
    return out;
  };
}
