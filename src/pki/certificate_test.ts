import assert from "node:assert/strict";
import {
  basicConstraintsCa,
  certCommonName,
  extendedKeyUsages,
  KEY_USAGE_CRL_SIGN,
  KEY_USAGE_DIGITAL_SIGNATURE,
  KEY_USAGE_KEY_CERT_SIGN,
  keyUsageHas,
  parseCertificate,
  subjectAltNames,
} from "./certificate.ts";
import { DerError } from "./der.ts";
import { normalizeSerial } from "./serial.ts";
import { certificateZoo } from "../testing/pki/certs.ts";
import { noOpenssl } from "../testing/pki/openssl.ts";
import {
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  X509Certificate,
} from "./x509.ts";

Deno.test("parseCertificate() reads what @peculiar/x509 reads from a varied set of openssl certificates", {
  ignore: noOpenssl,
}, async () => {
  const { dir, certs } = await certificateZoo();
  try {
    for (const { name, der } of certs) {
      const mine = parseCertificate(der);
      const ref = new X509Certificate(der.slice());
      const msg = `certificate ${name}`;
      // Compared as tsvpn uses them: @peculiar/x509 drops a sign byte the raw contents keep.
      assert.equal(normalizeSerial(mine.serialNumber), normalizeSerial(ref.serialNumber), msg);
      assert.equal(mine.subject.text, ref.subject, msg);
      assert.equal(mine.issuer.text, ref.issuer, msg);
      assert.equal(mine.notBefore.getTime(), ref.notBefore.getTime(), msg);
      assert.equal(mine.notAfter.getTime(), ref.notAfter.getTime(), msg);
      assert.deepEqual(mine.publicKey, new Uint8Array(ref.publicKey.rawData), msg);
      assert.deepEqual(mine.der, new Uint8Array(ref.rawData), msg);
      assert.deepEqual(mine.signature, new Uint8Array(ref.signature), msg);
      assert.deepEqual(
        mine.extensions.map((e) => [e.oid, e.critical]),
        [...ref.extensions].map((e) => [e.type, e.critical]),
        msg,
      );
      assert.equal(certCommonName(mine), ref.subjectName.getField("CN")[0], msg);

      const bc = ref.getExtension(BasicConstraintsExtension);
      assert.equal(basicConstraintsCa(mine), bc === null ? null : bc.ca, msg);
      const ku = ref.getExtension(KeyUsagesExtension);
      for (
        const [bit, flag] of [
          [KEY_USAGE_DIGITAL_SIGNATURE, KeyUsageFlags.digitalSignature],
          [KEY_USAGE_KEY_CERT_SIGN, KeyUsageFlags.keyCertSign],
          [KEY_USAGE_CRL_SIGN, KeyUsageFlags.cRLSign],
        ]
      ) {
        assert.equal(
          keyUsageHas(mine, bit),
          ku === null ? null : (ku.usages & flag) !== 0,
          `${msg} bit ${bit}`,
        );
      }
      const eku = ref.getExtension(ExtendedKeyUsageExtension);
      assert.deepEqual(extendedKeyUsages(mine), eku === null ? null : [...eku.usages].map(String), msg);
      const san = ref.getExtension(SubjectAlternativeNameExtension);
      assert.deepEqual(
        subjectAltNames(mine)?.filter((n) => n.type !== "other"),
        san === null
          ? undefined
          : san.names.items.filter((n) => n.type === "dns" || n.type === "ip").map((n) => ({
            type: n.type,
            value: n.value,
          })),
        msg,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseCertificate() throws a DerError for truncated, padded and non-certificate input", {
  ignore: noOpenssl,
}, async () => {
  const { dir, certs } = await certificateZoo();
  try {
    const der = certs[0].der;
    for (const cut of [1, 10, der.length - 1]) {
      assert.throws(() => parseCertificate(der.subarray(0, cut)), DerError, `cut at ${cut}`);
    }
    const padded = new Uint8Array(der.length + 1);
    padded.set(der);
    assert.throws(() => parseCertificate(padded), /trailing bytes/);
    assert.throws(() => parseCertificate(Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x01])), DerError);
    // Every single-byte corruption either parses or throws a DerError: nothing else escapes.
    for (let i = 0; i < der.length; i += 7) {
      const bad = der.slice();
      bad[i] ^= 0xff;
      try {
        parseCertificate(bad);
      } catch (e) {
        assert.ok(e instanceof DerError, `byte ${i}: ${e}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
