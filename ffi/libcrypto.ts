/**
 * The one place that loads OpenSSL's libcrypto (3.x, Debian's `libssl3`), for
 * the data-channel AEAD (`src/data/aead_openssl.ts`) and the control channel's
 * static-key wrap (HMAC, AES-256-CTR: `src/control/wrap_openssl.ts`). `libcrypto()` runs
 * `Deno.dlopen` on first use, never at import; `libcryptoStatus()` answers
 * "can it be used here?" without throwing and without a permission prompt.
 *
 * Only the EVP cipher calls an AEAD and AES-CTR need, and HMAC. Widths follow libc.ts: `int`
 * results and lengths are `i32`, out-lengths are an `int *` passed as a
 * preallocated buffer, so hot calls stay on Deno's fast-call path and
 * allocate nothing (measured ~50 ns for an empty call on this host). Pointers
 * into caller buffers are `buffer` parameters; OpenSSL objects (contexts,
 * cipher tables) are `pointer`s obtained once.
 */

import { opensslLibrary } from "./openssl_library.ts";

const SYMBOLS = {
  // EVP_CIPHER_CTX *EVP_CIPHER_CTX_new(void);
  EVP_CIPHER_CTX_new: { parameters: [], result: "pointer" },
  // void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *ctx);
  EVP_CIPHER_CTX_free: { parameters: ["pointer"], result: "void" },
  // const EVP_CIPHER *EVP_aes_256_gcm(void);
  EVP_aes_256_gcm: { parameters: [], result: "pointer" },
  // const EVP_CIPHER *EVP_aes_128_gcm(void);
  EVP_aes_128_gcm: { parameters: [], result: "pointer" },
  // const EVP_CIPHER *EVP_chacha20_poly1305(void);
  EVP_chacha20_poly1305: { parameters: [], result: "pointer" },
  // const EVP_CIPHER *EVP_aes_256_ctr(void);
  EVP_aes_256_ctr: { parameters: [], result: "pointer" },
  // const EVP_MD *EVP_sha1(void); and the SHA-2 digests tls-auth may use.
  EVP_sha1: { parameters: [], result: "pointer" },
  // const EVP_MD *EVP_md5(void); (key-method 2's TLS 1.0 PRF: src/control/prf.ts)
  EVP_md5: { parameters: [], result: "pointer" },
  EVP_sha256: { parameters: [], result: "pointer" },
  EVP_sha384: { parameters: [], result: "pointer" },
  EVP_sha512: { parameters: [], result: "pointer" },
  // HMAC_CTX *HMAC_CTX_new(void); void HMAC_CTX_free(HMAC_CTX *ctx);
  // (deprecated in 3.0 in favour of EVP_MAC, still exported; the one API that
  // keeps a keyed context to restart per message without re-deriving the pads)
  HMAC_CTX_new: { parameters: [], result: "pointer" },
  HMAC_CTX_free: { parameters: ["pointer"], result: "void" },
  // int HMAC_Init_ex(HMAC_CTX *ctx, const void *key, int len, const EVP_MD *md, ENGINE *impl);
  // Once with key and md; then per message with key and md NULL, which restarts under the same key.
  HMAC_Init_ex: { parameters: ["pointer", "buffer", "i32", "pointer", "pointer"], result: "i32" },
  // int HMAC_Update(HMAC_CTX *ctx, const unsigned char *data, size_t len);
  // size_t declared u32, as libc.ts declares hot size_t counts (see its header).
  HMAC_Update: { parameters: ["pointer", "buffer", "u32"], result: "i32" },
  // int HMAC_Final(HMAC_CTX *ctx, unsigned char *md, unsigned int *len);
  HMAC_Final: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  // int EVP_EncryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *type, ENGINE *impl,
  //                        const unsigned char *key, const unsigned char *iv);
  // Called once per context with cipher and key, then per packet with only ctx and iv
  // (cipher, impl, key NULL), which keeps the key schedule and resets the AEAD state.
  EVP_EncryptInit_ex: {
    parameters: ["pointer", "pointer", "pointer", "buffer", "buffer"],
    result: "i32",
  },
  // int EVP_DecryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *type, ENGINE *impl,
  //                        const unsigned char *key, const unsigned char *iv);
  EVP_DecryptInit_ex: {
    parameters: ["pointer", "pointer", "pointer", "buffer", "buffer"],
    result: "i32",
  },
  // int EVP_EncryptUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl,
  //                       const unsigned char *in, int inl);
  // out NULL feeds `in` as additional authenticated data.
  EVP_EncryptUpdate: { parameters: ["pointer", "buffer", "buffer", "buffer", "i32"], result: "i32" },
  // int EVP_DecryptUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl,
  //                       const unsigned char *in, int inl);
  EVP_DecryptUpdate: { parameters: ["pointer", "buffer", "buffer", "buffer", "i32"], result: "i32" },
  // int EVP_EncryptFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl);
  EVP_EncryptFinal_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  // int EVP_DecryptFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *outm, int *outl);
  // Returns 1 only when the tag set with EVP_CTRL_AEAD_SET_TAG verified.
  EVP_DecryptFinal_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  // int EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX *ctx, int type, int arg, void *ptr);
  EVP_CIPHER_CTX_ctrl: { parameters: ["pointer", "i32", "i32", "buffer"], result: "i32" },
  // Signature verification (ffi/signature_openssl.ts, for src/pki/signature.ts):
  // EVP_PKEY *d2i_PUBKEY(EVP_PKEY **a, const unsigned char **pp, long length);
  d2i_PUBKEY: { parameters: ["pointer", "buffer", "i64"], result: "pointer" },
  // void EVP_PKEY_free(EVP_PKEY *pkey);
  EVP_PKEY_free: { parameters: ["pointer"], result: "void" },
  // int EVP_PKEY_get_base_id(const EVP_PKEY *pkey);
  EVP_PKEY_get_base_id: { parameters: ["pointer"], result: "i32" },
  // const EVP_MD *EVP_get_digestbyname(const char *name);
  EVP_get_digestbyname: { parameters: ["buffer"], result: "pointer" },
  // EVP_MD_CTX *EVP_MD_CTX_new(void);
  EVP_MD_CTX_new: { parameters: [], result: "pointer" },
  // void EVP_MD_CTX_free(EVP_MD_CTX *ctx);
  EVP_MD_CTX_free: { parameters: ["pointer"], result: "void" },
  // int EVP_DigestVerifyInit(EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e,
  //                          EVP_PKEY *pkey);
  EVP_DigestVerifyInit: {
    parameters: ["pointer", "pointer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  // int EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sig, size_t siglen,
  //                      const unsigned char *tbs, size_t tbslen);
  EVP_DigestVerify: { parameters: ["pointer", "buffer", "usize", "buffer", "usize"], result: "i32" },
  // void ERR_clear_error(void);
  ERR_clear_error: { parameters: [], result: "void" },
  // unsigned long OpenSSL_version_num(void);
  OpenSSL_version_num: { parameters: [], result: "u64" },
  // const char *OpenSSL_version(int type);
  OpenSSL_version: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

export type LibcryptoSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The soname loaded: OpenSSL 3's ABI (EVP over providers). */
export const LIBCRYPTO_SONAME = "libcrypto.so.3";

// EVP_CIPHER_CTX_ctrl types (openssl/evp.h; GCM and ChaCha20-Poly1305 share the AEAD values).
export const EVP_CTRL_AEAD_SET_IVLEN = 0x9;
export const EVP_CTRL_AEAD_GET_TAG = 0x10;
export const EVP_CTRL_AEAD_SET_TAG = 0x11;

const library = opensslLibrary("libcrypto", LIBCRYPTO_SONAME, SYMBOLS);

/** libcrypto's symbols; loads the library on first call. Needs --allow-ffi. */
export function libcrypto(): LibcryptoSymbols {
  return library.symbols();
}

/**
 * Null when libcrypto can be used in this process, else the reason: FFI
 * permission not granted (checked without prompting), or the library is
 * missing or too old. Never throws.
 */
export function libcryptoStatus(): string | null {
  return library.status();
}

/** OpenSSL's version line, e.g. "OpenSSL 3.0.13 30 Jan 2024". */
export function libcryptoVersion(): string {
  const p = libcrypto().OpenSSL_version(0);
  return p === null ? "unknown" : Deno.UnsafePointerView.getCString(p);
}
