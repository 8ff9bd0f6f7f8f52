/**
 * Longest-prefix match for one address family: a path-compressed binary trie
 * (the shape of wireguard-go's allowedips) stored as struct-of-arrays in typed
 * arrays, mapping prefix → value (a non-negative int31, e.g. a session id).
 *
 * Node i holds its masked key in `key[i*W .. i*W+W)` (W = 1 word for IPv4, 4
 * for IPv6), the matching mask words, its prefix length, its value (-1 for a
 * pure branch node) and two child indices. Branch nodes always have two
 * children; nodes with a value never move, so each value keeps the set of its
 * node indices and `removeByValue` touches only those.
 *
 * Contract: `lookup4`/`lookup6`/`lookup6At` allocate nothing and never throw;
 * they return the value of the longest matching prefix or -1 (NO_MATCH).
 * `insert`/`remove` may allocate (array growth) and throw RangeError on bad
 * arguments. Not safe for concurrent mutation (single JS thread).
 */

export const NO_MATCH = -1;

/** One stored prefix, as returned by `entries()`. */
export interface TrieEntry {
  /** Network address words (1 for IPv4, 4 for IPv6), host bits zero. */
  readonly words: Uint32Array;
  readonly bits: number;
  readonly value: number;
}

const INITIAL_NODES = 64;

export class PrefixTrie {
  readonly family: 4 | 6;
  readonly #w: number;
  readonly #maxBits: number;
  #capacity = 0;
  #key = new Uint32Array(0);
  #mask = new Uint32Array(0);
  #cidr = new Uint8Array(0);
  #value = new Int32Array(0);
  #child = new Int32Array(0);
  #parent = new Int32Array(0);
  #free: number[] = [];
  #used = 0;
  #root = -1;
  #size = 0;
  readonly #byValue = new Map<number, Set<number>>();
  readonly #scratch: Uint32Array;

  constructor(family: 4 | 6) {
    if (family !== 4 && family !== 6) throw new RangeError(`Address family must be 4 or 6, got ${family}`);
    this.family = family;
    this.#w = family === 4 ? 1 : 4;
    this.#maxBits = family === 4 ? 32 : 128;
    this.#scratch = new Uint32Array(this.#w);
    this.#grow(INITIAL_NODES);
  }

  /** Number of stored prefixes (nodes with a value). */
  get size(): number {
    return this.#size;
  }

  /** Number of live nodes including branch nodes (for diagnostics). */
  get nodeCount(): number {
    return this.#used - this.#free.length;
  }

  // -- Lookups (hot path) --

  /** Longest-prefix match of an IPv4 address (u32); only for a family-4 trie. */
  lookup4(addr: number): number {
    const key = this.#key;
    const mask = this.#mask;
    const cidr = this.#cidr;
    const value = this.#value;
    const child = this.#child;
    let found = NO_MATCH;
    let n = this.#root;
    while (n >= 0) {
      if (((addr ^ key[n]) & mask[n]) !== 0) break;
      const v = value[n];
      if (v >= 0) found = v;
      const c = cidr[n];
      if (c === 32) break;
      n = child[(n << 1) | ((addr >>> (31 - c)) & 1)];
    }
    return found;
  }

  /** Longest-prefix match of an IPv6 address given as 4 words at `words[off]`; only for a family-6 trie. */
  lookup6(words: Uint32Array, off = 0): number {
    return this.#walk6(words[off], words[off + 1], words[off + 2], words[off + 3]);
  }

