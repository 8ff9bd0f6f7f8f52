/**
 * The packet pipeline shared by the server and the client. "Inside" is the
 * tun/tap device, "outside" is the UDP (or framed TCP) underlay:
 *
 *   inside loop  (inside.ts):  device.readBatch → parse destination → route /
 *                              switch lookup → seal in place (24 bytes of
 *                              headroom) → one sendBatch per batch
 *   outside loop (outside.ts): socket.receiveBatch → P_DATA_V2 → peer by
 *                              peer-id → open in place → ping / OCC → source
 *                              check → another peer (re-seal in place) or
 *                              the device; control packets → the control plane
 *
 * This class holds what both loops share: the mode, the peer table, the route
 * table (tun server) or MAC table (tap server), the counters, and the periodic
 * work (`tick`: keepalive pings, silence timeouts, key expiry and worn-out
 * keys, MAC expiry).
 *
 * Modes:
 * - "router" (tun server): many peers; destinations by longest prefix match in
 *   `routes` (owner = peer-id), sources checked against the same table.
 * - "switch" (tap server): many peers; a learning switch whose port 0 is the
 *   tap device and port `id + 1` is peer `id`.
 * - "single" (client, tun or tap): one peer at index 0; everything from the
 *   device goes to it and everything from it to the device.
 *
 * Client-to-client: when on, a packet from one peer to another is re-sealed
 * and sent inside the process; when off it goes to the device and the host's
 * routing (or bridge) decides, as OpenVPN does without --client-to-client.
 *
 * Nothing here allocates per packet; see the loops for the per-packet work.
 * Single-threaded: the two loops interleave only between batches.
 */

import type { DataChannel } from "../data/data_channel.ts";
import { DATA_V2_OVERHEAD } from "../data/data_header.ts";
import { FRAMING_MAX_PREFIX } from "../data/framing.ts";
import { writePing } from "../data/keepalive_ping.ts";
import { writeOccExit } from "../data/occ.ts";
import type { DatagramSocket, EndpointSlots } from "../device/datagram_socket.ts";
import type { PacketDevice } from "../device/packet_device.ts";
import type { Logger } from "../log/log.ts";
import { RouteTable } from "../router/route_table.ts";
import { MacTable } from "../switch/mac_table.ts";
import { PortSet } from "../switch/port_set.ts";
import { DATAPATH_DROP_SOCKET_FULL, DatapathCounters, STAT_PINGS_OUT } from "./counters.ts";
import { PC_BYTES_OUT, PC_PACKETS_OUT, PEER_COUNTER_STRIDE, PeerTable } from "./peer_table.ts";

export type DatapathMode = "router" | "switch" | "single";

export const MODE_ROUTER = 0;
export const MODE_SWITCH = 1;
export const MODE_SINGLE = 2;

/**
 * Bytes in front of every payload read from the device, so it can be sealed
 * in place: the data header, and room for compression framing
 * (src/data/framing.ts: up to 2 bytes; unused without it).
 */
export const HEADROOM = DATA_V2_OVERHEAD + FRAMING_MAX_PREFIX;

/**
 * How often the batch path looks for worn-out send keys (reneg_bytes,
 * packet-id): a key carries at most this much traffic past its limit before
 * the soft reset starts (OpenVPN checks on every event-loop turn).
 */
export const KEY_CHECK_MS = 100;

export interface DatapathOptions {
  mode: DatapathMode;
  device: PacketDevice;
  socket: DatagramSocket;
  /** Most peers (server: max clients plus sessions being replaced). @default 1 */
  capacity?: number;
  /** Route table (router mode); one is created when absent. */
  routes?: RouteTable;
  /** MAC table (switch mode); one is created when absent (a token one in the other modes). */
  macs?: MacTable;
  /** Most MACs a client may own in the switch's table when `macs` is created here. @default 256 */
  maxMacsPerClient?: number;
  clientToClient?: boolean;
  /**
   * Largest inner IP packet a TCP SYN's MSS is clamped to (MSS = mssfix − 40
   * for IPv4, − 60 for IPv6); 0 = no clamping. @default 0
   */
  mssfix?: number;
  /** Move a peer to the endpoint of its latest authenticated packet (UDP server). @default false */
  float?: boolean;
  /** Send a ping after this long without sending (ms); 0 = never. @default 0 */
  pingIntervalMs?: number;
  /** Report a peer silent for this long (ms) through onTimeout; 0 = never. @default 0 */
  timeoutMs?: number;
  /** Datagrams/packets per batch. @default 64 */
  batchSize?: number;
  /** Bytes per slot, headroom included; default fits dev MTU + Ethernet + headroom. */
  slotSize?: number;
  /** Milliseconds; the same clock as the DataChannels' key installation. @default Date.now */
  now?: () => number;
  log?: Logger;
  counters?: DatapathCounters;
  /**
   * A non-data datagram (control channel) at buf[off, off+len) from row `row`
   * of `from`. Borrowed: copy what must outlive the call. Returns false when
   * it dropped the datagram then and there, leaving the event loop nothing to
   * do (the poll loop then keeps its slice: junk costs no event-loop turn).
   */
  onControl?: (buf: Uint8Array, off: number, len: number, from: EndpointSlots, row: number) => boolean | void;
  /** Peer `id` floated to a new endpoint (already copied into peers.endpoints). */
  onFloat?: (id: number) => void;
  /** Peer `id` sent an OCC exit notification. */
  onExit?: (id: number) => void;
  /** Peer `id` was silent for timeoutMs. */
  onTimeout?: (id: number) => void;
  /**
   * Peer `id`'s send key is worn out (DataChannel.rekeyReason): start a soft
   * reset. Reported on every tick, and every KEY_CHECK_MS while packets flow,
   * until a new key is installed.
   */
  onRekeyDue?: (id: number) => void;
}

