/**
 * The envelope a certificate and a CRL share (RFC 5280 4.1.1, 5.1.1):
 *
 *   SEQUENCE { tbs SEQUENCE {...}, signatureAlgorithm AlgorithmIdentifier, signature BIT STRING }
 *
 * openSignedEnvelope() checks the outer form (one canonical DER element, no
 * trailing bytes, three parts, a SEQUENCE to sign) and hands back the signed
 * part's fields; the caller reads those, then readEnvelopeSignature() reads the
 * outer algorithm, which must be the same bytes as the one inside the signed
 * part, and the signature. Errors name the structure (`names`).
 */

import {
  childrenOf,
  DerError,
  encodingOf,
  expectTlv,
  readOctetBitString,
  readOid,
  sameBytes,
  TAG_SEQUENCE,
  type Tlv,
} from "./der.ts";
import { assertCanonical } from "./canonical_der.ts";

export interface AlgorithmIdentifier {
  oid: string;
  /** The whole AlgorithmIdentifier encoding, to compare two of them exactly. */
  encoding: Uint8Array;
  /** The parameters element's encoding, or null when absent. */
  params: Uint8Array | null;
}

export function readAlgorithm(buf: Uint8Array, t: Tlv): AlgorithmIdentifier {
  if (t.tag !== TAG_SEQUENCE) throw new DerError("AlgorithmIdentifier: expected a SEQUENCE");
  const f = childrenOf(buf, t);
  if (f.length < 1 || f.length > 2) throw new DerError("malformed AlgorithmIdentifier");
  return {
    oid: readOid(buf, f[0]),
    encoding: encodingOf(buf, t),
    params: f.length === 2 ? encodingOf(buf, f[1]) : null,
  };
}

/** How errors name the structure: "Certificate", "certificate", "TBSCertificate". */
export interface EnvelopeNames {
  /** The ASN.1 type of the whole. */
  outer: string;
  /** The whole in prose ("trailing bytes after the …"). */
  prose: string;
  /** The ASN.1 type of the signed part. */
  signed: string;
}

export interface OpenEnvelope {
  /** The signed part's element. */
  tbs: Tlv;
  /** The signed part's fields, for the caller to read. */
  fields: Tlv[];
  algorithm: Tlv;
  signature: Tlv;
}

/** The signed part's own fields of the canonical DER structure that is all of `der`. */
export function openSignedEnvelope(der: Uint8Array, names: EnvelopeNames): OpenEnvelope {
  const outer = expectTlv(der, 0, der.length, TAG_SEQUENCE, names.outer);
  if (outer.end !== der.length) throw new DerError(`trailing bytes after the ${names.prose}`);
  assertCanonical(der, outer);
  const top = childrenOf(der, outer);
  if (top.length !== 3) throw new DerError(`malformed ${names.outer}`);
  const [tbs, algorithm, signature] = top;
  if (tbs.tag !== TAG_SEQUENCE) throw new DerError(`${names.signed}: expected a SEQUENCE`);
  return { tbs, fields: childrenOf(der, tbs), algorithm, signature };
}

export interface EnvelopeSignature {
  /** The signed part's whole encoding: what the signature covers. */
  tbs: Uint8Array;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
}

/** The outer algorithm (the same bytes as `tbsSignatureAlgorithm`, or a DerError) and the signature. */
export function readEnvelopeSignature(
  der: Uint8Array,
  envelope: OpenEnvelope,
  tbsSignatureAlgorithm: AlgorithmIdentifier,
): EnvelopeSignature {
  const signatureAlgorithm = readAlgorithm(der, envelope.algorithm);
  if (!sameBytes(signatureAlgorithm.encoding, tbsSignatureAlgorithm.encoding)) {
    throw new DerError("signatureAlgorithm differs from the algorithm inside the signed part");
  }
  return {
    tbs: encodingOf(der, envelope.tbs),
    signatureAlgorithm,
    signature: readOctetBitString(der, envelope.signature),
  };
}
