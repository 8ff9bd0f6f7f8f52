/**
 * rtnetlink message encoding and decoding: pure functions over bytes, no I/O.
 *
 * Every message is an nlmsghdr followed by a fixed family header and then
 * type-length-value attributes, all host-endian (little-endian on the
 * machines tsvpn targets) and padded to 4 bytes:
 *
 *   0               4       6       8              12             16
 *   +---------------+-------+-------+---------------+---------------+
 *   | nlmsg_len     | type  | flags | nlmsg_seq     | nlmsg_pid     |
 *   +---------------+-------+-------+---------------+---------------+
 *   | family header: ifinfomsg (16) | ifaddrmsg (8) | rtmsg (12)    |
 *   +---------------------------------------------------------------+
 *   | rta_len (u16) | rta_type (u16) | payload ... | pad to 4       |  x N
 *   +---------------------------------------------------------------+
 *
 * Decoders take (buf, off, len) of one message's payload and return null
 * for anything malformed; they never throw.
 */

import { formatIpv4, formatIpv6, ipv6FromBytes, tryParseIpv4, tryParseIpv6 } from "../src/addr/ip.ts";

// <linux/netlink.h>
export const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** In an error/ack: the echoed request was capped to its header. */
export const NLM_F_CAPPED = 0x100;
/** In an error/ack: extended-ack TLVs follow. */
export const NLM_F_ACK_TLVS = 0x200;
export const NLMSGERR_ATTR_MSG = 1;

// <linux/rtnetlink.h>
export const RTM_NEWLINK = 16;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;

export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_TABLE = 15;

export const IFF_UP = 0x1;
export const RT_TABLE_MAIN = 254;
export const RTPROT_BOOT = 3;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_NOWHERE = 255;
export const RTN_UNICAST = 1;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

const IFINFOMSG_LEN = 16;
const IFADDRMSG_LEN = 8;
const RTMSG_LEN = 12;

/** One rtattr to encode. */
export interface Attr {
  type: number;
  data: Uint8Array;
}

export function attrU32(type: number, value: number): Attr {
  const data = new Uint8Array(4);
  new DataView(data.buffer).setUint32(0, value >>> 0, true);
  return { type, data };
}

/** A NUL-terminated string attribute (IFLA_IFNAME and friends). */
export function attrString(type: number, value: string): Attr {
  const bytes = new TextEncoder().encode(value);
  const data = new Uint8Array(bytes.length + 1);
  data.set(bytes);
  return { type, data };
}

const align4 = (n: number) => (n + 3) & ~3;

/** Serialises nlmsghdr + fixed header + attributes into one message. */
export function encodeMessage(
  type: number,
  flags: number,
  seq: number,
  header: Uint8Array,
  attrs: readonly Attr[] = [],
): Uint8Array<ArrayBuffer> {
  let len = NLMSG_HDRLEN + align4(header.length);
  for (const a of attrs) len += align4(4 + a.data.length);
  const out = new Uint8Array(len);
  const view = new DataView(out.buffer);
  view.setUint32(0, len, true);
  view.setUint16(4, type, true);
  view.setUint16(6, flags, true);
  view.setUint32(8, seq >>> 0, true);
  view.setUint32(12, 0, true);
  out.set(header, NLMSG_HDRLEN);
  let off = NLMSG_HDRLEN + align4(header.length);
  for (const a of attrs) {
    view.setUint16(off, 4 + a.data.length, true);
    view.setUint16(off + 2, a.type, true);
    out.set(a.data, off + 4);
    off += align4(4 + a.data.length);
  }
  return out;
}

// -- Addresses --

/** An address family and its network-order bytes (4 or 16). */
export interface IpBytes {
  family: typeof AF_INET | typeof AF_INET6;
  bytes: Uint8Array;
}

/** Parses IPv4/IPv6 text into bytes, or null when it is neither. */
export function ipToBytes(text: string): IpBytes | null {
  const v4 = tryParseIpv4(text);
  if (v4 >= 0) {
    return {
      family: AF_INET,
      bytes: new Uint8Array([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255]),
    };
  }
  const v6 = tryParseIpv6(text);
  if (v6 === null) return null;
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 4; i++) {
    bytes[4 * i] = v6[i] >>> 24;
    bytes[4 * i + 1] = (v6[i] >>> 16) & 255;
    bytes[4 * i + 2] = (v6[i] >>> 8) & 255;
    bytes[4 * i + 3] = v6[i] & 255;
  }
  return { family: AF_INET6, bytes };
}

