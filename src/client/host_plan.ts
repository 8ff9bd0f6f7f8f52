/**
 * From what the server pushed (and the client's own policy) to the host
 * configuration the tunnel needs: addresses, routes, routes taken away while
 * the tunnel is up, MTU and DNS. Planning changes nothing on the host; the
 * only host knowledge it needs (the route to an address outside the tunnel,
 * the default routes) comes in through `HostLookups`, so it is tested with
 * plain data.
 *
 * Addresses by topology (OpenVPN's rules):
 *   subnet       `ifconfig 10.8.0.2 255.255.255.0`  → 10.8.0.2/24, routes via route-gateway
 *   net30, p2p   `ifconfig 10.8.0.6 10.8.0.5`      → 10.8.0.6 peer 10.8.0.5, routes via the peer
 *   IPv6         `ifconfig-ipv6 fd00::1000/64 fd00::1` → fd00::1000/64, routes via fd00::1
 *
 * redirect-gateway: with def1, 0.0.0.0/1 + 128.0.0.0/1 (and ::/1 + 8000::/1
 * when the server pushed an IPv6 address) through the tunnel; without def1
 * the default routes are taken away (`suppress`) and a default route through
 * the tunnel added. Unless the flag `local` is given, a host route to the
 * server's real address through the path the host used before keeps the
 * tunnel's own packets outside it; bypass-dhcp and bypass-dns add the same
 * kind of host route for the DHCP server and the DNS servers the host used.
 *
 * Items are ordered so that applying them front to back never cuts the path
 * to the server: addresses, host routes outside the tunnel, suppressions,
 * then routes through the tunnel.
 */

import type { PushOptions } from "../control/push_options.ts";
import { parseIp } from "../addr/ip.ts";
import { type IpPrefix, ipPrefix, netmaskToLength } from "../addr/prefix.ts";
import type { PullConfig, RedirectFlag, Topology } from "../config/schema.ts";
import type { AddressSpec, RouteInfo, RouteSpec } from "../device/net_config.ts";
import { dnsServerAddress } from "./push_vet.ts";

export type PlanItem =
  | { kind: "address"; spec: AddressSpec }
  /** `outside`: a host route around the tunnel; `tunnel`: through the device. */
  | { kind: "route"; spec: RouteSpec; via: "tunnel" | "outside" }
  /** A route the host had that is removed while the tunnel is up and put back after. */
  | { kind: "suppress"; spec: RouteSpec };

export interface DnsSettings {
  /** IPv4 and IPv6 servers in pushed order. */
  servers: string[];
  domain: string | null;
  search: string[];
}

export interface TunnelAddress {
  address: string;
  prefixLen: number;
  /** net30/p2p: the server-side end. */
  peer: string | null;
  /** subnet: the dotted netmask. */
  netmask: string | null;
}

export interface HostPlan {
  dev: string;
  mtu: number;
  topology: Topology;
  local4: TunnelAddress | null;
  local6: TunnelAddress | null;
  /** Gateway for routes through the tunnel (route-gateway or the peer). */
  gateway4: string | null;
  gateway6: string | null;
  /** The gateway the host used towards the server before the tunnel, if any. */
  netGateway: string | null;
  server: { address: string; port: number; proto: string };
  redirect: { ipv4: boolean; ipv6: boolean; def1: boolean; flags: string[] } | null;
  dns: DnsSettings;
  items: PlanItem[];
  /** Pushed options that could not be honoured, one sentence each. */
  warnings: string[];
}

/** What the local configuration says about applying a push. */
export interface PlanPolicy {
  pull: PullConfig;
  routes: readonly IpPrefix[];
  routes6: readonly IpPrefix[];
  redirectGateway: readonly RedirectFlag[];
}

/** Read-only questions about the host as it was before tsvpn changed anything. */
export interface HostLookups {
  /** The route the host used to reach `address` without the tunnel; null when none. */
  outsideRoute(address: string): Promise<RouteInfo | null>;
  /** Default routes (0.0.0.0/0 or ::/0, main table) not through the tunnel. */
  defaultRoutes(family: 4 | 6): Promise<RouteInfo[]>;
  /** The DHCP server that configured the host, when known. */
  dhcpServer?(): Promise<string | null>;
  /** The DNS servers the host used before the tunnel. */
  systemDnsServers?(): Promise<string[]>;
}

