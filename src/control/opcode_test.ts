import assert from "node:assert/strict";
import {
  headerByte,
  isDataOpcode,
  isSupportedControlOpcode,
  keyIdOf,
  nextKeyId,
  opcodeName,
  opcodeOf,
  P_ACK_V1,
  P_CONTROL_HARD_RESET_CLIENT_V2,
  P_CONTROL_HARD_RESET_CLIENT_V3,
  P_CONTROL_V1,
  P_DATA_V2,
} from "./opcode.ts";

Deno.test("headerByte() packs opcode and key-id the way opcodeOf()/keyIdOf() read them", () => {
  assert.equal(headerByte(P_CONTROL_HARD_RESET_CLIENT_V2, 0), 0x38);
  assert.equal(headerByte(P_CONTROL_V1, 3), 0x23);
  assert.equal(headerByte(P_DATA_V2, 7), 0x4f);
  for (let op = 0; op < 32; op++) {
    for (let k = 0; k < 8; k++) {
      const b = headerByte(op, k);
      assert.equal(opcodeOf(b), op);
      assert.equal(keyIdOf(b), k);
    }
  }
});

Deno.test("nextKeyId() wraps from 7 to 1, never back to 0", () => {
  const seq = [0];
  for (let i = 0; i < 9; i++) seq.push(nextKeyId(seq[seq.length - 1]));
  assert.deepEqual(seq, [0, 1, 2, 3, 4, 5, 6, 7, 1, 2]);
});

Deno.test("isSupportedControlOpcode() excludes tls-crypt-v2 and data opcodes", () => {
  assert.equal(isSupportedControlOpcode(P_CONTROL_V1), true);
  assert.equal(isSupportedControlOpcode(P_ACK_V1), true);
  assert.equal(isSupportedControlOpcode(P_CONTROL_HARD_RESET_CLIENT_V3), false);
  assert.equal(isSupportedControlOpcode(P_DATA_V2), false);
  assert.equal(isDataOpcode(P_DATA_V2), true);
  assert.equal(opcodeName(P_CONTROL_V1), "P_CONTROL_V1");
  assert.equal(opcodeName(31), "P_UNKNOWN_31");
});
