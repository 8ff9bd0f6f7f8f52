import assert from "node:assert/strict";
import {
  childrenOf,
  DerError,
  readBitString,
  readBoolean,
  readDirectoryString,
  readIntegerBytes,
  readOctetBitString,
  readOid,
  readSmallInteger,
  readTime,
  readTlv,
  sameBytes,
  toHex,
} from "./der.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);

function tlvOf(...b: number[]) {
  const buf = bytes(...b);
  return { buf, t: readTlv(buf, 0) };
}

Deno.test("readTlv() reads short and long lengths and refuses overruns", () => {
  const { t } = tlvOf(0x04, 0x02, 0xaa, 0xbb);
  assert.deepEqual(t, { tag: 0x04, head: 0, start: 2, end: 4 });
  const long = new Uint8Array(3 + 200);
  long.set([0x04, 0x81, 200]);
  assert.deepEqual(readTlv(long, 0), { tag: 0x04, head: 0, start: 3, end: 203 });
  assert.throws(() => readTlv(bytes(0x04, 0x03, 1, 2), 0), DerError);
  assert.throws(() => readTlv(bytes(0x04), 0), DerError);
  assert.throws(() => readTlv(bytes(0x30, 0x80, 0, 0), 0), /indefinite/);
  assert.throws(() => readTlv(bytes(0x1f, 0x01, 0), 0), /multi-byte/);
  assert.throws(() => readTlv(bytes(0x04, 0x85, 1, 1, 1, 1, 1), 0), /too large/);
  // A limit narrower than the buffer (a parent element) is honoured.
  assert.throws(() => readTlv(bytes(0x04, 0x02, 1, 2), 0, 3), /overruns/);
});

Deno.test("childrenOf() lists the elements of a SEQUENCE and refuses a truncated child", () => {
  const { buf, t } = tlvOf(0x30, 0x06, 0x02, 0x01, 0x05, 0x01, 0x01, 0xff);
  const kids = childrenOf(buf, t);
  assert.equal(kids.length, 2);
  assert.equal(readSmallInteger(buf, kids[0]), 5);
  assert.equal(readBoolean(buf, kids[1]), true);
  const bad = tlvOf(0x30, 0x03, 0x02, 0x05, 0x01);
  assert.throws(() => childrenOf(bad.buf, bad.t), DerError);
});

Deno.test("readOid() decodes first-arc packing and multi-byte arcs", () => {
  // 1.2.840.113549.1.1.11 (sha256WithRSAEncryption)
  const a = tlvOf(0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b);
  assert.equal(readOid(a.buf, a.t), "1.2.840.113549.1.1.11");
  const b = tlvOf(0x06, 0x03, 0x55, 0x1d, 0x13);
  assert.equal(readOid(b.buf, b.t), "2.5.29.19");
  const c = tlvOf(0x06, 0x03, 0x88, 0x37, 0x01); // 2.999.1
  assert.equal(readOid(c.buf, c.t), "2.999.1");
  const truncated = tlvOf(0x06, 0x02, 0x2a, 0x86);
  assert.throws(() => readOid(truncated.buf, truncated.t), /truncated/);
  const empty = tlvOf(0x06, 0x00);
  assert.throws(() => readOid(empty.buf, empty.t), DerError);
});

Deno.test("readTime() reads UTCTime around the 1950/2049 pivot and GeneralizedTime", () => {
  const enc = (tag: number, s: string) => {
    const buf = Uint8Array.from([tag, s.length, ...new TextEncoder().encode(s)]);
    return readTime(buf, readTlv(buf, 0));
  };
  assert.equal(enc(0x17, "491231235959Z").toISOString(), "2049-12-31T23:59:59.000Z");
  assert.equal(enc(0x17, "500101000000Z").toISOString(), "1950-01-01T00:00:00.000Z");
  assert.equal(enc(0x18, "20510203040506Z").toISOString(), "2051-02-03T04:05:06.000Z");
  assert.equal(enc(0x18, "99991231235959Z").toISOString(), "9999-12-31T23:59:59.000Z");
  assert.throws(() => enc(0x17, "4912312359Z"), /UTCTime/);
  assert.throws(() => enc(0x17, "491231235959+0100"), /UTCTime/);
  assert.throws(() => enc(0x18, "20511302040506Z"), /range/);
  assert.throws(() => enc(0x04, "20510203040506Z"), DerError);
});

Deno.test("readDirectoryString() decodes the string types and returns null for others", () => {
  const enc = (tag: number, ...b: number[]) => {
    const buf = Uint8Array.from([tag, b.length, ...b]);
    return readDirectoryString(buf, readTlv(buf, 0));
  };
  assert.equal(enc(0x0c, 0xc3, 0xa9), "é");
  assert.equal(enc(0x13, 0x41, 0x42), "AB");
  assert.equal(enc(0x16, 0x61), "a");
  assert.equal(enc(0x1e, 0x00, 0xe9, 0x00, 0x41), "éA");
  assert.equal(enc(0x1c, 0, 0, 0, 0x41), "A");
  assert.equal(enc(0x02, 0x01), null);
  assert.throws(() => enc(0x0c, 0xff), DerError);
  assert.throws(() => enc(0x1c, 0, 0x41), DerError);
});

