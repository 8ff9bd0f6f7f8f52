/**
 * rtnetlink address messages (RTM_NEWADDR, RTM_DELADDR): the ifaddrmsg
 * header and the IFA_LOCAL / IFA_ADDRESS attributes (point-to-point peers).
 *
 *   ifaddrmsg (8): family u8 | prefixlen u8 | flags u8 | scope u8 | index u32
 */

import { bytesToIp, type IpBytes } from "./ip_bytes.ts";
import { type Attr, forEachAttr, u32At } from "./netlink_attr.ts";
import {
  encodeMessage,
  IFADDRMSG_LEN,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  type NlMessage,
  RTM_DELADDR,
  RTM_NEWADDR,
} from "./netlink_message.ts";
import { RT_SCOPE_UNIVERSE } from "./netlink_route.ts";

export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;

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
