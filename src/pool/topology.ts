/**
 * The server's address layout, derived exactly as OpenVPN 2.6 expands
 * `--server NETWORK NETMASK` and `--server-ipv6 NETWORK/BITS` (helper.c), and
 * checked against the stock 2.6.14 binary's option dump:
 *
 * | topology | server tun            | pool (for 10.8.0.0/24)                | client ifconfig push   |
 * | -------- | --------------------- | ------------------------------------- | ---------------------- |
 * | subnet   | 10.8.0.1/24           | 10.8.0.2 … 10.8.0.254, one each       | "10.8.0.2 255.255.255.0" |
 * | net30    | 10.8.0.1 peer 10.8.0.2 | /30s from 10.8.0.4 (client .6, peer .5) | "10.8.0.6 10.8.0.5"     |
 * | p2p      | 10.8.0.1 peer 10.8.0.2 | 10.8.0.4 … 10.8.0.251, one each       | "10.8.0.4 10.8.0.1"     |
 *
 * net30/p2p pools end 4 addresses before the broadcast address, except for a
 * /29, where they run to it (as OpenVPN does). tap devices always use the
 * subnet layout (/30 allowed). IPv6: server ::1, pool from ::1000 (::2 for
 * /112 and longer), pushed as "ADDR/BITS SERVER"; slot i of the pool has both
 * the i-th IPv4 and the i-th IPv6 address, and the pool size is the smaller
 * of the two families'.
 */

import { formatIpv4, formatIpv6, ipv6Add, tryParseIpv4 } from "../addr/ip.ts";
import {
  formatPrefix,
  ipv4Netmask,
  type Ipv4Prefix,
  type Ipv6Prefix,
  parseIpv4Netmask,
  parseIpv4Prefix,
  parseIpv6Prefix,
} from "../addr/prefix.ts";
import type { AddressSpec, RouteSpec } from "../device/net_config.ts";

export type Topology = "subnet" | "net30" | "p2p";
export type DeviceKind = "tun" | "tap";

export const TOPOLOGIES: readonly Topology[] = ["subnet", "net30", "p2p"];

/** OpenVPN's IFCONFIG_POOL_MAX: the most addresses one pool holds. */
export const POOL_MAX = 65536;

export interface LayoutConfig {
  /** IPv4 network: "10.8.0.0/24" or OpenVPN's "10.8.0.0 255.255.255.0". */
  network4?: string;
  /** IPv6 network: "fd00:8::/64". */
  network6?: string;
  /** @default "subnet" (OpenVPN 2.6's server default) */
  topology?: Topology;
  /** @default "tun" */
  device?: DeviceKind;
}

/** The server's own tun/tap address, in `NetConfig` form (without the device name). */
export type TunAddress = Omit<AddressSpec, "dev">;

export interface ServerLayout {
  readonly topology: Topology;
  readonly device: DeviceKind;
  readonly network4: Ipv4Prefix | null;
  readonly network6: Ipv6Prefix | null;
  /** Server's tun address (network + 1). */
  readonly server4: number | null;
  /** net30/p2p: the tun's point-to-point peer (network + 2); null for subnet. */
  readonly server4Peer: number | null;
  readonly server6: Uint32Array | null;
  /** "net30": slot i is the /30 at pool4Base + 4i; "indiv": slot i is pool4Base + i. */
  readonly pool4Kind: "net30" | "indiv";
  readonly pool4Base: number;
  /** Slots the IPv4 range alone allows (0 without IPv4). */
  readonly pool4Size: number;
  readonly pool6Base: Uint32Array | null;
  /** Slots the IPv6 range alone allows (0 without IPv6). */
  readonly pool6Size: number;
  /** Usable slots: the smaller of the two families' sizes. */
  readonly poolSize: number;
}

