/**
 * AES-GCM on WebCrypto (`crypto.subtle`). Async and allocating (every call
 * resolves to a fresh ArrayBuffer), so it does not implement `Aead` and is not
 * on the data path; it exists for the benchmark (it only pays off with many
 * packets in flight) and as a third implementation in the known-answer tests.
 * WebCrypto has no ChaCha20-Poly1305.
 *
 * Same layout contract as `Aead`: in place on one buffer, detached tag, and
 * `buf` untouched when `open` resolves false.
 */

import {
  AEAD_TAG_LEN,
  assertAeadRanges,
  assertKeyLength,
  type CipherName,
  joinSealed,
  storeJoinedSealed,
} from "./aead.ts";

export class WebCryptoAead {
  readonly cipher: CipherName;
  readonly backend = "webcrypto" as const;
  #key: CryptoKey;

  private constructor(cipher: CipherName, key: CryptoKey) {
    this.cipher = cipher;
    this.#key = key;
  }

  /** Imports `key` (copied) for an AES-GCM cipher; ChaCha20-Poly1305 is a TypeError. */
  static async create(cipher: CipherName, key: Uint8Array): Promise<WebCryptoAead> {
    if (cipher === "CHACHA20-POLY1305") throw new TypeError("WebCrypto has no CHACHA20-POLY1305");
    assertKeyLength(cipher, key);
    const k = await crypto.subtle.importKey("raw", key.slice(), "AES-GCM", false, ["encrypt", "decrypt"]);
    return new WebCryptoAead(cipher, k);
  }

  async seal(
    nonce: Uint8Array,
    buf: Uint8Array,
    aadOff: number,
    aadLen: number,
    off: number,
    len: number,
    tagOff: number,
  ): Promise<void> {
    assertAeadRanges(nonce, buf, aadOff, aadLen, off, len, tagOff);
    const out = new Uint8Array(
      await crypto.subtle.encrypt(
        {
          name: "AES-GCM",
          iv: nonce.slice(),
          additionalData: buf.slice(aadOff, aadOff + aadLen),
          tagLength: AEAD_TAG_LEN * 8,
        },
        this.#key,
        buf.slice(off, off + len),
      ),
    );
    storeJoinedSealed(out, buf, off, len, tagOff);
  }

  async open(
    nonce: Uint8Array,
    buf: Uint8Array,
    aadOff: number,
    aadLen: number,
    off: number,
    len: number,
    tagOff: number,
  ): Promise<boolean> {
    assertAeadRanges(nonce, buf, aadOff, aadLen, off, len, tagOff);
    const sealed = joinSealed(buf, off, len, tagOff, new Uint8Array(len + AEAD_TAG_LEN));
    let plain: ArrayBuffer;
    try {
      plain = await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: nonce.slice(),
          additionalData: buf.slice(aadOff, aadOff + aadLen),
          tagLength: AEAD_TAG_LEN * 8,
        },
        this.#key,
        sealed,
      );
    } catch {
      return false;
    }
    buf.set(new Uint8Array(plain), off);
    return true;
  }
}
