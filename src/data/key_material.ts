/**
 * Maps OpenVPN's key2 block to per-direction data-channel keys.
 *
 * Key-method 2 runs the PRF ("OpenVPN key expansion") into `struct key2.keys`,
 * two `struct key { uint8_t cipher[64]; uint8_t hmac[64]; }` back to back:
 *
 *   key2[  0.. 64)  keys[0].cipher    key2[ 64..128)  keys[0].hmac
 *   key2[128..192)  keys[1].cipher    key2[192..256)  keys[1].hmac
 *
 * In TLS mode OpenVPN uses key_direction NORMAL on the client and INVERSE on
 * the server (ssl.c init_key_contexts, crypto.c key_direction_state_init), so
 * keys[0] carries client -> server traffic and keys[1] server -> client.
 * An AEAD cipher uses the first 16/32 bytes of the `cipher` slot as its key and
 * the first 8 bytes of the same key's `hmac` slot as the implicit IV
 * (ssl.c key_ctx_update_implicit_iv: the HMAC key is unused with AEAD).
 */

import { assertKeyLength, cipherKeyLength, type CipherName } from "./aead.ts";

export const KEY2_LEN = 256;
export const KEY2_KEY_LEN = 128;
export const KEY2_CIPHER_LEN = 64;
export const KEY2_HMAC_LEN = 64;
/** Bytes of the implicit IV: the nonce minus the 4-byte packet-id. */
export const IMPLICIT_IV_LEN = 8;

export type Role = "client" | "server";

export interface DirectionKey {
  /** Cipher key, 16 or 32 bytes. */
  readonly key: Uint8Array;
  /** Last 8 bytes of every nonce in this direction. */
  readonly implicitIv: Uint8Array;
}

/** Keys for one key-id, seen from one side. */
export interface DataKeyMaterial {
  readonly cipher: CipherName;
  /** What we send with. */
  readonly encrypt: DirectionKey;
  /** What the peer sends with. */
  readonly decrypt: DirectionKey;
}

export interface Key2Options {
  cipher: CipherName;
  role: Role;
}

function directionKey(key2: Uint8Array, index: number, cipher: CipherName): DirectionKey {
  const base = index * KEY2_KEY_LEN;
  const key = key2.slice(base, base + cipherKeyLength(cipher));
  if (key.every((b) => b === 0)) throw new RangeError("Data channel key is all zero");
  return {
    key,
    implicitIv: key2.slice(base + KEY2_CIPHER_LEN, base + KEY2_CIPHER_LEN + IMPLICIT_IV_LEN),
  };
}

/** Splits the 256-byte PRF output; the result holds copies, so the caller may wipe key2. */
export function dataKeysFromKey2(key2: Uint8Array, options: Key2Options): DataKeyMaterial {
  if (key2.length !== KEY2_LEN) throw new RangeError(`Key2 block must be ${KEY2_LEN} bytes`);
  const out = options.role === "client" ? 0 : 1;
  return {
    cipher: options.cipher,
    encrypt: directionKey(key2, out, options.cipher),
    decrypt: directionKey(key2, 1 - out, options.cipher),
  };
}

/** Builds material from explicit keys (tests, the mesh's pairwise keys). */
export function dataKeysFromParts(
  cipher: CipherName,
  parts: { encryptKey: Uint8Array; encryptIv: Uint8Array; decryptKey: Uint8Array; decryptIv: Uint8Array },
): DataKeyMaterial {
  assertKeyLength(cipher, parts.encryptKey);
  assertKeyLength(cipher, parts.decryptKey);
  if (parts.encryptIv.length !== IMPLICIT_IV_LEN || parts.decryptIv.length !== IMPLICIT_IV_LEN) {
    throw new RangeError(`Implicit IV must be ${IMPLICIT_IV_LEN} bytes`);
  }
  return {
    cipher,
    encrypt: { key: parts.encryptKey.slice(), implicitIv: parts.encryptIv.slice() },
    decrypt: { key: parts.decryptKey.slice(), implicitIv: parts.decryptIv.slice() },
  };
}
