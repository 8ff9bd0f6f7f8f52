/**
 * Where each pool slot's addresses lie in a `ServerLayout`, both ways: slot i
 * holds the i-th IPv4 client address (net30: the .2 of the i-th /30, else
 * pool4Base + i) and the i-th IPv6 address (pool6Base + i). Pure functions of
 * the layout; out-of-range slots and addresses map to null / -1.
 */

import { ipv6Add, parseIpv4, parseIpv6 } from "../addr/ip.ts";
import type { ServerLayout } from "./topology.ts";

/** Slot `slot`'s IPv4 client address (u32), or null without IPv4 or past the IPv4 range. */
export function slotIpv4(layout: ServerLayout, slot: number): number | null {
  if (layout.network4 === null || slot < 0 || slot >= layout.pool4Size) return null;
  return layout.pool4Kind === "net30" ? layout.pool4Base + 4 * slot + 2 : layout.pool4Base + slot;
}

/** Slot `slot`'s IPv6 client address (4 words), or null without IPv6 or past the IPv6 range. */
export function slotIpv6(layout: ServerLayout, slot: number): Uint32Array | null {
  if (layout.pool6Base === null || slot < 0 || slot >= layout.pool6Size) return null;
  return ipv6Add(layout.pool6Base, slot);
}

/** The slot whose IPv4 client address is `addr`, or -1. */
export function slotOfIpv4(layout: ServerLayout, addr: number): number {
  if (layout.network4 === null) return -1;
  const d = addr - layout.pool4Base;
  if (layout.pool4Kind === "net30") {
    if (d < 0 || (d & 3) !== 2) return -1;
    const slot = (d - 2) / 4;
    return slot < layout.poolSize ? slot : -1;
  }
  return d >= 0 && d < layout.poolSize ? d : -1;
}

/** The slot whose IPv6 client address is `words`, or -1. */
export function slotOfIpv6(layout: ServerLayout, words: Uint32Array): number {
  const base = layout.pool6Base;
  if (base === null) return -1;
  if (words[0] !== base[0] || words[1] !== base[1]) return -1;
  const hi = (words[2] - base[2]) * 0x1_0000_0000 + (words[3] - base[3]);
  return hi >= 0 && hi < layout.poolSize ? hi : -1;
}

/**
 * The slot of a remembered binding given as text (IPv4 when the layout has
 * IPv4, else IPv6), or -1 when it is missing, unparsable or outside the pool.
 */
export function slotOfText(layout: ServerLayout, ipv4: string | undefined, ipv6: string | undefined): number {
  try {
    if (layout.network4 !== null) return ipv4 === undefined ? -1 : slotOfIpv4(layout, parseIpv4(ipv4));
    return ipv6 === undefined ? -1 : slotOfIpv6(layout, parseIpv6(ipv6));
  } catch {
    return -1;
  }
}

/** The IPv4 address pushed beside a client's: net30 its /30's server end, p2p the server; null otherwise. */
export function remoteIpv4(layout: ServerLayout, ipv4: number | null): number | null {
  if (ipv4 === null) return null;
  if (layout.topology === "net30") return ipv4 - 1;
  if (layout.topology === "p2p") return layout.server4;
  return null;
}
