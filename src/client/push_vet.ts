/**
 * What a server may ask of the client's host, checked before planning: a
 * hostile or compromised server must not be able to write arbitrary lines
 * into resolv.conf, take all traffic without the client's consent, or send
 * traffic around the tunnel. Each refused value is dropped with a one-line
 * warning naming the option; the rest of the push still applies.
 *
 *   dhcp-option DOMAIN / DOMAIN-SEARCH / ADAPTER_DOMAIN_SUFFIX, `dns search-domains`
 *       a host name (labels of letters, digits, - and _, 1-63 characters,
 *       at most 253 in all, an optional final dot)
 *   dhcp-option DNS / DNS6, `dns server N address`       an IP address (optionally [v6]:port, v4:port)
 *   any other dhcp-option                                no control characters
 *   route / route-ipv6 as wide as redirect-gateway       IPv4 /0 or /1 (the def1 halves), IPv6 /0 to /3
 *       (::/0, the def1 halves ::/1 + 8000::/1, 2000::/3): only when pull.redirect_gateway allows
 *       a redirect; so is a pushed redirect-gateway itself
 *   route … net_gateway, route-ipv6 … net_gateway        only with pull.net_gateway_routes: true
 *   tun-mtu                                              576 to 65535, as dev.mtu (the kernel refuses
 *       less, and a refused host change would end the client)
 *
 * Control characters in whole option lines are refused earlier, on the lines
 * as received (push_screen.ts); the checks here hold on their own as well.
 */

import { parseIp } from "../addr/ip.ts";
import { netmaskToLength } from "../addr/prefix.ts";
import type { PullConfig } from "../config/schema.ts";
import { isHostName } from "../config/values.ts";
import type { DhcpOption, PushOptions, PushRoute, PushRoute6 } from "../control/push_options.ts";
import { hasControlChar, quotePushed } from "./push_screen.ts";

export interface VettedPush {
  push: PushOptions;
  warnings: string[];
}

/** IPv4 routes this wide or wider take over the default route: /0, or a def1 half. */
const REDIRECT_MAX_V4 = 1;
/** IPv6: ::/0, the halves ::/1 and 8000::/1, and 2000::/3 (all global unicast). */
const REDIRECT_MAX_V6 = 3;
/** The range config accepts for dev.mtu. */
const MIN_MTU = 576;
const MAX_MTU = 65535;
const DOMAIN_TYPES = new Set(["DOMAIN", "DOMAIN-SEARCH", "ADAPTER_DOMAIN_SUFFIX"]);
const DNS_TYPES = new Set(["DNS", "DNS6"]);

/** The address of a pushed DNS server ("[v6]:port", "v4:port" or bare) in canonical text, or null. */
export function dnsServerAddress(s: string): string | null {
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  const v4port = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(s);
  return parseIp(bracket ? bracket[1] : v4port ? v4port[1] : s)?.text ?? null;
}

/** The push with everything the client's policy or basic sanity refuses taken out. */
export function vetPush(push: PushOptions, pull: PullConfig): VettedPush {
  const warnings: string[] = [];
  const out: PushOptions = { ...push };
  if (push.dhcpOptions) out.dhcpOptions = push.dhcpOptions.filter((o) => dhcpOptionOk(o, warnings));
  if (push.extra) out.extra = push.extra.flatMap((e) => vetExtra(e, warnings));
  if (push.tunMtu !== undefined && (push.tunMtu < MIN_MTU || push.tunMtu > MAX_MTU)) {
    warnings.push(`Ignoring pushed tun-mtu ${push.tunMtu}: expected ${MIN_MTU} to ${MAX_MTU}`);
    delete out.tunMtu;
  }
  if (push.redirectGateway && !pull.redirectGateway) {
    warnings.push("Ignoring pushed redirect-gateway: pull.redirect_gateway is false");
    delete out.redirectGateway;
  }
  if (pull.routes) {
    if (push.routes) out.routes = push.routes.filter((r) => routeOk(r, pull, warnings));
    if (push.routesIpv6) out.routesIpv6 = push.routesIpv6.filter((r) => route6Ok(r, pull, warnings));
  }
  return { push: out, warnings };
}

