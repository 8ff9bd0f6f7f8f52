/**
 * A read-only view of an X.509 v2 CRL (RFC 5280 5.1): issuer, dates, the
 * revoked serial numbers and what its signature covers, read with der.ts.
 * Entry and CRL extensions are checked for form but not interpreted: tsvpn
 * treats every listed serial as revoked, whatever the reason code, as
 * OpenVPN's --crl-verify does. Like certificates, CRLs are accepted only in
 * canonical DER, with extensions only in a v2 CRL and the same signature
 * algorithm outside as inside the signed part.
 */

import {
  childrenOf,
  DerError,
  readIntegerBytes,
  readSmallInteger,
  readTime,
  TAG_GENERALIZED_TIME,
  TAG_INTEGER,
  TAG_SEQUENCE,
  TAG_UTC_TIME,
  type Tlv,
  toHex,
} from "./der.ts";
import { readExtensions } from "./certificate.ts";
import {
  type AlgorithmIdentifier,
  openSignedEnvelope,
  readAlgorithm,
  readEnvelopeSignature,
} from "./signed_envelope.ts";
import { type DistinguishedName, readName } from "./distinguished_name.ts";

export interface RevocationList {
  der: Uint8Array;
  /** The signed part (TBSCertList encoding). */
  tbs: Uint8Array;
  tbsSignatureAlgorithm: AlgorithmIdentifier;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
  issuer: DistinguishedName;
  thisUpdate: Date;
  nextUpdate: Date | null;
  /** Uppercase hex of each revoked serial INTEGER's content bytes, in listed order. */
  revokedSerials: string[];
}

const V2 = 1;

/** The revoked serials of revokedCertificates; entry extensions need a v2 CRL. */
function readRevoked(der: Uint8Array, list: Tlv, version: number): string[] {
  return childrenOf(der, list).map((entry) => {
    if (entry.tag !== TAG_SEQUENCE) throw new DerError("revoked entry: expected a SEQUENCE");
    const ef = childrenOf(der, entry);
    if (ef.length < 2 || ef.length > 3) throw new DerError("malformed revoked entry");
    const serial = readIntegerBytes(der, ef[0]);
    readTime(der, ef[1]);
    if (ef.length === 3) {
      if (version !== V2) throw new DerError("entry extensions in a CRL that is not v2");
      readExtensions(der, ef[2]);
    }
    return toHex(serial);
  });
}

const CRL_NAMES = { outer: "CertificateList", prose: "CRL", signed: "TBSCertList" };

/** Parses a DER CRL; keeps views into `der` (do not modify it afterwards). */
export function parseRevocationList(der: Uint8Array): RevocationList {
  const envelope = openSignedEnvelope(der, CRL_NAMES);
  const f = envelope.fields;
  let i = 0;
  let version = 0;
  if (f[i]?.tag === TAG_INTEGER) {
    version = readSmallInteger(der, f[i++]);
    if (version !== V2) throw new DerError(`CRL version field ${version} is not v2`);
  }
  if (f.length < i + 3) throw new DerError("malformed TBSCertList");
  const tbsSignatureAlgorithm = readAlgorithm(der, f[i++]);
  const issuer = readName(der, f[i++]);
  const thisUpdate = readTime(der, f[i++]);
  let nextUpdate: Date | null = null;
  if (f[i]?.tag === TAG_UTC_TIME || f[i]?.tag === TAG_GENERALIZED_TIME) nextUpdate = readTime(der, f[i++]);
  const revokedSerials = f[i]?.tag === TAG_SEQUENCE ? readRevoked(der, f[i++], version) : [];
  if (f[i]?.tag === 0xa0) {
    if (version !== V2) throw new DerError("extensions in a CRL that is not v2");
    const inner = childrenOf(der, f[i++]);
    if (inner.length !== 1) throw new DerError("malformed crlExtensions field");
    readExtensions(der, inner[0]);
  }
  if (i !== f.length) throw new DerError("unexpected field in TBSCertList");
  const { tbs, signatureAlgorithm, signature } = readEnvelopeSignature(der, envelope, tbsSignatureAlgorithm);
  return {
    der,
    tbs,
    tbsSignatureAlgorithm,
    signatureAlgorithm,
    signature,
    issuer,
    thisUpdate,
    nextUpdate,
    revokedSerials,
  };
}
