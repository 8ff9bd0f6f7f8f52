import assert from "node:assert/strict";
import { parseIpv4, parseIpv6 } from "../addr/ip.ts";
import { parsePrefix } from "../addr/prefix.ts";
import { buildIcmpEcho } from "../testing/packet/builders.ts";
import { NO_OWNER, RouteTable } from "./route_table.ts";
import { SlowPrefixTable } from "../testing/router/slow_prefix_table.ts";

const P = (text: string) => parsePrefix(text);

function table(): RouteTable {
  const t = new RouteTable();
  t.add(P("10.8.0.6/32"), 1); // client 1's virtual address
  t.add(P("192.168.10.0/24"), 1); // client 1's iroute
  t.add(P("10.8.0.10/32"), 2);
  t.add(P("192.168.0.0/16"), 2); // client 2's wider iroute
  t.add(P("fd00:8::1000/128"), 1);
  t.add(P("2001:db8:1::/48"), 1);
  t.add(P("fd00:8::1001/128"), 2);
  return t;
}

Deno.test("RouteTable.route4() and route6() return the owner of the longest match or NO_OWNER", () => {
  const t = table();
  assert.equal(t.route4(parseIpv4("10.8.0.6")), 1);
  assert.equal(t.route4(parseIpv4("10.8.0.10")), 2);
  assert.equal(t.route4(parseIpv4("192.168.10.77")), 1);
  assert.equal(t.route4(parseIpv4("192.168.11.77")), 2);
  assert.equal(t.route4(parseIpv4("10.8.0.7")), NO_OWNER);
  assert.equal(t.route6(parseIpv6("fd00:8::1000")), 1);
  assert.equal(t.route6(parseIpv6("2001:db8:1:2::3")), 1);
  assert.equal(t.route6(parseIpv6("fd00:8::1002")), NO_OWNER);
  const pkt4 = buildIcmpEcho({ src: "10.8.0.10", dst: "192.168.10.1" });
  assert.equal(t.route4At(pkt4, 16), 1);
  assert.equal(t.allowedSource4At(2, pkt4, 12), true);
  assert.equal(t.allowedSource4At(1, pkt4, 12), false);
  assert.equal(t.allowedSource4At(NO_OWNER, pkt4, 12), false);
  const pkt = buildIcmpEcho({ src: "fd00:8::1001", dst: "2001:db8:1::9" });
  assert.equal(t.route6At(pkt, 24), 1);
  assert.equal(t.allowedSource6At(2, pkt, 8), true);
  assert.equal(t.size, 7);
  assert.equal(t.size4, 4);
  assert.equal(t.size6, 3);
});

Deno.test("RouteTable.allowedSource4() accepts a client's own address and iroutes only", () => {
  const t = table();
  assert.equal(t.allowedSource4(1, parseIpv4("10.8.0.6")), true);
  assert.equal(t.allowedSource4(1, parseIpv4("192.168.10.5")), true);
  assert.equal(t.allowedSource4(1, parseIpv4("10.8.0.10")), false, "another client's address");
  assert.equal(t.allowedSource4(1, parseIpv4("8.8.8.8")), false, "not routed at all");
  assert.equal(t.allowedSource4(2, parseIpv4("192.168.10.5")), false, "more specific iroute of client 1");
  assert.equal(t.allowedSource4(2, parseIpv4("192.168.99.5")), true);
  assert.equal(t.allowedSource4(NO_OWNER, parseIpv4("8.8.8.8")), false);
});

Deno.test("RouteTable.allowedSource6() applies the same rule to IPv6", () => {
  const t = table();
  assert.equal(t.allowedSource6(1, parseIpv6("fd00:8::1000")), true);
  assert.equal(t.allowedSource6(1, parseIpv6("2001:db8:1:ffff::1")), true);
  assert.equal(t.allowedSource6(1, parseIpv6("fd00:8::1001")), false);
  assert.equal(t.allowedSource6(2, parseIpv6("2001:db8:1::1")), false);
  const words = new Uint32Array(8);
  words.set(parseIpv6("fd00:8::1001"), 4);
  assert.equal(t.allowedSource6(2, words, 4), true);
});

Deno.test("RouteTable.removeOwner() drops all of a session's routes in both families", () => {
  const t = table();
  assert.equal(t.removeOwner(1), 4);
  assert.equal(t.route4(parseIpv4("10.8.0.6")), NO_OWNER);
  assert.equal(t.route4(parseIpv4("192.168.10.77")), 2, "falls back to the wider iroute");
  assert.equal(t.route6(parseIpv6("2001:db8:1::1")), NO_OWNER);
  assert.equal(t.route6(parseIpv6("fd00:8::1001")), 2);
  assert.equal(t.removeOwner(1), 0);
  assert.deepEqual(t.prefixesOf(1), []);
});

Deno.test("RouteTable.add() reports a takeover and remove() honours the owner guard", () => {
  const t = table();
  assert.equal(t.add(P("10.8.0.6/32"), 3), 1);
  assert.equal(t.ownerOf(P("10.8.0.6/32")), 3);
  assert.equal(t.remove(P("10.8.0.6/32"), 1), false, "stale owner cannot remove");
  assert.equal(t.route4(parseIpv4("10.8.0.6")), 3);
  assert.equal(t.remove(P("10.8.0.6/32"), 3), true);
  assert.equal(t.remove(P("10.8.0.6/32")), false);
  assert.equal(t.remove(P("fd00:8::1001/128")), true);
  assert.equal(t.ownerOf(P("fd00:8::1001/128")), NO_OWNER);
});

Deno.test("RouteTable.entries() and describe() list routes for status output", () => {
  const t = table();
  assert.deepEqual(t.describe(), [
    "10.8.0.6/32 1",
    "10.8.0.10/32 2",
    "192.168.0.0/16 2",
    "192.168.10.0/24 1",
    "2001:db8:1::/48 1",
    "fd00:8::1000/128 1",
    "fd00:8::1001/128 2",
  ]);
  assert.equal(t.entries()[0].prefix.family, 4);
  assert.deepEqual(t.prefixesOf(2).map((p) => p.bits), [32, 16, 128]);
});

Deno.test("RouteTable agrees with a linear reference on routing and source checks (seeded random)", () => {
  let seed = 12345;
  const r = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
  const t = new RouteTable();
  const slow = new SlowPrefixTable();
  const added: [number, number][] = [];
  for (let op = 0; op < 4000; op++) {
    const k = r() % 10;
    if (k < 6 || added.length === 0) {
      const bits = r() % 2 === 0 ? 32 : 8 + (r() % 25);
      const addr = (0xc0a80000 | (r() & 0xffff)) >>> 0;
      const owner = r() % 20;
      assert.equal(t.add4(addr, bits, owner), slow.insert([addr], bits, owner));
      added.push([addr, bits]);
    } else if (k < 9) {
      const [addr, bits] = added[r() % added.length];
      const removed = slow.remove([addr], bits);
      assert.equal(
        t.remove({ family: 4, addr: (addr & (bits === 0 ? 0 : ~0 << (32 - bits))) >>> 0, bits }),
        removed >= 0,
      );
    } else {
      const owner = r() % 20;
      assert.equal(t.removeOwner(owner), slow.removeByValue(owner));
    }
    const probe = (0xc0a80000 | (r() & 0xffff)) >>> 0;
    const owner = slow.lookup([probe]);
    assert.equal(t.route4(probe), owner);
    const claimant = r() % 20;
    assert.equal(t.allowedSource4(claimant, probe), owner === claimant);
  }
});
