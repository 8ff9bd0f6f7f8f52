/**
 * The MAC table's bucket hash: HalfSipHash-1-3 (the 32-bit SipHash variant
 * Linux uses as `hsiphash` for its network hash tables) under a secret 64-bit
 * key, over the 6 MAC bytes. Clients choose the source MACs the switch
 * learns; with an unkeyed hash they could pick MACs that share one probe run
 * and turn every lookup into a linear scan (hash flooding). With a random
 * per-process key, which bucket a MAC lands in is unpredictable without the
 * key, and SipHash is a PRF, so colliding sets cannot be computed offline or
 * reused across restarts; recovering the key would need timing differences
 * of a few nanoseconds measured through the tunnel.
 *
 * The message is the MAC's bytes in reverse order (the low 32 bits first, as
 * one little-endian word, then the high 16), so the hot path needs no byte
 * swaps: macHash(key, 0x0504, 0x03020100) hashes the bytes 00 01 02 03 04 05.
 * Only 32-bit integer operations, and a result that fits a V8 small integer:
 * nothing allocates.
 */

/** A HalfSipHash key as two little-endian 32-bit words [k0, k1]. */
export type MacHashKey = Int32Array;

/** Key from 8 bytes (little-endian words, as in the SipHash reference). */
export function macHashKey(bytes: Uint8Array): MacHashKey {
  if (bytes.length !== 8) throw new RangeError(`MAC hash key must be 8 bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  return Int32Array.of(view.getUint32(0, true), view.getUint32(4, true));
}

let processKey: MacHashKey | null = null;

/** This process's random key, drawn once on first use. */
export function processMacHashKey(): MacHashKey {
  processKey ??= macHashKey(crypto.getRandomValues(new Uint8Array(8)));
  return processKey;
}

/** Bits of the hash that are returned: a small integer (Smi) in V8, so returning it never allocates. */
export const MAC_HASH_MASK = 0x3fffffff;

/**
 * HalfSipHash-1-3 of the 48-bit MAC `hi:lo` (hi = its top 16 bits), low 30
 * bits of the 32-bit result (tables are far smaller than 2^30 buckets).
 */
export function macHash(key: MacHashKey, hi: number, lo: number): number {
  const k0 = key[0];
  const k1 = key[1];
  let v0 = k0;
  let v1 = k1;
  let v2 = 0x6c796765 ^ k0;
  let v3 = 0x74656462 ^ k1;
  // Two message words, one compression round each: the low 32 bits, then
  // the length byte (6) with the high 16 bits; then three finalization rounds.
  for (let r = 0; r < 5; r++) {
    const m = r === 0 ? lo | 0 : r === 1 ? (6 << 24) | (hi & 0xffff) : 0;
    if (r < 2) v3 ^= m;
    else if (r === 2) v2 ^= 0xff;
    v0 = (v0 + v1) | 0;
    v1 = (v1 << 5) | (v1 >>> 27);
    v1 ^= v0;
    v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0;
    v3 = (v3 << 8) | (v3 >>> 24);
    v3 ^= v2;
    v0 = (v0 + v3) | 0;
    v3 = (v3 << 7) | (v3 >>> 25);
    v3 ^= v0;
    v2 = (v2 + v1) | 0;
    v1 = (v1 << 13) | (v1 >>> 19);
    v1 ^= v2;
    v2 = (v2 << 16) | (v2 >>> 16);
    if (r < 2) v0 ^= m;
  }
  return (v1 ^ v3) & MAC_HASH_MASK;
}
