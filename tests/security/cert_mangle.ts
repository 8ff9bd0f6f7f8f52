import { type KeyObject, sign } from "node:crypto";
import { concatBytes as cat } from "../../src/testing/bytes.ts";
import { derTlv as tlv } from "../../src/testing/pki/der.ts";

export { cat, tlv };

/**
 * Test support: re-encodings of a real certificate that leave its signed part
 * (TBSCertificate) byte for byte as issued — the parts an attacker can change
 * without the CA's key — plus two that do touch it, for contrast. Written with
 * its own tiny TLV reader so it does not share the reader under test (the TLV
 * writer is test support, src/testing/pki/der.ts).
 */

interface Part {
  tag: number;
  /** The whole element: header and contents. */
  all: Uint8Array;
  contents: Uint8Array;
}

function readPart(buf: Uint8Array, off: number): Part {
  const tag = buf[off];
  let len = buf[off + 1];
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i];
    start += n;
  }
  return { tag, all: buf.subarray(off, start + len), contents: buf.subarray(start, start + len) };
}

function children(p: Part): Part[] {
  const out: Part[] = [];
  for (let off = 0; off < p.contents.length;) {
    const c = readPart(p.contents, off);
    out.push(c);
    off += c.all.length;
  }
  return out;
}

/** The three parts of a certificate (or CRL): signed part, signatureAlgorithm, signature BIT STRING. */
export function splitCertificate(der: Uint8Array): { tbs: Uint8Array; alg: Part; sig: Part } {
  const [tbs, alg, sig] = children(readPart(der, 0));
  return { tbs: tbs.all, alg, sig };
}

function rebuild(tbs: Uint8Array, alg: Uint8Array, sig: Uint8Array, outerLengthBytes = 0): Uint8Array {
  return tlv(0x30, cat(tbs, alg, sig), outerLengthBytes);
}

const ECDSA_SHA256 = Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02);
const ECDSA_SHA384 = Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03);
const NULL = Uint8Array.of(0x05, 0x00);

/** ECDSA-Sig-Value with its first INTEGER given a redundant leading zero byte. */
function padFirstInteger(sigValue: Uint8Array): Uint8Array {
  const seq = readPart(sigValue, 0);
  const [r, s] = children(seq);
  return tlv(0x30, cat(tlv(0x02, cat(Uint8Array.of(0), r.contents)), s.all));
}

export interface Mangling {
  /** It changes the signed part: the CA's signature no longer covers what is sent. */
  touchesTbs?: boolean;
  /** The DER stays canonical; only the CA's signature value stops verifying. */
  breaksSignatureOnly?: boolean;
  apply(der: Uint8Array): Uint8Array;
}

