/**
 * AEAD backend on @noble/ciphers (audited pure TypeScript). Slower than the
 * native backend, kept as the portable fallback and as an independent
 * implementation for the cross-backend known-answer tests.
 *
 * noble's API is one cipher object per (key, nonce) and wants `ciphertext ||
 * tag` contiguous, while the wire has the tag in front. Each instance owns a
 * scratch buffer where that contiguous form is assembled, so the caller's
 * buffer is written only with final bytes (and not at all on a bad tag).
 * ChaCha20-Poly1305 encrypts straight into the scratch buffer; noble's GCM has
 * no output-buffer variant in 2.4.0 and returns a fresh array per call.
 */

import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import {
  type Aead,
  AEAD_TAG_LEN,
  assertAeadRanges,
  assertKeyLength,
  type CipherName,
  joinSealed,
  storeJoinedSealed,
} from "./aead.ts";

const INITIAL_SCRATCH = 2048;

export class NobleAead implements Aead {
  readonly cipher: CipherName;
  readonly backend = "noble" as const;
  #key: Uint8Array;
  #chacha: boolean;
  #scratch = new Uint8Array(INITIAL_SCRATCH);

  /** Copies `key`; the caller may wipe its copy afterwards. */
  constructor(cipher: CipherName, key: Uint8Array) {
    assertKeyLength(cipher, key);
    this.cipher = cipher;
    this.#key = key.slice();
    this.#chacha = cipher === "CHACHA20-POLY1305";
  }

  #scratchFor(n: number): Uint8Array {
    if (this.#scratch.length < n) this.#scratch = new Uint8Array(Math.max(n, this.#scratch.length * 2));
    return this.#scratch;
  }

  seal(
    nonce: Uint8Array,
    buf: Uint8Array,
    aadOff: number,
    aadLen: number,
    off: number,
    len: number,
    tagOff: number,
  ): void {
    assertAeadRanges(nonce, buf, aadOff, aadLen, off, len, tagOff);
    const aad = buf.subarray(aadOff, aadOff + aadLen);
    const input = buf.subarray(off, off + len);
    let sealed: Uint8Array;
    if (this.#chacha) {
      const scratch = this.#scratchFor(len + AEAD_TAG_LEN);
      sealed = chacha20poly1305(this.#key, nonce, aad).encrypt(
        input,
        scratch.subarray(0, len + AEAD_TAG_LEN),
      );
    } else {
      sealed = gcm(this.#key, nonce, aad).encrypt(input);
    }
    storeJoinedSealed(sealed, buf, off, len, tagOff);
  }

  open(
    nonce: Uint8Array,
    buf: Uint8Array,
    aadOff: number,
    aadLen: number,
    off: number,
    len: number,
    tagOff: number,
  ): boolean {
    assertAeadRanges(nonce, buf, aadOff, aadLen, off, len, tagOff);
    const scratch = this.#scratchFor(len + AEAD_TAG_LEN);
    const sealed = joinSealed(buf, off, len, tagOff, scratch);
    const aad = buf.subarray(aadOff, aadOff + aadLen);
    try {
      if (this.#chacha) {
        // In place inside scratch: noble verifies the tag before it writes output.
        chacha20poly1305(this.#key, nonce, aad).decrypt(sealed, scratch.subarray(0, len));
        buf.set(scratch.subarray(0, len), off);
      } else {
        buf.set(gcm(this.#key, nonce, aad).decrypt(sealed), off);
      }
    } catch {
      return false;
    }
    return true;
  }
}
