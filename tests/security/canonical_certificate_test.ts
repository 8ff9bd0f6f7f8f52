/**
 * The certificate and CRL form rules behind the impersonation fix, checked on
 * the parsers directly: canonical DER, version consistent with the fields,
 * one signature algorithm, and for peer certificates v3 without unique IDs
 * that node:crypto's X509Certificate also reads. What tsvpn pki and openssl
 * issue must still pass.
 */

import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { createTestPki, type TestPki } from "../../src/testing/control/pki.ts";
import { parseCertificate } from "../../src/pki/certificate.ts";
import { decodePem } from "../../src/pki/pem.ts";
import { parsePeerCertificate } from "../../src/pki/peer_certificate.ts";
import { parseRevocationList } from "../../src/pki/revocation_list.ts";
import { certificateZoo, crlOf, issue, selfSignedCa } from "../../src/testing/pki/certs.ts";
import { noOpenssl } from "../../src/testing/pki/openssl.ts";
import { cat, editSignedFields, elementsOf, MANGLINGS, splitCertificate, tlv } from "./cert_mangle.ts";

let pki: TestPki;
const opts = { sanitizeOps: false, sanitizeResources: false };
const certOf = (pem: string) => decodePem(pem, "CERTIFICATE")[0];

/** TBSCertificate field positions of a v3 certificate (0 is the version). */
const SERIAL = 1, EXTENSIONS = 7;

function extensionsOf(fields: Uint8Array[]): Uint8Array[] {
  return elementsOf(elementsOf(fields[EXTENSIONS])[0]);
}

function withExtensions(fields: Uint8Array[], exts: Uint8Array[]): Uint8Array[] {
  return fields.map((f, i) => i === EXTENSIONS ? tlv(0xa3, tlv(0x30, cat(...exts))) : f);
}

const v = (n: number) => tlv(0xa0, Uint8Array.of(0x02, 0x01, n));
const uniqueId = (tag: number) => Uint8Array.of(tag, 0x02, 0x00, 0xab);

Deno.test({ ...opts, name: "fixture", fn: async () => void (pki = await createTestPki()) });

Deno.test({
  ...opts,
  name: "parsePeerCertificate() accepts what tsvpn pki issues, and node:crypto reads the same bytes",
  fn: () => {
    for (const pem of [pki.server.cert, pki.client.cert, pki.caPem]) {
      const der = certOf(pem);
      assert.equal(parsePeerCertificate(der).version, 2);
      new X509Certificate(der);
    }
  },
});

