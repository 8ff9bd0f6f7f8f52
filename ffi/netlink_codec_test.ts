import assert from "node:assert/strict";
import { bytesToIp, ipToBytes, parsePrefixText } from "./ip_bytes.ts";
import { AF_INET, AF_INET6 } from "./libc.ts";
import { decodeAddr, encodeAddr, IFA_ADDRESS, IFA_LOCAL } from "./netlink_addr.ts";
import { attrString, attrU32, forEachAttr } from "./netlink_attr.ts";
import { decodeLink, encodeGetLink, encodeSetLink, IFF_UP, IFLA_IFNAME, IFLA_MTU } from "./netlink_link.ts";
import {
  decodeDone,
  decodeError,
  encodeDump,
  encodeMessage,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  RTM_DELADDR,
  RTM_DELROUTE,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  splitMessages,
} from "./netlink_message.ts";
import {
  decodeRoute,
  encodeRoute,
  encodeRouteGet,
  routeDstText,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RTA_DST,
  RTA_GATEWAY,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTN_UNICAST,
  RTPROT_BOOT,
} from "./netlink_route.ts";

function attrsOf(msg: Uint8Array, fixedLen: number): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  forEachAttr(msg, 16 + fixedLen, msg.length - 16 - fixedLen, (t, o, l) => out.set(t, msg.slice(o, o + l)));
  return out;
}

function hdr(msg: Uint8Array) {
  const v = new DataView(msg.buffer, msg.byteOffset);
  return {
    len: v.getUint32(0, true),
    type: v.getUint16(4, true),
    flags: v.getUint16(6, true),
    seq: v.getUint32(8, true),
  };
}

// -- encodeMessage --

Deno.test("encodeMessage() lays out header, fixed part and padded attributes", () => {
  const msg = encodeMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 0x01020304, new Uint8Array(16), [
    attrString(IFLA_IFNAME, "tun0"),
    attrU32(IFLA_MTU, 1400),
  ]);
  // 16 header + 16 ifinfomsg + (4+5 → 12) + (4+4 = 8)
  assert.equal(msg.length, 52);
  assert.deepEqual(hdr(msg), { len: 52, type: RTM_GETLINK, flags: 5, seq: 0x01020304 });
  assert.deepEqual([...msg.subarray(32, 44)], [9, 0, 3, 0, 0x74, 0x75, 0x6e, 0x30, 0, 0, 0, 0]);
  assert.deepEqual([...msg.subarray(44, 52)], [8, 0, 4, 0, 0x78, 0x05, 0, 0]);
});

// -- addresses --

