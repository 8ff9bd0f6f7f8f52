/**
 * A read-only view of an X.509 certificate: the fields and extensions peer
 * verification (verify.ts) checks, read with the small DER reader (der.ts)
 * so the running server and client never load an ASN.1 library.
 * parseCertificate() throws a DerError for anything malformed or not in
 * canonical DER (canonical_der.ts), for a version that does not fit the
 * fields present (v3 whenever extensions exist), and for an outer
 * signatureAlgorithm that differs from the one inside the signed part.
 * Extension readers throw the same for a malformed extension value.
 */

import { formatIp } from "../addr/ip.ts";
import {
  childrenOf,
  contentsOf,
  DerError,
  encodingOf,
  expectTlv,
  readBitString,
  readBoolean,
  readIntegerBytes,
  readOid,
  readSmallInteger,
  readTime,
  TAG_BOOLEAN,
  TAG_OCTET_STRING,
  TAG_SEQUENCE,
  type Tlv,
  toHex,
} from "./der.ts";
import { assertCanonicalElement } from "./canonical_der.ts";
import {
  type AlgorithmIdentifier,
  openSignedEnvelope,
  readAlgorithm,
  readEnvelopeSignature,
} from "./signed_envelope.ts";
import { CN_OID, type DistinguishedName, nameField, readName } from "./distinguished_name.ts";

export interface CertExtension {
  oid: string;
  critical: boolean;
  /** Contents of extnValue (the extension's own DER). */
  value: Uint8Array;
}

export interface Certificate {
  /** The certificate's whole encoding. */
  der: Uint8Array;
  /** The version field: 0 for v1, 1 for v2, 2 for v3. */
  version: number;
  /** Whether issuerUniqueID or subjectUniqueID is present (RFC 5280 forbids CAs to issue them). */
  hasUniqueIdentifiers: boolean;
  /** The signed part (TBSCertificate encoding). */
  tbs: Uint8Array;
  tbsSignatureAlgorithm: AlgorithmIdentifier;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
  /** Uppercase hex of the serial INTEGER's content bytes. */
  serialNumber: string;
  issuer: DistinguishedName;
  subject: DistinguishedName;
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo encoding. */
  publicKey: Uint8Array;
  extensions: CertExtension[];
}

export const OID_BASIC_CONSTRAINTS = "2.5.29.19";
export const OID_KEY_USAGE = "2.5.29.15";
export const OID_EXT_KEY_USAGE = "2.5.29.37";
export const OID_SUBJECT_ALT_NAME = "2.5.29.17";
export const OID_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
export const OID_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

/** KeyUsage named bits (RFC 5280 4.2.1.3). */
export const KEY_USAGE_DIGITAL_SIGNATURE = 0;
export const KEY_USAGE_KEY_CERT_SIGN = 5;
export const KEY_USAGE_CRL_SIGN = 6;

/**
 * Reads `Extensions` (SEQUENCE OF Extension): at least one, no OID twice
 * (RFC 5280 4.2), each value exactly one canonical DER element.
 */
export function readExtensions(buf: Uint8Array, t: Tlv): CertExtension[] {
  if (t.tag !== TAG_SEQUENCE) throw new DerError("Extensions: expected a SEQUENCE");
  const seen = new Set<string>();
  const out = childrenOf(buf, t).map((e) => {
    if (e.tag !== TAG_SEQUENCE) throw new DerError("Extension: expected a SEQUENCE");
    const f = childrenOf(buf, e);
    if (f.length < 2 || f.length > 3) throw new DerError("malformed Extension");
    const critical = f.length === 3 ? readBoolean(buf, f[1]) : false;
    const value = f[f.length - 1];
    if (value.tag !== TAG_OCTET_STRING) throw new DerError("Extension: expected an OCTET STRING value");
    const oid = readOid(buf, f[0]);
    if (seen.has(oid)) throw new DerError(`extension ${oid} appears twice`);
    seen.add(oid);
    assertCanonicalElement(contentsOf(buf, value), `extension ${oid}`);
    return { oid, critical, value: contentsOf(buf, value) };
  });
  if (out.length === 0) throw new DerError("empty Extensions");
  return out;
}

/** The version field's value (0 = v1 when absent); DER never encodes the default v1. */
function readVersion(der: Uint8Array, fields: Tlv[]): number {
  if (fields[0]?.tag !== 0xa0) return 0;
  const inner = childrenOf(der, fields[0]);
  if (inner.length !== 1) throw new DerError("malformed version field");
  const version = readSmallInteger(der, inner[0]);
  if (version !== 1 && version !== 2) {
    throw new DerError(`certificate version field ${version} is not v2 or v3`);
  }
  return version;
}

const V2 = 1;
const V3 = 2;

/** issuerUniqueID [1], subjectUniqueID [2], extensions [3]: each at most once, in order, as the version allows. */
function readTrailingFields(
  der: Uint8Array,
  fields: Tlv[],
  version: number,
): { extensions: CertExtension[]; hasUniqueIdentifiers: boolean } {
  let extensions: CertExtension[] = [];
  let hasUniqueIdentifiers = false;
  let last = 0;
  for (const t of fields) {
    const number = t.tag === 0x81 ? 1 : t.tag === 0x82 ? 2 : t.tag === 0xa3 ? 3 : 0;
    if (number === 0) throw new DerError("unexpected field in TBSCertificate");
    if (number <= last) throw new DerError("TBSCertificate fields out of order or repeated");
    last = number;
    if (number < 3) {
      if (version < V2) throw new DerError("unique identifiers in a v1 certificate");
      readBitString(der, { ...t, tag: 0x03 });
      hasUniqueIdentifiers = true;
      continue;
    }
    if (version !== V3) throw new DerError("extensions in a certificate that is not v3");
    const inner = childrenOf(der, t);
    if (inner.length !== 1) throw new DerError("malformed extensions field");
    extensions = readExtensions(der, inner[0]);
  }
  return { extensions, hasUniqueIdentifiers };
}

