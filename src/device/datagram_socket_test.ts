import assert from "node:assert/strict";
import { EndpointSlots, FAMILY_INET, FAMILY_INET6 } from "./datagram_socket.ts";

Deno.test("EndpointSlots stores, compares and formats IPv4 and IPv6 endpoints", () => {
  const t = new EndpointSlots(3);
  t.setIpv4(0, 0x7f000001, 1194);
  assert.equal(t.family(0), FAMILY_INET);
  assert.equal(t.ipv4(0), 0x7f000001);
  assert.equal(t.port(0), 1194);
  assert.equal(t.format(0), "127.0.0.1:1194");
  const v6 = new Uint8Array(16);
  v6[0] = 0xfd;
  v6[15] = 1;
  t.setIpv6(1, v6, 53);
  assert.equal(t.family(1), FAMILY_INET6);
  assert.equal(t.format(1), "[fd00::1]:53");
  const u = new EndpointSlots(1);
  u.copyRow(0, t, 0);
  assert.ok(u.equals(0, t, 0));
  assert.ok(!u.equals(0, t, 1));
  t.setIpv4(2, 0x7f000001, 1195);
  assert.ok(!t.equals(0, t, 2));
});
