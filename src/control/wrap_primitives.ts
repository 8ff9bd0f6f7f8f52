/**
 * The primitives of the static-key control wrap (control_wrap.ts): a keyed
 * HMAC and AES-256-CTR, each keyed once per wrap and run per message in
 * caller buffers. Two backends: OpenSSL's libcrypto through FFI
 * (wrap_openssl.ts, which also picks the default: OpenSSL whenever it
 * loads — no objects per message,
 * so a stranger's packet is checked for ~1 µs), and node:crypto (a Hmac or
 * Cipher object per message, ~28 µs; used when libcrypto is unavailable).
 * Known-answer tests hold both to the same bytes (control_wrap_test.ts).
 */

import crypto from "node:crypto";

export type MacDigest = "SHA1" | "SHA256" | "SHA384" | "SHA512";

/** HMAC under a fixed key: begin(), update() any number of times, finish() writes `size` bytes. */
export interface KeyedMac {
  readonly size: number;
  begin(): void;
  update(buf: Uint8Array, off: number, len: number): void;
  finish(out: Uint8Array, outOff: number): void;
}

/** AES-256-CTR under a fixed key: dst[dstOff, +len) = src[srcOff, +len) XOR the keystream from the 16-byte IV. */
export interface KeyedCtr {
  xor(
    iv: Uint8Array,
    ivOff: number,
    src: Uint8Array,
    srcOff: number,
    len: number,
    dst: Uint8Array,
    dstOff: number,
  ): void;
}

export interface WrapPrimitives {
  readonly backend: "openssl" | "node";
  mac(digest: MacDigest, key: Uint8Array, size: number): KeyedMac;
  ctr(key: Uint8Array): KeyedCtr;
}

class NodeMac implements KeyedMac {
  readonly size: number;
  readonly #alg: string;
  readonly #key: Uint8Array;
  #h: crypto.Hmac | null = null;

  constructor(digest: MacDigest, key: Uint8Array, size: number) {
    this.#alg = digest.toLowerCase();
    this.#key = key.slice();
    this.size = size;
  }

  begin(): void {
    this.#h = crypto.createHmac(this.#alg, this.#key);
  }

  update(buf: Uint8Array, off: number, len: number): void {
    this.#h!.update(buf.subarray(off, off + len));
  }

  finish(out: Uint8Array, outOff: number): void {
    out.set(this.#h!.digest(), outOff);
    this.#h = null;
  }
}

class NodeCtr implements KeyedCtr {
  readonly #key: Uint8Array;

  constructor(key: Uint8Array) {
    this.#key = key.slice();
  }

  xor(
    iv: Uint8Array,
    ivOff: number,
    src: Uint8Array,
    srcOff: number,
    len: number,
    dst: Uint8Array,
    dstOff: number,
  ): void {
    const c = crypto.createCipheriv("aes-256-ctr", this.#key, iv.subarray(ivOff, ivOff + 16));
    const out = c.update(src.subarray(srcOff, srcOff + len));
    c.final();
    dst.set(out, dstOff);
  }
}

export const nodeWrapPrimitives: WrapPrimitives = {
  backend: "node",
  mac: (digest, key, size) => new NodeMac(digest, key, size),
  ctr: (key) => new NodeCtr(key),
};

/** Constant-time comparison of a[aOff, +n) and b[bOff, +n). */
export function equalBytes(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, n: number): boolean {
  let diff = 0;
  for (let i = 0; i < n; i++) diff |= a[aOff + i] ^ b[bOff + i];
  return diff === 0;
}
