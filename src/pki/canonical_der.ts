/**
 * Checks that a whole element is canonical DER, including the parts no
 * reader looks at (unique IDs, attribute values, fields of extensions tsvpn
 * does not interpret): every length minimal (readTlv), constructed forms only
 * for SEQUENCE, SET and context-specific tags, and for the primitive
 * universal types X.509 uses, the content rules der.ts enforces when reading
 * them. Contents of OCTET STRINGs and BIT STRINGs are not descended into;
 * certificate.ts checks extension values on their own.
 */

import {
  childrenOf,
  DerError,
  readBitString,
  readBoolean,
  readIntegerBytes,
  readOid,
  readTime,
  readTlv,
  TAG_BIT_STRING,
  TAG_BOOLEAN,
  TAG_GENERALIZED_TIME,
  TAG_INTEGER,
  TAG_NULL,
  TAG_OID,
  TAG_SEQUENCE,
  TAG_SET,
  TAG_UTC_TIME,
  type Tlv,
} from "./der.ts";

const TAG_ENUMERATED = 0x0a;
const CONSTRUCTED = 0x20;
const CLASS_MASK = 0xc0;
const CONTEXT_SPECIFIC = 0x80;
/** Far deeper than any certificate or CRL; bounds the recursion on hostile input. */
const MAX_DEPTH = 24;

function checkPrimitive(buf: Uint8Array, t: Tlv): void {
  switch (t.tag) {
    case TAG_BOOLEAN:
      readBoolean(buf, t);
      return;
    case TAG_INTEGER:
    case TAG_ENUMERATED:
      readIntegerBytes(buf, t, t.tag);
      return;
    case TAG_BIT_STRING:
      readBitString(buf, t);
      return;
    case TAG_NULL:
      if (t.end !== t.start) throw new DerError("NULL with contents");
      return;
    case TAG_OID:
      readOid(buf, t);
      return;
    case TAG_UTC_TIME:
    case TAG_GENERALIZED_TIME:
      readTime(buf, t);
      return;
  }
}

function check(buf: Uint8Array, t: Tlv, depth: number): void {
  if ((t.tag & CONSTRUCTED) === 0) {
    checkPrimitive(buf, t);
    return;
  }
  const universal = (t.tag & CLASS_MASK) === 0;
  if (universal && t.tag !== TAG_SEQUENCE && t.tag !== TAG_SET) {
    throw new DerError(`constructed encoding of a primitive type (tag 0x${t.tag.toString(16)})`);
  }
  if (!universal && (t.tag & CLASS_MASK) !== CONTEXT_SPECIFIC) {
    throw new DerError(`unexpected tag class (tag 0x${t.tag.toString(16)})`);
  }
  if (depth >= MAX_DEPTH) throw new DerError("DER nesting too deep");
  for (const child of childrenOf(buf, t)) check(buf, child, depth + 1);
}

/** Throws a DerError unless `t` and everything inside it is canonical DER. */
export function assertCanonical(buf: Uint8Array, t: Tlv): void {
  check(buf, t, 0);
}

/** Throws a DerError unless `bytes` is exactly one canonical DER element. */
export function assertCanonicalElement(bytes: Uint8Array, what: string): void {
  const t = readTlv(bytes, 0);
  if (t.end !== bytes.length) throw new DerError(`${what}: trailing bytes`);
  check(bytes, t, 0);
}
