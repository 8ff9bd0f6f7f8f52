/**
 * Packets the JIT warm-up (warm_up.ts) pushes through a throwaway datapath:
 * the mix real tunnels carry, so that every branch real traffic takes has
 * type feedback before the optimizing compiler runs. A branch first taken by
 * real traffic deoptimizes the whole inlined packet path, which then runs
 * 5–10× slower until V8 re-optimizes it — hundreds of packets later, i.e.
 * never for sparse traffic such as pings or keepalives.
 */

import { ipv4HeaderChecksum, transportChecksum } from "../packet/checksum.ts";

export const WARM_LOCAL4 = 0x0a636301; // 10.99.99.1: the "host" side
export const WARM_PEER4 = 0x0a636302; // 10.99.99.2: the peer's inner address
/** 10.99.98.0/24 and fd99:0:0:1::/64: routed by prefix, not host route (the route table's other path). */
export const WARM_NET4 = "10.99.98.0/24";
export const WARM_NET6 = "fd99:0:0:1::/64";
/** fd99::1 (host) and fd99::2 (peer): last byte differs. */
export const WARM_LOCAL6_LAST = 1;
export const WARM_PEER6_LAST = 2;
export const WARM_LOCAL6 = "fd99::1";
export const WARM_PEER6 = "fd99::2";

const TCP = 6;
const ICMP = 1;
const ICMPV6 = 58;
const TCP_ACK = 0x10;
const TCP_SYN = 0x02;

/** Kinds of packet in the mix: TCP data (coalescible runs), a SYN (MSS clamping), ICMP, IPv6, multicast. */
export const WarmKind = {
  Tcp4: 0,
  Syn4: 1,
  Icmp4: 2,
  Tcp6: 3,
  Icmp6: 4,
  Multicast4: 5,
  Multicast6: 6,
} as const;
export type WarmKind = typeof WarmKind[keyof typeof WarmKind];

/** The kind of packet `i` of round `round`: mostly TCP runs, each other kind regularly. */
export function warmKind(round: number, i: number): WarmKind {
  if (i < 4) return WarmKind.Tcp4;
  const k = (round + i) % 8;
  if (k === 0) return WarmKind.Syn4;
  if (k === 1 || k === 5) return WarmKind.Icmp4;
  if (k === 2) return WarmKind.Tcp6;
  if (k === 3 || k === 6) return WarmKind.Icmp6;
  if (k === 4) return round % 16 < 8 ? WarmKind.Multicast4 : WarmKind.Multicast6;
  return WarmKind.Tcp4;
}

/**
 * Writes a packet of `kind` from the host to the peer at buf[off..) and
 * returns its length; `seq` is the TCP sequence number.
 */
export function warmPacket(buf: Uint8Array, off: number, kind: WarmKind, seq: number): number {
  switch (kind) {
    case WarmKind.Tcp4:
      return ipv4(buf, off, WARM_PEER4, TCP, TCP_ACK, seq, 1360);
    case WarmKind.Syn4:
      return ipv4(buf, off, WARM_PEER4, TCP, TCP_SYN, seq, 0);
    case WarmKind.Icmp4:
      // Every other one into WARM_NET4.
      return ipv4(buf, off, (seq & 1) === 0 ? WARM_PEER4 : 0x0a636200 | (seq & 0xfe), ICMP, 0, 0, 56);
    case WarmKind.Multicast4:
      return ipv4(buf, off, 0xe00000fb, ICMP, 0, 0, 8);
    case WarmKind.Tcp6:
      return ipv6(buf, off, false, TCP, TCP_ACK, seq, 1200);
    case WarmKind.Icmp6:
      return ipv6(buf, off, false, ICMPV6, 0, seq, 56);
    case WarmKind.Multicast6:
      return ipv6(buf, off, true, ICMPV6, 0, 0, 8);
  }
}

function ipv4(
  buf: Uint8Array,
  off: number,
  dst: number,
  proto: number,
  flags: number,
  seq: number,
  payload: number,
) {
  const transport = proto === TCP ? (flags === TCP_SYN ? 24 : 20) : 8;
  const len = 20 + transport + payload;
  buf.fill(0, off, off + len);
  buf[off] = 0x45;
  buf[off + 2] = len >> 8;
  buf[off + 3] = len & 0xff;
  buf[off + 6] = 0x40;
  buf[off + 8] = 64;
  buf[off + 9] = proto;
  writeU32(buf, off + 12, WARM_LOCAL4);
  writeU32(buf, off + 16, dst);
  const c = ipv4HeaderChecksum(buf, off);
  buf[off + 10] = c >> 8;
  buf[off + 11] = c & 0xff;
  if (proto === TCP) tcp(buf, off, off + 20, flags, seq);
  else icmp(buf, off, off + 20, 8, false);
  return len;
}

function ipv6(
  buf: Uint8Array,
  off: number,
  multicast: boolean,
  next: number,
  flags: number,
  seq: number,
  payload: number,
) {
  const transport = next === TCP ? 20 : 8;
  const len = 40 + transport + payload;
  buf.fill(0, off, off + len);
  buf[off] = 0x60;
  buf[off + 4] = (transport + payload) >> 8;
  buf[off + 5] = (transport + payload) & 0xff;
  buf[off + 6] = next;
  buf[off + 7] = 64;
  buf[off + 8] = 0xfd;
  buf[off + 9] = 0x99;
  buf[off + 23] = WARM_LOCAL6_LAST;
  if (multicast) {
    buf[off + 24] = 0xff;
    buf[off + 25] = 0x02;
    buf[off + 39] = 1;
  } else {
    buf[off + 24] = 0xfd;
    buf[off + 25] = 0x99;
    if (next !== TCP && (seq & 1) === 1) {
      // Into WARM_NET6.
      buf[off + 31] = 1;
      buf[off + 39] = seq & 0xff;
    } else buf[off + 39] = WARM_PEER6_LAST;
  }
  if (next === TCP) tcp(buf, off, off + 40, flags, seq);
  else icmp(buf, off, off + 40, 128, true);
  return len;
}

function tcp(buf: Uint8Array, ip: number, t: number, flags: number, seq: number): void {
  buf[t] = 0x9c;
  buf[t + 1] = 0x40;
  buf[t + 2] = 0x14;
  buf[t + 3] = 0x51;
  writeU32(buf, t + 4, seq);
  buf[t + 12] = flags === TCP_SYN ? 0x60 : 0x50;
  buf[t + 13] = flags;
  buf[t + 14] = 0xff;
  if (flags === TCP_SYN) {
    // MSS option 1460, so a configured mssfix clamps it.
    buf[t + 20] = 2;
    buf[t + 21] = 4;
    buf[t + 22] = 0x05;
    buf[t + 23] = 0xb4;
  }
  const k = transportChecksum(buf, ip, 16);
  buf[t + 16] = k >> 8;
  buf[t + 17] = k & 0xff;
}

function icmp(buf: Uint8Array, ip: number, t: number, type: number, pseudo: boolean): void {
  buf[t] = type;
  const k = transportChecksum(buf, ip, 2, pseudo);
  buf[t + 2] = k >> 8;
  buf[t + 3] = k & 0xff;
}

function writeU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = (v >>> 16) & 0xff;
  buf[at + 2] = (v >>> 8) & 0xff;
  buf[at + 3] = v & 0xff;
}