/** Formats 4 or 16 address bytes at `off` as text; null for any other length. */
export function bytesToIp(buf: Uint8Array, off: number, len: number): string | null {
  if (len === 4) {
    return formatIpv4(((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0);
  }
  if (len === 16) return formatIpv6(ipv6FromBytes(buf, off));
  return null;
}

/** A parsed "address/len" prefix (host bits are kept as given). */
export interface PrefixBytes extends IpBytes {
  prefixLen: number;
}

/** Parses "10.8.0.0/24", "fd00::/64", "default" (IPv4 0/0) or a bare address (host prefix). */
export function parsePrefixText(text: string): PrefixBytes | null {
  if (text === "default") return { family: AF_INET, bytes: new Uint8Array(4), prefixLen: 0 };
  const slash = text.indexOf("/");
  const ip = ipToBytes(slash < 0 ? text : text.slice(0, slash));
  if (ip === null) return null;
  const max = ip.family === AF_INET ? 32 : 128;
  if (slash < 0) return { ...ip, prefixLen: max };
  const lenText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return null;
  const prefixLen = Number(lenText);
  if (prefixLen > max) return null;
  return { ...ip, prefixLen };
}

// -- Requests --

function ifinfomsg(family: number, index: number, flags: number, change: number): Uint8Array {
  const h = new Uint8Array(IFINFOMSG_LEN);
  const v = new DataView(h.buffer);
  h[0] = family;
  v.setInt32(4, index, true);
  v.setUint32(8, flags, true);
  v.setUint32(12, change, true);
  return h;
}

/** RTM_GETLINK for one interface by name (reply: RTM_NEWLINK, then the ack). */
export function encodeGetLink(seq: number, name: string): Uint8Array<ArrayBuffer> {
  return encodeMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfomsg(AF_UNSPEC, 0, 0, 0), [
    attrString(IFLA_IFNAME, name),
  ]);
}

export interface SetLink {
  name: string;
  up?: boolean;
  mtu?: number;
}

/** RTM_NEWLINK on an existing interface (no NLM_F_CREATE): flags and/or MTU. */
export function encodeSetLink(seq: number, change: SetLink): Uint8Array<ArrayBuffer> {
  const attrs = [attrString(IFLA_IFNAME, change.name)];
  if (change.mtu !== undefined) attrs.push(attrU32(IFLA_MTU, change.mtu));
  const header = change.up === undefined
    ? ifinfomsg(AF_UNSPEC, 0, 0, 0)
    : ifinfomsg(AF_UNSPEC, 0, change.up ? IFF_UP : 0, IFF_UP);
  return encodeMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, header, attrs);
}

/** A dump request (NLM_F_DUMP) of links, addresses or routes of a family. */
export function encodeDump(
  seq: number,
  type: typeof RTM_GETLINK | typeof RTM_GETADDR | typeof RTM_GETROUTE,
  family = AF_UNSPEC,
): Uint8Array<ArrayBuffer> {
  const size = type === RTM_GETLINK ? IFINFOMSG_LEN : type === RTM_GETADDR ? IFADDRMSG_LEN : RTMSG_LEN;
  const header = new Uint8Array(size);
  header[0] = family;
  return encodeMessage(type, NLM_F_REQUEST | NLM_F_DUMP | NLM_F_ACK, seq, header);
}

export interface AddrRequest {
  index: number;
  local: IpBytes;
  prefixLen: number;
  /** Point-to-point peer; IFA_ADDRESS equals IFA_LOCAL without one. */
  peer?: IpBytes;
}

/** RTM_NEWADDR (create, fail if it exists) or RTM_DELADDR. */
export function encodeAddr(seq: number, op: "add" | "del", req: AddrRequest): Uint8Array<ArrayBuffer> {
  const header = new Uint8Array(IFADDRMSG_LEN);
  header[0] = req.local.family;
  header[1] = req.prefixLen;
  header[3] = RT_SCOPE_UNIVERSE;
  new DataView(header.buffer).setUint32(4, req.index, true);
  const attrs: Attr[] = [
    { type: IFA_LOCAL, data: req.local.bytes },
    { type: IFA_ADDRESS, data: (req.peer ?? req.local).bytes },
  ];
  return op === "add"
    ? encodeMessage(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, header, attrs)
    : encodeMessage(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, seq, header, attrs);
}

export interface RouteRequest {
  dst: PrefixBytes;
  gateway?: IpBytes;
  oif?: number;
  metric?: number;
  prefsrc?: IpBytes;
  /** @default RT_TABLE_MAIN */
  table?: number;
}

