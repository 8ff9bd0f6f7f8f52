import assert from "node:assert/strict";
import { parseIpv4 } from "../addr/ip.ts";
import {
  checkIpv4,
  IPPROTO_ICMP,
  IPPROTO_UDP,
  ipv4Dst,
  ipv4HeaderLen,
  ipv4IsLaterFragment,
  ipv4Protocol,
  ipv4Src,
  ipv4TotalLen,
} from "./ipv4.ts";
import { buildIcmpEcho, buildUdp } from "../testing/packet/builders.ts";
import {
  PACKET_BAD_HEADER_LEN,
  PACKET_BAD_TOTAL_LEN,
  PACKET_BAD_VERSION,
  PACKET_OK,
  PACKET_TOO_SHORT,
} from "./verdict.ts";

Deno.test("checkIpv4() accepts a valid packet at an offset and reads its fields", () => {
  const pkt = buildIcmpEcho({ src: "10.8.0.6", dst: "10.8.0.1", payloadLen: 12 });
  const buf = new Uint8Array(pkt.length + 10);
  buf.set(pkt, 4);
  assert.equal(checkIpv4(buf, 4, pkt.length), PACKET_OK);
  assert.equal(ipv4Src(buf, 4), parseIpv4("10.8.0.6"));
  assert.equal(ipv4Dst(buf, 4), parseIpv4("10.8.0.1"));
  assert.equal(ipv4Protocol(buf, 4), IPPROTO_ICMP);
  assert.equal(ipv4HeaderLen(buf, 4), 20);
  assert.equal(ipv4TotalLen(buf, 4), 20 + 8 + 12);
  assert.equal(ipv4IsLaterFragment(buf, 4), false);
});

Deno.test("checkIpv4() returns verdicts for malformed headers instead of throwing", () => {
  const pkt = buildUdp({ src: "1.2.3.4", dst: "5.6.7.8", srcPort: 1, dstPort: 2 });
  assert.equal(checkIpv4(pkt, 0, 19), PACKET_TOO_SHORT);
  assert.equal(checkIpv4(pkt, 0, pkt.length - 1), PACKET_BAD_TOTAL_LEN);
  assert.equal(checkIpv4(new Uint8Array(64), 0, 0), PACKET_TOO_SHORT);
  const v6 = pkt.slice();
  v6[0] = 0x65;
  assert.equal(checkIpv4(v6, 0, v6.length), PACKET_BAD_VERSION);
  const shortIhl = pkt.slice();
  shortIhl[0] = 0x44;
  assert.equal(checkIpv4(shortIhl, 0, shortIhl.length), PACKET_BAD_HEADER_LEN);
  const longIhl = pkt.slice();
  longIhl[0] = 0x4f; // 60-byte header > 28-byte packet
  assert.equal(checkIpv4(longIhl, 0, longIhl.length), PACKET_BAD_HEADER_LEN);
  const tinyTotal = pkt.slice();
  tinyTotal[2] = 0;
  tinyTotal[3] = 19;
  assert.equal(checkIpv4(tinyTotal, 0, tinyTotal.length), PACKET_BAD_TOTAL_LEN);
  // Trailing padding beyond the total length (Ethernet minimum frame) is fine.
  const padded = new Uint8Array(pkt.length + 18);
  padded.set(pkt);
  assert.equal(checkIpv4(padded, 0, padded.length), PACKET_OK);
  assert.equal(ipv4Protocol(pkt, 0), IPPROTO_UDP);
});

Deno.test("ipv4IsLaterFragment() is true only for a non-zero fragment offset", () => {
  const pkt = buildUdp({ src: "1.2.3.4", dst: "5.6.7.8", srcPort: 1, dstPort: 2 });
  pkt[6] = 0x20; // MF set, offset 0: the first fragment
  assert.equal(ipv4IsLaterFragment(pkt, 0), false);
  pkt[7] = 0x01;
  assert.equal(ipv4IsLaterFragment(pkt, 0), true);
});