function parseNetwork4(text: string): Ipv4Prefix {
  const parts = text.trim().split(/\s+/);
  try {
    if (parts.length === 2 && tryParseIpv4(parts[1]) >= 0) {
      return parseIpv4Prefix(`${parts[0]}/${parseIpv4Netmask(parts[1])}`);
    }
    return parseIpv4Prefix(text.trim());
  } catch (e) {
    throw new RangeError(`Invalid IPv4 server network "${text}": ${(e as Error).message}`);
  }
}

/** The IPv4 part of a layout; without an IPv4 network, all empty. */
type Ipv4Layout = Pick<
  ServerLayout,
  "network4" | "server4" | "server4Peer" | "pool4Kind" | "pool4Base" | "pool4Size"
>;

/** The IPv6 part of a layout; without an IPv6 network, all empty. */
type Ipv6Layout = Pick<ServerLayout, "network6" | "server6" | "pool6Base" | "pool6Size">;

const NO_IPV4: Ipv4Layout = {
  network4: null,
  server4: null,
  server4Peer: null,
  pool4Kind: "indiv",
  pool4Base: 0,
  pool4Size: 0,
};

const NO_IPV6: Ipv6Layout = { network6: null, server6: null, pool6Base: null, pool6Size: 0 };

/** Derives the server layout; throws RangeError naming the problem for a config OpenVPN would refuse. */
export function planLayout(cfg: LayoutConfig): ServerLayout {
  const { device, topology } = checkDeviceAndTopology(cfg);
  const v4 = cfg.network4 === undefined ? NO_IPV4 : planIpv4(cfg.network4, device, topology);
  const v6 = cfg.network6 === undefined ? NO_IPV6 : planIpv6(cfg.network6);
  const poolSize = Math.min(v4.pool4Size || Infinity, v6.pool6Size || Infinity, POOL_MAX);
  return {
    topology,
    device,
    network4: v4.network4,
    network6: v6.network6,
    server4: v4.server4,
    server4Peer: v4.server4Peer,
    server6: v6.server6,
    pool4Kind: v4.pool4Kind,
    pool4Base: v4.pool4Base,
    pool4Size: v4.pool4Size,
    pool6Base: v6.pool6Base,
    pool6Size: v6.pool6Size,
    poolSize,
  };
}

function checkDeviceAndTopology(cfg: LayoutConfig): { device: DeviceKind; topology: Topology } {
  const device = cfg.device ?? "tun";
  if (device !== "tun" && device !== "tap") {
    throw new RangeError(`Device must be "tun" or "tap", got "${device}"`);
  }
  const topology = cfg.topology ?? "subnet";
  if (!TOPOLOGIES.includes(topology)) {
    throw new RangeError(`Topology must be one of ${TOPOLOGIES.join(", ")}, got "${topology}"`);
  }
  if (device === "tap" && topology !== "subnet") {
    throw new RangeError(`Topology ${topology} applies to tun devices only; tap uses subnet`);
  }
  if (cfg.network4 === undefined && cfg.network6 === undefined) {
    throw new RangeError("An address pool needs an IPv4 or an IPv6 network");
  }
  return { device, topology };
}

/** OpenVPN's `--server` expansion: server .1, the pool after it (net30/p2p: after the peer, in /30s or one each). */
function planIpv4(text: string, device: DeviceKind, topology: Topology): Ipv4Layout {
  const network4 = parseNetwork4(text);
  const { addr: net, bits } = network4;
  const prefixText = formatPrefix(network4);
  if (bits < 16) throw new RangeError(`IPv4 server network ${prefixText} is too large (at most /16)`);
  const maxBits = device === "tun" ? 29 : 30;
  if (bits > maxBits) {
    throw new RangeError(
      `IPv4 server network ${prefixText} is too small for ${device} (at least /${maxBits})`,
    );
  }
  const broadcast = (net | ~ipv4Netmask(bits)) >>> 0;
  const server4 = net + 1;
  const server4Peer = topology === "subnet" ? null : net + 2;
  const start = topology === "subnet" ? net + 2 : net + 4;
  const end = topology === "subnet" ? broadcast - 1 : broadcast - (bits === 29 ? 0 : 4);
  const pool4Kind = topology === "net30" ? "net30" : "indiv";
  const pool4Base = pool4Kind === "net30" ? (start & ~3) >>> 0 : start;
  const pool4Size = pool4Kind === "net30" ? (((end | 3) >>> 0) + 1 - pool4Base) / 4 : end - start + 1;
  if (pool4Size < 2) {
    throw new RangeError(
      `IPv4 server network ${prefixText} with topology ${topology} leaves ${pool4Size} client address(es); at least 2 are needed`,
    );
  }
  return { network4, server4, server4Peer, pool4Kind, pool4Base, pool4Size };
}

