/**
 * Planning step 2: routes. `PlannedRoutes` collects the three kinds a plan
 * applies in order (host routes outside the tunnel, suppressed host routes,
 * routes through the tunnel); `planPushRoutes` and `planConfiguredRoutes`
 * fill it from `route` / `route-ipv6` and the local `routes` / `routes6`.
 * redirect-gateway (plan_redirect.ts) adds to the same lists.
 */

import { parseIp } from "../addr/ip.ts";
import { type IpPrefix, ipPrefix, netmaskToLength } from "../addr/prefix.ts";
import type { PushOptions, PushRoute, PushRoute6 } from "../control/push_options.ts";
import type { RouteSpec } from "../device/net_config.ts";
import type { HostLookups, PlanItem, PlanPolicy } from "./host_plan_types.ts";
import type { TunnelAddresses } from "./plan_addresses.ts";

/** The routes of one plan as they are found; the planner orders and dedupes them. */
export class PlannedRoutes {
  /** Host routes around the tunnel (the server, net_gateway routes, bypass-dhcp/dns). */
  readonly outside: PlanItem[] = [];
  /** Routes the host had that are taken away while the tunnel is up. */
  readonly suppress: PlanItem[] = [];
  readonly tunnel: PlanItem[] = [];
  readonly #dev: string;
  readonly #addresses: TunnelAddresses;
  readonly #lookups: HostLookups;
  readonly #warnings: string[];

  constructor(dev: string, addresses: TunnelAddresses, lookups: HostLookups, warnings: string[]) {
    this.#dev = dev;
    this.#addresses = addresses;
    this.#lookups = lookups;
    this.#warnings = warnings;
  }

  /** A route through the device, via the family's tunnel gateway when there is one. */
  throughTunnel(family: 4 | 6, dst: string, metric?: number): PlanItem {
    const spec: RouteSpec = { dst, dev: this.#dev };
    const gateway = family === 4 ? this.#addresses.gateway4 : this.#addresses.gateway6;
    if (gateway) spec.gateway = gateway;
    if (metric !== undefined) spec.metric = metric;
    return { kind: "route", spec, via: "tunnel" };
  }

  /** Adds a host route to `address` through the path the host used before; warns when there is none. */
  async addHostRouteOutside(address: string, why: string): Promise<void> {
    const ip = parseIp(address);
    if (!ip) return;
    const route = await this.#lookups.outsideRoute(ip.text);
    if (!route || (!route.gateway && !route.dev)) {
      this.#warnings.push(`No route outside the tunnel to ${why} ${ip.text}`);
      return;
    }
    const spec: RouteSpec = { dst: `${ip.text}/${ip.family === 4 ? 32 : 128}` };
    if (route.gateway) spec.gateway = route.gateway;
    if (route.dev) spec.dev = route.dev;
    this.outside.push({ kind: "route", spec, via: "outside" });
  }

  /** `route NETWORK [NETMASK [GATEWAY [METRIC]]]`, IPv4. */
  async addPushed(route: PushRoute, serverAddress: string): Promise<void> {
    const network = route.network === "vpn_gateway"
      ? this.#addresses.gateway4
      : route.network === "remote_host"
      ? serverAddress
      : route.network;
    const networkIp = network ? parseIp(network) : null;
    const prefixLen = route.netmask === undefined ? 32 : netmaskToLength(route.netmask);
    if (!networkIp || networkIp.family !== 4 || prefixLen === null) {
      this.#warnings.push(
        `Ignoring pushed route ${[route.network, route.netmask].filter(Boolean).join(" ")}`,
      );
      return;
    }
    const dst = ipPrefix(networkIp.bytes, prefixLen).text;
    if (route.gateway === "net_gateway") {
      await this.#addNetGatewayRoute(route, networkIp.text, dst);
      return;
    }
    if (!this.#addresses.local4) {
      this.#warnings.push(`Ignoring pushed route ${dst}: the server pushed no IPv4 address`);
      return;
    }
    if (route.gateway && route.gateway !== "vpn_gateway" && route.gateway !== "remote_host") {
      const gateway = parseIp(route.gateway);
      if (!gateway || gateway.family !== 4) {
        this.#warnings.push(`Ignoring pushed route ${dst} via ${route.gateway}`);
        return;
      }
      const spec: RouteSpec = { dst, gateway: gateway.text, dev: this.#dev };
      if (route.metric !== undefined) spec.metric = route.metric;
      this.tunnel.push({ kind: "route", spec, via: "tunnel" });
      return;
    }
    this.tunnel.push(this.throughTunnel(4, dst, route.metric));
  }

  /** `route-ipv6 NETWORK/BITS [GATEWAY [METRIC]]`; routes through the tunnel only. */
  addPushedIpv6(route: PushRoute6): void {
    const prefix = parseCidrLoose(route.network, 6);
    if (!prefix) {
      this.#warnings.push(`Ignoring pushed route-ipv6 ${route.network}`);
      return;
    }
    if (!this.#addresses.local6) {
      this.#warnings.push(`Ignoring pushed route-ipv6 ${prefix.text}: the server pushed no IPv6 address`);
      return;
    }
    this.tunnel.push(this.throughTunnel(6, prefix.text, route.metric));
  }

  /** The local `routes` and `routes6`, through the tunnel when it has an address of that family. */
  addConfigured(policy: PlanPolicy): void {
    for (const prefix of policy.routes) {
      if (this.#addresses.local4) this.tunnel.push(this.throughTunnel(4, prefix.text));
      else this.#warnings.push(`Not adding route ${prefix.text}: the server pushed no IPv4 address`);
    }
    for (const prefix of policy.routes6) {
      if (this.#addresses.local6) this.tunnel.push(this.throughTunnel(6, prefix.text));
      else this.#warnings.push(`Not adding route ${prefix.text}: the server pushed no IPv6 address`);
    }
  }

  /** `route … net_gateway`: around the tunnel, the way the host reached the network before. */
  async #addNetGatewayRoute(route: PushRoute, network: string, dst: string): Promise<void> {
    const outside = await this.#lookups.outsideRoute(network);
    if (!outside) {
      this.#warnings.push(`Ignoring pushed route ${dst} via net_gateway: no route outside the tunnel`);
      return;
    }
    const spec: RouteSpec = { dst };
    if (outside.gateway) spec.gateway = outside.gateway;
    if (outside.dev) spec.dev = outside.dev;
    if (route.metric !== undefined) spec.metric = route.metric;
    this.outside.push({ kind: "route", spec, via: "outside" });
  }
}

/** The pushed routes (when pull.routes allows them), then the configured ones. */
export async function planRoutes(
  routes: PlannedRoutes,
  push: PushOptions,
  context: { policy: PlanPolicy; serverAddress: string },
): Promise<void> {
  if (context.policy.pull.routes) {
    for (const route of push.routes ?? []) await routes.addPushed(route, context.serverAddress);
    for (const route of push.routesIpv6 ?? []) routes.addPushedIpv6(route);
  }
  routes.addConfigured(context.policy);
}

function parseCidrLoose(text: string, family: 4 | 6): IpPrefix | null {
  const [addressText, bits] = text.split("/");
  const ip = parseIp(addressText);
  const maxLen = family === 4 ? 32 : 128;
  const prefixLen = bits === undefined ? maxLen : Number(bits);
  if (!ip || ip.family !== family || !/^\d+$/.test(bits ?? String(maxLen)) || prefixLen > maxLen) return null;
  return ipPrefix(ip.bytes, prefixLen);
}
