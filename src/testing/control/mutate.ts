/**
 * Test support: seeded mutations of genuine wire packets for fuzz tests
 * (src/control/auth_fuzz_test.ts, src/server/server_fuzz_test.ts). Every
 * mutation differs from its source, so a mutated authenticated packet is a
 * forgery, never a replay.
 */

import { fractions, xorshift32 } from "../seeded_random.ts";

/** Frames a fuzz test feeds: TSVPN_FUZZ_FRAMES (the soak sets 1000000), default 100000. */
export function fuzzFrames(text = Deno.env.get("TSVPN_FUZZ_FRAMES")): number {
  if (text === undefined) return 100_000;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`TSVPN_FUZZ_FRAMES: a positive integer, not "${text}"`);
  return n;
}

/** Random draws for the mutator, seeded so a failure reproduces. */
export class Draw {
  readonly #r: () => number;
  constructor(seed: number) {
    this.#r = fractions(xorshift32(seed));
  }
  below(n: number): number {
    return Math.floor(this.#r() * n);
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.below(256);
    return b;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.below(a.length)];
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One mutation of `src`; never an exact copy (that would be a replay, not a forgery). */
export function mutate(d: Draw, src: Uint8Array): Uint8Array {
  for (;;) {
    const b = mutateOnce(d, src);
    if (b.length > 0 && !sameBytes(b, src)) return b;
  }
}

function mutateOnce(d: Draw, src: Uint8Array): Uint8Array {
  const b = src.slice();
  switch (d.below(8)) {
    case 0: // a few bit flips anywhere
      for (let i = 0, n = 1 + d.below(4); i < n; i++) b[d.below(b.length)] ^= 1 << d.below(8);
      return b;
    case 1: // truncated
      return b.subarray(0, d.below(b.length));
    case 2: { // extended with junk
      const out = new Uint8Array(b.length + 1 + d.below(1200));
      out.set(b);
      out.set(d.bytes(out.length - b.length), b.length);
      return out;
    }
    case 3: // opcode / key-id byte
      b[0] = d.below(256);
      return b;
    case 4: // header: session id, peer-id, packet-id, time (the first 24 bytes)
      for (let i = 1; i < Math.min(b.length, 24); i++) if (d.below(4) === 0) b[i] = d.below(256);
      return b;
    case 5: { // a run of random bytes
      const at = d.below(b.length);
      b.set(d.bytes(Math.min(b.length - at, 1 + d.below(64))), at);
      return b;
    }
    case 6: // the tag / HMAC region only
      b[Math.min(b.length - 1, 9 + d.below(32))] ^= 1 + d.below(255);
      return b;
    default: // random bytes of a plausible size
      return d.bytes(1 + d.below(1400));
  }
}
