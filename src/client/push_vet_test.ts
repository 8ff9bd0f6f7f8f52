import assert from "node:assert/strict";
import type { PullConfig } from "../config/schema.ts";
import { parsePushOptions } from "../control/push_options.ts";
import type { RouteInfo } from "../device/net_config.ts";
import { planHost, pushedDns } from "./host_plan.ts";
import { screenPushOptions } from "./push_screen.ts";
import { dnsServerAddress, vetPush } from "./push_vet.ts";
import { formatResolvConf } from "./resolv_conf.ts";

const pull = (o: Partial<PullConfig> = {}): PullConfig => ({
  routes: true,
  redirectGateway: true,
  netGatewayRoutes: false,
  dns: "resolv.conf",
  filter: [],
  ...o,
});

const BASE = ["topology subnet", "ifconfig 10.8.0.2 255.255.255.0", "route-gateway 10.8.0.1"];

function vet(options: string[], p: PullConfig = pull()) {
  return vetPush(parsePushOptions([...BASE, ...options]), p);
}

Deno.test("vetPush() refuses the resolv.conf injection of a quoted newline in dhcp-option DOMAIN", () => {
  // Straight from the parser (no screening): the quoted value carries the newline.
  const raw = ['dhcp-option DOMAIN "x\nnameserver 203.0.113.66"', "dhcp-option DNS 10.8.0.1"];
  const parsed = parsePushOptions(raw);
  assert.equal(parsed.dhcpOptions![0].value, "x\nnameserver 203.0.113.66", "the parser keeps the newline");
  const { push, warnings } = vetPush(parsed, pull());
  assert.deepEqual(warnings, [
    'Ignoring pushed dhcp-option "DOMAIN" "x\\nnameserver 203.0.113.66": it contains a control character',
  ]);
  const text = formatResolvConf(pushedDns(push), "tun0", "nameserver 192.0.2.53\n");
  assert.doesNotMatch(text, /203\.0\.113\.66/);
  assert.deepEqual(text.split("\n").filter((l) => l && !l.startsWith("#")), ["nameserver 10.8.0.1"]);
});

Deno.test("the client's push pipeline (screen, parse, vet, plan, resolv.conf) writes none of the injection", async () => {
  const received = [...BASE, 'dhcp-option DOMAIN "x\nnameserver 203.0.113.66"', "dhcp-option DNS 10.8.0.1"];
  const screened = screenPushOptions([], received);
  assert.equal(screened.kind, "accepted");
  if (screened.kind !== "accepted") return;
  assert.equal(screened.warnings.length, 1);
  const { push, warnings } = vetPush(parsePushOptions(screened.options), pull());
  assert.deepEqual(warnings, []);
  const plan = await planHost({
    dev: "tun0",
    mtu: 1500,
    push,
    policy: { pull: pull(), routes: [], routes6: [], redirectGateway: [] },
    server: { address: "203.0.113.5", port: 1194, proto: "udp" },
    lookups: { outsideRoute: () => Promise.resolve(null), defaultRoutes: () => Promise.resolve([]) },
  });
  assert.deepEqual(plan.dns, { servers: ["10.8.0.1"], domain: null, search: [] });
  assert.doesNotMatch(formatResolvConf(plan.dns, "tun0", ""), /203\.0\.113\.66/);
});

Deno.test("vetPush() keeps host-name domains and drops others, naming each dropped option", () => {
  const label63 = "a".repeat(63);
  const long = Array.from({ length: 64 }, () => "abc").join("."); // 255 characters
  const { push, warnings } = vet([
    "dhcp-option DOMAIN corp.example.",
    "dhcp-option DOMAIN-SEARCH _srv.lab-1.example",
    `dhcp-option DOMAIN-SEARCH ${label63}.example`,
    "dhcp-option ADAPTER_DOMAIN_SUFFIX ad.example",
    'dhcp-option DOMAIN-SEARCH "two words"',
    `dhcp-option DOMAIN-SEARCH a${label63}.example`,
    `dhcp-option DOMAIN-SEARCH ${long}`,
    "dhcp-option DOMAIN-SEARCH a..example",
    "dhcp-option DOMAIN-SEARCH bad/name",
    "dhcp-option domain-search ;rm",
    "dhcp-option DOMAIN",
  ]);
  assert.deepEqual(push.dhcpOptions!.map((o) => o.value), [
    "corp.example.",
    "_srv.lab-1.example",
    `${label63}.example`,
    "ad.example",
  ]);
  assert.deepEqual(warnings, [
    'Ignoring pushed dhcp-option "DOMAIN-SEARCH" "two words": not a domain name',
    `Ignoring pushed dhcp-option "DOMAIN-SEARCH" "a${label63}.example": not a domain name`,
    `Ignoring pushed dhcp-option "DOMAIN-SEARCH" "${long}": not a domain name`,
    'Ignoring pushed dhcp-option "DOMAIN-SEARCH" "a..example": not a domain name',
    'Ignoring pushed dhcp-option "DOMAIN-SEARCH" "bad/name": not a domain name',
    'Ignoring pushed dhcp-option "domain-search" ";rm": not a domain name',
    'Ignoring pushed dhcp-option "DOMAIN" "": not a domain name',
  ]);
  assert.deepEqual(pushedDns(push).search, ["corp.example.", "_srv.lab-1.example", `${label63}.example`]);
});

