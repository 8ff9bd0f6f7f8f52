/**
 * OpenSSL 3's libssl (Debian's `libssl3`), for the control channel's TLS engine
 * (`src/control/tls_openssl.ts`): an SSL object over two memory BIOs, driven by
 * synchronous calls, its ciphertext carried by the reliability layer. The
 * library OpenVPN itself runs its TLS on. `libssl()` runs `Deno.dlopen` on first
 * use, never at import; `libsslStatus()` answers "can it be used here?"
 * without throwing and without a permission prompt.
 *
 * The handful of libcrypto calls this needs (memory BIOs, PEM, DER, errors)
 * are resolved through libssl's handle: dlsym on a library also searches the
 * libraries it depends on, and libssl.so.3 depends on libcrypto.so.3.
 *
 * Widths follow libcrypto.ts: `int` is `i32`, `long` and `uint64_t` are
 * `i64`/`u64`, `size_t` is `usize`. The calls that run the handshake call back
 * into JavaScript once (the certificate callback, on the same thread, inside
 * the call), which Deno's FFI supports.
 */

import { opensslLibrary } from "./openssl_library.ts";

const SYMBOLS = {
  // const SSL_METHOD *TLS_method(void);
  TLS_method: { parameters: [], result: "pointer" },
  // SSL_CTX *SSL_CTX_new(const SSL_METHOD *method); void SSL_CTX_free(SSL_CTX *ctx);
  SSL_CTX_new: { parameters: ["pointer"], result: "pointer" },
  SSL_CTX_free: { parameters: ["pointer"], result: "void" },
  // long SSL_CTX_ctrl(SSL_CTX *ctx, int cmd, long larg, void *parg);  (the SSL_CTX_set_* macros)
  SSL_CTX_ctrl: { parameters: ["pointer", "i32", "i64", "pointer"], result: "i64" },
  // uint64_t SSL_CTX_set_options(SSL_CTX *ctx, uint64_t op);
  SSL_CTX_set_options: { parameters: ["pointer", "u64"], result: "u64" },
  // int SSL_CTX_set_num_tickets(SSL_CTX *ctx, size_t num_tickets);
  SSL_CTX_set_num_tickets: { parameters: ["pointer", "usize"], result: "i32" },
  // void SSL_CTX_set_verify(SSL_CTX *ctx, int mode, SSL_verify_cb verify_callback);
  SSL_CTX_set_verify: { parameters: ["pointer", "i32", "function"], result: "void" },
  // void SSL_CTX_set_cert_verify_callback(SSL_CTX *ctx, int (*cb)(X509_STORE_CTX *, void *), void *arg);
  // (stands in for OpenSSL's whole chain verification, X509_verify_cert)
  SSL_CTX_set_cert_verify_callback: { parameters: ["pointer", "function", "pointer"], result: "void" },
  // void SSL_CTX_set_keylog_callback(SSL_CTX *ctx, void (*cb)(const SSL *ssl, const char *line));
  SSL_CTX_set_keylog_callback: { parameters: ["pointer", "function"], result: "void" },
  // void SSL_CTX_set_msg_callback(SSL_CTX *ctx, void (*cb)(int write_p, int version, int content_type,
  //                               const void *buf, size_t len, SSL *ssl, void *arg));
  SSL_CTX_set_msg_callback: { parameters: ["pointer", "function"], result: "void" },
  // int SSL_CTX_use_certificate(SSL_CTX *ctx, X509 *x);  (takes its own reference)
  SSL_CTX_use_certificate: { parameters: ["pointer", "pointer"], result: "i32" },
  // int SSL_CTX_use_PrivateKey(SSL_CTX *ctx, EVP_PKEY *pkey);  (takes its own reference)
  SSL_CTX_use_PrivateKey: { parameters: ["pointer", "pointer"], result: "i32" },
  // int SSL_CTX_check_private_key(const SSL_CTX *ctx);
  SSL_CTX_check_private_key: { parameters: ["pointer"], result: "i32" },
  // int SSL_CTX_add_client_CA(SSL_CTX *ctx, X509 *cacert);  (copies the name)
  SSL_CTX_add_client_CA: { parameters: ["pointer", "pointer"], result: "i32" },
  // SSL *SSL_new(SSL_CTX *ctx); void SSL_free(SSL *ssl);  (SSL_free frees both BIOs)
  SSL_new: { parameters: ["pointer"], result: "pointer" },
  SSL_free: { parameters: ["pointer"], result: "void" },
  // void SSL_set_bio(SSL *ssl, BIO *rbio, BIO *wbio);  (takes ownership)
  SSL_set_bio: { parameters: ["pointer", "pointer", "pointer"], result: "void" },
  // void SSL_set_accept_state(SSL *ssl); void SSL_set_connect_state(SSL *ssl);
  SSL_set_accept_state: { parameters: ["pointer"], result: "void" },
  SSL_set_connect_state: { parameters: ["pointer"], result: "void" },
  // int SSL_do_handshake(SSL *ssl);
  SSL_do_handshake: { parameters: ["pointer"], result: "i32" },
  // int SSL_read(SSL *ssl, void *buf, int num); int SSL_write(SSL *ssl, const void *buf, int num);
  SSL_read: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  SSL_write: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  // int SSL_has_pending(const SSL *s);  (bytes read from the BIO and not yet processed, or plaintext unread)
  SSL_has_pending: { parameters: ["pointer"], result: "i32" },
  // int SSL_get_error(const SSL *ssl, int ret);
  SSL_get_error: { parameters: ["pointer", "i32"], result: "i32" },
  // const char *SSL_get_version(const SSL *ssl);
  SSL_get_version: { parameters: ["pointer"], result: "pointer" },
  // const SSL_CIPHER *SSL_get_current_cipher(const SSL *ssl); const char *SSL_CIPHER_get_name(const SSL_CIPHER *c);
  SSL_get_current_cipher: { parameters: ["pointer"], result: "pointer" },
  SSL_CIPHER_get_name: { parameters: ["pointer"], result: "pointer" },
  // X509 *SSL_get0_peer_certificate(const SSL *s);  (no reference taken)
  SSL_get0_peer_certificate: { parameters: ["pointer"], result: "pointer" },
  // STACK_OF(X509) *SSL_get_peer_cert_chain(const SSL *s);  (the client's includes the leaf; the server's not)
  SSL_get_peer_cert_chain: { parameters: ["pointer"], result: "pointer" },
  // int OPENSSL_sk_num(const OPENSSL_STACK *); void *OPENSSL_sk_value(const OPENSSL_STACK *, int);
  OPENSSL_sk_num: { parameters: ["pointer"], result: "i32" },
  OPENSSL_sk_value: { parameters: ["pointer", "i32"], result: "pointer" },
  // int i2d_X509(const X509 *a, unsigned char **out);  (out NULL: the length only)
  i2d_X509: { parameters: ["pointer", "buffer"], result: "i32" },
  // X509_STORE *X509_STORE_new(void); void X509_STORE_free(X509_STORE *v);
  X509_STORE_new: { parameters: [], result: "pointer" },
  X509_STORE_free: { parameters: ["pointer"], result: "void" },
  // int X509_STORE_add_cert(X509_STORE *xs, X509 *x);  (takes its own reference)
  X509_STORE_add_cert: { parameters: ["pointer", "pointer"], result: "i32" },
  // void X509_free(X509 *a); void EVP_PKEY_free(EVP_PKEY *pkey);
  X509_free: { parameters: ["pointer"], result: "void" },
  EVP_PKEY_free: { parameters: ["pointer"], result: "void" },
  // const BIO_METHOD *BIO_s_mem(void); BIO *BIO_new(const BIO_METHOD *type); int BIO_free(BIO *a);
  BIO_s_mem: { parameters: [], result: "pointer" },
  BIO_new: { parameters: ["pointer"], result: "pointer" },
  BIO_free: { parameters: ["pointer"], result: "i32" },
  // BIO *BIO_new_mem_buf(const void *buf, int len);  (read-only, over the caller's bytes)
  BIO_new_mem_buf: { parameters: ["buffer", "i32"], result: "pointer" },
  // int BIO_write(BIO *b, const void *data, int dlen); int BIO_read(BIO *b, void *data, int dlen);
  BIO_write: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  BIO_read: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  // size_t BIO_ctrl_pending(BIO *b);
  BIO_ctrl_pending: { parameters: ["pointer"], result: "usize" },
  // X509 *PEM_read_bio_X509(BIO *bp, X509 **x, pem_password_cb *cb, void *u);
  PEM_read_bio_X509: { parameters: ["pointer", "pointer", "pointer", "pointer"], result: "pointer" },
  // EVP_PKEY *PEM_read_bio_PrivateKey(BIO *bp, EVP_PKEY **x, pem_password_cb *cb, void *u);
  // (cb NULL and u a C string: u is the pass phrase; never a prompt on the terminal)
  PEM_read_bio_PrivateKey: { parameters: ["pointer", "pointer", "pointer", "buffer"], result: "pointer" },
  // unsigned long ERR_get_error(void); void ERR_clear_error(void);
  ERR_get_error: { parameters: [], result: "u64" },
  ERR_clear_error: { parameters: [], result: "void" },
  // void ERR_error_string_n(unsigned long e, char *buf, size_t len);
  ERR_error_string_n: { parameters: ["u64", "buffer", "usize"], result: "void" },
  // unsigned long OpenSSL_version_num(void);
  OpenSSL_version_num: { parameters: [], result: "u64" },
} as const satisfies Deno.ForeignLibraryInterface;

