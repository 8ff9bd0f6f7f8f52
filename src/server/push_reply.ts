/**
 * What the server pushes to one client, in the forms a stock OpenVPN 2.6
 * client expects (the control session adds cipher, peer-id and
 * protocol-flags):
 *
 *   route-gateway 10.8.0.1 / topology subnet   (layout, see pool/topology.ts)
 *   ifconfig 10.8.0.2 255.255.255.0            (subnet, tap)
 *   ifconfig 10.8.0.6 10.8.0.5                 (net30: client, server end of its /30)
 *   ifconfig 10.8.0.4 10.8.0.1                 (p2p: client, server)
 *   ifconfig-ipv6 fd00:8::1000/64 fd00:8::1
 *   route 192.168.10.0 255.255.255.0           (global, then per-client)
 *   route-ipv6 fd00:10::/64
 *   redirect-gateway def1 bypass-dhcp
 *   dhcp-option DNS 10.8.0.1 / DNS6 fd00::53 / DOMAIN example.org
 *   ping 10 / ping-restart 60
 *   comp-lzo no / compress stub / compress stub-v2   (server.compat.compress)
 *
 * A route that lies inside one of the client's own iroutes is not pushed to
 * it: the subnet is behind that client, not behind the server.
 */

import { formatIpv4 } from "../addr/ip.ts";
import { type IpPrefix, ipv4Netmask, prefixCovers } from "../addr/prefix.ts";
import type { ClientOverride, KeepaliveConfig, PushConfig } from "../config/schema.ts";
import { parsePushOptions, type PushOptions } from "../control/push_options.ts";
import type { AddressPool, Lease } from "../pool/address_pool.ts";
import { type CompressFraming, FRAMING_OPTION } from "../data/framing.ts";
import { serverPushOptions } from "../pool/topology.ts";

export interface ClientPushInput {
  pool: AddressPool | null;
  lease: Lease | null;
  clientToClient: boolean;
  keepalive: KeepaliveConfig;
  push: PushConfig;
  override: ClientOverride | null;
  peerId: number;
  /** Compression framing (server.compat.compress): pushed as its OpenVPN option. @default "none" */
  compress?: CompressFraming;
  /** Options from client-config-dir / client-connect `push` lines, sent after the others. */
  extra?: readonly string[];
}

export function buildClientPush(input: ClientPushInput): PushOptions {
  const base: PushOptions = input.pool
    ? parsePushOptions(serverPushOptions(input.pool.layout, input.clientToClient))
    : {};
  const o: PushOptions = { ...base };
  if (input.pool && input.lease) {
    const { ifconfig, ifconfigIpv6 } = input.pool.pushIfconfig(input.lease);
    if (ifconfig) {
      const [local, second] = ifconfig.split(" ");
      o.ifconfig = { local, remoteOrNetmask: second };
    }
    if (ifconfigIpv6) {
      const [local, remote] = ifconfigIpv6.split(" ");
      o.ifconfigIpv6 = { local, remote };
    }
  }
  const own = input.override;
  const iroutes = own ? [...own.iroutes, ...own.iroutes6] : [];
  const notOwn = (p: IpPrefix) => !iroutes.some((r) => prefixCovers(r, p));
  const pushes = own ? [input.push, own.push] : [input.push];
  const routes = [...(o.routes ?? [])];
  const routes6 = [...(o.routesIpv6 ?? [])];
  const redirect = new Set<string>();
  let redirecting = false;
  const dhcp: { type: string; value: string }[] = [];
  let domain: string | null = null;
  for (const p of pushes) {
    for (const r of p.routes.filter(notOwn)) {
      routes.push({ network: r.address, netmask: formatIpv4(ipv4Netmask(r.length)) });
    }
    for (const r of p.routes6.filter(notOwn)) routes6.push({ network: r.text });
    if (p.redirectGateway.length > 0) {
      redirecting = true;
      for (const f of p.redirectGateway) redirect.add(f);
    }
    for (const d of p.dns) {
      const type = d.family === 4 ? "DNS" : "DNS6";
      if (!dhcp.some((x) => x.type === type && x.value === d.text)) dhcp.push({ type, value: d.text });
    }
    if (p.domain) domain = p.domain;
  }
  if (domain) dhcp.push({ type: "DOMAIN", value: domain });
  if (routes.length > 0) o.routes = routes;
  if (routes6.length > 0) o.routesIpv6 = routes6;
  if (redirecting) o.redirectGateway = [...redirect];
  if (dhcp.length > 0) o.dhcpOptions = dhcp;
  o.ping = input.keepalive.interval;
  o.pingRestart = input.keepalive.timeout;
  o.peerId = input.peerId;
  const compress = input.compress ?? "none";
  if (compress !== "none") o.extra = [...(o.extra ?? []), FRAMING_OPTION[compress]];
  if (input.extra && input.extra.length > 0) appendPushLines(o, input.extra);
  return o;
}

/** Adds pushed option lines to `o`: lists grow, a single-valued option (ping, redirect-gateway…) is replaced. */
export function appendPushLines(o: PushOptions, lines: readonly string[]): void {
  const more = parsePushOptions(lines);
  if (more.routes) o.routes = [...(o.routes ?? []), ...more.routes];
  if (more.routesIpv6) o.routesIpv6 = [...(o.routesIpv6 ?? []), ...more.routesIpv6];
  if (more.dhcpOptions) o.dhcpOptions = [...(o.dhcpOptions ?? []), ...more.dhcpOptions];
  if (more.extra) o.extra = [...(o.extra ?? []), ...more.extra];
  if (more.redirectGateway) o.redirectGateway = more.redirectGateway;
  if (more.ping !== undefined) o.ping = more.ping;
  if (more.pingRestart !== undefined) o.pingRestart = more.pingRestart;
  if (more.tunMtu !== undefined) o.tunMtu = more.tunMtu;
}
