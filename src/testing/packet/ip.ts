/**
 * Test support: IP version dispatch for packets of either family. The datapath checks each family
 * itself (src/packet/ipv4.ts, ipv6.ts); tests check packets of either family with this.
 */

import { checkIpv4 } from "../../packet/ipv4.ts";
import { checkIpv6 } from "../../packet/ipv6.ts";
import { PACKET_BAD_VERSION, PACKET_TOO_SHORT } from "../../packet/verdict.ts";

/** The IP version nibble (4 or 6), or 0 when `len` is 0 or the nibble is neither. */
export function ipVersion(buf: Uint8Array, off: number, len: number): number {
  if (len < 1) return 0;
  const v = buf[off] >> 4;
  return v === 4 || v === 6 ? v : 0;
}

/** Validates an IPv4 or IPv6 packet header against `len`; returns a PACKET_* verdict. */
export function checkIpPacket(buf: Uint8Array, off: number, len: number): number {
  if (len < 1) return PACKET_TOO_SHORT;
  const v = buf[off] >> 4;
  if (v === 4) return checkIpv4(buf, off, len);
  if (v === 6) return checkIpv6(buf, off, len);
  return PACKET_BAD_VERSION;
}
