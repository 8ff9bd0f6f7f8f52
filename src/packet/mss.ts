/**
 * TCP MSS clamping, as OpenVPN's `--mssfix` does it: for a TCP segment with
 * SYN set (SYN and SYN-ACK), an MSS option larger than the limit is lowered to
 * the limit and the TCP checksum is fixed incrementally (RFC 1624). Works in
 * place on (buf, off, len), allocates nothing and never throws; malformed or
 * non-matching packets are left untouched.
 *
 * Like OpenVPN: IPv4 fragments other than the first are skipped, and for IPv6
 * only TCP directly after the fixed header is handled (no extension-header walk).
 */

import { checksumUpdate16 } from "./checksum.ts";
import { checkIpv4, IPPROTO_TCP } from "./ipv4.ts";
import { checkIpv6, IPV6_HEADER_LEN } from "./ipv6.ts";
import { PACKET_OK } from "./verdict.ts";

/** The packet was not changed (not TCP SYN, no MSS option, MSS already small enough, or malformed). */
export const MSS_UNCHANGED = 0;
/** The MSS option was lowered and the checksum fixed. */
export const MSS_CLAMPED = 1;

const TCP_HEADER_MIN = 20;
const TCP_FLAG_SYN = 0x02;
const TCPOPT_EOL = 0;
const TCPOPT_NOP = 1;
const TCPOPT_MAXSEG = 2;

/** Clamps the MSS of the TCP segment at `tcp` spanning `segLen` bytes; returns an MSS_* verdict. */
function clampSegment(buf: Uint8Array, tcp: number, segLen: number, maxMss: number): number {
  if (segLen < TCP_HEADER_MIN) return MSS_UNCHANGED;
  if ((buf[tcp + 13] & TCP_FLAG_SYN) === 0) return MSS_UNCHANGED;
  const hlen = (buf[tcp + 12] >> 4) << 2;
  if (hlen < TCP_HEADER_MIN || hlen > segLen) return MSS_UNCHANGED;
  const end = tcp + hlen;
  let p = tcp + TCP_HEADER_MIN;
  while (p < end) {
    const kind = buf[p];
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) {
      p++;
      continue;
    }
    if (p + 1 >= end) break;
    const optLen = buf[p + 1];
    if (optLen < 2 || p + optLen > end) break;
    if (kind === TCPOPT_MAXSEG && optLen === 4) {
      const v = p + 2;
      const mss = (buf[v] << 8) | buf[v + 1];
      if (mss <= maxMss) return MSS_UNCHANGED;
      const check = (buf[tcp + 16] << 8) | buf[tcp + 17];
      // A 16-bit value at an odd offset from the segment start straddles two
      // checksum words, so it enters the sum byte-swapped.
      const odd = ((v - tcp) & 1) === 1;
      const oldWord = odd ? ((mss & 0xff) << 8) | (mss >> 8) : mss;
      const newWord = odd ? ((maxMss & 0xff) << 8) | (maxMss >> 8) : maxMss;
      const fixed = checksumUpdate16(check, oldWord, newWord);
      buf[v] = maxMss >> 8;
      buf[v + 1] = maxMss & 0xff;
      buf[tcp + 16] = fixed >> 8;
      buf[tcp + 17] = fixed & 0xff;
      return MSS_CLAMPED;
    }
    p += optLen;
  }
  return MSS_UNCHANGED;
}

/** Clamps an IPv4 TCP SYN's MSS to `maxMss`. */
export function clampMss4(buf: Uint8Array, off: number, len: number, maxMss: number): number {
  if (checkIpv4(buf, off, len) !== PACKET_OK) return MSS_UNCHANGED;
  if (buf[off + 9] !== IPPROTO_TCP) return MSS_UNCHANGED;
  if ((((buf[off + 6] & 0x1f) << 8) | buf[off + 7]) !== 0) return MSS_UNCHANGED;
  const hlen = (buf[off] & 0x0f) << 2;
  const total = (buf[off + 2] << 8) | buf[off + 3];
  return clampSegment(buf, off + hlen, total - hlen, maxMss);
}

/** Clamps an IPv6 TCP SYN's MSS to `maxMss` (TCP must be the first next header). */
export function clampMss6(buf: Uint8Array, off: number, len: number, maxMss: number): number {
  if (checkIpv6(buf, off, len) !== PACKET_OK) return MSS_UNCHANGED;
  if (buf[off + 6] !== IPPROTO_TCP) return MSS_UNCHANGED;
  const payload = (buf[off + 4] << 8) | buf[off + 5];
  return clampSegment(buf, off + IPV6_HEADER_LEN, payload, maxMss);
}

/**
 * OpenVPN's mssfix on a packet of either family: IPv4 segments are clamped to
 * `mssfixIpv4`, IPv6 segments to `mssfixIpv4 - 20` (the larger IPv6 header),
 * exactly as OpenVPN derives them from one `--mssfix` value.
 */
export function clampMss(buf: Uint8Array, off: number, len: number, mssfixIpv4: number): number {
  if (len < 1) return MSS_UNCHANGED;
  const v = buf[off] >> 4;
  if (v === 4) return clampMss4(buf, off, len, mssfixIpv4);
  if (v === 6) return mssfixIpv4 > 20 ? clampMss6(buf, off, len, mssfixIpv4 - 20) : MSS_UNCHANGED;
  return MSS_UNCHANGED;
}