/**
 * RTM_NEWROUTE (create, fail if it exists) or RTM_DELROUTE, shaped like
 * iproute2's: adds are unicast/boot-protocol, link-scoped without a gateway;
 * deletes leave type, protocol and scope as wildcards.
 */
export function encodeRoute(seq: number, op: "add" | "del", req: RouteRequest): Uint8Array<ArrayBuffer> {
  const table = req.table ?? RT_TABLE_MAIN;
  const header = new Uint8Array(RTMSG_LEN);
  header[0] = req.dst.family;
  header[1] = req.dst.prefixLen;
  header[4] = table < 256 ? table : 0;
  if (op === "add") {
    header[5] = RTPROT_BOOT;
    header[6] = req.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    header[7] = RTN_UNICAST;
  } else {
    header[6] = RT_SCOPE_NOWHERE;
  }
  const attrs: Attr[] = [];
  if (req.dst.prefixLen > 0) attrs.push({ type: RTA_DST, data: req.dst.bytes });
  if (table >= 256) attrs.push(attrU32(RTA_TABLE, table));
  if (req.gateway) attrs.push({ type: RTA_GATEWAY, data: req.gateway.bytes });
  if (req.oif !== undefined) attrs.push(attrU32(RTA_OIF, req.oif));
  if (req.metric !== undefined) attrs.push(attrU32(RTA_PRIORITY, req.metric));
  if (req.prefsrc) attrs.push({ type: RTA_PREFSRC, data: req.prefsrc.bytes });
  return op === "add"
    ? encodeMessage(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, header, attrs)
    : encodeMessage(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, seq, header, attrs);
}

/** RTM_GETROUTE for one destination address, like `ip route get`. */
export function encodeRouteGet(seq: number, dst: IpBytes): Uint8Array<ArrayBuffer> {
  const header = new Uint8Array(RTMSG_LEN);
  header[0] = dst.family;
  header[1] = dst.bytes.length * 8;
  return encodeMessage(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK, seq, header, [{
    type: RTA_DST,
    data: dst.bytes,
  }]);
}

// -- Replies --

/** One message inside a received datagram; `off`/`len` delimit its payload. */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  off: number;
  len: number;
}

/**
 * Splits `buf[0 .. len)` into messages. Stops at the first truncated or
 * malformed header (the rest of a broken datagram is unusable anyway).
 */
export function splitMessages(buf: Uint8Array, len: number): NlMessage[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: NlMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= len) {
    const msgLen = view.getUint32(off, true);
    if (msgLen < NLMSG_HDRLEN || off + msgLen > len) break;
    out.push({
      type: view.getUint16(off + 4, true),
      flags: view.getUint16(off + 6, true),
      seq: view.getUint32(off + 8, true),
      pid: view.getUint32(off + 12, true),
      off: off + NLMSG_HDRLEN,
      len: msgLen - NLMSG_HDRLEN,
    });
    off += align4(msgLen);
  }
  return out;
}

/** Walks the attributes in `buf[off .. off + len)`; calls `fn(type, dataOff, dataLen)`. */
export function forEachAttr(
  buf: Uint8Array,
  off: number,
  len: number,
  fn: (type: number, dataOff: number, dataLen: number) => void,
): void {
  const end = off + len;
  while (off + 4 <= end) {
    const attrLen = buf[off] | (buf[off + 1] << 8);
    if (attrLen < 4 || off + attrLen > end) return;
    // Strip NLA_F_NESTED / NLA_F_NET_BYTEORDER.
    const type = (buf[off + 2] | (buf[off + 3] << 8)) & 0x3fff;
    fn(type, off + 4, attrLen - 4);
    off += align4(attrLen);
  }
}

function u32At(buf: Uint8Array, off: number): number {
  return (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
}

function cStringAt(buf: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && buf[end] !== 0) end++;
  return new TextDecoder().decode(buf.subarray(off, end));
}

/** An NLMSG_ERROR payload: errno 0 is an ack; `message` is the kernel's extended-ack text. */
export interface NlError {
  /** Positive errno, or 0 for an ack. */
  errno: number;
  /** Sequence number of the request this answers. */
  seq: number;
  message?: string;
}

