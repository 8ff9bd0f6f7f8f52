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
 * Files: node storage `trie_nodes.ts` (the record layout), insert/remove
 * `trie_edit.ts`, the IPv4 jump table `trie_jump.ts`; this file holds the
 * lookups (the datapath's hot path) and the public API.
 *
 * Contract: `lookup4`/`lookup6`/`lookup6At` allocate nothing and never throw;
 * they return the value of the longest matching prefix or -1 (NO_MATCH).
 * `insert`/`remove` may allocate (array growth) and throw RangeError on bad
 * arguments. Not safe for concurrent mutation (single JS thread).
 */

import { HostTable } from "./host_table.ts";
import { TrieEditor } from "./trie_edit.ts";
import { JumpTable } from "./trie_jump.ts";
import { NO_MATCH, type TrieEntry, TrieNodes, wordMask } from "./trie_nodes.ts";

export { NO_MATCH, type TrieEntry };

export class PrefixTrie {
  readonly family: 4 | 6;
  readonly #w: number;
  readonly #maxBits: number;
  readonly #nodes: TrieNodes;
  readonly #edit: TrieEditor;
  readonly #jump: JumpTable;
  /** The jump table's arrays (fixed for the trie's life), read directly by `lookup4`. */
  readonly #jumpStart: Int32Array;
  readonly #jumpBest: Int32Array;
  readonly #scratch: Uint32Array;
  /** Full-length prefixes live here, not in the trie: they always win, so a hit ends the lookup. */
  readonly #hosts: HostTable;

  constructor(family: 4 | 6) {
    if (family !== 4 && family !== 6) throw new RangeError(`Address family must be 4 or 6, got ${family}`);
    this.family = family;
    const w = family === 4 ? 1 : 4;
    this.#w = w;
    this.#maxBits = w * 32;
    this.#scratch = new Uint32Array(w);
    this.#hosts = new HostTable(family);
    this.#nodes = new TrieNodes(w);
    this.#jump = new JumpTable(this.#nodes);
    this.#jumpStart = this.#jump.start;
    this.#jumpBest = this.#jump.best;
    this.#edit = new TrieEditor(this.#nodes, this.#jump);
  }

  /** Number of stored prefixes (nodes with a value). */
  get size(): number {
    return this.#nodes.size + this.#hosts.size;
  }

  /** Number of live trie nodes including branch nodes; host prefixes are not nodes (for diagnostics). */
  get nodeCount(): number {
    return this.#nodes.count;
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
    const node = this.#nodes.node;
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
    const nodes = this.#nodes;
    const node = nodes.node;
    let found = NO_MATCH;
    let n = nodes.root;
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
    return this.#edit.insert(k, bits, value);
  }

  /** The value stored for exactly `addr/bits`, or -1. */
  get(addr: number | ArrayLike<number>, bits: number): number {
    const k = this.#loadKey(addr, bits);
    if (bits === this.#maxBits) return this.#hosts.get(k);
    const n = this.#edit.find(k, bits);
    return n < 0 ? NO_MATCH : this.#nodes.valueOf(n);
  }

  /** Removes exactly `addr/bits`; returns the value it had, or -1 if absent. */
  remove(addr: number | ArrayLike<number>, bits: number): number {
    const k = this.#loadKey(addr, bits);
    if (bits === this.#maxBits) return this.#hosts.delete(k);
    return this.#edit.remove(k, bits);
  }

  /** Removes every prefix holding `value`, without scanning the table; returns how many. */
  removeByValue(value: number): number {
    return this.#hosts.deleteByValue(value) + this.#edit.removeByValue(value);
  }

  /** Removes everything. */
  clear(): void {
    this.#nodes.clear();
    this.#hosts.clear();
    this.#jump.clear();
  }

  /** All stored prefixes in address order (a prefix before the prefixes it contains). */
  entries(): TrieEntry[] {
    const nodes = this.#nodes;
    const out: TrieEntry[] = [];
    const visit = (n: number): void => {
      if (n < 0) return;
      if (nodes.valueOf(n) >= 0) out.push(nodes.entryOf(n));
      visit(nodes.childOf(n, 0));
      visit(nodes.childOf(n, 1));
    };
    visit(nodes.root);
    this.#hosts.forEach((words, value) => out.push({ words, bits: this.#maxBits, value }));
    return out.sort(compareEntries);
  }

  /** The prefixes holding `value`, in address order. */
  entriesOf(value: number): TrieEntry[] {
    const nodes = this.#nodes;
    const held = nodes.nodesOf(value) ?? [];
    const hosts = this.#hosts.keysOf(value).map((words) => ({ words, bits: this.#maxBits, value }));
    return [...[...held].map((n) => nodes.entryOf(n)), ...hosts].sort(compareEntries);
  }

  // -- Internals --

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
}

function compareEntries(a: TrieEntry, b: TrieEntry): number {
  for (let i = 0; i < a.words.length; i++) {
    if (a.words[i] !== b.words[i]) return a.words[i] - b.words[i];
  }
  return a.bits - b.bits;
}
