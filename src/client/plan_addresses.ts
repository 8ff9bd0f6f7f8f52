/**
 * Planning step 1: the tunnel's own addresses from `ifconfig` and
 * `ifconfig-ipv6`, and the gateways routes through the tunnel use.
 *
 * Addresses by topology (OpenVPN's rules):
 *   subnet       `ifconfig 10.8.0.2 255.255.255.0`  → 10.8.0.2/24, routes via route-gateway
 *   net30, p2p   `ifconfig 10.8.0.6 10.8.0.5`      → 10.8.0.6 peer 10.8.0.5, routes via the peer
 *   IPv6         `ifconfig-ipv6 fd00::1000/64 fd00::1` → fd00::1000/64, routes via fd00::1
 */

import { parseIp } from "../addr/ip.ts";
import { netmaskToLength } from "../addr/prefix.ts";
import type { Topology } from "../config/schema.ts";
import type { PushOptions } from "../control/push_options.ts";
import type { AddressSpec } from "../device/net_config.ts";
import type { PlanItem, TunnelAddress } from "./host_plan_types.ts";

/** The tunnel's addresses and gateways; a family the server did not (validly) push is null. */
export interface TunnelAddresses {
  local4: TunnelAddress | null;
  /** route-gateway (subnet) or the peer (net30, p2p). */
  gateway4: string | null;
  local6: TunnelAddress | null;
  gateway6: string | null;
}

/** The pushed topology; without one, a netmask as ifconfig's second word means subnet, else net30. */
export function pickTopology(push: PushOptions): Topology {
  if (push.topology) return push.topology;
  const second = push.ifconfig?.remoteOrNetmask;
  if (second && second.startsWith("255.") && netmaskToLength(second) !== null) return "subnet";
  return "net30";
}

/** Reads the pushed addresses; what cannot be used is left out with a warning. */
export function planTunnelAddresses(
  push: PushOptions,
  topology: Topology,
  warnings: string[],
): TunnelAddresses {
  return { ...planIpv4Address(push, topology, warnings), ...planIpv6Address(push, warnings) };
}

/** The address items for the device, IPv4 first. */
export function addressItems(dev: string, addresses: TunnelAddresses): PlanItem[] {
  const items: PlanItem[] = [];
  const { local4, local6 } = addresses;
  if (local4) {
    const spec: AddressSpec = { dev, address: local4.address, prefixLen: local4.prefixLen };
    if (local4.peer) spec.peer = local4.peer;
    items.push({ kind: "address", spec });
  }
  if (local6) {
    items.push({ kind: "address", spec: { dev, address: local6.address, prefixLen: local6.prefixLen } });
  }
  return items;
}

function planIpv4Address(
  push: PushOptions,
  topology: Topology,
  warnings: string[],
): Pick<TunnelAddresses, "local4" | "gateway4"> {
  const none = { local4: null, gateway4: null };
  if (!push.ifconfig) return none;
  const local = parseIp(push.ifconfig.local);
  const netmaskOrPeer = push.ifconfig.remoteOrNetmask;
  if (!local || local.family !== 4) {
    warnings.push(`Ignoring ifconfig with a bad local address ${push.ifconfig.local}`);
    return none;
  }
  if (topology === "subnet") {
    const prefixLen = netmaskToLength(netmaskOrPeer);
    if (prefixLen === null) {
      warnings.push(`Ignoring ifconfig with a bad netmask ${netmaskOrPeer}`);
      return none;
    }
    const local4 = { address: local.text, prefixLen, peer: null, netmask: netmaskOrPeer };
    const gateway4 = push.routeGateway && parseIp(push.routeGateway)?.family === 4 ? push.routeGateway : null;
    if (!gateway4) warnings.push("The server pushed no route-gateway; routes use the device only");
    return { local4, gateway4 };
  }
  const peer = parseIp(netmaskOrPeer);
  if (!peer || peer.family !== 4) {
    warnings.push(`Ignoring ifconfig with a bad peer address ${netmaskOrPeer}`);
    return none;
  }
  return {
    local4: { address: local.text, prefixLen: 32, peer: peer.text, netmask: null },
    gateway4: peer.text,
  };
}

function planIpv6Address(
  push: PushOptions,
  warnings: string[],
): Pick<TunnelAddresses, "local6" | "gateway6"> {
  if (!push.ifconfigIpv6) return { local6: null, gateway6: null };
  const [addressText, bits] = push.ifconfigIpv6.local.split("/");
  const address = parseIp(addressText);
  const prefixLen = bits === undefined ? 64 : Number(bits);
  const remote = parseIp(push.ifconfigIpv6.remote);
  if (!address || address.family !== 6 || !Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 128) {
    warnings.push(`Ignoring ifconfig-ipv6 with a bad address ${push.ifconfigIpv6.local}`);
    return { local6: null, gateway6: null };
  }
  return {
    local6: { address: address.text, prefixLen, peer: null, netmask: null },
    gateway6: remote && remote.family === 6 ? remote.text : null,
  };
}
