/**
 * A read-only view of an X.509 v2 CRL (RFC 5280 5.1): issuer, dates, the
 * revoked serial numbers and what its signature covers, read with der.ts.
 * Entry and CRL extensions are skipped: tsvpn treats every listed serial as
 * revoked, whatever the reason code, as OpenVPN's --crl-verify does.
 */

import {
  childrenOf,
  contentsOf,
  DerError,
  encodingOf,
  expectTlv,
  readBitString,
  readTime,
  TAG_GENERALIZED_TIME,
  TAG_INTEGER,
  TAG_SEQUENCE,
  TAG_UTC_TIME,
  toHex,
} from "./der.ts";
import { type AlgorithmIdentifier, readAlgorithm } from "./certificate.ts";
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

/** Parses a DER CRL; keeps views into `der` (do not modify it afterwards). */
export function parseRevocationList(der: Uint8Array): RevocationList {
  const outer = expectTlv(der, 0, der.length, TAG_SEQUENCE, "CertificateList");
  if (outer.end !== der.length) throw new DerError("trailing bytes after the CRL");
  const top = childrenOf(der, outer);
  if (top.length !== 3) throw new DerError("malformed CertificateList");
  const [tbsTlv, algTlv, sigTlv] = top;
  if (tbsTlv.tag !== TAG_SEQUENCE) throw new DerError("TBSCertList: expected a SEQUENCE");
  const f = childrenOf(der, tbsTlv);
  let i = 0;
  if (f[i]?.tag === TAG_INTEGER) i++; // version (v2)
  if (f.length < i + 3) throw new DerError("malformed TBSCertList");
  const tbsSignatureAlgorithm = readAlgorithm(der, f[i++]);
  const issuer = readName(der, f[i++]);
  const thisUpdate = readTime(der, f[i++]);
  let nextUpdate: Date | null = null;
  if (f[i]?.tag === TAG_UTC_TIME || f[i]?.tag === TAG_GENERALIZED_TIME) nextUpdate = readTime(der, f[i++]);
  const revokedSerials: string[] = [];
  if (f[i]?.tag === TAG_SEQUENCE) {
    for (const entry of childrenOf(der, f[i++])) {
      if (entry.tag !== TAG_SEQUENCE) throw new DerError("revoked entry: expected a SEQUENCE");
      const ef = childrenOf(der, entry);
      if (ef.length < 2 || ef[0].tag !== TAG_INTEGER || ef[0].end === ef[0].start) {
        throw new DerError("malformed revoked entry");
      }
      readTime(der, ef[1]);
      revokedSerials.push(toHex(contentsOf(der, ef[0])));
    }
  }
  if (f[i]?.tag === 0xa0) i++; // [0] EXPLICIT crlExtensions
  if (i !== f.length) throw new DerError("unexpected field in TBSCertList");
  return {
    der,
    tbs: encodingOf(der, tbsTlv),
    tbsSignatureAlgorithm,
    signatureAlgorithm: readAlgorithm(der, algTlv),
    signature: readBitString(der, sigTlv),
    issuer,
    thisUpdate,
    nextUpdate,
    revokedSerials,
  };
}
