import assert from "node:assert/strict";
import { checkIpPacket, ipVersion } from "./ip.ts";
import { buildIcmpEcho } from "./builders.ts";
import {
  PACKET_BAD_TOTAL_LEN,
  PACKET_BAD_VERSION,
  PACKET_OK,
  PACKET_TOO_SHORT,
  PACKET_VERDICT_NAMES,
} from "../../packet/verdict.ts";

Deno.test("ipVersion() reads the version nibble and rejects others", () => {
  assert.equal(ipVersion(buildIcmpEcho({ src: "1.1.1.1", dst: "2.2.2.2" }), 0, 28), 4);
  assert.equal(ipVersion(buildIcmpEcho({ src: "::1", dst: "::2" }), 0, 48), 6);
  assert.equal(ipVersion(new Uint8Array([0x50]), 0, 1), 0);
  assert.equal(ipVersion(new Uint8Array([0x45]), 0, 0), 0);
});

Deno.test("checkIpPacket() dispatches on the version", () => {
  const v4 = buildIcmpEcho({ src: "1.1.1.1", dst: "2.2.2.2" });
  const v6 = buildIcmpEcho({ src: "::1", dst: "::2" });
  assert.equal(checkIpPacket(v4, 0, v4.length), PACKET_OK);
  assert.equal(checkIpPacket(v6, 0, v6.length), PACKET_OK);
  assert.equal(checkIpPacket(v6, 0, v6.length - 1), PACKET_BAD_TOTAL_LEN);
  assert.equal(checkIpPacket(new Uint8Array([0x00]), 0, 1), PACKET_BAD_VERSION);
  assert.equal(checkIpPacket(new Uint8Array(0), 0, 0), PACKET_TOO_SHORT);
  assert.equal(PACKET_VERDICT_NAMES[-PACKET_BAD_TOTAL_LEN], "bad-total-len");
});
