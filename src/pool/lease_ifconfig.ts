/**
 * A lease as the `ifconfig` / `ifconfig-ipv6` arguments OpenVPN pushes:
 * subnet/tap "ADDR NETMASK", net30/p2p "LOCAL REMOTE", IPv6 "ADDR/BITS SERVER".
 */

import { formatIpv4, formatIpv6 } from "../addr/ip.ts";
import { ipv4Netmask } from "../addr/prefix.ts";
import type { Lease } from "./pool_types.ts";
import type { ServerLayout } from "./topology.ts";

/** The push arguments of `lease` in layout `l`; null for a family the lease or layout lacks. */
export function leaseIfconfig(
  l: ServerLayout,
  lease: Lease,
): { ifconfig: string | null; ifconfigIpv6: string | null } {
  let ifconfig: string | null = null;
  if (lease.ipv4 !== null && l.network4 !== null) {
    const second = lease.ipv4Remote ?? ipv4Netmask(l.network4.bits);
    ifconfig = `${formatIpv4(lease.ipv4)} ${formatIpv4(second)}`;
  }
  let ifconfigIpv6: string | null = null;
  if (lease.ipv6 !== null && l.network6 !== null && l.server6 !== null) {
    ifconfigIpv6 = `${formatIpv6(lease.ipv6)}/${l.network6.bits} ${formatIpv6(l.server6)}`;
  }
  return { ifconfig, ifconfigIpv6 };
}
