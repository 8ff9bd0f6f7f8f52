/**
 * Checks an X.509 signature (certificate or CRL): ECDSA and RSA PKCS#1 with
 * OpenSSL's libcrypto when it loads (ffi/signature_openssl.ts: ~3x less CPU
 * than Deno's node:crypto, and a server checks one per handshake), everything
 * else — and those too without libcrypto or --allow-ffi — with node:crypto
 * (the key is parsed by node:crypto first either way, so both paths accept
 * the same keys). Accepted algorithms: ECDSA and RSA PKCS#1 v1.5
 * with SHA-1/256/384/512, RSASSA-PSS with one of those hashes (MGF1 on the
 * same hash, trailer 1) and Ed25519 — what a WebCrypto verifier accepts.
 * Anything else, a key of the wrong type or a malformed input is `false`,
 * never an exception.
 */

import { Buffer } from "node:buffer";
import { constants, createPublicKey, type KeyObject, verify } from "node:crypto";
import {
  childrenOf,
  DerError,
  expectTlv,
  readOid,
  readSmallInteger,
  readTlv,
  TAG_NULL,
  TAG_SEQUENCE,
} from "./der.ts";
import type { AlgorithmIdentifier } from "./signed_envelope.ts";
import { type OpensslDigest, opensslVerify } from "../../ffi/signature_openssl.ts";

const HASH_BY_OID: Record<string, string> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

const ECDSA: Record<string, OpensslDigest> = {
  "1.2.840.10045.4.1": "sha1",
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
};

const RSA_PKCS1: Record<string, OpensslDigest> = {
  "1.2.840.113549.1.1.5": "sha1",
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
};

const RSA_PSS = "1.2.840.113549.1.1.10";
const MGF1 = "1.2.840.113549.1.1.8";
const ED25519 = "1.3.101.112";

interface PssParams {
  hash: string;
  saltLength: number;
}

function hashOfAlgorithm(buf: Uint8Array, off: number, limit: number): string {
  const seq = expectTlv(buf, off, limit, TAG_SEQUENCE, "hash AlgorithmIdentifier");
  const f = childrenOf(buf, seq);
  if (
    f.length < 1 || f.length > 2 || (f.length === 2 && (f[1].tag !== TAG_NULL || f[1].end !== f[1].start))
  ) {
    throw new DerError("malformed hash AlgorithmIdentifier");
  }
  const hash = HASH_BY_OID[readOid(buf, f[0])];
  if (hash === undefined) throw new DerError("unsupported hash");
  return hash;
}

/** RSASSA-PSS-params (RFC 4055), with their defaults (SHA-1, MGF1-SHA-1, salt 20). */
function pssParams(params: Uint8Array | null): PssParams {
  let hash = "sha1", mgfHash = "sha1", saltLength = 20, trailer = 1;
  if (params !== null) {
    const seq = expectTlv(params, 0, params.length, TAG_SEQUENCE, "RSASSA-PSS-params");
    if (seq.end !== params.length) throw new DerError("trailing bytes after RSASSA-PSS-params");
    for (const field of childrenOf(params, seq)) {
      const inner = readTlv(params, field.start, field.end);
      if (inner.end !== field.end) throw new DerError("malformed RSASSA-PSS-params field");
      if (field.tag === 0xa0) {
        hash = hashOfAlgorithm(params, field.start, field.end);
      } else if (field.tag === 0xa1) {
        const mgf = childrenOf(params, expectTlv(params, field.start, field.end, TAG_SEQUENCE, "MGF"));
        if (mgf.length !== 2 || readOid(params, mgf[0]) !== MGF1) throw new DerError("unsupported MGF");
        mgfHash = hashOfAlgorithm(params, mgf[1].head, mgf[1].end);
      } else if (field.tag === 0xa2) {
        saltLength = readSmallInteger(params, inner);
      } else if (field.tag === 0xa3) {
        trailer = readSmallInteger(params, inner);
      } else {
        throw new DerError("unexpected field in RSASSA-PSS-params");
      }
    }
  }
  if (mgfHash !== hash) throw new DerError("MGF1 hash differs from the signature hash");
  if (trailer !== 1) throw new DerError("unsupported PSS trailer field");
  return { hash, saltLength };
}

function check(
  alg: AlgorithmIdentifier,
  data: Uint8Array,
  signature: Uint8Array,
  key: KeyObject,
  spki: Uint8Array,
): boolean {
  const type = key.asymmetricKeyType;
  const ecdsaHash = ECDSA[alg.oid];
  if (ecdsaHash !== undefined) {
    if (type !== "ec") return false;
    return opensslVerify("ec", ecdsaHash, spki, data, signature) ?? verify(ecdsaHash, data, key, signature);
  }
  const rsaHash = RSA_PKCS1[alg.oid];
  if (rsaHash !== undefined) {
    if (type !== "rsa") return false;
    return opensslVerify("rsa", rsaHash, spki, data, signature) ??
      verify(rsaHash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  }
  if (alg.oid === RSA_PSS) {
    if (type !== "rsa" && type !== "rsa-pss") return false;
    const p = pssParams(alg.params);
    return verify(p.hash, data, {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: p.saltLength,
    }, signature);
  }
  if (alg.oid === ED25519) {
    return alg.params === null && type === "ed25519" && verify(null, data, key, signature);
  }
  return false;
}

/** Whether `signature` over `data` verifies with `alg` and the SubjectPublicKeyInfo `spki`. */
export function verifySignature(
  alg: AlgorithmIdentifier,
  data: Uint8Array,
  signature: Uint8Array,
  spki: Uint8Array,
): boolean {
  try {
    const der = Buffer.from(spki.buffer, spki.byteOffset, spki.length);
    const key = createPublicKey({ key: der, format: "der", type: "spki" });
    return check(alg, data, signature, key, spki);
  } catch {
    return false;
  }
}
