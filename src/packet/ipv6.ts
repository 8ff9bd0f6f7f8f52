/**
 * IPv6 header reads on (buf, off, len). Addresses go into caller-provided
 * `Uint32Array` words (big-endian, as in `addr/ip.ts`) or are compared in place.
 *
 *    +-------+---------------+---------------------------------------+
 *    |Version| Traffic Class |              Flow Label               |  0
 *    +-------+---------------+-------+---------------+---------------+
 *    |         Payload Length        |  Next Header  |   Hop Limit   |  4
 *    +-------------------------------+---------------+---------------+
 *    |                    Source Address (16 bytes)                  |  8
 *    |                 Destination Address (16 bytes)                | 24
 *    +---------------------------------------------------------------+
 *
 * Accessors other than `checkIpv6` assume the packet passed `checkIpv6`.
 */

import { PACKET_BAD_TOTAL_LEN, PACKET_BAD_VERSION, PACKET_OK, PACKET_TOO_SHORT } from "./verdict.ts";

export const IPV6_HEADER_LEN = 40;
export const IPV6_SRC_OFFSET = 8;
export const IPV6_DST_OFFSET = 24;
export const IPPROTO_ICMPV6 = 58;

/** Checks version and that header plus payload length fit in `len` (trailing bytes allowed). */
export function checkIpv6(buf: Uint8Array, off: number, len: number): number {
  if (len < IPV6_HEADER_LEN) return PACKET_TOO_SHORT;
  if (buf[off] >> 4 !== 6) return PACKET_BAD_VERSION;
  const payload = (buf[off + 4] << 8) | buf[off + 5];
  if (IPV6_HEADER_LEN + payload > len) return PACKET_BAD_TOTAL_LEN;
  return PACKET_OK;
}

/** Payload length field. */
export function ipv6PayloadLen(buf: Uint8Array, off: number): number {
  return (buf[off + 4] << 8) | buf[off + 5];
}

/** Next header field. */
export function ipv6NextHeader(buf: Uint8Array, off: number): number {
  return buf[off + 6];
}

function readWords(buf: Uint8Array, p: number, out: Uint32Array, outOff: number): void {
  for (let i = 0; i < 4; i++, p += 4) {
    out[outOff + i] = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
  }
}

function equalWords(buf: Uint8Array, p: number, words: Uint32Array, wOff: number): boolean {
  for (let i = 0; i < 4; i++, p += 4) {
    const w = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
    if (w !== words[wOff + i]) return false;
  }
  return true;
}

/** Copies the source address into `out[outOff .. outOff+4)`. */
export function ipv6SrcInto(buf: Uint8Array, off: number, out: Uint32Array, outOff = 0): void {
  readWords(buf, off + IPV6_SRC_OFFSET, out, outOff);
}

/** Copies the destination address into `out[outOff .. outOff+4)`. */
export function ipv6DstInto(buf: Uint8Array, off: number, out: Uint32Array, outOff = 0): void {
  readWords(buf, off + IPV6_DST_OFFSET, out, outOff);
}

/** True if the source address equals `words[wOff .. wOff+4)`. */
export function ipv6SrcEquals(buf: Uint8Array, off: number, words: Uint32Array, wOff = 0): boolean {
  return equalWords(buf, off + IPV6_SRC_OFFSET, words, wOff);
}

/** True if the destination address equals `words[wOff .. wOff+4)`. */
export function ipv6DstEquals(buf: Uint8Array, off: number, words: Uint32Array, wOff = 0): boolean {
  return equalWords(buf, off + IPV6_DST_OFFSET, words, wOff);
}

/** True if the destination is multicast (ff00::/8). */
export function ipv6DstIsMulticast(buf: Uint8Array, off: number): boolean {
  return buf[off + IPV6_DST_OFFSET] === 0xff;
}
