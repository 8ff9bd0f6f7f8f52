import assert from "node:assert/strict";
import { normalizeSerial, randomSerial } from "./serial.ts";

Deno.test("normalizeSerial() uppercases, drops separators and leading zero bytes", () => {
  assert.equal(normalizeSerial("00:8a:1b"), "8A1B");
  assert.equal(normalizeSerial("0a1b"), "0A1B");
  assert.equal(normalizeSerial("abc"), "0ABC");
  assert.equal(normalizeSerial("00"), "00");
});

Deno.test("randomSerial() gives 16 positive bytes that normalizeSerial() leaves unchanged", () => {
  const zeros = randomSerial((b) => b);
  assert.equal(zeros, "01" + "00".repeat(15));
  const ones = randomSerial((b) => b.fill(0xff));
  assert.equal(ones, "7F" + "FF".repeat(15));
  const s = randomSerial();
  assert.match(s, /^[0-7][0-9A-F]{31}$/);
  assert.equal(normalizeSerial(s), s);
  assert.notEqual(randomSerial(), s);
});