Deno.test("ipToBytes() parses both families and rejects other text", () => {
  assert.deepEqual(ipToBytes("10.8.0.1"), { family: AF_INET, bytes: new Uint8Array([10, 8, 0, 1]) });
  const v6 = ipToBytes("fd00:8::1");
  assert.equal(v6?.family, AF_INET6);
  assert.deepEqual([...v6!.bytes], [0xfd, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.equal(ipToBytes("10.8.0"), null);
  assert.equal(ipToBytes("tun0"), null);
});

Deno.test("bytesToIp() formats 4 and 16 bytes and refuses other lengths", () => {
  assert.equal(bytesToIp(new Uint8Array([0, 192, 168, 1, 9]), 1, 4), "192.168.1.9");
  assert.equal(bytesToIp(ipToBytes("fe80::1:2")!.bytes, 0, 16), "fe80::1:2");
  assert.equal(bytesToIp(new Uint8Array(8), 0, 8), null);
});

Deno.test("parsePrefixText() reads prefixes, bare hosts and default", () => {
  assert.deepEqual(parsePrefixText("10.9.0.0/24"), {
    family: AF_INET,
    bytes: new Uint8Array([10, 9, 0, 0]),
    prefixLen: 24,
  });
  assert.equal(parsePrefixText("10.9.0.7")?.prefixLen, 32);
  assert.equal(parsePrefixText("fd00::/8")?.prefixLen, 8);
  assert.equal(parsePrefixText("default")?.prefixLen, 0);
  assert.equal(parsePrefixText("10.0.0.0/33"), null);
  assert.equal(parsePrefixText("fd00::/129"), null);
  assert.equal(parsePrefixText("10.0.0.0/08"), null);
  assert.equal(parsePrefixText("10.0.0.0/"), null);
});

// -- requests --

Deno.test("encodeGetLink() asks for one link by name with an ack", () => {
  const msg = encodeGetLink(7, "tsv-a");
  assert.deepEqual(hdr(msg), {
    len: msg.length,
    type: RTM_GETLINK,
    flags: NLM_F_REQUEST | NLM_F_ACK,
    seq: 7,
  });
  assert.equal(new TextDecoder().decode(attrsOf(msg, 16).get(IFLA_IFNAME)), "tsv-a\0");
});

Deno.test("encodeSetLink() changes only IFF_UP and carries the MTU when asked", () => {
  const up = encodeSetLink(1, { name: "t0", up: true });
  const v = new DataView(up.buffer);
  assert.equal(hdr(up).type, RTM_NEWLINK);
  assert.equal(hdr(up).flags & NLM_F_CREATE, 0);
  assert.equal(v.getUint32(24, true), IFF_UP); // ifi_flags
  assert.equal(v.getUint32(28, true), IFF_UP); // ifi_change
  const down = new DataView(encodeSetLink(1, { name: "t0", up: false }).buffer);
  assert.equal(down.getUint32(24, true), 0);
  assert.equal(down.getUint32(28, true), IFF_UP);
  const mtu = encodeSetLink(2, { name: "t0", mtu: 1280 });
  assert.equal(new DataView(mtu.buffer).getUint32(28, true), 0);
  assert.equal(new DataView(attrsOf(mtu, 16).get(IFLA_MTU)!.buffer).getUint32(0, true), 1280);
});

Deno.test("encodeDump() sets NLM_F_DUMP and the family-sized header", () => {
  for (const [type, size] of [[RTM_GETLINK, 16], [RTM_GETADDR, 8], [RTM_GETROUTE, 12]] as const) {
    const msg = encodeDump(3, type, AF_INET6);
    assert.equal(msg.length, 16 + size);
    assert.equal(hdr(msg).flags, NLM_F_REQUEST | NLM_F_DUMP | NLM_F_ACK);
    assert.equal(msg[16], AF_INET6);
  }
});

Deno.test("encodeAddr() puts IFA_LOCAL and a peer IFA_ADDRESS, and decodeAddr() reads them back", () => {
  const local = ipToBytes("10.8.0.1")!;
  const add = encodeAddr(9, "add", { index: 5, local, prefixLen: 32, peer: ipToBytes("10.8.0.2")! });
  assert.equal(hdr(add).type, RTM_NEWADDR);
  assert.equal(hdr(add).flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  const decoded = decodeAddr(add, {
    type: RTM_NEWADDR,
    flags: 0,
    seq: 9,
    pid: 0,
    off: 16,
    len: add.length - 16,
  });
  assert.deepEqual(decoded, {
    family: AF_INET,
    prefixLen: 32,
    scope: RT_SCOPE_UNIVERSE,
    index: 5,
    local: "10.8.0.1",
    address: "10.8.0.2",
  });
  const del = encodeAddr(10, "del", { index: 5, local: ipToBytes("fd00::1")!, prefixLen: 64 });
  assert.equal(hdr(del).type, RTM_DELADDR);
  assert.equal(hdr(del).flags, NLM_F_REQUEST | NLM_F_ACK);
  const attrs = attrsOf(del, 8);
  assert.deepEqual(attrs.get(IFA_LOCAL), attrs.get(IFA_ADDRESS));
});

Deno.test("encodeRoute() shapes adds like iproute2 and decodeRoute() reads every attribute", () => {
  const add = encodeRoute(11, "add", {
    dst: parsePrefixText("10.9.0.0/24")!,
    gateway: ipToBytes("10.1.1.1")!,
    oif: 4,
    metric: 20,
    prefsrc: ipToBytes("10.1.1.2")!,
  });
  assert.equal(hdr(add).type, RTM_NEWROUTE);
  assert.equal(hdr(add).flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  assert.deepEqual([...add.subarray(16, 24)], [
    AF_INET,
    24,
    0,
    0,
    RT_TABLE_MAIN,
    RTPROT_BOOT,
    0,
    RTN_UNICAST,
  ]);
  const r = decodeRoute(add, {
    type: RTM_NEWROUTE,
    flags: 0,
    seq: 11,
    pid: 0,
    off: 16,
    len: add.length - 16,
  });
  assert.deepEqual(r, {
    family: AF_INET,
    dstLen: 24,
    table: RT_TABLE_MAIN,
    protocol: RTPROT_BOOT,
    scope: RT_SCOPE_UNIVERSE,
    type: RTN_UNICAST,
    dst: "10.9.0.0",
    gateway: "10.1.1.1",
    oif: 4,
    priority: 20,
    prefsrc: "10.1.1.2",
  });
  assert.equal(routeDstText(r!), "10.9.0.0/24");
});

Deno.test("encodeRoute() makes device routes link-scoped and deletes wildcard type and scope", () => {
  const add = encodeRoute(1, "add", { dst: parsePrefixText("fd00:9::/64")!, oif: 2 });
  assert.equal(add[16], AF_INET6);
  assert.equal(add[16 + 6], RT_SCOPE_LINK);
  const del = encodeRoute(2, "del", { dst: parsePrefixText("10.0.0.0/8")! });
  assert.equal(hdr(del).type, RTM_DELROUTE);
  assert.deepEqual([...del.subarray(16, 24)], [AF_INET, 8, 0, 0, RT_TABLE_MAIN, 0, RT_SCOPE_NOWHERE, 0]);
});

Deno.test("encodeRoute() leaves RTA_DST out for a default route and uses RTA_TABLE past 255", () => {
  const msg = encodeRoute(1, "add", {
    dst: parsePrefixText("default")!,
    gateway: ipToBytes("10.0.0.1")!,
    table: 1000,
  });
  const attrs = attrsOf(msg, 12);
  assert.equal(attrs.has(RTA_DST), false);
  assert.equal(msg[16 + 4], 0);
  assert.equal(new DataView(attrs.get(RTA_TABLE)!.buffer).getUint32(0, true), 1000);
  assert.deepEqual([...attrs.get(RTA_GATEWAY)!], [10, 0, 0, 1]);
  assert.equal(attrs.has(RTA_OIF) || attrs.has(RTA_PRIORITY) || attrs.has(RTA_PREFSRC), false);
});

Deno.test("encodeRouteGet() asks for a host route to one address", () => {
  const msg = encodeRouteGet(5, ipToBytes("fd00::7")!);
  assert.equal(hdr(msg).type, RTM_GETROUTE);
  assert.equal(hdr(msg).flags, NLM_F_REQUEST | NLM_F_ACK);
  assert.equal(msg[17], 128);
  assert.equal(bytesToIp(attrsOf(msg, 12).get(RTA_DST)!, 0, 16), "fd00::7");
});

// -- replies --

/** An NLMSG_ERROR reply as the kernel sends it with NETLINK_CAP_ACK and NETLINK_EXT_ACK. */
function errorReply(seq: number, errno: number, text?: string): Uint8Array {
  const echoed = encodeMessage(RTM_NEWROUTE, NLM_F_REQUEST, seq, new Uint8Array(0)).subarray(0, 16);
  const payload = new Uint8Array(4 + 16);
  new DataView(payload.buffer).setInt32(0, -errno, true);
  payload.set(echoed, 4);
  const attrs = text === undefined ? [] : [attrString(1, text)];
  const flags = NLM_F_CAPPED | (text === undefined ? 0 : NLM_F_ACK_TLVS);
  return encodeMessage(NLMSG_ERROR, flags, seq, payload, attrs);
}

Deno.test("decodeError() reads errno, the request's sequence and the extended-ack text", () => {
  const buf = errorReply(42, 101, "Nexthop has invalid gateway");
  const [msg] = splitMessages(buf, buf.length);
  assert.deepEqual(decodeError(buf, msg), { errno: 101, seq: 42, message: "Nexthop has invalid gateway" });
  const ack = errorReply(43, 0);
  assert.deepEqual(decodeError(ack, splitMessages(ack, ack.length)[0]), { errno: 0, seq: 43 });
});

Deno.test("decodeError() returns null for a payload too short to hold the echoed header", () => {
  const buf = encodeMessage(NLMSG_ERROR, 0, 1, new Uint8Array(8));
  assert.equal(decodeError(buf, splitMessages(buf, buf.length)[0]), null);
});

Deno.test("decodeDone() reads the dump status", () => {
  const ok = encodeMessage(NLMSG_DONE, 0, 1, new Uint8Array(4));
  assert.equal(decodeDone(ok, splitMessages(ok, ok.length)[0]), 0);
  const failed = encodeMessage(NLMSG_DONE, 0, 1, new Uint8Array([0xf4, 0xff, 0xff, 0xff]));
  assert.equal(decodeDone(failed, splitMessages(failed, failed.length)[0]), 12);
});

Deno.test("splitMessages() walks several messages and stops at a truncated one", () => {
  const a = encodeGetLink(1, "a");
  const b = encodeGetLink(2, "bb");
  const buf = new Uint8Array(a.length + b.length);
  buf.set(a);
  buf.set(b, a.length);
  const all = splitMessages(buf, buf.length);
  assert.deepEqual(all.map((m) => [m.seq, m.off, m.len]), [[1, 16, a.length - 16], [
    2,
    a.length + 16,
    b.length - 16,
  ]]);
  assert.deepEqual(splitMessages(buf, buf.length - 1).map((m) => m.seq), [1]);
  const bogus = new Uint8Array(16);
  new DataView(bogus.buffer).setUint32(0, 8, true);
  assert.deepEqual(splitMessages(bogus, 16), []);
});

Deno.test("forEachAttr() ignores an attribute that overruns its message", () => {
  const buf = new Uint8Array([8, 0, 1, 0, 1, 2, 3, 4, 40, 0, 2, 0, 9, 9, 9, 9]);
  const seen: number[] = [];
  forEachAttr(buf, 0, buf.length, (t) => seen.push(t));
  assert.deepEqual(seen, [1]);
});

Deno.test("decodeLink() reads index, flags, name and MTU", () => {
  const header = new Uint8Array(16);
  const v = new DataView(header.buffer);
  v.setInt32(4, 7, true);
  v.setUint32(8, IFF_UP | 0x40, true);
  const buf = encodeMessage(RTM_NEWLINK, 0, 1, header, [
    attrString(IFLA_IFNAME, "tsv0"),
    attrU32(IFLA_MTU, 1420),
  ]);
  assert.deepEqual(decodeLink(buf, splitMessages(buf, buf.length)[0]), {
    index: 7,
    flags: IFF_UP | 0x40,
    name: "tsv0",
    mtu: 1420,
  });
  const short = encodeMessage(RTM_NEWLINK, 0, 1, new Uint8Array(8));
  assert.equal(decodeLink(short, splitMessages(short, short.length)[0]), null);
});

Deno.test("decodeRoute() takes RTA_TABLE over the 8-bit table field", () => {
  const header = new Uint8Array(12);
  header[0] = AF_INET6;
  header[4] = 252;
  const buf = encodeMessage(RTM_NEWROUTE, 0, 1, header, [attrU32(RTA_TABLE, 5000)]);
  const r = decodeRoute(buf, splitMessages(buf, buf.length)[0]);
  assert.equal(r?.table, 5000);
  assert.equal(routeDstText(r!), "::/0");
});