/** OpenVPN's `--server-ipv6` expansion: server ::1, the pool from ::1000 (::2 for /112 and longer). */
function planIpv6(text: string): Ipv6Layout {
  let network6: Ipv6Prefix;
  try {
    network6 = parseIpv6Prefix(text.trim());
  } catch (e) {
    throw new RangeError(`Invalid IPv6 server network "${text}": ${(e as Error).message}`);
  }
  const { addr, bits } = network6;
  if (bits < 64 || bits > 124) {
    throw new RangeError(`IPv6 server network ${formatPrefix(network6)} must be /64 to /124`);
  }
  const offset = bits < 112 ? 0x1000 : 2;
  return {
    network6,
    server6: ipv6Add(addr, 1),
    pool6Base: ipv6Add(addr, offset),
    pool6Size: bits >= 112 ? 2 ** (128 - bits) - offset : POOL_MAX,
  };
}

/** The server tun/tap addresses to configure (OpenVPN's own `ifconfig`/`ifconfig-ipv6`). */
export function serverTunAddresses(layout: ServerLayout): TunAddress[] {
  const out: TunAddress[] = [];
  if (layout.network4 !== null && layout.server4 !== null) {
    out.push(
      layout.server4Peer === null
        ? { address: formatIpv4(layout.server4), prefixLen: layout.network4.bits }
        : { address: formatIpv4(layout.server4), prefixLen: 32, peer: formatIpv4(layout.server4Peer) },
    );
  }
  if (layout.network6 !== null && layout.server6 !== null) {
    out.push({ address: formatIpv6(layout.server6), prefixLen: layout.network6.bits });
  }
  return out;
}

/**
 * Host routes the server adds besides its addresses: for net30/p2p the whole
 * network via the tun peer (OpenVPN's `route NETWORK NETMASK`); none for subnet.
 */
export function serverTunRoutes(layout: ServerLayout): RouteSpec[] {
  if (layout.network4 === null || layout.server4Peer === null) return [];
  return [{ dst: formatPrefix(layout.network4), gateway: formatIpv4(layout.server4Peer) }];
}

/**
 * Options pushed to every client, in OpenVPN's order: "tun-ipv6" with an IPv6
 * network, then "route-gateway" (subnet/tap) or the net30/p2p route, then
 * "topology" (tun only).
 */
export function serverPushOptions(layout: ServerLayout, clientToClient: boolean): string[] {
  const out: string[] = [];
  if (layout.network6 !== null) out.push("tun-ipv6");
  const n4 = layout.network4;
  if (n4 !== null && layout.server4 !== null) {
    if (layout.topology === "subnet") {
      out.push(`route-gateway ${formatIpv4(layout.server4)}`);
    } else if (clientToClient) {
      out.push(`route ${formatIpv4(n4.addr)} ${formatIpv4(ipv4Netmask(n4.bits))}`);
    } else if (layout.topology === "net30") {
      out.push(`route ${formatIpv4(layout.server4)}`);
    }
  }
  if (layout.device === "tun" && n4 !== null) out.push(`topology ${layout.topology}`);
  return out;
}
