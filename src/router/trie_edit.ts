/**
 * Insert and remove on a `PrefixTrie`'s nodes (control plane; may allocate).
 * The trie is path-compressed: a node exists for every stored prefix, and
 * branch nodes (no value) only where two subtrees diverge, so a branch node
 * always has two children. Every change refreshes the IPv4 jump table over
 * the range of the topmost node it touched.
 *
 * Keys arrive masked to their prefix length (`PrefixTrie` loads them), and
 * full-length prefixes never reach here (they live in the `HostTable`).
 */

import type { JumpTable } from "./trie_jump.ts";
import { keyBit, NO_MATCH, type TrieNodes } from "./trie_nodes.ts";

export class TrieEditor {
  readonly #nodes: TrieNodes;
  readonly #jump: JumpTable;

  constructor(nodes: TrieNodes, jump: JumpTable) {
    this.#nodes = nodes;
    this.#jump = jump;
  }

  /** Stores `value` for `k/bits`; returns the value it replaced, or NO_MATCH if the prefix was new. */
  insert(k: Uint32Array, bits: number, value: number): number {
    const t = this.#nodes;
    if (t.root < 0) {
      t.root = t.newNode(k, bits, value, -1);
      this.#jump.refresh(t.root);
      return NO_MATCH;
    }
    let n = t.root;
    let parent = -1;
    while (n >= 0) {
      const nc = t.cidrOf(n);
      if (nc > bits || t.commonBits(n, k) < nc) break;
      if (nc === bits) {
        const old = t.assign(n, value);
        this.#jump.refresh(n);
        return old;
      }
      parent = n;
      n = t.childOf(n, keyBit(k, nc));
    }
    if (n < 0) {
      const m = t.newNode(k, bits, value, parent);
      t.setChild(parent, keyBit(k, t.cidrOf(parent)), m);
      this.#jump.refresh(m);
    } else {
      this.#jump.refresh(this.#insertAbove(n, parent, k, bits, value));
    }
    return NO_MATCH;
  }

  /**
   * Places a new prefix where node n (under `parent`) was, since the new
   * prefix does not lie below n: as n's parent when it contains n, else
   * beside n under a new branch node. Returns the topmost node created.
   */
  #insertAbove(n: number, parent: number, k: Uint32Array, bits: number, value: number): number {
    const t = this.#nodes;
    const common = Math.min(t.commonBits(n, k), bits);
    if (common === bits) {
      // The new prefix contains node n: it becomes n's parent.
      const m = t.newNode(k, bits, value, parent);
      t.replaceChild(parent, n, m);
      t.setChild(m, t.nodeBit(n, bits), n);
      t.setParent(n, m);
      return m;
    }
    // They diverge at bit `common`: a branch node takes n's place.
    const branch = t.newNode(k, common, NO_MATCH, parent);
    t.replaceChild(parent, n, branch);
    const m = t.newNode(k, bits, value, branch);
    const side = keyBit(k, common);
    t.setChild(branch, side, m);
    t.setChild(branch, side ^ 1, n);
    t.setParent(n, branch);
    return branch;
  }

  /** The node holding exactly `k/bits` with a value, or -1. */
  find(k: Uint32Array, bits: number): number {
    const t = this.#nodes;
    let n = t.root;
    while (n >= 0) {
      const nc = t.cidrOf(n);
      if (nc > bits || t.commonBits(n, k) < nc) return -1;
      if (nc === bits) return t.valueOf(n) >= 0 ? n : -1;
      n = t.childOf(n, keyBit(k, nc));
    }
    return -1;
  }

  /** Removes exactly `k/bits`; returns the value it had, or NO_MATCH if absent. */
  remove(k: Uint32Array, bits: number): number {
    const n = this.find(k, bits);
    if (n < 0) return NO_MATCH;
    const old = this.#nodes.clearValue(n);
    this.#jump.refresh(this.#compact(n));
    return old;
  }

  /** Removes every node holding `value`; returns how many. */
  removeByValue(value: number): number {
    const t = this.#nodes;
    const nodes = t.nodesOf(value);
    if (nodes === undefined) return 0;
    t.dropIndexOf(value);
    for (const n of nodes) {
      t.clearValue(n);
      this.#jump.refresh(this.#compact(n));
    }
    return nodes.size;
  }

  /**
   * Removes node n (which has no value) if it has fewer than two children,
   * then its parent likewise. Returns the topmost node it changed; that node's
   * record stays readable until the next insert reuses it.
   */
  #compact(n: number): number {
    const t = this.#nodes;
    const l = t.childOf(n, 0);
    const r = t.childOf(n, 1);
    if (l >= 0 && r >= 0) return n;
    const p = t.parentOf(n);
    const only = l >= 0 ? l : r;
    t.replaceChild(p, n, only);
    if (only >= 0) t.setParent(only, p);
    t.free(n);
    if (p >= 0 && t.valueOf(p) < 0) return this.#compact(p);
    return n;
  }
}