export interface PlanInput {
  dev: string;
  /** Configured dev.mtu, used unless the server pushes tun-mtu. */
  mtu: number;
  push: PushOptions;
  policy: PlanPolicy;
  server: { address: string; port: number; proto: string };
  lookups: HostLookups;
}

const DEF1_V4 = ["0.0.0.0/1", "128.0.0.0/1"];
const DEF1_V6 = ["::/1", "8000::/1"];

/** Plans the host configuration for one PUSH_REPLY. */
export async function planHost(input: PlanInput): Promise<HostPlan> {
  const { push, policy, dev } = input;
  const warnings: string[] = [];
  const items: PlanItem[] = [];
  const topology = pickTopology(push);

  // Addresses.
  let local4: TunnelAddress | null = null;
  let gateway4: string | null = null;
  if (push.ifconfig) {
    const local = parseIp(push.ifconfig.local);
    const second = push.ifconfig.remoteOrNetmask;
    if (!local || local.family !== 4) {
      warnings.push(`Ignoring ifconfig with a bad local address ${push.ifconfig.local}`);
    } else if (topology === "subnet") {
      const len = netmaskToLength(second);
      if (len === null) warnings.push(`Ignoring ifconfig with a bad netmask ${second}`);
      else {
        local4 = { address: local.text, prefixLen: len, peer: null, netmask: second };
        gateway4 = push.routeGateway && parseIp(push.routeGateway)?.family === 4 ? push.routeGateway : null;
        if (!gateway4) warnings.push("The server pushed no route-gateway; routes use the device only");
      }
    } else {
      const peer = parseIp(second);
      if (!peer || peer.family !== 4) warnings.push(`Ignoring ifconfig with a bad peer address ${second}`);
      else {
        local4 = { address: local.text, prefixLen: 32, peer: peer.text, netmask: null };
        gateway4 = peer.text;
      }
    }
  }
  let local6: TunnelAddress | null = null;
  let gateway6: string | null = null;
  if (push.ifconfigIpv6) {
    const [addr, bits] = push.ifconfigIpv6.local.split("/");
    const a = parseIp(addr);
    const len = bits === undefined ? 64 : Number(bits);
    const remote = parseIp(push.ifconfigIpv6.remote);
    if (!a || a.family !== 6 || !Number.isInteger(len) || len < 0 || len > 128) {
      warnings.push(`Ignoring ifconfig-ipv6 with a bad address ${push.ifconfigIpv6.local}`);
    } else {
      local6 = { address: a.text, prefixLen: len, peer: null, netmask: null };
      gateway6 = remote && remote.family === 6 ? remote.text : null;
    }
  }
  if (local4) {
    const spec: AddressSpec = { dev, address: local4.address, prefixLen: local4.prefixLen };
    if (local4.peer) spec.peer = local4.peer;
    items.push({ kind: "address", spec });
  }
  if (local6) {
    items.push({ kind: "address", spec: { dev, address: local6.address, prefixLen: local6.prefixLen } });
  }

  const tunnel4 = (dst: string, metric?: number): PlanItem => {
    const spec: RouteSpec = { dst, dev };
    if (gateway4) spec.gateway = gateway4;
    if (metric !== undefined) spec.metric = metric;
    return { kind: "route", spec, via: "tunnel" };
  };
  const tunnel6 = (dst: string, metric?: number): PlanItem => {
    const spec: RouteSpec = { dst, dev };
    if (gateway6) spec.gateway = gateway6;
    if (metric !== undefined) spec.metric = metric;
    return { kind: "route", spec, via: "tunnel" };
  };
  const outside: PlanItem[] = [];
  const suppress: PlanItem[] = [];
  const tunnel: PlanItem[] = [];
  const hostRouteOutside = async (address: string, why: string): Promise<void> => {
    const ip = parseIp(address);
    if (!ip) return;
    const r = await input.lookups.outsideRoute(ip.text);
    if (!r || (!r.gateway && !r.dev)) {
      warnings.push(`No route outside the tunnel to ${why} ${ip.text}`);
      return;
    }
    const spec: RouteSpec = { dst: `${ip.text}/${ip.family === 4 ? 32 : 128}` };
    if (r.gateway) spec.gateway = r.gateway;
    if (r.dev) spec.dev = r.dev;
    outside.push({ kind: "route", spec, via: "outside" });
  };

  const serverIp = parseIp(input.server.address);
  const serverRoute = serverIp ? await input.lookups.outsideRoute(serverIp.text) : null;
  const netGateway = serverRoute?.gateway ?? null;

  // Pushed and configured routes.
  if (policy.pull.routes) {
    for (const r of push.routes ?? []) {
      const network = r.network === "vpn_gateway"
        ? gateway4
        : r.network === "remote_host"
        ? input.server.address
        : r.network;
      const net = network ? parseIp(network) : null;
      const len = r.netmask === undefined ? 32 : netmaskToLength(r.netmask);
      if (!net || net.family !== 4 || len === null) {
        warnings.push(`Ignoring pushed route ${[r.network, r.netmask].filter(Boolean).join(" ")}`);
        continue;
      }
      const dst = ipPrefix(net.bytes, len).text;
      if (r.gateway === "net_gateway") {
        const o = await input.lookups.outsideRoute(net.text);
        if (!o) warnings.push(`Ignoring pushed route ${dst} via net_gateway: no route outside the tunnel`);
        else {
          const spec: RouteSpec = { dst };
          if (o.gateway) spec.gateway = o.gateway;
          if (o.dev) spec.dev = o.dev;
          if (r.metric !== undefined) spec.metric = r.metric;
          outside.push({ kind: "route", spec, via: "outside" });
        }
        continue;
      }
      if (!local4) {
        warnings.push(`Ignoring pushed route ${dst}: the server pushed no IPv4 address`);
        continue;
      }
      if (r.gateway && r.gateway !== "vpn_gateway" && r.gateway !== "remote_host") {
        const gw = parseIp(r.gateway);
        if (!gw || gw.family !== 4) {
          warnings.push(`Ignoring pushed route ${dst} via ${r.gateway}`);
          continue;
        }
        const spec: RouteSpec = { dst, gateway: gw.text, dev };
        if (r.metric !== undefined) spec.metric = r.metric;
        tunnel.push({ kind: "route", spec, via: "tunnel" });
        continue;
      }
      tunnel.push(tunnel4(dst, r.metric));
    }
    for (const r of push.routesIpv6 ?? []) {
      const p = parseCidrLoose(r.network, 6);
      if (!p) {
        warnings.push(`Ignoring pushed route-ipv6 ${r.network}`);
        continue;
      }
      if (!local6) {
        warnings.push(`Ignoring pushed route-ipv6 ${p.text}: the server pushed no IPv6 address`);
        continue;
      }
      tunnel.push(tunnel6(p.text, r.metric));
    }
  }
  for (const p of policy.routes) {
    if (local4) tunnel.push(tunnel4(p.text));
    else warnings.push(`Not adding route ${p.text}: the server pushed no IPv4 address`);
  }
  for (const p of policy.routes6) {
    if (local6) tunnel.push(tunnel6(p.text));
    else warnings.push(`Not adding route ${p.text}: the server pushed no IPv6 address`);
  }

  // redirect-gateway.
  let redirect: HostPlan["redirect"] = null;
  const pushed = policy.pull.redirectGateway ? push.redirectGateway : undefined;
  if (pushed !== undefined || policy.redirectGateway.length > 0) {
    const flags = [...new Set([...(pushed ?? []), ...policy.redirectGateway])];
    const def1 = flags.includes("def1");
    const ipv4 = !flags.includes("!ipv4") && local4 !== null;
    const ipv6 = local6 !== null;
    redirect = { ipv4, ipv6, def1, flags };
    for (const f of flags) {
      if (!["def1", "local", "bypass-dhcp", "bypass-dns", "ipv6", "!ipv4", "autolocal"].includes(f)) {
        warnings.push(`Ignoring redirect-gateway flag ${f}`);
      }
    }
    const local = flags.includes("local") || (flags.includes("autolocal") && serverRoute !== null &&
      !serverRoute.gateway);
    if (!local && serverIp && ((serverIp.family === 4 && ipv4) || (serverIp.family === 6 && ipv6))) {
      await hostRouteOutside(serverIp.text, "the server");
    }
    if (flags.includes("bypass-dhcp") && ipv4 && input.lookups.dhcpServer) {
      const dhcp = await input.lookups.dhcpServer();
      if (dhcp) await hostRouteOutside(dhcp, "the DHCP server");
    }
    if (flags.includes("bypass-dns") && input.lookups.systemDnsServers) {
      for (const d of await input.lookups.systemDnsServers()) {
        const ip = parseIp(d);
        if (ip && ((ip.family === 4 && ipv4) || (ip.family === 6 && ipv6))) {
          await hostRouteOutside(ip.text, "the DNS server");
        }
      }
    }
    const families: [boolean, 4 | 6, string[], (dst: string) => PlanItem][] = [
      [ipv4, 4, DEF1_V4, (d) => tunnel4(d)],
      [ipv6, 6, DEF1_V6, (d) => tunnel6(d)],
    ];
    const redirectRoutes: PlanItem[] = [];
    for (const [on, family, halves, make] of families) {
      if (!on) continue;
      if (def1) {
        for (const h of halves) redirectRoutes.push(make(h));
        continue;
      }
      for (const d of await input.lookups.defaultRoutes(family)) {
        const spec: RouteSpec = { dst: d.dst };
        if (d.gateway) spec.gateway = d.gateway;
        if (d.dev) spec.dev = d.dev;
        if (d.metric !== undefined) spec.metric = d.metric;
        if (d.src) spec.src = d.src;
        suppress.push({ kind: "suppress", spec });
      }
      redirectRoutes.push(make(family === 4 ? "0.0.0.0/0" : "::/0"));
    }
    tunnel.unshift(...redirectRoutes);
  }

  items.push(...dedupe(outside), ...dedupe(suppress), ...dedupe(tunnel));
  return {
    dev,
    mtu: push.tunMtu ?? input.mtu,
    topology,
    local4,
    local6,
    gateway4,
    gateway6,
    netGateway,
    server: input.server,
    redirect,
    dns: pushedDns(push),
    items,
    warnings,
  };
}

