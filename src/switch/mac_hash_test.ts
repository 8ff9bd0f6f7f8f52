import assert from "node:assert/strict";
import { MAC_HASH_MASK, macHash, macHashKey, processMacHashKey } from "./mac_hash.ts";

/**
 * HalfSipHash-2-4 with 32-bit output, key 00..07, message 00..(n-1): the
 * first nine entries of vectors_hsip32 in the SipHash reference's vectors.h
 * (output bytes as printed there).
 */
const REFERENCE_2_4 = [
  "a9359f5b",
  "27475ab8",
  "fa62a603",
  "8afee704",
  "2a6e4689",
  "c5fab669",
  "5863fc23",
  "8bcf63c5",
  "d0b8848f",
];

const REFERENCE_KEY = Uint8Array.from({ length: 8 }, (_, i) => i);

function rotl(x: number, b: number): number {
  return (x << b) | (x >>> (32 - b));
}

/** A plain byte-oriented HalfSipHash-c-d (32-bit output), written from the paper, for cross-checks. */
function halfSipHashBytes(key: Uint8Array, msg: Uint8Array, c: number, d: number): number {
  const word = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
  const k0 = word(key, 0);
  const k1 = word(key, 4);
  const v = [k0, k1, 0x6c796765 ^ k0, 0x74656462 ^ k1];
  const round = () => {
    v[0] = (v[0] + v[1]) | 0;
    v[1] = rotl(v[1], 5) ^ v[0];
    v[0] = rotl(v[0], 16);
    v[2] = (v[2] + v[3]) | 0;
    v[3] = rotl(v[3], 8) ^ v[2];
    v[0] = (v[0] + v[3]) | 0;
    v[3] = rotl(v[3], 7) ^ v[0];
    v[2] = (v[2] + v[1]) | 0;
    v[1] = rotl(v[1], 13) ^ v[2];
    v[2] = rotl(v[2], 16);
  };
  const compress = (m: number) => {
    v[3] ^= m;
    for (let i = 0; i < c; i++) round();
    v[0] ^= m;
  };
  const full = msg.length - (msg.length % 4);
  for (let i = 0; i < full; i += 4) compress(word(msg, i));
  let last = msg.length << 24;
  for (let i = full; i < msg.length; i++) last |= msg[i] << (8 * (i - full));
  compress(last);
  v[2] ^= 0xff;
  for (let i = 0; i < d; i++) round();
  return (v[1] ^ v[3]) >>> 0;
}

function leHex(x: number): string {
  return [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("halfSipHashBytes() (the test's reference) matches the published HalfSipHash-2-4 vectors", () => {
  REFERENCE_2_4.forEach((want, n) => {
    const msg = Uint8Array.from({ length: n }, (_, i) => i);
    assert.equal(leHex(halfSipHashBytes(REFERENCE_KEY, msg, 2, 4)), want, `length ${n}`);
  });
});

Deno.test("macHash() is HalfSipHash-1-3 of the MAC bytes in reverse order (low 30 bits)", () => {
  // Message 00 01 02 03 04 05 is the MAC 05:04:03:02:01:00.
  const bytes = Uint8Array.of(0, 1, 2, 3, 4, 5);
  assert.equal(
    macHash(macHashKey(REFERENCE_KEY), 0x0504, 0x03020100),
    halfSipHashBytes(REFERENCE_KEY, bytes, 1, 3) & MAC_HASH_MASK,
  );
  for (let i = 0; i < 2000; i++) {
    const keyBytes = crypto.getRandomValues(new Uint8Array(8));
    const mac = crypto.getRandomValues(new Uint8Array(6));
    const hi = (mac[0] << 8) | mac[1];
    const lo = (mac[2] << 24) | (mac[3] << 16) | (mac[4] << 8) | mac[5];
    const reversed = mac.slice().reverse();
    assert.equal(
      macHash(macHashKey(keyBytes), hi, lo),
      halfSipHashBytes(keyBytes, reversed, 1, 3) & MAC_HASH_MASK,
    );
  }
});

Deno.test("macHash() depends on the key: the same MACs land in different buckets under another key", () => {
  const a = macHashKey(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
  const b = macHashKey(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 9));
  let same = 0;
  for (let i = 0; i < 1000; i++) {
    if ((macHash(a, 0x0200, i) & 1023) === (macHash(b, 0x0200, i) & 1023)) same++;
  }
  assert.ok(same < 10, `${same} of 1000 MACs kept their bucket`);
});

Deno.test("processMacHashKey() is drawn once per process; macHashKey() wants 8 bytes", () => {
  assert.equal(processMacHashKey(), processMacHashKey());
  assert.throws(() => macHashKey(new Uint8Array(7)), /8 bytes/);
});
