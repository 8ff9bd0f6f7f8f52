/**
 * X.509 distinguished names as text: "CN=alice, O=Example", RDNs in encoded
 * order, multi-valued RDNs joined with "+", well-known attribute types by
 * short name and others by OID, string values escaped and values of other
 * types as "#" + hex of their encoding. The text is also how tsvpn compares
 * names (an issuer with a CA's subject): two names are equal when their
 * attribute types and values are, whichever string type encodes them.
 */

import {
  childrenOf,
  DerError,
  encodingOf,
  readDirectoryString,
  readOid,
  TAG_SEQUENCE,
  TAG_SET,
  type Tlv,
} from "./der.ts";

export interface NameAttribute {
  oid: string;
  /** The decoded string, or null when the value is not a directory string. */
  value: string | null;
  /** Lowercase hex of the value's whole encoding. */
  hex: string;
}

export interface DistinguishedName {
  text: string;
  attributes: NameAttribute[];
}

const SHORT_NAMES: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.6": "C",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.2.840.113549.1.9.1": "E",
  "2.5.4.42": "G",
  "2.5.4.43": "I",
  "2.5.4.4": "SN",
  "2.5.4.12": "T",
};

export const CN_OID = "2.5.4.3";

function escapeValue(v: string): string {
  return v.replace(/([,+"\\<>;])/g, "\\$1")
    .replace(/^([ #])/, "\\$1")
    .replace(/ $/, "\\ ")
    .replace(/[\r\n\t]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()}`);
}

function lowerHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Reads a Name (SEQUENCE OF SET OF AttributeTypeAndValue). */
export function readName(buf: Uint8Array, t: Tlv): DistinguishedName {
  if (t.tag !== TAG_SEQUENCE) throw new DerError("Name: expected a SEQUENCE");
  const attributes: NameAttribute[] = [];
  const rdnTexts: string[] = [];
  for (const rdn of childrenOf(buf, t)) {
    if (rdn.tag !== TAG_SET) throw new DerError("Name: expected a SET");
    const parts: string[] = [];
    for (const atv of childrenOf(buf, rdn)) {
      if (atv.tag !== TAG_SEQUENCE) throw new DerError("Name: expected an AttributeTypeAndValue");
      const fields = childrenOf(buf, atv);
      if (fields.length !== 2) throw new DerError("Name: malformed AttributeTypeAndValue");
      const oid = readOid(buf, fields[0]);
      const value = readDirectoryString(buf, fields[1]);
      const hex = lowerHex(encodingOf(buf, fields[1]));
      attributes.push({ oid, value, hex });
      const shown = value === null ? `#${hex}` : escapeValue(value);
      parts.push(`${SHORT_NAMES[oid] ?? oid}=${shown}`);
    }
    rdnTexts.push(parts.join("+"));
  }
  return { text: rdnTexts.join(", "), attributes };
}

/** The values of every attribute of type `oid`, in encoded order (non-string values as hex). */
export function nameField(name: DistinguishedName, oid: string): string[] {
  return name.attributes.filter((a) => a.oid === oid).map((a) => a.value ?? a.hex);
}