Deno.test({
  ...opts,
  ignore: noOpenssl,
  name:
    "parsePeerCertificate() accepts every v3 certificate of the openssl zoo (RSA, PSS, P-256, P-384, Ed25519)",
  fn: async () => {
    const { dir, certs } = await certificateZoo();
    try {
      for (const c of certs) {
        const cert = parseCertificate(c.der);
        if (cert.version === 2) {
          assert.equal(parsePeerCertificate(c.der).serialNumber, cert.serialNumber, c.name);
        } else assert.throws(() => parsePeerCertificate(c.der), /not an X\.509 v3 certificate/, c.name);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name: "parsePeerCertificate() refuses every re-encoding of a real certificate, naming what is wrong",
  fn: () => {
    for (const [name, m] of Object.entries(MANGLINGS)) {
      const der = m.apply(certOf(pki.client.cert));
      if (m.breaksSignatureOnly) {
        assert.equal(parsePeerCertificate(der).version, 2, `${name}: a form question only`);
      } else assert.throws(() => parsePeerCertificate(der), /not a canonical DER/, name);
    }
  },
});

Deno.test({
  ...opts,
  name: "parseCertificate() wants the version to fit the fields: v3 for extensions, never an explicit v1",
  fn: () => {
    const der = certOf(pki.client.cert);
    const cases: [string, (f: Uint8Array[]) => Uint8Array[], RegExp][] = [
      ["no version field", (f) => f.slice(1), /extensions in a certificate that is not v3/],
      ["v2", (f) => [v(1), ...f.slice(1)], /extensions in a certificate that is not v3/],
      ["explicit v1", (f) => [v(0), ...f.slice(1)], /version field 0 is not v2 or v3/],
      ["v4", (f) => [v(3), ...f.slice(1)], /version field 3/],
    ];
    for (const [name, edit, error] of cases) {
      assert.throws(() => parseCertificate(editSignedFields(der, edit)), error, name);
    }
    const v1 = parseCertificate(editSignedFields(der, (f) => f.slice(1, EXTENSIONS)));
    assert.equal(v1.version, 0);
    assert.throws(() => parsePeerCertificate(v1.der), /not an X\.509 v3 certificate \(v1\)/);
  },
});

Deno.test({
  ...opts,
  name: "parseCertificate() refuses duplicate, empty and badly encoded extensions and a padded serial",
  fn: () => {
    const der = certOf(pki.client.cert);
    const first = (f: Uint8Array[]) => extensionsOf(f)[0];
    const critical = (f: Uint8Array[], flag: number) => {
      const [oid, value] = elementsOf(first(f)).filter((e) => e[0] !== 0x01);
      return tlv(0x30, cat(oid, Uint8Array.of(0x01, 0x01, flag), value));
    };
    const cases: [string, (f: Uint8Array[]) => Uint8Array[], RegExp][] = [
      ["duplicate", (f) => withExtensions(f, [...extensionsOf(f), first(f)]), /appears twice/],
      ["empty", (f) => withExtensions(f, []), /empty Extensions/],
      ["critical 0x01", (f) => withExtensions(f, [critical(f, 0x01)]), /neither 0x00 nor 0xFF/],
      ["value with trailing byte", (f) => {
        const [oid, value] = elementsOf(first(f)).filter((e) => e[0] !== 0x01);
        const inner = cat(value.subarray(2), Uint8Array.of(0x00));
        return withExtensions(f, [tlv(0x30, cat(oid, tlv(0x04, inner)))]);
      }, /trailing bytes/],
      ["padded serial", (f) => {
        const serial = elementsOf(tlv(0x30, f[SERIAL]))[0];
        return f.map((x, i) => i === SERIAL ? tlv(0x02, cat(Uint8Array.of(0), serial.subarray(2))) : x);
      }, /non-minimal INTEGER/],
    ];
    for (const [name, edit, error] of cases) {
      assert.throws(() => parseCertificate(editSignedFields(der, edit)), error, name);
    }
    assert.equal(
      parseCertificate(editSignedFields(der, (f) => withExtensions(f, [critical(f, 0xff)]))).version,
      2,
    );
  },
});

Deno.test({
  ...opts,
  name: "unique identifiers: in order and not in v1 for parseCertificate(), never from a peer",
  fn: () => {
    const der = certOf(pki.client.cert);
    const withIds =
      (...ids: Uint8Array[]) => (f: Uint8Array[]) => [...f.slice(0, EXTENSIONS), ...ids, f[EXTENSIONS]];
    const ok = editSignedFields(der, withIds(uniqueId(0x81), uniqueId(0x82)));
    assert.equal(parseCertificate(ok).hasUniqueIdentifiers, true);
    assert.throws(() => parsePeerCertificate(ok), /unique identifiers/);
    assert.throws(
      () => parseCertificate(editSignedFields(der, withIds(uniqueId(0x82), uniqueId(0x81)))),
      /order/,
    );
    const after = editSignedFields(der, (f) => [...f, uniqueId(0x81)]);
    assert.throws(() => parseCertificate(after), /order/);
    const v1 = editSignedFields(der, (f) => [...f.slice(1, EXTENSIONS), uniqueId(0x81)]);
    assert.throws(() => parseCertificate(v1), /unique identifiers in a v1 certificate/);
    assert.equal(parseCertificate(editSignedFields(der, (f) => f)).hasUniqueIdentifiers, false);
  },
});

function crlCases(crl: Uint8Array): [string, Uint8Array, RegExp][] {
  const { tbs, alg, sig } = splitCertificate(crl);
  const serialPadded = (f: Uint8Array[]) => {
    const at = f.findIndex((x, i) => i > 3 && x[0] === 0x30);
    const entries = elementsOf(f[at]).map((e) => {
      const [serial, ...rest] = elementsOf(e);
      return tlv(0x30, cat(tlv(0x02, cat(Uint8Array.of(0), serial.subarray(2))), ...rest));
    });
    return f.map((x, i) => i === at ? tlv(0x30, cat(...entries)) : x);
  };
  return [
    ["outer length in long form", tlv(0x30, cat(tbs, alg.all, sig.all), 3), /non-minimal DER length/],
    [
      "signature with an unused bit",
      MANGLINGS["signature BIT STRING with 1 unused bit"].apply(crl),
      /unused bits/,
    ],
    [
      "algorithm differs outside",
      MANGLINGS["outer signatureAlgorithm with NULL parameters added"].apply(crl),
      /differs/,
    ],
    ["explicit v1", editSignedFields(crl, (f) => [Uint8Array.of(2, 1, 0), ...f.slice(1)]), /version field 0/],
    ["v1 with extensions", editSignedFields(crl, (f) => f.slice(1)), /not v2/],
    ["padded revoked serial", editSignedFields(crl, serialPadded), /non-minimal INTEGER/],
    ["trailing bytes", cat(crl, Uint8Array.of(0)), /trailing bytes/],
  ];
}

Deno.test({
  ...opts,
  name: "parseRevocationList() reads tsvpn's CRL and refuses its non-canonical forms",
  fn: () => {
    const crl = decodePem(pki.crlPem, "X509 CRL")[0];
    assert.equal(parseRevocationList(crl).revokedSerials.length, 1);
    for (const [name, der, error] of crlCases(crl)) {
      assert.throws(() => parseRevocationList(der), error, name);
    }
  },
});

Deno.test({
  ...opts,
  ignore: noOpenssl,
  name: "parseRevocationList() reads an openssl CRL and refuses its non-canonical forms",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "tsvpn_crl_" });
    try {
      await selfSignedCa(dir, "ca", "p256");
      await issue(dir, "ca", "gone");
      const crl = await crlOf(dir, "ca", ["gone"], "keyCompromise");
      assert.equal(parseRevocationList(crl).revokedSerials.length, 1);
      for (const [name, der, error] of crlCases(crl)) {
        assert.throws(() => parseRevocationList(der), error, name);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({ ...opts, name: "cleanup", fn: () => pki.cleanup() });
