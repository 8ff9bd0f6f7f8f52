/**
 * The AEAD contract the data channel is written against, and the cipher names
 * OpenVPN negotiates (NCP: `--data-ciphers`, `IV_CIPHERS=`).
 *
 * A backend binds one cipher and one key (one direction) and works in place on
 * a single caller buffer, with a detached 16-byte tag, because that is how a
 * P_DATA_V2 datagram is laid out (tag before ciphertext):
 *
 *   buf: ... [aad: aadLen] ... [tag: 16] ... [data: len] ...
 *
 * `seal` turns plaintext at `buf[off, off+len)` into ciphertext at the same
 * place and writes the tag at `buf[tagOff, tagOff+16)`. `open` verifies the tag
 * first and only then writes plaintext over the ciphertext; on a bad tag it
 * returns false and leaves `buf` untouched. The tag region must not overlap the
 * data region. Instances keep scratch state: one caller at a time, no re-entry.
 * Neither method throws for any input bytes; they throw only on programming
 * errors (wrong nonce length, ranges outside `buf`).
 */

export type CipherName = "AES-256-GCM" | "AES-128-GCM" | "CHACHA20-POLY1305";

export const CIPHER_NAMES: readonly CipherName[] = ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"];

/** Bytes of the authentication tag for every supported cipher. */
export const AEAD_TAG_LEN = 16;
/** Bytes of the nonce for every supported cipher (96-bit IV). */
export const AEAD_NONCE_LEN = 12;

export type AeadBackendName = "noble" | "node" | "openssl";

/**
 * What an instance will be used for. The data channel seals with one key and opens with the other, so a
 * backend that keeps per-direction state (OpenSSL: a keyed EVP context, ~1.1 KiB each) builds only the
 * direction asked for; "both" (the default) keeps every method usable.
 */
export type AeadUse = "seal" | "open" | "both";

export interface Aead {
  readonly cipher: CipherName;
  readonly backend: AeadBackendName;
  seal(
    nonce: Uint8Array,
    buf: Uint8Array,
    aadOff: number,
    aadLen: number,
    off: number,
    len: number,
    tagOff: number,
  ): void;
  open(
    nonce: Uint8Array,
    buf: Uint8Array,
    aadOff: number,
    aadLen: number,
    off: number,
    len: number,
    tagOff: number,
  ): boolean;
  /**
   * Releases what the backend holds outside the JS heap (OpenSSL's contexts) now rather than when the
   * instance is collected, which may be many minutes later; the instance is unusable afterwards. Absent
   * where there is nothing to release.
   */
  free?(): void;
}

/** Key length in bytes for `cipher`. */
export function cipherKeyLength(cipher: CipherName): number {
  return cipher === "AES-128-GCM" ? 16 : 32;
}

/**
 * Maps a cipher name as OpenVPN spells it (case-insensitive, e.g. from
 * `data-ciphers` or a pushed `cipher`) to ours, or null when unsupported.
 */
export function parseCipherName(name: string): CipherName | null {
  const upper = name.trim().toUpperCase();
  for (const c of CIPHER_NAMES) if (c === upper) return c;
  return null;
}

/** Throws a RangeError when the key length does not match the cipher. */
export function assertKeyLength(cipher: CipherName, key: Uint8Array): void {
  const want = cipherKeyLength(cipher);
  if (key.length !== want) {
    throw new RangeError(`${cipher} needs a ${want}-byte key, got ${key.length} bytes`);
  }
}

/** Throws a RangeError when an AEAD call's ranges do not fit `buf`; programming errors only. */
export function assertAeadRanges(
  nonce: Uint8Array,
  buf: Uint8Array,
  aadOff: number,
  aadLen: number,
  off: number,
  len: number,
  tagOff: number,
): void {
  if (nonce.length !== AEAD_NONCE_LEN) throw new RangeError(`Nonce must be ${AEAD_NONCE_LEN} bytes`);
  if (
    aadOff < 0 || aadLen < 0 || aadOff + aadLen > buf.length || off < 0 || len < 0 ||
    off + len > buf.length || tagOff < 0 || tagOff + AEAD_TAG_LEN > buf.length
  ) {
    throw new RangeError("AEAD range lies outside the buffer");
  }
  if (tagOff < off + len && off < tagOff + AEAD_TAG_LEN && len > 0) {
    throw new RangeError("AEAD tag overlaps the data");
  }
}

/**
 * noble and WebCrypto give and take `ciphertext || tag` in one piece, while
 * the wire keeps the tag apart (in front of the ciphertext). Writes a sealed
 * `ciphertext || tag` of `len` data bytes into the detached layout.
 */
export function storeJoinedSealed(
  sealed: Uint8Array,
  buf: Uint8Array,
  off: number,
  len: number,
  tagOff: number,
): void {
  buf.set(sealed.subarray(len, len + AEAD_TAG_LEN), tagOff);
  buf.set(sealed.subarray(0, len), off);
}

/** The detached ciphertext and tag copied into `into` as `ciphertext || tag`; returns that view of `into`. */
export function joinSealed<B extends ArrayBufferLike>(
  buf: Uint8Array,
  off: number,
  len: number,
  tagOff: number,
  into: Uint8Array<B>,
): Uint8Array<B> {
  into.set(buf.subarray(off, off + len), 0);
  into.set(buf.subarray(tagOff, tagOff + AEAD_TAG_LEN), len);
  return into.subarray(0, len + AEAD_TAG_LEN);
}
