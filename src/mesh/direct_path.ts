/**
 * The client's packet path for direct peers, on the socket it shares with the
 * server connection.
 *
 * Receive (`receive`, called for every datagram before the server's pipeline):
 *   first byte not the mesh opcode → RX_NOT_MESH (the caller's usual path);
 *   pair id → peer (none: dropped, "not_introduced") → open in place under
 *   the pair key (bad tag / replay / unknown key: dropped and counted) →
 *   - IP packet: header checks, source check against the peer's introduced
 *     addresses and iroutes (else "spoofed") → RX_DELIVER, plaintext at
 *     plainOff/plainLen, the peer in `slot`, for the caller to write to tun;
 *   - PROBE: answered with a REPLY to the probe's source (at most
 *     REPLIES_PER_SECOND per peer), reported to the path → RX_HANDLED;
 *   - REPLY: handed to the path, which accepts it only if it answers an
 *     outstanding probe (else "unsolicited_reply") → RX_HANDLED.
 *   An authenticated packet from a source other than the selected endpoint is
 *   reported once per new source (`events.otherSource`): rebinding, roaming.
 *
 * Send: `seal` (in place, 24 bytes of headroom, like DataChannel) then
 * `queueData` for the slot's selected endpoint, sent in one batch by `flush` (the
 * device loop calls it per batch). Probes and replies are sealed
 * in a preallocated scratch slot.
 *
 * Data packets allocate nothing and never throw; a refused datagram changes
 * no state but its drop counter.
 */

import type { DatagramSocket, EndpointSlots } from "../device/datagram_socket.ts";
import { OPEN_BAD_TAG, OPEN_OK, OPEN_REPLAY, OPEN_TOO_OLD, OPEN_UNKNOWN_KEY_ID } from "../data/verdicts.ts";
import { checkIpv4, IPV4_SRC_OFFSET } from "../packet/ipv4.ts";
import { checkIpv6, IPV6_SRC_OFFSET } from "../packet/ipv6.ts";
import { PACKET_OK } from "../packet/verdict.ts";
import type { PairChannel } from "./pair_channel.ts";
import type { MeshPeerTable, TablePeer } from "./peer_table.ts";
import {
  classifyPlaintext,
  isMeshDatagram,
  MESH_DROP_BAD_TAG,
  MESH_DROP_COUNT,
  MESH_DROP_MALFORMED,
  MESH_DROP_NOT_INTRODUCED,
  MESH_DROP_REPLAY,
  MESH_DROP_SPOOFED,
  MESH_DROP_UNKNOWN_KEY,
  MESH_DROP_UNSOLICITED,
  MESH_OVERHEAD,
  peekPairId,
  PLAIN_IPV4,
  PLAIN_IPV6,
  PLAIN_MALFORMED,
  PLAIN_PROBE,
  RECORD_LEN,
  RECORD_PROBE,
  RECORD_REPLY,
  recordProbeId,
  writeRecord,
} from "./wire.ts";

export const RX_NOT_MESH = 0;
export const RX_DELIVER = 1;
export const RX_HANDLED = 2;
export const RX_DROPPED = 3;

/** Counters in DirectPath.stats. */
export const MS_PACKETS_IN = 0;
export const MS_BYTES_IN = 1;
export const MS_PACKETS_OUT = 2;
export const MS_BYTES_OUT = 3;
export const MS_PROBES_IN = 4;
export const MS_REPLIES_IN = 5;
export const MS_PROBES_OUT = 6;
export const MS_REPLIES_OUT = 7;
export const MS_REPLIES_LIMITED = 8;
export const MS_SEND_FAILED = 9;
export const MS_COUNT = 10;
export const MS_NAMES: readonly string[] = [
  "packets_in",
  "bytes_in",
  "packets_out",
  "bytes_out",
  "probes_in",
  "replies_in",
  "probes_out",
  "replies_out",
  "replies_limited",
  "send_failed",
];

/** Most REPLYs one peer gets per second: an introduced peer cannot turn us into a reflector. */
export const REPLIES_PER_SECOND = 20;

export interface DirectPeer extends TablePeer {
  readonly channel: PairChannel;
}

export interface DirectPathEvents<P> {
  /** An authenticated packet from a source other than the selected endpoint (each new source once; every probe). */
  otherSource(peer: P, from: EndpointSlots, row: number): void;
  /** An authenticated REPLY; true when it answered an outstanding probe. */
  reply(
    peer: P,
    probeId: number,
    from: EndpointSlots,
    row: number,
    record: Uint8Array,
    recordOff: number,
  ): boolean;
}

