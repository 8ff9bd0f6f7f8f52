import assert from "node:assert/strict";
import { parseIpv6 } from "../addr/ip.ts";
import {
  checkIpv6,
  IPPROTO_ICMPV6,
  ipv6DstEquals,
  ipv6DstInto,
  ipv6DstIsMulticast,
  ipv6NextHeader,
  ipv6PayloadLen,
  ipv6SrcEquals,
  ipv6SrcInto,
} from "./ipv6.ts";
import { buildIcmpEcho } from "../testing/packet/builders.ts";
import { PACKET_BAD_TOTAL_LEN, PACKET_BAD_VERSION, PACKET_OK, PACKET_TOO_SHORT } from "./verdict.ts";

Deno.test("checkIpv6() accepts a valid packet and the address readers fill caller words", () => {
  const pkt = buildIcmpEcho({ src: "fd00:8::1000", dst: "2001:db8::1", payloadLen: 4 });
  const buf = new Uint8Array(pkt.length + 3);
  buf.set(pkt, 3);
  assert.equal(checkIpv6(buf, 3, pkt.length), PACKET_OK);
  assert.equal(ipv6PayloadLen(buf, 3), 12);
  assert.equal(ipv6NextHeader(buf, 3), IPPROTO_ICMPV6);
  const out = new Uint32Array(8);
  ipv6SrcInto(buf, 3, out, 0);
  ipv6DstInto(buf, 3, out, 4);
  assert.deepEqual([...out.subarray(0, 4)], [...parseIpv6("fd00:8::1000")]);
  assert.deepEqual([...out.subarray(4)], [...parseIpv6("2001:db8::1")]);
  assert.equal(ipv6SrcEquals(buf, 3, parseIpv6("fd00:8::1000")), true);
  assert.equal(ipv6SrcEquals(buf, 3, parseIpv6("fd00:8::1001")), false);
  assert.equal(ipv6DstEquals(buf, 3, out, 4), true);
  assert.equal(ipv6DstEquals(buf, 3, out, 0), false);
  assert.equal(ipv6DstIsMulticast(buf, 3), false);
});

Deno.test("checkIpv6() returns verdicts for malformed headers", () => {
  const pkt = buildIcmpEcho({ src: "::1", dst: "ff02::1" });
  assert.equal(ipv6DstIsMulticast(pkt, 0), true);
  assert.equal(checkIpv6(pkt, 0, 39), PACKET_TOO_SHORT);
  assert.equal(checkIpv6(pkt, 0, pkt.length - 1), PACKET_BAD_TOTAL_LEN);
  const v4 = pkt.slice();
  v4[0] = 0x45;
  assert.equal(checkIpv6(v4, 0, v4.length), PACKET_BAD_VERSION);
});
