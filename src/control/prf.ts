/**
 * OpenVPN's key-method 2 key derivation (used when TLS keying-material export
 * is not negotiated, which is always the case for tsvpn: the node:tls engine
 * has no exportKeyingMaterial, and the libssl engine does not offer it yet).
 *
 * PRF = the TLS 1.0 PRF: secret split in two halves S1, S2 (sharing the middle
 * byte when odd), P_MD5(S1, seed) XOR P_SHA1(S2, seed), with
 * P_hash(S, seed) = HMAC(S, A1|seed) | HMAC(S, A2|seed) | ..., A0 = seed, Ai = HMAC(S, Ai-1).
 *
 *   master = PRF(client.pre_master[48],
 *                "OpenVPN master secret" | client.random1 | server.random1)          -> 48 bytes
 *   key2   = PRF(master,
 *                "OpenVPN key expansion" | client.random2 | server.random2
 *                                        | client_session_id | server_session_id)    -> 256 bytes
 *
 * key2 = 2 x (64-byte cipher key | 64-byte HMAC key). The client sends with
 * half 0 and receives with half 1; the server the reverse (data layer's job).
 *
 * One key2 takes ~75 HMACs. As one node:crypto Hmac object each they cost
 * ~2.3 ms of CPU per derivation (both sides of every handshake pay it); here
 * each P_hash keys one HMAC once and restarts it per block: OpenSSL's HMAC_CTX
 * through FFI when libcrypto loads, else @noble/hashes (keyed, cloned per
 * block). docs/performance.md, "Swarm: handshake CPU".
 */

import { hmac } from "@noble/hashes/hmac.js";
import { md5, sha1 } from "@noble/hashes/legacy.js";
import { libcrypto, libcryptoStatus } from "../../ffi/libcrypto.ts";

export const PRE_MASTER_SIZE = 48;
export const RANDOM_SIZE = 32;
export const KEY2_SIZE = 256;
export const MASTER_SECRET_LABEL = "OpenVPN master secret";
export const KEY_EXPANSION_LABEL = "OpenVPN key expansion";

/** One side's key-method 2 entropy; preMaster only from the client. */
export interface KeySource {
  preMaster?: Uint8Array;
  random1: Uint8Array;
  random2: Uint8Array;
}

type PrfDigest = "md5" | "sha1";

/** P_hash(secret, seed) XORed into `out`; `mac` is HMAC under the secret of the concatenated parts. */
function pHash(mac: (data: Uint8Array[]) => Uint8Array, seed: Uint8Array, out: Uint8Array): void {
  let a = mac([seed]);
  let off = 0;
  while (off < out.length) {
    const chunk = mac([a, seed]);
    const n = Math.min(chunk.length, out.length - off);
    for (let i = 0; i < n; i++) out[off + i] ^= chunk[i];
    chunk.fill(0);
    off += n;
    const next = mac([a]);
    a.fill(0);
    a = next;
  }
  a.fill(0);
}

/** P_hash on OpenSSL's HMAC_CTX: keyed once, restarted per block (HMAC_Init_ex without key). */
function pHashOpenssl(alg: PrfDigest, secret: Uint8Array, seed: Uint8Array, out: Uint8Array): void {
  const lib = libcrypto();
  const md = alg === "md5" ? lib.EVP_md5() : lib.EVP_sha1();
  const ctx = lib.HMAC_CTX_new();
  const fail = (what: string): never => {
    lib.ERR_clear_error();
    throw new Error(`libcrypto: ${what} failed`);
  };
  if (ctx === null || md === null) fail("HMAC_CTX_new");
  const size = alg === "md5" ? 16 : 20;
  const outLen = new Uint8Array(4);
  try {
    if (lib.HMAC_Init_ex(ctx, secret, secret.length, md, null) !== 1) fail("HMAC_Init_ex");
    pHash(
      (data) => {
        if (lib.HMAC_Init_ex(ctx, null, 0, null, null) !== 1) fail("HMAC_Init_ex");
        for (const d of data) if (lib.HMAC_Update(ctx, d, d.length) !== 1) fail("HMAC_Update");
        const digest = new Uint8Array(size);
        if (lib.HMAC_Final(ctx, digest, outLen) !== 1) fail("HMAC_Final");
        return digest;
      },
      seed,
      out,
    );
  } finally {
    lib.HMAC_CTX_free(ctx);
  }
}

/** P_hash on @noble/hashes: keyed once, cloned per block. */
function pHashNoble(alg: PrfDigest, secret: Uint8Array, seed: Uint8Array, out: Uint8Array): void {
  const keyed = hmac.create(alg === "md5" ? md5 : sha1, secret);
  try {
    pHash(
      (data) => {
        const h = keyed.clone();
        for (const d of data) h.update(d);
        return h.digest();
      },
      seed,
      out,
    );
  } finally {
    keyed.destroy();
  }
}

let useOpenssl: boolean | undefined;

/** Which HMAC backend the PRF uses in this process ("openssl" whenever libcrypto loads). */
export function prfBackend(): "openssl" | "noble" {
  useOpenssl ??= libcryptoStatus() === null;
  return useOpenssl ? "openssl" : "noble";
}

/** Forces a backend (tests compare both); returns the previous one. */
export function setPrfBackend(backend: "openssl" | "noble"): "openssl" | "noble" {
  const previous = prfBackend();
  useOpenssl = backend === "openssl";
  return previous;
}

/** The TLS 1.0/1.1 PRF (MD5 xor SHA1) over an already concatenated label|seed. */
export function tls1Prf(secret: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const half = secret.length >>> 1;
  const len = half + (secret.length & 1);
  const s1 = secret.subarray(0, len);
  const s2 = secret.subarray(half, half + len);
  const out = new Uint8Array(length);
  const p = prfBackend() === "openssl" ? pHashOpenssl : pHashNoble;
  p("md5", s1, seed, out);
  p("sha1", s2, seed, out);
  return out;
}

/** OpenVPN's openvpn_PRF(): seed = label | client seed | server seed [| client sid | server sid]. */
export function openvpnPrf(
  secret: Uint8Array,
  label: string,
  clientSeed: Uint8Array,
  serverSeed: Uint8Array,
  clientSid: Uint8Array | null,
  serverSid: Uint8Array | null,
  length: number,
): Uint8Array {
  const l = new TextEncoder().encode(label);
  const seed = new Uint8Array(
    l.length + clientSeed.length + serverSeed.length + (clientSid?.length ?? 0) + (serverSid?.length ?? 0),
  );
  let o = 0;
  for (const part of [l, clientSeed, serverSeed, clientSid, serverSid]) {
    if (!part) continue;
    seed.set(part, o);
    o += part.length;
  }
  return tls1Prf(secret, seed, length);
}

/** Derives the 256-byte key2 block from both sides' key sources and session ids. */
export function deriveKey2(
  client: KeySource,
  server: KeySource,
  clientSessionId: Uint8Array,
  serverSessionId: Uint8Array,
): Uint8Array {
  if (!client.preMaster || client.preMaster.length !== PRE_MASTER_SIZE) {
    throw new RangeError("Client key source needs a 48-byte pre-master secret");
  }
  const master = openvpnPrf(
    client.preMaster,
    MASTER_SECRET_LABEL,
    client.random1,
    server.random1,
    null,
    null,
    PRE_MASTER_SIZE,
  );
  const key2 = openvpnPrf(
    master,
    KEY_EXPANSION_LABEL,
    client.random2,
    server.random2,
    clientSessionId,
    serverSessionId,
    KEY2_SIZE,
  );
  master.fill(0);
  return key2;
}
