import assert from "node:assert/strict";
import { readTlv } from "./der.ts";
import { CN_OID, nameField, readName } from "./distinguished_name.ts";

function enc(tag: number, ...parts: number[][]): number[] {
  const body = parts.flat();
  return [tag, body.length, ...body];
}

const CN = [0x06, 0x03, 0x55, 0x04, 0x03];
const O = [0x06, 0x03, 0x55, 0x04, 0x0a];
const ODD = [0x06, 0x03, 0x2a, 0x03, 0x04]; // 1.2.3.4
const text = (s: string) => [...new TextEncoder().encode(s)];

function name(...rdns: number[][]) {
  const buf = Uint8Array.from(enc(0x30, ...rdns));
  return readName(buf, readTlv(buf, 0));
}

Deno.test("readName() writes RDNs in order, multi-valued ones joined with +, values escaped", () => {
  const n = name(
    enc(0x31, enc(0x30, CN, enc(0x0c, text("a,b"))), enc(0x30, O, enc(0x13, text("x")))),
    enc(0x31, enc(0x30, ODD, enc(0x02, [0x05]))),
    enc(0x31, enc(0x30, CN, enc(0x13, text(" lead")))),
  );
  assert.equal(n.text, "CN=a\\,b+O=x, 1.2.3.4=#020105, CN=\\ lead");
  assert.deepEqual(nameField(n, CN_OID), ["a,b", " lead"]);
  assert.deepEqual(nameField(n, "1.2.3.4"), ["020105"]);
  assert.deepEqual(nameField(n, "2.5.4.11"), []);
});

Deno.test("readName() gives the same text for one value in different string types", () => {
  const utf8 = name(enc(0x31, enc(0x30, CN, enc(0x0c, text("vpn")))));
  const printable = name(enc(0x31, enc(0x30, CN, enc(0x13, text("vpn")))));
  assert.equal(utf8.text, "CN=vpn");
  assert.equal(printable.text, utf8.text);
});

Deno.test("readName() refuses an RDN that is not a SET and a truncated attribute", () => {
  assert.throws(() => name(enc(0x30, enc(0x30, CN, enc(0x0c, text("a"))))), /expected a SET/);
  assert.throws(() => name(enc(0x31, enc(0x30, CN))), /malformed AttributeTypeAndValue/);
});
