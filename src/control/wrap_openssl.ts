/**
 * The static-key wrap's primitives (HMAC, AES-256-CTR; wrap_primitives.ts) on
 * OpenSSL's libcrypto through FFI (`ffi/libcrypto.ts`), keyed once per wrap:
 * a message restarts the keyed context (HMAC_Init_ex with no key, an IV-only
 * EVP_EncryptInit_ex) instead of building node:crypto objects, so checking a
 * stranger's packet allocates nothing and costs ~1 µs rather than ~28 µs
 * (docs/reliability.md, "Junk flood"). Offsets into caller buffers go as
 * cached views (`ffi/view_cache.ts`).
 *
 * Contexts are freed when the instance is collected (wraps live as long as
 * their listener or connection).
 */

import { ViewCache } from "../../ffi/view_cache.ts";
import { libcrypto, libcryptoStatus, type LibcryptoSymbols } from "../../ffi/libcrypto.ts";
import {
  type KeyedCtr,
  type KeyedMac,
  type MacDigest,
  nodeWrapPrimitives,
  type WrapPrimitives,
} from "./wrap_primitives.ts";

type Ctx = Deno.PointerObject;

const views = new ViewCache();

const hmacContexts = new FinalizationRegistry<Ctx>((ctx) => libcrypto().HMAC_CTX_free(ctx));
const cipherContexts = new FinalizationRegistry<Ctx>((ctx) => libcrypto().EVP_CIPHER_CTX_free(ctx));

function digestTable(lib: LibcryptoSymbols, digest: MacDigest): Deno.PointerValue {
  switch (digest) {
    case "SHA1":
      return lib.EVP_sha1();
    case "SHA256":
      return lib.EVP_sha256();
    case "SHA384":
      return lib.EVP_sha384();
    case "SHA512":
      return lib.EVP_sha512();
  }
}

function failed(lib: LibcryptoSymbols, what: string): never {
  lib.ERR_clear_error();
  throw new Error(`libcrypto: ${what} failed`);
}

export class OpenSslMac implements KeyedMac {
  readonly size: number;
  readonly #lib: LibcryptoSymbols;
  readonly #ctx: Ctx;
  readonly #outLen = new Uint32Array(1);
  readonly #outLenBytes = new Uint8Array(this.#outLen.buffer);
  readonly #out: Uint8Array;

  /** Copies `key` into OpenSSL's context. Needs --allow-ffi. */
  constructor(digest: MacDigest, key: Uint8Array, size: number) {
    const lib = libcrypto();
    this.#lib = lib;
    this.size = size;
    this.#out = new Uint8Array(size);
    const md = digestTable(lib, digest);
    const ctx = lib.HMAC_CTX_new();
    if (ctx === null || md === null) failed(lib, "HMAC_CTX_new");
    if (lib.HMAC_Init_ex(ctx, key, key.length, md, null) !== 1) {
      lib.HMAC_CTX_free(ctx);
      failed(lib, "HMAC_Init_ex");
    }
    this.#ctx = ctx;
    hmacContexts.register(this, ctx);
  }

  begin(): void {
    if (this.#lib.HMAC_Init_ex(this.#ctx, null, 0, null, null) !== 1) failed(this.#lib, "HMAC_Init_ex");
  }

  update(buf: Uint8Array, off: number, len: number): void {
    if (len === 0) return;
    if (off < 0 || len < 0 || off + len > buf.length) throw new RangeError("HMAC input outside its buffer");
    if (this.#lib.HMAC_Update(this.#ctx, views.at(buf, off), len) !== 1) failed(this.#lib, "HMAC_Update");
  }

  finish(out: Uint8Array, outOff: number): void {
    if (outOff < 0 || outOff + this.size > out.length) throw new RangeError("HMAC output outside its buffer");
    if (this.#lib.HMAC_Final(this.#ctx, this.#out, this.#outLenBytes) !== 1) failed(this.#lib, "HMAC_Final");
    if (this.#outLen[0] !== this.size) throw new Error(`libcrypto: HMAC gave ${this.#outLen[0]} bytes`);
    out.set(this.#out, outOff);
  }
}

export class OpenSslAes256Ctr implements KeyedCtr {
  readonly #lib: LibcryptoSymbols;
  readonly #ctx: Ctx;
  readonly #outl = new Int32Array(1);
  readonly #outlBytes = new Uint8Array(this.#outl.buffer);

  /** Copies the 32-byte `key` into OpenSSL's context. Needs --allow-ffi. */
  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new RangeError(`AES-256-CTR key must be 32 bytes, got ${key.length}`);
    const lib = libcrypto();
    this.#lib = lib;
    const evp = lib.EVP_aes_256_ctr();
    const ctx = lib.EVP_CIPHER_CTX_new();
    if (ctx === null || evp === null) failed(lib, "EVP_CIPHER_CTX_new");
    if (lib.EVP_EncryptInit_ex(ctx, evp, null, key, null) !== 1) {
      lib.EVP_CIPHER_CTX_free(ctx);
      failed(lib, "EVP_EncryptInit_ex");
    }
    this.#ctx = ctx;
    cipherContexts.register(this, ctx);
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
    if (ivOff < 0 || ivOff + 16 > iv.length) throw new RangeError("AES-CTR IV outside its buffer");
    if (srcOff < 0 || len < 0 || srcOff + len > src.length || dstOff < 0 || dstOff + len > dst.length) {
      throw new RangeError("AES-CTR data outside its buffer");
    }
    const lib = this.#lib;
    // An IV-only init restarts the counter (and the partial-block position) under the same key.
    if (lib.EVP_EncryptInit_ex(this.#ctx, null, null, null, views.at(iv, ivOff)) !== 1) {
      failed(lib, "EVP_EncryptInit_ex");
    }
    if (len === 0) return;
    const out = views.at(dst, dstOff);
    if (lib.EVP_EncryptUpdate(this.#ctx, out, this.#outlBytes, views.at(src, srcOff), len) !== 1) {
      failed(lib, "EVP_EncryptUpdate");
    }
    if (this.#outl[0] !== len) throw new Error(`libcrypto: AES-CTR gave ${this.#outl[0]} of ${len} bytes`);
  }
}

export const openSslWrapPrimitives: WrapPrimitives = {
  backend: "openssl",
  mac: (digest, key, size) => new OpenSslMac(digest, key, size),
  ctr: (key) => new OpenSslAes256Ctr(key),
};

/** OpenSSL when libcrypto loads here (FFI permitted, libcrypto.so.3 present), else node:crypto. */
export function defaultWrapPrimitives(): WrapPrimitives {
  return libcryptoStatus() === null ? openSslWrapPrimitives : nodeWrapPrimitives;
}