Deno.test("vetPush() keeps DNS servers that are IP addresses and other dhcp-options that are clean", () => {
  const { push, warnings } = vet([
    "dhcp-option DNS 10.8.0.1",
    "dhcp-option DNS6 [fd00::53]:53",
    "dhcp-option DNS 10.8.0.2:5353",
    "dhcp-option DNS ns1.example",
    "dhcp-option DNS 10.8.0.300",
    "dhcp-option NTP 10.8.0.1",
    'dhcp-option NBT "2\r"',
  ]);
  assert.deepEqual(push.dhcpOptions!.map((o) => `${o.type} ${o.value}`), [
    "DNS 10.8.0.1",
    "DNS6 [fd00::53]:53",
    "DNS 10.8.0.2:5353",
    "NTP 10.8.0.1",
  ]);
  assert.deepEqual(warnings, [
    'Ignoring pushed dhcp-option "DNS" "ns1.example": not an IP address',
    'Ignoring pushed dhcp-option "DNS" "10.8.0.300": not an IP address',
    'Ignoring pushed dhcp-option "NBT" "2\\r": it contains a control character',
  ]);
});

Deno.test("vetPush() checks the names and addresses of OpenVPN 2.6 dns options one by one", () => {
  const { push, warnings } = vet([
    "dns search-domains corp.example bad!name lab.example",
    "dns search-domains ;;",
    "dns server 0 address 10.8.0.1 not-an-ip [fd00::53]:53",
    "dns server 1 address nope",
    "dns server 0 dnssec yes",
    "block-outside-dns",
  ]);
  assert.deepEqual(push.extra, [
    "dns search-domains corp.example lab.example",
    "dns server 0 address 10.8.0.1 [fd00::53]:53",
    "dns server 0 dnssec yes",
    "block-outside-dns",
  ]);
  assert.deepEqual(warnings, [
    'Ignoring "bad!name" in pushed dns search-domains: not a domain name',
    'Ignoring ";;" in pushed dns search-domains: not a domain name',
    'Ignoring "not-an-ip" in pushed dns server 0 address: not an IP address',
    'Ignoring "nope" in pushed dns server 1 address: not an IP address',
  ]);
  assert.deepEqual(pushedDns(push), {
    servers: ["10.8.0.1", "fd00::53"],
    domain: null,
    search: ["corp.example", "lab.example"],
  });
});

const WIDE = [
  "route 0.0.0.0 0.0.0.0",
  "route 0.0.0.0 128.0.0.0",
  "route 128.0.0.0 128.0.0.0",
  "route vpn_gateway 0.0.0.0",
  "route 10.1.2.3 128.0.0.0",
];
const WIDE6 = ["route-ipv6 ::/0", "route-ipv6 ::/1", "route-ipv6 8000::/1", "route-ipv6 2000::/3"];
const NARROW = ["route 0.0.0.0 192.0.0.0", "route 10.20.0.0 255.255.0.0"];
const NARROW6 = ["route-ipv6 2000::/4", "route-ipv6 fd00:20::/64"];

Deno.test("vetPush() refuses routes as wide as redirect-gateway when pull.redirect_gateway is false", () => {
  const { push, warnings } = vet(
    [...WIDE, ...NARROW, ...WIDE6, ...NARROW6, "redirect-gateway def1"],
    pull({ redirectGateway: false }),
  );
  assert.deepEqual(push.routes!.map((r) => `${r.network} ${r.netmask}`), [
    "0.0.0.0 192.0.0.0",
    "10.20.0.0 255.255.0.0",
  ]);
  assert.deepEqual(push.routesIpv6!.map((r) => r.network), ["2000::/4", "fd00:20::/64"]);
  assert.equal(push.redirectGateway, undefined);
  assert.deepEqual(warnings, [
    "Ignoring pushed redirect-gateway: pull.redirect_gateway is false",
    ...[...WIDE, ...WIDE6].map((o) =>
      `Ignoring pushed "${o}": it redirects all traffic, which pull.redirect_gateway: false refuses`
    ),
  ]);
});