  /** Longest-prefix match of the 16-byte IPv6 address at `buf[p]` (e.g. a header field). */
  lookup6At(buf: Uint8Array, p: number): number {
    return this.#walk6(
      (buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3],
      (buf[p + 4] << 24) | (buf[p + 5] << 16) | (buf[p + 6] << 8) | buf[p + 7],
      (buf[p + 8] << 24) | (buf[p + 9] << 16) | (buf[p + 10] << 8) | buf[p + 11],
      (buf[p + 12] << 24) | (buf[p + 13] << 16) | (buf[p + 14] << 8) | buf[p + 15],
    );
  }

  #walk6(a0: number, a1: number, a2: number, a3: number): number {
    const key = this.#key;
    const mask = this.#mask;
    const cidr = this.#cidr;
    const value = this.#value;
    const child = this.#child;
    let found = NO_MATCH;
    let n = this.#root;
    while (n >= 0) {
      const b = n << 2;
      if (
        (((a0 ^ key[b]) & mask[b]) | ((a1 ^ key[b + 1]) & mask[b + 1]) | ((a2 ^ key[b + 2]) & mask[b + 2]) |
          ((a3 ^ key[b + 3]) & mask[b + 3])) !== 0
      ) break;
      const v = value[n];
      if (v >= 0) found = v;
      const c = cidr[n];
      if (c === 128) break;
      const wi = c >>> 5;
      const w = wi === 0 ? a0 : wi === 1 ? a1 : wi === 2 ? a2 : a3;
      n = child[(n << 1) | ((w >>> (31 - (c & 31))) & 1)];
    }
    return found;
  }

  // -- Mutation (control plane) --

  /**
   * Stores `value` for the prefix `addr/bits` (host bits are ignored). Returns
   * the value it replaced, or -1 if the prefix was new.
   */
  insert(addr: number | ArrayLike<number>, bits: number, value: number): number {
    if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
      throw new RangeError(`Trie value must be an integer 0..2147483647, got ${value}`);
    }
    const k = this.#loadKey(addr, bits);
    if (this.#root < 0) {
      this.#root = this.#newNode(k, bits, value, -1);
      return NO_MATCH;
    }
    let n = this.#root;
    let parent = -1;
    while (n >= 0) {
      const nc = this.#cidr[n];
      if (nc > bits || this.#commonBits(n, k) < nc) break;
      if (nc === bits) {
        const old = this.#value[n];
        if (old >= 0) this.#unindex(old, n);
        else this.#size++;
        this.#value[n] = value;
        this.#index(value, n);
        return old;
      }
      parent = n;
      n = this.#child[(n << 1) | this.#bitOf(k, nc)];
    }
    if (n < 0) {
      const m = this.#newNode(k, bits, value, parent);
      this.#child[(parent << 1) | this.#bitOf(k, this.#cidr[parent])] = m;
      return NO_MATCH;
    }
    const common = Math.min(this.#commonBits(n, k), bits);
    if (common === bits) {
      // The new prefix contains node n: it becomes n's parent.
      const m = this.#newNode(k, bits, value, parent);
      this.#replaceChild(parent, n, m);
      this.#child[(m << 1) | this.#nodeBit(n, bits)] = n;
      this.#parent[n] = m;
      return NO_MATCH;
    }
    // They diverge at bit `common`: a branch node takes n's place.
    const branch = this.#newNode(k, common, NO_MATCH, parent);
    this.#replaceChild(parent, n, branch);
    const m = this.#newNode(k, bits, value, branch);
    const side = this.#bitOf(k, common);
    this.#child[(branch << 1) | side] = m;
    this.#child[(branch << 1) | (side ^ 1)] = n;
    this.#parent[n] = branch;
    return NO_MATCH;
  }

  /** The value stored for exactly `addr/bits`, or -1. */
  get(addr: number | ArrayLike<number>, bits: number): number {
    const n = this.#find(this.#loadKey(addr, bits), bits);
    return n < 0 ? NO_MATCH : this.#value[n];
  }

  /** Removes exactly `addr/bits`; returns the value it had, or -1 if absent. */
  remove(addr: number | ArrayLike<number>, bits: number): number {
    const n = this.#find(this.#loadKey(addr, bits), bits);
    if (n < 0) return NO_MATCH;
    const old = this.#value[n];
    this.#unindex(old, n);
    this.#value[n] = NO_MATCH;
    this.#size--;
    this.#compact(n);
    return old;
  }

  /** Removes every prefix holding `value`, without scanning the table; returns how many. */
  removeByValue(value: number): number {
    const nodes = this.#byValue.get(value);
    if (nodes === undefined) return 0;
    this.#byValue.delete(value);
    let removed = 0;
    for (const n of nodes) {
      this.#value[n] = NO_MATCH;
      this.#size--;
      removed++;
      this.#compact(n);
    }
    return removed;
  }

  /** Removes everything. */
  clear(): void {
    this.#free = [];
    this.#used = 0;
    this.#root = -1;
    this.#size = 0;
    this.#byValue.clear();
  }

  /** All stored prefixes in address order (a prefix before the prefixes it contains). */
  entries(): TrieEntry[] {
    const out: TrieEntry[] = [];
    const visit = (n: number): void => {
      if (n < 0) return;
      if (this.#value[n] >= 0) out.push(this.#entryOf(n));
      visit(this.#child[n << 1]);
      visit(this.#child[(n << 1) | 1]);
    };
    visit(this.#root);
    return out;
  }

  /** The prefixes holding `value`, in address order. */
  entriesOf(value: number): TrieEntry[] {
    const nodes = this.#byValue.get(value);
    if (nodes === undefined) return [];
    return [...nodes].map((n) => this.#entryOf(n)).sort(compareEntries);
  }

  // -- Internals --

  #entryOf(n: number): TrieEntry {
    const w = this.#w;
    return { words: this.#key.slice(n * w, n * w + w), bits: this.#cidr[n], value: this.#value[n] };
  }

  #loadKey(addr: number | ArrayLike<number>, bits: number): Uint32Array {
    if (!Number.isInteger(bits) || bits < 0 || bits > this.#maxBits) {
      throw new RangeError(`IPv${this.family} prefix length must be 0..${this.#maxBits}, got ${bits}`);
    }
    const k = this.#scratch;
    if (typeof addr === "number") {
      if (this.#w !== 1) throw new RangeError("An IPv6 trie needs a 4-word address");
      k[0] = addr;
    } else {
      if (addr.length !== this.#w) {
        throw new RangeError(`An IPv${this.family} address has ${this.#w} word(s)`);
      }
      for (let i = 0; i < this.#w; i++) k[i] = addr[i];
    }
    for (let i = 0; i < this.#w; i++) k[i] = (k[i] & wordMask(bits, i)) >>> 0;
    return k;
  }

  #find(k: Uint32Array, bits: number): number {
    let n = this.#root;
    while (n >= 0) {
      const nc = this.#cidr[n];
      if (nc > bits || this.#commonBits(n, k) < nc) return -1;
      if (nc === bits) return this.#value[n] >= 0 ? n : -1;
      n = this.#child[(n << 1) | this.#bitOf(k, nc)];
    }
    return -1;
  }

  /** Removes node n (which has no value) if it has fewer than two children, then its parent likewise. */
  #compact(n: number): void {
    const l = this.#child[n << 1];
    const r = this.#child[(n << 1) | 1];
    if (l >= 0 && r >= 0) return;
    const p = this.#parent[n];
    const only = l >= 0 ? l : r;
    this.#replaceChild(p, n, only);
    if (only >= 0) this.#parent[only] = p;
    this.#free.push(n);
    if (p >= 0 && this.#value[p] < 0) this.#compact(p);
  }

  #replaceChild(parent: number, old: number, next: number): void {
    if (parent < 0) {
      this.#root = next;
    } else if (this.#child[parent << 1] === old) {
      this.#child[parent << 1] = next;
    } else {
      this.#child[(parent << 1) | 1] = next;
    }
  }

  #commonBits(n: number, k: Uint32Array): number {
    const w = this.#w;
    const base = n * w;
    for (let i = 0; i < w; i++) {
      const x = (this.#key[base + i] ^ k[i]) >>> 0;
      if (x !== 0) return i * 32 + Math.clz32(x);
    }
    return w * 32;
  }

  #bitOf(k: Uint32Array, pos: number): number {
    return (k[pos >>> 5] >>> (31 - (pos & 31))) & 1;
  }

  #nodeBit(n: number, pos: number): number {
    return (this.#key[n * this.#w + (pos >>> 5)] >>> (31 - (pos & 31))) & 1;
  }

  #index(value: number, n: number): void {
    let set = this.#byValue.get(value);
    if (set === undefined) {
      set = new Set();
      this.#byValue.set(value, set);
    }
    set.add(n);
  }

  #unindex(value: number, n: number): void {
    const set = this.#byValue.get(value);
    if (set === undefined) return;
    set.delete(n);
    if (set.size === 0) this.#byValue.delete(value);
  }

  #newNode(k: Uint32Array, bits: number, value: number, parent: number): number {
    let n = this.#free.pop();
    if (n === undefined) {
      if (this.#used === this.#capacity) this.#grow(this.#capacity * 2);
      n = this.#used++;
    }
    const w = this.#w;
    for (let i = 0; i < w; i++) {
      const m = wordMask(bits, i);
      this.#key[n * w + i] = (k[i] & m) >>> 0;
      this.#mask[n * w + i] = m;
    }
    this.#cidr[n] = bits;
    this.#value[n] = value;
    this.#child[n << 1] = -1;
    this.#child[(n << 1) | 1] = -1;
    this.#parent[n] = parent;
    if (value >= 0) {
      this.#size++;
      this.#index(value, n);
    }
    return n;
  }

  #grow(capacity: number): void {
    const w = this.#w;
    const key = new Uint32Array(capacity * w);
    key.set(this.#key);
    const mask = new Uint32Array(capacity * w);
    mask.set(this.#mask);
    const cidr = new Uint8Array(capacity);
    cidr.set(this.#cidr);
    const value = new Int32Array(capacity);
    value.set(this.#value);
    const child = new Int32Array(capacity * 2);
    child.set(this.#child);
    const parent = new Int32Array(capacity);
    parent.set(this.#parent);
    this.#key = key;
    this.#mask = mask;
    this.#cidr = cidr;
    this.#value = value;
    this.#child = child;
    this.#parent = parent;
    this.#capacity = capacity;
  }
}

/** The mask for word `i` of a prefix of length `bits`. */
function wordMask(bits: number, i: number): number {
  const keep = bits - 32 * i;
  if (keep <= 0) return 0;
  if (keep >= 32) return 0xffffffff;
  return (0xffffffff << (32 - keep)) >>> 0;
}

function compareEntries(a: TrieEntry, b: TrieEntry): number {
  for (let i = 0; i < a.words.length; i++) {
    if (a.words[i] !== b.words[i]) return a.words[i] - b.words[i];
  }
  return a.bits - b.bits;
}