/** Each mangling: name → certificate bytes. */
export const MANGLINGS: Record<string, Mangling> = {
  "outer SEQUENCE length in 4-byte long form": {
    apply: (der) => {
      const { tbs, alg, sig } = splitCertificate(der);
      return rebuild(tbs, alg.all, sig.all, 4);
    },
  },
  "outer SEQUENCE length in 3-byte long form": {
    apply: (der) => {
      const { tbs, alg, sig } = splitCertificate(der);
      return rebuild(tbs, alg.all, sig.all, 3);
    },
  },
  "outer SEQUENCE with indefinite length": {
    apply: (der) => {
      const { tbs, alg, sig } = splitCertificate(der);
      return cat(Uint8Array.of(0x30, 0x80), tbs, alg.all, sig.all, Uint8Array.of(0, 0));
    },
  },
  "outer signatureAlgorithm length in long form": {
    apply: (der) => {
      const { tbs, alg, sig } = splitCertificate(der);
      return rebuild(tbs, tlv(0x30, alg.contents, 1), sig.all);
    },
  },
  "outer signatureAlgorithm with NULL parameters added": {
    apply: (der) => {
      const { tbs, alg, sig } = splitCertificate(der);
      return rebuild(tbs, tlv(0x30, cat(alg.contents, NULL)), sig.all);
    },
  },
  "outer signatureAlgorithm differs from the signed one (SHA-384)": {
    apply: (der) => {
      const { tbs, sig } = splitCertificate(der);
      return rebuild(tbs, tlv(0x30, ECDSA_SHA384), sig.all);
    },
  },
  "outer signatureAlgorithm OID with a non-minimal arc": {
    apply: (der) => {
      const { tbs, sig } = splitCertificate(der);
      const oid = cat(Uint8Array.of(0x06, 0x09, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x80, 0x03, 0x02));
      return rebuild(tbs, tlv(0x30, oid), sig.all);
    },
  },
  "signature BIT STRING length in long form": {
    apply: (der) => {
      const { tbs, alg, sig } = splitCertificate(der);
      return rebuild(tbs, alg.all, tlv(0x03, sig.contents, 2));
    },
  },
  "signature BIT STRING with 1 unused bit": {
    apply: (der) => {
      const { tbs, alg, sig } = splitCertificate(der);
      const bits = sig.contents.slice();
      bits[0] = 1;
      bits[bits.length - 1] &= 0xfe;
      return rebuild(tbs, alg.all, tlv(0x03, bits));
    },
  },
  "ECDSA signature value with a padded INTEGER": {
    breaksSignatureOnly: true,
    apply: (der) => {
      const { tbs, alg, sig } = splitCertificate(der);
      return rebuild(
        tbs,
        alg.all,
        tlv(0x03, cat(Uint8Array.of(0), padFirstInteger(sig.contents.subarray(1)))),
      );
    },
  },
  "a fourth element inside the outer SEQUENCE": {
    apply: (der) => {
      const { tbs, alg, sig } = splitCertificate(der);
      return tlv(0x30, cat(tbs, alg.all, sig.all, NULL));
    },
  },
  "trailing bytes after the certificate": {
    apply: (der) => cat(der, NULL),
  },
  "signed part (TBSCertificate) length in long form": {
    touchesTbs: true,
    apply: (der) => {
      const { tbs, alg, sig } = splitCertificate(der);
      return rebuild(tlv(0x30, readPart(tbs, 0).contents, 3), alg.all, sig.all);
    },
  },
  "signed part with the signature algorithm NULL parameters added": {
    touchesTbs: true,
    breaksSignatureOnly: true,
    apply: (der) => {
      const { tbs, sig } = splitCertificate(der);
      const fields = children(readPart(tbs, 0));
      const at = fields[0].tag === 0xa0 ? 2 : 1;
      const withNull = tlv(0x30, cat(ECDSA_SHA256, NULL));
      const newTbs = tlv(0x30, cat(...fields.map((f, i) => i === at ? withNull : f.all)));
      return rebuild(newTbs, withNull, sig.all);
    },
  },
};

/** The encodings of the elements inside the constructed element `encoding`. */
export function elementsOf(encoding: Uint8Array): Uint8Array[] {
  return children(readPart(encoding, 0)).map((c) => c.all);
}

/**
 * The certificate (or CRL) with the fields of its signed part replaced by
 * `edit(fields)`; the signature is kept, so it no longer verifies — for
 * checks that refuse the form before any signature is looked at.
 */
export function editSignedFields(der: Uint8Array, edit: (fields: Uint8Array[]) => Uint8Array[]): Uint8Array {
  const { tbs, alg, sig } = splitCertificate(der);
  return rebuild(tlv(0x30, cat(...edit(elementsOf(tbs)))), alg.all, sig.all);
}

/**
 * The certificate with its signed part edited and signed again with the CA's
 * ECDSA key: what a CA that signs whatever it is given would issue.
 */
export function resign(
  der: Uint8Array,
  caKey: KeyObject,
  edit: (fields: Uint8Array[]) => Uint8Array[],
): Uint8Array {
  const { tbs, alg } = splitCertificate(der);
  const newTbs = tlv(0x30, cat(...edit(elementsOf(tbs))));
  const signature = new Uint8Array(sign("sha256", newTbs, { key: caKey, dsaEncoding: "der" }));
  return rebuild(newTbs, alg.all, tlv(0x03, cat(Uint8Array.of(0), signature)));
}
