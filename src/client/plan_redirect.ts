/**
 * Planning step 3: redirect-gateway. With def1, 0.0.0.0/1 + 128.0.0.0/1 (and
 * ::/1 + 8000::/1 when the server pushed an IPv6 address) through the tunnel;
 * without def1 the default routes are taken away (`suppress`) and a default
 * route through the tunnel added. Unless the flag `local` is given, a host
 * route to the server's real address through the path the host used before
 * keeps the tunnel's own packets outside it; bypass-dhcp and bypass-dns add
 * the same kind of host route for the DHCP server and the DNS servers the
 * host used.
 */

import { type IpAddress, parseIp } from "../addr/ip.ts";
import type { PushOptions } from "../control/push_options.ts";
import type { RouteInfo, RouteSpec } from "../device/net_config.ts";
import type { HostLookups, PlanItem, PlanPolicy, RedirectPlan } from "./host_plan_types.ts";
import type { TunnelAddresses } from "./plan_addresses.ts";
import type { PlannedRoutes } from "./plan_routes.ts";

const DEF1_V4 = ["0.0.0.0/1", "128.0.0.0/1"];
const DEF1_V6 = ["::/1", "8000::/1"];
const KNOWN_FLAGS = ["def1", "local", "bypass-dhcp", "bypass-dns", "ipv6", "!ipv4", "autolocal"];

export interface RedirectContext {
  push: PushOptions;
  policy: PlanPolicy;
  addresses: TunnelAddresses;
  lookups: HostLookups;
  /** The server's address, when it is an IP address. */
  serverIp: IpAddress | null;
  /** The route the host used to the server before the tunnel. */
  serverRoute: RouteInfo | null;
  warnings: string[];
}

/**
 * Adds redirect-gateway's routes to `routes` (its routes through the tunnel
 * go first) and says what it does; null when neither the server (as far as
 * pull allows) nor the configuration asks for it.
 */
export async function planRedirectGateway(
  routes: PlannedRoutes,
  context: RedirectContext,
): Promise<RedirectPlan | null> {
  const { push, policy, addresses } = context;
  const pushed = policy.pull.redirectGateway ? push.redirectGateway : undefined;
  if (pushed === undefined && policy.redirectGateway.length === 0) return null;
  const flags = [...new Set([...(pushed ?? []), ...policy.redirectGateway])];
  const redirect: RedirectPlan = {
    ipv4: !flags.includes("!ipv4") && addresses.local4 !== null,
    ipv6: addresses.local6 !== null,
    def1: flags.includes("def1"),
    flags,
  };
  for (const flag of flags) {
    if (!KNOWN_FLAGS.includes(flag)) context.warnings.push(`Ignoring redirect-gateway flag ${flag}`);
  }
  await addBypassRoutes(routes, redirect, context);
  const redirectRoutes: PlanItem[] = [];
  for (const family of [4, 6] as const) {
    if (family === 4 ? !redirect.ipv4 : !redirect.ipv6) continue;
    if (redirect.def1) {
      for (const half of family === 4 ? DEF1_V4 : DEF1_V6) {
        redirectRoutes.push(routes.throughTunnel(family, half));
      }
      continue;
    }
    for (const route of await context.lookups.defaultRoutes(family)) {
      routes.suppress.push({ kind: "suppress", spec: suppressSpec(route) });
    }
    redirectRoutes.push(routes.throughTunnel(family, family === 4 ? "0.0.0.0/0" : "::/0"));
  }
  routes.tunnel.unshift(...redirectRoutes);
  return redirect;
}

/** Host routes outside the tunnel to the server (unless local), the DHCP server and the DNS servers. */
async function addBypassRoutes(routes: PlannedRoutes, redirect: RedirectPlan, context: RedirectContext) {
  const { flags, ipv4, ipv6 } = redirect;
  const { serverIp, serverRoute, lookups } = context;
  const redirected = (ip: IpAddress) => (ip.family === 4 && ipv4) || (ip.family === 6 && ipv6);
  const local = flags.includes("local") ||
    (flags.includes("autolocal") && serverRoute !== null && !serverRoute.gateway);
  if (!local && serverIp && redirected(serverIp)) {
    await routes.addHostRouteOutside(serverIp.text, "the server");
  }
  if (flags.includes("bypass-dhcp") && ipv4 && lookups.dhcpServer) {
    const dhcpServer = await lookups.dhcpServer();
    if (dhcpServer) await routes.addHostRouteOutside(dhcpServer, "the DHCP server");
  }
  if (flags.includes("bypass-dns") && lookups.systemDnsServers) {
    for (const server of await lookups.systemDnsServers()) {
      const ip = parseIp(server);
      if (ip && redirected(ip)) await routes.addHostRouteOutside(ip.text, "the DNS server");
    }
  }
}

/** The default route as the host has it, to take away and put back. */
function suppressSpec(route: RouteInfo): RouteSpec {
  const spec: RouteSpec = { dst: route.dst };
  if (route.gateway) spec.gateway = route.gateway;
  if (route.dev) spec.dev = route.dev;
  if (route.metric !== undefined) spec.metric = route.metric;
  if (route.src) spec.src = route.src;
  return spec;
}
