import assert from "node:assert/strict";
import { isPing, PING_PAYLOAD, PING_PAYLOAD_LEN, writePing } from "./keepalive_ping.ts";
import { toHex } from "../testing/data/hex.ts";

Deno.test("PING_PAYLOAD holds the 16 bytes of OpenVPN's ping.c ping_string", () => {
  assert.equal(toHex(PING_PAYLOAD), "2a187bf3641eb4cb07ed2d0a981fc748");
  assert.equal(PING_PAYLOAD_LEN, 16);
});

Deno.test("writePing() writes the payload at an offset and isPing() recognises it", () => {
  const buf = new Uint8Array(40);
  assert.equal(writePing(buf, 7), 16);
  assert.equal(isPing(buf, 7, 16), true);
  assert.equal(isPing(buf, 6, 16), false);
});

Deno.test("isPing() requires the exact length, like OpenVPN's is_ping_msg", () => {
  const buf = new Uint8Array(17);
  writePing(buf, 0);
  assert.equal(isPing(buf, 0, 17), false);
  assert.equal(isPing(buf, 0, 15), false);
});

Deno.test("isPing() rejects any single changed byte and out-of-range arguments", () => {
  for (let i = 0; i < 16; i++) {
    const buf = new Uint8Array(16);
    writePing(buf, 0);
    buf[i] ^= 0x40;
    assert.equal(isPing(buf, 0, 16), false, `byte ${i}`);
  }
  const buf = new Uint8Array(16);
  writePing(buf, 0);
  assert.equal(isPing(buf, 1, 16), false);
  assert.equal(isPing(buf, -1, 16), false);
});
