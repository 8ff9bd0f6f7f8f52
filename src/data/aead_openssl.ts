/**
 * AEAD backend on OpenSSL's libcrypto through FFI (`ffi/libcrypto.ts`): the
 * same EVP code OpenVPN itself runs, with no per-packet objects. The default
 * whenever libcrypto loads (see `aead_select.ts`).
 *
 * Each instance owns an EVP_CIPHER_CTX per direction it is built for (`use`:
 * the data channel's sealing key only seals and its opening key only opens, so
 * each builds one; ~1.1 KiB of malloc per context), keyed once at
 * construction; a packet only sets the IV, so the key schedule and GHASH
 * tables are built once per key, not per packet. A seal is five synchronous
 * FFI calls (init IV, AAD, data in place, final, get tag), an open five (init
 * IV, set tag, AAD, data in place, final). Offsets into the caller's buffer
 * are passed as cached subarray views (`ffi/view_cache.ts`), so a caller that
 * reuses its slot buffers allocates nothing per packet.
 *
 * `open` decrypts in place before the tag is known to be good (OpenSSL checks
 * it in Final). To keep the contract that a failed open leaves the buffer
 * untouched, a bad tag re-runs the same keystream over the data, which turns
 * the plaintext back into the ciphertext (GCM and ChaCha20 are XOR stream
 * ciphers, and the keystream does not depend on the AAD). That costs a second
 * pass only for forged packets; good packets pay nothing extra.
 *
 * Contexts are freed when the instance is collected, or at once by `free()` (the data channel frees a
 * key's as it drops it: a collection can be many minutes and hundreds of renegotiations away).
 */

import { ViewCache } from "../../ffi/view_cache.ts";
import {
  EVP_CTRL_AEAD_GET_TAG,
  EVP_CTRL_AEAD_SET_IVLEN,
  EVP_CTRL_AEAD_SET_TAG,
  libcrypto,
  type LibcryptoSymbols,
} from "../../ffi/libcrypto.ts";
import {
  type Aead,
  AEAD_NONCE_LEN,
  AEAD_TAG_LEN,
  type AeadUse,
  assertAeadRanges,
  assertKeyLength,
  type CipherName,
} from "./aead.ts";

type Ctx = Deno.PointerObject;

// One cache per thread (module instance): views of slot buffers at the AAD,
// tag and data offsets, shared by every instance so a slot ring costs a few
// views in total.
const views = new ViewCache();

// int *outl for every call (the value is checked where it matters) and Final's output pointer (GCM and
// ChaCha20-Poly1305 write nothing there): scratch shared by every instance of this thread, since each
// call is synchronous and none re-enters another.
const outl = new Int32Array(1);
const outlBytes = new Uint8Array(outl.buffer);
const finalOut = new Uint8Array(AEAD_TAG_LEN);

const contexts = new FinalizationRegistry<Ctx[]>((ctxs) => {
  const lib = libcrypto();
  for (const c of ctxs) lib.EVP_CIPHER_CTX_free(c);
  live--;
});
let live = 0;

/** Instances whose OpenSSL contexts are still allocated (neither freed nor collected): the status shows it. */
export function liveOpenSslAeads(): number {
  return live;
}

function cipherTable(lib: LibcryptoSymbols, cipher: CipherName): Deno.PointerValue {
  switch (cipher) {
    case "AES-256-GCM":
      return lib.EVP_aes_256_gcm();
    case "AES-128-GCM":
      return lib.EVP_aes_128_gcm();
    case "CHACHA20-POLY1305":
      return lib.EVP_chacha20_poly1305();
  }
}

function newContext(
  lib: LibcryptoSymbols,
  evp: Deno.PointerValue,
  key: Uint8Array,
  encrypt: boolean,
): Ctx {
  const ctx = lib.EVP_CIPHER_CTX_new();
  if (ctx === null) throw new Error("libcrypto: EVP_CIPHER_CTX_new failed");
  const init = encrypt ? lib.EVP_EncryptInit_ex : lib.EVP_DecryptInit_ex;
  if (
    init(ctx, evp, null, null, null) !== 1 ||
    lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, AEAD_NONCE_LEN, null) !== 1 ||
    init(ctx, null, null, key, null) !== 1
  ) {
    lib.EVP_CIPHER_CTX_free(ctx);
    lib.ERR_clear_error();
    throw new Error("libcrypto: cannot set up the cipher context");
  }
  return ctx;
}

