/**
 * A minimal DER reader: just what reading certificates and CRLs needs (TLV
 * walking, OIDs, INTEGER bytes, times, directory strings). It never copies:
 * a Tlv is offsets into the caller's buffer. Every read checks its bounds and
 * throws a DerError on malformed input; callers that take input from a peer
 * turn that into a verdict.
 *
 * It reads canonical DER only (X.690 10–11): minimal length forms, minimal
 * INTEGERs and OID arcs, BOOLEAN 0x00/0xFF, BIT STRINGs whose unused bits
 * are zero, times in the RFC 5280 form. Leniency here is not harmless even
 * though signatures cover exact bytes: Deno's TLS skips the handshake
 * signature check for a certificate its own parser rejects as badly encoded
 * (docs/security.md), so a reader that accepted such a certificate would
 * accept a peer that never proved it holds the key. Indefinite lengths and
 * multi-byte tags, which no X.509 structure uses, are refused.
 */

export class DerError extends Error {
  override name = "DerError";
}

export const TAG_BOOLEAN = 0x01;
export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_NULL = 0x05;
export const TAG_OID = 0x06;
export const TAG_UTC_TIME = 0x17;
export const TAG_GENERALIZED_TIME = 0x18;
export const TAG_SEQUENCE = 0x30;
export const TAG_SET = 0x31;

/** One element: its tag byte and where its header and contents lie in the buffer. */
export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  head: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just past the contents. */
  end: number;
}

/** Reads the element at `off`, which must end at or before `limit`. */
export function readTlv(buf: Uint8Array, off: number, limit: number = buf.length): Tlv {
  if (off + 2 > limit) throw new DerError("truncated DER element");
  const tag = buf[off];
  if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte DER tags are not supported");
  let len = buf[off + 1];
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError("indefinite DER length");
    if (n > 4) throw new DerError("DER length too large");
    if (start + n > limit) throw new DerError("truncated DER length");
    if (buf[start] === 0) throw new DerError(`non-minimal DER length at byte ${off}: leading zero byte`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i];
    if (len < 0x80) throw new DerError(`non-minimal DER length at byte ${off}: long form for ${len}`);
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new DerError("DER element overruns its container");
  return { tag, head: off, start, end };
}

/** Reads the element at `off` and checks its tag. */
export function expectTlv(buf: Uint8Array, off: number, limit: number, tag: number, what: string): Tlv {
  const t = readTlv(buf, off, limit);
  if (t.tag !== tag) throw new DerError(`${what}: expected tag 0x${hex2(tag)}, got 0x${hex2(t.tag)}`);
  return t;
}

/** The elements inside a constructed element, in order; they must fill it exactly. */
export function childrenOf(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let off = parent.start;
  while (off < parent.end) {
    const t = readTlv(buf, off, parent.end);
    out.push(t);
    off = t.end;
  }
  return out;
}

/** The element's whole encoding (header and contents), without copying. */
export function encodingOf(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.head, t.end);
}

/** The element's contents, without copying. */
export function contentsOf(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.start, t.end);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/** Whether two byte strings are equal. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Uppercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += hex2(b);
  return s.toUpperCase();
}

/** Dotted text of an OBJECT IDENTIFIER element. */
export function readOid(buf: Uint8Array, t: Tlv): string {
  if (t.tag !== TAG_OID) throw new DerError("expected an OBJECT IDENTIFIER");
  if (t.end === t.start) throw new DerError("empty OBJECT IDENTIFIER");
  const arcs: number[] = [];
  let value = 0;
  for (let i = t.start; i < t.end; i++) {
    const b = buf[i];
    if (b === 0x80 && (i === t.start || (buf[i - 1] & 0x80) === 0)) {
      throw new DerError("non-minimal OBJECT IDENTIFIER arc");
    }
    if (value > 0x1fffffffffff) throw new DerError("OBJECT IDENTIFIER arc too large");
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        arcs.push(first, value - first * 40);
      } else {
        arcs.push(value);
      }
      value = 0;
    } else if (i === t.end - 1) {
      throw new DerError("truncated OBJECT IDENTIFIER");
    }
  }
  return arcs.join(".");
}

/** A BOOLEAN element's value; DER allows only 0x00 and 0xFF. */
export function readBoolean(buf: Uint8Array, t: Tlv): boolean {
  if (t.tag !== TAG_BOOLEAN || t.end - t.start !== 1) throw new DerError("malformed BOOLEAN");
  const v = buf[t.start];
  if (v !== 0x00 && v !== 0xff) throw new DerError("BOOLEAN neither 0x00 nor 0xFF");
  return v === 0xff;
}

