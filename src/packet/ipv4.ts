/**
 * IPv4 header reads on (buf, off, len).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-------+-------+---------------+-------------------------------+
 *    |Version|  IHL  |    DSCP/ECN   |          Total Length         |  0
 *    +-------+-------+---------------+-----+-------------------------+
 *    |         Identification        |Flags|     Fragment Offset     |  4
 *    +---------------+---------------+-----+-------------------------+
 *    |      TTL      |   Protocol    |        Header Checksum        |  8
 *    +---------------+---------------+-------------------------------+
 *    |                        Source Address                         | 12
 *    |                     Destination Address                       | 16
 *    +---------------------------------------------------------------+
 *
 * Accessors other than `checkIpv4` assume the packet passed `checkIpv4`.
 */

import {
  PACKET_BAD_HEADER_LEN,
  PACKET_BAD_TOTAL_LEN,
  PACKET_BAD_VERSION,
  PACKET_OK,
  PACKET_TOO_SHORT,
} from "./verdict.ts";

export const IPV4_HEADER_MIN = 20;
export const IPV4_SRC_OFFSET = 12;
export const IPV4_DST_OFFSET = 16;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/**
 * Checks version, header length and total length against `len`. Trailing bytes
 * beyond the total length (Ethernet padding) are allowed.
 */
export function checkIpv4(buf: Uint8Array, off: number, len: number): number {
  if (len < IPV4_HEADER_MIN) return PACKET_TOO_SHORT;
  const b0 = buf[off];
  if (b0 >> 4 !== 4) return PACKET_BAD_VERSION;
  const hlen = (b0 & 0x0f) << 2;
  if (hlen < IPV4_HEADER_MIN || hlen > len) return PACKET_BAD_HEADER_LEN;
  const total = (buf[off + 2] << 8) | buf[off + 3];
  if (total < hlen || total > len) return PACKET_BAD_TOTAL_LEN;
  return PACKET_OK;
}

/** Header length in bytes. */
export function ipv4HeaderLen(buf: Uint8Array, off: number): number {
  return (buf[off] & 0x0f) << 2;
}

/** Total length field. */
export function ipv4TotalLen(buf: Uint8Array, off: number): number {
  return (buf[off + 2] << 8) | buf[off + 3];
}

/** Protocol field (IPPROTO_*). */
export function ipv4Protocol(buf: Uint8Array, off: number): number {
  return buf[off + 9];
}

/** True if this is a fragment other than the first (non-zero fragment offset). */
export function ipv4IsLaterFragment(buf: Uint8Array, off: number): boolean {
  return (((buf[off + 6] & 0x1f) << 8) | buf[off + 7]) !== 0;
}

/** Source address as a u32. */
export function ipv4Src(buf: Uint8Array, off: number): number {
  const p = off + IPV4_SRC_OFFSET;
  return ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
}

/** Destination address as a u32. */
export function ipv4Dst(buf: Uint8Array, off: number): number {
  const p = off + IPV4_DST_OFFSET;
  return ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
}
