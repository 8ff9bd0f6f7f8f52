/**
 * Data-channel packet header as OpenVPN 2.6 writes it for AEAD ciphers
 * (src/openvpn/ssl.c tls_prepend_opcode_v2, crypto.c openvpn_encrypt_aead):
 *
 *   P_DATA_V2 (opcode 9), 24 bytes of overhead:
 *    0        1        2        3        4                         8                        24
 *   +--------+--------------------------+--------------------------+------------------------+----
 *   |op<<3|k |   peer-id (24 bit, BE)   |  packet-id (32 bit, BE)  |   AEAD tag (16 bytes)  | ciphertext
 *   +--------+--------------------------+--------------------------+------------------------+----
 *   |<------------------- AAD (8 bytes) ------------------------->|
 *
 *   P_DATA_V1 (opcode 6, no peer-id), 21 bytes: [op<<3|k][packet-id][tag][ciphertext];
 *   the AAD is the packet-id alone (the opcode byte is not authenticated).
 *
 * Nonce (12 bytes) = packet-id (4, as on the wire) || implicit IV (8, from the key).
 * Plain functions on (buf, off, len); none allocates or throws for any input.
 */

export const P_DATA_V1 = 6;
export const P_DATA_V2 = 9;
export const OPCODE_SHIFT = 3;
export const KEY_ID_MASK = 0x07;

/** Peer-id meaning "not assigned" (OpenVPN MAX_PEER_ID). */
export const PEER_ID_UNDEF = 0xffffff;

export const DATA_V2_AAD_LEN = 8;
/** Opcode/key-id, peer-id and packet-id. */
export const DATA_V2_HEADER_LEN = 8;
export const DATA_V1_HEADER_LEN = 5;
/** Header plus tag: the headroom a slot needs in front of the payload. */
export const DATA_V2_OVERHEAD = 24;
export const DATA_V1_OVERHEAD = 21;

/** Opcode of the datagram at buf[off], or -1 when empty. */
export function peekOpcode(buf: Uint8Array, off: number, len: number): number {
  return len >= 1 ? buf[off] >>> OPCODE_SHIFT : -1;
}

/** Key-id (0..7) of the datagram at buf[off], or -1 when empty. */
export function peekKeyId(buf: Uint8Array, off: number, len: number): number {
  return len >= 1 ? buf[off] & KEY_ID_MASK : -1;
}

/**
 * Peer-id of a P_DATA_V2 datagram, for finding the session before any crypto;
 * -1 when the datagram is not P_DATA_V2 or too short to carry one. Unauthenticated:
 * the AEAD tag covers it, so a wrong session simply fails to open the packet.
 */
export function peekPeerId(buf: Uint8Array, off: number, len: number): number {
  if (len < DATA_V2_OVERHEAD + 1 || buf[off] >>> OPCODE_SHIFT !== P_DATA_V2) return -1;
  return (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
}

/** Big-endian u32 at buf[off]; the caller guarantees 4 bytes. */
export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

export function writeU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 24;
  buf[off + 1] = v >>> 16;
  buf[off + 2] = v >>> 8;
  buf[off + 3] = v;
}

/** Writes the 8-byte P_DATA_V2 header (the AAD) at buf[off]. */
export function writeDataV2Header(
  buf: Uint8Array,
  off: number,
  keyId: number,
  peerId: number,
  packetId: number,
): void {
  buf[off] = (P_DATA_V2 << OPCODE_SHIFT) | (keyId & KEY_ID_MASK);
  buf[off + 1] = peerId >>> 16;
  buf[off + 2] = peerId >>> 8;
  buf[off + 3] = peerId;
  writeU32(buf, off + 4, packetId);
}
