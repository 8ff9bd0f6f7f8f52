/**
 * X.509 name constraints (RFC 5280 4.2.1.10), enforced for the name forms a
 * VPN certificate carries: dNSName, rfc822Name, iPAddress and directoryName.
 * A CA whose constraints use any other form (URI, otherName, x400Address,
 * ediPartyName, registeredID) or a minimum/maximum distance is refused
 * outright rather than half-enforced (chain_policy.ts).
 *
 * The names of a certificate are its subject DN (directoryName), the
 * emailAddress attributes of the subject (rfc822Name), its subjectAltName
 * entries, and — because tsvpn matches --verify-x509-name against the common
 * name too — every CN of the peer certificate that reads as a host name
 * (dNSName) or an IP literal (iPAddress), whether or not a subjectAltName is
 * present (OpenSSL checks CNs only without a DNS subjectAltName). A name is inside a
 * subtree when (per form):
 *
 *   dNSName       labels may be added on the left: "example.com" holds
 *                 "example.com" and "a.example.com"; ".example.com" only the
 *                 subdomains; "" everything. ASCII case-insensitive, one
 *                 trailing dot ignored.
 *   rfc822Name    "user@host" that mailbox; "host" any mailbox at host;
 *                 ".host" any mailbox at a subdomain of host.
 *   iPAddress     address and mask of the same family.
 *   directoryName the base's RDNs begin the subject's (values compared
 *                 case-insensitively with spaces collapsed, as OpenSSL does).
 */

import { tryParseIpv4, tryParseIpv6 } from "../addr/ip.ts";
import {
  childrenOf,
  contentsOf,
  DerError,
  encodingOf,
  expectTlv,
  readDirectoryString,
  readOid,
  readTlv,
  TAG_SEQUENCE,
  TAG_SET,
  type Tlv,
  toHex,
} from "./der.ts";
import { type Certificate, findExtension, OID_SUBJECT_ALT_NAME } from "./certificate.ts";
import { CN_OID } from "./distinguished_name.ts";

export const OID_NAME_CONSTRAINTS = "2.5.29.30";
const OID_EMAIL_ADDRESS = "1.2.840.113549.1.9.1";

export type GeneralName =
  | { kind: "dns" | "email"; text: string }
  | { kind: "ip"; bytes: Uint8Array }
  /** Canonical RDNs, each a sorted list of canonical attribute-value pairs. */
  | { kind: "dirName"; rdns: string[] }
  /** A form tsvpn does not constrain: its name, for messages. */
  | { kind: "other"; form: string };

export interface NameConstraints {
  permitted: GeneralName[];
  excluded: GeneralName[];
}

const latin1 = new TextDecoder("latin1");

const OTHER_FORMS: Record<number, string> = {
  0xa0: "otherName",
  0xa3: "x400Address",
  0xa5: "ediPartyName",
  0x86: "uniformResourceIdentifier",
  0x88: "registeredID",
};

/** Reads one GeneralName element. */
function readGeneralName(buf: Uint8Array, t: Tlv): GeneralName {
  switch (t.tag) {
    case 0x81:
      return { kind: "email", text: latin1.decode(contentsOf(buf, t)) };
    case 0x82:
      return { kind: "dns", text: latin1.decode(contentsOf(buf, t)) };
    case 0x87:
      return { kind: "ip", bytes: contentsOf(buf, t) };
    case 0xa4: {
      const inner = childrenOf(buf, t);
      if (inner.length !== 1) throw new DerError("malformed directoryName");
      return { kind: "dirName", rdns: readRdns(buf, inner[0]) };
    }
  }
  const form = OTHER_FORMS[t.tag];
  if (form === undefined) throw new DerError(`malformed GeneralName (tag 0x${t.tag.toString(16)})`);
  if (t.tag & 0x20) childrenOf(buf, t); // constructed forms must at least be well-formed
  return { kind: "other", form };
}

/** Reads GeneralNames (SEQUENCE OF GeneralName) at `t`. */
export function readGeneralNames(buf: Uint8Array, t: Tlv): GeneralName[] {
  if (t.tag !== TAG_SEQUENCE) throw new DerError("GeneralNames: expected a SEQUENCE");
  return childrenOf(buf, t).map((n) => readGeneralName(buf, n));
}

function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v";
}

