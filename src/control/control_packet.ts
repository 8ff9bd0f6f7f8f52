/**
 * Control packet codec, on the "plain" form that remains once tls-auth or
 * tls-crypt wrapping has been removed (see control_wrap.ts):
 *
 *   0      1              9     10            10+4n         18+4n      22+4n
 *   +------+--------------+-----+-------------+-------------+----------+---------+
 *   |op|kid| session id   | n   | n x ack id  | remote sid  | msg id   | payload |
 *   +------+--------------+-----+-------------+-------------+----------+---------+
 *                                  (u32 BE)     (only n > 0)  (absent in P_ACK_V1)
 *
 * Decoding fills a caller-owned ControlPacket (no allocation) and returns
 * VERDICT_OK or a DROP_* reason; nothing a peer sends throws.
 */

import {
  DROP_BAD_KEY_ID,
  DROP_BAD_OPCODE,
  DROP_MALFORMED,
  DROP_UNSUPPORTED,
  VERDICT_OK,
} from "./drop_counters.ts";
import {
  headerByte,
  isSupportedControlOpcode,
  keyIdOf,
  opcodeOf,
  P_ACK_V1,
  P_CONTROL_HARD_RESET_CLIENT_V2,
  P_CONTROL_HARD_RESET_CLIENT_V3,
  P_CONTROL_HARD_RESET_SERVER_V2,
  P_CONTROL_WKC_V1,
  SESSION_ID_SIZE,
} from "./opcode.ts";

/** OpenVPN accepts at most this many ack ids in one packet (RELIABLE_ACK_SIZE). */
export const MAX_ACKS_PER_PACKET = 8;

/** Bytes before the payload for a packet carrying `acks` acks and a message id. */
export function controlHeaderSize(acks: number, hasMessageId: boolean): number {
  return 1 + SESSION_ID_SIZE + 1 + 4 * acks + (acks > 0 ? SESSION_ID_SIZE : 0) + (hasMessageId ? 4 : 0);
}

/** A decoded control packet; views point into the decoded buffer. Reuse one per receive path. */
export class ControlPacket {
  opcode = 0;
  keyId = 0;
  readonly sessionId = new Uint8Array(SESSION_ID_SIZE);
  ackCount = 0;
  readonly acks = new Uint32Array(MAX_ACKS_PER_PACKET);
  readonly remoteSessionId = new Uint8Array(SESSION_ID_SIZE);
  /** -1 for P_ACK_V1, which carries no message id. */
  messageId = -1;
  payloadOffset = 0;
  payloadLength = 0;
  /** The buffer the payload offset refers to. */
  buffer: Uint8Array = new Uint8Array(0);

  payload(): Uint8Array {
    return this.buffer.subarray(this.payloadOffset, this.payloadOffset + this.payloadLength);
  }
}

/**
 * Classifies the first byte of a control packet: VERDICT_OK for opcodes this
 * implementation handles, DROP_UNSUPPORTED for tls-crypt-v2 ones, DROP_BAD_OPCODE otherwise.
 */
export function checkControlOpcode(firstByte: number): number {
  const op = opcodeOf(firstByte);
  if (isSupportedControlOpcode(op)) {
    const kid = keyIdOf(firstByte);
    if (kid !== 0 && (op === P_CONTROL_HARD_RESET_CLIENT_V2 || op === P_CONTROL_HARD_RESET_SERVER_V2)) {
      return DROP_BAD_KEY_ID;
    }
    return VERDICT_OK;
  }
  if (op === P_CONTROL_HARD_RESET_CLIENT_V3 || op === P_CONTROL_WKC_V1) return DROP_UNSUPPORTED;
  return DROP_BAD_OPCODE;
}

export function decodeControlPacket(buf: Uint8Array, off: number, len: number, out: ControlPacket): number {
  if (len < 1 + SESSION_ID_SIZE + 1 || off < 0 || off + len > buf.length) return DROP_MALFORMED;
  const first = buf[off];
  const opVerdict = checkControlOpcode(first);
  if (opVerdict !== VERDICT_OK) return opVerdict;
  const op = opcodeOf(first);
  const end = off + len;
  let p = off + 1;
  out.sessionId.set(buf.subarray(p, p + SESSION_ID_SIZE));
  p += SESSION_ID_SIZE;
  const n = buf[p++];
  if (n > MAX_ACKS_PER_PACKET) return DROP_MALFORMED;
  if (op === P_ACK_V1 && n === 0) return DROP_MALFORMED;
  if (p + 4 * n + (n > 0 ? SESSION_ID_SIZE : 0) > end) return DROP_MALFORMED;
  for (let i = 0; i < n; i++) {
    out.acks[i] = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
    p += 4;
  }
  if (n > 0) {
    out.remoteSessionId.set(buf.subarray(p, p + SESSION_ID_SIZE));
    p += SESSION_ID_SIZE;
  } else {
    out.remoteSessionId.fill(0);
  }
  if (op === P_ACK_V1) {
    if (p !== end) return DROP_MALFORMED;
    out.messageId = -1;
  } else {
    if (p + 4 > end) return DROP_MALFORMED;
    out.messageId = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
    p += 4;
  }
  out.opcode = op;
  out.keyId = keyIdOf(first);
  out.ackCount = n;
  out.buffer = buf;
  out.payloadOffset = p;
  out.payloadLength = end - p;
  return VERDICT_OK;
}

/**
 * Writes a plain control packet into `out` at `off`; returns bytes written, or
 * -1 when it does not fit. `messageId` < 0 omits the message id (P_ACK_V1).
 */
export function encodeControlPacket(
  out: Uint8Array,
  off: number,
  opcode: number,
  keyId: number,
  sessionId: Uint8Array,
  acks: ArrayLike<number>,
  ackCount: number,
  remoteSessionId: Uint8Array,
  messageId: number,
  payload: Uint8Array | null,
): number {
  const plen = payload ? payload.length : 0;
  const need = controlHeaderSize(ackCount, messageId >= 0) + plen;
  if (ackCount > 255 || off + need > out.length) return -1;
  let p = off;
  out[p++] = headerByte(opcode, keyId);
  out.set(sessionId.subarray(0, SESSION_ID_SIZE), p);
  p += SESSION_ID_SIZE;
  out[p++] = ackCount;
  for (let i = 0; i < ackCount; i++) {
    const a = acks[i] >>> 0;
    out[p++] = a >>> 24;
    out[p++] = (a >>> 16) & 0xff;
    out[p++] = (a >>> 8) & 0xff;
    out[p++] = a & 0xff;
  }
  if (ackCount > 0) {
    out.set(remoteSessionId.subarray(0, SESSION_ID_SIZE), p);
    p += SESSION_ID_SIZE;
  }
  if (messageId >= 0) {
    out[p++] = messageId >>> 24;
    out[p++] = (messageId >>> 16) & 0xff;
    out[p++] = (messageId >>> 8) & 0xff;
    out[p++] = messageId & 0xff;
  }
  if (payload && plen > 0) {
    out.set(payload, p);
    p += plen;
  }
  return p - off;
}

/** Reads the sender's session id of any control packet (plain or wrapped: it is never encrypted). */
export function readSessionId(buf: Uint8Array, off: number, len: number, out: Uint8Array): boolean {
  if (len < 1 + SESSION_ID_SIZE || off + 1 + SESSION_ID_SIZE > buf.length) return false;
  out.set(buf.subarray(off + 1, off + 1 + SESSION_ID_SIZE));
  return true;
}
