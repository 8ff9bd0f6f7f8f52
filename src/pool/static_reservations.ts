/**
 * Static address reservations (name → address, like a ccd `ifconfig-push`),
 * checked against the server layout once, when the pool is built: the address
 * must lie in the server network, not be its network, broadcast or server
 * address, and (net30) be the client end of a /30 other than the server's;
 * no two names may reserve one address. A family left out follows the slot of
 * the family given, when that address is inside the pool. Errors are
 * RangeErrors naming the client and the address.
 */

import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from "../addr/ip.ts";
import { formatPrefix, ipv4Netmask, ipv4PrefixContains, ipv6PrefixContains } from "../addr/prefix.ts";
import { slotIpv4, slotIpv6, slotOfIpv4, slotOfIpv6 } from "./slot_addresses.ts";
import type { ServerLayout } from "./topology.ts";

export interface StaticAddress {
  ipv4?: string;
  ipv6?: string;
}

/** A checked reservation; a slot is -1 when its address lies outside the dynamic range. */
export interface StaticReservation {
  readonly name: string;
  readonly ipv4: number | null;
  readonly ipv6: Uint32Array | null;
  readonly slot4: number;
  readonly slot6: number;
}

/** Checks every reservation against `layout`; throws RangeError for the first that does not fit. */
export function planStatics(
  layout: ServerLayout,
  statics: Record<string, StaticAddress>,
): StaticReservation[] {
  /** address text → the name reserving it */
  const taken = new Map<string, string>();
  return Object.entries(statics).map(([name, spec]) => planStatic(layout, name, spec, taken));
}

function planStatic(
  layout: ServerLayout,
  name: string,
  spec: StaticAddress,
  taken: Map<string, string>,
): StaticReservation {
  const where = `Static address for "${name}"`;
  if (spec.ipv4 === undefined && spec.ipv6 === undefined) throw new RangeError(`${where} names no address`);
  let ipv4: number | null = null;
  let ipv6: Uint32Array | null = null;
  let slot4 = -1;
  let slot6 = -1;
  if (spec.ipv4 !== undefined) {
    ipv4 = checkIpv4(layout, spec.ipv4, where);
    slot4 = slotOfIpv4(layout, ipv4);
    claim(taken, formatIpv4(ipv4), name, where);
  }
  if (spec.ipv6 !== undefined) {
    ipv6 = checkIpv6(layout, spec.ipv6, where);
    slot6 = slotOfIpv6(layout, ipv6);
    claim(taken, formatIpv6(ipv6), name, where);
  }
  if (ipv4 === null && slot6 >= 0) {
    ipv4 = slotIpv4(layout, slot6);
    if (ipv4 !== null) claim(taken, formatIpv4(ipv4), name, where);
  }
  if (ipv6 === null && slot4 >= 0) {
    ipv6 = slotIpv6(layout, slot4);
    if (ipv6 !== null) claim(taken, formatIpv6(ipv6), name, where);
  }
  return { name, ipv4, ipv6, slot4, slot6 };
}

function checkIpv4(layout: ServerLayout, text: string, where: string): number {
  const n4 = layout.network4;
  if (n4 === null) throw new RangeError(`${where}: no IPv4 network is configured`);
  const ipv4 = parseStatic(() => parseIpv4(text), where);
  if (!ipv4PrefixContains(n4, ipv4)) {
    throw new RangeError(`${where}: ${text} is outside ${formatPrefix(n4)}`);
  }
  const broadcast = (n4.addr | ~ipv4Netmask(n4.bits)) >>> 0;
  if (ipv4 === n4.addr || ipv4 === broadcast) {
    throw new RangeError(`${where}: ${text} is the network or broadcast address`);
  }
  if (ipv4 === layout.server4 || ipv4 === layout.server4Peer) {
    throw new RangeError(`${where}: ${text} is the server's own address`);
  }
  if (layout.topology === "net30") {
    if ((ipv4 & 3) !== 2) {
      throw new RangeError(
        `${where}: ${text} is not the client end of a /30 (net30 clients use .2 of their /30, like 10.8.0.6)`,
      );
    }
    if (((ipv4 & ~3) >>> 0) === n4.addr) {
      throw new RangeError(`${where}: ${text} is in the server's own /30`);
    }
  }
  return ipv4;
}

function checkIpv6(layout: ServerLayout, text: string, where: string): Uint32Array {
  const n6 = layout.network6;
  if (n6 === null) throw new RangeError(`${where}: no IPv6 network is configured`);
  const ipv6 = parseStatic(() => parseIpv6(text), where);
  if (!ipv6PrefixContains(n6, ipv6)) {
    throw new RangeError(`${where}: ${text} is outside ${formatPrefix(n6)}`);
  }
  const s6 = layout.server6!;
  if (ipv6.every((w, i) => w === n6.addr[i])) {
    throw new RangeError(`${where}: ${text} is the network address`);
  }
  if (ipv6.every((w, i) => w === s6[i])) {
    throw new RangeError(`${where}: ${text} is the server's own address`);
  }
  return ipv6;
}

function parseStatic<T>(fn: () => T, where: string): T {
  try {
    return fn();
  } catch (e) {
    throw new RangeError(`${where}: ${(e as Error).message}`);
  }
}

function claim(taken: Map<string, string>, addr: string, name: string, where: string): void {
  const other = taken.get(addr);
  if (other !== undefined && other !== name) {
    throw new RangeError(`${where}: ${addr} is already reserved for "${other}"`);
  }
  taken.set(addr, name);
}

/**
 * Throws a RangeError when reservation `r` would take an address reserved for another name (`statics`)
 * or a slot another name holds live (`inUse`, `names`): a reload must change nothing then.
 */
export function checkStaticFree(
  r: StaticReservation,
  statics: ReadonlyMap<string, { ipv4: number | null; ipv6: Uint32Array | null }>,
  inUse: Uint8Array,
  names: readonly (string | null)[],
): void {
  const where = `Static address for "${r.name}"`;
  for (const [other, st] of statics) {
    if (other === r.name) continue;
    const same4 = r.ipv4 !== null && st.ipv4 === r.ipv4;
    const same6 = r.ipv6 !== null && st.ipv6 !== null && r.ipv6.every((w, i) => w === st.ipv6![i]);
    if (same4 || same6) throw new RangeError(`${where}: the address is reserved for "${other}"`);
  }
  for (const slot of [r.slot4, r.slot6]) {
    if (slot >= 0 && inUse[slot] && names[slot] !== r.name) {
      throw new RangeError(`${where}: the address is in use by "${names[slot]}"`);
    }
  }
}