export class OpenSslAead implements Aead {
  readonly cipher: CipherName;
  readonly backend = "openssl" as const;
  #lib: LibcryptoSymbols;
  readonly use: AeadUse;
  #enc: Ctx | null = null;
  #dec: Ctx | null = null;
  #freed = false;

  /**
   * Copies the key into OpenSSL's contexts (one per direction `use` asks for); the caller may wipe its copy
   * afterwards. Needs --allow-ffi.
   */
  constructor(cipher: CipherName, key: Uint8Array, use: AeadUse = "both") {
    assertKeyLength(cipher, key);
    this.cipher = cipher;
    this.use = use;
    const lib = libcrypto();
    this.#lib = lib;
    const evp = cipherTable(lib, cipher);
    if (evp === null) throw new Error(`libcrypto: ${cipher} is not available`);
    if (use !== "open") this.#enc = newContext(lib, evp, key, true);
    try {
      if (use !== "seal") this.#dec = newContext(lib, evp, key, false);
    } catch (e) {
      if (this.#enc !== null) lib.EVP_CIPHER_CTX_free(this.#enc);
      throw e;
    }
    contexts.register(this, this.#contexts(), this);
    live++;
  }

  #contexts(): Ctx[] {
    return [this.#enc, this.#dec].filter((c): c is Ctx => c !== null);
  }

  /** Frees the OpenSSL contexts now (which wipes the key there); the instance is unusable afterwards. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    contexts.unregister(this);
    for (const c of this.#contexts()) this.#lib.EVP_CIPHER_CTX_free(c);
    this.#enc = null;
    this.#dec = null;
    live--;
  }

  #unusable(method: "seal" | "open"): Error {
    return new Error(
      this.#freed ? "OpenSslAead used after free()" : `OpenSslAead built for ${this.use}, not ${method}`,
    );
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
    const ctx = this.#enc;
    if (ctx === null) throw this.#unusable("seal");
    const lib = this.#lib;
    let ok = lib.EVP_EncryptInit_ex(ctx, null, null, null, nonce);
    if (aadLen > 0) ok &= lib.EVP_EncryptUpdate(ctx, null, outlBytes, views.at(buf, aadOff), aadLen);
    if (len > 0) {
      const data = views.at(buf, off);
      ok &= lib.EVP_EncryptUpdate(ctx, data, outlBytes, data, len);
      if (outl[0] !== len) ok = 0;
    }
    ok &= lib.EVP_EncryptFinal_ex(ctx, finalOut, outlBytes);
    ok &= lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, views.at(buf, tagOff));
    if (ok !== 1) {
      lib.ERR_clear_error();
      throw new Error("libcrypto: encryption failed");
    }
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
    const ctx = this.#dec;
    if (ctx === null) throw this.#unusable("open");
    const lib = this.#lib;
    let ok = lib.EVP_DecryptInit_ex(ctx, null, null, null, nonce);
    ok &= lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, views.at(buf, tagOff));
    if (aadLen > 0) ok &= lib.EVP_DecryptUpdate(ctx, null, outlBytes, views.at(buf, aadOff), aadLen);
    const data = len > 0 ? views.at(buf, off) : null;
    if (data !== null) {
      ok &= lib.EVP_DecryptUpdate(ctx, data, outlBytes, data, len);
      if (outl[0] !== len) ok = 0;
    }
    if (ok !== 1) {
      lib.ERR_clear_error();
      throw new Error("libcrypto: decryption failed");
    }
    if (lib.EVP_DecryptFinal_ex(ctx, finalOut, outlBytes) === 1) return true;
    // Bad tag: restore the ciphertext (see the module comment).
    lib.ERR_clear_error();
    if (data !== null) {
      if (
        lib.EVP_DecryptInit_ex(ctx, null, null, null, nonce) !== 1 ||
        lib.EVP_DecryptUpdate(ctx, data, outlBytes, data, len) !== 1 || outl[0] !== len
      ) {
        lib.ERR_clear_error();
        throw new Error("libcrypto: cannot restore the ciphertext after a failed open");
      }
    }
    return false;
  }
}
