/**
 * X.509 signature checks through OpenSSL's EVP_DigestVerify, for
 * src/pki/signature.ts. One ECDSA P-256 verification costs ~600 µs of CPU in
 * Deno's node:crypto and ~180 µs in OpenSSL (measured on the busy 2-core
 * host); a server verifies one client certificate per handshake
 * (docs/performance.md, "Swarm").
 *
 * The key is parsed from its DER SubjectPublicKeyInfo and must be of the
 * expected type. The last few parsed keys are kept, by their exact DER bytes:
 * the keys checked are issuers' (the CA's, for every client certificate), and
 * OpenSSL 3's d2i_PUBKEY (its decoder framework) costs about as much CPU as
 * the verification itself. Any failure is `false` and leaves OpenSSL's error
 * queue empty; `null` means OpenSSL cannot be used here (the caller falls
 * back to node:crypto).
 */

import { libcrypto, libcryptoStatus } from "./libcrypto.ts";

/** EVP_PKEY_get_base_id values (openssl/evp.h, NIDs). */
const EVP_PKEY_ID = { rsa: 6, ec: 408 } as const;

export type OpensslKeyType = keyof typeof EVP_PKEY_ID;
export type OpensslDigest = "sha1" | "sha256" | "sha384" | "sha512";

const encoder = new TextEncoder();
const DIGEST_NAMES: Record<OpensslDigest, Uint8Array> = {
  sha1: encoder.encode("SHA1\0"),
  sha256: encoder.encode("SHA256\0"),
  sha384: encoder.encode("SHA384\0"),
  sha512: encoder.encode("SHA512\0"),
};
/**
 * The key is copied into a buffer this large: V8 keeps typed arrays of up to 64 bytes inside its heap, where
 * the garbage collector may move them, so a pointer taken to a smaller one would not stay valid.
 */
const MIN_OFF_HEAP = 128;

let usable: boolean | undefined;

/** Most parsed keys kept; the oldest is freed when another is added. */
export const KEY_CACHE_LIMIT = 8;
/** Parsed keys by their SubjectPublicKeyInfo bytes (as a binary string), oldest first. */
const parsedKeys = new Map<string, Deno.PointerObject>();

function binaryString(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** The EVP_PKEY for `spki` (kept; the caller does not free it), null when OpenSSL refuses the bytes. */
function parsedKey(lib: ReturnType<typeof libcrypto>, spki: Uint8Array): Deno.PointerObject | null {
  const id = binaryString(spki);
  const kept = parsedKeys.get(id);
  if (kept !== undefined) return kept;
  const keyCopy = new Uint8Array(Math.max(spki.length, MIN_OFF_HEAP));
  keyCopy.set(spki);
  const cursor = new BigUint64Array(1);
  cursor[0] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(keyCopy)));
  const pkey = lib.d2i_PUBKEY(null, cursor, BigInt(spki.length));
  if (pkey === null) return null;
  if (parsedKeys.size >= KEY_CACHE_LIMIT) {
    const [oldestId, oldest] = parsedKeys.entries().next().value!;
    parsedKeys.delete(oldestId);
    lib.EVP_PKEY_free(oldest);
  }
  parsedKeys.set(id, pkey);
  return pkey;
}

/** How many parsed keys are kept (for tests). */
export function keptKeyCount(): number {
  return parsedKeys.size;
}

/** Whether libcrypto loaded (once; never throws, never prompts). */
export function opensslVerifyUsable(): boolean {
  usable ??= libcryptoStatus() === null;
  return usable;
}

/**
 * Whether `signature` over `data` verifies with the `keyType` key in `spki` and `digest` (RSA: PKCS#1
 * v1.5 padding). Null when OpenSSL cannot be used in this process.
 */
export function opensslVerify(
  keyType: OpensslKeyType,
  digest: OpensslDigest,
  spki: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): boolean | null {
  if (!opensslVerifyUsable()) return null;
  const lib = libcrypto();
  const pkey = parsedKey(lib, spki);
  if (pkey === null) {
    lib.ERR_clear_error();
    return false;
  }
  const ctx = lib.EVP_MD_CTX_new();
  try {
    if (ctx === null || lib.EVP_PKEY_get_base_id(pkey) !== EVP_PKEY_ID[keyType]) return false;
    const md = lib.EVP_get_digestbyname(DIGEST_NAMES[digest]);
    if (md === null || lib.EVP_DigestVerifyInit(ctx, null, md, null, pkey) !== 1) return false;
    return lib.EVP_DigestVerify(ctx, signature, BigInt(signature.length), data, BigInt(data.length)) === 1;
  } finally {
    if (ctx !== null) lib.EVP_MD_CTX_free(ctx);
    lib.ERR_clear_error();
  }
}
