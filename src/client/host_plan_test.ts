import assert from "node:assert/strict";
import { parseCidr } from "../addr/prefix.ts";
import type { PushOptions } from "../control/push_options.ts";
import type { RouteInfo } from "../device/net_config.ts";
import { itemKey, planHost, pushedDns } from "./host_plan.ts";
import type { HostLookups, PlanPolicy } from "./host_plan_types.ts";
import { pickTopology } from "./plan_addresses.ts";

const policy = (o: Partial<PlanPolicy> = {}): PlanPolicy => ({
  pull: { routes: true, redirectGateway: true, netGatewayRoutes: false, dns: "none", filter: [] },
  routes: [],
  routes6: [],
  redirectGateway: [],
  ...o,
});

/** A host with eth0 192.168.1.10/24, default via 192.168.1.1, and an IPv6 default via fe80::1. */
const lookups: HostLookups = {
  outsideRoute(address: string): Promise<RouteInfo | null> {
    if (address.startsWith("192.168.1.")) {
      return Promise.resolve({ family: 4, dst: `${address}/32`, dev: "eth0", table: 254, protocol: 2 });
    }
    if (address.includes(":")) {
      return Promise.resolve({
        family: 6,
        dst: `${address}/128`,
        gateway: "fe80::1",
        dev: "eth0",
        table: 254,
        protocol: 3,
      });
    }
    return Promise.resolve({
      family: 4,
      dst: `${address}/32`,
      gateway: "192.168.1.1",
      dev: "eth0",
      table: 254,
      protocol: 3,
    });
  },
  defaultRoutes(family: 4 | 6): Promise<RouteInfo[]> {
    return Promise.resolve(
      family === 4
        ? [{
          family: 4,
          dst: "0.0.0.0/0",
          gateway: "192.168.1.1",
          dev: "eth0",
          metric: 100,
          table: 254,
          protocol: 3,
        }]
        : [{ family: 6, dst: "::/0", gateway: "fe80::1", dev: "eth0", table: 254, protocol: 3 }],
    );
  },
  dhcpServer: () => Promise.resolve("10.0.0.67"),
  systemDnsServers: () => Promise.resolve(["9.9.9.9", "2620:fe::fe"]),
};

const server = { address: "203.0.113.5", port: 1194, proto: "udp" };

function plan(push: PushOptions, p: PlanPolicy = policy(), srv = server) {
  return planHost({ dev: "tun0", mtu: 1500, push, policy: p, server: srv, lookups });
}

const subnetPush: PushOptions = {
  topology: "subnet",
  ifconfig: { local: "10.8.0.2", remoteOrNetmask: "255.255.255.0" },
  routeGateway: "10.8.0.1",
  routes: [{ network: "10.20.0.0", netmask: "255.255.0.0" }],
};

Deno.test("planHost() gives a subnet client its address/netmask and routes via route-gateway", async () => {
  const p = await plan(subnetPush);
  assert.equal(p.topology, "subnet");
  assert.deepEqual(p.local4, { address: "10.8.0.2", prefixLen: 24, peer: null, netmask: "255.255.255.0" });
  assert.equal(p.gateway4, "10.8.0.1");
  assert.deepEqual(p.items.map(itemKey), [
    "a tun0 10.8.0.2/24 ",
    "r 10.20.0.0/16 10.8.0.1 tun0 ",
  ]);
  assert.equal(p.redirect, null);
  assert.equal(p.netGateway, "192.168.1.1");
  assert.deepEqual(p.warnings, []);
});

Deno.test("planHost() gives net30 and p2p clients a local address with the server end as peer", async () => {
  for (const topology of ["net30", "p2p"] as const) {
    const p = await plan({
      topology,
      ifconfig: { local: "10.8.0.6", remoteOrNetmask: "10.8.0.5" },
      routes: [{ network: "10.8.0.1" }, { network: "10.30.0.0", netmask: "255.255.255.0", metric: 5 }],
    });
    assert.equal(p.topology, topology);
    assert.equal(p.gateway4, "10.8.0.5");
    assert.deepEqual(p.items.map(itemKey), [
      "a tun0 10.8.0.6/32 10.8.0.5",
      "r 10.8.0.1/32 10.8.0.5 tun0 ",
      "r 10.30.0.0/24 10.8.0.5 tun0 5",
    ]);
  }
});

