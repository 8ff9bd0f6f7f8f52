/**
 * rtnetlink route messages (RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE): the
 * rtmsg header and the RTA_* attributes of a route, shaped like iproute2's.
 *
 *   rtmsg (12): family u8 | dst_len u8 | src_len u8 | tos u8 |
 *               table u8 | protocol u8 | scope u8 | type u8 | flags u32
 */

import { AF_INET6 } from "./libc.ts";
import { bytesToIp, type IpBytes, type PrefixBytes } from "./ip_bytes.ts";
import { type Attr, attrU32, forEachAttr, u32At } from "./netlink_attr.ts";
import {
  encodeMessage,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  type NlMessage,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTMSG_LEN,
} from "./netlink_message.ts";

export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_TABLE = 15;

export const RT_TABLE_MAIN = 254;
export const RTPROT_BOOT = 3;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_NOWHERE = 255;
export const RTN_UNICAST = 1;

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
