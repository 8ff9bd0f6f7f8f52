/**
 * Exact-match table for full-length host prefixes (/32 or /128), the fast
 * path of `PrefixTrie`: a host prefix is always the longest possible match, so
 * a hit here ends the lookup. Open addressing with linear probing and
 * backward-shift deletion (no tombstones), keys and values interleaved in one
 * Int32Array so a probe touches one cache line.
 *
 * Record layout: IPv4 [key, value] (stride 2); IPv6 [k0, k1, k2, k3, value, -, -, -]
 * (stride 8). value -1 marks an empty slot. `get4`/`get6` allocate nothing.
 */

const EMPTY = -1;
const INITIAL_SLOTS = 64;

export class HostTable {
  readonly #w: number;
  readonly #stride: number;
  readonly #vOff: number;
  #slots: Int32Array;
  #mask: number;
  #size = 0;
  /** value → (key text → key words), so removeByValue need not scan. */
  readonly #byValue = new Map<number, Map<string, Uint32Array>>();

  constructor(family: 4 | 6) {
    this.#w = family === 4 ? 1 : 4;
    this.#stride = family === 4 ? 2 : 8;
    this.#vOff = this.#w;
    this.#slots = this.#alloc(INITIAL_SLOTS);
    this.#mask = INITIAL_SLOTS - 1;
  }

  get size(): number {
    return this.#size;
  }

  /** Value for IPv4 host `addr`, or -1. */
  get4(addr: number): number {
    const s = this.#slots;
    const mask = this.#mask;
    const a = addr | 0;
    let i = hash4(a);
    for (;;) {
      const p = (i & mask) << 1;
      const v = s[p + 1];
      if (v === EMPTY) return EMPTY;
      if (s[p] === a) return v;
      i++;
    }
  }

  /** Value for the IPv6 host given as 4 int32/u32 words, or -1. */
  get6(a0: number, a1: number, a2: number, a3: number): number {
    const s = this.#slots;
    const mask = this.#mask;
    let i = hash6(a0 | 0, a1 | 0, a2 | 0, a3 | 0);
    for (;;) {
      const p = (i & mask) << 3;
      const v = s[p + 4];
      if (v === EMPTY) return EMPTY;
      if (s[p] === (a0 | 0) && s[p + 1] === (a1 | 0) && s[p + 2] === (a2 | 0) && s[p + 3] === (a3 | 0)) {
        return v;
      }
      i++;
    }
  }

  /** Value for key words `k`, or -1 (control plane). */
  get(k: ArrayLike<number>): number {
    const p = this.#findSlot(k);
    return p < 0 ? EMPTY : this.#slots[p + this.#vOff];
  }

