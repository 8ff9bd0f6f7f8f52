/**
 * A client's introduced peers: by pair id (receive demux), by certificate
 * name, and by slot (a small integer indexing the typed arrays the packet
 * path reads). One RouteTable maps each peer's introduced addresses (host
 * prefixes) and iroutes to its slot and serves both directions, as the
 * server's does:
 *
 * - outbound: `directSlot4At`/`directSlot6At` give the slot owning the
 *   destination when that pair's path is direct, else -1 (send to the server);
 * - inbound: `allowedSource4At`/`allowedSource6At` accept a packet that came
 *   on a direct path only if its source belongs to that peer (the source
 *   check: nothing the server did not introduce gets in).
 *
 * A prefix another peer already holds stays with it (conflicts are returned
 * for logging): a later introduction never takes routes from an earlier one.
 * Lookups allocate nothing and never throw; mutations are control plane.
 */

import type { NumericIp } from "../addr/ip.ts";
import type { NumericPrefix } from "../addr/prefix.ts";
import { ENDPOINT_ROW_BYTES, EndpointSlots } from "../device/datagram_socket.ts";
import { NO_OWNER, RouteTable } from "../router/route_table.ts";
import { type Endpoint, writeEndpointRow } from "./endpoint.ts";

export const NO_SLOT = -1;

/** The parts of a peer the table knows about; MeshAgent's peer record extends it. */
export interface TablePeer {
  readonly pairId: number;
  readonly name: string;
}

export class MeshPeerTable<P extends TablePeer = TablePeer> {
  readonly capacity: number;
  readonly routes = new RouteTable();
  /** 1 while the slot's path is direct. */
  readonly direct: Uint8Array;
  /** Row = slot: the selected direct endpoint (what data is sent to). */
  readonly sendTo: EndpointSlots;
  /** Row = slot: the last source seen that was not the selected endpoint (reported once, not per packet). */
  readonly lastOther: EndpointSlots;
  /** Per slot: data packets sent on the direct path, and authenticated packets received on it (liveness). */
  readonly sent: Float64Array;
  readonly heard: Float64Array;
  readonly peers: (P | null)[];
  readonly #byPair = new Map<number, P>();
  readonly #byName = new Map<string, P>();
  readonly #slotOf = new Map<P, number>();
  readonly #free: number[] = [];

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 65536) {
      throw new RangeError("Mesh peer capacity must be 1..65536");
    }
    this.capacity = capacity;
    this.direct = new Uint8Array(capacity);
    this.sendTo = new EndpointSlots(capacity);
    this.lastOther = new EndpointSlots(capacity);
    this.sent = new Float64Array(capacity);
    this.heard = new Float64Array(capacity);
    this.peers = new Array(capacity).fill(null);
    for (let i = capacity - 1; i >= 0; i--) this.#free.push(i);
  }

  get size(): number {
    return this.#byPair.size;
  }

  byPairId(pairId: number): P | undefined {
    return this.#byPair.get(pairId);
  }

  byName(name: string): P | undefined {
    return this.#byName.get(name);
  }

  slotOf(peer: P): number {
    return this.#slotOf.get(peer) ?? NO_SLOT;
  }

  all(): P[] {
    return [...this.#byPair.values()];
  }

  /** Adds a peer; its slot, or an error text (table full, pair id or name already present). */
  add(peer: P): number | string {
    if (this.#byPair.has(peer.pairId)) return `pair ${peer.pairId} is already introduced`;
    if (this.#byName.has(peer.name)) return `a pair with ${peer.name} already exists`;
    const slot = this.#free.pop();
    if (slot === undefined) return `mesh peer table full (${this.capacity})`;
    this.peers[slot] = peer;
    this.#byPair.set(peer.pairId, peer);
    this.#byName.set(peer.name, peer);
    this.#slotOf.set(peer, slot);
    this.#clearSlot(slot);
    return slot;
  }

  /** Removes a peer and its routes; false when it was not present. */
  remove(peer: P): boolean {
    const slot = this.#slotOf.get(peer);
    if (slot === undefined) return false;
    this.routes.removeOwner(slot);
    this.#clearSlot(slot);
    this.peers[slot] = null;
    this.#byPair.delete(peer.pairId);
    this.#byName.delete(peer.name);
    this.#slotOf.delete(peer);
    this.#free.push(slot);
    return true;
  }

  /**
   * Replaces the peer's routes with its addresses (as host prefixes) and
   * iroutes. Returns the prefixes left out because another peer holds them.
   */
  setRoutes(peer: P, addresses: readonly NumericIp[], iroutes: readonly NumericPrefix[]): NumericPrefix[] {
    const slot = this.#slotOf.get(peer);
    if (slot === undefined) return [];
    this.routes.removeOwner(slot);
    const conflicts: NumericPrefix[] = [];
    for (const prefix of [...addresses.map(hostPrefix), ...iroutes]) {
      const owner = this.routes.ownerOf(prefix);
      if (owner !== NO_OWNER && owner !== slot) conflicts.push(prefix);
      else this.routes.add(prefix, slot);
    }
    return conflicts;
  }

  /** Marks the slot's path direct via `endpoint`, or relayed with null. */
  setDirect(peer: P, endpoint: Endpoint | null): void {
    const slot = this.#slotOf.get(peer);
    if (slot === undefined) return;
    if (endpoint === null) {
      this.direct[slot] = 0;
      return;
    }
    writeEndpointRow(this.sendTo, slot, endpoint);
    this.direct[slot] = 1;
  }

  // -- Hot path --

  /** Slot of the direct peer owning the IPv4 destination at buf[p], or NO_SLOT (send via the server). */
  directSlot4At(buf: Uint8Array, p: number): number {
    const slot = this.routes.route4At(buf, p);
    return slot >= 0 && this.direct[slot] === 1 ? slot : NO_SLOT;
  }

  /** Slot of the direct peer owning the IPv6 destination at buf[p], or NO_SLOT. */
  directSlot6At(buf: Uint8Array, p: number): number {
    const slot = this.routes.route6At(buf, p);
    return slot >= 0 && this.direct[slot] === 1 ? slot : NO_SLOT;
  }

  allowedSource4At(slot: number, buf: Uint8Array, p: number): boolean {
    return this.routes.allowedSource4At(slot, buf, p);
  }

  allowedSource6At(slot: number, buf: Uint8Array, p: number): boolean {
    return this.routes.allowedSource6At(slot, buf, p);
  }

  #clearSlot(slot: number): void {
    this.direct[slot] = 0;
    this.sent[slot] = 0;
    this.heard[slot] = 0;
    const row = slot * ENDPOINT_ROW_BYTES;
    this.sendTo.bytes.fill(0, row, row + ENDPOINT_ROW_BYTES);
    this.lastOther.bytes.fill(0, row, row + ENDPOINT_ROW_BYTES);
  }
}

function hostPrefix(a: NumericIp): NumericPrefix {
  return a.family === 4 ? { family: 4, addr: a.v4, bits: 32 } : { family: 6, addr: a.v6, bits: 128 };
}
