import assert from "node:assert/strict";
import { parseMac } from "../addr/mac.ts";
import {
  ethDst,
  ethDstIsBroadcast,
  ethDstIsMulticast,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ethLengthOk,
  ethSrc,
  ethSrcIsMulticast,
  ethType,
  macHi16At,
  macLo32At,
} from "./ethernet.ts";
import { buildEthernet, buildIcmpEcho } from "../testing/packet/builders.ts";

Deno.test("ethDst(), ethSrc() and ethType() read the header as numbers", () => {
  const frame = buildEthernet({
    dst: "fe:dc:ba:98:76:54",
    src: "02:00:00:00:00:07",
    payload: buildIcmpEcho({ src: "10.0.0.1", dst: "10.0.0.2" }),
  });
  const buf = new Uint8Array(frame.length + 2);
  buf.set(frame, 2);
  assert.equal(ethDst(buf, 2), parseMac("fe:dc:ba:98:76:54"));
  assert.equal(ethSrc(buf, 2), parseMac("02:00:00:00:00:07"));
  assert.equal(macHi16At(buf, 2), 0xfedc);
  assert.equal(macLo32At(buf, 2), 0xba987654);
  assert.equal(ethType(buf, 2), ETHERTYPE_IPV4);
  assert.equal(ethDstIsMulticast(buf, 2), false);
  assert.equal(ethSrcIsMulticast(buf, 2), false);
  assert.equal(
    ethType(buildEthernet({ dst: "ff:ff:ff:ff:ff:ff", src: "02:00:00:00:00:01" }), 0),
    ETHERTYPE_ARP,
  );
  const v6 = buildEthernet({
    dst: "33:33:00:00:00:01",
    src: "02:00:00:00:00:01",
    payload: buildIcmpEcho({ src: "::1", dst: "ff02::1" }),
  });
  assert.equal(ethType(v6, 0), ETHERTYPE_IPV6);
});

Deno.test("ethDstIsBroadcast() and ethDstIsMulticast() classify group addresses", () => {
  const bcast = buildEthernet({ dst: "ff:ff:ff:ff:ff:ff", src: "02:00:00:00:00:01" });
  assert.equal(ethDstIsBroadcast(bcast, 0), true);
  assert.equal(ethDstIsMulticast(bcast, 0), true);
  const mcast = buildEthernet({ dst: "01:00:5e:00:00:fb", src: "03:00:00:00:00:01" });
  assert.equal(ethDstIsBroadcast(mcast, 0), false);
  assert.equal(ethDstIsMulticast(mcast, 0), true);
  assert.equal(ethSrcIsMulticast(mcast, 0), true);
  const almost = buildEthernet({ dst: "ff:ff:ff:ff:ff:fe", src: "02:00:00:00:00:01" });
  assert.equal(ethDstIsBroadcast(almost, 0), false);
  assert.equal(ethLengthOk(13), false);
  assert.equal(ethLengthOk(14), true);
});