/** Sees every packet the router relays client to client (the mesh's introducer). O(1), no allocation. */
export interface RelayObserver {
  onRelayed(from: number, to: number, bytes: number): void;
}

/**
 * A client's direct paths to other clients (the mesh, src/client/client_mesh.ts):
 * asked about every received datagram before the server's path, and about
 * every device packet before it is sealed for the server. No allocation.
 */
export interface DirectPaths {
  /** An RX_* verdict (src/mesh/direct_path.ts); after RX_DELIVER the packet is buf[plainOff, +plainLen). */
  receive(buf: Uint8Array, off: number, len: number, from: EndpointSlots, row: number): number;
  readonly plainOff: number;
  readonly plainLen: number;
  /**
   * Takes the IP packet at buf[off, +len) (24 bytes of headroom) when its destination is on a direct path;
   * it is queued, and buf must stay untouched, until flushDirect().
   */
  sendDirect(buf: Uint8Array, off: number, len: number): boolean;
  /** Sends what sendDirect() queued (the device loop calls it once per batch, with its own flush). */
  flushDirect(): void;
}

export class Datapath {
  readonly mode: number;
  readonly modeName: DatapathMode;
  readonly device: PacketDevice;
  socket: DatagramSocket;
  readonly peers: PeerTable;
  readonly routes: RouteTable;
  readonly macs: MacTable;
  /** Client ports (peer-id + 1) of the switch. */
  readonly ports = new PortSet();
  readonly counters: DatapathCounters;
  readonly batchSize: number;
  readonly slotSize: number;
  clientToClient: boolean;
  /** MSS value SYNs are clamped to for IPv4 (IPv6: 20 less); 0 = off. */
  mss: number;
  readonly float: boolean;
  pingIntervalMs: number;
  timeoutMs: number;
  readonly now: () => number;
  readonly log: Logger | undefined;
  readonly onControl: DatapathOptions["onControl"];
  readonly onFloat: DatapathOptions["onFloat"];
  readonly onExit: DatapathOptions["onExit"];
  readonly onTimeout: DatapathOptions["onTimeout"];
  readonly onRekeyDue: DatapathOptions["onRekeyDue"];
  /** Router mode: told of each client-to-client packet after it is sealed (null: nobody listens). */
  relayObserver: RelayObserver | null = null;
  /** Single mode (client): direct paths to introduced peers (null: everything goes to the server). */
  directPaths: DirectPaths | null = null;
  /** True when debug logging is on (checked before building log arguments); follows the level at each tick. */
  debug: boolean;
  /**
   * Datagrams that left work for the event loop (control packets the control
   * plane kept, OCC exits): the poll loop ends its slice when this moves.
   */
  handoffs = 0;
  /**
   * Datagrams from the socket dropped before anything authenticated them
   * (unknown peer, failed open, refused control packet, oversize): the poll
   * loop paces its socket reads while these come fast (poll_pacing.ts).
   */
  rejected = 0;

  readonly #scratch: Uint8Array;
  #lastSweep = 0;
  #lastKeyCheck = -Infinity;

  constructor(o: DatapathOptions) {
    this.modeName = o.mode;
    this.mode = o.mode === "router" ? MODE_ROUTER : o.mode === "switch" ? MODE_SWITCH : MODE_SINGLE;
    this.device = o.device;
    this.socket = o.socket;
    const capacity = o.mode === "single" ? 1 : (o.capacity ?? 1);
    this.peers = new PeerTable(capacity);
    this.routes = o.routes ?? new RouteTable();
    // A full MAC table preallocates ~3 MiB; other modes never learn a MAC.
    this.macs = o.macs ??
      (o.mode === "switch"
        ? new MacTable({ maxPerPort: o.maxMacsPerClient })
        : new MacTable({ maxEntries: 1 }));
    this.counters = o.counters ?? new DatapathCounters();
    this.batchSize = o.batchSize ?? 64;
    this.slotSize = o.slotSize ?? Math.max(2048, HEADROOM + o.device.mtu + 14 + 64);
    this.clientToClient = o.clientToClient ?? false;
    this.mss = mssOf(o.mssfix ?? 0);
    this.float = o.float ?? false;
    this.pingIntervalMs = o.pingIntervalMs ?? 0;
    this.timeoutMs = o.timeoutMs ?? 0;
    this.now = o.now ?? Date.now;
    this.log = o.log;
    this.debug = o.log?.debugEnabled ?? false;
    this.onControl = o.onControl;
    this.onFloat = o.onFloat;
    this.onExit = o.onExit;
    this.onTimeout = o.onTimeout;
    this.onRekeyDue = o.onRekeyDue;
    this.#scratch = new Uint8Array(HEADROOM + 64);
  }

