/**
 * Longest-prefix match for one address family: a path-compressed binary trie
 * (the shape of wireguard-go's allowedips) stored as struct-of-arrays in typed
 * arrays, mapping prefix → value (a non-negative int31, e.g. a session id).
 *
 * Each node is one record in a single Int32Array (32 bytes for IPv4, 64 for
 * IPv6, so a lookup step touches one cache line): its masked key words (1 for
 * IPv4, 4 for IPv6), the matching mask words, its prefix length, its value (-1
 * for a pure branch node), two child links and a parent link; links are
 * record offsets. Branch nodes always have two children; nodes with a value
 * never move, so each value keeps the set of its nodes and `removeByValue`
 * touches only those.
 *
 * Full-length prefixes (/32, /128: client addresses) are kept in an exact-match
 * `HostTable` instead: one hashed probe answers most datapath lookups, and the
 * trie walk (for iroutes and misses) covers only shorter prefixes.
 *
 * Contract: `lookup4`/`lookup6`/`lookup6At` allocate nothing and never throw;
 * they return the value of the longest matching prefix or -1 (NO_MATCH).
 * `insert`/`remove` may allocate (array growth) and throw RangeError on bad
 * arguments. Not safe for concurrent mutation (single JS thread).
 */

import { HostTable } from "./host_table.ts";

export const NO_MATCH = -1;

/** One stored prefix, as returned by `entries()`. */
export interface TrieEntry {
  /** Network address words (1 for IPv4, 4 for IPv6), host bits zero. */
  readonly words: Uint32Array;
  readonly bits: number;
  readonly value: number;
}

const INITIAL_NODES = 64;
const JUMP_SIZE = 1 << 16;

export class PrefixTrie {
  readonly family: 4 | 6;
  readonly #w: number;
  readonly #maxBits: number;
  /** Record layout: key words, mask words, then these fields. */
  readonly #fCidr: number;
  readonly #fValue: number;
  readonly #fLeft: number;
  readonly #fParent: number;
  readonly #shift: number;
  #capacity = 0;
  /** Node records; a node is addressed by its record offset (`index << #shift`). */
  #node = new Int32Array(0);
  #free: number[] = [];
  #used = 0;
  #root = -1;
  #size = 0;
  readonly #byValue = new Map<number, Set<number>>();
  readonly #scratch: Uint32Array;
  /** Full-length prefixes live here, not in the trie: they always win, so a hit ends the lookup. */
  readonly #hosts: HostTable;
  /**
   * IPv4 only: for each value of an address's top 16 bits, the first node of
   * its walk with prefix length ≥ 16 and the best value found above it, so a
   * lookup skips the first levels. Refreshed for the affected range on every
   * change; empty for IPv6.
   */
  readonly #jumpStart: Int32Array;
  readonly #jumpBest: Int32Array;

  constructor(family: 4 | 6) {
    if (family !== 4 && family !== 6) throw new RangeError(`Address family must be 4 or 6, got ${family}`);
    this.family = family;
    const w = family === 4 ? 1 : 4;
    this.#w = w;
    this.#maxBits = w * 32;
    this.#fCidr = 2 * w;
    this.#fValue = 2 * w + 1;
    this.#fLeft = 2 * w + 2;
    this.#fParent = 2 * w + 4;
    // 8 ints (32 bytes) per IPv4 node, 16 ints (one 64-byte line) per IPv6 node.
    this.#shift = w === 1 ? 3 : 4;
    this.#scratch = new Uint32Array(w);
    this.#hosts = new HostTable(family);
    this.#jumpStart = new Int32Array(w === 1 ? JUMP_SIZE : 0).fill(-1);
    this.#jumpBest = new Int32Array(w === 1 ? JUMP_SIZE : 0).fill(NO_MATCH);
    this.#grow(INITIAL_NODES);
  }

  /** Number of stored prefixes (nodes with a value). */
  get size(): number {
    return this.#size + this.#hosts.size;
  }

  /** Number of live trie nodes including branch nodes; host prefixes are not nodes (for diagnostics). */
  get nodeCount(): number {
    return this.#used - this.#free.length;
  }

  // -- Lookups (hot path) --

  /**
   * Longest-prefix match of an IPv4 address; only for a family-4 trie. Accepts
   * the u32 or its int32 form (`addr | 0`); hot callers should pass the int32
   * form or use `lookup4At`, since a u32 ≥ 2^31 is a heap number in V8 and may
   * be boxed when this call is not inlined.
   */
  lookup4(addr: number): number {
    // IPv4 record: [key, mask, cidr, value, left, right, parent, -]
    const host = this.#hosts.get4(addr);
    if (host >= 0) return host;
    const node = this.#node;
    const a = addr | 0;
    const top = a >>> 16;
    let found = this.#jumpBest[top];
    let n = this.#jumpStart[top];
    while (n >= 0) {
      if (((a ^ node[n]) & node[n + 1]) !== 0) break;
      const v = node[n + 3];
      if (v >= 0) found = v;
      const c = node[n + 2];
      if (c === 32) break;
      n = node[n + 4 + ((a >>> (31 - c)) & 1)];
    }
    return found;
  }

