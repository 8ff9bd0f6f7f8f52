/**
 * The outside loop: datagrams from the underlay, in to the device or on to
 * another peer.
 *
 *   1. socket.receiveBatch lands datagram i at bufs[i][0 ..), its source in
 *      row i of `from`
 *   2. opcode: anything but P_DATA_V2/V1 goes to the control plane
 *      (dp.onControl); data finds its peer by the header's peer-id, an array
 *      index (single mode: peer 0); no live peer → `unknown_peer`
 *   3. DataChannel.open in place; a failed open is counted by its verdict
 *      (bad_tag, replay, …) and changes nothing, not even the endpoint
 *   4. authenticated: last-receive time, counters, and float (a packet from a
 *      new endpoint moves the peer there)
 *   5. ping → consumed; OCC exit → dp.onExit
 *   6. router: the source must be the peer's (`spoofed` otherwise), then the
 *      destination's owner: another peer with client-to-client on → re-sealed
 *      in place (the plaintext sits exactly 24 bytes into the slot) and
 *      queued; anything else → the device.
 *      switch: learn the source MAC on the peer's port, then one port, the
 *      device, or a flood. single: the device.
 *   7. one socket.sendBatch for what the batch re-sealed
 */

import { P_DATA_V1, P_DATA_V2 } from "../data/data_header.ts";
import { isPing } from "../data/keepalive_ping.ts";
import { isOcc, isOccExit } from "../data/occ.ts";
import { OPEN_OK } from "../data/verdicts.ts";
import { EndpointSlots } from "../device/datagram_socket.ts";
import { ETH_HEADER_LEN } from "../packet/ethernet.ts";
import { checkIpv4, IPV4_SRC_OFFSET } from "../packet/ipv4.ts";
import { checkIpv6, IPV6_SRC_OFFSET } from "../packet/ipv6.ts";
import { PACKET_OK } from "../packet/verdict.ts";
import { EGRESS_DROP, EGRESS_FLOOD, frameEgress, TAP_PORT } from "../switch/flood.ts";
import {
  DATAPATH_DROP_DEVICE_FULL,
  DATAPATH_DROP_MALFORMED,
  DATAPATH_DROP_OVERSIZE,
  DATAPATH_DROP_SAME_PORT,
  DATAPATH_DROP_SPOOFED,
  DATAPATH_DROP_UNKNOWN_PEER,
  OPEN_TO_DROP,
  STAT_C2C,
  STAT_CONTROL,
  STAT_FLOATS,
  STAT_OCC_EXIT,
  STAT_PINGS_IN,
  STAT_TO_DEVICE,
} from "./counters.ts";
import { RX_DELIVER, RX_NOT_MESH } from "../mesh/direct_path.ts";
import { P_MESH } from "../mesh/wire.ts";
import {
  type Datapath,
  type DirectPaths,
  HEADROOM,
  MODE_ROUTER,
  MODE_SINGLE,
  MODE_SWITCH,
} from "./datapath.ts";
import {
  clampFrame,
  clampIp,
  destinationOwner,
  flood,
  learnSource,
  ROUTABLE,
  routeCheck,
  toDevice,
} from "./forward.ts";
import { GRO_AREA_BYTES, gsoCapable, TcpCoalescer } from "./gro.ts";
import { PC_BYTES_IN, PC_PACKETS_IN, PEER_COUNTER_STRIDE } from "./peer_table.ts";
import { SendQueue } from "./send_queue.ts";

export class OutsidePipeline {
  readonly dp: Datapath;
  readonly bufs: Uint8Array[];
  readonly sizes: Int32Array;
  readonly from: EndpointSlots;
  readonly queue: SendQueue;
  /** TCP coalescing toward a tun opened with a virtio-net header (gro.ts); null otherwise. */
  readonly gro: TcpCoalescer | null;
  readonly #floodOut: Int32Array;

