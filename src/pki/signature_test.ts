import assert from "node:assert/strict";
import { parseCertificate } from "./certificate.ts";
import type { AlgorithmIdentifier } from "./signed_envelope.ts";
import { verifySignature } from "./signature.ts";
import { certificateZoo } from "../testing/pki/certs.ts";
import { noOpenssl } from "../testing/pki/openssl.ts";

/** The issuer of each zoo certificate (self-signed CAs are their own). */
const ISSUER: Record<string, string> = {
  "server-san": "ca-rsa",
  "utf8-name": "ca-p256",
  "long-lived": "ca-p384",
  "pss-signed": "ca-pss",
  "rsa-pss-signed": "ca-rsa",
  "ed-signed": "ca-ed25519",
  "no-extensions": "ca-rsa",
  "leading-space": "ca-p256",
};

function algorithm(oid: string, params: number[] | null): AlgorithmIdentifier {
  return { oid, encoding: new Uint8Array(), params: params === null ? null : Uint8Array.from(params) };
}

/** A DER element with short-form length. */
function tlv(tag: number, ...parts: number[][]): number[] {
  const body = parts.flat();
  return [tag, body.length, ...body];
}

const SHA1_ALG = tlv(0x30, [0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a], [0x05, 0x00]);
const SHA384_ALG = tlv(0x30, [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02], [
  0x05,
  0x00,
]);
const MGF1_OID = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08];

Deno.test("verifySignature() accepts RSA, RSA-PSS, ECDSA and Ed25519 signatures made by openssl", {
  ignore: noOpenssl,
}, async () => {
  const { dir, certs } = await certificateZoo();
  try {
    const byName = new Map(certs.map((c) => [c.name, parseCertificate(c.der)]));
    for (const [name, cert] of byName) {
      const issuer = byName.get(ISSUER[name] ?? name)!;
      const alg = cert.signatureAlgorithm;
      assert.equal(verifySignature(alg, cert.tbs, cert.signature, issuer.publicKey), true, name);
      // Another signed message, another key, or a flipped signature bit: refused.
      const tbs = cert.tbs.slice();
      tbs[tbs.length - 1] ^= 1;
      assert.equal(verifySignature(alg, tbs, cert.signature, issuer.publicKey), false, `${name} tbs`);
      const sig = cert.signature.slice();
      sig[sig.length >> 1] ^= 0x10;
      assert.equal(verifySignature(alg, cert.tbs, sig, issuer.publicKey), false, `${name} signature`);
      for (const other of ["ca-rsa", "ca-p256", "ca-ed25519"]) {
        if (other === (ISSUER[name] ?? name)) continue;
        const key = byName.get(other)!.publicKey;
        assert.equal(
          verifySignature(alg, cert.tbs, cert.signature, key),
          false,
          `${name} with ${other}'s key`,
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verifySignature() refuses unknown algorithms, mismatched PSS parameters and garbage keys", {
  ignore: noOpenssl,
}, async () => {
  const { dir, certs } = await certificateZoo();
  try {
    const ca = parseCertificate(certs.find((c) => c.name === "ca-rsa")!.der);
    const pss = parseCertificate(certs.find((c) => c.name === "rsa-pss-signed")!.der);
    assert.equal(pss.signatureAlgorithm.oid, "1.2.840.113549.1.1.10");
    const ok = verifySignature(pss.signatureAlgorithm, pss.tbs, pss.signature, ca.publicKey);
    assert.equal(ok, true);
    // The same signature claimed under other algorithms.
    const md5Rsa = algorithm("1.2.840.113549.1.1.4", [0x05, 0x00]);
    assert.equal(verifySignature(md5Rsa, pss.tbs, pss.signature, ca.publicKey), false);
    const sha256Rsa = algorithm("1.2.840.113549.1.1.11", [0x05, 0x00]);
    assert.equal(verifySignature(sha256Rsa, pss.tbs, pss.signature, ca.publicKey), false);
    // RSASSA-PSS with defaults (SHA-1, salt 20) does not match a SHA-384 signature.
    const pssDefaults = algorithm("1.2.840.113549.1.1.10", [0x30, 0x00]);
    assert.equal(verifySignature(pssDefaults, pss.tbs, pss.signature, ca.publicKey), false);
    // SHA-384 hash with MGF1-SHA-1: node:crypto cannot check it, so it is refused.
    const salt32 = tlv(0xa2, [0x02, 0x01, 0x20]);
    const sameAsOpenssl = algorithm(
      "1.2.840.113549.1.1.10",
      tlv(0x30, tlv(0xa0, SHA384_ALG), tlv(0xa1, tlv(0x30, MGF1_OID, SHA384_ALG)), salt32),
    );
    assert.equal(verifySignature(sameAsOpenssl, pss.tbs, pss.signature, ca.publicKey), true);
    const mixed = algorithm(
      "1.2.840.113549.1.1.10",
      tlv(0x30, tlv(0xa0, SHA384_ALG), tlv(0xa1, tlv(0x30, MGF1_OID, SHA1_ALG)), salt32),
    );
    assert.equal(verifySignature(mixed, pss.tbs, pss.signature, ca.publicKey), false);
    const trailer2 = algorithm(
      "1.2.840.113549.1.1.10",
      tlv(
        0x30,
        tlv(0xa0, SHA384_ALG),
        tlv(0xa1, tlv(0x30, MGF1_OID, SHA384_ALG)),
        salt32,
        tlv(0xa3, [2, 1, 2]),
      ),
    );
    assert.equal(verifySignature(trailer2, pss.tbs, pss.signature, ca.publicKey), false);
    assert.equal(verifySignature(pss.signatureAlgorithm, pss.tbs, pss.signature, new Uint8Array(12)), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
