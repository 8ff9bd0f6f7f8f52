/**
 * From what the server pushed (and the client's own policy) to the host
 * configuration the tunnel needs: addresses, routes, routes taken away while
 * the tunnel is up, MTU and DNS. Planning changes nothing on the host; the
 * only host knowledge it needs (the route to an address outside the tunnel,
 * the default routes) comes in through `HostLookups`, so it is tested with
 * plain data.
 *
 * The steps, each in its own file:
 *   1. addresses        plan_addresses.ts  ifconfig / ifconfig-ipv6 by topology, tunnel gateways
 *   2. routes           plan_routes.ts     pushed route / route-ipv6 (net_gateway), configured routes
 *   3. redirect-gateway plan_redirect.ts   def1 halves or suppressed defaults, bypass host routes
 *   4. DNS, MTU         here               dhcp-option / dns options; tun-mtu or dev.mtu
 *
 * Items are ordered so that applying them front to back never cuts the path
 * to the server: addresses, host routes outside the tunnel, suppressions,
 * then routes through the tunnel.
 */

import { parseIp } from "../addr/ip.ts";
import type { PushOptions } from "../control/push_options.ts";
import type { DnsSettings, HostLookups, HostPlan, PlanItem, PlanPolicy } from "./host_plan_types.ts";
import { addressItems, pickTopology, planTunnelAddresses } from "./plan_addresses.ts";
import { planRedirectGateway } from "./plan_redirect.ts";
import { PlannedRoutes, planRoutes } from "./plan_routes.ts";
import { dnsServerAddress } from "./push_vet.ts";

export interface PlanInput {
  dev: string;
  /** A tap device takes `ifconfig ADDRESS NETMASK` whatever the topology (OpenVPN's rule). @default "tun" */
  devType?: "tun" | "tap";
  /** Configured dev.mtu, used unless the server pushes tun-mtu. */
  mtu: number;
  push: PushOptions;
  policy: PlanPolicy;
  server: { address: string; port: number; proto: string };
  lookups: HostLookups;
}

/** Plans the host configuration for one PUSH_REPLY. */
export async function planHost(input: PlanInput): Promise<HostPlan> {
  const { push, policy, dev, lookups } = input;
  const warnings: string[] = [];
  const topology = input.devType === "tap" ? "subnet" : pickTopology(push);
  const addresses = planTunnelAddresses(push, topology, warnings);

  const serverIp = parseIp(input.server.address);
  const serverRoute = serverIp ? await lookups.outsideRoute(serverIp.text) : null;
  const routes = new PlannedRoutes(dev, addresses, lookups, warnings);
  await planRoutes(routes, push, { policy, serverAddress: input.server.address });
  const redirect = await planRedirectGateway(routes, {
    push,
    policy,
    addresses,
    lookups,
    serverIp,
    serverRoute,
    warnings,
  });

  return {
    dev,
    mtu: push.tunMtu ?? input.mtu,
    topology,
    local4: addresses.local4,
    local6: addresses.local6,
    gateway4: addresses.gateway4,
    gateway6: addresses.gateway6,
    netGateway: serverRoute?.gateway ?? null,
    server: input.server,
    redirect,
    dns: pushedDns(push),
    items: [
      ...addressItems(dev, addresses),
      ...dedupe(routes.outside),
      ...dedupe(routes.suppress),
      ...dedupe(routes.tunnel),
    ],
    warnings,
  };
}

/** DNS servers and domains from dhcp-option DNS/DNS6/DOMAIN/DOMAIN-SEARCH and OpenVPN 2.6 `dns` options. */
export function pushedDns(push: PushOptions): DnsSettings {
  const servers: string[] = [];
  let domain: string | null = null;
  const search: string[] = [];
  const addServer = (text: string) => {
    const ip = dnsServerAddress(text);
    if (ip && !servers.includes(ip)) servers.push(ip);
  };
  for (const option of push.dhcpOptions ?? []) {
    const type = option.type.toUpperCase();
    if (type === "DNS" || type === "DNS6") addServer(option.value.trim());
    else if (type === "DOMAIN" || type === "ADAPTER_DOMAIN_SUFFIX") domain ??= option.value.trim() || null;
    else if (type === "DOMAIN-SEARCH") search.push(option.value.trim());
  }
  for (const extra of push.extra ?? []) {
    const words = extra.split(/\s+/);
    if (words[0] !== "dns") continue;
    if (words[1] === "server" && words[3] === "address") { for (const a of words.slice(4)) addServer(a); }
    else if (words[1] === "search-domains") search.push(...words.slice(2));
  }
  const all = domain ? [domain, ...search.filter((s) => s !== domain)] : search;
  return { servers, domain, search: [...new Set(all)].filter((s) => s.length > 0) };
}

/** Key identifying a plan item, for diffing plans. */
export function itemKey(item: PlanItem): string {
  if (item.kind === "address") {
    const spec = item.spec;
    return `a ${spec.dev} ${spec.address}/${spec.prefixLen} ${spec.peer ?? ""}`;
  }
  const spec = item.spec;
  return `${item.kind === "route" ? "r" : "s"} ${spec.dst} ${spec.gateway ?? ""} ${spec.dev ?? ""} ${
    spec.metric ?? ""
  }`;
}

function dedupe(items: PlanItem[]): PlanItem[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = itemKey(item);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