Deno.test("vetPush() lets wide routes through when pull.redirect_gateway allows a redirect", () => {
  const { push, warnings } = vet([...WIDE, ...WIDE6, "redirect-gateway def1"]);
  assert.deepEqual(warnings, []);
  assert.equal(push.routes!.length, WIDE.length);
  assert.equal(push.routesIpv6!.length, WIDE6.length);
  assert.deepEqual(push.redirectGateway, ["def1"]);
});

Deno.test("vetPush() refuses net_gateway routes unless pull.net_gateway_routes allows them", () => {
  const options = [
    "route 198.51.100.0 255.255.255.0 net_gateway",
    "route remote_host 255.255.255.255 net_gateway",
    "route-ipv6 2001:db8::/32 net_gateway",
    "route 10.20.0.0 255.255.0.0 vpn_gateway",
  ];
  const refused = vet(options);
  assert.deepEqual(refused.push.routes!.map((r) => r.network), ["10.20.0.0"]);
  assert.deepEqual(refused.push.routesIpv6, []);
  assert.deepEqual(refused.warnings, [
    'Ignoring pushed "route 198.51.100.0 255.255.255.0 net_gateway": routes around the tunnel need pull.net_gateway_routes',
    'Ignoring pushed "route remote_host 255.255.255.255 net_gateway": routes around the tunnel need pull.net_gateway_routes',
    'Ignoring pushed "route-ipv6 2001:db8::/32 net_gateway": routes around the tunnel need pull.net_gateway_routes',
  ]);
  const allowed = vet(options, pull({ netGatewayRoutes: true }));
  assert.deepEqual(allowed.warnings, []);
  assert.equal(allowed.push.routes!.length, 3);
  assert.equal(allowed.push.routesIpv6!.length, 1);
});

Deno.test("vetPush() leaves routes alone when pull.routes is false (the planner ignores them all)", () => {
  const { push, warnings } = vet(
    ["route 0.0.0.0 0.0.0.0", "route 1.2.3.0 255.255.255.0 net_gateway"],
    pull({ routes: false, redirectGateway: false }),
  );
  assert.deepEqual(warnings, []);
  assert.equal(push.routes!.length, 2);
});

/** A host whose default route is via 192.168.1.1 on eth0. */
const lookups = {
  outsideRoute: (a: string): Promise<RouteInfo | null> =>
    Promise.resolve({
      family: 4,
      dst: `${a}/32`,
      gateway: "192.168.1.1",
      dev: "eth0",
      table: 254,
      protocol: 3,
    }),
  defaultRoutes: () => Promise.resolve([]),
};

Deno.test("planHost() on a vetted hostile push installs the narrow route only", async () => {
  const p = pull({ redirectGateway: false });
  const { push } = vet(
    [
      "route 0.0.0.0 128.0.0.0",
      "route 128.0.0.0 128.0.0.0",
      "route 203.0.113.0 255.255.255.0 net_gateway",
      ...NARROW,
    ],
    p,
  );
  const plan = await planHost({
    dev: "tun0",
    mtu: 1500,
    push,
    policy: { pull: p, routes: [], routes6: [], redirectGateway: [] },
    server: { address: "198.51.100.1", port: 1194, proto: "udp" },
    lookups,
  });
  const routes = plan.items.filter((i) => i.kind === "route").map((i) => `${i.spec.dst} ${i.spec.dev}`);
  assert.deepEqual(routes, ["0.0.0.0/2 tun0", "10.20.0.0/16 tun0"]);
  assert.equal(plan.redirect, null);
});

Deno.test("vetPush() drops a pushed tun-mtu outside 576-65535 (a refused MTU would end the client)", () => {
  assert.deepEqual(vet(["tun-mtu 1"]).warnings, ["Ignoring pushed tun-mtu 1: expected 576 to 65535"]);
  assert.equal(vet(["tun-mtu 1"]).push.tunMtu, undefined);
  assert.equal(vet(["tun-mtu 0"]).push.tunMtu, undefined);
  assert.equal(vet(["tun-mtu 1400"]).push.tunMtu, 1400);
  assert.equal(vet(["tun-mtu 576"]).push.tunMtu, 576);
});

Deno.test("dnsServerAddress() reads bare, [v6]:port and v4:port forms and nothing else", () => {
  assert.equal(dnsServerAddress("10.8.0.1"), "10.8.0.1");
  assert.equal(dnsServerAddress("[FD00::53]:53"), "fd00::53");
  assert.equal(dnsServerAddress("10.8.0.1:53"), "10.8.0.1");
  assert.equal(dnsServerAddress("10.8.0.1\nnameserver 1.2.3.4"), null);
  assert.equal(dnsServerAddress("ns.example"), null);
});