const CERTIFICATE_NAMES = { outer: "Certificate", prose: "certificate", signed: "TBSCertificate" };

/** Parses a DER certificate; keeps views into `der` (do not modify it afterwards). */
export function parseCertificate(der: Uint8Array): Certificate {
  const envelope = openSignedEnvelope(der, CERTIFICATE_NAMES);
  const f = envelope.fields;
  const version = readVersion(der, f);
  let i = f[0]?.tag === 0xa0 ? 1 : 0;
  if (f.length < i + 6) throw new DerError("malformed TBSCertificate");
  const serial = readIntegerBytes(der, f[i++]);
  const tbsSignatureAlgorithm = readAlgorithm(der, f[i++]);
  const issuer = readName(der, f[i++]);
  const validity = f[i++];
  if (validity.tag !== TAG_SEQUENCE) throw new DerError("Validity: expected a SEQUENCE");
  const times = childrenOf(der, validity);
  if (times.length !== 2) throw new DerError("malformed Validity");
  const subject = readName(der, f[i++]);
  const spki = f[i++];
  if (spki.tag !== TAG_SEQUENCE) throw new DerError("SubjectPublicKeyInfo: expected a SEQUENCE");
  const { extensions, hasUniqueIdentifiers } = readTrailingFields(der, f.slice(i), version);
  const { tbs, signatureAlgorithm, signature } = readEnvelopeSignature(der, envelope, tbsSignatureAlgorithm);
  return {
    der,
    version,
    hasUniqueIdentifiers,
    tbs,
    tbsSignatureAlgorithm,
    signatureAlgorithm,
    signature,
    serialNumber: toHex(serial),
    issuer,
    subject,
    notBefore: readTime(der, times[0]),
    notAfter: readTime(der, times[1]),
    publicKey: encodingOf(der, spki),
    extensions,
  };
}

/** The first extension with `oid`, or undefined. */
export function findExtension(cert: Certificate, oid: string): CertExtension | undefined {
  return cert.extensions.find((e) => e.oid === oid);
}

/** The subject's first common name, or undefined. */
export function certCommonName(cert: Certificate): string | undefined {
  return nameField(cert.subject, CN_OID)[0];
}

/** BasicConstraints: whether the cA flag is set; null without the extension. */
export function basicConstraintsCa(cert: Certificate): boolean | null {
  const ext = findExtension(cert, OID_BASIC_CONSTRAINTS);
  if (ext === undefined) return null;
  const v = ext.value;
  const seq = expectTlv(v, 0, v.length, TAG_SEQUENCE, "BasicConstraints");
  const f = childrenOf(v, seq);
  return f.length > 0 && f[0].tag === TAG_BOOLEAN && readBoolean(v, f[0]);
}

/** KeyUsage: whether named bit `bit` is set; null without the extension. */
export function keyUsageHas(cert: Certificate, bit: number): boolean | null {
  const ext = findExtension(cert, OID_KEY_USAGE);
  if (ext === undefined) return null;
  const v = ext.value;
  const bits = readBitString(v, expectTlv(v, 0, v.length, 0x03, "KeyUsage"));
  const byte = bit >> 3;
  return byte < bits.length && (bits[byte] & (0x80 >> (bit & 7))) !== 0;
}

/** ExtendedKeyUsage purpose OIDs; null without the extension. */
export function extendedKeyUsages(cert: Certificate): string[] | null {
  const ext = findExtension(cert, OID_EXT_KEY_USAGE);
  if (ext === undefined) return null;
  const v = ext.value;
  return childrenOf(v, expectTlv(v, 0, v.length, TAG_SEQUENCE, "ExtendedKeyUsage")).map((t) => readOid(v, t));
}

export interface AltName {
  type: "dns" | "ip" | "other";
  /** dns: the name as encoded; ip: dotted IPv4 or RFC 5952 IPv6 text; other: "". */
  value: string;
}

/** An iPAddress SAN as text; contents that are no address (not 4 or 16 bytes) as "#" and hex. */
function altNameIp(b: Uint8Array): string {
  return b.length === 4 || b.length === 16 ? formatIp(b) : `#${toHex(b)}`;
}

const latin1 = new TextDecoder("latin1");

/** SubjectAltName entries; null without the extension. */
export function subjectAltNames(cert: Certificate): AltName[] | null {
  const ext = findExtension(cert, OID_SUBJECT_ALT_NAME);
  if (ext === undefined) return null;
  const v = ext.value;
  return childrenOf(v, expectTlv(v, 0, v.length, TAG_SEQUENCE, "SubjectAltName")).map((t): AltName => {
    if (t.tag === 0x82) return { type: "dns", value: latin1.decode(contentsOf(v, t)) };
    if (t.tag === 0x87) return { type: "ip", value: altNameIp(contentsOf(v, t)) };
    return { type: "other", value: "" };
  });
}