Deno.test("planHost() on a tap device reads ifconfig as address and netmask, and a bridged push as no address", async () => {
  const tap = (push: PushOptions) =>
    planHost({ dev: "tap0", devType: "tap", mtu: 1500, push, policy: policy(), server, lookups });
  // Whatever topology a tap server names, the second word is a netmask, never a net30 peer.
  const p = await tap({
    topology: "net30",
    ifconfig: { local: "10.9.0.2", remoteOrNetmask: "255.255.255.0" },
    routeGateway: "10.9.0.1",
    routes: [{ network: "10.20.0.0", netmask: "255.255.0.0" }],
  });
  assert.equal(p.topology, "subnet");
  assert.deepEqual(p.items.map(itemKey), ["a tap0 10.9.0.2/24 ", "r 10.20.0.0/16 10.9.0.1 tap0 "]);
  const bridged = await tap({});
  assert.equal(bridged.local4, null);
  assert.deepEqual(bridged.items, []);
});

Deno.test("pickTopology() follows the push, else reads a netmask as subnet and a peer as net30", () => {
  assert.equal(pickTopology({ topology: "p2p" }), "p2p");
  assert.equal(pickTopology({ ifconfig: { local: "10.8.0.2", remoteOrNetmask: "255.255.255.0" } }), "subnet");
  assert.equal(pickTopology({ ifconfig: { local: "10.8.0.6", remoteOrNetmask: "10.8.0.5" } }), "net30");
  assert.equal(pickTopology({}), "net30");
});

Deno.test("planHost() with redirect-gateway def1 routes both halves through the tunnel and the server around it", async () => {
  const p = await plan({ ...subnetPush, redirectGateway: ["def1"] });
  assert.deepEqual(p.redirect, { ipv4: true, ipv6: false, def1: true, flags: ["def1"] });
  assert.deepEqual(p.items.map(itemKey), [
    "a tun0 10.8.0.2/24 ",
    "r 203.0.113.5/32 192.168.1.1 eth0 ",
    "r 0.0.0.0/1 10.8.0.1 tun0 ",
    "r 128.0.0.0/1 10.8.0.1 tun0 ",
    "r 10.20.0.0/16 10.8.0.1 tun0 ",
  ]);
});

Deno.test("planHost() without def1 takes the default route away and adds one through the tunnel", async () => {
  const p = await plan({ ...subnetPush, redirectGateway: [] });
  assert.deepEqual(p.items.map(itemKey), [
    "a tun0 10.8.0.2/24 ",
    "r 203.0.113.5/32 192.168.1.1 eth0 ",
    "s 0.0.0.0/0 192.168.1.1 eth0 100",
    "r 0.0.0.0/0 10.8.0.1 tun0 ",
    "r 10.20.0.0/16 10.8.0.1 tun0 ",
  ]);
});

Deno.test("planHost() keeps the DHCP and DNS servers outside the tunnel with bypass-dhcp and bypass-dns", async () => {
  const p = await plan({ ...subnetPush, redirectGateway: ["def1", "bypass-dhcp", "bypass-dns"] });
  const keys = p.items.map(itemKey);
  assert.ok(keys.includes("r 10.0.0.67/32 192.168.1.1 eth0 "), keys.join("\n"));
  assert.ok(keys.includes("r 9.9.9.9/32 192.168.1.1 eth0 "));
  // No IPv6 address was pushed, so the IPv6 DNS server needs no bypass.
  assert.ok(!keys.some((k) => k.includes("2620:fe::fe")));
  // Outside routes come before the routes that would capture their traffic.
  assert.ok(keys.indexOf("r 10.0.0.67/32 192.168.1.1 eth0 ") < keys.indexOf("r 0.0.0.0/1 10.8.0.1 tun0 "));
});

Deno.test("planHost() skips the server host route with the local flag", async () => {
  const p = await plan({ ...subnetPush, redirectGateway: ["local", "def1"] });
  assert.ok(!p.items.map(itemKey).some((k) => k.includes("203.0.113.5")));
});

