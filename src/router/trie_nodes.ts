/**
 * Node storage of a `PrefixTrie`: one Int32Array of fixed-size records,
 * addressed by record offset (`index << shift`), with a free list, the root
 * link and an index from each value to the nodes holding it.
 *
 * Record layout (`w` key words: 1 for IPv4, 4 for IPv6):
 *
 *   [key words (w) | mask words (w) | cidr | value | left | right | parent | pad]
 *   IPv4: 8 ints (32 bytes); IPv6: 16 ints (one 64-byte cache line)
 *
 * Key words hold the masked prefix, mask words its netmask; value is -1
 * (NO_MATCH) for a pure branch node; links are record offsets or -1. Nodes
 * with a value never move, so a value's node set stays valid until removal.
 * Allocation happens only on insert (new records, array growth).
 */

export const NO_MATCH = -1;

const INITIAL_NODES = 64;

/** One stored prefix, as returned by `PrefixTrie.entries()`. */
export interface TrieEntry {
  /** Network address words (1 for IPv4, 4 for IPv6), host bits zero. */
  readonly words: Uint32Array;
  readonly bits: number;
  readonly value: number;
}

export class TrieNodes {
  /** Key words per record: 1 (IPv4) or 4 (IPv6). */
  readonly w: number;
  readonly maxBits: number;
  /** Field offsets within a record: key words, mask words, then these. */
  readonly fCidr: number;
  readonly fValue: number;
  readonly fLeft: number;
  readonly fParent: number;
  readonly #shift: number;
  /** The records; replaced (grown) by `newNode`, so hot readers load it per call. */
  node = new Int32Array(0);
  /** Record offset of the root, or -1 when empty. */
  root = -1;
  /** Nodes holding a value. */
  size = 0;
  #capacity = 0;
  #free: number[] = [];
  #used = 0;
  readonly #byValue = new Map<number, Set<number>>();

  constructor(w: 1 | 4) {
    this.w = w;
    this.maxBits = w * 32;
    this.fCidr = 2 * w;
    this.fValue = 2 * w + 1;
    this.fLeft = 2 * w + 2;
    this.fParent = 2 * w + 4;
    this.#shift = w === 1 ? 3 : 4;
    this.#grow(INITIAL_NODES);
  }

  /** Live nodes including branch nodes (for diagnostics). */
  get count(): number {
    return this.#used - this.#free.length;
  }

  cidrOf(n: number): number {
    return this.node[n + this.fCidr];
  }

  valueOf(n: number): number {
    return this.node[n + this.fValue];
  }

  parentOf(n: number): number {
    return this.node[n + this.fParent];
  }

  setParent(n: number, parent: number): void {
    this.node[n + this.fParent] = parent;
  }

  childOf(n: number, side: number): number {
    return this.node[n + this.fLeft + side];
  }

  setChild(n: number, side: number, child: number): void {
    this.node[n + this.fLeft + side] = child;
  }

  /** Makes `next` take `old`'s place under `parent` (or as the root when parent is -1). */
  replaceChild(parent: number, old: number, next: number): void {
    if (parent < 0) this.root = next;
    else this.setChild(parent, this.childOf(parent, 0) === old ? 0 : 1, next);
  }

  /** Leading bits node n's key shares with key `k`. */
  commonBits(n: number, k: Uint32Array): number {
    for (let i = 0; i < this.w; i++) {
      const x = (this.node[n + i] ^ k[i]) >>> 0;
      if (x !== 0) return i * 32 + Math.clz32(x);
    }
    return this.maxBits;
  }

  /** Bit `pos` (0 = most significant) of node n's key. */
  nodeBit(n: number, pos: number): number {
    return (this.node[n + (pos >>> 5)] >>> (31 - (pos & 31))) & 1;
  }

  /** Gives node n `value` (a branch node becomes a prefix); returns the value it replaced, or NO_MATCH. */
  assign(n: number, value: number): number {
    const old = this.node[n + this.fValue];
    if (old >= 0) this.#unindex(old, n);
    else this.size++;
    this.node[n + this.fValue] = value;
    this.#index(value, n);
    return old;
  }

  /** Takes node n's value away (it becomes a branch node); returns the old value. */
  clearValue(n: number): number {
    const old = this.node[n + this.fValue];
    this.#unindex(old, n);
    this.node[n + this.fValue] = NO_MATCH;
    this.size--;
    return old;
  }

  /** The nodes holding `value` (do not modify). */
  nodesOf(value: number): ReadonlySet<number> | undefined {
    return this.#byValue.get(value);
  }

  /** Forgets which nodes hold `value`; the caller clears their values. */
  dropIndexOf(value: number): void {
    this.#byValue.delete(value);
  }

  /** A new record for `k`/`bits` under `parent`, with `value` (NO_MATCH for a branch). */
  newNode(k: Uint32Array, bits: number, value: number, parent: number): number {
    let n = this.#free.pop();
    if (n === undefined) {
      if (this.#used === this.#capacity) this.#grow(this.#capacity * 2);
      n = (this.#used++) << this.#shift;
    }
    const w = this.w;
    const node = this.node;
    for (let i = 0; i < w; i++) {
      const m = wordMask(bits, i);
      node[n + i] = k[i] & m;
      node[n + w + i] = m;
    }
    node[n + this.fCidr] = bits;
    node[n + this.fValue] = value;
    node[n + this.fLeft] = -1;
    node[n + this.fLeft + 1] = -1;
    node[n + this.fParent] = parent;
    if (value >= 0) {
      this.size++;
      this.#index(value, n);
    }
    return n;
  }

  /** Returns node n's record to the free list; it stays readable until the next `newNode`. */
  free(n: number): void {
    this.#free.push(n);
  }

  /** Removes every node. */
  clear(): void {
    this.#free = [];
    this.#used = 0;
    this.root = -1;
    this.size = 0;
    this.#byValue.clear();
  }

  entryOf(n: number): TrieEntry {
    const words = new Uint32Array(this.w);
    for (let i = 0; i < this.w; i++) words[i] = this.node[n + i];
    return { words, bits: this.cidrOf(n), value: this.valueOf(n) };
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

  #grow(capacity: number): void {
    const node = new Int32Array(capacity << this.#shift);
    node.set(this.node);
    this.node = node;
    this.#capacity = capacity;
  }
}

/** The mask for word `i` of a prefix of length `bits`. */
export function wordMask(bits: number, i: number): number {
  const keep = bits - 32 * i;
  if (keep <= 0) return 0;
  if (keep >= 32) return 0xffffffff;
  return (0xffffffff << (32 - keep)) >>> 0;
}

/** Bit `pos` (0 = most significant) of key `k`. */
export function keyBit(k: Uint32Array, pos: number): number {
  return (k[pos >>> 5] >>> (31 - (pos & 31))) & 1;
}
