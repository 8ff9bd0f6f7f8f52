/**
 * Packet builders for tests (like wireguard-go's tuntest `Ping`): valid IPv4
 * and IPv6 ICMP echo, UDP and TCP SYN packets, and Ethernet frames around
 * them. Not for the hot path: they allocate and parse text addresses.
 */

import { parseIpv4, parseIpv6 } from "../../addr/ip.ts";
import { parseMac } from "../../addr/mac.ts";
import { ipv4HeaderChecksum, transportChecksum } from "../../packet/checksum.ts";
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from "../../packet/ipv4.ts";
import { IPPROTO_ICMPV6 } from "../../packet/ipv6.ts";

export interface IpEnds {
  /** Source address text; the family of `src` decides the IP version. */
  src: string;
  dst: string;
  /** TTL / hop limit. @default 64 */
  ttl?: number;
}

function put16(b: Uint8Array, p: number, v: number): void {
  b[p] = (v >> 8) & 0xff;
  b[p + 1] = v & 0xff;
}

function put32(b: Uint8Array, p: number, v: number): void {
  put16(b, p, v >>> 16);
  put16(b, p + 2, v & 0xffff);
}

/** Wraps a transport segment in an IPv4 or IPv6 header and fills the segment's checksum. */
function wrapIp(ends: IpEnds, proto: number, segment: Uint8Array, checksumAt: number): Uint8Array {
  const ttl = ends.ttl ?? 64;
  if (!ends.src.includes(":")) {
    const pkt = new Uint8Array(20 + segment.length);
    pkt[0] = 0x45;
    put16(pkt, 2, pkt.length);
    put16(pkt, 4, 0x1234);
    pkt[6] = 0x40; // don't fragment
    pkt[8] = ttl;
    pkt[9] = proto;
    put32(pkt, 12, parseIpv4(ends.src));
    put32(pkt, 16, parseIpv4(ends.dst));
    put16(pkt, 10, ipv4HeaderChecksum(pkt, 0));
    pkt.set(segment, 20);
    put16(pkt, 20 + checksumAt, transportChecksum(pkt, 0, checksumAt, proto !== IPPROTO_ICMP));
    return pkt;
  }
  const pkt = new Uint8Array(40 + segment.length);
  pkt[0] = 0x60;
  put16(pkt, 4, segment.length);
  pkt[6] = proto === IPPROTO_ICMP ? IPPROTO_ICMPV6 : proto;
  pkt[7] = ttl;
  const src = parseIpv6(ends.src);
  const dst = parseIpv6(ends.dst);
  for (let i = 0; i < 4; i++) {
    put32(pkt, 8 + 4 * i, src[i]);
    put32(pkt, 24 + 4 * i, dst[i]);
  }
  pkt.set(segment, 40);
  put16(pkt, 40 + checksumAt, transportChecksum(pkt, 0, checksumAt));
  return pkt;
}

export interface IcmpEchoOptions extends IpEnds {
  id?: number;
  seq?: number;
  /** Payload bytes (filled with 0xa5). @default 8 */
  payloadLen?: number;
  /** Build an echo reply instead of a request. */
  reply?: boolean;
}

/** An ICMP (IPv4) or ICMPv6 echo request/reply. */
export function buildIcmpEcho(opts: IcmpEchoOptions): Uint8Array {
  const v6 = opts.src.includes(":");
  const seg = new Uint8Array(8 + (opts.payloadLen ?? 8)).fill(0xa5);
  seg[0] = v6 ? (opts.reply ? 129 : 128) : (opts.reply ? 0 : 8);
  seg[1] = 0;
  put16(seg, 2, 0);
  put16(seg, 4, opts.id ?? 1);
  put16(seg, 6, opts.seq ?? 1);
  return wrapIp(opts, IPPROTO_ICMP, seg, 2);
}

export interface UdpOptions extends IpEnds {
  srcPort: number;
  dstPort: number;
  payload?: Uint8Array;
}

/** A UDP datagram over IPv4 or IPv6. */
export function buildUdp(opts: UdpOptions): Uint8Array {
  const payload = opts.payload ?? new Uint8Array(0);
  const seg = new Uint8Array(8 + payload.length);
  put16(seg, 0, opts.srcPort);
  put16(seg, 2, opts.dstPort);
  put16(seg, 4, seg.length);
  seg.set(payload, 8);
  return wrapIp(opts, IPPROTO_UDP, seg, 6);
}

export interface TcpSynOptions extends IpEnds {
  srcPort: number;
  dstPort: number;
  /** MSS option value; omit for a SYN without the option. */
  mss?: number;
  /** Build a SYN-ACK. */
  ack?: boolean;
  /** Raw option bytes placed before the MSS option (e.g. [1] for one NOP). */
  optionsBefore?: number[];
  /** Raw option bytes placed after the MSS option. */
  optionsAfter?: number[];
}

/** A TCP SYN (or SYN-ACK) with an optional MSS option, options padded with EOL to 4 bytes. */
export function buildTcpSyn(opts: TcpSynOptions): Uint8Array {
  const options: number[] = [...(opts.optionsBefore ?? [])];
  if (opts.mss !== undefined) options.push(2, 4, (opts.mss >> 8) & 0xff, opts.mss & 0xff);
  options.push(...(opts.optionsAfter ?? []));
  while (options.length % 4 !== 0) options.push(0);
  const seg = new Uint8Array(20 + options.length);
  put16(seg, 0, opts.srcPort);
  put16(seg, 2, opts.dstPort);
  put32(seg, 4, 0x01020304);
  put32(seg, 8, opts.ack ? 0x0a0b0c0d : 0);
  seg[12] = (seg.length / 4) << 4;
  seg[13] = opts.ack ? 0x12 : 0x02;
  put16(seg, 14, 64240);
  seg.set(options, 20);
  return wrapIp(opts, IPPROTO_TCP, seg, 16);
}

export interface EthernetOptions {
  dst: string;
  src: string;
  /** EtherType; defaults from the payload's IP version (0x0800/0x86dd), else 0x0806. */
  type?: number;
  payload?: Uint8Array;
}

/** An Ethernet II frame. */
export function buildEthernet(opts: EthernetOptions): Uint8Array {
  const payload = opts.payload ?? new Uint8Array(0);
  const frame = new Uint8Array(14 + payload.length);
  const dst = parseMac(opts.dst);
  const src = parseMac(opts.src);
  put16(frame, 0, Math.floor(dst / 2 ** 32));
  put32(frame, 2, dst % 2 ** 32);
  put16(frame, 6, Math.floor(src / 2 ** 32));
  put32(frame, 8, src % 2 ** 32);
  const version = payload.length > 0 ? payload[0] >> 4 : 0;
  put16(frame, 12, opts.type ?? (version === 4 ? 0x0800 : version === 6 ? 0x86dd : 0x0806));
  frame.set(payload, 14);
  return frame;
}

/** Recomputes the transport checksum of a built packet and compares it with the stored one. */
export function transportChecksumOk(pkt: Uint8Array, off = 0): boolean {
  const v6 = pkt[off] >> 4 === 6;
  const proto = v6 ? pkt[off + 6] : pkt[off + 9];
  const at = proto === IPPROTO_TCP ? 16 : proto === IPPROTO_UDP ? 6 : 2;
  const seg = off + (v6 ? 40 : (pkt[off] & 0x0f) * 4);
  const stored = (pkt[seg + at] << 8) | pkt[seg + at + 1];
  return stored === transportChecksum(pkt, off, at, v6 || proto !== IPPROTO_ICMP);
}
