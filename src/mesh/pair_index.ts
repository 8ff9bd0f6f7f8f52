/**
 * The server's set of introduced pairs, keyed by the two sessions' datapath
 * peer-ids in either order: an open-addressing hash table in typed arrays, so
 * the router's per-relayed-packet question "is this pair introduced?" is a
 * hash and a probe or two, with no allocation and no string or BigInt key.
 *
 * Capacity is fixed at construction (twice the most pairs, rounded up to a
 * power of two, so probes stay short); `insert` refuses beyond `maxPairs`.
 * Removal leaves a tombstone; the table is rebuilt in place when they pile up.
 */

const EMPTY = -1;
const TOMBSTONE = -2;

export class PairIndex {
  readonly maxPairs: number;
  #lo: Int32Array;
  #hi: Int32Array;
  #value: Int32Array;
  #mask: number;
  #size = 0;
  #tombstones = 0;

  constructor(maxPairs: number) {
    if (!Number.isInteger(maxPairs) || maxPairs < 1 || maxPairs > 1 << 20) {
      throw new RangeError("maxPairs must be 1..1048576");
    }
    this.maxPairs = maxPairs;
    let cap = 8;
    while (cap < maxPairs * 2) cap <<= 1;
    this.#lo = new Int32Array(cap).fill(EMPTY);
    this.#hi = new Int32Array(cap);
    this.#value = new Int32Array(cap);
    this.#mask = cap - 1;
  }

  get size(): number {
    return this.#size;
  }

  /** The value stored for the pair {a, b} (any order), or -1. Allocates nothing. */
  find(a: number, b: number): number {
    const lo = a < b ? a : b, hi = a < b ? b : a;
    const keys = this.#lo;
    for (let i = hash(lo, hi) & this.#mask, n = 0; n <= this.#mask; i = (i + 1) & this.#mask, n++) {
      const k = keys[i];
      if (k === EMPTY) return -1;
      if (k === lo && this.#hi[i] === hi) return this.#value[i];
    }
    return -1;
  }

  /** Stores `value` (≥ 0) for {a, b}; false when the pair is present or the table holds maxPairs. */
  insert(a: number, b: number, value: number): boolean {
    if (this.find(a, b) >= 0 || this.#size >= this.maxPairs) return false;
    const lo = a < b ? a : b, hi = a < b ? b : a;
    let i = hash(lo, hi) & this.#mask;
    while (this.#lo[i] >= 0) i = (i + 1) & this.#mask;
    if (this.#lo[i] === TOMBSTONE) this.#tombstones--;
    this.#lo[i] = lo;
    this.#hi[i] = hi;
    this.#value[i] = value;
    this.#size++;
    return true;
  }

  /** Forgets {a, b}; false when it was not present. */
  remove(a: number, b: number): boolean {
    const lo = a < b ? a : b, hi = a < b ? b : a;
    for (let i = hash(lo, hi) & this.#mask, n = 0; n <= this.#mask; i = (i + 1) & this.#mask, n++) {
      const k = this.#lo[i];
      if (k === EMPTY) return false;
      if (k === lo && this.#hi[i] === hi) {
        this.#lo[i] = TOMBSTONE;
        this.#size--;
        if (++this.#tombstones > (this.#mask + 1) >> 2) this.#rebuild();
        return true;
      }
    }
    return false;
  }

  #rebuild(): void {
    const lo = this.#lo, hi = this.#hi, value = this.#value;
    this.#lo = new Int32Array(lo.length).fill(EMPTY);
    this.#hi = new Int32Array(lo.length);
    this.#value = new Int32Array(lo.length);
    this.#size = 0;
    this.#tombstones = 0;
    for (let i = 0; i < lo.length; i++) if (lo[i] >= 0) this.insert(lo[i], hi[i], value[i]);
  }
}

function hash(lo: number, hi: number): number {
  const h = Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi + 0x7f4a7c15, 0x85ebca77);
  return (h ^ (h >>> 15)) >>> 0;
}