/** ASCII-only lower case: Unicode case mapping must not make two different names equal. */
function lowerAscii(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** A directory string value as compared: outer spaces dropped, inner runs collapsed, ASCII lower case. */
function canonicalValue(text: string): string {
  let out = "";
  let pendingSpace = false;
  for (const c of text) {
    if (isSpace(c)) {
      pendingSpace = out.length > 0;
      continue;
    }
    if (pendingSpace) out += " ";
    pendingSpace = false;
    out += c;
  }
  return lowerAscii(out);
}

/** A Name's RDNs in canonical form (see GeneralName dirName). */
function readRdns(buf: Uint8Array, t: Tlv): string[] {
  if (t.tag !== TAG_SEQUENCE) throw new DerError("Name: expected a SEQUENCE");
  return childrenOf(buf, t).map((rdn) => {
    if (rdn.tag !== TAG_SET) throw new DerError("Name: expected a SET");
    const pairs = childrenOf(buf, rdn).map((atv) => {
      if (atv.tag !== TAG_SEQUENCE) throw new DerError("Name: expected an AttributeTypeAndValue");
      const f = childrenOf(buf, atv);
      if (f.length !== 2) throw new DerError("Name: malformed AttributeTypeAndValue");
      const text = readDirectoryString(buf, f[1]);
      const value = text === null ? `#${toHex(encodingOf(buf, f[1]))}` : canonicalValue(text);
      return JSON.stringify([readOid(buf, f[0]), value]);
    });
    if (pairs.length === 0) throw new DerError("Name: empty RDN");
    return pairs.sort().join(",");
  });
}

/** The subject Name element inside a certificate's TBSCertificate. */
function subjectTlv(tbs: Uint8Array): Tlv {
  const f = childrenOf(tbs, expectTlv(tbs, 0, tbs.length, TAG_SEQUENCE, "TBSCertificate"));
  // [0] version?, serialNumber, signature, issuer, validity, subject
  const at = f[0]?.tag === 0xa0 ? 5 : 4;
  if (f[at] === undefined) throw new DerError("malformed TBSCertificate");
  return f[at];
}

function readSubtrees(buf: Uint8Array, t: Tlv): GeneralName[] {
  return childrenOf(buf, t).map((sub) => {
    if (sub.tag !== TAG_SEQUENCE) throw new DerError("GeneralSubtree: expected a SEQUENCE");
    const f = childrenOf(buf, sub);
    if (f.length === 0) throw new DerError("empty GeneralSubtree");
    const base = readGeneralName(buf, f[0]);
    for (const bound of f.slice(1)) {
      // minimum must be 0 (DEFAULT, so absent in DER) and maximum absent (RFC 5280).
      const zero = bound.tag === 0x80 && bound.end - bound.start === 1 && buf[bound.start] === 0;
      if (!zero) return { kind: "other", form: "a minimum or maximum distance" } as GeneralName;
    }
    return base;
  });
}

/** Parses a nameConstraints extension value. */
export function readNameConstraints(value: Uint8Array): NameConstraints {
  const seq = expectTlv(value, 0, value.length, TAG_SEQUENCE, "NameConstraints");
  if (seq.end !== value.length) throw new DerError("trailing bytes after NameConstraints");
  const out: NameConstraints = { permitted: [], excluded: [] };
  let last = 0x9f;
  for (const field of childrenOf(value, seq)) {
    if ((field.tag !== 0xa0 && field.tag !== 0xa1) || field.tag <= last) {
      throw new DerError("unexpected field in NameConstraints");
    }
    last = field.tag;
    const subtrees = readSubtrees(value, field);
    if (subtrees.length === 0) throw new DerError("empty GeneralSubtrees");
    if (field.tag === 0xa0) out.permitted = subtrees;
    else out.excluded = subtrees;
  }
  return out;
}

/** A certificate's nameConstraints; null without the extension. */
export function nameConstraintsOf(cert: Certificate): NameConstraints | null {
  const ext = findExtension(cert, OID_NAME_CONSTRAINTS);
  return ext === undefined ? null : readNameConstraints(ext.value);
}

/** Whether a CN reads as a multi-label host name (letters, digits, "-", "_", inner dots). */
function looksLikeHostName(cn: string): boolean {
  return /^[A-Za-z0-9_]+(?:-+[A-Za-z0-9_]+)*(?:\.[A-Za-z0-9_]+(?:-+[A-Za-z0-9_]+)*)+$/.test(cn);
}

function ipBytesOfText(text: string): Uint8Array | null {
  const v4 = tryParseIpv4(text);
  if (v4 >= 0) return Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255);
  const v6 = tryParseIpv6(text);
  if (v6 === null) return null;
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = (v6[i >> 2] >>> (24 - 8 * (i & 3))) & 255;
  return out;
}

/**
 * Every name of `cert` that name constraints apply to; `withCommonNames` adds
 * the CNs that read as host names or IP literals (for the peer's certificate,
 * whose CN tsvpn matches as a name).
 */
