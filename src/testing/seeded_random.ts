/**
 * Test support: small seedable generators, so a fuzz run or a random table
 * reproduces from its seed. Not for anything secret.
 */

/** mulberry32: 32-bit unsigned integers. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** xorshift32 (13, 17, 5): 32-bit unsigned integers; a seed of 0 yields only zeros. */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** A generator of 32-bit integers as fractions in [0, 1). */
export function fractions(next: () => number): () => number {
  return () => next() / 2 ** 32;
}
