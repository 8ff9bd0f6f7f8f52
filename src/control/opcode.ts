/**
 * OpenVPN packet opcodes. The first byte of every packet on the wire holds the
 * opcode in its high 5 bits and the key-id in its low 3 bits:
 *
 *    7 6 5 4 3 2 1 0
 *   +-+-+-+-+-+-+-+-+
 *   | opcode  |keyid|
 *   +-+-+-+-+-+-+-+-+
 *
 * The data opcodes (P_DATA_V1 = 6, P_DATA_V2 = 9) and the byte's layout
 * (OPCODE_SHIFT, KEY_ID_MASK) are the data channel's (data/data_header.ts),
 * re-exported here with the rest.
 */

import { KEY_ID_MASK, OPCODE_SHIFT, P_DATA_V1, P_DATA_V2 } from "../data/data_header.ts";

export { KEY_ID_MASK, OPCODE_SHIFT, P_DATA_V1, P_DATA_V2 };

export const P_CONTROL_HARD_RESET_CLIENT_V1 = 1;
export const P_CONTROL_HARD_RESET_SERVER_V1 = 2;
export const P_CONTROL_SOFT_RESET_V1 = 3;
export const P_CONTROL_V1 = 4;
export const P_ACK_V1 = 5;
export const P_CONTROL_HARD_RESET_CLIENT_V2 = 7;
export const P_CONTROL_HARD_RESET_SERVER_V2 = 8;
/** tls-crypt-v2 client reset: recognised, not supported (dropped). */
export const P_CONTROL_HARD_RESET_CLIENT_V3 = 10;
/** tls-crypt-v2 control packet with wrapped client key: recognised, not supported. */
export const P_CONTROL_WKC_V1 = 11;

/** Size of an OpenVPN session id on the wire. */
export const SESSION_ID_SIZE = 8;

const NAMES: Record<number, string> = {
  1: "P_CONTROL_HARD_RESET_CLIENT_V1",
  2: "P_CONTROL_HARD_RESET_SERVER_V1",
  3: "P_CONTROL_SOFT_RESET_V1",
  4: "P_CONTROL_V1",
  5: "P_ACK_V1",
  6: "P_DATA_V1",
  7: "P_CONTROL_HARD_RESET_CLIENT_V2",
  8: "P_CONTROL_HARD_RESET_SERVER_V2",
  9: "P_DATA_V2",
  10: "P_CONTROL_HARD_RESET_CLIENT_V3",
  11: "P_CONTROL_WKC_V1",
};

export function opcodeOf(firstByte: number): number {
  return (firstByte >>> OPCODE_SHIFT) & 0x1f;
}

export function keyIdOf(firstByte: number): number {
  return firstByte & KEY_ID_MASK;
}

export function headerByte(opcode: number, keyId: number): number {
  return ((opcode << OPCODE_SHIFT) | (keyId & KEY_ID_MASK)) & 0xff;
}

export function opcodeName(opcode: number): string {
  return NAMES[opcode] ?? `P_UNKNOWN_${opcode}`;
}

/** Control opcodes this implementation processes (key-method 2, no tls-crypt-v2). */
export function isSupportedControlOpcode(opcode: number): boolean {
  return opcode === P_CONTROL_V1 || opcode === P_ACK_V1 || opcode === P_CONTROL_SOFT_RESET_V1 ||
    opcode === P_CONTROL_HARD_RESET_CLIENT_V2 || opcode === P_CONTROL_HARD_RESET_SERVER_V2;
}

export function isDataOpcode(opcode: number): boolean {
  return opcode === P_DATA_V1 || opcode === P_DATA_V2;
}

/** Key-ids run 0 (first key), then 1..7 wrapping back to 1, never to 0 again. */
export function nextKeyId(keyId: number): number {
  const n = (keyId + 1) & KEY_ID_MASK;
  return n === 0 ? 1 : n;
}