/** The shared socket: `send` for records, `sendBatch` (when it has one) for queued data. */
export type DirectPathSocket = Pick<DatagramSocket, "send"> & Partial<Pick<DatagramSocket, "sendBatch">>;

/** Data datagrams queued before a flush; the device loop's batch is 64. */
const QUEUE_CAPACITY = 64;

export class DirectPath<P extends DirectPeer> {
  readonly drops = new Float64Array(MESH_DROP_COUNT);
  readonly stats = new Float64Array(MS_COUNT);
  /** After RX_DELIVER: the plaintext IP packet and the peer's slot. */
  plainOff = 0;
  plainLen = 0;
  slot = -1;
  readonly #table: MeshPeerTable<P>;
  readonly #socket: DirectPathSocket;
  readonly #events: DirectPathEvents<P>;
  readonly #now: () => number;
  readonly #scratch = new Uint8Array(MESH_OVERHEAD + RECORD_LEN);
  readonly #replyWindow: Float64Array;
  readonly #replyCount: Float64Array;
  // Data datagrams queued by queueData() until flush(): borrowed buffers, as the datapath's SendQueue.
  readonly #queuedBufs: Uint8Array[] = new Array(QUEUE_CAPACITY).fill(new Uint8Array(0));
  readonly #queuedOffsets = new Int32Array(QUEUE_CAPACITY);
  readonly #queuedSizes = new Int32Array(QUEUE_CAPACITY);
  readonly #queuedSlots = new Int32Array(QUEUE_CAPACITY);
  #queued = 0;

  constructor(
    table: MeshPeerTable<P>,
    socket: DirectPathSocket,
    events: DirectPathEvents<P>,
    now: () => number,
  ) {
    this.#table = table;
    this.#socket = socket;
    this.#events = events;
    this.#now = now;
    this.#replyWindow = new Float64Array(table.capacity);
    this.#replyCount = new Float64Array(table.capacity);
  }

  /** Sorts and handles one received datagram; an RX_* verdict. */
  receive(buf: Uint8Array, off: number, len: number, from: EndpointSlots, row: number): number {
    if (!isMeshDatagram(buf, off, len)) return RX_NOT_MESH;
    const pairId = peekPairId(buf, off, len);
    if (pairId < 0) return this.#drop(MESH_DROP_MALFORMED);
    const peer = this.#table.byPairId(pairId);
    if (peer === undefined) return this.#drop(MESH_DROP_NOT_INTRODUCED);
    const ch = peer.channel;
    const v = ch.open(buf, off, len);
    if (v !== OPEN_OK) return this.#drop(openDropReason(v));
    const slot = this.#table.slotOf(peer);
    this.#table.heard[slot]++;
    const p = ch.plainOff, n = ch.plainLen;
    const kind = classifyPlaintext(buf, p, n);
    if (kind === PLAIN_IPV4 || kind === PLAIN_IPV6) {
      return this.#deliver(peer, slot, buf, p, n, kind, from, row);
    }
    if (kind === PLAIN_PROBE) {
      this.stats[MS_PROBES_IN]++;
      this.#reply(peer, slot, recordProbeId(buf, p), from, row);
      this.#events.otherSource(peer, from, row);
      return RX_HANDLED;
    }
    if (kind === PLAIN_MALFORMED) return this.#drop(MESH_DROP_MALFORMED);
    this.stats[MS_REPLIES_IN]++;
    if (!this.#events.reply(peer, recordProbeId(buf, p), from, row, buf, p)) {
      this.drops[MESH_DROP_UNSOLICITED]++;
    }
    return RX_HANDLED;
  }

