import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { libcryptoStatus } from "../../ffi/libcrypto.ts";
import { openSslWrapPrimitives } from "./wrap_openssl.ts";
import { nodeWrapPrimitives } from "./wrap_primitives.ts";
import { ControlPacket, decodeControlPacket, encodeControlPacket } from "./control_packet.ts";
import { VERDICT_OK } from "./drop_counters.ts";
import {
  P_ACK_V1,
  P_CONTROL_HARD_RESET_CLIENT_V2,
  P_CONTROL_HARD_RESET_SERVER_V2,
  P_CONTROL_V1,
} from "./opcode.ts";
import {
  completesCookieExchange,
  COOKIE_REPLY_PLAIN_BYTES,
  encodeCookieReply,
  ResetCookies,
} from "./reset_cookie.ts";

const SLOT_MS = 30_000;
const fixedRandom = (n: number) => Uint8Array.from({ length: n }, (_, i) => i * 7 + 3);
const clientSid = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);

Deno.test("ResetCookies.matches() accepts a cookie for its remote and client session id for 60 to 90 s", () => {
  const jar = new ResetCookies({ random: fixedRandom, handshakeWindowMs: 60_000 });
  const t0 = 1000 * SLOT_MS; // the start of a slot
  const cookie = jar.issue("192.0.2.1:1194", clientSid, t0);
  assert.equal(cookie.length, 8);
  assert.deepEqual(
    jar.issue("192.0.2.1:1194", clientSid, t0 + SLOT_MS - 1),
    cookie,
    "same slot, same cookie",
  );
  assert.equal(jar.matches("192.0.2.1:1194", clientSid, cookie, t0), true);
  assert.equal(jar.matches("192.0.2.1:1194", clientSid, cookie, t0 + 3 * SLOT_MS - 1), true, "two slots on");
  assert.equal(jar.matches("192.0.2.1:1194", clientSid, cookie, t0 + 3 * SLOT_MS), false, "three slots on");
  assert.equal(jar.matches("192.0.2.1:1194", clientSid, cookie, t0 - 1), false, "not before it was issued");
  assert.equal(jar.matches("192.0.2.1:1195", clientSid, cookie, t0), false, "another port");
  assert.equal(jar.matches("192.0.2.1:1194", clientSid.map((b) => b ^ 1), cookie, t0), false, "another sid");
  const other = new ResetCookies({
    random: (n) => fixedRandom(n).map((b) => b ^ 0xff),
    handshakeWindowMs: 60_000,
  });
  assert.equal(other.matches("192.0.2.1:1194", clientSid, cookie, t0), false, "another key");
});

Deno.test("ResetCookies slots follow the handshake window as OpenVPN's (hand-window + 1) / 2", () => {
  const jar = new ResetCookies({ random: fixedRandom, handshakeWindowMs: 10_000 });
  const cookie = jar.issue("a:1", clientSid, 0);
  assert.equal(jar.matches("a:1", clientSid, cookie, 14_999), true);
  assert.equal(jar.matches("a:1", clientSid, cookie, 15_000), false, "5 s slots: gone after 3 of them");
});

Deno.test("encodeCookieReply() writes a 14-byte server reset, message 0, no ack: the size of the client's reset", () => {
  const out = new Uint8Array(COOKIE_REPLY_PLAIN_BYTES);
  const serverSid = Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9);
  const n = encodeCookieReply(out, serverSid);
  assert.equal(n, 14);
  const reset = new Uint8Array(64);
  const resetLen = encodeControlPacket(
    reset,
    0,
    P_CONTROL_HARD_RESET_CLIENT_V2,
    0,
    clientSid,
    [],
    0,
    clientSid,
    0,
    null,
  );
  assert.ok(n <= resetLen, `answer ${n} B, reset ${resetLen} B`);
  const pkt = new ControlPacket();
  assert.equal(decodeControlPacket(out, 0, n, pkt), VERDICT_OK);
  assert.equal(pkt.opcode, P_CONTROL_HARD_RESET_SERVER_V2);
  assert.equal(pkt.keyId, 0);
  assert.deepEqual(pkt.sessionId, serverSid);
  assert.equal(pkt.ackCount, 0);
  assert.equal(pkt.messageId, 0);
  assert.equal(pkt.payloadLength, 0);
});

Deno.test("completesCookieExchange() wants acks, all of them and the message id at most 1", () => {
  const pkt = new ControlPacket();
  const set = (opcode: number, acks: number[], messageId: number, keyId = 0) => {
    pkt.opcode = opcode;
    pkt.keyId = keyId;
    pkt.ackCount = acks.length;
    pkt.acks.set(acks);
    pkt.messageId = messageId;
    return completesCookieExchange(pkt);
  };
  assert.equal(set(P_ACK_V1, [0], -1), true);
  assert.equal(set(P_CONTROL_V1, [0], 1), true);
  assert.equal(set(P_CONTROL_V1, [1, 0], 1), true);
  assert.equal(set(P_CONTROL_V1, [], 1), false);
  assert.equal(set(P_CONTROL_V1, [0, 2], 1), false);
  assert.equal(set(P_CONTROL_V1, [0], 2), false);
  assert.equal(set(P_ACK_V1, [0], -1, 1), false);
});

Deno.test("ResetCookies cookie is HMAC-SHA256(key, slot | remote | client sid)[0..8) on both HMAC backends", () => {
  const backends = libcryptoStatus() === null
    ? [openSslWrapPrimitives, nodeWrapPrimitives]
    : [nodeWrapPrimitives];
  const now = 1234 * SLOT_MS + 5;
  const want = createHmac("sha256", fixedRandom(32))
    .update(Uint8Array.of(0, 0, 4, 210)) // slot 1234
    .update(new TextEncoder().encode("198.51.100.7:40000"))
    .update(clientSid)
    .digest()
    .subarray(0, 8);
  for (const primitives of backends) {
    const jar = new ResetCookies({ random: fixedRandom, handshakeWindowMs: 60_000, primitives });
    const cookie = jar.issue("198.51.100.7:40000", clientSid, now);
    assert.deepEqual(cookie, new Uint8Array(want), primitives.backend);
    jar.issue("198.51.100.7:40001", clientSid, now);
    assert.deepEqual(cookie, new Uint8Array(want), `${primitives.backend}: a later cookie leaves it alone`);
  }
});
