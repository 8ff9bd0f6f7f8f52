/**
 * Direct-path datagrams between two introduced clients, on the same UDP
 * socket each uses for the server. One opcode OpenVPN never assigns (31, the
 * highest of the 5-bit space; OpenVPN 2.6 uses 1..11) marks every mesh
 * datagram, so one look at the first byte separates it from the server's
 * packets; the rest is P_DATA_V2's layout, with the 24-bit peer-id field
 * naming the pair:
 *
 *    0        1                          4                          8                        24
 *   +--------+--------------------------+--------------------------+------------------------+----
 *   |31<<3|k |   pair id (24 bit, BE)   |  packet-id (32 bit, BE)  |   AEAD tag (16 bytes)  | ciphertext
 *   +--------+--------------------------+--------------------------+------------------------+----
 *
 * k is the pair key's key-id (pair_keys.ts pairKeyId). The AEAD's additional
 * data is this header as P_DATA_V2 would carry it (first byte 9<<3|k): the
 * sealing is DataChannel's own (pair_channel.ts), and the mesh opcode is bound
 * by the keys themselves, which only ever seal mesh datagrams.
 *
 * The plaintext is an IP packet (first nibble 4 or 6) or a path record, told
 * apart by the first byte, which the tag covers:
 *
 *    0      1      2      4                8                                      28
 *   +------+------+------+----------------+--------------------------------------+
 *   | type | ver  | zero | probe id (BE)  | endpoint (EndpointSlots row layout)  |
 *   +------+------+------+----------------+--------------------------------------+
 *
 *   type 1 PROBE: asks for a REPLY; endpoint = where the prober sent it.
 *   type 2 REPLY: echoes the probe id; endpoint = the probe's source as the
 *                 replier saw it (the prober's public mapping).
 *
 * Keepalives are PROBEs on the selected path. Replays are refused by the
 * pair's packet-id replay window before a record is read, and a REPLY counts
 * only when it echoes a probe id still outstanding (path.ts), so a recorded
 * probe or reply never moves a path. Everything here works on (buf, off, len),
 * allocates nothing and never throws.
 */

import { ENDPOINT_ROW_BYTES, type EndpointSlots } from "../device/datagram_socket.ts";
import { DATA_V2_OVERHEAD, OPCODE_SHIFT, readU32, writeU32 } from "../data/data_header.ts";

export const P_MESH = 31;
/** Header plus tag, as P_DATA_V2. */
export const MESH_OVERHEAD = DATA_V2_OVERHEAD;

export const RECORD_PROBE = 1;
export const RECORD_REPLY = 2;
export const RECORD_VERSION = 1;
export const RECORD_LEN = 8 + ENDPOINT_ROW_BYTES;

/** What a verified plaintext is (classifyPlaintext). */
export const PLAIN_IPV4 = 0;
export const PLAIN_IPV6 = 1;
export const PLAIN_PROBE = 2;
export const PLAIN_REPLY = 3;
export const PLAIN_MALFORMED = 4;

/** True when the datagram at buf[off] carries the mesh opcode. */
export function isMeshDatagram(buf: Uint8Array, off: number, len: number): boolean {
  return len >= 1 && buf[off] >>> OPCODE_SHIFT === P_MESH;
}

/** The pair id of a mesh datagram long enough to open, or -1. Unauthenticated (the tag covers it). */
export function peekPairId(buf: Uint8Array, off: number, len: number): number {
  if (len < MESH_OVERHEAD + 1 || buf[off] >>> OPCODE_SHIFT !== P_MESH) return -1;
  return (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
}

/** Sorts an opened plaintext: an IP packet, a probe or reply record, or neither. */
export function classifyPlaintext(buf: Uint8Array, off: number, len: number): number {
  if (len < 1) return PLAIN_MALFORMED;
  const b0 = buf[off];
  const version = b0 >>> 4;
  if (version === 4) return PLAIN_IPV4;
  if (version === 6) return PLAIN_IPV6;
  if (len !== RECORD_LEN || buf[off + 1] !== RECORD_VERSION || buf[off + 2] !== 0 || buf[off + 3] !== 0) {
    return PLAIN_MALFORMED;
  }
  if (b0 === RECORD_PROBE) return PLAIN_PROBE;
  if (b0 === RECORD_REPLY) return PLAIN_REPLY;
  return PLAIN_MALFORMED;
}

/**
 * Writes a record at buf[off]: `type`, `probeId`, and row `row` of `endpoint`.
 * Returns RECORD_LEN.
 */
export function writeRecord(
  buf: Uint8Array,
  off: number,
  type: number,
  probeId: number,
  endpoint: EndpointSlots,
  row: number,
): number {
  buf[off] = type;
  buf[off + 1] = RECORD_VERSION;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  writeU32(buf, off + 4, probeId);
  const src = endpoint.bytes;
  const from = row * ENDPOINT_ROW_BYTES;
  for (let i = 0; i < ENDPOINT_ROW_BYTES; i++) buf[off + 8 + i] = src[from + i];
  return RECORD_LEN;
}

/** The probe id of a record at buf[off]. */
export function recordProbeId(buf: Uint8Array, off: number): number {
  return readU32(buf, off + 4);
}

/** Copies a record's endpoint into row `row` of `into`. */
export function recordEndpoint(buf: Uint8Array, off: number, into: EndpointSlots, row: number): void {
  const dst = into.bytes;
  const to = row * ENDPOINT_ROW_BYTES;
  for (let i = 0; i < ENDPOINT_ROW_BYTES; i++) dst[to + i] = buf[off + 8 + i];
}

// -- Drops on the mesh port, by reason (DirectPath.drops indexes) --

/** No live pair with the datagram's pair id: never introduced, closed, or from a stale session. */
export const MESH_DROP_NOT_INTRODUCED = 0;
/** Authentication failed (forged, corrupted, or under another pair's key). */
export const MESH_DROP_BAD_TAG = 1;
/** Packet-id already seen or behind the replay window. */
export const MESH_DROP_REPLAY = 2;
/** Too short, packet-id 0, or a plaintext that is neither an IP packet nor a record. */
export const MESH_DROP_MALFORMED = 3;
/** No key for the header's key-id (an old pair key already retired, or one not yet installed). */
export const MESH_DROP_UNKNOWN_KEY = 4;
/** Inner source address outside the peer's introduced addresses and iroutes. */
export const MESH_DROP_SPOOFED = 5;
/** A REPLY echoing no outstanding probe. */
export const MESH_DROP_UNSOLICITED = 6;
export const MESH_DROP_COUNT = 7;

export const MESH_DROP_NAMES: readonly string[] = [
  "not_introduced",
  "bad_tag",
  "replay",
  "malformed",
  "unknown_key",
  "spoofed",
  "unsolicited_reply",
];
