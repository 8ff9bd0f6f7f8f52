/**
 * The tap-mode server's learning table: MAC → port, where port 0 is the local
 * tap device and other ports are session ids.
 *
 * Storage is a fixed open-addressing hash (linear probing, backward-shift
 * deletion) sized at construction for `maxEntries`, so learning never
 * reallocates: a record is [hi16, lo32, port, hash] in an Int32Array plus the
 * last-seen time in a Float64Array. `learn*`/`lookup*` allocate nothing and
 * never throw (bad input yields a verdict); `*At` variants read the MAC
 * straight from a frame. Buckets come from a keyed hash (mac_hash.ts), so a
 * client cannot choose MACs that pile into one probe run.
 *
 * Clients choose the source MACs, so learning is guarded (OpenVPN's
 * max-routes-per-client does the first): a client port holds at most
 * `maxPerPort` MACs (the tap device's port is bounded only by the table),
 * and a MAC owned by one port is not taken over by another while the owner's
 * entry is fresh: the frame is refused (LEARN_OWNED) so a client cannot
 * hijack the LAN gateway's or another client's address. A client that
 * reconnects gets its MACs back because its old session's port is released
 * with its MACs (or, with duplicate_cn, once the old entries age out).
 *
 * Aging: entries older than `maxAgeMs` are removed by `sweep(now)`, which the
 * owner calls periodically with its clock (so an entry may outlive its age by
 * up to one sweep interval; a stale entry may be taken over before the sweep).
 * A MAC relearned on a new port is counted in `moves`; `onMoved` reports
 * moves at most once per `movedEventIntervalMs`, with the number of moves it
 * did not report.
 */

import { macFromParts } from "../addr/mac.ts";
import { macHash, type MacHashKey, processMacHashKey } from "./mac_hash.ts";

export const NO_PORT = -1;

/** Known MAC seen again on the same port (timestamp refreshed). */
export const LEARN_REFRESHED = 0;
/** New MAC learned. */
export const LEARN_NEW = 1;
/** Known MAC seen on another port after its entry went stale: relearned there. */
export const LEARN_MOVED = 2;
/** Table full: the MAC was not learned (frames to it will be flooded). */
export const LEARN_FULL = -1;
/** Group (multicast/broadcast) source address or invalid port: not learned. */
export const LEARN_REJECTED = -2;
/** The client port already holds maxPerPort MACs: not learned (drop the frame). */
export const LEARN_PORT_FULL = -3;
/** Another port owns the MAC and was seen within maxAgeMs: not moved (drop the frame). */
export const LEARN_OWNED = -4;

/** The tap device's port: the LAN behind it is not capped per port. */
const DEVICE_PORT = 0;

export type MovedCallback = (mac: number, fromPort: number, toPort: number, suppressed: number) => void;

export interface MacTableOptions {
  /** Age after which an unseen MAC is forgotten (the Linux bridge default). @default 300_000 */
  maxAgeMs?: number;
  /** Most MACs held; protects against MAC flooding. @default 65536 */
  maxEntries?: number;
  /** Most MACs one client port (not the tap device) may own. @default 256 */
  maxPerPort?: number;
  /** Bucket hash key; tests inject one. @default this process's random key */
  hashKey?: MacHashKey;
  /** Minimum gap between two `onMoved` calls. @default 1000 */
  movedEventIntervalMs?: number;
  onMoved?: MovedCallback;
}

export interface MacEntry {
  readonly mac: number;
  readonly port: number;
  readonly lastSeen: number;
}

const STRIDE = 4;
const TWO_32 = 0x1_0000_0000;

export class MacTable {
  readonly maxAgeMs: number;
  readonly maxEntries: number;
  readonly maxPerPort: number;
  readonly #key: MacHashKey;
  readonly #movedInterval: number;
  readonly #onMoved: MovedCallback | undefined;
  readonly #slots: Int32Array;
  readonly #seen: Float64Array;
  readonly #mask: number;
  readonly #perPort = new Map<number, number>();
  #size = 0;
  #moves = 0;
  #lastMovedEvent = -Infinity;
  #suppressed = 0;

