import assert from "node:assert/strict";
import { formatIpv4, formatIpv6 } from "../addr/ip.ts";
import { planLayout, serverPushOptions, serverTunAddresses, serverTunRoutes } from "./topology.ts";

// Expected values below come from `openvpn --server 10.8.0.0 255.255.255.0
// --server-ipv6 fd00:8::/64 --topology X --verb 4` (2.6.14) option dumps.

Deno.test("planLayout() matches OpenVPN's --server expansion for topology subnet", () => {
  const l = planLayout({ network4: "10.8.0.0 255.255.255.0", network6: "fd00:8::/64", topology: "subnet" });
  assert.equal(formatIpv4(l.server4!), "10.8.0.1");
  assert.equal(l.server4Peer, null);
  assert.equal(formatIpv4(l.pool4Base), "10.8.0.2");
  assert.equal(l.pool4Size, 253); // 10.8.0.2 … 10.8.0.254
  assert.equal(formatIpv6(l.server6!), "fd00:8::1");
  assert.equal(formatIpv6(l.pool6Base!), "fd00:8::1000");
  assert.equal(l.poolSize, 253);
  assert.deepEqual(serverTunAddresses(l), [
    { address: "10.8.0.1", prefixLen: 24 },
    { address: "fd00:8::1", prefixLen: 64 },
  ]);
  assert.deepEqual(serverTunRoutes(l), []);
  assert.deepEqual(serverPushOptions(l, false), ["tun-ipv6", "route-gateway 10.8.0.1", "topology subnet"]);
  assert.deepEqual(serverPushOptions(l, true), ["tun-ipv6", "route-gateway 10.8.0.1", "topology subnet"]);
});

Deno.test("planLayout() matches OpenVPN for topology net30", () => {
  const l = planLayout({ network4: "10.8.0.0/24", topology: "net30" });
  assert.equal(formatIpv4(l.server4!), "10.8.0.1");
  assert.equal(formatIpv4(l.server4Peer!), "10.8.0.2");
  assert.equal(l.pool4Kind, "net30");
  assert.equal(formatIpv4(l.pool4Base), "10.8.0.4"); // pool 10.8.0.4 … 10.8.0.251 in /30s
  assert.equal(l.pool4Size, 62); // ((251 | 3) + 1 - 4) / 4, as pool.c computes it
  assert.deepEqual(serverTunAddresses(l), [{ address: "10.8.0.1", prefixLen: 32, peer: "10.8.0.2" }]);
  assert.deepEqual(serverTunRoutes(l), [{ dst: "10.8.0.0/24", gateway: "10.8.0.2" }]);
  assert.deepEqual(serverPushOptions(l, false), ["route 10.8.0.1", "topology net30"]);
  assert.deepEqual(serverPushOptions(l, true), ["route 10.8.0.0 255.255.255.0", "topology net30"]);
});

Deno.test("planLayout() matches OpenVPN for topology p2p", () => {
  const l = planLayout({ network4: "10.8.0.0/24", network6: "fd00:8::/64", topology: "p2p" });
  assert.equal(formatIpv4(l.server4Peer!), "10.8.0.2");
  assert.equal(l.pool4Kind, "indiv");
  assert.equal(formatIpv4(l.pool4Base), "10.8.0.4");
  assert.equal(l.pool4Size, 248); // 10.8.0.4 … 10.8.0.251
  assert.deepEqual(serverPushOptions(l, false), ["tun-ipv6", "topology p2p"]);
  assert.deepEqual(serverPushOptions(l, true), ["tun-ipv6", "route 10.8.0.0 255.255.255.0", "topology p2p"]);
});

Deno.test("planLayout() follows OpenVPN's small-network rules (/29 pools, /112+ IPv6 base)", () => {
  // /29 with p2p: OpenVPN's pool runs 10.8.0.4 … 10.8.0.7 (no end reserve for /29).
  const p2p = planLayout({ network4: "10.8.0.0/29", network6: "fd00:8::/120", topology: "p2p" });
  assert.equal(p2p.pool4Size, 4);
  assert.equal(formatIpv6(p2p.pool6Base!), "fd00:8::2");
  assert.equal(p2p.pool6Size, 254);
  assert.equal(p2p.poolSize, 4);
  assert.throws(() => planLayout({ network4: "10.8.0.0/29", topology: "net30" }), {
    name: "RangeError",
    message:
      "IPv4 server network 10.8.0.0/29 with topology net30 leaves 1 client address(es); at least 2 are needed",
  });
  // tap accepts up to /30 at option level, but a /30 leaves one address, which OpenVPN's pool refuses too.
  assert.equal(planLayout({ network4: "10.8.0.0/29", device: "tap" }).pool4Size, 5);
  assert.throws(() => planLayout({ network4: "10.8.0.0/30", device: "tap" }), RangeError);
  assert.equal(planLayout({ network6: "fd00::/124" }).pool6Size, 14);
  assert.equal(planLayout({ network6: "fd00::/64" }).poolSize, 65536);
});

Deno.test("planLayout() rejects what OpenVPN refuses with a clear message", () => {
  assert.throws(() => planLayout({}), { message: "An address pool needs an IPv4 or an IPv6 network" });
  assert.throws(() => planLayout({ network4: "10.8.0.0/30" }), {
    message: "IPv4 server network 10.8.0.0/30 is too small for tun (at least /29)",
  });
  assert.throws(() => planLayout({ network4: "10.0.0.0/15" }), {
    message: "IPv4 server network 10.0.0.0/15 is too large (at most /16)",
  });
  assert.throws(
    () => planLayout({ network4: "10.8.0.1/24" }),
    (e: Error) =>
      e instanceof RangeError && e.message.startsWith('Invalid IPv4 server network "10.8.0.1/24": ') &&
      e.message.includes("host bits are set"),
  );
  assert.throws(() => planLayout({ network4: "10.8.0.0 255.0.255.0" }), RangeError);
  assert.throws(() => planLayout({ network6: "fd00::/48" }), {
    message: "IPv6 server network fd00::/48 must be /64 to /124",
  });
  assert.throws(() => planLayout({ network6: "fd00::/64", topology: "mesh" as "p2p" }), RangeError);
  assert.throws(() => planLayout({ network4: "10.8.0.0/24", device: "tap", topology: "net30" }), {
    message: "Topology net30 applies to tun devices only; tap uses subnet",
  });
});

Deno.test("serverPushOptions() for tap pushes route-gateway but no topology", () => {
  const l = planLayout({ network4: "10.8.0.0/24", device: "tap" });
  assert.equal(l.topology, "subnet");
  assert.deepEqual(serverPushOptions(l, false), ["route-gateway 10.8.0.1"]);
  assert.deepEqual(serverTunAddresses(l), [{ address: "10.8.0.1", prefixLen: 24 }]);
});
