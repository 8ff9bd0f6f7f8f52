/**
 * Picks the AEAD backend for a cipher. The default is the native `node:crypto`
 * backend for all three ciphers: measured on this host (bench/aead_bench.ts,
 * one core, 1400-byte packets) it seals ChaCha20-Poly1305 about 2.5x and
 * AES-GCM about 3x faster than @noble/ciphers, whose AES-GCM also re-expands
 * the key per packet. `noble` stays selectable (config/tests) as the portable
 * fallback.
 */

import type { Aead, AeadBackendName, CipherName } from "./aead.ts";
import { NobleAead } from "./aead_noble.ts";
import { NodeAead } from "./aead_node.ts";

export type AeadBackendChoice = AeadBackendName | "auto";

/** The backend "auto" resolves to for `cipher`. */
export function defaultAeadBackend(_cipher: CipherName): AeadBackendName {
  return "node";
}

/** Builds a one-direction AEAD for `cipher` with `key` (copied). */
export function createAead(cipher: CipherName, key: Uint8Array, backend: AeadBackendChoice = "auto"): Aead {
  const b = backend === "auto" ? defaultAeadBackend(cipher) : backend;
  return b === "noble" ? new NobleAead(cipher, key) : new NodeAead(cipher, key);
}