function dhcpOptionOk(o: DhcpOption, warnings: string[]): boolean {
  const type = o.type.toUpperCase();
  const value = o.value.trim();
  const name = `dhcp-option ${quotePushed(o.type)} ${quotePushed(o.value)}`;
  let problem: string | null = null;
  if (hasControlChar(o.type) || hasControlChar(o.value)) problem = "it contains a control character";
  else if (DOMAIN_TYPES.has(type) && !isHostName(value)) problem = "not a domain name";
  else if (DNS_TYPES.has(type) && dnsServerAddress(value) === null) problem = "not an IP address";
  if (problem) warnings.push(`Ignoring pushed ${name}: ${problem}`);
  return problem === null;
}

/** OpenVPN 2.6 `dns` options: keeps the valid names and addresses of search-domains and server address. */
function vetExtra(option: string, warnings: string[]): string[] {
  const words = option.split(/\s+/);
  if (words[0] !== "dns") return [option];
  let head: string[];
  let values: string[];
  let valid: (value: string) => boolean;
  let what: string;
  if (words[1] === "search-domains") {
    [head, values, valid, what] = [words.slice(0, 2), words.slice(2), isHostName, "not a domain name"];
  } else if (words[1] === "server" && words[3] === "address") {
    [head, values, what] = [words.slice(0, 4), words.slice(4), "not an IP address"];
    valid = (value) => dnsServerAddress(value) !== null;
  } else {
    return [option];
  }
  const good = values.filter((value) => {
    if (valid(value)) return true;
    warnings.push(`Ignoring ${quotePushed(value)} in pushed ${head.join(" ")}: ${what}`);
    return false;
  });
  return good.length > 0 ? [[...head, ...good].join(" ")] : [];
}

function routeOk(r: PushRoute, pull: PullConfig, warnings: string[]): boolean {
  const text = ["route", r.network, r.netmask, r.gateway].filter(Boolean).join(" ");
  if (r.gateway === "net_gateway") {
    if (pull.netGatewayRoutes) return true;
    warnings.push(
      `Ignoring pushed ${quotePushed(text)}: routes around the tunnel need pull.net_gateway_routes`,
    );
    return false;
  }
  // The width alone decides: `route vpn_gateway 0.0.0.0` and `route 10.1.2.3 128.0.0.0` are a /0 and a /1
  // too. Unparsable routes are left to the planner, which ignores them with its own warning.
  const len = r.netmask === undefined ? 32 : netmaskToLength(r.netmask);
  if (len === null || len > REDIRECT_MAX_V4 || pull.redirectGateway) return true;
  warnings.push(
    `Ignoring pushed ${
      quotePushed(text)
    }: it redirects all traffic, which pull.redirect_gateway: false refuses`,
  );
  return false;
}

function route6Ok(r: PushRoute6, pull: PullConfig, warnings: string[]): boolean {
  const text = ["route-ipv6", r.network, r.gateway].filter(Boolean).join(" ");
  if (r.gateway === "net_gateway") {
    if (pull.netGatewayRoutes) return true;
    warnings.push(
      `Ignoring pushed ${quotePushed(text)}: routes around the tunnel need pull.net_gateway_routes`,
    );
    return false;
  }
  const bits = r.network.split("/")[1];
  const len = bits === undefined ? 128 : Number(bits);
  if (!/^\d{1,3}$/.test(bits ?? "128") || len > REDIRECT_MAX_V6 || pull.redirectGateway) return true;
  warnings.push(
    `Ignoring pushed ${
      quotePushed(text)
    }: it redirects all traffic, which pull.redirect_gateway: false refuses`,
  );
  return false;
}
