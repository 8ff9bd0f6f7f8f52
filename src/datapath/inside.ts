/**
 * The inside loop: packets the host sends into the tun/tap device, out to
 * peers.
 *
 *   1. device.readBatch lands packet i at bufs[i][24 ..), leaving headroom
 *      for the P_DATA_V2 header and tag
 *   2. destination: router → longest prefix match of the IP destination
 *      (no owner: dropped `no_route`; multicast: `multicast_in_tun`);
 *      switch → learn the source MAC on port 0, then known unicast to one
 *      peer or flood to every peer; single → the one peer
 *   3. MSS clamping of TCP SYNs
 *   4. seal in place with the peer's DataChannel and queue
 *   5. one socket.sendBatch for the whole batch (SendQueue.flush)
 *
 * Slots and arrays are allocated once per loop; nothing per packet.
 */

import { ETH_HEADER_LEN } from "../packet/ethernet.ts";
import { NO_OWNER } from "../router/route_table.ts";
import { EGRESS_DROP, EGRESS_FLOOD, frameEgress, TAP_PORT } from "../switch/flood.ts";
import {
  DATAPATH_DROP_MALFORMED,
  DATAPATH_DROP_NO_ROUTE,
  DATAPATH_DROP_SAME_PORT,
  STAT_FROM_DEVICE,
} from "./counters.ts";
import { type Datapath, HEADROOM, MODE_ROUTER, MODE_SWITCH } from "./datapath.ts";
import {
  clampFrame,
  clampIp,
  destinationOwner,
  flood,
  learnSource,
  ROUTABLE,
  routeCheck,
} from "./forward.ts";
import { SendQueue } from "./send_queue.ts";

export class InsidePipeline {
  readonly dp: Datapath;
  readonly bufs: Uint8Array[];
  readonly sizes: Int32Array;
  readonly queue: SendQueue;
  readonly #floodOut: Int32Array;

  constructor(dp: Datapath) {
    this.dp = dp;
    this.bufs = Array.from({ length: dp.batchSize }, () => new Uint8Array(dp.slotSize));
    this.sizes = new Int32Array(dp.batchSize);
    this.queue = new SendQueue(dp.socket, dp.peers, dp.counters, dp.batchSize * 2, dp.slotSize, dp.batchSize);
    this.#floodOut = new Int32Array(dp.peers.capacity + 1);
  }

  /** Forwards packets 0..count-1 of the last read (each at bufs[i][HEADROOM ..)) and flushes. */
  process(count: number): void {
    const dp = this.dp;
    const now = dp.now();
    this.queue.now = now;
    dp.counters.stats[STAT_FROM_DEVICE] += count;
    for (let i = 0; i < count; i++) {
      const buf = this.bufs[i];
      const len = this.sizes[i];
      if (dp.mode === MODE_ROUTER) this.#route(buf, HEADROOM, len);
      else if (dp.mode === MODE_SWITCH) this.#switch(buf, HEADROOM, len, now);
      else this.#single(buf, HEADROOM, len);
    }
    this.queue.flush();
    dp.directPaths?.flushDirect();
    dp.checkKeys(now);
  }

  #route(buf: Uint8Array, off: number, len: number): void {
    const dp = this.dp;
    const drops = dp.counters.drops;
    const drop = routeCheck(buf, off, len);
    if (drop !== ROUTABLE) {
      drops[drop]++;
      return;
    }
    const owner = destinationOwner(dp, buf, off);
    if (owner === NO_OWNER || dp.peers.active[owner] !== 1) {
      drops[DATAPATH_DROP_NO_ROUTE]++;
      return;
    }
    clampIp(dp, buf, off, len);
    this.queue.seal(owner, buf, off, len);
  }

  #switch(buf: Uint8Array, off: number, len: number, now: number): void {
    const dp = this.dp;
    if (len < ETH_HEADER_LEN || (buf[off + 6] & 1) === 1) {
      dp.counters.drops[DATAPATH_DROP_MALFORMED]++;
      return;
    }
    if (!learnSource(dp, buf, off, TAP_PORT, now)) return;
    clampFrame(dp, buf, off, len);
    const egress = frameEgress(dp.macs, buf, off, TAP_PORT, dp.clientToClient);
    if (egress === EGRESS_FLOOD) flood(dp, this.queue, buf, off, len, TAP_PORT, this.#floodOut);
    else if (egress === EGRESS_DROP || egress === TAP_PORT) dp.counters.drops[DATAPATH_DROP_SAME_PORT]++;
    else if (dp.peers.active[egress - 1] === 1) this.queue.seal(egress - 1, buf, off, len);
    else dp.counters.drops[DATAPATH_DROP_NO_ROUTE]++;
  }

  #single(buf: Uint8Array, off: number, len: number): void {
    const dp = this.dp;
    if (dp.device.kind === "tun") {
      const v = len > 0 ? buf[off] >> 4 : 0;
      if (v !== 4 && v !== 6) {
        dp.counters.drops[DATAPATH_DROP_MALFORMED]++;
        return;
      }
      clampIp(dp, buf, off, len);
    } else {
      if (len < ETH_HEADER_LEN) {
        dp.counters.drops[DATAPATH_DROP_MALFORMED]++;
        return;
      }
      clampFrame(dp, buf, off, len);
    }
    if (dp.directPaths !== null && dp.directPaths.sendDirect(buf, off, len)) return;
    if (dp.peers.active[0] !== 1) {
      dp.counters.drops[DATAPATH_DROP_NO_ROUTE]++;
      return;
    }
    this.queue.seal(0, buf, off, len);
  }
}
