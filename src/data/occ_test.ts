import assert from "node:assert/strict";
import {
  isOcc,
  isOccExit,
  OCC_EXIT,
  OCC_EXIT_PAYLOAD_LEN,
  OCC_MAGIC,
  OCC_REQUEST,
  occOpcode,
  writeOccExit,
} from "./occ.ts";
import { toHex } from "../testing/data/hex.ts";

Deno.test("OCC_MAGIC holds OpenVPN's occ.c occ_magic and OCC_EXIT is opcode 6", () => {
  assert.equal(toHex(OCC_MAGIC), "287f346bd4ef7a812d56b8d3afc5459c");
  assert.equal(OCC_EXIT, 6);
});

Deno.test("writeOccExit() writes magic plus opcode and isOccExit() recognises it", () => {
  const buf = new Uint8Array(30);
  assert.equal(writeOccExit(buf, 4), OCC_EXIT_PAYLOAD_LEN);
  assert.equal(toHex(buf.subarray(4, 21)), "287f346bd4ef7a812d56b8d3afc5459c06");
  assert.equal(isOccExit(buf, 4, 17), true);
  assert.equal(isOcc(buf, 4, 17), true);
  assert.equal(occOpcode(buf, 4, 17), OCC_EXIT);
});

Deno.test("isOccExit() rejects other OCC opcodes, a bare magic and a damaged magic", () => {
  const buf = new Uint8Array(17);
  writeOccExit(buf, 0);
  buf[16] = OCC_REQUEST;
  assert.equal(isOccExit(buf, 0, 17), false);
  assert.equal(occOpcode(buf, 0, 17), OCC_REQUEST);
  assert.equal(isOccExit(buf, 0, 16), false, "no opcode byte");
  assert.equal(occOpcode(buf, 0, 16), -1);
  writeOccExit(buf, 0);
  buf[3] ^= 1;
  assert.equal(isOccExit(buf, 0, 17), false);
  assert.equal(isOcc(buf, 0, 17), false);
});

Deno.test("isOcc() matches the head only, as OpenVPN's is_occ_msg does", () => {
  const buf = new Uint8Array(64);
  writeOccExit(buf, 0);
  assert.equal(isOccExit(buf, 0, 64), true);
  assert.equal(isOcc(buf, 0, 65), false, "length beyond the buffer");
});
