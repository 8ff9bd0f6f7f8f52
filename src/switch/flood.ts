/**
 * Egress rules of the tap-mode switch. Port 0 is the tap device, other ports
 * are sessions. Client-to-client (`c2c`) decides whether a client's frames may
 * reach other clients inside the process; without it, everything a client
 * sends goes to the tap device only (as OpenVPN does without
 * --client-to-client), and the host decides.
 *
 * - known unicast: the owning port, except back to the ingress port (drop),
 *   and client → other client without c2c (→ tap device);
 * - unknown unicast, broadcast, multicast: flood to every port but the
 *   ingress: the tap device always, other clients only when the frame came
 *   from the tap device or c2c is on.
 */

import type { MacTable } from "./mac_table.ts";
import type { PortSet } from "./port_set.ts";

export const TAP_PORT = 0;
/** Do not forward the frame. */
export const EGRESS_DROP = -1;
/** Flood the frame (see `floodEgress`). */
export const EGRESS_FLOOD = -2;

/** Egress for a frame from `ingress` whose destination MAC is at `dstPort` (NO_PORT = unknown). */
export function unicastEgress(ingress: number, dstPort: number, c2c: boolean): number {
  if (dstPort < 0) return EGRESS_FLOOD;
  if (dstPort === ingress) return EGRESS_DROP;
  if (!c2c && ingress !== TAP_PORT && dstPort !== TAP_PORT) return TAP_PORT;
  return dstPort;
}

/**
 * Egress for the Ethernet frame at `buf[off]` arriving on `ingress`: a port,
 * EGRESS_FLOOD (group or unknown destination) or EGRESS_DROP. Does not learn;
 * the caller learns the source first (`table.learnAt(buf, off + 6, ingress, now)`).
 */
export function frameEgress(
  table: MacTable,
  buf: Uint8Array,
  off: number,
  ingress: number,
  c2c: boolean,
): number {
  if ((buf[off] & 1) === 1) return EGRESS_FLOOD;
  return unicastEgress(ingress, table.lookupAt(buf, off), c2c);
}

/**
 * Writes the ports a flooded frame from `ingress` goes to into `out` and
 * returns how many. `out` must hold `clients.count + 1` entries.
 */
export function floodEgress(ingress: number, c2c: boolean, clients: PortSet, out: Int32Array): number {
  let n = 0;
  if (ingress !== TAP_PORT) out[n++] = TAP_PORT;
  if (ingress === TAP_PORT || c2c) {
    const ports = clients.ports;
    const count = clients.count;
    for (let i = 0; i < count; i++) {
      const p = ports[i];
      if (p !== ingress) out[n++] = p;
    }
  }
  return n;
}
