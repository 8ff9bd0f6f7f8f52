/**
 * Outgoing datagrams of one loop's batch, sent with one `sendBatch` call.
 *
 * `seal(peer, buf, off, len)` seals the payload at buf[off, off+len) in place
 * with the peer's DataChannel (so buf needs 24 bytes of headroom before off)
 * and queues the datagram buf[off-24, off+len) for the peer's endpoint row.
 * Queued buffers are borrowed: they must stay untouched until `flush()`,
 * which the loop calls before it reads its next batch.
 *
 * `copySlot()` lends one of a fixed pool of spare slots, for payloads that go
 * to several peers (flooding) or that lack headroom; when the pool or the
 * queue is full the queue flushes first, so nothing here allocates.
 */

import { DATA_V2_OVERHEAD } from "../data/data_header.ts";
import { FRAMING_MAX_PREFIX } from "../data/framing.ts";

/** Where a copied payload goes in a spare slot: room for the header and any compression framing. */
const SPARE_PAYLOAD_OFF = DATA_V2_OVERHEAD + FRAMING_MAX_PREFIX;
import type { DatagramSocket } from "../device/datagram_socket.ts";
import {
  DATAPATH_DROP_NO_KEY,
  DATAPATH_DROP_SEAL_FAILED,
  DATAPATH_DROP_SOCKET_FULL,
  type DatapathCounters,
} from "./counters.ts";
import { PC_BYTES_OUT, PC_PACKETS_OUT, PEER_COUNTER_STRIDE, type PeerTable } from "./peer_table.ts";
import { SEAL_NO_KEY } from "../data/verdicts.ts";

export class SendQueue {
  readonly #socket: DatagramSocket;
  readonly #peers: PeerTable;
  readonly #counters: DatapathCounters;
  readonly #bufs: Uint8Array[];
  readonly #offsets: Int32Array;
  readonly #sizes: Int32Array;
  readonly #rows: Int32Array;
  readonly #spare: Uint8Array[];
  #count = 0;
  #spareUsed = 0;
  /** Clock value stamped into lastTx; the loop sets it once per batch. */
  now = 0;

  constructor(
    socket: DatagramSocket,
    peers: PeerTable,
    counters: DatapathCounters,
    capacity: number,
    slotSize: number,
    spareSlots: number,
  ) {
    this.#socket = socket;
    this.#peers = peers;
    this.#counters = counters;
    this.#bufs = new Array(capacity).fill(new Uint8Array(0));
    this.#offsets = new Int32Array(capacity);
    this.#sizes = new Int32Array(capacity);
    this.#rows = new Int32Array(capacity);
    this.#spare = Array.from({ length: spareSlots }, () => new Uint8Array(slotSize));
  }

  get pending(): number {
    return this.#count;
  }

  /**
   * Lends a spare slot (payload goes at DATA_V2_OVERHEAD or later). Valid until the
   * next flush; flushes first when the pool is used up.
   */
  copySlot(): Uint8Array {
    if (this.#spareUsed === this.#spare.length) this.flush();
    return this.#spare[this.#spareUsed++];
  }

  /** Copies buf[off, off+len) into a spare slot and seals it for `peer`. */
  sealCopy(peer: number, buf: Uint8Array, off: number, len: number): boolean {
    const slot = this.copySlot();
    if (SPARE_PAYLOAD_OFF + len + 1 > slot.length) {
      this.#counters.drops[DATAPATH_DROP_SEAL_FAILED]++;
      return false;
    }
    slot.set(buf.subarray(off, off + len), SPARE_PAYLOAD_OFF);
    return this.seal(peer, slot, SPARE_PAYLOAD_OFF, len);
  }

  /** Seals buf[off, off+len) in place for `peer` and queues it; false (counted) when it cannot. */
  seal(peer: number, buf: Uint8Array, off: number, len: number): boolean {
    const dc = this.#peers.channels[peer];
    if (dc === null) {
      this.#counters.drops[DATAPATH_DROP_NO_KEY]++;
      return false;
    }
    if (off < dc.sealHeadroom(buf, off)) return this.sealCopy(peer, buf, off, len);
    const n = dc.seal(buf, off, len);
    if (n < 0) {
      this.#counters.drops[n === SEAL_NO_KEY ? DATAPATH_DROP_NO_KEY : DATAPATH_DROP_SEAL_FAILED]++;
      return false;
    }
    if (this.#count === this.#bufs.length) this.flush();
    const i = this.#count++;
    this.#bufs[i] = buf;
    this.#offsets[i] = dc.sealOff;
    this.#sizes[i] = n;
    this.#rows[i] = peer;
    const peers = this.#peers;
    const c = peer * PEER_COUNTER_STRIDE;
    peers.counters[c + PC_PACKETS_OUT]++;
    peers.counters[c + PC_BYTES_OUT] += len;
    peers.lastTx[peer] = this.now;
    return true;
  }

  /** Sends everything queued; returns how many datagrams the socket took. */
  flush(): number {
    const n = this.#count;
    this.#spareUsed = 0;
    if (n === 0) return 0;
    this.#count = 0;
    const sent = this.#socket.sendBatch(
      this.#bufs,
      this.#offsets,
      this.#sizes,
      n,
      this.#peers.endpoints,
      this.#rows,
    );
    if (sent < n) this.#counters.drops[DATAPATH_DROP_SOCKET_FULL] += n - sent;
    return sent;
  }
}