/**
 * The content bytes of an INTEGER (or ENUMERATED, by `tag`) element, checked
 * to be minimal: no leading 0x00 before a byte < 0x80, no leading 0xFF
 * before a byte >= 0x80.
 */
export function readIntegerBytes(buf: Uint8Array, t: Tlv, tag: number = TAG_INTEGER): Uint8Array {
  if (t.tag !== tag || t.end === t.start) throw new DerError("malformed INTEGER");
  if (t.end - t.start > 1) {
    const [a, b] = [buf[t.start], buf[t.start + 1]];
    if ((a === 0x00 && b < 0x80) || (a === 0xff && b >= 0x80)) throw new DerError("non-minimal INTEGER");
  }
  return buf.subarray(t.start, t.end);
}

/** A small non-negative INTEGER element's value. */
export function readSmallInteger(buf: Uint8Array, t: Tlv): number {
  const bytes = readIntegerBytes(buf, t);
  if (bytes.length > 6) throw new DerError("oversized INTEGER");
  if (bytes[0] & 0x80) throw new DerError("negative INTEGER");
  let v = 0;
  for (const b of bytes) v = v * 256 + b;
  return v;
}

/**
 * The bits of a BIT STRING element (the unused-bits count is dropped), without
 * copying. DER: at most 7 unused bits, none in an empty string, all zero.
 */
export function readBitString(buf: Uint8Array, t: Tlv): Uint8Array {
  if (t.tag !== TAG_BIT_STRING || t.end === t.start || buf[t.start] > 7) {
    throw new DerError("malformed BIT STRING");
  }
  const unused = buf[t.start];
  if (unused > 0 && (t.end - t.start === 1 || (buf[t.end - 1] & ((1 << unused) - 1)) !== 0)) {
    throw new DerError("BIT STRING with non-zero or misplaced unused bits");
  }
  return buf.subarray(t.start + 1, t.end);
}

/** The bytes of a BIT STRING that must be whole octets (signatures, keys): no unused bits at all. */
export function readOctetBitString(buf: Uint8Array, t: Tlv): Uint8Array {
  const bits = readBitString(buf, t);
  if (buf[t.start] !== 0) throw new DerError("BIT STRING has unused bits where whole octets are required");
  return bits;
}

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf16be = new TextDecoder("utf-16be", { fatal: true });

function ascii(bytes: Uint8Array): string {
  return latin1.decode(bytes);
}

/** UTCTime or GeneralizedTime in the RFC 5280 form (seconds, "Z"). */
export function readTime(buf: Uint8Array, t: Tlv): Date {
  const text = ascii(contentsOf(buf, t));
  let m: RegExpExecArray | null;
  let year: number;
  if (t.tag === TAG_UTC_TIME) {
    m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text);
    if (m === null) throw new DerError("malformed UTCTime");
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (t.tag === TAG_GENERALIZED_TIME) {
    m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text); // RFC 5280 4.1.2.5.2: no fractions
    if (m === null) throw new DerError("malformed GeneralizedTime");
    year = Number(m[1]);
  } else {
    throw new DerError("expected a UTCTime or GeneralizedTime");
  }
  const [mon, day, h, min, s] = [m[2], m[3], m[4], m[5], m[6]].map(Number);
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || h > 23 || min > 59 || s > 60) {
    throw new DerError("time out of range");
  }
  const d = new Date(0);
  d.setUTCFullYear(year, mon - 1, day);
  d.setUTCHours(h, min, s, 0);
  return d;
}

/**
 * Text of a directory string element (UTF8String, PrintableString,
 * IA5String, TeletexString as Latin-1, BMPString, UniversalString); null for
 * any other type.
 */
export function readDirectoryString(buf: Uint8Array, t: Tlv): string | null {
  const bytes = contentsOf(buf, t);
  try {
    switch (t.tag) {
      case 0x0c:
        return utf8.decode(bytes);
      case 0x13: // PrintableString
      case 0x16: // IA5String
      case 0x14: // TeletexString
        return ascii(bytes);
      case 0x1e:
        return utf16be.decode(bytes);
      case 0x1c: {
        if (bytes.length % 4 !== 0) throw new DerError("malformed UniversalString");
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
        let s = "";
        for (let i = 0; i < bytes.length; i += 4) s += String.fromCodePoint(view.getUint32(i));
        return s;
      }
      default:
        return null;
    }
  } catch (e) {
    if (e instanceof DerError) throw e;
    throw new DerError("malformed directory string");
  }
}