  #deliver(
    peer: P,
    slot: number,
    buf: Uint8Array,
    p: number,
    n: number,
    kind: number,
    from: EndpointSlots,
    row: number,
  ): number {
    const table = this.#table;
    if (kind === PLAIN_IPV4) {
      if (checkIpv4(buf, p, n) !== PACKET_OK) return this.#drop(MESH_DROP_MALFORMED);
      if (!table.allowedSource4At(slot, buf, p + IPV4_SRC_OFFSET)) return this.#drop(MESH_DROP_SPOOFED);
    } else {
      if (checkIpv6(buf, p, n) !== PACKET_OK) return this.#drop(MESH_DROP_MALFORMED);
      if (!table.allowedSource6At(slot, buf, p + IPV6_SRC_OFFSET)) return this.#drop(MESH_DROP_SPOOFED);
    }
    if (
      !(table.direct[slot] === 1 && table.sendTo.equals(slot, from, row)) &&
      !table.lastOther.equals(slot, from, row)
    ) {
      table.lastOther.copyRow(slot, from, row);
      this.#events.otherSource(peer, from, row);
    }
    this.stats[MS_PACKETS_IN]++;
    this.stats[MS_BYTES_IN] += n;
    this.plainOff = p;
    this.plainLen = n;
    this.slot = slot;
    return RX_DELIVER;
  }

  /**
   * Seals the IP packet at buf[payloadOff, +payloadLen) in place for `slot`'s
   * peer (24 bytes of headroom before it); the datagram's length, or ≤ 0.
   */
  seal(slot: number, buf: Uint8Array, payloadOff: number, payloadLen: number): number {
    const peer = this.#table.peers[slot];
    if (peer === null || peer === undefined) return -1;
    return peer.channel.seal(buf, payloadOff, payloadLen);
  }

  /**
   * `seal` and queue for the slot's selected endpoint until flush(), which the
   * device loop calls once per batch (one sendmmsg for the batch); buf must
   * stay untouched until then. False when dropped (no peer, seal failed).
   */
  queueData(slot: number, buf: Uint8Array, payloadOff: number, payloadLen: number): boolean {
    const n = this.seal(slot, buf, payloadOff, payloadLen);
    if (n <= 0) {
      this.stats[MS_SEND_FAILED]++;
      return false;
    }
    if (this.#queued === QUEUE_CAPACITY) this.flush();
    const i = this.#queued++;
    this.#queuedBufs[i] = buf;
    this.#queuedOffsets[i] = payloadOff - MESH_OVERHEAD;
    this.#queuedSizes[i] = n;
    this.#queuedSlots[i] = slot;
    this.#table.sent[slot]++;
    this.stats[MS_PACKETS_OUT]++;
    this.stats[MS_BYTES_OUT] += payloadLen;
    return true;
  }

  /** Sends what queueData() queued; the datagrams the socket did not take count as send failures. */
  flush(): void {
    const n = this.#queued;
    if (n === 0) return;
    this.#queued = 0;
    const socket = this.#socket;
    const to = this.#table.sendTo;
    let sent = 0;
    if (socket.sendBatch) {
      sent = socket.sendBatch(
        this.#queuedBufs,
        this.#queuedOffsets,
        this.#queuedSizes,
        n,
        to,
        this.#queuedSlots,
      );
    } else {
      for (let i = 0; i < n; i++) {
        const row = this.#queuedSlots[i];
        if (socket.send(this.#queuedBufs[i], this.#queuedOffsets[i], this.#queuedSizes[i], to, row)) sent++;
      }
    }
    this.stats[MS_SEND_FAILED] += n - sent;
  }

  /** Sends a PROBE with `probeId` to row `row` of `to`; the record names that endpoint. */
  sendProbe(peer: P, probeId: number, to: EndpointSlots, row: number): boolean {
    if (!this.#sendRecord(peer, RECORD_PROBE, probeId, to, row)) return false;
    this.stats[MS_PROBES_OUT]++;
    return true;
  }

  #reply(peer: P, slot: number, probeId: number, from: EndpointSlots, row: number): void {
    const now = this.#now();
    if (now - this.#replyWindow[slot] >= 1000) {
      this.#replyWindow[slot] = now;
      this.#replyCount[slot] = 0;
    }
    if (++this.#replyCount[slot] > REPLIES_PER_SECOND) {
      this.stats[MS_REPLIES_LIMITED]++;
      return;
    }
    if (this.#sendRecord(peer, RECORD_REPLY, probeId, from, row)) this.stats[MS_REPLIES_OUT]++;
  }

  /** Seals a record naming row `toRow` of `to` (PROBE: its target; REPLY: the probe's source) and sends it there. */
  #sendRecord(peer: P, type: number, probeId: number, to: EndpointSlots, toRow: number): boolean {
    const s = this.#scratch;
    writeRecord(s, MESH_OVERHEAD, type, probeId, to, toRow);
    const n = peer.channel.seal(s, MESH_OVERHEAD, RECORD_LEN);
    if (n <= 0 || !this.#socket.send(s, 0, n, to, toRow)) {
      this.stats[MS_SEND_FAILED]++;
      return false;
    }
    return true;
  }

  #drop(reason: number): number {
    this.drops[reason]++;
    return RX_DROPPED;
  }
}

function openDropReason(verdict: number): number {
  if (verdict === OPEN_BAD_TAG) return MESH_DROP_BAD_TAG;
  if (verdict === OPEN_REPLAY || verdict === OPEN_TOO_OLD) return MESH_DROP_REPLAY;
  if (verdict === OPEN_UNKNOWN_KEY_ID) return MESH_DROP_UNKNOWN_KEY;
  return MESH_DROP_MALFORMED;
}
