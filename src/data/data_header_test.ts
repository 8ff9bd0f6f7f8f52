import assert from "node:assert/strict";
import {
  DATA_V2_OVERHEAD,
  P_DATA_V2,
  peekKeyId,
  peekOpcode,
  peekPeerId,
  PEER_ID_UNDEF,
  readU32,
  writeDataV2Header,
  writeU32,
} from "./data_header.ts";
import { toHex } from "../testing/data/hex.ts";

Deno.test("writeDataV2Header() lays out opcode/key-id, peer-id and packet-id big-endian", () => {
  const buf = new Uint8Array(10);
  writeDataV2Header(buf, 1, 5, 0x123456, 0xdeadbeef);
  assert.equal(toHex(buf), "004d123456deadbeef00");
  assert.equal(0x4d >>> 3, P_DATA_V2);
});

Deno.test("peekPeerId() reads the 24-bit peer-id of a P_DATA_V2 datagram", () => {
  const buf = new Uint8Array(DATA_V2_OVERHEAD + 1);
  writeDataV2Header(buf, 0, 0, 0xabcdef, 1);
  assert.equal(peekPeerId(buf, 0, buf.length), 0xabcdef);
  writeDataV2Header(buf, 0, 7, PEER_ID_UNDEF, 1);
  assert.equal(peekPeerId(buf, 0, buf.length), PEER_ID_UNDEF);
});

Deno.test("peekPeerId() returns -1 for other opcodes and datagrams too short to be data", () => {
  const buf = new Uint8Array(64);
  writeDataV2Header(buf, 0, 0, 7, 1);
  assert.equal(peekPeerId(buf, 0, DATA_V2_OVERHEAD), -1);
  buf[0] = (6 << 3) | 1; // P_DATA_V1
  assert.equal(peekPeerId(buf, 0, 64), -1);
  buf[0] = (4 << 3) | 0; // P_CONTROL_V1
  assert.equal(peekPeerId(buf, 0, 64), -1);
  assert.equal(peekPeerId(buf, 0, 0), -1);
});

Deno.test("peekOpcode() and peekKeyId() split the first byte and handle empty input", () => {
  const buf = Uint8Array.of(0x4b);
  assert.equal(peekOpcode(buf, 0, 1), 9);
  assert.equal(peekKeyId(buf, 0, 1), 3);
  assert.equal(peekOpcode(buf, 0, 0), -1);
  assert.equal(peekKeyId(buf, 0, 0), -1);
});

Deno.test("readU32() and writeU32() round-trip the full u32 range", () => {
  const buf = new Uint8Array(6);
  for (const v of [0, 1, 0x7fffffff, 0x80000000, 0xff000000, 0xffffffff]) {
    writeU32(buf, 2, v);
    assert.equal(readU32(buf, 2), v);
  }
});