  constructor(dp: Datapath) {
    this.dp = dp;
    const batch = dp.batchSize;
    if (gsoCapable(dp.device)) {
      // Slots are views of one arena whose tail is the coalescer's, so
      // payloads move into a super-packet with copyWithin.
      const arena = new Uint8Array(new ArrayBuffer(batch * dp.slotSize + GRO_AREA_BYTES));
      this.bufs = Array.from(
        { length: batch },
        (_, i) => arena.subarray(i * dp.slotSize, (i + 1) * dp.slotSize),
      );
      const counters = dp.counters;
      this.gro = new TcpCoalescer(dp.device, arena, (n, ok) => {
        if (ok) counters.stats[STAT_TO_DEVICE] += n;
        else counters.drops[DATAPATH_DROP_DEVICE_FULL] += n;
      });
    } else {
      this.bufs = Array.from({ length: batch }, () => new Uint8Array(dp.slotSize));
      this.gro = null;
    }
    this.sizes = new Int32Array(batch);
    this.from = new EndpointSlots(batch);
    this.queue = new SendQueue(dp.socket, dp.peers, dp.counters, batch * 2, dp.slotSize, batch);
    this.#floodOut = new Int32Array(dp.peers.capacity + 1);
  }

  /** An IP packet for the tun device: coalesced when possible, else written now. */
  #toDevice(buf: Uint8Array, off: number, len: number): void {
    if (this.gro !== null) this.gro.add(buf, off, len);
    else toDevice(this.dp, buf, off, len);
  }

  /** Handles datagrams 0..count-1 of the last receive (each at bufs[i][0 ..)) and flushes. */
  process(count: number): void {
    const dp = this.dp;
    const now = dp.now();
    this.queue.now = now;
    for (let i = 0; i < count; i++) {
      const len = this.sizes[i];
      const buf = this.bufs[i];
      if (len >= buf.length) {
        dp.counters.drops[DATAPATH_DROP_OVERSIZE]++;
        dp.rejected++;
        continue;
      }
      this.#datagram(buf, len, i, now);
    }
    this.gro?.flush();
    this.queue.flush();
    dp.checkKeys(now);
  }

  #datagram(buf: Uint8Array, len: number, row: number, now: number): void {
    const dp = this.dp;
    const drops = dp.counters.drops;
    const op = len > 0 ? buf[0] >>> 3 : -1;
    let peer: number;
    if (dp.mode === MODE_SINGLE) {
      // Direct-path datagrams come from any endpoint: sorted out before the server's path.
      if (dp.directPaths !== null && op === P_MESH && this.#direct(dp.directPaths, buf, len, row)) return;
      if (op !== P_DATA_V2 && op !== P_DATA_V1) {
        this.#control(buf, len, row);
        return;
      }
      peer = 0;
    } else {
      if (op !== P_DATA_V2) {
        if (op === P_DATA_V1) {
          drops[DATAPATH_DROP_UNKNOWN_PEER]++;
          dp.rejected++;
        } else this.#control(buf, len, row);
        return;
      }
      peer = len >= 4 ? (buf[1] << 16) | (buf[2] << 8) | buf[3] : -1;
    }
    const peers = dp.peers;
    if (peer < 0 || peer >= peers.capacity || peers.active[peer] !== 1) {
      drops[DATAPATH_DROP_UNKNOWN_PEER]++;
      dp.rejected++;
      return;
    }
    const dc = peers.channels[peer]!;
    const v = dc.open(buf, 0, len);
    if (v !== OPEN_OK) {
      drops[OPEN_TO_DROP[v]]++;
      dp.rejected++;
      return;
    }
    // Authenticated from here on.
    peers.lastRx[peer] = now;
    const off = dc.plainOff;
    const n = dc.plainLen;
    const c = peer * PEER_COUNTER_STRIDE;
    peers.counters[c + PC_PACKETS_IN]++;
    peers.counters[c + PC_BYTES_IN] += n;
    if (dp.float && !peers.endpoints.equals(peer, this.from, row)) {
      peers.endpoints.copyRow(peer, this.from, row);
      dp.counters.stats[STAT_FLOATS]++;
      if (dp.log) dp.log.info("peer floated", { peerId: peer, to: peers.endpoints.format(peer) });
      dp.onFloat?.(peer);
    }
    if (n === 16 && isPing(buf, off, n)) {
      dp.counters.stats[STAT_PINGS_IN]++;
      return;
    }
    if (n >= 16 && isOcc(buf, off, n)) {
      if (isOccExit(buf, off, n)) {
        dp.counters.stats[STAT_OCC_EXIT]++;
        dp.handoffs++;
        dp.onExit?.(peer);
      }
      return;
    }
    if (dp.mode === MODE_ROUTER) this.#route(peer, buf, off, n);
    else if (dp.mode === MODE_SWITCH) this.#switch(peer, buf, off, n, now);
    else this.#single(buf, off, n);
  }

  /** A mesh datagram: true when the direct path took it (delivered to the device, answered or dropped). */
  #direct(direct: DirectPaths, buf: Uint8Array, len: number, row: number): boolean {
    const v = direct.receive(buf, 0, len, this.from, row);
    if (v === RX_NOT_MESH) return false;
    if (v === RX_DELIVER) {
      clampIp(this.dp, buf, direct.plainOff, direct.plainLen);
      this.#toDevice(buf, direct.plainOff, direct.plainLen);
    }
    return true;
  }

  #control(buf: Uint8Array, len: number, row: number): void {
    const dp = this.dp;
    dp.counters.stats[STAT_CONTROL]++;
    if (len < 1) {
      dp.counters.drops[DATAPATH_DROP_MALFORMED]++;
      dp.rejected++;
      return;
    }
    if (dp.onControl?.(buf, 0, len, this.from, row) !== false) dp.handoffs++;
    else dp.rejected++;
  }

  #route(peer: number, buf: Uint8Array, off: number, len: number): void {
    const dp = this.dp;
    const drops = dp.counters.drops;
    const drop = routeCheck(buf, off, len);
    if (drop !== ROUTABLE) {
      drops[drop]++;
      return;
    }
    if (!this.#allowedSource(peer, buf, off)) {
      drops[DATAPATH_DROP_SPOOFED]++;
      return;
    }
    const owner = destinationOwner(dp, buf, off);
    clampIp(dp, buf, off, len);
    if (owner >= 0 && owner !== peer && dp.clientToClient && dp.peers.active[owner] === 1) {
      if (this.queue.seal(owner, buf, off, len)) {
        dp.counters.stats[STAT_C2C]++;
        dp.relayObserver?.onRelayed(peer, owner, len);
      }
      return;
    }
    this.#toDevice(buf, off, len);
  }

  /** Anti-spoofing: whether the routable packet's source address is one `peer` may use. */
  #allowedSource(peer: number, buf: Uint8Array, off: number): boolean {
    const dp = this.dp;
    if (buf[off] >> 4 === 6) return dp.routes.allowedSource6At(peer, buf, off + IPV6_SRC_OFFSET);
    const s = off + IPV4_SRC_OFFSET;
    const src = ((buf[s] << 24) | (buf[s + 1] << 16) | (buf[s + 2] << 8) | buf[s + 3]) >>> 0;
    if (dp.routes.allowedSource4(peer, src)) return true;
    if (dp.debug) dp.log!.debug("spoofed source dropped", { peerId: peer, src });
    return false;
  }

  #switch(peer: number, buf: Uint8Array, off: number, len: number, now: number): void {
    const dp = this.dp;
    if (len < ETH_HEADER_LEN || (buf[off + 6] & 1) === 1) {
      dp.counters.drops[DATAPATH_DROP_MALFORMED]++;
      return;
    }
    const port = peer + 1;
    if (!learnSource(dp, buf, off, port, now)) return;
    clampFrame(dp, buf, off, len);
    const egress = frameEgress(dp.macs, buf, off, port, dp.clientToClient);
    if (egress === EGRESS_FLOOD) flood(dp, this.queue, buf, off, len, port, this.#floodOut);
    else if (egress === EGRESS_DROP) dp.counters.drops[DATAPATH_DROP_SAME_PORT]++;
    else if (egress === TAP_PORT) toDevice(dp, buf, off, len);
    else if (dp.peers.active[egress - 1] === 1) {
      if (this.queue.seal(egress - 1, buf, off, len)) dp.counters.stats[STAT_C2C]++;
    } else toDevice(dp, buf, off, len);
  }

  #single(buf: Uint8Array, off: number, len: number): void {
    const dp = this.dp;
    if (dp.device.kind === "tun") {
      const v = buf[off] >> 4;
      if (
        (v === 4 && checkIpv4(buf, off, len) !== PACKET_OK) ||
        (v === 6 && checkIpv6(buf, off, len) !== PACKET_OK) ||
        (v !== 4 && v !== 6)
      ) {
        dp.counters.drops[DATAPATH_DROP_MALFORMED]++;
        return;
      }
      clampIp(dp, buf, off, len);
      this.#toDevice(buf, off, len);
      return;
    }
    if (len < ETH_HEADER_LEN) {
      dp.counters.drops[DATAPATH_DROP_MALFORMED]++;
      return;
    }
    clampFrame(dp, buf, off, len);
    toDevice(dp, buf, off, len);
  }
}

export { HEADROOM };
