/**
 * The swarm's inner packets: an IPv4 ICMP echo request written in place
 * (the tunnel has no tun device on the generator side), and the id of an
 * echo reply read back.
 */

import { parseIpv4 } from "../../src/addr/ip.ts";
import { ipv4HeaderChecksum, transportChecksum } from "../../src/packet/checksum.ts";
import { IPPROTO_ICMP } from "../../src/packet/ipv4.ts";

const IP_HEADER = 20;
const ICMP_HEADER = 8;
const PAYLOAD = 16;
export const ECHO_REQUEST_LEN = IP_HEADER + ICMP_HEADER + PAYLOAD;
const ICMP_ECHO_REPLY = 0;
const ICMP_ECHO_REQUEST = 8;

function put16(b: Uint8Array, p: number, v: number): void {
  b[p] = (v >> 8) & 0xff;
  b[p + 1] = v & 0xff;
}

function put32(b: Uint8Array, p: number, v: number): void {
  put16(b, p, v >>> 16);
  put16(b, p + 2, v & 0xffff);
}

/** Writes an echo request from `src` to `dst` with identifier `id & 0xffff` at `off`; returns its length. */
export function writeEchoRequest(
  buf: Uint8Array,
  off: number,
  src: string,
  dst: string,
  id: number,
  seq: number,
): number {
  buf.fill(0, off, off + ECHO_REQUEST_LEN);
  buf[off] = 0x45;
  put16(buf, off + 2, ECHO_REQUEST_LEN);
  put16(buf, off + 4, seq & 0xffff);
  buf[off + 8] = 64;
  buf[off + 9] = IPPROTO_ICMP;
  put32(buf, off + 12, parseIpv4(src));
  put32(buf, off + 16, parseIpv4(dst));
  put16(buf, off + 10, ipv4HeaderChecksum(buf, off));
  const icmp = off + IP_HEADER;
  buf[icmp] = ICMP_ECHO_REQUEST;
  put16(buf, icmp + 4, id & 0xffff);
  put16(buf, icmp + 6, seq & 0xffff);
  buf.fill(0xa5, icmp + ICMP_HEADER, icmp + ICMP_HEADER + PAYLOAD);
  put16(buf, icmp + 2, transportChecksum(buf, off, 2, false));
  return ECHO_REQUEST_LEN;
}

/** The identifier of the IPv4 echo reply at `off`, or -1 when the packet is something else. */
export function echoReplyId(buf: Uint8Array, off: number, len: number): number {
  if (len < IP_HEADER + ICMP_HEADER || buf[off] >> 4 !== 4) return -1;
  const hlen = (buf[off] & 0x0f) * 4;
  if (buf[off + 9] !== IPPROTO_ICMP || len < hlen + ICMP_HEADER) return -1;
  if (buf[off + hlen] !== ICMP_ECHO_REPLY) return -1;
  return (buf[off + hlen + 4] << 8) | buf[off + hlen + 5];
}
