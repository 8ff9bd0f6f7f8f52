/**
 * The IPv4 jump table of a `PrefixTrie`: for each value of an address's top
 * 16 bits, the first node of its walk with prefix length ≥ 16 and the best
 * value found above it, so a lookup skips the first levels of the trie.
 * Refreshed for the range a changed node covers on every insert and removal;
 * empty (and never refreshed) for IPv6.
 */

import { NO_MATCH, type TrieNodes } from "./trie_nodes.ts";

const JUMP_SIZE = 1 << 16;

export class JumpTable {
  /** Per top-16-bit value: record offset where the walk continues, or -1. */
  readonly start: Int32Array;
  /** Per top-16-bit value: the value of the longest prefix shorter than /16 that matches, or NO_MATCH. */
  readonly best: Int32Array;
  readonly #nodes: TrieNodes;

  constructor(nodes: TrieNodes) {
    this.#nodes = nodes;
    const size = nodes.w === 1 ? JUMP_SIZE : 0;
    this.start = new Int32Array(size).fill(-1);
    this.best = new Int32Array(size).fill(NO_MATCH);
  }

  /** Recomputes the entries covered by node n's prefix (IPv4 only). */
  refresh(n: number): void {
    const nodes = this.#nodes;
    if (nodes.w !== 1) return;
    // IPv4 record: [key, mask, cidr, value, left, right, parent, -]
    const node = nodes.node;
    const c = nodes.cidrOf(n);
    const first = node[n] >>> 16;
    const count = c >= 16 ? 1 : 1 << (16 - c);
    for (let top = first; top < first + count; top++) {
      const a = top << 16;
      let found = NO_MATCH;
      let m = nodes.root;
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
      this.start[top] = m;
      this.best[top] = found;
    }
  }

  clear(): void {
    this.start.fill(-1);
    this.best.fill(NO_MATCH);
  }
}
