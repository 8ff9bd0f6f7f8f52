import assert from "node:assert/strict";
import {
  checkControlOpcode,
  controlHeaderSize,
  ControlPacket,
  decodeControlPacket,
  encodeControlPacket,
} from "./control_packet.ts";
import {
  DROP_BAD_KEY_ID,
  DROP_BAD_OPCODE,
  DROP_MALFORMED,
  DROP_UNSUPPORTED,
  VERDICT_OK,
} from "./drop_counters.ts";
import {
  headerByte,
  P_ACK_V1,
  P_CONTROL_HARD_RESET_CLIENT_V2,
  P_CONTROL_HARD_RESET_CLIENT_V3,
  P_CONTROL_V1,
  P_DATA_V2,
} from "./opcode.ts";

const sid = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
const rsid = Uint8Array.from([9, 10, 11, 12, 13, 14, 15, 16]);

Deno.test("encodeControlPacket() writes OpenVPN's byte layout for a hard reset", () => {
  const out = new Uint8Array(64);
  const n = encodeControlPacket(out, 0, P_CONTROL_HARD_RESET_CLIENT_V2, 0, sid, [], 0, rsid, 0, null);
  assert.equal(n, 14);
  assert.deepEqual([...out.subarray(0, n)], [0x38, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0]);
});

Deno.test("decodeControlPacket() round-trips acks, remote session id, message id and payload", () => {
  const out = new Uint8Array(128);
  const payload = new TextEncoder().encode("hello");
  const n = encodeControlPacket(out, 3, P_CONTROL_V1, 2, sid, [7, 0xfffffffe], 2, rsid, 42, payload);
  assert.equal(n, controlHeaderSize(2, true) + 5);
  const pkt = new ControlPacket();
  assert.equal(decodeControlPacket(out, 3, n, pkt), VERDICT_OK);
  assert.equal(pkt.opcode, P_CONTROL_V1);
  assert.equal(pkt.keyId, 2);
  assert.deepEqual(pkt.sessionId, sid);
  assert.equal(pkt.ackCount, 2);
  assert.deepEqual([...pkt.acks.subarray(0, 2)], [7, 0xfffffffe]);
  assert.deepEqual(pkt.remoteSessionId, rsid);
  assert.equal(pkt.messageId, 42);
  assert.equal(new TextDecoder().decode(pkt.payload()), "hello");
});

Deno.test("decodeControlPacket() reads a P_ACK_V1 with no message id", () => {
  const out = new Uint8Array(64);
  const n = encodeControlPacket(out, 0, P_ACK_V1, 0, sid, [5], 1, rsid, -1, null);
  assert.equal(n, 1 + 8 + 1 + 4 + 8);
  const pkt = new ControlPacket();
  assert.equal(decodeControlPacket(out, 0, n, pkt), VERDICT_OK);
  assert.equal(pkt.messageId, -1);
  assert.equal(pkt.acks[0], 5);
  assert.equal(pkt.payloadLength, 0);
});

Deno.test("decodeControlPacket() returns verdicts for malformed packets instead of throwing", () => {
  const pkt = new ControlPacket();
  const out = new Uint8Array(64);
  const n = encodeControlPacket(out, 0, P_CONTROL_V1, 0, sid, [1, 2], 2, rsid, 3, null);
  for (let cut = 0; cut < n; cut++) assert.equal(decodeControlPacket(out, 0, cut, pkt), DROP_MALFORMED);
  const tooMany = out.slice(0, n);
  tooMany[9] = 9;
  assert.equal(decodeControlPacket(tooMany, 0, n, pkt), DROP_MALFORMED);
  const ackNoIds = encodeControlPacket(out, 0, P_ACK_V1, 0, sid, [], 0, rsid, -1, null);
  assert.equal(decodeControlPacket(out, 0, ackNoIds, pkt), DROP_MALFORMED);
  assert.equal(decodeControlPacket(out, 60, 10, pkt), DROP_MALFORMED);
});

Deno.test("checkControlOpcode() flags tls-crypt-v2, data and unknown opcodes and keyed hard resets", () => {
  assert.equal(checkControlOpcode(headerByte(P_CONTROL_V1, 5)), VERDICT_OK);
  assert.equal(checkControlOpcode(headerByte(P_CONTROL_HARD_RESET_CLIENT_V3, 0)), DROP_UNSUPPORTED);
  assert.equal(checkControlOpcode(headerByte(P_DATA_V2, 0)), DROP_BAD_OPCODE);
  assert.equal(checkControlOpcode(headerByte(30, 0)), DROP_BAD_OPCODE);
  assert.equal(checkControlOpcode(headerByte(P_CONTROL_HARD_RESET_CLIENT_V2, 1)), DROP_BAD_KEY_ID);
});
