/**
 * The datapath's peers, indexed by peer-id: the 24-bit id in every P_DATA_V2
 * header is the array index, so finding a packet's peer is one bounds check
 * and one load. A server has up to `capacity` peers and pushes each its index
 * as `peer-id`; a client has one peer at index 0.
 *
 * Per peer: its DataChannel, its current underlay endpoint (row `id` of
 * `endpoints`, what data packets are sent to and what float rewrites), the
 * times of the last authenticated packet received and of the last packet
 * sent (keepalive), and plaintext counters. Everything is a typed array
 * except the channel list. `active[id]` is 1 while the peer may carry data.
 *
 * Mutations (`attach`, `detach`) are control-plane operations; the loops only
 * read, and write the endpoint row and time/counter cells.
 */

import type { DataChannel } from "../data/data_channel.ts";
import { EndpointSlots } from "../device/datagram_socket.ts";

/** Per-peer counter cells, stride PEER_COUNTER_STRIDE in `PeerTable.counters`. */
export const PC_PACKETS_IN = 0;
export const PC_BYTES_IN = 1;
export const PC_PACKETS_OUT = 2;
export const PC_BYTES_OUT = 3;
export const PEER_COUNTER_STRIDE = 4;

export const NO_PEER = -1;

export class PeerTable {
  readonly capacity: number;
  readonly channels: (DataChannel | null)[];
  readonly endpoints: EndpointSlots;
  readonly active: Uint8Array;
  /** Milliseconds (datapath clock) of the last authenticated packet from the peer. */
  readonly lastRx: Float64Array;
  /** Milliseconds of the last packet sealed to the peer. */
  readonly lastTx: Float64Array;
  readonly counters: Float64Array;
  /** The counter cells of every peer released so far, summed (totals survive disconnects). */
  readonly departed = new Float64Array(PEER_COUNTER_STRIDE);
  #count = 0;
  #reserved: Uint8Array;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 0xffffff) {
      throw new RangeError(`Peer table capacity must be 1..16777215, got ${capacity}`);
    }
    this.capacity = capacity;
    this.channels = new Array(capacity).fill(null);
    this.endpoints = new EndpointSlots(capacity);
    this.active = new Uint8Array(capacity);
    this.lastRx = new Float64Array(capacity);
    this.lastTx = new Float64Array(capacity);
    this.counters = new Float64Array(capacity * PEER_COUNTER_STRIDE);
    this.#reserved = new Uint8Array(capacity);
  }

  /** Number of attached peers. */
  get count(): number {
    return this.#count;
  }

  /** Reserves the lowest free peer-id (for a session still negotiating), or NO_PEER when full. */
  reserve(): number {
    for (let i = 0; i < this.capacity; i++) {
      if (this.#reserved[i] === 0) {
        this.#reserved[i] = 1;
        return i;
      }
    }
    return NO_PEER;
  }

  /** True while `id` is reserved or attached. */
  isReserved(id: number): boolean {
    return id >= 0 && id < this.capacity && this.#reserved[id] === 1;
  }

  /**
   * Makes reserved `id` live with `channel`, sending to row `fromRow` of
   * `from`. Times start at `now`, counters at zero.
   */
  attach(id: number, channel: DataChannel, from: EndpointSlots, fromRow: number, now: number): void {
    this.#check(id);
    if (this.#reserved[id] !== 1) throw new Error(`Peer-id ${id} is not reserved`);
    if (this.active[id] === 1) throw new Error(`Peer-id ${id} is already attached`);
    this.channels[id] = channel;
    this.endpoints.copyRow(id, from, fromRow);
    this.lastRx[id] = now;
    this.lastTx[id] = now;
    this.counters.fill(0, id * PEER_COUNTER_STRIDE, (id + 1) * PEER_COUNTER_STRIDE);
    this.active[id] = 1;
    this.#count++;
  }

  /** Stops data for `id` and frees the id (attached or only reserved). */
  release(id: number): void {
    this.#check(id);
    if (this.active[id] === 1) {
      this.active[id] = 0;
      this.#count--;
      for (let c = 0; c < PEER_COUNTER_STRIDE; c++) {
        this.departed[c] += this.counters[id * PEER_COUNTER_STRIDE + c];
      }
    }
    this.channels[id] = null;
    this.#reserved[id] = 0;
  }

  /** Ids of attached peers (control plane). */
  ids(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.capacity; i++) if (this.active[i] === 1) out.push(i);
    return out;
  }

  counter(id: number, cell: number): number {
    return this.counters[id * PEER_COUNTER_STRIDE + cell];
  }

  /** Counter `cell` summed over every peer, attached now or released before (control plane). */
  total(cell: number): number {
    let sum = this.departed[cell];
    for (let i = 0; i < this.capacity; i++) {
      if (this.active[i] === 1) sum += this.counters[i * PEER_COUNTER_STRIDE + cell];
    }
    return sum;
  }

  #check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.capacity) {
      throw new RangeError(`Peer-id ${id} is outside 0..${this.capacity - 1}`);
    }
  }
}
