/**
 * Per-packet helpers both loops use: the checks before routing a tun packet
 * and its destination's owner, MSS clamping of a tun packet or tap frame,
 * device writes with their counters, and flooding a frame to switch ports. Each works on (buf, off, len), allocates nothing and never throws
 * for packet contents.
 */

import { ETH_HEADER_LEN, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "../packet/ethernet.ts";
import { checkIpv4, IPV4_DST_OFFSET } from "../packet/ipv4.ts";
import { checkIpv6, IPV6_DST_OFFSET } from "../packet/ipv6.ts";
import { PACKET_OK } from "../packet/verdict.ts";
import { clampMss, MSS_CLAMPED } from "../packet/mss.ts";
import { floodEgress, TAP_PORT } from "../switch/flood.ts";
import { LEARN_OWNED, LEARN_PORT_FULL } from "../switch/mac_table.ts";
import {
  DATAPATH_DROP_DEVICE_FULL,
  DATAPATH_DROP_MAC_LIMIT,
  DATAPATH_DROP_MAC_TAKEOVER,
  DATAPATH_DROP_MALFORMED,
  DATAPATH_DROP_MULTICAST_IN_TUN,
  STAT_FLOODED,
  STAT_MSS_CLAMPED,
  STAT_TO_DEVICE,
} from "./counters.ts";
import type { Datapath } from "./datapath.ts";
import type { SendQueue } from "./send_queue.ts";

/** routeCheck() found nothing wrong: the destination may be looked up. */
export const ROUTABLE = -1;

/**
 * The checks a router makes before it looks up an IP packet's destination,
 * in both directions: a valid IPv4 or IPv6 header and a unicast destination
 * (layer 3 has no group delivery). ROUTABLE or the DATAPATH_DROP_* reason.
 */
export function routeCheck(buf: Uint8Array, off: number, len: number): number {
  const version = len > 0 ? buf[off] >> 4 : 0;
  if (version === 4) {
    if (checkIpv4(buf, off, len) !== PACKET_OK) return DATAPATH_DROP_MALFORMED;
    return buf[off + IPV4_DST_OFFSET] >= 224 ? DATAPATH_DROP_MULTICAST_IN_TUN : ROUTABLE;
  }
  if (version === 6) {
    if (checkIpv6(buf, off, len) !== PACKET_OK) return DATAPATH_DROP_MALFORMED;
    return buf[off + IPV6_DST_OFFSET] === 0xff ? DATAPATH_DROP_MULTICAST_IN_TUN : ROUTABLE;
  }
  return DATAPATH_DROP_MALFORMED;
}

/** The route table's owner of a routable packet's destination (NO_OWNER when none). */
export function destinationOwner(dp: Datapath, buf: Uint8Array, off: number): number {
  if (buf[off] >> 4 === 6) return dp.routes.route6At(buf, off + IPV6_DST_OFFSET);
  const d = off + IPV4_DST_OFFSET;
  return dp.routes.route4(((buf[d] << 24) | (buf[d + 1] << 16) | (buf[d + 2] << 8) | buf[d + 3]) >>> 0);
}

/** Clamps the MSS of a TCP SYN in an IP packet (tun) when clamping is on. */
export function clampIp(dp: Datapath, buf: Uint8Array, off: number, len: number): void {
  if (dp.mss > 0 && clampMss(buf, off, len, dp.mss) === MSS_CLAMPED) dp.counters.stats[STAT_MSS_CLAMPED]++;
}

/** Clamps the MSS of a TCP SYN carried in an untagged Ethernet frame (tap). */
export function clampFrame(dp: Datapath, buf: Uint8Array, off: number, len: number): void {
  if (dp.mss === 0 || len <= ETH_HEADER_LEN) return;
  const type = (buf[off + 12] << 8) | buf[off + 13];
  if (type !== ETHERTYPE_IPV4 && type !== ETHERTYPE_IPV6) return;
  if (clampMss(buf, off + ETH_HEADER_LEN, len - ETH_HEADER_LEN, dp.mss) === MSS_CLAMPED) {
    dp.counters.stats[STAT_MSS_CLAMPED]++;
  }
}

/**
 * Learns the source MAC of the frame at buf[off] on switch port `port`;
 * false (counted as a drop) when the frame must not be forwarded: the port
 * is over its MAC budget, or the MAC belongs to another port that is alive.
 */
export function learnSource(dp: Datapath, buf: Uint8Array, off: number, port: number, now: number): boolean {
  const verdict = dp.macs.learnAt(buf, off + 6, port, now);
  if (verdict === LEARN_PORT_FULL) {
    dp.counters.drops[DATAPATH_DROP_MAC_LIMIT]++;
    return false;
  }
  if (verdict === LEARN_OWNED) {
    dp.counters.drops[DATAPATH_DROP_MAC_TAKEOVER]++;
    return false;
  }
  return true;
}

/** Writes a plaintext packet to the device, counting a full queue as a drop. */
export function toDevice(dp: Datapath, buf: Uint8Array, off: number, len: number): void {
  if (dp.device.write(buf, off, len)) dp.counters.stats[STAT_TO_DEVICE]++;
  else dp.counters.drops[DATAPATH_DROP_DEVICE_FULL]++;
}

/**
 * Floods the frame at buf[off, off+len) from switch port `ingress` per the
 * client-to-client rule: the device first (it must see the plaintext before
 * the buffer is sealed over), then each other peer, the last one sealed in
 * place when `off` leaves headroom and the rest from copies. `out` holds
 * capacity + 1 ports.
 */
export function flood(
  dp: Datapath,
  queue: SendQueue,
  buf: Uint8Array,
  off: number,
  len: number,
  ingress: number,
  out: Int32Array,
): void {
  const n = floodEgress(ingress, dp.clientToClient, dp.ports, out);
  dp.counters.stats[STAT_FLOODED]++;
  let last = -1;
  for (let i = 0; i < n; i++) {
    const port = out[i];
    if (port === TAP_PORT) toDevice(dp, buf, off, len);
    else last = port;
  }
  if (last < 0) return;
  for (let i = 0; i < n; i++) {
    const port = out[i];
    if (port !== TAP_PORT && port !== last) queue.sealCopy(port - 1, buf, off, len);
  }
  // In place when the payload has headroom for the header (and framing), else from a copy.
  queue.seal(last - 1, buf, off, len);
}
