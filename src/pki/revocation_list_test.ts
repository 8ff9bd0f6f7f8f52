import assert from "node:assert/strict";
import { parseCertificate } from "./certificate.ts";
import { DerError } from "./der.ts";
import { parseRevocationList } from "./revocation_list.ts";
import { normalizeSerial } from "./serial.ts";
import { verifySignature } from "./signature.ts";
import { crlOf, issue, selfSignedCa } from "../testing/pki/certs.ts";
import { opensslTest } from "../testing/pki/openssl.ts";
import { X509Crl } from "./x509.ts";

opensslTest(
  "parseRevocationList() reads what @peculiar/x509 reads from openssl CRLs, empty or not",
  async (dir) => {
    const ca = await selfSignedCa(dir, "ca", "p256");
    const rsa = await selfSignedCa(dir, "rsaca", "rsa");
    await issue(dir, "ca", "a");
    await issue(dir, "ca", "b", { serial: "0x00ff01" });
    await issue(dir, "rsaca", "c");
    const crls = [
      await crlOf(dir, "ca", ["a", "b"], "keyCompromise"),
      await crlOf(dir, "rsaca", []),
      await crlOf(dir, "rsaca", ["c"]),
    ];
    for (const der of crls) {
      const mine = parseRevocationList(der);
      const ref = new X509Crl(der.slice());
      assert.equal(mine.issuer.text, ref.issuer);
      assert.equal(mine.thisUpdate.getTime(), ref.thisUpdate.getTime());
      assert.equal(mine.nextUpdate?.getTime(), ref.nextUpdate?.getTime());
      assert.deepEqual(
        mine.revokedSerials.map(normalizeSerial),
        ref.entries.map((e) => normalizeSerial(e.serialNumber)),
      );
      assert.deepEqual(mine.signature, new Uint8Array(ref.signature));
    }
    assert.equal(parseRevocationList(crls[0]).revokedSerials.length, 2);
    assert.ok(parseRevocationList(crls[0]).revokedSerials.map(normalizeSerial).includes("FF01"));
    assert.deepEqual(parseRevocationList(crls[1]).revokedSerials, []);
    // What the CRL's signature covers verifies with its CA's key only.
    const crl = parseRevocationList(crls[0]);
    const key = parseCertificate(ca.der).publicKey;
    assert.equal(verifySignature(crl.signatureAlgorithm, crl.tbs, crl.signature, key), true);
    const other = parseCertificate(rsa.der).publicKey;
    assert.equal(verifySignature(crl.signatureAlgorithm, crl.tbs, crl.signature, other), false);
  },
);

opensslTest("parseRevocationList() throws a DerError for truncated input and a certificate", async (dir) => {
  const ca = await selfSignedCa(dir, "ca", "p256");
  await issue(dir, "ca", "a");
  const der = await crlOf(dir, "ca", ["a"]);
  for (const cut of [1, 20, der.length - 1]) {
    assert.throws(() => parseRevocationList(der.subarray(0, cut)), DerError, `cut at ${cut}`);
  }
  assert.throws(() => parseRevocationList(ca.der), DerError);
  for (let i = 0; i < der.length; i += 3) {
    const bad = der.slice();
    bad[i] ^= 0xff;
    try {
      parseRevocationList(bad);
    } catch (e) {
      assert.ok(e instanceof DerError, `byte ${i}: ${e}`);
    }
  }
});
