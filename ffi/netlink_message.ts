/**
 * rtnetlink messages: the nlmsghdr, building a request, splitting a reply
 * datagram into messages, and the error/ack and done messages. Pure
 * functions over bytes, no I/O.
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
 * for anything malformed; they never throw. Attributes: `netlink_attr.ts`;
 * the family headers and attributes of links, addresses and routes:
 * `netlink_link.ts`, `netlink_addr.ts`, `netlink_route.ts`.
 */

import { AF_UNSPEC } from "./libc.ts";
import { align4, type Attr, cStringAt, forEachAttr, u32At } from "./netlink_attr.ts";

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

/** Fixed family headers: ifinfomsg (links), ifaddrmsg (addresses), rtmsg (routes). */
export const IFINFOMSG_LEN = 16;
export const IFADDRMSG_LEN = 8;
export const RTMSG_LEN = 12;

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