Deno.test("planHost() adds the IPv6 address, routes and ::/1 + 8000::/1 when the server pushes IPv6", async () => {
  const p = await plan({
    ...subnetPush,
    ifconfigIpv6: { local: "fd00:8::1000/64", remote: "fd00:8::1" },
    routesIpv6: [{ network: "2001:db8:20::/48" }],
    redirectGateway: ["def1", "bypass-dns"],
  });
  assert.deepEqual(p.local6, { address: "fd00:8::1000", prefixLen: 64, peer: null, netmask: null });
  assert.equal(p.redirect?.ipv6, true);
  const keys = p.items.map(itemKey);
  for (
    const k of [
      "a tun0 fd00:8::1000/64 ",
      "r ::/1 fd00:8::1 tun0 ",
      "r 8000::/1 fd00:8::1 tun0 ",
      "r 2001:db8:20::/48 fd00:8::1 tun0 ",
      "r 2620:fe::fe/128 fe80::1 eth0 ",
    ]
  ) assert.ok(keys.includes(k), `${k} missing from\n${keys.join("\n")}`);
});

Deno.test("planHost() routes around the tunnel to an IPv6 server and replaces ::/0 without def1", async () => {
  const p = await plan(
    { ...subnetPush, ifconfigIpv6: { local: "fd00:8::1000/64", remote: "fd00:8::1" }, redirectGateway: [] },
    policy(),
    { address: "2001:db8::5", port: 1194, proto: "udp" },
  );
  const keys = p.items.map(itemKey);
  assert.ok(keys.includes("r 2001:db8::5/128 fe80::1 eth0 "));
  assert.ok(keys.includes("s ::/0 fe80::1 eth0 "));
  assert.ok(keys.includes("r ::/0 fd00:8::1 tun0 "));
  assert.ok(keys.includes("s 0.0.0.0/0 192.168.1.1 eth0 100"));
});

Deno.test("planHost() honours pull settings and always adds the locally configured routes", async () => {
  const p = await plan(
    { ...subnetPush, redirectGateway: ["def1"] },
    policy({
      pull: { routes: false, redirectGateway: false, netGatewayRoutes: false, dns: "none", filter: [] },
      routes: [parseCidr("172.16.0.0/12")!.prefix],
    }),
  );
  assert.equal(p.redirect, null);
  assert.deepEqual(p.items.map(itemKey), ["a tun0 10.8.0.2/24 ", "r 172.16.0.0/12 10.8.0.1 tun0 "]);
  const local = await plan(subnetPush, policy({ redirectGateway: ["def1"] }));
  assert.equal(local.redirect?.def1, true);
});

Deno.test("planHost() sends net_gateway routes outside the tunnel and warns about what it cannot honour", async () => {
  const p = await plan({
    ...subnetPush,
    routes: [
      { network: "198.51.100.0", netmask: "255.255.255.0", gateway: "net_gateway" },
      { network: "not-an-ip", netmask: "255.255.255.0" },
      { network: "10.9.0.0", netmask: "255.0.255.0" },
    ],
    routesIpv6: [{ network: "2001:db8::/32" }],
    tunMtu: 1400,
  });
  assert.equal(p.mtu, 1400);
  assert.ok(p.items.map(itemKey).includes("r 198.51.100.0/24 192.168.1.1 eth0 "));
  assert.equal(p.warnings.length, 3, p.warnings.join("\n"));
  assert.match(p.warnings[2], /route-ipv6 2001:db8::\/32: the server pushed no IPv6 address/);
});

Deno.test("pushedDns() collects DNS servers and domains from dhcp-option and dns options", () => {
  const dns = pushedDns({
    dhcpOptions: [
      { type: "DNS", value: "10.8.0.1" },
      { type: "DNS6", value: "fd00:8::1" },
      { type: "DOMAIN", value: "corp.example" },
      { type: "DOMAIN-SEARCH", value: "lab.example" },
      { type: "DNS", value: "10.8.0.1" },
    ],
    extra: [
      "dns server 0 address 10.8.0.53 [fd00::53]:53",
      "dns search-domains a.example",
      "block-outside-dns",
    ],
  });
  assert.deepEqual(dns, {
    servers: ["10.8.0.1", "fd00:8::1", "10.8.0.53", "fd00::53"],
    domain: "corp.example",
    search: ["corp.example", "lab.example", "a.example"],
  });
});