  /** Longest-prefix match of the 4-byte IPv4 address at `buf[p]` (e.g. a header field). */
  lookup4At(buf: Uint8Array, p: number): number {
    return this.lookup4((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]);
  }

  /** Longest-prefix match of an IPv6 address given as 4 words at `words[off]`; only for a family-6 trie. */
  lookup6(words: Uint32Array, off = 0): number {
    return this.#walk6(words[off] | 0, words[off + 1] | 0, words[off + 2] | 0, words[off + 3] | 0);
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
    // IPv6 record: [k0..k3, m0..m3, cidr, value, left, right, parent, -, -, -]
    const host = this.#hosts.get6(a0, a1, a2, a3);
    if (host >= 0) return host;
    const node = this.#node;
    let found = NO_MATCH;
    let n = this.#root;
    while (n >= 0) {
      if (
        (((a0 ^ node[n]) & node[n + 4]) | ((a1 ^ node[n + 1]) & node[n + 5]) |
          ((a2 ^ node[n + 2]) & node[n + 6]) |
          ((a3 ^ node[n + 3]) & node[n + 7])) !== 0
      ) break;
      const v = node[n + 9];
      if (v >= 0) found = v;
      const c = node[n + 8];
      if (c === 128) break;
      const wi = c >>> 5;
      const w = wi === 0 ? a0 : wi === 1 ? a1 : wi === 2 ? a2 : a3;
      n = node[n + 10 + ((w >>> (31 - (c & 31))) & 1)];
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
    if (bits === this.#maxBits) return this.#hosts.set(k, value);
    if (this.#root < 0) {
      this.#root = this.#newNode(k, bits, value, -1);
      this.#refreshJump(this.#root);
      return NO_MATCH;
    }
    let n = this.#root;
    let parent = -1;
    while (n >= 0) {
      const nc = this.#cidrOf(n);
      if (nc > bits || this.#commonBits(n, k) < nc) break;
      if (nc === bits) {
        const old = this.#node[n + this.#fValue];
        if (old >= 0) this.#unindex(old, n);
        else this.#size++;
        this.#node[n + this.#fValue] = value;
        this.#index(value, n);
        this.#refreshJump(n);
        return old;
      }
      parent = n;
      n = this.#childOf(n, this.#bitOf(k, nc));
    }
    if (n < 0) {
      const m = this.#newNode(k, bits, value, parent);
      this.#setChild(parent, this.#bitOf(k, this.#cidrOf(parent)), m);
      this.#refreshJump(m);
      return NO_MATCH;
    }
    const common = Math.min(this.#commonBits(n, k), bits);
    if (common === bits) {
      // The new prefix contains node n: it becomes n's parent.
      const m = this.#newNode(k, bits, value, parent);
      this.#replaceChild(parent, n, m);
      this.#setChild(m, this.#nodeBit(n, bits), n);
      this.#node[n + this.#fParent] = m;
      this.#refreshJump(m);
      return NO_MATCH;
    }
    // They diverge at bit `common`: a branch node takes n's place.
    const branch = this.#newNode(k, common, NO_MATCH, parent);
    this.#replaceChild(parent, n, branch);
    const m = this.#newNode(k, bits, value, branch);
    const side = this.#bitOf(k, common);
    this.#setChild(branch, side, m);
    this.#setChild(branch, side ^ 1, n);
    this.#node[n + this.#fParent] = branch;
    this.#refreshJump(branch);
    return NO_MATCH;
  }

  /** The value stored for exactly `addr/bits`, or -1. */
  get(addr: number | ArrayLike<number>, bits: number): number {
    const k = this.#loadKey(addr, bits);
    if (bits === this.#maxBits) return this.#hosts.get(k);
    const n = this.#find(k, bits);
    return n < 0 ? NO_MATCH : this.#node[n + this.#fValue];
  }

  /** Removes exactly `addr/bits`; returns the value it had, or -1 if absent. */
  remove(addr: number | ArrayLike<number>, bits: number): number {
    const k = this.#loadKey(addr, bits);
    if (bits === this.#maxBits) return this.#hosts.delete(k);
    const n = this.#find(k, bits);
    if (n < 0) return NO_MATCH;
    const old = this.#node[n + this.#fValue];
    this.#unindex(old, n);
    this.#node[n + this.#fValue] = NO_MATCH;
    this.#size--;
    this.#refreshJump(this.#compact(n));
    return old;
  }

  /** Removes every prefix holding `value`, without scanning the table; returns how many. */
  removeByValue(value: number): number {
    const hosts = this.#hosts.deleteByValue(value);
    const nodes = this.#byValue.get(value);
    if (nodes === undefined) return hosts;
    this.#byValue.delete(value);
    let removed = hosts;
    for (const n of nodes) {
      this.#node[n + this.#fValue] = NO_MATCH;
      this.#size--;
      removed++;
      this.#refreshJump(this.#compact(n));
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
    this.#hosts.clear();
    this.#jumpStart.fill(-1);
    this.#jumpBest.fill(NO_MATCH);
  }

  /** All stored prefixes in address order (a prefix before the prefixes it contains). */
  entries(): TrieEntry[] {
    const out: TrieEntry[] = [];
    const visit = (n: number): void => {
      if (n < 0) return;
      if (this.#node[n + this.#fValue] >= 0) out.push(this.#entryOf(n));
      visit(this.#childOf(n, 0));
      visit(this.#childOf(n, 1));
    };
    visit(this.#root);
    this.#hosts.forEach((words, value) => out.push({ words, bits: this.#maxBits, value }));
    return out.sort(compareEntries);
  }

  /** The prefixes holding `value`, in address order. */
  entriesOf(value: number): TrieEntry[] {
    const nodes = this.#byValue.get(value) ?? [];
    const hosts = this.#hosts.keysOf(value).map((words) => ({ words, bits: this.#maxBits, value }));
    return [...[...nodes].map((n) => this.#entryOf(n)), ...hosts].sort(compareEntries);
  }

  // -- Internals --

  #entryOf(n: number): TrieEntry {
    const words = new Uint32Array(this.#w);
    for (let i = 0; i < this.#w; i++) words[i] = this.#node[n + i];
    return { words, bits: this.#cidrOf(n), value: this.#node[n + this.#fValue] };
  }

  #cidrOf(n: number): number {
    return this.#node[n + this.#fCidr];
  }

  #childOf(n: number, side: number): number {
    return this.#node[n + this.#fLeft + side];
  }

  #setChild(n: number, side: number, child: number): void {
    this.#node[n + this.#fLeft + side] = child;
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
      const nc = this.#cidrOf(n);
      if (nc > bits || this.#commonBits(n, k) < nc) return -1;
      if (nc === bits) return this.#node[n + this.#fValue] >= 0 ? n : -1;
      n = this.#childOf(n, this.#bitOf(k, nc));
    }
    return -1;
  }

  /**
   * Removes node n (which has no value) if it has fewer than two children,
   * then its parent likewise. Returns the topmost node it changed; that node's
   * record stays readable until the next insert reuses it.
   */
  #compact(n: number): number {
    const l = this.#childOf(n, 0);
    const r = this.#childOf(n, 1);
    if (l >= 0 && r >= 0) return n;
    const p = this.#node[n + this.#fParent];
    const only = l >= 0 ? l : r;
    this.#replaceChild(p, n, only);
    if (only >= 0) this.#node[only + this.#fParent] = p;
    this.#free.push(n);
    if (p >= 0 && this.#node[p + this.#fValue] < 0) return this.#compact(p);
    return n;
  }

  /** Recomputes the jump entries covered by node n's prefix (IPv4 only). */
  #refreshJump(n: number): void {
    if (this.#w !== 1) return;
    const node = this.#node;
    const c = this.#cidrOf(n);
    const first = node[n] >>> 16;
    const count = c >= 16 ? 1 : 1 << (16 - c);
    for (let top = first; top < first + count; top++) {
      const a = top << 16;
      let found = NO_MATCH;
      let m = this.#root;
      while (m >= 0) {
        const mc = node[m + 2];
        if (mc >= 16) break;
        if (((a ^ node[m]) & node[m + 1]) !== 0) {
          m = -1;
          break;
        }
        if (node[m + 3] >= 0) found = node[m + 3];
        m = node[m + 4 + ((a >>> (31 - mc)) & 1)];
      }
      this.#jumpStart[top] = m;
      this.#jumpBest[top] = found;
    }
  }

  #replaceChild(parent: number, old: number, next: number): void {
    if (parent < 0) this.#root = next;
    else this.#setChild(parent, this.#childOf(parent, 0) === old ? 0 : 1, next);
  }

  #commonBits(n: number, k: Uint32Array): number {
    for (let i = 0; i < this.#w; i++) {
      const x = (this.#node[n + i] ^ k[i]) >>> 0;
      if (x !== 0) return i * 32 + Math.clz32(x);
    }
    return this.#maxBits;
  }

  #bitOf(k: Uint32Array, pos: number): number {
    return (k[pos >>> 5] >>> (31 - (pos & 31))) & 1;
  }

  #nodeBit(n: number, pos: number): number {
    return (this.#node[n + (pos >>> 5)] >>> (31 - (pos & 31))) & 1;
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
      n = (this.#used++) << this.#shift;
    }
    const w = this.#w;
    const node = this.#node;
    for (let i = 0; i < w; i++) {
      const m = wordMask(bits, i);
      node[n + i] = k[i] & m;
      node[n + w + i] = m;
    }
    node[n + this.#fCidr] = bits;
    node[n + this.#fValue] = value;
    node[n + this.#fLeft] = -1;
    node[n + this.#fLeft + 1] = -1;
    node[n + this.#fParent] = parent;
    if (value >= 0) {
      this.#size++;
      this.#index(value, n);
    }
    return n;
  }

  #grow(capacity: number): void {
    const node = new Int32Array(capacity << this.#shift);
    node.set(this.#node);
    this.#node = node;
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
