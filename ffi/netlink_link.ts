/**
 * rtnetlink link messages (RTM_GETLINK, RTM_NEWLINK): the ifinfomsg header
 * and the IFLA_* attributes tsvpn reads and sets (name, MTU, IFF_UP).
 *
 *   ifinfomsg (16): family u8 | pad u8 | type u16 | index i32 | flags u32 | change u32
 */

import { AF_UNSPEC } from "./libc.ts";
import { attrString, attrU32, cStringAt, forEachAttr, u32At } from "./netlink_attr.ts";
import {
  encodeMessage,
  IFINFOMSG_LEN,
  NLM_F_ACK,
  NLM_F_REQUEST,
  type NlMessage,
  RTM_GETLINK,
  RTM_NEWLINK,
} from "./netlink_message.ts";

export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFF_UP = 0x1;

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
