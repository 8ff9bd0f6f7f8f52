/**
 * The certificate and CRL extensions chain policy (chain_policy.ts) reads
 * beyond certificate.ts: basicConstraints with its path length, key usage
 * bits, and an inventory of each certificate's and CRL's extensions that finds
 * what OpenSSL-based OpenVPN refuses — an extension present twice, a malformed
 * value of one tsvpn processes, and a critical one it does not process.
 * Readers throw a DerError for malformed values; the inventories return a
 * reason instead.
 */

import {
  childrenOf,
  DerError,
  expectTlv,
  readBitString,
  readBoolean,
  TAG_BOOLEAN,
  TAG_GENERALIZED_TIME,
  TAG_INTEGER,
  TAG_SEQUENCE,
  TAG_UTC_TIME,
  type Tlv,
} from "./der.ts";
import {
  type CertExtension,
  type Certificate,
  extendedKeyUsages,
  findExtension,
  OID_BASIC_CONSTRAINTS,
  OID_EXT_KEY_USAGE,
  OID_KEY_USAGE,
  OID_SUBJECT_ALT_NAME,
  readExtensions,
} from "./certificate.ts";
import { OID_NAME_CONSTRAINTS, readGeneralNames, readNameConstraints } from "./name_constraints.ts";
import type { RevocationList } from "./revocation_list.ts";

const EXTENSION_NAMES: Record<string, string> = {
  [OID_BASIC_CONSTRAINTS]: "basicConstraints",
  [OID_KEY_USAGE]: "keyUsage",
  [OID_EXT_KEY_USAGE]: "extendedKeyUsage",
  [OID_SUBJECT_ALT_NAME]: "subjectAltName",
  [OID_NAME_CONSTRAINTS]: "nameConstraints",
  "2.5.29.14": "subjectKeyIdentifier",
  "2.5.29.35": "authorityKeyIdentifier",
  "2.5.29.20": "cRLNumber",
  "2.5.29.21": "reasonCode",
  "2.5.29.24": "invalidityDate",
  "2.5.29.27": "deltaCRLIndicator",
  "2.5.29.28": "issuingDistributionPoint",
  "2.5.29.29": "certificateIssuer",
  "2.5.29.32": "certificatePolicies",
  "2.5.29.36": "policyConstraints",
  "2.5.29.54": "inhibitAnyPolicy",
};

/** "keyUsage (2.5.29.15)", or the bare OID for extensions without a name here. */
export function extensionLabel(oid: string): string {
  const name = EXTENSION_NAMES[oid];
  return name === undefined ? oid : `${name} (${oid})`;
}

/**
 * Parses the extension values tsvpn acts on, so a malformed one is refused
 * rather than read one way here and another way by a reader that gives up.
 */
const VALIDATORS: Record<string, (cert: Certificate, value: Uint8Array) => void> = {
  [OID_BASIC_CONSTRAINTS]: (cert) => readBasicConstraints(cert),
  [OID_KEY_USAGE]: (cert) => keyUsageBits(cert),
  [OID_EXT_KEY_USAGE]: (cert) => extendedKeyUsages(cert),
  [OID_SUBJECT_ALT_NAME]: (_cert, value) => readGeneralNames(value, whole(value, "subjectAltName")),
  [OID_NAME_CONSTRAINTS]: (_cert, value) => readNameConstraints(value),
};

/** The extensions a certificate may mark critical: tsvpn enforces each of them. */
const KNOWN_CRITICAL = new Set(Object.keys(VALIDATORS));

function whole(v: Uint8Array, what: string): Tlv {
  const t = expectTlv(v, 0, v.length, TAG_SEQUENCE, what);
  if (t.end !== v.length) throw new DerError(`trailing bytes after ${what}`);
  return t;
}

export interface BasicConstraints {
  ca: boolean;
  /** The most non-self-issued intermediate CAs allowed below this one; null for no limit. */
  pathLen: number | null;
}

/** A non-negative INTEGER's value; values past 2^32 are returned as 2^32 (no practical limit). */
function readPathLen(buf: Uint8Array, t: Tlv): number {
  if (t.tag !== TAG_INTEGER || t.end === t.start) throw new DerError("malformed pathLenConstraint");
  if (buf[t.start] & 0x80) throw new DerError("negative pathLenConstraint");
  let v = 0;
  for (let i = t.start; i < t.end; i++) v = Math.min(v * 256 + buf[i], 2 ** 32);
  return v;
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }; null when absent. */
export function readBasicConstraints(cert: Certificate): BasicConstraints | null {
  const ext = findExtension(cert, OID_BASIC_CONSTRAINTS);
  if (ext === undefined) return null;
  const v = ext.value;
  const f = childrenOf(v, whole(v, "BasicConstraints"));
  let i = 0;
  const ca = f[i]?.tag === TAG_BOOLEAN ? readBoolean(v, f[i++]) : false;
  const pathLen = f[i]?.tag === TAG_INTEGER ? readPathLen(v, f[i++]) : null;
  if (i !== f.length) throw new DerError("unexpected field in BasicConstraints");
  return { ca, pathLen };
}