/** The pushed topology; without one, a netmask as ifconfig's second word means subnet, else net30. */
export function pickTopology(push: PushOptions): Topology {
  if (push.topology) return push.topology;
  const second = push.ifconfig?.remoteOrNetmask;
  if (second && second.startsWith("255.") && netmaskToLength(second) !== null) return "subnet";
  return "net30";
}

/** DNS servers and domains from dhcp-option DNS/DNS6/DOMAIN/DOMAIN-SEARCH and OpenVPN 2.6 `dns` options. */
export function pushedDns(push: PushOptions): DnsSettings {
  const servers: string[] = [];
  let domain: string | null = null;
  const search: string[] = [];
  const addServer = (s: string) => {
    const ip = dnsServerAddress(s);
    if (ip && !servers.includes(ip)) servers.push(ip);
  };
  for (const o of push.dhcpOptions ?? []) {
    const type = o.type.toUpperCase();
    if (type === "DNS" || type === "DNS6") addServer(o.value.trim());
    else if (type === "DOMAIN" || type === "ADAPTER_DOMAIN_SUFFIX") domain ??= o.value.trim() || null;
    else if (type === "DOMAIN-SEARCH") search.push(o.value.trim());
  }
  for (const e of push.extra ?? []) {
    const w = e.split(/\s+/);
    if (w[0] !== "dns") continue;
    if (w[1] === "server" && w[3] === "address") { for (const a of w.slice(4)) addServer(a); }
    else if (w[1] === "search-domains") search.push(...w.slice(2));
  }
  const all = domain ? [domain, ...search.filter((s) => s !== domain)] : search;
  return { servers, domain, search: [...new Set(all)].filter((s) => s.length > 0) };
}

/** Key identifying a plan item, for diffing plans. */
export function itemKey(item: PlanItem): string {
  if (item.kind === "address") {
    const s = item.spec;
    return `a ${s.dev} ${s.address}/${s.prefixLen} ${s.peer ?? ""}`;
  }
  const s = item.spec;
  return `${item.kind === "route" ? "r" : "s"} ${s.dst} ${s.gateway ?? ""} ${s.dev ?? ""} ${s.metric ?? ""}`;
}

function dedupe(items: PlanItem[]): PlanItem[] {
  const seen = new Set<string>();
  return items.filter((i) => {
    const k = itemKey(i);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function parseCidrLoose(text: string, family: 4 | 6): IpPrefix | null {
  const [addr, bits] = text.split("/");
  const ip = parseIp(addr);
  const max = family === 4 ? 32 : 128;
  const len = bits === undefined ? max : Number(bits);
  if (!ip || ip.family !== family || !/^\d+$/.test(bits ?? String(max)) || len > max) return null;
  return ipPrefix(ip.bytes, len);
}
