import assert from "node:assert/strict";
import {
  decodePem,
  encodePem,
  generateEcKeyPair,
  hashForCurve,
  importEcPrivateKeyPem,
  privateKeyToPem,
} from "./pem.ts";

Deno.test("encodePem() and decodePem() round-trip several blocks and skip other labels", () => {
  const a = Uint8Array.from({ length: 100 }, (_, i) => i);
  const b = Uint8Array.from([1, 2, 3]);
  const text = encodePem(a, "CERTIFICATE") + encodePem(b, "PRIVATE KEY") + encodePem(b, "CERTIFICATE");
  assert.match(text, /^-----BEGIN CERTIFICATE-----\n/);
  assert.ok(!text.includes("\r"));
  assert.deepEqual(decodePem(text, "CERTIFICATE"), [a, b]);
  assert.deepEqual(decodePem(text, "PRIVATE KEY"), [b]);
  assert.deepEqual(decodePem(text, "X509 CRL"), []);
});

Deno.test("privateKeyToPem() output imports back with importEcPrivateKeyPem() and still signs", async () => {
  for (const curve of ["P-256", "P-384"] as const) {
    const keys = await generateEcKeyPair(curve);
    const pem = await privateKeyToPem(keys.privateKey);
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
    const key = await importEcPrivateKeyPem(pem, curve);
    const data = new TextEncoder().encode("hello");
    const alg = { name: "ECDSA", hash: hashForCurve(curve) };
    const sig = await crypto.subtle.sign(alg, key, data);
    assert.ok(await crypto.subtle.verify(alg, keys.publicKey, sig, data));
  }
});

Deno.test("importEcPrivateKeyPem() refuses text without a PKCS#8 key", async () => {
  await assert.rejects(() => importEcPrivateKeyPem("nothing", "P-256"), /holds no PKCS#8 private key/);
});

Deno.test("encodePem() writes the same text as @peculiar/x509's PemConverter", async () => {
  const { PemConverter } = await import("./x509.ts");
  for (const n of [1, 2, 3, 47, 48, 49, 96, 300, 1000]) {
    const der = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    const theirs = PemConverter.encode(der, "CERTIFICATE").replace(/\r\n/g, "\n");
    assert.equal(encodePem(der, "CERTIFICATE"), theirs.endsWith("\n") ? theirs : theirs + "\n");
    assert.equal(encodePem(der.buffer, "CERTIFICATE"), encodePem(der, "CERTIFICATE"));
  }
});