/** Decodes an NLMSG_ERROR message (header flags are needed to find extended-ack TLVs). */
export function decodeError(buf: Uint8Array, msg: NlMessage): NlError | null {
  if (msg.len < 4 + NLMSG_HDRLEN) return null;
  const code = u32At(buf, msg.off) | 0;
  const origLen = u32At(buf, msg.off + 4);
  const origSeq = u32At(buf, msg.off + 4 + 8);
  const result: NlError = { errno: 0 - code, seq: origSeq };
  if (msg.flags & NLM_F_ACK_TLVS) {
    const echoed = msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : align4(origLen);
    const tlvOff = msg.off + 4 + echoed;
    if (tlvOff <= msg.off + msg.len) {
      forEachAttr(buf, tlvOff, msg.off + msg.len - tlvOff, (type, o, l) => {
        if (type === NLMSGERR_ATTR_MSG) result.message = cStringAt(buf, o, l);
      });
    }
  }
  return result;
}

/** The int error code carried by NLMSG_DONE (negative errno when a dump failed). */
export function decodeDone(buf: Uint8Array, msg: NlMessage): number {
  return msg.len >= 4 ? 0 - (u32At(buf, msg.off) | 0) : 0;
}

export interface LinkMessage {
  index: number;
  name: string;
  mtu: number;
  flags: number;
}

/** Decodes an RTM_NEWLINK payload. */
export function decodeLink(buf: Uint8Array, msg: NlMessage): LinkMessage | null {
  if (msg.len < IFINFOMSG_LEN) return null;
  const link: LinkMessage = {
    index: u32At(buf, msg.off + 4) | 0,
    flags: u32At(buf, msg.off + 8),
    name: "",
    mtu: 0,
  };
  forEachAttr(buf, msg.off + IFINFOMSG_LEN, msg.len - IFINFOMSG_LEN, (type, o, l) => {
    if (type === IFLA_IFNAME) link.name = cStringAt(buf, o, l);
    else if (type === IFLA_MTU && l >= 4) link.mtu = u32At(buf, o);
  });
  return link;
}

export interface AddrMessage {
  family: number;
  prefixLen: number;
  index: number;
  scope: number;
  local?: string;
  address?: string;
}

/** Decodes an RTM_NEWADDR payload. */
export function decodeAddr(buf: Uint8Array, msg: NlMessage): AddrMessage | null {
  if (msg.len < IFADDRMSG_LEN) return null;
  const addr: AddrMessage = {
    family: buf[msg.off],
    prefixLen: buf[msg.off + 1],
    scope: buf[msg.off + 3],
    index: u32At(buf, msg.off + 4),
  };
  forEachAttr(buf, msg.off + IFADDRMSG_LEN, msg.len - IFADDRMSG_LEN, (type, o, l) => {
    if (type === IFA_LOCAL) addr.local = bytesToIp(buf, o, l) ?? undefined;
    else if (type === IFA_ADDRESS) addr.address = bytesToIp(buf, o, l) ?? undefined;
  });
  return addr;
}

export interface RouteMessage {
  family: number;
  dstLen: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  dst?: string;
  gateway?: string;
  oif?: number;
  priority?: number;
  prefsrc?: string;
}

/** Decodes an RTM_NEWROUTE payload. */
export function decodeRoute(buf: Uint8Array, msg: NlMessage): RouteMessage | null {
  if (msg.len < RTMSG_LEN) return null;
  const b = msg.off;
  const route: RouteMessage = {
    family: buf[b],
    dstLen: buf[b + 1],
    table: buf[b + 4],
    protocol: buf[b + 5],
    scope: buf[b + 6],
    type: buf[b + 7],
  };
  forEachAttr(buf, b + RTMSG_LEN, msg.len - RTMSG_LEN, (type, o, l) => {
    if (type === RTA_DST) route.dst = bytesToIp(buf, o, l) ?? undefined;
    else if (type === RTA_GATEWAY) route.gateway = bytesToIp(buf, o, l) ?? undefined;
    else if (type === RTA_PREFSRC) route.prefsrc = bytesToIp(buf, o, l) ?? undefined;
    else if (type === RTA_OIF && l >= 4) route.oif = u32At(buf, o);
    else if (type === RTA_PRIORITY && l >= 4) route.priority = u32At(buf, o);
    else if (type === RTA_TABLE && l >= 4) route.table = u32At(buf, o);
  });
  return route;
}

/** "dst/len" text of a decoded route; the zero address when RTA_DST is absent. */
export function routeDstText(route: RouteMessage): string {
  const dst = route.dst ?? (route.family === AF_INET6 ? "::" : "0.0.0.0");
  return `${dst}/${route.dstLen}`;
}
