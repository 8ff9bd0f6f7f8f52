import assert from "node:assert/strict";
import { assertCanonical, assertCanonicalElement } from "./canonical_der.ts";
import { DerError, readTlv } from "./der.ts";

const b = (...x: number[]) => Uint8Array.from(x);

function wrap(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const body = contents.flatMap((c) => Array.from(c));
  return Uint8Array.from([tag, body.length, ...body]);
}

function check(bytes: Uint8Array): void {
  assertCanonical(bytes, readTlv(bytes, 0));
}

const INT = b(0x02, 0x01, 0x05);
const OID = b(0x06, 0x03, 0x55, 0x1d, 0x13);
const TIME = wrap(0x17, new TextEncoder().encode("491231235959Z"));

Deno.test("assertCanonical() accepts a nested structure of every checked type", () => {
  const inner = wrap(0x30, INT, OID, b(0x01, 0x01, 0xff), b(0x05, 0x00), b(0x03, 0x02, 0x07, 0x80), TIME);
  check(wrap(0x30, wrap(0x31, inner), wrap(0xa0, INT), b(0x82, 0x02, 0x41, 0x42), b(0x04, 0x01, 0x00)));
});

Deno.test("assertCanonical() finds a non-canonical element at any depth", () => {
  const bad: Record<string, Uint8Array> = {
    "padded INTEGER": b(0x02, 0x02, 0x00, 0x05),
    "BOOLEAN 0x01": b(0x01, 0x01, 0x01),
    "NULL with contents": b(0x05, 0x01, 0x00),
    "BIT STRING with set unused bits": b(0x03, 0x02, 0x01, 0x01),
    "OID with a padded arc": b(0x06, 0x02, 0x80, 0x01),
    "fractional GeneralizedTime": wrap(0x18, new TextEncoder().encode("20510203040506.1Z")),
    "padded ENUMERATED": b(0x0a, 0x02, 0x00, 0x01),
    "long-form short length": b(0x04, 0x81, 0x01, 0x00),
  };
  for (const [name, element] of Object.entries(bad)) {
    const deep = wrap(0x30, INT, wrap(0x31, wrap(0x30, element)), OID);
    assert.throws(() => check(deep), DerError, name);
    assert.throws(() => check(wrap(0x30, wrap(0xa3, element))), DerError, `${name} under [3]`);
  }
});

Deno.test("assertCanonical() refuses constructed string forms and unexpected tag classes", () => {
  assert.throws(() => check(wrap(0x30, wrap(0x24, b(0x04, 0x01, 0x00)))), /constructed encoding/);
  assert.throws(() => check(wrap(0x30, wrap(0x23, b(0x03, 0x01, 0x00)))), /constructed encoding/);
  assert.throws(() => check(wrap(0x30, wrap(0x60, INT))), /tag class/);
  assert.throws(() => check(wrap(0x30, wrap(0xe0, INT))), /tag class/);
});

Deno.test("assertCanonical() bounds its depth on hostile nesting", () => {
  let nested: Uint8Array = b(0x05, 0x00);
  for (let i = 0; i < 40; i++) nested = wrap(0x30, nested);
  assert.throws(() => check(nested), /nesting too deep/);
});

Deno.test("assertCanonicalElement() wants exactly one canonical element", () => {
  assertCanonicalElement(wrap(0x30, INT), "value");
  assert.throws(
    () => assertCanonicalElement(Uint8Array.from([...wrap(0x30, INT), 0x00]), "value"),
    /trailing/,
  );
  assert.throws(() => assertCanonicalElement(wrap(0x30, b(0x02, 0x02, 0x00, 0x01)), "value"), /INTEGER/);
});