/** KeyUsage named bits (RFC 5280 4.2.1.3) as a mask: bit n of the result is named bit n. */
export const KU_DIGITAL_SIGNATURE = 1 << 0;
export const KU_CRL_SIGN = 1 << 6;

/** The key usage bits as a mask (see KU_*); null without the extension. */
export function keyUsageBits(cert: Certificate): number | null {
  const ext = findExtension(cert, OID_KEY_USAGE);
  if (ext === undefined) return null;
  const v = ext.value;
  const t = expectTlv(v, 0, v.length, 0x03, "KeyUsage");
  if (t.end !== v.length) throw new DerError("trailing bytes after KeyUsage");
  const bytes = readBitString(v, t);
  let mask = 0;
  for (let bit = 0; bit < 9 && bit >> 3 < bytes.length; bit++) {
    if (bytes[bit >> 3] & (0x80 >> (bit & 7))) mask |= 1 << bit;
  }
  return mask;
}

/**
 * Why a certificate's extensions are unacceptable, or null: one of them
 * appears twice, one tsvpn acts on does not parse, or one tsvpn does not
 * process is critical (OpenSSL: unhandled critical extension).
 */
export function extensionProblem(cert: Certificate): string | null {
  const seen = new Set<string>();
  for (const ext of cert.extensions) {
    if (seen.has(ext.oid)) return `duplicate extension ${extensionLabel(ext.oid)}`;
    seen.add(ext.oid);
    const validate = VALIDATORS[ext.oid];
    if (validate !== undefined) {
      try {
        validate(cert, ext.value);
      } catch (e) {
        return `malformed ${extensionLabel(ext.oid)} extension: ${(e as Error).message}`;
      }
    }
    if (ext.critical && !KNOWN_CRITICAL.has(ext.oid)) {
      return `unsupported critical extension ${extensionLabel(ext.oid)}`;
    }
  }
  const bc = readBasicConstraints(cert);
  if (bc !== null && !bc.ca && bc.pathLen !== null) return "pathLenConstraint without CA:TRUE";
  return null;
}

function criticalProblem(exts: CertExtension[], where: string): string | null {
  const seen = new Set<string>();
  for (const ext of exts) {
    if (seen.has(ext.oid)) return `duplicate ${where} extension ${extensionLabel(ext.oid)}`;
    seen.add(ext.oid);
    if (ext.critical) return `unsupported critical ${where} extension ${extensionLabel(ext.oid)}`;
  }
  return null;
}

/**
 * Why a CRL's extensions are unacceptable, or null. tsvpn reads a CRL as the
 * complete list of its issuer's revoked certificates, so every critical
 * extension — which can only narrow or redirect that meaning (delta CRLs,
 * issuing distribution point scopes, indirect entries) — is refused rather
 * than ignored, as is an extension listed twice.
 */
export function crlExtensionProblem(crl: RevocationList): string | null {
  const tbs = crl.tbs;
  const f = childrenOf(tbs, expectTlv(tbs, 0, tbs.length, TAG_SEQUENCE, "TBSCertList"));
  // version?, signature, issuer, thisUpdate, nextUpdate?, revokedCertificates?, [0] crlExtensions?
  let i = f[0]?.tag === TAG_INTEGER ? 4 : 3;
  if (f[i]?.tag === TAG_UTC_TIME || f[i]?.tag === TAG_GENERALIZED_TIME) i++;
  if (f[i]?.tag === TAG_SEQUENCE) {
    for (const entry of childrenOf(tbs, f[i++])) {
      const ef = childrenOf(tbs, entry);
      if (ef.length < 3) continue;
      if (ef.length > 3) throw new DerError("malformed revoked entry");
      const problem = criticalProblem(readExtensions(tbs, ef[2]), "CRL entry");
      if (problem !== null) return problem;
    }
  }
  if (f[i]?.tag === 0xa0) {
    const inner = childrenOf(tbs, f[i]);
    if (inner.length !== 1) throw new DerError("malformed crlExtensions");
    return criticalProblem(readExtensions(tbs, inner[0]), "CRL");
  }
  return null;
}