export type LibsslSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The soname loaded: OpenSSL 3's ABI. */
export const LIBSSL_SONAME = "libssl.so.3";

// SSL_CTX_ctrl commands and values (openssl/ssl.h, openssl/tls1.h).
export const SSL_CTRL_CHAIN_CERT = 89;
export const SSL_CTRL_BUILD_CERT_CHAIN = 105;
export const SSL_CTRL_MODE = 33;
export const SSL_CTRL_SET_SESS_CACHE_MODE = 44;
export const SSL_CTRL_SET_CHAIN_CERT_STORE = 107;
export const SSL_CTRL_SET_MIN_PROTO_VERSION = 123;
export const TLS1_2_VERSION = 0x0303;
export const SSL_MODE_NO_AUTO_CHAIN = 0x8;
export const SSL_MODE_RELEASE_BUFFERS = 0x10;
/** SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR | SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR: keep what was built, leave no error queued. */
export const SSL_BUILD_CHAIN_LENIENT = 0x8 | 0x10;
export const SSL_SESS_CACHE_OFF = 0;
export const SSL_OP_NO_TICKET = 1n << 14n;
export const SSL_OP_NO_COMPRESSION = 1n << 17n;
export const SSL_OP_NO_RENEGOTIATION = 1n << 30n;
export const SSL_VERIFY_NONE = 0;
export const SSL_VERIFY_PEER = 1;
/** SSL3_RT_HANDSHAKE: a msg callback's content type for a handshake message (openssl/ssl3.h). */
export const SSL3_RT_HANDSHAKE = 22;
// SSL_get_error results.
export const SSL_ERROR_SSL = 1;
export const SSL_ERROR_WANT_READ = 2;
export const SSL_ERROR_WANT_WRITE = 3;
export const SSL_ERROR_SYSCALL = 5;
export const SSL_ERROR_ZERO_RETURN = 6;