  /** Changes the clamp (the client learns its uplink's MTU after connecting); 0 = off. */
  setMssfix(mssfix: number): void {
    this.mss = mssOf(mssfix);
  }

  // -- Control plane --

  /** Reserves a peer-id for a session that is still negotiating; -1 when full. */
  reservePeer(): number {
    return this.peers.reserve();
  }

  /**
   * Starts carrying data for reserved peer `id` through `channel`, to the
   * endpoint in row `row` of `from`. In switch mode its port joins the switch.
   */
  attachPeer(id: number, channel: DataChannel, from: EndpointSlots, row: number): void {
    this.peers.attach(id, channel, from, row, this.now());
    if (this.mode === MODE_SWITCH) this.ports.add(id + 1);
  }

  /**
   * Stops data for `id` and frees it: its routes (router), its port and
   * learned MACs (switch) go with it.
   */
  releasePeer(id: number): void {
    if (id < 0 || id >= this.peers.capacity) return;
    if (this.peers.active[id] === 1) {
      if (this.mode === MODE_ROUTER) this.routes.removeOwner(id);
      if (this.mode === MODE_SWITCH) {
        this.ports.delete(id + 1);
        this.macs.removeByPort(id + 1);
      }
    }
    this.peers.release(id);
  }

  /**
   * Periodic work, called about once a second: pings peers we have not sent
   * to for pingIntervalMs, reports peers silent for timeoutMs and peers whose
   * key is worn out (byte or packet-id limit: a counter compare here rather
   * than on the packet path), drops expired transition keys and ages the MAC
   * table.
   */
  tick(now = this.now()): void {
    this.debug = this.log?.debugEnabled ?? false;
    const p = this.peers;
    for (let id = 0; id < p.capacity; id++) {
      if (p.active[id] !== 1) continue;
      const dc = p.channels[id]!;
      dc.expire(now);
      if (this.timeoutMs > 0 && now - p.lastRx[id] >= this.timeoutMs) {
        if (this.log) {
          this.log.info("peer timed out", { peerId: id, silentMs: Math.round(now - p.lastRx[id]) });
        }
        this.onTimeout?.(id);
        continue;
      }
      if (this.pingIntervalMs > 0 && now - p.lastTx[id] >= this.pingIntervalMs) {
        this.sendPing(id, now);
      }
    }
    this.#reportWornKeys(now);
    if (this.mode === MODE_SWITCH && now - this.#lastSweep >= 10_000) {
      this.#lastSweep = now;
      this.macs.sweep(now);
    }
  }

  /**
   * Called by the pipelines once per batch: every KEY_CHECK_MS, reports peers
   * whose send key is worn out. Between checks it costs one compare.
   */
  checkKeys(now: number): void {
    if (now - this.#lastKeyCheck >= KEY_CHECK_MS) this.#reportWornKeys(now);
  }

  #reportWornKeys(now: number): void {
    this.#lastKeyCheck = now;
    const report = this.onRekeyDue;
    if (report === undefined) return;
    const p = this.peers;
    for (let id = 0; id < p.capacity; id++) {
      if (p.active[id] === 1 && p.channels[id]!.needsRekey) report(id);
    }
  }

  /** Seals and sends a keepalive ping to peer `id`. */
  sendPing(id: number, now = this.now()): boolean {
    const ok = this.sendPayload(id, writePing(this.#scratch, HEADROOM), now);
    if (ok) this.counters.stats[STAT_PINGS_OUT]++;
    return ok;
  }

  /** Seals and sends an OCC exit notification to peer `id` (best effort). */
  sendExit(id: number): boolean {
    return this.sendPayload(id, writeOccExit(this.#scratch, HEADROOM), this.now());
  }

  /** Seals the scratch payload of `len` bytes at HEADROOM for `id` and sends it at once. */
  sendPayload(id: number, len: number, now: number): boolean {
    const p = this.peers;
    if (p.active[id] !== 1) return false;
    const n = p.channels[id]!.seal(this.#scratch, HEADROOM, len);
    if (n < 0) return false;
    p.lastTx[id] = now;
    const c = id * PEER_COUNTER_STRIDE;
    p.counters[c + PC_PACKETS_OUT]++;
    p.counters[c + PC_BYTES_OUT] += len;
    if (!this.socket.send(this.#scratch, p.channels[id]!.sealOff, n, p.endpoints, id)) {
      this.counters.drops[DATAPATH_DROP_SOCKET_FULL]++;
      return false;
    }
    return true;
  }
}

/** The IPv4 MSS for an mssfix (largest inner packet): 40 bytes of IP and TCP headers less; 0 = off. */
function mssOf(mssfix: number): number {
  return mssfix > 40 ? mssfix - 40 : 0;
}
