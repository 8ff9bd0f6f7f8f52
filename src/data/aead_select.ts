/**
 * Picks the AEAD backend for a cipher. The default is `openssl` (libcrypto
 * through FFI, the EVP code OpenVPN runs) whenever libcrypto.so.3 loads and
 * FFI is permitted: measured on this host (bench/aead_bench.ts, one core,
 * 1400-byte packets) it seals AES-256-GCM about 9x faster than `node` and
 * allocates nothing per packet. Otherwise `node` (`node:crypto`), which seals
 * ChaCha20-Poly1305 about 2.5x and AES-GCM about 3x faster than
 * @noble/ciphers. `noble` stays selectable (config/tests) as the portable
 * fallback.
 */

import { libcryptoStatus } from "../../ffi/libcrypto.ts";
import type { Aead, AeadBackendName, AeadUse, CipherName } from "./aead.ts";
import { NobleAead } from "./aead_noble.ts";
import { NodeAead } from "./aead_node.ts";
import { OpenSslAead } from "./aead_openssl.ts";

export type AeadBackendChoice = AeadBackendName | "auto";

/** The backend "auto" resolves to for `cipher`. */
export function defaultAeadBackend(_cipher: CipherName): AeadBackendName {
  return libcryptoStatus() === null ? "openssl" : "node";
}

/** Builds a one-direction AEAD for `cipher` with `key` (copied); `use` says which methods will be called. */
export function createAead(
  cipher: CipherName,
  key: Uint8Array,
  backend: AeadBackendChoice = "auto",
  use: AeadUse = "both",
): Aead {
  const b = backend === "auto" ? defaultAeadBackend(cipher) : backend;
  if (b === "openssl") return new OpenSslAead(cipher, key, use);
  return b === "noble" ? new NobleAead(cipher, key) : new NodeAead(cipher, key);
}