  /** Sets the value for `k`; returns the previous value or -1. */
  set(k: ArrayLike<number>, value: number): number {
    const found = this.#findSlot(k);
    if (found >= 0) {
      const old = this.#slots[found + this.#vOff];
      this.#unindex(old, k);
      this.#slots[found + this.#vOff] = value;
      this.#index(value, k);
      return old;
    }
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#rehash((this.#mask + 1) * 2);
    const s = this.#slots;
    let i = this.#hashOf(k);
    for (;;) {
      const p = (i & this.#mask) * this.#stride;
      if (s[p + this.#vOff] === EMPTY) {
        for (let j = 0; j < this.#w; j++) s[p + j] = k[j];
        s[p + this.#vOff] = value;
        break;
      }
      i++;
    }
    this.#size++;
    this.#index(value, k);
    return EMPTY;
  }

  /** Removes `k`; returns its value or -1. */
  delete(k: ArrayLike<number>): number {
    const p = this.#findSlot(k);
    if (p < 0) return EMPTY;
    const old = this.#slots[p + this.#vOff];
    this.#unindex(old, k);
    this.#removeAt(p / this.#stride);
    return old;
  }

  /** Removes all keys holding `value`; returns how many. */
  deleteByValue(value: number): number {
    const keys = this.#byValue.get(value);
    if (keys === undefined) return 0;
    this.#byValue.delete(value);
    for (const k of keys.values()) this.#removeAt(this.#findSlot(k) / this.#stride);
    return keys.size;
  }

  clear(): void {
    this.#slots = this.#alloc(INITIAL_SLOTS);
    this.#mask = INITIAL_SLOTS - 1;
    this.#size = 0;
    this.#byValue.clear();
  }

  /** Every (key words, value) pair, unordered. */
  forEach(fn: (k: Uint32Array, value: number) => void): void {
    for (const [value, keys] of this.#byValue) for (const k of keys.values()) fn(k, value);
  }

  /** Keys holding `value`. */
  keysOf(value: number): Uint32Array[] {
    const keys = this.#byValue.get(value);
    return keys === undefined ? [] : [...keys.values()];
  }

  // -- Internals --

  #alloc(slots: number): Int32Array {
    const s = new Int32Array(slots * this.#stride);
    for (let p = this.#vOff; p < s.length; p += this.#stride) s[p] = EMPTY;
    return s;
  }

  #hashOf(k: ArrayLike<number>): number {
    return this.#w === 1 ? hash4(k[0] | 0) : hash6(k[0] | 0, k[1] | 0, k[2] | 0, k[3] | 0);
  }

  #findSlot(k: ArrayLike<number>): number {
    const s = this.#slots;
    let i = this.#hashOf(k);
    for (;;) {
      const p = (i & this.#mask) * this.#stride;
      if (s[p + this.#vOff] === EMPTY) return -1;
      let same = true;
      for (let j = 0; j < this.#w; j++) if (s[p + j] !== (k[j] | 0)) same = false;
      if (same) return p;
      i++;
    }
  }

  /** Backward-shift deletion: pull later entries of the probe run into the hole. */
  #removeAt(slot: number): void {
    const s = this.#slots;
    const stride = this.#stride;
    const mask = this.#mask;
    let hole = slot;
    let j = slot;
    for (;;) {
      j = (j + 1) & mask;
      const pj = j * stride;
      if (s[pj + this.#vOff] === EMPTY) break;
      const home = this.#hashOf(s.subarray(pj, pj + this.#w)) & mask;
      // Entry j may move into the hole unless its home lies cyclically in (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (inRange) continue;
      s.copyWithin(hole * stride, pj, pj + stride);
      hole = j;
    }
    s[hole * stride + this.#vOff] = EMPTY;
    this.#size--;
  }

  #rehash(slots: number): void {
    const old = this.#slots;
    const stride = this.#stride;
    this.#slots = this.#alloc(slots);
    this.#mask = slots - 1;
    for (let p = 0; p < old.length; p += stride) {
      if (old[p + this.#vOff] === EMPTY) continue;
      let i = this.#hashOf(old.subarray(p, p + this.#w));
      for (;;) {
        const q = (i & this.#mask) * stride;
        if (this.#slots[q + this.#vOff] === EMPTY) {
          this.#slots.set(old.subarray(p, p + stride), q);
          break;
        }
        i++;
      }
    }
  }

  #index(value: number, k: ArrayLike<number>): void {
    let keys = this.#byValue.get(value);
    if (keys === undefined) {
      keys = new Map();
      this.#byValue.set(value, keys);
    }
    const words = Uint32Array.from({ length: this.#w }, (_, i) => k[i]);
    keys.set(words.join(","), words);
  }

  #unindex(value: number, k: ArrayLike<number>): void {
    const keys = this.#byValue.get(value);
    if (keys === undefined) return;
    keys.delete(Array.from({ length: this.#w }, (_, i) => k[i] >>> 0).join(","));
    if (keys.size === 0) this.#byValue.delete(value);
  }
}

function hash4(a: number): number {
  const h = Math.imul(a ^ (a >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}

function hash6(a0: number, a1: number, a2: number, a3: number): number {
  let h = Math.imul(a3, 0x9e3779b1);
  h = Math.imul(h ^ a2 ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ a1 ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ a0 ^ (h >>> 16), 0x9e3779b1);
  return (h ^ (h >>> 15)) >>> 0;
}