Deno.test("readBitString(), readBoolean() and readSmallInteger() refuse malformed contents", () => {
  const bits = tlvOf(0x03, 0x02, 0x07, 0x80);
  assert.deepEqual(readBitString(bits.buf, bits.t), bytes(0x80));
  const noUnused = tlvOf(0x03, 0x00);
  assert.throws(() => readBitString(noUnused.buf, noUnused.t), DerError);
  const badUnused = tlvOf(0x03, 0x02, 0x08, 0x00);
  assert.throws(() => readBitString(badUnused.buf, badUnused.t), DerError);
  const longBool = tlvOf(0x01, 0x02, 0xff, 0xff);
  assert.throws(() => readBoolean(longBool.buf, longBool.t), DerError);
  const negative = tlvOf(0x02, 0x01, 0x80);
  assert.throws(() => readSmallInteger(negative.buf, negative.t), /negative/);
});

Deno.test("toHex() writes uppercase pairs", () => {
  assert.equal(toHex(bytes(0x00, 0x0a, 0xff)), "000AFF");
  assert.equal(toHex(bytes()), "");
});

Deno.test("readTlv() refuses non-minimal length encodings (canonical DER only)", () => {
  assert.throws(
    () => readTlv(bytes(0x04, 0x81, 0x05, 1, 2, 3, 4, 5), 0),
    /non-minimal DER length at byte 0: long form/,
  );
  const padded = new Uint8Array(4 + 200);
  padded.set([0x04, 0x82, 0x00, 200]);
  assert.throws(() => readTlv(padded, 0), /non-minimal DER length at byte 0: leading zero/);
  assert.throws(() => readTlv(bytes(0x04, 0x84, 0, 0, 0, 0x05), 0), /leading zero/);
  // The same lengths in their minimal forms are read.
  assert.equal(readTlv(bytes(0x04, 0x05, 1, 2, 3, 4, 5), 0).end, 7);
  const minimal = new Uint8Array(3 + 200);
  minimal.set([0x04, 0x81, 200]);
  assert.equal(readTlv(minimal, 0).end, 203);
});

Deno.test("readBoolean() accepts only 0x00 and 0xFF", () => {
  const t = (v: number) => tlvOf(0x01, 0x01, v);
  assert.equal(readBoolean(t(0xff).buf, t(0xff).t), true);
  assert.equal(readBoolean(t(0x00).buf, t(0x00).t), false);
  assert.throws(() => readBoolean(t(0x01).buf, t(0x01).t), /neither 0x00 nor 0xFF/);
});

Deno.test("readIntegerBytes() and readSmallInteger() refuse non-minimal INTEGERs", () => {
  const ok = [[0x00, 0x80], [0xff, 0x7f], [0x05], [0x00]];
  for (const b of ok) {
    const { buf, t } = tlvOf(0x02, b.length, ...b);
    assert.deepEqual(readIntegerBytes(buf, t), bytes(...b));
  }
  for (const b of [[0x00, 0x05], [0xff, 0x80], [0x00, 0x00]]) {
    const { buf, t } = tlvOf(0x02, b.length, ...b);
    assert.throws(() => readIntegerBytes(buf, t), /non-minimal INTEGER/, b.join());
    assert.throws(() => readSmallInteger(buf, t), /non-minimal INTEGER/, b.join());
  }
  const empty = tlvOf(0x02, 0x00);
  assert.throws(() => readIntegerBytes(empty.buf, empty.t), /malformed INTEGER/);
  const enumerated = tlvOf(0x0a, 0x01, 0x01);
  assert.deepEqual(readIntegerBytes(enumerated.buf, enumerated.t, 0x0a), bytes(1));
});

Deno.test("readOid() refuses an arc with a redundant leading 0x80 byte", () => {
  const first = tlvOf(0x06, 0x03, 0x80, 0x2a, 0x01);
  assert.throws(() => readOid(first.buf, first.t), /non-minimal/);
  const later = tlvOf(0x06, 0x04, 0x2a, 0x80, 0x86, 0x48);
  assert.throws(() => readOid(later.buf, later.t), /non-minimal/);
  // 0x80 inside a multi-byte arc is an ordinary zero digit: 2.5.29.16384 is 0x81 0x80 0x00.
  const inner = tlvOf(0x06, 0x05, 0x55, 0x1d, 0x81, 0x80, 0x00);
  assert.equal(readOid(inner.buf, inner.t), "2.5.29.16384");
});

Deno.test("readBitString() wants zero unused bits; readOctetBitString() wants none at all", () => {
  const dirty = tlvOf(0x03, 0x02, 0x01, 0x81);
  assert.throws(() => readBitString(dirty.buf, dirty.t), /unused bits/);
  const emptyWithUnused = tlvOf(0x03, 0x01, 0x03);
  assert.throws(() => readBitString(emptyWithUnused.buf, emptyWithUnused.t), /unused bits/);
  const clean = tlvOf(0x03, 0x02, 0x01, 0x80);
  assert.deepEqual(readBitString(clean.buf, clean.t), bytes(0x80));
  assert.throws(() => readOctetBitString(clean.buf, clean.t), /whole octets/);
  const octets = tlvOf(0x03, 0x03, 0x00, 0xab, 0xcd);
  assert.deepEqual(readOctetBitString(octets.buf, octets.t), bytes(0xab, 0xcd));
});

Deno.test("readTime() refuses fractional seconds in GeneralizedTime (RFC 5280 4.1.2.5.2)", () => {
  const s = "20510203040506.5Z";
  const buf = Uint8Array.from([0x18, s.length, ...new TextEncoder().encode(s)]);
  assert.throws(() => readTime(buf, readTlv(buf, 0)), /GeneralizedTime/);
});

Deno.test("sameBytes() compares length and content", () => {
  assert.equal(sameBytes(bytes(1, 2), bytes(1, 2)), true);
  assert.equal(sameBytes(bytes(1, 2), bytes(1, 3)), false);
  assert.equal(sameBytes(bytes(1), bytes(1, 2)), false);
});