const library = opensslLibrary("libssl", LIBSSL_SONAME, SYMBOLS);

/** libssl's symbols; loads the library on first call. Needs --allow-ffi. */
export function libssl(): LibsslSymbols {
  return library.symbols();
}

/**
 * Null when libssl can be used in this process, else the reason: FFI
 * permission not granted (checked without prompting), or the library is
 * missing or too old. Never throws.
 */
export function libsslStatus(): string | null {
  return library.status();
}

const errorText = new Uint8Array(256);

/**
 * OpenSSL's queued errors as one line (oldest first, at most 4), and the queue emptied; `fallback` when it
 * was empty. OpenSSL's error queue is per thread: every SSL call is preceded by ERR_clear_error, so what is
 * queued belongs to the call that just failed.
 */
export function takeOpensslErrors(lib: LibsslSymbols, fallback: string): string {
  const parts: string[] = [];
  for (let code = lib.ERR_get_error(); BigInt(code) !== 0n; code = lib.ERR_get_error()) {
    if (parts.length >= 4) continue;
    lib.ERR_error_string_n(BigInt(code), errorText, BigInt(errorText.length));
    const end = errorText.indexOf(0);
    parts.push(new TextDecoder().decode(errorText.subarray(0, end < 0 ? errorText.length : end)));
  }
  return parts.length > 0 ? parts.join("; ") : fallback;
}

/** A C string OpenSSL owns, or null. */
export function opensslString(p: Deno.PointerValue): string | null {
  return p === null ? null : Deno.UnsafePointerView.getCString(p);
}
