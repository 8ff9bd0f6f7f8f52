/**
 * Per-packet helpers both loops use: MSS clamping of a tun packet or tap
 * frame, device writes with their counters, and flooding a frame to switch
 * ports. Each works on (buf, off, len), allocates nothing and never throws
 * for packet contents.
 */

import { ETH_HEADER_LEN, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "../packet/ethernet.ts";
import { clampMss, MSS_CLAMPED } from "../packet/mss.ts";
import { floodEgress, TAP_PORT } from "../switch/flood.ts";
import { DROP_DEVICE_FULL, STAT_FLOODED, STAT_MSS_CLAMPED, STAT_TO_DEVICE } from "./counters.ts";
import type { Datapath } from "./datapath.ts";
import type { SendQueue } from "./send_queue.ts";
import { HEADROOM } from "./datapath.ts";

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

/** Writes a plaintext packet to the device, counting a full queue as a drop. */
export function toDevice(dp: Datapath, buf: Uint8Array, off: number, len: number): void {
  if (dp.device.write(buf, off, len)) dp.counters.stats[STAT_TO_DEVICE]++;
  else dp.counters.drops[DROP_DEVICE_FULL]++;
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
  if (off >= HEADROOM) queue.seal(last - 1, buf, off, len);
  else queue.sealCopy(last - 1, buf, off, len);
}
