/**
 * The shapes of a host plan (host_plan.ts): the items applied to the host,
 * the pushed DNS settings, the tunnel's own addresses, and the read-only
 * questions the planner asks about the host. Kept apart from the planner so
 * its steps (plan_addresses.ts, plan_routes.ts, plan_redirect.ts) and the
 * recorder that applies a plan (host_changes.ts) share them without importing
 * the planner.
 */

import type { IpPrefix } from "../addr/prefix.ts";
import type { PullConfig, RedirectFlag, Topology } from "../config/schema.ts";
import type { AddressSpec, RouteInfo, RouteSpec } from "../device/net_config.ts";

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

/** What redirect-gateway does in a plan; null in `HostPlan.redirect` when it is off. */
export interface RedirectPlan {
  ipv4: boolean;
  ipv6: boolean;
  def1: boolean;
  flags: string[];
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
  redirect: RedirectPlan | null;
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