  constructor(opts: MacTableOptions = {}) {
    this.maxAgeMs = opts.maxAgeMs ?? 300_000;
    this.maxEntries = opts.maxEntries ?? 65536;
    this.maxPerPort = opts.maxPerPort ?? 256;
    this.#key = opts.hashKey ?? processMacHashKey();
    this.#movedInterval = opts.movedEventIntervalMs ?? 1000;
    this.#onMoved = opts.onMoved;
    if (!(this.maxAgeMs > 0)) {
      throw new RangeError(`MAC table max age must be positive, got ${this.maxAgeMs}`);
    }
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1 || this.maxEntries > 1 << 24) {
      throw new RangeError(`MAC table size must be 1..16777216, got ${this.maxEntries}`);
    }
    if (!Number.isInteger(this.maxPerPort) || this.maxPerPort < 1) {
      throw new RangeError(`MACs per port must be a positive integer, got ${this.maxPerPort}`);
    }
    let slots = 8;
    while (slots < this.maxEntries * 2) slots *= 2;
    this.#mask = slots - 1;
    this.#slots = new Int32Array(slots * STRIDE);
    for (let i = 0; i < slots; i++) this.#slots[i * STRIDE + 2] = NO_PORT;
    this.#seen = new Float64Array(slots);
  }

  /** Number of learned MACs. */
  get size(): number {
    return this.#size;
  }

  /** How many times a MAC was relearned on a different port. */
  get moves(): number {
    return this.#moves;
  }

  /** MACs learned on `port`. */
  countOf(port: number): number {
    return this.#perPort.get(port) ?? 0;
  }

  /** Longest distance of an entry from its home bucket (diagnostics: how well the hash spreads). */
  longestProbe(): number {
    let longest = 0;
    const slots = this.#mask + 1;
    for (let i = 0; i < slots; i++) {
      const b = i * STRIDE;
      if (this.#slots[b + 2] === NO_PORT) continue;
      longest = Math.max(longest, (i - (this.#slots[b + 3] & this.#mask) + slots) & this.#mask);
    }
    return longest;
  }

  // -- Hot path --

  /** Learns `mac` (a 48-bit number) on `port` at time `now`; returns a LEARN_* verdict. */
  learn(mac: number, port: number, now: number): number {
    return this.#learn(Math.floor(mac / TWO_32) & 0xffff, mac % TWO_32 | 0, port, now);
  }

  /** Learns the MAC at `buf[p .. p+6)` (e.g. a frame's source at `off + 6`). */
  learnAt(buf: Uint8Array, p: number, port: number, now: number): number {
    return this.#learn(
      (buf[p] << 8) | buf[p + 1],
      (buf[p + 2] << 24) | (buf[p + 3] << 16) | (buf[p + 4] << 8) | buf[p + 5],
      port,
      now,
    );
  }

  /** Port of `mac`, or NO_PORT. */
  lookup(mac: number): number {
    return this.#lookup(Math.floor(mac / TWO_32) & 0xffff, mac % TWO_32 | 0);
  }

  /** Port of the MAC at `buf[p .. p+6)` (e.g. a frame's destination at `off`), or NO_PORT. */
  lookupAt(buf: Uint8Array, p: number): number {
    return this.#lookup(
      (buf[p] << 8) | buf[p + 1],
      (buf[p + 2] << 24) | (buf[p + 3] << 16) | (buf[p + 4] << 8) | buf[p + 5],
    );
  }

  // -- Maintenance --

  /** Removes entries not seen for more than `maxAgeMs` before `now`; returns how many. */
  sweep(now: number): number {
    const limit = now - this.maxAgeMs;
    return this.#removeWhere((i) => this.#seen[i] < limit);
  }

  /** Removes every MAC learned on `port` (its session ended); returns how many. */
  removeByPort(port: number): number {
    if (!this.#perPort.has(port)) return 0;
    return this.#removeWhere((i) => this.#slots[i * STRIDE + 2] === port);
  }

  /** Forgets one MAC; returns whether it was known. */
  delete(mac: number): boolean {
    const i = this.#find(Math.floor(mac / TWO_32) & 0xffff, mac % TWO_32 | 0);
    if (i < 0) return false;
    this.#removeAt(i);
    return true;
  }

  /** Forgets everything (counters are kept). */
  clear(): void {
    this.#removeWhere(() => true);
  }

  /** All entries, for status output. */
  entries(): MacEntry[] {
    const out: MacEntry[] = [];
    for (let i = 0; i <= this.#mask; i++) {
      const b = i * STRIDE;
      if (this.#slots[b + 2] === NO_PORT) continue;
      out.push({
        mac: macFromParts(this.#slots[b], this.#slots[b + 1]),
        port: this.#slots[b + 2],
        lastSeen: this.#seen[i],
      });
    }
    return out.sort((a, b) => a.mac - b.mac);
  }

  // -- Internals --

  #learn(hi: number, lo: number, port: number, now: number): number {
    if ((hi & 0x100) !== 0 || !(port >= 0 && port <= 0x7fffffff && (port | 0) === port)) {
      return LEARN_REJECTED;
    }
    const s = this.#slots;
    const mask = this.#mask;
    const hash = macHash(this.#key, hi, lo);
    let i = hash & mask;
    for (;;) {
      const b = i * STRIDE;
      const current = s[b + 2];
      if (current === NO_PORT) break;
      if (s[b + 1] === lo && s[b] === hi) {
        if (current === port) {
          this.#seen[i] = now;
          return LEARN_REFRESHED;
        }
        if (now - this.#seen[i] <= this.maxAgeMs) return LEARN_OWNED;
        if (this.#portFull(port)) return LEARN_PORT_FULL;
        this.#seen[i] = now;
        s[b + 2] = port;
        this.#countPort(current, -1);
        this.#countPort(port, 1);
        this.#moved(hi, lo, current, port, now);
        return LEARN_MOVED;
      }
      i = (i + 1) & mask;
    }
    if (this.#portFull(port)) return LEARN_PORT_FULL;
    if (this.#size >= this.maxEntries) return LEARN_FULL;
    const b = i * STRIDE;
    s[b] = hi;
    s[b + 1] = lo;
    s[b + 2] = port;
    s[b + 3] = hash;
    this.#seen[i] = now;
    this.#size++;
    this.#countPort(port, 1);
    return LEARN_NEW;
  }

  #portFull(port: number): boolean {
    return port !== DEVICE_PORT && (this.#perPort.get(port) ?? 0) >= this.maxPerPort;
  }

  #lookup(hi: number, lo: number): number {
    const s = this.#slots;
    const mask = this.#mask;
    let i = macHash(this.#key, hi, lo) & mask;
    for (;;) {
      const b = i * STRIDE;
      const port = s[b + 2];
      if (port === NO_PORT) return NO_PORT;
      if (s[b + 1] === lo && s[b] === hi) return port;
      i = (i + 1) & mask;
    }
  }

  #find(hi: number, lo: number): number {
    let i = macHash(this.#key, hi, lo) & this.#mask;
    for (;;) {
      const b = i * STRIDE;
      if (this.#slots[b + 2] === NO_PORT) return -1;
      if (this.#slots[b + 1] === lo && this.#slots[b] === hi) return i;
      i = (i + 1) & this.#mask;
    }
  }

  #moved(hi: number, lo: number, from: number, to: number, now: number): void {
    this.#moves++;
    if (this.#onMoved === undefined) return;
    if (now - this.#lastMovedEvent < this.#movedInterval) {
      this.#suppressed++;
      return;
    }
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    this.#lastMovedEvent = now;
    this.#onMoved(macFromParts(hi, lo), from, to, suppressed);
  }

  #countPort(port: number, delta: number): void {
    const n = (this.#perPort.get(port) ?? 0) + delta;
    if (n <= 0) this.#perPort.delete(port);
    else this.#perPort.set(port, n);
  }

  /**
   * Removes matching slots in one pass. After a removal the same slot is
   * examined again, since backward shifting may have moved an unvisited entry
   * into it; entries shifted across the wrap-around were already visited.
   */
  #removeWhere(match: (slot: number) => boolean): number {
    let removed = 0;
    for (let i = 0; i <= this.#mask;) {
      if (this.#slots[i * STRIDE + 2] !== NO_PORT && match(i)) {
        this.#removeAt(i);
        removed++;
      } else {
        i++;
      }
    }
    return removed;
  }

  #removeAt(slot: number): void {
    const s = this.#slots;
    const mask = this.#mask;
    this.#countPort(s[slot * STRIDE + 2], -1);
    let hole = slot;
    let j = slot;
    for (;;) {
      j = (j + 1) & mask;
      const bj = j * STRIDE;
      if (s[bj + 2] === NO_PORT) break;
      const home = s[bj + 3] & mask;
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (stays) continue;
      s.copyWithin(hole * STRIDE, bj, bj + STRIDE);
      this.#seen[hole] = this.#seen[j];
      hole = j;
    }
    s[hole * STRIDE + 2] = NO_PORT;
    this.#size--;
  }
}