export function constrainedNames(cert: Certificate, withCommonNames: boolean): GeneralName[] {
  const names: GeneralName[] = [];
  const rdns = readRdns(cert.tbs, subjectTlv(cert.tbs));
  if (rdns.length > 0) names.push({ kind: "dirName", rdns });
  for (const a of cert.subject.attributes) {
    if (a.oid === OID_EMAIL_ADDRESS) {
      // A non-string emailAddress cannot be checked: "" fails the mailbox syntax check.
      names.push({ kind: "email", text: a.value ?? "" });
    } else if (withCommonNames && a.oid === CN_OID && a.value !== null) {
      // As OpenSSL, a dotted CN counts as a dNSName ("203.0.113.9" too); an IP literal also as an iPAddress.
      if (looksLikeHostName(a.value)) names.push({ kind: "dns", text: a.value });
      const ip = ipBytesOfText(a.value);
      if (ip !== null) names.push({ kind: "ip", bytes: ip });
    }
  }
  const san = findExtension(cert, OID_SUBJECT_ALT_NAME);
  if (san !== undefined) {
    const v = san.value;
    names.push(...readGeneralNames(v, readTlv(v, 0, v.length)));
  }
  return names;
}

function trimDot(s: string): string {
  return s.endsWith(".") ? s.slice(0, -1) : s;
}

function dnsWithin(name: string, base: string): boolean {
  const n = lowerAscii(trimDot(name));
  const b = lowerAscii(trimDot(base));
  if (b.length === 0 || n === b) return true;
  if (!n.endsWith(b) || n.length === b.length) return false;
  return b.startsWith(".") || n[n.length - b.length - 1] === ".";
}

/** null when `mailbox` has no "@" (a syntax the constraint cannot be checked against). */
function emailWithin(mailbox: string, base: string): boolean | null {
  const at = mailbox.lastIndexOf("@");
  if (at <= 0 || at === mailbox.length - 1) return null;
  const local = mailbox.slice(0, at);
  const host = lowerAscii(mailbox.slice(at + 1));
  if (base.length === 0) return true;
  const baseAt = base.lastIndexOf("@");
  if (baseAt >= 0) return base.slice(0, baseAt) === local && lowerAscii(base.slice(baseAt + 1)) === host;
  const b = lowerAscii(base);
  if (b.startsWith(".")) return host.endsWith(b);
  return host === b;
}

/** null when the name or base is not a 4/16-byte address with a 8/32-byte address+mask. */
function ipWithin(addr: Uint8Array, base: Uint8Array): boolean | null {
  if ((addr.length !== 4 && addr.length !== 16) || (base.length !== 8 && base.length !== 32)) return null;
  if (addr.length * 2 !== base.length) return false;
  const n = addr.length;
  for (let i = 0; i < n; i++) if ((addr[i] & base[n + i]) !== (base[i] & base[n + i])) return false;
  return true;
}

function dirWithin(rdns: string[], base: string[]): boolean {
  return base.length <= rdns.length && base.every((rdn, i) => rdn === rdns[i]);
}

/** Whether `name` lies in the subtree `base` of the same form; null when it cannot be checked. */
function within(name: GeneralName, base: GeneralName): boolean | null {
  if (name.kind === "dns" && base.kind === "dns") return dnsWithin(name.text, base.text);
  if (name.kind === "email" && base.kind === "email") return emailWithin(name.text, base.text);
  if (name.kind === "ip" && base.kind === "ip") return ipWithin(name.bytes, base.bytes);
  if (name.kind === "dirName" && base.kind === "dirName") return dirWithin(name.rdns, base.rdns);
  return false;
}

function ipText(b: Uint8Array): string {
  if (b.length === 4) return b.join(".");
  if (b.length !== 16) return `#${toHex(b)}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  return groups.join(":");
}

/** How a name appears in a refusal. */
function describeName(name: GeneralName): string {
  switch (name.kind) {
    case "dns":
      return `DNS:${name.text}`;
    case "email":
      return `email:${name.text}`;
    case "ip":
      return `IP:${ipText(name.bytes)}`;
    case "dirName":
      return "its subject DN";
    case "other":
      return name.form;
  }
}

/**
 * Why `names` break `nc`, or null: a name inside an excluded subtree, or a
 * name of a form with permitted subtrees inside none of them. `nc` must hold
 * no form outside dns/email/ip/dirName (see unsupportedForm).
 */
export function nameViolation(names: GeneralName[], nc: NameConstraints): string | null {
  for (const name of names) {
    if (name.kind === "other") continue;
    const sameForm = (b: GeneralName) => b.kind === name.kind;
    for (const base of nc.excluded.filter(sameForm)) {
      const r = within(name, base);
      if (r === null) return `${describeName(name)} cannot be checked against nameConstraints`;
      if (r) return `${describeName(name)} is excluded by nameConstraints`;
    }
    const permitted = nc.permitted.filter(sameForm);
    if (permitted.length === 0) continue;
    let inside = false;
    for (const base of permitted) {
      const r = within(name, base);
      if (r === null) return `${describeName(name)} cannot be checked against nameConstraints`;
      inside ||= r;
    }
    if (!inside) return `${describeName(name)} is not permitted by nameConstraints`;
  }
  return null;
}

/** The first name form in `nc` that tsvpn does not enforce, or null. */
export function unsupportedForm(nc: NameConstraints): string | null {
  for (const base of [...nc.permitted, ...nc.excluded]) if (base.kind === "other") return base.form;
  return null;
}
